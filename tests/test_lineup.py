"""A band, not a General MIDI catalogue: line-ups of parts on their own programs, channels and
ranges; per-section arrangement; forced chords; density levels; and the one-line errors."""

from __future__ import annotations

import io
import re
from pathlib import Path

import mido
import pytest
from symusic import Score

from tribute.cli import main
from tribute.composition import ComposeConfig, Controls, compose, parse_form
from tribute.composition.controls import parse_chords, parse_density

TPQ_BAR = 96


def _quiet(*args, **kwargs) -> None:
    pass


def _compose(model: Path, out: Path, n: int = 1, seed: int = 0, **controls):
    return compose(
        model, out, Controls(**controls), ComposeConfig(n=n, seed=seed, guard=False), log=_quiet
    )


def _channels(path: Path) -> list[tuple[int, int]]:
    """(channel, program) of each track's program change, as a MIDI player sees them."""
    midi = mido.MidiFile(file=io.BytesIO(path.read_bytes()))
    return [(m.channel, m.program) for t in midi.tracks for m in t if m.type == "program_change"]


def test_named_parts_give_one_track_program_and_channel_each(band_model, tmp_path):
    (record,) = _compose(
        band_model, tmp_path, form=parse_form(None, 4), instruments="drums,bass,guitar,lead"
    )
    score = Score(str(tmp_path / record.midi))
    assert [t.name for t in score.tracks] == ["Drums", "Bass", "Guitar", "Lead"]
    assert [p["program"] for p in record.parts] == [-1, 33, 29, 80]  # the corpus's programs
    channels = _channels(tmp_path / record.midi)
    assert len(channels) == 4 and len({c for c, _ in channels}) == 4
    assert (9, 0) in channels  # drums on channel 10
    for part, track in zip(record.parts, score.tracks, strict=True):
        pitches = [n.pitch for n in track.notes]
        assert all(part["low"] <= p <= part["high"] for p in pitches), part
        assert part["notes"] == len(pitches)
    bass = next(p for p in record.parts if p["name"] == "Bass")
    assert bass["high"] <= 67 and bass["monophonic"]


def test_two_guitars_and_a_chosen_program(band_model, tmp_path):
    (record,) = _compose(
        band_model, tmp_path, form=parse_form(None, 2), instruments="bass=34,guitar*2"
    )
    assert [(p["name"], p["program"]) for p in record.parts] == [
        ("Bass", 34),
        ("Guitar 1", 29),
        ("Guitar 2", 24),
    ]
    # Every part is in the file, on its own channel and program, even one that stayed silent.
    assert _channels(tmp_path / record.midi) == [(0, 34), (1, 29), (2, 24)]


def test_without_instruments_the_line_up_is_the_corpus_typical_one(band_model, tmp_path):
    (record,) = _compose(band_model, tmp_path, form=parse_form(None, 2))
    assert sorted(p["program"] for p in record.parts) == [-1, 29, 33, 80]
    assert {p["name"] for p in record.parts} == {"Drums", "Bass", "Guitar", "Vocals"}


def test_sections_play_only_their_parts(band_model, tmp_path):
    form = parse_form("intro:2[guitar] verse:2 outro:2[-guitar,-lead]", None)
    records = _compose(
        band_model,
        tmp_path,
        n=3,
        form=form,
        time_signature=(4, 4),
        instruments="drums,bass,guitar,lead",
    )
    playing: dict[str, set[int]] = {}
    for record in records:
        for t in Score(str(tmp_path / record.midi)).tracks:
            playing.setdefault(t.name, set()).update(n.time // TPQ_BAR for n in t.notes)
    assert set().union(*playing.values()) & {2, 3}  # the verse has music
    assert not any(bar < 2 for name, bars in playing.items() if name != "Guitar" for bar in bars)
    assert not any(bar >= 4 for bar in playing["Guitar"] | playing["Lead"])
    assert [s["parts"] for s in record.form] == [
        ["Guitar"],
        ["Drums", "Bass", "Guitar", "Lead"],
        ["Drums", "Bass"],
    ]


def test_forced_chords_open_their_bars(band_model, tmp_path):
    form = parse_form("a:4 b:2", None)
    chords = parse_chords("a: Em C G D7", form)
    (record,) = _compose(band_model, tmp_path, form=form, chords=chords)
    assert record.chords[:4] == ["Em", "C", "G", "D7"]
    assert len(record.chords) == 6  # the b section's chords: the model's choice
    assert list(record.controls["chords"]) == ["Em", "C", "G", "D7", "*", "*"]


def test_density_levels_move_the_part_s_note_count(band_model, tmp_path):
    counts = {}
    for level in ("low", "high"):
        records = _compose(
            band_model,
            tmp_path / level,
            n=4,
            form=parse_form(None, 4),
            instruments="drums,bass,guitar,lead",
            density=parse_density(f"drums={level}"),
        )
        counts[level] = sum(
            next(p["notes"] for p in r.parts if p["name"] == "Drums") for r in records
        )
    assert counts["low"] < counts["high"], counts


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--instruments", "kazoo"], "unknown instrument 'kazoo'"),
        (["--instruments", "guitar=40"], "program 40 is not a guitar program"),
        (["--instruments", "keys*16"], "MIDI has 15 channels"),
        (["--instruments", "guitar*0"], "a count must be at least 1"),
        (["--instruments", "drums*2"], "one drum kit"),
        (["--form", "intro:2[kazoo] verse:2"], "'kazoo' is not a part of the line-up"),
        (["--form", "a:2[bass] a:2[bass,guitar]"], "can only drop parts"),
        (["--chords", "verse: Cadd9"], "accepted forms"),
        (["--chords", "bridge: C"], "which the form lacks"),
        (["--density", "bass=loud"], "--density level 'loud'"),
        (["--density", "kazoo=low"], "not a part of the line-up"),
    ],
)
def test_bad_line_up_requests_are_one_line_errors(band_model, tmp_path, capsys, argv, message):
    form = [] if "--form" in argv else ["--form", "verse:4"]
    code = main(["compose", str(band_model), "--out", str(tmp_path), "--no-guard", *form, *argv])
    err = capsys.readouterr().err.strip()
    assert code == 2 and message in err and "\n" not in err, err


