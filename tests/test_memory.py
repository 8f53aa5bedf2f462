import subprocess
import sys

import torch

from llmft.training.memory import PeakMemory, current_rss


def _peak_of_a_short_allocation() -> int:
    with PeakMemory("cpu") as m:
        x = torch.ones(64 * 2**20)  # 256 MiB of float32, touched, then freed at once
        x.add_(1)
        del x
    return m.report.added_bytes


def test_cpu_peak_sees_a_short_lived_allocation():
    assert _peak_of_a_short_allocation() > 200 * 2**20
    assert current_rss() > 0


def test_cpu_peak_holds_while_both_cores_are_busy():
    spin = "import time\nt = time.time()\nwhile time.time() - t < 20: pass"
    burners = [subprocess.Popen([sys.executable, "-c", spin]) for _ in range(2)]
    try:
        for _ in range(3):
            assert _peak_of_a_short_allocation() > 200 * 2**20
    finally:
        for p in burners:
            p.kill()
