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
# # Case 3: Following instructions with GPT-2, LoRA and a JSON API
#
# GPT-2 {cite}`radford2019gpt2` was trained to continue web text, not to follow instructions: ask it to
# "List three fruits." and it writes whatever text usually comes next. **Instruction tuning** teaches it the
# other job: read an instruction (and sometimes an input), write the answer, and **stop**. We tune the
# smallest GPT-2 (about 124 million parameters; the exact count is below) on **Alpaca** {cite}`taori2023alpaca`, 52,000 instructions with answers, with
# **LoRA** {cite}`hu2021lora` and **QLoRA** {cite}`dettmers2023qlora`, using `trl`'s `SFTTrainer` as people do
# today. Then we quantize the tuned model for serving and put it behind a JSON API.
#
# **What you will learn**
# - how an instruction dataset becomes prompt/completion pairs, and why the loss covers the answer only;
# - why the model must learn EOS, why the pad token must not be EOS, and why generation pads on the left;
# - how many parameters LoRA trains on GPT-2's fused `c_attn` (a `Conv1D`: `fan_in_fan_out`), checked against `peft`;
# - which `trl` defaults break a T4, and how this chapter keeps the adapters in fp32;
# - what 8-bit and 4-bit quantization of the *tuned* model cost and save when serving;
# - how to serve it: `GET /health`, `POST /generate`, with bounded, validated requests.
#
# **Prerequisites**: {doc}`../book/anatomy` explains once the steps every case shares; the Foundations part; cases 1 and 2 show the same pattern on summaries.
#
# **Time and hardware**
#
# | profile | hardware | model and data | time |
# |---|---|---|---|
# | `smoke` | any CPU, offline | a GPT-2 stand-in of a few million parameters built on this machine, synthetic Alpaca-style records | a few minutes; the times are printed below |
# | `t4` | Colab T4, 15 GB | `openai-community/gpt2`, 20,000 Alpaca records, 500 test inputs | sized for under 45 minutes; not yet timed on a T4 |
# | `full` | a bigger GPU | all of Alpaca, answers to 512 tokens | longer |
#
# See {doc}`../book/running` for how profiles are chosen and how to open this page in Colab.

# %% [markdown]
# ## Setup
#
# In Colab, the first cell installs the book's helper package `llmft` and the pinned libraries it adds to
# Colab (among them `trl`), keeping Colab's own torch, numpy and pandas. Elsewhere, install it once with
# `make install` (see the README).

# %% tags=["skip-execution", "hide-output"]
# %pip install --no-deps "llmft @ git+https://github.com/lora-casebook/lora-casebook@main"
import llmft.colab

llmft.colab.install()

# %% [markdown]
# `start` picks the profile (`LLMFT_PROFILE` if set, else `t4` on a GPU, else `smoke`), fixes the seeds, and
# in `smoke` switches the Hugging Face libraries to offline mode.

# %%
from llmft.runtime import start

run = start("alpaca-gpt2")

# %%
import json
from pathlib import Path

import pandas as pd
import torch
from IPython.display import Markdown, display

from llmft import data, models
from llmft.evaluation import (EvalSet, by_group, copy_input_baseline, evaluate_causal, failures, first_word, fluency,
                              quality_table, roundtrip, score, vocabulary)
from llmft.evaluation.metrics import paired_comparisons, paired_table
from llmft.foundations import lora
from llmft.models import adapters
from llmft.report import plots
from llmft.report.display import captioned, examples, text_table
from llmft.training import sft
from llmft.training.train import settings_table, train_qlora

pd.set_option("display.max_colwidth", 120)
case, sizes = run.case, run.sizes

