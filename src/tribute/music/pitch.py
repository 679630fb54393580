"""Pitches, keys and scales: names, key signatures, and key finding.

Key finding correlates a duration-weighted pitch-class profile with the Krumhansl–Kessler
major/minor key profiles (Krumhansl 1990, "Cognitive Foundations of Musical Pitch").
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from tribute.errors import TributeError

PITCH_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")  # pop spelling

# Krumhansl & Kessler (1982) probe-tone profiles, tonic first.
MAJOR_PROFILE = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
MINOR_PROFILE = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])

# Key-signature sharps (+) or flats (-) of the major key on each tonic pitch class (F# not Gb).
_MAJOR_SHARPS = (0, -5, 2, -3, 4, -1, 6, 1, -4, 3, -2, 5)
# Key names by sharps 0..7 then flats 1..7 (index 8 = one flat).
_MAJOR_KEYS = ("C", "G", "D", "A", "E", "B", "F#", "C#", "F", "Bb", "Eb", "Ab", "Db", "Gb", "Cb")
_MINOR_KEYS = ("A", "E", "B", "F#", "C#", "G#", "D#", "A#", "D", "G", "C", "F", "Bb", "Eb", "Ab")

_LETTERS = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
_ACCIDENTALS = {"": 0, "#": 1, "♯": 1, "b": -1, "♭": -1}
MODES: dict[str, tuple[int, ...]] = {
    "major": (0, 2, 4, 5, 7, 9, 11),
    "minor": (0, 2, 3, 5, 7, 8, 10),  # natural minor; scale_pitch_classes adds the leading tone
    "dorian": (0, 2, 3, 5, 7, 9, 10),
    "mixolydian": (0, 2, 4, 5, 7, 9, 10),
}
MAJOR_SCALE = np.isin(np.arange(12), MODES["major"])  # bool per pitch class above the tonic
MINOR_SCALE = np.isin(np.arange(12), MODES["minor"])
# Spellings for notation: sharps in sharp keys (and C), flats in flat keys.
SHARP_SPELLING = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
FLAT_SPELLING = ("C", "Db", "D", "Eb", "E", "F", "Gb", "G", "Ab", "A", "Bb", "B")


@dataclass(frozen=True)
class Key:
    tonic: int  # pitch class 0-11
    mode: str  # "major" or "minor"

    @property
    def minor(self) -> bool:
        return self.mode == "minor"

    @property
    def name(self) -> str:
        return f"{PITCH_NAMES[self.tonic]} {self.mode}"


def pitch_name(pitch: int) -> str:
    """MIDI pitch → scientific name, middle C = C4."""
    return f"{PITCH_NAMES[pitch % 12]}{pitch // 12 - 1}"


def pitch_class(text: str) -> int:
    """``"Eb"``, ``"F#"``, ``"c"`` → 0-11; raises on anything else."""
    match = re.fullmatch(r"([A-Ga-g])([#b♯♭]?)", text.strip())
    if not match:
        raise TributeError(f"{text!r} is not a note name (C, F#, Bb …)")
    return (_LETTERS[match.group(1).upper()] + _ACCIDENTALS[match.group(2)]) % 12


def scale_pitch_classes(key: str) -> frozenset[int]:
    """``"E minor"``, ``"Em"``, ``"Bb major"``, ``"F# dorian"`` → pitch classes of the scale.

    Minor adds the harmonic minor's leading tone (V chords and cadences need it).
    """
    match = re.fullmatch(
        r"\s*([A-Ga-g][#b♯♭]?)\s*(m|min|minor|maj|major|dorian|mixolydian)?\s*", key
    )
    if not match:
        raise TributeError(f'--key looks like "E minor" or "Bb major", got {key!r}')
    tonic = pitch_class(match.group(1))
    mode = {"m": "minor", "min": "minor", "maj": "major", None: "major"}.get(
        match.group(2), match.group(2)
    )
    classes = {(tonic + step) % 12 for step in MODES[mode]}
    if mode == "minor":
        classes.add((tonic + 11) % 12)
    return frozenset(classes)


def pitch_class_profile(pitches: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Weighted pitch-class histogram (not normalized)."""
    return np.bincount(
        np.asarray(pitches, dtype=np.int64) % 12,
        weights=np.asarray(weights, dtype=float),
        minlength=12,
    ).astype(float)


def estimate_key(profile: np.ndarray) -> Key | None:
    """The key whose Krumhansl–Kessler profile correlates best with a pitch-class profile;
    None for an empty (or flat) profile."""
    profile = np.asarray(profile, dtype=float)
    if not profile.any() or np.ptp(profile) == 0:
        return None
    best, best_r = None, -2.0
    for mode, reference in (("major", MAJOR_PROFILE), ("minor", MINOR_PROFILE)):
        for tonic in range(12):
            r = float(np.corrcoef(profile, np.roll(reference, tonic))[0, 1])
            if r > best_r:
                best, best_r = Key(tonic, mode), r
    return best


def key_sharps(key: Key) -> int:
    """Key-signature sharps (+) or flats (-); a minor key shares its relative major's."""
    return _MAJOR_SHARPS[(key.tonic + 3) % 12 if key.minor else key.tonic]


def key_name(sharps: int, minor: bool) -> str | None:
    """``"E minor"`` from a key signature (sharps -7..7) and mode; None if out of range."""
    if not -7 <= sharps <= 7:
        return None
    index = sharps if sharps >= 0 else 7 - sharps  # -1 → 8 (F / D), … -7 → 14
    names = _MINOR_KEYS if minor else _MAJOR_KEYS
    return f"{names[index]} {'minor' if minor else 'major'}"
