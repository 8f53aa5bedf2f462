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
# # The five cases side by side
#
# Each case chapter wrote what it measured to `results/<case>/<profile>.json`, in one shape for all five. This
# chapter reads those files and puts the cases next to each other: what each adapter gained over the model it
# started from, and what it cost. Beside our numbers stand the published figures for the real models, with
# their sources.
#
# **What you will learn**
# - how to compare tasks with different metrics without mixing them: each case against its own zero-shot
#   model and its own trivial baselines, in the same units;
# - what an adapter costs across five models: trainable parameters, size on disk, training time, tokens per
#   second and memory;
# - where QLoRA pays (a base too big for the card) and where it changes little (a small base);
# - why our `smoke` numbers and the published ones answer different questions, and how to read both.
#
# **Prerequisites**: the case chapters (this page only reads their results).
#
# **Time and hardware**: seconds, on any machine. It reads files; it trains nothing.

# %% [markdown]
# ## Setup
#
# The chapter reads the results of the profile it runs in (`smoke` here, unless you set `LLMFT_PROFILE`). In
# Colab each chapter runs in its own session and its results vanish with it: to compare `t4` runs, point every
# chapter at one Google Drive folder before it starts (`drive.mount("/content/drive")`, then
# `os.environ["LLMFT_RESULTS_DIR"] = "/content/drive/MyDrive/casebook-results"`), and this one too.

# %% tags=["skip-execution", "hide-output"]
# %pip install --no-deps "llmft @ git+https://github.com/lora-casebook/lora-casebook@main"
import llmft.colab

llmft.colab.install()

# %%
from IPython.display import Markdown, display

from llmft.foundations.memory_model import T4_BYTES, GiB
from llmft.profiles import default_profile_name, get_profile
from llmft.report import compare, plots
from llmft.report.display import text_table
from llmft.report.published import PUBLISHED
from llmft.runtime import project_results_dir

profile = get_profile(default_profile_name()).name
results_dir = project_results_dir()
rows = compare.collect(results_dir, profile)
complete = [r for r in rows if r.ok]
print(f"Profile '{profile}': {len(complete)} of {len(rows)} cases have complete results in {results_dir.name}/")

# %% [markdown]
# ## What produced each number
#
# One row per case, whatever state its file is in: *complete*, *missing* (its chapter has not run in this
# profile) or *failed* (the file cannot be read, or it is not marked complete). A chapter writes its file only
# at its end, after every check, so a crashed run leaves no file rather than a half-true one.

# %%
display(text_table(compare.overview(rows), f"Results files of the '{profile}' profile, read from {results_dir.name}/"))

# %% [markdown]
# In `smoke` the models are the offline ones each chapter names: small stand-ins of T5 and GPT-2 pre-trained
# on this machine, and two real pretrained models that ship on PyPI (SmolLM2-135M for the Llama architecture,
# MiniLM converted to DistilBERT); the data is synthetic, in each dataset's schema. So the table below
# compares *this pipeline* across five tasks; the real models' figures come further down.

# %% [markdown]
# ## Quality: each case against its own baselines
#
# The cases use different metrics (ROUGE-L for the four generation tasks, accuracy for the classifier) and
# different test sets, so a number from one case means nothing in another. What does carry over is the
# *difference* each chapter measured on its own test inputs: the tuned model minus zero-shot, from a paired
# bootstrap over the same inputs, with its 95 % interval. QLoRA − LoRA compares two training runs, one each; the
# last column shows their steps, which differ where a chapter trained QLoRA for fewer steps (`smoke`, on a CPU,
# where only case 4's claims rest on QLoRA), and then the column says nothing about the two methods.

# %%
display(text_table(compare.quality(rows), f"Main metric [95 % CI] on each case's test inputs; '{profile}' profile"))
display(text_table(compare.differences(rows), f"Paired differences B − A [95 % CI]; '{profile}' profile"))

# %%
gains = compare.gains_in_points(rows)
fig = plots.gain_bars(gains, f"Gain over zero-shot, '{profile}' profile (paired 95 % CI)",
                      "points: ROUGE-L x 100, or accuracy in percentage points")

# %% [markdown]
# Two cautions. A gain is relative to a starting point that differs from case to case: a zero-shot model that
# has never seen the task's conventions scores low and leaves room for a large gain, one that already half
# does the task leaves less. And the *best trivial baseline* matters as much as zero-shot: where it scores
# above the zero-shot model, beating zero-shot alone proves little. Case by case, from the files:

# %%
display(Markdown(compare.case_lines(rows, profile)))

# %% [markdown]
# ## What it cost
#
# LoRA trains a few per cent of the weights or less. The table counts them on the model each run trained and
# on the real model of the case (both counted by `peft`), with the adapter's size on disk, the training time,
# the useful (not padding) tokens per second and the peak memory while training. The memory column says how
# it was measured (in the caption): on a CPU the whole process's peak resident memory (Python, libraries, data and any other
# model the chapter holds at that moment), on a GPU the peak of `torch.cuda.max_memory_allocated`.

