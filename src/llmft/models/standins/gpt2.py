"""The GPT-2 stand-in for the ``smoke`` profile: a small ``GPT2LMHeadModel`` pre-trained here as a plain
language model.

No GPT-2 weights ship on PyPI, so ``smoke`` builds a model of the same class: a byte-level BPE tokenizer
trained here (like GPT-2's: every byte representable, one special token ``<|endoftext|>`` that is BOS, EOS and
UNK at once, **no pad token**), GPT-2's 1,024 positions and tied input/output embeddings, at a few million
parameters. It pre-trains on plain text of a small world (:func:`llmft.data.synthetic.alpaca.pretraining_documents`),
several documents to a page (as a web page holds several pieces), pages joined by ``<|endoftext|>`` and cut
into fixed-length blocks, as GPT-2 was trained on web text. So, as GPT-2, it rarely ends a text right after a
short answer: it runs on. It has never seen Alpaca's template: following an instruction, and stopping after the
answer, is what the chapter's LoRA teaches.
Cached on disk like the T5 stand-ins, keyed by the spec and the code that makes its data.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from llmft.cache import build_once, cache_root, source_key

FORMAT = 1  # bump to rebuild every cached GPT-2 stand-in
EOS = "<|endoftext|>"


@dataclass(frozen=True)
class GPT2StandinSpec:
    name: str = "gpt2-standin"
    vocab_size: int = 3000
    n_embd: int = 192
    n_layer: int = 4
    n_head: int = 6
    n_positions: int = 1024  # as GPT-2: prompt + answer must fit in 1,024 positions
    documents: int = 12000
    block: int = 128  # tokens per pre-training sequence
    docs_per_page: tuple[int, int] = (3, 8)  # documents on one page (EOS only between pages)
    pretrain_steps: int = 500
    pretrain_batch: int = 32
    pretrain_lr: float = 3e-3
    seed: int = 0

    def key(self) -> str:
        blob = json.dumps({"spec": asdict(self), "format": FORMAT, "code": _code_fingerprint()}, sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:12]


def _code_fingerprint() -> str:
    """A hash of what makes the stand-in: its documents' generator, this module, the library versions."""
    import sys

    from llmft.data.synthetic import alpaca

    return source_key(alpaca, sys.modules[__name__])


def train_byte_bpe(texts: list[str], vocab_size: int):
    """A GPT-2-style tokenizer trained on ``texts``: byte-level BPE (any text round-trips, no unknown token),
    ``<|endoftext|>`` as its only special token, no pad token, no EOS added by the tokenizer."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import GPT2TokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=[EOS], show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(texts, trainer)
    return GPT2TokenizerFast(tokenizer_object=tok, bos_token=EOS, eos_token=EOS, unk_token=EOS)


def pages(docs: list[str], spec: GPT2StandinSpec) -> list[str]:
    """The documents, several to a page (``spec.docs_per_page``), separated by a blank line: GPT-2's web text ends
    a page, not every short piece, with ``<|endoftext|>``."""
    import random

    r = random.Random(spec.seed + 31)
    out, i = [], 0
    while i < len(docs):
        k = r.randint(*spec.docs_per_page)
        out.append("\n\n".join(docs[i : i + k]))
        i += k
    return out


def build_gpt2(spec: GPT2StandinSpec, tokenizer):
    from transformers import GPT2Config, GPT2LMHeadModel

    config = GPT2Config(vocab_size=len(tokenizer), n_positions=spec.n_positions, n_embd=spec.n_embd,
                        n_layer=spec.n_layer, n_head=spec.n_head, bos_token_id=tokenizer.eos_token_id,
                        eos_token_id=tokenizer.eos_token_id, resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0,
                        tie_word_embeddings=True)
    torch.manual_seed(spec.seed)
    return GPT2LMHeadModel(config)


def pretrain_causal(model, blocks: torch.Tensor, spec: GPT2StandinSpec) -> list[float]:
    """Next-token pre-training on fixed-length blocks (full parameters); returns the loss per step."""
    from tqdm import tqdm

    g = torch.Generator().manual_seed(spec.seed)
    opt = torch.optim.AdamW(model.parameters(), lr=spec.pretrain_lr, weight_decay=0.0)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / 30) * max(0.05, 1 - s / spec.pretrain_steps))
    model.train()
    losses = []
    for _ in tqdm(range(spec.pretrain_steps), desc="pre-training the GPT-2 stand-in", mininterval=5):
        batch = blocks[torch.randint(len(blocks), (spec.pretrain_batch,), generator=g)]
        loss = model(input_ids=batch, labels=batch).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        opt.zero_grad(set_to_none=True)
        losses.append(loss.item())
    model.eval()
    return losses


def gpt2_standin(spec: GPT2StandinSpec | None = None, cache: Path | None = None, log=print) -> Path:
    """Path of the pre-trained GPT-2 stand-in (model + tokenizer), building and caching it on first use."""
    from llmft.data.synthetic import alpaca

    spec = spec or GPT2StandinSpec()

    def build():
        docs = alpaca.pretraining_documents(spec.documents, spec.seed)
        # The tokenizer also sees Alpaca's two templates once: GPT-2's tokenizer knows English words such as
        # "Instruction"; the model itself never trains on the template.
        tokenizer = train_byte_bpe(docs + [alpaca.PROMPT_INPUT, alpaca.PROMPT_NO_INPUT], spec.vocab_size)
        ids = [i for page in pages(docs, spec) for i in tokenizer(page + EOS)["input_ids"]]
        n = len(ids) // spec.block
        blocks = torch.tensor(ids[: n * spec.block]).view(n, spec.block)
        model = build_gpt2(spec, tokenizer)
        log(f"Building a GPT-2 stand-in ({model.num_parameters():,} parameters, {len(tokenizer):,} tokens), "
            f"pre-training {spec.pretrain_steps} steps on {len(ids):,} tokens of plain text...")
        losses = pretrain_causal(model, blocks, spec)
        log(f"pre-training loss {losses[0]:.2f} -> {sum(losses[-20:]) / 20:.2f}")
        return model, tokenizer, {"spec": asdict(spec), "parameters": model.num_parameters(),
                                  "vocabulary": len(tokenizer), "pretrain_tokens": len(ids),
                                  "pretrain_loss_first": losses[0], "pretrain_loss_last": sum(losses[-20:]) / 20,
                                  "pretrain_loss": losses}

    return build_once((cache or cache_root()) / f"{spec.name}-{spec.key()}", build, log)
