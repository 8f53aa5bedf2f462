"""Shared fixtures: tiny models and runs, built on the spot (no downloads, seconds)."""

from __future__ import annotations

import dataclasses

import pytest

from llmft.cache import cache_root
from llmft.models.standins.corpora import pretraining_pairs
from llmft.models.standins.t5 import T5StandinSpec, build_t5
from llmft.models.standins.tokenizer import train_tokenizer
from llmft.runtime import start

# The machine's stand-in cache, as it is before any test isolates its own (`make standins` filled it).
MACHINE_CACHE = cache_root()

TINY = T5StandinSpec(vocab_size=600, d_model=32, d_ff=64, num_layers=1, num_heads=2, d_kv=16,
                     pretrain_examples=300, pretrain_steps=3, pretrain_batch=4, max_source_len=64)


@pytest.fixture(autouse=True)
def _isolated(tmp_path, monkeypatch):
    """Every test gets its own cache and results folder, and the smoke profile."""
    monkeypatch.setenv("LLMFT_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("LLMFT_RESULTS_DIR", str(tmp_path / "results"))
    monkeypatch.setenv("LLMFT_PROFILE", "smoke")
    from llmft import models

    monkeypatch.setattr(models, "_LOADED", [])  # the one-model rule sees only this test's models


@pytest.fixture(scope="session")
def tiny_tokenizer():
    pairs = pretraining_pairs(TINY.pretrain_examples, seed=0)
    return train_tokenizer([s for p in pairs for s in p], TINY.vocab_size)


@pytest.fixture(scope="session")
def smollm2_path():
    """The real SmolLM2-135M-Instruct, converted once per machine (not once per test)."""
    from llmft.models.standins.smollm2 import smollm2

    return smollm2(cache=MACHINE_CACHE, log=lambda *_: None)


@pytest.fixture
def tiny_t5(tiny_tokenizer):
    return build_t5(TINY, tiny_tokenizer), tiny_tokenizer


@pytest.fixture
def tiny_run():
    """The smoke run of case 2, shrunk to a few steps and examples."""
    run = start("dialogsum-flan-t5", "smoke", quiet=True)
    run.sizes = dataclasses.replace(run.sizes, train_examples=16, eval_examples=8, max_steps=4, batch_size=4,
                                    max_source_len=64, max_target_len=64, max_new_tokens=8, logging_steps=1,
                                    bootstrap_samples=200, qlora_max_steps=None)
    return run


def pytest_collection_modifyitems(config, items):
    """Book-build tests run last, after nbmake has executed the staged notebooks."""
    items.sort(key=lambda item: item.get_closest_marker("book") is not None)
