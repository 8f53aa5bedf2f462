import pytest

from llmft.cases import CASES, get_case


def test_five_cases_numbered_one_to_five():
    assert sorted(c.number for c in CASES.values()) == [1, 2, 3, 4, 5]


def test_unknown_case_lists_the_valid_ones():
    with pytest.raises(ValueError) as err:
        get_case("nope")
    for key in CASES:
        assert key in str(err.value)


def test_case_two_is_the_dialogsum_setup_of_the_source_project():
    c = get_case("dialogsum-flan-t5")
    assert c.model_id == "google/flan-t5-base" and c.dataset_id == "knkarthick/dialogsum"
    assert (c.lora.r, c.lora.alpha, c.lora.dropout, c.lora.target_modules) == (32, 32, 0.05, ("q", "v"))
    prompt = c.format_prompt({"dialogue": "#Person1#: Hi."})
    assert prompt.startswith("Summarize the following conversation:") and "#Person1#: Hi." in prompt


def test_prompts_use_only_declared_fields():
    for c in CASES.values():
        record = {f: f"<{f}>" for f in c.input_fields}
        text = c.format_prompt(record)
        assert all(f"<{f}>" in text for f in c.input_fields), c.key


def test_gated_case_names_an_open_fallback():
    gated = [c for c in CASES.values() if c.gated]
    assert gated and all(c.open_fallback for c in gated)
