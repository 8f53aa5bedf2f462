"""Case 3's pieces on tiny models: synthetic Alpaca records, the GPT-2 stand-in's tokenizer and pad token, trl
prompt/completion training (answer-only loss, EOS learnt, adapters kept fp32), left-padded generation with stop
tracking, the copy baseline and failure checks, and the merged model at three precisions."""

import dataclasses

import pytest
import torch

from llmft import data, models
from llmft.cases import get_case
from llmft.data.synthetic import alpaca
from llmft.evaluation import EvalSet, copy_input_baseline, evaluate_causal, failures, first_word, score
from llmft.evaluation.generation import complete
from llmft.models.standins.gpt2 import EOS, GPT2StandinSpec, build_gpt2, train_byte_bpe
from llmft.training import sft

CASE = get_case("alpaca-gpt2")


def test_synthetic_records_have_alpacas_schema_and_mix():
    rows = alpaca.make_splits({"train": 1500}, seed=0)["train"]
    assert all(set(r) == {"instruction", "input", "output", "text"} for r in rows)
    assert all(r["text"] == CASE.format_prompt(r) + r["output"] for r in rows)  # text = prompt + answer
    empty = sum(not r["input"] for r in rows) / len(rows)
    assert 0.5 < empty < 0.75  # Alpaca: about 60 % without input
    assert len({first_word(r) for r in rows}) >= 8  # many kinds of task
    assert alpaca.make_splits({"train": 50}, seed=0) == alpaca.make_splits({"train": 50}, seed=0)


def test_pretraining_text_never_uses_alpacas_template():
    docs = alpaca.pretraining_documents(500, seed=0)
    assert not any("### Instruction" in d or "### Response" in d or "Below is an instruction" in d for d in docs)


def test_templates_match_alpacas_with_and_without_input():
    assert CASE.prompt == alpaca.PROMPT_INPUT and CASE.prompt_no_input == alpaca.PROMPT_NO_INPUT
    assert "### Input:" not in CASE.format_prompt({"instruction": "List three fruits.", "input": " "})
    assert "### Input:\nabc" in CASE.format_prompt({"instruction": "Copy.", "input": "abc"})


@pytest.fixture(scope="module")
def tiny_gpt2(tmp_path_factory):
    """A tiny GPT-2 and its byte-level tokenizer saved in a folder, as the stand-in machinery saves them."""
    folder = tmp_path_factory.mktemp("gpt2")
    tok = train_byte_bpe(alpaca.pretraining_documents(200, seed=0) + [alpaca.PROMPT_INPUT], 400)
    build_gpt2(GPT2StandinSpec(n_embd=64, n_layer=1, n_head=2, n_positions=256), tok).save_pretrained(folder)
    tok.save_pretrained(folder)
    return folder


@pytest.fixture
def run(tiny_run, tiny_gpt2, monkeypatch):
    monkeypatch.setitem(models.STANDINS, "alpaca-gpt2", lambda: tiny_gpt2)
    # max_source_len 192: Alpaca's template alone takes 133 tokens of this tiny tokenizer
    sizes = dataclasses.replace(tiny_run.sizes, max_source_len=192, max_target_len=32, max_new_tokens=8,
                                group_by_length=False)
    return dataclasses.replace(tiny_run, case=CASE, sizes=sizes)


def test_byte_level_tokenizer_is_like_gpt2s(tiny_gpt2, run):
    tok = train_byte_bpe(["plain words"] * 3, 300)
    assert tok.pad_token is None and tok.eos_token == tok.bos_token == EOS  # as GPT-2 ships
    text = "Zoë paid €5 — 100 % ✓"
    assert tok.decode(tok(text)["input_ids"]) == text  # bytes: nothing is unknown
    loaded = models.load_tokenizer(run, tiny_gpt2)
    assert loaded.pad_token == models.PAD and loaded.pad_token_id != loaded.eos_token_id
    assert loaded.padding_side == "left"


