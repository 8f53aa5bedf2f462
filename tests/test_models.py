import dataclasses
from pathlib import Path

import pytest
import torch
from peft import get_peft_model

from llmft import models
from llmft.cases import CASES, LoraSpec, get_case
from llmft.foundations.lora import lora_params


@pytest.mark.parametrize("targets", [("q", "v"), ("q", "k", "v", "o"), ("q", "v", "wi_0", "wi_1", "wo")])
def test_t5_lora_formula_matches_peft(tiny_t5, targets):
    model, _ = tiny_t5
    case = get_case("dialogsum-flan-t5")
    spec = LoraSpec(r=4, alpha=8, dropout=0.0, target_modules=targets)
    arch = {k: getattr(model.config, k) for k in ("d_model", "d_ff", "d_kv", "num_layers", "num_decoder_layers",
                                                  "num_heads", "feed_forward_proj")}
    peft_model = get_peft_model(model, models.lora_config(case, spec))
    tiny_case = dataclasses.replace(case, arch=arch)
    assert models.count_params(peft_model).trainable == lora_params(tiny_case, spec)


def test_real_flan_t5_base_counts_without_download():
    case = get_case("dialogsum-flan-t5")
    real = models.real_size_on_meta(case)
    assert next(real.parameters()).device.type == "meta"
    counted = models.count_params(get_peft_model(real, models.lora_config(case)))
    # the DeepLearning.AI lab's printout for this configuration
    assert (counted.trainable, counted.total) == (3_538_944, 251_116_800)
    assert lora_params(case) == 3_538_944


def test_t5_small_has_its_published_size():
    assert models.count_params(models.real_size_on_meta(get_case("xsum-t5-small"))).total == 60_506_624


def test_lora_config_follows_the_case():
    for case in CASES.values():
        cfg = models.lora_config(case)
        assert cfg.r == case.lora.r and set(cfg.target_modules) == set(case.lora.target_modules)
        assert cfg.fan_in_fan_out == case.lora.fan_in_fan_out


def test_compute_dtype_on_cpu_is_fp32():
    assert models.compute_dtype("cpu") == torch.float32


def test_bitsandbytes_runs_on_cpu_and_explains_failure(monkeypatch):
    ok, reason = models.bitsandbytes_status("cpu")
    assert ok, reason
    import builtins

    real_import = builtins.__import__

    def no_bnb(name, *args, **kwargs):
        if name.startswith("bitsandbytes"):
            raise ImportError("no bitsandbytes here")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_bnb)
    ok, reason = models.bitsandbytes_status("cpu")
    assert not ok and "pip install bitsandbytes" in reason


def test_qlora_base_is_4bit_and_smaller(tiny_run, tiny_t5, tmp_path):
    model, tok = tiny_t5
    model.save_pretrained(tmp_path / "m")
    tok.save_pretrained(tmp_path / "m")
    full = models.load_model(tiny_run, tmp_path / "m")
    q = models.load_model(tiny_run, tmp_path / "m", quantization=models.qlora_quantization("cpu"))
    import bitsandbytes as bnb

    assert isinstance(q.encoder.block[0].layer[0].SelfAttention.q, bnb.nn.Linear4bit)
    assert q.get_memory_footprint() < full.get_memory_footprint()


def test_every_case_has_an_offline_model_and_a_new_case_without_one_is_an_error(tiny_run):
    assert set(models.STANDINS) == set(CASES)
    other = dataclasses.replace(tiny_run, case=dataclasses.replace(get_case("papers-llama3"), key="a-new-case"))
    with pytest.raises(ValueError, match="No offline model"):
        models.model_source(other)


def test_another_copy_of_a_gated_model_needs_no_token(tiny_run, monkeypatch):
    """LLMFT_MODEL names another copy (an ungated mirror) in the online profiles; without it, no token is an error."""
    from llmft.profiles import get_profile

    run = dataclasses.replace(tiny_run, case=get_case("papers-llama3"), profile=get_profile("t4"))
    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.delenv("LLMFT_MODEL", raising=False)
    with pytest.raises(RuntimeError, match="LLMFT_MODEL=NousResearch/Meta-Llama-3-8B"):
        models.model_source(run)
    monkeypatch.setenv("LLMFT_MODEL", "NousResearch/Meta-Llama-3-8B")
    assert models.model_source(run) == "NousResearch/Meta-Llama-3-8B"


