"""Published figures for each case on the real models, with their sources (keys of ``book/references.bib``).

The comparison chapter shows them beside our own results. They come from other runs (other training sizes, often
full fine-tuning, other evaluation code), so they say what to expect of the real models, not what a notebook here
measured. ``None`` marks a figure nobody has published, as far as we found.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

from llmft.cases import REGISTRY, Published

__all__ = ["PUBLISHED", "Published", "citation", "on_unit_scale", "sources"]
BIB = Path(__file__).resolve().parents[3] / "book" / "references.bib"

# As each case registered them (llmft.cases); an empty list: none found.
PUBLISHED: dict[str, list[Published]] = {key: list(r.published) for key, r in REGISTRY.items()}


def sources() -> list[str]:
    """Every bibtex key cited by :data:`PUBLISHED`, in order of first use."""
    return list(dict.fromkeys(p.source for rows in PUBLISHED.values() for p in rows))


def on_unit_scale(p: Published) -> tuple[str, float | None, float]:
    """``(metric, zero-shot, tuned)`` with shares on a 0-1 scale (a figure published x100 or in % divided by 100),
    so they read on the scale of the book's own tables; other metrics (a loss) as published."""
    if "(x100)" in p.metric or "(%)" in p.metric:
        scale = lambda v: None if v is None else v / 100  # noqa: E731
        name = p.metric.replace("(x100)", "(0-1)").replace("(%)", "(0-1)")
        return name, scale(p.zero_shot), scale(p.tuned)
    return p.metric, p.zero_shot, p.tuned


@cache
def _entries() -> dict[str, str]:
    """``{key: "Author et al., year"}`` read from ``book/references.bib`` (as the book's citations print them)."""
    if not BIB.exists():
        return {}
    text, out = BIB.read_text(), {}
    for key, body in re.findall(r"@\w+\{([^,]+),(.*?)\n\}", text, flags=re.S):
        author = re.search(r"author\s*=\s*\{(.*?)\},?\n", body, flags=re.S)
        year = re.search(r"year\s*=\s*\{(.*?)\}", body)
        field = (author.group(1) if author else "").strip()
        if field.startswith("{") and field.endswith("}") and field.count("{") == 1:  # {Corporate Author}: one name
            last = [field.strip("{}")]
        else:
            names = [n.strip() for n in field.split(" and ") if n.strip()]
            last = [n.strip("{}") if n.startswith("{") else n.split(",")[0].strip("{} ") if "," in n
                    else n.split()[-1].strip("{}") for n in names]
        who = (last[0] + " et al." if len(last) > 2 else " and ".join(last)) if last else key
        out[key.strip()] = f"{who}, {year.group(1) if year else 'n.d.'}"
    return out


def citation(key: str) -> str:
    """A bibtex key as the book cites it in text (``Hu et al., 2021``); the key itself where the bibliography
    is not beside the package (a copy of ``llmft`` without the book)."""
    return _entries().get(key, key)
