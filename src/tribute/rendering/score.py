"""Score: symusic → music21 at this edge; MusicXML (one part per instrument), PDF/SVG, lead sheet.

Readability over fidelity: onsets and ends snap to sixteenths or eighth-note triplets (whichever
is nearer, as music21's MIDI import does with divisors 4 and 3), notes that start together in a
track become one chord, and a note is cut where the track's next onset begins — one voice per
staff, no crossed durations. Drums go on a percussion staff with the usual drum-kit positions
and cross noteheads for cymbals.

Engraving: MuseScore 3 (``mscore3``, Debian ``musescore3``) for PDF — it needs a display, so it
runs with ``QT_QPA_PLATFORM=offscreen``; verovio (PyPI, Rism Digital) for SVG, tens of ms a page.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
from symusic import Note, Score, Track

from tribute.errors import TributeError
from tribute.music import (
    PITCH_NAMES,
    band_role,
    bar_starts,
    end_tick,
    key_sharps,
    melody_notes,
    pick_lead_track,
)
from tribute.music.harmony import detect_chords, song_key
from tribute.music.pitch import FLAT_SPELLING, SHARP_SPELLING

MAX_SCORE_BARS = 600  # ~20 min of 4/4 at 120 qpm; a longer score is a broken file, not a song
SHORTEST_REST_QUARTERS = Fraction(1, 4)  # a shorter gap before the next onset is articulation
MIN_TEMPO_CHANGE_QPM = 2.0  # smaller tempo wobbles (rubato, humanized files) are not written
MSCORE_TIMEOUT_S = 300
MSCORE_NAMES = ("mscore3", "musescore3", "mscore", "musescore")
MSCORE_HINT = "install MuseScore 3 (`apt-get install musescore3`, or run scripts/setup.sh)"

# GM drum key → (display step, octave, notehead) on a five-line percussion staff.
_DRUM_DISPLAY: dict[int, tuple[str, int, str]] = {
    # bass drums, snares and side stick, clap
    **dict.fromkeys((35, 36), ("F", 4, "normal")),
    **dict.fromkeys((38, 40), ("C", 5, "normal")),
    **dict.fromkeys((37, 39), ("C", 5, "x")),
    # toms: floor, low-mid, high
    **dict.fromkeys((41, 43), ("A", 4, "normal")),
    **dict.fromkeys((45, 47), ("D", 5, "normal")),
    **dict.fromkeys((48, 50), ("E", 5, "normal")),
    # hi-hat closed, pedal, open; crashes, china, splash; rides and ride bell
    42: ("G", 5, "x"),
    44: ("D", 4, "x"),
    46: ("G", 5, "circle-x"),
    **dict.fromkeys((49, 52, 55, 57), ("A", 5, "x")),
    **dict.fromkeys((51, 59), ("F", 5, "x")),
    53: ("F", 5, "diamond"),
}
_DRUM_OTHER = ("B", 4, "triangle")  # percussion without a kit position (cowbell, shaker, ...)


TRIPLET_MARGIN_QUARTERS = 0.02  # per onset: triplets must fit clearly better than 16ths


def beat_grids(onsets_quarters: np.ndarray) -> dict[int, int]:
    """The grid of each beat a part plays in: 3 (eighth triplets) where at least two of the
    beat's onsets sit off the 16th grid and the triplet grid fits them clearly better, else 4
    (16ths). One grid per beat: a part's notation holds no tuplet its music does not play
    (mixing the grids within a beat is what writes 6- and 12-tuplets)."""
    beats = np.floor(onsets_quarters + 1e-9).astype(np.int64)
    grids: dict[int, int] = {}
    for beat in np.unique(beats):
        q = onsets_quarters[beats == beat]
        off4 = np.abs(q - np.round(q * 4) / 4)
        off3 = np.abs(q - np.round(q * 3) / 3)
        triplet = (off4 > 0.04).sum() >= 2 and off3.sum() + TRIPLET_MARGIN_QUARTERS * len(q) < (
            off4.sum()
        )
        grids[int(beat)] = 3 if triplet else 4
    return grids


def _quantize(quarters: np.ndarray, grids: dict[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Each value on its beat's grid (16ths where the beat has no onset): (numerators, grid)."""
    beats = np.floor(quarters + 1e-9).astype(np.int64)
    grid = np.array([grids.get(int(b), 4) for b in beats], dtype=np.int64)
    return np.round(quarters * grid).astype(np.int64), grid


