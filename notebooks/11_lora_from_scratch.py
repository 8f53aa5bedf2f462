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
# # LoRA from scratch
#
# LoRA {cite}`hu2021lora` fine-tunes a model without touching its weights: beside each chosen weight
# matrix it learns a small low-rank update. This chapter builds a LoRA layer in a few lines, proves it
# computes exactly what the `peft` library computes, and works out how many parameters LoRA trains in
# each model of the book.
#
# **What you will learn**
# - the LoRA update $\frac{\alpha}{r} BA$, why $B$ starts at zero, what dropout touches, and rsLoRA's scaling;
# - how to write a LoRA layer, merge it into the base weight and take it out again;
# - why a low-rank update is often enough, and what rank cannot do;
# - how many parameters LoRA trains, by formula, for the five models of the cases.
# - what a `Trainer` does, by training the layer on a real task with a loop written out in full (collator, label
#   masking, AdamW on the adapter only, schedule, clipping) and matching the `Trainer` step for step.
#
# **Prerequisites**: matrix multiplication, a little PyTorch. Terms are collected in the {doc}`../book/glossary`
# ({term}`LoRA`, {term}`rank`, {term}`alpha`, {term}`adapter`, {term}`merge`).
#
# **Time and hardware**: under a minute on any CPU, offline, in every profile; nothing is downloaded.

# %% [markdown]
# ## Setup
#
# In Colab, install the book's helper package first (this cell is skipped elsewhere).

# %% tags=["skip-execution", "hide-output"]
# %pip install --no-deps "llmft @ git+https://github.com/lora-casebook/lora-casebook@main"
import llmft.colab

llmft.colab.install()

# %%
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
import torch
from IPython.display import display
from peft import get_peft_model
from torch import nn
from transformers import AutoModelForCausalLM, AutoTokenizer
from transformers.pytorch_utils import Conv1D

from llmft import models
from llmft.cases import CASES
from llmft.foundations import lora
from llmft.models import adapters
from llmft.models.standins.smollm2 import smollm2
from llmft.report import diagrams
from llmft.report.display import captioned, show_source
from llmft.runtime import print_versions, seed_everything
from llmft.training import by_hand

seed_everything(0)
print_versions()


# %% [markdown]
# ## The math
#
# A linear layer computes $h = W x$ with $W \in \mathbb{R}^{d_\text{out} \times d_\text{in}}$. Full
# fine-tuning learns a new $W' = W + \Delta W$: $d_\text{out} d_\text{in}$ numbers per matrix. LoRA
# keeps $W$ frozen and restricts the update to rank $r$:
#
# $$ h = W x + \frac{\alpha}{r} B A x, \qquad A \in \mathbb{R}^{r \times d_\text{in}},\;
#    B \in \mathbb{R}^{d_\text{out} \times r}. $$
#
# - **Parameters**: $r (d_\text{in} + d_\text{out})$ instead of $d_\text{in} d_\text{out}$. For a
#   $4096 \times 4096$ projection with $r = 16$: 131,072 instead of 16,777,216.
# - **Initialisation**: $A$ is random, $B = 0$. So $BA = 0$ and training starts from exactly the
#   pretrained model; the gradient still reaches $B$ because $A x \neq 0$.
# - **Scaling** $\frac{\alpha}{r}$: the LoRA paper divides by $r$ to reduce the need to re-tune the learning
#   rate when $r$ changes {cite}`hu2021lora`. rsLoRA {cite}`kalajdzievski2023rslora` shows that it goes too
#   far: with $\frac{\alpha}{r}$ the update, and its learning, shrink as $r$ grows, so large ranks learn no
#   better than small ones. Its $\frac{\alpha}{\sqrt{r}}$ is the rank-stable choice (exercise 2).
# - **Dropout** applies to the input of the update only, $\frac{\alpha}{r} B A\, \text{dropout}(x)$;
#   the frozen path $Wx$ is untouched.
# - **Where**: any linear map; usually the attention projections (query, key, value, output) and
#   often the feed-forward ones. The original paper adapted only query and value.
#
# In a picture, for one $768 \times 768$ projection with $r = 8$, $\alpha = 16$:

