"""llmft: the helper package of The LoRA Casebook.

One module per job: ``cases`` and ``profiles`` say what runs; ``synthetic`` and ``standin``
make offline data and models for the ``smoke`` profile; ``data`` and ``models`` load and
prepare; ``adapters`` and ``train`` fine-tune; ``generation``, ``metrics`` and ``evaluation``
measure; ``results`` and ``plots`` report. Heavy libraries are imported by the modules
that need them, so ``llmft.runtime.start`` can switch on offline mode first.
"""

__version__ = "0.1.0"
