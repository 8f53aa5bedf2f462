"""What a case is, and the one call that registers it.

A case is registered once, in its own module of :mod:`llmft.cases` (``xsum_t5_small.py``...), with everything the
book needs to run it: the :class:`Case` (the real model, dataset, fields, prompt, LoRA, published architecture
numbers), its :class:`Sizes` in each profile, the generator of its synthetic data and the builder of its offline
model for the ``smoke`` profile (named as ``"module:function"``, so that this layer imports nothing above it: the
data and models layers resolve them), and the figures others published for the real model.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Literal

Task = Literal["seq2seq", "causal", "classification"]


@dataclass(frozen=True)
class LoraSpec:
    r: int
    alpha: int
    dropout: float
    target_modules: tuple[str, ...]
    fan_in_fan_out: bool = False  # GPT-2's Conv1D stores weights transposed
    modules_to_save: tuple[str, ...] = ()


@dataclass(frozen=True)
class Case:
    key: str
    number: int
    title: str
    model_id: str
    architecture: str  # transformers model_type
    task: Task
    dataset_id: str
    splits: dict[str, str]  # our split name -> the dataset's split name ("" = carved from train)
    input_fields: tuple[str, ...]
    target_field: str
    prompt: str  # str.format template over the input fields
    metric: Literal["rouge", "accuracy"]
    lora: LoraSpec
    arch: dict[str, object] = field(default_factory=dict)  # published config numbers
    gated: bool = False
    open_fallback: str | None = None
    dataset_revision: str | None = None
    labels: tuple[str, ...] = ()
    notes: str = ""
    chapter_ready: bool = False  # True once the chapter runs end to end
    fp16_ok: bool = True  # False where the model overflows in fp16 (T5 v1.1 / Flan-T5): train in fp32 on a T4
    prompt_no_input: str | None = None  # the template for records whose last input field is empty (Alpaca)
    decoding: dict = field(default_factory=dict)  # a seq2seq case's settings on top of generation.DECODING
    real_parameters: int = 0  # the real model's parameters, as built from ``arch`` (a test checks it)
    real_tokenizer: str = ""  # the real tokenizer, offline (llmft.models.real_tokenizers: "t5", "gpt2", "llama3", "bert")
    checkpoint_bytes: int = 4  # bytes per parameter of the checkpoint on the Hub (fp32 4, bf16 2): the T4 plan's download
    split_sizes: dict = field(default_factory=dict)  # the real dataset's split sizes, where a profile takes a whole split
    extra_evaluations: int = 0  # passes over the test set the chapter adds to LoRA's (the T4 plan counts them)

    def format_prompt(self, record: dict) -> str:
        """The prompt for ``record``; with an empty last input field, ``prompt_no_input`` where the case has one."""
        if self.prompt_no_input is not None and not str(record.get(self.input_fields[-1]) or "").strip():
            return self.prompt_no_input.format(**{f: record[f] for f in self.input_fields[:-1]})
        return self.prompt.format(**{f: record[f] for f in self.input_fields})


@dataclass(frozen=True)
class Sizes:
    """How much of a case one profile runs."""

    train_examples: int | None  # None = the whole split
    eval_examples: int | None
    max_steps: int | None  # None = train for `epochs`
    epochs: float
    batch_size: int
    grad_accum: int
    learning_rate: float
    max_source_len: int
    max_target_len: int
    max_new_tokens: int
    logging_steps: int
    eval_batch_size: int = 32
    bootstrap_samples: int = 1000
    gradient_checkpointing: bool = False  # activation checkpointing: trades compute for activation memory
    group_by_length: bool = True  # batches of similar length: less padding
    packing: bool = False  # causal cases: several prompt/answer pairs per row of max length (trl, padding-free)
    cpu_bf16: bool = False  # on a CPU with bf16 in hardware, train under bf16 autocast (adapters stay fp32)
    lora: LoraSpec | None = None  # a smaller adapter than the case's for this profile (None: the case's own)
    # QLoRA's steps where they differ from LoRA's (None: the same). In smoke, on a CPU, QLoRA only shows that the
    # 4-bit path runs (it is no faster there), so where no claim rests on it it trains fewer steps.
    qlora_max_steps: int | None = None


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


@dataclass(frozen=True)
class Synthetic:
    """The ``smoke`` profile's data: a generator (``"module:function"``, called with the split sizes and a seed)
    of records in the real dataset's schema, and the sizes of the splits it writes, in inputs (a split the dataset
    does not publish is not generated: it is carved from train)."""

    generator: str
    splits: dict[str, int]


CASES: dict[str, Case] = {}


def register(case: Case, *, sizes: dict[str, Sizes], standin: str, synthetic: Synthetic | None = None,
             published: tuple[Published, ...] = ()) -> Case:
    """Make ``case`` known to the whole book: chapters, profiles, synthetic data, the offline model, the comparison.

    ``sizes``: one :class:`Sizes` per profile; ``standin``: ``"module:function"`` that returns the folder of the
    offline model (built and cached on first use); ``synthetic``: where the ``smoke`` data comes from (``None``: the
    chapter builds its own, as case 4 does); ``published``: figures for the real model, with their sources.
    """
    if case.key in CASES:
        raise ValueError(f"Case {case.key!r} is registered twice.")
    if any(other.number == case.number for other in CASES.values()):
        raise ValueError(f"Case number {case.number} is taken.")
    if any(p.case != case.key for p in published):
        raise ValueError(f"A published figure of {case.key!r} names another case.")
    registered = Registration(case, dict(sizes), standin, synthetic, tuple(published))
    CASES[case.key] = case
    REGISTRY[case.key] = registered
    return case


@dataclass(frozen=True)
class Registration:
    case: Case
    sizes: dict[str, Sizes]
    standin: str
    synthetic: Synthetic | None
    published: tuple[Published, ...]


REGISTRY: dict[str, Registration] = {}


def registration(key: str) -> Registration:
    get_case(key)  # an unknown key: the error that lists the valid ones
    return REGISTRY[key]


def resolve(reference: str):
    """The object that ``"package.module:name"`` names (imported on first use)."""
    module, _, name = reference.partition(":")
    return getattr(importlib.import_module(module), name)


def get_case(key: str) -> Case:
    """The case called ``key``; an unknown key is an error that lists the valid ones."""
    try:
        return CASES[key]
    except KeyError:
        valid = ", ".join(CASES)
        raise ValueError(f"Unknown case {key!r}. Valid cases: {valid}.") from None
