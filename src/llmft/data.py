"""Load a case's data (hub or stand-in, through the same ``datasets`` calls), format prompts, tokenize."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from datasets import DatasetDict, load_dataset

from llmft.cases import Case
from llmft.profiles import Sizes
from llmft.runtime import Run, hub_errors
from llmft.standin import cache_root
from llmft.synthetic import dialogsum

SYNTHETIC = {"dialogsum-flan-t5": dialogsum.make_split}
# smoke sizes of the synthetic splits, before the profile's sizes select from them
SYNTHETIC_SPLIT_SIZES = {"train": 2000, "validation": 100, "test": 200}


def synthetic_files(case: Case, seed: int, cache: Path | None = None) -> dict[str, str]:
    """Write the synthetic splits of ``case`` as JSON lines (once) and return their paths."""
    if case.key not in SYNTHETIC:
        raise ValueError(f"No synthetic stand-in data for case {case.key!r} yet.")
    folder = (cache or cache_root()) / "data" / f"{case.key}-seed{seed}"
    folder.mkdir(parents=True, exist_ok=True)
    files = {}
    for split, n in SYNTHETIC_SPLIT_SIZES.items():
        path = folder / f"{split}.jsonl"
        if not path.exists():
            tmp = path.with_suffix(".tmp")
            with tmp.open("w") as fh:
                for row in SYNTHETIC[case.key](split, n, seed):
                    fh.write(json.dumps(row) + "\n")
            tmp.rename(path)
        files[split] = str(path)
    return files


def _take(ds, n: int | None, seed: int):
    if n is None or n >= len(ds):
        return ds
    return ds.shuffle(seed=seed).select(range(n))


def load_splits(run: Run) -> DatasetDict:
    """train / validation / test for the run: synthetic JSON in ``smoke``, the hub dataset otherwise."""
    case, sizes = run.case, run.sizes
    if run.profile.offline:
        raw = load_dataset("json", data_files=synthetic_files(case, run.seed))
    else:
        with hub_errors(f"the dataset {case.dataset_id}", offline=False):
            raw = load_dataset(case.dataset_id, revision=case.dataset_revision)
        raw = DatasetDict({ours: raw[theirs] for ours, theirs in case.splits.items() if theirs})
    return DatasetDict(
        train=_take(raw["train"], sizes.train_examples, run.seed),
        validation=_take(raw["validation"], sizes.eval_examples, run.seed),
        test=_take(raw["test"], sizes.eval_examples, run.seed),
    )


def tokenize_seq2seq(ds, tokenizer, case: Case, sizes: Sizes):
    """Prompt + tokenize a split for a seq2seq model; labels are the target ids (padding comes later)."""

    def encode(batch):
        rows = [dict(zip(batch, values)) for values in zip(*batch.values())]
        prompts = [case.format_prompt(r) for r in rows]
        enc = tokenizer(prompts, max_length=sizes.max_source_len, truncation=True)
        targets = tokenizer(text_target=batch[case.target_field], max_length=sizes.max_target_len, truncation=True)
        enc["labels"] = targets["input_ids"]
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
