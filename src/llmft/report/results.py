"""The results file of a run: ``results/<case>/<profile>.json``, written whole or not at all.

Shape (shared by every case, so that chapters can be compared)::

    {"case": ..., "profile": ..., "complete": true, "created": ..., "versions": {...},
     "systems": {"zero_shot" | "lead" | "constant" | "majority" | "untrained_head" | "lora" | "qlora":
                 {metric: {"mean", "ci_low", "ci_high"}}},
     "comparisons": {"lora_vs_zero_shot": {metric: {"mean", "ci_low", "ci_high", "p_value"}}, ...},
     "parameters": {...}, "training": {...}, "memory": {...}}
"""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

from llmft.runtime import Run, versions

SYSTEMS = ("zero_shot", "lead", "constant", "majority", "untrained_head", "copy", "lora", "qlora")
METRICS = {"rouge": ("rouge1", "rouge2", "rougeL", "rougeLsum"), "accuracy": ("accuracy", "macro_f1")}


def validate(payload: dict) -> None:
    """Raise ``ValueError`` if ``payload`` does not have the shared shape."""
    for key in ("case", "profile", "complete", "systems", "versions"):
        if key not in payload:
            raise ValueError(f"results lack {key!r}")
    if payload["complete"] is not True:
        raise ValueError("results are not marked complete")
    for system, metrics in payload["systems"].items():
        if system not in SYSTEMS:
            raise ValueError(f"unknown system {system!r}; expected one of {SYSTEMS}")
        for name, est in metrics.items():
            if set(est) != {"mean", "ci_low", "ci_high"}:
                raise ValueError(f"{system}.{name} must have mean, ci_low, ci_high")
            if not est["ci_low"] <= est["mean"] <= est["ci_high"]:
                raise ValueError(f"{system}.{name}: the mean lies outside its interval")


def build(run: Run, systems: dict, comparisons: dict, **sections) -> dict:
    payload = {
        "case": run.case.key,
        "profile": run.profile.name,
        "complete": True,
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "seed": run.seed,
        "versions": versions(),
        "systems": {s: {m: e.as_dict() for m, e in metrics.items()} for s, metrics in systems.items()},
        "comparisons": {c: {m: p.as_dict() for m, p in metrics.items()} for c, metrics in comparisons.items()},
        **sections,
    }
    validate(payload)
    return payload


def _no_nan(value):
    """``NaN`` (a measure that does not apply) as JSON's ``null``: strict JSON has no NaN."""
    import math

    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: _no_nan(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_no_nan(v) for v in value]
    return value


def write(path: Path, payload: dict) -> Path:
    """Validate, then write atomically: a crash leaves the old file or none, never half a file."""
    validate(payload)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    tmp.write_text(json.dumps(_no_nan(payload), indent=2, default=float, allow_nan=False))
    os.replace(tmp, path)
    return path


def load(path: Path) -> dict:
    payload = json.loads(Path(path).read_text())
    validate(payload)
    return payload
