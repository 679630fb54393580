"""Chord symbols and key from the notes: template matching on duration-weighted pitch classes.

Chords: the pitch-class profile of a window (a bar, or half a bar when the harmony moves there)
is compared by cosine similarity with binary chord templates (Fujishima 1999, "Realtime chord
recognition of musical sound"); the lowest sounding pitch class adds weight to the root it
names, because in a band the bass plays the root most of the time. Key: the Krumhansl–Kessler
major/minor profiles correlated with the whole song's profile (Krumhansl 1990, "Cognitive
Foundations of Musical Pitch"), in :mod:`tribute.music.pitch`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from symusic import Score

from tribute.music.pitch import PITCH_NAMES, Key, estimate_key
from tribute.music.timeline import bar_starts

# Chord qualities: the suffix a lead sheet writes, the MusicXML <kind>, the intervals above the
# root. Order matters on ties: simpler chords first.
QUALITIES: tuple[tuple[str, str, tuple[int, ...]], ...] = (
    ("", "major", (0, 4, 7)),
    ("m", "minor", (0, 3, 7)),
    ("7", "dominant-seventh", (0, 4, 7, 10)),
    ("m7", "minor-seventh", (0, 3, 7, 10)),
    ("maj7", "major-seventh", (0, 4, 7, 11)),
    ("sus4", "suspended-fourth", (0, 5, 7)),
    ("dim", "diminished", (0, 3, 6)),
    ("5", "power", (0, 7)),  # power chord: the guitar of most rock songs
)
KINDS = {suffix: kind for suffix, kind, _ in QUALITIES}
FOUR_NOTE_PENALTY = 0.04  # a 7th chord must fit clearly better than its triad to be named
# A power chord wins only when the third is (nearly) absent: with a third at a quarter of the
# root's weight the triad fits 0.02-0.03 worse, without one 0.08+ worse.
TWO_NOTE_PENALTY = 0.04
BASS_WEIGHT = 0.5  # share of the window's weight added to the lowest pitch class
HALF_BAR_MARGIN = 0.05  # halves must fit this much better than the whole bar to split it
MIN_FIT = 0.55  # below this cosine similarity the window is "no chord"
MIN_SHARE = 0.1  # a pitch class counts toward "is this a chord" from 10% of the window's weight


def _templates() -> tuple[np.ndarray, list[tuple[int, str, int]]]:
    rows, labels = [], []
    for suffix, _, intervals in QUALITIES:
        for root in range(12):
            row = np.zeros(12)
            row[[(root + i) % 12 for i in intervals]] = 1.0
            rows.append(row / np.linalg.norm(row))
            labels.append((root, suffix, len(intervals)))
    return np.array(rows), labels


_TEMPLATES, _LABELS = _templates()
_PENALTIES = np.array(
    [{4: FOUR_NOTE_PENALTY, 2: TWO_NOTE_PENALTY}.get(size, 0.0) for _, _, size in _LABELS]
)


@dataclass(frozen=True)
class ChordLabel:
    start_tick: int
    root: int  # pitch class 0-11
    suffix: str  # "", "m", "7", ...
    fit: float  # cosine similarity of the window with the template, 0-1

    @property
    def figure(self) -> str:
        return PITCH_NAMES[self.root] + self.suffix

    @property
    def kind(self) -> str:
        """The MusicXML chord kind ("major", "minor-seventh", "power", ...)."""
        return KINDS[self.suffix]


def _note_table(score: Score, tracks: Sequence[int]) -> np.ndarray:
    """Rows (start, end, pitch) in ticks of the chosen pitched tracks."""
    parts = []
    for i in tracks:
        track = score.tracks[i]
        if track.is_drum or track.note_num() == 0:
            continue
        notes = track.notes.numpy()
        start = notes["time"].astype(np.int64)
        parts.append(
            np.stack(
                [start, start + np.maximum(notes["duration"], 1), notes["pitch"].astype(np.int64)],
                axis=1,
            )
        )
    return np.concatenate(parts) if parts else np.zeros((0, 3), dtype=np.int64)


def _profile(table: np.ndarray, start: int, end: int) -> tuple[np.ndarray, int | None]:
    """Duration-weighted pitch classes sounding in [start, end), and the lowest pitch class."""
    overlap = np.minimum(table[:, 1], end) - np.maximum(table[:, 0], start)
    inside = overlap > 0
    if not inside.any():
        return np.zeros(12), None
    weights, pitches = overlap[inside].astype(float), table[inside, 2]
    profile = np.bincount(pitches % 12, weights=weights, minlength=12).astype(float)
    return profile, int(pitches.min() % 12)


def _best(profile: np.ndarray, bass: int | None) -> tuple[int, str, float]:
    """(root, suffix, fit) of the best template; fit 0 for an empty profile."""
    total = profile.sum()
    if total <= 0 or np.count_nonzero(profile >= MIN_SHARE * total) < 2:
        return 0, "", 0.0  # one held note (or silence) is no chord
    vector = profile / total
    if bass is not None:
        vector = vector.copy()
        vector[bass] += BASS_WEIGHT / 12
    fits = _TEMPLATES @ (vector / np.linalg.norm(vector))
    plain = fits.copy()
    fits -= _PENALTIES
    if bass is not None:  # on a tie the chord whose root is in the bass wins
        fits += np.array([0.01 if root == bass else 0.0 for root, _, _ in _LABELS])
    index = int(np.argmax(np.round(fits, 9)))  # exact ties: the simpler chord (listed first)
    root, suffix, _ = _LABELS[index]
    return root, suffix, float(plain[index])


def detect_chords(
    score: Score, tracks: Sequence[int], until_tick: int | None = None
) -> list[ChordLabel]:
    """One chord per bar (two where the halves of a bar clearly differ) from ``tracks``.

    Bars without pitched notes, or whose notes fit no template, get no label (N.C.).
    """
    table = _note_table(score, tracks)
    if not len(table):
        return []
    bars = bar_starts(score, until_tick)
    labels: list[ChordLabel] = []
    tpq = score.ticks_per_quarter
    for index, (start, meter) in enumerate(bars):
        end = bars[index + 1][0] if index + 1 < len(bars) else start + meter.bar_ticks(tpq)
        root, suffix, fit = _best(*_profile(table, start, end))
        windows = [(start, root, suffix, fit)]
        beats = meter.numerator * 4 / meter.denominator
        if beats >= 4 and meter.numerator % 2 == 0:
            middle = start + (end - start) // 2
            halves = [
                (s, *_best(*_profile(table, s, e))) for s, e in ((start, middle), (middle, end))
            ]
            differ = (halves[0][1], halves[0][2]) != (halves[1][1], halves[1][2])
            if differ and min(h[3] for h in halves) > fit + HALF_BAR_MARGIN:
                windows = halves
        for s, r, q, f in windows:
            if f < MIN_FIT:
                continue
            if labels and (labels[-1].root, labels[-1].suffix) == (r, q):
                continue  # a lead sheet writes a chord only where it changes
            labels.append(ChordLabel(int(s), r, q, round(f, 3)))
    return labels


def bar_chords(score: Score, bars: int) -> list[str | None]:
    """The chord symbol of each of the first ``bars`` bars (whole-bar windows, every pitched
    track), None where no template fits: what a harmony tokenizer writes before each bar.

    Vectorized over bars (the same fit as :func:`_best`): a note adds its overlap to every
    bar it sounds in — a 200-bar, 3,000-note motet takes milliseconds, not seconds.
    """
    if bars <= 0:
        return []
    table = _note_table(score, range(len(score.tracks)))
    tpq = score.ticks_per_quarter
    starts = [tick for tick, _ in bar_starts(score)]
    last_meter = bar_starts(score)[-1][1]
    while len(starts) <= bars:  # bars past the last note (MidiTok counts to its own end)
        starts.append(starts[-1] + last_meter.bar_ticks(tpq))
    edges = np.asarray(starts[: bars + 1], dtype=np.int64)
    profiles, lowest = _bar_profiles(table, edges)
    return [
        PITCH_NAMES[root] + suffix if fit >= MIN_FIT else None
        for root, suffix, fit in _best_of_rows(profiles, lowest)
    ]


def _bar_profiles(table: np.ndarray, edges: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(bars × 12 duration-weighted pitch classes, lowest pitch per bar or 999)."""
    bars = len(edges) - 1
    profiles = np.zeros((bars, 12))
    lowest = np.full(bars, 999, dtype=np.int64)
    if not len(table) or bars <= 0:
        return profiles, lowest
    first = np.clip(np.searchsorted(edges, table[:, 0], side="right") - 1, 0, bars - 1)
    last = np.clip(np.searchsorted(edges, table[:, 1] - 1, side="right") - 1, 0, bars - 1)
    spans = np.maximum(last - first + 1, 1)
    note = np.repeat(np.arange(len(table)), spans)
    bar = first[note] + np.arange(int(spans.sum())) - np.repeat(np.cumsum(spans) - spans, spans)
    overlap = np.minimum(table[note, 1], edges[bar + 1]) - np.maximum(table[note, 0], edges[bar])
    inside = overlap > 0
    note, bar, overlap = note[inside], bar[inside], overlap[inside]
    np.add.at(profiles, (bar, table[note, 2] % 12), overlap.astype(float))
    np.minimum.at(lowest, bar, table[note, 2])
    return profiles, lowest


