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


def test_form_from_repeated_bars():
    from tribute.music.form import find_form, fit_form

    # A chorale's bar form: the first phrase pair comes back, then new material.
    assert find_form(list("abcdabcdefgh")) == [("a", 4), ("a", 4), ("b", 4)]
    assert find_form(list("abcdefgh")) == [("a", 8)]  # through-composed
    assert find_form(list("abab")) == [("a", 2), ("a", 2)]
    assert find_form(list("aaaa")) == [("a", 2), ("a", 2)]  # a repeated single bar is no form
    # "cd" returns alone as well: the first statement is cut so that it starts a section.
    assert find_form(list("abcdxabcdycd")) == [
        ("a", 2),
        ("b", 2),
        ("c", 1),
        ("a", 2),
        ("b", 2),
        ("d", 1),
        ("b", 2),
    ]
    assert find_form([None, None, None, None]) == [("a", 4)]  # empty bars never repeat
    assert fit_form([("a", 4), ("a", 4), ("b", 4)], 10) == [("a", 4), ("a", 4), ("b", 2)]
    assert fit_form([("a", 4), ("a", 4), ("b", 4)], 16) == [("a", 4), ("a", 4), ("b", 8)]
    assert fit_form([("a", 4), ("a", 4)], 12) == [("a", 4), ("a", 4), ("b", 4)]


def test_forms_are_drawn_near_the_asked_length():
    from tribute.corpus.forms import choose_form

    forms = [("long", [("a", 40)]), ("chorale", [("a", 4), ("a", 4), ("b", 6)])]
    for seed in range(8):
        assert choose_form(forms, 16, seed) == ("chorale", [("a", 4), ("a", 4), ("b", 8)])
