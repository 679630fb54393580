"""Two synthetic styles for the evaluator's self-tests (docs/evaluation.md §4).

``artist_song(seed)``: an "artist" whose melodies are built from a 2-bar motif in AABA form
(sequence in B, a changed cadence in A'), with a piano, a syncopated bass and a straight rock
beat — structure a Markov-2 chain or an interval shuffle destroys. ``tests/songs.band_song`` is
the "genre": random-walk melodies over a four-chord loop, a different kit and texture.
"""

from __future__ import annotations

import random
from pathlib import Path

from symusic import Note, Score, Tempo, TimeSignature, Track

TPQ = 480
MAJOR = (0, 2, 4, 5, 7, 9, 11)
RHYTHMS = (  # 2-bar motif rhythms in eighths (sum 16)
    (3, 1, 2, 2, 4, 2, 2),
    (2, 2, 3, 1, 2, 2, 4),
    (1, 1, 2, 4, 3, 1, 4),
    (2, 1, 1, 4, 2, 2, 4),
)


def _pitch(key: int, degree: int) -> int:
    return 60 + key + MAJOR[degree % 7] + 12 * (degree // 7)


def artist_song(seed: int, key: int | None = None) -> Score:
    rng = random.Random(seed * 7919 + 13)
    key = rng.randrange(12) - 5 if key is None else key
    rhythm = RHYTHMS[rng.randrange(len(RHYTHMS))]
    degrees, d = [], rng.randrange(2, 6)
    for _ in rhythm:
        degrees.append(d)
        d = max(0, min(11, d + rng.choice((-2, -1, 1, 2, 2, 3, -3, 4))))
    cadence = [*degrees[:-1], 0]
    sections = [(degrees, 0), (cadence, 0), (degrees, 2), (cadence, 0)]  # A A' B(+2) A'
    score = Score(TPQ)
    score.tempos.append(Tempo(0, 96.0))
    score.time_signatures.append(TimeSignature(0, 4, 4))
    lead, bass = Track("Vocals", 73, False), Track("Bass", 34, False)
    piano, kit = Track("Piano", 0, False), Track("Drums", 0, True)
    eighth, bar = TPQ // 2, 4 * TPQ
    t = 0
    for line, shift in sections:
        for length, degree in zip(rhythm, line, strict=True):
            lead.notes.append(Note(t, length * eighth - 20, _pitch(key, degree + shift), 90))
            t += length * eighth
    chords = (0, 3, 4, 0)
    for b in range(8):
        root = 36 + key + MAJOR[chords[b % 4]]
        for offset in (0, 3 * eighth, 4 * eighth, 7 * eighth):
            bass.notes.append(Note(b * bar + offset, eighth, root, 85))
        for half in (0, 2 * TPQ):
            for k in (0, 2, 4):
                piano.notes.append(
                    Note(
                        b * bar + half,
                        2 * TPQ - 10,
                        48 + key + 12 + MAJOR[(chords[b % 4] + k) % 7],
                        60,
                    )
                )
        for beat in range(4):
            kit.notes.append(Note(b * bar + beat * TPQ, eighth, 38 if beat % 2 else 36, 100))
            kit.notes.append(Note(b * bar + beat * TPQ + eighth, eighth, 51, 70))
    for track in (lead, bass, piano, kit):
        score.tracks.append(track)
    return score


def write_artist(folder: Path, count: int, first: int = 0) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for seed in range(first, first + count):
        artist_song(seed).dump_midi(str(folder / f"Motif_{seed:03d}.mid"))
    return folder


def write_genre(folder: Path, count: int, first: int = 100) -> Path:
    from songs import band_song

    folder.mkdir(parents=True, exist_ok=True)
    for seed in range(first, first + count):
        band_song(seed, bars=8, key=seed % 7, tempo_qpm=120 + seed % 30).dump_midi(
            str(folder / f"Rock_{seed:03d}.mid")
        )
    return folder
