"""Ingesting one file: read → normalize → fingerprint, bounded in time, cached by content.

This is the per-file work that :mod:`tribute.corpus.build` spreads over processes. Its result
depends only on the file's bytes and the settings, so it is cached under the tribute cache
directory keyed by (content hash, settings hash): rebuilding an unchanged folder reads each
file and its cache entry and parses nothing.

The cache is one SQLite file per settings hash (``ingest/SETTINGS.sqlite``, one row per
content hash), not one JSON file per entry: creating a small file costs ~0.5 ms on an ext4 VM
disk, a third of the whole per-file work of a band song. Workers only read it; the build's
parent process stores a build's new entries in batches, one transaction each
(:func:`store_results`).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import signal
import sqlite3
import stat
from dataclasses import asdict, dataclass, field
from pathlib import Path

from tribute.corpus.families import NGRAM, melody_grams
from tribute.corpus.normalize import NormalizeConfig, normalize
from tribute.corpus.readers import MAX_FILE_BYTES, SkipFile, read
from tribute.paths import cache_dir

# Bump when readers or normalization change what they produce: old cache entries are ignored.
# 4: melody n-grams of clipped interval tokens (tribute.music.melody); 5: damaged and
# gzip-compressed MIDI repaired (corpus/midifix.py), UTF-16 MusicXML decoded.
INGEST_VERSION = 5


@dataclass(frozen=True)
class IngestConfig:
    normalize: NormalizeConfig = field(default_factory=NormalizeConfig)
    ngram: int = NGRAM
    timeout_s: float = 60.0  # per file; music21 parses a 4-part chorale in ~0.1 s
    use_cache: bool = True

    def key(self) -> str:
        return _settings_key(self.normalize, self.ngram)


@functools.lru_cache(maxsize=8)
def _settings_key(normalize: NormalizeConfig, ngram: int) -> str:
    payload = json.dumps(
        {"v": INGEST_VERSION, "normalize": asdict(normalize), "ngram": ngram}, sort_keys=True
    )
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


@dataclass
class PieceResult:
    part: str  # "" or "#N" within a multi-piece file
    title: str
    reason: str = ""  # non-empty: skipped, with this one-line reason
    meta: dict | None = None  # SongMeta JSON (no id, labels, source, family, split yet)
    midi: bytes = b""
    grams: bytes = b""  # melody interval n-gram hashes, uint64 little-endian


@dataclass
class FileResult:
    path: str
    sha256: str = ""
    reason: str = ""  # non-empty: the whole file was skipped
    cached: bool = False
    pieces: list[PieceResult] | None = None
    cacheable: bool = False  # computed now, and worth storing (not cut off by the time limit)
    header: str = ""  # its cache entry's JSON, encoded where it was computed (a worker)


class _Timeout(BaseException):
    """BaseException so that a reader's ``except Exception`` cannot swallow it."""


@contextlib.contextmanager
def _time_limit(seconds: float):
    """Interrupt Python-level parsing after ``seconds`` (SIGALRM; main thread of a process)."""

    def on_alarm(signum, frame):
        raise _Timeout

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def ingest_file(path: str, settings: IngestConfig, store: bool = True) -> FileResult:
    """Everything one file yields; never raises for bad input. ``store=False`` leaves a new
    result out of the cache for the caller to store with others (:func:`store_results`)."""
    result = FileResult(path=path)
    data = _read_bytes(path, result)
    if data is None:
        return result
    result.sha256 = hashlib.sha256(data).hexdigest()
    if settings.use_cache:
        cached = _cache_get(result.sha256, settings)
        if cached is not None:
            result.reason, result.pieces, result.cached = cached[0], cached[1], True
            return result
    try:
        with _time_limit(settings.timeout_s):
            result.pieces = [_piece(raw, settings) for raw in read(Path(path), data)]
    except SkipFile as exc:
        result.reason = str(exc)
    except _Timeout:
        result.reason = f"took longer than {settings.timeout_s:g} s to read"
    except RecursionError:
        result.reason = "too deeply nested to read"
    except Exception as exc:  # a reader bug must not stop a 10,000-file build
        result.reason = f"reader failed: {type(exc).__name__}: {str(exc)[:160]}"
    result.cacheable = settings.use_cache and not result.reason.startswith("took longer")
    if result.cacheable:
        result.header = _header(result)
    if store:
        store_results([result], settings)
    return result


def _read_bytes(path: str, result: FileResult) -> bytes | None:
    """The file's bytes, or None with ``result.reason`` set."""
    try:
        status = os.stat(path)
        if not stat.S_ISREG(status.st_mode):  # a FIFO or device would block or never end
            result.reason = "not a regular file"
            return None
        size = status.st_size
        if size > MAX_FILE_BYTES:
            result.reason = f"too large ({size / 1e6:.0f} MB > {MAX_FILE_BYTES / 1e6:.0f} MB)"
            return None
        with open(path, "rb") as handle:
            return handle.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        result.reason = f"unreadable: {exc.strerror or exc}"
        return None


