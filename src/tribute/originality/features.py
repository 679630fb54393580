"""What the originality guard compares: per-song token streams, one per role.

A song becomes a handful of integer *streams*, each transposition-invariant and tempo-invariant:

- one per pitched track (the track's top line, see :func:`tribute.music.skyline`): a token per
  melodic interval, paired with the rounded log2 ratio of the two notes' inter-onset intervals
  (EVALUATION.md §1); the lead melody is :func:`tribute.music.melody_notes`;
- one chord stream: the pitch-class set sounding at each beat, collapsed over repeats, as
  (bass motion mod 12, chord shape relative to its bass) — a chord-progression sequence;
- one drum stream: a fingerprint of each bar's onset pattern (16th grid × 6 instrument classes,
  Zobrist-hashed), one token per bar.

Token kinds live in disjoint integer ranges, so their n-gram hashes never collide across kinds
and one hash table serves all of them. Every token also carries the bars (0-based) of the notes
it joins, for the report.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np
from symusic import Score

from tribute.errors import TributeError
from tribute.music import Song, melody_notes, skyline

FEATURES_VERSION = 1

# Roles of a stream. Pitched tracks are "lead", "bass" or "other"; the last two are per song.
STREAM_ROLES = ("lead", "bass", "other", "chords", "drums")
PITCHED_ROLES = ("lead", "bass", "other")

# Token ranges per kind (disjoint): pitched < 2**11, chords in [2**20, 2**20 + 2**16),
# drums in [2**44, 2**45).
_CHORD_BASE = 1 << 20
_DRUM_BASE = 1 << 44
_MAX_INTERVAL = 48  # semitones; wider leaps are clipped (4 octaves)
_RATIO_CLASSES = 7  # rounded log2 duration ratio clipped to -3..3 (1/8× .. 8×)
_MAX_BEATS_PER_NOTE = 64  # a held note sounds in at most 64 beat samples (caps pathological input)

# GM drum key → onset class: kick, snare, hi-hat, cymbal, tom, other percussion.
_DRUM_CLASS = np.full(128, 5, dtype=np.int64)
_DRUM_CLASS[[35, 36]] = 0
_DRUM_CLASS[[37, 38, 39, 40]] = 1
_DRUM_CLASS[[42, 44, 46]] = 2
_DRUM_CLASS[[49, 51, 52, 53, 55, 57, 59]] = 3
_DRUM_CLASS[[41, 43, 45, 47, 48, 50]] = 4
_DRUM_STEPS = 64  # 16th steps per bar kept (a 16/4 bar); later onsets share the last step
_ZOBRIST = np.random.default_rng(20240601).integers(1, 1 << 40, size=6 * _DRUM_STEPS,
                                                     dtype=np.int64)


@dataclass(frozen=True)
class Settings:
    """How songs are turned into n-grams; an index answers only queries with equal settings."""

    seed_n: int = 6  # n-gram length of the inverted index; shorter shared runs are not reported
    novelty_ns: tuple[int, ...] = (8, 12)  # EVALUATION.md §2D: ν8, ν12
    rhythm: bool = True  # pair each interval with its duration ratio (False: intervals only)
    copy_floor: int = 16  # a copied run is never below 16 tokens (EVALUATION.md P5)
    review_floor: int = 8  # nor a review below 8
    max_postings: int = 256  # n-grams in more places than this are genre-common: not seeded
    calibration_songs: int = 500  # leave-family-out queries for the human baseline
    version: int = FEATURES_VERSION

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> Settings:
        data = dict(data)
        data["novelty_ns"] = tuple(data.get("novelty_ns", ()))
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(data) - known)
        if unknown:
            raise TributeError(f"originality settings with unknown fields {unknown}: "
                               "written by a newer tribute")
        return cls(**data)

    def comparable(self, other: Settings) -> str | None:
        """``None`` if songs tokenized with ``other`` can be queried here, else why not."""
        mine, theirs = self.to_json(), other.to_json()
        fields = ("version", "seed_n", "rhythm")
        diff = [f"{f}={theirs[f]} vs {mine[f]}" for f in fields if mine[f] != theirs[f]]
        missing = sorted(set(other.novelty_ns) - set(self.novelty_ns))
        if missing:
            diff.append(f"novelty n={missing} not indexed")
        return "; ".join(diff) or None


DEFAULT_SETTINGS = Settings()


@dataclass
class Stream:
    """One token sequence of one song."""

    role: str  # one of STREAM_ROLES
    track: int  # track index in the score; -1 for whole-song streams (skyline, chords, drums)
    tokens: np.ndarray  # int64
    bar_from: np.ndarray  # int32 bar (0-based) where each token starts
    bar_to: np.ndarray  # int32 bar where it ends
    pitches: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    # pitches: the notes of a pitched stream (len(tokens) + 1), for showing a passage


def bar_starts(score: Score) -> np.ndarray:
    """Tick of every bar start from the time signatures (4/4 where none is given)."""
    tpq = score.ticks_per_quarter
    end = max(int(score.end()), 1)
    sigs = sorted({(int(ts.time), ts.numerator, ts.denominator) for ts in score.time_signatures
                   if ts.numerator > 0 and ts.denominator > 0})
    if not sigs or sigs[0][0] > 0:
        sigs.insert(0, (0, 4, 4))
    parts = []
    for i, (start, num, den) in enumerate(sigs[:1000]):
        stop = sigs[i + 1][0] if i + 1 < len(sigs) else end + 1
        bar_ticks = max(1, round(tpq * 4 * num / den))
        parts.append(np.arange(start, max(stop, start + 1), bar_ticks, dtype=np.int64))
    return np.unique(np.concatenate(parts))


def _bars(ticks: np.ndarray, starts: np.ndarray) -> np.ndarray:
    return (np.searchsorted(starts, ticks, side="right") - 1).clip(0).astype(np.int32)


def line_tokens(onsets: np.ndarray, pitches: np.ndarray, durations: np.ndarray,
                rhythm: bool = True) -> np.ndarray:
    """Tokens of a monophonic line: interval, paired (``rhythm``) with a duration-ratio class.

    The duration of a note is its inter-onset interval (its own length for the last note); the
    ratio of consecutive durations is rounded on a log2 scale, so the tokens survive tempo
    changes and uniform time stretching as well as transposition.
    """
    steps = np.diff(pitches.astype(np.int64)).clip(-_MAX_INTERVAL, _MAX_INTERVAL) + _MAX_INTERVAL
    if not rhythm or len(steps) == 0:
        return steps
    spans = np.append(np.diff(onsets), durations[-1:]).astype(np.float64).clip(1)
    ratio = np.rint(np.log2(spans[1:] / spans[:-1])).astype(np.int64).clip(-3, 3) + 3
    return steps * _RATIO_CLASSES + ratio


def melody_tokens(score: Score, lead_track: int | None, rhythm: bool = True) -> np.ndarray:
    """The melody as tokens (EVALUATION.md §1): what L(x), ν_n and diversity compare."""
    onsets, pitches, durations = melody_notes(score, lead_track)
    return line_tokens(onsets, pitches, durations, rhythm)


def _line_stream(role: str, track: int, notes: tuple[np.ndarray, np.ndarray, np.ndarray],
                 starts: np.ndarray, rhythm: bool) -> Stream | None:
    onsets, pitches, durations = notes
    if len(pitches) < 2:
        return None
    bars = _bars(onsets, starts)
    return Stream(role, track, line_tokens(onsets, pitches, durations, rhythm), bars[:-1],
                  bars[1:], pitches.astype(np.int64))


def chord_stream(score: Score, starts: np.ndarray) -> Stream | None:
    """Pitch-class set sounding on each beat, repeats collapsed, relative to its lowest note."""
    parts = [t.notes.numpy() for t in score.tracks if not t.is_drum and t.note_num() > 0]
    if not parts:
        return None
    tpq = score.ticks_per_quarter
    begin = np.concatenate([p["time"] for p in parts]).astype(np.int64)
    end = begin + np.concatenate([p["duration"] for p in parts]).astype(np.int64).clip(1)
    pitch = np.concatenate([p["pitch"] for p in parts]).astype(np.int64)
    first = -(-begin // tpq)  # first beat at or after the onset
    count = (-(-end // tpq) - first).clip(0, _MAX_BEATS_PER_NOTE)
    if count.sum() == 0:
        return None
    note = np.repeat(np.arange(len(begin)), count)
    beat = first[note] + np.arange(len(note)) - np.repeat(np.cumsum(count) - count, count)
    beats, slot = np.unique(beat, return_inverse=True)
    low = np.full(len(beats), 1 << 20, dtype=np.int64)
    np.minimum.at(low, slot, pitch[note])
    bass_pc = low % 12
    mask = np.zeros(len(beats), dtype=np.int64)
    np.bitwise_or.at(mask, slot, 1 << ((pitch[note] - bass_pc[slot]) % 12))
    change = np.ones(len(beats), dtype=bool)
    change[1:] = (mask[1:] != mask[:-1]) | (bass_pc[1:] != bass_pc[:-1])
    bass_pc, mask, beats = bass_pc[change], mask[change], beats[change]
    if len(beats) < 2:
        return None
    tokens = _CHORD_BASE + ((bass_pc[1:] - bass_pc[:-1]) % 12) * 4096 + mask[1:]
    bars = _bars(beats * tpq, starts)
    return Stream("chords", -1, tokens, bars[:-1], bars[1:])


def drum_stream(score: Score, starts: np.ndarray) -> Stream | None:
    """One token per bar from its drum onset pattern (16th grid × instrument class)."""
    parts = [t.notes.numpy() for t in score.tracks if t.is_drum and t.note_num() > 0]
    if not parts:
        return None
    onset = np.concatenate([p["time"] for p in parts]).astype(np.int64)
    key = np.concatenate([p["pitch"] for p in parts]).astype(np.int64).clip(0, 127)
    bar = _bars(onset, starts)
    step = ((onset - starts[bar]) * 4 // score.ticks_per_quarter).clip(0, _DRUM_STEPS - 1)
    code = np.unique((bar.astype(np.int64) * 6 + _DRUM_CLASS[key]) * _DRUM_STEPS + step)
    first, last = int(bar.min()), int(bar.max())
    pattern = np.zeros(last - first + 1, dtype=np.int64)
    cells = 6 * _DRUM_STEPS
    np.bitwise_xor.at(pattern, code // cells - first, _ZOBRIST[code % cells])
    bars = np.arange(first, last + 1, dtype=np.int32)
    return Stream("drums", -1, _DRUM_BASE + pattern, bars, bars)


def song_streams(song: Song, settings: Settings) -> list[Stream]:
    """All streams of a song: each pitched track, the lead (or skyline), chords and drums."""
    score, meta = song.score, song.meta
    starts = bar_starts(score)
    streams: list[Stream] = []
    lead = meta.lead_track
    if lead is None or not 0 <= lead < len(score.tracks) or score.tracks[lead].is_drum:
        lead = None
        # No lead track: the skyline of all pitched tracks stands in for the melody.
        stream = _line_stream("lead", -1, melody_notes(score, None), starts, settings.rhythm)
        if stream is not None:
            streams.append(stream)
    for i, track in enumerate(score.tracks):
        if track.is_drum or track.note_num() < 2:
            continue
        info_role = meta.tracks[i].role if i < len(meta.tracks) else ""
        role = "lead" if i == lead else ("bass" if info_role == "bass" else "other")
        stream = _line_stream(role, i, skyline([track]), starts, settings.rhythm)
        if stream is not None:
            streams.append(stream)
    for stream in (chord_stream(score, starts), drum_stream(score, starts)):
        if stream is not None:
            streams.append(stream)
    return streams
