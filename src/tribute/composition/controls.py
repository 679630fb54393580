"""Musical controls of ``tribute compose``: parsing, validation, and what they allow.

Each control becomes a rule over token ids (see :mod:`tribute.composition.vocab`): a time
signature or tempo allows only its own ``TimeSig_``/``Tempo_`` events, the line-up only its
parts' ``Program_`` events within their ranges (:mod:`tribute.composition.lineup`), a key only
pitches of its scale on pitched tracks; a chord plan forces the chord token that opens each bar,
a section's arrangement narrows the parts it may use, and a density level biases how often a
part starts a note. Every parser's error quotes the flag the user typed.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from tribute.errors import TributeError
from tribute.music import scale_pitch_classes
from tribute.music.harmony import parse_chord_symbol

MAX_BARS = 512
LEARNED_FORM = "learned"  # --form learned: the form of one of the artist's songs
FREE_CHORD = "*"  # in a chord plan: the model chooses this bar's chord
NO_CHORD = "N.C."
DENSITY_LEVELS = ("low", "medium", "high")


@dataclass(frozen=True)
class Section:
    name: str
    bars: int
    # The parts that play (instrument words or part names), absolute ("guitar,bass") or
    # relative to the song's line-up ("+keys", "-lead"); None: the whole line-up.
    parts: tuple[str, ...] | None = None

    @property
    def text(self) -> str:
        return f"{self.name}:{self.bars}" + (f"[{','.join(self.parts)}]" if self.parts else "")


@dataclass(frozen=True)
class Controls:
    """Everything a user can ask of a song; saved in each song's report."""

    form: tuple[Section, ...] = (Section("song", 16),)
    tempo_qpm: float | None = None
    key: str | None = None
    time_signature: tuple[int, int] | None = None
    instruments: str | None = None  # the line-up: "drums,bass,guitar=30,guitar*2"
    chords: tuple[str, ...] | None = None  # one per bar: a chord symbol, "N.C." or "*"
    density: tuple[tuple[str, str, str], ...] = ()  # (section or "*", part, level)
    temperature: float = 1.0
    top_p: float = 0.95
    vary_repeats: bool = False
    # Take the form of one of the model's training songs (its forms.json), fitted to the bars;
    # form_song names that song once the composer has chosen it.
    learned_form: bool = False
    form_song: str | None = None

    def __post_init__(self) -> None:
        if self.temperature <= 0 or not 0 < self.top_p <= 1:
            raise TributeError("--temperature must be > 0 and --top-p in (0, 1]")
        if self.key is not None:
            scale_pitch_classes(self.key)  # a bad key fails before any model loads
        if self.chords is not None and len(self.chords) != self.bars:
            raise TributeError(f"the chord plan has {len(self.chords)} bars, the form {self.bars}")
        names = {s.name for s in self.form}
        for section, _, level in self.density:
            if section != "*" and section not in names:
                raise TributeError(f"--density names section {section!r}, which the form lacks")
            if level not in DENSITY_LEVELS:
                raise TributeError(f"--density level {level!r}: use {', '.join(DENSITY_LEVELS)}")

    @property
    def bars(self) -> int:
        return sum(s.bars for s in self.form)

    def scale(self) -> frozenset[int] | None:
        return None if self.key is None else scale_pitch_classes(self.key)

    def density_of(self, section: str) -> dict[str, str]:
        """Part → level in a section (a section's own setting beats the song's)."""
        levels = {part: level for where, part, level in self.density if where == "*"}
        levels.update({part: level for where, part, level in self.density if where == section})
        return levels

    def to_json(self) -> dict:
        data = asdict(self)
        data["form"] = [s.text for s in self.form]
        data["bars"] = self.bars
        data["density"] = [list(d) for d in self.density]
        return data


