"""Fine-tune an adapter with the Hugging Face Trainer, recording loss curve, time and peak memory."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from transformers import (
    DataCollatorForSeq2Seq,
    DataCollatorWithPadding,
    ProgressCallback,
    Seq2SeqTrainer,
    Seq2SeqTrainingArguments,
    TrainerCallback,
    set_seed,
)

from llmft.cases import Case
from llmft.runtime import Run
from llmft.training.memory import MemoryReport, PeakMemory


def cpu_has_native_bf16() -> bool:
    """Whether this CPU computes bf16 in hardware (AVX512-BF16 or AMX): there bf16 autocast is about twice as
    fast as fp32 (measured on case 4's student); without it bf16 is emulated and can be slower than fp32."""
    try:
        flags = open("/proc/cpuinfo").read()
    except OSError:  # not Linux: stay with fp32
        return False
    return " avx512_bf16" in flags or " amx_bf16" in flags


def training_precision(case: Case, device: str, cpu_bf16: bool = False) -> str:
    """``fp32``, ``fp16`` or ``bf16`` for the adapter's training.

    bf16 where the GPU has it. Otherwise fp16 (mixed precision: fp32 master weights), except for
    models that overflow to NaN in fp16, such as T5 v1.1 and Flan-T5 (pre-trained in bf16): they train
    in fp32 on a T4. The original T5 (``t5-small``) survives fp16: transformers clamps its activations.
    On a CPU: fp32, or bf16 autocast where the profile allows it (``cpu_bf16``) and the CPU has bf16 in
    hardware. The adapters' own weights stay fp32 in every case (mixed precision).
    """
    if device != "cuda":
        return "bf16" if cpu_bf16 and cpu_has_native_bf16() else "fp32"
    if torch.cuda.is_bf16_supported(including_emulation=False):  # a T4 emulates bf16: that does not count
        return "bf16"
    return "fp16" if case.fp16_ok else "fp32"


def drop_autocast_wrapper(trainer) -> None:
    """Undo what ``accelerate`` does to a model trained in mixed precision: it wraps ``model.forward`` in an
    autocast context that stays after training, so every later forward (evaluation, the save/reload check) would
    silently run in bf16/fp16. Without mixed precision there is no wrapper and this does nothing."""
    from accelerate.utils import extract_model_from_parallel

    extract_model_from_parallel(trainer.model, keep_fp32_wrapper=False)


def loss_scaling_matches(model) -> None:
    """Tell the ``Trainer`` when a model averages its loss itself, so that it divides by the accumulation steps
    and does not multiply by the number of processes.

    transformers 5.23 takes any model whose ``forward`` accepts ``**kwargs`` to normalise its loss by the token
    count it passes (``num_items_in_batch``); it then skips the division by the gradient-accumulation steps and,
    under DDP, multiplies the loss by the number of processes. T5 and DistilBERT's classifier accept ``**kwargs``
    but return a plain mean, so with 2 accumulation steps or 2 processes their loss and gradients came out twice
    too large (measured: 2 DDP processes logged 2.52 at step 10 of case 2, one process 1.28). Models that call
    ``self.loss_function`` (GPT-2, Llama) do use the count and are left as they are.
    """
    import inspect

    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    if "loss_function" not in inspect.getsource(type(base).forward):
        base.accepts_loss_kwargs = False


def run_precision(run: Run) -> str:
    """:func:`training_precision` for ``run`` (its case, device and profile)."""
    return training_precision(run.case, run.device, run.sizes.cpu_bf16)


class QuietProgress(ProgressCallback):
    """A plain progress bar (stderr) instead of the notebook's HTML table of losses.

    In Colab or Jupyter it still shows progress while training; the built book drops stderr, so the
    pages show the loss curve the chapter plots rather than a wall of log lines.
    """

    def on_log(self, args, state, control, logs=None, **kwargs):
        pass


class TokenCounter:
    """Wraps a collator and counts the tokens it emits: useful (not padding) and padded positions."""

    def __init__(self, collator, pad_to: int | None = None):
        self.collator, self.pad_to = collator, pad_to
        self.useful = self.total = 0

    def __call__(self, features):
        batch = self.collator(features)
        if self.pad_to is not None:  # fixed padding, as a script that pads everything to the limit does
            batch = _pad_batch(batch, self.pad_to, getattr(getattr(self.collator, "tokenizer", None), "pad_token_id", 0))
        self.useful += int(batch["attention_mask"].sum())
        self.total += batch["attention_mask"].numel()
        if batch["labels"].dim() > 1:  # target tokens (seq2seq); a classifier's labels are not tokens
            self.useful += int((batch["labels"] != -100).sum())
            self.total += batch["labels"].numel()
        return batch

    @property
    def padding_share(self) -> float:
        return 1 - self.useful / self.total if self.total else 0.0


def _pad_batch(batch, length: int, pad_id: int):
    import torch.nn.functional as F

    out = dict(batch)
    extra = length - batch["input_ids"].shape[1]
    if extra > 0:
        out["input_ids"] = F.pad(batch["input_ids"], (0, extra), value=pad_id)
        out["attention_mask"] = F.pad(batch["attention_mask"], (0, extra), value=0)
    return out


class LossRecorder(TrainerCallback):
    """Keeps ``(step, loss)`` for every logging step."""

    def __init__(self):
        self.history: list[tuple[int, float]] = []

    def on_log(self, args, state, control, logs=None, **kwargs):
        if logs and "loss" in logs:
            self.history.append((state.global_step, float(logs["loss"])))


@dataclass
class TrainReport:
    steps: int
    seconds: float
    loss_history: list[tuple[int, float]]
    memory: MemoryReport
    precision: str
    optimizer: str
    useful_tokens: int = 0
    padding_share: float = 0.0
    extra: dict = field(default_factory=dict)

    @property
    def tokens_per_second(self) -> float:
        """Useful (non-padding) tokens, inputs and target tokens, per second of training."""
        return self.useful_tokens / self.seconds if self.seconds else 0.0

    @property
    def final_loss(self) -> float:
        tail = [loss for _, loss in self.loss_history[-3:]]
        return sum(tail) / len(tail)

    def summary(self) -> str:
        """One line: steps, time, precision, optimizer, useful tokens per second, padding, peak memory."""
        return (f"{self.steps} steps in {self.seconds:.0f} s, {self.precision}, {self.optimizer}, "
                f"{self.tokens_per_second:,.0f} useful tokens/s ({100 * self.padding_share:.0f} % padding), "
                f"peak memory {self.memory.peak_bytes / 2**20:,.0f} MiB ({self.memory.kind})")

    def as_dict(self) -> dict:
        d = asdict(self)
        d["memory"] = self.memory.as_dict()
        d["final_loss"] = self.final_loss
        d["useful_tokens_per_second"] = round(self.tokens_per_second, 1)
        return d


def settings_table(run: Run, quantized: bool = False) -> dict[str, str]:
    """The training settings of this run, as the chapter shows them (one column per system)."""
    s = run.sizes
    steps = f"{s.max_steps}" if s.max_steps is not None else f"{s.epochs:g} epoch(s)"
    spec = s.lora or run.case.lora
    return {
        "adapter": f"LoRA r={spec.r}, alpha {spec.alpha}, dropout {spec.dropout:g} on {', '.join(spec.target_modules)}",
        "learning rate": f"{s.learning_rate:g}, linear decay, 5 % warm-up",
        "batch": f"{s.batch_size} x {s.grad_accum} accumulation",
        "steps": steps,
        "batches": "grouped by length" if s.group_by_length else "random order",
        "precision": run_precision(run),
        "optimizer": "paged 8-bit AdamW" if (quantized and run.device == "cuda") else "AdamW (torch)",
        "activation checkpointing": "on" if s.gradient_checkpointing else "off",
        **({"packing": "on (best-fit, padding-free)" if s.packing else "off"} if run.case.task == "causal" else {}),
        **({"max input tokens": f"{s.max_source_len}"} if run.case.task == "classification" else
           {"max input / target tokens": f"{s.max_source_len} / {s.max_target_len}"}),
    }


def common_arguments(run: Run, output_dir: Path, quantized: bool) -> dict:
    """The Trainer settings every case shares (``transformers`` or ``trl``): sizes, schedule, precision,
    optimizer, checkpointing, sampling and seeds, all set explicitly (``trl`` would turn bf16 and activation
    checkpointing on)."""
    s = run.sizes
    precision = run_precision(run)
    return dict(
        output_dir=str(output_dir),
        per_device_train_batch_size=s.batch_size,
        gradient_accumulation_steps=s.grad_accum,
        learning_rate=s.learning_rate,
        max_steps=s.max_steps if s.max_steps is not None else -1,
        num_train_epochs=s.epochs,
        lr_scheduler_type="linear",
        warmup_steps=0.05,
        logging_steps=s.logging_steps,
        save_strategy="no",
        report_to="none",
        use_cpu=run.device != "cuda",
        fp16=precision == "fp16",
        bf16=precision == "bf16",
        # Paged 8-bit AdamW needs CUDA; on the CPU the plain torch AdamW does the same job.
        optim="paged_adamw_8bit" if (quantized and run.device == "cuda") else "adamw_torch",
        activation_checkpointing=s.gradient_checkpointing,
        activation_checkpointing_kwargs={"use_reentrant": False} if s.gradient_checkpointing else None,
        train_sampling_strategy="group_by_length" if s.group_by_length else "random",
        seed=run.seed,
        data_seed=run.seed,
        dataloader_num_workers=0,
        # Under DDP (llmft.training.distributed) every adapter weight gets a gradient at every step: skip DDP's search for
        # unused parameters (an extra pass over the graph, and a warning per process).
        ddp_find_unused_parameters=False,
    )


def training_arguments(run: Run, output_dir: Path, quantized: bool) -> Seq2SeqTrainingArguments:
    return Seq2SeqTrainingArguments(**common_arguments(run, output_dir, quantized))


def train_adapter(model, tokenizer, train_ds, run: Run, output_dir: Path, quantized: bool = False,
                  pad_to: int | None = None, collator=None) -> TrainReport:
    """Train the trainable (adapter) parameters of ``model`` on a tokenized split (seq2seq or classification).

    ``pad_to`` pads every batch to that length (fixed padding), for the throughput comparison;
    ``collator`` replaces the default collator (the GPU check feeds random token ids).
    """
    set_seed(run.seed)
    args = training_arguments(run, output_dir, quantized)
    recorder = LossRecorder()
    if collator is None and run.case.task == "classification":
        collator = DataCollatorWithPadding(tokenizer, pad_to_multiple_of=8)
    collator = TokenCounter(collator or DataCollatorForSeq2Seq(tokenizer, model=model, label_pad_token_id=-100,
                                                               pad_to_multiple_of=8), pad_to)
    loss_scaling_matches(model)
    trainer = Seq2SeqTrainer(model=model, args=args, train_dataset=train_ds, data_collator=collator,
                             processing_class=tokenizer, callbacks=[recorder])
    quiet_progress(trainer)
    return timed_training(trainer, model, run, recorder, collator)


def quiet_progress(trainer) -> None:
    """In a notebook the Trainer shows an HTML table of losses; swap it for a plain bar (matched by name:
    importing transformers' notebook module needs IPython, which a script or server may not have)."""
    for cb in list(trainer.callback_handler.callbacks):
        if type(cb).__name__ == "NotebookProgressCallback":
            trainer.remove_callback(cb)
            trainer.add_callback(QuietProgress)


def timed_training(trainer, model, run: Run, recorder, counter) -> TrainReport:
    """Run ``trainer`` (a ``Trainer`` or trl's ``SFTTrainer``), timed and with its peak memory measured, and report
    it: steps, seconds, the loss curve (``recorder``), precision, optimizer, and the useful tokens and padding share
    its collator (``counter``) saw. Afterwards the model is in eval mode, without the autocast wrapper."""
    with PeakMemory(run.device) as mem:
        t0 = time.perf_counter()
        out = trainer.train()
        seconds = time.perf_counter() - t0
    drop_autocast_wrapper(trainer)
    model.eval()
    optim = trainer.args.optim
    return TrainReport(steps=out.global_step, seconds=round(seconds, 1), loss_history=recorder.history,
                       memory=mem.report, precision=run_precision(run), optimizer=getattr(optim, "value", str(optim)),
                       useful_tokens=counter.useful, padding_share=round(counter.padding_share, 4))


def _probe(run: Run, make_model, tokenizer, tokenized, output_dir: Path, steps: int, pad_to: int | None,
           grouped: bool) -> TrainReport:
    """``steps`` training steps from a fresh model, with fixed padding to ``pad_to`` or dynamic padding."""
    import dataclasses

    sizes = dataclasses.replace(run.sizes, max_steps=steps, group_by_length=grouped, logging_steps=steps)
    probe_run = dataclasses.replace(run, sizes=sizes)
    return train_adapter(make_model(probe_run), tokenizer, tokenized, probe_run, output_dir, pad_to=pad_to)


def compare_batching(run: Run, make_model, tokenizer, tokenized, output_dir: Path, steps: int = 12) -> list[dict]:
    """Train ``steps`` steps three ways from the same start: fixed padding to the limit, dynamic padding
    of random batches, and dynamic padding of length-grouped batches. Returns one row per way."""
    rows = []
    for name, pad_to, grouped in [("fixed (pad to the limit)", run.sizes.max_source_len, False),
                                  ("dynamic, random batches", None, False), ("dynamic, grouped by length", None, True)]:
        rep = _probe(run, make_model, tokenizer, tokenized, output_dir, steps, pad_to, grouped)
        rows.append({"batching": name, "padded share": f"{100 * rep.padding_share:.0f} %",
                     "useful tokens / s": f"{rep.tokens_per_second:,.0f}", "seconds": f"{rep.seconds:.1f}"})
    return rows


def length_cost(run: Run, make_model, tokenizer, train_ds, output_dir: Path, limits=(256, 512, 1024),
                steps: int = 6) -> list[dict]:
    """What the input limit costs: for each limit, ``steps`` steps with every input padded to the limit
    (as a script that pads to ``max_length`` does) and with dynamic padding of length-grouped batches.

    One row per (limit, batching): inputs cut at that limit, padded share, useful tokens per second,
    seconds per step and peak memory (what :class:`PeakMemory` measures on this device, named in
    ``memory measured``).
    """
    import dataclasses

    from llmft import data

    rows = []
    for limit in limits:
        sized = dataclasses.replace(run, sizes=dataclasses.replace(run.sizes, max_source_len=limit))
        tokenized = data.tokenize_seq2seq(train_ds, tokenizer, run.case, sized.sizes)
        whole = data.token_lengths([run.case.format_prompt(r) for r in train_ds], tokenizer)
        for name, pad_to, grouped in [("padded to the limit", limit, False), ("grouped by length", None, True)]:
            rep = _probe(sized, make_model, tokenizer, tokenized, output_dir, steps, pad_to, grouped)
            rows.append({"input limit": limit, "batching": name, "inputs cut": f"{100 * (whole > limit).mean():.0f} %",
                         "padding": f"{100 * rep.padding_share:.0f} %",
                         "useful tokens / s": f"{rep.tokens_per_second:,.0f}",
                         "seconds / step": f"{rep.seconds / max(1, rep.steps):.2f}",
                         "peak memory (MiB)": f"{rep.memory.peak_bytes / 2**20:,.0f}", "memory measured": rep.memory.kind})
    return rows


def train_qlora(run: Run, source, tokenizer, tokenized, output_dir: Path, aside=None, train_fn=None):
    """QLoRA: load the base in 4-bit NF4 (double quantization), attach the case's adapter, train it.

    ``aside`` (the fp32 LoRA model) waits on the CPU meanwhile, so that on a GPU QLoRA's peak memory is
    its own. ``train_fn`` trains (default :func:`train_adapter`; a causal case passes ``llmft.training.sft.train_sft``).
    Returns the trained model, its :class:`TrainReport`, and the weights' memory of the fp32 and the 4-bit
    base (MiB), for the chapter's table.
    """
    import dataclasses

    from llmft import models
    from llmft.models import adapters

    if run.sizes.qlora_max_steps is not None:
        run = dataclasses.replace(run, sizes=dataclasses.replace(run.sizes, max_steps=run.sizes.qlora_max_steps))
    base_4bit = models.load_model(run, source, quantization=models.qlora_quantization(run.device, run.case))
    footprint = {"fp32 base": models.load_model(run, source).get_memory_footprint() / 2**20,
                 "NF4 base": base_4bit.get_memory_footprint() / 2**20}
    model = adapters.attach_qlora(base_4bit, run)
    if aside is not None:
        aside.to("cpu")
    try:
        report = (train_fn or train_adapter)(model, tokenizer, tokenized, run, output_dir, quantized=True)
    finally:
        if aside is not None:
            aside.to(run.device)
    return model, report, footprint

