"""The GPU check's code, run on the CPU at tiny sizes so that it cannot rot."""

import pytest

from llmft import gpucheck


def test_lora_path_runs_and_reports():
    row = gpucheck.check_case("dialogsum-flan-t5", steps=2, tiny=True, device="cpu")
    assert row["method"] == "LoRA" and row["steps_timed"] == 2 and row["precision"] == "fp32"
    assert row["peak_bytes"] > 0 and row["useful_tokens_per_second"] > 0 and row["t4_profile_steps"] > 0


def test_main_refuses_without_a_gpu():
    import torch

    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    with pytest.raises(SystemExit, match="needs a CUDA GPU"):
        gpucheck.main([])


def test_every_ready_case_has_a_t4_check_path():
    """`make gpu-check` runs every chapter-ready case at its t4 settings; case 1 (tied, fp16 on a T4) included."""
    from llmft.cases import CASES

    ready = [k for k, c in CASES.items() if c.chapter_ready]
    assert "xsum-t5-small" in ready
    row = gpucheck.check_case("xsum-t5-small", steps=2, tiny=True, device="cpu")
    assert row["method"] == "LoRA" and row["steps_timed"] == 2 and row["t4_profile_steps"] > 0


def test_causal_case_checks_through_trl():
    """Case 3's check trains through trl's SFTTrainer on pre-tokenized prompt + answer rows, as the chapter does."""
    row = gpucheck.check_case("alpaca-gpt2", steps=2, tiny=True, device="cpu")
    assert row["method"] == "LoRA" and row["steps_timed"] == 2 and row["precision"] == "fp32"
    assert row["useful_tokens_per_second"] > 0 and row["t4_profile_steps"] > 0
    q = gpucheck.check_case("alpaca-gpt2", steps=2, tiny=True, device="cpu", quantized=True)
    assert q["method"] == "QLoRA" and q["steps_timed"] == 2


def test_case_4_checks_qlora_with_packing_through_trl():
    """Case 4's check: a Llama-architecture model, trl with packing (padding-free), 4-bit base."""
    q = gpucheck.check_case("papers-llama3", steps=2, tiny=True, device="cpu", quantized=True)
    assert q["method"] == "QLoRA" and q["steps_timed"] == 2 and q["packing"] and q["useful_tokens_per_second"] > 0
    row = gpucheck.check_case("papers-llama3", steps=2, tiny=True, device="cpu")
    assert row["method"] == "LoRA" and row["steps_timed"] == 2


def test_llama3_8b_is_too_big_for_lora_on_a_t4_but_not_for_qlora():
    from llmft import models
    from llmft.cases import get_case

    size = models.real_size_bytes(get_case("papers-llama3"))
    assert 15.5e9 < size < 16.5e9  # 8.03 billion parameters in 16 bits
    assert size * 1.3 > gpucheck.T4_CAP_BYTES


@pytest.mark.parametrize("key", ["xsum-t5-small", "dialogsum-flan-t5", "alpaca-gpt2", "papers-llama3",
                                 "agnews-distilbert"])
def test_the_rehearsal_runs_each_chapter_s_phases_in_order(key):
    """`make gpu-check` rehearses every case chapter phase by phase; here at tiny size on the CPU."""
    rows = gpucheck.rehearse_case(key, steps=2, tiny=True, device="cpu")
    names = [r["phase"] for r in rows]
    assert all(r["case"] == key and r["seconds"] >= 0 for r in rows)
    assert names.index("load in 4-bit NF4") < names.index("QLoRA, 2 steps")
    assert names[0] == "load (fp32, as the chapter)" and names.index("merge") < names.index("load in 4-bit NF4")
    trained = [r for r in rows if r["phase"].startswith(("LoRA, ", "QLoRA, "))]
    assert trained and all(r["plan_seconds_on_a_t4"] > 0 and r["plan_gib"] > 0 for r in trained)
    if key != "agnews-distilbert":  # a classifier generates nothing
        assert "QLoRA generation, one batch" in names
    if key == "papers-llama3":
        assert "packing comparison: without packing, 2 steps" in names
        assert rows[-1]["phase"] == "teacher: one batch (fp32)" and rows[-1]["seconds_per_new_token"] > 0
    if key == "alpaca-gpt2":
        assert "serving in 8-bit: load and one batch" in names
