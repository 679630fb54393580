"""Control tokens outside MidiTok's vocabulary: a chord symbol per bar, and infill markers.

Both blocks are optional and recorded in the tokenizer's settings (``harmony``, ``infill``);
a tokenizer written before they existed has neither, and its ids are unchanged.

- **Harmony** (97 tokens): ``Chord_N.C.`` and ``Chord_<root><quality>`` for 12 roots × the 8
  qualities of :data:`tribute.music.harmony.QUALITIES` (C, Cm, C7, Cm7, Cmaj7, Csus4, Cdim,
  C5). In the stream a chord token *opens* each bar — it comes right before the bar's first id —
  so a model learns to play the bar to the chord it was given, and a sampler can force one.
- **Infill** (3 tokens): ``Infill_Start`` / ``Infill_End`` mark a span of bars in a context
  from which some parts (or all) were taken out; ``Infill_Middle`` is followed by what the
  span held for those parts. Training shows the model such examples (a share of its windows),
  so it learns to fill bars and parts conditioned on what comes after them as well as before.
"""

from __future__ import annotations

from dataclasses import dataclass

from tribute.music.harmony import QUALITIES
from tribute.music.pitch import PITCH_NAMES

NO_CHORD = "N.C."
CHORD_SYMBOLS: tuple[str, ...] = (
    NO_CHORD,
    *(f"{PITCH_NAMES[root]}{suffix}" for suffix, _, _ in QUALITIES for root in range(12)),
)
INFILL_TOKENS = ("Infill_Start", "Infill_End", "Infill_Middle")


@dataclass(frozen=True)
class ControlVocab:
    """The control block ``[offset, offset + size)`` of a tokenizer's vocabulary."""

    offset: int  # the first id after MidiTok's vocabulary
    harmony: bool
    infill: bool

    @property
    def names(self) -> tuple[str, ...]:
        chords = tuple(f"Chord_{s}" for s in CHORD_SYMBOLS) if self.harmony else ()
        return chords + (INFILL_TOKENS if self.infill else ())

    @property
    def size(self) -> int:
        return len(self.names)

    def id_of(self, name: str) -> int:
        return self.offset + self.names.index(name)

    def name_of(self, token_id: int) -> str | None:
        index = token_id - self.offset
        return self.names[index] if 0 <= index < self.size else None

    # ---------------------------------------------------------------- harmony

    @property
    def chord_ids(self) -> range:
        return range(self.offset, self.offset + (len(CHORD_SYMBOLS) if self.harmony else 0))

    def chord_id(self, symbol: str | None) -> int:
        """Id of a chord symbol from :data:`CHORD_SYMBOLS` (None: no chord)."""
        return self.offset + CHORD_SYMBOLS.index(symbol or NO_CHORD)

    def chord_symbol(self, token_id: int) -> str | None:
        """The chord a chord id stands for (None for N.C. or a non-chord id)."""
        if token_id not in self.chord_ids:
            return None
        symbol = CHORD_SYMBOLS[token_id - self.offset]
        return None if symbol == NO_CHORD else symbol

    # ---------------------------------------------------------------- infill

    @property
    def infill_ids(self) -> tuple[int, int, int]:
        """(start, end, middle) marker ids."""
        if not self.infill:
            raise ValueError("this tokenizer has no infill tokens")
        return tuple(self.id_of(name) for name in INFILL_TOKENS)  # type: ignore[return-value]
