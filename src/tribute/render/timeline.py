"""Bars and beats of a score in ticks: the one place rendering turns a time-signature map into bars.

The score, the lead sheet's chord windows and the piano roll's bar lines all use
:func:`bar_starts`, so they agree on where bar 1, 2, ... begin. A time-signature change that does
not fall on a bar line takes effect at the next bar line, which is how notation reads it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from symusic import Score

MAX_BARS = 5_000  # ~2.8 h of 4/4 at 120 qpm: beyond that the time-signature map is broken


@dataclass(frozen=True)
class Meter:
    start_tick: int
    numerator: int
    denominator: int

    def bar_ticks(self, tpq: int) -> int:
        return max(1, round(tpq * 4 * self.numerator / self.denominator))


def meters(score: Score) -> list[Meter]:
    """Time signatures in force, first one at tick 0 (4/4 if the file has none or a bad one)."""
    found = []
    for ts in sorted(score.time_signatures, key=lambda ts: ts.time):
        numerator, denominator = int(ts.numerator), int(ts.denominator)
        if numerator < 1 or denominator < 1 or denominator & (denominator - 1):
            continue  # denominators are powers of two in MIDI; anything else is corrupt
        if found and found[-1].start_tick == ts.time:
            found.pop()  # two at the same tick: the later wins
        found.append(Meter(int(ts.time), numerator, denominator))
    if not found or found[0].start_tick > 0:
        first = found[0] if found else Meter(0, 4, 4)
        found.insert(0, Meter(0, first.numerator, first.denominator))
    return found


def end_tick(score: Score) -> int:
    """Last note-off in ticks (0 without notes)."""
    ends = [
        int(np.max(t.notes.numpy()["time"] + t.notes.numpy()["duration"]))
        for t in score.tracks
        if t.note_num() > 0
    ]
    return max(ends, default=0)


def bar_starts(score: Score, until_tick: int | None = None) -> list[tuple[int, Meter]]:
    """(start tick, meter) of every bar that begins before ``until_tick`` (default: song end).

    Always at least one bar.
    """
    tpq = score.ticks_per_quarter
    until = end_tick(score) if until_tick is None else until_tick
    changes = meters(score)
    bars: list[tuple[int, Meter]] = []
    tick, current, pending = 0, changes[0], changes[1:]
    while (tick < until or not bars) and len(bars) < MAX_BARS:
        while pending and pending[0].start_tick <= tick:
            current = pending.pop(0)
        bars.append((tick, current))
        tick += current.bar_ticks(tpq)
    return bars
