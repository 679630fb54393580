"""A band's line-up: the parts a song is written for, each one track on one program, one MIDI
channel and one instrument's range.

``--instruments drums,bass,guitar=30,guitar*2,keys,lead`` names the parts: an instrument word
takes the artist corpus's most used program of its family (``guitar=30`` picks one, ``guitar*2``
asks for two guitar parts, on the corpus's two most used guitar programs). Without
``--instruments`` the line-up is the artist's most typical one: the set of programs most of its
songs share. In a one-stream REMI + programs encoding a part *is* its program, so two parts of
one instrument need two programs.

Channels: pitched parts take 0–8 and 10–15 in line-up order and drums 10 (channel index 9),
which is the order in which symusic writes tracks — the file plays each part on its own channel.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import asdict, dataclass

from tribute.corpus.programs import CorpusPrograms
from tribute.errors import TributeError
from tribute.music import INSTRUMENT_PROGRAMS, ROLE_RANGES, role_from_program

DRUMS = -1  # MidiTok's drum "program"
MAX_PITCHED_PARTS = 15  # 16 MIDI channels, one kept for drums
# A GM program per instrument word when the artist corpus plays none of its family.
DEFAULT_PROGRAMS = {
    "drums": DRUMS,
    "bass": 33,
    "guitar": 29,
    "keys": 0,
    "piano": 0,
    "organ": 16,
    "strings": 48,
    "brass": 61,
    "winds": 73,
    "lead": 80,
    "vocals": 85,
    "voices": 52,
    "choir": 52,
}
# Ranges of sung parts (soprano .. bass) by the programs a choral corpus gets at ingestion.
VOICE_PROGRAMS = frozenset({52, 53, 54, 85, 91})
MONOPHONIC_ROLES = ("bass", "lead")
NAMES = {"keys": "Keys", "lead": "Lead", "vocals": "Vocals", "voices": "Voice", "choir": "Voice"}


@dataclass(frozen=True)
class Part:
    """One player: a track on one program and channel, within a pitch range."""

    name: str  # "Guitar", "Guitar 2", "Voice 3" — the staff name and the track name
    instrument: str  # the instrument word it was asked by ("guitar")
    program: int  # General MIDI program; -1 drums
    channel: int  # 0-15 (9 = drums)
    low: int  # MIDI pitch range
    high: int
    monophonic: bool  # one note at a time (bass, lead lines, sung parts)

    @property
    def role(self) -> str:
        return role_from_program(max(self.program, 0), self.program == DRUMS)

    def to_json(self) -> dict:
        return {**asdict(self), "role": self.role}


def parse_lineup(text: str | None, corpus: CorpusPrograms) -> tuple[Part, ...]:
    """``--instruments`` text (None: the corpus's typical line-up) → the parts, in order."""
    if text is None:
        if not corpus.typical:
            raise TributeError("the model's corpus records no tracks: give --instruments")
        wanted = [(_word_of(p), p) for p in corpus.typical]
        return _assign(wanted, corpus, named_by_corpus=True)
    else:
        wanted, numbered = [], set()
        for item in (i.strip() for i in text.split(",")):
            if item:
                parsed = _parse_item(item, corpus, {p for _, p in wanted})
                wanted += parsed
                if re.match(r"(program:)?-?\d", item.lower()):  # a GM number: the corpus's name
                    numbered |= {p for _, p in parsed}
        if not wanted:
            raise TributeError("--instruments needs at least one instrument")
    return _assign(wanted, corpus, numbered)


def _parse_item(item: str, corpus: CorpusPrograms, taken: set[int]) -> list[tuple[str, int]]:
    match = re.fullmatch(
        r"([a-z]+|program:-?\d+|-?\d+)\s*(?:=\s*(\d+))?\s*(?:\*\s*(\d+))?", item.lower()
    )
    if not match:
        raise TributeError(
            f"--instruments items look like guitar, guitar=30 or guitar*2, got {item!r}"
        )
    word, program, count = match.group(1), match.group(2), match.group(3)
    if word.lstrip("-").isdigit() or word.startswith("program:"):
        number = int(word.removeprefix("program:"))
        if not -1 <= number <= 127:
            raise TributeError(f"--instruments: {number} is not a General MIDI program (0-127)")
        word, program = _word_of(number), str(number)
    if word not in INSTRUMENT_PROGRAMS:
        raise TributeError(
            f"unknown instrument {word!r}; use "
            f"{', '.join(sorted(INSTRUMENT_PROGRAMS))} or a GM program number"
        )
    family = INSTRUMENT_PROGRAMS[word]
    times = int(count) if count is not None else 1
    if times < 1:
        raise TributeError(f"--instruments {item!r}: a count must be at least 1")
    if program is not None:
        chosen = int(program)
        if chosen not in family and chosen != DRUMS:
            raise TributeError(
                f"--instruments {item!r}: program {chosen} is not a {word} "
                f"program ({min(family)}-{max(family)})"
            )
        return (
            [(word, chosen)] * 1
            if times == 1
            else _more_of(word, family, chosen, times, corpus, taken)
        )
    return _more_of(word, family, None, times, corpus, taken)


def _more_of(
    word: str,
    family: frozenset[int],
    first: int | None,
    times: int,
    corpus: CorpusPrograms,
    taken: set[int],
) -> list[tuple[str, int]]:
    """``times`` distinct programs of a family: ``first``, then the corpus's most used, then
    the family's default, then the family in order."""
    if word == "drums" and times > 1:
        raise TributeError("--instruments: one drum kit plays all the drums (drums*N)")
    order = [first] if first is not None else []
    order += [*corpus.most_used(family), DEFAULT_PROGRAMS[word], *sorted(family)]
    picked: list[int] = []
    for program in order:
        if program is not None and program not in picked and program not in taken:
            picked.append(program)
        if len(picked) == times:
            return [(word, p) for p in picked]
    raise TributeError(f"--instruments: not {times} distinct {word} programs left")


def _word_of(program: int) -> str:
    """The instrument word a program belongs to (its first family in INSTRUMENT_PROGRAMS)."""
    if program == DRUMS:
        return "drums"
    if program in VOICE_PROGRAMS:
        return "voices"
    for word in ("bass", "guitar", "piano", "organ", "keys", "strings", "brass", "winds", "lead"):
        if program in INSTRUMENT_PROGRAMS[word]:
            return word
    return "keys"


def _assign(
    wanted: list[tuple[str, int]],
    corpus: CorpusPrograms,
    by_corpus: set[int] | None = None,
    named_by_corpus: bool = False,
) -> tuple[Part, ...]:
    """Names, channels and ranges for (word, program) pairs; ``named_by_corpus`` (or the
    programs of ``by_corpus``): parts take the corpus's own track names where it has them
    ("Soprano", "Alto" …)."""
    if len({p for _, p in wanted}) < len(wanted):
        raise TributeError(
            "--instruments names one program twice: give the second part "
            "another program (guitar=30) or use guitar*2"
        )
    pitched = [p for _, p in wanted if p != DRUMS]
    if len(pitched) > MAX_PITCHED_PARTS:
        raise TributeError(
            f"--instruments asks for {len(pitched)} pitched parts; MIDI has "
            f"{MAX_PITCHED_PARTS} channels for them besides the drums"
        )
    per_word = Counter(word for word, _ in wanted)
    seen: Counter[str] = Counter()
    channels = iter([*range(9), *range(10, 16)])
    parts = []
    for word, program in wanted:
        seen[word] += 1
        label = NAMES.get(word, word.capitalize())
        name = f"{label} {seen[word]}" if per_word[word] > 1 else label
        if (named_by_corpus or program in (by_corpus or ())) and corpus.names.get(program):
            name = corpus.names[program]
        channel = 9 if program == DRUMS else next(channels)
        low, high = _range(program, corpus)
        role = role_from_program(max(program, 0), program == DRUMS)
        mono = program in VOICE_PROGRAMS or role in MONOPHONIC_ROLES
        parts.append(Part(name, word, program, channel, low, high, mono and program != DRUMS))
    return tuple(parts)


def _range(program: int, corpus: CorpusPrograms) -> tuple[int, int]:
    """The instrument's range, narrowed to what the corpus plays on it (±2 semitones)."""
    if program == DRUMS:
        return 27, 87  # the GM drum kit's keys
    role = role_from_program(program, False)
    low, high = ROLE_RANGES.get(role, (21, 108))
    if program in corpus.ranges:
        seen_low, seen_high = corpus.ranges[program]
        low, high = max(low, seen_low - 2), min(high, seen_high + 2)
        if low >= high:  # the corpus plays it outside the usual instrument: trust the corpus
            low, high = seen_low - 2, seen_high + 2
    return low, high
