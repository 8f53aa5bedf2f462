"""The T4 plan and the memory model it rests on: weights counted as transformers and bitsandbytes hold them, and
every case chapter's ``t4`` profile within one free Colab session."""

import re

import pytest
import torch

from llmft.cases import CASES, get_case
from llmft.foundations import memory_model as mm
from llmft.report import plan

LIMIT_MINUTES, LIMIT_GIB = 45, 13.5

TINY = {  # one tiny model per architecture of the book, with the real model's head tying and class
    "t5 v1.0 (t5-small)": ("t5", dict(d_model=64, d_ff=128, d_kv=16, num_layers=2, num_decoder_layers=2, num_heads=4,
                                      vocab_size=320), "AutoModelForSeq2SeqLM", None),
    "t5 v1.1 (Flan-T5)": ("t5", dict(d_model=64, d_ff=128, d_kv=16, num_layers=2, num_decoder_layers=2, num_heads=4,
                                     vocab_size=320, feed_forward_proj="gated-gelu", tie_word_embeddings=False),
                          "AutoModelForSeq2SeqLM", None),
    "gpt2": ("gpt2", dict(n_embd=64, n_layer=2, n_head=4, n_positions=128, vocab_size=320, bos_token_id=0,
                          eos_token_id=0), "AutoModelForCausalLM", None),
    "llama": ("llama", dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
                            num_key_value_heads=2, vocab_size=320, tie_word_embeddings=False), "AutoModelForCausalLM",
              None),
    "distilbert": ("distilbert", dict(dim=64, hidden_dim=128, n_layers=2, n_heads=4, vocab_size=320, num_labels=4),
                   "AutoModelForSequenceClassification", ("pre_classifier", "classifier")),
}


@pytest.mark.parametrize("name", TINY)
@pytest.mark.parametrize("dtype,quantized", [("fp32", False), ("fp16", False), ("fp32", True), ("fp16", True)])
def test_weight_bytes_match_what_transformers_and_bitsandbytes_hold(name, dtype, quantized, tmp_path):
    """Counted on the meta device by our rules, equal to get_memory_footprint() of the loaded model."""
    import transformers
    from transformers import AutoConfig, BitsAndBytesConfig

    from llmft.models.standins.t5 import untie_t5_head

    arch, kw, cls_name, skip = TINY[name]
    cls = getattr(transformers, cls_name)
    torch.manual_seed(0)

    def build():
        model = cls.from_config(AutoConfig.for_model(arch, **kw))
        if arch == "t5" and kw.get("tie_word_embeddings") is False:  # Flan-T5: its own head, other values
            untie_t5_head(model)
            torch.nn.init.normal_(model.lm_head.weight, std=0.1)
        return model

    build().save_pretrained(tmp_path)
    torch_dtype = {"fp32": torch.float32, "fp16": torch.float16}[dtype]
    kwargs = {"dtype": torch_dtype}
    if quantized:
        kwargs.update(device_map="cpu", quantization_config=BitsAndBytesConfig(
            load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True,
            bnb_4bit_compute_dtype=torch_dtype, llm_int8_skip_modules=list(skip) if skip else None))
    loaded = cls.from_pretrained(tmp_path, **kwargs)
    with torch.device("meta"):
        meta = build()
    counted = mm.weight_bytes(meta, dtype=dtype, quantized=quantized, skip=skip)
    held = sum(v for k, v in counted.items() if k != "quantization constants")
    assert held == loaded.get_memory_footprint()
    assert counted == mm.weight_bytes(loaded, dtype=dtype, quantized=quantized, skip=skip)  # loaded: same count
    assert ("4-bit weights" in counted) == quantized
    if arch == "t5" and dtype == "fp16":
        assert counted["fp32 (kept)"] > 0  # T5's wo stays fp32 in an fp16 load


