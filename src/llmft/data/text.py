"""Splitting text into sentences: for ROUGE-Lsum (one sentence per line), the lead baselines, and the stand-ins'
pre-training tasks. A plain regex, so that no NLTK data has to be downloaded."""

from __future__ import annotations

import re

_SENTENCE_END = re.compile(r"(?<!\bMr\.)(?<!\bMrs\.)(?<!\bMs\.)(?<!\bDr\.)(?<!\bSt\.)(?<=[.!?])\s+")


def sentences(text: str) -> list[str]:
    """The sentences of ``text`` (each line split at . ! or ?). A plain regex, so that no NLTK data has to
    be downloaded; titles such as "Mr." end no sentence."""
    return [s for line in text.split("\n") for s in _SENTENCE_END.split(line.strip()) if s]


def split_sentences(text: str) -> str:
    """One sentence per line, which ``rougeLsum`` needs (without newlines it equals ``rougeL``)."""
    return "\n".join(s for s in _SENTENCE_END.split(text.strip()) if s)
