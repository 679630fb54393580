"""Each reader turns its format into a Score with the right tracks, programs and roles."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import guitarpro
import pytest

from songs import band_song, riff_wrap, type0_midi
from tribute.corpus.normalize import normalize
from tribute.corpus.readers import SkipFile, read, split_abc
from tribute.music import TICKS_PER_QUARTER, key_name


def read_one(path: Path):
    pieces = read(path, path.read_bytes())
    assert len(pieces) == 1
    return normalize(pieces[0])


def test_type1_band_midi_keeps_tracks_roles_and_lead(tmp_path):
    path = tmp_path / "song.mid"
    band_song(1).dump_midi(str(path))
    score, meta = read_one(path)
    assert score.tpq == TICKS_PER_QUARTER
    assert [t.role for t in meta.tracks] == ["drums", "bass", "guitar", "lead"]
    assert meta.tracks[meta.lead_track].name == "Vocals"
    assert meta.tempo_qpm == 120.0 and meta.time_signature == "4/4"
    assert meta.duration_beats == 32.0


def test_type0_file_is_split_into_one_track_per_channel(tmp_path):
    path = tmp_path / "type0.mid"
    path.write_bytes(type0_midi())
    _score, meta = read_one(path)
    roles = sorted(t.role for t in meta.tracks)
    assert roles == ["bass", "drums", "keys"]
    assert meta.n_notes == 16 * 4


def test_riff_rmid_and_kar_are_unwrapped(tmp_path):
    midi = band_song(2).dumps_midi()
    (tmp_path / "song.rmi").write_bytes(riff_wrap(midi))
    (tmp_path / "song.kar").write_bytes(midi)
    a, _ = read_one(tmp_path / "song.rmi")
    b, _ = read_one(tmp_path / "song.kar")
    assert a.note_num() == b.note_num() == band_song(2).note_num()


def test_unnamed_tracks_get_roles_from_programs_and_a_heuristic_lead(tmp_path):
    path = tmp_path / "anon.mid"
    band_song(3, with_names=False, lead_program=73).dump_midi(str(path))  # lead on a flute
    _, meta = read_one(path)
    assert [t.role for t in meta.tracks] == ["drums", "bass", "guitar", "brass"]
    assert meta.lead_track == 3  # highest, most monophonic pitched track


ABC = """%abc header comment
X:7
T:First Tune
M:4/4
L:1/8
K:G
GABc dedB|dedB dedB|c2ec B2dB|c2A2 A2BA|]

X:7
T:Broken Tune
M:4/4
K:Q^^^ nonsense
(((((

X:9
T:Second Tune
M:3/4
L:1/4
K:Dm
DEF|GAB|cde|d3|]
"""


def test_abc_file_gives_one_piece_per_tune_and_reports_the_broken_one(tmp_path):
    path = tmp_path / "book.abc"
    path.write_text(ABC)
    _, tunes = split_abc(ABC)
    assert len(tunes) == 3
    pieces = read(path, path.read_bytes())
    assert [p.part for p in pieces] == ["#1", "#2", "#3"]
    assert pieces[0].title == "First Tune" and pieces[0].key == "G major"
    assert pieces[2].key == "D minor"
    _, first = normalize(pieces[0])
    assert first.n_notes == 27 and first.tracks[0].role == "lead"
    _, third = normalize(pieces[2])
    assert third.time_signature == "3/4"
    # The broken tune has no usable notes: it is skipped alone, with a reason.
    with pytest.raises(SkipFile):
        normalize(pieces[1])


def _chorale_stream():
    import music21

    score = music21.stream.Score()
    score.metadata = music21.metadata.Metadata(title="Test Chorale")
    for name, base in (("Soprano", 72), ("Alto", 67), ("Tenor", 64), ("Bass", 48)):
        part = music21.stream.Part()
        part.partName = name
        part.append(music21.meter.TimeSignature("3/4"))
        part.append(music21.key.Key("e"))
        for step in (0, 2, 3, 5, 3, 2, 0, -1, 0):
            part.append(music21.note.Note(base + step, quarterLength=1.0))
        score.insert(0, part)
    return score


def test_musicxml_and_mxl_keep_parts_apart_with_distinct_programs(tmp_path):
    stream = _chorale_stream()
    # music21's .mxl writer deletes a same-named .musicxml beside it: separate folders.
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    xml = Path(stream.write("musicxml", fp=tmp_path / "a" / "chorale.musicxml"))
    mxl = Path(stream.write("mxl", fp=tmp_path / "b" / "chorale.mxl"))
    for path in (xml, mxl):
        _score, meta = read_one(path)
        assert len(meta.tracks) == 4
        assert len({t.program for t in meta.tracks}) == 4
        assert [t.role for t in meta.tracks] == ["lead", "other", "other", "bass"]
        assert meta.time_signature == "3/4" and meta.key == "E minor"
        assert meta.n_notes == 36 and meta.lead_track == 0


KERN = """**kern\t**kern
*M4/4\t*M4/4
4C\t4c
4D\t4d
4E\t4e
4F\t4f
=\t=
4G\t4g
4A\t4a
4B\t4b
4c\t4cc
*-\t*-
"""


def test_humdrum_kern(tmp_path):
    path = tmp_path / "piece.krn"
    path.write_text(KERN)
    _, meta = read_one(path)
    assert len(meta.tracks) == 2
    assert meta.n_notes == 16


def test_guitar_pro(tmp_path):
    song = guitarpro.Song()
    song.title = "Riff"
    voice = song.tracks[0].measures[0].voices[0]
    for fret in (0, 3, 5, 0, 3, 6, 5, 0):
        beat = guitarpro.Beat(voice, status=guitarpro.BeatStatus.normal)
        beat.duration = guitarpro.Duration(value=8)
        beat.notes.append(
            guitarpro.Note(beat, value=fret, string=6, type=guitarpro.NoteType.normal)
        )
        voice.beats.append(beat)
    path = tmp_path / "riff.gp5"
    guitarpro.write(song, str(path))
    score, meta = read_one(path)
    assert meta.title == "Riff"
    pitches = [n.pitch for n in score.tracks[0].notes]
    assert pitches == [40, 43, 45, 40, 43, 46, 45, 40]  # low E string + frets
    assert meta.tracks[0].role == "guitar"


def test_zip_bomb_mxl_is_refused(tmp_path):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("score.xml", b"\0" * (30 * 1024 * 1024))
    path = tmp_path / "bomb.mxl"
    path.write_bytes(buffer.getvalue())
    with pytest.raises(SkipFile, match="zip bomb"):
        read(path, path.read_bytes())


def test_key_names():
    assert key_name(1, 1) == "E minor"
    assert key_name(-3, 0) == "Eb major"
    assert key_name(0, 0) == "C major"
    assert key_name(9, 0) is None