def _best_of_rows(profiles: np.ndarray, lowest: np.ndarray) -> list[tuple[int, str, float]]:
    """:func:`_best` of every row at once."""
    totals = profiles.sum(axis=1)
    enough = (profiles >= MIN_SHARE * totals[:, None]).sum(axis=1) >= 2
    vectors = profiles / np.maximum(totals, 1e-12)[:, None]
    has_bass = lowest < 999
    bass = np.where(has_bass, lowest % 12, 0)
    vectors[np.arange(len(vectors)), bass] += np.where(has_bass, BASS_WEIGHT / 12, 0.0)
    norms = np.maximum(np.linalg.norm(vectors, axis=1), 1e-12)
    plain = (vectors / norms[:, None]) @ _TEMPLATES.T  # bars × templates
    roots = np.array([root for root, _, _ in _LABELS])
    fits = (
        plain
        - _PENALTIES
        + np.where(roots[None, :] == bass[:, None], 0.01, 0.0) * has_bass[:, None]
    )
    best = np.round(fits, 9).argmax(axis=1)  # exact ties: the simpler chord (listed first)
    out = []
    for row, index in enumerate(best):
        if totals[row] <= 0 or not enough[row]:
            out.append((0, "", 0.0))
            continue
        root, suffix, _ = _LABELS[int(index)]
        out.append((root, suffix, float(plain[row, index])))
    return out


