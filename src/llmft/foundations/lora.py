"""LoRA from scratch: the layer, merging, parameter arithmetic, and why low rank works.

The Foundations chapter shows this code and checks it against ``peft``.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from llmft.cases import Case, LoraSpec


class LoRALinear(nn.Module):
    """A frozen linear map plus a trainable low-rank update.

    ``y = base(x) + s * dropout(x) @ A.T @ B.T`` with ``A`` of shape (r, d_in), ``B`` of
    shape (d_out, r) and ``s = alpha / r`` (or ``alpha / sqrt(r)`` with rsLoRA). ``B`` starts
    at zero, so before training the layer computes exactly what ``base`` computes.
    ``fan_in_fan_out=True`` is for GPT-2's ``Conv1D``, whose weight is stored as (d_in, d_out).
    """

    def __init__(self, base: nn.Module, r: int, alpha: float, dropout: float = 0.0,
                 fan_in_fan_out: bool = False, rslora: bool = False):
        super().__init__()
        self.base, self.r, self.fan_in_fan_out = base, r, fan_in_fan_out
        for p in base.parameters():
            p.requires_grad_(False)
        w = base.weight
        d_in, d_out = (w.shape[0], w.shape[1]) if fan_in_fan_out else (w.shape[1], w.shape[0])
        self.A = nn.Parameter(torch.empty(r, d_in, dtype=w.dtype))
        self.B = nn.Parameter(torch.zeros(d_out, r, dtype=w.dtype))
        nn.init.kaiming_uniform_(self.A, a=math.sqrt(5))  # as peft and nn.Linear do
        self.scaling = alpha / math.sqrt(r) if rslora else alpha / r
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.merged = False

    def delta_weight(self) -> torch.Tensor:
        """The update in the base weight's own layout."""
        delta = (self.B @ self.A) * self.scaling
        return delta.T if self.fan_in_fan_out else delta

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.base(x)
        if not self.merged:
            y = y + (self.dropout(x) @ self.A.T @ self.B.T) * self.scaling
        return y

    @torch.no_grad()
    def merge(self) -> None:
        """W <- W + s BA: inference then costs no more than the base layer."""
        if not self.merged:
            self.base.weight += self.delta_weight()
            self.merged = True

    @torch.no_grad()
    def unmerge(self) -> None:
        """W <- W - s BA: undoes ``merge`` up to floating-point rounding."""
        if self.merged:
            self.base.weight -= self.delta_weight()
            self.merged = False


# ------------------------------------------------------------ parameter arithmetic
def adaptable_shapes(case: Case) -> dict[str, tuple[int, int, int]]:
    """For each module name LoRA can target: (d_in, d_out, how many such modules), from ``case.arch``."""
    a = case.arch
    if case.architecture == "t5":
        d, inner, ff = a["d_model"], a["num_heads"] * a["d_kv"], a["d_ff"]
        attn, ffn = a["num_layers"] + 2 * a["num_decoder_layers"], a["num_layers"] + a["num_decoder_layers"]
        shapes = {"q": (d, inner, attn), "k": (d, inner, attn), "v": (d, inner, attn), "o": (inner, d, attn),
                  "wo": (ff, d, ffn)}
        if a["feed_forward_proj"].startswith("gated"):
            shapes |= {"wi_0": (d, ff, ffn), "wi_1": (d, ff, ffn)}
        else:
            shapes |= {"wi": (d, ff, ffn)}
        return shapes
    if case.architecture == "gpt2":
        d, n = a["n_embd"], a["n_layer"]
        return {"c_attn": (d, 3 * d, n), "c_fc": (d, 4 * d, n)}  # c_proj is ambiguous (attention and MLP)
    if case.architecture == "llama":
        d, n, ff = a["hidden_size"], a["num_hidden_layers"], a["intermediate_size"]
        kv = d // a["num_attention_heads"] * a["num_key_value_heads"]
        return {"q_proj": (d, d, n), "k_proj": (d, kv, n), "v_proj": (d, kv, n), "o_proj": (d, d, n),
                "gate_proj": (d, ff, n), "up_proj": (d, ff, n), "down_proj": (ff, d, n)}
    if case.architecture == "distilbert":
        d, n, ff = a["dim"], a["n_layers"], a["hidden_dim"]
        return {"q_lin": (d, d, n), "k_lin": (d, d, n), "v_lin": (d, d, n), "out_lin": (d, d, n),
                "lin1": (d, ff, n), "lin2": (ff, d, n)}
    raise ValueError(f"No LoRA shapes for architecture {case.architecture!r}.")