# %%
display(text_table(compare.parameters(rows), f"Adapter size; '{profile}' profile, the models it names"))
display(text_table(compare.training(rows), f"Training cost; '{profile}' profile, the models it names; peak memory "
                                           f"measured as {compare.memory_kinds(rows)}"))

# %%
estimated = compare.estimated_memory([r.case for r in rows])
fig = plots.memory_panels(compare.measured_memory(rows), f"measured in this run ('{profile}'; models it names)",
                          estimated, T4_BYTES / GiB, "Peak memory of LoRA and QLoRA while training")

# %% [markdown]
# The two panels answer different questions. On the left, what this run measured: in `smoke` the stand-ins
# weigh a few megabytes, so quantizing them saves almost nothing and the process's own overhead dominates. On
# the right, the memory model of {doc}`12_quantization_qlora` for the *real* models (one 512-token sequence, activation
# checkpointing on): the weights module by module as they are loaded (a 4-bit base keeps its embeddings and head in
# 16 bits), the adapter's gradients and optimizer states (paged 8-bit AdamW under QLoRA), and activations. Each case
# chapter's T4 plan adds the logits, the KV cache and the CUDA context.

# %%
llama = next(v for k, v in estimated.items() if k.startswith("4."))
others = {k: v for k, v in estimated.items() if not k.startswith("4.")}
biggest_other = max(v["LoRA (16-bit base)"] for v in others.values())
display(Markdown(
    f"By that estimate, LoRA on Llama-3-8B's 16-bit weights needs {llama['LoRA (16-bit base)']:.1f} GiB, more than a "
    f"T4's {T4_BYTES / GiB:.1f} GiB, and QLoRA {llama['QLoRA (NF4 base)']:.1f} GiB; every other case needs at most "
    f"{biggest_other:.2f} GiB even with a 16-bit base. So QLoRA is what makes case 4 possible on a T4, while for "
    "the four small models it is a lesson in the method, not a necessity."))
assert llama["LoRA (16-bit base)"] > T4_BYTES / GiB > llama["QLoRA (NF4 base)"]

# %%
fig = plots.share_vs_gain(compare.share_and_gain(rows), f"Trainable share against LoRA's gain ('{profile}')",
                          "gain over zero-shot (points)")

# %%
points = [(share, gain) for share, gain in compare.share_and_gain(rows).values() if share is not None and gain]
shares, gains_pt = [p[0] for p in points], [p[1]["mean"] for p in points]
display(Markdown(
    f"Here the adapters train between {min(shares):.2f} and {max(shares):.2f} % of the model run, and LoRA's gains "
    f"over zero-shot range from {min(gains_pt):.1f} to {max(gains_pt):.1f} points. With five points from five "
    "different tasks, metrics and starting models, read no law into the figure: a rank sweep within one case (each "
    "chapter's exercises) is the experiment that isolates the share." if points else
    "No case has both a trainable share and a gain over zero-shot to plot yet."))

# %% [markdown]
# ## Published figures for the real models
#
# Others have published figures for each case's real model. They are **not comparable** with the numbers above,
# so they stand in a table of their own: they come from other runs (other training sizes, often full fine-tuning
# rather than LoRA, their own evaluation code and splits, sometimes another metric), and in `smoke` ours come
# from offline models on synthetic data, which show that the pipeline learns, not what the real model reaches.
# In `t4` and `full` ours come from the real models, with our sizes and splits: compare the direction and rough
# size of a gain, never the decimals. Shares are on the 0-1 scale of our tables (a figure published x100, or as a
# percentage, is divided by 100).

# %%
display(text_table(compare.published_table(rows), "Figures published for the real models (other runs; not "
                                                 "comparable with this book's numbers)"))

# %% [markdown]
# Sources: the t5-small XSum model cards {cite}`t5smallxsumcards`; the DeepLearning.AI course lab for
# Flan-T5-base on DialogSum {cite}`dlai2023genai`; the GPT-2 Alpaca model cards {cite}`gpt2alpacacards`
# (eval loss; no published ROUGE); the AG News model cards {cite}`agnewscards`. For Llama-3-8B with QLoRA on
# a small instruction set made from papers we found no published figure: case 4's own `t4` run will be the first.

# %%
from llmft.report.published import sources

cited = {"t5smallxsumcards", "dlai2023genai", "gpt2alpacacards", "agnewscards"}
assert set(sources()) == cited, "a published figure's source is not cited on this page"
assert not PUBLISHED["papers-llama3"], "case 4 now has a published figure: show and cite it"

# %% [markdown]
# ## On a T4-sized GPU
#
# `make gpu-check` trains every case at its `t4` settings and real size (random weights, a few steps) on a CUDA
# GPU capped at 15 GB, at a T4's precision, then rehearses each case chapter phase by phase (load, zero-shot
# generation, LoRA, merge, the 4-bit load, QLoRA, generation; case 4's packing comparison and teacher batch), each
# phase beside the T4 plan's estimate, and writes `results/gpu-check.json`. A CI run has no GPU, so the page shows
# this run's file where one exists, and the runs recorded in `llmft.report.recorded` (each with its date, device and
# versions; the one recorded so far predates the rehearsal).

