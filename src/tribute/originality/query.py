"""Finding the shared passages of a query song in an index: seed, chain, extend.

1. Seed: every ``seed_n``-gram of a query stream is looked up in the inverted index. A gram held
   in more than ``max_postings`` places is genre-common material; it is not expanded (so a stock
   groove or cadence never floods the search) but its document frequency still counts.
2. Chain: hits on the same diagonal (reference position − query position) at consecutive query
   positions are one shared run of ``hits + seed_n − 1`` tokens.
3. Extend: the longest chains are verified and extended token by token on both sides, which also
   bridges gaps left by the unexpanded common grams.

Rarity weighting: a seed gram held by ``df`` of ``N`` songs weighs ``1 − ln df / ln N`` (1 for a
gram only one song holds, 0 for one every song holds); a run's weighted length is its length
times the mean weight of its grams. This is an inverse-document-frequency weight (Spärck Jones
1972) applied to musical n-grams.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from tribute.music import ngram_hashes
from tribute.originality.features import STREAM_ROLES, Stream
from tribute.originality.index import OriginalityIndex

_TOP_CHAINS = 24  # chains per query stream verified and extended exactly


@dataclass
class Match:
    """One shared run between a query stream and a reference stream."""

    role: str  # "lead" if either side is a lead melody, else the query stream's role
    length: int  # tokens (intervals, chord changes or drum bars)
    weighted: float  # length × mean rarity of its grams
    song: int  # index into OriginalityIndex.songs
    query_stream: int  # index into the query's streams
    query_start: int  # token offset in the query stream
    ref_stream: int  # global stream index in the index
    ref_start: int  # token offset in the reference stream


@dataclass
class StreamResult:
    matches: list[Match]
    novelty: dict[int, float]  # n → share of the stream's n-grams absent from the index
    n_grams: dict[int, int]  # n → how many n-grams the stream has
    common_share: float  # share of seed grams that are genre-common (not expanded)


def rarity(df: np.ndarray, n_songs: int) -> np.ndarray:
    """IDF-style weight in [0, 1] of grams held by ``df`` of ``n_songs`` songs."""
    df = np.maximum(np.asarray(df, dtype=np.float64), 1.0)
    return (1.0 - np.log(df) / np.log(max(n_songs, 2))).clip(0.0, 1.0)


def query_streams(
    index: OriginalityIndex, streams: Sequence[Stream], exclude_songs: np.ndarray | None = None
) -> list[StreamResult]:
    """Matches and novelty of each query stream; ``exclude_songs`` (song indices) are skipped."""
    excluded = np.zeros(len(index), dtype=bool)
    if exclude_songs is not None and len(exclude_songs):
        excluded[np.asarray(exclude_songs)] = True
    exclude_list = np.flatnonzero(excluded)
    n_songs = len(index) - len(exclude_list)
    held = _held_by(index, exclude_list, (index.settings.seed_n, *index.grams))
    return [_query_one(index, i, s, excluded, held, n_songs) for i, s in enumerate(streams)]


def _held_by(index: OriginalityIndex, songs: np.ndarray, ns) -> dict[int, np.ndarray]:
    """For each n, the sorted n-gram hashes of ``songs``, each song's set once: counting a
    hash's occurrences here says how many of these songs hold it."""
    out = {}
    for n in ns:
        per_song = []
        for song in songs.tolist():
            grams = [ngram_hashes(index.stream_tokens(s), n) for s in index.song_streams(song)]
            if grams:
                per_song.append(np.unique(np.concatenate(grams)))
        out[n] = np.sort(np.concatenate(per_song)) if per_song else np.zeros(0, np.uint64)
    return out


def _count(sorted_hashes: np.ndarray, hashes: np.ndarray) -> np.ndarray:
    return np.searchsorted(sorted_hashes, hashes, side="right") - np.searchsorted(
        sorted_hashes, hashes, side="left"
    )


@dataclass
class _SeedHits:
    """Every expanded seed hit of one query stream, and the rarity of its seed grams."""

    qpos: np.ndarray  # query position of each hit
    rpos: np.ndarray  # global reference position of each hit
    weight: np.ndarray  # rarity of the seed gram at each query position
    common_share: float  # share of seed grams that are genre-common (not expanded)


_NO_HITS = np.zeros(0, dtype=np.int64)


def _query_one(
    index: OriginalityIndex,
    stream_no: int,
    stream: Stream,
    excluded: np.ndarray,
    held: dict[int, np.ndarray],
    n_songs: int,
) -> StreamResult:
    """Novelty of one query stream, then its matches: seed, chain, extend (module docstring)."""
    novelty, n_grams = _novelty(index, stream.tokens, held)
    hits = _seed_hits(index, stream.tokens, excluded, held[index.settings.seed_n], n_songs)
    if len(hits.qpos) == 0:
        return StreamResult([], novelty, n_grams, hits.common_share)
    chains = _best_chains(hits.qpos, hits.rpos, len(stream.tokens))
    matches = _extended_matches(index, stream_no, stream, chains, hits.weight)
    return StreamResult(matches, novelty, n_grams, hits.common_share)


def _novelty(
    index: OriginalityIndex, q: np.ndarray, held: dict[int, np.ndarray]
) -> tuple[dict[int, float], dict[int, int]]:
    """Per n: the share of the stream's n-grams no (non-excluded) song holds, and their count."""
    novelty, n_grams = {}, {}
    for n, table in index.grams.items():
        h = ngram_hashes(q, n)
        n_grams[n] = len(h)
        if len(h) == 0:
            novelty[n] = float("nan")
            continue
        slot, found = table.find(h)
        df = np.where(found, table.df[slot], 0)
        if len(held[n]):
            df = df - _count(held[n], h)
        novelty[n] = float(np.mean(df <= 0))
    return novelty, n_grams


