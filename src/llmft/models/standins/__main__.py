"""``python -m llmft.models.standins``: build (or find) every offline model once, before the notebooks run.

Each model is built in its own process with **one** torch thread, the builds side by side (``--jobs``, default: as
many as the machine has cores, at most one per build). One thread per build makes a stand-in's weights the same
whatever the machine's core count (a matrix product split over more threads rounds differently), and on a small
machine two one-thread builds side by side finish sooner than the same builds one after another on two threads
each. ``--key`` prints one key for every stand-in (their sources and library versions): CI caches the built
models under it.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import time
from concurrent.futures import ProcessPoolExecutor

# Seconds each build took on a 2-core machine, one thread each, two side by side (2026-12-04): the longest start
# first, so that the last build to start is a short one; `make test` also deals its lanes by them. A stand-in not
# listed starts last.
MEASURED_SECONDS = {"gpt2_standin": 410, "t5_small_standin": 415, "t5_standin": 270, "smollm2": 20, "minilm_distilbert": 10}


def _references() -> list[str]:
    """Every registered case's offline model ("module:function"), each once, the longest build first."""
    from llmft.cases import REGISTRY

    references = list(dict.fromkeys(r.standin for r in REGISTRY.values()))
    return sorted(references, key=lambda ref: -MEASURED_SECONDS.get(ref.rpartition(":")[2], 0))


def _build(reference: str, threads: int = 1) -> tuple[str, float]:
    import torch

    from llmft.cases import resolve

    if threads:
        torch.set_num_threads(threads)
    t0 = time.perf_counter()
    resolve(reference)()
    return reference.rpartition(":")[2], time.perf_counter() - t0


def key() -> str:
    """One key for all stand-ins: it changes when any of them would be rebuilt."""
    from llmft.models.standins import minilm, smollm2
    from llmft.models.standins.gpt2 import GPT2StandinSpec
    from llmft.models.standins.t5 import T5_SMALL, T5StandinSpec

    parts = [T5StandinSpec().key(), T5_SMALL.key(), GPT2StandinSpec().key(), f"minilm{minilm.FORMAT}",
             f"smollm2{smollm2.FORMAT}", minilm.PIN, smollm2.PIN]
    return hashlib.sha256(" ".join(parts).encode()).hexdigest()[:16]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m llmft.models.standins", description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="builds side by side (default: cores)")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch threads per build (default 1; 0: torch's default, all cores, as before 2026-12)")
    parser.add_argument("--key", action="store_true", help="print the stand-ins' cache key and exit")
    args = parser.parse_args(argv)
    if args.key:
        print(key())
        return
    t0 = time.perf_counter()
    references = _references()
    jobs = max(1, min(args.jobs, len(references)))
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        for name, seconds in pool.map(_build, references, [args.threads] * len(references)):
            print(f"  {name}: {seconds:.0f} s")
    threads = f"{args.threads} thread(s) each" if args.threads else "torch's default threads"
    print(f"Stand-ins ready in {time.perf_counter() - t0:.0f} s ({jobs} build(s) side by side, {threads})")


if __name__ == "__main__":
    main()
