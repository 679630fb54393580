"""KV-cached, batched, controlled sampling of whole bars.

The forward runs on :class:`tribute.decoder.FastDecoder` (the same weights, a lean step over a
static cache) where the model is a plain Llama, else on the Hugging Face forward with its
cache. Rows of a batch are left-padded with their own position ids, each row draws from its own
seeded generator (a song depends on its seed only), and a row that has written its bars leaves
the batch.

Controls are a boolean mask over the vocabulary (:mod:`tribute.composition.vocab`, one
:class:`SectionPlan` per call); on top of it, per row and step: the grammar state, a section
opening with a bar, a bar that runs past ``max_tokens_per_bar`` closed, positions inside the
bar, the song's time signature kept, each part's pitch range, and the planned chord opening
each bar; with ``SectionPlan.every_bar``, a bar held open (and the next part to enter chosen
among them) until each of those parts has played in it. A row stops exactly when it would open
bar ``bars + 1``.

Positions may go back inside a bar. MidiTok writes a bar's notes in time order, but a model
that has moved on while a voice still had a note at an earlier onset asks to go back: on a
chorale model fine-tuned from an early checkpoint of the base, the top choice at 5 % of steps
(0.1 % on the shipped base). Forbidding that moved the blocked probability to the bar's end
(2.7 % → 4.8 % a step) and cut a voice's notes per bar from 3.7 to 3.0, against 4.0 in real
chorales (benchmarks/density_diagnosis.md). Decoding places a note by its bar and position, so
the order does not change the music; ``ordered_positions`` restores the strict rule.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch

from tribute.composition.vocab import NO_PROGRAM, TokenTable
from tribute.decoder import FastDecoder, supports
from tribute.model import inference_threads

HOLD_TOKENS = 160  # SectionPlan.every_bar holds a bar open for at most this many tokens


@dataclass
class SectionPlan:
    """What one call of :meth:`BarSampler.bars` may write: the ids the controls allow, the
    chord each new bar opens with (None: the model's choice), per part program the ids whose
    leading pitch stays in its range, and per program in effect a logit offset per id
    (density; ``TokenTable.note_bias``)."""

    allowed: np.ndarray
    chords: list[int | None] = field(default_factory=list)
    leading: dict[int, np.ndarray] = field(default_factory=dict)
    bias: dict[int, np.ndarray] | None = None
    # Programs that start a note in every bar before it may close (an accompaniment's parts).
    every_bar: frozenset[int] = frozenset()


@dataclass(frozen=True)
class SamplerConfig:
    temperature: float = 1.0
    top_p: float = 0.95
    max_tokens_per_bar: int = 384  # dense band bars are ~130 BPE tokens (docs/dependencies.md)
    ordered_positions: bool = False  # positions only rise inside a bar (see the module's notes)


@dataclass
class _Row:
    tokens: list[int]  # the context the row continues (prefix + history)
    prefix_len: int  # BOS + style tokens: always kept when the context slides
    new: list[int]
    chords: list[int | None] = field(default_factory=list)  # forced chord id per new bar
    program: int = NO_PROGRAM  # the last Program event: the next leading pitch is its note
    position: int = -1  # the last Position in the current bar (-1: none yet)
    beats: int = 4  # beats of the current bar (its TimeSig)
    meter: int = 0  # the song's TimeSig (numerator · 64 + denominator) once known: it holds
    state: int = 0  # grammar state (tribute.composition.vocab): a section starts at "start"
    bars: int = 0
    since_bar: int = 0
    played: set[int] = field(default_factory=set)  # programs with a note in the current bar
    done: bool = False


class _HFEngine:
    """The Hugging Face forward with its own cache (models FastDecoder does not reproduce)."""

    def __init__(self, model) -> None:
        self.model = model
        self.cache = None
        self.mask: torch.Tensor | None = None

    def prefill(self, ids, mask, positions) -> torch.Tensor:
        out = self.model(input_ids=ids, attention_mask=mask, position_ids=positions, use_cache=True)
        self.cache, self.mask = _cache_of(out), mask
        return out.logits[:, -1]

    def step(self, ids, positions) -> torch.Tensor:
        assert self.mask is not None
        self.mask = torch.cat([self.mask, torch.ones_like(self.mask[:, :1])], dim=1)
        out = self.model(
            input_ids=ids[:, None],
            attention_mask=self.mask,
            position_ids=positions[:, None],
            use_cache=True,
            **{_CACHE_ARGUMENT: self.cache},
        )
        self.cache = _cache_of(out)
        return out.logits[:, -1]

    def select(self, rows) -> None:
        assert self.cache is not None and self.mask is not None
        self.cache.batch_select_indices(rows)
        self.mask = self.mask[rows]


def _cache_argument() -> str:
    """transformers 5.2x calls the cache argument ``cache`` (``past_key_values`` before)."""
    import inspect

    from transformers import LlamaForCausalLM

    return (
        "cache"
        if "cache" in inspect.signature(LlamaForCausalLM.forward).parameters
        else ("past_key_values")
    )


_CACHE_ARGUMENT = _cache_argument()


def _cache_of(output):
    return getattr(output, "cache", None) or output.past_key_values


class BarSampler:
    """Generates a given number of bars for each of several contexts at once."""

    def __init__(
        self,
        model,
        table: TokenTable,
        pad_id: int,
        bos_id: int,
        max_context: int,
        settings: SamplerConfig = SamplerConfig(),
    ) -> None:
        self.model = model
        self.device = next(model.parameters()).device
        self.table = table
        tensor = lambda a: torch.as_tensor(a, device=self.device)  # noqa: E731
        self.opener = tensor(table.opener)  # what opens a bar: its chord id, else its Bar id
        self.state_masks = tensor(table.state_masks)
        # States in which a bar may begin (a note in progress must be finished first).
        self.bar_ok = (self.state_masks & self.opener).any(dim=1)
        self.first_position = tensor(table.first_position)
        self.top_position = tensor(table.top_position)
        self.resets = tensor(table.bar_start)  # an id that opens a bar counts positions afresh
        self.rising = tensor(table.rising)
        self.meter_after = tensor(table.meter_after)
        self.own_limit = tensor(
            np.where(table.beats_after > 0, table.beats_after * table.positions_per_beat, 0)
        )
        self.pad_id = pad_id
        self.bos_id = bos_id
        self.settings = settings
        self.max_context = max_context
        self.forward_tokens = 0  # tokens pushed through the model (prefill included)
        # Called with (bars done by the slowest row, bars asked) after every bar a row opens;
        # it may raise to stop sampling (a cancelled job).
        self.on_bar: Callable[[int, int], None] | None = None
        self.fast = supports(model) and self.device.type == "cpu"
        self._switch_cache: dict[frozenset[int], torch.Tensor] = {}

    def bars(
        self,
        contexts: list[list[int]],
        prefix_lens: list[int],
        bars: int,
        generators: list[torch.Generator],
        plan: SectionPlan,
    ) -> list[list[int]]:
        """``bars`` new bars after each context, under ``plan``; returns only the new tokens of
        each row."""
        with inference_threads(self.model), torch.inference_mode():
            return self._bars(contexts, prefix_lens, bars, generators, plan)

    def _bars(self, contexts, prefix_lens, bars, generators, plan: SectionPlan) -> list[list[int]]:
        every = []
        for context, prefix_len in zip(contexts, prefix_lens, strict=True):
            beats, meter = self._meter_of(context)
            every.append(
                _Row(list(context), prefix_len, [], list(plan.chords), beats=beats, meter=meter)
            )
        masks = _PlanTensors.of(plan, self.device)
        rows, gens = list(every), list(generators)  # the rows still being sampled
        # Cache columns in use, left padding included: the lean decoder's static cache fills by
        # columns, so a short row in a wide batch slides when the batch does.
        engine, logits, positions, columns = self._prefill(rows)
        while True:
            allowed = self._step_mask(rows, masks)
            programs = [r.program for r in rows]
            biased = logits if masks.bias is None else logits + masks.bias_of(programs)
            chosen = self._choose(biased, allowed, gens)
            for row, token in zip(rows, chosen, strict=True):
                self._advance(row, token, bars, rows)
            live = [i for i, row in enumerate(rows) if not row.done]
            if not live:
                return [r.new for r in every]
            if len(live) < len(rows):  # finished rows leave the batch: no more steps for them
                keep = torch.tensor(live, device=self.device)
                engine.select(keep)
                positions = positions[keep]
                rows, gens = [rows[i] for i in live], [gens[i] for i in live]
                chosen = [chosen[i] for i in live]
            if columns + 1 >= self.max_context:
                engine, logits, positions, columns = self._prefill(rows, slide=True)
                continue
            columns += 1
            positions = positions + 1
            logits = engine.step(torch.tensor(chosen, device=self.device), positions)
            self.forward_tokens += len(rows)

    # ---------------------------------------------------------------------------------------

    def _step_mask(self, rows: list[_Row], plan: _PlanTensors) -> torch.Tensor:
        """[rows, V]: what each row may write next."""
        states = torch.tensor([r.state for r in rows], device=self.device)
        force_bar = (
            torch.tensor(
                [r.bars == 0 or r.since_bar >= self.settings.max_tokens_per_bar for r in rows],
                device=self.device,
            )
            & self.bar_ok[states]
        )
        grammatical = plan.allowed & self.state_masks[states]
        allowed = torch.where(force_bar[:, None], grammatical & self.opener, grammatical)
        allowed &= plan.leading_of([r.program for r in rows])
        allowed &= self._in_bar(rows)
        self._force_chords(rows, allowed)
        if plan.every_bar:
            self._hold_bars_open(rows, plan.every_bar, allowed)
        return allowed

    def _hold_bars_open(self, rows: list[_Row], every_bar: frozenset[int], allowed) -> None:
        """A bar may not close while a part of ``every_bar`` has not played in it, and the
        next part to enter is one of those (up to ``HOLD_TOKENS`` tokens into the bar, and
        only while something else may come)."""
        for i, row in enumerate(rows):
            missing = every_bar - row.played
            if not row.bars or row.since_bar >= HOLD_TOKENS or not missing:
                continue
            held = allowed[i] & ~self.opener & ~self._entering_other(row.played)
            if held.any():
                allowed[i] = held

    def _entering_other(self, played: set[int]) -> torch.Tensor:
        """[V]: ids that switch to one of ``played`` (a part that already has its note)."""
        key = frozenset(played)
        if key not in self._switch_cache:
            mask = np.array([bool(p & key) for p in self.table.programs], dtype=bool)
            self._switch_cache[key] = torch.as_tensor(mask, device=self.device)
        return self._switch_cache[key]

    def _in_bar(self, rows: list[_Row]) -> torch.Tensor:
        """[rows, V]: ids whose positions stay inside the row's bar (and rise from its last
        one with ``ordered_positions``) and keep the song's time signature."""
        beats = torch.tensor([r.beats for r in rows], device=self.device)[:, None]
        meter = torch.tensor([r.meter for r in rows], device=self.device)[:, None]
        limit = torch.where(
            self.own_limit > 0, self.own_limit, beats * self.table.positions_per_beat
        )
        same_meter = (meter == 0) | (self.meter_after == 0) | (self.meter_after == meter)
        inside = self.rising & (self.top_position < limit) & same_meter
        if not self.settings.ordered_positions:
            return inside
        position = torch.tensor([r.position for r in rows], device=self.device)[:, None]
        return inside & (self.resets | (self.first_position < 0) | (self.first_position > position))

    def _force_chords(self, rows: list[_Row], allowed: torch.Tensor) -> None:
        """A row whose next bar has a planned chord may open it with that chord only."""
        chords = self.table.chord_ids
        if not len(chords):
            return
        for i, row in enumerate(rows):
            planned = row.chords[row.bars] if row.bars < len(row.chords) else None
            if planned is not None:
                keep = bool(allowed[i, planned])
                allowed[i, chords.start : chords.stop] = False
                allowed[i, planned] = keep

    def _advance(self, row: _Row, token: int, bars: int, rows: list[_Row]) -> None:
        """Update a row's state after it chose ``token`` (a bar-opener past its last bar ends
        the row instead)."""
        table = self.table
        if table.opener[token]:
            row.played.clear()
        if table.lead_pitch[token] >= 0:
            row.played.add(row.program)
        row.played.update(program for program, _ in table.notes[token])
        if table.state_after[token] >= 0:
            row.state = int(table.state_after[token])
        if table.last_program[token] != NO_PROGRAM:
            row.program = int(table.last_program[token])
        if table.bar_start[token]:
            row.position = -1
        if table.beats_after[token]:
            row.beats, row.meter = int(table.beats_after[token]), int(table.meter_after[token])
        if table.last_position[token] >= 0:
            row.position = int(table.last_position[token])
        if table.opener[token]:
            if row.bars == bars:
                row.done = True
                return
            row.bars += 1
            row.since_bar = 0
            if self.on_bar is not None:
                self.on_bar(min(r.bars for r in rows), bars)
        else:
            row.since_bar += 1
        row.new.append(token)

    def _meter_of(self, context: list[int]) -> tuple[int, int]:
        """(beats, meter) of the last time signature in a context ((4, 0): none yet)."""
        beats_after = self.table.beats_after
        for token in reversed(context):
            if 0 <= token < len(beats_after) and beats_after[token]:
                return int(beats_after[token]), int(self.table.meter_after[token])
        return 4, 0

    # ---------------------------------------------------------------------------------------

    def _prefill(self, rows: list[_Row], slide: bool = False):
        """Every row's context (slid to fit the model when needed) through the model,
        left-padded; returns the engine, the last logits, each row's last position and the
        padded width (the cache columns in use)."""
        keep = self.max_context // 2 if slide else self.max_context - 1
        sequences = [self._fit(r.tokens + r.new, r.prefix_len, keep) for r in rows]
        width = max(len(s) for s in sequences)
        ids = torch.full((len(rows), width), self.pad_id, dtype=torch.long, device=self.device)
        mask = torch.zeros((len(rows), width), dtype=torch.long, device=self.device)
        for i, seq in enumerate(sequences):
            ids[i, width - len(seq) :] = torch.tensor(seq, device=self.device)
            mask[i, width - len(seq) :] = 1
        positions = (mask.cumsum(dim=1) - 1).clamp(min=0)
        engine = (
            FastDecoder(self.model, len(rows), self.max_context)
            if self.fast
            else _HFEngine(self.model)
        )
        logits = engine.prefill(ids, mask, positions)
        self.forward_tokens += int(mask.sum())
        return engine, logits, positions[:, -1], width

    def _fit(self, tokens: list[int], prefix_len: int, keep: int) -> list[int]:
        """``tokens`` if short enough, else the style tokens plus the longest tail that starts
        at a bar and fits in ``keep`` tokens (a raw tail if even one bar is longer). BOS is
        dropped: in training, BOS marks a window that starts at the beginning of a piece."""
        if len(tokens) <= keep:
            return tokens
        prefix, history = tokens[:prefix_len], tokens[prefix_len:]
        prefix = [t for t in prefix if t != self.bos_id]
        room = keep - len(prefix)
        starts = np.flatnonzero(self.table.opener[np.asarray(history, dtype=np.int64)])
        fitting = starts[len(history) - starts <= room]
        begin = int(fitting[0]) if len(fitting) else len(history) - room
        return prefix + history[begin:]

    def _choose(
        self, logits: torch.Tensor, allowed: torch.Tensor, generators: list[torch.Generator]
    ) -> list[int]:
        """Temperature + nucleus (top-p) sampling under the mask, one generator per row."""
        scores = logits.float() / max(self.settings.temperature, 1e-5)
        scores = scores.masked_fill(~allowed, float("-inf"))
        probs = torch.softmax(scores, dim=-1)
        if self.settings.top_p < 1.0:
            sorted_probs, order = probs.sort(dim=-1, descending=True)
            outside = sorted_probs.cumsum(dim=-1) - sorted_probs > self.settings.top_p
            sorted_probs = sorted_probs.masked_fill(outside, 0.0)
            probs = torch.zeros_like(probs).scatter(-1, order, sorted_probs)
        chosen = []
        for i, generator in enumerate(generators):
            row = probs[i].cpu()
            if not torch.isfinite(row).all() or row.sum() <= 0:  # everything masked: open a bar
                row = self.opener.float().cpu()
            chosen.append(int(torch.multinomial(row, 1, generator=generator)))
        return chosen


