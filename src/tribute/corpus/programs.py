"""What a corpus plays: how many songs use each program, each program's pitch range and track
name, and its most typical line-up — the defaults of a song's line-up
(:mod:`tribute.composition.lineup`). Written beside a model as ``programs.json`` by the
training commands, so the defaults travel with the model.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from tribute.music.song import SongMeta
from tribute.paths import atomic_write_text

DRUMS = -1  # MidiTok's drum "program"
MAX_PARTS = 16  # 15 pitched MIDI channels and the drums
PROGRAMS_FILE = "programs.json"


@dataclass(frozen=True)
class CorpusPrograms:
    """What an artist corpus plays: how many songs use each program, each program's pitch
    range (5th–95th percentile of its tracks' extremes), and its most common line-up."""

    songs_with: dict[int, int]
    ranges: dict[int, tuple[int, int]]
    typical: tuple[int, ...]
    names: dict[int, str]  # each program's most common track name ("Soprano", "Bass")
    # The typical line-up of the songs of each style ("collection=palestrina"): a base model's
    # corpus holds many, and one style's songs may play none of the whole corpus's line-up.
    by_style: dict[str, tuple[int, ...]] = field(default_factory=dict)

    @classmethod
    def of(cls, metas: Sequence[SongMeta], style_keys: Sequence[str] = ()) -> CorpusPrograms:
        songs_with: Counter[int] = Counter()
        lows: dict[int, list[int]] = {}
        highs: dict[int, list[int]] = {}
        names: dict[int, Counter[str]] = {}
        lineups: Counter[tuple[int, ...]] = Counter()
        for meta in metas:
            programs = set()
            for track in meta.tracks:
                if not track.n_notes:
                    continue
                program = DRUMS if track.is_drum else track.program
                programs.add(program)
                lows.setdefault(program, []).append(track.pitch_min)
                highs.setdefault(program, []).append(track.pitch_max)
                if track.name.strip():
                    names.setdefault(program, Counter())[track.name.strip()] += 1
            songs_with.update(programs)
            lineups[tuple(sorted(programs))] += 1
        ranges = {
            p: (int(np.percentile(lows[p], 5)), int(np.percentile(highs[p], 95))) for p in lows
        }
        typical = _typical(lineups, songs_with, len(metas))
        common = {p: c.most_common(1)[0][0] for p, c in names.items()}
        by_style = {}
        for key in style_keys:
            for value in sorted({m.labels[key] for m in metas if key in m.labels}):
                styled = [m for m in metas if m.labels.get(key) == value]
                by_style[f"{key}={value}"] = cls.of(styled).typical
        return cls(dict(songs_with), ranges, typical, common, by_style)

    def to_json(self) -> dict:
        return {
            "songs_with": self.songs_with,
            "ranges": self.ranges,
            "typical": list(self.typical),
            "names": self.names,
            "by_style": {k: list(v) for k, v in self.by_style.items()},
        }

    @classmethod
    def from_json(cls, data: dict) -> CorpusPrograms:
        return cls(
            {int(k): int(v) for k, v in data["songs_with"].items()},
            {int(k): (int(v[0]), int(v[1])) for k, v in data["ranges"].items()},
            tuple(int(p) for p in data["typical"]),
            {int(k): str(v) for k, v in data.get("names", {}).items()},
            {k: tuple(int(p) for p in v) for k, v in data.get("by_style", {}).items()},
        )

    def for_styles(self, styles: Sequence[str]) -> CorpusPrograms:
        """The same programs with the typical line-up of the first style that records one."""
        for style in styles:
            if self.by_style.get(style):
                return replace(self, typical=self.by_style[style])
        return self

    def most_used(self, family: frozenset[int]) -> list[int]:
        """The family's programs by how many songs use them, most used first."""
        used = [p for p in family if self.songs_with.get(p)]
        return sorted(used, key=lambda p: (-self.songs_with[p], p))


def _typical(lineups: Counter, songs_with: Counter, n_songs: int) -> tuple[int, ...]:
    """The most common exact line-up if a fifth of the songs share it, else every program that
    at least half of the songs play (at most 15 pitched + drums)."""
    if lineups:
        lineup, count = lineups.most_common(1)[0]
        if count >= 0.2 * n_songs and lineup:
            return lineup
    common = [p for p, n in songs_with.most_common() if n >= 0.5 * max(1, n_songs)]
    if not common and songs_with:
        common = [songs_with.most_common(1)[0][0]]
    return tuple(sorted(common[:MAX_PARTS]))


def write_programs(
    folder: str | Path, metas: Sequence[SongMeta], style_keys: Sequence[str] = ()
) -> None:
    """Record what a training corpus plays in a model folder (per style too)."""
    programs = CorpusPrograms.of(metas, style_keys)
    atomic_write_text(Path(folder) / PROGRAMS_FILE, json.dumps(programs.to_json()) + "\n")


def read_programs(folder: str | Path) -> CorpusPrograms | None:
    path = Path(folder) / PROGRAMS_FILE
    if not path.is_file():
        return None
    return CorpusPrograms.from_json(json.loads(path.read_text(encoding="utf-8")))


EMPTY = CorpusPrograms({}, {}, (), {})
