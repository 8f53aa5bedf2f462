"""Fine-tune an adapter with the Hugging Face Trainer, recording loss curve, time and peak memory."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from transformers import (DataCollatorForSeq2Seq, Seq2SeqTrainer, Seq2SeqTrainingArguments, TrainerCallback,
                          set_seed)

from llmft.cases import Case
from llmft.memory import MemoryReport, PeakMemory
from llmft.runtime import Run


def training_precision(case: Case, device: str) -> str:
    """``fp32``, ``fp16`` or ``bf16`` for the adapter's training.

    bf16 where the GPU has it. Otherwise fp16, except for the T5 family, which overflows
    to NaN in fp16 (it was pre-trained in bf16): T5 trains in fp32 on a T4.
    """
    if device != "cuda":
        return "fp32"
    if torch.cuda.is_bf16_supported():
        return "bf16"
    return "fp32" if case.architecture == "t5" else "fp16"


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
    extra: dict = field(default_factory=dict)

    @property
    def final_loss(self) -> float:
        tail = [loss for _, loss in self.loss_history[-3:]]
        return sum(tail) / len(tail)

    def as_dict(self) -> dict:
        d = asdict(self)
        d["memory"] = self.memory.as_dict()
        d["final_loss"] = self.final_loss
        return d


def training_arguments(run: Run, output_dir: Path, quantized: bool) -> Seq2SeqTrainingArguments:
    s = run.sizes
    precision = training_precision(run.case, run.device)
    # Paged 8-bit AdamW needs CUDA; on the CPU the plain torch AdamW does the same job.
    optim = "paged_adamw_8bit" if (quantized and run.device == "cuda") else "adamw_torch"
    return Seq2SeqTrainingArguments(
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
        optim=optim,
        gradient_checkpointing=s.gradient_checkpointing,
        gradient_checkpointing_kwargs={"use_reentrant": False} if s.gradient_checkpointing else None,
        seed=run.seed,
        data_seed=run.seed,
        dataloader_num_workers=0,
    )


def train_adapter(model, tokenizer, train_ds, run: Run, output_dir: Path, quantized: bool = False) -> TrainReport:
    """Train the trainable (adapter) parameters of ``model`` on a tokenized seq2seq split."""
    set_seed(run.seed)
    args = training_arguments(run, output_dir, quantized)
    recorder = LossRecorder()
    collator = DataCollatorForSeq2Seq(tokenizer, model=model, label_pad_token_id=-100, pad_to_multiple_of=8)
    trainer = Seq2SeqTrainer(model=model, args=args, train_dataset=train_ds, data_collator=collator,
                             processing_class=tokenizer, callbacks=[recorder])
    with PeakMemory(run.device) as mem:
        t0 = time.perf_counter()
        out = trainer.train()
        seconds = time.perf_counter() - t0
    model.eval()
    return TrainReport(steps=out.global_step, seconds=round(seconds, 1), loss_history=recorder.history,
                       memory=mem.report, precision=training_precision(run.case, run.device),
                       optimizer=getattr(args.optim, "value", str(args.optim)))