def quantized_events(score: Score, track_index: int) -> list[tuple[Fraction, Fraction, list[int]]]:
    """(offset, duration, MIDI pitches) in quarter notes, one entry per onset of a track.

    Durations are cut at the next onset, and stretched to it over a gap shorter than a
    sixteenth (articulation, not a rest a player would read); drum hits last until the next
    hit, at most a quarter.
    """
    track = score.tracks[track_index]
    if track.note_num() == 0:
        return []
    tpq = score.ticks_per_quarter
    notes = track.notes.numpy()
    grids = beat_grids(notes["time"] / tpq)
    start_n, start_g = _quantize(notes["time"] / tpq, grids)
    end_n, end_g = _quantize((notes["time"] + notes["duration"]) / tpq, grids)
    groups: dict[Fraction, tuple[Fraction, set[int]]] = {}
    for sn, sg, en, eg, pitch in zip(
        start_n.tolist(),
        start_g.tolist(),
        end_n.tolist(),
        end_g.tolist(),
        notes["pitch"].tolist(),
        strict=True,
    ):
        onset, end = Fraction(sn, sg), Fraction(en, eg)
        end = max(end, onset + Fraction(1, sg))  # at least one grid step
        longest, pitches = groups.get(onset, (end, set()))
        pitches.add(int(pitch))
        groups[onset] = (max(longest, end), pitches)
    onsets = sorted(groups)
    events = []
    for i, onset in enumerate(onsets):
        end, pitches = groups[onset]
        if i + 1 < len(onsets):
            following = onsets[i + 1]
            if track.is_drum:
                end = onset + 1  # a hit rings until the next one; the last keeps its length
            if end > following or following - end < SHORTEST_REST_QUARTERS:
                end = following
        events.append((onset, end - onset, sorted(pitches)))
    return events


def _instrument(track):
    from music21 import instrument

    if track.is_drum:
        inst = instrument.UnpitchedPercussion()
        inst.midiChannel = 9
    else:
        try:
            inst = instrument.instrumentFromMidiProgram(int(track.program))
        except Exception:  # music21 has no class for a few GM programs
            inst = instrument.Instrument()
            inst.midiProgram = int(track.program)
    name = track.name.strip() or inst.instrumentName or ("Drums" if track.is_drum else "Part")
    inst.partName = inst.instrumentName = name
    # Short names label the staves after the first system: "Voc.", "Bass", "Gui."
    inst.partAbbreviation = inst.instrumentAbbreviation = (
        name if len(name) <= 5 else name[:3].rstrip() + "."
    )
    return inst


def _pitch(midi: int, flats: bool):
    """A music21 Pitch spelled for the key: flats in flat keys, sharps otherwise, no ♮ marks."""
    from music21 import pitch

    name = (FLAT_SPELLING if flats else SHARP_SPELLING)[midi % 12].replace("b", "-")
    spelled = pitch.Pitch(name)
    spelled.octave = midi // 12 - 1  # set apart: "C#-1" would read as a "#-" accidental
    return spelled


def _element(pitches: Sequence[int], duration: Fraction, is_drum: bool, flats: bool = False):
    from music21 import chord, note, percussion

    if is_drum:
        hits = []
        for midi in pitches:
            step, octave, head = _DRUM_DISPLAY.get(midi, _DRUM_OTHER)
            hit = note.Unpitched(displayName=f"{step}{octave}")
            hit.notehead = head
            hits.append(hit)
        element = hits[0] if len(hits) == 1 else percussion.PercussionChord(hits)
    elif len(pitches) == 1:
        element = note.Note(_pitch(pitches[0], flats))
    else:
        element = chord.Chord([_pitch(p, flats) for p in pitches])
    element.quarterLength = duration
    return element


def _key(score: Score):
    """music21 Key from the file's first key signature, else estimated from the notes."""
    from music21 import key

    if len(score.key_signatures):
        first = min(score.key_signatures, key=lambda k: k.time)
        sharps, minor = int(first.key), int(first.tonality) == 1
        if -7 <= sharps <= 7:
            return key.KeySignature(sharps).asKey("minor" if minor else "major")
    found = song_key(score)
    if found is None:
        return None
    return key.KeySignature(key_sharps(found)).asKey(found.mode)


def _check_size(score: Score) -> int:
    """Bars of the song; a clear error for an empty or absurdly long one."""
    if end_tick(score) == 0:
        raise TributeError("the song has no notes: nothing to engrave")
    bars = len(bar_starts(score))
    if bars > MAX_SCORE_BARS:
        raise TributeError(
            f"the song has {bars} bars, over the {MAX_SCORE_BARS}-bar score "
            "limit; render audio or a piano roll instead"
        )
    return bars


