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
# # More than one GPU
#
# Every case in this book is planned to fit one T4 (each chapter shows its T4 plan). Sooner or later a job does not: the data take a day on one card, or
# the model does not fit on it at all. This chapter shows the next step on the engines the Hugging Face stack
# already uses, with nothing hand-made: **data parallelism** (DDP) when one GPU is too slow, and sharding
# (**FSDP**, **DeepSpeed ZeRO**) when the model is too big. It runs case 2's training on two processes and
# checks what comes out.
#
# **What you will learn**
# - what data-parallel training does: replicas, shards of the data, averaged gradients, and the global batch;
# - how to launch a case's training on several processes with `torchrun` or `accelerate launch`, and check
#   the result: the adapter's shapes, identical replicas, a falling loss, the same quality;
# - a trap we met on the way: a loss scaled by the number of processes;
# - what changes when the model does not fit one GPU (FSDP, ZeRO-3), and what changes for QLoRA.
#
# **Prerequisites**: case 2 (its training is the one run here).
#
# **Time and hardware**
#
# | where | what runs | time |
# |---|---|---|
# | any CPU (`smoke`), and Colab with one GPU | case 2's `smoke` training as 2 processes on the CPU (gloo) | about a minute; the time is printed below |
# | a machine with 2 or more GPUs | case 2's training in the profile chosen, one process per GPU (NCCL) | not yet timed: no multi-GPU machine was available to us |

# %% [markdown]
# ## Setup

# %% tags=["skip-execution", "hide-output"]
# %pip install --no-deps "llmft @ git+https://github.com/lora-casebook/lora-casebook@main"
import llmft.colab

llmft.colab.install()

# %%
import json

import pandas as pd
import torch
from IPython.display import display

from llmft import evaluation
from llmft.report import diagrams, plots
from llmft.report.display import captioned, show_source, text_table
from llmft.runtime import shown_path, start
from llmft.training import distributed

run = start("dialogsum-flan-t5")
gpus = torch.cuda.device_count()
# Two or more GPUs: one process per GPU in this profile. Otherwise the same code on the CPU: 2 processes, smoke.
processes, launch_profile = (gpus, run.profile.name) if gpus >= 2 else (2, "smoke")
print(f"{gpus} GPU(s) visible: this page launches {processes} processes, profile '{launch_profile}', "
      f"{'NCCL on the GPUs' if gpus >= 2 else 'gloo on the CPU'}")

# %% [markdown]
# ## Data parallelism in one paragraph
#
# Each of $N$ processes holds a whole copy of the model (here: the frozen base and its LoRA adapter). Every
# step, each process takes its own $b$ examples (a different shard of the data), computes the loss and the
# adapter's gradients, and then all processes **average** their gradients (an *all-reduce*) before the
# optimizer step. All replicas apply the same update, so they stay identical, and one step has seen
#
# $$B = b \times N \times k$$
#
# examples: the **global batch**, with $k$ the gradient-accumulation steps. The average of the $N$ mean
# gradients over equal shards is the mean gradient over all $B$ examples, so $N$ processes with $b = B/N$
# each take the same steps as one process with batch $B$, faster. PyTorch's `DistributedDataParallel`
# {cite}`li2020ddp` does the averaging, overlapping it with the backward pass; the `Trainer` wraps the model
# in it and gives each process its shard when a launcher started several processes.
#
# `llmft.training.distributed` adds only what a user gets wrong: it keeps the profile's global batch by dividing it
# over the processes (or refuses, saying why, when it does not divide), prints both, saves the adapter once,
# and checks it.

# %%
show_source(distributed.plan_batch)
print(distributed.plan_batch(run.sizes.batch_size * run.sizes.grad_accum, 2, run.sizes.grad_accum).describe())
try:
    distributed.plan_batch(16, 3)
except ValueError as err:
    print("3 processes:", err)

# %% [markdown]
# Keeping $B$ fixed reproduces the single-process optimization. The other choice, keeping $b$ and letting
# $B$ grow with $N$ (`--per-device-batch`), uses more data per step; then the learning rate usually has to
# grow too, with a warm-up {cite}`goyal2017accurate`, and the results are no longer those of the chapter.

