"""The T4 plan: how long each phase of a case chapter takes on a free Colab T4, and how much memory it needs.

A cost model, not a measurement. Every number comes from four kinds of input, each visible in :data:`T4` and
:data:`ASSUMED` below:

* **counts** from the case: parameters of the real architecture (built on the ``meta`` device), the ``t4``
  profile's sizes (examples, lengths, batch, decoding), and tokens per example counted with the real model's
  tokenizer (:mod:`llmft.models.real_tokenizers`) on the book's own records, capped at the profile's lengths;
* **the T4's datasheet**: 65 TFLOPS in fp16 on its tensor cores, 8.1 TFLOPS in fp32, 320 GB/s of memory bandwidth
  (NVIDIA, cited as ``nvidiat4``);
* **efficiencies**, assumed and stated: the share of those peaks a Hugging Face training step or a decoding step
  reaches (QLoRA's slowdown over LoRA is the recorded H100 run's; the memory side is checked against that run's
  peaks by :func:`recorded_beside_estimate`);
* **memory** from :mod:`llmft.foundations.memory_model`: the weights module by module at the dtype each really has,
  the adapter with its gradients and optimizer states, activations (Korthikanti et al.), the logits, the KV cache.

Training a step costs ``2 N`` FLOPs per token forward, ``2 N`` backward through the frozen weights (LoRA skips
their weight gradients), and ``2 N`` more with activation checkpointing, where ``N`` counts the weights a token
passes through (the encoder's for a source token, the decoder's and the head's for a target token). Decoding one
token reads every weight once: a step of generation costs the larger of its bytes over the bandwidth and its
FLOPs over the compute, plus a fixed launch cost per layer.
"""

from __future__ import annotations

from dataclasses import dataclass

from llmft.cases import Case, Sizes, registration

MINUTE = 60.0

# NVIDIA T4 datasheet (nvidiat4): peak throughput and memory bandwidth; Colab reports the card as 15 GB.
T4 = {"fp16_flops": 65e12, "fp32_flops": 8.1e12, "bandwidth": 320e9, "memory_bytes": 15 * 10**9}

# Assumptions, each a single number to argue with (the plan's table names them under the estimate).
ASSUMED = {
    "train_efficiency": 0.25,  # share of the peak FLOPs a training step reaches (assumed: no T4 run recorded yet)
    "decode_bandwidth_efficiency": 0.6,  # share of the bandwidth one decoding step reaches (16-bit weights)
    "nf4_decode_slowdown": 1.5,  # bitsandbytes dequantizes each 4-bit weight to 16 bits on every decoding step
    "qlora_train_slowdown": 1.6,  # QLoRA step / LoRA step (H100 record of case 2: 0.533 / 0.342 s = 1.56)
    "seconds_per_layer_step": 1e-3,  # kernel launches: per layer per decoding step, per layer per training step x3
    "seconds_per_optimizer_step": 0.05,  # Trainer's bookkeeping, the optimizer, logging
    "download_bytes_per_second": 60e6,  # Hugging Face Hub to a Colab VM
    "load_bytes_per_second": 200e6,  # safetensors from the VM's disk to the GPU (quantizing on the way)
    "install_seconds": 120.0,  # pip install of the book's pins into a fresh runtime
    "cuda_context_bytes": 0.5 * 2**30,
}

TEACHER = {"parameters": 1.54e9, "layers": 28, "bytes_per_parameter": 4, "checkpoint_bytes": 3.1e9,
           "prompt_tokens": 1200, "new_tokens": 700, "batch": 8}  # Qwen2.5-1.5B-Instruct in fp32 (a T4 has no bf16)


@dataclass(frozen=True)
class Phase:
    name: str
    seconds: float
    peak_bytes: float
    detail: str

    @property
    def minutes(self) -> float:
        return self.seconds / MINUTE


@dataclass(frozen=True)
class Tokens:
    """Mean tokens per example (source or prompt, target or answer), and where they were counted."""

    source: float
    target: float
    counted_on: str


def tokens_per_example(case: Case, records: list[dict], tokenizer, sizes: Sizes, counted_on: str) -> Tokens:
    """Mean tokens of ``records`` with ``tokenizer`` (the real model's), each capped at the ``t4`` lengths."""
    prompts = [case.format_prompt(r) for r in records]
    src = [min(len(ids), sizes.max_source_len) for ids in tokenizer(prompts)["input_ids"]]
    if case.task == "classification":
        return Tokens(sum(src) / len(src), 0.0, counted_on)
    tgt = [min(len(ids), sizes.max_target_len) for ids in tokenizer([str(r[case.target_field]) for r in records])["input_ids"]]
    return Tokens(sum(src) / len(src), sum(tgt) / len(tgt), counted_on)


