"""Rendering of songs: audio (mix and stems), score (MusicXML, PDF, SVG, lead sheet), piano roll.

:func:`render` is the one entry point (``tribute render`` calls it): it reads each MIDI file once,
loads one synthesizer for the whole batch, and writes every output a :class:`RenderConfig` asks
for into one folder, with ``render.json`` recording the settings and what came out::

    OUT/SONG.wav  SONG.flac  SONG.stems/01-Drums.wav ...
    OUT/SONG.musicxml  SONG.pdf  SONG-1.svg ...  SONG.lead.musicxml  SONG.lead.pdf
    OUT/SONG.pianoroll.png  render.json

A problem with one output of one song (a lead sheet for a drums-only song, a score too long to
engrave) is recorded as a warning and the rest still renders; a song that cannot be read or has
no notes is recorded as that song's error; a missing synthesizer, SoundFont or engraver stops the
batch before any work, with the install hint.

Imports without torch; music21, matplotlib, soundfile and verovio load only when needed.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from symusic import Score

from tribute.errors import TributeError
from tribute.paths import atomic_write_text

__all__ = ["SCORE_FORMATS", "RenderConfig", "SongResult", "load_song", "render"]

SCORE_FORMATS = ("musicxml", "pdf", "svg")


@dataclass(frozen=True)
class RenderConfig:
    """What to render and how; saved as ``render.json`` beside the outputs."""

    wav: bool = False
    flac: bool = False
    stems: bool = False
    score_formats: tuple[str, ...] = ()  # subset of SCORE_FORMATS; PDF/SVG imply MusicXML
    lead_sheet: bool = False
    pianoroll: bool = False
    sample_rate_hz: int = 44_100
    soundfont: str | None = None  # None: $TRIBUTE_SOUNDFONT, then the standard paths
    target_lufs: float = -16.0
    ceiling_dbfs: float = -1.0

    def __post_init__(self) -> None:
        unknown = set(self.score_formats) - set(SCORE_FORMATS)
        if unknown:
            raise TributeError(
                f"unknown score format {sorted(unknown)[0]!r}; "
                f"choose from {', '.join(SCORE_FORMATS)}"
            )

    @property
    def audio(self) -> bool:
        return self.wav or self.flac or self.stems

    @property
    def engraved(self) -> tuple[str, ...]:
        """Engraved formats of the score and the lead sheet (the lead sheet defaults to PDF)."""
        chosen = tuple(f for f in self.score_formats if f != "musicxml")
        return chosen or (("pdf",) if self.lead_sheet and not self.score_formats else ())

    def nothing_chosen(self) -> bool:
        return not (self.audio or self.score_formats or self.lead_sheet or self.pianoroll)


@dataclass
class SongResult:
    source: str
    title: str = ""
    duration_s: float = 0.0
    outputs: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    error: str | None = None
    seconds: dict[str, float] = field(default_factory=dict)  # wall time per output kind


def band_outputs() -> RenderConfig:
    """What a band needs of a new song: a WAV mix, a piano roll and the score — a PDF where
    MuseScore is installed, else MusicXML and an SVG."""
    from tribute.rendering.score import find_mscore

    formats = ("pdf",) if find_mscore() else ("musicxml", "svg")
    return RenderConfig(wav=True, pianoroll=True, score_formats=formats)


def load_song(path: str | Path) -> Score:
    """Read a MIDI file; a one-line error for a missing, unreadable or note-less file."""
    path = Path(path)
    if not path.is_file():
        raise TributeError(f"{path} does not exist")
    try:
        score = Score(str(path))
    except Exception as exc:  # symusic raises RuntimeError/ValueError with parser details
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise TributeError(f"{path.name} is not a readable MIDI file ({detail})") from exc
    if sum(t.note_num() for t in score.tracks) == 0:
        raise TributeError(f"{path.name} has no notes")
    return score


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-.") or "track"


def _output_stems(titles: list[str]) -> list[str]:
    """File stems for the outputs, unique within the batch (song, song-2, ...)."""
    seen: dict[str, int] = {}
    stems = []
    for title in titles:
        base = _slug(title)
        seen[base] = seen.get(base, 0) + 1
        stems.append(base if seen[base] == 1 else f"{base}-{seen[base]}")
    return stems


def render(
    songs: Iterable[str | Path | tuple[str, Score]],
    out: str | Path,
    config: RenderConfig = RenderConfig(),
) -> list[SongResult]:
    """Render every song into the folder ``out``; one :class:`SongResult` each.

    A song is a MIDI file path, or a ``(title, Score)`` pair for a score already in memory (a
    freshly composed song); output names come from the file name or the title.
    """
    items = [item if isinstance(item, tuple) else Path(item) for item in songs]
    if not items:
        raise TributeError("no songs given")
    if config.nothing_chosen():
        raise TributeError(
            "nothing to render: choose --wav, --flac, --stems, --score, --lead-sheet or --pianoroll"
        )
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    synth = None
    if config.audio:
        from tribute.rendering.audio import Synth

        synth = Synth(config.soundfont, config.sample_rate_hz)  # fails fast with the hint
    if "pdf" in config.engraved:
        from tribute.rendering.score import MSCORE_HINT, find_mscore

        if find_mscore() is None:
            raise TributeError(
                f"PDF engraving needs MuseScore 3; {MSCORE_HINT} (or use --score svg)"
            )
    results = []
    try:
        titles = [item[0] if isinstance(item, tuple) else item.stem for item in items]
        for item, title, stem in zip(items, titles, _output_stems(titles), strict=True):
            in_memory = isinstance(item, tuple)
            result = SongResult(source="(in memory)" if in_memory else str(item), title=title)
            try:
                score = item[1] if isinstance(item, tuple) else load_song(item)
                if score.ttype != "Tick":  # bars, quantization and engraving work in ticks
                    score = score.to("tick")
                if in_memory and sum(t.note_num() for t in score.tracks) == 0:
                    raise TributeError(f"{title} has no notes")
                _render_one(score, out, stem, config, synth, result)
            except TributeError as exc:
                result.error = str(exc)
            results.append(result)
    finally:
        if synth is not None:
            synth.close()
    summary = {
        "config": asdict(config),
        "soundfont": str(synth.soundfont) if synth is not None else None,
        "songs": [asdict(r) for r in results],
    }
    atomic_write_text(out / "render.json", json.dumps(summary, indent=2) + "\n")
    return results


def _attempt(result: SongResult, kind: str, work) -> None:
    """Run one output's ``work``; a TributeError becomes a warning, the timing is recorded."""
    started = time.perf_counter()
    try:
        produced = work()
    except TributeError as exc:
        result.warnings.append(f"no {kind}: {exc}")
        return
    result.seconds[kind] = round(time.perf_counter() - started, 3)
    result.outputs += [str(p) for p in produced]


