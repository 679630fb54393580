"""Plain functions over integer sequences: longest shared run, n-gram novelty, diversity.

These are the docs/evaluation.md §2D–E quantities on any token sequences (melody intervals from
:func:`tribute.originality.features.melody_tokens`, or whatever a caller compares):

- L(x): the longest contiguous run of ``query`` that occurs in any reference sequence, found by
  binary search over n with hashed n-gram sets (a run of n implies runs of every shorter n);
- ν_n: the share of the query's n-grams that occur in no reference;
- diversity: L between every pair of a set of sequences.

They are exact (up to 64-bit hash collisions) at every length and need no index; for thousands
of references and many queries build a :class:`SequenceSet` once and pass it in.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from symusic import Score

from tribute.music import melody_tokens, ngram_hashes


@dataclass(frozen=True)
class Run:
    """A shared run: ``query[query_start:query_start+length] == refs[ref][ref_start:...]``."""

    length: int
    ref: int = -1  # index of the reference sequence; -1 when nothing is shared
    query_start: int = 0
    ref_start: int = 0


class SequenceSet:
    """Reference sequences with their n-gram hashes, computed once per n and cached."""

    def __init__(self, seqs: Sequence[np.ndarray]) -> None:
        self.seqs = [np.asarray(s, dtype=np.int64) for s in seqs]
        self._by_n: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}

    def __len__(self) -> int:
        return len(self.seqs)

    def grams(self, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(sorted hashes, owning sequence, start) of every n-gram of every sequence."""
        if n not in self._by_n:
            hashes = [ngram_hashes(s, n) for s in self.seqs]
            flat = np.concatenate(hashes) if hashes else np.zeros(0, dtype=np.uint64)
            owner = np.repeat(np.arange(len(hashes)), [len(h) for h in hashes])
            start = np.concatenate([np.arange(len(h)) for h in hashes]) if hashes else owner
            order = np.argsort(flat, kind="stable")
            self._by_n[n] = (flat[order], owner[order], start[order])
        return self._by_n[n]

    def contains(self, hashes: np.ndarray, n: int) -> np.ndarray:
        """Which of ``hashes`` (n-gram hashes) occur in some reference."""
        keys = self.grams(n)[0]
        at = np.searchsorted(keys, hashes).clip(0, max(len(keys) - 1, 0))
        return keys[at] == hashes if len(keys) else np.zeros(len(hashes), dtype=bool)


def _as_set(refs: Sequence[np.ndarray] | SequenceSet) -> SequenceSet:
    return refs if isinstance(refs, SequenceSet) else SequenceSet(refs)


def longest_common_run(query: np.ndarray, refs: Sequence[np.ndarray] | SequenceSet) -> Run:
    """L(x): the longest run of ``query`` found in any of ``refs``, and where."""
    query = np.asarray(query, dtype=np.int64)
    refs = _as_set(refs)
    lo, hi = 0, len(query)  # invariant: a run of lo exists, none longer than hi
    while lo < hi:
        n = (lo + hi + 1) // 2
        if refs.contains(ngram_hashes(query, n), n).any():
            lo = n
        else:
            hi = n - 1
    if lo == 0:
        return Run(0)
    hashes = ngram_hashes(query, lo)
    query_start = int(np.flatnonzero(refs.contains(hashes, lo))[0])
    keys, owner, start = refs.grams(lo)
    at = int(np.searchsorted(keys, hashes[query_start]))
    return Run(lo, int(owner[at]), query_start, int(start[at]))


def ngram_novelty(query: np.ndarray, refs: Sequence[np.ndarray] | SequenceSet, n: int) -> float:
    """ν_n: share of the query's n-grams absent from every reference (NaN if none exist)."""
    hashes = ngram_hashes(np.asarray(query, dtype=np.int64), n)
    if len(hashes) == 0:
        return float("nan")
    return float(1.0 - _as_set(refs).contains(hashes, n).mean())


def pairwise_longest_runs(seqs: Sequence[np.ndarray]) -> np.ndarray:
    """Symmetric matrix of L between every pair of sequences (0 on the diagonal)."""
    seqs = [np.asarray(s, dtype=np.int64) for s in seqs]
    size = len(seqs)
    out = np.zeros((size, size), dtype=np.int64)
    for i in range(size):
        for j in range(i + 1, size):
            out[i, j] = out[j, i] = longest_common_run(seqs[i], [seqs[j]]).length
    return out


def shared_melody_run(
    a: Score, b: Score, a_lead: int | None = None, b_lead: int | None = None, rhythm: bool = True
) -> Run:
    """L between the melodies of two scores: e.g. a prompted continuation against the original
    continuation (docs/evaluation.md §2D, extraction). ``*_lead``: lead track index, else the
    skyline."""
    return longest_common_run(melody_tokens(a, a_lead, rhythm), [melody_tokens(b, b_lead, rhythm)])
