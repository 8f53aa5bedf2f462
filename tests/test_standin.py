import dataclasses
import json

import pytest
import torch
from conftest import TINY

from llmft.data.synthetic import dialogsum
from llmft.models.standins.corpora import pretraining_pairs
from llmft.models.standins.t5 import build_t5, pretrain_seq2seq, t5_standin
from llmft.models.standins.tokenizer import train_tokenizer

VARIED = [
    "80 dollars", "Dr. Jones paid $4,567.89 (about 7%) on 6/9/2024; Q: why? U.V. & Z!",
    "Ünïcödé café — naïve “quotes” 😀", "Mr. Smith's DJ set at 9:45pm (JQV)", "x = {a: [1, 2]} | y <= 3 ~ `z`",
    "She said: 'It's 10:30 already!' -- and left.", "Tabs\tand\nnewlines  collapse",
]


def test_every_character_round_trips(tiny_tokenizer):
    splits = dialogsum.make_splits({"train": 200, "validation": 20, "test": 20}, seed=5)
    texts = [r[f] for rows in splits.values() for r in rows for f in ("dialogue", "summary", "topic")] + VARIED
    for text in texts:
        ids = tiny_tokenizer(text)["input_ids"]
        assert ids[-1] == tiny_tokenizer.eos_token_id
        assert tiny_tokenizer.unk_token_id not in ids
        assert tiny_tokenizer.decode(ids, skip_special_tokens=True) == " ".join(text.split())  # white space folds, as in T5
    assert (tiny_tokenizer.pad_token_id, tiny_tokenizer.eos_token_id, tiny_tokenizer.unk_token_id) == (0, 1, 2)


def test_common_words_are_single_pieces():
    pairs = pretraining_pairs(2000, 0)
    tok = train_tokenizer([s for p in pairs for s in p], 4000)
    for word in ("because", "conversation", "dollars", "interview", "birthday", "expensive"):
        assert len(tok.tokenize(" " + word)) == 1, (word, tok.tokenize(" " + word))
    assert 1000 < len(tok) <= 4000


def test_tokenizer_survives_save_and_reload(tiny_tokenizer, tmp_path):
    from transformers import AutoTokenizer

    tiny_tokenizer.save_pretrained(tmp_path)
    again = AutoTokenizer.from_pretrained(tmp_path)
    for text in VARIED:
        assert again(text)["input_ids"] == tiny_tokenizer(text)["input_ids"]


def test_tokenizer_training_is_deterministic():
    texts = [s for p in pretraining_pairs(300, 0) for s in p]
    assert train_tokenizer(texts, 600).get_vocab() == train_tokenizer(texts, 600).get_vocab()


def test_standin_has_flan_t5_shape(tiny_t5):
    model, _ = tiny_t5
    assert model.config.feed_forward_proj == "gated-gelu"
    assert model.lm_head.weight.data_ptr() != model.shared.weight.data_ptr()  # untied, as in Flan-T5


def test_pretraining_never_shows_the_chapter_task():
    pairs = pretraining_pairs(600, seed=0)
    assert not any("Summarize the following conversation" in src for src, _ in pairs)
    chats = [(s, t) for s, t in pairs if s.startswith(("Summarize this chat", "Briefly", "Sum up"))]
    assert 0.3 < len(chats) / len(pairs) < 0.7
    assert not any("#Person" in t for _, t in chats)  # SAMSum's convention, never DialogSum's


def test_pretraining_lowers_the_loss(tiny_t5):
    import dataclasses

    model, tok = tiny_t5
    spec = dataclasses.replace(TINY, pretrain_steps=60, pretrain_lr=1e-2, pretrain_batch=8)
    losses = pretrain_seq2seq(model, tok, pretraining_pairs(200, 0), spec)
    assert losses[0] < 12  # the head's init keeps the first loss near ln(vocabulary), not ~90
    assert sum(losses[-5:]) / 5 < 0.8 * sum(losses[:5]) / 5


