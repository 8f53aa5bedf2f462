"""Data-parallel training helpers (``llmft.training.distributed``) and the loss-scaling fix it relies on.

The two-process run itself is executed by the chapter ``notebooks/31_more_than_one_gpu`` in every CI run.
"""

from __future__ import annotations

import dataclasses

import pytest
import torch
from datasets import Dataset

from llmft import data
from llmft.data.synthetic import dialogsum
from llmft.models import adapters
from llmft.training import distributed, train


def test_plan_keeps_the_global_batch_or_says_why_not():
    plan = distributed.plan_batch(16, 2)
    assert (plan.per_process, plan.global_batch) == (8, 16)
    assert "per-process batch 8 x 2 process(es)" in plan.describe() and "global batch 16" in plan.describe()
    assert distributed.plan_batch(16, 2, accumulation=2).per_process == 4
    assert distributed.plan_batch(16, 4, per_process=16).global_batch == 64
    with pytest.raises(ValueError, match="cannot be split evenly over 3 processes.*--per-device-batch"):
        distributed.plan_batch(16, 3)
    with pytest.raises(ValueError, match="at least 1"):
        distributed.plan_batch(16, 0)


def test_expected_shapes_are_what_peft_saves(tiny_t5, tiny_run, tmp_path):
    model, _ = tiny_t5
    spec = tiny_run.case.lora
    expected = distributed.expected_adapter_shapes(model, spec.target_modules, spec.r)
    peft_model = adapters.attach_lora(model, tiny_run)
    adapters.save_adapter(peft_model, tmp_path / "adapter")
    assert distributed.saved_adapter_shapes(tmp_path / "adapter") == expected
    assert any(k.endswith("q.lora_A.weight") for k in expected)
    distributed.check_adapter(tmp_path / "adapter", expected)
    wrong = {k: (v[0] + 1, *v[1:]) if k.endswith("lora_A.weight") else v for k, v in expected.items()}
    with pytest.raises(AssertionError, match="shapes differ"):
        distributed.check_adapter(tmp_path / "adapter", wrong)
    with pytest.raises(AssertionError, match="missing"):
        distributed.check_adapter(tmp_path / "adapter", {**expected, "extra.lora_A.weight": (1, 1)})


def test_fingerprint_sees_any_change_to_the_adapter(tiny_t5, tiny_run):
    model, _ = tiny_t5
    peft_model = adapters.attach_lora(model, tiny_run)
    before = distributed.adapter_fingerprint(peft_model)
    assert distributed.adapter_fingerprint(peft_model) == before
    with torch.no_grad():
        next(p for n, p in peft_model.named_parameters() if "lora_B" in n).add_(1e-6)
    assert distributed.adapter_fingerprint(peft_model) != before


def test_models_that_average_their_own_loss_are_marked():
    from transformers import GPT2Config, GPT2LMHeadModel, T5Config, T5ForConditionalGeneration

    t5 = T5ForConditionalGeneration(T5Config(vocab_size=64, d_model=16, d_ff=32, num_layers=1, num_heads=2, d_kv=8))
    train.loss_scaling_matches(t5)
    assert t5.accepts_loss_kwargs is False
    gpt2 = GPT2LMHeadModel(GPT2Config(vocab_size=64, n_embd=16, n_layer=1, n_head=2, n_positions=32))
    train.loss_scaling_matches(gpt2)  # its loss_function divides by the count the Trainer passes
    assert "accepts_loss_kwargs" not in vars(gpt2)


@pytest.mark.parametrize("fixed", [True, False])
def test_logged_loss_with_accumulation_is_the_models_loss(tiny_t5, tiny_run, tmp_path, monkeypatch, fixed):
    """Two accumulation steps take the Trainer's path that scales the loss (as two processes do): with the fix the
    logged loss is the model's mean loss, without it about twice that (transformers 5.23)."""
    if not fixed:
        monkeypatch.setattr(train, "loss_scaling_matches", lambda model: None)
    model, tokenizer = tiny_t5
    run = dataclasses.replace(tiny_run, sizes=dataclasses.replace(
        tiny_run.sizes, batch_size=4, grad_accum=2, max_steps=1, learning_rate=0.0, logging_steps=1))
    rows = Dataset.from_list(dialogsum.make_splits({"train": 8}, seed=0)["train"])
    tokenized = data.tokenize_seq2seq(rows, tokenizer, run.case, run.sizes)
    peft_model = adapters.attach_lora(model, run)
    report = train.train_adapter(peft_model, tokenizer, tokenized, run, tmp_path / "ckpt")
    from transformers import DataCollatorForSeq2Seq

    batch = DataCollatorForSeq2Seq(tokenizer, model=peft_model, label_pad_token_id=-100)(list(tokenized))
    with torch.no_grad():
        direct = peft_model.eval()(**batch).loss.item()
    ratio = report.loss_history[0][1] / direct
    if fixed:
        assert 0.8 < ratio < 1.25, f"logged {report.loss_history[0][1]:.3f}, model {direct:.3f}"
    else:
        assert 1.6 < ratio < 2.5, f"the trap did not show: logged {report.loss_history[0][1]:.3f}, model {direct:.3f}"


def test_a_four_bit_model_goes_to_this_process_gpu(monkeypatch):
    """Under DDP each process loads its 4-bit replica onto its own GPU (LOCAL_RANK), never all onto GPU 0."""
    import transformers

    from llmft import models
    from llmft.runtime import start

    seen = {}

    def fake_from_pretrained(source, output_loading_info=False, **kwargs):
        seen.update(kwargs)
        return (object(), {"missing_keys": []}) if output_loading_info else object()

    monkeypatch.setattr(transformers.AutoModelForSequenceClassification, "from_pretrained", fake_from_pretrained)
    run = dataclasses.replace(start("agnews-distilbert", "smoke", quiet=True), device="cuda")
    monkeypatch.setenv("LOCAL_RANK", "1")
    models.load_model(run, "unused", quantization=object())
    assert seen["device_map"] == {"": 1}
    monkeypatch.delenv("LOCAL_RANK")
    models.load_model(run, "unused", quantization=object())
    assert seen["device_map"] == {"": 0}


def test_a_failed_launch_says_why_and_leaves_no_report(tmp_path):
    out = tmp_path / "ddp"
    with pytest.raises(RuntimeError, match=r"(?s)1-process run failed \(exit 1\).*Unknown case 'no-such-case'"):
        distributed.launch("no-such-case", "smoke", 1, out, cpu=True, timeout=300)
    assert not (out / distributed.REPORT).exists() and (tmp_path / "ddp.log").exists()
