"""How many threads a CPU training run takes: the cores it may use that other work leaves free.

PyTorch starts one OpenMP thread per core. On a machine that is doing anything else (a DAW, a
browser, another training), a thread that loses its core stalls every other thread at the next
barrier of each operator, and throughput falls far below a fair share (measured in
``benchmarks/train_load_bench.py``). So a run counts the cores that other processes keep busy
right now — from ``/proc/stat`` over a fraction of a second, not the lagging load average —
and takes the rest, at least one; while it trains, :class:`ThreadGovernor` measures the same
over each logging window and moves the thread count when other work starts or ends. Work at low
priority (``nice``) does not count: it yields to a run at normal priority.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

SAMPLE_S = 0.3  # how long the busy cores are measured
BUSY_ROUNDING = 0.6  # another process's share of a core from which that core counts as taken


def usable_cores() -> int:
    """Cores this process may run on (its affinity mask, not the machine's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def _cpu_ticks() -> tuple[int, int] | None:
    """(busy ticks at normal priority, all ticks) over all CPUs, or None without /proc/stat."""
    try:
        fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    except OSError:
        return None
    user, nice, system, idle, iowait, irq, softirq, steal = (int(f) for f in fields[:8])
    busy = user + system + irq + softirq + steal  # ``nice`` left out: it yields to us
    return busy, busy + nice + idle + iowait


class _Window:
    """Cores other processes kept busy since the last reading (this process's own time taken
    out, unless it runs niced and so counts under ``nice``, which is left out anyway)."""

    def __init__(self) -> None:
        self.niced = os.nice(0) > 0
        self.cores = os.cpu_count() or 1
        self._read()

    def _read(self) -> None:
        self.ticks, self.own, self.when = _cpu_ticks(), time.process_time(), time.monotonic()

    def busy(self) -> float | None:
        before, own, when = self.ticks, self.own, self.when
        self._read()
        if before is None or self.ticks is None or self.ticks[1] == before[1]:
            return None
        wall = self.when - when
        share = (self.ticks[0] - before[0]) / (self.ticks[1] - before[1])  # of all CPUs
        others = share * self.cores * wall - (0.0 if self.niced else self.own - own)
        return max(0.0, others / max(wall, 1e-9))


def busy_cores(sample_s: float = SAMPLE_S) -> float | None:
    """Cores kept busy by *other* processes at normal priority, measured over ``sample_s``."""
    window = _Window()
    time.sleep(sample_s)
    return window.busy()


def _free(usable: int, busy: float) -> int:
    taken = int(busy + (1 - BUSY_ROUNDING))  # 0.6 of a core busy: that core is taken
    return max(1, min(usable, usable - taken))


def training_threads(requested: int | None = None) -> tuple[int, str]:
    """(threads, why) for a CPU run: ``requested`` if given, else the free cores."""
    usable = usable_cores()
    if requested:
        return requested, f"{requested} (asked)"
    busy = busy_cores()
    if busy is None:
        return usable, f"{usable} (all usable cores)"
    threads = _free(usable, busy)
    return threads, f"{threads} of {usable} cores ({busy:.1f} busy with other work)"


class ThreadGovernor:
    """Follows the free cores during a run: :meth:`check` after each logging window returns a
    new thread count when other work has started or stopped (None: keep the current one)."""

    def __init__(self, threads: int) -> None:
        self.threads = threads
        self.usable = usable_cores()
        self._window = _Window()

    def check(self) -> int | None:
        busy = self._window.busy()
        if busy is None:
            return None
        threads = _free(self.usable, busy)
        if threads == self.threads:
            return None
        self.threads = threads
        return threads
