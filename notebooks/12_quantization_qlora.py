# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Quantization and QLoRA from scratch
#
# QLoRA {cite}`dettmers2023qlora` fine-tunes a model whose frozen weights are stored in 4 bits. This
# chapter builds the pieces by hand (absmax and blockwise quantization, the NF4 data type, double
# quantization), checks each against `bitsandbytes`, and ends with a memory model that says which of
# the book's models can be fine-tuned on a 15 GB T4, and how.
#
# **What you will learn**
# - absmax and blockwise quantization, and why blocks matter;
# - how NF4 is built from quantiles of the normal distribution, and why it beats Int4 and FP4 on normal weights;
# - what double quantization saves;
# - where the memory of fine-tuning goes (weights, gradients, optimizer states, activations) for full
#   fine-tuning, LoRA and QLoRA; what paged optimizers are for.
#
# **Prerequisites**: {doc}`11_lora_from_scratch`. Terms: {term}`NF4`, {term}`double quantization`,
# {term}`paged optimizer`, {term}`QLoRA` (all in the {doc}`../book/glossary`).
#
# **Time and hardware**: under a minute on any CPU, offline, in every profile. `bitsandbytes` runs on
# its CPU backend here; on a GPU the same calls run its CUDA kernels.

# %% [markdown]
# ## Setup
#
# In Colab, install the book's helper package first (this cell is skipped elsewhere).

# %% tags=["skip-execution", "hide-output"]
# %pip install --no-deps "llmft @ git+https://github.com/lora-casebook/lora-casebook@main"
import llmft.colab

llmft.colab.install()

# %%

import bitsandbytes.functional as bnbF
import matplotlib.pyplot as plt
import pandas as pd
import torch
from IPython.display import display
from peft import LoraConfig, get_peft_model
from transformers import GPT2Config, GPT2LMHeadModel

from llmft import models
from llmft.cases import CASES, get_case
from llmft.foundations import memory_model as mm
from llmft.foundations import quant
from llmft.foundations.lora import trainable_by_formula
from llmft.report import diagrams
from llmft.report.display import show_source
from llmft.runtime import print_versions, seed_everything

seed_everything(0)
print_versions()


# %% [markdown]
# ## Absmax quantization, and why blocks
#
# The simplest 8-bit scheme scales a tensor so that its largest magnitude maps to 127 and rounds:
# $q = \text{round}(127\, x / \max|x|)$. One large value (an *outlier*) stretches the scale and
# wastes most of the 255 levels on values that never occur. **Blockwise** quantization
# {cite}`dettmers2022optimizers` gives every block of values its own scale (that paper used blocks of 2,048 for
# optimizer states; QLoRA uses 64 for weights {cite}`dettmers2023qlora`, and so do we here), so an outlier only
# hurts its own block. We compare both on normally distributed weights, with and without one outlier.

# %%
w = torch.randn(4096, 1024) * 0.02
w_outlier = w.clone()
w_outlier[0, 0] = 2.0  # one weight 100 standard deviations out
int8_code = torch.arange(-127, 128, dtype=torch.float32) / 127
rows = {}
for name, x in [("normal weights", w), ("with one outlier", w_outlier)]:
    q, scale = quant.absmax_int8(x)
    per_tensor = (quant.dequantize_absmax_int8(q, scale) - x).pow(2).mean().item()
    blockwise = quant.quantization_error(x, int8_code, blocksize=64)
    rows[name] = {"absmax, one scale (MSE)": per_tensor, "blockwise, 64 per scale (MSE)": blockwise,
                  "ratio": per_tensor / blockwise}
int8_table = pd.DataFrame(rows).T
int8_table

# %%
assert int8_table.loc["with one outlier", "ratio"] > 10  # blocks contain the damage

# %% [markdown]
# ## NF4: a data type for normal weights
#
# Pretrained weights are roughly normal. If each of the 16 code values of a 4-bit type covered an
# equal share of the normal distribution's probability, every code would be used equally often: that is
# **NormalFloat4**. QLoRA takes quantiles of $N(0, 1)$ at evenly spaced probabilities, 8 on the positive
# side and 7 on the negative side so that zero is represented exactly, and rescales them to $[-1, 1]$.
# Each block of 64 weights is divided by its absmax and every value is mapped to the nearest code.