# %% [markdown]
# ## Load the model and tokenizer
#
# In `t4` and `full` this is `openai-community/gpt2`: 12 layers, 768-dimensional, 1,024 positions, a
# byte-level BPE vocabulary of 50,257 tokens, and one special token, `<|endoftext|>`, which serves as
# beginning, end (EOS) and unknown token at once. In `smoke` it is a **stand-in** of the same class
# (`GPT2LMHeadModel`) built on this machine: a few million parameters, its own byte-level BPE tokenizer,
# GPT-2's 1,024 positions, pre-trained for a few minutes (printed below) as a plain language model on text of a
# small world (facts, stories, reviews, worksheets, question-and-answer pages), several documents to a page and
# an end-of-text token only between pages, as GPT-2's web text. So, like GPT-2, it rarely stops after a short
# answer: it runs on. It has never seen Alpaca's template.
#
# **The pad token.** GPT-2 has none. The common fix, `pad_token = eos_token`, is a trap: a collator that
# masks padding *by token id* then masks every EOS as well, and the model never learns to stop
# (transformers #23530, trl #976). `models.load_tokenizer` adds a separate `<|pad|>` token instead, and
# `models.load_model` gives the model one more embedding row for it, the same on every load. It also pads on
# the **left**, so that in a batch every prompt ends exactly where its answer starts.

# %%
source = models.model_source(run)
tokenizer = models.load_tokenizer(run, source)
base = models.load_model(run, source)
n_base = models.count_params(base)
produced_by = models.describe(run, base)
data_label = data.data_source(run)
label = f"{run.profile.name} profile: {produced_by}; {data_label}"
if run.profile.offline:
    built = json.loads((Path(source) / "standin.json").read_text())
    print(f"Stand-in: {built['parameters']:,} parameters, pre-trained {built['spec']['pretrain_steps']} steps on "
          f"{built['pretrain_tokens']:,} tokens of plain text in {built['seconds']:.0f} s "
          f"(loss {built['pretrain_loss_first']:.2f} -> {built['pretrain_loss_last']:.2f})")
display(captioned(pd.DataFrame({
    "token": [tokenizer.eos_token, tokenizer.pad_token],
    "id": [tokenizer.eos_token_id, tokenizer.pad_token_id],
}, index=["EOS (end of answer)", "padding"]), f"Special tokens; vocabulary of {len(tokenizer):,}, "
   f"{base.config.n_positions:,} positions, pads on the {tokenizer.padding_side} ({produced_by})"))

# %% [markdown]
# ## Look at the data
#
# Alpaca publishes one `train` split; validation and test are carved from it by instruction and input, so no
# test question is a training one. Each record has `instruction`, `input` (often empty), `output` and `text`.
# **`text` already contains the answer**: it is the prompt followed by `output`. A prompt built from `text`
# would hand the model its answer, so this chapter never reads it; prompts are built from `instruction` and
# `input` with Alpaca's two templates, the second for records without input.

# %%
splits = data.load_splits(run)
train, test_rows = splits["train"], splits["test"]
test = EvalSet.from_split(test_rows, case)
if "text" in train.column_names:  # the book's data has it; your own instruction data need not
    assert all(r["text"].endswith(r["output"]) for r in train.select(range(50))), "text should end with the answer"
else:
    print("These records have no `text` column: nothing is lost, the chapter builds prompts from instruction and input.")
empty = sum(not r["input"].strip() for r in train) / len(train)
display(pd.DataFrame({"rows": [len(ds) for ds in splits.values()]}, index=list(splits)))
with_input = next(r for r in test.records if r["input"].strip())
without = next(r for r in test.records if not r["input"].strip())
for title, r in (("with an input", with_input), ("without an input", without)):
    display(Markdown(f"**A test prompt {title}** ({data_label}):\n\n```text\n{case.format_prompt(r)}\n```\n"
                     f"Reference answer: `{r['output']!r}`"))
print(f"{100 * empty:.0f} % of training records have an empty input and take the shorter template.")

# %% [markdown]
# How long are prompts and answers? GPT-2 has **1,024 positions**, and prompt plus generated answer must fit
# in them: a longer sequence crashes on the GPU. This profile cuts prompts at `max_source_len` (cutting the
# input, never the instruction or the template's cue) and generates at most `max_new_tokens`.

# %%
prompt_lengths = data.token_lengths([case.format_prompt(r) for r in train], tokenizer)
answer_lengths = data.token_lengths(train["output"], tokenizer)
display(captioned(pd.DataFrame({
    "prompt": data.length_stats(prompt_lengths, sizes.max_source_len).row(),
    "answer": data.length_stats(answer_lengths, sizes.max_target_len - 1).row(),
}).T, f"Tokens per training record; limits {sizes.max_source_len} (prompt) and {sizes.max_target_len} (answer + EOS) "
   f"within {base.config.n_positions:,} positions ({data_label})"))
