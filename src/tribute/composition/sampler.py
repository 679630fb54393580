"""KV-cached, batched, controlled sampling of whole bars.

A hand-written loop over the Hugging Face model's forward with a ``DynamicCache``: at the
model sizes tribute runs on a CPU, per-step overhead rather than arithmetic dominates, and
``generate()`` spends much of each step on generality (docs/dependencies.md: 208 vs 525
tokens/s at batch 1 for a 5 M-parameter Llama on 2 cores). Rows of a batch are left-padded
with their own position ids, and each row draws from its own seeded generator, so a song
depends on its seed only.

Controls are a boolean mask over the vocabulary (:mod:`tribute.composition.vocab`); on top of it a
section must open with a bar, a bar that runs past ``max_tokens_per_bar`` is closed, and a row
stops exactly when it would start bar ``bars + 1``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch

from tribute.composition.vocab import NO_PROGRAM
from tribute.model import inference_threads


@dataclass
class SectionPlan:
    """What one call of :meth:`BarSampler.bars` may write: the ids the controls allow, the
    chord each new bar opens with (None: the model's choice), per part program the ids whose
    leading pitch stays in its range, and a logit offset per id (density)."""

    allowed: np.ndarray
    chords: list[int | None] = field(default_factory=list)
    leading: dict[int, np.ndarray] = field(default_factory=dict)
    bias: np.ndarray | None = None


@dataclass(frozen=True)
class SamplerConfig:
    temperature: float = 1.0
    top_p: float = 0.95
    max_tokens_per_bar: int = 384  # dense band bars are ~130 BPE tokens (docs/dependencies.md)


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
    cached: int = 0  # tokens of this row in the model's cache
    state: int = 0  # grammar state (tribute.composition.vocab): a section starts at "start"
    bars: int = 0
    since_bar: int = 0
    done: bool = False


class BarSampler:
    """Generates a given number of bars for each of several contexts at once."""

    def __init__(
        self,
        model,
        table,
        pad_id: int,
        bos_id: int,
        max_context: int,
        settings: SamplerConfig = SamplerConfig(),
    ) -> None:
        self.model = model
        self.device = next(model.parameters()).device
        self.last_program = table.last_program
        self.bar_start_np = table.bar_start
        self.last_position = table.last_position
        self.beats_after = table.beats_after
        self.meter_after_np = table.meter_after
        as_tensor = lambda a: torch.as_tensor(a, device=self.device)  # noqa: E731
        self.first_position = as_tensor(table.first_position)
        self.top_position = as_tensor(table.top_position)
        self.ppb = table.positions_per_beat
        # An id that opens a bar starts counting positions afresh, in its own TimeSig if any.
        self.resets = as_tensor(table.bar_start)
        self.rising = as_tensor(table.rising)
        self.meter_after = as_tensor(table.meter_after)
        self.own_limit = as_tensor(
            np.where(table.beats_after > 0, table.beats_after * table.positions_per_beat, 0)
        )
        self.opener_np = table.opener  # what opens a bar: its chord id, else its Bar id
        self.opener = torch.as_tensor(table.opener, device=self.device)
        self.chord_ids = table.chord_ids
        self.state_after = table.state_after
        self.state_masks = torch.as_tensor(table.state_masks, device=self.device)
        # States in which a bar may begin (a note in progress must be finished first).
        self.bar_ok = (self.state_masks & self.opener).any(dim=1)
        self.pad_id = pad_id
        self.bos_id = bos_id
        self.settings = settings
        self.max_context = max_context
        self.forward_tokens = 0  # tokens pushed through the model (prefill included)
        # Called with (bars done by the slowest row, bars asked) after every bar a row opens;
        # it may raise to stop sampling (a cancelled job).
        self.on_bar: Callable[[int, int], None] | None = None

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
        with inference_threads(self.model):
            return self._bars(contexts, prefix_lens, bars, generators, plan)

    @torch.inference_mode()
    def _bars(self, contexts, prefix_lens, bars, generators, plan: SectionPlan) -> list[list[int]]:
        every = []
        for context, prefix_len in zip(contexts, prefix_lens, strict=True):
            beats, meter = self._meter_of(context)
            every.append(
                _Row(list(context), prefix_len, [], list(plan.chords), beats=beats, meter=meter)
            )
        allowed = torch.as_tensor(plan.allowed, device=self.device)
        leading = {p: torch.as_tensor(m, device=self.device) for p, m in plan.leading.items()}
        bias = None if plan.bias is None else torch.as_tensor(plan.bias, device=self.device)
        rows, gens = list(every), list(generators)  # the rows still being sampled
        logits, cache, mask, positions = self._prefill(rows)
        while True:
            states = torch.tensor([r.state for r in rows], device=self.device)
            force_bar = (
                torch.tensor(
                    [r.bars == 0 or r.since_bar >= self.settings.max_tokens_per_bar for r in rows],
                    device=self.device,
                )
                & self.bar_ok[states]
            )
            grammatical = allowed & self.state_masks[states]
            step_allowed = torch.where(force_bar[:, None], grammatical & self.opener, grammatical)
            for i, row in enumerate(rows):
                if row.program in leading:  # a note's pitch stays in its part's range
                    step_allowed[i] &= leading[row.program]
                step_allowed[i] &= self._in_bar(row)
            self._force_chords(rows, step_allowed)
            chosen = self._choose(logits if bias is None else logits + bias, step_allowed, gens)
            for row, token in zip(rows, chosen, strict=True):
                if self.state_after[token] >= 0:
                    row.state = int(self.state_after[token])
                if self.last_program[token] != NO_PROGRAM:
                    row.program = int(self.last_program[token])
                if self.bar_start_np[token]:
                    row.position = -1
                if self.beats_after[token]:
                    row.beats = int(self.beats_after[token])
                    row.meter = int(self.meter_after_np[token])
                if self.last_position[token] >= 0:
                    row.position = int(self.last_position[token])
                if self.opener_np[token]:
                    if row.bars == bars:
                        row.done = True
                        continue
                    row.bars += 1
                    row.since_bar = 0
                    if self.on_bar is not None:
                        self.on_bar(min(r.bars for r in rows), bars)
                else:
                    row.since_bar += 1
                row.new.append(token)
            live = [i for i, row in enumerate(rows) if not row.done]
            if not live:
                return [r.new for r in every]
            if len(live) < len(rows):  # finished rows leave the batch: no more steps for them
                keep = torch.tensor(live, device=self.device)
                cache.batch_select_indices(keep)
                logits, mask, positions = logits[keep], mask[keep], positions[keep]
                rows, gens = [rows[i] for i in live], [gens[i] for i in live]
                chosen = [chosen[i] for i in live]
            if any(r.cached + 1 >= self.max_context for r in rows):
                logits, cache, mask, positions = self._prefill(rows, slide=True)
                continue
            for row in rows:
                row.cached += 1
            step = torch.tensor(chosen, device=self.device)[:, None]
            mask = torch.cat([mask, torch.ones_like(mask[:, :1])], dim=1)
            positions = positions + 1
            out = self.model(
                input_ids=step,
                attention_mask=mask,
                position_ids=positions[:, None],
                past_key_values=cache,
                use_cache=True,
            )
            self.forward_tokens += len(rows)
            logits, cache = out.logits[:, -1], out.past_key_values

    def _meter_of(self, context: list[int]) -> tuple[int, int]:
        """(beats, meter) of the last time signature in a context ((4, 0): none yet)."""
        for token in reversed(context):
            if 0 <= token < len(self.beats_after) and self.beats_after[token]:
                return int(self.beats_after[token]), int(self.meter_after_np[token])
        return 4, 0

    def _in_bar(self, row: _Row) -> torch.Tensor:
        """Ids whose positions rise from the row's and stay inside its bar."""
        limit = torch.where(self.own_limit > 0, self.own_limit, row.beats * self.ppb)
        after = self.resets | (self.first_position < 0) | (self.first_position > row.position)
        ok = self.rising & after & (self.top_position < limit)
        if row.meter:  # a song keeps its time signature
            ok &= (self.meter_after == 0) | (self.meter_after == row.meter)
        return ok

    def _force_chords(self, rows: list[_Row], allowed: torch.Tensor) -> None:
        """A row whose next bar has a planned chord may open it with that chord only."""
        if not len(self.chord_ids):
            return
        first, last = self.chord_ids.start, self.chord_ids.stop
        for i, row in enumerate(rows):
            planned = row.chords[row.bars] if row.bars < len(row.chords) else None
            if planned is not None:
                keep = bool(allowed[i, planned])
                allowed[i, first:last] = False
                allowed[i, planned] = keep

    def _prefill(self, rows: list[_Row], slide: bool = False):
        """Run every row's context (sliding it to fit the model when needed) through the
        model, left-padded; returns last logits, cache, attention mask and last positions."""
        keep = self.max_context // 2 if slide else self.max_context - 1
        sequences = [self._fit(r.tokens + r.new, r.prefix_len, keep) for r in rows]
        for row, seq in zip(rows, sequences, strict=True):
            row.cached = len(seq)
        width = max(len(s) for s in sequences)
        ids = torch.full((len(rows), width), self.pad_id, dtype=torch.long, device=self.device)
        mask = torch.zeros((len(rows), width), dtype=torch.long, device=self.device)
        for i, seq in enumerate(sequences):
            ids[i, width - len(seq) :] = torch.tensor(seq, device=self.device)
            mask[i, width - len(seq) :] = 1
        positions = (mask.cumsum(dim=1) - 1).clamp(min=0)
        out = self.model(input_ids=ids, attention_mask=mask, position_ids=positions, use_cache=True)
        self.forward_tokens += int(mask.sum())
        return out.logits[:, -1], out.past_key_values, mask, positions[:, -1]

    def _fit(self, tokens: list[int], prefix_len: int, keep: int) -> list[int]:
        """``tokens`` if short enough, else the style tokens plus the longest tail that starts
        at a bar and fits in ``keep`` tokens (a raw tail if even one bar is longer). BOS is
        dropped: in training, BOS marks a window that starts at the beginning of a piece."""
        if len(tokens) <= keep:
            return tokens
        prefix, history = tokens[:prefix_len], tokens[prefix_len:]
        prefix = [t for t in prefix if t != self.bos_id]
        room = keep - len(prefix)
        starts = np.flatnonzero(self.opener_np[np.asarray(history, dtype=np.int64)])
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