# Spellings of each quality a user may type (after the root), longest first per quality.
_QUALITY_SPELLINGS = {
    "maj7": ("maj7", "M7", "Δ7", "Δ", "ma7"),
    "m7": ("m7", "min7", "-7", "mi7"),
    "7": ("7", "dom7"),
    "m": ("m", "min", "-", "mi"),
    "sus4": ("sus4", "sus"),
    "dim": ("dim", "°", "o"),
    "5": ("5",),
    "": ("", "maj", "M"),
}
ACCEPTED_FORMS = "C, Cm, C7, Cmaj7, Cm7, Csus4, Cdim, C5, slash chords like C/E, N.C."


def parse_chord_symbol(text: str) -> str | None:
    """A chord symbol as typed (``"Em7"``, ``"Bbmaj7"``, ``"F#min"``, ``"C/E"``, ``"N.C."``)
    → its canonical spelling in :data:`QUALITIES` (``"Em7"``, ``"Bbmaj7"``, ``"F#m"``, ``"C"``;
    None for no chord). A slash chord's bass note is not kept: the vocabulary names the chord.
    """
    from tribute.errors import TributeError
    from tribute.music.pitch import pitch_class

    symbol = text.strip()
    if symbol.upper() in ("N.C.", "NC", "N.C"):
        return None
    match = re.fullmatch(r"([A-Ga-g][#b♯♭]?)(.*?)(?:/([A-Ga-g][#b♯♭]?))?", symbol)
    if match:
        root = pitch_class(match.group(1))
        for suffix, spellings in _QUALITY_SPELLINGS.items():
            if match.group(2) in spellings:
                return PITCH_NAMES[root] + suffix
    raise TributeError(f"unknown chord symbol {text!r}; accepted forms: {ACCEPTED_FORMS}")


def song_key(score: Score) -> Key | None:
    """The key of the whole song from its duration-weighted pitch classes (None without notes)."""
    table = _note_table(score, range(len(score.tracks)))
    if not len(table):
        return None
    profile, _ = _profile(table, int(table[:, 0].min()), int(table[:, 1].max()))
    return estimate_key(profile)