assert sizes.max_source_len + sizes.max_new_tokens <= base.config.n_positions

# %% [markdown]
# ## Zero-shot, and the baseline a tuned model must beat
#
# Zero-shot, the base model gets Alpaca's prompt and writes; decoding is **greedy** (the likeliest next token,
# no sampling, no penalty), the same for every system, up to EOS or `max_new_tokens`. A model that has not
# learnt to stop runs on to the limit; the **stops** column counts the answers that ended with EOS first.
#
# The trivial baseline is **copy**: answer with the input, or with the instruction where there is no input.
# It needs no model, and ROUGE rewards it wherever an answer repeats its question ("The capital of Peru is
# Lima.") or rewrites its input.

# %%
vocab = vocabulary(train, (*case.input_fields, case.target_field))
table_caption = f"ROUGE F1 [95 % CI] on {len(test)} test inputs, {label}"

zero_shot = evaluate_causal(base, tokenizer, test, run, "zero-shot")
copy = score("copy the input", copy_input_baseline(test, case), test, run)
display(quality_table([zero_shot, copy], vocab, table_caption))
display(examples(test, [zero_shot, copy], range(3), ("instruction", "input"), f"Three test inputs ({label})"))

# %% [markdown]
# ## LoRA for GPT-2
#
# GPT-2 computes queries, keys and values with **one** matrix, `c_attn`, which maps $d = 768$ to $3d = 2304$.
# It is a `Conv1D`, which stores its weight transposed ($d_\text{in} \times d_\text{out}$), so LoRA needs
# `fan_in_fan_out=True` to build $B A$ in the same layout. One adapted matrix adds $r(d_\text{in} +
# d_\text{out})$ parameters; with $r = 16$ on `c_attn` in all 12 layers:
#
# $$ 12 \cdot 16 \cdot (768 + 2304) = 589{,}824 $$
#
# (The same count as case 1, by coincidence of shapes.) A LoRA target of `c_proj` would match *two* modules
# per layer, the attention output and the MLP's second matrix, because `peft` matches name suffixes.
# We check the formula against `peft` on the real architecture, built on the `meta` device.

# %%
count_table, real_lora = adapters.count_on_real_architecture(run)
display(count_table)
assert lora.lora_params(case) == real_lora.trainable, "the formula and peft disagree"

# %% [markdown]
# ## The plan on a free T4
#
# Here the page runs the `smoke` profile; in Colab it runs `t4`, on the real model and data. Before any training,
# what `t4` costs there, phase by phase: the {term}`T4 plan`, a cost model explained in {doc}`../book/anatomy`
# (tokens counted with the real tokenizer on this page's records). If a run on a T4 fails,
# {doc}`../book/common-errors` lists the errors readers meet most, with their fixes.

# %%
from llmft.report import plan

t4_plan = plan.t4_plan(case, train, f"this page's training records ({run.profile.name} profile)")
display(text_table(t4_plan.table(), t4_plan.caption))
print(t4_plan.summary())

# %% [markdown]
# ## Fine-tune with LoRA, with `trl`
#
# Each record becomes a **prompt/completion pair**: the prompt (template, instruction, input) and the
# completion (`output`). `SFTTrainer` appends EOS to every completion and computes the loss on the
# completion only (`completion_only_loss`): the prompt is context, not something to imitate. Answers longer
# than the limit are left out rather than cut, so that no EOS ever lands mid-sentence. Here is what one pair
# looks like to the loss, token by token:

# %%
pairs, dropped = data.prompt_completion(train, tokenizer, case, sizes)
print(f"{len(pairs):,} training pairs; {dropped} left out (answer longer than {sizes.max_target_len - 1} tokens)")
example = pairs[0]
ids_prompt = tokenizer(example["prompt"])["input_ids"]
ids_answer = tokenizer(example["completion"] + tokenizer.eos_token)["input_ids"]
def shown(ids):
    return " | ".join(repr(tokenizer.decode([i]))[1:-1] for i in ids)


display(text_table(pd.DataFrame({"role": ["context: no loss", "target: in the loss"],
                                 "tokens (separated by |)": [shown(ids_prompt[-4:]), shown(ids_answer)]}),
                   f"The last tokens of one prompt, then its answer; the answer's last token is EOS ({data_label})"))

