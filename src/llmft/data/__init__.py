"""The data layer: load a case's data (hub, synthetic or your own files, through the same ``datasets`` calls),
format prompts, tokenize.

This module is the layer's API; beside it: :mod:`~llmft.data.text` (sentence splitting),
:mod:`~llmft.data.synthetic` (records in each real dataset's schema, for ``smoke``) and :mod:`~llmft.data.papers`
(case 4's PDF-to-triples pipeline).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from datasets import DatasetDict, load_dataset

from llmft.cache import cache_root
from llmft.cases import REGISTRY, Case, resolve
from llmft.profiles import Sizes
from llmft.runtime import Run, hub_errors

# The smoke profile's generators and split sizes, as each case registered them (llmft.cases).
SYNTHETIC = {key: resolve(r.synthetic.generator) for key, r in REGISTRY.items() if r.synthetic}
SYNTHETIC_SPLIT_SIZES = {key: dict(r.synthetic.splits) for key, r in REGISTRY.items() if r.synthetic}
DATA_ENV = "LLMFT_DATA"
LOCAL_FORMATS = {".jsonl": "json", ".json": "json", ".csv": "csv", ".parquet": "parquet"}


def synthetic_files(case: Case, seed: int, cache: Path | None = None) -> dict[str, str]:
    """Write the synthetic splits of ``case`` as JSON lines (once) and return their paths."""
    if case.key not in SYNTHETIC:
        raise ValueError(f"No synthetic stand-in data for case {case.key!r} yet.")
    folder = (cache or cache_root()) / "data" / f"{case.key}-seed{seed}-{_generator_fingerprint(case)}"
    sizes = SYNTHETIC_SPLIT_SIZES[case.key]
    files = {split: folder / f"{split}.jsonl" for split in sizes}
    if not all(f.exists() for f in files.values()):
        folder.mkdir(parents=True, exist_ok=True)
        for split, rows in SYNTHETIC[case.key](sizes, seed).items():
            tmp = files[split].with_suffix(".tmp")
            with tmp.open("w") as fh:
                for row in rows:
                    fh.write(json.dumps(row) + "\n")
            tmp.rename(files[split])
    return {split: str(f) for split, f in files.items()}


def _generator_fingerprint(case: Case) -> str:
    import hashlib
    import inspect

    return hashlib.sha256(inspect.getsource(inspect.getmodule(SYNTHETIC[case.key])).encode()).hexdigest()[:8]


def local_files(case: Case, folder: str | Path) -> dict[str, str]:
    """The split files in ``folder`` (``train.jsonl``, ``test.csv``, ``validation.parquet``...).

    ``train`` is required; ``validation`` and ``test`` are carved from it when absent.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"{DATA_ENV} points to {folder}, which is not a folder. It should hold "
                                f"train/validation/test files ({', '.join(LOCAL_FORMATS)}).")
    files = {}
    for split in ("train", "validation", "test"):
        found = sorted(p for p in folder.iterdir() if p.stem == split and p.suffix in LOCAL_FORMATS)
        if len(found) > 1:
            raise ValueError(f"Two {split} files in {folder}: {', '.join(p.name for p in found)}. Keep one.")
        if found:
            files[split] = str(found[0])
    if "train" not in files:
        raise FileNotFoundError(f"No train file in {folder}: expected train{'/'.join(LOCAL_FORMATS)} with the "
                                f"fields {', '.join(required_fields(case))}.")
    return files


def required_fields(case: Case) -> tuple[str, ...]:
    return tuple(dict.fromkeys((*case.input_fields, case.target_field)))


def check_schema(ds, case: Case, split: str) -> None:
    """A split missing a field the case reads is an error that names what is expected."""
    missing = [f for f in required_fields(case) if f not in ds.column_names]
    if missing:
        raise ValueError(f"The {split} split lacks the field(s) {', '.join(missing)}. Case {case.key!r} expects "
                         f"{', '.join(required_fields(case))} (it has {', '.join(ds.column_names)}).")
    if len(ds) == 0:
        raise ValueError(f"The {split} split is empty.")


