import numpy as np
import pytest

from llmft.evaluation import metrics
from llmft.evaluation.metrics import (
    accuracy,
    bootstrap_ci,
    macro_f1,
    paired_bootstrap,
    rouge_per_example,
    split_sentences,
)


def test_rouge_identical_is_one_and_disjoint_is_zero():
    s = rouge_per_example(["the cat sat.", "a b c"], ["the cat sat.", "x y z"])
    for k in ("rouge1", "rouge2", "rougeL", "rougeLsum"):
        assert s[k][0] == pytest.approx(1.0) and s[k][1] == 0.0


def test_rouge1_by_hand():
    # 2 of 3 predicted unigrams match, 2 of 4 reference unigrams: P=2/3, R=1/2, F=4/7
    s = rouge_per_example(["police kill gunman"], ["police killed the gunman"], stemmer=False)
    assert s["rouge1"][0] == pytest.approx(4 / 7)


def test_stemming_matters():
    pred, ref = ["police killed gunmen"], ["police kill gunman"]
    assert rouge_per_example(pred, ref, stemmer=True)["rouge1"][0] > rouge_per_example(pred, ref, stemmer=False)["rouge1"][0]


def test_lsum_uses_sentences():
    assert split_sentences("One. Two! Three?") == "One.\nTwo!\nThree?"
    s = rouge_per_example(["b c. a b."], ["a b. b c."])
    assert s["rougeLsum"][0] == pytest.approx(1.0) and s["rougeL"][0] < 1.0


def test_length_mismatch_is_an_error():
    with pytest.raises(ValueError):
        rouge_per_example(["a"], ["a", "b"])


def test_bootstrap_interval_contains_mean_and_shrinks_with_n():
    rng = np.random.default_rng(0)
    small, large = rng.normal(0.5, 0.1, 20), rng.normal(0.5, 0.1, 2000)
    e_small, e_large = bootstrap_ci(small), bootstrap_ci(large)
    assert e_small.ci_low < e_small.mean < e_small.ci_high
    assert (e_large.ci_high - e_large.ci_low) < (e_small.ci_high - e_small.ci_low) / 4
    assert bootstrap_ci(small, seed=1) == bootstrap_ci(small, seed=1)


def test_paired_bootstrap_detects_real_gain_not_noise():
    rng = np.random.default_rng(0)
    a = rng.uniform(0, 1, 200)
    better = paired_bootstrap(a, a + 0.05 + rng.normal(0, 0.02, 200))
    assert better.b_better and better.p_value < 0.01
    same = paired_bootstrap(a, a + rng.normal(0, 0.05, 200))
    assert not same.b_better and same.diff.ci_low < 0 < same.diff.ci_high


def test_accuracy_and_macro_f1_by_hand():
    y, p = [0, 0, 0, 1, 2, 3], [0, 0, 1, 1, 2, 0]
    assert accuracy(y, p) == pytest.approx(4 / 6)
    # F1 per class: 0: tp2 fp1 fn1 -> 2/3; 1: tp1 fp1 fn0 -> 2/3; 2: 1; 3: 0
    assert macro_f1(y, p, 4) == pytest.approx((2 / 3 + 2 / 3 + 1 + 0) / 4)


def test_accuracy_misleads_on_skew_macro_f1_does_not():
    y = [0] * 95 + [1] * 5
    always_zero = [0] * 100
    assert accuracy(y, always_zero) == 0.95
    assert macro_f1(y, always_zero, 2) < 0.5


def test_titles_end_no_sentence_and_lsum_still_matches_rouge_score():
    from rouge_score import rouge_scorer

    text = "Mr. Smith meets Dr. Green. Mrs. Brown and Ms. White leave! Are they late? Yes."
    assert metrics.split_sentences(text).split("\n") == ["Mr. Smith meets Dr. Green.", "Mrs. Brown and Ms. White leave!",
                                                         "Are they late?", "Yes."]
    scorer = rouge_scorer.RougeScorer(["rougeLsum"], use_stemmer=True)
    pred = "Dr. Green meets Mr. Smith. Mrs. Brown leaves."
    ours = metrics.rouge_per_example([pred], [text])["rougeLsum"][0]
    theirs = scorer.score(metrics.split_sentences(text), metrics.split_sentences(pred))["rougeLsum"].fmeasure
    assert ours == theirs


def test_several_references_take_the_best_as_rouge_score_does():
    from rouge_score import rouge_scorer

    refs = ["the cat sat on the mat", "a dog ran in the park", "cats sit"]
    pred = "a dog ran"
    ours = metrics.rouge_per_example([pred, pred], [refs, refs[0]])
    theirs = rouge_scorer.RougeScorer(list(metrics.ROUGE_KEYS), use_stemmer=True).score_multi(refs, pred)
    for k in metrics.ROUGE_KEYS:
        assert ours[k][0] == theirs[k].fmeasure and ours[k][0] > ours[k][1]


def test_p_value_is_shown_with_its_resolution():
    assert metrics.paired_bootstrap([0.0] * 50, [1.0] * 50, samples=1000).p_text == "< 0.001"
    assert metrics.paired_bootstrap([1.0] * 50, [0.0] * 50, samples=1000).p_text == "= 1.000"


def test_the_randomization_p_value_is_the_chance_of_doing_as_well_by_swapping():
    # three pairs, B ahead by 1 on each: swapping at random gives a mean of at least 1 only when no pair is
    # swapped, with probability 1/8
    p = metrics.paired_randomization([0.0, 0.0, 0.0], [1.0, 1.0, 1.0], samples=4000, seed=1)
    assert abs(p - 0.125) < 0.02
    assert metrics.paired_randomization([0.0] * 40, [0.0] * 40) == 1.0  # no difference: no evidence


def test_the_typical_summary_is_drawn_fairly_from_many_candidates():
    """More than `limit` distinct summaries: a seeded random sample is compared, not the alphabetically first ones
    (which start with quotes and digits)."""
    from llmft.evaluation import typical_summary

    quotes = [f'"{i} said the minister"' for i in range(200)]
    typical = [f"the council approved the plan for the new school number {i}" for i in range(200)]
    chosen = typical_summary(quotes + typical, limit=150)
    assert chosen.startswith("the council approved")
    assert chosen == typical_summary(quotes + typical, limit=150)  # seeded: the same every run


def test_an_unknown_token_in_generated_ids_shows_in_the_text(tiny_t5):
    """Decoding drops special tokens but keeps <unk>: the fluency check then counts an output that has one (with
    `skip_special_tokens=True` it could never fire)."""
    import torch

    from llmft.evaluation import fluency
    from llmft.evaluation.generation import generate

    model, tokenizer = tiny_t5
    word = tokenizer("hello", add_special_tokens=False)["input_ids"]
    ids = torch.tensor([[tokenizer.pad_token_id, *word, tokenizer.unk_token_id, *word, tokenizer.eos_token_id]])
    model.generate = lambda **kwargs: ids
    [text] = generate(model, tokenizer, ["anything"], max_source_len=16, max_new_tokens=8)
    assert "<unk>" in text and "</s>" not in text and "<pad>" not in text
    assert fluency([text], {"hello"})["unk_share"] == 1.0
