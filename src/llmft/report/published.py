"""Published figures for each case on the real models, with their sources (keys of ``book/references.bib``).

The comparison chapter shows them beside our own results. They come from other runs (other training sizes, often
full fine-tuning, other evaluation code), so they say what to expect of the real models, not what a notebook here
measured. ``None`` marks a figure nobody has published, as far as we found.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Published:
    case: str
    model: str
    metric: str  # the metric of the figures below, in its published units
    zero_shot: float | None
    tuned: float | None
    method: str  # how ``tuned`` was obtained
    source: str  # bibtex key
    note: str = ""


PUBLISHED: dict[str, list[Published]] = {
    "xsum-t5-small": [
        Published("xsum-t5-small", "t5-small", "ROUGE-L (x100)", 14.0, 22.9, "full fine-tuning, 1 epoch, inputs to 512 tokens",
                  "t5smallxsumcards", "Muennighoff/t5-small-finetuned-xsum-512 card"),
        Published("xsum-t5-small", "t5-small", "ROUGE-L (x100)", None, 22.2, "full fine-tuning, 1 epoch, inputs to 1024 tokens",
                  "t5smallxsumcards", "Trainer-generated t5-small-finetuned-xsum cards"),
    ],
    "dialogsum-flan-t5": [
        Published("dialogsum-flan-t5", "google/flan-t5-base", "ROUGE-L (0-1)", 0.202, 0.325, "LoRA r=32 on q, v (as case 2)",
                  "dlai2023genai", "course lab; full fine-tuning 0.338"),
    ],
    "alpaca-gpt2": [
        Published("alpaca-gpt2", "openai-community/gpt2", "eval loss (lower is better)", None, 1.698,
                  "LoRA, 1 epoch, lr 5e-4, batch 4 (QLoRA: 1.833)", "gpt2alpacacards", "no published ROUGE"),
    ],
    "papers-llama3": [],  # no public figure for Llama-3-8B QLoRA on a small paper-derived instruction set
    "agnews-distilbert": [
        Published("agnews-distilbert", "distilbert-base-uncased", "accuracy (%)", None, 94.4,
                  "full fine-tuning, 2 epochs (94.4 to 94.7)", "agnewscards"),
        Published("agnews-distilbert", "DistilBERT-family encoders", "accuracy (%)", None, 93.3,
                  "LoRA, 4 epochs (93.3 to 94.4)", "agnewscards"),
    ],
}


def sources() -> list[str]:
    """Every bibtex key cited by :data:`PUBLISHED`, in order of first use."""
    return list(dict.fromkeys(p.source for rows in PUBLISHED.values() for p in rows))