def test_pad_row_is_added_the_same_way_on_every_load(run, tiny_gpt2):
    a, b = models.load_model(run, tiny_gpt2), models.load_model(run, tiny_gpt2)
    tok = models.load_tokenizer(run, tiny_gpt2)
    wa = a.get_input_embeddings().weight
    assert wa.shape[0] == len(tok) and torch.equal(wa, b.get_input_embeddings().weight)
    assert torch.allclose(wa[-1], wa[:-1].mean(0)) and a.config.pad_token_id == tok.pad_token_id


def test_prompt_completion_pairs_leave_out_long_answers_and_text(run, tiny_gpt2):
    from datasets import Dataset

    tok = models.load_tokenizer(run, tiny_gpt2)
    rows = alpaca.make_splits({"train": 20}, seed=1)["train"]
    rows[0] = {**rows[0], "output": "word " * 100}
    pairs, dropped = data.prompt_completion(Dataset.from_list(rows), tok, CASE, run.sizes)
    assert pairs.column_names == ["prompt", "completion"] and dropped >= 1 and len(pairs) + dropped == 20
    assert not any("word word" in c for c in pairs["completion"])
    lengths = data.token_lengths(pairs["completion"], tok)
    assert max(lengths) + 1 <= run.sizes.max_target_len  # every kept answer fits with its EOS
    assert all(p.endswith("### Response:\n") for p in pairs["prompt"])


def test_sft_trains_on_answers_ending_in_eos_with_fp32_adapters(run, tiny_gpt2, tmp_path):
    from datasets import Dataset

    from llmft.models import adapters

    tok = models.load_tokenizer(run, tiny_gpt2)
    pairs, _ = data.prompt_completion(Dataset.from_list(alpaca.make_splits({"train": 16}, seed=2)["train"]), tok,
                                      CASE, run.sizes)
    model = adapters.attach_lora(models.load_model(run, tiny_gpt2), run)
    config = sft.sft_config(run, tmp_path, quantized=False)
    assert config.bf16 is False and config.fp16 is False and config.gradient_checkpointing is False
    assert config.completion_only_loss is True
    t = sft.trainer(model, tok, pairs, run, tmp_path)
    batch = t.data_collator([t.train_dataset[i] for i in range(4)])
    for labels, mask in zip(batch["labels"], batch["attention_mask"]):
        kept = labels[labels != -100]
        assert kept[-1] == tok.eos_token_id  # the answer ends with EOS, and EOS is a target
        assert tok.pad_token_id not in kept.tolist() and (labels[mask == 0] == -100).all()
        assert 0 < len(kept) < int(mask.sum())  # the prompt is not a target
    report = sft.train_sft(model, tok, pairs, run, tmp_path)
    assert report.steps == run.sizes.max_steps and report.useful_tokens > 0
    assert all(p.dtype == torch.float32 for p in model.parameters() if p.requires_grad)


def test_keep_adapters_fp32_undoes_trls_bf16_cast():
    layer = torch.nn.Linear(4, 4).to(torch.bfloat16)
    frozen = torch.nn.Linear(4, 4).to(torch.bfloat16).requires_grad_(False)
    model = torch.nn.Sequential(layer, frozen)
    assert sft.keep_adapters_fp32(model) == 2
    assert layer.weight.dtype == torch.float32 and frozen.weight.dtype == torch.bfloat16


def test_left_padded_batches_answer_as_single_prompts_do(run, tiny_gpt2):
    tok, model = models.load_tokenizer(run, tiny_gpt2), models.load_model(run, tiny_gpt2)
    prompts = [CASE.format_prompt({"instruction": "List three fruits.", "input": ""}),
               CASE.format_prompt({"instruction": "Rewrite the sentence.", "input": "Anna walks to school every day."})]
    batched = complete(model, tok, prompts, max_new_tokens=6, batch_size=2, progress=False)
    single = [complete(model, tok, [p], max_new_tokens=6, batch_size=1, progress=False)[0] for p in prompts]
    assert [c.text for c in batched] == [c.text for c in single]
    for c in batched:
        assert c.new_tokens <= 6 and (c.stopped or c.new_tokens == 6)


