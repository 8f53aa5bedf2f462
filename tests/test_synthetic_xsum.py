"""The synthetic XSum articles: the hub's schema, long documents, abstractive one-sentence summaries."""

import re
import statistics

from llmft.data.synthetic import xsum
from llmft.evaluation.metrics import sentences

SIZES = {"train": 400, "validation": 40, "test": 40}


def test_schema_ids_and_splits_are_disjoint():
    splits = xsum.make_splits(SIZES, seed=0)
    assert {k: len(v) for k, v in splits.items()} == SIZES
    for rows in splits.values():
        assert all(set(r) == {"document", "summary", "id"} and r["id"].isdigit() for r in rows)
    ids = [r["id"] for rows in splits.values() for r in rows]
    assert len(set(ids)) == len(ids)
    docs = [{r["document"] for r in rows} for rows in splits.values()]
    assert not (docs[0] & docs[1]) and not (docs[0] & docs[2]) and not (docs[1] & docs[2])
    assert xsum.make_splits(SIZES, seed=0) == splits and xsum.make_splits(SIZES, seed=1) != splits


def test_documents_are_long_with_a_tail():
    words = [len(r["document"].split()) for r in xsum.make_splits(SIZES, seed=0)["train"]]
    assert statistics.mean(words) > 250 and max(words) > 500 and min(words) > 80


def test_summaries_are_one_new_sentence_whose_facts_are_in_the_document():
    for r in xsum.make_splits(SIZES, seed=0)["train"]:
        assert len(sentences(r["summary"])) == 1
        assert r["summary"] not in r["document"]  # abstractive: the introduction was removed
        # every name and number the summary states is somewhere in the document
        for token in re.findall(r"\b(?:[A-Z][a-z]+|£?\d[\d,.]*m?)\b", r["summary"][1:]):
            assert token in r["document"], (token, r["summary"])


def test_the_document_does_not_start_with_the_point():
    rows = xsum.make_splits(SIZES, seed=0)["train"]
    firsts = [sentences(r["document"])[0] for r in rows]
    assert all(f != r["summary"] for f, r in zip(firsts, rows))


def test_pretraining_articles_are_whole_and_from_another_stream():
    articles = xsum.pretraining_articles(50, seed=0)
    docs = {r["document"] for rows in xsum.make_splits(SIZES, seed=0).values() for r in rows}
    assert not any(a.split("\n", 1)[1] in docs for a in articles)
    assert statistics.mean(len(a.split()) for a in articles) < 250  # short: the stand-in pre-trains on 320 tokens
