"""Peak memory of a block of work: CUDA peak allocation on a GPU, process peak RSS on the CPU."""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass

import torch


def current_rss() -> int:
    """Resident memory of this process in bytes."""
    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:  # not Linux
        import psutil

        return psutil.Process().memory_info().rss


@dataclass
class MemoryReport:
    kind: str  # what was measured
    baseline_bytes: int
    peak_bytes: int

    @property
    def added_bytes(self) -> int:
        return self.peak_bytes - self.baseline_bytes

    def as_dict(self) -> dict:
        return {"kind": self.kind, "baseline_bytes": self.baseline_bytes, "peak_bytes": self.peak_bytes,
                "added_bytes": self.added_bytes}


class PeakMemory:
    """``with PeakMemory(device) as m: ...`` then ``m.report``.

    On CUDA it reads the allocator's peak (reset on entry). On the CPU a background thread
    samples the process's resident memory every ``interval`` seconds and keeps the maximum.
    """

    def __init__(self, device: str, interval: float = 0.02):
        self.device, self.interval = device, interval
        self.report: MemoryReport | None = None

    def __enter__(self):
        if self.device == "cuda":
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
            self._base = torch.cuda.memory_allocated()
        else:
            self._base = self._peak = current_rss()
            self._stop = threading.Event()
            self._thread = threading.Thread(target=self._sample, daemon=True)
            self._thread.start()
        return self

    def _sample(self):
        while not self._stop.is_set():
            self._peak = max(self._peak, current_rss())
            time.sleep(self.interval)

    def __exit__(self, *exc):
        if self.device == "cuda":
            torch.cuda.synchronize()
            self.report = MemoryReport("CUDA peak allocated", self._base, torch.cuda.max_memory_allocated())
        else:
            self._stop.set()
            self._thread.join()
            self._peak = max(self._peak, current_rss())
            self.report = MemoryReport("process peak resident memory", self._base, self._peak)
        return False
