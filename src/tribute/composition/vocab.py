"""What each token id means for the controls and the grammar: a table built once per tokenizer.

A BPE id stands for several REMI events (``Bar Position_0 Program_33 Pitch_40 …``), always
within one bar (``encode_ids_split="bar"``). The table records, per id, whether it starts a bar
and which programs, tempos, time signatures and pitches it carries, so that a control becomes a
boolean mask over the vocabulary applied to the logits at every sampling step.

It also records each id's first and last event kind, so that sampling follows the tokenizer's
grammar (MidiTok's token-type graph: ``Bar TimeSig (Position [Tempo] (Program Pitch Velocity
Duration)*)*`` for REMI + programs) and every sampled note has its own program (a Pitch without
a Program would decode onto a piano).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import pairwise

import numpy as np

from tribute.composition.controls import Controls
from tribute.errors import TributeError
from tribute.tokens import MusicTokenizer, event_kind, may_follow


@dataclass
class TokenTable:
    bar_start: np.ndarray  # bool [V]: the id begins with a Bar event
    opener: np.ndarray  # bool [V]: the id opens a bar (its chord with harmony, else bar_start)
    chord_ids: range  # the chord block (empty without harmony)
    programs: list[frozenset[int]]  # Program_ values per id
    tempos: list[frozenset[float]]
    time_signatures: list[frozenset[tuple[int, int]]]
    pitches: list[frozenset[int]]  # Pitch_ values (pitched tracks only; drums use PitchDrum_)
    never: np.ndarray  # bool [V]: PAD, BOS, style tokens — never sampled mid-song
    eos_id: int
    state_after: np.ndarray  # int [V]: grammar state after the id (-1: unchanged, e.g. "▁")
    state_masks: np.ndarray  # bool [S, V]: ids allowed in each grammar state
    notes: list[tuple[tuple[int, int], ...]]  # (program, pitch) of each note begun in the id
    lead_pitch: np.ndarray  # int [V]: the pitch of a note whose Program came before the id, -1
    last_program: np.ndarray  # int [V]: the program in effect after the id; NO_PROGRAM: same
    # (program, shortness) of each Duration in the id: log2(1 / beats), clipped to ±2 (a sixteenth
    # +2, a quarter 0, a whole note −2); NO_PROGRAM: the note of the program in effect before it.
    durations: list[tuple[tuple[int, float], ...]]
    # Positions in a bar (MidiTok: ``positions_per_beat`` per beat of the time signature's
    # denominator) must stay inside the bar, or notes spill into the next bars.
    first_position: np.ndarray  # int [V]: the id's first Position value, -1 without one
    last_position: np.ndarray  # int [V]: its last, -1 without one
    top_position: np.ndarray  # int [V]: its highest, -1 without one
    rising: np.ndarray  # bool [V]: positions inside the id rise
    beats_after: np.ndarray  # int [V]: the bar's beats once the id set a TimeSig, else 0
    meter_after: np.ndarray  # int [V]: that TimeSig as numerator · 64 + denominator, else 0
    positions_per_beat: int = 12

    @property
    def n_states(self) -> int:
        return len(self.state_masks)

    @classmethod
    def of(cls, tokenizer: MusicTokenizer) -> TokenTable:
        size = tokenizer.vocab_size
        bar_start = np.zeros(size, dtype=bool)
        programs, tempos, signatures, pitches = [], [], [], []
        for token_id in range(size):
            base = tokenizer.base_tokens(token_id) if token_id < tokenizer.music_vocab_size else []
            bar_start[token_id] = bool(base) and base[0].startswith("Bar_")
            programs.append(frozenset(int(t[8:]) for t in base if t.startswith("Program_")))
            tempos.append(frozenset(float(t[6:]) for t in base if t.startswith("Tempo_")))
            signatures.append(
                frozenset(_signature(t[8:]) for t in base if t.startswith("TimeSig_"))
            )
            pitches.append(frozenset(int(t[6:]) for t in base if t.startswith("Pitch_")))
        never = np.zeros(size, dtype=bool)
        never[tokenizer.special_ids] = True
        if not bar_start.any():
            raise TributeError("the tokenizer has no Bar token: cannot count bars")
        state_after, state_masks = _grammar(tokenizer, size)
        notes, lead_pitch, last_program, durations = _notes(tokenizer, size)
        first, last, top, rising, beats, meters = _positions(tokenizer, size)
        return cls(
            bar_start,
            tokenizer.bar_opener_table(),
            tokenizer.controls.chord_ids,
            programs,
            tempos,
            signatures,
            pitches,
            never,
            tokenizer.eos_id,
            state_after,
            state_masks,
            notes,
            lead_pitch,
            last_program,
            durations,
            first,
            last,
            top,
            rising,
            beats,
            meters,
            positions_per_beat=max(res for _, _, res in tokenizer.settings.beat_res),
        )

    def known_tempos(self) -> list[float]:
        return sorted(set().union(*self.tempos))

    def known_time_signatures(self) -> list[tuple[int, int]]:
        return sorted(set().union(*self.time_signatures))

    def allowed(self, controls: Controls, programs: frozenset[int] | None = None) -> np.ndarray:
        """Ids the controls allow anywhere in a song (EOS excluded: the bar count ends songs);
        ``programs``: the parts' programs (None: any)."""
        allowed = ~self.never
        allowed[self.eos_id] = False
        if programs is not None:
            allowed &= np.array([p <= programs for p in self.programs])
        if controls.time_signature is not None:
            if controls.time_signature not in self.known_time_signatures():
                raise TributeError(
                    f"time signature {controls.time_signature[0]}/{controls.time_signature[1]} "
                    "is not in this model's vocabulary; it knows "
                    + ", ".join(f"{a}/{b}" for a, b in self.known_time_signatures())
                )
            allowed &= np.array([s <= {controls.time_signature} for s in self.time_signatures])
        if controls.tempo_qpm is not None:
            wanted = controls.tempo_qpm
            nearest = min(self.known_tempos(), key=lambda t: abs(t - wanted), default=None)
            if nearest is not None:
                allowed &= np.array([t <= {nearest} for t in self.tempos])
        scale = controls.scale()
        if scale is not None:
            allowed &= np.array([all(p % 12 in scale for p in ps) for ps in self.pitches])
        if not (allowed & self.bar_start).any() or not (allowed & self.opener).any():
            raise TributeError("the controls leave no token that starts a bar")
        return allowed

    def part_masks(self, ranges: dict[int, tuple[int, int]]) -> tuple[np.ndarray, dict]:
        """For a line-up (program → (low, high)): the ids whose every whole note is on a part
        and in its range, and per program the ids whose leading pitch (a note whose Program id
        came just before) is in that part's range."""
        whole = np.array(
            [
                all(p in ranges and ranges[p][0] <= pitch <= ranges[p][1] for p, pitch in notes)
                for notes in self.notes
            ]
        )
        leading = {
            p: (self.lead_pitch < 0) | ((self.lead_pitch >= low) & (self.lead_pitch <= high))
            for p, (low, high) in ranges.items()
        }
        return whole, leading

    def note_bias(self, per_program: dict[int, float]) -> dict[int, np.ndarray]:
        """A logit offset per id for each program in effect before it (``NO_PROGRAM``: none):
        each note value the id sets on program p adds ``per_program[p]`` × its shortness, so a
        positive level favours short notes (more of them in a bar) and a negative one long
        notes. A Duration whose Program came in an earlier id counts for the program in effect."""
        size = len(self.durations)
        own = np.zeros(size, dtype=np.float32)
        inherited = np.zeros(size, dtype=np.float32)  # shortness of notes of the program in effect
        for token_id, found in enumerate(self.durations):
            for program, short in found:
                if program == NO_PROGRAM:
                    inherited[token_id] += short
                else:
                    own[token_id] += per_program.get(program, 0.0) * short
        bias = {NO_PROGRAM: own}
        for program, level in per_program.items():
            bias[program] = own + np.float32(level) * inherited
        return bias


