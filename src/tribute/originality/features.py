"""What the originality guard compares: per-song token streams, one per role.

A song becomes a handful of integer *streams*, each transposition-invariant and tempo-invariant:

- one per pitched track (the track's top line, see :func:`tribute.music.skyline`): a token per
  melodic interval, paired with the rounded log2 ratio of the two notes' inter-onset intervals
  (docs/evaluation.md §1); the lead melody is :func:`tribute.music.melody_notes`;
- one chord stream: the pitch-class set sounding at each beat, collapsed over repeats, as
  (bass motion mod 12, chord shape relative to its bass) — a chord-progression sequence;
- one drum stream: a fingerprint of each bar's onset pattern (16th grid × 6 instrument classes,
  Zobrist-hashed), one token per bar.

Token kinds live in disjoint integer ranges, so their n-gram hashes never collide across kinds
and one hash table serves all of them. Every token also carries the bars (0-based) of the notes
it joins, for the report.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field

import numpy as np

from tribute.errors import TributeError
from tribute.music import DRUM_CLASS, Song, bar_start_ticks, line_tokens_flat

FEATURES_VERSION = 1

# Roles of a stream. Pitched tracks are "lead", "bass" or "other"; the last two are per song.
STREAM_ROLES = ("lead", "bass", "other", "chords", "drums")
PITCHED_ROLES = ("lead", "bass", "other")

# Token ranges per kind (disjoint): pitched < 2**11, chords in [2**20, 2**20 + 2**16),
# drums in [2**44, 2**45).
_CHORD_BASE = 1 << 20
_DRUM_BASE = 1 << 44
_MAX_BEATS_PER_NOTE = 64  # a held note sounds in at most 64 beat samples (caps pathological input)

_DRUM_STEPS = 64  # 16th steps per bar kept (a 16/4 bar); later onsets share the last step
_ZOBRIST = np.random.default_rng(20240601).integers(
    1, 1 << 40, size=6 * _DRUM_STEPS, dtype=np.int64
)


@dataclass(frozen=True)
class OriginalityConfig:
    """How songs are turned into n-grams; an index answers only queries with equal settings."""

    seed_n: int = 6  # n-gram length of the inverted index; shorter shared runs are not reported
    novelty_ns: tuple[int, ...] = (8, 12)  # docs/evaluation.md §2D: ν8, ν12
    rhythm: bool = True  # pair each interval with its duration ratio (False: intervals only)
    copy_floor: int = 16  # a copied run is never below 16 tokens (docs/evaluation.md P5)
    review_floor: int = 8  # nor a review below 8
    max_postings: int = 256  # n-grams in more places than this are genre-common: not seeded
    calibration_songs: int = 500  # leave-family-out queries for the human baseline
    version: int = FEATURES_VERSION

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> OriginalityConfig:
        data = dict(data)
        data["novelty_ns"] = tuple(data.get("novelty_ns", ()))
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(data) - known)
        if unknown:
            raise TributeError(
                f"originality settings with unknown fields {unknown}: written by a newer tribute"
            )
        return cls(**data)

    def comparable(self, other: OriginalityConfig) -> str | None:
        """``None`` if songs tokenized with ``other`` can be queried here, else why not."""
        mine, theirs = self.to_json(), other.to_json()
        fields = ("version", "seed_n", "rhythm")
        diff = [f"{f}={theirs[f]} vs {mine[f]}" for f in fields if mine[f] != theirs[f]]
        missing = sorted(set(other.novelty_ns) - set(self.novelty_ns))
        if missing:
            diff.append(f"novelty n={missing} not indexed")
        return "; ".join(diff) or None


DEFAULT_CONFIG = OriginalityConfig()


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


class _Notes:
    """The notes of a batch of songs as flat arrays, one row per note (tick time per song)."""

    def __init__(self, songs: Sequence[Song]) -> None:
        times: list[np.ndarray] = []
        durations: list[np.ndarray] = []
        pitches: list[np.ndarray] = []
        seg_sizes: list[int] = []
        seg_song: list[int] = []
        seg_track: list[int] = []
        seg_drum: list[bool] = []
        bar_keys: list[np.ndarray] = []
        self.bar_offset = np.zeros(len(songs) + 1, dtype=np.int64)
        self.tpq = np.array([s.score.ticks_per_quarter for s in songs], dtype=np.int64)
        for i, song in enumerate(songs):
            starts = bar_start_ticks(song.score)
            bar_keys.append((i << _SONG_SHIFT) + starts.clip(0, _MAX_TICK))
            self.bar_offset[i + 1] = self.bar_offset[i] + len(starts)
            for j, track in enumerate(song.score.tracks):
                if track.note_num() == 0:
                    continue
                notes = track.notes.numpy()
                times.append(notes["time"])
                durations.append(notes["duration"])
                pitches.append(notes["pitch"])
                seg_sizes.append(len(notes["time"]))
                seg_song.append(i)
                seg_track.append(j)
                seg_drum.append(track.is_drum)
        self.bar_keys = np.concatenate(bar_keys) if bar_keys else np.zeros(0, dtype=np.int64)
        self.bar_ticks = self.bar_keys - ((self.bar_keys >> _SONG_SHIFT) << _SONG_SHIFT)

        def cat(parts: list[np.ndarray]) -> np.ndarray:
            return np.concatenate(parts).astype(np.int64) if parts else np.zeros(0, np.int64)

        self.time, self.duration, self.pitch = cat(times), cat(durations), cat(pitches)
        self.seg = np.repeat(np.arange(len(seg_sizes)), seg_sizes)
        self.seg_song = np.array(seg_song, dtype=np.int64)
        self.seg_track = np.array(seg_track, dtype=np.int64)
        self.seg_drum = np.array(seg_drum, dtype=bool)
        self.song = self.seg_song[self.seg]
        self.drum = self.seg_drum[self.seg]

    def bars(self, song: np.ndarray, ticks: np.ndarray) -> np.ndarray:
        """Bar index (0-based, within its song) of each tick of the given songs."""
        keys = (song << _SONG_SHIFT) + np.minimum(ticks, _MAX_TICK)
        slot = np.searchsorted(self.bar_keys, keys, side="right") - 1
        return slot - self.bar_offset[song]


BATCH_SONGS = 1024  # songs per vectorized feature pass (~1 M notes of band music)
_SONG_SHIFT = 40  # song index above a 40-bit tick in one sortable int64 key
_MAX_TICK = (1 << _SONG_SHIFT) - 1


def _ranges(keys: np.ndarray) -> list[tuple[int, int]]:
    """(start, end) of each run of equal values in sorted ``keys``."""
    starts = _group_starts(keys).tolist()
    return list(zip(starts, [*starts[1:], len(keys)][: len(starts)], strict=True))


def _order(major: np.ndarray, *minor: np.ndarray) -> np.ndarray:
    """Argsort by ``major`` then each of ``minor`` (non-negative ints): one int64 sort when the
    packed key fits in 63 bits (it does for any real batch), else a lexsort."""
    key, bits = major.astype(np.int64), int(major.max(initial=0)).bit_length()
    for m in minor:
        width = int(m.max(initial=0)).bit_length()
        bits += width
        key = (key << width) | m
    if bits > 62:
        return np.lexsort((*reversed(minor), major))
    return np.argsort(key, kind="stable")


def _group_starts(keys: np.ndarray) -> np.ndarray:
    """Index of the first row of each run of equal values in sorted ``keys``."""
    first = np.ones(len(keys), dtype=bool)
    first[1:] = keys[1:] != keys[:-1]
    return np.flatnonzero(first)


def _lines(notes: _Notes, songs: Sequence[Song], rhythm: bool) -> dict[int, list[Stream]]:
    """Top line of every pitched track (and of the whole song where there is no lead track)."""
    pitched = np.flatnonzero(~notes.drum)
    line_of = notes.seg[pitched]  # line id = segment id for tracks
    line_song = list(notes.seg_song)
    line_track = list(notes.seg_track)
    leads: list[int | None] = []
    for song in songs:
        lead, tracks = song.meta.lead_track, song.score.tracks
        valid = lead is not None and 0 <= lead < len(tracks) and not tracks[lead].is_drum
        leads.append(lead if valid else None)
    # Songs without a lead track get one more line: the skyline of all their pitched notes.
    no_lead = np.array([lead is None for lead in leads], dtype=bool)
    sky = pitched[no_lead[notes.song[pitched]]]
    sky_rank = np.cumsum(no_lead) - 1
    extra_rows = [pitched, sky]
    extra_lines = [line_of, len(line_song) + sky_rank[notes.song[sky]]]
    for i in np.flatnonzero(no_lead).tolist():
        line_song.append(i)
        line_track.append(-1)
    rows, line = np.concatenate(extra_rows), np.concatenate(extra_lines)
    time, pitch, duration = notes.time[rows], notes.pitch[rows], notes.duration[rows]
    order = _order(line, time, 127 - pitch)  # per line, by onset, highest pitch first
    line, time, pitch, duration = line[order], time[order], pitch[order], duration[order]
    top = np.ones(len(line), dtype=bool)
    top[1:] = (line[1:] != line[:-1]) | (time[1:] != time[:-1])
    line, time, pitch, duration = line[top], time[top], pitch[top], duration[top]

    tokens = line_tokens_flat(line, time, pitch, duration, rhythm)
    song_ids = np.asarray(line_song, dtype=np.int64)[line]
    bars = notes.bars(song_ids, time).astype(np.int32)

    out: dict[int, list[Stream]] = {}
    for a, b in _ranges(line):
        if b - a < 2:
            continue
        lid = int(line[a])
        song_no, track = line_song[lid], line_track[lid]
        if track < 0 or track == leads[song_no]:
            role = "lead"
        else:
            infos = songs[song_no].meta.tracks
            role = "bass" if track < len(infos) and infos[track].role == "bass" else "other"
        out.setdefault(song_no, []).append(
            Stream(role, track, tokens[a : b - 1], bars[a : b - 1], bars[a + 1 : b], pitch[a:b])
        )
    return out


def _chords(notes: _Notes) -> dict[int, Stream]:
    """Pitch-class set sounding on each beat, repeats collapsed, relative to its lowest note."""
    rows = np.flatnonzero(~notes.drum)
    song = notes.song[rows]
    tpq = notes.tpq[song]
    begin = notes.time[rows]
    end = begin + np.maximum(notes.duration[rows], 1)
    first = -(-begin // tpq)  # first beat at or after the onset
    count = np.minimum(np.maximum(-(-end // tpq) - first, 0), _MAX_BEATS_PER_NOTE)
    total = int(count.sum())
    if total == 0:
        return {}
    rep = np.repeat(np.arange(len(rows)), count)
    beat = first[rep] + np.arange(total) - np.repeat(np.cumsum(count) - count, count)
    key = (song[rep] << _SONG_SHIFT) + beat
    pitch = notes.pitch[rows][rep]
    order = _order(key, pitch)
    key, pitch = key[order], pitch[order]
    group = _group_starts(key)
    low = pitch[group]  # lowest sounding pitch of each beat
    bass_pc = low % 12
    bits = np.left_shift(1, (pitch - np.repeat(low, np.diff(np.append(group, len(key))))) % 12)
    mask = np.bitwise_or.reduceat(bits, group)
    chord_song = key[group] >> _SONG_SHIFT
    beats = key[group] - (chord_song << _SONG_SHIFT)
    change = np.ones(len(group), dtype=bool)
    change[1:] = (
        (mask[1:] != mask[:-1])
        | (bass_pc[1:] != bass_pc[:-1])
        | (chord_song[1:] != chord_song[:-1])
    )
    chord_song, beats, bass_pc, mask = (
        chord_song[change],
        beats[change],
        bass_pc[change],
        mask[change],
    )
    tokens = _CHORD_BASE + ((bass_pc[1:] - bass_pc[:-1]) % 12) * 4096 + mask[1:]
    bars = notes.bars(chord_song, beats * notes.tpq[chord_song]).astype(np.int32)
    out = {}
    for a, b in _ranges(chord_song):
        if b - a >= 2:
            out[int(chord_song[a])] = Stream(
                "chords", -1, tokens[a : b - 1], bars[a : b - 1], bars[a + 1 : b]
            )
    return out


def _drums(notes: _Notes) -> dict[int, Stream]:
    """One token per bar from its drum onset pattern (16th grid × instrument class)."""
    rows = np.flatnonzero(notes.drum)
    if len(rows) == 0:
        return {}
    song = notes.song[rows]
    onset = notes.time[rows]
    bar = notes.bars(song, onset)
    bar_tick = notes.bar_ticks[bar + notes.bar_offset[song]]
    step = np.minimum((onset - bar_tick) * 4 // notes.tpq[song], _DRUM_STEPS - 1)
    cell = DRUM_CLASS[np.clip(notes.pitch[rows], 0, 127)] * _DRUM_STEPS + step
    key = np.sort((((song << 31) + bar) << 9) + cell)  # song < 2**23 in one batch
    key = key[_group_starts(key)]  # (np.unique is 8× slower here: it hashes first)
    bar_key = key >> 9
    group = _group_starts(bar_key)
    pattern = np.bitwise_xor.reduceat(_ZOBRIST[key & 511], group)  # cell < 6 * 64 < 2**9
    bar_key = bar_key[group]
    drum_song, bar = bar_key >> 31, bar_key & ((1 << 31) - 1)
    out = {}
    for a, b in _ranges(drum_song):
        first, last = int(bar[a]), int(bar[b - 1])
        full = np.zeros(last - first + 1, dtype=np.int64)  # bars without drums: pattern 0
        full[bar[a:b] - first] = pattern[a:b]
        bars = np.arange(first, last + 1, dtype=np.int32)
        out[int(drum_song[a])] = Stream("drums", -1, _DRUM_BASE + full, bars, bars)
    return out


def batch_streams(songs: Sequence[Song], settings: OriginalityConfig) -> list[list[Stream]]:
    """The streams of each song, in order: top lines (lead first if no lead track), chords,
    drums. One vectorized pass over all songs' notes: thousands of songs per second."""
    if not songs:
        return []
    notes = _Notes(songs)
    lines, chords, drums = _lines(notes, songs, settings.rhythm), _chords(notes), _drums(notes)
    out = []
    for i in range(len(songs)):
        streams = lines.get(i, [])
        streams.sort(key=lambda s: s.track)  # the skyline lead (track -1) first
        out.append([*streams, *(x[i] for x in (chords, drums) if i in x)])
    return out


def batches(items: Iterable, size: int) -> Iterator[list]:
    """Consecutive lists of ``size`` items (the last one shorter)."""
    batch: list = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def song_streams(song: Song, settings: OriginalityConfig) -> list[Stream]:
    """All streams of one song (see :func:`batch_streams`)."""
    return batch_streams([song], settings)[0]
