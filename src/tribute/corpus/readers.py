"""Readers: one file in, a list of raw pieces out (a multi-tune ABC file gives several).

Each reader turns its format into a ``symusic.Score`` at whatever resolution is natural and
leaves quantization, caps and roles to :mod:`tribute.corpus.normalize`. Formats and the tool
each uses (docs/dependencies.md):

- MIDI (.mid .midi .kar, RIFF RMID unwrapped): symusic — ~0.4 ms per band song.
- ABC: the ``abc2midi`` binary bundled in the symusic wheel, one call per file with every tune
  renumbered so outputs map back to tunes unambiguously (music21 is ~100x slower and fails more).
- MusicXML (.xml .musicxml .mxl) and Humdrum **kern (.krn): music21, converted note by note to
  a Score here (its own MIDI export puts every part on program 0 and is slower).
- Guitar Pro 3/4/5: pyguitarpro.

Every reader raises :class:`SkipFile` with a one-line reason for input it cannot use.
"""

from __future__ import annotations

import codecs
import io
import re
import subprocess
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import symusic
from symusic import KeySignature, Note, Score, Tempo, TimeSignature, Track

from tribute.music import ENSEMBLE_PROGRAMS, key_name

MIDI_EXTS = {".mid", ".midi", ".kar", ".rmi"}
MUSICXML_EXTS = {".xml", ".musicxml", ".mxl"}
ABC_EXTS = {".abc"}
KERN_EXTS = {".krn"}
GP_EXTS = {".gp3", ".gp4", ".gp5"}
FORMATS = {
    **dict.fromkeys(MIDI_EXTS, "midi"),
    **dict.fromkeys(MUSICXML_EXTS, "musicxml"),
    **dict.fromkeys(ABC_EXTS, "abc"),
    **dict.fromkeys(KERN_EXTS, "kern"),
    **dict.fromkeys(GP_EXTS, "guitarpro"),
}

MAX_FILE_BYTES = 50 * 1024 * 1024  # a 50 MB MIDI is not a song
MAX_MXL_UNPACKED_BYTES = 200 * 1024 * 1024  # zip-bomb guard for compressed MusicXML
MAX_MXL_RATIO = 200  # real .mxl files compress ~10-30x
ABC_TIMEOUT_S = 30
SCORE_TPQ = 480  # resolution readers build scores at (normalization resamples)


class SkipFile(Exception):
    """This file (or piece) cannot be used; the message is the one-line reason."""


@dataclass
class RawPiece:
    score: Score
    format: str
    title: str = ""
    key: str | None = None
    part: str = ""  # "#3" for the third tune of a multi-tune file
    warnings: list[str] = field(default_factory=list)


def format_of(path: Path) -> str | None:
    return FORMATS.get(path.suffix.lower())


def read(path: Path, data: bytes) -> list[RawPiece]:
    """All pieces in one file. ``data`` is the file's bytes (already size-checked)."""
    fmt = format_of(path)
    if not data.strip():
        raise SkipFile("empty file")
    if fmt == "midi":
        return [read_midi(data)]
    if fmt == "abc":
        return read_abc(data)
    if fmt == "guitarpro":
        return [read_guitarpro(data)]
    if fmt in ("musicxml", "kern"):
        if path.suffix.lower() == ".mxl":
            check_zip(data)
        return [read_music21(path, data, fmt)]
    raise SkipFile(f"unsupported file type {path.suffix or '(none)'}")


# --------------------------------------------------------------------------------------------
# MIDI

