"""Originality and diversity of a set of pieces against a reference set (docs/evaluation.md §2D–E).

R = the artist's training songs ∪ the genre corpus. Per piece: L(x), the longest run of melody
tokens (:func:`tribute.originality.melody_tokens`: interval × duration-ratio class) shared with
any song of R, with the song and bars it comes from; L_rel = L / tokens; novelty ν8 and ν12.
The same statistics for held-out real songs are the human baseline every threshold is set
against. Diversity: L between every pair of a set. Bass lines, chord progressions and drum bars
get their own L (the streams of :mod:`tribute.originality.features`), reported beside the melody.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from tribute.music import Song, first_bar_ticks, melody_notes
from tribute.originality import (
    OriginalityConfig,
    SequenceSet,
    longest_common_run,
    melody_tokens,
    ngram_novelty,
    pairwise_longest_runs,
    song_streams,
)
from tribute.originality.features import batch_streams, batches

HARD_RUN = 16  # P5, P7: a shared run of 16 intervals is a hook, not a coincidence
REL_FLOOR = 8  # L_rel ≥ 0.5 counts only for runs of 8+ tokens (a 6-note piece is not a copy)
NOVELTY_NS = (8, 12)
# Other parts, scored separately and reported, never gated: a common groove or progression is
# the genre, not a copy (docs/evaluation.md §2D). Units: intervals (bass), chord changes, drum bars.
OTHER_ROLES = ("bass", "chords", "drums")


@dataclass
class Reference:
    """R as token sequences, with what a report needs to name a source."""

    songs: list[tuple[str, str, str]]  # (id, title, corpus name)
    onsets: list[np.ndarray]
    bar_ticks: list[int]
    seqs: SequenceSet

    @classmethod
    def of(cls, groups: Sequence[tuple[str, Sequence[Song]]], rhythm: bool = True) -> Reference:
        songs, onsets, bars, seqs = [], [], [], []
        for corpus, members in groups:
            for song in members:
                times, _, _ = melody_notes(song.score, song.meta.lead_track)
                songs.append((song.meta.id, song.meta.title, corpus))
                onsets.append(times)
                bars.append(first_bar_ticks(song.score))
                seqs.append(melody_tokens(song.score, song.meta.lead_track, rhythm))
        return cls(songs, onsets, bars, SequenceSet(seqs))


def _bars(onsets: np.ndarray, start: int, length: int, bar_ticks: int) -> list[int]:
    """1-based bars of the notes start .. start + length (a run of ``length`` intervals)."""
    if not len(onsets):
        return [0, 0]
    last = min(start + length, len(onsets) - 1)
    return [int(onsets[start] // bar_ticks) + 1, int(onsets[last] // bar_ticks) + 1]


def piece_originality(songs: Sequence[Song], ref: Reference, rhythm: bool = True) -> list[dict]:
    """L, L_rel, ν8, ν12 and the source of the longest shared run, per piece."""
    out = []
    for song in songs:
        onsets, _, _ = melody_notes(song.score, song.meta.lead_track)
        tokens = melody_tokens(song.score, song.meta.lead_track, rhythm)
        run = longest_common_run(tokens, ref.seqs)
        record = {
            "id": song.meta.id,
            "title": song.meta.title,
            "tokens": len(tokens),
            "L": run.length,
            "L_rel": run.length / len(tokens) if len(tokens) else 0.0,
        }
        for n in NOVELTY_NS:
            value = ngram_novelty(tokens, ref.seqs, n)
            record[f"nu{n}"] = None if np.isnan(value) else value
        if run.length:
            src_id, title, corpus = ref.songs[run.ref]
            record["source"] = {
                "id": src_id,
                "title": title,
                "corpus": corpus,
                "bars": _bars(
                    ref.onsets[run.ref], run.ref_start, run.length, ref.bar_ticks[run.ref]
                ),
                "piece_bars": _bars(
                    onsets, run.query_start, run.length, first_bar_ticks(song.score)
                ),
            }
        out.append(record)
    return out


def diversity(songs: Sequence[Song], rhythm: bool = True, run: int = HARD_RUN) -> dict:
    """Pairwise L within a set: the share of pairs sharing ``run``+ tokens, and the mean L."""
    seqs = [melody_tokens(s.score, s.meta.lead_track, rhythm) for s in songs]
    if len(seqs) < 2:
        return {"pairs": 0, "share": None, "mean_L": None}
    matrix = pairwise_longest_runs(seqs)
    upper = matrix[np.triu_indices(len(seqs), 1)]
    return {
        "pairs": len(upper),
        "share": float((upper >= run).mean()),
        "mean_L": float(upper.mean()),
        "p95_L": float(np.percentile(upper, 95)),
    }


def summary(records: Sequence[dict]) -> dict:
    """Distribution of L and ν over a set of pieces."""
    lengths = np.array([r["L"] for r in records], dtype=float)
    out: dict[str, float | int | None] = {"n": len(records)}
    if len(lengths):
        out.update(
            {
                "L_median": float(np.median(lengths)),
                "L_mean": float(lengths.mean()),
                "L_p95": float(np.percentile(lengths, 95)),
                "L_max": float(lengths.max()),
            }
        )
    for n in NOVELTY_NS:
        values = [r[f"nu{n}"] for r in records if r.get(f"nu{n}") is not None]
        out[f"nu{n}_median"] = float(np.median(values)) if values else None
    return out


def role_runs(
    groups: Sequence[tuple[str, Sequence[Song]]],
    ref_songs: Sequence[Song],
    settings: OriginalityConfig | None = None,
) -> dict[str, dict[str, dict]]:
    """Per set and role (bass, chords, drums): the distribution of each piece's longest run
    shared with any song of ``ref_songs`` in that role's stream."""
    settings = settings or OriginalityConfig()
    refs: dict[str, list[np.ndarray]] = {role: [] for role in OTHER_ROLES}
    for batch in batches(ref_songs, 256):
        for streams in batch_streams(batch, settings):
            for stream in streams:
                if stream.role in refs:
                    refs[stream.role].append(stream.tokens)
    sets = {role: SequenceSet(seqs) for role, seqs in refs.items()}
    out: dict[str, dict[str, dict]] = {}
    for name, songs in groups:
        runs: dict[str, list[int]] = {role: [] for role in OTHER_ROLES}
        for song in songs:
            best: dict[str, int] = {}
            for stream in song_streams(song, settings):
                if stream.role in sets and len(stream.tokens):
                    length = longest_common_run(stream.tokens, sets[stream.role]).length
                    best[stream.role] = max(best.get(stream.role, 0), length)
            for role, length in best.items():
                runs[role].append(length)
        out[name] = {
            role: {
                "n": len(v),
                "L_median": float(np.median(v)),
                "L_p95": float(np.percentile(v, 95)),
                "L_max": int(max(v)),
            }
            for role, v in runs.items()
            if v
        }
    return out
