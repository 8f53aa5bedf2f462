"""What the T5 stand-ins pre-train on: generic text-to-text tasks over synthetic text, one mixture per
stand-in. Each mixture teaches what the real model's pre-training taught (Flan's chat summaries; T5's
CNN/Daily Mail ``summarize:``) and never the convention the chapter's LoRA has to teach."""

from __future__ import annotations

import random

from llmft.data.synthetic import dialogsum, xsum
from llmft.data.text import sentences

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


NEWS_TASKS = {"summarize": 3.5, "fill": 2.5, "copy": 2.0, "continue": 2.0}


def news_pretraining_pairs(n: int, seed: int) -> list[tuple[str, str]]:
    """The t5-small stand-in's pre-training: generic text-to-text tasks on whole news articles.

    As T5 v1.0's multi-task mixture included CNN/Daily Mail with the prefix ``summarize: ``, a third of
    the pairs summarise a story the CNN/Daily Mail way: its first two or three sentences, copied. The
    rest fill in missing words, copy, or continue a text. Nothing teaches XSum's convention (one new
    sentence written from an article that lacks its introduction): that is what the chapter's LoRA
    has to teach.
    """
    r = random.Random(seed + 104729)
    articles = xsum.pretraining_articles(n, seed)
    names, weights = zip(*NEWS_TASKS.items())
    pairs: list[tuple[str, str]] = []
    for article in articles:
        parts = sentences(article)
        task = r.choices(names, weights)[0]
        if task == "summarize":  # CNN/Daily Mail's highlights are mostly sentences of the story's start
            story = article.split("\n", 1)[1]
            lead = sentences(story)[: r.choice((2, 3))]
            pairs.append(("summarize: " + story, " ".join(lead)))
        elif task == "copy":
            start = r.randrange(max(1, len(parts) - 3))
            window = " ".join(parts[start : start + r.randint(1, 3)])
            pairs.append(("Copy the text: " + window, window))
        elif task == "continue":
            k = r.randint(1, max(1, len(parts) - 1))
            pairs.append(("Continue the text: " + " ".join(parts[:k]), " ".join(parts[k : k + 1]) or "."))
        else:
            words = " ".join(parts[: r.randint(2, 6)]).split(" ")
            j = r.randrange(1, len(words) - 1)
            span = r.randint(1, min(4, len(words) - j))
            pairs.append(("Fill in the missing words: " + " ".join(words[:j] + ["___"] + words[j + span :]),
                          " ".join(words[j : j + span])))
    return pairs


CORPORA = {"chats": (pretraining_pairs, dialogsum), "news": (news_pretraining_pairs, xsum)}
