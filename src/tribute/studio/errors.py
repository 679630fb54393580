"""The studio's request errors: each becomes one HTTP status and a one-line message.

A :class:`~tribute.errors.TributeError` from the library (a bad control, an unknown style) is a
400 with the CLI's own message; these add the statuses that only a server has.
"""

from __future__ import annotations

from tribute.errors import TributeError


class StudioError(TributeError):
    """A user-facing problem with an HTTP status."""

    status = 400


class BadRequest(StudioError):
    status = 400


class NotFound(StudioError):
    status = 404


class Conflict(StudioError):
    """The request is valid but not now (a song still rendering, a job already finished)."""

    status = 409


class TooLarge(StudioError):
    status = 413


class NotMusic(StudioError):
    status = 415


class QueueFull(StudioError):
    status = 429


class Forbidden(StudioError):
    status = 403
