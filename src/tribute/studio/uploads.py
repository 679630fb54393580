"""Uploaded songs (primers, ``--chords-from`` songs, songs to check): bounded, sniffed, kept.

An upload is the request body itself (no multipart form), read in chunks and refused as soon as
it passes :data:`MAX_UPLOAD_BYTES`. What it is comes from its bytes, never its name: MIDI starts
with ``MThd`` (or is a RIFF RMID wrapping one), MusicXML is XML whose root is ``score-partwise``
or ``score-timewise``, or a zip (``.mxl``) holding ``META-INF/container.xml``. It is stored as
``WORK/uploads/ID.mid|.musicxml|.mxl`` with ``ID.json`` beside it (the name the user gave, for
display only; the suffix is what the corpus readers dispatch on).
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import time
import zipfile
from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass
from pathlib import Path

from tribute.paths import atomic_write_bytes, atomic_write_text
from tribute.studio.errors import NotFound, NotMusic, TooLarge
from tribute.studio.ids import inside, new_id, upload_id

MAX_UPLOAD_BYTES = 10 * 1024 * 1024  # 10 MB: a 30-minute dense MIDI file is ~1 MB, MusicXML ~8 MB
SNIFF_BYTES = 4096  # XML prologue, doctype and comments before the root element fit in 4 KB
SUFFIXES = {"midi": ".mid", "musicxml": ".musicxml", "mxl": ".mxl"}

# What a non-music upload most likely is, for the message (first bytes → description).
_OTHER_MAGIC = (
    (b"RIFF", "audio or video (RIFF)"),
    (b"ID3", "audio (MP3)"),
    (b"\xff\xfb", "audio (MP3)"),
    (b"fLaC", "audio (FLAC)"),
    (b"OggS", "audio (Ogg)"),
    (b"%PDF", "a PDF document"),
    (b"\x89PNG", "an image (PNG)"),
    (b"\xff\xd8\xff", "an image (JPEG)"),
    (b"PK\x03\x04", "a zip archive that is not compressed MusicXML"),
    (b"\x7fELF", "a program"),
)


@dataclass
class Upload:
    id: str
    kind: str  # "midi" | "musicxml" | "mxl"
    name: str  # what the user called it (display only)
    size_bytes: int
    sha256: str
    created: float

    def to_json(self) -> dict:
        return asdict(self)


def sniff(data: bytes) -> str:
    """``"midi"``, ``"musicxml"`` or ``"mxl"`` from the bytes; :class:`NotMusic` otherwise."""
    if not data.strip():
        raise NotMusic("the upload is empty")
    if data[:4] == b"MThd" or (data[:4] == b"RIFF" and data[8:12] == b"RMID"):
        return "midi"
    if data[:4] == b"PK\x03\x04" and _is_mxl(data):
        return "mxl"
    head = data[:SNIFF_BYTES].decode("utf-8", "replace").lstrip("\ufeff \t\r\n")
    if head.startswith("<"):
        if re.search(r"<(score-partwise|score-timewise)\b", head):
            return "musicxml"
        raise NotMusic("the upload is XML but not MusicXML (no <score-partwise> root)")
    what = next((d for magic, d in _OTHER_MAGIC if data.startswith(magic)), "not a music file")
    raise NotMusic(f"the upload is not a MIDI or MusicXML file ({what})")


def _is_mxl(data: bytes) -> bool:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return "META-INF/container.xml" in archive.namelist()
    except (zipfile.BadZipFile, ValueError):
        return False


async def read_bounded(chunks: AsyncIterator[bytes], limit: int = MAX_UPLOAD_BYTES) -> bytes:
    """The whole body, refused with :class:`TooLarge` as soon as it passes ``limit``."""
    buffer = bytearray()
    async for chunk in chunks:
        buffer += chunk
        if len(buffer) > limit:
            raise TooLarge(f"the upload is over the limit of {limit / 1e6:.0f} MB")
    return bytes(buffer)


def display_name(name: str | None) -> str:
    """The user's file name, for display: its last path part, printable, at most 120 chars."""
    base = re.split(r"[/\\]", name or "")[-1]
    return re.sub(r"[^\w .,()+-]", "_", base).strip()[:120] or "upload"


class Uploads:
    """The ``uploads/`` folder of a studio."""

    def __init__(self, root: Path, limit_bytes: int = MAX_UPLOAD_BYTES):
        self.root = root
        self.limit_bytes = limit_bytes
        root.mkdir(parents=True, exist_ok=True)

    def save(self, data: bytes, name: str | None) -> Upload:
        if len(data) > self.limit_bytes:
            raise TooLarge(f"the upload is over the limit of {self.limit_bytes / 1e6:.0f} MB")
        kind = sniff(data)
        upload = Upload(
            new_id(),
            kind,
            display_name(name),
            len(data),
            hashlib.sha256(data).hexdigest(),
            time.time(),
        )
        atomic_write_bytes(inside(self.root, upload.id + SUFFIXES[kind]), data)
        atomic_write_text(inside(self.root, f"{upload.id}.json"), json.dumps(upload.to_json()))
        return upload

    def get(self, text: str) -> Upload:
        meta = inside(self.root, f"{upload_id(text)}.json")
        if not meta.is_file():
            raise NotFound(f"no upload {text!r} (upload the file again)")
        return Upload(**json.loads(meta.read_text(encoding="utf-8")))

    def path(self, text: str) -> Path:
        upload = self.get(text)
        return inside(self.root, upload.id + SUFFIXES[upload.kind])
