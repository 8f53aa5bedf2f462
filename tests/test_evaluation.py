import numpy as np
from datasets import Dataset

from llmft.cases import get_case
from llmft.evaluation import EvalSet, by_group, constant_baseline, fluency, lead_baseline, quality_table, score

CASE = get_case("dialogsum-flan-t5")


def _evalset():
    return EvalSet([{"dialogue": "#Person1#: Hi.\n#Person2#: Hello.\n#Person1#: Bye.", "topic": "a"},
                    {"dialogue": "#Person1#: Tea?\n#Person2#: Yes.", "topic": "b"}],
                   [["They greet.", "#Person1# says hi."], ["#Person2# wants tea."]])


def test_lead_and_constant_baselines():
    ev = _evalset()
    assert lead_baseline(ev, CASE) == ["#Person1#: Hi. #Person2#: Hello.", "#Person1#: Tea? #Person2#: Yes."]
    train = Dataset.from_list([{"dialogue": "x", "summary": s, "topic": "a"} for s in
                               ["A buys a red coat.", "A buys a blue coat.", "A buys a red hat.", "B sells a car.",
                                "A buys a green coat."]])
    preds, info = constant_baseline(train, ev, CASE, "topic")
    assert preds[0] == "A buys a red coat." and preds[1] == info["overall"]  # topic b is unseen: overall constant


def test_best_reference_counts(tiny_run):
    ev = _evalset()
    s = score("x", ["#Person1# says hi.", "nothing"], ev, tiny_run)
    assert s.per_example["rougeL"][0] == 1.0 and s.per_example["rougeL"][1] == 0.0


def test_fluency_counts_real_words_and_unk():
    f = fluency(["the cat sat", "zzq <unk> cat"], {"the", "cat", "sat"})
    # "zzq" and the "unk" of <unk> are no words
    assert f["real_word_share"] == 4 / 6 and f["unk_share"] == 0.5 and f["empty_share"] == 0.0


def test_by_group_pools_small_groups(tiny_run):
    ev = EvalSet([{"dialogue": str(i), "topic": "big" if i < 6 else f"t{i}"} for i in range(9)], [["a"]] * 9)
    s = score("x", ["a"] * 9, ev, tiny_run)
    table = by_group(ev, [s], "topic", min_examples=5)
    assert list(table.index) == ["big", "(other)"] and table["inputs"].tolist() == [6, 3]
    assert np.allclose(table["x"], 1.0)


def test_quality_table_has_scores_fluency_and_its_caption(tiny_run):
    ev = _evalset()
    s = score("x", ["#Person1# says hi.", "nothing <unk>"], ev, tiny_run)
    styled = quality_table([s], {"person", "says", "hi", "nothing"}, "made by: stand-in, synthetic")
    table = styled.data
    assert list(table.index) == ["x"] and table.loc["x", "unknown token"] == "50 %" and table.loc["x", "looping"] == "0 %"
    assert "made by: stand-in, synthetic" in styled.to_html()


def test_loops_and_unsupported_names():
    from llmft.evaluation import loops, unsupported_names

    assert loops("signing signing signing") and loops("the cat sat, the cat sat, the cat sat")
    assert not loops("#Person1# asks #Person2# about the job and #Person2# says yes.")
    assert fluency(["a b c", "x x x y"], {"a", "b", "c", "x", "y"})["loop_share"] == 0.5
    got = unsupported_names(["A man from Newport was jailed for 15 years.", "Coastguards rescued three people near Hull.",
                             "A £5m pool for Hull."], ["He lived in Bristol for 15 years.", "near Hull", "a £5m pool in Hull"])
    assert got.tolist() == [1.0, 0.0, 0.0]  # a sentence's first word is not a name; Newport is not in its source
