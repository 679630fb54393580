"""A built corpus on disk, and how every later stage reads it.

Layout of a corpus directory (all standard formats, nothing pickled)::

    corpus.json      format marker, build settings and counts
    manifest.jsonl   one SongMeta per line (kept pieces only), with family and split
    scores/ID.mid    the normalized score of each piece (TICKS_PER_QUARTER ticks per quarter)
    report.json      what was read, skipped (with a one-line reason each), merged or excluded
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from symusic import Score

from tribute.errors import TributeError
from tribute.music import Song, SongMeta

FORMAT = "tribute-corpus"
FORMAT_VERSION = 1
SPLITS = ("train", "validation", "test")


@dataclass
class Corpus:
    path: Path
    config: dict
    metas: list[SongMeta] = field(default_factory=list)

    @classmethod
    def open(cls, path: str | Path) -> Corpus:
        path = Path(path)
        marker = path / "corpus.json"
        if not marker.is_file():
            raise TributeError(
                f"{path} is not a tribute corpus (no corpus.json); "
                "build one with `tribute corpus build`"
            )
        try:
            header = json.loads(marker.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise TributeError(f"{marker} is unreadable: {exc}") from exc
        if header.get("format") != FORMAT:
            raise TributeError(f"{marker} is not a tribute corpus file")
        if header.get("version", 0) > FORMAT_VERSION:
            raise TributeError(
                f"{path} was built by a newer tribute (format "
                f"{header.get('version')}); upgrade tribute"
            )
        metas = []
        with open(path / "manifest.jsonl", encoding="utf-8") as lines:
            for line in lines:
                if line.strip():
                    metas.append(SongMeta.from_json(json.loads(line)))
        return cls(path=path, config=header.get("config", {}), metas=metas)

    def __len__(self) -> int:
        return len(self.metas)

    @property
    def name(self) -> str:
        return self.path.resolve().name

    def labelled(self, labels: dict[str, str]) -> Corpus:
        """A view of this corpus whose pieces all carry ``labels`` too (records copied: the
        corpus itself is unchanged)."""
        metas = [SongMeta.from_json(m.to_json()) for m in self.metas]
        for meta in metas:
            meta.labels = {**meta.labels, **labels}
        return Corpus(self.path, self.config, metas)

    def split(self, name: str) -> list[SongMeta]:
        if name not in SPLITS:
            raise TributeError(f"unknown split {name!r}; choose one of {', '.join(SPLITS)}")
        return [m for m in self.metas if m.split == name]

    def score_path(self, meta: SongMeta) -> Path:
        return self.path / "scores" / f"{meta.id}.mid"

    def score(self, meta: SongMeta) -> Score:
        return Score(str(self.score_path(meta)))

    def songs(self, split: str | None = None) -> Iterator[Song]:
        metas = self.metas if split is None else self.split(split)
        for meta in metas:
            yield Song(self.score(meta), meta)

    def report(self) -> dict:
        report_path = self.path / "report.json"
        return json.loads(report_path.read_text(encoding="utf-8")) if report_path.is_file() else {}
