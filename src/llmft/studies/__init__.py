"""Studies: experiments across many runs that answer a question no single case can (chapter 4.2).

* :mod:`~llmft.studies.settings`: LoRA's settings (rank, scaling, learning rate, modules, variants, forgetting)
  measured side by side over seeds on a real pretrained encoder, and the practical advice computed from them;
* :mod:`~llmft.studies.figures`: one figure per question.
"""
