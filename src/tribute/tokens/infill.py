"""Infill examples: a span of bars with some parts (or all) taken out, and what they played.

For bars ``[a, b)`` of a token stream and a set of programs to regenerate::

    context  = bars before a · Infill_Start · bars a..b without those programs' notes ·
               Infill_End · bars from b
    middle   = Infill_Middle · bars a..b holding only those programs' notes

The model sees ``context + middle`` (a share of its training windows), so it learns to write the
missing material conditioned on what comes after the span as well as before, and on the parts
that stay — the same tokens serve "regenerate bars 9–16" (every program), "give me another bass
line" (one program) and "write the band around this melody" (every program but the melody's).
Edits build the same context from a real song and sample the middle (tribute.composition.edit).

Everything here works on MidiTok base tokens (``"Program_33"``, ``"Pitch_40"`` …): notes are
removed as whole ``Program Pitch Velocity Duration`` groups, a ``Position`` left without notes
or tempo goes too, and the bars are merged back into BPE ids by the tokenizer (0.6 ms a song).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Bar:
    """One bar of a stream: its chord id (harmony tokenizers; None otherwise) and base tokens."""

    chord: int | None
    events: tuple[str, ...]


def split_bars(
    ids: Iterable[int],
    opener: Callable[[int], bool],
    chord: Callable[[int], bool],
    base_tokens: Callable[[int], list[str]],
) -> list[Bar]:
    """The bars of an id stream that starts where a bar opens."""
    bars: list[tuple[int | None, list[str]]] = []
    for token_id in (int(i) for i in ids):
        if opener(token_id) or not bars:
            bars.append((None, []))
        if chord(token_id):
            bars[-1] = (token_id, bars[-1][1])
        else:
            bars[-1][1].extend(base_tokens(token_id))
    return [Bar(c, tuple(events)) for c, events in bars]


def split_notes(
    events: Sequence[str], remove: frozenset[int] | None
) -> tuple[list[str], list[str]]:
    """One bar's events → (the bar without the notes of ``remove``, the bar with only them).

    ``remove`` None: every note goes. Both halves keep the bar's ``Bar``/``TimeSig`` head;
    positions keep their tempo in the first half only; empty positions are dropped.
    """
    kept: list[str] = []
    taken: list[str] = []
    kept_group: list[str] = []  # the open Position (and Tempo) of each half
    taken_group: list[str] = []
    i = 0
    while i < len(events):
        token = events[i]
        kind = token.split("_", 1)[0]
        if kind in ("Bar", "TimeSig"):
            kept.append(token)
            taken.append(token)
        elif kind == "Position":
            kept_group, taken_group = [token], [token]
        elif kind == "Tempo":
            kept_group.append(token)
            kept.extend(kept_group)  # a tempo change stays with the context
            kept_group = []
        elif kind == "Program":
            note = list(events[i : i + 4])
            program = int(token.split("_", 1)[1])
            if remove is None or program in remove:
                taken.extend(taken_group)
                taken_group = []
                taken.extend(note)
            else:
                kept.extend(kept_group)
                kept_group = []
                kept.extend(note)
            i += 4
            continue
        i += 1
    return kept, taken


@dataclass(frozen=True)
class InfillIds:
    """The marker ids and the tokenizer hooks an infill example needs."""

    start: int
    end: int
    middle: int
    encode_base: Callable[[Sequence[str]], list[int]]

    def bar_ids(self, bar: Bar, events: Sequence[str]) -> list[int]:
        return ([bar.chord] if bar.chord is not None else []) + self.encode_base(events)


def infill_example(
    bars: Sequence[Bar], span: tuple[int, int], remove: frozenset[int] | None, ids: InfillIds
) -> tuple[list[int], list[int]]:
    """(context ids, middle ids) for bars ``span = (a, b)`` of ``bars`` with the programs of
    ``remove`` (None: all) taken out; the middle starts with the ``Infill_Middle`` marker."""
    a, b = span
    before = [t for bar in bars[:a] for t in ids.bar_ids(bar, bar.events)]
    after = [t for bar in bars[b:] for t in ids.bar_ids(bar, bar.events)]
    inside, middle = [], [ids.middle]
    for bar in bars[a:b]:
        kept, taken = split_notes(bar.events, remove)
        inside += ids.bar_ids(bar, kept)
        middle += ids.bar_ids(bar, taken)
    return [*before, ids.start, *inside, ids.end, *after], middle