NO_PROGRAM = -2


def _positions(tokenizer: MusicTokenizer, size: int):
    """Per id: first, last and highest Position, whether they rise, and a TimeSig's beats."""
    first = np.full(size, -1, dtype=np.int64)
    last = np.full(size, -1, dtype=np.int64)
    top = np.full(size, -1, dtype=np.int64)
    rising = np.ones(size, dtype=bool)
    beats = np.zeros(size, dtype=np.int64)
    meters = np.zeros(size, dtype=np.int64)
    for token_id in range(min(size, tokenizer.music_vocab_size)):
        found = []
        for event in tokenizer.base_tokens(token_id):
            kind, _, value = event.partition("_")
            if kind == "Position":
                found.append(int(value))
            elif kind == "TimeSig":
                numerator, denominator = (int(v) for v in value.split("/"))
                beats[token_id], meters[token_id] = numerator, numerator * 64 + denominator
        if found:
            first[token_id], last[token_id], top[token_id] = found[0], found[-1], max(found)
            rising[token_id] = all(a < b for a, b in pairwise(found))
    return first, last, top, rising, beats, meters


def _notes(tokenizer: MusicTokenizer, size: int):
    """Per id: the (program, pitch) notes it begins, a leading pitch, the program after it, and
    the (program, shortness) of its Durations."""
    notes: list[tuple[tuple[int, int], ...]] = []
    durations: list[tuple[tuple[int, float], ...]] = []
    lead_pitch = np.full(size, -1, dtype=np.int64)
    last_program = np.full(size, NO_PROGRAM, dtype=np.int64)
    for token_id in range(size):
        events = tokenizer.base_tokens(token_id) if token_id < tokenizer.music_vocab_size else []
        found: list[tuple[int, int]] = []
        lengths: list[tuple[int, float]] = []
        program: int | None = None
        for event in events:
            kind, _, value = event.partition("_")
            if kind == "Program":
                program = int(value)
                last_program[token_id] = program
            elif kind in ("Pitch", "PitchDrum"):
                if program is None:
                    lead_pitch[token_id] = int(value)
                else:
                    found.append((program, int(value)))
            elif kind == "Duration":
                beats, ticks, resolution = (int(v) for v in value.split("."))
                short = -math.log2(max(beats + ticks / resolution, 1 / 16))
                lengths.append(
                    (NO_PROGRAM if program is None else program, min(2.0, max(-2.0, short)))
                )
        notes.append(tuple(found))
        durations.append(tuple(lengths))
    return notes, lead_pitch, last_program, durations


