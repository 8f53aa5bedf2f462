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
# # Choosing LoRA's settings, measured
#
# Every case chapter used one set of LoRA settings: a rank, an $\alpha$, a learning rate, some target modules.
# Where do they come from, and which of them matter? This chapter answers with experiments instead of folklore:
# about twenty configurations of LoRA (and of full fine-tuning) trained side by side on the same data, each with
# three seeds, each compared **paired** with a reference, each with a 95 % interval.
#
# **What you will learn**
# - what rank, the $\alpha/r$ scale (and rsLoRA's $\alpha/\sqrt{r}$), the learning rate and the choice of modules
#   do to quality and to cost, measured on a real pretrained encoder;
# - what DoRA, PiSSA initialisation and LoRA+ change, and how to try them in `peft`;
# - how to measure {term}`forgetting`: what the base model could do before tuning, after it, for LoRA and for full
#   fine-tuning;
# - how to read a sweep honestly: seeds, paired differences, and the effects a budget can and cannot resolve.
#
# **Prerequisites**: {doc}`11_lora_from_scratch` (LoRA's $W + \frac{\alpha}{r}BA$) and case 5
# ({doc}`25_agnews_distilbert`), whose model and data this chapter reuses.
#
# **Time and hardware**
#
# | profile | what runs | time |
# |---|---|---|
# | `smoke` (any CPU) | all-MiniLM-L6-v2 converted to DistilBERT, synthetic AG News, 16 steps of 8 stories per run | printed below (about 4 minutes on one CPU thread) |
# | `t4` | `distilbert-base-uncased` on AG News, 400 steps of 32 stories per run | not yet timed: no T4 was available to us |

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

from llmft import data, models
from llmft.report.display import show_source, text_table
from llmft.runtime import start
from llmft.studies import figures
from llmft.studies import settings as st

run = start("agnews-distilbert")
budget = st.BUDGETS[run.profile.name]

# %% [markdown]
# ## The bench
#
# One **run** is one configuration (an *arm*) and one seed. It starts from a fresh copy of the base encoder, draws a
# classification head from the seed, attaches the arm's adapter (or, for full fine-tuning, makes every weight
# trainable), trains for the budget's steps with AdamW, a linear warm-up and decay and gradient clipping at 1, and
# scores accuracy on held-out stories. Every arm sees the same seeds, so the same heads, the same adapter draws
# and the same order of examples: a difference between two arms is measured **seed by seed** (a
# {term}`paired difference over seeds`), which
# removes much of the noise that a comparison of two separate means would keep. With 3 seeds, a 95 % t interval
# multiplies the standard error by 4.30: the intervals are honest, and wide.
#
# The model and data are case 5's: in `smoke` a real pretrained encoder, all-MiniLM-L6-v2
# {cite}`wang2020minilm,reimers2019sbert` converted exactly to DistilBERT (case 5 proves the conversion), on
# synthetic AG News stories in the real schema; in `t4`, `distilbert-base-uncased` on AG News {cite}`zhang2015agnews`.

# %%
source = models.model_source(run)
tokenizer = models.load_tokenizer(run, source)
base = models.load_model(run, source)
splits = data.load_splits(run)
study = st.build_study(base, tokenizer, splits["train"], splits["test"], budget)
produced_by = f"{run.profile.name} profile: {models.describe(run, base)}; {data.data_source(run)}"
display(text_table(pd.DataFrame([{
    "steps": budget.steps, "stories a step": budget.batch_size, "tokens a story (at most)": budget.max_len,
    "training stories": len(study.train.input_ids), "held-out stories": len(study.test.input_ids),
    "seeds": len(budget.seeds), "probe pairs": len(study.headlines.input_ids)}]),
    f"The budget of every run ({produced_by})"))

# %% [markdown]
# The whole of a run, as code:

# %%
show_source(st.prepare, st.Study.run, st.train_steps)

# %% [markdown]
# ### The arms
#
# The reference arm is LoRA with $r = 8$ on the attention's query and value projections (`q_lin`, `v_lin`),
# $\alpha = 8$, and a learning rate of $10^{-2}$ (chosen for this short budget; the learning-rate sweep below
# shows where it stands, and long runs use lower rates). Each question changes one thing. $\alpha$ stays at 8 across ranks, as many
# scripts leave it, so LoRA's scale $\alpha/r$ falls as $r$ grows: that is the second question. For the modules
# question, the rank on all six linear layers is chosen so that the adapter is about as large as $r = 8$ on
# q and v (`st.matched_rank`). Every LoRA arm also trains the head (`modules_to_save`), as case 5 does; one arm
# trains **only** the head, to show what the adapter adds.

