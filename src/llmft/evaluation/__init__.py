"""The evaluation layer: the tuned models, zero-shot and trivial baselines on held-out data; tables.

Scoring is per *input*: an input with several references (DialogSum's test split has three) is
scored against the best-matching one, and bootstrap intervals resample inputs, not rows.

This module scores generated text; beside it: :mod:`~llmft.evaluation.metrics` (ROUGE, accuracy, bootstrap
intervals, paired tests), :mod:`~llmft.evaluation.generation` (decoding), :mod:`~llmft.evaluation.classify`
(classifiers), :mod:`~llmft.evaluation.roundtrip` (save, reload, merge, and check each step).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from llmft.cases import Case
from llmft.data import fit_prompt, group_references
from llmft.evaluation.generation import complete, generate
from llmft.evaluation.metrics import ROUGE_KEYS, Estimate, rouge_per_example, sentences, summarize
from llmft.runtime import Run


@dataclass
class EvalSet:
    """Held-out inputs, one record each, with all their references."""

    records: list[dict]
    references: list[list[str]]

    @classmethod
    def from_split(cls, ds, case: Case) -> EvalSet:
        records, refs = group_references(ds, case)
        return cls(records, refs)

    def __len__(self) -> int:
        return len(self.records)

    @property
    def references_per_input(self) -> float:
        return float(np.mean([len(r) for r in self.references]))


@dataclass
class SystemEval:
    name: str
    predictions: list[str]
    per_example: dict[str, np.ndarray]
    summary: dict[str, Estimate]
    completions: list | None = None  # a causal LM's answers with token counts and whether each stopped

    @property
    def stop_rate(self) -> float | None:
        """Share of answers that ended with EOS before the token limit (causal LMs only)."""
        return float(np.mean([c.stopped for c in self.completions])) if self.completions else None


def score(name: str, predictions: list[str], evalset: EvalSet, run: Run) -> SystemEval:
    per_example = rouge_per_example(predictions, evalset.references)
    return SystemEval(name, list(predictions), per_example, summarize(per_example, run.sizes.bootstrap_samples, run.seed))


def evaluate_seq2seq(model, tokenizer, evalset: EvalSet, run: Run, name: str) -> SystemEval:
    """Generate for every input and score it with ROUGE against its references."""
    case, s = run.case, run.sizes
    prompts = [fit_prompt(case, r, tokenizer, s.max_source_len) for r in evalset.records]
    preds = generate(model, tokenizer, prompts, max_source_len=s.max_source_len, max_new_tokens=s.max_new_tokens,
                     batch_size=s.eval_batch_size, desc=f"{name}: generating", decoding=case.decoding)
    return score(name, preds, evalset, run)


def evaluate_causal(model, tokenizer, evalset: EvalSet, run: Run, name: str, temperature: float = 0.0,
                    seed: int | None = None) -> SystemEval:
    """A causal LM's answers to every input (greedy, up to EOS or ``max_new_tokens``), scored with ROUGE.

    ``temperature`` > 0 samples instead (``seed`` fixes the draw), to measure how much sampling moves the score.

    The prompt is cut to ``max_source_len`` tokens so that prompt + ``max_new_tokens`` fits the model's
    positions (GPT-2: 1,024); a profile that asks for more is an error, not a crash on the GPU.
    """
    case, s = run.case, run.sizes
    positions = getattr(model.config, "n_positions", None) or getattr(model.config, "max_position_embeddings", None)
    if positions and s.max_source_len + s.max_new_tokens > positions:
        raise ValueError(f"max_source_len {s.max_source_len} + max_new_tokens {s.max_new_tokens} exceeds the model's "
                         f"{positions} positions.")
    prompts = [fit_prompt(case, r, tokenizer, s.max_source_len) for r in evalset.records]
    if seed is not None:
        torch.manual_seed(seed)
    done = complete(model, tokenizer, prompts, max_new_tokens=s.max_new_tokens, batch_size=s.eval_batch_size,
                    temperature=temperature, desc=f"{name}: generating")
    evaluated = score(name, [c.text for c in done], evalset, run)
    evaluated.completions = done
    return evaluated


def by_input_limit(model, tokenizer, evalset: EvalSet, run: Run, limits, name: str,
                   done: dict[int, SystemEval] | None = None) -> dict[int, SystemEval]:
    """The same model evaluated with its inputs cut at each limit in ``limits`` (tokens); ``done`` holds
    evaluations already run at some limits (for example the chapter's main one), which are reused."""
    import dataclasses

    out = dict(done or {})
    for limit in limits:
        if limit not in out:
            cut = dataclasses.replace(run, sizes=dataclasses.replace(run.sizes, max_source_len=limit))
            out[limit] = evaluate_seq2seq(model, tokenizer, evalset, cut, f"{name}, inputs cut at {limit}")
    return {limit: out[limit] for limit in sorted(out)}


# ---------------------------------------------------------------- trivial baselines
def lead_baseline(evalset: EvalSet, case: Case, turns: int = 2, unit: str = "line") -> list[str]:
    """The first ``turns`` lines of the input (a dialogue's turns), or with ``unit="sentence"`` its first
    sentences (news), with no model at all."""
    field = case.input_fields[-1]
    if unit == "sentence":
        return [" ".join(sentences(r[field])[:turns]) for r in evalset.records]
    return [" ".join(r[field].split("\n")[:turns]) for r in evalset.records]


def copy_input_baseline(evalset: EvalSet, case: Case) -> list[str]:
    """Answer with the input itself, or with the instruction where there is no input: no model at all."""
    instruction, field = case.input_fields[0], case.input_fields[-1]
    return [r[field] if str(r.get(field) or "").strip() else r[instruction] for r in evalset.records]


def first_word(record: dict, field: str = "instruction") -> str:
    """The first word of an instruction ("Rewrite", "List"...): Alpaca's instructions mostly open with the verb
    that names the task, so this groups them by kind without a label."""
    words = str(record.get(field, "")).split()
    return words[0].strip(".,:;!?").capitalize() if words else "(none)"


def typical_summary(candidates: list[str], limit: int = 150, seed: int = 0) -> str:
    """The candidate with the highest mean ROUGE-L against the others: the best single constant answer.

    With more than ``limit`` distinct candidates, a seeded random sample of ``limit`` of them is compared (a fair
    draw: the first ``limit`` in sorted order would favour summaries that start with quotes and digits)."""
    import random

    from rouge_score import rouge_scorer

    distinct = sorted(set(candidates))
    pool = sorted(random.Random(seed).sample(distinct, limit)) if len(distinct) > limit else distinct
    counts = Counter(candidates)
    scorer = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=True)

    def typicality(c: str) -> float:
        return sum(counts[o] * scorer.score(o, c)["rougeL"].fmeasure for o in pool if o != c) / max(1, len(pool) - 1)

    return max(pool, key=lambda c: (typicality(c), c))


