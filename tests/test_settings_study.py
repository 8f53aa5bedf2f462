"""The settings chapter's study at tiny size: the arms, the matched rank, the story splitter, the schedule, and runs that are
deterministic, train only what each arm says, and give paired differences over seeds."""

import math

import numpy as np
import pytest
import torch
from datasets import Dataset

from llmft.studies import settings as st

STORIES = [
    ("Rebels Seize Town in Sudan (Reuters) Reuters - Rebels took control of a town in northern Sudan on Monday.", 0),
    ("Red Sox Beat Yankees 3-1 (AP) AP - The Red Sox beat the Yankees on Sunday behind strong pitching.", 1),
    ("Oil Prices Climb (MarketWatch) MarketWatch - Crude oil rose to a record as exports fell.", 2),
    ("NASA Finds Water on Mars (Space.com) Space.com - Scientists said a rover found signs of water.", 3),
]


def tiny_classifier():
    from transformers import DistilBertConfig, DistilBertForSequenceClassification

    torch.manual_seed(0)
    config = DistilBertConfig(vocab_size=64, dim=32, hidden_dim=64, n_layers=2, n_heads=2, num_labels=4,
                              max_position_embeddings=64)
    return DistilBertForSequenceClassification(config).eval()


class CharTokenizer:
    """Enough of a tokenizer for the study: ids from characters, truncation, a pad id."""

    pad_token_id = 0

    def __call__(self, texts, max_length, truncation=True):
        return {"input_ids": [[1] + [2 + (ord(c) % 60) for c in t][: max_length - 1] for t in texts]}


def tiny_study(budget=None):
    rows = [{"text": t, "label": y} for t, y in STORIES * 10]
    data = Dataset.from_list(rows)
    budget = budget or st.Budget(steps=4, batch_size=4, max_len=24, train_examples=40, test_examples=20,
                                 seeds=(0, 1, 2), probe_items=20, eval_batch_size=8)
    return st.build_study(tiny_classifier(), CharTokenizer(), data, data, budget)


def test_split_story_reads_the_ag_news_shape_and_refuses_others():
    assert st.split_story(STORIES[0][0]) == ("Rebels Seize Town in Sudan",
                                             "Rebels took control of a town in northern Sudan on Monday.")
    assert st.split_story("Wall St. Bears Claw Back (Reuters) - Short-sellers are back.") == (
        "Wall St. Bears Claw Back", "Short-sellers are back.")
    assert st.split_story("A headline without a source or a description") is None


def test_schedule_warms_up_then_decays_to_zero():
    values = [st.schedule(s, 10, 2) for s in range(11)]
    assert values[:3] == [0.0, 0.5, 1.0] and values[-1] == 0.0
    assert all(a >= b for a, b in zip(values[2:], values[3:]))


def test_arms_are_unique_and_the_matched_rank_is_closest_in_size():
    dims = {"q_lin": (384, 384), "k_lin": (384, 384), "v_lin": (384, 384), "out_lin": (384, 384),
            "lin1": (384, 1536), "lin2": (1536, 384)}
    k = st.matched_rank(8, st.ATTENTION_QV, st.ALL_LINEAR, dims)
    goal = st.lora_params_per_layer(8, st.ATTENTION_QV, dims)
    assert k == 2 and goal == 12_288
    assert all(abs(st.lora_params_per_layer(k, st.ALL_LINEAR, dims) - goal)
               <= abs(st.lora_params_per_layer(j, st.ALL_LINEAR, dims) - goal) for j in range(1, 9))
    by_question = st.arms(dims)
    labels = [a.label for a in st.unique_arms(by_question)]
    assert len(labels) == len(set(labels))
    assert set(by_question) == {"rank", "scaling", "learning rate", "modules", "variants"}
    with pytest.raises(ValueError, match="Two different arms"):
        st.unique_arms({"a": [st.Arm("x", r=1)], "b": [st.Arm("x", r=2)]})