# %% [markdown]
# **Three `trl` defaults that this chapter overrides** (in `llmft.training.sft`): `bf16` is on by default (a T4 has no
# bf16; GPT-2 trains in fp16 there, in fp32 on a CPU); on a quantized model `trl` casts the trainable adapter
# weights to bf16 (they are cast back to fp32, so small updates are not rounded away); and activation
# checkpointing is on by default (GPT-2 does not need it on a T4). Batches are drawn at random rather than
# grouped by length: grouped, each batch would hold one kind of task.

# %%
display(pd.DataFrame({"LoRA": settings_table(run)}).rename_axis(f"{run.profile.name} profile"))
lora_model = adapters.attach_lora(base, run)
lora_params = models.count_params(lora_model)
print(f"trainable: {lora_params.trainable:,} of {lora_params.total:,} ({lora_params.percent:.2f} %)")
lora_report = sft.train_sft(lora_model, tokenizer, pairs, run, run.results_dir / case.key / "checkpoints-lora")
print(lora_report.summary())

# %%
tuned = evaluate_causal(lora_model, tokenizer, test, run, "LoRA")
display(quality_table([zero_shot, copy, tuned], vocab, table_caption))

# %% [markdown]
# ## QLoRA: the same adapter on a 4-bit base
#
# The frozen GPT-2 is stored in 4-bit NF4 with double quantization (its `Conv1D` layers become 4-bit linear
# layers), and the same adapter trains on top in fp32. Where `bitsandbytes` cannot run, this section says
# why and the chapter goes on.
#
# In `smoke` QLoRA trains half as many steps as LoRA (the profile's `qlora_max_steps`, printed below): on a
# CPU the 4-bit path runs no faster, and no claim of this page rests on it, so here it shows that the code
# runs, and its scores say nothing about QLoRA against LoRA. In `t4` and `full` both train the same steps.

# %%
qlora_ok, qlora_reason = models.bitsandbytes_status(run.device)
print(qlora_reason)
qlora = None
if qlora_ok:
    qlora_model, qlora_report, footprint = train_qlora(run, source, tokenizer, pairs,
                                                       run.results_dir / case.key / "checkpoints-qlora",
                                                       aside=lora_model, train_fn=sft.train_sft)
    assert all(p.dtype == torch.float32 for p in qlora_model.parameters() if p.requires_grad), "adapters not fp32"
    display(captioned(pd.DataFrame({"weights in memory (MiB)": footprint}), f"Base model weights ({label})",
                      precision=2))
    print(qlora_report.summary())
    print(f"Steps: LoRA {lora_report.steps}, QLoRA {qlora_report.steps} (the {run.profile.name!r} profile)")
    qlora = evaluate_causal(qlora_model, tokenizer, test, run, "QLoRA")

# %% [markdown]
# ## Analysis
#
# The loss curves first, then every system on the same test inputs.

# %%
histories = {"LoRA": lora_report.loss_history}
if qlora is not None:
    histories["QLoRA"] = qlora_report.loss_history
fig = plots.loss_curves(histories, f"Training loss on answer tokens ({run.profile.name} profile, {produced_by})")

# %%
systems = [zero_shot, copy, tuned] + ([qlora] if qlora is not None else [])
display(quality_table(systems, vocab, table_caption))
fig = plots.metric_bars({e.name: e.summary for e in systems}, ("rouge1", "rouge2", "rougeL"),
                        f"ROUGE on {len(test)} test inputs (95 % CI)\n{produced_by}")

# %% [markdown]
# The **paired bootstrap** {cite}`koehn2004significance` resamples the test inputs 1,000 times, keeping each
# input's two scores together: the difference B − A with its 95 % interval, and $p$, the share of resamples
# in which B does *not* beat A.

# %%
comparisons = {"LoRA vs zero-shot": (zero_shot, tuned), "LoRA vs copy the input": (copy, tuned)}
if qlora is not None:
    comparisons["QLoRA vs LoRA"] = (tuned, qlora)
    comparisons["QLoRA vs zero-shot"] = (zero_shot, qlora)  # for the chapter that compares the cases
