"""``tribute edit`` and ``tribute accompany``: regenerate chosen bars or parts of a song, or
write a band around a melody — keeping everything else note for note.

Method (measured against left-to-right continuation in ``benchmarks/infill_bench.py``): the
model was trained on infill examples (:mod:`tribute.tokens.infill`), so an edit is one: the
song's bars around the span are the context, the span keeps the parts that stay, and the model
writes the missing parts of the span after ``Infill_Middle`` — seeing what comes after the span
as well as before. Long spans are filled a few bars at a time, each chunk in the context of the
chunks already written. The sampler holds the regenerated parts to their programs and ranges,
and, where other parts stay, to the span's own chords.

The output is the *input file's* score with only the regenerated notes replaced: kept notes
keep their exact ticks, durations, velocities and programs at the file's own resolution.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from symusic import Note, Score, Track

from tribute.builtin import BASE
from tribute.composition.controls import Controls
from tribute.composition.lineup import DRUMS, Part, parse_lineup
from tribute.composition.record import SongRecord, jsonable
from tribute.composition.sampler import BarSampler, SamplerConfig, SectionPlan
from tribute.composition.vocab import TokenTable
from tribute.corpus.normalize import NormalizeConfig, normalize
from tribute.corpus.readers import SkipFile, read
from tribute.errors import TributeError
from tribute.modeldir import StyleModel, load_style_model, resolve_style
from tribute.music import bar_start_ticks
from tribute.tokens.infill import Bar, InfillIds, infill_example, split_bars

CHUNK_SHARE = 0.3  # of the model's context: the most one chunk's middle may take
TOKENS_PER_BAR_PART = 24  # a first guess of one part's tokens per bar (accompaniment)


@dataclass(frozen=True)
class EditConfig:
    """What to regenerate and how (``tribute edit`` / ``tribute accompany`` options)."""

    bars: tuple[int, int] | None = None  # 1-based, inclusive; None: the whole song
    parts: tuple[str, ...] | None = None  # part names, instrument words or GM numbers; None: all
    n: int = 1  # candidates, each its own seed
    seed: int = 0
    style: str | None = None
    temperature: float = 1.0
    top_p: float = 0.95
    guard: bool = True
    against: tuple[str, ...] | None = None
    name: str | None = None  # output stem (default: the input's stem + "-edit")
    device: str | None = None

    def __post_init__(self) -> None:
        if self.n < 1:
            raise TributeError("-n must be at least 1")
        if self.bars is not None and not 1 <= self.bars[0] <= self.bars[1]:
            raise TributeError(f"--bars {self.bars[0]}-{self.bars[1]} is not a range of bars")
        if self.temperature <= 0 or not 0 < self.top_p <= 1:
            raise TributeError("--temperature must be > 0 and --top-p in (0, 1]")


def parse_bars(text: str | None) -> tuple[int, int] | None:
    """``"9-16"`` or ``"9"`` → (9, 16); 1-based, inclusive."""
    if text is None:
        return None
    match = re.fullmatch(r"\s*(\d+)\s*(?:-\s*(\d+))?\s*", text)
    if not match:
        raise TributeError(f"--bars looks like 9-16 or 9, got {text!r}")
    first = int(match.group(1))
    last = int(match.group(2) or first)
    if first < 1 or last < first:
        raise TributeError(f"--bars {text!r}: an edit region of at least one bar, from bar 1")
    return first, last


@dataclass
class _Song:
    """A song being edited: the file's own score, its normalized twin and how they map."""

    original: Score
    working: Score  # normalized (24 ticks per quarter): what the model reads and writes
    track_of: dict[int, int]  # normalized program → index of the original track
    names: dict[int, str]  # normalized program → the track's name
    original_bars: np.ndarray  # bar starts in the file's ticks (one past the end too)
    bars: int

    @classmethod
    def read(cls, path: str | Path, what: str = "song") -> _Song:
        source = Path(path)
        if not source.is_file():
            raise TributeError(f"{what} {path} does not exist")
        try:
            raw = read(source, source.read_bytes())[0]
            working, _ = normalize(raw, NormalizeConfig(min_notes=1))
        except SkipFile as exc:
            raise TributeError(f"{what} {path}: {exc}") from None
        original = raw.score
        kept = [i for i, t in enumerate(original.tracks) if t.note_num() > 0]
        track_of, names = {}, {}
        for index, track in zip(kept, working.tracks, strict=False):
            program = DRUMS if track.is_drum else int(track.program)
            track_of[program], names[program] = index, track.name
        starts = bar_start_ticks(working)
        bars = len(starts)
        original_bars = bar_start_ticks(original, until_tick=1 << 40)[: bars + 1]
        return cls(original, working, track_of, names, original_bars, bars)


