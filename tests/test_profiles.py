import pytest

from llmft.profiles import PROFILES, check_hardware, default_profile_name, get_profile


def test_unknown_profile_lists_the_valid_ones():
    with pytest.raises(ValueError, match="smoke, t4, full"):
        get_profile("tiny")


def test_selection_env_then_cuda(monkeypatch):
    monkeypatch.setenv("LLMFT_PROFILE", "full")
    assert default_profile_name(cuda_available=False) == "full"
    monkeypatch.delenv("LLMFT_PROFILE")
    assert default_profile_name(cuda_available=True) == "t4"
    assert default_profile_name(cuda_available=False) == "smoke"


def test_gpu_profile_without_gpu_says_what_to_do():
    with pytest.raises(RuntimeError, match="LLMFT_PROFILE=smoke"):
        check_hardware(get_profile("t4"), cuda_available=False)
    check_hardware(get_profile("smoke"), cuda_available=False)  # no error


def test_only_smoke_is_offline_and_cpu():
    assert [p.name for p in PROFILES.values() if p.offline] == ["smoke"]
    assert [p.name for p in PROFILES.values() if not p.needs_gpu] == ["smoke"]


def test_missing_sizes_are_a_clear_error():
    with pytest.raises(ValueError, match="no sizes for case"):
        get_profile("smoke").sizes_for("agnews-distilbert")


def test_t4_trains_t5_with_memory_savers_and_small_enough_eval():
    s = get_profile("t4").sizes_for("dialogsum-flan-t5")
    assert s.gradient_checkpointing and s.batch_size <= 8 and s.eval_examples <= 500
