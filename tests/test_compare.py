"""The comparison chapter's reading of results files: complete, missing and failed cases all stay in view."""

from __future__ import annotations

import json
import re
from pathlib import Path

import matplotlib
import pytest

from llmft.cases import get_case
from llmft.report import compare, plots, published, results

matplotlib.use("Agg")


def _est(mean, width=0.05):
    return {"mean": mean, "ci_low": mean - width, "ci_high": mean + width}


def _payload(case: str, metric: str, lora_first: bool = True) -> dict:
    systems = {"zero_shot": {metric: _est(0.2)}, "lead": {metric: _est(0.3)}, "constant": {metric: _est(0.35)},
               "lora": {metric: _est(0.6)}, "qlora": {metric: _est(0.58)}}
    pair = "QLoRA_vs_LoRA" if lora_first else "LoRA_vs_QLoRA"
    diff = -0.02 if lora_first else 0.02
    return {
        "case": case, "profile": "smoke", "complete": True, "created": "2026-11-24T01:00:00+00:00", "versions": {},
        "systems": systems,
        "comparisons": {"LoRA_vs_zero-shot": {metric: {**_est(0.4), "p_value": 0.001}},
                        pair: {metric: {"mean": diff, "ci_low": diff - 0.03, "ci_high": diff + 0.03, "p_value": 0.4}}},
        "produced_by": {"model": f"1M-parameter stand-in of {get_case(case).model_id}, built here", "data": "synthetic",
                        "test_inputs": 10},
        "parameters": {"base_total": 1000, "lora_trainable": 20, "real_model": {"lora_trainable": 200, "total": 10200}},
        "training": {m: {"steps": 5, "seconds": 2.0, "useful_tokens_per_second": 100.0, "precision": "fp32",
                         "memory": {"kind": "process peak resident memory", "peak_bytes": 2**30}}
                     for m in ("lora", "qlora")},
        "adapter_bytes": 4096,
    }


