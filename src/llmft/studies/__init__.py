"""Studies: experiments across many runs that answer a question no single case can (the settings chapter,
``notebooks/32_choosing_lora_settings``).

* :mod:`~llmft.studies.settings`: LoRA's settings (rank, scaling, learning rate, modules, variants, forgetting)
  measured side by side over seeds on a real pretrained encoder, and the practical advice computed from them;
* :mod:`~llmft.studies.figures`: one figure per question.
"""