# %% tags=["hide-input"]
fig = diagrams.nf4_levels()

# %%
show_source(quant.nf4_code)

# %%
ours, theirs = quant.nf4_code(), bnbF.get_4bit_type("nf4", device="cpu")
nf4_diff = (ours - theirs).abs().max().item()
display(pd.DataFrame({"ours": ours.numpy(), "bitsandbytes": theirs.numpy()}).T.round(4))
print(f"max |difference| between the two NF4 tables: {nf4_diff:.1e}")
assert nf4_diff < 1e-6

# %% [markdown]
# The tables agree to float32 rounding (`bitsandbytes` hard-codes values computed once with SciPy; we
# compute them with Python's `statistics.NormalDist`). Now the full round trip: quantize a weight tensor
# with our code and with `bitsandbytes`' `quantize_4bit`, unpack its bytes (two 4-bit indices per byte,
# high nibble first) and compare indices, block scales and dequantized values.

# %%
x = torch.randn(1024, 1024)
idx, absmax = quant.quantize_blockwise(x, ours, blocksize=64)
packed, state = bnbF.quantize_4bit(x, blocksize=64, quant_type="nf4")
their_idx = quant.unpack_nibbles(packed)
roundtrip = pd.DataFrame({
    "indices that differ": [int((idx != their_idx).sum())],
    "max |absmax difference|": [(absmax - state.absmax).abs().max().item()],
    "max |dequantized difference|": [(quant.dequantize_blockwise(idx, absmax, ours, x.shape)
                                      - bnbF.dequantize_4bit(packed, state)).abs().max().item()],
    "packed bytes equal": [torch.equal(quant.pack_nibbles(idx), packed.reshape(-1))],
}, index=["ours vs bitsandbytes"])
roundtrip

# %%
assert roundtrip.iloc[0, 0] == 0 and roundtrip.iloc[0, 3]
assert roundtrip.iloc[0, 2] < 1e-6  # our table's last-bit differences are the only source

# %% [markdown]
# Every index and every byte is identical; the dequantized values differ only by the tables' float32
# rounding above. (A value exactly halfway between two codes goes to the lower one in both codes.)
#
# ## NF4 against Int4 and FP4
#
# Two other 4-bit types: **Int4**, 15 evenly spaced levels, and **FP4** (1 sign, 2 exponent and 1 mantissa
# bit, in `bitsandbytes`' layout), whose levels crowd near zero. We quantize normally distributed weights
# with each, at block sizes from 64 to one scale for the whole tensor, and measure the mean squared error.

# %%
codes = {"Int4": quant.int4_code(), "FP4": quant.fp4_code(), "NF4": quant.nf4_code()}
assert torch.equal(torch.sort(codes["FP4"]).values, torch.sort(bnbF.get_4bit_type("fp4", device="cpu")).values)
blocksizes = [64, 256, 1024, 4096, 16384, x.numel()]
errors = pd.DataFrame({name: [quant.quantization_error(x, code, b) for b in blocksizes] for name, code in codes.items()},
                      index=pd.Index(blocksizes[:-1] + ["whole tensor"], name="block size"))
fig, ax = plt.subplots(figsize=(6.4, 3.6))
for name in codes:
    ax.plot(range(len(blocksizes)), errors[name], "o-", label=name)
ax.set_xticks(range(len(blocksizes)), errors.index.astype(str))
ax.set(xlabel="weights per scale (block size)", ylabel="mean squared error (N(0,1) weights)",
       title="4-bit round-trip error on normal weights")
ax.legend()
ax.grid(alpha=0.3)
fig.tight_layout()
print(f"a block of 64 N(0,1) weights has an absmax of {absmax.mean():.2f} on average")
errors.round(5)

# %% [markdown]
# NF4 has the lowest error at every block size, by a wide margin: this is QLoRA's main finding about data
# types, which the paper measured as perplexity of trained models (mean perplexity 27.41 for NF4 with
# double quantization against 31.07 for FP4 and 34.34 for Int4, its Table 2 {cite}`dettmers2023qlora`).
# The order of the other two depends on the block size. With one scale for a whole tensor, FP4's levels
# near zero pay off and it beats Int4, as in the paper. With QLoRA's small blocks of 64, the block's
# absmax is only about 2.6 standard deviations (printed above), the weights fill the range evenly, and Int4's even levels
# give the lower squared error. Squared error on random normal weights is not perplexity, so we assert
# only what we measured.