# %% [markdown]
# ## Launch case 2's training on two processes
#
# A launcher starts the processes and tells each its rank. On a machine with two GPUs either of these runs the
# module:
#
# ```bash
# torchrun --nproc_per_node 2 \
#     -m llmft.training.distributed --case dialogsum-flan-t5 --profile t4
# accelerate launch --multi_gpu --num_processes 2 \
#     -m llmft.training.distributed --case dialogsum-flan-t5 --profile t4
# ```
#
# `accelerate`'s multi-GPU launcher hands over to PyTorch's own (`torch.distributed.run`, which is `torchrun`).
# On CPUs `accelerate launch` starts several processes only through MPI, so this page calls `torchrun`
# directly, with `--standalone` so that it picks a free port.
#
# Below, the page launches it with `torchrun` (`distributed.launch`) and prints what the processes print: each
# rank its backend, device, per-process and global batch; rank 0 the summary. The progress bars go to a log file.

# %%
out_dir = run.results_dir / run.case.key / f"ddp-{launch_profile}"
print("\n".join(distributed.launch(run.case.key, launch_profile, processes, out_dir, cpu=gpus < 2)))

# %% [markdown]
# Rank 0 wrote `report.json` only after every check passed: the processes ended with the same adapter (a hash of
# its weights from each), the saved adapter has exactly the tensors and shapes that LoRA adds to the base's
# targeted layers, and the loss fell.

# %%
report = json.loads((out_dir / distributed.REPORT).read_text())
facts = {
    "processes": report["processes"], "backend": report["backend"],
    "per-process batch": report["per_process_batch"], "accumulation steps": report["accumulation"],
    "global batch": report["global_batch"], "optimizer steps": report["steps"],
    "seconds": f"{report['seconds']:.0f}",
    "useful tokens / s, all processes": f"{report['useful_tokens_per_second']:,.0f}",
    "loss: first log, end": f"{report['first_loss']:.3f}, {report['final_loss']:.3f}",
    "adapter: tensors, parameters": f"{report['adapter_tensors']}, {report['adapter_parameters']:,}",
    "replicas identical at the end": "yes" if len(set(report["adapter_fingerprints"])) == 1 else "NO",
}
display(text_table(pd.DataFrame({"measure": list(facts), "value": [str(v) for v in facts.values()]}),
                   f"The {processes}-process run, '{launch_profile}' profile: {report['produced_by']}"))

# %% [markdown]
# The loss curve beside the one-process run of case 2's chapter, where it exists (same global batch, same
# steps; each step's examples differ, because the two processes draw their shards in another order):

# %%
single_path = run.results_dir / run.case.key / f"{launch_profile}.json"
single = json.loads(single_path.read_text()) if single_path.exists() else None
curves = {f"{processes} processes": report["loss_history"]}
if single:
    curves["1 process (chapter 2)"] = single["training"]["lora"]["loss_history"]
else:
    print(f"{shown_path(single_path)} is absent: run case 2's chapter in '{launch_profile}' to compare with one process")
fig = plots.loss_curves(curves, f"Case 2, '{launch_profile}': {report['produced_by']}")

# %% [markdown]
# ## Is the adapter as good?
#
# Falling loss is not quality. The page loads the two-process adapter onto the base and scores it on case 2's
# test dialogues, the same inputs and references as the chapter.

# %%
ddp, ddp_model = evaluation.score_adapter(run.case.key, launch_profile, out_dir / "adapter", f"LoRA, {processes} processes")
rows = {f"LoRA, {processes} processes (this page)": ddp.summary["rougeL"].as_dict()}
if single:
    rows["LoRA, 1 process (chapter 2)"] = single["systems"]["lora"]["rougeL"]
    rows["zero-shot (chapter 2)"] = single["systems"]["zero_shot"]["rougeL"]