# %%
by_question = st.arms(st.linear_dims(base))
all_arms = st.unique_arms(by_question)
display(text_table(pd.DataFrame([
    {"question": q, "arms": ", ".join(a.label for a in group)} for q, group in by_question.items()]),
    f"{len(all_arms)} arms, {len(all_arms) * len(budget.seeds)} runs"))

# %% [markdown]
# ## Run every arm
#
# One loop runs every arm at every seed. The forgetting probe (below) runs on the learning-rate arms.

# %%
probe = {a.label for a in by_question["learning rate"]}
started = time.perf_counter()
results = st.run_all(study, all_arms, probe, progress=lambda jobs: tqdm(jobs, desc="runs", unit="run",
                                                                         mininterval=10))
sweep_seconds = time.perf_counter() - started
base_recall = study.base_recall()
print(f"{sum(len(v) for v in results.values())} runs in {sweep_seconds:.0f} s "
      f"({sweep_seconds / sum(len(v) for v in results.values()):.1f} s a run)")

# %% [markdown]
# Before reading any number: is a run reproducible? The reference arm's first seed, run again, must give the same
# losses and the same accuracy to the last digit.

# %%
again = study.run(st.BASELINE, budget.seeds[0])
first = results[st.BASELINE.label][0]
print(f"accuracy {first.accuracy:.4f} then {again.accuracy:.4f}; identical losses: {first.losses == again.losses}")
assert first.losses == again.losses and first.accuracy == again.accuracy

# %% [markdown]
# ## Rank
#
# The rank $r$ sets how many directions the update $BA$ can use, and the adapter's size grows with it:
# $r(d_\text{in} + d_\text{out})$ per matrix. LoRA's authors found very small ranks enough for GPT-3's query and
# value projections {cite}`hu2021lora`.

# %%
fig = figures.rank(results, by_question["rank"], st.HEAD_ONLY, produced_by)

# %%
display(text_table(st.table(results, by_question["rank"]), f"Rank ({produced_by})"))


adapter_gain = st.paired_difference(results, st.BASELINE.label, st.HEAD_ONLY.label)
ranks = [a for a in by_question["rank"] if a.r > 0 and a != st.BASELINE]
rank_diffs = {a.label: st.paired_difference(results, a.label, st.BASELINE.label) for a in ranks}
sizes = [results[a.label][0].adapter for a in by_question["rank"] if a.r > 0]
unresolved = [k for k, d in rank_diffs.items() if not st.resolved(d)]
display(Markdown(
    f"LoRA r = 8 against the head alone: {st.verdict(adapter_gain)}. Each rank against r = 8: "
    + "; ".join(f"{k}: {st.verdict(d)}" for k, d in rank_diffs.items())
    + f". {len(unresolved)} of {len(rank_diffs)} ranks are not told apart from r = 8 at this budget, while the "
    f"adapter grows {max(sizes) // min(sizes)}-fold from r = 1 to r = 64."))

# %% [markdown]
# ## $\alpha/r$ against $\alpha/\sqrt{r}$
#
# With $\alpha$ fixed, LoRA's update is scaled by $\alpha/r$: at $r = 64$ it is $1/64$ of what it is at $r = 1$.
# Kalajdzievski argues that this makes large ranks learn too slowly, and that $\alpha/\sqrt{r}$ ({term}`rsLoRA`)
# keeps the update's size stable across ranks {cite}`kalajdzievski2023rslora` (`use_rslora=True` in `peft`). Both at
# one learning rate:

# %%
fig = figures.scaling(results, by_question["scaling"], produced_by)

# %%
display(text_table(st.table(results, by_question["scaling"]), f"Scaling ({produced_by})"))
rs_diffs = {a.r: st.paired_difference(results, a.label, f"LoRA r={a.r} (q,v)")
            for a in by_question["scaling"] if a.rslora}
display(Markdown("rsLoRA minus LoRA at the same rank: " + "; ".join(
    f"r = {r}: {st.verdict(d)}" for r, d in rs_diffs.items()) + ". The scale and the learning rate multiply "
    "(exercise 2): a scale that is too small for one rate can be right for a higher one, which is why the learning "
    "rate, next, is the question to settle first."))

