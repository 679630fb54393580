"""Editing a song: the regenerated bars or parts change, everything kept stays note for note
(at the file's own resolution), bar counts hold, the same seed gives the same edit, the guard
runs, and bad requests are one-line errors that leave the input untouched."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from symusic import Score

from songs import band_song
from tribute.cli import main
from tribute.composition.edit import EditConfig, Editor

BAR = 4 * 480  # the fixture songs' resolution: 480 ticks per quarter


def _quiet(*args, **kwargs) -> None:
    pass


def _notes(score: Score, keep=lambda track, note: True) -> list[tuple]:
    return sorted(
        (t.name, t.program, t.is_drum, n.time, n.duration, n.pitch, n.velocity)
        for t in score.tracks
        for n in t.notes
        if keep(t, n)
    )


@pytest.fixture
def song(tmp_path) -> Path:
    path = tmp_path / "in" / "song.mid"
    path.parent.mkdir()
    band_song(21, bars=6).dump_midi(str(path))
    return path


def _edit(model, song, out, **config):
    editor = Editor.open(model, EditConfig(guard=False, **config), log=_quiet)
    return editor.edit(song, out, log=_quiet)


def test_regenerated_bars_change_and_the_rest_stays_note_for_note(band_model, song, tmp_path):
    (record,) = _edit(band_model, song, tmp_path, bars=(3, 4))
    before, after = Score(str(song)), Score(str(tmp_path / record.midi))
    outside = lambda t, n: not 2 * BAR <= n.time < 4 * BAR  # noqa: E731
    assert _notes(after, outside) == _notes(before, outside)
    assert record.controls["edit"]["bars"] == [3, 4] and record.bars >= 6
    assert max(n.time for t in after.tracks for n in t.notes) < 6 * BAR


def test_regenerating_one_part_keeps_every_other_part(band_model, song, tmp_path):
    records = _edit(band_model, song, tmp_path, bars=(2, 5), parts=("bass",), n=2, seed=4)
    before = Score(str(song))
    original_bass = next(t for t in before.tracks if t.name == "Bass")
    assert {n.time // BAR for n in original_bass.notes} >= {1, 2, 3, 4}
    not_bass = lambda t, n: t.name != "Bass"  # noqa: E731
    bass_outside = lambda t, n: t.name == "Bass" and not BAR <= n.time < 5 * BAR  # noqa: E731
    for record in records:
        after = Score(str(tmp_path / record.midi))
        assert _notes(after, not_bass) == _notes(before, not_bass)
        assert _notes(after, bass_outside) == _notes(before, bass_outside)
        assert {t.program for t in after.tracks if t.name == "Bass"} == {33}
        assert record.controls["edit"]["regenerated"] == ["Bass"]
        # The bass played in every bar of the span, so its new line does too.
        bass = next(t for t in after.tracks if t.name == "Bass")
        assert {n.time // BAR for n in bass.notes} >= {1, 2, 3, 4}
    assert [r.seed for r in records] == [4, 5]


def test_the_same_seed_gives_the_same_edit(band_model, song, tmp_path):
    first = _edit(band_model, song, tmp_path / "a", bars=(2, 3), seed=9)[0]
    again = _edit(band_model, song, tmp_path / "b", bars=(2, 3), seed=9)[0]
    a = (tmp_path / "a" / first.midi).read_bytes()
    assert a == (tmp_path / "b" / again.midi).read_bytes()


def test_accompaniment_keeps_the_melody_note_for_note(band_model, tmp_path):
    melody = band_song(5, bars=4)
    melody.tracks = [t for t in melody.tracks if t.name == "Vocals"]
    path = tmp_path / "melody.mid"
    melody.dump_midi(str(path))
    editor = Editor.open(band_model, EditConfig(guard=False, seed=1), log=_quiet)
    (record,) = editor.accompany(path, tmp_path / "out", "drums,bass,guitar", log=_quiet)
    after = Score(str(tmp_path / "out" / record.midi))
    vocals = lambda t, n: t.name == "Vocals"  # noqa: E731
    assert _notes(after, vocals) == _notes(Score(str(path)), vocals)
    added = {(t.program, t.is_drum) for t in after.tracks if t.name != "Vocals"}
    assert added <= {(0, True), (33, False), (29, False)}
    assert [p["name"] for p in record.parts] == ["Drums", "Bass", "Guitar"]
    # A band around a melody: every part plays in every bar.
    for track in after.tracks:
        assert {n.time // BAR for n in track.notes} >= set(range(4)), track.name


def test_the_guard_checks_the_edited_song(band_model, song, tmp_path):
    editor = Editor.open(band_model, EditConfig(bars=(2, 2)), log=_quiet)
    (record,) = editor.edit(song, tmp_path, log=_quiet)
    assert record.guard == "on" and record.verdict in ("original", "review", "copy")
    assert "new_material" in record.controls["edit"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--bars", "9-12"], "the song has 6 bars"),
        (["--bars", "5-4"], "at least one bar"),
        (["--bars", "x"], "--bars looks like"),
        (["--parts", "kazoo"], "the song has no such part"),
    ],
)
def test_bad_edits_are_one_line_errors_and_the_song_is_untouched(
    band_model, song, tmp_path, capsys, argv, message
):
    digest = hashlib.sha256(song.read_bytes()).hexdigest()
    code = main(
        ["edit", str(band_model), str(song), "--out", str(tmp_path / "o"), "--no-guard", *argv]
    )
    err = capsys.readouterr().err.strip()
    assert code == 2 and message in err and "\n" not in err, err
    assert hashlib.sha256(song.read_bytes()).hexdigest() == digest


def test_melody_files_that_cannot_be_accompanied(band_model, tmp_path, capsys):
    full = tmp_path / "full.mid"
    band_song(3, bars=2).dump_midi(str(full))
    code = main(
        [
            "accompany",
            str(band_model),
            str(full),
            "--instruments",
            "bass",
            "--out",
            str(tmp_path / "o"),
            "--no-guard",
        ]
    )
    assert code == 2 and "--melody-track" in capsys.readouterr().err
    empty = tmp_path / "empty.mid"
    Score(480).dump_midi(str(empty))
    code = main(
        [
            "accompany",
            str(band_model),
            str(empty),
            "--instruments",
            "bass",
            "--out",
            str(tmp_path / "o"),
            "--no-guard",
        ]
    )
    assert code == 2 and "no notes" in capsys.readouterr().err


def test_a_model_without_infill_tokens_says_what_to_do(tmp_path, song, capsys):
    from conftest import _train
    from songs import write_song
    from tribute.corpus import BuildConfig, build

    write_song(tmp_path / "src" / "Song.mid", 1, bars=4)
    build([str(tmp_path / "src")], tmp_path / "corpus", BuildConfig(), progress=False)
    model = _train(tmp_path / "corpus", tmp_path / "model", steps=2, infill=False)
    code = main(["edit", str(model), str(song), "--out", str(tmp_path / "o"), "--no-guard"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "no infill tokens" in err and "\n" not in err
