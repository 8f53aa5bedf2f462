"""A teacher's answer to triples, in either of the two formats teachers write.

* **JSON**: a list of objects with ``instruction``, ``input`` and ``output``, or an object holding such a list
  (``{"triples": [...]}``), possibly inside a Markdown code fence and after some chatter.
* **The source project's text format**::

      Triple 1:
      Instruction: ...
      Input: ...
      Output: ...

A reply that yields no triple counts as malformed; so does each item without an instruction or an output.
Nothing here raises on a bad reply: the pipeline counts it and goes on.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

FIELDS = ("instruction", "input", "output")
_FENCE = re.compile(r"```(?:json)?\s*(.*?)```", re.DOTALL)
_TRIPLE = re.compile(r"(?im)^\s*(?:\*\*)?\s*triple\s*\d+\s*[:.)]?\s*(?:\*\*)?\s*$")
_FIELD = re.compile(r"(?im)^\s*(?:\*\*)?(instruction|input|output)(?:\*\*)?\s*:\s*(?:\*\*)?")


@dataclass
class Parsed:
    triples: list[dict] = field(default_factory=list)
    malformed: int = 0  # items (or whole replies) that could not be read as a triple
    format: str = "none"  # "json", "text" or "none"


def _clean(value) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        value = json.dumps(value) if isinstance(value, (dict, list)) else str(value)
    return value.strip()


def _from_items(items) -> Parsed:
    out = Parsed(format="json")
    for item in items:
        if not isinstance(item, dict):
            out.malformed += 1
            continue
        lowered = {str(k).strip().lower(): v for k, v in item.items()}
        triple = {f: _clean(lowered.get(f)) for f in FIELDS}
        if not triple["instruction"] or not triple["output"]:
            out.malformed += 1
            continue
        out.triples.append(triple)
    return out


def _json_candidates(text: str) -> list[str]:
    found = [m.group(1) for m in _FENCE.finditer(text)]
    for opener, closer in (("[", "]"), ("{", "}")):
        i, j = text.find(opener), text.rfind(closer)
        if 0 <= i < j:
            found.append(text[i : j + 1])
    return found


def parse_json(text: str) -> Parsed | None:
    """Triples from a JSON reply, or ``None`` when the reply holds no JSON list of triples."""
    for candidate in _json_candidates(text):
        try:
            data = json.loads(candidate)
        except (json.JSONDecodeError, ValueError):
            continue
        if isinstance(data, dict):
            lists = [v for v in data.values() if isinstance(v, list)]
            data = lists[0] if lists else [data] if any(k in data for k in FIELDS) else None
        if isinstance(data, list) and (not data or any(isinstance(x, dict) for x in data)):
            return _from_items(data)  # (a bare "[3]" in the text is a citation, not a list of triples)
    return None


def parse_text(text: str) -> Parsed | None:
    """Triples from the "Triple N: / Instruction: / Input: / Output:" format, or ``None`` where it is absent."""
    if not _FIELD.search(text):
        return None
    blocks = [b for b in _TRIPLE.split(text) if _FIELD.search(b)]
    out = Parsed(format="text")
    for block in blocks:
        parts = _FIELD.split(block)
        values: dict[str, str] = {}
        for name, value in zip(parts[1::2], parts[2::2]):
            values.setdefault(name.lower(), value.strip())
        triple = {f: values.get(f, "").strip() for f in FIELDS}
        if triple["input"].lower() in {"none", "n/a", "(none)", "<noinput>", "-"}:
            triple["input"] = ""
        if not triple["instruction"] or not triple["output"]:
            out.malformed += 1
            continue
        out.triples.append(triple)
    return out


def parse_reply(text: str) -> Parsed:
    """Triples from a teacher's reply in either format; a reply with none counts as one malformed reply."""
    text = text or ""
    parsed = parse_json(text) or parse_text(text)
    if parsed is None:
        return Parsed(malformed=1)
    return parsed  # (an empty JSON list is a valid answer: nothing worth asking in this chunk)