# %% [markdown]
# ## Learning rate: LoRA's usable range, and full fine-tuning's
#
# The same sweep for LoRA ($r = 8$) and for full fine-tuning (every one of the encoder's weights trains):

# %%
fig = figures.learning_rate(results, by_question["learning rate"], produced_by)

# %%
display(text_table(st.table(results, by_question["learning rate"], probe=True), f"Learning rate ({produced_by})"))


lora_rates = [a for a in by_question["learning rate"] if not a.full]
full_rates = [a for a in by_question["learning rate"] if a.full]
best_lora, best_full = st.best_arm(results, lora_rates), st.best_arm(results, full_rates)
usable = [a.learning_rate for a in lora_rates
          if st.summary(results, a.label)["ci_high"] >= st.summary(results, best_lora.label)["mean"]]
display(Markdown(
    f"LoRA's best rate here is {best_lora.learning_rate:g} (accuracy {st.summary(results, best_lora.label)['mean']:.3f}); "
    f"rates whose interval reaches that accuracy: {', '.join(f'{r:g}' for r in usable)}. Full fine-tuning's best is "
    f"{best_full.learning_rate:g} ({st.summary(results, best_full.label)['mean']:.3f}), "
    f"{best_lora.learning_rate / best_full.learning_rate:.0f} times lower. Across the rates tried, accuracy "
    f"ranged over {min(st.summary(results, a.label)['mean'] for a in by_question['learning rate']):.3f} to "
    f"{max(st.summary(results, a.label)['mean'] for a in by_question['learning rate']):.3f}."))

# %% [markdown]
# ## Which modules
#
# The QLoRA authors found that adapters on **all** linear layers, not only q and v, were needed to match full
# fine-tuning {cite}`dettmers2023qlora`. Put fairly, that compares adapters of the same size: here $r = 8$ on q,v
# against the rank on all six linear layers with about as many parameters.

# %%
modules = by_question["modules"]
fig = figures.arm_bars(results, [st.HEAD_ONLY, *modules], f"Which modules, at about the same adapter size "
                         f"({produced_by})")

# %%
display(text_table(st.table(results, modules), f"Modules ({produced_by})"))
modules_diff = st.paired_difference(results, modules[1].label, modules[0].label)
display(Markdown(f"{modules[1].label} minus {modules[0].label}: {st.verdict(modules_diff)}."))

# %% [markdown]
# ## DoRA, PiSSA and LoRA+
#
# Three variants `peft` supports, each one switch away:
#
# - **{term}`DoRA`** splits each weight into a magnitude and a direction and trains the magnitude directly, LoRA the
#   direction {cite}`liu2024dora` (`use_dora=True`); it adds one vector per matrix and some compute.
# - **{term}`PiSSA`** starts $B$ and $A$ at the weight's top singular vectors instead of at zero and a random draw, and
#   freezes the rest {cite}`meng2024pissa` (`init_lora_weights="pissa"`).
# - **{term}`LoRA+`** gives $B$ a larger learning rate than $A$ (16 times, the authors' ratio) {cite}`hayou2024loraplus`
#   (`peft.optimizers.create_loraplus_optimizer`). At LoRA's best rate $B$'s rate would be 16 times too high, so
#   it runs at a lower rate and is compared with plain LoRA at that same rate.

# %%
variants = by_question["variants"]
plain_slow = next(a for a in variants if a.learning_rate == st.LORAPLUS_RATE and not a.loraplus_ratio)
pairs = {a.label: (plain_slow if a.loraplus_ratio else st.BASELINE) for a in variants
         if a not in (st.BASELINE, plain_slow)}
variant_diffs = {f"{a.split(' r=')[0]} minus LoRA, both at lr {ref.learning_rate:g}": st.paired_difference(results, a, ref.label)
                 for a, ref in pairs.items()}
fig = figures.paired_bars(variant_diffs, f"Variants against plain LoRA at the same learning rate ({produced_by})",
                            "accuracy difference (paired over seeds)")

# %%
display(text_table(st.table(results, variants), f"Variants ({produced_by})"))
display(Markdown("; ".join(f"{k}: {st.verdict(d)}" for k, d in variant_diffs.items()) + "."))

# %% [markdown]
# ## Forgetting
#
# all-MiniLM-L6-v2 was trained to embed sentences so that related ones lie close {cite}`reimers2019sbert`. Before
# any tuning it can match a story's headline to its own description among all the probe's descriptions (the share
# matched first is the **headline recall**). Tuning the encoder for topics may erase what is not about topics.
# Biderman et al. found that LoRA "learns less and forgets less" than full fine-tuning {cite}`biderman2024lora`.
# Here, for each learning rate, the new task's accuracy against the old skill:

