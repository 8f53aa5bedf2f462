"""The chapter's path end to end on a tiny stand-in: data, tokenize, LoRA, train, evaluate, save, reload."""

import dataclasses

import pytest
import torch

from llmft import data, models
from llmft.cases import get_case
from llmft.evaluation import EvalSet, by_group, evaluate_seq2seq, metric_table, roundtrip
from llmft.models import adapters
from llmft.training.train import TokenCounter, train_adapter, training_precision


@pytest.fixture
def tiny_standin(tiny_t5, tmp_path):
    model, tok = tiny_t5
    model.save_pretrained(tmp_path / "standin")
    tok.save_pretrained(tmp_path / "standin")
    return tmp_path / "standin"


def test_load_splits_offline_has_dialogsum_schema_and_sizes(tiny_run):
    splits = data.load_splits(tiny_run)
    # validation and test are sampled by dialogue; the test split has three references per dialogue
    assert {k: len(v) for k, v in splits.items()} == {"train": 16, "validation": 8, "test": 24}
    assert set(splits["test"].column_names) == {"id", "dialogue", "summary", "topic"}


def test_tokenize_truncates_and_keeps_labels(tiny_run, tiny_tokenizer):
    splits = data.load_splits(tiny_run)
    tok = data.tokenize_seq2seq(splits["train"], tiny_tokenizer, tiny_run.case, tiny_run.sizes)
    assert set(tok.column_names) == {"input_ids", "attention_mask", "labels"}
    assert max(len(x) for x in tok["input_ids"]) <= tiny_run.sizes.max_source_len
    assert max(len(x) for x in tok["labels"]) <= tiny_run.sizes.max_target_len
    assert all(x[-1] == tiny_tokenizer.eos_token_id for x in tok["labels"])


def test_length_stats():
    import numpy as np

    s = data.length_stats(np.array([1, 2, 3, 10]), limit=3)
    assert (s.max, s.median, s.truncated_share) == (10, 2.5, 0.25)


def _train(run, source):
    tokenizer = models.load_tokenizer(run, source)
    model = adapters.attach_lora(models.load_model(run, source), run)
    splits = data.load_splits(run)
    tokenized = data.tokenize_seq2seq(splits["train"], tokenizer, run.case, run.sizes)
    report = train_adapter(model, tokenizer, tokenized, run, run.results_dir / "ckpt")
    return model, tokenizer, splits, report


def test_training_records_loss_time_memory_and_is_reproducible(tiny_run, tiny_standin):
    model, tokenizer, splits, report = _train(tiny_run, tiny_standin)
    assert report.steps == 4 and len(report.loss_history) == 4 and report.seconds > 0
    assert report.memory.kind == "process peak resident memory" and report.memory.peak_bytes > 0
    assert report.precision == "fp32" and report.optimizer == "adamw_torch"
    assert report.useful_tokens > 0 and 0 <= report.padding_share < 1 and report.tokens_per_second > 0
    _, _, _, again = _train(tiny_run, tiny_standin)
    assert again.loss_history == report.loss_history
    # only the adapter trained: the base weights are untouched
    base = models.load_model(tiny_run, tiny_standin)
    assert torch.equal(base.shared.weight, model.base_model.model.shared.weight)


def test_evaluate_save_reload_merge(tiny_run, tiny_standin, tmp_path):
    model, tokenizer, splits, _ = _train(tiny_run, tiny_standin)
    test = EvalSet.from_split(splits["test"], tiny_run.case)
    ev = evaluate_seq2seq(model, tokenizer, test, tiny_run, "lora")
    assert len(ev.predictions) == 8 and set(ev.summary) == {"rouge1", "rouge2", "rougeL", "rougeLsum"}
    assert list(metric_table([ev]).index) == ["lora"]
    assert by_group(test, [ev], "topic", min_examples=1)["inputs"].sum() == 8
    size = adapters.save_adapter(model, tmp_path / "adapter")
    assert 0 < size < 1_000_000
    reloaded = adapters.load_adapter(models.load_model(tiny_run, tiny_standin), tmp_path / "adapter")
    batch = tokenizer(["Summarize the following conversation: hi"], text_target=["ok"], return_tensors="pt")
    assert roundtrip.max_logit_difference(model, reloaded, batch) == 0.0
    merged = reloaded.merge_and_unload()
    assert roundtrip.relative_logit_difference(model, merged, batch) < 1e-5


