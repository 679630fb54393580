"""From sampled tokens to the band's score: one track per part, in line-up order (so each part
has its own MIDI channel), each section with only the parts that play in it, every part inside
its range and a monophonic part one note at a time; then the requested tempo, time signature,
exact length and a marker per section.

The sampler already keeps parts on their programs and ranges; this module makes the result
exact (a section repeat that drops a part, a note a BPE token carried in whole) and counts what
it changed, so the song's record says so.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import pairwise

import numpy as np
from symusic import Note, Score, Tempo, TextMeta, TimeSignature, Track

from tribute.composition.controls import Controls
from tribute.composition.lineup import DRUMS, Part
from tribute.composition.plan import PlannedSection
from tribute.music import bar_start_ticks, first_meter


@dataclass
class Arranged:
    score: Score
    dropped_notes: int = 0  # notes of programs outside the line-up or of silent sections
    merged_notes: int = 0  # notes stacked on a monophonic part's onset (one kept)
    folded_notes: int = 0  # notes moved by octaves into their part's range
    notes_per_part: dict[str, int] = field(default_factory=dict)


def arrange(
    score: Score,
    parts: Sequence[Part],
    sections: Sequence[PlannedSection],
    controls: Controls,
    primer_bars: int,
) -> Arranged:
    """The decoded ``score`` as the band's parts, with the controls made exact."""
    _meter(score, controls)
    total = primer_bars + controls.bars
    starts = [int(t) for t in bar_start_ticks(score, until_tick=1 << 40)[: total + 1]]
    while len(starts) <= total:  # the song ends in empty bars
        starts.append(starts[-1] + first_meter(score).bar_ticks(score.tpq))
    end = starts[total]
    out = Arranged(score)
    by_program = {(DRUMS if t.is_drum else int(t.program)): t for t in score.tracks}
    out.dropped_notes = sum(
        t.note_num() for p, t in by_program.items() if p not in {part.program for part in parts}
    )
    tracks = []
    for part in parts:
        source = by_program.get(part.program)
        notes = _notes_of(source, part, sections, starts, out) if source else []
        track = Track(part.name, max(part.program, 0), part.program == DRUMS)
        track.notes.extend(notes)
        tracks.append(track)
        out.notes_per_part[part.name] = len(notes)
    score.tracks = tracks
    markers = [TextMeta(starts[s.start_bar], s.section.name) for s in sections]
    if primer_bars:
        markers.insert(0, TextMeta(0, "primer"))
    markers.append(TextMeta(end, "end"))
    score.markers = markers
    return out


def _meter(score: Score, controls: Controls):
    if controls.time_signature is not None:
        score.time_signatures = [TimeSignature(0, *controls.time_signature)]
    if controls.tempo_qpm is not None:
        score.tempos = [Tempo(0, controls.tempo_qpm)]
    meter = first_meter(score)
    if not len(score.time_signatures):
        score.time_signatures = [TimeSignature(0, meter.numerator, meter.denominator)]
    return meter


def _notes_of(
    track: Track, part: Part, sections: Sequence[PlannedSection], starts: list[int], out: Arranged
) -> list[Note]:
    """A part's notes: in the song's length, in the sections it plays in, in range, and one
    at a time if the part is monophonic (``starts``: every bar's first tick, and the end)."""
    end = starts[-1]
    silent = [
        (starts[s.start_bar], starts[s.start_bar + s.section.bars])
        for s in sections
        if part not in s.parts
    ]
    notes = []
    for note in track.notes:
        if note.time >= end or any(a <= note.time < b for a, b in silent):
            out.dropped_notes += 1
            continue
        pitch = int(note.pitch)
        if part.program != DRUMS and not part.low <= pitch <= part.high:
            pitch = _fold(pitch, part.low, part.high)
            out.folded_notes += 1
        duration = max(1, min(int(note.duration), end - int(note.time)))
        notes.append(Note(int(note.time), duration, pitch, int(note.velocity)))
    if part.monophonic:
        notes = _one_at_a_time(notes, low=part.role == "bass", out=out)
    return notes


def _fold(pitch: int, low: int, high: int) -> int:
    while pitch < low:
        pitch += 12
    while pitch > high:
        pitch -= 12
    return pitch if low <= pitch <= high else int(np.clip(pitch, low, high))


def _one_at_a_time(notes: list[Note], low: bool, out: Arranged) -> list[Note]:
    """One note per onset (the lowest for a bass line, else the highest), each cut where the
    next begins."""
    by_onset: dict[int, Note] = {}
    for note in sorted(notes, key=lambda n: (n.time, n.pitch if low else -n.pitch)):
        if note.time in by_onset:
            out.merged_notes += 1
            continue
        by_onset[note.time] = note
    line = [by_onset[t] for t in sorted(by_onset)]
    for current, following in pairwise(line):
        current.duration = max(1, min(current.duration, following.time - current.time))
    return line