def _signature(text: str) -> tuple[int, int]:
    numerator, denominator = text.split("/")
    return int(numerator), int(denominator)


CHORD = "Chord"  # the pseudo event kind of a chord id (tribute.tokens.controls)


def _grammar(tokenizer: MusicTokenizer, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Per id: the grammar state after it; per state: the ids that may come next.

    A state is the last event kind (state 0: the start of a section, where a bar must begin)
    and, after a ``Program`` event, whether it was the drum program. The kinds and which may
    follow which come from the tokenizer's own token-type graph (:meth:`MusicTokenizer.grammar`),
    so a tokenizer change cannot leave the sampler behind. With harmony, a chord id stands
    wherever a bar may begin, and only a bar may follow it.
    """
    grammar = tokenizer.grammar()
    harmony = tokenizer.settings.harmony
    kinds: list[str | None] = [None, *sorted(grammar), CHORD]  # None: the start

    def state(kind: str | None, drum: bool) -> int:
        return kinds.index(kind) * 2 + int(drum)

    def follows(previous: str | None, kind: str, drum: bool) -> bool:
        if not harmony:
            return previous != CHORD and may_follow(grammar, previous, kind, drum)
        if kind == CHORD:
            return previous is None or (previous != CHORD and "Bar" in grammar.get(previous, ()))
        if kind == "Bar":
            return previous == CHORD
        return previous not in (None, CHORD) and may_follow(grammar, previous, kind, drum)

    state_after = np.full(size, -1, dtype=np.int64)
    first: list[str | None] = [None] * size
    valid = np.zeros(size, dtype=bool)
    for token_id in range(min(size, tokenizer.music_vocab_size)):
        events = [e for e in tokenizer.base_tokens(token_id) if event_kind(e) in grammar]
        if not events:
            continue
        drums = [e == "Program_-1" for e in events]
        valid[token_id] = all(
            may_follow(grammar, event_kind(a), event_kind(b), d)
            for a, b, d in zip(events, events[1:], drums, strict=False)
        )
        first[token_id] = event_kind(events[0])
        state_after[token_id] = state(event_kind(events[-1]), drums[-1])
    for token_id in tokenizer.controls.chord_ids:
        first[token_id], valid[token_id] = CHORD, True
        state_after[token_id] = state(CHORD, False)
    masks = np.zeros((2 * len(kinds), size), dtype=bool)
    neutral = np.array([f is None for f in first])  # "▁" and the like: change nothing
    neutral[tokenizer.music_vocab_size :] = False
    for kind in kinds:
        for drum in (False, True):
            allowed = np.array([f is not None and follows(kind, f, drum) for f in first])
            masks[state(kind, drum)] = (allowed & valid) | neutral
    return state_after, masks