@pytest.fixture
def folder(tmp_path) -> Path:
    """Case 1 complete, case 2 complete (storing LoRA − QLoRA), case 3 missing, case 4 cut in half, case 5 not
    marked complete."""
    results.write(tmp_path / "xsum-t5-small" / "smoke.json", _payload("xsum-t5-small", "rougeL"))
    results.write(tmp_path / "dialogsum-flan-t5" / "smoke.json", _payload("dialogsum-flan-t5", "rougeL", False))
    text = json.dumps(_payload("papers-llama3", "rougeL"))
    (tmp_path / "papers-llama3").mkdir()
    (tmp_path / "papers-llama3" / "smoke.json").write_text(text[: len(text) // 2])
    unfinished = {**_payload("agnews-distilbert", "accuracy"), "complete": False}
    (tmp_path / "agnews-distilbert").mkdir()
    (tmp_path / "agnews-distilbert" / "smoke.json").write_text(json.dumps(unfinished))
    return tmp_path


def test_every_case_is_kept_with_its_state(folder):
    rows = compare.collect(folder, "smoke")
    assert [r.case.number for r in rows] == [1, 2, 3, 4, 5]
    status = {r.case.number: r.status for r in rows}
    assert status[1] == status[2] == "complete"
    assert status[3].startswith("missing: run chapter 3")
    assert status[4].startswith("failed: JSONDecodeError")
    assert status[5].startswith("failed:") and "not marked complete" in status[5]
    for table in (compare.overview(rows), compare.quality(rows), compare.differences(rows), compare.parameters(rows),
                  compare.published_table(rows)[lambda t: t["case (real model)"] != ""].rename(
                      columns={"case (real model)": "case"})):
        assert len(table) == 5 and table["case"].str.startswith(("1.", "2.", "3.", "4.", "5.")).all()
    # rows name the model that ran (a stand-in here); a case without a file names the real model
    assert list(compare.quality(rows)["case"])[:3] == ["1. t5-small stand-in × xsum", "2. flan-t5-base stand-in × dialogsum",
                                                      "3. gpt2 × alpaca"]
    published = compare.published_table(rows)
    assert "t5smallxsumcards" not in published.to_string() and "Hugging Face Hub, 2022" in set(published["source"])
    assert "0.140 → 0.229" in set(published["zero-shot → tuned"])  # 14.0 -> 22.9 published x100: on a 0-1 scale
    assert len(compare.training(rows)) == 10  # each case, LoRA and QLoRA
    quality = compare.quality(rows).set_index("case")
    assert quality.iloc[2]["zero-shot"].startswith("missing") and quality.iloc[3]["zero-shot"].startswith("failed")
    lines = compare.case_lines(rows, "smoke")
    assert lines.count("\n- ") == 5 and "3. gpt2 × alpaca**: missing" in lines and "no detectable difference" in lines
    assert "one training run each" in lines
    assert "Not yet checked on a GPU: 1. t5-small stand-in × xsum; 2." in compare.gpu_check_note(rows, [])


def test_a_file_of_another_profile_is_not_read_as_this_one(tmp_path):
    results.write(tmp_path / "xsum-t5-small" / "smoke.json", {**_payload("xsum-t5-small", "rougeL"), "profile": "t4"})
    row = compare.collect(tmp_path, "smoke")[0]
    assert row.status == "failed: the file holds xsum-t5-small / t4"


def test_numbers_are_read_the_same_way_for_every_case(folder):
    one, two = compare.collect(folder, "smoke")[:2]
    assert one.best_trivial() == ("constant", _est(0.35))
    assert one.gain("lora")["mean"] == pytest.approx(0.4) and one.gain("qlora") is None  # not recorded: None, not 0
    assert one.qlora_minus_lora()["mean"] == pytest.approx(-0.02)
    flipped = two.qlora_minus_lora()  # stored as LoRA − QLoRA = +0.02
    assert flipped["mean"] == pytest.approx(-0.02) and flipped["ci_low"] == pytest.approx(-0.05)
    assert one.trainable() == (20, 1020) and one.adapter_bytes() == 4096
    gains = compare.gains_in_points(compare.collect(folder, "smoke"))
    assert gains["1. t5-small stand-in × xsum (ROUGE-L)"]["LoRA"]["mean"] == pytest.approx(40)
    assert all(v is None for v in gains["3. gpt2 × alpaca (ROUGE-L)"].values())


def test_adapter_bytes_of_a_case_that_saves_two_adapters(folder):
    payload = {**_payload("xsum-t5-small", "rougeL"), "adapter_bytes": {"qlora": 7, "lora": 9}}
    results.write(folder / "xsum-t5-small" / "smoke.json", payload)
    assert compare.collect(folder, "smoke")[0].adapter_bytes() == 9


def test_figures_draw_missing_cases_without_failing(folder):
    rows = compare.collect(folder, "smoke")
    plots.gain_bars(compare.gains_in_points(rows), "gains", "points")
    plots.memory_panels(compare.measured_memory(rows), "measured", {"1. t5-small": {"LoRA": 0.2, "QLoRA": 0.1}}, 14.0, "m")
    plots.share_vs_gain(compare.share_and_gain(rows), "share", "points")
    assert compare.share_and_gain(rows)["3"] == (None, None)


def test_gpu_check_file(tmp_path):
    assert compare.gpu_check(tmp_path) is None
    (tmp_path / "gpu-check.json").write_text(json.dumps({"device": "x", "rows": [
        {"case": "papers-llama3", "method": "LoRA", "fits_cap": None, "skipped": "too big"},
        {"case": "papers-llama3", "method": "QLoRA", "fits_cap": True, "peak_gib": 9.1, "seconds_per_step": 3.2,
         "useful_tokens_per_second": 700, "precision": "fp16"}]}))
    table = compare.gpu_check_table(compare.gpu_check(tmp_path))
    assert list(table["fits the cap"]) == ["too big", "yes"] and list(table["peak GiB"]) == ["–", "9.10"]
    assert compare.gpu_check_phases(compare.gpu_check(tmp_path)) is None  # a run from before the rehearsal
    from llmft import gpucheck

    payload = {"device": "x", "rows": [], "phases": gpucheck.rehearse_case("agnews-distilbert", 2, tiny=True, device="cpu")}
    phases = compare.gpu_check_phases(payload)
    assert phases["phase"].iloc[0] == "load (fp32, as the chapter)" and "plan: s on a T4" in phases.columns
    (tmp_path / "gpu-check.json").write_text(json.dumps({"device": "x"}))
    with pytest.raises(ValueError, match="make gpu-check"):
        compare.gpu_check(tmp_path)


def test_published_figures_cite_entries_of_the_bibliography():
    bib = (Path(__file__).resolve().parents[1] / "book" / "references.bib").read_text()
    keys = set(re.findall(r"^@\w+\{([^,]+),", bib, flags=re.M))
    assert set(published.sources()) <= keys
    from llmft.cases import CASES

    assert set(published.PUBLISHED) == set(CASES)


def test_recorded_gpu_checks_read_like_a_runs_own_file():
    from llmft.report.recorded import GPU_CHECKS

    for rec in GPU_CHECKS:
        table = compare.gpu_check_table(rec)
        assert len(table) == len(rec["rows"]) and {"device", "created", "versions", "source"} <= set(rec)
    assert compare.gpu_checked(GPU_CHECKS) == {"dialogsum-flan-t5"}
    assert compare.gpu_checked([{"rows": [{"case": "papers-llama3", "fits_cap": None, "skipped": "too big"}]}]) == set()
