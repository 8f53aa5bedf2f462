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
