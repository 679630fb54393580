"""Self-tests of the originality guard (docs/evaluation.md §4): copies are caught and named,
real new songs pass, a shared groove is not a copy, and bad input gets a clear verdict."""

from __future__ import annotations

import numpy as np
import pytest
from symusic import Note, Score, Track

from songs import TPQ, band_song
from tribute.music import Song, SongMeta
from tribute.originality import Checker, OriginalityConfig, longest_common_run, melody_tokens
from tribute.originality.check import song_from_score
from tribute.originality.features import batch_streams, song_streams

BARS = 16
BAR_TICKS = 4 * TPQ
TRAIN_SEEDS = range(60)
HELD_OUT_SEEDS = range(1000, 1030)


def song(score: Score, name: str):
    return song_from_score(score, name)


@pytest.fixture(scope="module")
def checker() -> Checker:
    train = [song(band_song(s, bars=BARS), f"train{s}") for s in TRAIN_SEEDS]
    return Checker.from_songs(train)


def stretched(score: Score, num: int, den: int) -> Score:
    out = Score(TPQ)
    out.tempos, out.time_signatures = score.tempos, score.time_signatures
    for track in score.tracks:
        new = Track(track.name, track.program, track.is_drum)
        for n in track.notes:
            new.notes.append(
                Note(n.time * num // den, n.duration * num // den, n.pitch, n.velocity)
            )
        out.tracks.append(new)
    return out


def splice(first: Score, second: Score, at_bar: int) -> Score:
    """Bars before ``at_bar`` from ``first``, the rest from ``second``, track by track."""
    out = Score(TPQ)
    out.tempos, out.time_signatures = first.tempos, first.time_signatures
    for a, b in zip(first.tracks, second.tracks, strict=True):
        track = Track(a.name, a.program, a.is_drum)
        track.notes.extend([n for n in a.notes if n.time < at_bar * BAR_TICKS])
        track.notes.extend([n for n in b.notes if n.time >= at_bar * BAR_TICKS])
        out.tracks.append(track)
    return out


def assert_copy_of(report, source: str) -> None:
    assert report.verdict == "copy", report.text()
    assert report.roles["lead"].song_id == source, report.text()
    assert report.passages and report.passages[0].song_id == source


# --------------------------------------------------------------------------------------------
# Copies are caught, whatever was changed on the surface


def test_verbatim_training_song_is_copy(checker):
    report = checker.check(song(band_song(3, bars=BARS), "q"))
    assert_copy_of(report, "train3")
    lead = report.roles["lead"]
    assert lead.relative == 1.0 and lead.query_bars == (1, BARS) and lead.match_bars == (1, BARS)
    assert lead.notes  # the copied passage is shown as notes
    assert report.novelty["lead"][8] == 0.0


def test_transposed_copy(checker):
    assert_copy_of(checker.check(song(band_song(4, bars=BARS, key=5), "q")), "train4")


def test_tempo_changed_copy(checker):
    assert_copy_of(checker.check(song(band_song(5, bars=BARS, tempo_qpm=84), "q")), "train5")
    # Played half again as slow (every tick × 1.5): bars differ, the tokens do not.
    report = checker.check(song(stretched(band_song(6, bars=BARS), 3, 2), "q"))
    assert_copy_of(report, "train6")
    assert report.roles["lead"].query_bars[1] == BARS * 3 // 2


@pytest.mark.parametrize(("name", "program"), [("Strings", 48), ("Bass 2", 34)])
def test_melody_moved_to_another_instrument(checker, name, program):
    score = band_song(9, bars=BARS)
    lead = next(t for t in score.tracks if t.name == "Vocals")
    lead.name, lead.program = name, program
    report = checker.check(song(score, "q"))
    assert_copy_of(report, "train9")
    assert name in report.roles["lead"].query_track


def test_splice_of_two_songs_names_both_sources(checker):
    score = splice(band_song(7, bars=BARS), band_song(11, bars=BARS, key=3), BARS // 2)
    report = checker.check(song(score, "q"))
    assert report.verdict == "copy", report.text()
    sources = {(p.song_id, p.query_bars, p.match_bars) for p in report.passages}
    assert ("train7", (1, 8), (1, 8)) in sources
    assert ("train11", (9, 16), (9, 16)) in sources


# --------------------------------------------------------------------------------------------
# Real new songs and shared grooves are not copies


def test_held_out_songs_are_mostly_original(checker):
    verdicts = [
        checker.check(song(band_song(s, bars=BARS), f"h{s}")).verdict for s in HELD_OUT_SEEDS
    ]
    assert verdicts.count("copy") == 0
    assert verdicts.count("original") >= 0.8 * len(verdicts)


def test_shared_drum_groove_is_not_copy(checker):
    # The standard groove of every training song, under a new melody, bass and chords.
    score = band_song(2000, bars=BARS, key=2)
    bass = next(t for t in score.tracks if t.name == "Bass")
    for n in bass.notes:
        n.pitch += 7 * ((n.time // TPQ) % 2)  # root-fifth bass: not the corpus's bass lines
    report = checker.check(song(score, "q"))
    assert report.verdict != "copy", report.text()
    assert report.drums_common_share is not None and report.drums_common_share > 0.9


def test_calibration_is_stored_and_reported(checker):
    cal = checker.index.calibration
    assert cal["songs"] == len(TRAIN_SEEDS)
    lead = cal["roles"]["lead"]
    assert lead["n"] == len(TRAIN_SEEDS) and lead["length"]["max"] < 16
    report = checker.check(song(band_song(1001, bars=BARS), "q"))
    assert report.calibrated and report.thresholds["lead"]["copy_length"] >= 16
    assert "review: L_w >" in report.text()


# --------------------------------------------------------------------------------------------
# Bad input


def test_empty_and_drums_only_are_not_comparable(checker):
    report = checker.check(song(Score(TPQ), "empty"))
    assert report.verdict == "not comparable" and "empty" in report.reasons[0]
    tiny = band_song(1, bars=1)
    tiny.tracks = [t for t in tiny.tracks if t.name == "Vocals"]  # a 3-note candidate
    assert checker.check(song(tiny, "tiny")).verdict in ("original", "not comparable")
    drums = band_song(1, bars=BARS)  # (ingestion keeps drums-only files: they are songs)
    drums.tracks = [t for t in drums.tracks if t.is_drum]
    report = checker.check(song(drums, "drums"))
    assert report.verdict == "not comparable" and "drums" in report.reasons[0]


def test_other_settings_are_not_comparable(checker):
    report = checker.check(song(band_song(3, bars=BARS), "q"), settings=OriginalityConfig(seed_n=8))
    assert report.verdict == "not comparable" and "seed_n" in report.reasons[0]
    assert (
        checker.check(
            song(band_song(3, bars=BARS), "q"), settings=OriginalityConfig(max_postings=9)
        ).verdict
        == "copy"
    )


def test_unreadable_file_is_not_comparable(checker, tmp_path):
    bad = tmp_path / "bad.mid"
    bad.write_bytes(b"MThd\x00\x00\x00\x06garbage")
    (report,) = checker.check_file(bad)
    assert report.verdict == "not comparable" and "MIDI" in report.reasons[0], report.reasons
    (report,) = checker.check_file(tmp_path / "missing.mid")
    assert report.verdict == "not comparable" and "no such file" in report.reasons[0]
    tiny = tmp_path / "tiny.mid"
    short = band_song(1, bars=1)
    short.tracks = [t for t in short.tracks if t.name == "Bass"]  # 4 notes
    short.dump_midi(str(tiny))
    (report,) = checker.check_file(tiny)
    assert report.verdict == "not comparable" and "notes" in report.reasons[0]


# --------------------------------------------------------------------------------------------
# Features


def test_tokens_are_transposition_and_tempo_invariant():
    base = song(band_song(21, bars=4), "a")
    transposed = song(band_song(21, bars=4, key=7, tempo_qpm=70), "b")
    slower = song(stretched(band_song(21, bars=4), 2, 1), "c")
    for a, b, c in zip(
        *(song_streams(x, OriginalityConfig()) for x in (base, transposed, slower)), strict=True
    ):
        assert a.role == b.role == c.role
        np.testing.assert_array_equal(a.tokens, b.tokens)
        if a.role in ("lead", "bass", "other"):  # chords and drums live on the beat/bar grid
            np.testing.assert_array_equal(a.tokens, c.tokens)
    np.testing.assert_array_equal(
        melody_tokens(base.score, base.meta.lead_track),
        melody_tokens(slower.score, slower.meta.lead_track),
    )


def test_stream_roles_of_a_band_song():
    streams = song_streams(song(band_song(1, bars=4), "a"), OriginalityConfig())
    roles = sorted(s.role for s in streams)
    assert roles == ["bass", "chords", "drums", "lead", "other"]
    drums = next(s for s in streams if s.role == "drums")
    assert len(drums.tokens) == 4 and len(set(drums.tokens.tolist())) == 1  # one groove, 4 bars


def test_batched_streams_equal_single_song_streams():
    songs = [
        song(band_song(s, bars=4, with_names=s % 2 == 0, drums=s % 3 > 0), f"b{s}")
        for s in range(8)
    ]
    songs[3].meta.lead_track = None  # no lead: the skyline of all parts stands in
    songs.append(Song(Score(TPQ), SongMeta(id="empty", title="", source="", format="midi")))
    for one, batched in zip(songs, batch_streams(songs, OriginalityConfig()), strict=True):
        single = song_streams(one, OriginalityConfig())
        assert [(s.role, s.track) for s in single] == [(s.role, s.track) for s in batched]
        for a, b in zip(single, batched, strict=True):
            for name in ("tokens", "bar_from", "bar_to", "pitches"):
                np.testing.assert_array_equal(getattr(a, name), getattr(b, name))


def test_index_lead_run_equals_exact_longest_run(checker):
    """The seeded index finds the same lead-vs-lead run as the exact binary search."""
    index = checker.index
    leads = [
        index.stream_tokens(s) for s in range(index.n_streams) if index.stream_role[s] == 0
    ]  # every training song's lead stream
    for seed in (3, 1002, 1003):
        query = song(splice(band_song(seed, bars=BARS), band_song(8, bars=BARS), 12), "q")
        exact = longest_common_run(melody_tokens(query.score, query.meta.lead_track), leads)
        lead = checker.check(query).roles["lead"]
        assert (lead.length if lead else 0) == (exact.length if exact.length >= 6 else 0)
