import dataclasses

import pytest

from llmft.cases import CASES, REGISTRY
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


def test_every_case_is_sized_for_every_profile():
    for key in CASES:
        for profile in PROFILES.values():
            assert profile.sizes_for(key).batch_size > 0


def test_missing_sizes_are_a_clear_error(monkeypatch):
    with pytest.raises(ValueError, match="Unknown case 'a-case-not-yet-registered'"):
        get_profile("smoke").sizes_for("a-case-not-yet-registered")
    entry = REGISTRY["alpaca-gpt2"]
    monkeypatch.setitem(REGISTRY, "alpaca-gpt2", dataclasses.replace(entry, sizes={"smoke": entry.sizes["smoke"]}))
    with pytest.raises(ValueError, match="no sizes for case 'alpaca-gpt2' yet"):
        get_profile("t4").sizes_for("alpaca-gpt2")


def test_t4_sizes_follow_the_gpu_check():
    # `make gpu-check` (book/running.md): fp32 LoRA on real-size Flan-T5-base at batch 8 x 512 tokens peaks
    # at 7.9 GiB without activation checkpointing, so the t4 profile keeps the 1.8x faster steps.
    s = get_profile("t4").sizes_for("dialogsum-flan-t5")
    assert not s.gradient_checkpointing and s.batch_size <= 8 and s.max_source_len <= 512 and s.eval_examples <= 500


def test_colab_without_a_gpu_stops_instead_of_falling_back(monkeypatch):
    monkeypatch.delenv("LLMFT_PROFILE", raising=False)
    monkeypatch.setenv("COLAB_RELEASE_TAG", "release-colab_20261101")
    with pytest.raises(RuntimeError, match="Change runtime type > T4 GPU"):
        default_profile_name(cuda_available=False)
    assert default_profile_name(cuda_available=True) == "t4"
    monkeypatch.setenv("LLMFT_PROFILE", "smoke")  # asked for explicitly: fine
    assert default_profile_name(cuda_available=False) == "smoke"