# %% tags=["hide-input"]
fig = diagrams.lora_layer(768, 768, r=8, alpha=16)

# %% [markdown]
# ## A LoRA layer in 50 lines
#
# Here is the layer from `llmft.foundations.lora`, the code the rest of this chapter runs:

# %%
show_source(lora.LoRALinear)

# %% [markdown]
# ## Checked against `peft`
#
# We wrap a layer with our code and with `peft`'s, give both the same $A$ and a non-zero $B$ (as if
# trained; with $B = 0$ the check would only test the base layer), and compare outputs on random inputs.
# GPT-2 stores its projections as `Conv1D` with the weight transposed, $(d_\text{in}, d_\text{out})$;
# `fan_in_fan_out=True` handles that in both codes.

# %%
x = torch.randn(4, 16, 256)
rows = []
for kind, make in [("Linear", lambda: nn.Linear(256, 192)), ("Conv1D (GPT-2)", lambda: Conv1D(192, 256))]:
    for rslora in (False, True):
        ours = lora.randomize_b(lora.LoRALinear(make(), r=8, alpha=16, fan_in_fan_out=kind != "Linear",
                                                rslora=rslora)).eval()
        twin, peft_layer = lora.peft_twin(ours, rslora=rslora)
        diff = (ours(x) - twin(x)).abs().max().item()
        rows.append({"layer": kind, "scaling": "alpha/sqrt(r)" if rslora else "alpha/r",
                     "our scaling": ours.scaling, "peft scaling": peft_layer.scaling["default"],
                     "max |output difference|": diff})
        assert diff < 1e-6
comparison = pd.DataFrame(rows)
comparison

# %% [markdown]
# The outputs agree to the last bit or within float32 rounding: the two codes compute the same function.
#
# ## Merge and unmerge
#
# At inference the update can be folded into the weight, $W \leftarrow W + \frac{\alpha}{r} BA$, so the
# adapted layer costs exactly as much as the original. Unmerging subtracts the same matrix again.

# %%
ours = lora.randomize_b(lora.LoRALinear(nn.Linear(256, 192), r=8, alpha=16)).eval()
twin, peft_layer = lora.peft_twin(ours)
w0, y0 = ours.base.weight.detach().clone(), ours(x)
ours.merge()
peft_layer.merge()
merged_output_diff = (ours(x) - y0).abs().max().item()
merged_vs_peft = (ours.base.weight - peft_layer.base_layer.weight).abs().max().item()
merged_max = ours.base.weight.abs().max().item()
ours.unmerge()
unmerge_error = (ours.base.weight - w0).abs().max().item()
eps = torch.finfo(torch.float32).eps
pd.DataFrame({"max |difference|": [merged_output_diff, merged_vs_peft, unmerge_error],
              "compared with": ["adapter output before merging", "peft's merged weight", "the original W"]},
             index=["merged layer output", "merged weight", "weight after unmerge"])

# %% [markdown]
# The merged weight is identical to `peft`'s. Unmerging restores $W$ up to floating-point rounding, not
# bit for bit: $(W + \Delta) - \Delta$ rounds twice in float32, each time to the precision of the merged
# values. The error stays below $\epsilon \cdot \max|W + \Delta|$ (float32's machine epsilon times the
# largest merged weight), which we assert. Keep a copy of $W$ if you need it back exactly.

# %%
assert merged_output_diff < 1e-4 and merged_vs_peft == 0.0
assert 0 < unmerge_error <= eps * merged_max