def test_standin_is_built_once_then_reused(tmp_path):
    path = t5_standin(TINY, cache=tmp_path)
    meta = json.loads((path / "standin.json").read_text())
    stamp = (path / "standin.json").stat().st_mtime_ns
    assert t5_standin(TINY, cache=tmp_path) == path
    assert (path / "standin.json").stat().st_mtime_ns == stamp
    assert meta["spec"]["d_model"] == TINY.d_model and len(meta["pretrain_loss"]) == TINY.pretrain_steps
    assert not list(tmp_path.glob("*.tmp*"))  # no half-built folder left behind


def test_cache_key_covers_spec_and_data(monkeypatch):

    from llmft.models.standins import t5 as standin

    key = TINY.key()
    assert dataclasses.replace(TINY, pretrain_steps=4).key() != key
    monkeypatch.setattr(standin, "_code_fingerprint", lambda corpus: "another generator")
    assert TINY.key() != key


@pytest.mark.filterwarnings("ignore")
def test_standin_build_is_deterministic(tmp_path):
    from transformers import T5ForConditionalGeneration

    a = T5ForConditionalGeneration.from_pretrained(t5_standin(TINY, cache=tmp_path / "a"))
    b = T5ForConditionalGeneration.from_pretrained(t5_standin(TINY, cache=tmp_path / "b"))
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))


def test_micro_batches_take_the_same_step_as_the_whole_batch(tiny_tokenizer):
    import dataclasses

    pairs = pretraining_pairs(200, 0)
    spec = dataclasses.replace(TINY, pretrain_steps=4, pretrain_batch=8, micro_batch=8)
    whole, parts = build_t5(spec, tiny_tokenizer), build_t5(spec, tiny_tokenizer)
    a = pretrain_seq2seq(whole, tiny_tokenizer, pairs, spec)
    b = pretrain_seq2seq(parts, tiny_tokenizer, pairs, dataclasses.replace(spec, micro_batch=3))
    assert torch.allclose(torch.tensor(a), torch.tensor(b), atol=1e-5)
    for p, q in zip(whole.parameters(), parts.parameters()):
        assert torch.allclose(p, q, atol=1e-5)


def test_pretraining_leaves_out_pairs_that_do_not_fit(tiny_tokenizer):
    import dataclasses

    spec = dataclasses.replace(TINY, max_source_len=3)
    with pytest.raises(ValueError, match="max_source_len=3"):
        pretrain_seq2seq(build_t5(spec, tiny_tokenizer), tiny_tokenizer, pretraining_pairs(50, 0), spec)


def test_t5_small_standin_is_t5_v1_0_tied_relu(tmp_path):
    from llmft.models.standins.t5 import T5_SMALL

    tiny = dataclasses.replace(T5_SMALL, vocab_size=600, d_model=32, d_ff=64, num_layers=1, num_heads=2, d_kv=16,
                               pretrain_examples=200, pretrain_steps=2, pretrain_batch=4)
    path = t5_standin(tiny, cache=tmp_path)
    assert path.name.startswith("t5-small-standin-") and tiny.key() != dataclasses.replace(tiny, corpus="chats").key()
    from transformers import T5ForConditionalGeneration

    model = T5ForConditionalGeneration.from_pretrained(path)
    assert model.config.feed_forward_proj == "relu" and model.lm_head.weight is model.shared.weight


def test_news_pretraining_never_teaches_xsum_summaries():
    from llmft.evaluation.metrics import sentences
    from llmft.models.standins.corpora import news_pretraining_pairs

    pairs = news_pretraining_pairs(400, 0)
    summarize = [(s, t) for s, t in pairs if s.startswith("summarize: ")]
    assert 0.2 < len(summarize) / len(pairs) < 0.5
    for source, target in summarize:  # CNN/Daily Mail style: the story's first sentences, copied
        body = source[len("summarize: "):]
        assert all(s in body for s in sentences(target)) and body.startswith(sentences(target)[0])
    tasks = {s.split(":")[0] for s, _ in pairs}
    assert tasks == {"summarize", "Copy the text", "Continue the text", "Fill in the missing words"}