@dataclass
class _PlanTensors:
    """A SectionPlan as tensors: the allowed ids, range masks stacked by program, the bias."""

    allowed: torch.Tensor
    programs: dict[int, int]  # program → row of ``leading``
    leading: torch.Tensor  # [programs + 1, V]; the last row allows everything
    bias: torch.Tensor | None  # [programs + 1, V] in ``bias_rows`` order; the last: no program
    bias_rows: dict[int, int]
    every_bar: frozenset[int] = frozenset()

    @classmethod
    def of(cls, plan: SectionPlan, device) -> _PlanTensors:
        size = len(plan.allowed)
        stacked = [torch.as_tensor(plan.leading[p], device=device) for p in plan.leading]
        stacked.append(torch.ones(size, dtype=torch.bool, device=device))
        bias, bias_rows = None, {}
        if plan.bias is not None:
            named = [p for p in plan.bias if p != NO_PROGRAM]
            rows = [plan.bias[p] for p in named] + [plan.bias[NO_PROGRAM]]
            bias = torch.as_tensor(np.stack(rows), device=device)
            bias_rows = {p: i for i, p in enumerate(named)}
        return cls(
            torch.as_tensor(plan.allowed, device=device),
            {p: i for i, p in enumerate(plan.leading)},
            torch.stack(stacked),
            bias,
            bias_rows,
            plan.every_bar,
        )

    def leading_of(self, programs: list[int]) -> torch.Tensor:
        """[rows, V]: each row's range mask for the program its next pitch belongs to."""
        free = len(self.programs)
        return self.leading[[self.programs.get(p, free) for p in programs]]

    def bias_of(self, programs: list[int]) -> torch.Tensor:
        """[rows, V]: each row's density offsets given the program in effect."""
        assert self.bias is not None
        none = len(self.bias_rows)
        return self.bias[[self.bias_rows.get(p, none) for p in programs]]
