"""The grammar of the token stream: which MidiTok event kind may follow which.

The rules are MidiTok's own token-type graph (:meth:`MusicTokenizer.grammar`); this module
applies them — to check a transition, and to repair a sampled sequence into the longest
decodable reading of it.
"""

from __future__ import annotations

from collections.abc import Mapping


def event_kind(token: str) -> str:
    """``"Pitch_60"`` → ``"Pitch"``: the event type of a MidiTok base token."""
    return token.split("_", 1)[0]


def may_follow(
    grammar: Mapping[str, frozenset[str]], previous: str | None, kind: str, drum: bool = False
) -> bool:
    """Whether an event of ``kind`` may follow one of kind ``previous`` (None: the start of a
    piece or section, where only a bar may begin). After a ``Program`` event the drum program
    (``drum``) is followed by ``PitchDrum``, any other by ``Pitch``."""
    if previous is None:
        return kind == "Bar"
    if previous == "Program":
        return kind == ("PitchDrum" if drum else "Pitch")
    return kind in grammar.get(previous, frozenset())


def _grammatical(tokens: list[str], grammar: Mapping[str, frozenset[str]]) -> list[str]:
    """The longest decodable reading of ``tokens``: events that break the grammar are dropped
    with the incomplete note or event group they interrupt."""
    closing = {k for k, nxt in grammar.items() if "Bar" in nxt or "Position" in nxt}
    out: list[str] = []
    pending: list[str] = []  # the open group since the last point a new group may start
    for token in tokens:
        kind = event_kind(token)
        if kind not in grammar:
            continue
        for group in (pending, []):  # continue the open group, else restart after ``out``
            last = group[-1] if group else (out[-1] if out else None)
            previous = event_kind(last) if last else None
            if may_follow(grammar, previous, kind, last == "Program_-1"):
                pending = [*group, token]
                break
        else:
            pending = []
            continue
        if kind in closing:
            out += pending
            pending = []
    return out
