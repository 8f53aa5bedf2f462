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


def test_one_registration_reaches_every_part_of_the_book(monkeypatch):
    """A case registered once is known to profiles, synthetic data, the offline model and the published figures."""
    import dataclasses

    from llmft import cases
    from llmft.cases.spec import REGISTRY, Synthetic, register

    monkeypatch.setattr(cases.spec, "CASES", dict(cases.CASES))
    monkeypatch.setattr(cases.spec, "REGISTRY", dict(REGISTRY))
    base = cases.registration("agnews-distilbert")
    new = dataclasses.replace(base.case, key="a-new-case", number=9)
    register(new, sizes=base.sizes, standin="llmft.models.standins.minilm:minilm_distilbert",
             synthetic=Synthetic("llmft.data.synthetic.agnews:make_splits", {"train": 10}))
    assert cases.spec.get_case("a-new-case") is new
    assert cases.spec.REGISTRY["a-new-case"].synthetic.splits == {"train": 10}
    assert cases.resolve(cases.spec.REGISTRY["a-new-case"].standin).__name__ == "minilm_distilbert"
    with pytest.raises(ValueError, match="registered twice"):
        register(new, sizes=base.sizes, standin="x:y")
    with pytest.raises(ValueError, match="number 9 is taken"):
        register(dataclasses.replace(new, key="another"), sizes=base.sizes, standin="x:y")


def test_the_registry_is_what_the_layers_read():
    from llmft import data, models
    from llmft.cases import REGISTRY
    from llmft.report.published import PUBLISHED

    assert set(models.STANDINS) == set(REGISTRY) == set(PUBLISHED)
    assert set(data.SYNTHETIC) == {k for k, r in REGISTRY.items() if r.synthetic} == set(REGISTRY) - {"papers-llama3"}
    assert data.SYNTHETIC_SPLIT_SIZES["alpaca-gpt2"] == {"train": 4000}
    assert all(p.case == key for key, rows in PUBLISHED.items() for p in rows)


def test_each_case_states_its_real_models_parameters():
    """`Case.real_parameters` (what the one-model-at-a-time rule reads) is the count of the real architecture."""
    from llmft import models
    from llmft.cases import CASES

    for case in CASES.values():
        assert case.real_parameters == models.count_params(models.real_size_on_meta(case)).total, case.key