def lora_params(case: Case, spec: LoraSpec | None = None) -> int:
    """Parameters LoRA adds: each adapted d_in x d_out matrix adds r (d_in + d_out)."""
    spec = spec or case.lora
    shapes = adaptable_shapes(case)
    return sum(count * spec.r * (d_in + d_out) for d_in, d_out, count in (shapes[m] for m in spec.target_modules))


def saved_head_params(case: Case) -> int:
    """Parameters of ``modules_to_save``: trained in full (DistilBERT's classification head)."""
    total = 0
    for name in case.lora.modules_to_save:
        if case.architecture == "distilbert" and name == "pre_classifier":
            total += case.arch["dim"] * case.arch["dim"] + case.arch["dim"]
        elif case.architecture == "distilbert" and name == "classifier":
            total += case.arch["dim"] * len(case.labels) + len(case.labels)
        else:
            raise ValueError(f"No formula for module {name!r} of {case.architecture!r}.")
    return total


def trainable_by_formula(case: Case) -> int:
    return lora_params(case) + saved_head_params(case)


# ------------------------------------------------------------ why low rank works
def fit_low_rank(target: torch.Tensor, rank: int, steps: int = 600, lr: float = 0.02, seed: int = 0) -> torch.Tensor:
    """Learn ``B @ A`` of the given rank to approximate ``target`` by gradient descent, LoRA-style (B = 0 at start)."""
    g = torch.Generator().manual_seed(seed)
    d_out, d_in = target.shape
    A = (torch.randn(rank, d_in, generator=g) / math.sqrt(d_in)).requires_grad_()
    B = torch.zeros(d_out, rank, requires_grad=True)
    opt = torch.optim.Adam([A, B], lr=lr)
    for _ in range(steps):
        loss = ((B @ A - target) ** 2).sum()
        opt.zero_grad()
        loss.backward()
        opt.step()
    return (B @ A).detach()


def best_rank_error(target: torch.Tensor, rank: int) -> float:
    """Eckart-Young: the smallest Frobenius error of any rank-``rank`` matrix is the norm of the dropped singular values."""
    s = torch.linalg.svdvals(target)
    return float(s[rank:].pow(2).sum().sqrt())


# ------------------------------------------------------------ checking against peft
class _Holder(nn.Module):
    def __init__(self, layer: nn.Module):
        super().__init__()
        self.layer = layer

    def forward(self, x):
        return self.layer(x)


def peft_twin(ours: LoRALinear, rslora: bool = False):
    """peft's LoRA around a copy of our base layer, with our A and B copied in: the same function, two codes."""
    import copy

    from peft import LoraConfig, get_peft_model

    holder = _Holder(copy.deepcopy(ours.base))
    alpha = ours.scaling * (math.sqrt(ours.r) if rslora else ours.r)
    config = LoraConfig(r=ours.r, lora_alpha=alpha, target_modules=["layer"], lora_dropout=0.0,
                        fan_in_fan_out=ours.fan_in_fan_out, use_rslora=rslora)
    model = get_peft_model(holder, config)
    layer = model.base_model.model.layer
    with torch.no_grad():
        layer.lora_A["default"].weight.copy_(ours.A)
        layer.lora_B["default"].weight.copy_(ours.B)
    return model.eval(), layer


def randomize_b(layer: LoRALinear, seed: int = 0) -> LoRALinear:
    """Give B non-zero values, as training would, so that comparisons test the update and not just the base."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        layer.B.copy_(torch.randn(layer.B.shape, generator=g) * 0.1)
    return layer