# %%
fig = figures.forgetting(results, by_question["learning rate"], base_recall, produced_by)

# %%
kept = {a.label: st.summary(results, a.label, "probe_recall") for a in (best_lora, best_full)}
forget_diff = st.paired_difference(results, best_lora.label, best_full.label, "probe_recall")
learn_diff = st.paired_difference(results, best_lora.label, best_full.label)
display(Markdown(
    f"Before tuning, the base model's headline recall is {base_recall:.3f}. At each method's best learning rate, "
    f"LoRA keeps {kept[best_lora.label]['mean']:.3f} and full fine-tuning {kept[best_full.label]['mean']:.3f}. "
    f"LoRA minus full fine-tuning, paired: on the old skill {st.verdict(forget_diff, 'LoRA forgets less', 'LoRA forgets more')}; "
    f"on the new task {st.verdict(learn_diff, 'LoRA learns more', 'LoRA learns less')}."))

# %% [markdown]
# ## What this budget resolves, and what it does not
#
# A paired interval's half-width is the smallest difference this budget can tell from zero. Here they are, by
# question, beside the `t4` budget that resolves more: more steps, longer inputs, and a larger test set (the test
# set's part of the noise shrinks with the square root of its size).
#
# The same questions for **instruction following**, on the book's other real pretrained model (SmolLM2-135M-Instruct,
# about six times this encoder's parameters), are the next chapter's: {doc}`33_settings_for_instructions` asks rank,
# modules, and LoRA against full fine-tuning (learning and forgetting) again, with the same bench.

# %%
half = {q: [(d["ci_high"] - d["ci_low"]) / 2 for d in ds] for q, ds in {
    "rank": list(rank_diffs.values()), "scaling": list(rs_diffs.values()), "modules": [modules_diff],
    "variants": list(variant_diffs.values()), "adapter against head only": [adapter_gain]}.items()}
display(text_table(pd.DataFrame([{"question": q, "paired half-widths (accuracy)": ", ".join(f"±{h:.3f}" for h in hs)}
                                for q, hs in half.items()]), f"What this run can resolve ({produced_by})"))
display(text_table(pd.DataFrame([{"profile": name, "steps": b.steps, "stories a step": b.batch_size,
                                 "tokens a story": b.max_len, "training tokens a run (at most)":
                                 b.steps * b.batch_size * b.max_len, "held-out stories": b.test_examples,
                                 "seeds": len(b.seeds)} for name, b in st.BUDGETS.items()]),
                  "The budgets (t4 and full: the real model and data, not run here)"))

# %% [markdown]
# ## What to try first
#
# Each line below is computed from this page's runs, or names the paper it rests on: LoRA {cite}`hu2021lora`,
# rsLoRA {cite}`kalajdzievski2023rslora`, QLoRA {cite}`dettmers2023qlora`, DoRA {cite}`liu2024dora`, PiSSA
# {cite}`meng2024pissa`, LoRA+ {cite}`hayou2024loraplus` and forgetting {cite}`biderman2024lora`.

# %%
advice = st.advice(results, by_question, base_recall)
display(Markdown(f"> **What to try first** ({produced_by})\n>\n" + "\n".join(f"> {line}" for line in advice)))

# %% [markdown]
# ## Checks
#
# On the book's own data in `smoke`, the page's central claim is asserted: the adapter adds accuracy over training
# the head alone (the paired lower bound above zero). Everything else is stated as a verdict above, resolved or not.
# Every arm ran at every seed, and the sweep kept to its budget.

# %%
from llmft.report import claims

assert all(len(results[a.label]) == len(budget.seeds) for a in all_arms)
checked = claims.check(run, [claims.Claim(
    "LoRA r=8 (q,v) beats the head alone (accuracy)", adapter_gain["ci_low"] > 0,
    f"difference {adapter_gain['mean']:+.3f} [{adapter_gain['ci_low']:+.3f}, {adapter_gain['ci_high']:+.3f}] "
    f"(paired over {adapter_gain['n']} seeds, t interval, 95 %)")])

