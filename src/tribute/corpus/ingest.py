"""Ingesting one file: read → normalize → fingerprint, bounded in time, cached by content.

This is the per-file work that :mod:`tribute.corpus.build` spreads over processes. Its result
depends only on the file's bytes and the settings, so it is cached under the tribute cache
directory keyed by (content hash, settings hash): rebuilding an unchanged folder reads each
file and its cache entry and parses nothing.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import hashlib
import json
import os
import signal
import stat
from dataclasses import asdict, dataclass, field
from pathlib import Path

from tribute.corpus.families import NGRAM, melody_grams
from tribute.corpus.normalize import NormalizeConfig, normalize
from tribute.corpus.readers import MAX_FILE_BYTES, SkipFile, read
from tribute.paths import atomic_write_text, cache_dir

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


def ingest_file(path: str, settings: IngestConfig) -> FileResult:
    """Everything one file yields; never raises for bad input."""
    result = FileResult(path=path)
    try:
        status = os.stat(path)
        if not stat.S_ISREG(status.st_mode):  # a FIFO or device would block or never end
            result.reason = "not a regular file"
            return result
        size = status.st_size
        if size > MAX_FILE_BYTES:
            result.reason = f"too large ({size / 1e6:.0f} MB > {MAX_FILE_BYTES / 1e6:.0f} MB)"
            return result
        with open(path, "rb") as handle:
            data = handle.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        result.reason = f"unreadable: {exc.strerror or exc}"
        return result
    result.sha256 = hashlib.sha256(data).hexdigest()
    entry = _cache_path(result.sha256, settings) if settings.use_cache else None
    if entry is not None and entry.is_file():
        cached = _load_cache(entry)
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
    if entry is not None and not result.reason.startswith("took longer"):
        _store_cache(entry, result)
    return result


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


def _cache_path(sha: str, settings: IngestConfig) -> Path:
    return cache_dir("ingest", settings.key(), sha[:2]) / f"{sha}.json"


def _store_cache(entry: Path, result: FileResult) -> None:
    pieces = [
        {**vars(p), "midi": _b64(p.midi), "grams": _b64(p.grams)} for p in result.pieces or []
    ]
    with contextlib.suppress(OSError):  # a full or read-only cache only costs speed
        atomic_write_text(entry, json.dumps({"reason": result.reason, "pieces": pieces}))


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _load_cache(entry: Path) -> tuple[str, list[PieceResult]] | None:
    try:
        data = json.loads(entry.read_text(encoding="utf-8"))
        pieces = [
            PieceResult(
                **{**p, "midi": base64.b64decode(p["midi"]), "grams": base64.b64decode(p["grams"])}
            )
            for p in data["pieces"]
        ]
        return data["reason"], pieces
    except (OSError, ValueError, KeyError, TypeError):
        return None  # a damaged entry is simply recomputed