# %%
from llmft.report.recorded import GPU_CHECKS

check = compare.gpu_check(results_dir)
if check is None:
    display(Markdown("`results/gpu-check.json` is absent: `make gpu-check` has not run for these results."))
else:
    display(text_table(compare.gpu_check_table(check), compare.gpu_check_caption(check, recorded=False)))
for rec in GPU_CHECKS:
    display(text_table(compare.gpu_check_table(rec), compare.gpu_check_caption(rec, recorded=True)))
for payload, recorded in [(check, False)] + [(rec, True) for rec in GPU_CHECKS]:
    if payload is not None and compare.gpu_check_phases(payload) is not None:
        display(text_table(compare.gpu_check_phases(payload), "Each chapter rehearsed; "
                           + compare.gpu_check_caption(payload, recorded=recorded)))
display(Markdown(compare.gpu_check_note(rows, GPU_CHECKS + ([check] if check else []))))

# %% [markdown]
# ## Checks
#
# In `smoke` this page checks that every case's chapter ran and wrote complete results, and that in each case
# LoRA (QLoRA in case 4, whose chapter leads with it) beat zero-shot with the paired interval above zero. In
# `t4` and `full` a missing case stays a row that says so.

# %%
if profile == "smoke":
    assert all(r.ok for r in rows), "not every case has complete results: " + "; ".join(
        f"{r.case.key}: {r.status}" for r in rows if not r.ok)
    for r in rows:
        lead = r.gain("qlora" if r.case.key == "papers-llama3" else "lora")
        assert lead is not None and lead["ci_low"] > 0, f"{r.case.key}: no gain over zero-shot recorded"
print("checked:", ", ".join(f"{r.case.number} {r.status}" for r in rows))

# %% [markdown]
# ## Summary
#
# - Compare cases by what each gained over its *own* zero-shot model and trivial baselines, in the units of its
#   own metric, with paired intervals; raw scores across tasks do not compare.
# - An adapter is small everywhere (a few per cent of the model or less, megabytes on disk), but what it buys
#   differs from task to task.
# - QLoRA's memory saving matters when the base is large: for an 8B model it is the difference between fitting
#   a T4 and not; for a small base it changes little.
# - Our offline numbers show that the pipeline learns; the published figures say what the real models reach.
#   Read both, and never one as the other.
#
# ## Exercises
#
# 1. **Another metric.** Compare on ROUGE-1 instead of ROUGE-L: set
#    `compare.MAIN_METRIC["rouge"] = ("rouge1", "ROUGE-1")` and rerun the tables. *Hint: the case chapters store
#    every system and paired comparison for ROUGE-1, ROUGE-2 and ROUGE-L, so nothing needs retraining.*
# 2. **A missing case.** Copy `results/` to a new folder, delete one case's file and break another's (cut it in
#    half), then call `compare.collect(folder, "smoke")`. *Hint: the first shows as missing, the second as
#    failed with the JSON error; both stay in every table.*
# 3. **Longer sequences.** Recompute the memory estimate for 2,048-token sequences:
#    `compare.estimated_memory([r.case for r in rows], seq=2048)`. Which bars cross the T4 line? *Hint: with
#    activation checkpointing the activations grow slowly; the weights do not change, so the answer is the same
#    as at 512 tokens.*
# 4. **Your own T4 run.** Run one case chapter in Colab on a T4 with `LLMFT_RESULTS_DIR` on Drive, then this
#    page with `LLMFT_PROFILE=t4`. *Hint: the other four cases show as missing until you run them too.*
#
# ````{admonition} Solutions
# :class: dropdown
# **1. Another metric.** ROUGE-1 is higher than ROUGE-L for every system (single words match more easily than a
# common subsequence), and the gaps between systems change somewhat; the order rarely does. Nothing is retrained:
# the results files already hold every metric.
#
# **2. A missing case.** The deleted file shows as "missing" and the broken one as "failed" with the JSON error, in
# every table; no table drops a row silently, and no broken file is read as a result.
#
# **3. Longer sequences.**
# ```python
# compare.estimated_memory(list(CASES.values()), seq=2048)
# ```
# The same bars cross the line as at 512 tokens: only Llama-3-8B's 16-bit LoRA. With activation checkpointing the
# activations grow only with each layer's input (linear in the sequence length) plus one layer's full activations;
# the weights, which dominate, do not change.
#
# **4. Your own T4 run.** The case you ran appears with its `t4` numbers and the model it names; the others show as
# missing. Compare your case's row with its `smoke` row: the real model on real data, and the published figures
# beside it.
# ````
#
# ## References
#
# Cited on this page: the t5-small XSum model cards {cite}`t5smallxsumcards`, the DeepLearning.AI lab
# {cite}`dlai2023genai`, the GPT-2 Alpaca model cards {cite}`gpt2alpacacards` and the AG News model cards
# {cite}`agnewscards`. LoRA {cite}`hu2021lora` and QLoRA {cite}`dettmers2023qlora` are the methods compared;
# the paired bootstrap is {cite}`koehn2004significance`. Full entries are on the {doc}`../book/references` page.