def _dims(case: Case) -> tuple[int, int, int, int]:
    """(layers a source token passes, layers a target token passes, vocabulary, hidden size)."""
    a = case.arch
    if case.architecture == "t5":
        return a["num_layers"], a["num_decoder_layers"], a.get("vocab_size", 32128), a["d_model"]
    from llmft.foundations.memory_model import transformer_dims

    h, _, layers = transformer_dims(case)
    return layers, layers, a.get("vocab_size", 0), h


def _matmul_parameters(case: Case) -> tuple[float, float]:
    """Weights a source token and a target token pass through (linear layers; the head counts for targets)."""
    from llmft import models

    model = models.real_size_on_meta(case)
    enc = dec = 0.0
    for name, module in model.named_modules():
        if type(module).__name__ not in ("Linear", "Conv1D"):
            continue
        n = sum(p.numel() for p in module.parameters(recurse=False) if p.dim() == 2)
        if case.architecture == "t5" and name.startswith("encoder."):
            enc += n
        elif case.architecture == "t5":
            dec += n
        else:
            enc += n
            dec += n
    return enc, dec


def _weights(case: Case, dtype: str, quantized: bool) -> float:
    from llmft import models
    from llmft.foundations import memory_model as mm

    skip = case.lora.modules_to_save or None
    return sum(mm.weight_bytes(models.real_size_on_meta(case), dtype=dtype, quantized=quantized, skip=skip).values())


def _train(case: Case, sizes: Sizes, tokens: Tokens, examples: float, quantized: bool, fp16: bool,
           compute: str | None = None) -> tuple[float, float, str]:
    """(seconds, peak bytes, detail) of one training run over ``examples`` examples."""
    from llmft.foundations import memory_model as mm
    from llmft.foundations.lora import trainable_by_formula

    enc, dec = _matmul_parameters(case)
    passes = 6 if sizes.gradient_checkpointing else 4
    if case.architecture == "t5":
        per_example = passes * (enc * tokens.source + dec * tokens.target)
    elif case.task == "causal":
        per_example = passes * dec * (tokens.source + tokens.target)
    else:
        per_example = passes * enc * tokens.source
    flops = per_example * examples
    peak = T4["fp16_flops"] if fp16 else T4["fp32_flops"]
    seconds = flops / (peak * ASSUMED["train_efficiency"])
    steps = examples / (sizes.batch_size * sizes.grad_accum)
    src_layers, tgt_layers, vocab, h = _dims(case)
    micro_steps = examples / sizes.batch_size
    seconds += steps * ASSUMED["seconds_per_optimizer_step"] + micro_steps * 3 * (src_layers + tgt_layers) * ASSUMED["seconds_per_layer_step"]
    if quantized:
        seconds *= ASSUMED["qlora_train_slowdown"]
    dtype = compute or ("fp16" if (fp16 or quantized) else "fp32")
    weights = _weights(case, dtype if quantized else "fp32", quantized)
    seq = sizes.max_source_len + (0 if case.architecture == "t5" else sizes.max_target_len)
    if sizes.packing:
        seq = sizes.max_source_len + sizes.max_target_len
    _, heads, layers = mm.transformer_dims(case)
    act = mm.activation_bytes(h, heads, layers, seq, sizes.batch_size, act_bytes=2 if dtype == "fp16" else 4,
                              checkpointing=sizes.gradient_checkpointing)
    logit_rows = sizes.max_target_len if case.architecture == "t5" else seq
    logits = 0.0 if case.task == "classification" else mm.logits_bytes(sizes.batch_size, logit_rows, vocab, dtype)
    n_trained = trainable_by_formula(case)
    est = mm.training_memory(0, n_trained, dtype, "lora", act + logits, weights=weights,
                             optimizer="paged_adamw_8bit" if quantized else "adamw")
    detail = f"{examples:,.0f} examples, {flops / 1e15:.1f} PFLOP, {steps:,.0f} steps"
    return seconds, est.total + ASSUMED["cuda_context_bytes"], detail


