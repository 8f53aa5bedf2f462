"""Loading, bringing your own data, carving splits, and prompts that keep their instruction."""

import dataclasses
import json

import pandas as pd
import pytest

from llmft import data
from llmft.cases import get_case
from llmft.evaluation import EvalSet

CASE = get_case("dialogsum-flan-t5")


def test_truncation_cuts_the_dialogue_never_the_cue(tiny_tokenizer):
    record = {"dialogue": "\n".join(f"#Person{1 + i % 2}#: line number {i} of a very long talk." for i in range(80))}
    for limit in (24, 40, 64):
        prompt = data.fit_prompt(CASE, record, tiny_tokenizer, limit)
        assert prompt.startswith("Summarize the following conversation:") and prompt.endswith("Summary:")
        assert len(tiny_tokenizer(prompt)["input_ids"]) <= limit
    short = {"dialogue": "#Person1#: Hi."}
    assert data.fit_prompt(CASE, short, tiny_tokenizer, 64) == CASE.format_prompt(short)


def test_an_over_long_instruction_is_cut_too_and_an_input_never_vanishes(tiny_tokenizer):
    """Alpaca's template: the input is cut first (down to a floor), then the instruction; neither is cut to
    nothing (an empty input would switch to the no-input template), and a prompt that cannot fit is refused."""
    alpaca = get_case("alpaca-gpt2")
    long_instruction = {"instruction": "Describe " + "the very old town " * 60, "input": ""}
    # (the tiny test tokenizer spends 83 tokens on the template alone, 116 with an input)
    prompt = data.fit_prompt(alpaca, long_instruction, tiny_tokenizer, 120)
    assert len(tiny_tokenizer(prompt)["input_ids"]) <= 120 and prompt.endswith("### Response:\n")
    both = {"instruction": "Summarize " + "the long story " * 40, "input": "a tale " * 40}
    prompt = data.fit_prompt(alpaca, both, tiny_tokenizer, 200)
    assert len(tiny_tokenizer(prompt)["input_ids"]) <= 200 and "### Input:" in prompt  # the input kept a part
    assert "Summarize the long story" in prompt  # and the instruction its start
    with pytest.raises(ValueError, match="template is too long"):
        data.fit_prompt(alpaca, both, tiny_tokenizer, 100)


def test_tokenized_inputs_end_with_the_cue(tiny_run, tiny_tokenizer):
    splits = data.load_splits(tiny_run)
    tok = data.tokenize_seq2seq(splits["train"], tiny_tokenizer, CASE, tiny_run.sizes)
    cue = tiny_tokenizer("Summary:", add_special_tokens=False)["input_ids"]
    for ids in tok["input_ids"]:
        assert len(ids) <= tiny_run.sizes.max_source_len and ids[-1 - len(cue) : -1] == cue


def test_smoke_test_split_keeps_references_together(tiny_run):
    splits = data.load_splits(tiny_run)
    test = EvalSet.from_split(splits["test"], CASE)
    assert len(test) == tiny_run.sizes.eval_examples and test.references_per_input == 3
    assert not set(splits["test"]["dialogue"]) & set(splits["train"]["dialogue"])


def _write(folder, split, rows, fmt):
    folder.mkdir(exist_ok=True)
    df = pd.DataFrame(rows)
    if fmt == "jsonl":
        (folder / f"{split}.jsonl").write_text("\n".join(json.dumps(r) for r in rows))
    elif fmt == "csv":
        df.to_csv(folder / f"{split}.csv", index=False)
    else:
        df.to_parquet(folder / f"{split}.parquet")


ROWS = [{"id": f"x{i}", "dialogue": f"#Person1#: Hello {i}.\n#Person2#: Hi.", "summary": f"They greet {i}.",
         "topic": "greeting"} for i in range(60)]


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "parquet"])
def test_your_own_files_in_any_format_and_carved_splits(tiny_run, tmp_path, monkeypatch, fmt):
    _write(tmp_path / "mine", "train", ROWS, fmt)
    monkeypatch.setenv("LLMFT_DATA", str(tmp_path / "mine"))
    splits = data.load_splits(tiny_run)
    assert data.data_source(tiny_run) == "your files (LLMFT_DATA)"
    seen = [set(splits[s]["dialogue"]) for s in ("train", "validation", "test")]
    assert seen[0] and seen[1] and seen[2]
    assert not (seen[0] & seen[1]) and not (seen[0] & seen[2]) and not (seen[1] & seen[2])
    again = data.load_splits(tiny_run)
    assert again["test"]["id"] == splits["test"]["id"]  # carving is deterministic


