"""Check a case's ``t4`` path on any CUDA GPU, without downloading anything: phase by phase, as the chapter runs.

For each case whose chapter exists, build the **real architecture at its published size with random
weights** (no download), make batches of random tokens with the lengths the ``t4`` profile allows, and
train a few steps with exactly the ``t4`` settings: precision, LoRA or QLoRA (4-bit NF4 with double
quantization through bitsandbytes), optimizer (paged 8-bit AdamW for QLoRA) and activation
checkpointing, under a memory cap of a T4's 15 GB (``torch.cuda.set_per_process_memory_fraction``).
It reports peak memory, seconds per step, useful tokens per second and the number of optimizer steps
the ``t4`` profile runs, and fails when a case would not fit.

Then it **rehearses each case chapter's phases in order** (:func:`rehearse_case`): load in the chapter's dtype →
zero-shot generation of one batch with the chapter's decoding (every output run to ``max_new_tokens``) → LoRA steps →
merge → free → the 4-bit load → (case 4: the packing comparison) → QLoRA steps → generation → free, plus case 3's
8-bit serving load and case 4's teacher batch (Qwen2.5-1.5B's architecture in fp32). Each phase records seconds,
peak allocated and reserved memory, and the T4 plan's estimate for the same work (:mod:`llmft.report.plan`).

``python -m llmft.gpucheck`` (``make gpu-check``) writes ``results/gpu-check.json``. On a CPU the same
code runs with tiny sizes (``tiny=True``), which the unit tests do, so this path cannot rot.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import math
import tempfile
import time
from pathlib import Path

import torch

from llmft import models
from llmft.cases import CASES
from llmft.models import adapters
from llmft.profiles import get_profile
from llmft.runtime import Run, project_results_dir, versions
from llmft.training.train import train_adapter

T4_CAP_BYTES = 15 * 10**9  # what Colab calls 15 GB


class like_a_t4:
    """Make this GPU answer the precision question as a T4 does: no native bf16.

    The ``t4`` profile's precision (fp32 for T5, fp16 otherwise, fp16 compute for 4-bit) follows
    from that answer, so a check on a newer GPU trains with exactly what a T4 would use.
    """

    def __enter__(self):
        self._orig = torch.cuda.is_bf16_supported
        torch.cuda.is_bf16_supported = lambda including_emulation=True: bool(including_emulation)
        return self

    def __exit__(self, *exc):
        torch.cuda.is_bf16_supported = self._orig
        return False


class TokenBatches(torch.utils.data.Dataset):
    """Random token ids of realistic lengths: sources near the profile's limit, targets shorter."""

    def __init__(self, n: int, src_len: int, tgt_len: int, vocab: int, seed: int = 0, classes: int = 0):
        """``classes > 0``: each row's label is one class id (a classifier), not target tokens."""
        g = torch.Generator().manual_seed(seed)
        self.rows = []
        for _ in range(n):
            s = int(torch.randint(src_len // 2, src_len + 1, (1,), generator=g))
            if classes:
                label = int(torch.randint(0, classes, (1,), generator=g))
            else:
                t = int(torch.randint(max(2, tgt_len // 4), tgt_len + 1, (1,), generator=g))
                label = torch.randint(3, vocab, (t,), generator=g).tolist()
            self.rows.append({"input_ids": (torch.randint(3, vocab, (s,), generator=g).tolist()),
                              "attention_mask": [1] * s, "labels": label})

    def __len__(self):
        return len(self.rows)

    def __getitem__(self, i):
        return self.rows[i]


def _collate(features):
    w = max(len(f["input_ids"]) for f in features)
    batch = {"input_ids": torch.tensor([f["input_ids"] + [0] * (w - len(f["input_ids"])) for f in features]),
             "attention_mask": torch.tensor([f["attention_mask"] + [0] * (w - len(f["attention_mask"]))
                                             for f in features])}
    if isinstance(features[0]["labels"], int):  # class ids
        batch["labels"] = torch.tensor([f["labels"] for f in features])
    else:
        t = max(len(f["labels"]) for f in features)
        batch["labels"] = torch.tensor([f["labels"] + [-100] * (t - len(f["labels"])) for f in features])
    return batch


TINY_ARCH = {  # a CPU smoke test of the check's own code
    "t5": dict(d_model=32, d_ff=64, d_kv=8, num_layers=1, num_decoder_layers=1, num_heads=2, vocab_size=64),
    "distilbert": dict(dim=32, hidden_dim=64, n_layers=1, n_heads=2, vocab_size=64),
    "gpt2": dict(n_embd=32, n_layer=1, n_head=2, n_positions=64, vocab_size=300, bos_token_id=0, eos_token_id=0),
    "llama": dict(hidden_size=32, intermediate_size=64, num_hidden_layers=1, num_attention_heads=4,
                  num_key_value_heads=2, vocab_size=300),
}


def _sft_rows(data: TokenBatches):
    """The same random batches as trl's pre-tokenized rows: prompt + answer ids, the answer marked for the loss."""
    from datasets import Dataset

    rows = [{"input_ids": r["input_ids"] + r["labels"], "completion_mask": [0] * len(r["input_ids"]) + [1] * len(r["labels"])}
            for r in data.rows]
    return Dataset.from_list(rows)


def _byte_tokenizer(folder: Path | None = None):
    """A GPT-2-style tokenizer trained on the spot (the check downloads nothing); saved into ``folder``."""
    from llmft.models import add_pad_token
    from llmft.models.standins.gpt2 import train_byte_bpe

    tok = train_byte_bpe(["A few words to train a byte-level tokenizer on."] * 4, 280)
    if folder is not None:
        tok.save_pretrained(folder)
    add_pad_token(tok)
    return tok


def check_case(key: str, steps: int = 8, tiny: bool = False, quantized: bool = False, device: str = "cuda",
               checkpointing: bool | None = None) -> dict:
    """Train ``steps`` steps of case ``key`` at its ``t4`` settings; return what it cost.

    ``checkpointing`` overrides the profile's activation checkpointing (to measure what it saves).
    """
    case = CASES[key]
    sizes = get_profile("t4").sizes_for(key)
    if tiny:  # a CPU smoke test of this very code
        case = dataclasses.replace(case, arch={**case.arch, **TINY_ARCH[case.architecture]})
        sizes = dataclasses.replace(sizes, max_source_len=16, max_target_len=8, batch_size=2)
    sizes = dataclasses.replace(sizes, max_steps=steps, logging_steps=1)
    if checkpointing is not None:
        sizes = dataclasses.replace(sizes, gradient_checkpointing=checkpointing)
    run = Run(case=case, profile=get_profile("t4"), sizes=sizes, device=device, seed=0,
              results_dir=Path(tempfile.mkdtemp()))
    causal = case.task == "causal"
    # Built in bf16 on the CPU when it is only saved to be reloaded in 4-bit (Llama-3-8B: 16 GB, not 32)
    model = models.real_size_on_meta(case, device="cpu", dtype=torch.bfloat16 if quantized else torch.float32)
    if quantized:
        with tempfile.TemporaryDirectory() as tmp:
            model.save_pretrained(tmp)
            if causal:  # load_model adds the pad token from the tokenizer beside the weights
                _byte_tokenizer(Path(tmp))
            del model
            model = models.load_model(run, tmp, quantization=models.qlora_quantization(device, case))
        model = adapters.attach_qlora(model, run)
    else:
        model = adapters.attach_lora(model.to(device), run)
    data = TokenBatches(steps * sizes.batch_size * sizes.grad_accum, sizes.max_source_len, sizes.max_target_len,
                        case.arch["vocab_size"], classes=len(case.labels))
    if causal:  # trl's SFTTrainer, as the chapter trains
        from llmft.training.sft import train_sft

        report = train_sft(model, _byte_tokenizer(), _sft_rows(data), run, run.results_dir / "ckpt", quantized=quantized)
    else:
        report = train_adapter(model, None, data, run, run.results_dir / "ckpt", quantized=quantized, collator=_collate)
    n_train = sizes.train_examples or 0
    t4_steps = math.ceil(n_train * sizes.epochs / (sizes.batch_size * sizes.grad_accum)) if n_train else None
    out = {"case": key, "method": "QLoRA" if quantized else "LoRA", "precision": report.precision,
           "optimizer": report.optimizer, "activation_checkpointing": sizes.gradient_checkpointing,
           "batch": sizes.batch_size, "max_source_len": sizes.max_source_len, "packing": sizes.packing,
           "steps_timed": report.steps,
           "seconds_per_step": round(report.seconds / max(1, report.steps), 3),
           "useful_tokens_per_second": round(report.tokens_per_second), "peak_bytes": report.memory.peak_bytes,
           "peak_gib": round(report.memory.peak_bytes / 2**30, 2), "t4_profile_steps": t4_steps}
    del model, report
    models.free_memory()  # trl's reference cycle too: the next case loads onto an empty device
    return out


# The rehearsal's CPU sizes: bitsandbytes repacks 4-bit weights for CPU inference in blocks of 64, so every
# quantized layer needs sides that are multiples of 64 there.
REHEARSAL_TINY = {
    "t5": dict(d_model=64, d_ff=128, d_kv=16, num_layers=1, num_decoder_layers=1, num_heads=4, vocab_size=64),
    "distilbert": dict(dim=64, hidden_dim=128, n_layers=1, n_heads=4, vocab_size=64),
    "gpt2": dict(n_embd=64, n_layer=1, n_head=4, n_positions=64, vocab_size=300, bos_token_id=0, eos_token_id=0),
    "llama": dict(hidden_size=64, intermediate_size=128, num_hidden_layers=1, num_attention_heads=4,
                  num_key_value_heads=4, vocab_size=300),
}

# Qwen2.5-1.5B-Instruct's architecture (its config.json), the local teacher of case 4; fp32 on a T4 (no bf16).
TEACHER_ARCH = dict(hidden_size=1536, intermediate_size=8960, num_hidden_layers=28, num_attention_heads=12,
                    num_key_value_heads=2, vocab_size=151936, tie_word_embeddings=True, max_position_embeddings=32768)
TEACHER_TINY = dict(hidden_size=64, intermediate_size=128, num_hidden_layers=1, num_attention_heads=4,
                    num_key_value_heads=4, vocab_size=300, tie_word_embeddings=True)


class Phases:
    """Times each phase and reads the GPU's peak allocated and reserved memory for it (0 on a CPU)."""

    def __init__(self, key: str, device: str):
        self.key, self.device, self.rows = key, device, []

    @contextlib.contextmanager
    def phase(self, name: str, estimate: tuple[float, float] | None = None):
        cuda = self.device == "cuda"
        if cuda:
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
        row = {"case": self.key, "phase": name}
        t0 = time.perf_counter()
        yield row
        if cuda:
            torch.cuda.synchronize()
        row["seconds"] = round(time.perf_counter() - t0, 2)
        row["peak_allocated_gib"] = round(torch.cuda.max_memory_allocated() / 2**30, 2) if cuda else 0.0
        row["peak_reserved_gib"] = round(torch.cuda.max_memory_reserved() / 2**30, 2) if cuda else 0.0
        if estimate is not None:
            row["plan_seconds_on_a_t4"], row["plan_gib"] = round(estimate[0], 1), round(estimate[1] / 2**30, 2)
        self.rows.append(row)
        print(json.dumps(row), flush=True)


def _random_prompts(n: int, length: int, vocab: int, device: str):
    g = torch.Generator().manual_seed(1)
    ids = torch.randint(3, vocab, (n, length), generator=g)
    return {"input_ids": ids.to(device), "attention_mask": torch.ones_like(ids).to(device)}


def _generate_batch(model, case, sizes, device: str, beams: int) -> int:
    """One evaluation batch with the chapter's decoding, every output forced to ``max_new_tokens``."""
    from llmft.evaluation.generation import DECODING, GREEDY

    settings = {**DECODING, **case.decoding} if case.task == "seq2seq" else dict(GREEDY)
    settings["num_beams"] = beams
    batch = _random_prompts(sizes.eval_batch_size, sizes.max_source_len, case.arch["vocab_size"], device)
    model.eval()
    with torch.inference_mode():
        out = model.generate(**batch, max_new_tokens=sizes.max_new_tokens, min_new_tokens=sizes.max_new_tokens,
                             pad_token_id=0, **settings)
    return int(out.shape[-1])


def _train_steps(model, case, sizes, run, quantized: bool, packing: bool | None = None):
    data = TokenBatches(sizes.max_steps * sizes.batch_size * sizes.grad_accum, sizes.max_source_len,
                        sizes.max_target_len, case.arch["vocab_size"], classes=len(case.labels))
    if case.task == "causal":
        from llmft.training.sft import train_sft

        r = dataclasses.replace(run, sizes=dataclasses.replace(sizes, packing=sizes.packing if packing is None else packing))
        return train_sft(model, _byte_tokenizer(), _sft_rows(data), r, run.results_dir / "ckpt", quantized=quantized)
    return train_adapter(model, None, data, run, run.results_dir / "ckpt", quantized=quantized, collator=_collate)


def rehearse_case(key: str, steps: int = 4, tiny: bool = False, device: str = "cuda",
                  cap_bytes: int = T4_CAP_BYTES) -> list[dict]:
    """Case ``key``'s chapter on a T4, phase by phase at real size with random weights (tiny on a CPU)."""
    from llmft.evaluation.generation import DECODING
    from llmft.report import plan

    case = CASES[key]
    sizes = get_profile("t4").sizes_for(key)
    if tiny:
        case = dataclasses.replace(case, arch={**case.arch, **REHEARSAL_TINY[case.architecture]})
        sizes = dataclasses.replace(sizes, max_source_len=16, max_target_len=8, batch_size=2, eval_batch_size=2,
                                    max_new_tokens=min(4, sizes.max_new_tokens), grad_accum=1)
    sizes = dataclasses.replace(sizes, max_steps=steps, logging_steps=1)
    run = Run(case=case, profile=get_profile("t4"), sizes=sizes, device=device, seed=0,
              results_dir=Path(tempfile.mkdtemp()))
    real_sizes = get_profile("t4").sizes_for(key)
    caps = plan.Tokens(float(real_sizes.max_source_len), float(real_sizes.max_target_len), "caps")
    beams = {**DECODING, **case.decoding}.get("num_beams", 1) if case.task == "seq2seq" else 1
    real = CASES[key]
    examples = steps * real_sizes.batch_size * real_sizes.grad_accum

    def train_estimate(quantized):
        s, p, _ = plan._train(real, real_sizes, caps, examples, quantized=quantized, fp16=real.fp16_ok)
        return s, p

    def generation_estimate(quantized):
        s, p, _ = plan._generate(real, real_sizes, caps, real_sizes.eval_batch_size, quantized, beams)
        return s, p

    phases = Phases(key, device)

    def train_then_generate(model, method: str, quantized: bool) -> None:
        """``steps`` training steps (timed per step), then one generation batch where the case generates."""
        with phases.phase(f"{method}, {steps} steps", train_estimate(quantized)) as row:
            report = _train_steps(model, case, sizes, run, quantized=quantized)
            row["seconds_per_step"] = round(report.seconds / max(1, report.steps), 3)
        if case.task != "classification":
            with phases.phase(f"{method} generation, one batch", generation_estimate(quantized)):
                _generate_batch(model, case, sizes, device, beams)

    fits16 = tiny or models.real_size_bytes(case) * 1.3 <= cap_bytes
    if fits16:
        with phases.phase("load (fp32, as the chapter)"):
            model = models.real_size_on_meta(case, device=device, dtype=torch.float32)
        if case.task != "classification":
            with phases.phase("zero-shot generation, one batch", generation_estimate(False)) as row:
                row["tokens_per_row"] = _generate_batch(model, case, sizes, device, beams)
        model = adapters.attach_lora(model, run)
        train_then_generate(model, "LoRA", quantized=False)
        with phases.phase("merge"):
            model = model.merge_and_unload()
        del model
        with phases.phase("free"):
            models.free_memory()
    with tempfile.TemporaryDirectory() as tmp:
        with phases.phase("build and save the checkpoint (CPU)"):
            base = models.real_size_on_meta(case, device="cpu", dtype=torch.bfloat16)
            base.save_pretrained(tmp)
            if case.task == "causal":
                _byte_tokenizer(Path(tmp))
            del base
        with phases.phase("load in 4-bit NF4"):
            model = models.load_model(run, tmp, quantization=models.qlora_quantization(device, case))
        if not fits16 and case.task != "classification":
            with phases.phase("zero-shot generation (4-bit), one batch", generation_estimate(True)):
                _generate_batch(model, case, sizes, device, beams)
        if sizes.packing:
            model = adapters.attach_qlora(model, run)
            with phases.phase(f"packing comparison: without packing, {steps} steps", train_estimate(True)):
                _train_steps(model, case, sizes, run, quantized=True, packing=False)
            model = model.unload()  # the same 4-bit base, a fresh adapter: one load for both runs
        model = adapters.attach_qlora(model, run)
        train_then_generate(model, "QLoRA", quantized=True)
        del model
        with phases.phase("free"):
            models.free_memory()
        if key == "alpaca-gpt2":
            from llmft.serve.precision import load_merged

            with phases.phase("serving in 8-bit: load and one batch"):
                served = load_merged(tmp, "int8" if device == "cuda" else "fp32", device)
                _generate_batch(served, case, sizes, device, 1)
                del served
                models.free_memory()
    if key == "papers-llama3":
        phases.rows.append(_teacher_batch(device, tiny, phases))
    return phases.rows


def _teacher_batch(device: str, tiny: bool, phases: Phases) -> dict:
    """Case 4's local teacher: one batch of eight 1,200-token prompts, 32 new tokens (timed per token)."""
    import transformers
    from transformers import AutoConfig

    from llmft.report.plan import TEACHER

    arch = TEACHER_TINY if tiny else TEACHER_ARCH
    batch, prompt, new = (2, 16, 4) if tiny else (TEACHER["batch"], TEACHER["prompt_tokens"], 32)
    with phases.phase("teacher: one batch (fp32)") as row:
        with torch.device(device):
            model = transformers.AutoModelForCausalLM.from_config(AutoConfig.for_model("qwen2", **arch),
                                                                  dtype=torch.float32)
        ids = _random_prompts(batch, prompt, arch["vocab_size"], device)
        t0 = time.perf_counter()
        with torch.inference_mode():
            model.generate(**ids, max_new_tokens=new, min_new_tokens=new, do_sample=False, pad_token_id=0)
        if device == "cuda":
            torch.cuda.synchronize()
        row["seconds_per_new_token"] = round((time.perf_counter() - t0) / new, 4)
        del model
        models.free_memory()
    return phases.rows.pop()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--cap-bytes", type=int, default=T4_CAP_BYTES)
    parser.add_argument("--checkpointing", choices=["profile", "on", "off"], default="profile")
    parser.add_argument("--out", type=Path, default=project_results_dir() / "gpu-check.json")
    parser.add_argument("--no-rehearse", dest="rehearse", action="store_false",
                        help="only the training rows, not each chapter's phases")
    parser.add_argument("--rehearse-steps", type=int, default=4)
    args = parser.parse_args(argv)
    if not torch.cuda.is_available():
        raise SystemExit("gpu-check needs a CUDA GPU; none is visible. The unit tests run this code on the CPU.")
    total = torch.cuda.get_device_properties(0).total_memory
    torch.cuda.set_per_process_memory_fraction(min(1.0, args.cap_bytes / total))
    rows, failed = [], []
    phases: list[dict] = []
    t0 = time.perf_counter()
    with like_a_t4():
        check_case("dialogsum-flan-t5", steps=2)  # warm-up: CUDA context, kernels, allocator (not reported)
        torch.cuda.reset_peak_memory_stats()
        _run_all(args, rows, failed)
        if args.rehearse:
            for key, case in CASES.items():
                if case.chapter_ready:
                    try:
                        phases += rehearse_case(key, steps=args.rehearse_steps, cap_bytes=args.cap_bytes)
                    except torch.cuda.OutOfMemoryError as err:
                        failed.append(f"{key} rehearsal")
                        phases.append({"case": key, "phase": "out of memory", "error": str(err).split("\n")[0]})
                        models.free_memory()
    payload = {"device": torch.cuda.get_device_name(0), "emulating": "T4 precision (no native bf16)",
               "cap_bytes": args.cap_bytes, "created": time.strftime("%Y-%m-%d"), "versions": versions(), "rows": rows,
               "phases": phases, "seconds": round(time.perf_counter() - t0)}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(payload, indent=2))
    print(f"wrote {args.out}")
    if failed:
        print("Would not fit under the cap: " + ", ".join(failed))
        return 1
    return 0


def _run_all(args, rows: list, failed: list) -> None:
    for key, case in CASES.items():
        if not case.chapter_ready:
            continue
        override = {"profile": None, "on": True, "off": False}[args.checkpointing]
        for quantized in (False, True):
            if not quantized and models.real_size_bytes(case) * 1.3 > args.cap_bytes:
                row = {"case": key, "method": "LoRA", "fits_cap": None,
                       "skipped": f"the 16-bit base alone is {models.real_size_bytes(case) / 2**30:.1f} GiB: on a T4 "
                                  "this case trains with QLoRA only (as its chapter does)"}
                rows.append(row)
                print(json.dumps(row), flush=True)
                continue
            try:
                row = check_case(key, args.steps, quantized=quantized, checkpointing=override)
                row["fits_cap"] = row["peak_bytes"] <= args.cap_bytes
            except torch.cuda.OutOfMemoryError as err:
                row = {"case": key, "method": "QLoRA" if quantized else "LoRA", "fits_cap": False,
                       "error": str(err).split("\n")[0]}
            rows.append(row)
            if not row["fits_cap"]:
                failed.append(f"{key} {row['method']}")
            print(json.dumps(row), flush=True)


if __name__ == "__main__":
    raise SystemExit(main())