def _render_one(
    score: Score, out: Path, stem: str, config: RenderConfig, synth, result: SongResult
) -> None:
    from tribute.rendering.audio import song_seconds

    result.duration_s = round(song_seconds(score), 3)
    if synth is not None:
        _attempt(result, "audio", lambda: _audio(score, out, stem, config, synth))
    if config.score_formats:
        _attempt(
            result, "score", lambda: _score(score, out, stem, result.title, config, lead=False)
        )
    if config.lead_sheet:
        _attempt(
            result, "lead sheet", lambda: _score(score, out, stem, result.title, config, lead=True)
        )
    if config.pianoroll:
        from tribute.rendering.pianoroll import draw_pianoroll

        _attempt(
            result,
            "piano roll",
            lambda: [draw_pianoroll(score, out / f"{stem}.pianoroll.png", result.title)],
        )


def _audio(score: Score, out: Path, stem: str, config: RenderConfig, synth) -> list[Path]:
    from tribute.rendering.audio import loudness_gain, write_audio

    seconds = score.to("second")
    instruments = [i for i, t in enumerate(seconds.tracks) if t.note_num() > 0]
    if config.stems:
        stems = [synth.render(seconds, [i]) for i in instruments]
        mix = sum(stems[1:], stems[0].copy())  # the synth is linear: the stems sum to the mix
    else:
        stems, mix = [], synth.render(seconds)
    sr = config.sample_rate_hz
    gain = loudness_gain(mix, stems, sr, config.target_lufs, config.ceiling_dbfs)
    suffixes = [s for s, chosen in ((".wav", config.wav), (".flac", config.flac)) if chosen]
    written = [write_audio(out / f"{stem}{suffix}", mix * gain, sr) for suffix in suffixes]
    folder = out / f"{stem}.stems"
    for number, (index, audio) in enumerate(zip(instruments, stems, strict=False), start=1):
        track = seconds.tracks[index]
        name = track.name.strip() or ("drums" if track.is_drum else f"program-{track.program}")
        for suffix in suffixes or [".wav"]:
            path = folder / f"{number:02d}-{_slug(name)}{suffix}"
            written.append(write_audio(path, audio * gain, sr))
    return written


def _score(
    score: Score, out: Path, stem: str, title: str, config: RenderConfig, lead: bool
) -> list[Path]:
    from music21.exceptions21 import Music21Exception

    from tribute.rendering import score as notation

    name = f"{stem}.lead" if lead else stem
    title = f"{title} (lead sheet)" if lead else title
    try:
        m21 = notation.lead_sheet(score, title) if lead else notation.to_music21(score, title)
        musicxml = notation.write_musicxml(m21, out / f"{name}.musicxml")
    except Music21Exception as exc:  # a notation corner case music21 rejects: skip, say why
        raise TributeError(f"music21 could not notate the song ({exc})") from exc
    written = [musicxml]
    if "pdf" in config.engraved:
        written.append(notation.engrave_pdf(musicxml, out / f"{name}.pdf"))
    if "svg" in config.engraved:
        written += notation.engrave_svg(musicxml, out / name)
    return written
