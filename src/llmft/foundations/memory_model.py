"""A memory model for fine-tuning: weights, gradients, optimizer states and activations.

Assumptions, stated so they can be checked:

* AdamW keeps two fp32 states per trained parameter (8 bytes); gradients and trained weights are fp32
  (4 + 4 bytes), so each *trained* parameter costs 16 bytes. Mixed-precision full fine-tuning with an
  fp16 copy plus an fp32 master copy also comes to 16 bytes a parameter.
* A frozen base costs its storage: fp32 4, fp16 2, int8 1, NF4 0.5 bytes a weight, plus NF4's
  quantization constants (0.5 bits a weight, or 0.127 with double quantization).
* Activations follow Korthikanti et al. (2022) for one transformer layer without recomputation:
  ``s * b * h * (34 + 5 * a * s / h)`` bytes with 16-bit activations (twice that in fp32); with
  gradient checkpointing only each layer's input is kept (``2 * s * b * h`` bytes a layer) plus one
  layer's full activations. The output layer's logits are counted apart (:func:`logits_bytes`); the CUDA
  context (about 0.5 GB) and allocator fragmentation are left out.
* A loaded model's weights are counted module by module, at the dtype each really has
  (:func:`weight_bytes`): bitsandbytes quantizes only the linear layers, and leaves the embeddings, the output
  head, the norms and T5's ``wo`` (``_keep_in_fp32_modules``: fp32 when loading in fp16) unquantized.
"""

from __future__ import annotations

from dataclasses import dataclass

from llmft.cases import Case
from llmft.foundations.quant import constants_bits_per_parameter

GiB = 2**30
WEIGHT_BYTES = {"fp32": 4.0, "fp16": 2.0, "bf16": 2.0, "int8": 1.0, "nf4": 0.5}
# bytes per trained parameter for the optimizer's states: AdamW keeps two fp32 moments; bitsandbytes' 8-bit
# (paged) AdamW keeps two 8-bit moments plus one fp32 absmax per block of 256 values per state (Dettmers et al.
# 2022a use blocks of 2048; bitsandbytes' kernels default to 256)
OPTIMIZER_BYTES = {"adamw": 8.0, "adamw_8bit": 2.0 + 2 * 4 / 256, "paged_adamw_8bit": 2.0 + 2 * 4 / 256}
TRAINED_PARAM_BYTES = 16  # fp32 weight + fp32 gradient + two fp32 AdamW states
T4_BYTES = 15 * 10**9  # "15 GB" as Colab reports it; about 14.7 GiB usable


def transformer_dims(case: Case) -> tuple[int, int, int]:
    """(hidden size, attention heads, layers that hold activations) from the case's published numbers."""
    a = case.arch
    if case.architecture == "t5":
        return a["d_model"], a["num_heads"], a["num_layers"] + a["num_decoder_layers"]
    if case.architecture == "gpt2":
        return a["n_embd"], a["n_head"], a["n_layer"]
    if case.architecture == "llama":
        return a["hidden_size"], a["num_attention_heads"], a["num_hidden_layers"]
    if case.architecture == "distilbert":
        return a["dim"], a["n_heads"], a["n_layers"]
    raise ValueError(f"No dimensions for {case.architecture!r}")


def activation_bytes(h: int, heads: int, layers: int, seq: int, batch: int, act_bytes: int = 2,
                     checkpointing: bool = False) -> float:
    """Korthikanti et al.'s estimate of the activations kept for the backward pass."""
    per_layer = seq * batch * h * (34 + 5 * heads * seq / h) * act_bytes / 2
    if checkpointing:
        return layers * 2 * seq * batch * h * act_bytes / 2 + per_layer
    return layers * per_layer


@dataclass(frozen=True)
class MemoryEstimate:
    weights: float
    gradients: float
    optimizer: float
    activations: float

    @property
    def total(self) -> float:
        return self.weights + self.gradients + self.optimizer + self.activations

    def gib(self) -> dict[str, float]:
        return {k: round(v / GiB, 2) for k, v in {**self.__dict__, "total": self.total}.items()}


