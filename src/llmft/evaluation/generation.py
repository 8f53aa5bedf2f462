"""Batched, deterministic text generation with a progress bar."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from tqdm.auto import tqdm

# The same decoding for every system of a case, so that differences come from the weights.
# Beam search with four beams, as T5's paper used for summarisation: it keeps the likeliest whole
# summary rather than the likeliest next word. A mild repetition penalty and no n-gram ban: a ban
# on repeated 3-grams forbids the second "#Person1#" in a summary, because the real Flan-T5
# tokenizer splits that tag into several pieces that form one repeated 3-gram.
DECODING = {"num_beams": 4, "do_sample": False, "repetition_penalty": 1.2}


@torch.no_grad()
def generate(model, tokenizer, prompts: list[str], *, max_source_len: int, max_new_tokens: int,
             batch_size: int = 32, desc: str = "generating", decoding: dict | None = None) -> list[str]:
    """Outputs for ``prompts`` (beam search, :data:`DECODING` updated with the case's ``decoding``), in order."""
    settings = {**DECODING, **(decoding or {})}
    model.eval()
    device = next(p for p in model.parameters()).device
    # Special tokens are dropped from the text, except the unknown token: a model that writes <unk> shows it
    # (``skip_special_tokens=True`` would hide it, and the fluency check could never count it).
    drop = set(tokenizer.all_special_ids) - {tokenizer.unk_token_id}
    outputs: list[str] = []
    for i in tqdm(range(0, len(prompts), batch_size), desc=desc, unit="batch"):
        enc = tokenizer(prompts[i : i + batch_size], max_length=max_source_len, truncation=True,
                        padding=True, return_tensors="pt").to(device)
        ids = model.generate(**enc, max_new_tokens=max_new_tokens, **settings)
        outputs += [tokenizer.decode([t for t in row if t not in drop]).strip() for row in ids.tolist()]
    return outputs


# A causal LM answers with greedy decoding: the likeliest next token each time, no sampling, no penalty, so a
# model that has not learnt to stop shows it (it runs to the token limit or repeats itself).
GREEDY = {"do_sample": False, "num_beams": 1}


@dataclass
class Completion:
    """One answer of a causal LM: its text (up to EOS), token counts, and whether it stopped on its own."""

    text: str
    prompt_tokens: int
    new_tokens: int  # generated tokens, EOS included
    stopped: bool  # ended with EOS before ``max_new_tokens``


@torch.no_grad()
def complete(model, tokenizer, prompts: list[str], *, max_new_tokens: int, batch_size: int = 32,
             temperature: float = 0.0, desc: str = "generating", progress: bool = True) -> list[Completion]:
    """Answers of a decoder-only model to ``prompts``, in order.

    Prompts are padded on the *left*, so every prompt ends where its answer begins; the pad token is the
    tokenizer's own (never EOS), and generation stops at EOS. ``temperature`` 0 is greedy decoding.
    """
    model.eval()
    device = next(p for p in model.parameters()).device
    tokenizer.padding_side = "left"
    eos, pad = tokenizer.eos_token_id, tokenizer.pad_token_id
    sampling = GREEDY if temperature == 0 else {"do_sample": True, "temperature": temperature, "top_k": 0}
    out: list[Completion] = []
    steps = range(0, len(prompts), batch_size)
    for i in tqdm(steps, desc=desc, unit="batch", disable=not progress):
        enc = tokenizer(prompts[i : i + batch_size], return_tensors="pt", padding=True).to(device)
        ids = model.generate(**enc, max_new_tokens=max_new_tokens, eos_token_id=eos, pad_token_id=pad, **sampling)
        for row, mask in zip(ids[:, enc["input_ids"].shape[1] :].tolist(), enc["attention_mask"]):
            stopped = eos in row
            row = row[: row.index(eos)] if stopped else [t for t in row if t != pad]
            out.append(Completion(tokenizer.decode(row, skip_special_tokens=True).strip(), int(mask.sum()),
                                  len(row) + int(stopped), stopped))
    return out