_NOT_MIDI_MAGIC = {
    b"\x30\x26\xb2\x75\x8e\x66\xcf\x11": "audio (WMA/ASF), not a score",  # ASF header GUID
    b"RIFF": "audio (RIFF WAVE), not a score",
    b"ID3": "audio (MP3), not a score",
    b"\xff\xfb": "audio (MP3), not a score",  # MPEG-1 layer III frame sync, no ID3 tag
    b"\xff\xf3": "audio (MP3), not a score",  # MPEG-2 layer III
    b"fLaC": "audio (FLAC), not a score",
    b"OggS": "audio (Ogg), not a score",
    b"FORM": "audio (AIFF) or another IFF file, not a score",
    b"PK\x03\x04": "a zip archive",
    b"%PDF": "a PDF document",
    b"\x89PNG": "an image (PNG)",
    b"<": "text (XML/HTML)",
}


def unwrap_midi(data: bytes) -> bytes:
    """The standard MIDI bytes of ``data``: RIFF RMID unwrapped; a clear reason otherwise."""
    if data[:4] == b"RIFF" and data[8:12] == b"RMID":
        start = data.find(b"MThd")
        if start < 0:
            raise SkipFile("RIFF RMID file without a MIDI chunk")
        return data[start:]
    if data[:4] == b"MThd":
        return data
    for magic, what in _NOT_MIDI_MAGIC.items():
        if data.startswith(magic):
            raise SkipFile(f"not a MIDI file: {what}")
    if data[4:8] == b"ftyp":  # ISO media: .m4a, .mp4
        raise SkipFile("not a MIDI file: audio or video (MP4/M4A), not a score")
    # Some files carry junk (e.g. a MacBinary header) before the MIDI header.
    start = data.find(b"MThd", 0, 256)
    if start > 0:
        return data[start:]
    if _looks_like_text(data[:512]):
        raise SkipFile("not a MIDI file: looks like text")
    raise SkipFile("not a MIDI file: no MThd header")


def _looks_like_text(head: bytes) -> bool:
    printable = sum(32 <= b < 127 or b in (9, 10, 13) for b in head)
    return printable > 0.95 * len(head)


def read_midi(data: bytes) -> RawPiece:
    """One MIDI file: symusic's strict fast path first; gzip-compressed files and files it
    refuses go through :mod:`tribute.corpus.midifix`, and the piece records what was repaired."""
    warnings: list[str] = []
    if data.startswith(b"\x1f\x8b"):  # gzip magic: some scrapes store .mid.gz as .mid
        from tribute.corpus.midifix import gunzip

        data, warnings = gunzip(data)
        try:
            midi = unwrap_midi(data)
        except SkipFile as exc:
            raise SkipFile(f"gzip-compressed, and inside: {exc}") from None
    else:
        midi = unwrap_midi(data)
    try:
        score = Score.from_midi(midi)
    except Exception as exc:  # symusic raises RuntimeError with a MiniMidi message
        score = _repaired_midi(midi, f"unreadable MIDI: {_one_line(exc)}", warnings)
    key = None
    if score.key_signatures:
        key = key_name(score.key_signatures[0].key, score.key_signatures[0].tonality)
    # symusic drops the conductor track's name, so MIDI titles come from file names.
    return RawPiece(score=score, format="midi", key=key, warnings=warnings)


def _repaired_midi(midi: bytes, reason: str, warnings: list[str]) -> Score:
    """The score of a MIDI file that the fast path refused, rebuilt by the tolerant repair;
    ``warnings`` gains what was repaired. Skips with ``reason`` when nothing sensible reads."""
    from tribute.corpus.midifix import repair_midi

    try:
        fixed, repairs = repair_midi(midi)
        score = Score.from_midi(fixed)
    except SkipFile as exc:
        raise SkipFile(f"{reason} (repair: {exc})") from None
    except Exception as exc:
        raise SkipFile(f"{reason} (repair failed: {_one_line(exc)})") from None
    if not repairs:  # nothing named was wrong, yet the strict parser refused the original
        repairs = [f"repaired: rebuilt event by event ({reason})"]
    if not score.note_num():
        raise SkipFile(f"{reason} (repaired, but no notes left: {'; '.join(repairs)})")
    warnings.extend(repairs)
    return score


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:200]