paired = paired_comparisons(comparisons, ("rouge1", "rouge2", "rougeL"), sizes.bootstrap_samples, run.seed)
display(paired_table(paired, f"Difference B − A [95 % CI]; {label}"))

# %% [markdown]
# **By kind of task.** Alpaca's instructions mostly open with a verb that names the task ("Rewrite",
# "Classify", "List"...), so grouping by the first word splits the test set by kind without any label.

# %%
display(captioned(by_group(test, systems, first_word, min_examples=3, name="first word"),
                  f"Mean ROUGE-L by the instruction's first word (groups of at least 3 inputs; {label})"))

# %% [markdown]
# **How answers fail.** Four checks per system: the answer **never stops** (it runs to `max_new_tokens`),
# it **repeats** itself (a word three times in a row, or a three-word phrase three times), it **ignores the
# input** (the input has content words, the reference uses some, the answer none), or it is **empty**.

# %%
fail = pd.DataFrame({e.name: failures(test, e, case) for e in systems}).T
display(text_table(fail.map(lambda v: "-" if pd.isna(v) else f"{100 * v:.0f} %").reset_index(names="system"),
                   f"Failure shares on {len(test)} test inputs; {label}"))

# %% [markdown]
# Side by side on a few test inputs, then the inputs LoRA answers worst:

# %%
display(examples(test, [zero_shot, tuned] + ([qlora] if qlora else []), range(4), ("instruction", "input"),
                 f"The first four test inputs ({label})"))
worst = tuned.per_example["rougeL"].argsort()[:3].tolist()
display(examples(test, [tuned], worst, ("instruction", "input"), f"Lowest ROUGE-L for LoRA ({label})"))

# %% [markdown]
# **Eval loss, the number model cards report.** The mean cross-entropy per answer token on the validation
# split (prompt tokens excluded, EOS included), before and after tuning.
#
# ```{admonition} What to expect on a T4, with the real model
# :class: tip
# No published ROUGE exists for GPT-2 on Alpaca. Two public model cards of GPT-2 tuned one epoch on Alpaca
# (lr 5e-4, batch 4) report an eval loss of **1.698** with LoRA and **1.833** with QLoRA {cite}`gpt2alpacacards`.
# Their loss may cover the prompt as well, and their split is their own, so compare the direction, not the
# decimals. The numbers below come from the profile and model they name.
# ```

# %%
val_pairs, _ = data.prompt_completion(splits["validation"], tokenizer, case, sizes)
eval_dir = run.results_dir / case.key / "eval"
eval_losses = {"zero-shot (the base)": sft.eval_loss(models.load_model(run, source), tokenizer, val_pairs, run, eval_dir),
               "LoRA": sft.eval_loss(lora_model, tokenizer, val_pairs, run, eval_dir)}
if qlora is not None:
    eval_losses["QLoRA"] = sft.eval_loss(qlora_model, tokenizer, val_pairs, run, eval_dir)
display(text_table(pd.DataFrame({"system": list(eval_losses), "eval loss (nats / answer token)":
                                 [f"{v:.3f}" for v in eval_losses.values()]}),
                   f"Validation loss on {len(val_pairs)} pairs; {label}"))

# %% [markdown]
# ## Save, reload, merge
#
# The adapter alone is saved (the pad token's embedding row is not: it is rebuilt identically on every load).
# We reload it onto a fresh base and check identical logits, then merge it ($W \leftarrow W + \frac{\alpha}{r}
# BA$) and check that the merged model writes the same answers.

# %%
adapter_dir = run.results_dir / case.key / "adapter-lora"
check = EvalSet(test.records[:8], test.references[:8])
round_trip = roundtrip.save_reload_merge(run, lora_model, models.load_model(run, source), tokenizer, check, adapter_dir)
display(captioned(round_trip.table(), f"Save, reload, merge ({label})"))
assert round_trip.ok

# %% [markdown]
# ## Quantization for serving
#
# QLoRA quantized the *frozen base* to train cheaply. Serving is a different question: the finished model
# (adapter merged) answers requests, and its weights sit in memory all day. We save the merged model and load
# it three ways: fp32, 8-bit (`LLM.int8()` {cite}`dettmers2022llmint8`) and 4-bit NF4, then answer the whole
# test split with each: weights in memory, generated tokens per second (batches of the profile's eval size),
# and ROUGE-L. Quantization shrinks the linear layers only; embeddings (a large share of a small model) stay
# in full precision. Speed depends on the hardware's kernels: tokens per second measured on a CPU say little
# about a GPU, so read that column for the machine the table names.

