"""Tokenizer invariants: multi-track round trips, save/load identity, style tokens, bar starts,
and decoding that never fails on arbitrary (sampled) ids."""

from __future__ import annotations

import numpy as np
import pytest
from symusic import Score

from fake_corpus import write_corpus
from songs import band_song
from tribute.errors import TributeError
from tribute.music import TICKS_PER_QUARTER
from tribute.tokens import MusicTokenizer, TokenizerConfig

SETTINGS = TokenizerConfig(vocab_size=700, style_keys=("genre",))


@pytest.fixture(scope="module")
def tokenizer(tmp_path_factory) -> MusicTokenizer:
    corpus = write_corpus(tmp_path_factory.mktemp("corpus"), n_train=6, n_validation=0)
    paths = sorted((corpus / "scores").glob("*.mid"))
    return MusicTokenizer.train(paths, SETTINGS, ["genre=rock", "genre=pop"])


def _notes(score: Score) -> dict[tuple[int, bool], list[tuple[float, int, float, int]]]:
    """Per (program, is_drum): sorted (onset beats, pitch, duration beats, velocity)."""
    tpq = score.ticks_per_quarter
    out = {}
    for track in score.tracks:
        notes = sorted((n.time / tpq, n.pitch, n.duration / tpq, n.velocity) for n in track.notes)
        out.setdefault((track.program, track.is_drum), []).extend(notes)
    return {k: sorted(v) for k, v in out.items()}


@pytest.mark.parametrize("seed", [11, 12, 13])
def test_multitrack_round_trip(tokenizer, seed):
    score = band_song(seed, bars=6, key=seed % 4).resample(TICKS_PER_QUARTER)
    decoded = _notes(tokenizer.decode(tokenizer.encode(score)))
    # Lossless at the tokenizer's resolution (12 positions per beat, 8 velocity bins) ...
    assert decoded == _notes(tokenizer.miditok.preprocess_score(score.copy()))
    # ... and onsets and pitches of this on-grid song survive exactly, in 4 separate tracks.
    original = _notes(score)
    assert original.keys() == decoded.keys() and len(decoded) == 4
    for key in original:
        assert [n[:2] for n in original[key]] == [n[:2] for n in decoded[key]], key
        assert all(
            abs(a[2] - b[2]) <= 1 / 12 and abs(a[3] - b[3]) <= 16
            for a, b in zip(original[key], decoded[key], strict=True)
        )


def test_drums_stay_drums(tokenizer):
    decoded = tokenizer.decode(tokenizer.encode(band_song(3).resample(TICKS_PER_QUARTER)))
    drums = [t for t in decoded.tracks if t.is_drum]
    assert len(drums) == 1 and {n.pitch for n in drums[0].notes} == {36, 38, 42}


def test_bpe_compresses_and_saves_identically(tokenizer, tmp_path):
    score = band_song(21).resample(TICKS_PER_QUARTER)
    ids = tokenizer.encode(score)
    base = sum(len(tokenizer.base_tokens(int(i))) for i in ids)
    assert len(ids) < base  # BPE merged something
    tokenizer.save(tmp_path / "tok")
    again = MusicTokenizer.load(tmp_path / "tok")
    assert np.array_equal(again.encode(score), ids)
    assert again.fingerprint == tokenizer.fingerprint
    assert again.styles == tokenizer.styles and again.vocab_size == tokenizer.vocab_size


def test_style_tokens_form_a_block_after_music_and_controls(tokenizer):
    rock = tokenizer.style_id("genre", "rock")
    pop = tokenizer.style_id("genre", "pop")
    assert tokenizer.style_offset == tokenizer.music_vocab_size + 97 + 3  # chords, infill
    assert {rock, pop} == set(range(tokenizer.style_offset, tokenizer.vocab_size))
    assert tokenizer.styles_of({"genre": "rock", "artist": "x"}) == [rock]
    assert tokenizer.styles_of({"genre": "jazz"}) == []
    assert tokenizer.prompt([rock]) == [tokenizer.bos_id, rock]


def test_add_style_appends_without_moving_ids(tokenizer, tmp_path):
    copy = MusicTokenizer.load(tokenizer.save(tmp_path / "t"))
    before = copy.style_id("genre", "rock")
    new = copy.add_style("artist", "queen")
    assert new == copy.vocab_size - 1 and copy.style_id("genre", "rock") == before
    assert copy.add_style("artist", "queen") == new  # idempotent
    assert copy.fingerprint != tokenizer.fingerprint