# --------------------------------------------------------------------------------------------
# ABC (every tune of a multi-tune file is one piece)

_ABC2MIDI = Path(symusic.__file__).parent / "bin" / "abc2midi"


def split_abc(text: str) -> tuple[str, list[str]]:
    """(file header, tunes): each tune starts at an ``X:`` line; the header precedes the first."""
    starts = [m.start() for m in re.finditer(r"^X:", text, flags=re.M)]
    if not starts:
        # A lone tune without X: is still a tune if it has a key line.
        return "", [text] if re.search(r"^K:", text, flags=re.M) else []
    header = text[: starts[0]]
    return header, [text[a:b] for a, b in zip(starts, [*starts[1:], len(text)], strict=True)]


def _abc_field(tune: str, name: str) -> str:
    match = re.search(rf"^{name}:\s*(.*)$", tune, flags=re.M)
    return match.group(1).strip() if match else ""


def read_abc(data: bytes) -> list[RawPiece]:
    text = decode_text(data)
    header, tunes = split_abc(text)
    if not tunes:
        raise SkipFile("no ABC tune (no X:/K: lines)")
    if not _ABC2MIDI.exists():
        raise SkipFile("abc2midi is missing from the symusic installation")
    # Renumber X: 1..N so each output file maps to exactly one tune.
    numbered = [
        re.sub(r"^X:.*$", f"X:{i + 1}", tune, count=1, flags=re.M) for i, tune in enumerate(tunes)
    ]
    pieces: list[RawPiece] = []
    with tempfile.TemporaryDirectory(prefix="tribute-abc-") as tmp:
        source = Path(tmp) / "in.abc"
        source.write_text(header + "\n" + "\n\n".join(numbered), encoding="utf-8")
        try:
            subprocess.run(
                [str(_ABC2MIDI), source.name, "-o", "out.mid"]
                if len(tunes) == 1
                else [str(_ABC2MIDI), source.name],
                cwd=tmp,
                capture_output=True,
                timeout=ABC_TIMEOUT_S,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise SkipFile(f"abc2midi took longer than {ABC_TIMEOUT_S} s") from None
        for i, tune in enumerate(tunes):
            out = Path(tmp) / ("out.mid" if len(tunes) == 1 else f"in{i + 1}.mid")
            part = f"#{i + 1}" if len(tunes) > 1 else ""
            title = _abc_field(tune, "T")
            key = _abc_key(_abc_field(tune, "K"))
            if not out.exists():
                pieces.append(_skipped_piece(part, title, "abc2midi could not convert this tune"))
                continue
            try:
                score = Score.from_midi(out.read_bytes())
            except Exception as exc:
                pieces.append(
                    _skipped_piece(part, title, f"unreadable abc2midi output: {_one_line(exc)}")
                )
                continue
            titles = {t.strip() for t in re.findall(r"^T:(.*)$", tune, flags=re.M)}
            for track in score.tracks:  # abc2midi names a tune's voice after one of its titles
                if track.name.strip() in titles | {""}:
                    track.name = "Melody"
            pieces.append(RawPiece(score=score, format="abc", title=title, key=key, part=part))
    return pieces


def _skipped_piece(part: str, title: str, reason: str) -> RawPiece:
    """A placeholder for one bad tune inside a good file: an empty score with the reason."""
    return RawPiece(
        score=Score(SCORE_TPQ), format="abc", title=title, part=part, warnings=[f"skip: {reason}"]
    )


def _abc_key(field: str) -> str | None:
    match = re.match(
        r"([A-Ga-g][#b]?)\s*(m(?:in(?:or)?)?|maj(?:or)?|dor\w*|mix\w*|aeo\w*)?", field.strip()
    )
    if not match:
        return None
    tonic = match.group(1)[0].upper() + match.group(1)[1:]
    mode = (match.group(2) or "").lower()
    if mode.startswith("m") and not mode.startswith(("maj", "mix")):
        return f"{tonic} minor"
    if mode in ("", "maj", "major"):
        return f"{tonic} major"
    return f"{tonic} {mode[:3]}"


# --------------------------------------------------------------------------------------------
# MusicXML and kern through music21


def check_zip(data: bytes) -> None:
    """Refuse compressed MusicXML that would unpack to something absurd (a zip bomb)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            infos = archive.infolist()
    except zipfile.BadZipFile:
        raise SkipFile("corrupt .mxl (not a valid zip archive)") from None
    unpacked = sum(i.file_size for i in infos)
    packed = max(1, sum(i.compress_size for i in infos))
    if unpacked > MAX_MXL_UNPACKED_BYTES or unpacked / packed > MAX_MXL_RATIO:
        raise SkipFile(
            f".mxl would unpack to {unpacked / 1e6:.0f} MB "
            f"({unpacked / packed:.0f}x): refused as a possible zip bomb"
        )


# Byte-order marks, longest first: the UTF-32 LE mark starts with the UTF-16 LE one.
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def decode_text(data: bytes) -> str:
    """A text score's characters: a byte-order mark decides the encoding (27 MusicXML files of
    music21's own ``trecento`` folder are UTF-16 with a BOM, which a UTF-8 read turns into
    "not well-formed (invalid token): line 1, column 0"); UTF-16 without a mark shows as a NUL
    beside the first ``<``; anything else is UTF-8, bad bytes replaced."""
    for bom, codec in _BOMS:
        if data.startswith(bom):
            return data.decode(codec, errors="replace").lstrip("\ufeff")
    if data[:2] == b"<\0":
        return data.decode("utf-16-le", errors="replace")
    if data[:2] == b"\0<":
        return data.decode("utf-16-be", errors="replace")
    return data.decode("utf-8", errors="replace")


def read_music21(path: Path, data: bytes, fmt: str) -> RawPiece:
    import music21  # slow import (~1 s): only workers that meet MusicXML or kern pay it

    try:
        if path.suffix.lower() == ".mxl":
            # music21 parses compressed MusicXML from a path only; the bytes came from `path`.
            parsed = music21.converter.parse(str(path), format="musicxml", forceSource=True)
        else:
            parsed = music21.converter.parseData(
                decode_text(data),
                format="humdrum" if fmt == "kern" else "musicxml",
            )
    except Exception as exc:
        raise SkipFile(f"unreadable {fmt}: {_one_line(exc)}") from None
    if isinstance(parsed, music21.stream.Opus):
        parsed = parsed.scores[0] if parsed.scores else parsed
    return stream_to_piece(parsed, fmt)


def stream_to_piece(stream, fmt: str) -> RawPiece:
    """A music21 score as a RawPiece: one track per part, each with its own program."""
    import music21

    score = Score(SCORE_TPQ)
    taken: set[int] = set()
    parts = list(stream.parts) or [stream]
    for index, part in enumerate(parts):
        instrument = part.getInstrument(returnDefault=True)
        name = (part.partName or instrument.partName or instrument.instrumentName or "").strip()
        is_drum = isinstance(instrument, music21.instrument.UnpitchedPercussion)
        program = instrument.midiProgram
        if program is None or (program == 0 and not _is_keyboard(instrument)):
            program = ENSEMBLE_PROGRAMS[index % len(ENSEMBLE_PROGRAMS)]
        if not is_drum:
            while program in taken and len(taken) < 128:
                program = (program + 1) % 128
            taken.add(program)
        track = Track(name, int(program), is_drum)
        flat = part.stripTies(inPlace=False).flatten()
        for element in flat.notes:
            start = round(float(element.offset) * SCORE_TPQ)
            duration = max(1, round(float(element.quarterLength) * SCORE_TPQ))
            velocity = int(element.volume.velocity or 80) if element.volume else 80
            for pitch in _element_pitches(element):
                track.notes.append(Note(start, duration, pitch, velocity))
        score.tracks.append(track)
    flat = stream.flatten()
    for mark in flat.getElementsByClass(music21.tempo.MetronomeMark):
        qpm = mark.getQuarterBPM()
        if qpm:
            score.tempos.append(Tempo(round(float(mark.offset) * SCORE_TPQ), float(qpm)))
    for ts in flat.getElementsByClass(music21.meter.TimeSignature):
        score.time_signatures.append(
            TimeSignature(round(float(ts.offset) * SCORE_TPQ), ts.numerator, ts.denominator)
        )
    key = None
    for ks in flat.getElementsByClass(music21.key.KeySignature):
        mode = getattr(ks, "mode", None)
        minor = mode == "minor"
        score.key_signatures.append(
            KeySignature(round(float(ks.offset) * SCORE_TPQ), ks.sharps, int(minor))
        )
        if key is None:
            key = (
                f"{ks.tonic.name.replace('-', 'b')} {mode}"
                if mode in ("major", "minor")
                else key_name(ks.sharps, False)
            )
    title = ""
    if stream.metadata is not None:
        title = (stream.metadata.title or stream.metadata.movementName or "").strip()
    return RawPiece(score=score, format=fmt, title=title, key=key)


def _is_keyboard(instrument) -> bool:
    return "piano" in (instrument.instrumentName or "").lower()


def _element_pitches(element) -> list[int]:
    if element.isChord:
        return [p.midi for p in element.pitches if 0 <= p.midi <= 127]
    pitch = getattr(element, "pitch", None)
    if pitch is not None and 0 <= pitch.midi <= 127:
        return [pitch.midi]
    return []  # unpitched elements without a drum mapping


# --------------------------------------------------------------------------------------------
# Guitar Pro 3/4/5

_GP_TICKS_PER_QUARTER = 960  # pyguitarpro's Duration.quarterTime


def read_guitarpro(data: bytes) -> RawPiece:
    import guitarpro

    try:
        song = guitarpro.parse(io.BytesIO(data))
    except Exception as exc:
        raise SkipFile(f"unreadable Guitar Pro file: {_one_line(exc)}") from None
    score = Score(_GP_TICKS_PER_QUARTER)
    score.tempos.append(Tempo(0, float(song.tempo or 120)))
    if song.tracks and song.tracks[0].measures:
        header = song.tracks[0].measures[0].header
        score.time_signatures.append(
            TimeSignature(0, header.timeSignature.numerator, header.timeSignature.denominator.value)
        )
    for gp_track in song.tracks:
        is_drum = bool(gp_track.isPercussionTrack)
        program = 0 if is_drum else int(gp_track.channel.instrument)
        track = Track(gp_track.name.strip(), program, is_drum)
        tuning = [s.value for s in gp_track.strings]
        for measure in gp_track.measures:
            for voice in measure.voices:
                for beat in voice.beats:
                    start = beat.start - _GP_TICKS_PER_QUARTER  # GP counts from one quarter
                    duration = beat.duration.time
                    for note in beat.notes:
                        if note.type.name in ("rest", "dead"):
                            continue
                        if note.type.name == "tie":
                            _extend_tied(track, note, tuning, start + duration, is_drum)
                            continue
                        pitch = note.value if is_drum else tuning[note.string - 1] + note.value
                        if 0 <= pitch <= 127:
                            track.notes.append(
                                Note(
                                    max(0, start), duration, pitch, min(127, max(1, note.velocity))
                                )
                            )
        score.tracks.append(track)
    return RawPiece(score=score, format="guitarpro", title=(song.title or "").strip())


def _extend_tied(track: Track, note, tuning: list[int], end: int, is_drum: bool) -> None:
    """A GP tie continues the last note on the same string: lengthen it."""
    pitch = note.value if is_drum else tuning[note.string - 1] + note.value
    for previous in reversed(track.notes):
        if previous.pitch == pitch:
            previous.duration = max(previous.duration, end - previous.time)
            return