def class_labels(ds, case: Case, split: str):
    """A classification case's label column as a ``ClassLabel`` with the case's names, as on the hub.

    Your own files may hold label ids (0..n-1) or label names; anything else is an error that says
    which values are allowed.
    """
    from datasets import ClassLabel

    if not case.labels:
        return ds
    field, names = case.target_field, list(case.labels)
    feature = ds.features[field]
    if isinstance(feature, ClassLabel):
        if list(feature.names) != names:
            raise ValueError(f"The {split} split's labels are {feature.names}; case {case.key!r} expects {names}.")
        return ds
    values = set(ds[field])
    if values <= set(names):
        ds = ds.map(lambda row: {field: names.index(row[field])})
    elif not values <= set(range(len(names))):
        bad = sorted(map(str, values - set(names) - set(range(len(names)))))[:5]
        raise ValueError(f"The {split} split has labels {', '.join(bad)}; case {case.key!r} expects ids 0-{len(names) - 1} "
                         f"or the names {', '.join(names)}.")
    return ds.cast_column(field, ClassLabel(names=names))


def _input_keys(ds, fields: tuple[str, ...]) -> list[str]:
    return [json.dumps([row.get(f) for f in fields]) for row in ds]


def carve(ds, fractions: dict[str, float], seed: int, fields: tuple[str, ...]) -> dict:
    """Split ``ds`` deterministically into parts of the given fractions of its distinct inputs (the rest
    stays ``train``).

    Rows that share their inputs ``fields`` (the same dialogue with several references, the same
    instruction answered twice) stay in one part, so no carved validation or test input also appears in
    train. Only the inputs count: Alpaca's ``text`` holds the answer and must not split a group.
    """
    keys = _input_keys(ds, fields)
    groups = list(dict.fromkeys(keys))
    order = np.random.default_rng(seed).permutation(len(groups))
    out, start = {}, 0
    for name, frac in fractions.items():
        n = max(1, int(round(frac * len(groups))))
        chosen = {groups[i] for i in order[start : start + n]}
        out[name] = ds.select([i for i, k in enumerate(keys) if k in chosen])
        start += n
    rest = {groups[i] for i in order[start:]}
    out["train"] = ds.select([i for i, k in enumerate(keys) if k in rest])
    return out


def _take(ds, n: int | None, seed: int, group_fields: tuple[str, ...] | None = None):
    """A seeded sample of ``n`` inputs; rows that share ``group_fields`` (several references) stay together."""
    if group_fields is None:
        if n is None or n >= len(ds):
            return ds
        return ds.shuffle(seed=seed).select(range(n))
    values = _input_keys(ds, group_fields)
    groups = list(dict.fromkeys(values))
    if n is None or n >= len(groups):
        return ds
    chosen = {groups[i] for i in np.random.default_rng(seed).permutation(len(groups))[:n]}
    return ds.select([i for i, v in enumerate(values) if v in chosen])


def data_source(run: Run) -> str:
    """Where this run's data comes from, in words (shown beside every result)."""
    if os.environ.get(DATA_ENV):
        return f"your files ({DATA_ENV})"
    if not run.case.dataset_id:  # built by the chapter (case 4: papers -> teacher -> triples)
        return ("triples built here from synthetic papers (PDF) by the offline rule-based teacher"
                if run.profile.offline else "triples built here from papers (PDF) by a teacher model")
    if run.profile.offline:
        return f"synthetic {run.case.dataset_id.split('/')[-1]}-style records"
    return f"{run.case.dataset_id} from the Hugging Face Hub"