# %% [markdown]
# ## Why low rank works
#
# Suppose the change a task needs is itself (close to) low-rank. Then a rank-$r$ update can represent it
# once $r$ reaches that rank, and not before. We build a known update of rank $k = 6$ in a $96 \times 64$
# matrix and fit it with LoRA-style factors ($B = 0$ at the start) for ranks 1 to $2k$. The best any
# rank-$r$ matrix can do is known in closed form (Eckart and Young): the norm of the singular values it
# leaves out {cite}`eckart1936approximation`.

# %%
k = 6
g = torch.Generator().manual_seed(0)
target = torch.randn(96, k, generator=g) @ torch.randn(k, 64, generator=g) / 8
ranks = list(range(1, 2 * k + 1))
fits = {r: lora.fit_low_rank(target, r) for r in ranks}
fit_error = [float((fits[r] - target).norm() / target.norm()) for r in ranks]
best_error = [lora.best_rank_error(target, r) / float(target.norm()) for r in ranks]

fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(7.2, 3.4))
ax1.plot(ranks, fit_error, "o-", label="LoRA fit (gradient descent)")
ax1.plot(ranks, best_error, "k--", label="best possible (truncated SVD)")
ax1.axvline(k, color="grey", linestyle=":", label=f"true rank {k}")
ax1.set(xlabel="LoRA rank r", ylabel="relative error ||BA - ΔW|| / ||ΔW||", title="Fitting a rank-6 update")
ax1.legend()
ax2.semilogy(range(1, 2 * k + 1), torch.linalg.svdvals(fits[2 * k])[: 2 * k].clamp(min=1e-12), "o-",
             label=f"learned update, r = {2 * k}")
ax2.semilogy(range(1, 2 * k + 1), torch.linalg.svdvals(target)[: 2 * k].clamp(min=1e-12), "k.", label="target")
ax2.set(xlabel="index", ylabel="singular value (log scale)", title="Singular values")
ax2.legend()
fig.tight_layout()

# %% [markdown]
# Below the true rank the fit sits on the best-possible curve: LoRA finds the optimal low-rank
# approximation. From rank 6 on the error vanishes, and a rank-12 adapter learns an update whose
# singular values beyond the sixth are tiny: extra rank is left unused rather than harmful.

# %%
assert all(abs(f - b) < 0.02 for f, b in zip(fit_error[: k - 1], best_error[: k - 1]))
assert fit_error[k - 1] < 0.01 and max(fit_error[k - 1 :]) < 0.01

# %% [markdown]
# ## How much LoRA trains in each case
#
# One formula covers every architecture: for each targeted module, $r (d_\text{in} + d_\text{out})$
# times the number of such modules. DistilBERT's classifier head is trained in full as well
# (`modules_to_save`). We compute the count by formula and check it against `peft` on each real
# architecture, built from its published configuration on PyTorch's `meta` device (no download, no memory;
# Llama-3-8B included). An adapter is saved in float32: 4 bytes per trained parameter.

# %%
rows = []
for case in CASES.values():
    peft_count = models.count_params(get_peft_model(models.real_size_on_meta(case), models.lora_config(case)))
    formula = lora.trainable_by_formula(case)
    base_params = peft_count.total - peft_count.trainable
    rows.append({"case": case.number, "model": case.model_id,
                 "LoRA": f"r={case.lora.r} on " + ", ".join(case.lora.target_modules),
                 "base parameters": base_params, "trainable (formula)": formula, "trainable (peft)": peft_count.trainable,
                 "trainable share": f"{100 * formula / peft_count.total:.2f} %",
                 "adapter (MiB, predicted)": round(4 * formula / 2**20, 2)})
    assert formula == peft_count.trainable, case.key
table = pd.DataFrame(rows).set_index("case")
captioned(table, "LoRA's trainable parameters on each case's real architecture (built on PyTorch's meta device: "
                 "no weights, no download)", precision=2)

# %% [markdown]
# For the three smallest models we also build the real architecture with random weights, attach the
# adapter, save it, and measure the file: the prediction is the size of the tensors, the file adds a small
# header (names and shapes).

