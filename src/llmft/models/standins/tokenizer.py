"""A tokenizer trained on the spot for a stand-in model (no download)."""

from __future__ import annotations


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