def _generate(case: Case, sizes: Sizes, tokens: Tokens, examples: float, quantized: bool, beams: int,
              new_tokens: int | None = None) -> tuple[float, float, str]:
    """(seconds, peak bytes, detail) of one pass of generation (or classification) over ``examples`` inputs."""
    from llmft.foundations import memory_model as mm

    src_layers, tgt_layers, vocab, h = _dims(case)
    weights16 = _weights(case, "fp16", False)
    weights = _weights(case, "fp16", quantized) if quantized else weights16
    batches = -(-examples // sizes.eval_batch_size)
    if case.task == "classification":
        enc, _ = _matmul_parameters(case)
        flops = 2 * enc * tokens.source * examples
        seconds = flops / (T4["fp16_flops"] * ASSUMED["train_efficiency"]) + batches * src_layers * ASSUMED["seconds_per_layer_step"]
        act = sizes.eval_batch_size * sizes.max_source_len * h * 2 * 8
        return seconds, weights + act + ASSUMED["cuda_context_bytes"], f"{examples:,.0f} inputs, one forward pass each"
    new = new_tokens or sizes.max_new_tokens
    read = weights16 * (ASSUMED["nf4_decode_slowdown"] if quantized else 1.0)
    enc, dec = _matmul_parameters(case)
    rows = sizes.eval_batch_size * beams
    step_compute = 2 * dec * rows / (T4["fp16_flops"] * ASSUMED["train_efficiency"])
    step = max(read / (T4["bandwidth"] * ASSUMED["decode_bandwidth_efficiency"]), step_compute)
    step += tgt_layers * ASSUMED["seconds_per_layer_step"]
    prompt = 2 * (enc if case.architecture == "t5" else dec) * tokens.source * examples / (T4["fp16_flops"] * ASSUMED["train_efficiency"])
    seconds = batches * new * step + prompt
    kv = mm.kv_cache_bytes(case, rows, int(sizes.max_source_len + new), "fp16")
    peak = weights + kv + rows * vocab * 4 * 2 + ASSUMED["cuda_context_bytes"]
    return seconds, peak, f"{examples:,.0f} inputs, {batches:,.0f} batches x {new} steps, {beams} beam(s)"


def plan(case: Case, tokens: Tokens, examples: dict[str, float] | None = None, profile: str = "t4") -> list[Phase]:
    """The phases of ``case``'s chapter in ``profile`` (``t4``), in order, each with its estimated time and peak.

    ``examples``: how many training and test examples the run has where the sizes do not say (case 4 builds its
    own: ``{"train": ..., "test": ...}``).
    """
    from llmft.evaluation.generation import DECODING

    reg = registration(case.key)
    sizes = reg.sizes[profile]
    examples = examples or {}
    published = case.split_sizes
    n_train = examples.get("train") or sizes.train_examples or published.get("train")
    n_test = examples.get("test") or sizes.eval_examples or published.get("test")
    if n_train is None or n_test is None:
        raise ValueError(f"{case.key}: the {profile!r} sizes do not fix the number of examples; pass `examples`.")
    n_train *= sizes.epochs
    beams = {**DECODING, **case.decoding}.get("num_beams", 1) if case.task == "seq2seq" else 1
    fp16 = case.fp16_ok
    params = case.real_parameters
    ckpt_bytes = params * case.checkpoint_bytes
    weights16 = _weights(case, "fp16", False)
    phases = [Phase("install", ASSUMED["install_seconds"], 0.0, "pip install of the book's pins")]
    download = ckpt_bytes + (TEACHER["checkpoint_bytes"] if case.key == "papers-llama3" else 0)
    phases.append(Phase("download", download / ASSUMED["download_bytes_per_second"], 0.0,
                        f"{download / 1e9:.1f} GB of checkpoints"))
    load = ckpt_bytes / ASSUMED["load_bytes_per_second"]
    lora_fits = weights16 * 1.3 < T4["memory_bytes"]
    if case.key == "papers-llama3":
        t = TEACHER
        batches = -(-examples.get("chunks", 0) // t["batch"])
        step = t["parameters"] * t["bytes_per_parameter"] / (T4["bandwidth"] * ASSUMED["decode_bandwidth_efficiency"])
        step += t["layers"] * ASSUMED["seconds_per_layer_step"]
        seconds = t["checkpoint_bytes"] / ASSUMED["load_bytes_per_second"] + batches * t["new_tokens"] * step
        peak = t["parameters"] * t["bytes_per_parameter"] + 2 * t["layers"] * t["batch"] * (t["prompt_tokens"] + t["new_tokens"]) * 256 * 4
        phases.append(Phase("teacher writes the triples", seconds, peak + ASSUMED["cuda_context_bytes"],
                            f"{examples.get('chunks', 0):,.0f} chunks in batches of {t['batch']}, up to {t['new_tokens']} new tokens"))
    quantized_zero_shot = not lora_fits
    s, p, d = _generate(case, sizes, tokens, n_test, quantized_zero_shot, beams)
    phases.append(Phase("load + zero-shot evaluation", load + s, p, d))
    if lora_fits:
        s, p, d = _train(case, sizes, tokens, n_train, quantized=False, fp16=fp16)
        phases.append(Phase("LoRA training", s, p, d))
        s, p, d = _generate(case, sizes, tokens, n_test, False, beams)
        extra = case.extra_evaluations
        phases.append(Phase("LoRA evaluation", s * (1 + extra), p, d + (f", {1 + extra} passes" if extra else "")))
    if case.key == "papers-llama3":
        packing = _papers(profile).packing_examples
        s, p, d = _train(case, sizes, tokens, packing, quantized=True, fp16=True)
        phases.append(Phase("packing comparison (2 QLoRA runs)", 2 * (s + load), p, f"{packing} examples each"))
    s, p, d = _train(case, sizes, tokens, n_train, quantized=True, fp16=True)
    phases.append(Phase("QLoRA training", load + s, p, d))
    s, p, d = _generate(case, sizes, tokens, n_test, True, beams)
    phases.append(Phase("QLoRA evaluation", s, p, d))
    if case.key == "papers-llama3":
        share = _papers(profile).sampled_share
        s, p, d = _generate(case, sizes, tokens, max(1, int(n_test * share)), True, 1)
        phases.append(Phase(f"sampled decodings (2 seeds, {share:.0%} of the test set)", 2 * s, p, d))
    small = EVAL_CHECK_EXAMPLES
    s, p, d = _generate(case, sizes, tokens, small, not lora_fits, beams)
    phases.append(Phase("save, reload, merge", 2 * s + (load if lora_fits else 0), p, f"{small} inputs, twice"))
    return phases


EVAL_CHECK_EXAMPLES = 8  # save/reload/merge compares outputs on this many test inputs


def _papers(profile: str):
    from llmft.data.papers.sources import settings

    return settings(profile)


PAGE_CHARACTERS = 4000  # characters of text on a page of an arXiv paper, assumed (two columns of 10-pt text hold more)
TRIPLES_PARSED = 0.8  # share of the triples asked for that the teacher's replies give, parsed and valid (assumed)


def paper_examples(profile: str = "t4") -> dict[str, float]:
    """Case 4's counts where its sizes leave them open: chunks the teacher reads, training and test triples."""
    from llmft.data.papers.sources import ARXIV

    s = _papers(profile)
    chunks = len(ARXIV) * s.max_pages * PAGE_CHARACTERS / (s.chunk_size - s.overlap)
    triples = chunks * s.per_chunk * TRIPLES_PARSED
    test = triples * s.fractions["test"]
    return {"chunks": round(chunks), "train": round(triples - test - triples * s.fractions["validation"]),
            "test": round(test)}


def book_records(case: Case, n: int = 300, seed: int = 0) -> tuple[list[dict], str]:
    """Up to ``n`` training records of the book's own offline data for ``case`` (its synthetic generator; for case 4,
    triples the offline teacher writes from the synthetic papers' text), and a label that says so."""
    from llmft.cases import resolve

    reg = registration(case.key)
    if reg.synthetic is not None:
        data = resolve(reg.synthetic.generator)(reg.synthetic.splits, seed)
        return list(data["train"])[:n], "the book's synthetic training records"
    from llmft.data.papers.chunks import chunk_document
    from llmft.data.papers.pdf import Document, Page
    from llmft.data.papers.teachers import OfflineTeacher
    from llmft.data.synthetic.papers import make_papers

    s = _papers("smoke")
    teacher, rows = OfflineTeacher(), []
    for paper in make_papers(s.n_synthetic, seed):
        doc = Document(paper.paper_id, paper.title, [Page(1, paper.text().replace("\n\n", "\n"))], 0, False)
        for chunk in chunk_document(doc, s.chunk_size, s.overlap):
            rows += teacher.triples(chunk.text, s.per_chunk)
    return rows[:n], "triples the offline teacher writes from the book's synthetic papers"


def totals(phases: list[Phase]) -> tuple[float, float]:
    """(minutes, peak GiB) of a plan."""
    return sum(p.seconds for p in phases) / MINUTE, max(p.peak_bytes for p in phases) / 2**30


def table(phases: list[Phase]):
    """A DataFrame of text: phase, minutes, peak GiB, what it counts; and a total row (numbers to one decimal)."""
    import pandas as pd

    minutes, peak = totals(phases)
    rows = [{"phase": p.name, "minutes": f"{p.minutes:.1f}",
             "peak GiB": f"{p.peak_bytes / 2**30:.1f}" if p.peak_bytes else "", "counted": p.detail} for p in phases]
    rows.append({"phase": "total", "minutes": f"{minutes:.1f}", "peak GiB": f"{peak:.1f}", "counted": ""})
    # the phase is a column, not the index: text_table hides the index
    return pd.DataFrame(rows)


@dataclass(frozen=True)
class T4Plan:
    """A case chapter's plan on a T4: phases from the book's token counts, and the same at the profile's caps."""

    case: Case
    phases: list[Phase]
    tokens: Tokens
    at_caps: list[Phase]  # every example as long as the t4 profile lets it be: the worst case for time

    def table(self):
        return table(self.phases)

    @property
    def caption(self) -> str:
        t = self.tokens
        target = f", answers or summaries {t.target:.0f}" if t.target else ""
        return (f"Estimated for the 't4' profile on a free Colab T4 (a cost model, not a measurement: "
                f"llmft.report.plan). Tokens per example counted with the real {self.case.model_id} tokenizer on "
                f"{t.counted_on}: inputs {t.source:.0f}{target}")

    def summary(self) -> str:
        minutes, peak = totals(self.phases)
        worst, _ = totals(self.at_caps)
        return (f"About {minutes:.0f} minutes and at most {peak:.1f} GiB on a T4 (the card has "
                f"{T4['memory_bytes'] / 2**30:.1f} GiB). If every example filled the profile's length caps "
                f"({registration(self.case.key).sizes['t4'].max_source_len} tokens in"
                + (f", {registration(self.case.key).sizes['t4'].max_target_len} out" if self.tokens.target else "")
                + f"), about {worst:.0f} minutes. Records shorter than the caps (most are) land between the two.")


def t4_plan(case: Case, records=None, counted_on: str | None = None, n: int = 300) -> T4Plan:
    """The T4 plan of ``case``'s chapter: tokens counted with the real model's tokenizer (offline, from PyPI, see
    :mod:`llmft.models.real_tokenizers`) on ``records`` (the chapter's training records; default
    :func:`book_records`)."""
    from transformers import AutoTokenizer

    from llmft.models.real_tokenizers import real_tokenizer

    if records is None:
        records, counted_on = book_records(case, n)
    else:
        records = [records[i] for i in range(min(n, len(records)))]
    tokenizer = AutoTokenizer.from_pretrained(real_tokenizer(case.real_tokenizer, log=lambda *_: None))
    sizes = registration(case.key).sizes["t4"]
    tokens = tokens_per_example(case, records, tokenizer, sizes, counted_on or "the chapter's training records")
    examples = paper_examples("t4") if case.key == "papers-llama3" else None
    caps = Tokens(float(sizes.max_source_len), float(sizes.max_target_len if tokens.target else 0), "the caps")
    return T4Plan(case, plan(case, tokens, examples), tokens, plan(case, caps, examples))


def recorded_beside_estimate(case: Case) -> list[dict]:
    """Each recorded GPU run of ``case`` (:data:`llmft.report.recorded.GPU_CHECKS`): its measured peak beside the
    peak this plan estimates for the same setting (method, precision, activation checkpointing, ``t4`` sizes)."""
    import dataclasses

    from llmft.report.recorded import GPU_CHECKS

    sizes = registration(case.key).sizes["t4"]
    caps = Tokens(float(sizes.max_source_len), float(sizes.max_target_len), "the caps")
    rows = []
    for record in GPU_CHECKS:
        for r in record["rows"]:
            if r["case"] != case.key:
                continue
            at = dataclasses.replace(sizes, gradient_checkpointing=r["activation_checkpointing"])
            _, peak, _ = _train(case, at, caps, sizes.batch_size, quantized=r["method"] == "QLoRA", fp16=False,
                                compute=r["precision"])
            rows.append({"run": f"{record['device']}, {record['created']}", "method": r["method"],
                         "precision": r["precision"], "checkpointing": "on" if r["activation_checkpointing"] else "off",
                         # the measurement is torch.cuda.max_memory_allocated: without the CUDA context
                         "measured peak GiB": r["peak_gib"],
                         "estimated GiB": round((peak - ASSUMED["cuda_context_bytes"]) / 2**30, 2)})
    return rows
