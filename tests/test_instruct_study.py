"""The instruction-following settings study at tiny size (a random tiny Llama with SmolLM2's real tokenizer): the
chat prompt, the facts probe, runs that are deterministic and train only what each arm says, zero-shot paired
with every seed, and the matched rank on Llama's seven projections."""

import math

import numpy as np
import pytest
import torch
from datasets import Dataset

from llmft.studies import instruct as ins
from llmft.studies import settings as st

RECORDS = [
    {"instruction": "Name a fruit.", "input": "", "output": "An apple."},
    {"instruction": "Rewrite the sentence in the past tense.", "input": "Anna walks to school.",
     "output": "Anna walked to school."},
    {"instruction": "What is two plus three?", "input": "", "output": "Five."},
    {"instruction": "Classify the review as positive or negative.", "input": "A lovely, warm film.",
     "output": "Positive"},
]


@pytest.fixture(scope="module")
def tokenizer(smollm2_path):
    from transformers import AutoTokenizer

    from llmft.models import add_pad_token

    tok = AutoTokenizer.from_pretrained(smollm2_path)
    add_pad_token(tok)
    return tok


def tiny_llama(n_tokens: int):
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=n_tokens, hidden_size=16, intermediate_size=32, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=256,
                         tie_word_embeddings=True)
    model = LlamaForCausalLM(config).eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return model


def tiny_study(tokenizer, budget=None):
    data = Dataset.from_list(RECORDS * 5)
    budget = budget or st.Budget(steps=3, batch_size=4, max_len=64, train_examples=20, test_examples=8,
                                 seeds=(0, 1, 2), probe_items=6, eval_batch_size=8)
    return ins.build_study(tiny_llama(len(tokenizer)), tokenizer, data, data, budget)


def test_prompt_is_the_models_chat_format_without_a_system_turn(tokenizer):
    text = ins.prompt("Rewrite the sentence.", "Anna walks.")
    template = tokenizer.apply_chat_template([{"role": "user", "content": "Rewrite the sentence.\n\nAnna walks."}],
                                             tokenize=False, add_generation_prompt=True)
    assert template.endswith(text) and template.startswith("<|im_start|>system\n")  # the template adds its system turn
    assert text.endswith("<|im_start|>assistant\n")
    assert "\n\n" not in ins.prompt("Name a fruit.", "  ")  # no empty input block


def test_answer_nll_is_the_models_own_loss(tokenizer):
    from llmft.training.by_hand import CompletionCollator

    model = tiny_llama(len(tokenizer))
    batch = CompletionCollator(tokenizer)(ins.encode_rows(tokenizer, RECORDS, max_len=64))
    nll, n = ins.answer_nll(model, batch)
    assert n == int((batch["labels"][:, 1:] != -100).sum())
    assert float(nll) / n == pytest.approx(float(model(**batch).loss), rel=1e-5)


def test_rows_put_the_loss_on_the_answer_and_its_eos_only(tokenizer):
    row = ins.encode_rows(tokenizer, RECORDS[:1], max_len=128)[0]
    answer = [t for t, y in zip(row["input_ids"], row["labels"]) if y != -100]
    assert tokenizer.decode(answer) == "An apple.<|im_end|>"
    assert row["input_ids"][-1] == tokenizer.eos_token_id != tokenizer.pad_token_id


def test_facts_are_four_way_choices_with_one_true_ending(tokenizer):
    choices = ins.encode_facts(tokenizer)
    assert len(choices.rows) == 4 * len(ins.FACTS)
    assert all(choices.true[choices.item == i].sum() == 1 for i in range(len(ins.FACTS)))
    assert all(len({e for e in (a, *w)}) == 4 for _, a, w in ins.FACTS)  # four different endings
    head, answer, _ = ins.FACTS[0]
    first = choices.rows[0]
    assert tokenizer.decode(first[choices.starts[0]:]) == " " + answer
    assert tokenizer.decode(first) == f"{head} {answer}"


