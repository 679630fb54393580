"""tribute render: audio, score, lead sheet and piano roll of a generated song and a fixture.

Tests that need FluidSynth or MuseScore skip, with the reason, only where the tool is missing
(scripts/setup.sh installs both); everything else runs everywhere.
"""

from __future__ import annotations

import json
import re
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from symusic import KeySignature, Note, Score, Tempo, TextMeta, TimeSignature, Track

from songs import band_song, write_song
from tribute.cli import main
from tribute.errors import TributeError
from tribute.music.harmony import detect_chords
from tribute.rendering import RenderConfig, render
from tribute.rendering import audio as audio_module
from tribute.rendering.score import find_mscore, quantized_events

TPQ = 480


def _synth_missing() -> str | None:
    try:
        audio_module.find_soundfont()
        audio_module._load_library()
    except TributeError as exc:
        return str(exc)
    return None


SYNTH_MISSING = _synth_missing()
needs_synth = pytest.mark.skipif(SYNTH_MISSING is not None, reason=f"{SYNTH_MISSING}")
needs_mscore = pytest.mark.skipif(
    find_mscore() is None,
    reason="MuseScore 3 (mscore3) is not installed: apt-get install musescore3",
)


def fixture_song() -> Score:
    """Five instruments, Bb major, 100 → 132 qpm, a 7/8 bar pair, triplets, markers, held notes."""
    score = Score(TPQ)
    score.tempos.extend([Tempo(0, 100.0), Tempo(8 * 4 * TPQ, 132.0)])
    seven_eight = 8 * 4 * TPQ  # bars 9-10 are 7/8 (3.5 quarters each)
    score.time_signatures.extend(
        [
            TimeSignature(0, 4, 4),
            TimeSignature(seven_eight, 7, 8),
            TimeSignature(seven_eight + 7 * TPQ, 4, 4),
        ]
    )
    score.key_signatures.append(KeySignature(0, -2, 0))
    score.markers.extend([TextMeta(0, "Intro"), TextMeta(4 * 4 * TPQ, "Verse")])
    drums, bass, piano = Track("Drums", 0, True), Track("Bass", 33), Track("Piano", 0)
    strings, flute = Track("Strings", 48), Track("Flute", 73)
    for start, length in fixture_bars(12):
        for beat in range(0, length, TPQ // 2):
            drums.notes.append(Note(start + beat, 0, 42, 70))  # zero-length hits, as in real files
        drums.notes.append(Note(start, 60, 36, 110))
        bass.notes.append(Note(start, length // 2, 34, 90))  # Bb1
        bass.notes.append(Note(start + length // 2, length // 2 - 10, 41, 90))
        for pitch in (58, 62, 65):  # Bb major triad
            piano.notes.append(Note(start, length - 20, pitch, 70))
        strings.notes.append(Note(start, length * 2, 70, 50))  # overlaps the next bar's note
    for i in range(3 * 8):  # eighth-note triplets in bars 1-2
        flute.notes.append(Note(i * TPQ // 3, TPQ // 3, 74 + (i % 3), 90))
    for i in range(16):  # then straight eighths, slightly humanized
        flute.notes.append(
            Note(2 * 4 * TPQ + i * TPQ // 2 + (7 if i % 2 else -5), TPQ // 2, 77, 90)
        )
    for track in (drums, bass, piano, strings, flute):
        score.tracks.append(track)
    score.tracks.append(Track("Empty", 30))  # no notes: no part, no stem
    return score


def fixture_bars(n_bars: int) -> list[tuple[int, int]]:
    """(start, length) in ticks of the fixture's bars: 8 of 4/4, 2 of 7/8, then 4/4."""
    bars, tick = [], 0
    for number in range(n_bars):
        length = 7 * TPQ // 2 if number in (8, 9) else 4 * TPQ
        bars.append((tick, length))
        tick += length
    return bars


@pytest.fixture(scope="module")
def songs(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("songs")
    fixture = folder / "fixture.mid"
    fixture_song().dump_midi(str(fixture))
    drums_only = folder / "drums_only.mid"
    band_song(4, bars=2, drums=True).dump_midi(str(folder / "tmp.mid"))
    kit = Score(str(folder / "tmp.mid"))
    kit.tracks = [kit.tracks[0]]
    kit.dump_midi(str(drums_only))
    empty = folder / "empty.mid"
    Score(TPQ).dump_midi(str(empty))
    broken = folder / "broken.mid"
    broken.write_bytes(b"MThd\x00\x00\x00\x06 not really a MIDI file")
    return {
        "generated": write_song(folder / "generated.mid", 7, bars=8),
        "fixture": fixture,
        "drums_only": drums_only,
        "empty": empty,
        "broken": broken,
    }


# ---------------------------------------------------------------------------------------------
# Audio


@pytest.fixture(scope="module")
def audio_run(songs, tmp_path_factory):
    out = tmp_path_factory.mktemp("audio")
    config = RenderConfig(wav=True, flac=True, stems=True)
    results = render([songs["generated"], songs["fixture"]], out, config)
    return out, {Path(r.source).stem: r for r in results}


@needs_synth
def test_wav_is_loud_enough_and_as_long_as_the_song(audio_run):
    import pyloudnorm
    import soundfile

    out, results = audio_run
    for stem in ("generated", "fixture"):
        audio, sr = soundfile.read(out / f"{stem}.wav")
        assert sr == 44_100 and audio.shape[1] == 2
        length_s = len(audio) / sr
        assert results[stem].duration_s > 10
        assert 0 <= length_s - results[stem].duration_s <= 1.0  # the release tail, ≤ 1 s
        assert np.sqrt(np.mean(audio**2)) > 0.01  # not silent
        assert np.max(np.abs(audio)) <= 10 ** (-1 / 20) + 1e-3  # ceiling: no clipping
        loudness = pyloudnorm.Meter(sr).integrated_loudness(audio)
        assert loudness == pytest.approx(-16.0, abs=1.5) or loudness < -16.0


@needs_synth
def test_one_stem_per_instrument_and_stems_sum_to_the_mix(audio_run):
    import soundfile

    out, _ = audio_run
    stems = sorted((out / "fixture.stems").glob("*.wav"))
    assert [p.name for p in stems] == [
        "01-Drums.wav",
        "02-Bass.wav",
        "03-Piano.wav",
        "04-Strings.wav",
        "05-Flute.wav",
    ]  # the note-less track has no stem
    assert len(list((out / "generated.stems").glob("*.wav"))) == 4
    assert len(list((out / "generated.stems").glob("*.flac"))) == 4
    mix, _ = soundfile.read(out / "fixture.wav")
    total = sum(soundfile.read(p)[0] for p in stems)
    assert np.max(np.abs(total - mix)) < 0.01  # 16-bit rounding of six files
    for path in stems:
        assert np.sqrt(np.mean(soundfile.read(path)[0] ** 2)) > 1e-3


@needs_synth
def test_flac_and_sample_rate(songs, tmp_path):
    import soundfile

    render([songs["generated"]], tmp_path, RenderConfig(flac=True, sample_rate_hz=22_050))
    info = soundfile.info(tmp_path / "generated.flac")
    assert info.samplerate == 22_050 and info.format == "FLAC"
    assert not (tmp_path / "generated.wav").exists()


@needs_synth
def test_one_synth_for_the_whole_batch(songs, tmp_path, monkeypatch):
    started = []
    original = audio_module.Synth.__init__

    def counting(self, *args, **kwargs):
        started.append(1)
        original(self, *args, **kwargs)

    monkeypatch.setattr(audio_module.Synth, "__init__", counting)
    render([songs["generated"], songs["fixture"]], tmp_path, RenderConfig(wav=True))
    assert len(started) == 1


def test_missing_soundfont_gives_the_install_hint(songs, tmp_path, monkeypatch):
    monkeypatch.delenv("TRIBUTE_SOUNDFONT", raising=False)
    monkeypatch.setattr(audio_module, "SOUNDFONT_PATHS", ())
    with pytest.raises(TributeError, match="apt-get install fluidsynth"):
        render([songs["generated"]], tmp_path, RenderConfig(wav=True))
    with pytest.raises(TributeError, match="does not exist"):
        render([songs["generated"]], tmp_path, RenderConfig(wav=True, soundfont="/no/such.sf2"))
    monkeypatch.setenv("TRIBUTE_SOUNDFONT", "/no/such.sf2")
    with pytest.raises(TributeError, match=r"\$TRIBUTE_SOUNDFONT"):
        render([songs["generated"]], tmp_path, RenderConfig(wav=True))


def test_missing_fluidsynth_library_gives_the_install_hint(monkeypatch):
    def no_library(name):
        raise OSError(f"{name}: cannot open shared object file")

    monkeypatch.setattr(audio_module.ctypes.util, "find_library", lambda name: None)
    monkeypatch.setattr(audio_module.ctypes, "CDLL", no_library)
    with pytest.raises(TributeError, match=r"libfluidsynth.*apt-get install fluidsynth"):
        audio_module._load_library()


@needs_synth
def test_too_long_song_is_a_warning_not_a_crash(tmp_path):
    score = band_song(1, bars=1, tempo_qpm=20.0)  # 20 qpm: 31 min are only 155 bars to draw
    score.tracks[0].notes.append(Note(31 * 20 * TPQ, TPQ, 60, 90))  # a note at 31 min
    path = tmp_path / "long.mid"
    score.dump_midi(str(path))
    [result] = render([path], tmp_path / "out", RenderConfig(wav=True, pianoroll=True))
    assert result.error is None
    assert any("min audio limit" in w for w in result.warnings)
    assert (tmp_path / "out" / "long.pianoroll.png").is_file()


# ---------------------------------------------------------------------------------------------
# Score


@pytest.fixture(scope="module")
def score_run(songs, tmp_path_factory):
    out = tmp_path_factory.mktemp("score")
    formats = ("musicxml", "svg", "pdf") if find_mscore() else ("musicxml", "svg")
    config = RenderConfig(score_formats=formats, lead_sheet=True)
    results = render([songs["generated"], songs["fixture"], songs["drums_only"]], out, config)
    return out, {Path(r.source).stem: r for r in results}


def _parsed_notes(part) -> int:
    """Sounding notes of a re-parsed part: chord members count, tie continuations do not."""
    from music21 import chord, harmony

    count = 0
    for element in part.recurse().notes:
        if isinstance(element, harmony.ChordSymbol):
            continue
        members = element.notes if isinstance(element, chord.ChordBase) else [element]
        count += sum(1 for n in members if n.tie is None or n.tie.type == "start")
    return count


@pytest.mark.parametrize("stem", ["generated", "fixture"])
def test_musicxml_reparses_with_the_same_parts_and_notes(score_run, songs, stem):
    import music21

    out, results = score_run
    assert results[stem].error is None and not results[stem].warnings
    parsed = music21.converter.parse(out / f"{stem}.musicxml")
    source = Score(str(songs[stem]))
    instruments = [i for i, t in enumerate(source.tracks) if t.note_num()]
    assert len(parsed.parts) == len(instruments)
    for part, index in zip(parsed.parts, instruments, strict=True):
        quantized = sum(len(p) for _, _, p in quantized_events(source, index))
        raw = source.tracks[index].note_num()
        assert _parsed_notes(part) == quantized
        assert quantized >= 0.9 * raw  # quantization merged few notes
    assert parsed.metadata.bestTitle == stem
    assert parsed.recurse().getElementsByClass("MetronomeMark").first().number in (100, 120)


def test_fixture_score_keeps_key_meters_tempo_and_drum_staff(score_run):
    import music21

    out, _ = score_run
    parsed = music21.converter.parse(out / "fixture.musicxml")
    drums, bass = parsed.parts[0], parsed.parts[1]
    assert drums.partName == "Drums"
    assert isinstance(
        drums.recurse().getElementsByClass("Clef").first(), music21.clef.PercussionClef
    )
    assert bass.recurse().getElementsByClass("KeySignature").first().sharps == -2
    meters = [ts.ratioString for ts in bass.recurse().getElementsByClass("TimeSignature")]
    assert meters == ["4/4", "7/8", "4/4"]
    assert len(bass.getElementsByClass("Measure")) == 13  # the last string chord lasts 2 bars
    marks = [m.number for m in parsed.recurse().getElementsByClass("MetronomeMark")]
    assert marks == [100, 132]
    marks = [m.content for m in drums.recurse().getElementsByClass("RehearsalMark")]
    assert marks == ["Intro", "Verse"]
    flute = parsed.parts[4]
    assert any(n.duration.tuplets for n in flute.recurse().notes)  # the triplets survived


def test_svg_pages_exist_and_are_not_trivial(score_run):
    out, _ = score_run
    for stem in ("generated", "fixture", "generated.lead"):
        svg = out / f"{stem}-1.svg"
        assert svg.stat().st_size > 10_000 and "<svg" in svg.read_text()[:500]


def test_svg_engraves_in_another_thread(score_run, tmp_path):
    """verovio keeps its font path per thread: the studio engraves in a worker thread."""
    from concurrent.futures import ThreadPoolExecutor

    from tribute.rendering.score import engrave_svg

    out, _ = score_run
    with ThreadPoolExecutor(1) as pool:
        pages = pool.submit(engrave_svg, out / "fixture.musicxml", tmp_path / "fixture").result()
    assert pages and pages[0].stat().st_size > 10_000


@needs_mscore
def test_pdf_pages_exist_and_are_not_trivial(score_run):
    out, _ = score_run
    for stem in ("generated", "fixture", "generated.lead", "drums_only"):
        pdf = out / f"{stem}.pdf"
        assert pdf.read_bytes()[:5] == b"%PDF-" and pdf.stat().st_size > 5_000


def test_lead_sheet_has_the_melody_and_the_progression(score_run, songs):
    import music21

    out, _ = score_run
    sheet = music21.converter.parse(out / "generated.lead.musicxml")
    assert len(sheet.parts) == 1 and sheet.parts[0].partName == "Vocals"
    chords = list(sheet.recurse().getElementsByClass("ChordSymbol"))
    # band_song plays a major triad on each bar's degree of C major, four bars repeated.
    source = Score(str(songs["generated"]))
    guitar = source.tracks[2].notes.numpy()
    roots = [
        int(p) % 12
        for p, t in zip(guitar["pitch"], guitar["time"], strict=True)
        if t % (4 * TPQ) == 0
    ][::3]
    expected = [r for i, r in enumerate(roots) if i == 0 or r != roots[i - 1]]
    assert [c.root().pitchClass for c in chords] == expected
    assert all(c.chordKind == "major" for c in chords)
    assert _parsed_notes(sheet.parts[0]) == source.tracks[3].note_num()
    # A diatonic melody in C needs no accidentals: the chords' C#s must not put naturals on it.
    assert "<accidental" not in (out / "generated.lead.musicxml").read_text()


def test_drums_only_song_gets_a_percussion_score_and_no_lead_sheet(score_run):
    import music21

    out, results = score_run
    result = results["drums_only"]
    assert result.error is None
    assert result.warnings == ["no lead sheet: no pitched melody (a drums-only song?)"]
    parsed = music21.converter.parse(out / "drums_only.musicxml")
    assert len(parsed.parts) == 1
    assert not (out / "drums_only.lead.musicxml").exists()


def test_chords_split_a_bar_only_when_the_harmony_moves(tmp_path):
    score = Score(TPQ)
    score.time_signatures.append(TimeSignature(0, 4, 4))
    keys = Track("Keys", 0)
    for pitch in (60, 64, 67):  # C for a whole bar
        keys.notes.append(Note(0, 4 * TPQ, pitch, 80))
    for pitch in (57, 60, 64):  # Am, then F, half a bar each
        keys.notes.append(Note(4 * TPQ, 2 * TPQ, pitch, 80))
    for pitch in (53, 57, 60):
        keys.notes.append(Note(6 * TPQ, 2 * TPQ, pitch, 80))
    score.tracks.append(keys)
    assert [c.figure for c in detect_chords(score, [0])] == ["C", "Am", "F"]
    assert [c.start_tick for c in detect_chords(score, [0])] == [0, 4 * TPQ, 6 * TPQ]


def test_power_chords_and_single_notes():
    score = Score(TPQ)
    guitar = Track("Guitar", 29)
    for pitch in (40, 47, 52):  # E5: root, fifth, octave
        guitar.notes.append(Note(0, 4 * TPQ, pitch, 90))
    guitar.notes.append(Note(4 * TPQ, 4 * TPQ, 70, 90))  # one held note is no chord
    score.tracks.append(guitar)
    assert [c.figure for c in detect_chords(score, [0])] == ["E5"]


def test_rendering_imports_without_torch():
    import subprocess
    import sys

    code = (
        "import sys, tribute.rendering, tribute.rendering.audio, tribute.rendering.score, "
        "tribute.rendering.pianoroll, tribute.cli.render; "
        "assert 'torch' not in sys.modules, 'torch imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_quantization_snaps_to_sixteenths_and_triplets():
    score = Score(TPQ)
    track = Track("Lead", 80)
    for start, length in ((0, 118), (123, 600), (640, 160), (800, 160), (960, 480)):
        track.notes.append(Note(start, length, 60, 90))
    score.tracks.append(track)
    events = quantized_events(score, 0)
    assert [e[0] for e in events] == [0, Fraction(1, 4), Fraction(4, 3), Fraction(5, 3), 2]
    # The second note is cut where the third begins: one voice per staff.
    assert events[1][1] == Fraction(4, 3) - Fraction(1, 4)


def test_too_long_score_is_a_warning(tmp_path):
    score = band_song(2, bars=1)
    score.tracks[1].notes.append(Note(700 * 4 * TPQ, TPQ, 40, 90))  # bar 701
    path = tmp_path / "long.mid"
    score.dump_midi(str(path))
    [result] = render([path], tmp_path / "out", RenderConfig(score_formats=("musicxml",)))
    assert result.error is None
    assert result.warnings and "600-bar score limit" in result.warnings[0]


def test_mscore_missing_is_caught_before_any_work(songs, tmp_path, monkeypatch):
    from tribute.rendering import score as notation

    monkeypatch.setattr(notation, "MSCORE_NAMES", ("no-such-mscore",))
    with pytest.raises(TributeError, match="apt-get install musescore3"):
        render([songs["generated"]], tmp_path, RenderConfig(score_formats=("pdf",)))
    assert not list(tmp_path.glob("*.musicxml"))


# ---------------------------------------------------------------------------------------------
# Piano roll, bad input, CLI


def test_pianoroll_png_is_drawn(songs, tmp_path):
    import matplotlib.image

    results = render([songs["fixture"]], tmp_path, RenderConfig(pianoroll=True))
    assert results[0].error is None
    image = matplotlib.image.imread(tmp_path / "fixture.pianoroll.png")
    height, width = image.shape[:2]
    assert width >= 1000 and height >= 400
    assert image[..., :3].std() > 0.05  # notes, lines and labels, not a blank canvas


def test_bad_songs_are_errors_and_the_batch_goes_on(songs, tmp_path):
    paths = [songs["empty"], songs["broken"], tmp_path / "missing.mid", songs["generated"]]
    results = render(paths, tmp_path / "out", RenderConfig(pianoroll=True))
    assert [r.error is None for r in results] == [False, False, False, True]
    assert "has no notes" in results[0].error
    assert "not a readable MIDI file" in results[1].error
    assert "does not exist" in results[2].error
    summary = json.loads((tmp_path / "out" / "render.json").read_text())
    assert summary["config"]["pianoroll"] is True and len(summary["songs"]) == 4


def random_song(seed: int) -> Score:
    """Messy input: odd resolutions, meters and keys, zero and huge durations, any pitch."""
    rng = np.random.default_rng(seed)
    tpq = int(rng.choice([96, 120, 384, 960]))
    score = Score(tpq)
    score.tempos.append(Tempo(0, float(rng.choice([40, 133.3, 300]))))
    for _ in range(int(rng.integers(0, 4))):
        numerator, denominator = int(rng.choice([1, 3, 5, 7, 11])), int(rng.choice([2, 8, 16]))
        score.time_signatures.append(
            TimeSignature(int(rng.integers(0, 20 * tpq)), numerator, denominator)
        )
    score.key_signatures.append(KeySignature(0, int(rng.integers(-7, 8)), int(rng.integers(2))))
    score.markers.append(TextMeta(int(rng.integers(0, 10 * tpq)), "  "))
    for _ in range(int(rng.integers(1, 5))):
        track = Track("", int(rng.integers(128)), bool(rng.random() < 0.2))
        for _ in range(int(rng.integers(1, 80))):
            duration = int(rng.choice([0, 1, int(rng.integers(1, 20 * tpq))]))
            start, pitch = int(rng.integers(0, 40 * tpq)), int(rng.integers(0, 128))
            track.notes.append(Note(start, duration, pitch, int(rng.integers(1, 128))))
        score.tracks.append(track)
    return score


def test_messy_songs_never_crash(tmp_path):
    paths = []
    for seed in range(4):
        paths.append(tmp_path / f"messy{seed}.mid")
        random_song(seed).dump_midi(str(paths[-1]))
    config = RenderConfig(score_formats=("musicxml",), lead_sheet=True, pianoroll=True)
    for result in render(paths, tmp_path / "out", config):
        assert result.error is None
        assert all("drums-only" in w for w in result.warnings), result.warnings


def test_same_file_names_get_distinct_outputs(tmp_path):
    a = write_song(tmp_path / "a" / "song.mid", 1, bars=2)
    b = write_song(tmp_path / "b" / "song.mid", 2, bars=2)
    render([a, b], tmp_path / "out", RenderConfig(pianoroll=True))
    assert {p.name for p in (tmp_path / "out").glob("*.png")} == {
        "song.pianoroll.png",
        "song-2.pianoroll.png",
    }


def test_scores_in_memory_render_like_files(tmp_path):
    score = band_song(5, bars=2)
    results = render(
        [("My Song", score), ("My Song", Score(TPQ))],
        tmp_path,
        RenderConfig(pianoroll=True, score_formats=("musicxml",)),
    )
    assert results[0].error is None and results[0].source == "(in memory)"
    assert (tmp_path / "My-Song.pianoroll.png").is_file()
    assert (tmp_path / "My-Song.musicxml").is_file()
    assert results[1].error == "My Song has no notes"


def test_cli_render(songs, tmp_path, capsys):
    code = main(
        [
            "render",
            str(songs["generated"]),
            "--score",
            "musicxml",
            "--pianoroll",
            "--out",
            str(tmp_path),
        ]
    )
    assert code == 0
    assert (tmp_path / "generated.musicxml").is_file()
    assert (tmp_path / "generated.pianoroll.png").is_file()
    assert "generated.mid" in capsys.readouterr().out
    code = main(["render", str(songs["empty"]), "--pianoroll", "--out", str(tmp_path)])
    assert code == 2
    assert "has no notes" in capsys.readouterr().err


def test_cli_help_lists_examples(capsys):
    with pytest.raises(SystemExit):
        main(["render", "--help"])
    assert "examples:" in capsys.readouterr().out


def test_a_generated_sixteen_bar_band_song_engraves_without_tuplets(tmp_path):
    """Onsets on the 16th grid, lengths as a REMI model writes them (any twelfth of a beat):
    a few pages, one staff per part with its name, and no tuplet the music does not play."""
    import random

    import music21

    rng = random.Random(3)
    song = band_song(5, bars=16).resample(24)
    for track in song.tracks:
        for note in track.notes:
            note.duration = max(1, note.duration + rng.choice((-4, -2, 0, 2, 6)))  # 1/12 beats
    path = tmp_path / "song.mid"
    song.dump_midi(str(path))
    formats = ("musicxml", "pdf") if find_mscore() else ("musicxml",)
    [result] = render([path], tmp_path / "out", RenderConfig(score_formats=formats))
    assert result.error is None, result.error
    parsed = music21.converter.parse(tmp_path / "out" / "song.musicxml")
    assert [p.partName for p in parsed.parts] == ["Drums", "Bass", "Guitar", "Vocals"]
    tuplets = [n for n in parsed.recurse().notesAndRests if n.duration.tuplets]
    assert not tuplets, f"{len(tuplets)} tuplets, e.g. {tuplets[0].duration}"
    if find_mscore():
        pdf = (tmp_path / "out" / "song.pdf").read_bytes()
        pages = len(re.findall(rb"/Type\s*/Page[^s]", pdf))
        assert 1 <= pages <= 4, pages


def test_a_tenor_voice_reads_the_octave_treble_clef():
    import music21

    from tribute.rendering.score import to_music21

    score = Score(480)
    for name, program in (("Tenor", 52), ("Tenor Sax", 66)):
        track = Track(name, program, False)
        track.notes.extend(Note(i * 480, 480, 55 + i, 80) for i in range(4))
        score.tracks.append(track)
    parts = to_music21(score, "t").parts
    clefs = [p.recurse().getElementsByClass("Clef").first() for p in parts]
    assert isinstance(clefs[0], music21.clef.Treble8vbClef)
    assert not isinstance(clefs[1], music21.clef.Treble8vbClef)
