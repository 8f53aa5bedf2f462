"""Offline stand-in base models for the ``smoke`` profile.

The ``smoke`` profile cannot download a model, so it builds one of the *same
architecture family* locally: a tokenizer trained here (byte fallback, whole-word
pieces), a small config of the real model class, and a short pre-training on
generic text-to-text tasks plus, as Flan-T5 had, instruction tuning that includes
summarising chats in *another* dataset's convention (see :func:`pretraining_pairs`).
The result is cached on disk, keyed by the spec and the data generator, and shared by
every chapter of the same architecture.
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

STANDIN_FORMAT = 2  # bump to invalidate every cached stand-in


@dataclass(frozen=True)
class T5StandinSpec:
    """Size of a small T5 (v1.1 / Flan-T5 style: gated-GELU, untied head) and of its pre-training."""

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
        blob = json.dumps({"spec": asdict(self), "format": STANDIN_FORMAT, "data": _code_fingerprint()}, sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:12]


def _code_fingerprint() -> str:
    """A hash of the synthetic-data generator and this module, so a changed corpus rebuilds the stand-in."""
    h = hashlib.sha256()
    for path in (Path(dialogsum.__file__), Path(__file__)):
        h.update(path.read_bytes())
    return h.hexdigest()[:12]


def cache_root() -> Path:
    """Where stand-ins are cached: ``$LLMFT_CACHE`` or ``~/.cache/llmft``."""
    return Path(os.environ.get("LLMFT_CACHE", Path.home() / ".cache" / "llmft"))


# ---------------------------------------------------------------- tokenizer
def train_tokenizer(texts: list[str], vocab_size: int):
    """A SentencePiece-style tokenizer (``<pad>``=0, ``</s>``=1, ``<unk>``=2) trained on ``texts``.

    * **Every character round-trips**: pieces fall back to bytes (``<0xE2>``...), as in Llama's
      tokenizer, so digits, capitals, ``$ % ( ) ;`` and emoji never become ``<unk>``.
    * **Common words are one piece**: SentencePiece's BPE trainer (deterministic on one thread)
      chooses the pieces; each piece then gets the log-frequency of its use on the corpus as a
      unigram score, so segmentation picks whole words where it can (a one-step Unigram model, the
      kind T5 uses). SentencePiece's own Unigram trainer stops at about a thousand pieces on a corpus
      this small, splitting words like "because" into three.
    * Like T5's tokenizer, runs of white space (newlines too) become one space.

    ``vocab_size`` is an upper bound: a small corpus gives fewer pieces.
    """
    import io
    import math
    from collections import Counter

    import sentencepiece as spm
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    lines = [" ".join(t.split()) for t in texts]
    buf = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(lines), model_writer=buf, vocab_size=vocab_size, model_type="bpe", num_threads=1,
        pad_id=0, eos_id=1, unk_id=2, bos_id=-1, normalization_rule_name="identity", hard_vocab_limit=False,
        byte_fallback=True, character_coverage=1.0, max_sentence_length=1 << 16, minloglevel=2,
    )
    sp = spm.SentencePieceProcessor(model_proto=buf.getvalue())
    counts = Counter(i for line in lines for i in sp.encode(line))
    total = sum(counts.values())
    unseen = math.log(0.5 / total) - 1.0  # byte pieces: used only when nothing else fits
    vocab = [(sp.id_to_piece(i), 0.0 if sp.is_control(i) or sp.is_unknown(i)
              else (math.log(counts[i] / total) if counts[i] else unseen)) for i in range(sp.get_piece_size())]
    tok = Tokenizer(models.Unigram(vocab, unk_id=2, byte_fallback=True))
    tok.normalizer = normalizers.Sequence([normalizers.Replace(Regex(r"\s+"), " "), normalizers.Strip()])
    tok.pre_tokenizer = pre_tokenizers.Metaspace()
    tok.decoder = decoders.Sequence([decoders.Replace("\u2581", " "), decoders.ByteFallback(), decoders.Fuse(),
                                     decoders.Strip(" ", 1, 0)])
    tok.post_processor = processors.TemplateProcessing(
        single="$A </s>", pair="$A </s> $B </s>", special_tokens=[("</s>", 1)]
    )
    # transformers 5 rebuilds T5Tokenizer's model without byte fallback, so the stand-in keeps the generic class.
    return PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", eos_token="</s>", unk_token="<unk>")


# ---------------------------------------------------------------- corpus
CHAT_PROMPTS = ("Summarize this chat:", "Briefly, what happened in this chat?", "Sum up the dialogue:")


def pretraining_pairs(n: int, seed: int) -> list[tuple[str, str]]:
    """The stand-in's pre-training and instruction tuning: generic text-to-text pairs.

    Half are generic tasks on synthetic conversations and short narratives (copy a text, fill in
    missing words, continue a text or a conversation). The other half, like
    the SAMSum part of Flan's mixture, summarise *chats in which people use names*, with names in
    the summary and other prompts. No pair uses DialogSum's convention (``#PersonN#`` tags in the
    summary) or the chapter's prompt: that is what the chapter's LoRA has to teach.
    """
    r = random.Random(seed + 7919)
    stories = dialogsum.narratives(n, seed)
    pairs: list[tuple[str, str]] = []
    while len(pairs) < n:
        if r.random() < 0.5:
            chat = dialogsum.draw(r, named=True, chatter=r.random() < 0.6)
            pairs.append((r.choice(CHAT_PROMPTS) + "\n\n" + chat.dialogue, chat.summaries[0]))
            continue
        full = dialogsum.draw(r).dialogue.split("\n")
        start = r.randrange(max(1, len(full) - 4))
        lines = full[start : start + r.randint(2, 6)]
        window = "\n".join(lines)
        task = r.choices(("copy", "fill", "fill-story", "continue-story", "continue"), (4, 2, 1.5, 1.5, 1))[0]
        if task == "copy":  # copying teaches the decoder to look at the input (cross-attention)
            pairs.append(("Copy the text:\n\n" + window, window))
        elif task == "continue" and len(lines) > 1:
            k = r.randrange(1, len(lines))
            pairs.append(("Continue the conversation:\n\n" + "\n".join(lines[:k]), lines[k]))
        elif task in ("fill", "fill-story"):
            words = (r.choice(stories) if task == "fill-story" else window).split(" ")
            if len(words) < 5:
                continue
            j = r.randrange(1, len(words) - 1)
            span = r.randint(1, min(4, len(words) - j))
            hidden = " ".join(words[j : j + span])
            pairs.append(("Fill in the missing words:\n\n" + " ".join(words[:j] + ["___"] + words[j + span :]), hidden))
        elif task == "continue-story":
            words = r.choice(stories).split(" ")
            k = r.randint(2, max(2, len(words) - 2))
            pairs.append(("Continue the text:\n\n" + " ".join(words[:k]), " ".join(words[k:])))
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
    model = untie_t5_head(T5ForConditionalGeneration(config))
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
    target = (cache or cache_root()) / f"t5-standin-{spec.key()}"
    if (target / "standin.json").exists():
        log(f"Using the cached stand-in {target.name} (built once on this machine)")
        return target
    t0 = time.perf_counter()
    pairs = pretraining_pairs(spec.pretrain_examples, spec.seed)
    texts = [s for pair in pairs for s in pair]
    tokenizer = train_tokenizer(texts, spec.vocab_size)
    model = build_t5(spec, tokenizer)
    log(f"Building a T5 stand-in ({model.num_parameters():,} parameters), pre-training {spec.pretrain_steps} steps...")
    losses = pretrain_seq2seq(model, tokenizer, pairs, spec)
    tmp = target.with_name(target.name + f".tmp{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(tmp)
    tokenizer.save_pretrained(tmp)
    meta = {"spec": asdict(spec), "parameters": model.num_parameters(), "vocabulary": len(tokenizer),
            "pretrain_loss_first": losses[0], "pretrain_loss_last": sum(losses[-20:]) / 20,
            "pretrain_loss": losses, "seconds": round(time.perf_counter() - t0, 1)}
    (tmp / "standin.json").write_text(json.dumps(meta, indent=2))
    shutil.rmtree(target, ignore_errors=True)
    tmp.rename(target)  # appears whole or not at all
    log(f"Stand-in ready in {meta['seconds']} s (pre-training loss {losses[0]:.2f} -> {meta['pretrain_loss_last']:.2f})")
    return target


def main() -> None:
    """``python -m llmft.standin``: build (or find) every offline model once, before the notebooks run:
    the T5 stand-in, and DistilBERT converted from MiniLM."""
    from llmft.minilm import minilm_distilbert

    t0 = time.perf_counter()
    t5_standin()
    minilm_distilbert()
    print(f"Stand-ins ready in {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
