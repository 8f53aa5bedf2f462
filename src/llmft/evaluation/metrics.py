"""Metrics with uncertainty: ROUGE (via ``rouge-score``), accuracy, macro-F1, and bootstrap intervals."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from llmft.data.text import sentences, split_sentences  # noqa: F401 (part of this module's API)

ROUGE_KEYS = ("rouge1", "rouge2", "rougeL", "rougeLsum")
# A sentence ends at . ! or ? followed by space, except after a title (5.8 % of real DialogSum
# summaries contain "Mr.", "Mrs.", "Ms." or "Dr.").
def rouge_per_example(predictions: list[str], references: list, stemmer: bool = True) -> dict[str, np.ndarray]:
    """F1 of ROUGE-1/2/L/Lsum for each prediction, from Google's ``rouge-score``.

    Each reference may be a string or a list of strings (several references for one input, as in
    DialogSum's test split). With several, each metric takes the best-matching reference, as
    ``rouge_score.RougeScorer.score_multi`` does.
    """
    from rouge_score import rouge_scorer

    predictions, references = list(predictions), list(references)
    if len(predictions) != len(references):
        raise ValueError(f"{len(predictions)} predictions but {len(references)} references.")
    scorer = rouge_scorer.RougeScorer(list(ROUGE_KEYS), use_stemmer=stemmer)
    scores = {k: np.empty(len(predictions)) for k in ROUGE_KEYS}
    for i, (pred, ref) in enumerate(zip(predictions, references)):
        refs = [ref] if isinstance(ref, str) else list(ref)
        if not refs:
            raise ValueError(f"Prediction {i} has no reference.")
        s = scorer.score_multi([split_sentences(r) for r in refs], split_sentences(pred))
        for k in ROUGE_KEYS:
            scores[k][i] = s[k].fmeasure
    return scores


@dataclass(frozen=True)
class Estimate:
    mean: float
    ci_low: float
    ci_high: float

    def as_dict(self) -> dict[str, float]:
        return asdict(self)

    def __str__(self) -> str:
        return f"{self.mean:.3f} [{self.ci_low:.3f}, {self.ci_high:.3f}]"


def resample_indices(n: int, samples: int, seed: int) -> np.ndarray:
    """``samples`` bootstrap resamples of ``n`` inputs (drawn with replacement), one row each."""
    return np.random.default_rng(seed).integers(0, n, size=(samples, n))


def percentile_estimate(point: float, resampled, level: float = 0.95) -> Estimate:
    """``point`` with the percentile bootstrap interval of its ``resampled`` values."""
    tail = (1 - level) / 2
    return Estimate(float(point), float(np.quantile(resampled, tail)), float(np.quantile(resampled, 1 - tail)))


def bootstrap_ci(values, samples: int = 1000, seed: int = 0, level: float = 0.95) -> Estimate:
    """Mean with a percentile bootstrap interval over examples."""
    v = np.asarray(values, dtype=float)
    if v.size == 0:
        raise ValueError("No values to estimate from.")
    means = v[resample_indices(v.size, samples, seed)].mean(axis=1)
    return percentile_estimate(v.mean(), means, level)


@dataclass(frozen=True)
class PairedComparison:
    """B minus A on the same examples: the difference with its paired-bootstrap interval, and ``p_value`` from a
    paired approximate randomization test (:func:`paired_randomization`). Both cover the sampling of the test
    inputs only, for one training run of each system: not the variation between training seeds."""

    diff: Estimate
    p_value: float  # one-sided: how often a random relabelling of each pair does at least as well as B - A
    samples: int = 1000

    @property
    def p_text(self) -> str:
        """``= 0.012``, or ``< 0.001`` at the test's resolution (1 / (samples + 1)): read as "p = 0.012"."""
        floor = 1 / (self.samples + 1)
        return f"< {1 / self.samples:g}" if self.p_value <= floor else f"= {self.p_value:.3f}"

    @property
    def b_better(self) -> bool:
        return self.diff.ci_low > 0

    def as_dict(self) -> dict:
        return {**self.diff.as_dict(), "p_value": self.p_value}


def paired_randomization(a, b, samples: int = 1000, seed: int = 0) -> float:
    """One-sided p-value of "B beats A" by paired approximate randomization (Berg-Kirkpatrick et al., 2012):
    under the null hypothesis each example's two scores are exchangeable, so swap them at random (flip the sign of
    each difference) ``samples`` times and count how often the mean difference is at least the observed one;
    ``(count + 1) / (samples + 1)``."""
    d = np.asarray(b, dtype=float) - np.asarray(a, dtype=float)
    signs = np.random.default_rng(seed).choice((-1.0, 1.0), size=(samples, d.size))
    observed = d.mean()
    count = int(((signs * d).mean(axis=1) >= observed - 1e-12).sum())
    return (count + 1) / (samples + 1)


def paired_bootstrap(a, b, samples: int = 1000, seed: int = 0, level: float = 0.95) -> PairedComparison:
    """Is system B better than system A on this test set? The mean difference B - A with a paired bootstrap
    interval (resample examples, keeping each example's pair together) and the randomization test's p."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.shape != b.shape:
        raise ValueError("Paired scores must cover the same examples.")
    d = b - a
    means = d[resample_indices(d.size, samples, seed)].mean(axis=1)
    return PairedComparison(percentile_estimate(d.mean(), means, level), paired_randomization(a, b, samples, seed),
                            samples)


def paired_comparisons(comparisons: dict, metrics: tuple[str, ...], samples: int, seed: int) -> dict:
    """``{name: (A, B)}`` of evaluated systems (each with ``per_example`` scores) -> ``{name: {metric:
    PairedComparison of B - A}}``, each from the same paired bootstrap."""
    return {name: {m: paired_bootstrap(a.per_example[m], b.per_example[m], samples, seed) for m in metrics}
            for name, (a, b) in comparisons.items()}


def paired_table(paired: dict, caption: str):
    """One row per comparison, one column per metric: the difference B − A with its interval and p."""
    import pandas as pd

    return pd.DataFrame({name: {m: f"{c.diff} (p {c.p_text})" for m, c in cmp.items()}
                         for name, cmp in paired.items()}).T.style.set_caption(caption)

def accuracy(y_true, y_pred) -> float:
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    return float((y_true == y_pred).mean())


def macro_f1(y_true, y_pred, n_classes: int) -> float:
    """Unweighted mean of per-class F1; a class never predicted nor present counts as 0."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    f1s = []
    for c in range(n_classes):
        tp = np.sum((y_pred == c) & (y_true == c))
        fp = np.sum((y_pred == c) & (y_true != c))
        fn = np.sum((y_pred != c) & (y_true == c))
        f1s.append(0.0 if tp == 0 else 2 * tp / (2 * tp + fp + fn))
    return float(np.mean(f1s))


def confusion_matrix(y_true, y_pred, n_classes: int) -> np.ndarray:
    """Counts: row = true class, column = predicted class."""
    m = np.zeros((n_classes, n_classes), dtype=int)
    np.add.at(m, (np.asarray(y_true), np.asarray(y_pred)), 1)
    return m


def sampling_study(population_a, population_b, sizes, reps: int = 200, samples: int = 500, seed: int = 0) -> dict:
    """How often does a test set of ``n`` examples, drawn from a population, mislead?

    For each size: the share of test sets on which B's mean is not above A's (the wrong winner,
    when B is better on the population), and the share on which the paired bootstrap finds
    B better with 95 % confidence (the test's power).
    """
    a, b = np.asarray(population_a, float), np.asarray(population_b, float)
    rng = np.random.default_rng(seed)
    out = {}
    for n in sizes:
        wrong = significant = 0
        for rep in range(reps):
            idx = rng.integers(0, a.size, n)
            wrong += (b[idx] - a[idx]).mean() <= 0
            significant += paired_bootstrap(a[idx], b[idx], samples, seed=rep).b_better
        out[n] = {"wrong winner": wrong / reps, "paired bootstrap finds B better": significant / reps}
    return out


def summarize(per_example: dict[str, np.ndarray], samples: int = 1000, seed: int = 0) -> dict[str, Estimate]:
    """Mean and bootstrap interval for each metric."""
    return {k: bootstrap_ci(v, samples, seed) for k, v in per_example.items()}
