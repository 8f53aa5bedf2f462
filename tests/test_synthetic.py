from llmft.synthetic import dialogsum


def test_schema_and_ids_match_dialogsum():
    rows = dialogsum.make_split("test", 5, seed=0)
    assert [r["id"] for r in rows] == [f"test_{i}_1" for i in range(5)]
    for r in rows:
        assert set(r) == {"id", "dialogue", "summary", "topic"}
        lines = r["dialogue"].split("\n")
        assert lines[0].startswith("#Person1#: ")
        assert all(line.split(": ", 1)[0] in ("#Person1#", "#Person2#") for line in lines)


def test_speakers_alternate_and_summaries_name_them():
    for r in dialogsum.make_split("train", 300, seed=1):
        speakers = [line.split(":", 1)[0] for line in r["dialogue"].split("\n")]
        assert all(a != b for a, b in zip(speakers, speakers[1:]))
        assert "#Person" in r["summary"]


def test_deterministic_and_splits_differ():
    assert dialogsum.make_split("train", 20, seed=3) == dialogsum.make_split("train", 20, seed=3)
    train = {r["dialogue"] for r in dialogsum.make_split("train", 50, seed=3)}
    test = {r["dialogue"] for r in dialogsum.make_split("test", 50, seed=3)}
    assert train != test


def test_summaries_are_not_one_template():
    rows = dialogsum.make_split("train", 500, seed=0)
    assert len({r["summary"] for r in rows}) > 300
    assert len({r["topic"] for r in rows}) == len(dialogsum.TOPICS)
    # the outcome changes the summary: the same topic has several summary shapes
    shopping = {r["summary"].split(" ")[1] for r in rows if r["topic"] == "shopping"}
    assert {"buys", "wants"} <= shopping
