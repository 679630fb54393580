"""Families mean "the same song": stock riffs and repeated notes do not merge distinct songs,
a family never chains A~B~C into one, and cross-corpus exclusion drops exact copies and close
melodies only — while transposed copies and lightly edited re-encodings still join."""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from symusic import Note, Score, Tempo, TimeSignature, Track

from tribute.corpus import BuildConfig, Corpus, build, info_text
from tribute.corpus.families import (
    FamilyConfig,
    assign_families,
    complete_linkage,
    melody_grams,
    similar_pairs,
)
from tribute.corpus.labels import LabelRules
from tribute.corpus.normalize import normalize
from tribute.corpus.readers import RawPiece
from tribute.music import melody_tokens, ngram_hashes

# A 12-note stock riff, played three times at the start of every riff song.
RIFF = [64, 67, 69, 67, 64, 62, 60, 62, 64, 67, 72, 71]
REPEATED = [65] * 18  # a lead line of 18 notes on one pitch


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("TRIBUTE_CACHE_DIR", str(tmp_path / "cache"))


def lead_song(pitches: list[int], shift: int = 0) -> Score:
    """A two-track song: the lead plays ``pitches`` (+ ``shift``) in eighths over a bass."""
    score = Score(480)
    score.tempos.append(Tempo(0, 120))
    score.time_signatures.append(TimeSignature(0, 4, 4))
    lead, bass = Track("Vocals", 80, False), Track("Bass", 33, False)
    for i, pitch in enumerate(pitches):
        lead.notes.append(Note(i * 240, 240, pitch + shift, 90))
    for bar in range(len(pitches) // 8 + 1):
        bass.notes.append(Note(bar * 1920, 1900, 36 + bar % 5 + shift, 80))
    score.tracks.extend([bass, lead])
    return score


def own_melody(seed: int, notes: int = 16) -> list[int]:
    """A seeded random walk of leaps up to a fifth (never a repeated note), kept in 55..84."""
    rng = random.Random(seed)
    pitch, out = rng.randrange(55, 85), []
    for _ in range(notes):
        step = rng.choice((-7, -5, -4, -3, -2, -1, 1, 2, 3, 4, 5, 7))
        pitch = pitch + step if 55 <= pitch + step <= 84 else pitch - step
        out.append(pitch)
    return out


def riff_song(seed: int) -> list[int]:
    return RIFF * 3 + own_melody(seed) + REPEATED


def grams_of(score: Score) -> np.ndarray:
    normal, meta = normalize(RawPiece(score, "midi"))
    return melody_grams(normal, meta.lead_track)


def all_grams_of(score: Score) -> np.ndarray:
    """Every melody 6-gram, formulas included: what families compared before."""
    normal, meta = normalize(RawPiece(score, "midi"))
    return np.unique(ngram_hashes(melody_tokens(normal, meta.lead_track, rhythm=False), 6))


def plain_jaccard(a: np.ndarray, b: np.ndarray) -> float:
    return len(np.intersect1d(a, b)) / max(1, len(np.union1d(a, b)))


def edited(pitches: list[int], seed: int, changes: int) -> list[int]:
    out = list(pitches)
    rng = random.Random(seed)
    for index in rng.sample(range(len(out)), changes):
        out[index] += rng.choice((-2, 2))
    return out


def test_stock_riff_songs_stay_apart_and_near_duplicates_join():
    songs = [lead_song(riff_song(seed)) for seed in range(40)]
    songs += [lead_song(REPEATED) for _ in range(5)]  # five songs whose lead is one pitch
    songs.append(lead_song(riff_song(3), shift=5))  # a transposed copy of song 3
    long_tune = own_melody(99, notes=64)
    songs.append(lead_song(long_tune))
    songs.append(lead_song(edited(long_tune, 1, changes=3)))  # a re-encoding, 3 notes changed
    # The fixture is adversarial: by plain Jaccard ≥ 0.2 over all 6-grams (the rule before)
    # every two riff songs are close, and so is every two one-pitch songs.
    before = [all_grams_of(s) for s in songs]
    assert all(plain_jaccard(before[a], before[b]) >= 0.2 for a in range(40) for b in range(a))
    assert plain_jaccard(before[40], before[41]) == 1.0
    grams = [grams_of(s) for s in songs]

    ids = [f"s{i:02d}" for i in range(len(songs))]
    family = assign_families(ids, [""] * len(ids), grams)
    sizes = Counter(family)
    assert family[3] == family[45] == "s03"  # the transposed copy joins its original
    assert family[46] == family[47]  # the lightly edited re-encoding joins too
    assert sizes.most_common(1)[0][1] == 2  # no other family
    assert len(sizes) == len(songs) - 2


def test_a_chain_of_overlapping_songs_is_not_one_family():
    # Song i is the second half of song i-1 followed by a new half: each neighbour pair is
    # close (Jaccard ≈ 0.33), songs two apart share nothing.
    halves = [own_melody(1000 + i, notes=30) for i in range(11)]
    songs = [halves[i] + halves[i + 1] for i in range(10)]
    grams = [grams_of(lead_song(s)) for s in songs]
    pairs = {(a, b) for a, b, _ in similar_pairs(grams)}
    assert {(i, i + 1) for i in range(9)} <= pairs
    assert not any(b - a > 1 for a, b in pairs)
    family = assign_families([f"c{i}" for i in range(10)], [""] * 10, grams)
    assert max(Counter(family).values()) == 2
    for a in range(10):
        for b in range(a + 2, 10):
            assert family[a] != family[b]


def test_titles_group_specific_titles_but_do_not_chain():
    # A and B share a title; B and C share a melody; A and C share nothing: no family of 3.
    tune = own_melody(5, notes=48)
    grams = [
        grams_of(lead_song(own_melody(6, notes=48))),
        grams_of(lead_song(tune)),
        grams_of(lead_song(tune, shift=2)),
        grams_of(lead_song(own_melody(7, notes=48))),
    ]
    titles = ["Believe", "Believe (Live)", "Ventura Highway", "Believe.1"]
    family = assign_families(["a", "b", "c", "d"], titles, grams)
    assert family[1] == family[2]  # the melody binds first
    assert family[0] == family[3] != family[1]  # the other two of the title still group


def test_complete_linkage_merges_only_cliques():
    edges = [(0, 1, 0.9), (1, 2, 0.8), (0, 2, 0.3), (2, 3, 0.7), (3, 4, 0.6)]
    assert complete_linkage(5, edges) == [0, 0, 0, 3, 3]


def test_formula_ngrams_are_left_out():
    one_pitch = grams_of(lead_song([62] * 18))
    trill = grams_of(lead_song([60, 62] * 12))
    one_step = grams_of(lead_song([60] * 8 + [65] * 8 + [60] * 8))
    assert len(one_pitch) == len(trill) == len(one_step) == 0
    tune = [60, 62, 64, 60, 62, 64, 67, 65, 64, 62]  # three distinct intervals and more
    assert len(grams_of(lead_song(tune))) == len(tune) - 6


def test_similar_pairs_matches_brute_force_weighted_jaccard():
    rng = np.random.default_rng(0)
    common = np.arange(50_000, 50_040, dtype=np.uint64)  # 40 n-grams in many pieces
    base = [rng.choice(10_000, size=rng.integers(5, 60), replace=False) for _ in range(40)]
    grams = []
    for i in range(80):  # pieces 40..79 borrow a random share of an earlier piece
        own = (
            base[i]
            if i < 40
            else np.concatenate(
                [
                    base[i - 40][: rng.integers(0, len(base[i - 40]))],
                    rng.choice(np.arange(20_000, 30_000), size=rng.integers(1, 40), replace=False),
                ]
            )
        )
        riff = common[: rng.integers(0, 40)] if i % 3 else common[:0]
        grams.append(np.unique(np.concatenate([own, riff]).astype(np.uint64)))
    config = FamilyConfig(rare_df=8, max_df=60, min_shared=3)
    df = Counter(int(g) for piece in grams for g in piece)

    def weight(g: int) -> float:
        return 0.0 if df[g] > config.max_df else min(1.0, config.rare_df / df[g])

    expected = {}
    for a in range(len(grams)):
        for b in range(a + 1, len(grams)):
            shared = [int(g) for g in np.intersect1d(grams[a], grams[b])]
            common_w = sum(weight(g) for g in shared)
            total = sum(weight(int(g)) for g in np.union1d(grams[a], grams[b]))
            if sum(weight(g) > 0 for g in shared) >= 3 and common_w / total >= 0.2 + 1e-9:
                expected[(a, b)] = common_w / total
    assert len(expected) > 10  # the fixture does contain close pairs
    found = {(a, b): s for a, b, s in similar_pairs(grams, config)}
    assert set(found) >= set(expected)
    assert all(abs(found[p] - expected[p]) < 1e-9 for p in expected)
    assert all(abs(s - 0.2) < 1e-9 for p, s in found.items() if p not in expected)


def _write(folder: Path, name: str, score: Score) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    score.dump_midi(str(folder / f"{name}.mid"))


def test_exclusion_drops_exact_copies_and_covers_but_not_riff_songs(tmp_path):
    artist, genre = tmp_path / "artist", tmp_path / "genre"
    hit = own_melody(500, notes=64)
    _write(artist, "one_note_song", lead_song(REPEATED))
    _write(artist, "hit", lead_song(hit))
    for seed in range(10):
        _write(artist, f"riff{seed}", lead_song(riff_song(seed)))
    (genre / "copy_of_one_note_song.mid").parent.mkdir(parents=True)
    (genre / "copy_of_one_note_song.mid").write_bytes((artist / "one_note_song.mid").read_bytes())
    _write(genre, "cover_of_hit", lead_song(edited(hit, 2, changes=4), shift=-3))
    for seed in range(100, 130):
        _write(genre, f"genre_riff{seed}", lead_song(riff_song(seed)))
    artist_corpus = build([str(artist)], tmp_path / "c_artist", progress=False)
    genre_corpus = build(
        [str(genre)],
        tmp_path / "c_genre",
        BuildConfig(exclude_families_of=(str(artist_corpus.path),)),
        progress=False,
    )
    excluded = {Path(e["source"]).stem: e for e in genre_corpus.report()["excluded"]}
    assert set(excluded) == {"copy_of_one_note_song", "cover_of_hit"}
    assert excluded["copy_of_one_note_song"]["match"] == "copy"
    assert "exact copy of one note song" in excluded["copy_of_one_note_song"]["reason"]
    assert excluded["cover_of_hit"]["match"] == "melody"
    assert len(genre_corpus) == 30
    assert genre_corpus.report()["largest_family"]["pieces"] == 1


def test_info_reports_largest_family_and_multi_artist_families(tmp_path):
    src = tmp_path / "src"
    tune = own_melody(77, notes=48)
    _write(src / "Queen", "Tune", lead_song(tune))
    _write(src / "Muse", "Tune cover", lead_song(tune, shift=2))
    _write(src / "Muse", "Other", lead_song(own_melody(78, notes=48)))
    corpus = build(
        [str(src)],
        tmp_path / "out",
        BuildConfig(labels=LabelRules(from_folder=(("artist", 1),))),
        progress=False,
    )
    report = corpus.report()
    assert report["largest_family"]["pieces"] == 2
    assert report["largest_family"]["artists"] == 2
    assert report["multi_artist_families"] == 1
    text = info_text(Corpus.open(corpus.path))
    assert "largest family: 2 pieces, 2 artists (Tune, Tune cover)" in text
    assert "families with more than one artist: 1 of 2" in text