# %%
assert (errors["NF4"] < errors["Int4"]).all() and (errors["NF4"] < errors["FP4"]).all()
assert errors.loc["whole tensor", "FP4"] < errors.loc["whole tensor", "Int4"]

# %% [markdown]
# ## Double quantization
#
# One fp32 scale per block of 64 weights costs $32/64 = 0.5$ bits per weight on top of the 4 bits.
# **Double quantization** quantizes those scales too: 8 bits each, with one fp32 scale per 256 of them.
# That leaves $8/64 + 32/(64 \cdot 256) \approx 0.127$ bits per weight. We compute the saving by formula
# and read it off the quantization state `bitsandbytes` produces with `compress_statistics=True`.

# %%
_, dq_state = bnbF.quantize_4bit(x, blocksize=64, quant_type="nf4", compress_statistics=True)
n = x.numel()
measured_plain = state.absmax.numel() * state.absmax.element_size() * 8 / n
measured_dq = (dq_state.absmax.numel() * dq_state.absmax.element_size() * 8
               + dq_state.state2.absmax.numel() * dq_state.state2.absmax.element_size() * 8 + 32) / n
dq = pd.DataFrame({
    "formula": [quant.constants_bits_per_parameter(64), quant.constants_bits_per_parameter(64, double=True)],
    "bitsandbytes state": [measured_plain, measured_dq],
}, index=["constants, bits per weight", "with double quantization"])
dq.loc["saving"] = dq.iloc[0] - dq.iloc[1]
dq.round(4)

# %%
saving = dq.loc["saving", "formula"]
print(f"saving on a 65-billion-parameter model: {saving * 65e9 / 8 / 1e9:.1f} GB")
assert abs(saving - dq.loc["saving", "bitsandbytes state"]) < 1e-3 and abs(saving - 0.37) < 0.01

# %% [markdown]
# Both give about 0.373 bits per weight, the "about 0.37 bits per parameter" the QLoRA paper reports
# {cite}`dettmers2023qlora`: about 3 GB on a 65-billion-parameter model (printed above).
#
# Put together, this is QLoRA in one layer: the base weight is stored in NF4 with double-quantized scales, turned back
# into the compute dtype block by block for each matrix product, and never trained; beside it, the LoRA adapter in
# fp32 is the only thing with gradients and optimizer states.

# %% tags=["hide-input"]
fig = diagrams.qlora_flow()

# %% [markdown]
# ## Where the memory of fine-tuning goes
#
# The model in `llmft.foundations.memory_model` adds up four things, with every assumption stated in its source:

# %%
show_source(mm.training_memory)

# %% [markdown]
# Below, each case's real architecture (from the published numbers, counted on the `meta` device) with
# one sequence of 512 tokens and gradient checkpointing. Full fine-tuning is in fp32 and in mixed fp16; LoRA uses
# each case's own configuration on an fp16, int8 or NF4 base (NF4 is QLoRA). A quantized base is counted module by
# module as transformers and bitsandbytes hold it (`mm.weight_bytes`): only the linear layers are quantized; the
# embeddings, the output head and the norms stay 16-bit, and T5 keeps its `wo` layers in fp32. The logits of the
# loss and the CUDA context are left out here (the T4 plan of each case chapter counts them). A T4 has 15 GB.

