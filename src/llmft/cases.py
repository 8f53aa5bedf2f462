"""The five cases of the book: what each one fine-tunes, on which data, and how.

Every field here describes the real thing (hub ids, splits, fields, published
architecture numbers), whatever the profile; the ``smoke`` profile swaps in local
stand-ins of the same shape (see ``llmft.models.standins`` and ``llmft.data.synthetic``).
"""

from __future__ import annotations

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

    def format_prompt(self, record: dict) -> str:
        """The prompt for ``record``; with an empty last input field, ``prompt_no_input`` where the case has one."""
        if self.prompt_no_input is not None and not str(record.get(self.input_fields[-1]) or "").strip():
            return self.prompt_no_input.format(**{f: record[f] for f in self.input_fields[:-1]})
        return self.prompt.format(**{f: record[f] for f in self.input_fields})


CASES: dict[str, Case] = {
    c.key: c
    for c in [
        Case(
            key="xsum-t5-small",
            number=1,
            title="News to one sentence: t5-small on XSum",
            model_id="t5-small",
            architecture="t5",
            task="seq2seq",
            dataset_id="EdinburghNLP/xsum",
            # The hub repo ships a loading script that datasets>=4 no longer runs;
            # its parquet conversion branch loads without it.
            dataset_revision="refs/convert/parquet",
            splits={"train": "train", "validation": "validation", "test": "test"},
            input_fields=("document",),
            target_field="summary",
            prompt="summarize: {document}",
            metric="rouge",
            lora=LoraSpec(r=16, alpha=32, dropout=0.05, target_modules=("q", "v")),
            arch=dict(d_model=512, d_ff=2048, d_kv=64, num_layers=6, num_decoder_layers=6, num_heads=8,
                      vocab_size=32128, feed_forward_proj="relu", tie_word_embeddings=True,
                      pad_token_id=0, eos_token_id=1, decoder_start_token_id=0),
            notes="Inputs up to 1024 tokens, as in the source project.",
            chapter_ready=True,
        ),
        Case(
            key="dialogsum-flan-t5",
            number=2,
            title="Dialogue summaries: Flan-T5-base on DialogSum",
            model_id="google/flan-t5-base",
            architecture="t5",
            task="seq2seq",
            dataset_id="knkarthick/dialogsum",
            splits={"train": "train", "validation": "validation", "test": "test"},
            input_fields=("dialogue",),
            target_field="summary",
            prompt="Summarize the following conversation:\n\n{dialogue}\n\nSummary:",
            metric="rouge",
            lora=LoraSpec(r=32, alpha=32, dropout=0.05, target_modules=("q", "v")),
            arch=dict(d_model=768, d_ff=2048, d_kv=64, num_layers=12, num_decoder_layers=12, num_heads=12,
                      vocab_size=32128, feed_forward_proj="gated-gelu", tie_word_embeddings=False,
                      pad_token_id=0, eos_token_id=1, decoder_start_token_id=0),
            chapter_ready=True,
            fp16_ok=False,
        ),
        Case(
            key="alpaca-gpt2",
            number=3,
            title="Following instructions: GPT-2 on Alpaca",
            model_id="openai-community/gpt2",
            architecture="gpt2",
            task="causal",
            dataset_id="tatsu-lab/alpaca",
            splits={"train": "train", "validation": "", "test": ""},  # only a train split is published
            input_fields=("instruction", "input"),
            target_field="output",
            # Alpaca's two templates, as in its `text` field (stanford_alpaca's train.py)
            prompt=("Below is an instruction that describes a task, paired with an input that provides further context. "
                    "Write a response that appropriately completes the request.\n\n"
                    "### Instruction:\n{instruction}\n\n### Input:\n{input}\n\n### Response:\n"),
            prompt_no_input=("Below is an instruction that describes a task. Write a response that appropriately "
                             "completes the request.\n\n### Instruction:\n{instruction}\n\n### Response:\n"),
            metric="rouge",
            lora=LoraSpec(r=16, alpha=32, dropout=0.05, target_modules=("c_attn",), fan_in_fan_out=True),
            arch=dict(n_embd=768, n_layer=12, n_head=12, n_positions=1024, vocab_size=50257),
            notes="Served as a JSON API: GET /health, POST /generate.",
            chapter_ready=True,
        ),
        Case(
            key="papers-llama3",
            number=4,
            title="Papers to answers: QLoRA on Llama-3-8B",
            model_id="meta-llama/Meta-Llama-3-8B",
            architecture="llama",
            task="causal",
            dataset_id="",  # built by the chapter: PDFs -> text -> teacher-written triples
            splits={"train": "", "validation": "", "test": ""},
            input_fields=("instruction", "input"),
            target_field="output",
            prompt="### Instruction:\n{instruction}\n\n### Input:\n{input}\n\n### Response:\n",
            metric="rouge",
            lora=LoraSpec(r=64, alpha=16, dropout=0.1,
                          target_modules=("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")),
            arch=dict(hidden_size=4096, intermediate_size=14336, num_hidden_layers=32, num_attention_heads=32,
                      num_key_value_heads=8, vocab_size=128256, tie_word_embeddings=False),
            gated=True,
            open_fallback="NousResearch/Meta-Llama-3-8B",
            notes="4-bit NF4, double quantization, paged 8-bit AdamW, packing; no pad token (add one).",
            chapter_ready=True,
        ),
        Case(
            key="agnews-distilbert",
            number=5,
            title="Topic classification: DistilBERT on AG News",
            model_id="distilbert-base-uncased",
            architecture="distilbert",
            task="classification",
            dataset_id="fancyzhx/ag_news",
            splits={"train": "train", "validation": "", "test": "test"},
            input_fields=("text",),
            target_field="label",
            prompt="{text}",
            metric="accuracy",
            lora=LoraSpec(r=8, alpha=16, dropout=0.1, target_modules=("q_lin", "v_lin"),
                          modules_to_save=("pre_classifier", "classifier")),
            arch=dict(dim=768, hidden_dim=3072, n_layers=6, n_heads=12, vocab_size=30522, max_position_embeddings=512),
            labels=("World", "Sports", "Business", "Sci/Tech"),
            chapter_ready=True,
        ),
    ]
}


def get_case(key: str) -> Case:
    """The case called ``key``; an unknown key is an error that lists the valid ones."""
    try:
        return CASES[key]
    except KeyError:
        valid = ", ".join(CASES)
        raise ValueError(f"Unknown case {key!r}. Valid cases: {valid}.") from None