def training_memory(n_params: int, n_trained: int, base_dtype: str, method: str, activations: float,
                    double_quant: bool = True, weights: float | None = None,
                    optimizer: str = "adamw") -> MemoryEstimate:
    """Bytes needed to fine-tune: ``method`` is ``full`` or ``lora`` (QLoRA is ``lora`` on an ``nf4`` base).

    ``weights``: the base's bytes as loaded (:func:`weight_bytes`), instead of ``n_params`` at one dtype;
    ``optimizer``: a key of :data:`OPTIMIZER_BYTES` (LoRA only: full fine-tuning here is AdamW).
    """
    if method == "full":
        if base_dtype not in ("fp32", "fp16"):
            raise ValueError("full fine-tuning needs a float base; quantized weights cannot be trained directly")
        # fp16 adds an fp32 master copy; both come to 16 bytes a parameter with gradients and AdamW
        return MemoryEstimate(weights=n_params * 4.0 + (n_params * 2.0 if base_dtype == "fp16" else 0),
                              gradients=n_params * (4.0 if base_dtype == "fp32" else 2.0),
                              optimizer=n_params * 8.0, activations=activations)
    if weights is None:
        weights = n_params * WEIGHT_BYTES[base_dtype]
        if base_dtype == "nf4":
            weights += n_params * constants_bits_per_parameter(64, double_quant) / 8
    return MemoryEstimate(weights=weights + n_trained * 4.0, gradients=n_trained * 4.0,
                          optimizer=n_trained * OPTIMIZER_BYTES[optimizer], activations=activations)


def _quantizable(module) -> bool:
    import torch
    from transformers.pytorch_utils import Conv1D

    return type(module) is torch.nn.Linear or isinstance(module, Conv1D)


def _is_4bit(module) -> bool:
    return type(module).__name__ == "Linear4bit"  # bitsandbytes' layer, once a model is loaded in 4-bit


def _values(weight) -> int:
    """Values a weight stands for: a loaded 4-bit weight packs two in a byte (its shape is in its quant_state)."""
    import math

    state = getattr(weight, "quant_state", None)
    return math.prod(state.shape) if state is not None else weight.numel()


def weight_bytes(model, dtype: str = "fp16", quantized: bool = False, skip: tuple[str, ...] | None = None,
                 double_quant: bool = True, bits: int = 4) -> dict[str, float]:
    """Bytes of ``model``'s weights as ``from_pretrained`` would hold them, by kind, counted module by module.

    ``model`` may sit on the ``meta`` device (the real size, no memory): only shapes and names are read.
    ``dtype``: what the model is loaded in (the compute dtype under 4-bit). With ``quantized``, the linear layers
    that transformers' bitsandbytes integration converts (its own rules: not the output head, not tied weights,
    not the last module, not ``_keep_in_fp32_modules``, not ``skip``) hold 4 bits a weight plus their
    quantization constants (:func:`llmft.foundations.quant.constants_bits_per_parameter`); everything else keeps
    ``dtype``, except ``_keep_in_fp32_modules`` (T5's ``wo``), which stay fp32 when ``dtype`` is fp16.
    ``get_memory_footprint()`` counts the same bytes without the constants (they are not parameters).
    ``bits=8``: LLM.int8() instead (one byte a weight, one fp32 scale per output row as its constants).
    """
    from transformers.quantizers.base import HfQuantizer
    from transformers.quantizers.quantizers_utils import should_convert_module

    keep_fp32 = list(getattr(model, "_keep_in_fp32_modules", None) or [])
    not_convert = HfQuantizer.get_modules_to_not_convert(model, list(skip) if skip else None, keep_fp32) if quantized else []
    qname = f"{bits}-bit weights"
    out = {qname: 0.0, "quantization constants": 0.0, f"{dtype} weights": 0.0, "fp32 (kept)": 0.0}
    seen: set[int] = set()
    for name, module in model.named_modules():
        params = [(n, p) for n, p in module.named_parameters(recurse=False) if id(p) not in seen]
        buffers = [b for b in module.buffers(recurse=False) if id(b) not in seen]
        seen.update(id(t) for t in [p for _, p in params] + buffers)
        # buffers (rotary frequencies, position ids) keep the type they were made with
        out[f"{dtype} weights"] += sum(b.numel() * b.element_size() for b in buffers)
        convert = quantized and (_quantizable(module) or _is_4bit(module)) and should_convert_module(name, not_convert)
        kept = dtype == "fp16" and keep_fp32 and not should_convert_module(name, keep_fp32)
        for pname, t in params:
            if convert and pname == "weight":
                n = _values(t)
                out[qname] += n * bits / 8
                out["quantization constants"] += (n * constants_bits_per_parameter(64, double_quant) / 8 if bits == 4
                                                  else max(t.shape) * 4.0 if bits == 8 else 0.0)
            elif kept:
                out["fp32 (kept)"] += t.numel() * 4.0
            else:
                out[f"{dtype} weights"] += t.numel() * WEIGHT_BYTES[dtype]
    return {k: v for k, v in out.items() if v}


