"""Studies: experiments across many runs that answer a question no single case can (the settings chapter,
``notebooks/32_choosing_lora_settings``, and its sequel on a decoder, ``notebooks/33_settings_for_instructions``).

* :mod:`~llmft.studies.settings`: LoRA's settings (rank, scaling, learning rate, modules, variants, forgetting)
  measured side by side over seeds on a real pretrained encoder, and the practical advice computed from them;
* :mod:`~llmft.studies.instruct`: the same bench on a decoder that follows instructions (SmolLM2-135M-Instruct),
  scored by the held-out answer loss, with a facts probe for forgetting;
* :mod:`~llmft.studies.figures`: one figure per question.
"""