def load_splits(run: Run, built: str | Path | None = None) -> DatasetDict:
    """train / validation / test for the run.

    From ``$LLMFT_DATA`` (a folder with your own train/validation/test files in the dataset's schema)
    if set, in any profile; else synthetic records in ``smoke``; else the hub dataset. A split the
    source does not publish (Alpaca's validation and test, AG News' validation) is carved from train.
    Evaluation splits are sampled by input, so an input's several references stay together. ``built``: the
    folder of split files a chapter built itself (case 4's triples), used unless ``$LLMFT_DATA`` is set. Rows
    with a ``paper`` field are carved by paper, so that no test row comes from a paper seen in training.
    """
    case, sizes = run.case, run.sizes
    local = os.environ.get(DATA_ENV, "").strip()
    if local:
        files = local_files(case, local)
        raw = DatasetDict({split: load_dataset(LOCAL_FORMATS[Path(f).suffix], data_files=f, split="train")
                           for split, f in files.items()})
    elif built is not None:
        raw = DatasetDict({split: load_dataset(LOCAL_FORMATS[Path(f).suffix], data_files=f, split="train")
                           for split, f in local_files(case, built).items()})
    elif not case.dataset_id:
        raise ValueError(f"Case {case.key!r} has no published dataset: its chapter builds one (pass the folder as "
                         f"`built`), or set {DATA_ENV} to a folder with your own train/validation/test files.")
    elif run.profile.offline:
        raw = load_dataset("json", data_files=synthetic_files(case, run.seed))
    else:
        with hub_errors(f"the dataset {case.dataset_id}", offline=False):
            raw = load_dataset(case.dataset_id, revision=case.dataset_revision)
        raw = DatasetDict({ours: raw[theirs] for ours, theirs in case.splits.items() if theirs})
    missing = {s: f for s, f in (("validation", 0.05), ("test", 0.05)) if s not in raw}
    parts = dict(raw)
    if missing:
        by = ("paper",) if "paper" in raw["train"].column_names else case.input_fields
        parts.update(carve(raw["train"], missing, run.seed, by))
    for split in ("train", "validation", "test"):
        check_schema(parts[split], case, split)
        parts[split] = class_labels(parts[split], case, split)
    group = case.input_fields
    return DatasetDict(
        train=_take(parts["train"], sizes.train_examples, run.seed),
        validation=_take(parts["validation"], sizes.eval_examples, run.seed, group),
        test=_take(parts["test"], sizes.eval_examples, run.seed, group),
    )


def group_references(ds, case: Case) -> tuple[list[dict], list[list[str]]]:
    """One record per distinct input, with the list of all its references, in first-seen order."""
    records: dict[str, dict] = {}
    refs: dict[str, list[str]] = {}
    for row in ds:
        key = json.dumps([row[f] for f in case.input_fields])
        records.setdefault(key, row)
        refs.setdefault(key, []).append(row[case.target_field])
    return list(records.values()), list(refs.values())


FIELD_FLOOR = 32  # tokens of a field kept before an earlier field is cut


def fit_prompt(case: Case, record: dict, tokenizer, max_len: int) -> str:
    """The prompt for ``record``, shortened so that it fits ``max_len`` tokens *without losing the cue*.

    Plain truncation cuts the end of the prompt, where the cue ("Summary:", "### Response:") sits. Here the input
    fields are cut instead, a few tokens at a time: the last one first, down to :data:`FIELD_FLOOR` tokens, then
    the earlier ones (an over-long instruction), then all of them down to one token. A field is never cut to
    nothing (an empty input would switch Alpaca's template to its no-input form without a word); a prompt that
    cannot fit even so is refused with an error.
    """
    prompt = case.format_prompt(record)
    if len(tokenizer(prompt)["input_ids"]) <= max_len:
        return prompt
    record = dict(record)
    for floor in (FIELD_FLOOR, 1):
        for field in reversed(case.input_fields):
            ids = tokenizer(record[field], add_special_tokens=False)["input_ids"]
            if len(ids) <= floor:
                continue
            over = len(tokenizer(case.format_prompt(record))["input_ids"]) - max_len
            keep = max(floor, len(ids) - over)  # the likely cut first, then 4 tokens at a time
            while True:
                record[field] = tokenizer.decode(ids[:keep], skip_special_tokens=True)
                prompt = case.format_prompt(record)
                if len(tokenizer(prompt)["input_ids"]) <= max_len:
                    return prompt
                if keep == floor:
                    break
                keep = max(floor, keep - 4)
    raise ValueError(f"The prompt does not fit {max_len} tokens even with every input field cut to one token: "
                     f"the template is too long for this limit.")


