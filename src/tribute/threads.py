"""How many threads a CPU training run takes: the cores it may use that other work leaves free.

PyTorch starts one OpenMP thread per core. On a machine that is doing anything else (a DAW, a
browser, another training), a thread that loses its core stalls every other thread at the next
barrier of each operator, and throughput falls far below a fair share (measured in
``benchmarks/train_load_bench.py``). So a run counts the cores that other processes keep busy
right now — from ``/proc/stat`` over a fraction of a second, not the lagging load average —
and takes the rest, at least one; while it trains, :class:`ThreadGovernor` measures the same
over each logging window and moves the thread count when other work starts or ends. Work at low
priority (``nice``) does not count where it yields to a run at normal priority — not under
Linux's autogroup scheduling (``/proc/sys/kernel/sched_autogroup_enabled``), where a niced job
started from another session (a terminal, ``setsid``) competes like any other: measured here, a
``nice -n 19`` training took a full core from a normal-priority one.
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


def nice_yields() -> bool:
    """Whether niced work yields to ours: not when the kernel groups processes by session."""
    try:
        return Path("/proc/sys/kernel/sched_autogroup_enabled").read_text().strip() != "1"
    except OSError:
        return True


def _cpu_ticks(count_nice: bool, stat: Path = Path("/proc/stat")) -> tuple[int, int] | None:
    """(busy ticks, all ticks) over all CPUs, or None without /proc/stat; niced ticks count as
    busy with ``count_nice``."""
    try:
        fields = stat.read_text().split("\n", 1)[0].split()[1:]
    except OSError:
        return None
    user, nice, system, idle, iowait, irq, softirq, steal = (int(f) for f in fields[:8])
    busy = user + system + irq + softirq + steal + (nice if count_nice else 0)
    return busy, busy + (0 if count_nice else nice) + idle + iowait


class _Window:
    """Cores other processes kept busy since the last reading (this process's own time taken
    out, unless it runs niced and niced time is left out anyway)."""

    def __init__(self) -> None:
        self.count_nice = not nice_yields()
        self.own_counted = self.count_nice or os.nice(0) == 0
        self.cores = os.cpu_count() or 1
        self._read()

    def _read(self) -> None:
        self.ticks = _cpu_ticks(self.count_nice)
        self.own, self.when = time.process_time(), time.monotonic()

    def busy(self) -> float | None:
        before, own, when = self.ticks, self.own, self.when
        self._read()
        if before is None or self.ticks is None or self.ticks[1] == before[1]:
            return None
        wall = self.when - when
        share = (self.ticks[0] - before[0]) / (self.ticks[1] - before[1])  # of all CPUs
        others = share * self.cores * wall - (self.own - own if self.own_counted else 0.0)
        return max(0.0, others / max(wall, 1e-9))


def busy_cores(sample_s: float = SAMPLE_S) -> float | None:
    """Cores kept busy by *other* processes (niced ones where they do not yield), measured over
    ``sample_s``."""
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