@dataclass
class Editor:
    """A loaded model that fills spans of songs (it must have infill tokens)."""

    style_model: StyleModel
    config: EditConfig
    table: TokenTable
    styles: list[str] = field(default_factory=list)
    checker: Any = None

    @classmethod
    def open(cls, model: str | Path | StyleModel, config: EditConfig, log=print) -> Editor:
        from tribute.composition.song import _checker

        style_model = (
            model if isinstance(model, StyleModel) else load_style_model(model, config.device)
        )
        tokenizer = style_model.tokenizer
        if not tokenizer.settings.infill:
            raise TributeError(
                f"{style_model.path} has no infill tokens (it was trained before editing "
                f"existed); use {BASE}, or pretrain/fine-tune a model with this tribute"
            )
        styles = resolve_style(tokenizer, config.style, style_model.default_style)
        editor = cls(style_model, config, TokenTable.of(tokenizer), styles)
        if config.guard:
            editor.checker = _checker(style_model, config.against, log)
        return editor

    # ---------------------------------------------------------------------------------------

    def edit(self, song_path: str | Path, out: str | Path, log=print) -> list[SongRecord]:
        """Regenerate ``config.bars`` × ``config.parts`` of a song, ``config.n`` times."""
        song = _Song.read(song_path)
        first, last = self.config.bars or (1, song.bars)
        if last > song.bars:
            raise TributeError(f"--bars {first}-{last}: the song has {song.bars} bars")
        programs = self._programs(song, self.config.parts)
        parts = self._parts(song, programs if programs is not None else set(song.track_of))
        span = (first - 1, last)
        steady = _playing_every_bar(song.working, span, {p.program for p in parts})
        return self._candidates(song, song_path, span, programs, parts, out, log, steady)

    def accompany(
        self,
        melody_path: str | Path,
        out: str | Path,
        instruments: str,
        melody_track: int | None = None,
        log=print,
    ) -> list[SongRecord]:
        """Write the parts of ``instruments`` around the melody of a file."""
        song = _Song.read(melody_path, "melody")
        _keep_melody(song, melody_track)
        asked = parse_lineup(instruments, self.style_model.programs())
        parts = tuple(p for p in asked if p.program not in song.track_of)
        if not parts:
            raise TributeError("--instruments adds no part the melody file does not already have")
        for part in asked:
            if part not in parts:
                log(f"{part.name} (program {part.program}): the melody file already plays it")
        first, last = self.config.bars or (1, song.bars)
        if last > song.bars:
            raise TributeError(f"--bars {first}-{last}: the melody has {song.bars} bars")
        programs = frozenset(p.program for p in parts)
        # A band around a melody: every part plays in every bar (the model alone leaves parts
        # out of most bars: benchmarks/accompany_bench.md).
        return self._candidates(
            song, melody_path, (first - 1, last), programs, parts, out, log, programs
        )

    # ---------------------------------------------------------------------------------------

    def _programs(self, song: _Song, names: tuple[str, ...] | None) -> frozenset[int] | None:
        """The programs of the named parts (None: every part)."""
        if names is None:
            return None
        found: set[int] = set()
        for name in names:
            word = name.strip().lower()
            matches = {p for p, n in song.names.items() if n.strip().lower() == word}
            if not matches and word.lstrip("-").isdigit():
                matches = {int(word)} & set(song.track_of)
            if not matches:
                from tribute.music import INSTRUMENT_PROGRAMS

                family = INSTRUMENT_PROGRAMS.get(word, frozenset())
                matches = {p for p in song.track_of if p in family}
            if not matches:
                parts = ", ".join(f"{n} ({p})" for p, n in song.names.items())
                raise TributeError(f"--parts {name!r}: the song has no such part ({parts})")
            found |= matches
        return frozenset(found)

    def _parts(self, song: _Song, programs) -> tuple[Part, ...]:
        """Parts (ranges, monophony) for the song's programs, from the model's corpus, under
        the song's own track names ("Bass", not the program's "Voice")."""
        items = ",".join(str(p) for p in sorted(programs))
        parts = parse_lineup(items, self.style_model.programs())
        return tuple(
            replace(p, name=song.names[p.program]) if song.names.get(p.program) else p
            for p in parts
        )

    def _candidates(
        self,
        song: _Song,
        source: str | Path,
        span: tuple[int, int],
        programs: frozenset[int] | None,
        parts: tuple[Part, ...],
        out: str | Path,
        log,
        every_bar: frozenset[int] = frozenset(),
    ) -> list[SongRecord]:
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        stem = self.config.name or f"{Path(source).stem}-edit"
        records = []
        for k in range(self.config.n):
            seed = self.config.seed + k
            started = time.perf_counter()
            working = self._fill(song, span, programs, parts, seed, every_bar)
            edited = _merged(song, working, span, programs, parts)
            record = self._record(
                f"{stem}-{k + 1:02d}",
                source,
                seed,
                span,
                programs,
                parts,
                edited,
                working,
                time.perf_counter() - started,
            )
            edited.dump_midi(str(out / f"{record.song}.mid"))
            record.write(out)
            log(
                f"{out / f'{record.song}.mid'}: bars {span[0] + 1}-{span[1]} of "
                f"{', '.join(p.name for p in parts)} regenerated (seed {seed}); "
                f"originality: {record.verdict or 'guard off'}"
            )
            records.append(record)
        return records

    def _fill(
        self,
        song: _Song,
        span: tuple[int, int],
        programs: frozenset[int] | None,
        parts: tuple[Part, ...],
        seed: int,
        every_bar: frozenset[int] = frozenset(),
    ) -> Score:
        """The working score with ``span`` × ``programs`` regenerated, chunk by chunk; the
        parts of ``every_bar`` play in each of its bars."""
        working = song.working.copy()
        generator = torch.Generator().manual_seed(seed)
        a = span[0]
        while a < span[1]:
            ids = [int(i) for i in self.style_model.tokenizer.encode(working)]
            bars = self._bars(ids)
            b = min(span[1], a + self._chunk_bars(bars, a, programs, parts))
            middle = self._middle(bars, (a, b), programs, parts, generator, every_bar)
            working = _replace(working, middle, (a, b), programs)
            a = b
        return working

    def _bars(self, ids: list[int]) -> list[Bar]:
        tok = self.style_model.tokenizer
        chords = set(tok.controls.chord_ids)
        return split_bars(
            ids, lambda i: bool(self.table.opener[i]), lambda i: i in chords, tok.base_tokens
        )

    def _chunk_bars(self, bars: list[Bar], a: int, programs, parts) -> int:
        """How many bars from ``a`` one chunk fills: its middle within CHUNK_SHARE of the
        model's context, by the span's own tokens (or a per-part guess where it is empty)."""
        room = CHUNK_SHARE * self.style_model.context_tokens
        used, count = 0.0, 0
        for bar in bars[a:]:
            own = (
                sum(
                    1
                    for e in bar.events
                    if e.startswith("Program_") and (programs is None or int(e[8:]) in programs)
                )
                * 4
            )
            used += max(own, TOKENS_PER_BAR_PART * len(parts)) + 4
            if count and used > room:
                break
            count += 1
        return max(1, count)

    def _middle(
        self,
        bars: list[Bar],
        span: tuple[int, int],
        programs,
        parts,
        generator: torch.Generator,
        every_bar: frozenset[int] = frozenset(),
    ) -> Score:
        """Sample the middle of an infill example for ``span``; decoded, its bar 0 = span."""
        tok, model = self.style_model.tokenizer, self.style_model
        start, end, middle = tok.controls.infill_ids
        markers = InfillIds(start, end, middle, tok.encode_base)
        room = int(model.context_tokens * (1 - CHUNK_SHARE)) - 8
        low, high = span[0], len(bars)
        while True:
            context, _ = infill_example(
                bars[low:high], (span[0] - low, span[1] - low), programs, markers
            )
            prefix = ([tok.bos_id] if low == 0 else []) + tok.styles_named(self.styles)
            if len(prefix) + len(context) <= room or (high <= span[1] and low >= span[0]):
                break
            if high > span[1] and (high - span[1] >= span[0] - low):
                high -= 1
            else:
                low += 1
        sampler = BarSampler(
            model.model,
            self.table,
            tok.pad_id,
            tok.bos_id,
            model.context_tokens,
            SamplerConfig(self.config.temperature, self.config.top_p),
        )
        chords = [b.chord for b in bars[span[0] : span[1]]] if programs is not None else []
        whole, leading = self.table.part_masks({p.program: (p.low, p.high) for p in parts})
        # The song keeps its own meter, tempo and key: no controls beyond the parts.
        allowed = self.table.allowed(Controls(), frozenset(p.program for p in parts)) & whole
        plan = SectionPlan(allowed, chords, leading, every_bar=every_bar)
        prompt = prefix + context + [middle]
        (new,) = sampler.bars([prompt], [len(prompt)], span[1] - span[0], [generator], plan)
        return tok.decode(new)

    def _record(
        self,
        name: str,
        source,
        seed: int,
        span,
        programs,
        parts,
        edited: Score,
        working: Score,
        seconds: float,
    ) -> SongRecord:
        regenerated = [p.name for p in parts] if programs is not None else "every part"
        record = SongRecord(
            song=name,
            midi=f"{name}.mid",
            model=str(self.style_model.path.resolve()),
            styles=self.styles,
            controls={
                "edit": {
                    "source": str(source),
                    "bars": [span[0] + 1, span[1]],
                    "regenerated": regenerated,
                }
            },
            tokenizer=self.style_model.tokenizer.fingerprint,
            requested_seed=seed,
            seed=seed,
            bars=len(bar_start_ticks(edited)),
            notes=int(edited.note_num()),
            parts=[p.to_json() for p in parts],
            timings={"seconds": round(seconds, 2)},
        )
        record.guard = "on" if self.checker is not None else "off (--no-guard)"
        if self.checker is not None:
            from tribute.originality.check import song_from_score

            report = self.checker.check(song_from_score(edited, name))
            new = _span_only(working, span, programs)
            new_report = (
                self.checker.check(song_from_score(new, f"{name}-new"))
                if (new.note_num())
                else None
            )
            record.verdict = report.verdict
            record.originality = jsonable(report.to_json())
            record.nearest = jsonable(report.nearest[:3])
            record.rejected = []
            record.controls["edit"]["new_material"] = (
                jsonable(new_report.to_json()) if new_report else None
            )
        return record


