"""The one music type of tribute: a ``symusic.Score`` plus a small metadata record.

Everything that flows between pipeline stages is a :class:`Song` — the score (tick time,
``TICKS_PER_QUARTER`` after normalization) and a :class:`SongMeta` that describes it. This
module also owns the band-role vocabulary and the melody extraction that de-duplication,
originality and evaluation share (EVALUATION.md §1: the lead track, else the highest sounding
note per onset, reduced to transposition-invariant intervals).

No torch here: corpus, originality and rendering import this module on machines without it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
from symusic import Score, Track

# 24 ticks per quarter holds 16ths (6), 32nds (3), 8th triplets (8) and 16th triplets (4).
TICKS_PER_QUARTER = 24

ROLES = ("drums", "bass", "guitar", "keys", "strings", "brass", "lead", "other")

# Track-name keywords, checked in order; the first hit wins. Word boundaries matter:
# "bassoon" is not a bass and "leading" is not a lead.
_NAME_ROLES: tuple[tuple[str, str], ...] = (
    (
        "drums",
        r"\b(drums?|drum ?kit|kit|perc\w*|batterie|schlagzeug|snare|kick|hi-?hat|"
        r"cymbals?)\b",
    ),
    ("bass", r"\b(bass|bassus|bajo|basso|e-?bass|bass ?guitar|contrabass)\b"),
    (
        "lead",
        r"\b(vocals?|vox|voice|voc|lead|melody|melodie|soprano|sopran|cantus|superius|"
        r"singer|sing|canto|chant)\b",
    ),
    ("guitar", r"\b(guitars?|gtr|git|gitarre|guitarra|dist\w*|overdrive|rhythm)\b"),
    (
        "keys",
        r"\b(piano|keys?|keyboard|organ|orgel|synth\w*|rhodes|clavinet|harpsichord|"
        r"cembalo|epiano|e-piano)\b",
    ),
    ("strings", r"\b(strings?|violins?|viola|violoncello|cello|violino|fiddle|harp)\b"),
    (
        "brass",
        r"\b(brass|trumpets?|trombones?|horns?|tuba|sax\w*|clarinet|oboe|flute|bassoon|"
        r"winds?|reed)\b",
    ),
    # Inner voices of a choral score accompany: neither lead nor bass.
    (
        "other",
        r"\b(alto|altus|tenor|tenore|tenorlied|contra\w*|quintus|sextus|septimus|vagans|"
        r"mezzo|baritone?)\b",
    ),
)


def role_from_program(program: int, is_drum: bool) -> str:
    """Band role of a General MIDI program (0-127)."""
    if is_drum:
        return "drums"
    family = program // 8
    return (
        {
            0: "keys",  # pianos
            1: "keys",  # chromatic percussion
            2: "keys",  # organs
            3: "guitar",
            4: "bass",
            5: "strings",
            6: "strings",  # ensembles; choir programs 52-54 handled below
            7: "brass",
            8: "brass",  # reeds
            9: "brass",  # pipes
            10: "lead",  # synth leads
            11: "keys",  # synth pads
        }.get(family, "other")
        if program not in (52, 53, 54, 85)
        else _VOICE_ROLES[program]
    )


# Voice programs: choir and voice pads are backing voices, "Lead 6 (voice)" is a lead.
_VOICE_ROLES = {52: "other", 53: "other", 54: "other", 85: "lead"}


def band_role(name: str, program: int, is_drum: bool) -> str:
    """Band role from channel 10, the track name and the GM program, in that order."""
    if is_drum:
        return "drums"
    lowered = name.lower()
    for role, pattern in _NAME_ROLES:
        if re.search(pattern, lowered):
            # A track named "drums" on a pitched channel is still pitched: keep it "other".
            return "other" if role == "drums" else role
    return role_from_program(program, is_drum)


# Distinct programs for the parts of a choral or ensemble score that carries no instruments,
# so that a program-keyed tokenization (REMI + programs) keeps them as separate tracks.
ENSEMBLE_PROGRAMS = (52, 53, 54, 85, 91, 40, 41, 42, 43, 68, 71, 70, 60, 56, 57, 58)


def distinct_program(wanted: int, taken: set[int]) -> int:
    """``wanted`` if free, else the next free program of the same GM family, else any free one."""
    if wanted not in taken:
        return wanted
    family = wanted // 8 * 8
    for candidate in [*range(family, family + 8), *ENSEMBLE_PROGRAMS, *range(128)]:
        if candidate not in taken:
            return candidate
    return wanted  # 128 pitched tracks: nothing left to separate them


@dataclass
class TrackInfo:
    """What the rest of the system needs to know about one track."""

    name: str
    program: int
    is_drum: bool
    role: str
    n_notes: int
    pitch_min: int = 0
    pitch_max: int = 0


@dataclass
class SongMeta:
    """The metadata record that travels with every score (JSON-serializable)."""

    id: str
    title: str
    source: str  # file path (or preset path), plus "#N" for the N-th piece of a multi-piece file
    format: str  # "midi", "musicxml", "abc", "kern", "guitarpro"
    labels: dict[str, str] = field(default_factory=dict)
    content_hash: str = ""
    tempo_qpm: float = 120.0
    time_signature: str = "4/4"
    key: str | None = None
    duration_s: float = 0.0
    duration_beats: float = 0.0
    n_notes: int = 0
    tracks: list[TrackInfo] = field(default_factory=list)
    lead_track: int | None = None
    warnings: list[str] = field(default_factory=list)
    family: str = ""
    split: str = ""

    def to_json(self) -> dict:
        # Shallow copies, not dataclasses.asdict: asdict deep-copies and is 10x slower.
        data = dict(vars(self))
        data["labels"] = dict(self.labels)
        data["warnings"] = list(self.warnings)
        data["tracks"] = [dict(vars(t)) for t in self.tracks]
        return data

    @classmethod
    def from_json(cls, data: dict) -> SongMeta:
        data = dict(data)
        data["tracks"] = [TrackInfo(**t) for t in data.get("tracks", [])]
        return cls(**data)


@dataclass
class Song:
    score: Score
    meta: SongMeta


# --------------------------------------------------------------------------------------------
# Melody: the sequence de-duplication, originality and evaluation all compare.


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
