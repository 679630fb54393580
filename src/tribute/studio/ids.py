"""Ids the studio hands out, and the one place where an id becomes a path under ``--work``.

The browser only ever names things by id: a job (``3f9c0a1b2d4e``), a song (``3f9c0a1b2d4e-01``),
an upload, a model or a corpus (a slug of its folder name). Each id is checked against its
pattern before anything touches the disk, and :func:`inside` refuses any path that would
resolve outside the studio's work folder (a symlink planted in it included).
"""

from __future__ import annotations

import re
import secrets
from pathlib import Path

from tribute.studio.errors import BadRequest, NotFound

# 12 hex digits = 48 random bits: ids never collide in one studio's lifetime and are not guessable
# from each other (they are not secrets: the studio trusts whoever can reach its port).
JOB_ID = re.compile(r"[0-9a-f]{12}")
UPLOAD_ID = JOB_ID
SONG_ID = re.compile(r"([0-9a-f]{12})-(\d{2,3})")
SLUG = re.compile(r"[a-z0-9][a-z0-9_.-]{0,63}")


def new_id() -> str:
    return secrets.token_hex(6)


def _checked(text: str, pattern: re.Pattern, what: str) -> str:
    if not isinstance(text, str) or not pattern.fullmatch(text) or ".." in text:
        shown = text if isinstance(text, str) and len(text) <= 80 else f"{str(text)[:80]}…"
        raise BadRequest(f"{shown!r} is not a {what} id")
    return text


def job_id(text: str) -> str:
    return _checked(text, JOB_ID, "job")


def upload_id(text: str) -> str:
    return _checked(text, UPLOAD_ID, "upload")


def song_id(text: str) -> tuple[str, int]:
    """``"3f9c0a1b2d4e-01"`` → (job id, song number 1)."""
    _checked(text, SONG_ID, "song")
    match = SONG_ID.fullmatch(text)
    assert match is not None
    return match.group(1), int(match.group(2))


def slug_id(text: str, what: str) -> str:
    return _checked(text, SLUG, what)


def slugify(name: str) -> str:
    """A folder name as an id: lower case, other characters as ``-`` (``Bach Style`` → ``bach-
    style``)."""
    slug = re.sub(r"[^a-z0-9_.-]+", "-", name.lower()).strip("-.")[:64]
    return slug if SLUG.fullmatch(slug or "") else "model"


def inside(root: Path, *parts: str) -> Path:
    """``root/parts…``, refused unless it resolves inside ``root``."""
    base = root.resolve()
    path = base.joinpath(*parts).resolve()
    if path != base and base not in path.parents:
        raise NotFound("no such item")
    return path
