"""Thread choice for CPU training: the cores other work leaves free, followed during a run."""

from __future__ import annotations

from tribute import threads


def _fake_machine(monkeypatch, cores: int, others_busy: list[float], own_busy: float = 0.0):
    """/proc/stat and this process's CPU time as if ``others_busy[i]`` cores were kept busy by
    other processes during window ``i`` (1 s each) and this process used ``own_busy`` cores."""
    state = {"busy": 0.0, "total": 0.0, "own": 0.0, "now": 0.0}
    windows = iter(others_busy)

    def ticks(count_nice=False):
        return int(state["busy"] * 100), int(state["total"] * 100)

    def monotonic():
        return state["now"]

    def advance():
        busy = next(windows)
        state["busy"] += busy + own_busy
        state["total"] += cores
        state["own"] += own_busy
        state["now"] += 1.0

    monkeypatch.setattr(threads, "_cpu_ticks", ticks)
    monkeypatch.setattr(threads.time, "monotonic", monotonic)
    monkeypatch.setattr(threads.time, "process_time", lambda: state["own"])
    monkeypatch.setattr(threads.os, "cpu_count", lambda: cores)
    monkeypatch.setattr(threads.os, "nice", lambda _: 0)
    monkeypatch.setattr(threads, "usable_cores", lambda: cores)
    return advance


def test_the_governor_follows_other_work(monkeypatch):
    advance = _fake_machine(monkeypatch, 2, [0.0, 1.0, 1.0, 0.1], own_busy=1.0)
    governor = threads.ThreadGovernor(2)
    advance()
    assert governor.check() is None  # alone: keeps both cores
    advance()
    assert governor.check() == 1  # another process took a core
    advance()
    assert governor.check() is None  # still busy: no change
    advance()
    assert governor.check() == 2  # it stopped: both cores again


def test_own_work_is_not_counted_as_other_work(monkeypatch):
    advance = _fake_machine(monkeypatch, 2, [0.0], own_busy=2.0)
    governor = threads.ThreadGovernor(2)
    advance()
    assert governor.check() is None


def test_choice_at_the_start(monkeypatch):
    monkeypatch.setattr(threads, "usable_cores", lambda: 4)
    for busy, expected in [(0.0, 4), (0.5, 4), (0.7, 3), (1.4, 3), (2.9, 1), (7.0, 1)]:
        monkeypatch.setattr(threads, "busy_cores", lambda b=busy: b)
        assert threads.training_threads()[0] == expected, busy
    assert threads.training_threads(2) == (2, "2 (asked)")
    monkeypatch.setattr(threads, "busy_cores", lambda: None)  # no /proc/stat
    assert threads.training_threads()[0] == 4


def test_this_machine_reads():
    busy = threads.busy_cores(0.05)
    assert busy is None or 0.0 <= busy <= (threads.os.cpu_count() or 1)
    assert threads.usable_cores() >= 1


def test_niced_work_counts_where_it_does_not_yield(tmp_path):
    """Under autogroup scheduling a niced job of another session competes like any other."""
    stat = tmp_path / "stat"
    stat.write_text("cpu  100 50 20 300 0 0 0 0 0 0\ncpu0 1 2 3 4 5 6 7 8\n")
    assert threads._cpu_ticks(False, stat) == (120, 470)
    assert threads._cpu_ticks(True, stat) == (170, 470)
