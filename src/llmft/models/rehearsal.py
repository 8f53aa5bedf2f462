"""A tiny model of a case's *real* architecture beside its *real* tokenizer: the real path, rehearsed offline.

The ``smoke`` profile trains stand-ins with small vocabularies of their own, so it never meets the real tokenizers'
traps (T5's ``<unk>`` for ``{``, GPT-2's missing pad token, Llama 3's missing pad token and its
``<|begin_of_text|>``, a 128,256-word head). A rehearsal model has the real model's class, head tying, special ids
and vocabulary, with a few small random layers, so the book's own functions (load, tokenize, train, generate, save,
reload, merge) run the ``t4`` code path on a CPU in seconds. Its outputs mean nothing; that the path runs does.
"""

from __future__ import annotations

from pathlib import Path

from llmft.cases import Case

# The real architecture, a few small layers (everything not named here is the real model's: vocabulary, positions,
# activation, head tying, special ids).
SMALL = {
    "t5": dict(d_model=32, d_ff=64, d_kv=8, num_layers=1, num_decoder_layers=1, num_heads=4),
    "gpt2": dict(n_embd=32, n_layer=1, n_head=4),
    "llama": dict(hidden_size=32, intermediate_size=64, num_hidden_layers=1, num_attention_heads=4,
                  num_key_value_heads=2),
    "distilbert": dict(dim=32, hidden_dim=64, n_layers=1, n_heads=4),
}


def tiny_real_model(case: Case, folder: Path, seed: int = 0) -> Path:
    """Write a randomly initialised small model of ``case``'s real architecture and the real tokenizer
    (:func:`llmft.models.real_tokenizers.real_tokenizer`) into ``folder``; ``from_pretrained`` loads both from it."""
    import torch
    import transformers
    from transformers import AutoConfig, AutoTokenizer

    from llmft.models import MODEL_CLASSES
    from llmft.models.real_tokenizers import real_tokenizer
    from llmft.models.standins.t5 import untie_t5_head

    folder = Path(folder)
    tokenizer = AutoTokenizer.from_pretrained(real_tokenizer(case.real_tokenizer, log=lambda *_: None))
    settings = {**case.arch, **SMALL[case.architecture]}
    if case.architecture == "gpt2":  # GPT-2's config names its one special token twice
        settings.update(bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id)
    if case.architecture == "llama":
        settings.update(bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id)
    config = AutoConfig.for_model(case.architecture, **settings)
    if case.labels:
        config.num_labels = len(case.labels)
        config.id2label = dict(enumerate(case.labels))
        config.label2id = {name: i for i, name in enumerate(case.labels)}
    torch.manual_seed(seed)
    model = getattr(transformers, MODEL_CLASSES[case.task]).from_config(config)
    if case.architecture == "t5" and not case.arch.get("tie_word_embeddings", True):
        untie_t5_head(model)  # Flan-T5: its own output matrix, with values of its own
        torch.nn.init.normal_(model.lm_head.weight, std=case.arch["d_model"] ** -0.5)
    if case.labels:  # the real checkpoint has no classification head: load_model draws it (a "new head" report)
        model = _without_head(model)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def _without_head(model):
    """The encoder alone, as the hub's checkpoint has it: the classifier is new when the chapter loads it."""
    return getattr(model, model.base_model_prefix)
