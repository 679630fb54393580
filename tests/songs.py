"""Tiny synthetic band songs for tests: seeded, multi-track, built with symusic in milliseconds.

``band_song(seed)`` gives drums (channel 10), bass, guitar chords and a lead melody over a
four-chord progression; different seeds give different melodies and progressions, the same seed
gives the same song.
"""

from __future__ import annotations

import random
from pathlib import Path

from symusic import Note, Score, Tempo, TimeSignature, Track

TPQ = 480
MAJOR = (0, 2, 4, 5, 7, 9, 11)
PROGRESSIONS = ((0, 5, 3, 4), (0, 3, 4, 4), (5, 3, 0, 4), (0, 4, 5, 3), (1, 4, 0, 0))


def band_song(
    seed: int,
    bars: int = 8,
    tempo_qpm: float = 120.0,
    key: int = 0,
    lead_program: int = 80,
    with_names: bool = True,
    drums: bool = True,
) -> Score:
    rng = random.Random(seed)
    score = Score(TPQ)
    score.tempos.append(Tempo(0, tempo_qpm))
    score.time_signatures.append(TimeSignature(0, 4, 4))
    bar = 4 * TPQ
    progression = PROGRESSIONS[rng.randrange(len(PROGRESSIONS))]

    def track(name: str, program: int, is_drum: bool = False) -> Track:
        return Track(name if with_names else "", program, is_drum)

    kit, bass, guitar, lead = (
        track("Drums", 0, True),
        track("Bass", 33),
        track("Guitar", 29),
        track("Vocals", lead_program),
    )
    for b in range(bars):
        t0 = b * bar
        degree = progression[b % 4]
        root = 48 + key + MAJOR[degree]
        for beat in range(4):
            kit.notes.append(Note(t0 + beat * TPQ, TPQ // 4, 36 if beat % 2 == 0 else 38, 100))
            for eighth in range(2):
                kit.notes.append(Note(t0 + beat * TPQ + eighth * TPQ // 2, TPQ // 4, 42, 80))
            bass.notes.append(Note(t0 + beat * TPQ, TPQ - 20, root - 12, 90))
        for offset in (0, 4, 7):
            guitar.notes.append(Note(t0, bar - 10, root + offset, 70))
        # Lead: a seeded random walk on the scale, in eighths and quarters.
        t = t0
        step = rng.randrange(7)
        while t < t0 + bar:
            duration = TPQ // 2 if rng.random() < 0.6 else TPQ
            step = max(0, min(13, step + rng.choice((-2, -1, -1, 0, 1, 1, 2, 3, -3))))
            pitch = 60 + key + MAJOR[step % 7] + 12 * (step // 7)
            lead.notes.append(Note(t, duration, pitch, 96))
            t += duration
    for t in ([kit] if drums else []) + [bass, guitar, lead]:
        score.tracks.append(t)
    return score


def write_song(path: Path, seed: int, **kwargs) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    band_song(seed, **kwargs).dump_midi(str(path))
    return path


def vlq(value: int) -> bytes:
    """MIDI variable-length quantity."""
    out = [value & 0x7F]
    value >>= 7
    while value:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    return bytes(reversed(out))


def type0_midi(tpq: int = 96) -> bytes:
    """A type-0 file with three channels (bass, piano, drums) on one track, no track names."""
    events = vlq(0) + bytes([0xC0, 33]) + vlq(0) + bytes([0xC1, 0])
    for _bar in range(4):
        for step in range(4):
            on = [(0, 40 + step), (1, 60 + step), (1, 64 + step), (9, 36)]
            for channel, pitch in on:
                events += vlq(0) + bytes([0x90 | channel, pitch, 90])
            events += vlq(tpq)
            for i, (channel, pitch) in enumerate(on):
                events += (vlq(0) if i else b"") + bytes([0x80 | channel, pitch, 0])
    events += vlq(0) + b"\xff\x2f\x00"
    import struct

    return (
        b"MThd"
        + struct.pack(">IHHH", 6, 0, 1, tpq)
        + b"MTrk"
        + struct.pack(">I", len(events))
        + events
    )


def riff_wrap(midi: bytes) -> bytes:
    """The RIFF RMID container some Windows tools write around a MIDI file."""
    import struct

    chunk = b"data" + struct.pack("<I", len(midi)) + midi
    return b"RIFF" + struct.pack("<I", 4 + len(chunk)) + b"RMID" + chunk
