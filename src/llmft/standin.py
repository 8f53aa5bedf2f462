"""Offline stand-in base models for the ``smoke`` profile.

The ``smoke`` profile cannot download a model, so it builds one of the *same
architecture family* locally: a tokenizer trained here with the ``tokenizers``
library, a small config of the real model class, and a short pre-training on
generic text-to-text tasks (continue a conversation, fill in missing words,
repeat a line). None of these tasks is summarisation, so the
stand-in's zero-shot summaries are weak but not garbage, and LoRA has a real
pretrained base to adapt. The result is cached on disk and reused.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from llmft.synthetic import dialogsum

STANDIN_FORMAT = 1  # bump to invalidate every cached stand-in


@dataclass(frozen=True)
class T5StandinSpec:
    """Size of a small T5 (v1.1 / Flan-T5 style: gated-GELU, untied head) and of its pre-training."""

    vocab_size: int = 1000
    d_model: int = 128
    d_ff: int = 256
    num_layers: int = 2
    num_heads: int = 4
    d_kv: int = 32
    feed_forward_proj: str = "gated-gelu"
    pretrain_examples: int = 6000
    pretrain_steps: int = 300
    pretrain_batch: int = 16
    pretrain_lr: float = 2e-3
    max_source_len: int = 160
    max_target_len: int = 32
    seed: int = 0

    def key(self) -> str:
        blob = json.dumps({"spec": asdict(self), "format": STANDIN_FORMAT}, sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:12]


def cache_root() -> Path:
    """Where stand-ins are cached: ``$LLMFT_CACHE`` or ``~/.cache/llmft``."""
    return Path(os.environ.get("LLMFT_CACHE", Path.home() / ".cache" / "llmft"))


# ---------------------------------------------------------------- tokenizer
def train_unigram_tokenizer(texts: list[str], vocab_size: int):
    """A T5-style tokenizer (Unigram, ``<pad>``=0, ``</s>``=1, ``<unk>``=2) trained on ``texts``.

    SentencePiece trains the Unigram model, as for the real T5; it is deterministic on one
    thread (the ``tokenizers`` Unigram trainer is not). Its pieces and scores then become
    a fast ``tokenizers`` Unigram wrapped as ``T5TokenizerFast``. Like T5's own tokenizer,
    it turns newlines into spaces. ``vocab_size`` is an upper bound: a small corpus gives fewer pieces.
    """
    import io

    import sentencepiece as spm
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors
    from transformers import T5TokenizerFast

    buf = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter([t.replace("\n", " ") for t in texts]), model_writer=buf, vocab_size=vocab_size,
        model_type="unigram", num_threads=1, pad_id=0, eos_id=1, unk_id=2, bos_id=-1,
        normalization_rule_name="identity", hard_vocab_limit=False, minloglevel=2,
    )
    sp = spm.SentencePieceProcessor(model_proto=buf.getvalue())
    vocab = [(sp.id_to_piece(i), sp.get_score(i)) for i in range(sp.get_piece_size())]
    tok = Tokenizer(models.Unigram(vocab, unk_id=2))
    tok.normalizer = normalizers.Sequence([normalizers.NFKC(), normalizers.Replace(Regex(r"\s+"), " ")])
    tok.pre_tokenizer = pre_tokenizers.Metaspace()
    tok.decoder = decoders.Metaspace()  # without it decoded text reads "▁we n t"
    tok.post_processor = processors.TemplateProcessing(
        single="$A </s>", pair="$A </s> $B </s>", special_tokens=[("</s>", 1)]
    )
    return T5TokenizerFast(tokenizer_object=tok, pad_token="<pad>", eos_token="</s>", unk_token="<unk>", extra_ids=0)


# ---------------------------------------------------------------- corpus
def pretraining_pairs(n: int, seed: int) -> list[tuple[str, str]]:
    """Generic text-to-text pairs over synthetic conversations. No summaries appear in them."""
    r = random.Random(seed + 7919)
    pairs: list[tuple[str, str]] = []
    while len(pairs) < n:
        dialogue, _summary, _topic = dialogsum.make_dialogue(r)
        lines = dialogue.split("\n")
        task = r.randrange(3)
        if task == 0:
            k = r.randrange(1, len(lines))
            pairs.append(("Continue the conversation:\n\n" + "\n".join(lines[:k]), lines[k]))
        elif task == 1:
            i = r.randrange(len(lines))
            words = lines[i].split(" ")
            if len(words) < 4:
                continue
            j = r.randrange(1, len(words) - 1)
            span = r.randint(1, min(3, len(words) - j))
            hidden = " ".join(words[j : j + span])
            lines[i] = " ".join(words[:j] + ["___"] + words[j + span :])
            pairs.append(("Fill in the missing words:\n\n" + "\n".join(lines), hidden))
        else:
            pairs.append(("Repeat the first line:\n\n" + dialogue, lines[0]))
    return pairs


# ---------------------------------------------------------------- model
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
        tie_word_embeddings=False,
        dropout_rate=0.0,
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
        decoder_start_token_id=tokenizer.pad_token_id,
    )
    torch.manual_seed(spec.seed)
    return untie_t5_head(T5ForConditionalGeneration(config))


def pretrain_seq2seq(model, tokenizer, pairs: list[tuple[str, str]], spec: T5StandinSpec) -> list[float]:
    """Full-parameter pre-training of the stand-in; returns the loss per step."""
    from tqdm import tqdm

    g = torch.Generator().manual_seed(spec.seed)
    opt = torch.optim.AdamW(model.parameters(), lr=spec.pretrain_lr, weight_decay=0.0)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / 30) * max(0.05, 1 - s / spec.pretrain_steps))
    model.train()
    losses = []
    for _step in tqdm(range(spec.pretrain_steps), desc="pre-training the stand-in", mininterval=5):
        idx = torch.randint(len(pairs), (spec.pretrain_batch,), generator=g).tolist()
        src = [pairs[i][0] for i in idx]
        tgt = [pairs[i][1] for i in idx]
        enc = tokenizer(src, text_target=tgt, max_length=spec.max_source_len, truncation=True, padding=True, return_tensors="pt")
        labels = enc["labels"].masked_fill(enc["labels"] == tokenizer.pad_token_id, -100)
        out = model(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"], labels=labels)
        out.loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        opt.zero_grad(set_to_none=True)
        losses.append(out.loss.item())
    model.eval()
    return losses


def t5_standin(spec: T5StandinSpec | None = None, cache: Path | None = None, log=print) -> Path:
    """Path of a pre-trained T5 stand-in (model + tokenizer), building and caching it on first use."""
    spec = spec or T5StandinSpec()
    target = (cache or cache_root()) / f"t5-standin-{spec.key()}"
    if (target / "standin.json").exists():
        log(f"Using the cached stand-in at {target}")
        return target
    t0 = time.perf_counter()
    pairs = pretraining_pairs(spec.pretrain_examples, spec.seed)
    texts = [s for pair in pairs for s in pair]
    tokenizer = train_unigram_tokenizer(texts, spec.vocab_size)
    model = build_t5(spec, tokenizer)
    log(f"Building a T5 stand-in ({model.num_parameters():,} parameters), pre-training {spec.pretrain_steps} steps...")
    losses = pretrain_seq2seq(model, tokenizer, pairs, spec)
    tmp = target.with_name(target.name + f".tmp{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(tmp)
    tokenizer.save_pretrained(tmp)
    meta = {"spec": asdict(spec), "pretrain_loss_first": losses[0], "pretrain_loss_last": sum(losses[-20:]) / 20,
            "seconds": round(time.perf_counter() - t0, 1)}
    (tmp / "standin.json").write_text(json.dumps(meta, indent=2))
    shutil.rmtree(target, ignore_errors=True)
    tmp.rename(target)  # appears whole or not at all
    log(f"Stand-in ready in {meta['seconds']} s (pre-training loss {losses[0]:.2f} -> {meta['pretrain_loss_last']:.2f})")
    return target
