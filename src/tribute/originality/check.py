"""`tribute check`: songs against one or more corpora, with the index loaded once.

Composition holds a :class:`Checker` and calls :meth:`Checker.check` per candidate; the CLI
calls :func:`check`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from symusic import Score

from tribute.corpus.ingest import IngestConfig, ingest_file
from tribute.corpus.normalize import NormalizeConfig, normalize
from tribute.corpus.readers import RawPiece, SkipFile
from tribute.errors import TributeError
from tribute.music import Song, SongMeta
from tribute.originality.calibration import calibrate
from tribute.originality.features import DEFAULT_CONFIG, OriginalityConfig
from tribute.originality.index import OriginalityIndex
from tribute.originality.report import Report, check_song, not_comparable
from tribute.originality.store import corpus_index

MIDI_SUFFIXES = (".mid", ".midi", ".kar", ".rmi")  # what a folder argument stands for


@dataclass
class Checker:
    """A loaded, calibrated index that answers per-song queries."""

    index: OriginalityIndex

    @classmethod
    def open(
        cls,
        corpora: Sequence[str | Path],
        settings: OriginalityConfig = DEFAULT_CONFIG,
        rebuild: bool = False,
    ) -> Checker:
        """Index (incrementally) and load each corpus; several are merged and recalibrated."""
        if not corpora:
            raise TributeError("no corpus to check against: give --against CORPUS")
        parts = [corpus_index(c, settings, rebuild=rebuild) for c in corpora]
        if len(parts) == 1:
            return cls(parts[0])
        index = OriginalityIndex.merge(parts)
        calibrate(index)
        return cls(index)

    @classmethod
    def from_songs(
        cls,
        songs: Sequence[Song],
        settings: OriginalityConfig = DEFAULT_CONFIG,
        calibrated: bool = True,
    ) -> Checker:
        """An in-memory checker (tests, or references that are not a corpus directory)."""
        index = OriginalityIndex.build(songs, settings)
        if calibrated:
            calibrate(index)
        return cls(index)

    def check(
        self,
        song: Song,
        name: str | None = None,
        settings: OriginalityConfig | None = None,
        exclude_family: bool = False,
    ) -> Report:
        """Report on one song; ``settings`` the caller expects must match the index's."""
        name = name or song.meta.id
        if settings is not None and (why := self.index.settings.comparable(settings)):
            return not_comparable(name, f"index built with other settings ({why})")
        return check_song(self.index, song, name, exclude_family=exclude_family)

    def check_file(self, path: str | Path) -> list[Report]:
        """Reports for every piece in a file (an ABC book holds several); never raises."""
        try:
            songs = read_songs(path)
        except TributeError as exc:
            return [not_comparable(str(path), str(exc))]
        return [
            self.check(song, name=song.meta.source)
            if isinstance(song, Song)
            else not_comparable(*song)
            for song in songs
        ]


def read_songs(path: str | Path) -> list[Song | tuple[str, str]]:
    """The pieces of a music file, read and normalized exactly as corpus ingestion does (any
    format it reads); a piece it skips comes back as (name, reason)."""
    path = Path(path)
    if not path.is_file():
        raise TributeError(f"{path}: no such file")
    result = ingest_file(str(path), IngestConfig(use_cache=False))
    if result.reason:
        raise TributeError(result.reason)
    out: list[Song | tuple[str, str]] = []
    for piece in result.pieces or []:
        name = f"{path}{piece.part}"
        if piece.reason or piece.meta is None:
            out.append((name, piece.reason or "no metadata"))
            continue
        meta = SongMeta.from_json(piece.meta)
        meta.id, meta.source = f"{path.stem}{piece.part}", name
        out.append(Song(Score.from_midi(piece.midi), meta))
    return out


def song_from_score(score: Score, song_id: str, title: str = "", family: str = "") -> Song:
    """A :class:`Song` of a bare score (a composed candidate), normalized as corpus ingestion
    does (corpus grid, roles, lead track). A score without notes comes back as it is (its check
    says "empty song"); only an absurd one (e.g. 200,000+ notes) raises :class:`TributeError`."""
    title = title or song_id
    try:
        normal, meta = normalize(
            RawPiece(score=score, format="midi", title=title), NormalizeConfig(min_notes=1)
        )
    except SkipFile as exc:
        if score.note_num() == 0:
            return Song(
                score, SongMeta(id=song_id, title=title, source="", format="midi", family=family)
            )
        raise TributeError(f"{song_id}: {exc}") from exc
    meta.id, meta.family = song_id, family
    return Song(normal, meta)


def expand_paths(paths: Sequence[str | Path]) -> list[Path]:
    """Files as given; a directory stands for the MIDI files directly inside it."""
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            out += sorted(f for f in p.iterdir() if f.suffix.lower() in MIDI_SUFFIXES)
        else:
            out.append(p)
    return out


def check(
    songs: Sequence[str | Path],
    against: Sequence[str | Path],
    as_json: bool = False,
    rebuild: bool = False,
    settings: OriginalityConfig = DEFAULT_CONFIG,
) -> tuple[str, int]:
    """Check song files against corpora: (text or JSON to print, exit status).

    The status is 0 when every song was compared, 1 when some were not comparable.
    """
    paths = expand_paths(songs)
    if not paths:
        raise TributeError("no songs to check")
    checker = Checker.open(against, settings, rebuild=rebuild)
    reports = [report for p in paths for report in checker.check_file(p)]
    status = int(any(r.verdict == "not comparable" for r in reports))
    if as_json:
        record = {
            "against": [str(a) for a in against],
            "settings": settings.to_json(),
            "index_songs": len(checker.index),
            "calibration": checker.index.calibration,
            "songs": [r.to_json() for r in reports],
        }
        return json.dumps(record, indent=1, ensure_ascii=False, default=_json_default), status
    return "\n\n".join(r.text() for r in reports), status


def _json_default(value):
    if hasattr(value, "item"):
        return value.item()
    raise TypeError(f"not JSON serializable: {type(value).__name__}")
