"""Feature vectors of a piece for the two-sample classifier test (docs/evaluation.md §2B).

The features see order and structure, not only histograms:

- melody (the lead line, :func:`tribute.music.melody_notes`): interval histogram, log-duration
  histogram, range, step/leap/repeat rates, interval-class bigram matrix, within-piece 4-/8-gram
  repetition, contour changes, phrase and length statistics;
- band: note density and chord size per band role, polyphony, groove consistency (Wu & Yang
  2020: 1 − mean Hamming distance between the onset patterns of bars), drum-pattern statistics
  (instrument shares, backbeat, pattern repetition), the key-normalized pitch-class histogram
  (Krumhansl–Kessler key profiles), empty-beat rate and tempo.

Every feature is a plain float and has a name; :func:`feature_matrix` stacks pieces. No torch.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from tribute.music import (
    DRUM_CLASSES,
    ROLES,
    Song,
    drum_classes,
    estimate_key,
    first_meter,
    melody_notes,
    pitch_class_profile,
)

MAX_INTERVAL = 12  # interval histogram bins: -12..12 semitones, wider leaps clipped
LOG_DURATIONS = np.arange(-3, 3)  # log2 beats: 1/8 .. 4 beats, rounded and clipped
STEPS_PER_BEAT = 4  # the onset grid: 16ths in 4/4
REPEAT_NS = (4, 8)


def _interval_class(iv: np.ndarray) -> np.ndarray:
    """0 leap down (≤ −3), 1 step down, 2 repeat, 3 step up, 4 leap up (≥ 3)."""
    return np.digitize(iv, [-2.5, -0.5, 0.5, 2.5])


@dataclass
class Piece:
    """The arrays every feature and diagnostic reads, computed once per song."""

    song: Song
    tpq: int
    bar_ticks: int
    bars: int
    onsets: np.ndarray  # melody
    pitches: np.ndarray
    durations: np.ndarray
    tracks: list[tuple[str, dict]]  # (role, notes.numpy() dict of arrays) per non-empty track
    tonic: int
    minor: bool
    tempo_qpm: float

    @classmethod
    def of(cls, song: Song) -> Piece:
        score = song.score
        tpq = score.ticks_per_quarter
        bar_ticks = first_meter(score).bar_ticks(tpq)
        bars = max(1, -(-int(score.end()) // bar_ticks))
        onsets, pitches, durations = melody_notes(score, song.meta.lead_track)
        roles = [t.role for t in song.meta.tracks]
        tracks = []
        for i, track in enumerate(score.tracks):
            if track.note_num() == 0:
                continue
            role = roles[i] if i < len(roles) else ("drums" if track.is_drum else "other")
            if i == song.meta.lead_track:
                role = "lead"
            tracks.append(("drums" if track.is_drum else role, track.notes.numpy()))
        key = estimate_key(pitch_class_weights(tracks))
        tonic, minor = (key.tonic, key.minor) if key is not None else (0, False)
        tempo = float(score.tempos[0].qpm) if len(score.tempos) else 120.0
        return cls(
            song, tpq, bar_ticks, bars, onsets, pitches, durations, tracks, tonic, minor, tempo
        )

    def pitched(self) -> list[tuple[str, dict]]:
        return [(r, n) for r, n in self.tracks if r != "drums"]


def concat_notes(tracks: Sequence[tuple[str, dict]]) -> dict[str, np.ndarray]:
    """The notes of several tracks as one dict of arrays (symusic's ``notes.numpy()`` layout)."""
    keys = ("time", "duration", "pitch", "velocity")
    if not tracks:
        return {k: np.zeros(0, dtype=np.int64) for k in keys}
    return {k: np.concatenate([n[k].astype(np.int64) for _, n in tracks]) for k in keys}


def pitch_class_weights(tracks: Sequence[tuple[str, dict]]) -> np.ndarray:
    """Duration-weighted pitch-class histogram of the pitched tracks (sums to 1, or zeros)."""
    pitched = concat_notes([(r, n) for r, n in tracks if r != "drums"])
    hist = pitch_class_profile(pitched["pitch"], pitched["duration"] + 1.0)
    return hist / hist.sum() if hist.sum() else hist


def _repeat_rate(values: np.ndarray, n: int) -> float:
    """Share of the piece's n-grams that occur more than once within it."""
    if len(values) < n + 1:
        return 0.0
    grams = np.lib.stride_tricks.sliding_window_view(values, n)
    _, inverse, counts = np.unique(grams, axis=0, return_inverse=True, return_counts=True)
    return float((counts[inverse.ravel()] > 1).mean())


def onset_grid(piece: Piece, notes: dict) -> np.ndarray:
    """(bars, steps per bar) boolean onset matrix on the 16th grid."""
    step = max(1, piece.tpq // STEPS_PER_BEAT)
    steps = max(1, piece.bar_ticks // step)
    grid = np.zeros((piece.bars, steps), dtype=bool)
    if len(notes["time"]):
        times = notes["time"].astype(np.int64)
        bar = np.minimum(times // piece.bar_ticks, piece.bars - 1)
        pos = np.minimum((times % piece.bar_ticks) // step, steps - 1)
        grid[bar, pos] = True
    return grid


def groove_consistency(grid: np.ndarray) -> float:
    """1 − mean Hamming distance (share of steps) between every pair of non-empty bars."""
    bars = grid[grid.any(axis=1)].astype(np.float64)
    if len(bars) < 2:
        return 1.0
    diff = np.abs(bars[:, None, :] - bars[None, :, :]).mean(axis=2)
    upper = np.triu_indices(len(bars), 1)
    return float(1.0 - diff[upper].mean())


def _melody_features(p: Piece) -> dict[str, float]:
    f: dict[str, float] = {}
    iv = np.diff(p.pitches.astype(np.int64))
    n = max(len(iv), 1)
    hist = (
        np.bincount(
            np.clip(iv, -MAX_INTERVAL, MAX_INTERVAL) + MAX_INTERVAL, minlength=2 * MAX_INTERVAL + 1
        )
        / n
    )
    f.update({f"mel.interval[{k - MAX_INTERVAL:+d}]": float(v) for k, v in enumerate(hist)})
    ioi = np.diff(p.onsets.astype(np.int64))
    lengths = np.concatenate([ioi, p.durations[-1:]]) if len(p.onsets) else np.zeros(0)
    beats = np.maximum(lengths, 1) / p.tpq
    logs = np.clip(np.round(np.log2(beats)), LOG_DURATIONS[0], LOG_DURATIONS[-1])
    dur_hist = np.array([(logs == k).mean() if len(logs) else 0.0 for k in LOG_DURATIONS])
    f.update(
        {f"mel.log2_beats[{k:+d}]": float(v) for k, v in zip(LOG_DURATIONS, dur_hist, strict=True)}
    )
    pitches = p.pitches.astype(float)
    f["mel.range_octaves"] = float(np.ptp(pitches) / 12) if len(pitches) else 0.0
    f["mel.pitch_std"] = float(pitches.std() / 12) if len(pitches) else 0.0
    f["mel.mean_pitch"] = float((pitches.mean() - 60) / 12) if len(pitches) else 0.0
    absiv = np.abs(iv)
    f["mel.repeat_rate"] = float((absiv == 0).sum() / n)
    f["mel.step_rate"] = float(((absiv >= 1) & (absiv <= 2)).sum() / n)
    f["mel.leap_rate"] = float((absiv >= 3).sum() / n)
    f["mel.big_leap_rate"] = float((absiv >= 8).sum() / n)
    classes = _interval_class(iv)
    bigram = np.zeros((5, 5))
    if len(classes) > 1:
        np.add.at(bigram, (classes[:-1], classes[1:]), 1.0)
        bigram /= len(classes) - 1
    f.update({f"mel.bigram[{a}{b}]": float(bigram[a, b]) for a in range(5) for b in range(5)})
    signs = np.sign(iv[iv != 0])
    f["mel.contour_changes"] = float((np.diff(signs) != 0).mean()) if len(signs) > 1 else 0.0
    for k in REPEAT_NS:
        f[f"mel.repeat_{k}gram"] = _repeat_rate(iv, k)
    # Phrases: split at rests of at least a beat or notes of at least two beats.
    gaps = (p.onsets[1:] - (p.onsets[:-1] + p.durations[:-1])) if len(p.onsets) > 1 else ioi
    breaks = (gaps >= p.tpq) | (p.durations[:-1] >= 2 * p.tpq) if len(p.onsets) > 1 else gaps
    f["mel.phrases_per_bar"] = float((np.sum(breaks) + 1) / p.bars)
    # A rest is a gap of a sixteenth or more: shorter ones are articulation (and the
    # tokenizer's duration grid closes them), not silence a listener hears.
    f["mel.rest_share"] = float((gaps >= p.tpq // 4).mean()) if len(gaps) else 0.0
    f["mel.notes_per_bar"] = float(np.log1p(len(p.pitches) / p.bars))
    f["mel.log_notes"] = float(np.log1p(len(p.pitches)))
    return f


def _band_features(p: Piece) -> dict[str, float]:
    f: dict[str, float] = {}
    for role in ROLES:
        notes = concat_notes([(r, n) for r, n in p.tracks if r == role])
        f[f"band.density[{role}]"] = float(np.log1p(len(notes["time"]) / p.bars))
        # Polyphony per instrument: notes per distinct onset (1 = single line, 3 = triads).
        onsets = len(np.unique(notes["time"]))
        f[f"band.chord_size[{role}]"] = len(notes["time"]) / onsets if onsets else 0.0
    # Polyphony: pitched notes sounding per 16th step, over steps where something sounds.
    step = max(1, p.tpq // STEPS_PER_BEAT)
    total = p.bars * (p.bar_ticks // step + 1)
    sounding = np.zeros(total + 1)
    for _, notes in p.pitched():
        start = np.minimum(notes["time"] // step, total)
        end = np.minimum(np.maximum(start + 1, (notes["time"] + notes["duration"]) // step), total)
        np.add.at(sounding, start, 1)
        np.add.at(sounding, end, -1)
    sounding = np.cumsum(sounding)[:total]
    active = sounding[sounding > 0]
    f["band.polyphony"] = float(active.mean()) if len(active) else 0.0
    f["band.polyphony_3plus"] = float((active >= 3).mean()) if len(active) else 0.0
    beats = sounding[: len(sounding) - len(sounding) % STEPS_PER_BEAT].reshape(-1, STEPS_PER_BEAT)
    f["band.empty_beat_rate"] = float((beats.max(axis=1) == 0).mean()) if len(beats) else 1.0
    f["band.groove_consistency"] = groove_consistency(onset_grid(p, concat_notes(p.tracks)))
    f.update(_drum_features(p))
    hist = pitch_class_weights(p.tracks)
    rotated = np.roll(hist, -p.tonic)
    f.update({f"band.pitch_class[{k}]": float(v) for k, v in enumerate(rotated)})
    f["band.minor"] = float(p.minor)
    f["band.log2_tempo"] = float(np.log2(max(p.tempo_qpm, 1.0) / 120.0))
    return f


def _drum_features(p: Piece) -> dict[str, float]:
    notes = concat_notes([(r, n) for r, n in p.tracks if r == "drums"])
    f = {
        "drum.onsets_per_bar": 0.0,
        "drum.groove_consistency": 0.0,
        "drum.pattern_repeat": 0.0,
        "drum.backbeat": 0.0,
        "drum.kick_downbeat": 0.0,
    }
    f.update({f"drum.share[{c}]": 0.0 for c in DRUM_CLASSES})
    if not len(notes["time"]):
        return f
    classes = drum_classes(notes["pitch"])
    f["drum.onsets_per_bar"] = float(np.log1p(len(classes) / p.bars))
    for c, name in enumerate(DRUM_CLASSES):
        f[f"drum.share[{name}]"] = float((classes == c).mean())
    grid = onset_grid(p, notes)
    f["drum.groove_consistency"] = groove_consistency(grid)
    rows = [row.tobytes() for row in grid if row.any()]
    f["drum.pattern_repeat"] = 1.0 - len(set(rows)) / len(rows) if rows else 0.0
    beat = (notes["time"] % p.bar_ticks) / p.tpq
    on_beat = np.isclose(beat, np.round(beat))
    snares = classes == 1
    f["drum.backbeat"] = float(
        (on_beat & snares & (np.round(beat) % 2 == 1)).sum() / max(snares.sum(), 1)
    )
    kicks = classes == 0
    f["drum.kick_downbeat"] = float(
        (on_beat & kicks & (np.round(beat) % 2 == 0)).sum() / max(kicks.sum(), 1)
    )
    return f


def piece_features(song: Song) -> dict[str, float]:
    """Named features of one song (melody, band, drums)."""
    piece = Piece.of(song)
    return {**_melody_features(piece), **_band_features(piece)}


def feature_matrix(songs: Sequence[Song]) -> tuple[np.ndarray, list[str]]:
    """(pieces × features) float matrix and the feature names, in a fixed order."""
    rows = [piece_features(s) for s in songs]
    names = list(rows[0]) if rows else list(piece_features_names())
    return np.array([[r[k] for k in names] for r in rows], dtype=np.float64).reshape(
        len(rows), len(names)
    ), names


def piece_features_names() -> list[str]:
    from symusic import Note, Score, Track

    from tribute.music import SongMeta

    score = Score(24)
    track = Track("x", 0, False)
    track.notes.append(Note(0, 24, 60, 90))
    score.tracks.append(track)
    return list(piece_features(Song(score, SongMeta("x", "x", "", "midi"))))