def _keep_melody(song: _Song, melody_track: int | None) -> None:
    """Reduce a melody file to its melody track (asked for, or the only pitched one)."""
    pitched = [i for i, t in enumerate(song.original.tracks) if t.note_num() and not t.is_drum]
    if melody_track is None:
        if len(pitched) != 1:
            raise TributeError(
                f"the melody file has {len(pitched)} pitched tracks; choose one with "
                f"--melody-track (1-{len(song.original.tracks)})"
            )
        melody_track = pitched[0] + 1
    index = melody_track - 1
    if index not in pitched:
        raise TributeError(f"--melody-track {melody_track}: no pitched track with notes there")
    keep = {p for p, i in song.track_of.items() if i == index}
    song.working.tracks = [
        t for t in song.working.tracks if (DRUMS if t.is_drum else int(t.program)) in keep
    ]
    song.track_of = {p: i for p, i in song.track_of.items() if p in keep}


def _playing_every_bar(score: Score, span: tuple[int, int], programs) -> frozenset[int]:
    """The programs among ``programs`` with a note starting in every bar of ``span``."""
    starts = bar_start_ticks(score, until_tick=1 << 40)[: span[1] + 1]
    steady = set()
    for track in score.tracks:
        program = DRUMS if track.is_drum else int(track.program)
        if program not in programs:
            continue
        times = np.array([n.time for n in track.notes], dtype=np.int64)
        bars = np.searchsorted(starts, times, side="right") - 1
        if set(range(*span)) <= set(bars.tolist()):
            steady.add(program)
    return frozenset(steady)