# %%
from llmft.serve import precision as serving_precision

merged_dir = run.results_dir / case.key / "merged"
merged_bytes = serving_precision.save_merged(
    adapters.load_adapter(models.load_model(run, source), adapter_dir).merge_and_unload(), tokenizer, merged_dir)
print(f"Merged model on disk: {merged_bytes / 2**20:,.1f} MiB ({produced_by})")
precision_results, skipped = serving_precision.compare_precisions(run, merged_dir, tokenizer, test)
for precision, why in skipped.items():
    print(f"{precision}: not run here. {why}")
display(text_table(pd.DataFrame([r.row() for r in precision_results]),
                   f"The merged LoRA model at three precisions, {len(test)} test inputs, measured on the "
                   f"{run.device.upper()}; {label}"))
fig = plots.precision_panels(
    {r.precision: {"weights (MiB)": r.weights_mib, "tokens / s": r.tokens_per_second,
                   "ROUGE-L": r.evaluation.summary["rougeL"].mean} for r in precision_results},
    f"Serving precision ({run.profile.name} profile, {produced_by})",
    errors={r.precision: (r.evaluation.summary["rougeL"].ci_low, r.evaluation.summary["rougeL"].ci_high)
            for r in precision_results})

# %% [markdown]
# ## A JSON API
#
# `llmft serve` loads the base model and the adapter once, when the server starts (FastAPI's lifespan), and
# serves two endpoints on 127.0.0.1 (OpenAPI docs at `/docs` when started with `--docs`):
#
# - `GET /health`: the model, adapter, device and precision loaded, and the position limit;
# - `POST /generate` with `{"instruction": ..., "input": ..., "max_new_tokens": 64, "temperature": 0}`:
#   the answer, its token counts, why it ended (`stop`: EOS; `length`: the limit) and the time taken.
#
# Generation runs in a worker thread, one request at a time behind a lock, so `/health` answers while a long
# generation runs. Bad requests get a 422 that names the field and the reason: a missing or empty
# instruction, numbers out of range or of the wrong type, and a prompt whose tokens plus `max_new_tokens`
# exceed the 1,024 positions; a body that is not JSON gets a 400 that says why. Size and time limits, and how
# to expose a server safely, are in {doc}`../book/running`. In a terminal:
#
# ```bash
# # the base model plus the chapter's adapter
# # (add --precision int8 or nf4 to quantize the base)
# llmft serve --case alpaca-gpt2 --adapter results/alpaca-gpt2/adapter-lora
# # in a second terminal:
# curl -s localhost:8000/generate -H 'content-type: application/json' \
#      -d '{"instruction": "List three fruits."}'
# ```
#
# Here the chapter starts it in the background, asks it one test question, then asks for 512 new tokens after a
# 600-word input (more than GPT-2's positions leave), and stops it.

# %%
from llmft.serve.client import running_server

record = test.records[0]
with running_server(case.key, adapter_dir, profile=run.profile.name) as server:
    health = server.get("/health")
    status, answer = server.request("/generate", {"instruction": record["instruction"], "input": record["input"],
                                                  "max_new_tokens": sizes.max_new_tokens})
    too_long, refusal = server.request("/generate", {"instruction": "Summarize the following text.",
                                                     "input": "word " * 600, "max_new_tokens": 512})
display(captioned(pd.DataFrame({"GET /health": pd.Series(health), f"POST /generate ({status})": pd.Series(answer)})
                  .fillna(""), f"The server's answers ({label})"))
print(f"An over-long request: {too_long} {refusal['detail']}")
assert status == 200 and roundtrip.same_outputs(answer["text"], tuned.predictions[0], run.device), \
    "the server and the chapter disagree"
assert too_long == 422

# %% [markdown]
# The served answer is the one the chapter's LoRA model wrote for the same input: same base, same adapter,
# same greedy decoding (word for word on the CPU; on a GPU, where a batch of one rounds differently from the
# chapter's batches, three quarters of the words in place). The tests (`tests/test_api.py`) check every endpoint and refusal, a live server on
# loopback under 200 requests from 8 clients, and `/health` answering during a long generation.
#
# ## Results file
#
# Everything measured above goes into `results/alpaca-gpt2/<profile>.json`, written only once the chapter's
# claims below are checked.

