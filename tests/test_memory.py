import torch

from llmft.memory import PeakMemory, current_rss


def test_cpu_peak_sees_a_short_lived_allocation():
    with PeakMemory("cpu", interval=0.005) as m:
        x = torch.ones(64 * 2**20 // 4 * 4)  # 256 MiB of float32, touched
        x.add_(1)
        del x
    assert m.report.added_bytes > 200 * 2**20
    assert m.report.peak_bytes >= m.report.baseline_bytes > 0
    assert current_rss() > 0
