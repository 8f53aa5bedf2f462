"""``python -m llmft.models.standins``: build (or find) every offline model once, before the notebooks run."""

import time

from llmft.models.standins.gpt2 import gpt2_standin
from llmft.models.standins.minilm import minilm_distilbert
from llmft.models.standins.smollm2 import smollm2
from llmft.models.standins.t5 import T5_SMALL, t5_standin


def main() -> None:
    t0 = time.perf_counter()
    t5_standin()
    t5_standin(T5_SMALL)
    gpt2_standin()
    minilm_distilbert()
    smollm2()
    print(f"Stand-ins ready in {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
