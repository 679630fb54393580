"""The index on disk, beside its corpus, and its incremental update.

Layout of ``<corpus>/originality/`` (standard formats, loaded with ``allow_pickle=False``)::

    settings.json     OriginalityConfig, format version, counts (written last: marks it complete)
    songs.jsonl       one record per indexed song (id, title, family, split, content key, tracks)
    streams.npz       tokens, bar_from, bar_to, stream_start/song/track/role
    tables.npz        seed and novelty n-gram tables (derived; rebuilt if missing)
    calibration.json  the human baseline and verdict thresholds

Update: songs whose id and content hash are unchanged keep their stored streams; only new or
changed scores are read again, removed ones are dropped, then the tables and the calibration
are recomputed.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import numpy as np

from tribute.corpus.store import Corpus
from tribute.errors import TributeError
from tribute.music import Song
from tribute.originality.calibration import CALIBRATION_VERSION, calibrate
from tribute.originality.features import (
    BATCH_SONGS,
    DEFAULT_CONFIG,
    OriginalityConfig,
    batch_streams,
    batches,
)
from tribute.originality.index import GramTable, OriginalityIndex, content_key, song_record

FORMAT = "tribute-originality"
FORMAT_VERSION = 1
DIRNAME = "originality"
_STREAM_ARRAYS = (
    "tokens",
    "bar_from",
    "bar_to",
    "stream_start",
    "stream_song",
    "stream_track",
    "stream_role",
)


def save(index: OriginalityIndex, path: str | Path) -> Path:
    """Write the index to ``path`` (a directory), replacing what was there atomically."""
    path = Path(path)
    tmp = path.with_name(f"{path.name}.tmp{os.getpid()}")  # two writers never share one
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    np.savez(
        tmp / "streams.npz", allow_pickle=False, **{k: getattr(index, k) for k in _STREAM_ARRAYS}
    )
    tables = {f"seed_{k}": v for k, v in _table_arrays(index.seeds).items()}
    for n, table in index.grams.items():
        tables.update({f"gram{n}_{k}": v for k, v in _table_arrays(table).items()})
    np.savez(tmp / "tables.npz", allow_pickle=False, **tables)
    with open(tmp / "songs.jsonl", "w", encoding="utf-8") as out:
        for record in index.songs:
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
    if index.calibration is not None:
        (tmp / "calibration.json").write_text(json.dumps(index.calibration, indent=1))
    header = {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "settings": index.settings.to_json(),
        "songs": len(index),
        "streams": index.n_streams,
        "tokens": len(index.tokens),
    }
    (tmp / "settings.json").write_text(json.dumps(header, indent=1))
    old = path.with_name(f"{path.name}.old{os.getpid()}")
    if path.exists():
        shutil.rmtree(old, ignore_errors=True)
        os.replace(path, old)
    os.replace(tmp, path)
    shutil.rmtree(old, ignore_errors=True)
    return path


def load(path: str | Path, expect: OriginalityConfig | None = None) -> OriginalityIndex:
    """Read an index; with ``expect``, refuse one whose settings make queries not comparable."""
    path = Path(path)
    marker = path / "settings.json"
    if not marker.is_file():
        raise TributeError(f"{path} holds no originality index (no settings.json)")
    try:
        header = json.loads(marker.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise TributeError(f"{marker} is unreadable: {exc}") from exc
    if header.get("format") != FORMAT or header.get("version", 0) > FORMAT_VERSION:
        raise TributeError(f"{path} is not an originality index this tribute can read")
    settings = OriginalityConfig.from_json(header["settings"])
    if expect is not None and (why := settings.comparable(expect)):
        raise TributeError(
            f"index {path} is not comparable with this query ({why}); "
            "rebuild it with `tribute check --rebuild`"
        )
    try:
        with np.load(path / "streams.npz", allow_pickle=False) as data:
            arrays = {k: data[k] for k in _STREAM_ARRAYS}
        songs = [
            json.loads(line)
            for line in (path / "songs.jsonl").read_text(encoding="utf-8").splitlines()
            if line
        ]
        tables = dict(np.load(path / "tables.npz", allow_pickle=False))
    except (OSError, ValueError, KeyError) as exc:
        raise TributeError(
            f"index {path} is damaged ({exc}); rebuild it with `tribute check --rebuild`"
        ) from exc
    index = OriginalityIndex.__new__(OriginalityIndex)  # tables come from disk, not derive()
    index.settings, index.songs, index.calibration = settings, songs, None
    for k, v in arrays.items():
        setattr(index, k, v)
    index.seeds = _table_from(tables, "seed")
    index.grams = {n: _table_from(tables, f"gram{n}") for n in settings.novelty_ns}
    calibration = path / "calibration.json"
    if calibration.is_file():
        index.calibration = json.loads(calibration.read_text(encoding="utf-8"))
    return index


def corpus_index(
    corpus: str | Path | Corpus,
    settings: OriginalityConfig = DEFAULT_CONFIG,
    rebuild: bool = False,
    progress=None,
) -> OriginalityIndex:
    """The index of a corpus, brought up to date incrementally and saved beside it."""
    corpus = corpus if isinstance(corpus, Corpus) else Corpus.open(corpus)
    where = corpus.path / DIRNAME
    old = None
    if not rebuild and (where / "settings.json").is_file():
        try:
            old = load(where)
        except TributeError:
            old = None  # damaged or from another version: rebuild
        if old is not None and old.settings != settings:
            old = None
    wanted = {m.id: m for m in corpus.metas}
    keys = {m.id: content_key(m) for m in corpus.metas}
    kept = (
        np.zeros(0, dtype=bool)
        if old is None
        else np.array(
            [r["id"] in wanted and r["key"] == keys.get(r["id"]) for r in old.songs], dtype=bool
        )
    )
    have = {r["id"] for r, k in zip(old.songs if old else [], kept, strict=True) if k}
    fresh = [m for m in corpus.metas if m.id not in have]
    if old is not None and kept.all() and not fresh:
        if (old.calibration or {}).get("version") == CALIBRATION_VERSION:
            return old
        build = (old.calibration or {}).get("build", {})
        calibrate(old)["build"] = build  # same songs, thresholds from a newer tribute
        _save_if_possible(old, where)
        return old
    started = time.perf_counter()
    records, streams = [], []
    for batch in batches(fresh, BATCH_SONGS):
        songs = [Song(corpus.score(meta), meta) for meta in batch]
        records += [song_record(song, corpus.name) for song in songs]
        streams += batch_streams(songs, settings)
        if progress is not None:
            progress(len(records), len(fresh))
    new = OriginalityIndex.from_streams(settings, records, streams)
    index = (
        new if old is None or not kept.any() else OriginalityIndex.merge([old.select(kept), new])
    )
    build_seconds = time.perf_counter() - started
    calibrate(index)["build"] = {
        "new_songs": len(fresh),
        "kept_songs": int(kept.sum()),
        "seconds": round(build_seconds, 2),
    }
    _save_if_possible(index, where)
    return index


def _save_if_possible(index: OriginalityIndex, where: Path) -> None:
    try:
        save(index, where)
    except OSError as exc:  # a read-only corpus: the index still serves this run
        index.calibration = {
            **(index.calibration or {}),
            "not_saved": f"{where}: {exc.strerror or exc}",
        }


def _table_arrays(table: GramTable) -> dict[str, np.ndarray]:
    out = {"keys": table.keys, "df": table.df, "shift": np.array(table.shift)}
    if table.offsets is not None and table.positions is not None:
        out.update(offsets=table.offsets, positions=table.positions)
    return out


def _table_from(tables: dict[str, np.ndarray], prefix: str) -> GramTable:
    try:
        return GramTable(
            tables[f"{prefix}_keys"],
            tables[f"{prefix}_df"],
            int(tables[f"{prefix}_shift"]),
            tables.get(f"{prefix}_offsets"),
            tables.get(f"{prefix}_positions"),
        )
    except KeyError as exc:
        raise TributeError(f"originality index lacks table {prefix}: rebuild it") from exc