def test_a_model_without_chord_tokens_says_how_to_get_one(tmp_path, capsys):
    from conftest import _train
    from songs import write_song
    from tribute.corpus import BuildConfig, build

    write_song(tmp_path / "src" / "Song.mid", 1, bars=4)
    build([str(tmp_path / "src")], tmp_path / "corpus", BuildConfig(), progress=False)
    model = _train(tmp_path / "corpus", tmp_path / "model", steps=2, harmony=False)
    code = main(
        ["compose", str(model), "--out", str(tmp_path / "o"), "--no-guard", "--chords", "C G"]
    )
    err = capsys.readouterr().err.strip()
    assert code == 2 and "no chord tokens" in err and "\n" not in err


def test_density_offsets_favour_short_notes_of_the_program_in_effect(band_model):
    """An id's offset is the level times the shortness of the note values it sets; a Duration
    whose Program came in an earlier id counts for the program in effect, and for none else."""
    from tribute.composition.sampler import NO_PROGRAM
    from tribute.composition.vocab import TokenTable
    from tribute.modeldir import load_style_model

    tokenizer = load_style_model(band_model).tokenizer
    table = TokenTable.of(tokenizer)
    bias = table.note_bias({33: 2.0})
    alone = {" ".join(tokenizer.base_tokens(i)): i for i in range(tokenizer.music_vocab_size)}
    eighth = next(
        i
        for d, i in alone.items()
        if re.fullmatch(r"Duration_0\.(\d+)\.(\d+)", d)
        and 2 * int(d.split(".")[1]) == int(d.split(".")[2])
    )
    half = next(i for d, i in alone.items() if re.fullmatch(r"Duration_2\.0\.\d+", d))
    assert bias[33][eighth] == 2.0 and bias[33][half] == -2.0
    assert bias[NO_PROGRAM][eighth] == bias[NO_PROGRAM][half] == 0.0


def test_a_program_number_takes_the_corpus_track_name():
    from tribute.composition.lineup import parse_lineup
    from tribute.corpus.programs import CorpusPrograms

    corpus = CorpusPrograms({53: 5, 85: 5}, {53: (55, 74), 85: (40, 62)}, (53, 85), {53: "Alto"})
    parts = parse_lineup("53,85,guitar", corpus)
    assert [p.name for p in parts] == ["Alto", "Voice 2", "Guitar"]  # 85: no corpus name


def test_a_style_composes_for_its_own_songs_line_up():
    from tribute.composition.lineup import parse_lineup
    from tribute.corpus.programs import CorpusPrograms

    corpus = CorpusPrograms(
        {0: 9, 52: 3, 53: 3},
        {0: (55, 80), 52: (60, 79), 53: (55, 74)},
        (0,),  # the whole corpus: mostly one-track folk tunes
        {52: "Soprano", 53: "Alto"},
        {"collection=palestrina": (52, 53), "collection=folk": (0,)},
    )
    again = CorpusPrograms.from_json(corpus.to_json())
    assert again == corpus
    styled = again.for_styles(["collection=palestrina"])
    assert [p.name for p in parse_lineup(None, styled)] == ["Soprano", "Alto"]
    assert again.for_styles(["collection=unknown"]).typical == (0,)