def test_copy_baseline_failures_and_first_word(run):
    records = [{"instruction": "Rewrite this.", "input": "Anna walks home.", "output": "Anna walked home."},
               {"instruction": "List three fruits.", "input": "", "output": "1. Apple"}]
    evalset = EvalSet(records, [[r["output"]] for r in records])
    assert copy_input_baseline(evalset, CASE) == ["Anna walks home.", "List three fruits."]
    assert [first_word(r) for r in records] == ["Rewrite", "List"]
    system = score("x", ["Tom ran.", "1. Apple"], evalset, run)
    shares = failures(evalset, system, CASE)
    assert shares["ignores the input"] == 1.0 and shares["empty"] == 0.0 and shares["never stops"] is None


def test_evaluation_refuses_more_tokens_than_positions(run, tiny_gpt2):
    tok, model = models.load_tokenizer(run, tiny_gpt2), models.load_model(run, tiny_gpt2)
    evalset = EvalSet([{"instruction": "List three fruits.", "input": "", "output": "x"}], [["x"]])
    too_many = dataclasses.replace(run, sizes=dataclasses.replace(run.sizes, max_source_len=200, max_new_tokens=100))
    with pytest.raises(ValueError, match="exceeds the model's 256 positions"):
        evaluate_causal(model, tok, evalset, too_many, "x")
    done = evaluate_causal(model, tok, evalset, run, "base")
    assert len(done.completions) == 1 and 0.0 <= done.stop_rate <= 1.0


def test_merged_model_at_three_precisions(run, tiny_gpt2, tmp_path):
    from llmft.serve import precision as serving_precision

    tok, model = models.load_tokenizer(run, tiny_gpt2), models.load_model(run, tiny_gpt2)
    assert serving_precision.save_merged(model, tok, tmp_path / "m") > 0
    evalset = EvalSet([{"instruction": "List three fruits.", "input": "", "output": "1. Apple"}], [["1. Apple"]])
    results, skipped = serving_precision.compare_precisions(run, tmp_path / "m", tok, evalset)
    ok, _ = models.bitsandbytes_status(run.device)
    assert [r.precision for r in results] == (["fp32", "int8", "nf4"] if ok else ["fp32"])
    if ok:
        memory = {r.precision: r.weights_mib for r in results}
        assert memory["nf4"] < memory["int8"] < memory["fp32"]
    assert all(r.tokens_per_second > 0 and "ROUGE-L [95 % CI]" in r.row() for r in results)
    with pytest.raises(ValueError, match="Unknown precision"):
        serving_precision.quantization_config("fp8", "cpu")


def test_qlora_refuses_a_4bit_base_that_bitsandbytes_repacked_for_cpu_inference(tiny_run):
    """On a CPU with AVX512-BF16, a 4-bit layer run without gradients is repacked for inference and no longer
    trains: attach_qlora refuses such a base and says to load a fresh one. Elsewhere nothing is repacked."""
    import tempfile

    from llmft import gpucheck
    from llmft.cases import get_case
    from llmft.models import adapters

    small = dict(gpucheck.TINY_ARCH["llama"], hidden_size=128, intermediate_size=256)  # bnb's CPU packing needs >= 128
    case = dataclasses.replace(get_case("papers-llama3"), arch={**get_case("papers-llama3").arch, **small})
    run = dataclasses.replace(tiny_run, case=case, sizes=dataclasses.replace(tiny_run.sizes, lora=None))
    with tempfile.TemporaryDirectory() as tmp:
        models.real_size_on_meta(case, device="cpu").save_pretrained(tmp)
        gpucheck._byte_tokenizer(__import__("pathlib").Path(tmp))
        fresh = models.load_model(run, tmp, quantization=models.qlora_quantization("cpu", case))
        used = models.load_model(run, tmp, quantization=models.qlora_quantization("cpu", case), beside=(fresh,))
    assert adapters.attach_qlora(fresh, run) is not None
    used.eval()
    with torch.no_grad():
        used(input_ids=torch.tensor([[5, 6, 7]]))
    repacked = any(getattr(getattr(m, "weight", None), "quant_state", None) is not None
                   and getattr(m.weight.quant_state, "packing_format_for_cpu", False) for m in used.modules())
    if repacked:
        with pytest.raises(ValueError, match="fresh 4-bit base"):
            adapters.attach_qlora(used, run)
    else:
        assert adapters.attach_qlora(used, run) is not None