# %%
measured = {}
for case in [c for c in CASES.values() if c.key in ("xsum-t5-small", "alpaca-gpt2", "agnews-distilbert")]:
    model = get_peft_model(models.real_size_on_meta(case, device="cpu"), models.lora_config(case))
    measured[case.number] = adapters.save_adapter(model, Path(tempfile.mkdtemp()) / case.key) / 2**20
    del model
table["adapter (MiB, measured)"] = pd.Series(measured)
display(captioned(table[["model", "adapter (MiB, predicted)", "adapter (MiB, measured)"]],
                  "Adapter files: predicted from the tensors' sizes, and measured on disk for the three smallest "
                  "models (–: not built here)", precision=2))
for number, mib in measured.items():
    assert 0 <= mib - table.loc[number, "adapter (MiB, predicted)"] < 0.1

# %% [markdown]
# Llama-3-8B with r = 64 on all seven projections trains about 2 % of its weights, yet that is 168 million
# parameters and a 640 MiB adapter: rank and targets, not the model, set the adapter's cost.
# The LoRA paper's headline numbers (10,000 times fewer trainable parameters and a checkpoint shrinking
# from 350 GB to 35 MB for GPT-3 175B {cite}`hu2021lora`) come from the same arithmetic at r = 4 on
# query and value only.

# %% [markdown]
# ## Training it by hand, then with the `Trainer`
#
# So far the layer has only fitted a made-up matrix. Now it trains on a real task before the book hands over to
# `Trainer` and `SFTTrainer`: instruction following with SmolLM2-135M-Instruct {cite}`allal2025smollm2` (a real
# pretrained model of the Llama architecture, from PyPI) on 48 of the book's synthetic Alpaca records, with our
# `LoRALinear` around every `q_proj` and `v_proj`. Every piece a `Trainer` hides is written out: putting the layers
# in, the collator (prompt + answer + EOS in one row; the loss on the answer only, so the prompt and the padding get
# the label `-100`, chosen by *position*: this model pads with its EOS id, and masking by id would hide every EOS),
# AdamW on the adapter's parameters only, a linear schedule with warm-up, gradient clipping, and an evaluation loss.

# %%
show_source(by_hand.inject_lora, by_hand.CompletionCollator, by_hand.linear_schedule, by_hand.train_by_hand)

# %% [markdown]
# Then the same run twice, from the same pretrained weights and the same seed: once with the loop above, once with
# `transformers.Trainer` given the same settings (`by_hand.train_with_trainer`; its one change from the Trainer's
# defaults is to take the batches in order instead of shuffling them).

# %%
smol = smollm2(log=lambda *_: None)
smol_tokenizer = AutoTokenizer.from_pretrained(smol)
train_rows, held_out = by_hand.instruction_rows(smol_tokenizer, n_train=48, n_eval=16)
collator, settings = by_hand.CompletionCollator(smol_tokenizer), by_hand.Settings(steps=12, batch_size=4)
runs = {}
for name in ("by hand", "Trainer"):
    model = AutoModelForCausalLM.from_pretrained(smol, dtype=torch.float32)
    params = by_hand.inject_lora(model, ("q_proj", "v_proj"), r=8, alpha=16, seed=0)
    before = by_hand.eval_loss(model, held_out, collator)
    losses = (by_hand.train_by_hand(model, params, train_rows, collator, settings) if name == "by hand"
              else by_hand.train_with_trainer(model, train_rows, collator, settings, tempfile.mkdtemp()))
    runs[name] = {"losses": losses, "params": [p.detach().clone() for p in params], "before": before,
                  "after": by_hand.eval_loss(model, held_out, collator)}
    del model
