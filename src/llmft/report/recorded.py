"""Our own measurements that a CI run cannot repeat (they need a GPU), kept with where and when they were taken.

``GPU_CHECKS`` holds ``make gpu-check`` runs (the ``results/gpu-check.json`` they wrote), for the comparison
chapter to show beside a run's own file. Add a run here only from a file ``make gpu-check`` wrote, and say so.
"""

from __future__ import annotations

GPU_CHECKS: list[dict] = [
    {
        "device": "NVIDIA H100",
        "emulating": "T4 precision (no native bf16)",
        "cap_bytes": 15 * 10**9,
        "created": "2026-11-23",
        "versions": {"torch": "2.11", "transformers": "5.23", "peft": "0.21.2", "bitsandbytes": "0.50.2"},
        "source": "make gpu-check, 12 timed steps after a warm-up, when case 2 was the only case; the same figures "
                  "are in book/running.md",
        "rows": [
            {"case": "dialogsum-flan-t5", "method": "LoRA", "precision": "fp32", "activation_checkpointing": True,
             "fits_cap": True, "peak_gib": 1.69, "seconds_per_step": 0.342, "useful_tokens_per_second": 10879},
            {"case": "dialogsum-flan-t5", "method": "LoRA", "precision": "fp32", "activation_checkpointing": False,
             "fits_cap": True, "peak_gib": 7.91, "seconds_per_step": 0.192, "useful_tokens_per_second": 19393},
            {"case": "dialogsum-flan-t5", "method": "QLoRA", "precision": "fp32", "activation_checkpointing": True,
             "fits_cap": True, "peak_gib": 1.05, "seconds_per_step": 0.533, "useful_tokens_per_second": 6970},
            {"case": "dialogsum-flan-t5", "method": "QLoRA", "precision": "fp32", "activation_checkpointing": False,
             "fits_cap": True, "peak_gib": 7.30, "seconds_per_step": 0.425, "useful_tokens_per_second": 8746},
        ],
    },
]