def _in_span(time_: int, starts: np.ndarray, span: tuple[int, int]) -> bool:
    return bool(starts[span[0]] <= time_ < starts[span[1]])


def _replace(
    working: Score, middle: Score, span: tuple[int, int], programs: frozenset[int] | None
) -> Score:
    """``working`` with its span's notes of ``programs`` replaced by the middle's."""
    out = working.copy()
    starts = bar_start_ticks(out, until_tick=1 << 40)
    offset = int(starts[span[0]])
    by_program = {(DRUMS if t.is_drum else int(t.program)): t for t in out.tracks}
    for track in out.tracks:
        program = DRUMS if track.is_drum else int(track.program)
        if programs is None or program in programs:
            track.notes = [n for n in track.notes if not _in_span(int(n.time), starts, span)]
    for track in middle.tracks:
        program = DRUMS if track.is_drum else int(track.program)
        if programs is not None and program not in programs:
            continue
        target = by_program.get(program)
        if target is None:
            target = Track(track.name, max(program, 0), program == DRUMS)
            out.tracks.append(target)
            by_program[program] = target
        for note in track.notes:
            time_ = offset + int(note.time)
            if time_ < starts[span[1]]:
                end = min(time_ + int(note.duration), int(starts[span[1]]))
                target.notes.append(Note(time_, max(1, end - time_), note.pitch, note.velocity))
    return out