loss_gap = max(abs(a - b) for a, b in zip(runs["by hand"]["losses"], runs["Trainer"]["losses"]))
weight_gap = max(float((a - b).abs().max()) for a, b in zip(runs["by hand"]["params"], runs["Trainer"]["params"]))
display(captioned(pd.DataFrame({name: {"held-out loss before": r["before"], "held-out loss after": r["after"],
                                       "last step's loss": r["losses"][-1]} for name, r in runs.items()}),
                  f"SmolLM2-135M-Instruct, our LoRALinear (r = 8) on q_proj and v_proj, {settings.steps} steps of "
                  f"{settings.batch_size} synthetic Alpaca records; loss per answer token on {len(held_out)} held-out "
                  "records", precision=4))
print(f"{sum(p.numel() for p in params):,} trained parameters. Largest difference between the two runs: "
      f"{loss_gap:.1e} in a step's loss, {weight_gap:.1e} in an adapter weight.")
fig, ax = plt.subplots(figsize=(6.4, 3.4))
for name, style in (("by hand", "o-"), ("Trainer", "x--")):
    ax.plot(range(1, settings.steps + 1), runs[name]["losses"], style, label=name)
ax.set(xlabel="step", ylabel="training loss (nats per answer token)",
       title="The hand-written loop and the Trainer: same data, seed and settings")
ax.legend()
fig.tight_layout()

# %%
assert loss_gap <= 1e-4 and weight_gap <= 1e-5, "the loop and the Trainer disagree"
assert runs["by hand"]["after"] < runs["by hand"]["before"], "training did not lower the held-out loss"

