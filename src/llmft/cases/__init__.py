"""The five cases of the book, one module each, registered in the order of their chapters.

Every field of a case describes the real thing (hub ids, splits, fields, published architecture numbers), whatever
the profile; the ``smoke`` profile swaps in the offline model and the synthetic data its registration names (see
:func:`llmft.cases.spec.register`). To add a case, see ``book/adding-a-case.md``.
"""

from llmft.cases.spec import (CASES, REGISTRY, Case, LoraSpec, Published, Registration, Sizes, Synthetic, Task,
                              get_case, register, registration, resolve)

# Importing a case's module registers it: in the order of the chapters (ruff: F401 and I001 are off for this file).
from llmft.cases import xsum_t5_small, dialogsum_flan_t5, alpaca_gpt2, papers_llama3, agnews_distilbert

__all__ = ["CASES", "REGISTRY", "Case", "LoraSpec", "Published", "Registration", "Sizes", "Synthetic", "Task",
           "get_case", "register", "registration", "resolve"]