# %%
rows = []
for case in CASES.values():
    meta = models.real_size_on_meta(case)
    n_params = models.count_params(meta).total
    h, heads, layers = mm.transformer_dims(case)
    act = mm.activation_bytes(h, heads, layers, seq=512, batch=1, checkpointing=True)
    skip = case.lora.modules_to_save or None
    base = {"fp16": mm.weight_bytes(meta, "fp16", skip=skip),
            "int8": mm.weight_bytes(meta, "fp16", quantized=True, bits=8, skip=skip),
            "nf4": mm.weight_bytes(meta, "fp16", quantized=True, skip=skip)}
    for label, method, dtype in [("full, fp32", "full", "fp32"), ("full, mixed fp16", "full", "fp16"),
                                 ("LoRA, fp16 base", "lora", "fp16"), ("LoRA, int8 base", "lora", "int8"),
                                 ("QLoRA, NF4 base", "lora", "nf4")]:
        weights = sum(base[dtype].values()) if method == "lora" else None
        est = mm.training_memory(n_params, trainable_by_formula(case), dtype, method, act, weights=weights)
        rows.append({"model": case.model_id, "method": label, **est.gib(),
                     "fits a T4": "yes" if est.total < mm.T4_BYTES else "no"})
memory = pd.DataFrame(rows).set_index(["model", "method"])
memory.style.format(precision=2).set_caption(
    "Predicted training memory in GiB (2^30 bytes) per part, one 512-token sequence with activation checkpointing; "
    "the memory model of this chapter, not a measurement")

# %% [markdown]
# Full fine-tuning costs 16 bytes per parameter before activations, so even the 250M-parameter
# Flan-T5-base needs almost 4 GiB, and Llama-3-8B about 120 GiB. LoRA removes the gradients and
# optimizer states of the frozen weights, but Llama-3-8B's fp16 weights alone take 15 GiB. Only a
# quantized base brings it onto a T4:

# %%
llama = memory.loc["meta-llama/Meta-Llama-3-8B"]
assert llama.loc["QLoRA, NF4 base", "fits a T4"] == "yes" and llama.loc["LoRA, fp16 base", "fits a T4"] == "no"
card = mm.T4_BYTES / 2**30
nf4_base = mm.weight_bytes(models.real_size_on_meta(get_case("papers-llama3")), "fp16", quantized=True)
print(f"On a T4 ({card:.1f} GiB), Llama-3-8B's LoRA on an 8-bit base leaves "
      f"{card - llama.loc['LoRA, int8 base', 'total']:.1f} GiB, QLoRA on NF4 "
      f"{card - llama.loc['QLoRA, NF4 base', 'total']:.1f} GiB for the logits, longer sequences and the CUDA context. "
      f"Of the NF4 base's {sum(nf4_base.values()) / 2**30:.2f} GiB, {nf4_base['fp16 weights'] / 2**30:.2f} GiB are the "
      "16-bit embeddings, head and norms that bitsandbytes does not quantize.")

# %% [markdown]
# ### The model beside a measurement
#
# We can check the model where this machine can measure. A GPT-2-shaped model (6 layers, hidden size 512)
# trains one step on 4 sequences of 256 tokens in fp32, fully and with LoRA on `c_attn`. We count the bytes
# of the gradients and AdamW states after the step, and of every tensor autograd saves for the backward
# pass (through `torch.autograd.graph.saved_tensors_hooks`). On a GPU, `torch.cuda.max_memory_allocated`
# would measure the same thing as a peak.

# %%
config = GPT2Config(n_embd=512, n_layer=6, n_head=8, vocab_size=8000, n_positions=256, attn_implementation="eager",
                    bos_token_id=0, eos_token_id=0)
b, s = 4, 256
batch = {"input_ids": torch.randint(0, config.vocab_size, (b, s), generator=torch.Generator().manual_seed(0))}
batch["labels"] = batch["input_ids"]
rows = []
for method in ("full", "lora"):
    torch.manual_seed(0)
    model = GPT2LMHeadModel(config)
    n_params = model.num_parameters()
    if method == "lora":
        model = get_peft_model(model, LoraConfig(r=16, lora_alpha=32, target_modules=["c_attn"], fan_in_fan_out=True))
    n_trained = sum(p.numel() for p in model.parameters() if p.requires_grad)
    pred = mm.training_memory(n_params, n_trained, "fp32", method,
                              mm.activation_bytes(512, 8, 6, s, b, act_bytes=4))
    meas = mm.measured_training_bytes(model, batch)
    for part in ("gradients", "optimizer", "activations"):
        rows.append({"method": method, "part": part, "predicted (MiB)": getattr(pred, part) / 2**20,
                     "measured (MiB)": meas[part] / 2**20})