def test_scales():
    assert st.Arm("a", r=16, alpha=8).scale == 0.5
    assert st.Arm("b", r=16, alpha=8, rslora=True).scale == 2.0
    assert math.isnan(st.Arm("c", full=True).scale) and math.isnan(st.HEAD_ONLY.scale)


@pytest.mark.parametrize("arm, trains", [
    (st.Arm("lora", r=2, learning_rate=1e-2), "adapter and head"),
    (st.HEAD_ONLY, "head"),
    (st.Arm("full", full=True, learning_rate=1e-3), "all"),
    (st.Arm("dora", r=2, dora=True), "adapter and head"),
    (st.Arm("pissa", r=2, init="pissa"), "adapter and head"),
    (st.Arm("plus", r=2, loraplus_ratio=16.0, learning_rate=1e-3), "adapter and head"),
])
def test_each_arm_trains_what_it_says_and_is_deterministic(arm, trains):
    study = tiny_study()
    model = st.prepare(study.base, arm, seed=0)
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    total = sum(1 for _ in model.parameters())
    if trains == "all":
        assert len(trainable) == total
    elif trains == "head":
        assert trainable and all(n.split(".")[0] in st.HEAD for n in trainable)
    else:
        assert any("lora_" in n for n in trainable) and any("classifier" in n for n in trainable)
        assert not any("word_embeddings" in n for n in trainable)
    first, again = study.run(arm, 0, probe=True), study.run(arm, 0, probe=True)
    assert (first.accuracy, first.probe_recall, first.losses) == (again.accuracy, again.probe_recall, again.losses)
    assert len(first.losses) == study.budget.steps and all(np.isfinite(first.losses))
    assert (first.adapter > 0) == (trains == "adapter and head")


def test_the_base_is_never_changed_by_a_run():
    study = tiny_study()
    before = {k: v.clone() for k, v in study.base.state_dict().items()}
    for arm in (st.Arm("full", full=True, learning_rate=1e-2), st.Arm("pissa", r=2, init="pissa")):
        study.run(arm, 0)
    assert all(torch.equal(before[k], v) for k, v in study.base.state_dict().items())


def test_paired_difference_and_tables_over_seeds():
    study = tiny_study()
    arms = [st.Arm("a", r=1), st.Arm("b", r=4, learning_rate=3e-2), st.HEAD_ONLY]
    results = st.run_all(study, arms, probe={"a"})
    assert {k: [r.seed for r in v] for k, v in results.items()} == {a.label: [0, 1, 2] for a in arms}
    d = st.paired_difference(results, "b", "a")
    expected = np.mean([rb.accuracy - ra.accuracy for ra, rb in zip(results["a"], results["b"])])
    assert d["mean"] == pytest.approx(expected) and d["ci_low"] <= d["mean"] <= d["ci_high"] and d["n"] == 3
    table = st.table(results, arms, reference="a")
    assert list(table["arm"]) == ["a", "b", st.HEAD_ONLY.label]
    assert results["a"][0].probe_recall is not None and results["b"][0].probe_recall is None
    rows = st.record(results, {a.label: a for a in arms})
    assert len(rows) == 9 and {"r", "learning_rate", "accuracy", "seed"} <= set(rows[0])


def test_t_interval_uses_the_t_quantile():
    mean, low, high = st.t_interval([0.5, 0.6, 0.7])
    assert mean == pytest.approx(0.6)
    assert high - mean == pytest.approx(4.302653 * 0.1 / math.sqrt(3), rel=1e-5)


def test_too_few_probe_pairs_is_a_clear_error():
    data = Dataset.from_list([{"text": "no shape here", "label": 0}] * 30)
    with pytest.raises(ValueError, match="forgetting probe"):
        st.build_study(tiny_classifier(), CharTokenizer(), data, data, st.BUDGETS["smoke"])
