"""``tribute studio``: a local web studio — compose with every control, follow the progress,
listen to the mix and the stems, see the piano roll and the score, read the originality report,
download everything, check any song.

An ASGI app (FastAPI on uvicorn, the ``studio`` extra) whose page is plain HTML, CSS and
JavaScript served from this package's ``static/`` (no build step, nothing fetched from
elsewhere). The studio only calls the library — :mod:`tribute.composition`,
:mod:`tribute.rendering`, :mod:`tribute.originality` — through a bounded job queue
(:mod:`.jobs`); jobs, songs and uploads persist under its ``--work`` folder (:mod:`.service`).

Importing this package is cheap: the web stack loads when :func:`create_app` or :func:`serve`
is first used (``python -m tribute.studio.checkrun`` needs none of it).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tribute.studio.app import create_app
    from tribute.studio.server import serve
    from tribute.studio.service import Studio, StudioConfig

__all__ = ["Studio", "StudioConfig", "create_app", "serve"]

_HOMES = {
    "create_app": "tribute.studio.app",
    "serve": "tribute.studio.server",
    "Studio": "tribute.studio.service",
    "StudioConfig": "tribute.studio.service",
}


def __getattr__(name: str) -> Any:
    import importlib

    if name not in _HOMES:
        raise AttributeError(f"module 'tribute.studio' has no attribute {name!r}")
    return getattr(importlib.import_module(_HOMES[name]), name)