def _piece(raw, settings: IngestConfig) -> PieceResult:
    try:
        score, meta = normalize(raw, settings.normalize)
    except SkipFile as exc:
        repairs = [w.removeprefix("repaired: ") for w in raw.warnings if w.startswith("repaired: ")]
        reason = str(exc) + (f" after repair ({'; '.join(repairs)})" if repairs else "")
        return PieceResult(part=raw.part, title=raw.title, reason=reason)
    grams = melody_grams(score, meta.lead_track, settings.ngram)
    return PieceResult(
        part=raw.part,
        title=raw.title,
        meta=meta.to_json(),
        midi=score.dumps_midi(),
        grams=grams.astype("<u8").tobytes(),
    )


# --------------------------------------------------------------------------------------------
# The cache: one SQLite file per settings hash, a row per content hash: the reason and the
# pieces' records as JSON, their MIDI and n-gram bytes as one blob (no base64).

Entry = tuple[str, bytes]  # (JSON header, blob)
_connections: dict[tuple[str, str, str, int], sqlite3.Connection | None] = {}


def _database(settings: IngestConfig) -> sqlite3.Connection | None:
    """This process's connection to the settings' cache (None when it cannot be opened: a
    missing or damaged cache only costs speed). A forked worker opens its own; a changed
    cache location (``TRIBUTE_CACHE_DIR``) opens another."""
    env = os.environ
    key = (env.get("TRIBUTE_CACHE_DIR", ""), env.get("XDG_CACHE_HOME", ""), settings.key())
    pid_key = (*key, os.getpid())
    if pid_key not in _connections:
        path = cache_dir("ingest") / f"{settings.key()}.sqlite"
        try:
            _connections[pid_key] = _open(path)
        except sqlite3.DatabaseError as exc:
            if exc.sqlite_errorname not in ("SQLITE_NOTADB", "SQLITE_CORRUPT"):
                _connections[pid_key] = None  # locked, read-only, …: run without the cache
                return None
            for damaged in (path, path.with_name(path.name + "-wal")):  # rebuilt from scratch
                damaged.unlink(missing_ok=True)
            _connections[pid_key] = _open_or_none(path)
        except OSError:
            _connections[pid_key] = None
    return _connections[pid_key]


def _open(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(path, timeout=30.0)
    db.execute("PRAGMA journal_mode=WAL")  # readers never wait for a writer
    db.execute("PRAGMA synchronous=NORMAL")  # a crash may lose entries, not corrupt
    db.execute("CREATE TABLE IF NOT EXISTS entries (sha TEXT PRIMARY KEY, header TEXT, blob BLOB)")
    return db


def _open_or_none(path: Path) -> sqlite3.Connection | None:
    try:
        return _open(path)
    except (sqlite3.Error, OSError):
        return None


def _cache_get(sha: str, settings: IngestConfig) -> tuple[str, list[PieceResult]] | None:
    db = _database(settings)
    if db is None:
        return None
    try:
        row = db.execute("SELECT header, blob FROM entries WHERE sha = ?", (sha,)).fetchone()
    except sqlite3.Error:
        return None
    return _decode(row) if row else None


def store_results(results: list[FileResult], settings: IngestConfig) -> None:
    """Store the cacheable ``results`` (one batch) in one transaction; a full, read-only or
    locked cache only costs speed."""
    rows = [
        (r.sha256, r.header or _header(r), _blob(r)) for r in results if r.cacheable and r.sha256
    ]
    db = _database(settings) if rows else None
    if db is None:
        return
    with contextlib.suppress(sqlite3.Error), db:
        db.executemany("INSERT OR REPLACE INTO entries VALUES (?, ?, ?)", rows)


def _header(result: FileResult) -> str:
    """The entry's JSON: the reason and each piece's record, its byte sizes in the blob."""
    pieces = []
    for piece in result.pieces or []:
        record = {k: v for k, v in vars(piece).items() if k not in ("midi", "grams")}
        pieces.append({**record, "sizes": [len(piece.midi), len(piece.grams)]})
    return json.dumps({"reason": result.reason, "pieces": pieces})


def _blob(result: FileResult) -> bytes:
    """The entry's bytes: each piece's MIDI, then its n-gram hashes."""
    return b"".join(part for p in result.pieces or [] for part in (p.midi, p.grams))


def _decode(row: Entry) -> tuple[str, list[PieceResult]] | None:
    try:
        data, blob, at = json.loads(row[0]), row[1], 0
        pieces = []
        for record in data["pieces"]:
            midi_size, grams_size = record.pop("sizes")
            midi, grams = (
                blob[at : at + midi_size],
                blob[at + midi_size : at + midi_size + grams_size],
            )
            at += midi_size + grams_size
            pieces.append(PieceResult(**record, midi=midi, grams=grams))
        if at != len(blob):
            return None
        return data["reason"], pieces
    except (ValueError, KeyError, TypeError):
        return None  # a damaged entry is simply recomputed