check = pd.DataFrame(rows).set_index(["method", "part"])
check["measured / predicted"] = check["measured (MiB)"] / check["predicted (MiB)"]
check.round(2)

# %% [markdown]
# Gradients and optimizer states match exactly: they are just counts of parameters times bytes. The
# activations come out 1.4 to 1.7 times the estimate: the Korthikanti et al. formula
# {cite}`korthikanti2022reducing` counts one transformer layer's standard tensors in 16 bits, and leaves
# out the embeddings, the 8,000-way logits and their loss, and the extra float32 intermediates of PyTorch's
# eager attention on a CPU. Treat the activation column of the table above as a lower bound, and leave
# head-room.

# %%
ratio = check["measured / predicted"]
assert (ratio.xs("gradients", level="part") == 1).all() and (ratio.xs("optimizer", level="part") == 1).all()
assert ((ratio.xs("activations", level="part") > 1) & (ratio.xs("activations", level="part") < 3)).all()

# %% [markdown]
# ## Paged optimizers
#
# Memory use during training is not flat: a long sequence or gradient checkpointing's recomputation makes
# short spikes. If a spike exceeds the GPU's memory, training crashes, even though the average fits.
# **Paged optimizers** {cite}`dettmers2023qlora` allocate the optimizer states in CUDA *unified memory*:
# when the GPU runs short, pages of optimizer state move to CPU RAM automatically and come back when the
# optimizer step needs them. The spike survives at the cost of some transfer time. With `bitsandbytes`,
# `optim="paged_adamw_8bit"` in the `Trainer` also stores the states in 8 bits (blockwise, as above),
# 2 bytes per trained parameter instead of 8.

# %% tags=["hide-input"]
fig, ax = plt.subplots(figsize=(7.2, 2.8))
ax.set_axis_off()
boxes = [(0.02, 0.55, "GPU memory", "#cfe2f3"), (0.02, 0.05, "CPU RAM", "#fce5cd")]
for x0, y0, label, color in boxes:
    ax.add_patch(plt.Rectangle((x0, y0), 0.96, 0.38, color=color, ec="black"))
    ax.text(x0 + 0.01, y0 + 0.31, label, fontsize=10, weight="bold")
for i, (label, color) in enumerate([("4-bit weights", "#9fc5e8"), ("LoRA adapter", "#b6d7a8"),
                                    ("activations (spike)", "#ea9999"), ("optimizer pages", "#ffe599")]):
    ax.add_patch(plt.Rectangle((0.04 + 0.235 * i, 0.6), 0.215, 0.18, color=color, ec="black"))
    ax.text(0.05 + 0.235 * i, 0.67, label, fontsize=8.5)
ax.add_patch(plt.Rectangle((0.745, 0.1), 0.215, 0.18, color="#ffe599", ec="black", linestyle="--"))
ax.text(0.755, 0.17, "evicted pages", fontsize=8.5)
ax.annotate("", xy=(0.85, 0.29), xytext=(0.85, 0.59), arrowprops=dict(arrowstyle="<->", lw=1.5))
ax.text(0.50, 0.468, "paged on demand (unified memory)", fontsize=8)
ax.set_title("Paged optimizers: optimizer state moves to CPU RAM during a memory spike")
fig.tight_layout()

