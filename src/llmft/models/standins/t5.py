"""T5 stand-ins for the ``smoke`` profile: a small T5 of the real model's version, pre-trained here.

The ``smoke`` profile cannot download a model, so it builds one of the *same architecture*: a tokenizer
trained here (byte fallback, whole-word pieces), a small config of the real model class (v1.1 with
gated-GELU and an untied head for Flan-T5; v1.0 with ReLU and tied embeddings for t5-small), and a short
pre-training on the mixture of :mod:`llmft.models.standins.corpora` that matches the real model's. The result is
cached on disk, keyed by the spec and the code that makes its data, and shared by every chapter that
uses it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from llmft.cache import build_once, cache_root, source_key
from llmft.models.standins.corpora import CORPORA
from llmft.models.standins.tokenizer import train_tokenizer

STANDIN_FORMAT = 2  # bump to invalidate every cached stand-in


@dataclass(frozen=True)
class T5StandinSpec:
    """Size of a small T5 and of its pre-training.

    The defaults are the Flan-T5 stand-in (T5 v1.1: gated-GELU feed-forward, untied head, pre-trained on
    chats); :data:`T5_SMALL` is the t5-small one (T5 v1.0: ReLU, tied embeddings, pre-trained on news).
    """

    name: str = "t5-standin"  # the cache folder's prefix
    corpus: str = "chats"  # which pre-training mixture (:data:`CORPORA`)
    tie_word_embeddings: bool = False
    vocab_size: int = 4000
    d_model: int = 192
    d_ff: int = 512
    num_layers: int = 3
    num_heads: int = 6
    d_kv: int = 32
    feed_forward_proj: str = "gated-gelu"
    pretrain_examples: int = 12000
    pretrain_steps: int = 330
    pretrain_batch: int = 24
    pretrain_lr: float = 3e-3
    max_source_len: int = 320
    max_target_len: int = 48
    micro_batch: int = 8
    seed: int = 0

    def key(self) -> str:
        """Changes with the spec, the format, and the code that makes the data and the corpus."""
        blob = json.dumps({"spec": asdict(self), "format": STANDIN_FORMAT, "data": _code_fingerprint(self.corpus)}, sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:12]


def _code_fingerprint(corpus: str = "chats") -> str:
    """A hash of what makes a stand-in: its data generator, the corpora, sentence splitting, the tokenizer trainer,
    this module, and the library versions (:func:`llmft.cache.source_key`), so a changed corpus rebuilds it."""
    import sys

    from llmft.data import text
    from llmft.models.standins import corpora, tokenizer

    return source_key(CORPORA[corpus][1], text, corpora, tokenizer, sys.modules[__name__])


T5_SMALL = T5StandinSpec(name="t5-small-standin", corpus="news", feed_forward_proj="relu", tie_word_embeddings=True,
                         vocab_size=4000, d_model=192, d_ff=768, num_layers=3, num_heads=6, d_kv=32,
                         pretrain_examples=10000, pretrain_steps=400, pretrain_batch=24, pretrain_lr=3e-3,
                         max_source_len=320, max_target_len=96)


def t5_small_standin(cache: Path | None = None, log=print) -> Path:
    """Path of the t5-small stand-in (:data:`T5_SMALL`), built and cached on first use."""
    return t5_standin(T5_SMALL, cache, log)


def untie_t5_head(model):
    """Give a T5 its own output matrix, as Flan-T5 (T5 v1.1) has.

    transformers 5 always ties a T5's ``lm_head`` to its input embeddings when a model is
    built from a config (a checkpoint with two different matrices still loads untied).
    """
    if model.lm_head.weight is model.shared.weight:
        model.lm_head.weight = torch.nn.Parameter(model.shared.weight.detach().clone())
        getattr(model, "all_tied_weights_keys", {}).pop("lm_head.weight", None)
    return model


def build_t5(spec: T5StandinSpec, tokenizer):
    """A randomly initialised ``T5ForConditionalGeneration`` of the stand-in size."""
    from transformers import T5Config, T5ForConditionalGeneration

    config = T5Config(
        vocab_size=len(tokenizer),
        d_model=spec.d_model,
        d_ff=spec.d_ff,
        d_kv=spec.d_kv,
        num_layers=spec.num_layers,
        num_decoder_layers=spec.num_layers,
        num_heads=spec.num_heads,
        feed_forward_proj=spec.feed_forward_proj,
        tie_word_embeddings=spec.tie_word_embeddings,
        dropout_rate=0.0,
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
        decoder_start_token_id=tokenizer.pad_token_id,
    )
    torch.manual_seed(spec.seed)
    model = T5ForConditionalGeneration(config)
    if spec.tie_word_embeddings:  # T5 v1.0: one matrix in and out (the decoder output is scaled by d_model^-0.5)
        assert model.lm_head.weight is model.shared.weight
        return model
    model = untie_t5_head(model)
    # transformers draws an untied head with std 1, which starts the loss near 90 nats/token
    # (logits far too large); the scale of the input embeddings' scaled init is the usual choice.
    torch.nn.init.normal_(model.lm_head.weight, std=spec.d_model**-0.5)
    return model


def pretrain_seq2seq(model, tokenizer, pairs: list[tuple[str, str]], spec: T5StandinSpec) -> list[float]:
    """Full-parameter pre-training of the stand-in; returns the loss per step."""
    from tqdm import tqdm

    # A pair whose source does not fit is left out rather than cut: a cut conversation would teach
    # the model to summarise what it has not read.
    enc_src = tokenizer([p[0] for p in pairs])["input_ids"]
    enc_tgt = tokenizer([p[1] for p in pairs])["input_ids"]
    fits = [i for i, s in enumerate(enc_src) if len(s) <= spec.max_source_len and len(enc_tgt[i]) <= spec.max_target_len]
    enc_src, enc_tgt = [enc_src[i] for i in fits], [enc_tgt[i] for i in fits]
    if not fits:
        raise ValueError(f"No pre-training pair fits max_source_len={spec.max_source_len}, "
                         f"max_target_len={spec.max_target_len}; raise them in the spec.")
    # Random batches: each step mixes tasks. Lengths differ a lot between tasks, so a batch padded
    # to its longest row would be two thirds padding; instead each batch runs as a few micro-batches
    # of similar length, with the loss weighted by target tokens so the step equals the whole batch's.
    g = torch.Generator().manual_seed(spec.seed)
    batches = [torch.randint(len(enc_src), (spec.pretrain_batch,), generator=g).tolist() for _ in range(spec.pretrain_steps)]
    opt = torch.optim.AdamW(model.parameters(), lr=spec.pretrain_lr, weight_decay=0.0)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / 30) * max(0.05, 1 - s / spec.pretrain_steps))
    model.train()
    losses = []
    pad = tokenizer.pad_token_id

    def padded(rows, fill):
        width = max(len(r) for r in rows)
        return torch.tensor([r + [fill] * (width - len(r)) for r in rows])

    for idx in tqdm(batches, desc="pre-training the stand-in", mininterval=5):
        idx = sorted(idx, key=lambda i: len(enc_src[i]) + len(enc_tgt[i]))
        total = sum(len(enc_tgt[i]) for i in idx)
        step_loss = 0.0
        for part in (idx[k : k + spec.micro_batch] for k in range(0, len(idx), spec.micro_batch)):
            input_ids = padded([enc_src[i] for i in part], pad)
            labels = padded([enc_tgt[i] for i in part], -100)
            out = model(input_ids=input_ids, attention_mask=(input_ids != pad).long(), labels=labels)
            share = sum(len(enc_tgt[i]) for i in part) / total
            (out.loss * share).backward()
            step_loss += out.loss.item() * share
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        opt.zero_grad(set_to_none=True)
        losses.append(step_loss)
    model.eval()
    return losses


def t5_standin(spec: T5StandinSpec | None = None, cache: Path | None = None, log=print) -> Path:
    """Path of a pre-trained T5 stand-in (model + tokenizer), building and caching it on first use."""
    spec = spec or T5StandinSpec()

    def build():
        pairs = CORPORA[spec.corpus][0](spec.pretrain_examples, spec.seed)
        tokenizer = train_tokenizer([s for pair in pairs for s in pair], spec.vocab_size)
        model = build_t5(spec, tokenizer)
        log(f"Building a {spec.name} ({spec.feed_forward_proj}, {'tied' if spec.tie_word_embeddings else 'untied'} "
            f"head, {model.num_parameters():,} parameters), pre-training {spec.pretrain_steps} steps...")
        losses = pretrain_seq2seq(model, tokenizer, pairs, spec)
        log(f"pre-training loss {losses[0]:.2f} -> {sum(losses[-20:]) / 20:.2f}")
        return model, tokenizer, {"spec": asdict(spec), "parameters": model.num_parameters(),
                                  "vocabulary": len(tokenizer), "pretrain_loss_first": losses[0],
                                  "pretrain_loss_last": sum(losses[-20:]) / 20, "pretrain_loss": losses}

    return build_once((cache or cache_root()) / f"{spec.name}-{spec.key()}", build, log)
