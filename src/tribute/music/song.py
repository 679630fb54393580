"""The one music type of tribute: a ``symusic.Score`` plus a small metadata record.

Everything that flows between pipeline stages is a :class:`Song` — the score (tick time,
``TICKS_PER_QUARTER`` after normalization) and a :class:`SongMeta` that describes it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from symusic import Score


@dataclass
class TrackInfo:
    """What the rest of the system needs to know about one track."""

    name: str
    program: int
    is_drum: bool
    role: str
    n_notes: int
    pitch_min: int = 0
    pitch_max: int = 0


@dataclass
class SongMeta:
    """The metadata record that travels with every score (JSON-serializable)."""

    id: str
    title: str
    source: str  # file path (or preset path), plus "#N" for the N-th piece of a multi-piece file
    format: str  # "midi", "musicxml", "abc", "kern", "guitarpro"
    labels: dict[str, str] = field(default_factory=dict)
    content_hash: str = ""
    tempo_qpm: float = 120.0
    time_signature: str = "4/4"
    key: str | None = None
    duration_s: float = 0.0
    duration_beats: float = 0.0
    n_notes: int = 0
    tracks: list[TrackInfo] = field(default_factory=list)
    lead_track: int | None = None
    warnings: list[str] = field(default_factory=list)
    family: str = ""
    split: str = ""

    def to_json(self) -> dict:
        # Shallow copies, not dataclasses.asdict: asdict deep-copies and is 10x slower.
        data = dict(vars(self))
        data["labels"] = dict(self.labels)
        data["warnings"] = list(self.warnings)
        data["tracks"] = [dict(vars(t)) for t in self.tracks]
        return data

    @classmethod
    def from_json(cls, data: dict) -> SongMeta:
        data = dict(data)
        data["tracks"] = [TrackInfo(**t) for t in data.get("tracks", [])]
        return cls(**data)


@dataclass
class Song:
    score: Score
    meta: SongMeta
