"""The from-scratch code of the Foundations chapters, each part proven equal to the real library there.

* :mod:`~llmft.foundations.lora`: the LoRA layer and its parameter count (chapter 2.1, against ``peft``);
* :mod:`~llmft.foundations.quant`: absmax, blockwise and NF4 quantization (chapter 2.2, against ``bitsandbytes``);
* :mod:`~llmft.foundations.memory_model`: what fine-tuning holds in memory, weight by weight (chapter 2.2);
* :mod:`~llmft.foundations.rouge`: ROUGE by hand (chapter 2.3, against ``rouge-score``).
"""
