"""Band roles and General MIDI programs: who plays what, and in which range.

A track's role (drums, bass, guitar, keys, strings, brass, lead, other) comes from channel 10,
its name and its GM program, in that order; composition's instrument names map to program
families here, and transposition and sampling keep each role inside its instrument's range.
"""

from __future__ import annotations

import re

ROLES = ("drums", "bass", "guitar", "keys", "strings", "brass", "lead", "other")

# Track-name keywords, checked in order; the first hit wins. Word boundaries matter:
# "bassoon" is not a bass and "leading" is not a lead.
_NAME_ROLES: tuple[tuple[str, str], ...] = (
    (
        "drums",
        r"\b(drums?|drum ?kit|kit|perc\w*|batterie|schlagzeug|snare|kick|hi-?hat|"
        r"cymbals?)\b",
    ),
    ("bass", r"\b(bass|bassus|bajo|basso|e-?bass|bass ?guitar|contrabass)\b"),
    (
        "lead",
        r"\b(vocals?|vox|voice|voc|lead|melody|melodie|soprano|sopran|cantus|superius|"
        r"singer|sing|canto|chant)\b",
    ),
    ("guitar", r"\b(guitars?|gtr|git|gitarre|guitarra|dist\w*|overdrive|rhythm)\b"),
    (
        "keys",
        r"\b(piano|keys?|keyboard|organ|orgel|synth\w*|rhodes|clavinet|harpsichord|"
        r"cembalo|epiano|e-piano)\b",
    ),
    ("strings", r"\b(strings?|violins?|viola|violoncello|cello|violino|fiddle|harp)\b"),
    (
        "brass",
        r"\b(brass|trumpets?|trombones?|horns?|tuba|sax\w*|clarinet|oboe|flute|bassoon|"
        r"winds?|reed)\b",
    ),
    # Inner voices of a choral score accompany: neither lead nor bass.
    (
        "other",
        r"\b(alto|altus|tenor|tenore|tenorlied|contra\w*|quintus|sextus|septimus|vagans|"
        r"mezzo|baritone?)\b",
    ),
)


def role_from_program(program: int, is_drum: bool) -> str:
    """Band role of a General MIDI program (0-127)."""
    if is_drum:
        return "drums"
    family = program // 8
    return (
        {
            0: "keys",  # pianos
            1: "keys",  # chromatic percussion
            2: "keys",  # organs
            3: "guitar",
            4: "bass",
            5: "strings",
            6: "strings",  # ensembles; choir programs 52-54 handled below
            7: "brass",
            8: "brass",  # reeds
            9: "brass",  # pipes
            10: "lead",  # synth leads
            11: "keys",  # synth pads
        }.get(family, "other")
        if program not in (52, 53, 54, 85)
        else _VOICE_ROLES[program]
    )


# Voice programs: choir and voice pads are backing voices, "Lead 6 (voice)" is a lead.
_VOICE_ROLES = {52: "other", 53: "other", 54: "other", 85: "lead"}


def band_role(name: str, program: int, is_drum: bool) -> str:
    """Band role from channel 10, the track name and the GM program, in that order."""
    if is_drum:
        return "drums"
    lowered = name.lower()
    for role, pattern in _NAME_ROLES:
        if re.search(pattern, lowered):
            # A track named "drums" on a pitched channel is still pitched: keep it "other".
            return "other" if role == "drums" else role
    return role_from_program(program, is_drum)


# Distinct programs for the parts of a choral or ensemble score that carries no instruments,
# so that a program-keyed tokenization (REMI + programs) keeps them as separate tracks.
ENSEMBLE_PROGRAMS = (52, 53, 54, 85, 91, 40, 41, 42, 43, 68, 71, 70, 60, 56, 57, 58)


def distinct_program(wanted: int, taken: set[int]) -> int:
    """``wanted`` if free, else the next free program of the same GM family, else any free one."""
    if wanted not in taken:
        return wanted
    family = wanted // 8 * 8
    for candidate in [*range(family, family + 8), *ENSEMBLE_PROGRAMS, *range(128)]:
        if candidate not in taken:
            return candidate
    return wanted  # 128 pitched tracks: nothing left to separate them


# Playable MIDI pitch range per band role (low, high): a transposition or a sampled note may
# not leave it (nor a track's own range, if the original already exceeds it).
ROLE_RANGES: dict[str, tuple[int, int]] = {
    "bass": (28, 67),  # E1 .. G4: 4-string bass up to the 20th fret
    "guitar": (40, 88),  # E2 .. E6
    "keys": (21, 108),  # A0 .. C8
    "strings": (28, 103),  # double bass E1 .. violin G7
    "brass": (34, 96),  # winds and brass, tuba .. piccolo trumpet
    "lead": (36, 96),  # voices and synth leads
    "other": (21, 108),
}

# Instrument names of ``compose --instruments`` → the GM programs they allow (-1: drums, as
# MidiTok numbers the drum "program").
INSTRUMENT_PROGRAMS: dict[str, frozenset[int]] = {
    "drums": frozenset({-1}),
    "bass": frozenset(range(32, 40)),
    "guitar": frozenset(range(24, 32)),
    "keys": frozenset([*range(0, 24), *range(88, 96)]),
    "piano": frozenset(range(0, 8)),
    "organ": frozenset(range(16, 24)),
    "strings": frozenset(range(40, 52)),
    "brass": frozenset(range(56, 64)),
    "winds": frozenset(range(64, 80)),
    # A lead line: synth leads, flute/recorder/whistle, and sung parts (choir, voice).
    "lead": frozenset([*range(80, 88), 52, 53, 54, 73, 74, 78]),
    "voices": frozenset({52, 53, 54, 85, 91}),
}
INSTRUMENT_PROGRAMS["vocals"] = INSTRUMENT_PROGRAMS["lead"]
INSTRUMENT_PROGRAMS["choir"] = INSTRUMENT_PROGRAMS["voices"]
