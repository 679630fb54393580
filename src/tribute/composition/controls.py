"""Musical controls of ``tribute compose``: parsing, validation, and what they allow.

Each control becomes a rule over token ids (see :mod:`tribute.composition.vocab`): a time signature
or tempo allows only its own ``TimeSig_``/``Tempo_`` events, an instrument set only the
``Program_`` events of those instruments, a key only pitches of its scale on pitched tracks.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass

from tribute.errors import TributeError
from tribute.music import INSTRUMENT_PROGRAMS, scale_pitch_classes

MAX_BARS = 512


@dataclass(frozen=True)
class Section:
    name: str
    bars: int


@dataclass(frozen=True)
class Controls:
    """Everything a user can ask of a song; saved in each song's report."""

    form: tuple[Section, ...] = (Section("song", 16),)
    tempo_qpm: float | None = None
    key: str | None = None
    time_signature: tuple[int, int] | None = None
    instruments: tuple[str, ...] | None = None
    temperature: float = 1.0
    top_p: float = 0.95
    vary_repeats: bool = False

    def __post_init__(self) -> None:
        if self.temperature <= 0 or not 0 < self.top_p <= 1:
            raise TributeError("--temperature must be > 0 and --top-p in (0, 1]")
        if self.key is not None:
            scale_pitch_classes(self.key)  # a bad key fails before any model loads
        if self.instruments is not None:
            for name in self.instruments:
                instrument_programs(name)

    @property
    def bars(self) -> int:
        return sum(s.bars for s in self.form)

    def programs(self) -> frozenset[int] | None:
        if self.instruments is None:
            return None
        return frozenset().union(*(instrument_programs(name) for name in self.instruments))

    def scale(self) -> frozenset[int] | None:
        return None if self.key is None else scale_pitch_classes(self.key)

    def to_json(self) -> dict:
        data = asdict(self)
        data["form"] = [f"{s.name}:{s.bars}" for s in self.form]
        data["bars"] = self.bars
        return data


def parse_form(text: str | None, bars: int | None) -> tuple[Section, ...]:
    """``"intro:4 verse:8 chorus:8"`` (or a plain bar count) → sections.

    A section name that comes back repeats its first occurrence, so it may not be longer than
    that first occurrence.
    """
    if text is None:
        count = 16 if bars is None else bars
        if not 1 <= count <= MAX_BARS:
            raise TributeError(f"--bars must be between 1 and {MAX_BARS}, got {count}")
        return (Section("song", count),)
    if bars is not None:
        raise TributeError("give either --bars or --form, not both")
    sections: list[Section] = []
    first: dict[str, int] = {}
    for item in re.split(r"[\s,]+", text.strip()):
        match = re.fullmatch(r"([A-Za-z][\w-]*):(\d+)", item)
        if not match:
            raise TributeError(f"--form items look like verse:8, got {item!r}")
        name, count = match.group(1).lower(), int(match.group(2))
        if count < 1:
            raise TributeError(f"section {name} needs at least one bar")
        if name in first and count > first[name]:
            raise TributeError(
                f"section {name} repeats with {count} bars but was first "
                f"{first[name]}: a repeat cannot be longer than the original"
            )
        first.setdefault(name, count)
        sections.append(Section(name, count))
    total = sum(s.bars for s in sections)
    if not sections or total > MAX_BARS:
        raise TributeError(f"--form must have 1 to {MAX_BARS} bars in all, got {total}")
    return tuple(sections)


def parse_time_signature(text: str | None) -> tuple[int, int] | None:
    if text is None:
        return None
    match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text)
    if not match:
        raise TributeError(f"--time looks like 4/4 or 6/8, got {text!r}")
    numerator, denominator = int(match.group(1)), int(match.group(2))
    if not 1 <= numerator <= 32 or denominator not in (1, 2, 4, 8, 16, 32):
        raise TributeError(f"--time {text!r} is not a time signature")
    return numerator, denominator


def parse_tempo(value: float | None) -> float | None:
    if value is None:
        return None
    if not 20 <= value <= 320:
        raise TributeError(f"--tempo must be between 20 and 320 bpm, got {value:g}")
    return float(value)


def instrument_programs(name: str) -> frozenset[int]:
    """An instrument name, ``program:N`` or a GM number (0-127) → the programs it allows."""
    lowered = name.strip().lower()
    if lowered in INSTRUMENT_PROGRAMS:
        return INSTRUMENT_PROGRAMS[lowered]
    number = lowered.removeprefix("program:")
    if number.lstrip("-").isdigit() and -1 <= int(number) <= 127:
        return frozenset({int(number)})
    raise TributeError(
        f"unknown instrument {name!r}; use {', '.join(sorted(INSTRUMENT_PROGRAMS))}, "
        "program:N or a General MIDI number 0-127"
    )


def parse_instruments(text: str | None) -> tuple[str, ...] | None:
    if text is None:
        return None
    names = tuple(n.strip() for n in text.split(",") if n.strip())
    if not names:
        raise TributeError("--instruments needs at least one instrument")
    for name in names:
        instrument_programs(name)
    return names