display(captioned(pd.DataFrame(rows).T[["mean", "ci_low", "ci_high"]],
                  f"ROUGE-L [95 % CI] on {len(ddp.per_example['rougeL'])} test dialogues; '{launch_profile}': "
                  f"{report['produced_by']}"))

# %% [markdown]
# ## A trap: the loss multiplied by the number of processes
#
# Our first two-process run logged a loss twice the one-process run's, step for step. The cause sits in the
# `Trainer` (transformers 5.23): when a model's `forward` accepts `**kwargs`, it assumes the model divides its
# loss by the token count it passes (`num_items_in_batch`), counted over *all* processes, and so it multiplies
# the loss by the number of processes before DDP averages the gradients, and skips dividing by the
# accumulation steps. T5 and DistilBERT's classifier accept `**kwargs` but return a plain mean: their loss
# and gradients came out $N$ times too large (AdamW hides most of the gradient's scale; gradient clipping and
# the logged loss do not). `llmft.training.train` tells the `Trainer` the truth for such models:

# %%
from llmft.training.train import loss_scaling_matches

show_source(loss_scaling_matches)

# %% [markdown]
# `tests/test_distributed.py` measures the trap both ways on a tiny T5 with two accumulation steps (the same
# code path as two processes): with the fix the logged loss equals the model's loss, without it it doubles.

# %% [markdown]
# ## When the model does not fit one GPU
#
# DDP copies the whole model to every GPU, so it helps only when one GPU holds it. Sharding splits it instead:

# %% tags=["hide-input"]
fig = diagrams.data_parallel()

# %% [markdown]
# Which to use, and what changes:
#
# | situation | what to use | what changes |
# |---|---|---|
# | fits one GPU, too slow | **DDP** (this page) | nothing in the model code; launch $N$ processes |
# | fits one GPU only in 4 bits | **QLoRA + DDP** | each process loads its own 4-bit replica onto *its* GPU: `device_map={"": local_rank}` (`llmft.models.load_model` does this) |
# | too big even in 4 bits, or long sequences | **FSDP** {cite}`zhao2023fsdp` or **DeepSpeed ZeRO-3** {cite}`rajbhandari2020zero` | parameters, gradients and optimizer states are *sharded* across GPUs and gathered layer by layer |
#
# ZeRO-1 and ZeRO-2 shard only optimizer states and gradients; with LoRA those are the adapter's, already
# small, so for adapters the stage that matters is the one that shards the frozen base: FSDP's full sharding
# or ZeRO-3. Both are switched on through `accelerate config` (or a config file passed to `accelerate
# launch`); the training code stays the `Trainer`'s {cite}`peftdistributed`.
#
# **What changes for QLoRA under FSDP.** FSDP shards only floating-point tensors, and a 4-bit weight is stored
# packed in an integer type by default. bitsandbytes can store it packed in a float type instead: set
# `bnb_4bit_quant_storage` to the training dtype (bf16 on a GPU that has it) and load the model with the same
# `dtype`; in the accelerate config set `fsdp_cpu_ram_efficient_loading: true` and `fsdp_use_orig_params: false`
# {cite}`peftdistributed,answerai2024fsdpqlora`. With it, Answer.AI and Hugging Face report fine-tuning a 70B model
# on two 24 GB GPUs {cite}`peftdistributed`. Two caveats from the same guide: merging an adapter while the base is
# sharded is not supported (save the adapter, merge later on one machine, as each case's last section does),
# and `paged_adamw_8bit` fails when saving a checkpoint under FSDP + QLoRA.
#
# None of the multi-GPU paths were run for this book beyond the CPU demonstration above: we had no machine
# with two GPUs. The commands and settings come from the cited guides.

# %% [markdown]
# ## Checks
#
# In `smoke` the page checks its claims: the two processes trained the same adapter, of the right shape, with a
# falling loss; and the adapter beats case 2's zero-shot model on the test dialogues (which needs case 2's results:
# without them the page stops and says so).

