"""The originality index: every stream of every reference song, plus n-gram lookup tables.

Layout in memory (and in ``streams.npz`` / ``tables.npz`` on disk, loaded without pickle):

- all stream tokens concatenated (``tokens``, with ``bar_from``/``bar_to`` per token), cut by
  ``stream_start``; per stream its song, track and role;
- an inverted index of ``seed_n``-grams (never across a stream boundary): sorted unique hashes,
  CSR offsets into token positions, and each hash's document frequency (songs holding it);
- for each novelty n, the sorted unique n-gram hashes with their document frequency.

Everything derived is rebuilt from the streams in one vectorized pass (seconds for 10 k songs);
only new or changed songs are re-read from their scores (:func:`tribute.originality.store`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from tribute.music import Song, SongMeta, ngram_hashes
from tribute.originality.features import (
    BATCH_SONGS,
    DEFAULT_CONFIG,
    STREAM_ROLES,
    OriginalityConfig,
    Stream,
    _group_starts,
    batch_streams,
    batches,
)

_CHUNK_TOKENS = 1 << 18  # hash 262 k tokens at a time: ngram_hashes materializes n × 8 B each


@dataclass
class GramTable:
    """Sorted unique n-gram hashes, their document frequency and (seeds only) positions."""

    keys: np.ndarray  # uint64, sorted, unique: the top 64 - shift bits of each n-gram hash
    df: np.ndarray  # int32: songs holding each key
    shift: int = 0
    offsets: np.ndarray | None = None  # int64 CSR into positions (len(keys) + 1)
    positions: np.ndarray | None = None  # int32 token positions (int64 past 2**31), by key

    def find(self, hashes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(slot in keys, found) for each n-gram hash."""
        if len(self.keys) == 0:
            zero = np.zeros(len(hashes), dtype=np.int64)
            return zero, zero.astype(bool)
        hashes = _mix(hashes) >> np.uint64(self.shift)
        slot = np.searchsorted(self.keys, hashes).clip(0, len(self.keys) - 1)
        return slot, self.keys[slot] == hashes


