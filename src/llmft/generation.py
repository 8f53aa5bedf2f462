"""Batched, deterministic text generation with a progress bar."""

from __future__ import annotations

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
             batch_size: int = 32, desc: str = "generating") -> list[str]:
    """Outputs for ``prompts`` (beam search, :data:`DECODING`), in order."""
    model.eval()
    device = next(p for p in model.parameters()).device
    outputs: list[str] = []
    for i in tqdm(range(0, len(prompts), batch_size), desc=desc, unit="batch"):
        enc = tokenizer(prompts[i : i + batch_size], max_length=max_source_len, truncation=True,
                        padding=True, return_tensors="pt").to(device)
        ids = model.generate(**enc, max_new_tokens=max_new_tokens, **DECODING)
        outputs += [t.strip() for t in tokenizer.batch_decode(ids, skip_special_tokens=True)]
    return outputs