def tokenize_seq2seq(ds, tokenizer, case: Case, sizes: Sizes):
    """Prompt + tokenize a split for a seq2seq model; labels are the target ids (padding comes later).

    A target longer than ``max_target_len`` tokens (with its ``</s>``) is left out rather than cut, as
    :func:`prompt_completion` does for causal models: cut, it would end with ``</s>`` in mid-sentence and teach the
    model to stop there. How many were left out is printed (nothing is printed when none was)."""
    lengths = [len(ids) for ids in tokenizer(text_target=list(ds[case.target_field]))["input_ids"]]
    keep = [i for i, n in enumerate(lengths) if n <= sizes.max_target_len]
    if not keep:
        raise ValueError(f"Every target is over max_target_len={sizes.max_target_len} tokens: raise it in the sizes.")
    if len(keep) < len(ds):
        print(f"{len(ds) - len(keep):,} of {len(ds):,} pairs left out: the {case.target_field} is over "
              f"{sizes.max_target_len} tokens (cut, it would end with </s> in mid-sentence).")
        ds = ds.select(keep)

    def encode(batch):
        rows = [dict(zip(batch, values)) for values in zip(*batch.values())]
        prompts = [fit_prompt(case, r, tokenizer, sizes.max_source_len) for r in rows]
        enc = tokenizer(prompts, max_length=sizes.max_source_len, truncation=True)
        targets = tokenizer(text_target=batch[case.target_field], max_length=sizes.max_target_len, truncation=True)
        enc["labels"] = targets["input_ids"]
        return enc

    return ds.map(encode, batched=True, remove_columns=ds.column_names, desc="tokenizing")


def prompt_completion(ds, tokenizer, case: Case, sizes: Sizes):
    """A split as trl's prompt/completion pairs: the prompt (Alpaca's template, the input cut to fit
    ``max_source_len`` tokens) and the answer. trl appends EOS to every completion and trains on the
    completion only.

    Only these two columns are kept: trl appends EOS to a column named ``text`` when one is present,
    and Alpaca's ``text`` already holds the answer. An answer longer than ``max_target_len`` tokens is left
    out rather than cut: cut, it would end with an EOS in mid-sentence and teach the model to stop there.
    Returns the dataset and how many rows were left out.
    """
    from datasets import Dataset

    rows = [dict(zip(ds.column_names, values)) for values in zip(*(ds[c] for c in ds.column_names))]
    lengths = token_lengths([r[case.target_field] for r in rows], tokenizer)
    keep = [r for r, n in zip(rows, lengths) if n + 1 <= sizes.max_target_len]  # + 1: the EOS
    pairs = Dataset.from_dict({
        "prompt": [fit_prompt(case, r, tokenizer, sizes.max_source_len) for r in keep],
        "completion": [r[case.target_field] for r in keep],
    })
    return pairs, len(rows) - len(keep)


def tokenize_classification(ds, tokenizer, case: Case, sizes: Sizes):
    """Tokenize a split for a sequence classifier; ``labels`` are the class ids (padding comes later)."""

    def encode(batch):
        enc = tokenizer(batch[case.input_fields[0]], max_length=sizes.max_source_len, truncation=True)
        enc["labels"] = batch[case.target_field]
        return enc

    return ds.map(encode, batched=True, remove_columns=ds.column_names, desc="tokenizing")


@dataclass(frozen=True)
class LengthStats:
    mean: float
    median: float
    p95: float
    max: int
    truncated_share: float  # share of examples longer than the limit

    def row(self) -> dict[str, float]:
        return {"mean": round(self.mean, 1), "median": self.median, "p95": round(self.p95, 1),
                "max": self.max, "truncated": f"{100 * self.truncated_share:.1f} %"}


def token_lengths(texts: list[str], tokenizer) -> np.ndarray:
    return np.array([len(ids) for ids in tokenizer(list(texts), truncation=False)["input_ids"]])


def length_stats(lengths: np.ndarray, limit: int) -> LengthStats:
    return LengthStats(
        mean=float(lengths.mean()), median=float(np.median(lengths)), p95=float(np.percentile(lengths, 95)),
        max=int(lengths.max()), truncated_share=float((lengths > limit).mean()),
    )
