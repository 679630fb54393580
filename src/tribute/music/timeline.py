"""Time in tribute: the tick grid, time signatures and bars — the one place bars are computed.

Scores are normalized to ``TICKS_PER_QUARTER`` at ingestion. A bar lasts
``4 · numerator / denominator`` quarter notes; a time-signature change that does not fall on a
bar line takes effect at the next bar line, which is how notation reads it. Composition, the
originality guard, evaluation and rendering all take their bar lines from :func:`bar_starts` /
:func:`bar_start_ticks`, so they agree on where bar 1, 2, … begin.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
from symusic import Score

# 24 ticks per quarter holds 16ths (6), 32nds (3), 8th triplets (8) and 16th triplets (4).
TICKS_PER_QUARTER = 24
MAX_BARS = 5_000  # ~2.8 h of 4/4 at 120 qpm: beyond that the time-signature map is broken


@dataclass(frozen=True)
class Meter:
    """A time signature in force from ``start_tick``."""

    start_tick: int
    numerator: int
    denominator: int

    @classmethod
    def from_text(cls, text: str | None, start_tick: int = 0) -> Meter:
        """``"3/4"`` → a meter (4/4 for an empty or malformed text)."""
        match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text or "")
        if not match or int(match.group(1)) < 1 or int(match.group(2)) < 1:
            return cls(start_tick, 4, 4)
        return cls(start_tick, int(match.group(1)), int(match.group(2)))

    @property
    def quarters_per_bar(self) -> float:
        return 4 * self.numerator / self.denominator

    def bar_ticks(self, tpq: int = TICKS_PER_QUARTER) -> int:
        return max(1, round(tpq * self.quarters_per_bar))

    @property
    def text(self) -> str:
        return f"{self.numerator}/{self.denominator}"


def meters(score: Score) -> list[Meter]:
    """Time signatures in force, first one at tick 0 (4/4 if the file has none or a bad one)."""
    found: list[Meter] = []
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


def first_meter(score: Score) -> Meter:
    """The time signature the score starts in."""
    return meters(score)[0]


def first_bar_ticks(score: Score) -> int:
    """Length of the first bar in ticks."""
    return first_meter(score).bar_ticks(score.ticks_per_quarter)


def end_tick(score: Score) -> int:
    """Last note-off in ticks (0 without notes)."""
    ends = [
        int(np.max(t.notes.numpy()["time"] + t.notes.numpy()["duration"]))
        for t in score.tracks
        if t.note_num() > 0
    ]
    return max(ends, default=0)


def _segments(score: Score, until: int) -> list[tuple[int, int, Meter]]:
    """(first bar tick, bar count, meter) of each run of bars in one meter, up to ``until``."""
    tpq = score.ticks_per_quarter
    changes = meters(score)
    segments: list[tuple[int, int, Meter]] = []
    tick, current, total = 0, changes[0], 0
    for change in [*changes[1:], None]:
        limit = until if change is None else min(change.start_tick, until)
        step = current.bar_ticks(tpq)
        count = max(0, -(-(limit - tick) // step))
        count = min(count, MAX_BARS - total)
        if count:
            segments.append((tick, count, current))
            tick, total = tick + count * step, total + count
        if change is None or tick >= until or total >= MAX_BARS:
            break
        current = change  # takes effect at this bar line (a later change in the bar wins)
    if not segments:  # always at least one bar
        segments.append((0, 1, changes[0]))
    return segments


def bar_starts(score: Score, until_tick: int | None = None) -> list[tuple[int, Meter]]:
    """(start tick, meter) of every bar that begins before ``until_tick`` (default: the last
    note-off); always at least one bar."""
    until = end_tick(score) if until_tick is None else until_tick
    tpq = score.ticks_per_quarter
    return [
        (start + k * meter.bar_ticks(tpq), meter)
        for start, count, meter in _segments(score, until)
        for k in range(count)
    ]


def bar_start_ticks(score: Score, until_tick: int | None = None) -> np.ndarray:
    """The ticks of :func:`bar_starts` as an int64 array (vectorized; no per-bar Python)."""
    until = end_tick(score) if until_tick is None else until_tick
    tpq = score.ticks_per_quarter
    parts = [
        start + meter.bar_ticks(tpq) * np.arange(count, dtype=np.int64)
        for start, count, meter in _segments(score, until)
    ]
    return np.concatenate(parts)
