"""The melody of a piece and its transposition-invariant tokens (docs/evaluation.md §1).

The melody is the lead track's top line, else the highest sounding note per onset (the
skyline). De-duplication, the originality guard and evaluation all compare it as tokens: a
melodic interval per note pair, optionally paired with the rounded log2 ratio of the two notes'
inter-onset intervals, so the tokens survive transposition, tempo changes and uniform
stretching. :func:`line_tokens_flat` is the one implementation (many lines at once, vectorized);
the single-line functions call it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
from symusic import Score, Track

MAX_INTERVAL = 48  # semitones; wider leaps are clipped (4 octaves)
RATIO_CLASSES = 7  # rounded log2 duration ratio clipped to -3..3 (1/8× .. 8×)


def pick_lead_track(tracks: Sequence[Track], roles: Sequence[str]) -> int | None:
    """Index of the lead melody track.

    Among tracks whose role is ``lead`` (else among all pitched non-bass tracks with at least 8
    notes) the heuristic picks the one with the highest mean pitch weighted by how monophonic it
    is — a melody is high and mostly one note at a time.
    """
    leads = [i for i, r in enumerate(roles) if r == "lead" and tracks[i].note_num() > 0]
    candidates = leads or [
        i
        for i, t in enumerate(tracks)
        if not t.is_drum and roles[i] not in ("bass", "drums") and t.note_num() >= 8
    ]
    best, best_score = None, -1.0
    for i in candidates:
        track = tracks[i]
        notes = track.notes.numpy()
        starts = notes["time"]
        mono = len(np.unique(starts)) / len(starts)  # 1.0 = one note per onset
        score = float(np.mean(notes["pitch"])) * (0.5 + 0.5 * mono)
        if score > best_score:
            best, best_score = i, score
    return best


def skyline(tracks: Iterable[Track]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Highest note per onset over pitched tracks: (onset ticks, pitches, durations)."""
    parts = [t.notes.numpy() for t in tracks if not t.is_drum and t.note_num() > 0]
    if not parts:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty
    times = np.concatenate([p["time"] for p in parts]).astype(np.int64)
    pitches = np.concatenate([p["pitch"] for p in parts]).astype(np.int64)
    durations = np.concatenate([p["duration"] for p in parts]).astype(np.int64)
    order = np.lexsort((-pitches, times))  # by onset, highest pitch first
    times, pitches, durations = times[order], pitches[order], durations[order]
    first = np.ones(len(times), dtype=bool)
    first[1:] = times[1:] != times[:-1]
    return times[first], pitches[first], durations[first]


def melody_notes(score: Score, lead_track: int | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(onsets, pitches, durations) of the melody: the lead track's top line, else the skyline."""
    if lead_track is not None and 0 <= lead_track < len(score.tracks):
        return skyline([score.tracks[lead_track]])
    return skyline(score.tracks)


def intervals(pitches: np.ndarray) -> np.ndarray:
    """Transposition-invariant melody: successive pitch differences in semitones."""
    return np.diff(pitches.astype(np.int64))


def ngram_hashes(values: np.ndarray, n: int) -> np.ndarray:
    """64-bit hashes of every contiguous n-gram of an integer sequence (polynomial rolling hash)."""
    values = np.asarray(values, dtype=np.int64)
    if len(values) < n:
        return np.zeros(0, dtype=np.uint64)
    shifted = (values + 1_000).astype(np.uint64)  # one copy of the sequence, not one per window
    count = len(values) - n + 1
    acc = np.zeros(count, dtype=np.uint64)
    base = np.uint64(1_000_003)
    with np.errstate(over="ignore"):
        for offset in range(n):  # acc = Σ v[i+k]·base^(n-1-k), mod 2^64
            acc = acc * base + shifted[offset : offset + count]
        acc ^= np.uint64(n) * np.uint64(0x9E3779B97F4A7C15)
    return acc


def line_tokens_flat(
    line: np.ndarray,
    time: np.ndarray,
    pitch: np.ndarray,
    duration: np.ndarray,
    rhythm: bool = True,
) -> np.ndarray:
    """Tokens of many monophonic lines at once, as flat arrays sorted by (line, onset).

    Token ``j`` joins notes ``j`` and ``j + 1``; where ``line`` changes between them the token
    is meaningless and callers slice it off per line. A note's duration is its inter-onset
    interval (its own length for a line's last note); the ratio of consecutive durations is
    rounded on a log2 scale.
    """
    pitch = np.asarray(pitch, dtype=np.int64)
    if len(pitch) < 2:
        return np.zeros(0, dtype=np.int64)
    tokens = np.diff(pitch).clip(-MAX_INTERVAL, MAX_INTERVAL) + MAX_INTERVAL
    if not rhythm:
        return tokens
    line, time = np.asarray(line), np.asarray(time, dtype=np.int64)
    same = line[1:] == line[:-1]
    span = np.asarray(duration, dtype=np.int64).copy()
    span[:-1][same] = np.diff(time)[same]
    np.maximum(span, 1, out=span)
    ratio = np.rint(np.log2(span[1:] / span[:-1])).astype(np.int64).clip(-3, 3)
    return tokens * RATIO_CLASSES + ratio + 3


def line_tokens(
    onsets: np.ndarray, pitches: np.ndarray, durations: np.ndarray, rhythm: bool = True
) -> np.ndarray:
    """Tokens of one monophonic line (see :func:`line_tokens_flat`)."""
    return line_tokens_flat(
        np.zeros(len(pitches), dtype=np.int64), onsets, pitches, durations, rhythm
    )


def melody_tokens(score: Score, lead_track: int | None, rhythm: bool = True) -> np.ndarray:
    """The melody as tokens: what families, L(x), ν_n and diversity compare."""
    return line_tokens(*melody_notes(score, lead_track), rhythm=rhythm)
