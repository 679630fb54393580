"""Baselines a style model must beat, computed in the same run (docs/evaluation.md §2B, §4).

- **Markov-2**: a second-order Markov chain over the artist's training melodies, one token per
  note (interval in semitones, inter-onset interval in ticks). Each sample replaces the lead
  line of a held-out song, so the band around it stays real and the classifier has to hear the
  melody (measured on Bach: C2ST 0.915 against real chorales).
- **Interval shuffle**: a held-out song whose lead-line intervals are permuted (same interval
  histogram, same rhythm, same accompaniment; order destroyed; measured: 0.913).

In both, the lead track becomes the new (monophonic) line; the other tracks are untouched.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

import numpy as np
from symusic import Note

from tribute.music import Song, melody_notes

PITCH_LOW, PITCH_HIGH = 36, 96  # sampled melodies are folded by octaves into this range


def _lead_index(song: Song) -> int | None:
    lead = song.meta.lead_track
    if lead is None or not 0 <= lead < len(song.score.tracks):
        return None
    return lead


def _with_lead(
    song: Song, onsets: np.ndarray, pitches: np.ndarray, durations: np.ndarray, suffix: str
) -> Song:
    """A copy of ``song`` whose lead track is the given monophonic line."""
    score = song.score.copy()
    track = score.tracks[song.meta.lead_track]
    velocity = int(np.median(track.notes.numpy()["velocity"])) if track.note_num() else 90
    track.notes.clear()
    track.notes.extend(
        [
            Note(int(t), max(1, int(d)), int(p), velocity)
            for t, p, d in zip(onsets, pitches, durations, strict=True)
        ]
    )
    meta = type(song.meta).from_json(song.meta.to_json())
    meta.id, meta.title = f"{meta.id}-{suffix}", f"{meta.title} ({suffix})"
    return Song(score, meta)


def _fold(pitches: np.ndarray) -> np.ndarray:
    out = pitches.copy()
    while (out < PITCH_LOW).any() or (out > PITCH_HIGH).any():
        out = np.where(out < PITCH_LOW, out + 12, out)
        out = np.where(out > PITCH_HIGH, out - 12, out)
    return out


def _lead_lines(songs: Sequence[Song]):
    """(song, onsets, pitches, durations) of each song's lead line of 3+ notes."""
    for song in songs:
        lead = _lead_index(song)
        if lead is not None:
            onsets, pitches, durations = melody_notes(song.score, lead)
            if len(pitches) >= 3:
                yield song, onsets, pitches, durations


def interval_shuffled(songs: Sequence[Song], seed: int = 0) -> list[Song]:
    """Each song with its lead line's intervals shuffled (songs without a lead track skipped)."""
    rng = np.random.default_rng(seed)
    out = []
    for song, onsets, pitches, durations in _lead_lines(songs):
        iv = rng.permutation(np.diff(pitches))
        new = _fold(pitches[0] + np.concatenate([[0], np.cumsum(iv)]))
        out.append(_with_lead(song, onsets, new, durations, "shuffled"))
    return out


class Markov2:
    """Second-order Markov chain over (interval, inter-onset ticks) melody tokens."""

    def __init__(self, songs: Sequence[Song]) -> None:
        Token = tuple[int, int]  # (interval, inter-onset ticks)
        self.next: dict[tuple[Token, Token], list[Token]] = defaultdict(list)
        self.starts: list[tuple[int, Token, Token]] = []  # (first pitch, token 1, token 2)
        self.tokens: list[tuple[int, int]] = []
        for song in songs:
            onsets, pitches, _ = melody_notes(song.score, song.meta.lead_track)
            if len(pitches) < 4:
                continue
            ioi = np.diff(onsets.astype(np.int64))
            tokens = list(zip(np.diff(pitches).tolist(), ioi.tolist(), strict=True))
            self.tokens += tokens
            self.starts.append((int(pitches[0]), tokens[0], tokens[1]))
            for a, b, c in zip(tokens, tokens[1:], tokens[2:], strict=False):
                self.next[(a, b)].append(c)

    def __bool__(self) -> bool:
        return bool(self.starts)

    def sample(self, notes: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """(pitches, inter-onset ticks) of a melody of ``notes`` notes."""
        first, a, b = self.starts[int(rng.integers(len(self.starts)))]
        tokens = [a, b]
        while len(tokens) < notes - 1:
            options = self.next.get((tokens[-2], tokens[-1])) or self.tokens
            tokens.append(options[int(rng.integers(len(options)))])
        tokens = tokens[: max(notes - 1, 0)]
        iv = np.array([t[0] for t in tokens], dtype=np.int64)
        ioi = np.array([max(1, t[1]) for t in tokens], dtype=np.int64)
        pitches = _fold(first + np.concatenate([[0], np.cumsum(iv)]))
        return pitches, ioi


def markov2_samples(train: Sequence[Song], hosts: Sequence[Song], seed: int = 0) -> list[Song]:
    """One Markov-2 melody (trained on ``train``) in the band of each host song."""
    chain = Markov2(train)
    if not chain:
        return []
    rng = np.random.default_rng(seed)
    out = []
    for song, onsets, pitches, _ in _lead_lines(hosts):
        new_pitches, ioi = chain.sample(len(pitches), rng)
        new_onsets = onsets[0] + np.concatenate([[0], np.cumsum(ioi)])
        durations = np.concatenate([ioi, [ioi[-1] if len(ioi) else song.score.ticks_per_quarter]])
        out.append(_with_lead(song, new_onsets, new_pitches, durations, "markov2"))
    return out