# %% [markdown]
# The two runs agree within the tolerance we set (1e-4 in a step's loss, 1e-5 in a weight; the differences printed
# above are what this machine measured): the `Trainer` ran exactly this loop. What it adds is everything around the
# loop: logging, checkpoints, evaluation during training, mixed precision, gradient accumulation, several
# processes, and the handling of models that normalise their own loss ({ref}`error-ddp-loss`). The held-out loss
# fell in twelve steps, so the layer we wrote learns. From here on the book uses the `Trainer` and `trl`'s
# `SFTTrainer`, and this loop is what they run.
#
# ## Summary
#
# - A LoRA layer is the frozen layer plus $\frac{\alpha}{r} B A x$, with $B = 0$ at the start; our
#   50-line version computes the same outputs and the same merged weights as `peft`, for `Linear` and
#   GPT-2's `Conv1D`.
# - Merging folds the update into $W$ for free inference; unmerging restores $W$ up to float rounding.
# - On our synthetic target, a rank-$r$ adapter trained by gradient descent reached the best rank-$r$
#   approximation of the update and left spare rank unused. That real fine-tuning updates have a low
#   intrinsic rank is an empirical finding on real models {cite}`aghajanyan2021intrinsic` (and the LoRA paper's
#   §7 {cite}`hu2021lora`), not something this toy proves.
# - Trainable parameters follow $\sum r (d_\text{in} + d_\text{out})$ over the adapted matrices, checked
#   against `peft` on the real architectures of all five cases.
# - Trained by a loop written out in full on a real task, the layer learns, and `transformers.Trainer` with the
#   same settings computes the same losses and weights: the Trainer is that loop plus logging, checkpoints and
#   scale.
#
# ## Exercises
#
# 1. **Initialisation.** Start $B$ random and $A$ at zero instead (swap what `LoRALinear.__init__` does).
#    Does the layer still start as the base model? Which factor receives a gradient at step one?
#    *Hint: for $h = BAx$, the gradient with respect to $B$ is $g\,(Ax)^\top$ and with respect to $A$ it is
#    $B^\top g\, x^\top$, where $g$ is the gradient arriving at $h$: one of them is zero when $A = 0$.*
# 2. **rsLoRA.** Build `lora.randomize_b(lora.LoRALinear(nn.Linear(256, 192), r, alpha=16))` for r = 4, 16 and
#    64, and print the norm of `delta_weight()`; repeat with `rslora=True`. How does the size of the update
#    change with r in each case? *Hint: with random factors, $\lVert BA \rVert$ grows like $\sqrt{r}$, so
#    $\alpha/r$ shrinks the update like $1/\sqrt{r}$ while $\alpha/\sqrt{r}$ keeps it steady, which is why a
#    learning rate tuned at one rank still works at another with rsLoRA.*
# 3. **Targets.** Using `lora.lora_params` and `dataclasses.replace`, find the Llama-3-8B rank that makes
#    LoRA on all projections as large as r = 64 on query and value only. *Hint: the count is linear in r.*
# 4. **Not low rank.** Fit a random full-rank $96 \times 64$ target. How does the error fall with $r$
#    now? *Hint: compare with the singular values of a Gaussian matrix.*
#
# ````{admonition} Solutions
# :class: dropdown
# **1. Initialisation.** Yes: with $A = 0$ the product $BA$ is still zero, so the layer starts as the base model.
# At step one, $\partial L / \partial B = g\,(Ax)^\top = 0$ because $Ax = 0$, while
# $\partial L / \partial A = B^\top g\, x^\top \neq 0$ because $B$ is random: $A$ moves first and $B$ only from
# step two. Either choice starts from the base model; peft's default (random $A$, $B = 0$) is the paper's.
#
# **2. rsLoRA.**
# ```python
# for r in (4, 16, 64):
#     plain = lora.randomize_b(lora.LoRALinear(nn.Linear(256, 192), r, alpha=16))
#     stable = lora.randomize_b(lora.LoRALinear(nn.Linear(256, 192), r, alpha=16, rslora=True))
#     print(r, plain.delta_weight().norm().item(), stable.delta_weight().norm().item())
# ```
# $BA$ sums $r$ rank-one terms with independent random signs, so its norm grows like $\sqrt{r}$. Times
# $\alpha/r$ the update shrinks like $1/\sqrt{r}$: it halves each time $r$ grows four-fold. Times
# $\alpha/\sqrt{r}$ it stays about the same at every rank.
#
# **3. Targets.** On every one of Llama-3-8B's 32 layers, $q$ maps 4096 to 4096 and $v$ 4096 to 1024, so r = 64 on
# $q, v$ trains $64\,(8192 + 5120) \cdot 32 = 27{,}262{,}976$ parameters. All seven projections add
# $k$ ($4096 + 1024$), $o$ ($4096 + 4096$) and gate, up, down ($4096 + 14336$ each): $81{,}920$ per unit of rank per
# layer, $2{,}621{,}440$ over 32 layers. $27{,}262{,}976 / 2{,}621{,}440 = 10.4$: rank 10 on all projections is
# slightly smaller than r = 64 on $q, v$, rank 11 slightly larger. In code:
# ```python
# case = CASES["papers-llama3"]
# qv = lora.lora_params(case, dataclasses.replace(case.lora, r=64, target_modules=("q_proj", "v_proj")))
# qv / lora.lora_params(case, dataclasses.replace(case.lora, r=1))
# ```
#
# **4. Not low rank.**
# ```python
# target = torch.randn(96, 64, generator=torch.Generator().manual_seed(0))
# [lora.best_rank_error(target, r) / float(target.norm()) for r in (1, 8, 16, 32, 48, 63)]
# ```
# A Gaussian matrix's singular values fall off gently, with no gap: every extra rank removes only a little more of
# the error, which reaches zero only at the full rank 64. The truncated SVD's error is the floor any rank-$r$
# adapter can reach, so here no small rank is good enough, however well it is trained.
# ````
#
# ## References
#
# Cited on this page: LoRA {cite}`hu2021lora`, rsLoRA {cite}`kalajdzievski2023rslora`, intrinsic dimension
# {cite}`aghajanyan2021intrinsic`, and the low-rank approximation theorem {cite}`eckart1936approximation`. Full entries are on the {doc}`../book/references` page.