# %% [markdown]
# ## Summary
#
# - Measure settings with several seeds and **paired** differences, and say which effects the budget cannot
#   resolve: with 3 seeds and a short run, only large effects are told apart.
# - Sweep the learning rate first; LoRA and full fine-tuning want different ranges, and this page shows by how much.
# - Rank, scale, modules and variants: each is a measured trade of quality against parameters and time; the box
#   above gives this page's numbers, and the exercises show how the scale and the rate interact.
# - Measure what the base model could do before tuning, after it: forgetting is part of the cost of a setting.
#
# ## Exercises
#
# 1. **A wider rate sweep.** Add `3e-4` to `st.LORA_RATES` (in an editable install) and rerun. Where does it land
#    in the learning-rate figure? *Hint: with Adam, each step moves a weight by about the learning rate; over the
#    same 16 steps a rate three times smaller moves the adapter and the head about a third as far as $10^{-3}$ does.*
# 2. **Scale or rate?** At $r = 64$, plain LoRA's scale is $8/64$. Which learning rate would make its first steps
#    change the weights as much as rsLoRA's at $10^{-2}$? *Hint: rsLoRA's scale at $r = 64$ is $8/8 = 1$, eight
#    times LoRA's; with Adam, whose step size does not depend on the gradient's scale, $B$ moves by about the
#    learning rate per step, so the update $\frac{\alpha}{r}BA$ grows with scale × rate: eight times the rate.*
# 3. **Matched sizes.** What rank on all six linear layers matches $r = 16$ on q and v? Use `st.matched_rank`.
#    *Hint: each layer's six matrices have $4(384+384) + 2(384+1536) = 6{,}912$ inputs plus outputs against q,v's
#    $1{,}536$; $16 \times 1{,}536 / 6{,}912 \approx 3.6$, so 4.*
# 4. **Forgetting, measured your way.** The probe uses the encoder's mean-pooled output. Why does training the
#    head alone leave it exactly as it was? *Hint: the head's layers sit after the encoder; with no adapter and
#    no encoder weight trainable, no gradient reaches the encoder.*
#
# ````{admonition} Solutions
# :class: dropdown
# **1. A wider rate sweep.** With `LORA_RATES = (3e-4, 1e-3, 3e-3, 1e-2, 3e-2)` the sweep gains one arm
# (3 more runs, a few seconds each). Adam moves each weight by about the learning rate per step, so at
# $3 \times 10^{-4}$ the head and the adapter travel about a third as far in the 16 steps as at $10^{-3}$: expect
# the new point at or below the $10^{-3}$ arm's accuracy, on the rising side of the curve, and read the figure to
# see where it lands on your machine's run.
#
# **2. Scale or rate?** Adam normalises each parameter's step, so at the start $B$ moves by about the learning
# rate per step whatever the gradient's size, and the update $\frac{\alpha}{r}BA$ grows with the scale times the
# rate. rsLoRA's scale at $r = 64$ is $8/\sqrt{64} = 1$, LoRA's is $8/64 = 0.125$: LoRA needs $8 \times 10^{-2}$
# to match, a rate at which the head (trained at the same rate) would diverge. That is rsLoRA's argument: one
# rate for every rank.
#
# **3. Matched sizes.**
# ```python
# from llmft.studies import settings as st
# dims = {"q_lin": (384, 384), "k_lin": (384, 384), "v_lin": (384, 384), "out_lin": (384, 384),
#         "lin1": (384, 1536), "lin2": (1536, 384)}
# print(st.matched_rank(16, st.ATTENTION_QV, st.ALL_LINEAR, dims))  # 4
# ```
# $4 \times 6{,}912 = 27{,}648$ against $16 \times 1{,}536 = 24{,}576$ per layer; rank 3 gives $20{,}736$, further off.
#
# **4. Forgetting, measured your way.** `st.prepare` freezes every weight but the head's for the head-only arm; the
# encoder's output, which the probe reads, is then the base model's, to the last digit: its headline recall equals
# the base model's.
# ````
#
# ## References
#
# Cited on this page: LoRA {cite}`hu2021lora`, rsLoRA {cite}`kalajdzievski2023rslora`, QLoRA
# {cite}`dettmers2023qlora`, DoRA {cite}`liu2024dora`, PiSSA {cite}`meng2024pissa`, LoRA+ {cite}`hayou2024loraplus`,
# forgetting {cite}`biderman2024lora`, MiniLM and sentence embeddings {cite}`wang2020minilm,reimers2019sbert`, AG
# News {cite}`zhang2015agnews`. Full entries are on the {doc}`../book/references` page.
