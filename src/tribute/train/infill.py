"""Infill training windows: a share of a run's windows teaches the model to fill a span.

A window of bars is cut as usual; a span of 1–8 of its bars is chosen, and either every part or
a random subset of the parts playing there is taken out (tribute.tokens.infill); the example is
``prefix · context · middle`` with the markers carrying no loss. Bavarian et al. (2022, "Efficient
Training of Language Models to Fill in the Middle") found a 50 % rate left left-to-right quality
intact in large models; what holds for small CPU models here is measured in
``benchmarks/recipe_study.py`` (arms ``harmony`` and ``infill``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tribute.tokens import MusicTokenizer
from tribute.tokens.infill import Bar, InfillIds, infill_example, split_bars

IGNORE_INDEX = -100
MAX_SPAN_BARS = 8
ALL_PARTS_SHARE = 0.5  # of infill windows: every part taken out (bar infill), else some parts


@dataclass
class InfillWindows:
    """Builds infill windows from a split's token data (one per call, seeded by ``rng``)."""

    rate: float  # share of training windows that are infill examples
    ids: InfillIds
    opener: np.ndarray
    chord: np.ndarray
    base: list[list[str]]  # base tokens of every music id
    bos_id: int
    pad_id: int

    @classmethod
    def of(cls, tokenizer: MusicTokenizer, rate: float) -> InfillWindows:
        start, end, middle = tokenizer.controls.infill_ids
        chord = np.zeros(tokenizer.vocab_size, dtype=bool)
        chord[list(tokenizer.controls.chord_ids)] = True
        base = [tokenizer.base_tokens(i) for i in range(tokenizer.music_vocab_size)]
        return cls(
            rate,
            InfillIds(start, end, middle, tokenizer.encode_base),
            tokenizer.bar_opener_table(),
            chord,
            base,
            tokenizer.bos_id,
            tokenizer.pad_id,
        )

    def window(
        self, data, piece: int, bar: int, seq_len: int, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray] | None:
        """An infill example from bar ``bar`` of ``piece``; None where the window is too short
        or its span holds no notes (the caller then takes a plain window)."""
        styles = [int(s) for s in data.styles[piece] if s >= 0]
        start = int(data.bar_pos[data.bar_start[piece] + bar])
        end = int(data.piece_start[piece] + data.piece_len[piece])
        raw = np.asarray(data.tokens[start : min(end, start + seq_len)], dtype=np.int64)
        bars = split_bars(
            raw,
            lambda i: bool(self.opener[i]),
            lambda i: bool(self.chord[i]),
            lambda i: self.base[i] if i < len(self.base) else [],
        )
        if start + len(raw) < end:
            bars = bars[:-1]  # the last bar may be cut off by the window
        if len(bars) < 2:
            return None
        length = int(rng.integers(1, min(MAX_SPAN_BARS, len(bars) - 1) + 1))
        first = int(rng.integers(0, len(bars) - length + 1))
        remove = self._removed(bars[first : first + length], rng)
        if remove == frozenset():
            return None
        fitted = self._fit(bars, (first, first + length), remove, bar == 0, styles, seq_len)
        if fitted is None:
            return None
        prefix, context, middle = fitted
        return self._pad([*prefix, *context, *middle], len(prefix), seq_len)

    def _removed(self, span: list[Bar], rng: np.random.Generator) -> frozenset[int] | None:
        """None (every part), or a random non-empty subset of the span's programs."""
        if rng.random() < ALL_PARTS_SHARE:
            return None
        programs = sorted({int(e[8:]) for b in span for e in b.events if e.startswith("Program_")})
        if not programs:
            return frozenset()
        # As many parts as can go, uniformly: accompanying a melody takes all but one out.
        count = 1 if len(programs) == 1 else int(rng.integers(1, len(programs)))
        return frozenset(int(p) for p in rng.choice(programs, count, replace=False))

    def _fit(
        self,
        bars: list[Bar],
        span: tuple[int, int],
        remove,
        at_start: bool,
        styles: list[int],
        seq_len: int,
    ):
        """Drop bars after, then before, the span until prefix + context + middle fit."""
        first, last = span
        low, high = 0, len(bars)
        while True:
            prefix = ([self.bos_id] if at_start and low == 0 else []) + styles
            context, middle = infill_example(
                bars[low:high], (first - low, last - low), remove, self.ids
            )
            if len(prefix) + len(context) + len(middle) <= seq_len:
                return prefix, context, middle
            if high > last:
                high -= 1
            elif low < first:
                low += 1
            else:
                return None

    def _pad(self, ids: list[int], prefix_len: int, seq_len: int) -> tuple[np.ndarray, np.ndarray]:
        """(input ids, labels): the prompt, the markers and the padding carry no loss."""
        out = np.full(seq_len, self.pad_id, dtype=np.int64)
        labels = np.full(seq_len, IGNORE_INDEX, dtype=np.int64)
        out[: len(ids)] = ids
        labels[: len(ids)] = ids
        labels[:prefix_len] = IGNORE_INDEX
        markers = [self.ids.start, self.ids.end, self.ids.middle]
        labels[np.isin(labels, markers)] = IGNORE_INDEX
        return out, labels