def test_choice_accuracy_picks_the_likeliest_ending(tokenizer, monkeypatch):
    choices = ins.encode_facts(tokenizer, ins.FACTS[:3])
    scores = np.array([0.0, -1, -2, -3] + [-5.0, -1, -2, -3] + [-1.0, -1.5, -2, -3])  # right, wrong, right
    monkeypatch.setattr(ins, "choice_scores", lambda *a, **k: scores)
    assert ins.choice_accuracy(None, choices, 0, 8) == pytest.approx(2 / 3)


def test_choice_scores_are_the_endings_log_likelihood(tokenizer):
    """Every ending's score, read from the cached start, equals the log-likelihood computed row by row without a
    cache or padding; facts of starts of different lengths and endings of several tokens included."""
    model = tiny_llama(len(tokenizer))
    facts = [f for f in ins.FACTS if f[1] in ("blue", "toothbrush", "H2O", "February")]
    choices = ins.encode_facts(tokenizer, facts)
    assert max(len(r) - s for r, s in zip(choices.rows, choices.starts)) > 1  # some endings have several tokens
    assert len({s for s in choices.starts}) > 1  # starts of different lengths: left padding is exercised
    by_hand = []
    for row, start in zip(choices.rows, choices.starts):
        logp = torch.log_softmax(model(input_ids=torch.tensor([row])).logits[0], -1)
        by_hand.append(sum(float(logp[i - 1, row[i]]) for i in range(start, len(row))))
    for batch_size in (1, 3, 8):  # batches cut across facts, or hold them all
        assert ins.choice_scores(model, choices, tokenizer.pad_token_id, batch_size) == pytest.approx(by_hand, abs=1e-4)


def test_linear_dims_reads_a_llama_layer(tokenizer):
    dims = st.linear_dims(tiny_llama(len(tokenizer)))
    assert dims == {"q_proj": (16, 16), "k_proj": (16, 8), "v_proj": (16, 8), "o_proj": (16, 16),
                    "gate_proj": (16, 32), "up_proj": (16, 32), "down_proj": (32, 16)}


def test_matched_rank_on_llama_projections():
    dims = {"q_proj": (576, 576), "k_proj": (576, 192), "v_proj": (576, 192), "o_proj": (576, 576),
            "gate_proj": (576, 1536), "up_proj": (576, 1536), "down_proj": (1536, 576)}
    assert st.lora_params_per_layer(8, ins.QV, dims) == 8 * (1152 + 768)
    assert st.matched_rank(8, ins.QV, ins.ALL_LINEAR, dims) == 2
    by_question = ins.arms(dims)
    assert by_question["modules"][1].r == 2 and by_question["modules"][1].targets == ins.ALL_LINEAR
    assert ins.REFERENCE in by_question["rank"] and by_question["LoRA or full fine-tuning"] == [ins.REFERENCE, ins.FULL]
    st.unique_arms(by_question)  # no two different arms share a label


def test_runs_are_deterministic_and_train_only_their_part(tokenizer):
    study = tiny_study(tokenizer)
    before = {n: p.clone() for n, p in study.base.named_parameters()}
    lora = study.run(ins.REFERENCE, 0)
    again = study.run(ins.REFERENCE, 0)
    assert lora.losses == again.losses and lora.answer_loss == again.answer_loss
    assert lora.adapter == lora.trainable > 0
    full = study.run(st.Arm("full", full=True, learning_rate=1e-3), 0, probe=True)
    assert full.trainable == sum(p.numel() for p in study.base.parameters()) and full.adapter == 0
    assert 0 <= full.probe_accuracy <= 1
    other_seed = study.run(ins.REFERENCE, 1)
    assert other_seed.losses != lora.losses  # a different order of examples and a different draw of A
    assert all(torch.equal(p, before[n]) for n, p in study.base.named_parameters())  # the base never changes


