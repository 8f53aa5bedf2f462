import re

import numpy as np

from llmft.data.synthetic import dialogsum

SPLITS = dialogsum.make_splits({"train": 600, "validation": 40, "test": 40}, seed=0)


def test_schema_and_ids_match_dialogsum():
    assert [r["id"] for r in SPLITS["test"][:6]] == ["test_0_1", "test_0_2", "test_0_3", "test_1_1", "test_1_2", "test_1_3"]
    assert SPLITS["train"][0]["id"] == "train_0" and SPLITS["validation"][0]["id"] == "dev_0"
    for rows in SPLITS.values():
        for r in rows:
            assert set(r) == {"id", "dialogue", "summary", "topic"}
            lines = r["dialogue"].split("\n")
            assert lines[0].startswith("#Person1#: ")
            assert all(re.fullmatch(r"#Person[123]#", line.split(": ", 1)[0]) for line in lines)


def test_test_split_has_three_different_references_per_dialogue():
    rows = SPLITS["test"]
    for i in range(0, len(rows), 3):
        group = rows[i : i + 3]
        assert len({r["dialogue"] for r in group}) == 1
        assert len({r["summary"] for r in group}) == 3


def test_no_validation_or_test_dialogue_appears_in_train():
    train = {r["dialogue"] for r in SPLITS["train"]}
    assert not train & {r["dialogue"] for r in SPLITS["validation"]}
    assert not train & {r["dialogue"] for r in SPLITS["test"]}
    assert not {r["dialogue"] for r in SPLITS["validation"]} & {r["dialogue"] for r in SPLITS["test"]}


def test_deterministic():
    again = dialogsum.make_splits({"train": 600, "validation": 40, "test": 40}, seed=0)
    assert again == SPLITS
    assert dialogsum.make_splits({"train": 20}, seed=1)["train"] != SPLITS["train"][:20]


def test_closer_to_the_real_distribution():
    train = SPLITS["train"]
    words = np.array([len(r["dialogue"].split()) for r in train])
    assert len(dialogsum.SCENES) >= 20
    assert words.mean() >= 90 and np.percentile(words, 95) > 1.8 * words.mean()  # a long tail
    named = np.mean(["#Person" not in r["summary"] for r in train])
    assert 0.05 < named < 0.3  # some summaries use names (real DialogSum: about 14 %)
    assert 0.01 < np.mean(["#Person3#" in r["dialogue"] for r in train]) < 0.15
    assert len({r["topic"] for r in train}) > 60  # free-text topics
    assert len({r["summary"] for r in train}) > 0.8 * len(train)


def test_the_outcome_changes_the_summary():
    shopping = [r["summary"] for r in SPLITS["train"] if r["topic"] in dialogsum.SCENES["shopping"].topics]
    assert any("too expensive" in s for s in shopping) and any("buys a" in s for s in shopping)


def test_named_chats_follow_samsum_not_dialogsum():
    import random

    r = random.Random(0)
    for _ in range(50):
        chat = dialogsum.draw(r, named=True)
        assert all("#Person" not in s for s in chat.summaries)
        bare = dialogsum.draw(r, named=True, chatter=False)
        assert "#Person3#" not in bare.dialogue
