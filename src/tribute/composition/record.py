"""What ``tribute compose`` says about each song: the record written as ``NAME-NN.json``."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from tribute.paths import atomic_write_text


@dataclass
class SongRecord:
    """One composed song (or a refusal, when every candidate copied): identity, controls,
    form, tracks, originality, rejected candidates and timings."""

    song: str  # file stem, "song-01"
    midi: str | None  # file name beside the record; None when the guard refused every try
    model: str
    styles: list[str]
    controls: dict[str, Any]
    tokenizer: str  # fingerprint
    requested_seed: int
    primer: str | None = None
    primer_bars: int = 0
    seed: int | None = None  # the seed of the kept candidate (a retry adds a step)
    form: list[dict] = field(default_factory=list)
    bars: int = 0
    tracks: list[dict] = field(default_factory=list)
    parts: list[dict] = field(default_factory=list)  # the line-up: name, role, program, channel…
    chords: list[str | None] = field(default_factory=list)  # per bar, as the model played them
    notes: int = 0
    dropped_notes: int = 0
    arranging: dict[str, int] = field(default_factory=dict)  # what making parts exact changed
    guard: str = "on"
    verdict: str | None = None
    originality: dict | None = None
    nearest: list[dict] | None = None
    rejected: list[dict] = field(default_factory=list)
    timings: dict[str, Any] = field(default_factory=dict)
    style: dict | None = None  # tribute.stylescore.StyleScore: how artist-like the song is
    candidates: list[dict] = field(default_factory=list)  # every candidate of --candidates K

    @property
    def ok(self) -> bool:
        return self.midi is not None

    def to_json(self) -> dict:
        return asdict(self)

    def write(self, folder: Path) -> Path:
        path = Path(folder) / f"{self.song}.json"
        atomic_write_text(path, json.dumps(self.to_json(), indent=1) + "\n")
        return path

    @classmethod
    def read(cls, path: str | Path) -> SongRecord:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in data.items() if k in known})


def jsonable(value: Any) -> Any:
    """``value`` with numpy scalars and other non-JSON leaves turned into plain values."""
    return json.loads(
        json.dumps(value, default=lambda v: v.item() if hasattr(v, "item") else str(v))
    )