def logits_bytes(batch: int, seq: int, vocab: int, dtype: str = "fp16") -> float:
    """The output layer's share of a training step: the logits in ``dtype``, the fp32 copy the loss makes, and the
    fp32 log-probabilities cross-entropy keeps for the backward pass (3 tensors of ``batch x seq x vocab``)."""
    return batch * seq * vocab * (WEIGHT_BYTES[dtype] + 4.0 + 4.0)


def kv_cache_bytes(case: Case, batch: int, tokens: int, dtype: str = "fp16") -> float:
    """Generation's key/value cache: two tensors per decoder layer of ``batch x tokens x kv_heads x head_dim``
    (beams count as batch rows). T5 also caches the encoder's keys and values for cross-attention (counted at
    ``tokens`` too, an upper bound)."""
    a = case.arch
    if case.architecture == "llama":
        layers, width = a["num_hidden_layers"], a["hidden_size"] * a.get("num_key_value_heads", a["num_attention_heads"]) // a["num_attention_heads"]
    elif case.architecture == "gpt2":
        layers, width = a["n_layer"], a["n_embd"]
    elif case.architecture == "t5":
        layers, width = 2 * a["num_decoder_layers"], a["num_heads"] * a.get("d_kv", 64)
    else:
        return 0.0  # an encoder classifies in one pass: nothing cached
    return 2 * layers * batch * tokens * width * WEIGHT_BYTES[dtype]


def measured_training_bytes(model, batch) -> dict[str, int]:
    """Count, in this process, the bytes training really holds beyond the weights.

    ``gradients`` and ``optimizer``: the tensors after one AdamW step. ``activations``: the tensors
    autograd saves for the backward pass (through ``saved_tensors_hooks``), each storage counted once
    and the model's own weights left out. Exact for the tensors, independent of the allocator.
    """
    import torch

    params = [p for p in model.parameters() if p.requires_grad]
    weight_storages = {p.untyped_storage().data_ptr() for p in model.parameters()}
    saved: dict[int, int] = {}

    def pack(t):
        ptr = t.untyped_storage().data_ptr()
        if ptr not in weight_storages:
            saved[ptr] = t.untyped_storage().nbytes()
        return t

    model.train()
    opt = torch.optim.AdamW(params, lr=1e-4)
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        loss = model(**batch).loss
    loss.backward()
    opt.step()
    grads = sum(p.grad.numel() * p.grad.element_size() for p in params)
    states = sum(t.numel() * t.element_size() for st in opt.state.values() for t in st.values()
                 if torch.is_tensor(t) and t.dim() > 0)
    return {"gradients": grads, "optimizer": states, "activations": sum(saved.values())}