def test_flan_t5_loads_untied_without_the_misleading_warning(tiny_run, tiny_t5, tmp_path, caplog):
    import warnings

    from llmft.models import adapters

    model, tok = tiny_t5
    model.save_pretrained(tmp_path / "m")
    with caplog.at_level("WARNING", logger="transformers"), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        loaded = models.load_model(tiny_run, tmp_path / "m")
        adapters.attach_lora(loaded, tiny_run)
    assert loaded.lm_head.weight is not loaded.shared.weight
    assert torch.equal(loaded.lm_head.weight, model.lm_head.weight)
    assert "NOT tie" not in caplog.text
    assert not [w for w in caught if "is_gradient_checkpointing" in str(w.message)]


def test_offline_distilbert_is_the_converted_pretrained_encoder(tiny_run, monkeypatch):
    """In smoke, case 5's source is a local DistilBERT folder converted from the MiniLM package, never the hub id."""
    from conftest import MACHINE_CACHE
    from transformers import AutoConfig

    monkeypatch.setenv("LLMFT_CACHE", str(MACHINE_CACHE))  # converted once per machine (`make standins`)
    run = dataclasses.replace(tiny_run, case=get_case("agnews-distilbert"))
    source = models.model_source(run)
    assert source != run.case.model_id and (Path(source) / "config.json").exists()
    config = AutoConfig.from_pretrained(source)
    assert config.model_type == "distilbert" and config.dim == 384 and config.n_layers == 6
    assert models.describe(run, torch.nn.Linear(10, 10)).startswith("all-MiniLM-L6-v2 (pretrained, from PyPI)")


def test_an_untied_head_grows_the_same_pad_row_on_every_load():
    """Llama 3's head is not tied to its embeddings: the row added for the pad token must be the same on every
    load (the adapter is saved without embeddings), in the head as in the input embeddings."""
    from transformers import LlamaConfig, LlamaForCausalLM

    from llmft.models import fit_embeddings

    heads = []
    for draw in (0, 1):  # two loads; the resize's own random draw differs between them
        config = LlamaConfig(vocab_size=50, hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                             num_attention_heads=2, num_key_value_heads=1, tie_word_embeddings=False)
        torch.manual_seed(0)
        model = LlamaForCausalLM(config)
        torch.manual_seed(100 + draw)
        fit_embeddings(model, 51, 50)
        heads.append(model.get_output_embeddings().weight.detach().clone())
        assert torch.allclose(model.get_input_embeddings().weight[50], model.get_input_embeddings().weight[:50].mean(0))
    assert torch.equal(heads[0], heads[1])
    assert torch.allclose(heads[0][50], heads[0][:50].mean(0))


def test_one_large_model_on_the_device_at_a_time(monkeypatch, tiny_run, tiny_t5, tmp_path):
    """For a case whose real model is large, a base loaded while another is still alive is refused (the case-4
    pattern that runs a T4 out of memory), here with a tiny model standing for a large one; freed first, or named
    in `beside`, it loads."""
    from llmft import models

    model, tokenizer = tiny_t5
    model.save_pretrained(tmp_path / "m")
    tokenizer.save_pretrained(tmp_path / "m")
    large = dataclasses.replace(tiny_run, case=dataclasses.replace(tiny_run.case, real_parameters=8_000_000_000))
    first = models.load_model(large, tmp_path / "m")
    with pytest.raises(RuntimeError, match="One model on the device at a time"):
        models.load_model(large, tmp_path / "m")
    second = models.load_model(large, tmp_path / "m", beside=(first,))  # a comparison that needs both
    del first, second
    models.free_memory()
    third = models.load_model(large, tmp_path / "m")  # the earlier ones are gone: allowed
    small = models.load_model(tiny_run, tmp_path / "m")  # a small real model: no rule
    assert third is not small


def test_kbit_preparation_keeps_embeddings_and_head_in_the_compute_dtype():
    """peft's preparation casts every 16-bit weight to fp32 (Llama-3-8B's embeddings and head: 3.9 GiB instead of
    2 on a T4); ours freezes everything and upcasts only the norms."""
    from transformers import LlamaConfig, LlamaForCausalLM

    from llmft.models.adapters import prepare_for_kbit_training

    config = LlamaConfig(vocab_size=64, hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                         num_attention_heads=2, num_key_value_heads=1, tie_word_embeddings=False)
    model = prepare_for_kbit_training(LlamaForCausalLM(config).to(torch.float16), checkpointing=False)
    assert not any(p.requires_grad for p in model.parameters())
    assert model.get_input_embeddings().weight.dtype == model.get_output_embeddings().weight.dtype == torch.float16
    norms = [p for n, p in model.named_parameters() if "norm" in n]
    assert norms and all(p.dtype == torch.float32 for p in norms)
