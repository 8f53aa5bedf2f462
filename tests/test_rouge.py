import numpy as np
import pytest
import sklearn.metrics
from rouge_score import rouge_scorer

from llmft.data.synthetic.text_pairs import EDGE_CASES, rouge_test_pairs
from llmft.evaluation import metrics
from llmft.foundations import rouge

KEYS = ("rouge1", "rouge2", "rougeL", "rougeLsum")


@pytest.mark.parametrize("stem", [True, False])
def test_equal_to_rouge_score(stem):
    scorer = rouge_scorer.RougeScorer(list(KEYS), use_stemmer=stem)
    for reference, prediction in rouge_test_pairs(150, seed=1):
        theirs, ours = scorer.score(reference, prediction), rouge.rouge(reference, prediction, stem)
        for k in KEYS:
            for field in ("precision", "recall", "fmeasure"):
                assert getattr(ours[k], field) == pytest.approx(getattr(theirs[k], field), abs=1e-9), (k, reference)


def test_test_pairs_are_varied_and_reproducible():
    pairs = rouge_test_pairs(100, seed=0)
    assert pairs == rouge_test_pairs(100, seed=0) and len(set(pairs)) > 90
    assert pairs[: len(EDGE_CASES)] == EDGE_CASES
    assert any("\n" in r for r, _ in pairs) and any("\n" in p for _, p in pairs)


def test_tokenize_rules():
    assert rouge.tokenize("Police KILLED the gunmen, U.S.", stem=True) == ["polic", "kill", "the", "gunmen", "u", "s"]
    assert rouge.tokenize("It's 3.5%!", stem=False) == ["it", "s", "3", "5"]


def test_lcs_by_hand():
    a, b = "a b c d".split(), "b d c".split()
    assert rouge.lcs_table(a, b)[-1][-1] == 2
    assert len(rouge.lcs_positions(a, b)) == 2


def test_rouge_n_clips_repeats():
    s = rouge.rouge_n(["a", "b"], ["a", "a", "a"], 1)
    assert (s.precision, s.recall) == (1 / 3, 1 / 2)


def test_confusion_matrix_and_macro_f1_match_scikit_learn():
    rng = np.random.default_rng(0)
    y, p = rng.integers(0, 4, 300), rng.integers(0, 4, 300)
    assert (metrics.confusion_matrix(y, p, 4) == sklearn.metrics.confusion_matrix(y, p, labels=range(4))).all()
    assert metrics.macro_f1(y, p, 4) == pytest.approx(sklearn.metrics.f1_score(y, p, average="macro"))


def test_sampling_study_small_sets_mislead_large_ones_do_not():
    rng = np.random.default_rng(0)
    a = rng.uniform(0, 1, 5000)
    b = np.clip(a + 0.05 + rng.normal(0, 0.1, a.size), 0, 1)
    study = metrics.sampling_study(a, b, [3, 300], reps=60, samples=200)
    assert study[3]["wrong winner"] > study[300]["wrong winner"]
    assert study[300]["paired bootstrap finds B better"] > 0.9
