"""``tribute compose``: new songs in a style, with song form, controls and the originality guard.

Per batch of songs (whose form, when none was given, is that of one of the model's training
songs: :mod:`tribute.corpus.forms`): each distinct section of the form is generated once,
conditioned on the song so far (BOS, style tokens, primer, earlier sections; sliding when longer
than the model's context); a section that comes back repeats its first occurrence, optionally
with a freshly sampled last bar. The tokens decode to a Score that gets the requested tempo and
time signature, exactly the requested bars and a marker per section. Every candidate is then
checked against the model's training corpora; a ``copy`` is rejected and resampled with the next
seed of that song.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from tribute.composition.arrange import arrange
from tribute.composition.candidate import (
    Candidate,
    candidate_record,
    lead_run,
    nearest_title,
    rejection,
    timing,
)
from tribute.composition.controls import Controls, with_learned_form
from tribute.composition.lineup import Part, parse_lineup
from tribute.composition.plan import PlannedSection, plan_song
from tribute.composition.primer import Primer
from tribute.composition.record import SongRecord, jsonable
from tribute.composition.sampler import BarSampler, SamplerConfig
from tribute.composition.vocab import TokenTable
from tribute.corpus.forms import read_forms
from tribute.errors import TributeError
from tribute.modeldir import StyleModel, load_style_model, resolve_style

RETRY_SEED_STEP = 1_000_003  # retry k of song seed s uses s + k · this
CANDIDATE_SEED_STEP = 7_919  # candidate c of a try uses its seed + c · this
REFUSED = "refused: every candidate copied a training song"


@dataclass(frozen=True)
class ComposeConfig:
    """How many songs, from which seed, with which guard; the musical controls are
    :class:`~tribute.composition.controls.Controls`."""

    n: int = 1
    style: str | None = None
    seed: int = 0
    batch_size: int = 4
    primer: str | None = None
    guard: bool = True
    against: tuple[str, ...] | None = None  # default: the corpora the model learned from
    max_retries: int = 3
    name: str = "song"
    device: str | None = None
    render: bool = False  # also write WAV, piano roll and score beside each song
    candidates: int = 1  # sampled per song; the highest style score among non-copies is kept
    base: str | None = None  # the genre model for the style score (default: the recorded one)
    style_score: bool = True  # score every song's style when a base model is known

    def __post_init__(self) -> None:
        if self.n < 1:
            raise TributeError("-n must be at least 1")
        if self.batch_size < 1 or self.max_retries < 0:
            raise TributeError("--batch-size must be ≥ 1 and --max-retries ≥ 0")
        if self.candidates < 1:
            raise TributeError("--candidates must be at least 1")


@dataclass
class Composer:
    """A loaded model with its controls compiled; composes batches of songs."""

    style_model: StyleModel
    controls: Controls
    config: ComposeConfig
    table: TokenTable
    parts: tuple[Part, ...]
    styles: list[str] = field(default_factory=list)
    primer: Primer | None = None
    checker: Any = None  # tribute.originality.Checker, when the guard is on
    scorer: Any = None  # tribute.stylescore.StyleScorer, when a base model is known
    # Progress events for a front end (the studio): dicts with an "event" key — "section"
    # (section, index, sections, bars), "bar" (bars_done, bars, tokens_per_s) and "song"
    # (song, verdict). A callback may raise to cancel the work.
    on_progress: Callable[[dict], None] | None = None
    asked: Controls | None = None  # as given, when a learned form is drawn per batch
    forms: list | None = None  # the model's training songs' forms (read once, when asked for)

    @classmethod
    def open(
        cls,
        model: str | Path | StyleModel,
        controls: Controls,
        config: ComposeConfig | None = None,
        log=print,
    ) -> Composer:
        """Compile ``controls`` for a model (a folder, or one already loaded)."""
        config = config or ComposeConfig()
        style_model = (
            model if isinstance(model, StyleModel) else load_style_model(model, config.device)
        )
        tokenizer = style_model.tokenizer
        styles = resolve_style(tokenizer, config.style, style_model.default_style)
        table = TokenTable.of(tokenizer)
        primer = Primer.read(config.primer, tokenizer, table) if config.primer else None
        parts = _lineup(style_model, controls, primer, styles)
        forms = read_forms(style_model.path) if controls.learned_form else None
        composer = cls(
            style_model, controls, config, table, parts, styles, primer, asked=controls, forms=forms
        )
        composer.draw_form(config.seed)
        composer._plan(primer)  # an impossible request fails before any sampling
        if config.guard:
            composer.checker = _checker(style_model, config.against, log)
        composer.scorer = _scorer(style_model, config, log)
        return composer

    def draw_form(self, seed: int) -> None:
        """The form of the next batch: when the controls ask for a learned one, that of a
        training song drawn by ``seed`` (songs of one batch share their form)."""
        if self.asked is not None:
            self.controls = with_learned_form(self.asked, self.forms, seed)

    def _plan(self, primer: Primer | None) -> list[PlannedSection]:
        """The sampler's plan per section, given a primer (whose bars come first)."""
        if primer is not None and not primer.programs <= {p.program for p in self.parts}:
            raise TributeError(
                f"the primer uses programs "
                f"{sorted(primer.programs - {p.program for p in self.parts})} outside the "
                f"line-up ({', '.join(f'{p.name}={p.program}' for p in self.parts)})"
            )
        tokenizer = self.style_model.tokenizer
        return plan_song(
            self.table, tokenizer, self.controls, self.parts, primer.bars if primer else 0
        )

    # ---------------------------------------------------------------------------------------

    def compose(self, out: str | Path, log=print) -> list[SongRecord]:
        """Write ``n`` songs (``NAME-01.mid`` + ``NAME-01.json`` …) into ``out``."""
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        records: list[SongRecord] = []
        for first in range(0, self.config.n, self.config.batch_size):
            indices = list(range(first, min(self.config.n, first + self.config.batch_size)))
            self.draw_form(self.config.seed + first)
            records += self._batch(indices, out, log)
        if self.config.render:
            from tribute.rendering import band_outputs, render

            midis = [out / r.midi for r in records if r.midi]
            for result in render(midis, out, band_outputs()) if midis else []:
                problems = [result.error] if result.error else result.warnings
                log(
                    f"rendered {result.title}: {len(result.outputs)} files"
                    + (f" ({'; '.join(problems)})" if problems else "")
                )
        return records

    def _batch(self, indices: list[int], out: Path, log) -> list[SongRecord]:
        """Songs ``indices``: ``candidates`` each, copies rejected and resampled (at most
        ``max_retries`` times), the most artist-like original kept."""
        rejected: dict[int, list[dict]] = {i: [] for i in indices}
        tried: dict[int, list[dict]] = {i: [] for i in indices}
        accepted: dict[int, tuple[Candidate, dict]] = {}
        pending = list(indices)
        for attempt in range(self.config.max_retries + 1):
            jobs = [
                (i, self.config.seed + i + attempt * RETRY_SEED_STEP + k * CANDIDATE_SEED_STEP)
                for i in pending
                for k in range(self.config.candidates)
            ]
            started = time.perf_counter()
            made, forward = self._generate_all([seed for _, seed in jobs])
            seconds = (time.perf_counter() - started) / len(pending)
            for i in pending:
                mine = [c for (song, _), c in zip(jobs, made, strict=True) if song == i]
                best = self._choose(i, mine, rejected[i], tried[i], log)
                if best is not None:
                    accepted[i] = (best, timing(best, seconds, len(pending), forward))
            pending = [i for i in pending if i not in accepted]
            if not pending:
                break
        return [
            self._write(out, i, *accepted[i], rejected[i], log, tried[i])
            if i in accepted
            else self._write_refusal(out, i, rejected[i], log)
            for i in indices
        ]

    def best_of(self, seeds: list[int]) -> list[Candidate]:
        """One song per seed, each the most artist-like (lowest style bits) of ``candidates``
        samples (seeds ``seed + k · CANDIDATE_SEED_STEP``); no guard — for measuring what
        selection does (``tribute evaluate --candidates``)."""
        k = self.config.candidates
        made, _ = self._generate_all([s + j * CANDIDATE_SEED_STEP for s in seeds for j in range(k)])
        if k == 1 or self.scorer is None:
            return made
        self._score_styles(made)
        return [min(made[i * k : (i + 1) * k], key=_style_rank) for i in range(len(seeds))]

    def _score_styles(self, candidates: list[Candidate]) -> None:
        """Each candidate's style score; one without notes has none (and ranks last)."""
        sounding = [c for c in candidates if c.score.note_num()]
        if self.scorer is not None and sounding:
            styles = self.scorer.score([c.score for c in sounding])
            for candidate, style in zip(sounding, styles, strict=True):
                candidate.style = style

    def _generate_all(self, seeds: list[int]) -> tuple[list[Candidate], int]:
        """Candidates for every seed, ``batch_size`` rows at a time."""
        made: list[Candidate] = []
        forward = 0
        size = self.config.batch_size
        for first in range(0, len(seeds), size):
            candidates, tokens = self.generate(seeds[first : first + size])
            made += candidates
            forward += tokens
        return made, forward

    def _choose(
        self, index: int, candidates: list[Candidate], rejected: list[dict], tried: list[dict], log
    ) -> Candidate | None:
        """The guard's verdict on each candidate; of the originals, the highest style score
        (ties: the shorter longest shared run); None when every one copied."""
        originals = []
        for candidate in candidates:
            if self._check(candidate, index) == "copy":
                rejected.append(rejection(candidate))
                log(
                    f"{self._name(index)}: candidate (seed {candidate.seed}) rejected as a copy "
                    f"of {nearest_title(candidate.report)}; resampling"
                )
            else:
                originals.append(candidate)
        self._score_styles(originals)
        for candidate in candidates:
            tried.append(candidate_record(candidate))
        if not originals:
            return None
        if self.scorer is None:
            return min(originals, key=lead_run)
        return min(originals, key=lambda c: (_style_rank(c), lead_run(c)))

    def generate(
        self, seeds: list[int], primer: Primer | None = None
    ) -> tuple[list[Candidate], int]:
        """One candidate per seed (a batch), and the tokens pushed through the model.
        ``primer`` overrides the composer's own (e.g. evaluation's prefix prompts)."""
        primer = primer or self.primer
        planned = self._plan(primer)
        tokenizer = self.style_model.tokenizer
        sampler = BarSampler(
            self.style_model.model,
            self.table,
            tokenizer.pad_id,
            tokenizer.bos_id,
            self.style_model.context_tokens,
            SamplerConfig(self.controls.temperature, self.controls.top_p),
        )
        generators = [torch.Generator().manual_seed(s) for s in seeds]
        prefix = tokenizer.prompt(tokenizer.styles_named(self.styles))
        started = time.perf_counter()
        if self.on_progress is not None:
            report = self.on_progress

            def on_bar(done: int, asked: int) -> None:
                seconds = max(time.perf_counter() - started, 1e-9)
                report(
                    {
                        "event": "bar",
                        "bars_done": done,
                        "bars": asked,
                        "tokens_per_s": round(sampler.forward_tokens / seconds, 1),
                    }
                )

            sampler.on_bar = on_bar
        histories = [list(primer.tokens) if primer else [] for _ in seeds]
        first_of: dict[str, list[list[int]]] = {}
        for index, step in enumerate(planned):
            section = step.section
            if self.on_progress is not None:
                self.on_progress(
                    {
                        "event": "section",
                        "section": section.name,
                        "index": index,
                        "sections": len(planned),
                        "bars": section.bars,
                    }
                )
            if section.name not in first_of:
                new = sampler.bars(
                    [prefix + h for h in histories],
                    [len(prefix)] * len(seeds),
                    section.bars,
                    generators,
                    step.plan,
                )
                first_of[section.name] = new
            else:
                new = [self._bars_of(tokens, section.bars) for tokens in first_of[section.name]]
                if self.controls.vary_repeats and section.bars > 1:
                    new = self._vary_last_bar(sampler, prefix, histories, new, generators, step)
            for history, tokens in zip(histories, new, strict=True):
                history.extend(tokens)
        sections = _section_records(planned)
        candidates = []
        for seed, history in zip(seeds, histories, strict=True):
            arranged = arrange(
                tokenizer.decode(history),
                self.parts,
                planned,
                self.controls,
                primer.bars if primer else 0,
            )
            candidate = Candidate(
                seed, history, arranged.score, sections, dropped_notes=arranged.dropped_notes
            )
            candidate.arranged = arranged
            candidate.chords = tokenizer.chords_in(history) if tokenizer.settings.harmony else []
            candidates.append(candidate)
        return candidates, sampler.forward_tokens

    def _bars_of(self, tokens: list[int], bars: int) -> list[int]:
        """The first ``bars`` bars of a token list."""
        starts = np.flatnonzero(self.table.opener[np.asarray(tokens, dtype=np.int64)])
        return tokens[: starts[bars]] if len(starts) > bars else list(tokens)

    def _vary_last_bar(self, sampler, prefix, histories, repeats, generators, step):
        heads = []
        for tokens in repeats:
            starts = np.flatnonzero(self.table.opener[np.asarray(tokens, dtype=np.int64)])
            heads.append(tokens[: starts[-1]] if len(starts) else list(tokens))
        plan = replace(step.plan, chords=step.plan.chords[-1:])
        tails = sampler.bars(
            [prefix + h + head for h, head in zip(histories, heads, strict=True)],
            [len(prefix)] * len(heads),
            1,
            generators,
            plan,
        )
        return [head + tail for head, tail in zip(heads, tails, strict=True)]

    # ---------------------------------------------------------------------------------------

    def _check(self, candidate: Candidate, index: int) -> str | None:
        if self.checker is None:
            return None
        from tribute.originality.check import song_from_score

        song = song_from_score(candidate.score, self._name(index))
        candidate.report = self.checker.check(song)
        return candidate.report.verdict

    def _name(self, index: int) -> str:
        return f"{self.config.name}-{index + 1:02d}"

    def _record(self, index: int, **fields) -> SongRecord:
        """A record with this composer's identity (model, styles, controls, primer)."""
        return SongRecord(
            song=self._name(index),
            model=str(self.style_model.path.resolve()),
            styles=self.styles,
            controls=self.controls.to_json(),
            tokenizer=self.style_model.tokenizer.fingerprint,
            requested_seed=self.config.seed + index,
            primer=self.config.primer,
            primer_bars=self.primer.bars if self.primer else 0,
            **fields,
        )

    def _write(
        self,
        out: Path,
        index: int,
        candidate: Candidate,
        timing: dict,
        rejected: list[dict],
        log,
        tried: list[dict] | None = None,
    ) -> SongRecord:
        midi = out / f"{self._name(index)}.mid"
        candidate.score.dump_midi(str(midi))
        music_s = timing["music_seconds"]
        timing["realtime_factor"] = (
            round(music_s / timing["seconds"], 2) if timing["seconds"] else None
        )
        report = candidate.report
        record = self._record(
            index,
            midi=midi.name,
            seed=candidate.seed,
            form=candidate.sections,
            bars=(self.primer.bars if self.primer else 0) + self.controls.bars,
            tracks=[
                {
                    "name": t.name,
                    "program": int(t.program),
                    "is_drum": bool(t.is_drum),
                    "notes": int(t.note_num()),
                }
                for t in candidate.score.tracks
            ],
            parts=[
                {**p.to_json(), "notes": candidate.arranged.notes_per_part.get(p.name, 0)}
                for p in self.parts
            ],
            chords=candidate.chords,
            notes=int(candidate.score.note_num()),
            dropped_notes=candidate.dropped_notes,
            arranging={
                "merged_notes": candidate.arranged.merged_notes,
                "folded_notes": candidate.arranged.folded_notes,
            },
            guard="on" if self.checker is not None else "off (--no-guard)",
            verdict=report.verdict if report else None,
            originality=jsonable(report.to_json()) if report else None,
            nearest=jsonable(report.nearest[:3]) if report else None,
            rejected=rejected,
            timings=timing,
            style=candidate.style.to_json() if candidate.style is not None else None,
            candidates=tried if tried and len(tried) > 1 else [],
        )
        record.write(out)
        if self.on_progress is not None:
            self.on_progress({"event": "song", "song": record.song, "verdict": record.verdict})
        verdict = f", originality: {report.verdict}" if report else ", guard off"
        style = f"; {candidate.style.text()}" if candidate.style is not None else ""
        log(
            f"{midi}: {len(candidate.score.tracks)} tracks, {record.notes} notes, "
            f"{music_s:.0f} s of music in {timing['seconds']:.1f} s{verdict}"
            + (f", {len(rejected)} candidate(s) rejected" if rejected else "")
            + style
        )
        return record

    def _write_refusal(self, out: Path, index: int, rejected: list[dict], log) -> SongRecord:
        record = self._record(index, midi=None, verdict=REFUSED, rejected=rejected)
        record.write(out)
        log(
            f"{record.song}: no original candidate in {len(rejected)} tries; nothing written "
            f"(see {record.song}.json)"
        )
        return record


