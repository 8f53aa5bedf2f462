"""Varied (reference, prediction) pairs for checking a ROUGE implementation: partial copies,
reorderings, inflections, punctuation, case, multi-sentence texts, repeats and empty strings."""

from __future__ import annotations

import random

from llmft.data.synthetic import dialogsum

EDGE_CASES = [
    ("", "something"),
    ("something", ""),
    ("", ""),
    ("The cats sat on the mat.\nDogs ran away!", "dogs ran. The cat sits on a mat"),
    ("a a a b", "a b a b a"),
    ("Police killed the gunman.", "police kill gunmen"),
    ("U.S. inflation rose 3.5% in 2023.", "US inflation rose 3.5 percent in 2023"),
    ("one two three\nfour five six", "one two three four five six"),
    ("It's the end-of-year report.", "its the end of year report"),
]


def rouge_test_pairs(n: int, seed: int = 0) -> list[tuple[str, str]]:
    """``n`` pairs drawn from synthetic dialogues and their summaries, plus fixed edge cases."""
    r = random.Random(seed)
    pairs = list(EDGE_CASES)
    while len(pairs) < n:
        dialogue, summary, _ = dialogsum.make_dialogue(r)
        reference = summary.replace(". ", ".\n") if r.random() < 0.5 else summary
        words = dialogue.replace("\n", " ").split()
        kind = r.randrange(4)
        if kind == 0:  # a window of the dialogue
            k = r.randint(3, 25)
            start = r.randrange(max(1, len(words) - k))
            prediction = " ".join(words[start : start + k])
        elif kind == 1:  # the summary shuffled
            toks = summary.split()
            r.shuffle(toks)
            prediction = " ".join(toks)
        elif kind == 2:  # the summary with some words dropped and case changed
            prediction = " ".join(w.upper() if r.random() < 0.2 else w for w in summary.split() if r.random() < 0.7)
        else:  # another dialogue's summary, split into lines
            prediction = dialogsum.make_dialogue(r)[1].replace(". ", ".\n")
        pairs.append((reference, prediction))
    return pairs[:n]