def test_precision_choice(monkeypatch):
    from llmft.cases import get_case

    t5, gpt2 = get_case("dialogsum-flan-t5"), get_case("alpaca-gpt2")
    assert training_precision(t5, "cpu") == "fp32"

    def t4(including_emulation=True):  # a T4 emulates bf16: only the native answer is False
        return including_emulation

    monkeypatch.setattr(torch.cuda, "is_bf16_supported", t4)
    assert training_precision(t5, "cuda") == "fp32" and training_precision(gpt2, "cuda") == "fp16"
    assert training_precision(get_case("xsum-t5-small"), "cuda") == "fp16"  # T5 v1.0 survives fp16
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda including_emulation=True: True)  # an A100
    assert training_precision(t5, "cuda") == "bf16"


def test_token_counter_sees_padding(tiny_tokenizer):
    from transformers import DataCollatorForSeq2Seq

    feats = [{"input_ids": [5] * n + [1], "attention_mask": [1] * (n + 1), "labels": [7, 1]} for n in (3, 9)]
    dynamic = TokenCounter(DataCollatorForSeq2Seq(tiny_tokenizer, label_pad_token_id=-100))
    fixed = TokenCounter(DataCollatorForSeq2Seq(tiny_tokenizer, label_pad_token_id=-100), pad_to=32)
    dynamic(feats), fixed(feats)
    assert dynamic.useful == fixed.useful == 4 + 10 + 4
    assert fixed.padding_share > dynamic.padding_share > 0


def test_train_qlora_reports_and_puts_the_lora_model_back(tiny_run, tiny_standin):
    from llmft.training.train import train_qlora

    model, tokenizer, splits, report = _train(tiny_run, tiny_standin)
    tokenized = data.tokenize_seq2seq(splits["train"], tokenizer, tiny_run.case, tiny_run.sizes)
    tiny_run.sizes = dataclasses.replace(tiny_run.sizes, qlora_max_steps=2)  # fewer QLoRA steps than LoRA's 4
    qmodel, qreport, footprint = train_qlora(tiny_run, tiny_standin, tokenizer, tokenized,
                                             tiny_run.results_dir / "q", aside=model)
    assert report.steps == 4 and qreport.steps == 2 and footprint["NF4 base"] < footprint["fp32 base"]
    assert next(model.parameters()).device.type == tiny_run.device
    assert f"{qreport.steps} steps in" in qreport.summary() and "useful tokens/s" in report.summary()


def test_lora_count_on_the_real_architectures():
    from llmft.runtime import start

    table, real = adapters.count_on_real_architecture(start("agnews-distilbert", "smoke", quiet=True))
    assert real.trainable == 741_124 and table["trainable by formula"].iloc[0] == "741,124"
    table, real = adapters.count_on_real_architecture(start("dialogsum-flan-t5", "smoke", quiet=True))
    assert real.trainable == 3_538_944 and "head (modules_to_save)" not in table


def test_length_cost_pads_to_each_limit_and_reports_memory(tiny_run, tiny_standin):
    from llmft.training.train import length_cost

    tokenizer = models.load_tokenizer(tiny_run, tiny_standin)
    train = data.load_splits(tiny_run)["train"]
    rows = length_cost(tiny_run, lambda r: adapters.attach_lora(models.load_model(r, tiny_standin), r), tokenizer,
                       train, tiny_run.results_dir / "probe", limits=(32, 1024), steps=1)
    assert [(r["input limit"], r["batching"]) for r in rows] == [
        (32, "padded to the limit"), (32, "grouped by length"), (1024, "padded to the limit"), (1024, "grouped by length")]
    share = {(r["input limit"], r["batching"][:6]): float(r["padding"].rstrip(" %")) for r in rows}
    assert share[(1024, "padded")] > share[(32, "padded")] and share[(1024, "padded")] > share[(1024, "groupe")]
    assert float(rows[0]["inputs cut"].rstrip(" %")) >= float(rows[2]["inputs cut"].rstrip(" %"))
    assert all(int(r["peak memory (MiB)"].replace(",", "")) > 0 and r["memory measured"] for r in rows)