def constant_baseline(train, evalset: EvalSet, case: Case, group_field: str | None) -> tuple[list[str], dict]:
    """Answer every input with the most typical *training* summary of its group (e.g. topic), else overall.

    The constant is chosen on training data only. It is a stronger baseline than the most frequent
    summary, which is arbitrary when almost every summary is unique.
    """
    targets = list(train[case.target_field])
    overall = typical_summary(targets)
    per_group: dict[str, str] = {}
    if group_field and group_field in train.column_names:
        by_group: dict[str, list[str]] = {}
        for g, t in zip(train[group_field], targets):
            by_group.setdefault(g, []).append(t)
        per_group = {g: typical_summary(ts) for g, ts in by_group.items() if len(ts) >= 5}
    preds = [per_group.get(r.get(group_field), overall) if group_field else overall for r in evalset.records]
    return preds, {"groups": len(per_group), "overall": overall}


# ---------------------------------------------------------------- fluency
WORD = re.compile(r"[a-z]+")


def vocabulary(ds, fields: tuple[str, ...]) -> set[str]:
    """Every lowercase word that occurs in ``fields`` of ``ds`` (the data's own vocabulary)."""
    return {w for f in fields for text in ds[f] for w in WORD.findall(str(text).lower())}


def content_words(text: str) -> set[str]:
    """Lowercase words of four letters or more: the words that carry content."""
    return {w for w in WORD.findall(text.lower()) if len(w) >= 4}


def failures(evalset: EvalSet, system: SystemEval, case: Case) -> dict[str, float | None]:
    """Shares of a causal LM's answers that fail in the usual ways: **never stops** (runs to the token limit),
    **repeats** (:func:`loops`), **ignores the input** (an input with content words, none of which the answer
    uses, where the reference uses some), **empty**. None where a check does not apply (a baseline that
    generates nothing cannot fail to stop)."""
    field = case.input_fields[-1]
    ignores = []
    for r, refs, p in zip(evalset.records, evalset.references, system.predictions):
        words = content_words(str(r.get(field) or ""))
        if words and any(words & content_words(ref) for ref in refs):
            ignores.append(not words & content_words(p))
    stopped = [c.stopped for c in system.completions] if system.completions else []
    return {
        "never stops": float(np.mean([not s for s in stopped])) if stopped else None,
        "repeats": float(np.mean([loops(p) for p in system.predictions])),
        "ignores the input": float(np.mean(ignores)) if ignores else None,
        "empty": float(np.mean([not p.strip() for p in system.predictions])),
    }


def loops(text: str) -> bool:
    """Does ``text`` get stuck: one word three times in a row, or one three-word phrase three times?"""
    words = WORD.findall(text.lower())
    if any(words[i] == words[i + 1] == words[i + 2] for i in range(len(words) - 2)):
        return True
    trigrams = Counter(zip(words, words[1:], words[2:]))
    return bool(trigrams) and max(trigrams.values()) >= 3


