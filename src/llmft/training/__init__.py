"""The training layer: a case's adapter trained, timed and measured.

* :mod:`~llmft.training.train`: LoRA and QLoRA with the ``Trainer`` (seq2seq, classification), precision, costs;
* :mod:`~llmft.training.sft`: the causal cases with trl's ``SFTTrainer`` (prompt-completion, packing);
* :mod:`~llmft.training.distributed`: the same training data-parallel under ``torchrun``;
* :mod:`~llmft.training.memory`: peak memory meters (CPU and GPU).
"""
