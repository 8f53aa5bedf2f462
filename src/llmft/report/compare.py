"""The cases side by side: read every ``results/<case>/<profile>.json`` and line up what they measured.

A case whose file is absent is *missing*; one whose file cannot be read, is not marked complete or belongs to
another case or profile has *failed*. Both stay in every table, with the reason, never silently dropped.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from llmft.cases import CASES, Case
from llmft.evaluation.metrics import Estimate
from llmft.report import results

MAIN_METRIC = {"rouge": ("rougeL", "ROUGE-L"), "accuracy": ("accuracy", "accuracy")}
TRIVIAL = {"lead": "lead", "constant": "constant", "copy": "copy the input", "majority": "majority class"}
METHODS = ("lora", "qlora")
NAMES = {"lora": "LoRA", "qlora": "QLoRA"}


@dataclass
class CaseResult:
    case: Case
    path: Path
    status: str  # "complete", "missing: ...", "failed: ..."
    payload: dict | None = None

    @property
    def ok(self) -> bool:
        return self.status == "complete"

    @property
    def metric(self) -> tuple[str, str]:
        return MAIN_METRIC[self.case.metric]

    def system(self, name: str) -> dict | None:
        """``{"mean", "ci_low", "ci_high"}`` of the main metric for a system, or ``None``."""
        if not self.ok:
            return None
        return self.payload["systems"].get(name, {}).get(self.metric[0])

    def steps(self, method: str) -> int | None:
        """Training steps of ``method`` ("lora", "qlora") in this run, or ``None``."""
        return (self.payload or {}).get("training", {}).get(method, {}).get("steps") if self.ok else None

    def best_trivial(self) -> tuple[str, dict] | tuple[None, None]:
        """The trivial baseline (lead, constant, copy, majority) with the highest mean on the main metric."""
        found = [(TRIVIAL[k], self.system(k)) for k in TRIVIAL if self.system(k) is not None]
        return max(found, key=lambda kv: kv[1]["mean"]) if found else (None, None)

    def gain(self, method: str) -> dict | None:
        """The paired-bootstrap difference ``method`` − zero-shot on the main metric, or ``None`` where not recorded."""
        if not self.ok:
            return None
        return self.payload["comparisons"].get(f"{NAMES[method]}_vs_zero-shot", {}).get(self.metric[0])

    def qlora_minus_lora(self) -> dict | None:
        """The paired difference QLoRA − LoRA on the main metric (a chapter may have stored LoRA − QLoRA)."""
        if not self.ok:
            return None
        c, m = self.payload["comparisons"], self.metric[0]
        if m in c.get("QLoRA_vs_LoRA", {}):
            return c["QLoRA_vs_LoRA"][m]
        if m in c.get("LoRA_vs_QLoRA", {}):
            e = c["LoRA_vs_QLoRA"][m]
            return {"mean": -e["mean"], "ci_low": -e["ci_high"], "ci_high": -e["ci_low"]}
        return None

    def training(self, method: str) -> dict | None:
        if not self.ok:
            return None
        report = self.payload.get("training", {}).get(method)
        return report if isinstance(report, dict) else None

    def trainable(self) -> tuple[int, int] | None:
        """(adapter parameters, all parameters with the adapter) of the model this run trained."""
        p = self.payload.get("parameters", {}) if self.ok else {}
        if "lora_trainable" not in p or "base_total" not in p:
            return None
        return p["lora_trainable"], p["base_total"] + p["lora_trainable"]

    def adapter_bytes(self) -> int | None:
        a = self.payload.get("adapter_bytes") if self.ok else None
        return a.get("lora", a.get("qlora")) if isinstance(a, dict) else a


def collect(results_dir: Path, profile: str, cases: dict[str, Case] | None = None) -> list[CaseResult]:
    """One :class:`CaseResult` per case, in chapter order, whatever state its results file is in."""
    out = []
    for case in sorted((cases or CASES).values(), key=lambda c: c.number):
        path = Path(results_dir) / case.key / f"{profile}.json"
        if not path.exists():
            out.append(CaseResult(case, path, f"missing: run chapter {case.number} in the '{profile}' profile"))
            continue
        try:
            payload = results.load(path)
        except (ValueError, OSError) as err:  # json.JSONDecodeError is a ValueError
            out.append(CaseResult(case, path, f"failed: {type(err).__name__}: {str(err).splitlines()[0][:120]}"))
            continue
        if payload["case"] != case.key or payload["profile"] != profile:
            out.append(CaseResult(case, path, f"failed: the file holds {payload['case']} / {payload['profile']}"))
            continue
        out.append(CaseResult(case, path, "complete", payload))
    return out


def _est(e: dict | None) -> str:
    """An estimate from a results file as the chapters print it: ``mean [low, high]``."""
    return "–" if e is None else str(Estimate(e["mean"], e["ci_low"], e["ci_high"]))


def _diff(e: dict | None) -> str:
    if e is None:
        return "not recorded"
    return f"{e['mean']:+.3f} [{e['ci_low']:+.3f}, {e['ci_high']:+.3f}]"


def ran(r: CaseResult) -> str:
    """The model that produced a case's numbers, short: the real model's name, or the offline model's with the
    real one it stands for (from the results file's ``produced_by``)."""
    real = r.case.model_id.split("/")[-1]
    by = (r.payload or {}).get("produced_by", {}).get("model", "") if r.ok else ""
    if not by or by.startswith(r.case.model_id):
        return real
    if "stand-in of" in by:
        return f"{real} stand-in"
    return f"{by.split(' (')[0].split(',')[0]} (for {real})"


def label(r: CaseResult) -> str:
    """A case's row label, naming the model that actually ran (a stand-in or substitute in ``smoke``)."""
    return f"{r.case.number}. {ran(r)} × {r.case.dataset_id.split('/')[-1] or 'papers'}"


def overview(rows: list[CaseResult]):
    """What produced each case's numbers: the task, the file's state (and when it was written), the model run and
    the data (with the number of test inputs)."""
    out = {}
    for r in rows:
        by = r.payload.get("produced_by", {}) if r.ok else {}
        written = r.payload.get("created", "")[:16].replace("T", " ") if r.ok else ""
        data = by.get("data", "–") + (f"; {by['test_inputs']} test inputs" if "test_inputs" in by else "")
        out[label(r)] = {"task": r.case.title.split(":")[0], "status": f"{r.status}, {written}" if written else r.status,
                         "model run": by.get("model", "–"), "data": data}
    return _table(out)


def _table(out: dict):
    import pandas as pd

    return pd.DataFrame(out).T.rename_axis("case").reset_index()


def quality(rows: list[CaseResult]):
    """Each case's main metric [95 % CI] for zero-shot, the best trivial baseline, LoRA and QLoRA."""
    out = {}
    for r in rows:
        name, trivial = r.best_trivial()
        out[label(r)] = {"metric": r.metric[1], "zero-shot": _est(r.system("zero_shot")) if r.ok else r.status,
                         "best trivial baseline": f"{name}: {_est(trivial)}" if name else "–",
                         "LoRA": _est(r.system("lora")), "QLoRA": _est(r.system("qlora"))}
    return _table(out)


def differences(rows: list[CaseResult]):
    """The paired differences [95 % CI] each chapter measured on its own test inputs."""
    out = {}
    for r in rows:
        out[label(r)] = {"metric": r.metric[1], "LoRA − zero-shot": _diff(r.gain("lora")) if r.ok else r.status,
                         "QLoRA − zero-shot": _diff(r.gain("qlora")) if r.ok else "–",
                         "QLoRA − LoRA": _diff(r.qlora_minus_lora()) if r.ok else "–",
                         "steps, LoRA / QLoRA": f"{r.steps('lora') or '–'} / {r.steps('qlora') or '–'}" if r.ok else "–"}
    return _table(out)


def parameters(rows: list[CaseResult]):
    """Trainable parameters (count and share) on the model run and on the real model, and the adapter on disk."""
    out = {}
    for r in rows:
        t = r.trainable()
        real = r.payload.get("parameters", {}).get("real_model", {}) if r.ok else {}
        a = r.adapter_bytes()
        out[label(r)] = {
            "trainable, model run": f"{t[0]:,} of {t[1]:,} ({100 * t[0] / t[1]:.2f} %)" if t else (r.status if not r.ok else "–"),
            "trainable, real model": (f"{real['lora_trainable']:,} of {real['total']:,} "
                                      f"({100 * real['lora_trainable'] / real['total']:.2f} %)" if real else "–"),
            "adapter on disk": f"{a / 2**20:.2f} MiB" if a else "–"}
    return _table(out)


def training(rows: list[CaseResult]):
    """One row per case and method: steps, seconds, useful tokens per second, peak memory, precision."""
    import pandas as pd

    out = []
    for r in rows:
        for m in METHODS:
            rep = r.training(m)
            out.append({"case": label(r), "method": NAMES[m],
                        "steps": rep["steps"] if rep else "–", "seconds": f"{rep['seconds']:.0f}" if rep else "–",
                        "useful tokens / s": f"{rep['useful_tokens_per_second']:,.0f}" if rep else "–",
                        "peak MiB": f"{rep['memory']['peak_bytes'] / 2**20:,.0f}" if rep else "–",
                        "precision": rep["precision"] if rep else ("not run" if r.ok else r.status.split(":")[0])})
    return pd.DataFrame(out)


def memory_kinds(rows: list[CaseResult]) -> str:
    """How the peak memory of these runs was measured, in words (for a caption)."""
    kinds = sorted({r.training(m)["memory"]["kind"] for r in rows for m in METHODS if r.training(m)})
    return ", ".join(kinds) or "not measured"


def published_table(rows: list[CaseResult]):
    """The figures published for each case's real model, on a 0-1 scale where the metric is a share (ROUGE,
    accuracy), each source cited in the book's author-year style; a case without any shows "none found". Our own
    numbers are not in this table: they come from other models, data and sizes (see the chapter's words)."""
    import pandas as pd

    from llmft.report.published import PUBLISHED, citation, on_unit_scale

    out = []
    for r in rows:
        for i, p in enumerate(PUBLISHED.get(r.case.key, []) or [None]):
            metric, zero, tuned = on_unit_scale(p) if p else ("–", None, None)
            out.append({
                "case (real model)": f"{r.case.number}. {r.case.model_id.split('/')[-1]}" if i == 0 else "",
                "published: model and method": f"{p.model}: {p.method}" if p else "none found",
                "metric": metric,
                "zero-shot → tuned": f"{'–' if zero is None else f'{zero:.3f}'} → {tuned:.3f}" if p else "–",
                "source": citation(p.source) if p else "–",
            })
    return pd.DataFrame(out)


def gpu_check(results_dir: Path) -> dict | None:
    """``results/gpu-check.json`` (``make gpu-check`` on a CUDA GPU), or ``None`` where it has not run."""
    path = Path(results_dir) / "gpu-check.json"
    if not path.exists():
        return None
    payload = json.loads(path.read_text())
    if not isinstance(payload.get("rows"), list):
        raise ValueError(f"{path} has no rows: run `make gpu-check` again")
    return payload


def gpu_check_table(payload: dict):
    """One row per case and method: activation checkpointing, peak memory, seconds per step, tokens per second,
    and whether it fits the cap (a note where a row was skipped or failed)."""
    import pandas as pd

    def num(row, key, fmt):
        return format(row[key], fmt) if isinstance(row.get(key), (int, float)) else "–"

    rows = []
    for row in payload["rows"]:
        rows.append({"case": row["case"], "method": row["method"],
                     "checkpointing": {True: "on", False: "off"}.get(row.get("activation_checkpointing"), "–"),
                     "peak GiB": num(row, "peak_gib", ".2f"), "s / step": num(row, "seconds_per_step", ".3f"),
                     "tokens / s": num(row, "useful_tokens_per_second", ",.0f"),
                     "fits the cap": {True: "yes", False: "no"}.get(row.get("fits_cap"),
                                                                  row.get("skipped") or row.get("error") or "–")})
    return pd.DataFrame(rows)


def gpu_check_phases(payload: dict):
    """The chapter rehearsal of a ``make gpu-check`` run: one row per case and phase, measured beside the T4 plan's
    estimate for the same work (``None`` for runs made before the rehearsal existed)."""
    import pandas as pd

    phases = payload.get("phases")
    if not phases:
        return None
    cols = {"case": "case", "phase": "phase", "seconds": "s", "peak_allocated_gib": "peak GiB",
            "peak_reserved_gib": "reserved GiB", "plan_seconds_on_a_t4": "plan: s on a T4", "plan_gib": "plan: GiB"}
    return pd.DataFrame([{v: row.get(k, "–") for k, v in cols.items()} for row in phases])


def gpu_check_caption(payload: dict, recorded: bool) -> str:
    when = "Recorded" if recorded else "This run's"
    return (f"{when} make gpu-check: {payload['device']}, {payload['created']}, {payload['emulating']}, cap "
            f"{payload['cap_bytes'] / 1e9:.0f} GB; " + ", ".join(f"{k} {v}" for k, v in payload.get("versions", {}).items()
                                                          if k in ("torch", "transformers", "peft", "bitsandbytes")))


def gpu_checked(payloads: list[dict]) -> set[str]:
    """The cases that some ``make gpu-check`` run measured (a row with a peak, not skipped)."""
    return {row["case"] for p in payloads for row in p["rows"] if "peak_gib" in row}


def _points(e: dict | None) -> dict | None:
    return None if e is None else {k: 100 * e[k] for k in ("mean", "ci_low", "ci_high")}


def gains_in_points(rows: list[CaseResult]) -> dict[str, dict[str, dict | None]]:
    """``{case: {"LoRA": ..., "QLoRA": ...}}``: each method's paired gain over zero-shot on the case's main
    metric, in points (ROUGE-L x 100, or accuracy in percentage points)."""
    return {f"{label(r)} ({r.metric[1]})": {NAMES[m]: _points(r.gain(m)) for m in METHODS} for r in rows}


def measured_memory(rows: list[CaseResult]) -> dict[str, dict[str, float | None]]:
    """``{case: {"LoRA": MiB, "QLoRA": MiB}}``: peak memory while training, as the run measured it."""
    out = {}
    for r in rows:
        out[label(r)] = {NAMES[m]: (r.training(m)["memory"]["peak_bytes"] / 2**20 if r.training(m) else None)
                         for m in METHODS}
    return out


def estimated_memory(cases: list[Case], seq: int = 512, batch: int = 1) -> dict[str, dict[str, float]]:
    """``{case: {"LoRA (16-bit base)": GiB, "QLoRA (NF4 base)": GiB}}`` for the *real* models, from
    :mod:`llmft.foundations.memory_model` (one sequence of ``seq`` tokens, activation checkpointing on), as chapter 12
    estimates them: weights module by module as loaded, adapter gradients and optimizer states (AdamW; paged 8-bit AdamW
    under QLoRA, as the GPU runs use), activations."""
    from llmft import models
    from llmft.foundations import memory_model as mm
    from llmft.foundations.lora import trainable_by_formula

    out = {}
    for case in cases:
        meta = models.real_size_on_meta(case)
        n_params = models.count_params(meta).total
        h, heads, layers = mm.transformer_dims(case)
        act = mm.activation_bytes(h, heads, layers, seq=seq, batch=batch, checkpointing=True)
        n_trained = trainable_by_formula(case)
        skip = case.lora.modules_to_save or None
        w16 = sum(mm.weight_bytes(meta, "fp16", skip=skip).values())
        w4 = sum(mm.weight_bytes(meta, "fp16", quantized=True, skip=skip).values())
        out[f"{case.number}. {case.model_id.split('/')[-1]}"] = {
            "LoRA (16-bit base)": mm.training_memory(n_params, n_trained, "fp16", "lora", act, weights=w16).total / mm.GiB,
            "QLoRA (NF4 base)": mm.training_memory(n_params, n_trained, "nf4", "lora", act, weights=w4,
                                                   optimizer="paged_adamw_8bit").total / mm.GiB}
    return out


def share_and_gain(rows: list[CaseResult]) -> dict[str, tuple[float | None, dict | None]]:
    """``{case: (trainable share in %, LoRA's gain over zero-shot in points)}`` on the model each run trained."""
    out = {}
    for r in rows:
        t = r.trainable() if r.ok else None
        out[f"{r.case.number}"] = (100 * t[0] / t[1] if t else None, _points(r.gain("lora")))
    return out


def case_lines(rows: list[CaseResult], profile: str) -> str:
    """Markdown, one bullet per complete case: LoRA's score, its paired gain over zero-shot, its distance to the
    best trivial baseline (and whether that baseline itself beats zero-shot), and QLoRA − LoRA in words."""
    lines = []
    for r in rows:
        if not r.ok:
            lines.append(f"- **{label(r)}**: {r.status}.")
            continue
        parts = [f"**{label(r)}**: LoRA {r.system('lora')['mean']:.3f} {r.metric[1]}"]
        g = r.gain("lora")
        if g:
            parts.append(f"{g['mean']:+.3f} over zero-shot [{g['ci_low']:+.3f}, {g['ci_high']:+.3f}]")
        name, trivial = r.best_trivial()
        if trivial:
            above = " (which itself beats zero-shot)" if trivial["mean"] > r.system("zero_shot")["mean"] else ""
            parts.append(f"{r.system('lora')['mean'] - trivial['mean']:+.3f} above the mean of the best trivial "
                         f"baseline, {name}{above}")
        d = r.qlora_minus_lora()
        if d:
            steps = (r.steps("lora"), r.steps("qlora"))
            if steps[0] and steps[1] and steps[0] != steps[1]:
                verdict = (f"QLoRA trained {steps[1]} steps to LoRA's {steps[0]} here, so this compares runs, "
                           f"not the two methods")
            else:  # one training run each: a difference between two runs is not a difference between methods
                seen = ("no detectable difference between these two runs" if d["ci_low"] <= 0 <= d["ci_high"]
                        else f"the {'QLoRA' if d['ci_low'] > 0 else 'LoRA'} run scored higher on this test set")
                verdict = (f"{seen} (one training run each: a difference between two runs says nothing about the "
                           f"methods without several seeds)")
            parts.append(f"QLoRA − LoRA {d['mean']:+.3f} [{d['ci_low']:+.3f}, {d['ci_high']:+.3f}]: {verdict}")
        lines.append("- " + "; ".join(parts) + ".")
    return f"Read from the files of this run ('{profile}' profile):\n\n" + "\n".join(lines)


def gpu_check_note(rows: list[CaseResult], payloads: list[dict]) -> str:
    """Which cases some GPU check covers, and what carries over to a T4."""
    checked = gpu_checked(payloads)
    unchecked = [label(r) for r in rows if r.case.key not in checked]
    return ("Peak memory carries over to a T4 (same shapes and precision); the times do not: a T4 is several "
            "times slower than an H100. " + (f"Not yet checked on a GPU: {'; '.join(unchecked)}. For these the memory "
                                              "estimate above stands in." if unchecked else
                                              "Every case has been checked on a GPU."))
