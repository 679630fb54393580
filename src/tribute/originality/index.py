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
    DEFAULT_SETTINGS,
    STREAM_ROLES,
    Settings,
    Stream,
    batch_streams,
    batches,
)

_CHUNK_TOKENS = 1 << 18  # hash 262 k tokens at a time: ngram_hashes materializes n × 8 B each


@dataclass
class GramTable:
    """Sorted unique n-gram hashes, their document frequency and (seeds only) positions."""

    keys: np.ndarray  # uint64, sorted, unique
    df: np.ndarray  # int32: songs holding each key
    offsets: np.ndarray | None = None  # int64 CSR into positions (len(keys) + 1)
    positions: np.ndarray | None = None  # int64 token positions, grouped by key

    def find(self, hashes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(slot in keys, found) for each hash."""
        if len(self.keys) == 0:
            zero = np.zeros(len(hashes), dtype=np.int64)
            return zero, zero.astype(bool)
        slot = np.searchsorted(self.keys, hashes).clip(0, len(self.keys) - 1)
        return slot, self.keys[slot] == hashes


@dataclass
class OriginalityIndex:
    settings: Settings
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
    def build(cls, songs: Iterable[Song], settings: Settings = DEFAULT_SETTINGS,
              corpus: str = "") -> OriginalityIndex:
        """Index in-memory songs (not calibrated: see :func:`calibrate`)."""
        records, streams = [], []
        for batch in batches(songs, BATCH_SONGS):
            records += [song_record(song, corpus) for song in batch]
            streams += batch_streams(batch, settings)
        return cls.from_streams(settings, records, streams)

    @classmethod
    def from_streams(cls, settings: Settings, records: list[dict],
                     streams: Sequence[Sequence[Stream]]) -> OriginalityIndex:
        flat = [(i, s) for i, song in enumerate(streams) for s in song]
        lengths = np.array([len(s.tokens) for _, s in flat], dtype=np.int64)
        start = np.zeros(len(flat) + 1, dtype=np.int64)
        np.cumsum(lengths, out=start[1:])

        def cat(name: str, dtype) -> np.ndarray:
            parts = [getattr(s, name) for _, s in flat]
            return np.concatenate(parts).astype(dtype) if parts else np.zeros(0, dtype=dtype)

        return cls(
            settings=settings, songs=records, tokens=cat("tokens", np.int64),
            bar_from=cat("bar_from", np.int32), bar_to=cat("bar_to", np.int32),
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
            settings=self.settings, songs=[r for r, k in zip(self.songs, keep, strict=True) if k],
            tokens=self.tokens[token_keep], bar_from=self.bar_from[token_keep],
            bar_to=self.bar_to[token_keep], stream_start=start,
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
            settings=settings, songs=[r for p in parts for r in p.songs],
            tokens=np.concatenate([p.tokens for p in parts]),
            bar_from=np.concatenate([p.bar_from for p in parts]),
            bar_to=np.concatenate([p.bar_to for p in parts]),
            stream_start=np.concatenate(
                [p.stream_start[:-1] + b for p, b in zip(parts, token_base, strict=False)]
                + [np.array([token_base[-1]], dtype=np.int64)]),
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
        return self.tokens[self.stream_start[stream]:self.stream_start[stream + 1]]

    def song_streams(self, song: int) -> np.ndarray:
        """Stream indices of one song (streams are stored song by song)."""
        lo, hi = np.searchsorted(self.stream_song, [song, song + 1])
        return np.arange(lo, hi)

    def nbytes(self) -> int:
        arrays = [self.tokens, self.bar_from, self.bar_to, self.stream_start, self.stream_song,
                  self.stream_track, self.stream_role]
        for table in [self.seeds, *self.grams.values()]:
            arrays += [a for a in (table.keys, table.df, table.offsets, table.positions)
                       if a is not None]
        return int(sum(a.nbytes for a in arrays))

    # ----------------------------------------------------------------------------------------

    def _table(self, n: int, positions: bool) -> GramTable:
        hashes, starts = [], []
        bounds = self.stream_start
        cut = 0
        while cut < len(bounds) - 1:
            # A chunk of whole streams, about _CHUNK_TOKENS long.
            end = int(np.searchsorted(bounds, bounds[cut] + _CHUNK_TOKENS, side="right")) - 1
            end = max(end, cut + 1)
            lo, hi = int(bounds[cut]), int(bounds[end])
            h = ngram_hashes(self.tokens[lo:hi], n)
            if len(h):
                pos = np.arange(lo, lo + len(h))
                stream = np.searchsorted(bounds, pos, side="right") - 1
                valid = pos + n <= bounds[stream + 1]
                hashes.append(h[valid])
                starts.append(pos[valid])
            cut = end
        if not hashes:
            empty = np.zeros(0, dtype=np.uint64)
            return GramTable(empty, np.zeros(0, dtype=np.int32),
                             np.zeros(1, dtype=np.int64) if positions else None,
                             np.zeros(0, dtype=np.int64) if positions else None)
        flat = np.concatenate(hashes)
        pos = np.concatenate(starts)
        order = np.argsort(flat, kind="stable")  # positions stay ascending within a key
        flat, pos = flat[order], pos[order]
        song = self.stream_song[self.stream_of(pos)]
        new_key = np.ones(len(flat), dtype=bool)
        new_key[1:] = flat[1:] != flat[:-1]
        new_pair = new_key.copy()
        new_pair[1:] |= song[1:] != song[:-1]
        key_start = np.flatnonzero(new_key)
        df = np.add.reduceat(new_pair.astype(np.int32), key_start).astype(np.int32)
        if not positions:
            return GramTable(flat[key_start], df)
        offsets = np.append(key_start, len(flat)).astype(np.int64)
        return GramTable(flat[key_start], df, offsets, pos.astype(np.int64))


def content_key(meta: SongMeta) -> str:
    """What must change for an indexed song to be read again."""
    return meta.content_hash or f"{meta.id}:{meta.n_notes}:{meta.duration_beats}"


def song_record(song: Song, corpus: str = "") -> dict:
    meta = song.meta
    return {
        "id": meta.id, "title": meta.title, "family": meta.family or meta.id,
        "split": meta.split, "corpus": corpus,
        "key": content_key(meta),
        "tracks": [t.name for t in song.score.tracks],
    }
