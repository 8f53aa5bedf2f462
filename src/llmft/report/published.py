"""Published figures for each case on the real models, with their sources (keys of ``book/references.bib``).

The comparison chapter shows them beside our own results. They come from other runs (other training sizes, often
full fine-tuning, other evaluation code), so they say what to expect of the real models, not what a notebook here
measured. ``None`` marks a figure nobody has published, as far as we found.
"""

from __future__ import annotations

from llmft.cases import REGISTRY, Published

__all__ = ["PUBLISHED", "Published", "sources"]

# As each case registered them (llmft.cases); an empty list: none found.
PUBLISHED: dict[str, list[Published]] = {key: list(r.published) for key, r in REGISTRY.items()}


def sources() -> list[str]:
    """Every bibtex key cited by :data:`PUBLISHED`, in order of first use."""
    return list(dict.fromkeys(p.source for rows in PUBLISHED.values() for p in rows))