# %%
from llmft.report import claims, results

flu = {e.name: fluency(e.predictions, vocab) for e in systems}
payload = results.build(
    run,
    systems={key: e.summary for key, e in (("zero_shot", zero_shot), ("copy", copy), ("lora", tuned),
                                           ("qlora", qlora)) if e is not None},
    comparisons={name.replace(" ", "_"): cmp for name, cmp in paired.items()},
    produced_by={"model": produced_by, "data": data_label, "test_inputs": len(test),
                 "references_per_input": test.references_per_input},
    fluency=flu,
    stop_rate={e.name: e.stop_rate for e in systems if e.completions},
    failures={e.name: failures(test, e, case) for e in systems},
    eval_loss=eval_losses,
    parameters={"base_total": n_base.total, "lora_trainable": lora_params.trainable,
                "real_model": {"id": case.model_id, "lora_trainable": real_lora.trainable, "total": real_lora.total}},
    training={"lora": lora_report.as_dict(), **({"qlora": qlora_report.as_dict()} if qlora is not None else {}),
              "pairs": len(pairs), "left_out": dropped},
    serving_precision=[{"precision": r.precision, "weights_mib": r.weights_mib, "tokens_per_second": r.tokens_per_second,
                        "rougeL": r.evaluation.summary["rougeL"].as_dict(), "stop_rate": r.evaluation.stop_rate}
                       for r in precision_results],
    adapter_bytes=round_trip.adapter_bytes,
    qlora_status=qlora_reason,
)

# %% [markdown]
# In `smoke`, the chapter checks its own claims on held-out inputs: LoRA beats zero-shot **and** the copy
# baseline, each with the paired bootstrap's lower bound for ROUGE-L above zero; at least 90 % of its answers
# stop on their own, while at most half of the untuned model's do (stopping is what the tuning taught); and its
# text is real text (at least 95 % real words, at most 5 % repeating). On your own
# files (`LLMFT_DATA`) and in `t4` and `full` the same claims are stated as verdicts, not asserted. Then the
# results file is written, with the verdicts in it.

# %%
gain = paired["LoRA vs zero-shot"]["rougeL"]
over_copy = paired["LoRA vs copy the input"]["rougeL"]
verdict = ("beats it: the paired interval lies above zero" if over_copy.b_better else
           "does **not** beat it on these inputs: the paired interval does not lie above zero")
display(Markdown(
    f"This run ({label}) shows LoRA at ROUGE-L {tuned.summary['rougeL']}, zero-shot at {zero_shot.summary['rougeL']} "
    f"and copying the input at {copy.summary['rougeL']}. LoRA gains {gain.diff.mean:+.3f} over zero-shot; against "
    f"copying the difference is {over_copy.diff}, so LoRA {verdict}. {100 * tuned.stop_rate:.0f} % of its answers "
    f"stop on their own (zero-shot: {100 * zero_shot.stop_rate:.0f} %); {100 * flu['LoRA']['real_word_share']:.1f} % "
    f"of its words are real words."))
checked = claims.check(run, [
    claims.beats("LoRA", "zero-shot", gain, "ROUGE-L"),
    claims.beats("LoRA", "copying the input", over_copy, "ROUGE-L"),
    claims.at_least("LoRA's share of answers that stop on their own", tuned.stop_rate, 0.9),
    claims.at_most("zero-shot's share of answers that stop on their own", zero_shot.stop_rate, 0.5),
    claims.at_least("LoRA's share of real words", flu["LoRA"]["real_word_share"], 0.95),
    claims.at_most("LoRA's share of looping outputs", flu["LoRA"]["loop_share"], 0.05),
])
print("wrote", results.write(run.results_path, {**payload, "claims": checked.as_dict()}).relative_to(run.results_dir.parent))

