"""A song's notes in bar coordinates, for the piano roll the page draws (and plays along with).

The same coordinates as :mod:`tribute.rendering.pianoroll`'s PNG: x in bars, 1.0 = the start of
bar 1, exact across time-signature changes (ticks are interpolated between bar starts); plus
each bar's start in seconds, so that the page can move a playhead with the audio (the renderer
plays tick 0 at 0 s), and the section markers the composer wrote.
"""

from __future__ import annotations

import numpy as np
from symusic import Score

from tribute.music import bar_starts, end_tick

MAX_NOTES = 60_000  # ~10 min of a dense band; beyond it the page would crawl, and says so


def _seconds(score: Score, ticks: np.ndarray) -> np.ndarray:
    """Ticks → seconds through the score's tempo map (120 qpm before the first tempo)."""
    tpq = score.ticks_per_quarter
    changes = sorted((int(t.time), float(t.mspq)) for t in score.tempos) or [(0, 500_000.0)]
    if changes[0][0] > 0:
        changes.insert(0, (0, 500_000.0))
    starts = np.array([c[0] for c in changes], dtype=np.float64)
    per_tick = np.array([c[1] for c in changes]) / 1e6 / tpq  # seconds per tick
    at_start = np.concatenate([[0.0], np.cumsum(np.diff(starts) * per_tick[:-1])])
    segment = np.searchsorted(starts, ticks, side="right") - 1
    return at_start[segment] + (ticks - starts[segment]) * per_tick[segment]


def song_end(score: Score) -> int:
    """The last note-off, or the composer's ``end`` marker when later (a silent last bar)."""
    ends = [int(m.time) for m in score.markers if str(m.text).strip() == "end"]
    return max([end_tick(score), *ends])


def roll(score: Score, first_bar: int = 1, last_bar: int | None = None) -> dict:
    """Bars, sections and notes (``[start, end, pitch, velocity]`` in bars) of bars
    ``first_bar``…``last_bar`` (1-based, inclusive; default the whole song)."""
    if score.ttype != "Tick":
        score = score.to("tick")
    bars = bar_starts(score, max(song_end(score), 1))
    tpq = score.ticks_per_quarter
    bar_ticks = np.array([t for t, _ in bars] + [bars[-1][0] + bars[-1][1].bar_ticks(tpq)])
    last_bar = len(bars) if last_bar is None else min(last_bar, len(bars))
    lo, hi = bar_ticks[first_bar - 1], bar_ticks[last_bar]

    def to_bars(ticks: np.ndarray) -> np.ndarray:
        return 1.0 + np.interp(ticks, bar_ticks, np.arange(len(bar_ticks)))

    tracks, total = [], 0
    for track in score.tracks:
        notes = track.notes.numpy()
        keep = (notes["time"] < hi) & (notes["time"] + notes["duration"] > lo)
        start, length = notes["time"][keep], np.maximum(notes["duration"][keep], 1)
        rows = np.stack(
            [
                np.round(to_bars(start), 4),
                np.round(to_bars(start + length), 4),
                notes["pitch"][keep],
                notes["velocity"][keep],
            ],
            axis=1,
        )[: max(MAX_NOTES - total, 0)]
        total += len(rows)
        tracks.append(
            {
                "name": track.name.strip() or ("Drums" if track.is_drum else "Track"),
                "program": int(track.program),
                "is_drum": bool(track.is_drum),
                "notes": rows.tolist(),
            }
        )
    markers = [(int(m.time), str(m.text).strip()) for m in score.markers]
    return {
        "bars": len(bars),
        "first_bar": first_bar,
        "last_bar": last_bar,
        "meters": [f"{m.numerator}/{m.denominator}" for _, m in bars[first_bar - 1 : last_bar]],
        "bar_seconds": np.round(_seconds(score, bar_ticks.astype(np.float64)), 4).tolist(),
        "sections": [
            {"name": text, "bar": round(float(to_bars(np.array([tick]))[0]), 4)}
            for tick, text in sorted(markers)
            if text and text != "end"
        ],
        "tracks": tracks,
        "truncated": total >= MAX_NOTES,
    }