def fluency(predictions: list[str], vocab: set[str], unk: str = "<unk>") -> dict[str, float]:
    """Share of generated words that are words of ``vocab``; shares of outputs with ``unk``, empty, and looping."""
    words = [w for p in predictions for w in WORD.findall(p.lower())]
    return {
        "real_word_share": float(np.mean([w in vocab for w in words])) if words else 0.0,
        "unk_share": float(np.mean([unk in p for p in predictions])) if predictions else 0.0,
        "empty_share": float(np.mean([not p.strip() for p in predictions])) if predictions else 0.0,
        "loop_share": float(np.mean([loops(p) for p in predictions])) if predictions else 0.0,
    }


_NAME_OR_FIGURE = re.compile(r"(?<![\w£])(?:[A-Z][a-z]+(?:[ -][A-Z][a-z]+)*|£?\d[\d,.]*\d(?:m|bn)?|£?\d(?:m|bn)?)")


def names_and_figures(text: str) -> list[str]:
    """The names (capitalised words, not opening a sentence or a quote) and figures (``15``, ``£1.5m``) in
    ``text``, in order, each once."""
    found = []
    for sentence in sentences(text):
        rest = sentence.lstrip('"').split(" ", 1)[1] if " " in sentence else ""
        rest = re.sub(r'(?<=")[A-Z]\w*', "", rest)  # a quote's first word is capitalised, not a name
        found += _NAME_OR_FIGURE.findall(rest)
    return list(dict.fromkeys(found))


def unsupported_names(predictions: list[str], sources: list[str]) -> np.ndarray:
    """Per output, 1.0 where it states a name or figure (:func:`names_and_figures`) that its source never
    mentions: a simple check of faithfulness, not a full one."""
    return np.array([float(any(n not in src for n in names_and_figures(p))) for p, src in zip(predictions, sources)])


# ---------------------------------------------------------------- tables
def metric_table(evals: list[SystemEval], metrics=ROUGE_KEYS, labels: dict[str, str] | None = None) -> pd.DataFrame:
    """One row per system: each metric as ``mean [95 % CI]``."""
    labels = labels or {}
    rows = {labels.get(e.name, e.name): {m: str(e.summary[m]) for m in metrics} for e in evals}
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("system")


def quality_table(evals: list[SystemEval], vocab: set[str], caption: str):
    """ROUGE with intervals plus the fluency checks, one row per system, captioned with what produced it."""
    table = metric_table(evals)
    flu = {e.name: fluency(e.predictions, vocab) for e in evals}
    table["real words"] = [f"{100 * flu[e.name]['real_word_share']:.1f} %" for e in evals]
    table["unknown token"] = [f"{100 * flu[e.name]['unk_share']:.0f} %" for e in evals]
    table["looping"] = [f"{100 * flu[e.name]['loop_share']:.0f} %" for e in evals]
    if any(e.completions for e in evals):  # a causal LM: does it end its answers itself?
        table.insert(0, "stops", [f"{100 * e.stop_rate:.0f} %" if e.completions else "-" for e in evals])
    return table.style.set_caption(caption).set_table_styles(
        [{"selector": "td, th", "props": "padding: 0.1em 0.3em; vertical-align: top"}])


def by_group(evalset: EvalSet, evals: list[SystemEval], group_field, metric: str = "rougeL",
             min_examples: int = 5, name: str | None = None) -> pd.DataFrame:
    """Mean ``metric`` per group with at least ``min_examples`` inputs; the rest pooled as "other".

    ``group_field`` is a field of the records (e.g. topic) or a function of a record (e.g. :func:`first_word`).
    """
    key = group_field if callable(group_field) else (lambda r: r.get(group_field, ""))
    group_field = name or (group_field if isinstance(group_field, str) else getattr(group_field, "__name__", "group"))
    raw = [str(key(r)) for r in evalset.records]
    counts = Counter(raw)
    groups = np.array([g if counts[g] >= min_examples else "(other)" for g in raw])
    names = sorted(set(groups), key=lambda g: (g == "(other)", g))
    table = {e.name: [float(e.per_example[metric][groups == g].mean()) for g in names] for e in evals}
    out = pd.DataFrame(table, index=pd.Index(names, name=group_field))
    out.insert(0, "inputs", [int((groups == g).sum()) for g in names])
    return out.round(3)


def score_adapter(case: str, profile: str, adapter: Path, name: str):
    """Load a saved adapter onto the case's base and evaluate it on the case's test split (as its chapter does).
    Returns the evaluation and the model."""
    from llmft import data, models
    from llmft.models import adapters
    from llmft.runtime import start

    run = start(case, profile, quiet=True)
    source = models.model_source(run)
    tokenizer = models.load_tokenizer(run, source)
    test = EvalSet.from_split(data.load_splits(run)["test"], run.case)
    model = adapters.load_adapter(models.load_model(run, source), adapter)
    return evaluate_seq2seq(model, tokenizer, test, run, name), model