def compose(
    model: str | Path | StyleModel,
    out: str | Path,
    controls: Controls | None = None,
    config: ComposeConfig | None = None,
    log=print,
) -> list[SongRecord]:
    """Compose ``config.n`` songs with ``controls`` into folder ``out``; returns their records."""
    return Composer.open(model, controls or Controls(), config, log).compose(out, log)


def _lineup(
    style_model: StyleModel, controls: Controls, primer: Primer | None, styles: list[str]
) -> tuple:
    """The parts: ``--instruments`` against what the model's corpus plays; else the primer's
    programs; else the typical line-up of the style's songs (or of the corpus)."""
    programs = style_model.programs().for_styles(styles)
    if controls.instruments is None and primer is not None:
        text = ",".join(str(p) for p in sorted(primer.programs))
        return parse_lineup(text, programs)
    return parse_lineup(controls.instruments, programs)


def _section_records(planned: list[PlannedSection]) -> list[dict]:
    seen: dict[str, int] = {}
    records = []
    for step in planned:
        name = step.section.name
        records.append(
            {
                "name": name,
                "bars": step.section.bars,
                "start_bar": step.start_bar,
                "repeat_of_bar": seen.get(name),
                "parts": [p.name for p in step.parts],
            }
        )
        seen.setdefault(name, step.start_bar)
    return records


