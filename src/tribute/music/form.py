"""A song's form from its repetitions: which spans of bars come back, as sections.

A bar's signature is its melody — the lead track's onsets and pitches relative to the bar's
start (every pitched track when the song has no lead). A span of at least
:data:`MIN_REPEAT_BARS` bars whose signatures equal an earlier span's is a repeat; the rest is
new material. Boundaries are then made consistent, so that each repeated span starts a section
of the same name and length as the span it repeats — the form ``tribute compose --form`` takes
(``"a:4 a:4 b:8"``, where a name that comes back repeats its first occurrence). A chorale's bar
form comes out as ``a:4 a:4 b:8``; a through-composed piece as one section.
"""

from __future__ import annotations

import itertools
from collections.abc import Hashable, Sequence

import numpy as np
from symusic import Score

from tribute.music.timeline import bar_start_ticks

MIN_REPEAT_BARS = 2

Form = list[tuple[str, int]]  # (section name, bars), in song order


def bar_signatures(score: Score, tracks: Sequence[int] | None = None) -> list[int | None]:
    """Per bar, a hash of the notes starting in it (onset offset, pitch) on ``tracks``
    (default: every pitched track); None for a bar where none start (a rest never matches)."""
    starts = np.asarray(bar_start_ticks(score), dtype=np.int64)
    if not len(starts):
        return []
    chosen = range(len(score.tracks)) if tracks is None else tracks
    notes: list[tuple[int, int]] = []
    for index in chosen:
        track = score.tracks[index]
        if not track.is_drum:
            notes += [(n.time, n.pitch) for n in track.notes]
    by_bar: list[list[tuple[int, int]]] = [[] for _ in starts]
    for time, pitch in notes:
        bar = int(np.searchsorted(starts, time, side="right")) - 1
        if bar >= 0:
            by_bar[bar].append((int(time - starts[bar]), pitch))
    return [hash(tuple(sorted(bar))) if bar else None for bar in by_bar]


def find_form(signatures: Sequence[Hashable | None]) -> Form:
    """Sections from bar signatures: each repeat of an earlier span of ``MIN_REPEAT_BARS``+
    bars (the longest, earliest first) becomes a section named like the one it repeats."""
    n = len(signatures)
    repeats = _repeats(signatures)
    cuts = {0, n}
    for at, source, length in repeats:
        cuts |= {at, at + length, source, source + length}
    # A cut inside a repeated span must also cut the span it repeats, and the other way round.
    changed = True
    while changed:
        changed = False
        for at, source, length in repeats:
            for offset in range(1, length):
                if (at + offset in cuts) != (source + offset in cuts):
                    cuts |= {at + offset, source + offset}
                    changed = True
    edges = sorted(cuts)
    origin = {at + k: source + k for at, source, length in repeats for k in range(length)}
    names: dict[int, str] = {}
    form: Form = []
    for start, end in itertools.pairwise(edges):
        first = start
        while first in origin:  # follow a repeat of a repeat back to the first statement
            first = origin[first]
        if first not in names:
            names[first] = _letter(len(names))
        form.append((names[first], end - start))
    return form


def _repeats(signatures: Sequence[Hashable | None]) -> list[tuple[int, int, int]]:
    """(start, start of the earlier span it repeats, bars), left to right, not overlapping."""
    n, found, i = len(signatures), [], 0
    while i < n:
        best = (0, -1)
        for j in range(i):
            length = 0
            while (
                i + length < n
                and j + length < i
                and signatures[i + length] is not None
                and signatures[i + length] == signatures[j + length]
            ):
                length += 1
            if length > best[0]:
                best = (length, j)
        if best[0] >= MIN_REPEAT_BARS:
            found.append((i, best[1], best[0]))
            i += best[0]
        else:
            i += 1
    return found


def _letter(index: int) -> str:
    return "abcdefghijklmnopqrstuvwxyz"[index] if index < 26 else f"s{index}"


def fit_form(form: Form, bars: int) -> Form:
    """``form`` cut or lengthened to ``bars`` bars: later sections are dropped or shortened
    (a repeat may be shorter than the section it repeats); a shorter form's last section is
    lengthened when it is new material, else a new closing section takes the bars it lacks."""
    fitted: Form = []
    left = bars
    for name, length in form:
        if left <= 0:
            break
        fitted.append((name, min(length, left)))
        left -= length
    if left > 0 and fitted and [n for n, _ in fitted].count(fitted[-1][0]) == 1:
        fitted[-1] = (fitted[-1][0], fitted[-1][1] + left)
    elif left > 0:
        used = {name for name, _ in fitted}
        index = 0
        while _letter(index) in used:
            index += 1
        fitted.append((_letter(index), left))
    return fitted


def form_text(form: Form) -> str:
    return " ".join(f"{name}:{length}" for name, length in form)
