"""llmft: the helper package of The LoRA Casebook.

Layers, each importing only those above it in this list (``tests/test_layers.py`` holds it):

* configuration: :mod:`~llmft.cases` (what each case is), :mod:`~llmft.profiles` (at which size),
  :mod:`~llmft.runtime` (start a chapter: profile, seeds, device), :mod:`~llmft.cache` (where built things live);
* :mod:`llmft.foundations`: LoRA, quantization, the memory model and ROUGE from scratch (chapters 1.1-1.3);
* :mod:`llmft.data`: datasets, synthetic data per case, case 4's paper pipeline;
* :mod:`llmft.models`: base models and tokenizers, adapters, the offline stand-ins per architecture;
* :mod:`llmft.training`: the Trainer, trl's SFTTrainer, data-parallel training, memory meters;
* :mod:`llmft.evaluation`: metrics and intervals, generation, baselines, the save/reload/merge round trip;
* :mod:`llmft.report`: results files, the comparison of cases, plots and tables, published figures;
* :mod:`llmft.serve`: the web page and JSON APIs, serving precision;
* entry points: :mod:`~llmft.cli` (``llmft serve``), :mod:`~llmft.colab` (install in Colab),
  :mod:`~llmft.gpucheck` (``make gpu-check``).

Heavy libraries are imported by the modules that need them, so ``llmft.runtime.start`` can switch on offline
mode first.
"""

__version__ = "0.1.0"
