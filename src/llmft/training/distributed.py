"""Data-parallel (DDP) training of a case's adapter on several processes, with the Hugging Face stack.

Launch it with either engine's launcher, one process per GPU (on CPUs use torchrun: there ``accelerate launch``
starts several processes only through MPI)::

    torchrun --nproc_per_node 2 -m llmft.training.distributed --case dialogsum-flan-t5 --profile t4
    accelerate launch --multi_gpu --num_processes 2 -m llmft.training.distributed --case dialogsum-flan-t5 --profile t4

Nothing here is hand-made parallelism. The launcher starts the processes and sets ``RANK`` / ``WORLD_SIZE``;
the ``Trainer`` (through ``accelerate``) joins them in one process group (NCCL on GPUs, gloo on CPUs), wraps the
model in ``DistributedDataParallel``, gives each process its own shard of every epoch and averages the adapter's
gradients after every backward pass, so the replicas stay identical. Each process holds the whole model.

This module only does what a user would otherwise get wrong: it picks the per-process batch so that the global
batch (per-process batch x processes x accumulation) stays the profile's, prints both, saves the adapter once
(rank 0), checks the saved adapter's shapes against the base model's layers and that every process ended with
the same adapter, and writes ``report.json`` only when all of that holds.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import math
import os
import re
from pathlib import Path

import torch

REPORT = "report.json"


@dataclasses.dataclass(frozen=True)
class BatchPlan:
    per_process: int
    processes: int
    accumulation: int

    @property
    def global_batch(self) -> int:
        return self.per_process * self.processes * self.accumulation

    def describe(self) -> str:
        return (f"per-process batch {self.per_process} x {self.processes} process(es) x {self.accumulation} "
                f"accumulation step(s) = global batch {self.global_batch}")


def plan_batch(global_batch: int, processes: int, accumulation: int = 1, per_process: int | None = None) -> BatchPlan:
    """The per-process batch that keeps ``global_batch`` (the single-process run's batch x accumulation).

    With ``per_process`` given, that one is used and the global batch grows with the processes instead (the
    usual way to use more GPUs for more data per step; then scale the learning rate with care).
    """
    if processes < 1 or accumulation < 1:
        raise ValueError(f"processes and accumulation must be at least 1 (got {processes}, {accumulation})")
    if per_process is not None:
        if per_process < 1:
            raise ValueError(f"the per-process batch must be at least 1 (got {per_process})")
        return BatchPlan(per_process, processes, accumulation)
    share, rest = divmod(global_batch, processes * accumulation)
    if rest or share < 1:
        raise ValueError(f"A global batch of {global_batch} cannot be split evenly over {processes} processes x "
                         f"{accumulation} accumulation steps. Launch a number of processes that divides it, or "
                         "pass --per-device-batch to choose the per-process batch yourself.")
    return BatchPlan(share, processes, accumulation)


def expected_adapter_shapes(base, target_modules, r: int) -> dict[str, tuple[int, ...]]:
    """What peft's LoRA adds to ``base`` for ``target_modules`` at rank ``r``, read from the base's own layers:
    for each targeted ``Linear(in, out)``, ``lora_A`` is ``(r, in)`` and ``lora_B`` is ``(out, r)``."""
    shapes = {}
    for name, module in base.named_modules():
        if name.split(".")[-1] in target_modules and isinstance(module, torch.nn.Linear):
            shapes[f"{name}.lora_A.weight"] = (r, module.in_features)
            shapes[f"{name}.lora_B.weight"] = (module.out_features, r)
    if not shapes:
        raise ValueError(f"no Linear layer named {sorted(target_modules)} in the base model")
    return shapes


def saved_adapter_shapes(folder: Path) -> dict[str, tuple[int, ...]]:
    """The shapes in a saved adapter, keyed like :func:`expected_adapter_shapes` (peft's prefix and no adapter name)."""
    from safetensors import safe_open

    out = {}
    with safe_open(str(Path(folder) / "adapter_model.safetensors"), framework="pt") as f:
        for key in f.keys():
            name = re.sub(r"^base_model\.model\.", "", key)
            out[name] = tuple(f.get_slice(key).get_shape())
    return out


def check_adapter(folder: Path, expected: dict[str, tuple[int, ...]]) -> None:
    """Raise ``AssertionError`` naming the first difference between a saved adapter and the expected shapes."""
    saved = saved_adapter_shapes(folder)
    missing, extra = sorted(set(expected) - set(saved)), sorted(set(saved) - set(expected))
    assert not missing and not extra, f"adapter tensors differ: missing {missing[:3]}, unexpected {extra[:3]}"
    wrong = [(k, saved[k], expected[k]) for k in sorted(expected) if saved[k] != expected[k]]
    assert not wrong, f"adapter shapes differ (name, saved, expected): {wrong[:3]}"


def adapter_fingerprint(model) -> str:
    """A hash of the trainable weights: equal on every process when DDP kept the replicas in sync."""
    digest = hashlib.sha256()
    for name, p in sorted(model.named_parameters()):
        if p.requires_grad:
            digest.update(name.encode())
            digest.update(p.detach().float().cpu().numpy().tobytes())
    return digest.hexdigest()[:16]


def _write_json(path: Path, payload: dict) -> None:
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    tmp.write_text(json.dumps(payload, indent=2))
    os.replace(tmp, path)


def launch(case: str, profile: str, processes: int, output: Path, cpu: bool, timeout: int = 1800) -> list[str]:
    """Run this module on ``processes`` processes with ``torchrun --standalone`` (a free port on this machine) and
    wait. ``cpu`` hides the GPUs (gloo on the CPU). Returns what the processes printed about their ranks and the
    result; progress bars and warnings go to ``<output>.log``. A failed run raises ``RuntimeError`` with the log's
    end, and leaves no report."""
    import subprocess
    import sys

    env = dict(os.environ)
    if cpu:
        env["CUDA_VISIBLE_DEVICES"] = ""
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", str(processes),
           "-m", "llmft.training.distributed", "--case", case, "--profile", profile, "--output", str(output)]
    log = Path(output).with_suffix(".log")
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "w") as err:
        proc = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=err, text=True, timeout=timeout)
    from llmft.runtime import shown_path

    shown = ["$ torchrun " + " ".join(cmd[3:-1] + [shown_path(output)])]
    shown += [line for line in proc.stdout.splitlines() if line.startswith("[rank") or " steps in " in line]
    if proc.returncode:
        raise RuntimeError(f"the {processes}-process run failed (exit {proc.returncode}); the end of {log}:\n"
                           + log.read_text()[-3000:])
    return shown


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m llmft.training.distributed",
        description="Train a case's LoRA adapter data-parallel on several processes. Start it with torchrun "
                    "--nproc_per_node N (or, on GPUs, accelerate launch --multi_gpu --num_processes N).")
    parser.add_argument("--case", required=True, help="the case key, e.g. dialogsum-flan-t5")
    parser.add_argument("--profile", help="smoke, t4 or full (default: as the notebooks choose)")
    parser.add_argument("--max-steps", type=int, help="optimizer steps (default: the profile's)")
    parser.add_argument("--per-device-batch", type=int,
                        help="batch per process (default: the profile's batch divided by the processes)")
    parser.add_argument("--output", type=Path, help="folder for the adapter and report.json "
                                                    "(default: results/<case>/ddp-<profile>)")
    args = parser.parse_args(argv)

    from accelerate import PartialState
    from accelerate.utils import gather_object

    from llmft import data, models
    from llmft.models import adapters
    from llmft.runtime import shown_path, start
    from llmft.training.train import train_adapter

    state = PartialState(cpu=not torch.cuda.is_available())  # joins the launcher's processes; one process alone also works
    rank, world = state.process_index, state.num_processes
    run = start(args.case, args.profile, quiet=not state.is_main_process)
    if run.case.task == "causal":
        raise SystemExit("llmft.training.distributed trains the seq2seq and classification cases; for a causal case use "
                         "trl's SFTTrainer the same way (see the chapter 'More than one GPU').")
    s = run.sizes
    plan = plan_batch(s.batch_size * s.grad_accum, world, s.grad_accum, args.per_device_batch)
    run.sizes = dataclasses.replace(s, batch_size=plan.per_process,
                                    max_steps=args.max_steps if args.max_steps is not None else s.max_steps)
    output = args.output or run.results_dir / run.case.key / f"ddp-{run.profile.name}"
    if state.is_main_process:
        output.mkdir(parents=True, exist_ok=True)
        (output / REPORT).unlink(missing_ok=True)  # a failed run leaves no report claiming success

    with state.main_process_first():  # the first process builds (or downloads) and caches; the others then read
        source = models.model_source(run)
        tokenizer = models.load_tokenizer(run, source)
        splits = data.load_splits(run)
        train = splits["train"]
        tokenized = (data.tokenize_classification(train, tokenizer, run.case, run.sizes)
                     if run.case.task == "classification" else data.tokenize_seq2seq(train, tokenizer, run.case, run.sizes))
        base = models.load_model(run, source)
    spec = run.sizes.lora or run.case.lora
    expected = expected_adapter_shapes(base, spec.target_modules, spec.r)
    produced_by = models.describe(run, base)  # before the adapter is added to it
    model = adapters.attach_lora(base, run)

    shard = math.ceil(len(tokenized) / world)
    print(f"[rank {rank} of {world}] backend {state.backend or 'none'}, device {state.device}: {plan.describe()}; "
          f"about {shard:,} of {len(tokenized):,} training examples per epoch", flush=True)

    report = train_adapter(model, tokenizer, tokenized, run, output / "checkpoints")
    fingerprints = gather_object([adapter_fingerprint(model)])
    tokens = gather_object([report.useful_tokens])
    state.wait_for_everyone()
    if not state.is_main_process:
        return 0

    assert len(set(fingerprints)) == 1, f"the processes ended with different adapters: {fingerprints}"
    adapter_bytes = adapters.save_adapter(model, output / "adapter")
    check_adapter(output / "adapter", expected)
    history = report.loss_history
    first, last = history[0][1], report.final_loss
    assert last < first, f"the training loss did not fall: {first:.3f} at step {history[0][0]}, {last:.3f} at the end"
    payload = {
        "case": run.case.key, "profile": run.profile.name, "produced_by": produced_by,
        "backend": state.backend, "device": str(state.device), "processes": world,
        "per_process_batch": plan.per_process, "accumulation": plan.accumulation, "global_batch": plan.global_batch,
        "steps": report.steps, "seconds": report.seconds, "loss_history": history, "first_loss": first,
        "final_loss": last, "useful_tokens": sum(tokens), "useful_tokens_per_second": round(sum(tokens) / report.seconds, 1),
        "adapter_tensors": len(expected), "adapter_parameters": sum(math.prod(v) for v in expected.values()),
        "adapter_bytes": adapter_bytes, "adapter_fingerprints": fingerprints, "peak_memory_rank0": report.memory.as_dict(),
    }
    _write_json(output / REPORT, payload)
    print(f"{report.steps} steps in {report.seconds:.0f} s on {world} processes; loss {first:.3f} -> {last:.3f}; "
          f"adapter: {len(expected)} tensors, {payload['adapter_parameters']:,} parameters, the same on every process "
          f"({fingerprints[0]}); saved to {shown_path(output / 'adapter')}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