# %% [markdown]
# ## Summary
#
# - Instruction tuning turns a text continuer into an answerer: prompt/completion pairs, loss on the answer
#   only, EOS appended and learnt, so that the model stops.
# - The pad token must not be EOS; batched generation pads on the left; prompt plus answer must fit GPT-2's
#   1,024 positions, and the API refuses requests that would not.
# - LoRA on GPT-2's fused `c_attn` (a `Conv1D`: `fan_in_fan_out=True`) with r = 16 trains 589,824 parameters
#   (formula and `peft` agree).
# - `trl`'s defaults assume a bf16 GPU: set the precision yourself, and keep a quantized model's adapters in fp32.
# - Quantizing the merged model for serving trades a little quality for memory; measure both, as above.
# - One ROUGE number hides how answers fail: check the stop rate, repetition and whether the answer uses its
#   input, per kind of task, as the tables above do.
#
# ## Exercises
#
# 1. **pad = EOS.** Pad with EOS and mask the labels *by token id*, as older collators did: build the trainer
#    with `t = sft.trainer(model, tokenizer, pairs, run, path)`, wrap `t.data_collator` in a function that sets
#    `batch["labels"][batch["labels"] == tokenizer.eos_token_id] = -100`, run `t.train()`, and measure
#    `evaluate_causal(...).stop_rate`. *Hint: no label is ever EOS, so nothing teaches the model to stop.*
# 2. **Loss on the prompt too.** Turn the pairs into one `text` column, `pairs.map(lambda r: {"text":
#    r["prompt"] + r["completion"]}, remove_columns=["prompt", "completion"])`, and train on that: `trl` then
#    computes the loss on every token. *Hint: the loss falls faster (the template is easy to predict); compare
#    the answers' ROUGE, not the loss.*
# 3. **Rank and targets.** Try r = 4, and targets `c_attn` plus `c_fc`, each on a fresh base (peft wrapped the
#    chapter's `base` in place): `adapters.attach_lora(models.load_model(run, source), run,
#    dataclasses.replace(case.lora, target_modules=("c_attn", "c_fc")))`. *Hint: `lora.lora_params` gives the
#    count before you train.*
# 4. **The API's limits.** Start `llmft serve` and send `max_new_tokens: 0`, `temperature: "hot"` and an input
#    of 5,000 words with `curl`. *Hint: all three are 422s, and the message names the field.*
#
# ````{admonition} Solutions
# :class: dropdown
# **1. pad = EOS.** With every EOS masked out of the labels, the model is never trained to write one. Its stop rate
# falls far below the chapter's model's, and its answers run on to `max_new_tokens`, usually repeating the template.
# ROUGE falls with them (the extra words are unmatched). This is the trap {ref}`error-pad-eos` describes.
#
# **2. Loss on the prompt too.** The training loss falls faster and lower, because most tokens are now the fixed
# template and the instruction, which are easy to predict. The answers do not get better for it, and often get
# worse: part of the gradient now goes to modelling prompts. Compare the paired ROUGE of the answers, not the
# losses.
#
# **3. Rank and targets.**
# ```python
# case = CASES["alpaca-gpt2"]
# (lora.lora_params(case, dataclasses.replace(case.lora, r=4)),
#  lora.lora_params(case, dataclasses.replace(case.lora, target_modules=("c_attn", "c_fc"))))
# ```
# 147,456 at r = 4 on `c_attn`; 1,327,104 with `c_fc` added at r = 16 (`c_fc` maps 768 to 3,072 in each of the 12
# layers). Both keep `fan_in_fan_out=True`: GPT-2's `Conv1D` stores its weights transposed.
#
# **4. The API's limits.** `max_new_tokens: 0` and `temperature: "hot"` fail validation (a positive integer and a
# number are required); 5,000 words do not fit GPT-2's 1,024 positions with the answer's tokens, and the server
# refuses them before generating ({ref}`error-gpt2-positions`). Each is a 422 whose message names the field.
# ````
#
# ## References
#
# Cited on this page: GPT-2 {cite}`radford2019gpt2`, Alpaca {cite}`taori2023alpaca`, LoRA {cite}`hu2021lora`,
# QLoRA {cite}`dettmers2023qlora`, LLM.int8() {cite}`dettmers2022llmint8`, the GPT-2 Alpaca model cards
# {cite}`gpt2alpacacards` and the paired bootstrap {cite}`koehn2004significance`. Full entries are on the
# {doc}`../book/references` page.
