import json

import torch

from conftest import TINY
from llmft.standin import pretrain_seq2seq, pretraining_pairs, t5_standin


def test_tokenizer_round_trips_and_appends_eos(tiny_tokenizer):
    text = "#Person1#: I'd like the fried rice, please. #Person2#: Sure."
    ids = tiny_tokenizer(text)["input_ids"]
    assert ids[-1] == tiny_tokenizer.eos_token_id
    assert tiny_tokenizer.decode(ids, skip_special_tokens=True) == text
    assert tiny_tokenizer.unk_token_id not in ids
    assert (tiny_tokenizer.pad_token_id, tiny_tokenizer.eos_token_id) == (0, 1)
    # like T5's tokenizer, newlines become spaces
    assert tiny_tokenizer("a\nb")["input_ids"] == tiny_tokenizer("a b")["input_ids"]


def test_tokenizer_training_is_deterministic():
    from llmft.standin import train_unigram_tokenizer

    texts = [s for p in pretraining_pairs(300, 0) for s in p]
    assert train_unigram_tokenizer(texts, 300).get_vocab() == train_unigram_tokenizer(texts, 300).get_vocab()


def test_standin_has_flan_t5_shape(tiny_t5):
    model, _ = tiny_t5
    assert model.config.feed_forward_proj == "gated-gelu"
    assert model.lm_head.weight.data_ptr() != model.shared.weight.data_ptr()  # untied, as in Flan-T5


def test_pretraining_pairs_never_contain_summaries():
    pairs = pretraining_pairs(200, seed=0)
    assert not any(src.startswith("Summarize") for src, _ in pairs)
    assert {src.split(":")[0] for src, _ in pairs} == {"Continue the conversation", "Fill in the missing words",
                                                        "Repeat the first line"}


def test_pretraining_lowers_the_loss(tiny_t5):
    import dataclasses

    model, tok = tiny_t5
    spec = dataclasses.replace(TINY, pretrain_steps=30, pretrain_lr=3e-3)
    losses = pretrain_seq2seq(model, tok, pretraining_pairs(200, 0), spec)
    assert sum(losses[-5:]) / 5 < 0.7 * sum(losses[:5]) / 5


def test_standin_is_built_once_then_reused(tmp_path):
    path = t5_standin(TINY, cache=tmp_path)
    meta = json.loads((path / "standin.json").read_text())
    stamp = (path / "standin.json").stat().st_mtime_ns
    assert t5_standin(TINY, cache=tmp_path) == path
    assert (path / "standin.json").stat().st_mtime_ns == stamp
    assert meta["spec"]["d_model"] == TINY.d_model
    assert not list(tmp_path.glob("*.tmp*"))  # no half-built folder left behind


def test_standin_build_is_deterministic(tmp_path):
    from transformers import T5ForConditionalGeneration

    a = T5ForConditionalGeneration.from_pretrained(t5_standin(TINY, cache=tmp_path / "a"))
    b = T5ForConditionalGeneration.from_pretrained(t5_standin(TINY, cache=tmp_path / "b"))
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
