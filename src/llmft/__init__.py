"""llmft: the helper package of The LoRA Casebook.

Layers, each importing only those above it in this list (``tests/test_layers.py`` holds it):

* configuration: :mod:`~llmft.cases` (what each case is), :mod:`~llmft.profiles` (at which size),
  :mod:`~llmft.runtime` (start a chapter: profile, seeds, device), :mod:`~llmft.cache` (where built things live);
* :mod:`llmft.foundations`: LoRA, quantization, the memory model and ROUGE from scratch (chapters 2.1-2.3);
* :mod:`llmft.data`: datasets, synthetic data per case, case 4's paper pipeline;
* :mod:`llmft.models`: base models and tokenizers, adapters, the offline stand-ins per architecture;
* :mod:`llmft.training`: the Trainer, trl's SFTTrainer, data-parallel training, memory meters;
* :mod:`llmft.evaluation`: metrics and intervals, generation, baselines, the save/reload/merge round trip;
* :mod:`llmft.report`: results files, the comparison of cases, plots and tables, published figures;
* :mod:`llmft.studies`: experiments across many runs (the settings chapters, `notebooks/32_choosing_lora_settings`
  on an encoder and `notebooks/33_settings_for_instructions` on a decoder);
* :mod:`llmft.serve`: the web page and JSON APIs, serving precision;
* entry points: :mod:`~llmft.cli` (``llmft serve``), :mod:`~llmft.colab` (install in Colab),
  :mod:`~llmft.gpucheck` (``make gpu-check``).

Heavy libraries are imported by the modules that need them, so ``llmft.runtime.start`` can switch on offline
mode first.
"""

__version__ = "0.1.0"


def _short_warning(message, category, filename, lineno, line=None) -> str:
    """Warnings as the chapters print them: the category and the message, without the file path and source line
    (a path names the reader's own folders, and the line is library code the reader did not write)."""
    return f"{category.__name__}: {message}\n"


def _quiet_known_noise() -> None:
    import warnings

    warnings.formatwarning = _short_warning
    # tqdm asks for ipywidgets to draw notebook progress bars; the book's bars are text on purpose (they render in
    # the built pages and in a terminal alike).
    warnings.filterwarnings("ignore", message="IProgress not found")
    # peft 0.21 reads a property that transformers 5.23 deprecates: nothing a reader can act on.
    warnings.filterwarnings("ignore", message="`is_gradient_checkpointing` is deprecated", category=FutureWarning)


_quiet_known_noise()
