"""Peak memory of a block of work: CUDA peak allocation on a GPU, process peak RSS on the CPU."""

from __future__ import annotations

import gc
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


def _trim_heap() -> None:
    """Give free heap memory back to the OS (glibc's ``malloc_trim``), where there is such a call.

    glibc serves even a large request from free memory it still holds, so without this a block that
    allocates hundreds of MiB can leave resident memory, and its peak, unchanged.
    """
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def _reset_kernel_peak() -> bool:
    """Reset this process's resident-memory high-water mark (Linux: ``clear_refs`` with 5)."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def _kernel_peak() -> int | None:
    """The kernel's record of this process's peak resident memory (``VmHWM``), in bytes."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


class PeakMemory:
    """``with PeakMemory(device) as m: ...`` then ``m.report``.

    On CUDA it reads the allocator's peak (reset on entry). On Linux CPUs it resets the kernel's
    high-water mark of resident memory on entry and reads it on exit, so even a peak that lasts
    microseconds counts. Elsewhere a background thread samples resident memory every ``interval``
    seconds and keeps the maximum (it can miss short peaks).
    """

    def __init__(self, device: str, interval: float = 0.02):
        self.device, self.interval = device, interval
        self.report: MemoryReport | None = None

    def __enter__(self):
        # Collect garbage first: a model left in a reference cycle by earlier work would otherwise be
        # freed *inside* the block, lowering resident memory under the baseline and hiding the block's peak.
        gc.collect()
        _trim_heap()
        if self.device == "cuda":
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
            self._base = torch.cuda.memory_allocated()
        else:
            self._kernel = _reset_kernel_peak() and _kernel_peak() is not None
            self._base = self._peak = current_rss()
            if self._kernel:
                return self
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
        elif self._kernel:
            self._peak = max(self._peak, _kernel_peak() or 0, current_rss())
            self.report = MemoryReport("process peak resident memory", self._base, self._peak)
        else:
            self._stop.set()
            self._thread.join()
            self._peak = max(self._peak, current_rss())
            self.report = MemoryReport("process peak resident memory", self._base, self._peak)
        return False