def _merged(
    song: _Song,
    working: Score,
    span: tuple[int, int],
    programs: frozenset[int] | None,
    parts: tuple[Part, ...],
) -> Score:
    """The file's own score with the span's regenerated notes put in at its resolution."""
    out = song.original.copy()
    starts24 = bar_start_ticks(working, until_tick=1 << 40)
    starts = song.original_bars
    scale = out.ticks_per_quarter / working.ticks_per_quarter
    names = {p.program: p.name for p in parts}
    regenerated = programs if programs is not None else frozenset(song.track_of)
    for program in regenerated:
        index = song.track_of.get(program)
        if index is None:
            index = len(out.tracks)
            out.tracks.append(
                Track(names.get(program, f"Program {program}"), max(program, 0), program == DRUMS)
            )
            song.track_of[program] = index
        track = out.tracks[index]
        track.notes = [n for n in track.notes if not _in_span(int(n.time), starts, span)]
        source = next(
            (t for t in working.tracks if (DRUMS if t.is_drum else int(t.program)) == program), None
        )
        for note in source.notes if source is not None else []:
            if _in_span(int(note.time), starts24, span):
                onset = int(starts[span[0]]) + round((note.time - starts24[span[0]]) * scale)
                track.notes.append(
                    Note(onset, max(1, round(note.duration * scale)), note.pitch, note.velocity)
                )
        track.notes.sort(key=lambda n: (n.time, n.pitch))
    return out


def _span_only(working: Score, span: tuple[int, int], programs) -> Score:
    """The regenerated material alone (for its own originality report)."""
    starts = bar_start_ticks(working, until_tick=1 << 40)
    out = working.copy()
    for track in out.tracks:
        program = DRUMS if track.is_drum else int(track.program)
        keep = programs is None or program in programs
        track.notes = [n for n in track.notes if keep and _in_span(int(n.time), starts, span)]
    out.tracks = [t for t in out.tracks if t.note_num()]
    return out