def _seed_hits(
    index: OriginalityIndex,
    q: np.ndarray,
    excluded: np.ndarray,
    held_seeds: np.ndarray,
    n_songs: int,
) -> _SeedHits:
    """Look every seed gram up, weigh it by rarity, and expand the postings of each gram that a
    song left in holds and that is not genre-common (in more than ``max_postings`` places);
    postings in excluded songs are dropped."""
    settings = index.settings
    h = ngram_hashes(q, settings.seed_n)
    if len(h) == 0 or n_songs <= 0:
        return _SeedHits(_NO_HITS, _NO_HITS, np.zeros(0), 0.0)
    seeds = index.seeds
    assert seeds.offsets is not None and seeds.positions is not None  # seeds keep postings
    slot, found = seeds.find(h)
    count = np.where(found, seeds.offsets[slot + 1] - seeds.offsets[slot], 0)
    df = np.where(found, seeds.df[slot], 0)
    if len(held_seeds):
        df = df - _count(held_seeds, h)
    weight = rarity(df, n_songs)
    common = found & (count > settings.max_postings)
    common_share = float(np.mean(common))
    take = np.flatnonzero(found & ~common & (df > 0))
    if len(take) == 0:
        return _SeedHits(_NO_HITS, _NO_HITS, weight, common_share)

    # Expand the postings of every seed: (query position, global reference position) pairs.
    c = count[take]
    first = seeds.offsets[slot[take]]
    qpos = np.repeat(take, c)
    within = np.arange(int(c.sum())) - np.repeat(np.cumsum(c) - c, c)
    rpos = seeds.positions[np.repeat(first, c) + within]
    if len(held_seeds):  # some songs are excluded: drop their postings
        keep = ~excluded[index.stream_song[index.stream_of(rpos)]]
        qpos, rpos = qpos[keep], rpos[keep]
    return _SeedHits(qpos, rpos, weight, common_share)


def _best_chains(qpos: np.ndarray, rpos: np.ndarray, m: int) -> list[tuple[int, int, int]]:
    """Chains of hits at consecutive query positions on one diagonal: (query start, global
    reference start, hits) of the ``_TOP_CHAINS`` longest, longest first."""
    key = (rpos - qpos + m) * (m + 1) + qpos
    key.sort()
    new_chain = np.ones(len(key), dtype=bool)
    new_chain[1:] = np.diff(key) != 1
    heads = np.flatnonzero(new_chain)
    size = np.diff(np.append(heads, len(key)))
    head_q = key[heads] % (m + 1)
    head_r = key[heads] // (m + 1) - m + head_q
    best = np.argsort(-size, kind="stable")[:_TOP_CHAINS]
    return [(int(head_q[c]), int(head_r[c]), int(size[c])) for c in best]


def _extended_matches(
    index: OriginalityIndex,
    stream_no: int,
    stream: Stream,
    chains: list[tuple[int, int, int]],
    weight: np.ndarray,
) -> list[Match]:
    """Verify and extend each chain into a Match (one per run), ranked by weighted length."""
    k = index.settings.seed_n
    q = stream.tokens
    matches: dict[tuple[int, int], Match] = {}
    for head_q, head_r, hits in chains:
        run = _extend(index, q, head_q, head_r, hits + k - 1)
        if run is None:
            continue
        q0, r0, length, ref_stream = run
        if (ref_stream, r0 - q0) in matches:
            continue  # the same run, reached from another chain on its diagonal
        grams = weight[q0 : q0 + length - k + 1]
        ref_role = STREAM_ROLES[index.stream_role[ref_stream]]
        role = "lead" if "lead" in (stream.role, ref_role) else stream.role
        matches[(ref_stream, r0 - q0)] = Match(
            role=role,
            length=length,
            weighted=float(length * grams.mean()),
            song=int(index.stream_song[ref_stream]),
            query_stream=stream_no,
            query_start=q0,
            ref_stream=ref_stream,
            ref_start=r0 - int(index.stream_start[ref_stream]),
        )
    return sorted(matches.values(), key=lambda x: (-x.weighted, -x.length))


def _extend(
    index: OriginalityIndex, q: np.ndarray, q0: int, r0: int, length: int
) -> tuple[int, int, int, int] | None:
    """Verify a chain and extend it exactly: (query start, global ref start, length, stream)."""
    ref_stream = int(index.stream_of(np.array([r0]))[0])
    lo, hi = int(index.stream_start[ref_stream]), int(index.stream_start[ref_stream + 1])
    tokens = index.tokens
    if r0 + length > hi or not np.array_equal(q[q0 : q0 + length], tokens[r0 : r0 + length]):
        return None  # a 64-bit hash collision
    span = min(q0, r0 - lo)
    if span:
        same = q[q0 - span : q0][::-1] == tokens[r0 - span : r0][::-1]
        back = span if same.all() else int(np.argmin(same))
        q0, r0, length = q0 - back, r0 - back, length + back
    span = min(len(q) - q0 - length, hi - r0 - length)
    if span > 0:
        same = q[q0 + length : q0 + length + span] == tokens[r0 + length : r0 + length + span]
        length += span if same.all() else int(np.argmin(same))
    return q0, r0, length, ref_stream
