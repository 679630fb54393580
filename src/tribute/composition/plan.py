"""A song's plan: for each section, what the sampler may write — the line-up's parts that play
there, within their ranges, the chord that opens each bar, and how busy each part is.

Density is a sampling method, not a trained attribute: every note value a part writes moves
the logit of its id by the level's weight (``DENSITY_BIAS``) times the note's shortness
(log2 of 1/beats: an eighth +1, a half −1), so ``high`` favours short notes — more of them in a
bar — and ``low`` long ones. (Favouring the ids that *begin* notes instead thinned the parts at
``high``: the ids holding several notes are the chords of long, held bars.)
``benchmarks/controls_bench.py`` measures what each level gives against real songs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from tribute.builtin import BASE
from tribute.composition.controls import FREE_CHORD, NO_CHORD, Controls, Section
from tribute.composition.lineup import Part
from tribute.composition.sampler import SectionPlan
from tribute.composition.vocab import TokenTable
from tribute.errors import TributeError
from tribute.tokens import MusicTokenizer

# Weight of a note's shortness per level (see above); measured in benchmarks/controls_bench.py.
DENSITY_BIAS = {"low": -0.75, "medium": 0.0, "high": 0.5}


@dataclass(frozen=True)
class PlannedSection:
    section: Section
    start_bar: int  # 0-based bar of the song where it starts (after any primer)
    parts: tuple[Part, ...]  # the parts that play in it
    plan: SectionPlan


def section_parts(section: Section, parts: Sequence[Part]) -> tuple[Part, ...]:
    """The parts of a section's arrangement (``[guitar,bass]``, ``[+keys]``, ``[-lead]``):
    absolute names pick parts by name or instrument; +/- add to or drop from the whole line-up
    (a ``+`` names a part that plays nowhere else)."""
    if section.parts is None:
        return tuple(parts)

    def matching(word: str) -> set[str]:
        found = {p.name for p in parts if word in (p.name.lower(), p.instrument)}
        if not found:
            raise TributeError(
                f"--form section {section.name}: {word!r} is not a part of the line-up "
                f"({', '.join(p.name for p in parts)})"
            )
        return found

    if section.parts[0][0] in "+-":
        names = {p.name for p in parts}
        for item in section.parts:
            if item[0] == "-":
                names -= matching(item[1:])
            else:
                names |= matching(item[1:])
    else:
        names = set().union(*(matching(item) for item in section.parts))
    if not names:
        raise TributeError(f"--form section {section.name} leaves no part playing")
    return tuple(p for p in parts if p.name in names)


def plan_song(
    table: TokenTable,
    tokenizer: MusicTokenizer,
    controls: Controls,
    parts: Sequence[Part],
    start_bar: int = 0,
) -> list[PlannedSection]:
    """One plan per section of the form (repeats share their first occurrence's)."""
    chords = _chord_ids(tokenizer, controls)
    planned: list[PlannedSection] = []
    first_parts: dict[str, tuple[Part, ...]] = {}
    bar = start_bar
    names = {p.name.lower() for p in parts} | {p.instrument for p in parts}
    for _, part, _ in controls.density:
        if part not in names:
            raise TributeError(
                f"--density names {part!r}, which is not a part of the line-up "
                f"({', '.join(p.name for p in parts)})"
            )
    for section in controls.form:
        playing = section_parts(section, parts)
        if section.name in first_parts:
            extra = {p.name for p in playing} - {p.name for p in first_parts[section.name]}
            if extra:
                raise TributeError(
                    f"--form: the repeat of {section.name} adds {', '.join(sorted(extra))}; a "
                    "repeat plays its first occurrence again and can only drop parts"
                )
        first_parts.setdefault(section.name, playing)
        offset = bar - start_bar
        plan = _section_plan(
            table,
            controls,
            section,
            playing,
            chords[offset : offset + section.bars] if chords else [],
        )
        planned.append(PlannedSection(section, bar, playing, plan))
        bar += section.bars
    return planned


def _chord_ids(tokenizer: MusicTokenizer, controls: Controls) -> list[int | None]:
    if controls.chords is None:
        return []
    if not tokenizer.settings.harmony:
        raise TributeError(
            "this model has no chord tokens (it was trained before harmony tokens existed); "
            f"use {BASE}, or pretrain/fine-tune a model with this tribute to use --chords"
        )
    return [
        None
        if symbol == FREE_CHORD
        else tokenizer.controls.chord_id(None if symbol == NO_CHORD else symbol)
        for symbol in controls.chords
    ]


def _section_plan(
    table: TokenTable,
    controls: Controls,
    section: Section,
    playing: Sequence[Part],
    chords: list[int | None],
) -> SectionPlan:
    programs = frozenset(p.program for p in playing)
    allowed = table.allowed(controls, programs)
    whole, leading = table.part_masks({p.program: (p.low, p.high) for p in playing})
    allowed = allowed & whole  # an id without notes is "whole" too
    levels = controls.density_of(section.name)
    per_program = {}
    for word, level in levels.items():
        matched = [p for p in playing if word in (p.name.lower(), p.instrument)]
        per_program.update({p.program: DENSITY_BIAS[level] for p in matched})
    bias = table.note_bias(per_program) if per_program else None
    return SectionPlan(allowed, chords, leading, bias)