# %%
if launch_profile == "smoke":
    assert report["processes"] == 2 and len(set(report["adapter_fingerprints"])) == 1
    assert report["global_batch"] == run.sizes.batch_size * run.sizes.grad_accum
    assert report["final_loss"] < report["first_loss"]
    loaded = sum(p.numel() for name, p in ddp_model.named_parameters() if ".lora_" in name)
    assert loaded == report["adapter_parameters"], "the reloaded adapter has another size than the one checked"
    assert single is not None, (f"results/{run.case.key}/{launch_profile}.json is missing: run case 2's chapter "
                                f"(notebooks/22_dialogsum_flan_t5) first; this page compares with it")
    assert single["parameters"]["lora_trainable"] == report["adapter_parameters"], "not chapter 2's adapter"
    assert ddp.summary["rougeL"].ci_low > single["systems"]["zero_shot"]["rougeL"]["ci_high"], \
        "the 2-process adapter does not beat zero-shot"

# %% [markdown]
# ## Summary
#
# - Data parallelism runs $N$ replicas on $N$ shards and averages their gradients; with $b = B/N$ per process
#   it takes the single-process steps, faster. The `Trainer` does it when `torchrun` or `accelerate launch`
#   starts the processes.
# - Check a distributed run: identical replicas, the adapter's shapes, a falling loss, and quality on held-out
#   data, not the loss alone.
# - Watch the logged loss: a `Trainer` that believes a model normalises its own loss scales it by the number
#   of processes.
# - When the model does not fit one GPU, shard it (FSDP, ZeRO-3); QLoRA then needs its 4-bit weights stored
#   in a float type.
#
# ## Exercises
#
# 1. **Keep $b$, grow $B$.** Launch with `--per-device-batch 16`. How many examples does a step see, and how
#    does the loss curve change? *Hint: the global batch becomes 32 with the same number of steps, so the run sees
#    twice the examples.*
# 2. **Three processes.** Launch with `--nproc_per_node 3`. What happens, and why? *Hint: 16 does not divide
#    by 3; `plan_batch` refuses before any training starts.*
# 3. **The trap, undone.** Make `loss_scaling_matches` in `llmft/training/train.py` return at once (in an editable
#    install) and launch the two processes again. Compare the first logged loss with the one above. *Hint: it comes out about twice as
#    large.*
# 4. **One GPU, two processes?** In Colab with one T4 this page runs its two processes on the CPU. Why not both
#    on the GPU? *Hint: the point of DDP is one replica per device; NCCL refuses two ranks on one GPU, and a
#    second replica would share the same 15 GB and the same compute, so nothing would get faster.*
#
# ````{admonition} Solutions
# :class: dropdown
# **1. Keep $b$, grow $B$.** Each of the 2 processes takes 16 examples a step, so a step sees $B = 16 \times 2 = 32$
# examples, twice as many, for the same number of steps: the run sees twice the data. The loss curve is smoother
# (each step averages more examples) and usually ends lower, at the cost of twice the compute.
#
# **2. Three processes.** The profile's global batch of 16 cannot be split into 3 equal per-process batches, so
# `plan_batch` refuses with a message before any training starts. Change the global batch (or use 2 or 4
# processes).
#
# **3. The trap, undone.** Without `loss_scaling_matches`, the `Trainer` believes the T5 model normalises its own loss
# by the token count, multiplies by the number of processes, and logs (and trains with) a loss about twice as large
# as the one-process run's. {ref}`error-ddp-loss` explains it.
#
# **4. One GPU, two processes?** DDP gives each process its own device: NCCL refuses two ranks on one GPU, and even
# where they could share it, two replicas would split the same memory and the same compute, so nothing would get
# faster. On one T4, train on one process; the page runs two on the CPU only to show the mechanics.
# ````
#
# ## References
#
# Cited on this page: PyTorch DDP {cite}`li2020ddp`, large-batch training {cite}`goyal2017accurate`, FSDP
# {cite}`zhao2023fsdp`, ZeRO {cite}`rajbhandari2020zero`, the PEFT guides to FSDP and DeepSpeed
# {cite}`peftdistributed`, and Answer.AI's FSDP-QLoRA {cite}`answerai2024fsdpqlora`. Full entries are on
# the {doc}`../book/references` page.