def _checker(style_model: StyleModel, against, log):
    from tribute.originality import Checker

    corpora = list(against) if against else style_model.training_corpora()
    missing = [c for c in corpora if not (Path(c) / "corpus.json").is_file()]
    if against and missing:
        raise TributeError(f"--against: {', '.join(missing)} is not a corpus")
    found = [c for c in corpora if c not in missing]
    if not found:
        what = (
            f"its training corpora are not on this machine ({', '.join(missing)})"
            if missing
            else "the model records no training corpus"
        )
        raise TributeError(
            f"cannot run the originality guard: {what}; pass --against CORPUS or --no-guard"
        )
    if missing:  # e.g. a built-in base model's genre corpus, built on another machine
        log(
            f"originality guard: {', '.join(missing)} is not on this machine; checking against "
            f"the rest (add it with --against CORPUS)"
        )
    corpora = found
    log(f"originality guard: checking every candidate against {', '.join(corpora)}")
    return Checker.open(corpora)


def _scorer(style_model: StyleModel, config: ComposeConfig, log):
    """The style scorer, when the model's base (or ``--base``) is at hand; ``--candidates``
    needs one."""
    from tribute.stylescore import StyleScorer

    if not config.style_score and config.candidates == 1:
        return None
    if not style_model.default_style:
        if config.candidates > 1:
            raise TributeError(
                "--candidates ranks by style score, which needs a fine-tuned "
                "style model (this one has no style of its own)"
            )
        return None
    try:
        return StyleScorer.open(style_model, config.base)
    except TributeError as exc:
        if config.candidates > 1 or config.base is not None:
            raise
        log(f"no style score: {exc}")
        return None


def _style_rank(candidate: Candidate) -> float:
    """Lower is more artist-like; a candidate without a style score (no notes) ranks last."""
    return candidate.style.style_bits if candidate.style is not None else math.inf