# %% [markdown]
# ## Summary
#
# - Blockwise absmax quantization gives each block of weights (64 in QLoRA) its own scale, so an outlier only
#   damages its block.
# - NF4 places its 16 values at normal quantiles; our construction and quantizer reproduce `bitsandbytes`
#   byte for byte, and NF4 has the lowest error on normal weights at every block size.
# - Double quantization stores the block scales in 8 bits and saves about 0.37 bits per weight.
# - Full fine-tuning costs about 16 bytes per parameter plus activations; LoRA pays that only for the
#   adapter; QLoRA also cuts the frozen weights to about half a byte. Llama-3-8B fits a T4 only on a
#   quantized base, and comfortably only in NF4.
#
# ## Exercises
#
# 1. **Outliers.** Repeat the int8 comparison with block sizes 16, 256 and 4096. Where does blockwise stop
#    helping? *Hint: the outlier is always in one block; what grows with the block size is how many weights
#    share its stretched scale.*
# 2. **Other distributions.** Quantize Student-t weights (`torch.distributions.StudentT(4)`) with Int4,
#    FP4 and NF4. Does NF4 still win? *Hint: NF4 was designed for the normal distribution's quantiles.*
# 3. **Sequence length.** Recompute Llama-3-8B's activation memory with `mm.activation_bytes` at
#    `seq=512` and `seq=1024`, each with `checkpointing=True` and `checkpointing=False`. Which setting grows
#    fastest with the sequence length? *Hint: per layer the formula is $s b h (34 + 5 a s / h)$ bytes
#    (`llmft.foundations.memory_model`): the first term grows like $s$, the attention-score term like $s^2$ (that
#    term holds for eager attention, which stores the $s \times s$ scores; SDPA's memory-efficient kernels and
#    FlashAttention do not store them, so it drops out there); with checkpointing only each layer's input is
#    kept.*
# 4. **8-bit states.** `training_memory` takes `optimizer="paged_adamw_8bit"` (two 8-bit states and their block
#    constants, about 2 bytes per trained parameter, instead of AdamW's 8). How much does it save for QLoRA on
#    Llama-3-8B? *Hint: the adapter has 168M parameters, so about 6 bytes each: roughly 0.9 GiB.*
#
# ````{admonition} Solutions
# :class: dropdown
# **1. Outliers.**
# ```python
# w = torch.randn(4096, 1024) * 0.02
# w_outlier = w.clone()
# w_outlier[0, 0] = 2.0
# int8_code = torch.arange(-127, 128, dtype=torch.float32) / 127
# [(b, quant.quantization_error(w_outlier, int8_code, b) / quant.quantization_error(w, int8_code, b))
#  for b in (16, 256, 4096)]
# ```
# The outlier's block gets a scale a hundred times too coarse, so every weight that shares the block loses
# precision. With 16 weights per block that is a handful of weights and the total error barely moves; with 4,096
# it is a whole row of the matrix and the damage shows; with one scale for the tensor it is everything, as in the
# table above. Blockwise helps as long as blocks stay small; bitsandbytes uses 64 for weights.
#
# **2. Other distributions.**
# ```python
# t = torch.distributions.StudentT(4).sample((1024, 1024))
# {name: quant.quantization_error(t, code, 64) for name, code in
#  [("Int4", quant.int4_code()), ("FP4", quant.fp4_code()), ("NF4", quant.nf4_code())]}
# ```
# NF4 still has the lowest error on Student-t(4) weights: they are heavier-tailed than a normal, but still peaked at
# zero, where NF4 puts most of its levels, and each block's absmax absorbs much of the tail. NF4 is not optimal
# for them (its levels are a normal's quantiles), only better than evenly spaced or floating-point levels.
#
# **3. Sequence length.**
# ```python
# h, heads, layers = mm.transformer_dims(CASES["papers-llama3"])
# {(s, ckpt): mm.activation_bytes(h, heads, layers, s, 1, checkpointing=ckpt) / 2**30
#  for s in (512, 1024) for ckpt in (True, False)}
# ```
# Without checkpointing the memory grows fastest: every layer keeps its $s^2$ attention scores, so doubling $s$ more
# than doubles it. With checkpointing only each layer's input ($2sbh$ bytes, linear in $s$) is kept, plus one
# layer's full activations, and the total stays small.
#
# **4. 8-bit states.** The adapter's 167,772,160 parameters (r = 64 on all seven projections,
# `lora.trainable_by_formula`) each save $8 - 2.03$ bytes: about $1.0 \times 10^9$ bytes, 0.93 GiB.
# ```python
# n = trainable_by_formula(CASES["papers-llama3"])
# n * (mm.OPTIMIZER_BYTES["adamw"] - mm.OPTIMIZER_BYTES["paged_adamw_8bit"]) / 2**30
# ```
# ````
#
# ## References
#
# Cited on this page: QLoRA {cite}`dettmers2023qlora`, blockwise quantization
# {cite}`dettmers2022optimizers`, and activation memory {cite}`korthikanti2022reducing`. Full entries are
# on the {doc}`../book/references` page.
