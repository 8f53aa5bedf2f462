"""Evaluate a system on held-out data and lay the results out as tables."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from llmft.generation import generate
from llmft.metrics import ROUGE_KEYS, Estimate, rouge_per_example, summarize
from llmft.runtime import Run


@dataclass
class SystemEval:
    name: str
    predictions: list[str]
    per_example: dict[str, np.ndarray]
    summary: dict[str, Estimate]


def evaluate_seq2seq(model, tokenizer, ds, run: Run, name: str) -> SystemEval:
    """Generate for every example of ``ds`` and score it with ROUGE against the reference."""
    case, s = run.case, run.sizes
    prompts = [case.format_prompt(r) for r in ds]
    preds = generate(model, tokenizer, prompts, max_source_len=s.max_source_len, max_new_tokens=s.max_new_tokens,
                     batch_size=s.eval_batch_size, desc=f"{name}: generating")
    per_example = rouge_per_example(preds, ds[case.target_field])
    return SystemEval(name, preds, per_example, summarize(per_example, s.bootstrap_samples, run.seed))


def metric_table(evals: list[SystemEval], metrics=ROUGE_KEYS) -> pd.DataFrame:
    """One row per system: each metric as ``mean [95 % CI]``."""
    rows = {e.name: {m: str(e.summary[m]) for m in metrics} for e in evals}
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("system")


def side_by_side(ds, evals: list[SystemEval], field: str, target: str, indices) -> pd.DataFrame:
    rows = []
    for i in indices:
        row = {field: ds[i][field], "reference": ds[i][target]}
        row.update({e.name: e.predictions[i] for e in evals})
        rows.append(row)
    return pd.DataFrame(rows)


def by_group(ds, evals: list[SystemEval], group_field: str, metric: str = "rougeL") -> pd.DataFrame:
    """Mean ``metric`` per value of ``group_field`` (e.g. DialogSum's topic), worst first."""
    groups = np.array(list(ds[group_field]))
    table = {e.name: {g: float(e.per_example[metric][groups == g].mean()) for g in np.unique(groups)} for e in evals}
    out = pd.DataFrame(table)
    out.insert(0, "examples", [int((groups == g).sum()) for g in out.index])
    return out.sort_values(evals[-1].name).round(3)