def test_missing_field_or_split_is_a_clear_error(tiny_run, tmp_path, monkeypatch):
    monkeypatch.setenv("LLMFT_DATA", str(tmp_path / "nothing"))
    with pytest.raises(FileNotFoundError, match="not a folder"):
        data.load_splits(tiny_run)
    (tmp_path / "empty").mkdir()
    monkeypatch.setenv("LLMFT_DATA", str(tmp_path / "empty"))
    with pytest.raises(FileNotFoundError, match="No train file.*dialogue, summary"):
        data.load_splits(tiny_run)
    _write(tmp_path / "bad", "train", [{"text": "no dialogue here", "summary": "x"}] * 30, "jsonl")
    monkeypatch.setenv("LLMFT_DATA", str(tmp_path / "bad"))
    with pytest.raises(ValueError, match="lacks the field.*dialogue"):
        data.load_splits(tiny_run)


def test_carving_keeps_an_inputs_references_together():
    from datasets import Dataset

    rows = [{"dialogue": f"d{i // 3}", "summary": f"s{i}"} for i in range(90)]
    parts = data.carve(Dataset.from_list(rows), {"validation": 0.1, "test": 0.1}, seed=0, fields=("dialogue",))
    groups = [set(parts[s]["dialogue"]) for s in ("train", "validation", "test")]
    assert sum(len(g) for g in groups) == 30 and not (groups[0] & groups[2])
    assert all(len(parts[s]) == 3 * len(g) for s, g in zip(("train", "validation", "test"), groups))


def test_your_own_news_articles_for_case_1(tiny_run, tmp_path, monkeypatch):
    """Bring your own data for XSum's case: documents and one-sentence summaries, validation and test carved."""
    run = dataclasses.replace(tiny_run, case=get_case("xsum-t5-small"))
    rows = [{"id": str(i), "document": f"Paragraph one of story {i}.\nParagraph two.", "summary": f"Story {i}."}
            for i in range(60)]
    _write(tmp_path / "news", "train", rows, "jsonl")
    monkeypatch.setenv("LLMFT_DATA", str(tmp_path / "news"))
    splits = data.load_splits(run)
    ids = [set(splits[s]["id"]) for s in ("train", "validation", "test")]
    assert all(ids) and not (ids[0] & ids[1]) and not (ids[0] & ids[2]) and not (ids[1] & ids[2])
    assert set(splits["test"].column_names) >= {"document", "summary"}
    _write(tmp_path / "bad", "train", [{"text": "no document", "summary": "x"}] * 30, "jsonl")
    monkeypatch.setenv("LLMFT_DATA", str(tmp_path / "bad"))
    with pytest.raises(ValueError, match="lacks the field.*document"):
        data.load_splits(run)


def test_your_own_instructions_for_case_3(tiny_run, tmp_path, monkeypatch):
    """Bring your own Alpaca-style data: validation and test carved by (instruction, input), never by ``text``
    (which holds the answer), so an instruction answered twice stays on one side."""
    run = dataclasses.replace(tiny_run, case=get_case("alpaca-gpt2"))
    rows = [{"instruction": f"Task {i // 2}.", "input": "" if i % 4 < 2 else f"data {i // 2}",
             "output": f"Answer {i}.", "text": f"... Answer {i}."} for i in range(120)]
    _write(tmp_path / "mine", "train", rows, "jsonl")
    monkeypatch.setenv("LLMFT_DATA", str(tmp_path / "mine"))
    splits = data.load_splits(run)
    keys = [{(r["instruction"], r["input"]) for r in splits[s]} for s in ("train", "validation", "test")]
    assert all(keys) and not (keys[0] & keys[1]) and not (keys[0] & keys[2]) and not (keys[1] & keys[2])
    _write(tmp_path / "bad", "train", [{"instruction": "x", "output": "y"}] * 30, "jsonl")
    monkeypatch.setenv("LLMFT_DATA", str(tmp_path / "bad"))
    with pytest.raises(ValueError, match="lacks the field.*input"):
        data.load_splits(run)


def test_your_own_triples_for_case_4_are_carved_by_paper(tiny_run, tmp_path, monkeypatch):
    """Bring your own triples (case 4): validation and test are carved by the ``paper`` field when there is one,
    so no held-out triple comes from a paper seen in training; without ``LLMFT_DATA`` and without the chapter's
    own build, the error says what to do."""
    run = dataclasses.replace(tiny_run, case=get_case("papers-llama3"))
    rows = [{"instruction": f"What does paper {i % 40} say about X{i}?", "input": f"text {i}", "output": f"Answer {i}.",
             "paper": f"paper-{i % 40}"} for i in range(400)]
    _write(tmp_path / "mine", "train", rows, "jsonl")
    monkeypatch.setenv("LLMFT_DATA", str(tmp_path / "mine"))
    splits = data.load_splits(run)
    papers = [set(splits[s]["paper"]) for s in ("train", "validation", "test")]
    assert all(papers) and not (papers[0] & papers[1]) and not (papers[0] & papers[2]) and not (papers[1] & papers[2])
    monkeypatch.delenv("LLMFT_DATA")
    with pytest.raises(ValueError, match="builds one"):
        data.load_splits(run)
