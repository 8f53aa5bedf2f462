"""Evaluate a sequence classifier: predictions, a zero-shot baseline for encoders, trivial baselines,
accuracy and macro-F1 with bootstrap intervals, paired comparisons, and the tables the chapter shows.

Every interval resamples the test inputs (1,000 times by default); a paired comparison resamples
them once for both systems, so each input's two predictions stay together.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from tqdm.auto import tqdm

from llmft.evaluation.metrics import (
    Estimate,
    PairedComparison,
    accuracy,
    confusion_matrix,
    macro_f1,
    percentile_estimate,
    resample_indices,
)
from llmft.runtime import Run

METRICS = ("accuracy", "macro_f1")


@dataclass
class ClassEval:
    name: str
    predictions: np.ndarray  # class ids
    confidence: np.ndarray  # probability (or similarity share) of the predicted class
    summary: dict[str, Estimate]


def _metric(name: str, y, pred, n_classes: int) -> float:
    return accuracy(y, pred) if name == "accuracy" else macro_f1(y, pred, n_classes)


def bootstrap_metrics(y, pred, n_classes: int, samples: int = 1000, seed: int = 0, level: float = 0.95) -> dict:
    """Accuracy and macro-F1, each with a percentile bootstrap interval over inputs."""
    y, pred = np.asarray(y), np.asarray(pred)
    idx = resample_indices(len(y), samples, seed)
    out = {}
    for m in METRICS:
        values = np.array([_metric(m, y[i], pred[i], n_classes) for i in idx])
        out[m] = percentile_estimate(_metric(m, y, pred, n_classes), values, level)
    return out


def paired_metrics(y, pred_a, pred_b, n_classes: int, samples: int = 1000, seed: int = 0,
                   level: float = 0.95) -> dict[str, PairedComparison]:
    """B − A for accuracy and macro-F1: a paired bootstrap interval (the same resampled inputs for both), and p
    from paired approximate randomization (swap the two systems' predictions on a random half of the inputs,
    ``samples`` times; how often is the difference at least the observed one?)."""
    y, a, b = np.asarray(y), np.asarray(pred_a), np.asarray(pred_b)
    idx = resample_indices(len(y), samples, seed)
    swaps = np.random.default_rng(seed).random((samples, len(y))) < 0.5
    out = {}
    for m in METRICS:
        observed = _metric(m, y, b, n_classes) - _metric(m, y, a, n_classes)
        diffs = np.array([_metric(m, y[i], b[i], n_classes) - _metric(m, y[i], a[i], n_classes) for i in idx])
        est = percentile_estimate(observed, diffs, level)
        shuffled = np.array([_metric(m, y, np.where(s, a, b), n_classes) - _metric(m, y, np.where(s, b, a), n_classes)
                             for s in swaps])
        p = (int((shuffled >= observed - 1e-12).sum()) + 1) / (samples + 1)
        out[m] = PairedComparison(est, p, samples)
    return out


def _batches(texts, tokenizer, run: Run, desc: str):
    s = run.sizes
    for i in tqdm(range(0, len(texts), s.eval_batch_size), desc=desc, unit="batch"):
        yield tokenizer(list(texts[i : i + s.eval_batch_size]), max_length=s.max_source_len, truncation=True,
                        padding=True, return_tensors="pt").to(run.device)


@torch.no_grad()
def predict(model, tokenizer, texts, run: Run, desc: str = "classifying") -> np.ndarray:
    """Class probabilities for every text, shape (len(texts), classes)."""
    model.eval()
    probs = [torch.softmax(model(**enc).logits.float(), -1).cpu() for enc in _batches(texts, tokenizer, run, desc)]
    return torch.cat(probs).numpy()


def from_probabilities(name: str, probs: np.ndarray, y, run: Run) -> ClassEval:
    pred = probs.argmax(-1)
    summary = bootstrap_metrics(y, pred, probs.shape[1], run.sizes.bootstrap_samples, run.seed)
    return ClassEval(name, pred, probs.max(-1), summary)


def evaluate_classifier(model, tokenizer, ds, run: Run, name: str) -> ClassEval:
    """Predict every test input with ``model`` and score accuracy and macro-F1."""
    field = run.case.input_fields[0]
    probs = predict(model, tokenizer, ds[field], run, f"{name}: classifying")
    return from_probabilities(name, probs, ds[run.case.target_field], run)


def majority_baseline(train, test, run: Run) -> ClassEval:
    """Always the most frequent training label: no model, no reading."""
    n = len(run.case.labels)
    counts = np.bincount(np.asarray(train[run.case.target_field]), minlength=n)
    probs = np.tile(counts / counts.sum(), (len(test), 1))
    return from_probabilities("majority class", probs, test[run.case.target_field], run)


@torch.no_grad()
def embed(encoder, tokenizer, texts, run: Run, desc: str = "embedding") -> torch.Tensor:
    """Mean-pooled last hidden states (padding excluded), unit length: a sentence embedding."""
    encoder.eval()
    out = []
    for enc in _batches(texts, tokenizer, run, desc):
        hidden = encoder(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"]).last_hidden_state
        mask = enc["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1)
        out.append(torch.nn.functional.normalize(pooled.float(), dim=-1).cpu())
    return torch.cat(out)


def zero_shot_similarity(model, tokenizer, test, descriptions: dict[str, str], run: Run, temperature: float = 0.05):
    """Zero-shot for an encoder: each text gets the label whose description embeds closest (cosine).

    ``model`` is the classifier before training; only its encoder (``model.base_model``) is used,
    so the untrained head plays no part. Similarities become probabilities by a softmax with
    ``temperature``, which only sets the confidence shown with errors, not the choice.
    """
    labels = list(run.case.labels)
    missing = [name for name in labels if name not in descriptions]
    if missing:
        raise ValueError(f"No description for the label(s) {', '.join(missing)}; give one per label: {labels}.")
    encoder = model.base_model
    label_vecs = embed(encoder, tokenizer, [descriptions[name] for name in labels], run, "labels")
    text_vecs = embed(encoder, tokenizer, test[run.case.input_fields[0]], run, "zero-shot: embedding")
    probs = torch.softmax(text_vecs @ label_vecs.T / temperature, -1).numpy()
    return from_probabilities("zero-shot (label similarity)", probs, test[run.case.target_field], run)


# ---------------------------------------------------------------- tables
def quality_table(evals: list[ClassEval], caption: str):
    df = pd.DataFrame({e.name: {"accuracy": str(e.summary["accuracy"]), "macro-F1": str(e.summary["macro_f1"])}
                       for e in evals}).T
    df.index.name = "system"
    return df.style.set_caption(caption).set_table_styles(
        [{"selector": "td, th", "props": "padding: 0.15em 0.8em; text-align: right"}])


def per_class_table(y, pred, labels: tuple[str, ...]) -> pd.DataFrame:
    """Precision, recall and F1 of every class, with its number of test inputs."""
    m = confusion_matrix(np.asarray(y), np.asarray(pred), len(labels))
    rows = {}
    for k, name in enumerate(labels):
        tp, predicted, actual = m[k, k], m[:, k].sum(), m[k, :].sum()
        p = tp / predicted if predicted else 0.0
        r = tp / actual if actual else 0.0
        rows[name] = {"precision": p, "recall": r, "F1": 2 * p * r / (p + r) if p + r else 0.0, "inputs": int(actual)}
    return pd.DataFrame(rows).T.astype({"inputs": int})


def confident_errors(test, ev: ClassEval, run: Run, k: int = 5) -> pd.DataFrame:
    """The ``k`` wrong predictions the system was surest of."""
    y = np.asarray(test[run.case.target_field])
    wrong = np.where(ev.predictions != y)[0]
    order = wrong[np.argsort(-ev.confidence[wrong], kind="stable")][:k]
    labels = run.case.labels
    return pd.DataFrame({"text": [test[run.case.input_fields[0]][i] for i in order],
                         "true": [labels[y[i]] for i in order], "predicted": [labels[ev.predictions[i]] for i in order],
                         "confidence": [f"{ev.confidence[i]:.2f}" for i in order]})