def parse_form(text: str | None, bars: int | None) -> tuple[Section, ...]:
    """``"intro:4[guitar] verse:8 chorus:8[+keys]"`` (or a plain bar count) → sections.

    A section name that comes back repeats its first occurrence, so it may not be longer than
    that first occurrence (nor add parts to it: a repeat keeps, or drops, what it had).
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
    outside = re.sub(r"\[[^\]]*\]", lambda m: m.group(0).replace(",", "\0"), text.strip())
    items = [i.replace("\0", ",") for i in re.split(r"[\s,]+(?![^\[]*\])", outside) if i]
    for item in items:
        match = re.fullmatch(r"([A-Za-z][\w-]*):(\d+)(?:\[([^\]]*)\])?", item)
        if not match:
            raise TributeError(f"--form items look like verse:8 or chorus:8[+keys], got {item!r}")
        name, count = match.group(1).lower(), int(match.group(2))
        parts = _section_parts(match.group(3), name)
        if count < 1:
            raise TributeError(f"section {name} needs at least one bar")
        if name in first and count > first[name]:
            raise TributeError(
                f"section {name} repeats with {count} bars but was first "
                f"{first[name]}: a repeat cannot be longer than the original"
            )
        first.setdefault(name, count)
        sections.append(Section(name, count, parts))
    total = sum(s.bars for s in sections)
    if not sections or total > MAX_BARS:
        raise TributeError(f"--form must have 1 to {MAX_BARS} bars in all, got {total}")
    return tuple(sections)


def parse_form_request(text: str | None, bars: int | None) -> tuple[tuple[Section, ...], bool]:
    """``--form``/``--bars`` → (form, learned): no ``--form``, ``learned`` or ``learned:N`` ask
    for a learned form of that many bars (default 16), which a model without recorded forms
    composes as one through-composed section."""
    match = re.fullmatch(rf"{LEARNED_FORM}(?::(\d+))?", (text or "").strip().lower())
    if text is None or match:
        count = int(match.group(1)) if match and match.group(1) else bars
        return parse_form(None, count), True
    return parse_form(text, bars), False


def _section_parts(spec: str | None, section: str) -> tuple[str, ...] | None:
    if spec is None:
        return None
    items = tuple(i.strip().lower() for i in spec.split(",") if i.strip())
    if not items:
        raise TributeError(f"--form section {section}[] names no instrument")
    signed = [i[0] in "+-" for i in items]
    if any(signed) and not all(signed):
        raise TributeError(
            f"--form section {section}[{spec}]: give the instruments (guitar,bass) or changes "
            "to the song's line-up (+keys,-lead), not both"
        )
    return items


def parse_chords(text: str | None, form: tuple[Section, ...]) -> tuple[str, ...] | None:
    """``--chords`` → one chord per bar of the form.

    ``"verse: Em C G D; chorus: C G Am F"`` gives sections their progressions (cycled to fill
    each section; sections not named are the model's choice); ``"Em C G D"`` (or with ``|``)
    is a bar-by-bar list for the whole song, cycled. ``*`` leaves a bar to the model.
    """
    if text is None:
        return None
    bars = sum(s.bars for s in form)
    if ":" not in text:
        progression = _progression(text, "--chords")
        return tuple(progression[i % len(progression)] for i in range(bars))
    named: dict[str, list[str]] = {}
    for chunk in (c.strip() for c in text.split(";")):
        if not chunk:
            continue
        name, _, chords = chunk.partition(":")
        name = name.strip().lower()
        if name not in {s.name for s in form}:
            raise TributeError(
                f"--chords names section {name!r}, which the form lacks "
                f"(sections: {', '.join(dict.fromkeys(s.name for s in form))})"
            )
        named[name] = _progression(chords, f"--chords {name}")
    plan: list[str] = []
    for section in form:
        progression = named.get(section.name, [FREE_CHORD])
        plan += [progression[i % len(progression)] for i in range(section.bars)]
    return tuple(plan)


def _progression(text: str, flag: str) -> list[str]:
    symbols = [s for s in re.split(r"[\s|,]+", text.strip()) if s]
    if not symbols:
        raise TributeError(f"{flag} lists no chord")
    return [FREE_CHORD if s == FREE_CHORD else (parse_chord_symbol(s) or NO_CHORD) for s in symbols]


def chords_of_song(path: str, bars: int) -> tuple[str, ...]:
    """``--chords-from SONG``: the chords of a song's first ``bars`` bars (cycled if shorter),
    by the same analysis that writes harmony tokens."""
    from pathlib import Path

    from tribute.corpus.normalize import normalize
    from tribute.corpus.readers import SkipFile, read
    from tribute.music.harmony import bar_chords
    from tribute.music.timeline import bar_starts

    source = Path(path)
    if not source.is_file():
        raise TributeError(f"--chords-from {path} does not exist")
    try:
        score, _ = normalize(read(source, source.read_bytes())[0])
    except SkipFile as exc:
        raise TributeError(f"--chords-from {path}: {exc}") from None
    found = bar_chords(score, len(bar_starts(score)))
    if not any(found):
        raise TributeError(f"--chords-from {path}: no chords found in its notes")
    return tuple(found[i % len(found)] or NO_CHORD for i in range(bars))


def parse_density(text: str | None) -> tuple[tuple[str, str, str], ...]:
    """``"bass=low,drums=high"`` or ``"verse: bass=low; chorus: drums=high"`` →
    (section or "*", part, level) triples."""
    if not text:
        return ()
    out = []
    for chunk in (c.strip() for c in text.split(";")):
        if not chunk:
            continue
        section, _, settings = chunk.rpartition(":") if ":" in chunk else ("*", "", chunk)
        for item in (i.strip() for i in settings.split(",") if i.strip()):
            part, sep, level = item.partition("=")
            if not sep or not part.strip():
                raise TributeError(f"--density items look like bass=low, got {item!r}")
            out.append(
                (section.strip().lower() or "*", part.strip().lower(), level.strip().lower())
            )
    return tuple(out)


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


def parse_instruments(text: str | None) -> str | None:
    """``--instruments`` checked for syntax and known instrument words (the programs are chosen
    against the model's corpus when composing: :func:`tribute.composition.lineup.parse_lineup`)."""
    if text is None:
        return None
    from tribute.composition.lineup import parse_lineup
    from tribute.corpus.programs import EMPTY

    parse_lineup(text, EMPTY)
    return text


def with_learned_form(
    controls: Controls, forms: list[tuple[str, list[tuple[str, int]]]] | None, seed: int
) -> Controls:
    """``controls`` with the form of one of ``forms`` (a model's training songs,
    :func:`tribute.corpus.forms.read_forms`) fitted to its bars and drawn by ``seed``, when it
    asks for a learned form and names no section of its own."""
    from tribute.corpus.forms import choose_form

    names_sections = any(section != "*" for section, _, _ in controls.density)
    if not forms or not controls.learned_form or names_sections:
        return controls
    song, form = choose_form(forms, controls.bars, seed)
    return replace(
        controls,
        form=tuple(Section(name, bars) for name, bars in form),
        learned_form=False,
        form_song=song,
    )


def require_forms(model_folder: Path, shown: str) -> None:
    """``--form learned`` names a model that recorded its training songs' forms."""
    from tribute.corpus.forms import FORMS_FILE

    if not (model_folder / FORMS_FILE).is_file():
        raise TributeError(
            f"--form learned: {shown} has no {FORMS_FILE} (fine-tuning writes one from the "
            'artist\'s songs); give the sections instead, e.g. --form "a:4 a:4 b:8"'
        )
