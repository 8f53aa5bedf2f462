"""The code in the chapters' worked solutions runs: every ```python block inside a "Solutions" dropdown of a
notebook is executed here, at the sizes it states (they are small), with the names the chapter has imported."""

import dataclasses
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from llmft.cases import CASES
from llmft.evaluation import metrics
from llmft.foundations import lora, quant, rouge
from llmft.foundations import memory_model as mm
from llmft.foundations.lora import trainable_by_formula
from llmft.report import compare

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


def solution_blocks(path: Path) -> list[str]:
    text = "\n".join(line[2:] if line.startswith("# ") else line.lstrip("#") for line in path.read_text().splitlines())
    blocks = []
    for box in re.findall(r"````\{admonition\} Solutions\n(.*?)\n````", text, flags=re.S):
        blocks += re.findall(r"```python\n(.*?)\n```", box, flags=re.S)
    return blocks


CHAPTERS = [p for p in sorted(NOTEBOOKS.glob("*.py")) if solution_blocks(p)]


def test_some_chapters_have_worked_solutions():
    assert len(solution_blocks(NOTEBOOKS / "11_lora_from_scratch.py")) == 3
    assert len(solution_blocks(NOTEBOOKS / "12_quantization_qlora.py")) == 4
    assert len(solution_blocks(NOTEBOOKS / "13_measuring_text.py")) == 3
    every = {p.stem for p in NOTEBOOKS.glob("*.py") if "## Exercises" in p.read_text()}
    assert every == {p.stem for p in NOTEBOOKS.glob("*.py") if "{admonition} Solutions" in p.read_text()}


@pytest.mark.parametrize("path", CHAPTERS, ids=[p.stem for p in CHAPTERS])
def test_solution_code_runs(path):
    namespace = None
    for block in solution_blocks(path):  # in order, in one namespace, as a reader runs them
        namespace = namespace or {"lora": lora, "nn": nn, "torch": torch, "dataclasses": dataclasses, "CASES": CASES, "np": np,
                     "quant": quant, "mm": mm, "rouge": rouge, "metrics": metrics,
                     "trainable_by_formula": trainable_by_formula, "compare": compare, "print": lambda *a: None}
        exec(compile(block, f"{path.stem} solution", "exec"), namespace)