def test_by_input_limit_reuses_done_evaluations(tiny_run, tiny_standin):
    from llmft.evaluation import by_input_limit, lead_baseline

    model, tokenizer, splits, _ = _train(tiny_run, tiny_standin)
    test = EvalSet.from_split(splits["test"], tiny_run.case)
    done = evaluate_seq2seq(model, tokenizer, test, tiny_run, "lora")
    curve = by_input_limit(model, tokenizer, test, tiny_run, (24, 64), "lora", done={64: done})
    assert list(curve) == [24, 64] and curve[64] is done and len(curve[24].predictions) == len(test)
    assert lead_baseline(EvalSet([{"dialogue": "First one. Second one.\nThird."}], [["x"]]), tiny_run.case, 1,
                         unit="sentence") == ["First one."]


def test_save_reload_merge_checks_every_step(tiny_run, tiny_standin, tmp_path):
    model, tokenizer, splits, _ = _train(tiny_run, tiny_standin)
    test = EvalSet.from_split(splits["test"], tiny_run.case)
    check = EvalSet(test.records[:2], test.references[:2])
    rt = roundtrip.save_reload_merge(tiny_run, model, models.load_model(tiny_run, tiny_standin), tokenizer, check,
                                    tmp_path / "adapter")
    assert rt.ok and rt.reload_diff == 0.0 and rt.adapter_bytes > 0 and (tmp_path / "adapter").is_dir()
    assert list(rt.table().columns)[0] == "adapter on disk (KiB)"
    assert not dataclasses.replace(rt, same_text=False).ok and not dataclasses.replace(rt, merge_diff=1.0).ok
    # on a CPU a reloaded adapter must give the same logits bit for bit; on a GPU, within the tolerance
    assert not dataclasses.replace(rt, reload_diff=1e-6).ok
    assert dataclasses.replace(rt, reload_diff=1e-6, exact=False).ok
    assert not dataclasses.replace(rt, reload_diff=1.0, exact=False).ok


def test_outputs_are_compared_exactly_on_a_cpu_and_by_agreement_on_a_gpu():
    from llmft.evaluation.roundtrip import same_outputs, text_agreement

    a = ["the cat sat", "a dog ran", "it rained", "sun"]
    b = ["the cat sat", "a dog ran", "it rained", "moon"]  # a beam flipped on one input
    assert text_agreement(a, b) == 0.75
    assert not same_outputs(a, b, "cpu") and same_outputs(a, b, "cuda") and same_outputs(a, a, "cpu")
    assert not same_outputs(a, ["x", "y", "z", "sun"], "cuda")
    assert same_outputs("the cat sat on the mat", "the cat sat on a mat", "cuda")  # 5 of 6 words in place
    assert not same_outputs("the cat sat on the mat", "the cat sat on a mat", "cpu")
    assert not same_outputs("the cat sat on the mat", "a dog ran off", "cuda")
    with pytest.raises(ValueError, match="Cannot compare"):
        text_agreement(a, a[:2])


def test_cpu_bf16_only_where_the_profile_allows_and_the_cpu_has_it(monkeypatch, tmp_path):
    from llmft.training import train

    case = get_case("papers-llama3")
    for has_bf16 in (True, False):
        monkeypatch.setattr(train, "cpu_has_native_bf16", lambda has=has_bf16: has)
        assert training_precision(case, "cpu") == "fp32"  # the profile does not allow it
        assert training_precision(case, "cpu", cpu_bf16=True) == ("bf16" if has_bf16 else "fp32")
    monkeypatch.undo()
    # what decides it: AVX512-BF16 or AMX in /proc/cpuinfo's flags, not a name that merely contains them
    real_open = open
    for flags, expected in ((" fpu avx512_bf16 sse", True), (" fpu amx_bf16 amx_tile", True), (" fpu avx512f sse", False)):
        monkeypatch.setattr("builtins.open", lambda path, *a, f=flags, **k: (
            __import__("io").StringIO("flags\t\t:" + f + "\n") if path == "/proc/cpuinfo" else real_open(path, *a, **k)))
        assert train.cpu_has_native_bf16() is expected
        monkeypatch.undo()