def _frame(score: Score, title: str, keysig, parts: list) -> Any:
    """A music21 Score of ``parts`` with title, meters, key, tempo and bar lines filled in."""
    from music21 import expressions, metadata, meter, stream, tempo

    tpq = score.ticks_per_quarter
    bars = bar_starts(score)
    total = Fraction(bars[-1][0] + bars[-1][1].bar_ticks(tpq), tpq)
    tempos = sorted(score.tempos, key=lambda t: t.time)
    m21 = stream.Score()
    m21.metadata = metadata.Metadata(title=title)
    m21.metadata.composer = ""  # else music21 credits itself as the composer
    for index, (part, is_drum) in enumerate(parts):
        previous = None
        for bar_tick, bar_meter in bars:
            if previous != bar_meter:  # write each change at its bar line
                part.insert(
                    Fraction(bar_tick, tpq),
                    meter.TimeSignature(f"{bar_meter.numerator}/{bar_meter.denominator}"),
                )
                previous = bar_meter
        if keysig is not None and not is_drum:
            part.insert(0, keysig.__deepcopy__())
        if index == 0:
            for marker in score.markers:  # section names as rehearsal marks, on a sixteenth
                text = str(marker.text).strip()
                if text:
                    offset = Fraction(round(int(marker.time) * 4 / tpq), 4)
                    mark = expressions.RehearsalMark(text)
                    mark.placement = "above"
                    part.insert(offset, mark)
            written = None
            for change in tempos or []:
                qpm = float(change.qpm)
                if written is None or abs(qpm - written) >= MIN_TEMPO_CHANGE_QPM:
                    mark = tempo.MetronomeMark(number=round(qpm))
                    mark.placement = "above"  # MuseScore 3 puts an unplaced tempo below the staff
                    part.insert(Fraction(int(change.time), tpq), mark)
                    written = qpm
        part.makeRests(
            refStreamOrTimeRange=[0.0, total], fillGaps=True, inPlace=True, hideRests=False
        )
        part.makeMeasures(inPlace=True)
        part.makeTies(inPlace=True)
        if not is_drum:  # accidentals against the key signature, bar by bar (no ♭ on B♭ in F)
            part.makeAccidentals(inPlace=True)
            _settle_naturals(part)
        m21.insert(0, part)
    return m21


def _settle_naturals(part) -> None:
    """Give every unaltered pitch a settled, hidden natural.

    The MusicXML writer redoes accidentals on its own copy for pitches whose display is still
    open, and there it counts the lead sheet's chord symbols as notes of the bar (an A chord's
    C# would put a natural on the melody's C). Settled pitches are left as they are.
    """
    from music21 import pitch

    for p in part.pitches:
        if p.accidental is None:
            p.accidental = pitch.Accidental("natural")
            p.accidental.displayStatus = False


def to_music21(score: Score, title: str):
    """The full score: one part per non-empty track, drums on a percussion staff."""
    from music21 import clef, stream

    _check_size(score)
    keysig = _key(score)
    flats = keysig is not None and keysig.sharps < 0
    parts = []
    for index, track in enumerate(score.tracks):
        if track.note_num() == 0:
            continue
        part = stream.Part()
        inst = _instrument(track)
        part.partName = inst.partName
        part.insert(0, inst)
        if track.is_drum:
            part.insert(0, clef.PercussionClef())
        elif band_role(track.name, track.program, False) == "guitar":
            part.insert(0, clef.Treble8vbClef())  # guitar reads treble an octave up
        elif _tenor_voice(track.name):
            part.insert(0, clef.Treble8vbClef())  # as choral scores print the tenor
        for offset, duration, pitches in quantized_events(score, index):
            part.insert(offset, _element(pitches, duration, track.is_drum, flats))
        parts.append((part, track.is_drum))
    return _frame(score, title, keysig, parts)


def _tenor_voice(name: str) -> bool:
    words = name.lower().split()
    return "tenor" in words and not {"sax", "saxophone", "trombone", "horn"} & set(words)