@dataclass
class OriginalityIndex:
    settings: OriginalityConfig
    songs: list[dict]  # id, title, family, split, corpus, key, tracks (names)
    tokens: np.ndarray
    bar_from: np.ndarray
    bar_to: np.ndarray
    stream_start: np.ndarray  # int64, len(streams) + 1
    stream_song: np.ndarray  # int32
    stream_track: np.ndarray  # int16
    stream_role: np.ndarray  # int8 index into STREAM_ROLES
    seeds: GramTable = field(init=False)
    grams: dict[int, GramTable] = field(init=False)
    calibration: dict | None = None

    def __post_init__(self) -> None:
        self.derive()

    # ----------------------------------------------------------------------------------------
    # Construction

    @classmethod
    def build(
        cls, songs: Iterable[Song], settings: OriginalityConfig = DEFAULT_CONFIG, corpus: str = ""
    ) -> OriginalityIndex:
        """Index in-memory songs (not calibrated: see :func:`calibrate`)."""
        records, streams = [], []
        for batch in batches(songs, BATCH_SONGS):
            records += [song_record(song, corpus) for song in batch]
            streams += batch_streams(batch, settings)
        return cls.from_streams(settings, records, streams)

    @classmethod
    def from_streams(
        cls, settings: OriginalityConfig, records: list[dict], streams: Sequence[Sequence[Stream]]
    ) -> OriginalityIndex:
        flat = [(i, s) for i, song in enumerate(streams) for s in song]
        lengths = np.array([len(s.tokens) for _, s in flat], dtype=np.int64)
        start = np.zeros(len(flat) + 1, dtype=np.int64)
        np.cumsum(lengths, out=start[1:])

        def cat(name: str, dtype) -> np.ndarray:
            parts = [getattr(s, name) for _, s in flat]
            return np.concatenate(parts).astype(dtype) if parts else np.zeros(0, dtype=dtype)

        return cls(
            settings=settings,
            songs=records,
            tokens=cat("tokens", np.int64),
            bar_from=cat("bar_from", np.int32),
            bar_to=cat("bar_to", np.int32),
            stream_start=start,
            stream_song=np.array([i for i, _ in flat], dtype=np.int32),
            stream_track=np.array([s.track for _, s in flat], dtype=np.int16),
            stream_role=np.array([STREAM_ROLES.index(s.role) for _, s in flat], dtype=np.int8),
        )

    def derive(self) -> None:
        """(Re)build the lookup tables from the streams."""
        self.seeds = self._table(self.settings.seed_n, positions=True)
        self.grams = {n: self._table(n, positions=False) for n in self.settings.novelty_ns}

    def select(self, keep: np.ndarray) -> OriginalityIndex:
        """A new index of the songs where ``keep`` (bool per song) is true."""
        keep_stream = keep[self.stream_song]
        new_song = np.cumsum(keep) - 1
        lengths = np.diff(self.stream_start)[keep_stream]
        token_keep = np.repeat(keep_stream, np.diff(self.stream_start))
        start = np.zeros(len(lengths) + 1, dtype=np.int64)
        np.cumsum(lengths, out=start[1:])
        return OriginalityIndex(
            settings=self.settings,
            songs=[r for r, k in zip(self.songs, keep, strict=True) if k],
            tokens=self.tokens[token_keep],
            bar_from=self.bar_from[token_keep],
            bar_to=self.bar_to[token_keep],
            stream_start=start,
            stream_song=new_song[self.stream_song[keep_stream]].astype(np.int32),
            stream_track=self.stream_track[keep_stream],
            stream_role=self.stream_role[keep_stream],
        )

    @classmethod
    def merge(cls, parts: Sequence[OriginalityIndex]) -> OriginalityIndex:
        """One index over several (same settings); calibration is left to the caller."""
        settings = parts[0].settings
        song_base = np.cumsum([0] + [len(p.songs) for p in parts])
        token_base = np.cumsum([0] + [len(p.tokens) for p in parts])
        return cls(
            settings=settings,
            songs=[r for p in parts for r in p.songs],
            tokens=np.concatenate([p.tokens for p in parts]),
            bar_from=np.concatenate([p.bar_from for p in parts]),
            bar_to=np.concatenate([p.bar_to for p in parts]),
            stream_start=np.concatenate(
                [p.stream_start[:-1] + b for p, b in zip(parts, token_base, strict=False)]
                + [np.array([token_base[-1]], dtype=np.int64)]
            ),
            stream_song=np.concatenate(
                [p.stream_song + b for p, b in zip(parts, song_base, strict=False)]
            ).astype(np.int32),
            stream_track=np.concatenate([p.stream_track for p in parts]),
            stream_role=np.concatenate([p.stream_role for p in parts]),
        )

    # ----------------------------------------------------------------------------------------
    # Lookups

    def __len__(self) -> int:
        return len(self.songs)

    @property
    def n_streams(self) -> int:
        return len(self.stream_song)

    def stream_of(self, positions: np.ndarray) -> np.ndarray:
        """Stream index of global token positions."""
        return np.searchsorted(self.stream_start, positions, side="right") - 1

    def stream_tokens(self, stream: int) -> np.ndarray:
        return self.tokens[self.stream_start[stream] : self.stream_start[stream + 1]]

    def song_streams(self, song: int) -> np.ndarray:
        """Stream indices of one song (streams are stored song by song)."""
        lo, hi = np.searchsorted(self.stream_song, [song, song + 1])
        return np.arange(lo, hi)

    def nbytes(self) -> int:
        arrays = [
            self.tokens,
            self.bar_from,
            self.bar_to,
            self.stream_start,
            self.stream_song,
            self.stream_track,
            self.stream_role,
        ]
        for table in [self.seeds, *self.grams.values()]:
            arrays += [
                a for a in (table.keys, table.df, table.offsets, table.positions) if a is not None
            ]
        return int(sum(a.nbytes for a in arrays))

    # ----------------------------------------------------------------------------------------

    def _table(self, n: int, positions: bool) -> GramTable:
        bounds = self.stream_start
        lengths = np.diff(bounds)
        # Window p is an n-gram of one stream if it ends before its stream does.
        stream_end = np.repeat(bounds[1:], lengths)
        token_song = np.repeat(self.stream_song, lengths)
        hashes, starts = [], []
        cut = 0
        while cut < len(bounds) - 1:
            # A chunk of whole streams, about _CHUNK_TOKENS long.
            end = int(np.searchsorted(bounds, bounds[cut] + _CHUNK_TOKENS, side="right")) - 1
            end = max(end, cut + 1)
            lo, hi = int(bounds[cut]), int(bounds[end])
            h = ngram_hashes(self.tokens[lo:hi], n)
            if len(h):
                pos = np.arange(lo, lo + len(h))
                valid = pos + n <= stream_end[lo : lo + len(h)]
                hashes.append(h[valid])
                starts.append(pos[valid])
            cut = end
        if not hashes:
            empty = np.zeros(0, dtype=np.uint64)
            return GramTable(
                empty,
                np.zeros(0, dtype=np.int32),
                0,
                np.zeros(1, dtype=np.int64) if positions else None,
                np.zeros(0, dtype=np.int64) if positions else None,
            )
        # One sort of packed (hash top bits | position) words: keys keep 64 - shift bits of
        # the hash (≥ 38 for 33 M tokens; seeds are verified token by token anyway).
        shift = max(len(self.tokens).bit_length(), 1)
        mask = np.uint64((1 << shift) - 1)
        packed = _mix(np.concatenate(hashes)) & ~mask
        packed |= np.concatenate(starts).astype(np.uint64)
        packed.sort()
        flat = packed >> np.uint64(shift)
        pos = (packed & mask).astype(np.int64)
        del packed
        new_key = np.ones(len(flat), dtype=bool)
        new_key[1:] = flat[1:] != flat[:-1]
        key_start = np.flatnonzero(new_key)
        size = np.diff(np.append(key_start, len(flat)))
        # Document frequency: 1 for a gram seen once (most of them); else distinct songs among
        # its rows, counted on the rows of repeated grams only.
        df = np.ones(len(key_start), dtype=np.int32)
        repeated = np.flatnonzero(size > 1)
        if len(repeated):
            rows = np.flatnonzero(np.repeat(size > 1, size))
            group = np.repeat(np.arange(len(repeated)), size[repeated])
            pair = np.sort(group * np.int64(len(self.songs) + 1) + token_song[pos[rows]])
            distinct = pair[_group_starts(pair)]  # (np.unique hashes first: slower here)
            df[repeated] = np.bincount(distinct // (len(self.songs) + 1), minlength=len(repeated))
        if not positions:
            return GramTable(flat[key_start], df, shift)
        offsets = np.append(key_start, len(flat)).astype(np.int64)
        small = len(self.tokens) < 2**31  # int32 positions: 4 bytes a token saved
        return GramTable(
            flat[key_start], df, shift, offsets, pos.astype(np.int32) if small else pos
        )


def _mix(hashes: np.ndarray) -> np.ndarray:
    """SplitMix64 finalizer: spreads every input bit over the top bits that keys keep (a
    polynomial hash's top bits barely depend on the last token)."""
    h = hashes ^ (hashes >> np.uint64(30))
    with np.errstate(over="ignore"):
        h *= np.uint64(0xBF58476D1CE4E5B9)
        h ^= h >> np.uint64(27)
        h *= np.uint64(0x94D049BB133111EB)
    return h ^ (h >> np.uint64(31))


def content_key(meta: SongMeta) -> str:
    """What must change for an indexed song to be read again."""
    return meta.content_hash or f"{meta.id}:{meta.n_notes}:{meta.duration_beats}"


def song_record(song: Song, corpus: str = "") -> dict:
    meta = song.meta
    return {
        "id": meta.id,
        "title": meta.title,
        "family": meta.family or meta.id,
        "split": meta.split,
        "corpus": corpus,
        "key": content_key(meta),
        "tracks": [t.name for t in song.score.tracks],
    }