def test_every_bar_starts_a_token_right_after_its_chord(tokenizer):
    ids = tokenizer.encode(band_song(5, bars=7).resample(TICKS_PER_QUARTER))
    starts = np.flatnonzero(tokenizer.bar_start_table()[ids])
    openers = np.flatnonzero(tokenizer.bar_opener_table()[ids])
    assert len(starts) == 7 and openers[0] == 0 and list(openers + 1) == list(starts)
    assert all(int(ids[i]) in tokenizer.controls.chord_ids for i in openers)


def test_chord_tokens_name_each_bars_harmony(tokenizer):
    from symusic import Note, Track

    score = Score(TICKS_PER_QUARTER)
    keys = Track("keys", 0, False)
    bar = 4 * TICKS_PER_QUARTER
    for k, chord in enumerate([(60, 64, 67), (57, 60, 64), (53, 57, 60), (55, 59, 62, 65)]):
        keys.notes.extend(Note(k * bar, bar, p, 80) for p in chord)
    score.tracks.append(keys)
    ids = tokenizer.encode(score)
    assert tokenizer.chords_in(ids) == ["C", "Am", "F", "G7"]
    decoded = tokenizer.decode(ids)  # chord ids are not notes
    assert decoded.note_num() == score.note_num()


def test_base_tokens_re_encode_to_the_same_ids(tokenizer):
    score = band_song(8, bars=5).resample(TICKS_PER_QUARTER)
    ids = [int(i) for i in tokenizer.encode(score) if int(i) < tokenizer.music_vocab_size]
    base = [t for i in ids for t in tokenizer.base_tokens(i)]
    assert tokenizer.encode_base(base) == ids


def test_a_tokenizer_from_before_control_tokens_keeps_its_ids(tokenizer, tmp_path):
    import json

    folder = tokenizer.save(tmp_path / "old")
    header = json.loads((folder / "styles.json").read_text())
    header["version"] = 1
    for key in ("harmony", "infill"):
        del header["settings"][key]
    (folder / "styles.json").write_text(json.dumps(header))
    old = MusicTokenizer.load(folder)
    assert not old.settings.harmony and not old.settings.infill
    assert old.style_offset == old.music_vocab_size  # styles right after MidiTok, as before
    score = band_song(5, bars=3).resample(TICKS_PER_QUARTER)
    assert not np.isin(old.encode(score), list(tokenizer.controls.chord_ids)).any()


def test_decode_never_fails(tokenizer):
    rng = np.random.default_rng(0)
    for n in [0, 1, 5, 50, 300]:
        for _ in range(10):
            ids = rng.integers(-3, tokenizer.vocab_size + 3, size=n)
            score = tokenizer.decode(ids)
            Score.from_midi(score.dumps_midi())  # writes and reads back as MIDI


def test_empty_score_encodes_to_nothing(tokenizer):
    assert len(tokenizer.encode(Score(TICKS_PER_QUARTER))) == 0


def test_load_rejects_a_folder_without_tokenizer(tmp_path):
    with pytest.raises(TributeError, match="no tribute tokenizer"):
        MusicTokenizer.load(tmp_path)


def test_grammar_is_miditoks_token_graph(tokenizer):
    grammar = tokenizer.grammar()
    assert grammar["Bar"] == {"TimeSig"}  # every REMI bar carries its time signature
    assert grammar["Program"] == {"Pitch", "PitchDrum"}
    assert "PAD" not in grammar and all("EOS" not in kinds for kinds in grammar.values())


def test_decode_repair_drops_only_the_broken_note():
    from tribute.tokens.grammar import _grammatical

    grammar = {
        "Bar": frozenset({"TimeSig"}),
        "TimeSig": frozenset({"Bar", "Position", "Program"}),
        "Position": frozenset({"Program", "Tempo"}),
        "Tempo": frozenset({"Bar", "Position", "Program"}),
        "Program": frozenset({"Pitch", "PitchDrum"}),
        "Pitch": frozenset({"Velocity"}),
        "PitchDrum": frozenset({"Velocity"}),
        "Velocity": frozenset({"Duration"}),
        "Duration": frozenset({"Bar", "Position", "Program"}),
    }
    note = ["Program_0", "Pitch_62", "Velocity_63", "Duration_1.0.12"]
    broken = ["Bar_None", "TimeSig_4/4", "Position_0", "Program_0", "Pitch_60", "Position_4"]
    assert _grammatical([*broken, *note[:-1], note[-1]], grammar) == [
        "Bar_None",
        "TimeSig_4/4",
        "Position_4",
        *note,
    ]
    drum = ["Position_0", "Program_-1", "Pitch_36", "Velocity_63", "Duration_0.2.12"]
    # A drum program takes PitchDrum, never Pitch: the whole note goes, with its position.
    assert _grammatical(["Bar_None", "TimeSig_4/4", *drum], grammar) == ["Bar_None", "TimeSig_4/4"]