def lead_sheet(score: Score, title: str):
    """The lead melody with a chord symbol per bar (or half bar) detected from the other tracks."""
    from music21 import harmony, stream

    _check_size(score)
    roles = [band_role(t.name, t.program, t.is_drum) for t in score.tracks]
    lead = pick_lead_track(score.tracks, roles)
    onsets, pitches, durations = melody_notes(score, lead)
    if not len(onsets):
        raise TributeError("no pitched melody (a drums-only song?)")
    melody = Score(score.ticks_per_quarter)
    source = score.tracks[lead] if lead is not None else None
    track = Track(source.name if source else "Melody", source.program if source else 0, False)
    for onset, pitch, duration in zip(
        onsets.tolist(), pitches.tolist(), durations.tolist(), strict=True
    ):
        track.notes.append(Note(onset, duration, pitch, 90))
    melody.tracks.append(track)
    others = [i for i, t in enumerate(score.tracks) if not t.is_drum and i != lead]
    pitched_others = [i for i in others if score.tracks[i].note_num() > 0]
    # A song with only a melody still gets chords: the melody's own notes imply them.
    chord_tracks = pitched_others or [i for i, t in enumerate(score.tracks) if not t.is_drum]
    chords = detect_chords(score, chord_tracks)

    keysig = _key(score)
    flats = keysig is not None and keysig.sharps < 0
    part = stream.Part()
    inst = _instrument(track)
    part.partName = inst.partName
    part.insert(0, inst)
    for offset, duration, notes in quantized_events(melody, 0):
        part.insert(offset, _element(notes, duration, False, flats))
    # Key, meters and tempo come from the whole song, not from the melody alone.
    sheet = _frame(score, title, keysig, [(part, False)])
    # Chord symbols go in after the accidentals are set: music21 would otherwise count their
    # pitches as notes of the bar (an A chord's C# would put a natural on the melody's C).
    measures = list(sheet.parts[0].getElementsByClass(stream.Measure))
    tpq = score.ticks_per_quarter
    for label in chords:
        offset = Fraction(label.start_tick, tpq)
        measure = next((m for m in reversed(measures) if m.offset <= offset), None)
        if measure is None:
            continue
        root = PITCH_NAMES[label.root].replace("b", "-")  # music21 writes flats as "-"
        symbol = harmony.ChordSymbol(root=root, kind=label.kind)
        measure.insert(offset - Fraction(measure.offset), symbol)
    return sheet


def write_musicxml(m21_score, path: Path) -> Path:
    """Uncompressed MusicXML, written atomically."""
    from music21.musicxml.m21ToXml import GeneralObjectExporter

    data = GeneralObjectExporter(m21_score).parse()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)
    return path


def find_mscore() -> str | None:
    for name in MSCORE_NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


def engrave_pdf(musicxml: Path, pdf: Path) -> Path:
    """PDF through MuseScore 3, run headless in a private settings folder."""
    exe = find_mscore()
    if exe is None:
        raise TributeError(
            f"PDF engraving needs MuseScore 3; {MSCORE_HINT} "
            "(or use --score svg, which needs no system package)"
        )
    with tempfile.TemporaryDirectory(prefix="tribute-mscore-") as home:
        # MuseScore writes settings and a font cache under $HOME: keep them out of the user's.
        env = {
            **os.environ,
            "QT_QPA_PLATFORM": "offscreen",
            "HOME": home,
            "XDG_CONFIG_HOME": home,
            "XDG_DATA_HOME": home,
            "XDG_CACHE_HOME": home,
        }
        tmp = pdf.with_name(f".{pdf.stem}.{os.getpid()}.tmp.pdf")
        try:
            done = subprocess.run(
                [exe, "-o", str(tmp), str(musicxml)],
                env=env,
                capture_output=True,
                text=True,
                timeout=MSCORE_TIMEOUT_S,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise TributeError(f"MuseScore took over {MSCORE_TIMEOUT_S} s on {musicxml}") from exc
    if done.returncode != 0 or not tmp.is_file() or tmp.stat().st_size == 0:
        tmp.unlink(missing_ok=True)
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise TributeError(f"MuseScore could not engrave {musicxml.name}: {last}")
    os.replace(tmp, pdf)
    return pdf


def engrave_svg(musicxml: Path, stem: Path) -> list[Path]:
    """One SVG per page through verovio: ``STEM-1.svg``, ``STEM-2.svg``, ..."""
    try:
        import verovio
    except ImportError as exc:
        raise TributeError("SVG engraving needs verovio: pip install 'tribute[render]'") from exc
    toolkit = verovio.toolkit()
    # verovio keeps its default resource (font) path per thread, set on import: a toolkit made in
    # another thread (the studio's worker) finds no fonts unless told where they are.
    toolkit.setResourcePath(str(Path(verovio.__file__).parent / "data"))
    # A4 portrait at verovio's 10 units/mm; scale 40 (%) fits about 6 systems a page.
    toolkit.setOptions(
        {
            "pageWidth": 2100,
            "pageHeight": 2970,
            "scale": 40,
            "adjustPageHeight": False,
            "footer": "none",
            "breaks": "auto",
        }
    )
    if not toolkit.loadData(musicxml.read_text(encoding="utf-8")):
        raise TributeError(f"verovio could not read {musicxml.name}")
    pages = []
    for page in range(1, toolkit.getPageCount() + 1):
        path = stem.with_name(f"{stem.name}-{page}.svg")
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_text(toolkit.renderToSVG(page), encoding="utf-8")
        os.replace(tmp, path)
        pages.append(path)
    return pages
