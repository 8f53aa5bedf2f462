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
  layer's full activations. Embeddings, the output layer's logits, the CUDA context (about 0.5 GB)
  and allocator fragmentation are left out.
"""

from __future__ import annotations

from dataclasses import dataclass

from llmft.cases import Case
from llmft.foundations.quant import constants_bits_per_parameter

GiB = 2**30
WEIGHT_BYTES = {"fp32": 4.0, "fp16": 2.0, "int8": 1.0, "nf4": 0.5}
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
                    double_quant: bool = True) -> MemoryEstimate:
    """Bytes needed to fine-tune: ``method`` is ``full`` or ``lora`` (QLoRA is ``lora`` on an ``nf4`` base)."""
    if method == "full":
        if base_dtype not in ("fp32", "fp16"):
            raise ValueError("full fine-tuning needs a float base; quantized weights cannot be trained directly")
        # fp16 adds an fp32 master copy; both come to 16 bytes a parameter with gradients and AdamW
        return MemoryEstimate(weights=n_params * 4.0 + (n_params * 2.0 if base_dtype == "fp16" else 0),
                              gradients=n_params * (4.0 if base_dtype == "fp32" else 2.0),
                              optimizer=n_params * 8.0, activations=activations)
    weights = n_params * WEIGHT_BYTES[base_dtype]
    if base_dtype == "nf4":
        weights += n_params * constants_bits_per_parameter(64, double_quant) / 8
    return MemoryEstimate(weights=weights + n_trained * 4.0, gradients=n_trained * 4.0,
                          optimizer=n_trained * 8.0, activations=activations)


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
