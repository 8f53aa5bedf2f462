"""ROUGE from scratch: tokenization, ROUGE-N, ROUGE-L and summary-level ROUGE-Lsum.

Written to give exactly the numbers of Google's ``rouge-score`` package (the reference the book
uses), so that every rule that moves a score is visible here. Stemming uses NLTK's Porter stemmer,
the same one ``rouge-score`` calls; implementing Porter's algorithm is beyond this chapter.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache


@dataclass(frozen=True)
class Score:
    precision: float
    recall: float
    fmeasure: float


def f1(precision: float, recall: float) -> float:
    return 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0


@lru_cache(maxsize=1)
def _stemmer():
    from nltk.stem import porter

    return porter.PorterStemmer()


def tokenize(text: str, stem: bool = True) -> list[str]:
    """Lowercase, turn every run of characters other than a-z and 0-9 into a space, split,
    and stem the words longer than 3 characters."""
    words = re.sub(r"[^a-z0-9]+", " ", text.lower()).split()
    if stem:
        words = [_stemmer().stem(w) if len(w) > 3 else w for w in words]
    return [w for w in words if re.fullmatch(r"[a-z0-9]+", w)]


def ngrams(tokens: list[str], n: int) -> Counter:
    return Counter(tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1))


def rouge_n(reference: list[str], prediction: list[str], n: int) -> Score:
    """Clipped n-gram overlap: each reference n-gram can be matched as often as it occurs there."""
    ref, pred = ngrams(reference, n), ngrams(prediction, n)
    overlap = sum(min(count, pred[g]) for g, count in ref.items())
    p = overlap / max(sum(pred.values()), 1)
    r = overlap / max(sum(ref.values()), 1)
    return Score(p, r, f1(p, r))


def lcs_table(a: list[str], b: list[str]) -> list[list[int]]:
    """``t[i][j]`` = length of the longest common subsequence of ``a[:i]`` and ``b[:j]``."""
    t = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            t[i][j] = t[i - 1][j - 1] + 1 if a[i - 1] == b[j - 1] else max(t[i - 1][j], t[i][j - 1])
    return t


def lcs_positions(a: list[str], b: list[str]) -> list[int]:
    """Positions in ``a`` of one longest common subsequence, read back from the table.

    When both moves keep the length, step back in ``a`` (the choice ``rouge-score`` makes; with
    several LCSs the choice changes which tokens ROUGE-Lsum unions).
    """
    t = lcs_table(a, b)
    i, j, out = len(a), len(b), []
    while i > 0 and j > 0:
        if a[i - 1] == b[j - 1]:
            out.append(i - 1)
            i, j = i - 1, j - 1
        elif t[i][j - 1] > t[i - 1][j]:
            j -= 1
        else:
            i -= 1
    return out[::-1]


def rouge_l(reference: list[str], prediction: list[str]) -> Score:
    """Sentence-level: the LCS length over each text's length."""
    if not reference or not prediction:
        return Score(0.0, 0.0, 0.0)
    lcs = lcs_table(reference, prediction)[-1][-1]
    p, r = lcs / len(prediction), lcs / len(reference)
    return Score(p, r, f1(p, r))


def rouge_lsum(reference: list[list[str]], prediction: list[list[str]]) -> Score:
    """Summary-level LCS (Lin 2004, section 3.2): for each reference sentence, the union of its LCS
    with every predicted sentence; a token counts at most as often as it occurs on each side."""
    m, n = sum(map(len, reference)), sum(map(len, prediction))
    if not m or not n:
        return Score(0.0, 0.0, 0.0)
    left_ref = Counter(t for s in reference for t in s)
    left_pred = Counter(t for s in prediction for t in s)
    hits = 0
    for ref_sentence in reference:
        union = sorted(set().union(*(lcs_positions(ref_sentence, p) for p in prediction)))
        for token in (ref_sentence[i] for i in union):
            if left_ref[token] > 0 and left_pred[token] > 0:
                hits += 1
                left_ref[token] -= 1
                left_pred[token] -= 1
    p, r = hits / n, hits / m
    return Score(p, r, f1(p, r))


def rouge(reference: str, prediction: str, stem: bool = True) -> dict[str, Score]:
    """ROUGE-1, -2, -L and -Lsum of one prediction; Lsum reads sentences as lines."""
    ref, pred = tokenize(reference, stem), tokenize(prediction, stem)
    lines = lambda text: [tokenize(s, stem) for s in text.split("\n") if s]  # noqa: E731
    return {"rouge1": rouge_n(ref, pred, 1), "rouge2": rouge_n(ref, pred, 2), "rougeL": rouge_l(ref, pred),
            "rougeLsum": rouge_lsum(lines(reference), lines(prediction))}
