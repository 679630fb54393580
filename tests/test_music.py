"""The shared music helpers: roles, lead choice, melody n-gram hashes."""

from __future__ import annotations

import numpy as np

from songs import band_song
from tribute.music import band_role, intervals, melody_notes, ngram_hashes, pick_lead_track


def test_band_roles_from_names_programs_and_channel_ten():
    assert band_role("Anything", 0, True) == "drums"
    assert band_role("Bass", 52, False) == "bass"  # a choir's bass voice serves the bass role
    assert band_role("Bassoon", 70, False) == "brass"
    assert band_role("Tenor", 54, False) == "other"
    assert band_role("Lead Vocals", 0, False) == "lead"
    assert band_role("", 29, False) == "guitar"
    assert band_role("", 33, False) == "bass"


def test_ngram_hashes_are_transposition_invariant_over_intervals_and_distinct():
    score = band_song(4)
    _, pitches, _ = melody_notes(
        score, pick_lead_track(score.tracks, ["drums", "bass", "guitar", "lead"])
    )
    up = intervals(pitches + 5)
    assert np.array_equal(ngram_hashes(intervals(pitches), 6), ngram_hashes(up, 6))
    hashes = ngram_hashes(np.arange(100), 6)
    assert len(hashes) == 95 and len(np.unique(hashes)) == 95
    assert len(ngram_hashes(np.arange(3), 6)) == 0
    # Windows hash by content: the same 6 values anywhere give the same hash.
    seq = np.array([1, 2, 3, 4, 5, 6, 9, 1, 2, 3, 4, 5, 6])
    h = ngram_hashes(seq, 6)
    assert h[0] == h[-1] and h[0] != h[1]
    assert ngram_hashes(seq, 6)[0] != ngram_hashes(seq, 5)[0]