def test_zero_shot_runs_once_and_pairs_with_every_seed(tokenizer):
    study = tiny_study(tokenizer)
    results = ins.run_all(study, [ins.ZERO_SHOT, ins.REFERENCE], probe={ins.ZERO_SHOT.label})
    zero = results[ins.ZERO_SHOT.label]
    assert [r.seed for r in zero] == [0, 1, 2] and len({r.answer_loss for r in zero}) == 1
    assert sum(r.arm == ins.ZERO_SHOT.label for r in study.log) == 1  # evaluated once
    assert zero[0].trainable == 0 and zero[0].probe_accuracy is not None
    d = st.paired_difference(results, ins.REFERENCE.label, ins.ZERO_SHOT.label, "answer_loss")
    mean = np.mean([r.answer_loss for r in results[ins.REFERENCE.label]]) - zero[0].answer_loss
    assert d["n"] == 3 and math.isclose(d["mean"], mean, abs_tol=1e-12)


def test_training_lowers_the_answer_loss_of_a_tiny_model(tokenizer):
    budget = st.Budget(steps=30, batch_size=4, max_len=64, train_examples=20, test_examples=8, seeds=(0,),
                       probe_items=2, eval_batch_size=8)
    study = tiny_study(tokenizer, budget)
    zero = study.run(ins.ZERO_SHOT, 0)
    full = study.run(st.Arm("full", full=True, learning_rate=1e-2), 0, keep=True)
    assert full.answer_loss < zero.answer_loss - 1.0  # the same four answers, memorised
    assert ("full", 0) in study.kept


def test_figures_draw_the_answer_loss_and_the_facts_probe():
    import matplotlib.pyplot as plt

    from llmft.studies import figures

    group = ins.arms({"q_proj": (8, 8), "k_proj": (8, 4), "v_proj": (8, 4), "o_proj": (8, 8), "gate_proj": (8, 16),
                      "up_proj": (8, 16), "down_proj": (16, 8)})
    arms = st.unique_arms(group)
    results = {a.label: [ins.LMResult(a.label, s, 2.0 - 0.1 * i - 0.01 * s, 0.7 - 0.01 * i, 10 * i, 10 * i, 1.0)
                         for s in (0, 1, 2)] for i, a in enumerate(arms)}
    loss = "held-out answer loss (nats per token)"
    fig = figures.rank(results, group["rank"], ins.ZERO_SHOT, "test", what=ins.LOSS, ylabel=loss,
                       reference_name="zero-shot", legend="upper right")
    assert fig.axes[0].get_ylabel() == loss and "the zero-shot arm as a dashed line at 1.990" in fig.alt_text
    fig = figures.forgetting(results, group["LoRA or full fine-tuning"], 0.7, "test", what=ins.LOSS, probe="probe_accuracy",
                             xlabel="answer loss on the new task (lower is better)", ylabel="facts probe (old skill)",
                             probe_name="facts probe")
    assert "facts probe; the base model scored 0.700" in fig.alt_text and "answer loss on the new task " in fig.alt_text
    fig = figures.arm_bars(results, group["modules"], "modules", what=ins.LOSS, xlabel=loss, xlim=None)
    assert f"Bars of {loss}" in fig.alt_text
    plt.close("all")


def test_table_shows_the_answer_loss_and_no_rate_where_nothing_trains():
    results = {a.label: [ins.LMResult(a.label, s, loss + 0.01 * s, 0.7, n, n, 1.0) for s in (0, 1, 2)]
               for a, loss, n in ((ins.ZERO_SHOT, 2.0, 0), (ins.REFERENCE, 1.5, 100))}
    df = ins.table(results, [ins.ZERO_SHOT, ins.REFERENCE], probe=True)
    assert list(df["scale, learning rate"]) == ["-", "2, 0.003"]
    assert list(df["parameters trained (adapter)"]) == ["0", "100 (100)"]
    assert df.loc[0, "answer loss [95 % CI]"].startswith("2.010 [")
    assert df.loc[0, f"minus {ins.REFERENCE.label} (paired)"] == "+0.500 [+0.500, +0.500]"
    assert df.loc[1, "facts probe"] == "0.700 [0.700, 0.700]"