def test_llama3_in_4_bit_keeps_its_embeddings_and_head_in_16_bit():
    from llmft import models

    case = get_case("papers-llama3")
    w = mm.weight_bytes(models.real_size_on_meta(case), dtype="fp16", quantized=True)
    vocab, h = case.arch["vocab_size"], case.arch["hidden_size"]
    norms = (2 * case.arch["num_hidden_layers"] + 1) * h
    # embeddings + untied head + norms: 1.05B at 2 bytes (and the rotary frequencies, a few hundred bytes)
    assert 0 <= w["fp16 weights"] - 2 * (2 * vocab * h + norms) < 1024
    assert w["4-bit weights"] == 0.5 * (case.real_parameters - 2 * vocab * h - norms)
    assert 5.2 < sum(w.values()) / 2**30 < 5.4  # not the 3.9 GiB of "every weight in NF4"


def test_the_logits_and_cache_terms_by_hand():
    assert mm.logits_bytes(2, 10, 100, "fp16") == 2 * 10 * 100 * 10
    llama = get_case("papers-llama3")
    # 32 layers, keys and values, 8 of 32 heads' width (grouped-query attention): 1,024 of 4,096
    assert mm.kv_cache_bytes(llama, batch=1, tokens=1, dtype="fp16") == 2 * 32 * 1024 * 2
    assert mm.kv_cache_bytes(get_case("agnews-distilbert"), 8, 128) == 0


@pytest.mark.parametrize("key", list(CASES))
def test_every_case_chapter_fits_a_free_colab_t4(key):
    p = plan.t4_plan(get_case(key))
    minutes, peak = plan.totals(p.phases)
    _, peak_at_caps = plan.totals(p.at_caps)
    assert minutes <= LIMIT_MINUTES, p.table().to_string()
    assert peak <= LIMIT_GIB and peak_at_caps <= LIMIT_GIB, p.table().to_string()
    assert [ph.name for ph in p.phases][:2] == ["install", "download"] and all(ph.seconds > 0 for ph in p.phases)


def test_the_plan_table_names_each_phase_and_shows_one_decimal():
    """The chapters show it with ``text_table``, which hides the index: the phase must be a column (a page once showed
    minutes as 2.000000 with no phase names)."""
    table = plan.t4_plan(get_case("xsum-t5-small")).table()
    assert list(table.columns) == ["phase", "minutes", "peak GiB", "counted"]
    assert table["phase"].iloc[0] == "install" and table["phase"].iloc[-1] == "total"
    assert all(re.fullmatch(r"\d+\.\d", m) for m in table["minutes"])
    assert all(v == "" or re.fullmatch(r"\d+\.\d", v) for v in table["peak GiB"])


def test_the_plan_grows_with_the_data_and_shrinks_with_a_smaller_batch_of_tokens():
    case = get_case("xsum-t5-small")
    short, long = plan.Tokens(100, 20, "x"), plan.Tokens(400, 20, "x")
    train = {ph.name: ph.seconds for ph in plan.plan(case, short)}, {ph.name: ph.seconds for ph in plan.plan(case, long)}
    assert train[1]["LoRA training"] > train[0]["LoRA training"] and train[1]["install"] == train[0]["install"]


def test_case_4_on_a_t4_trains_only_in_4_bit_and_batches_its_teacher():
    p = plan.t4_plan(get_case("papers-llama3"))
    names = [ph.name for ph in p.phases]
    assert "LoRA training" not in names and "teacher writes the triples" in names  # 16-bit Llama-3-8B: 15 GiB
    teacher = p.phases[names.index("teacher writes the triples")]
    assert "batches of 8" in teacher.detail


@pytest.mark.parametrize("key", list(CASES))
def test_weight_bytes_match_get_memory_footprint_at_real_size(key):
    """Every case's real architecture at its published size (on the meta device): the module-by-module count equals
    transformers' own footprint in fp32, and in fp16 the same parameters at 2 bytes, T5's ``wo`` at 4."""
    from llmft import models

    case = get_case(key)
    meta = models.real_size_on_meta(case)
    assert sum(mm.weight_bytes(meta, "fp32").values()) == meta.get_memory_footprint()
    fp16 = mm.weight_bytes(meta, "fp16")
    assert sum(fp16.values()) < meta.get_memory_footprint() / 1.5 and (("fp32 (kept)" in fp16) == (case.architecture == "t5"))
