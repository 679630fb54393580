"""The plain sequence functions (L, ν_n, diversity) against a brute-force reference."""

from __future__ import annotations

import numpy as np

from songs import band_song
from tribute.originality import (
    SequenceSet,
    longest_common_run,
    ngram_novelty,
    pairwise_longest_runs,
    shared_melody_run,
)


def brute_longest(query: np.ndarray, refs: list[np.ndarray]) -> int:
    best = 0
    q = query.tolist()
    for ref in refs:
        r = ref.tolist()
        for i in range(len(q)):
            for j in range(len(r)):
                k = 0
                while i + k < len(q) and j + k < len(r) and q[i + k] == r[j + k]:
                    k += 1
                best = max(best, k)
    return best


def test_longest_common_run_matches_brute_force():
    rng = np.random.default_rng(0)
    for _ in range(30):
        refs = [rng.integers(-3, 4, size=rng.integers(0, 40)) for _ in range(4)]
        query = rng.integers(-3, 4, size=rng.integers(0, 40))
        run = longest_common_run(query, refs)
        assert run.length == brute_longest(query, refs)
        if run.length:
            part = query[run.query_start : run.query_start + run.length]
            ref = refs[run.ref][run.ref_start : run.ref_start + run.length]
            np.testing.assert_array_equal(part, ref)


def test_planted_passage_is_found_and_located():
    rng = np.random.default_rng(1)
    refs = [rng.integers(100, 200, size=60) for _ in range(5)]
    query = np.concatenate([rng.integers(300, 400, 10), refs[3][20:45], rng.integers(300, 400, 5)])
    run = longest_common_run(query, SequenceSet(refs))
    assert (run.length, run.ref, run.query_start, run.ref_start) == (25, 3, 10, 20)
    assert longest_common_run(query[:0], refs).length == 0


def test_novelty_and_diversity():
    refs = [np.arange(20)]
    assert ngram_novelty(np.arange(20), refs, 8) == 0.0
    assert ngram_novelty(np.arange(100, 120), refs, 8) == 1.0
    half = np.concatenate([np.arange(10), np.arange(100, 110)])
    assert 0.5 < ngram_novelty(half, refs, 4) < 1.0
    assert np.isnan(ngram_novelty(np.arange(3), refs, 8))
    seqs = [np.arange(10), np.arange(5, 15), np.arange(100, 110)]
    np.testing.assert_array_equal(pairwise_longest_runs(seqs), [[0, 5, 0], [5, 0, 0], [0, 0, 0]])


def test_shared_melody_run_of_two_scores():
    original = band_song(5, bars=8)
    continuation = band_song(5, bars=8, key=4)  # the same melody, transposed
    run = shared_melody_run(continuation, original)
    assert run.query_start == run.ref_start == 0 and run.length > 30
    assert shared_melody_run(band_song(6, bars=8), original).length < 12
