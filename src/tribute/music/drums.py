"""General MIDI drum keys (channel 10) grouped into the classes of a drum kit.

The originality guard's drum fingerprints, the evaluation's drum features and the score's
percussion staff all read a drum note through this table.
"""

from __future__ import annotations

import numpy as np

DRUM_CLASSES = ("kick", "snare", "hihat", "cymbal", "tom", "other")

# GM drum key → index into DRUM_CLASSES (anything unlisted is "other" percussion).
DRUM_CLASS = np.full(128, DRUM_CLASSES.index("other"), dtype=np.int64)
DRUM_CLASS[[35, 36]] = 0  # acoustic and electric bass drum
DRUM_CLASS[[37, 38, 39, 40]] = 1  # side stick, snares, hand clap
DRUM_CLASS[[42, 44, 46]] = 2  # closed, pedal and open hi-hat
DRUM_CLASS[[49, 51, 52, 53, 55, 57, 59]] = 3  # crashes, rides, china, splash, ride bell
DRUM_CLASS[[41, 43, 45, 47, 48, 50]] = 4  # floor, low, mid and high toms


def drum_classes(pitches: np.ndarray) -> np.ndarray:
    """Kit class index of each drum key (keys outside 0-127 count as "other")."""
    return DRUM_CLASS[np.clip(np.asarray(pitches, dtype=np.int64), 0, 127)]
