"""The studio's web app (FastAPI on Starlette): the page, its static files and a JSON API.

Handlers are thin: each checks its ids and forwards to one :class:`~tribute.studio.service.
Studio` method. Every error a request can cause is a 4xx with ``{"error": "one line"}`` — a
library :class:`~tribute.errors.TributeError` a 400 with the CLI's own message, a malformed
body a 422 naming the field — never a traceback. Two guards for a server on the user's own
machine: requests must address it by a loopback name (a web page cannot reach it through DNS
rebinding), and a state-changing request from another origin is refused (a web page cannot
make it compose or upload). The page's Content-Security-Policy allows nothing from elsewhere.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import Path
from urllib.parse import urlsplit

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, StreamingResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException

from tribute.errors import TributeError
from tribute.studio import forms
from tribute.studio.errors import Forbidden, StudioError, TooLarge
from tribute.studio.ids import job_id
from tribute.studio.service import Studio, StudioConfig
from tribute.studio.uploads import read_bounded

STATIC = Path(str(resources.files("tribute.studio") / "static"))
HEARTBEAT_S = 15.0  # an SSE comment this often keeps proxies and browsers from timing out
POLL_S = 0.2  # how often a stream looks for new job events: progress feels live, idle is free
MAX_STREAM_S = 6 * 3600  # a stream closes after this; the page reconnects if it still cares
CSP = (
    "default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; "
    "style-src 'self'; script-src 'self'; connect-src 'self'; object-src 'none'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
log = logging.getLogger("tribute.studio")


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def _field_error(exc: RequestValidationError) -> str:
    first = exc.errors()[0] if exc.errors() else {}
    where = ".".join(str(p) for p in first.get("loc", ()) if p not in ("body", "query", "path"))
    message = first.get("msg", "invalid request")
    if first.get("type") == "extra_forbidden":
        message = "not a field of this form"
    return f"{where}: {message}" if where else message


def create_app(config: StudioConfig, studio: Studio | None = None) -> FastAPI:
    """The app for one studio (made from ``config`` unless given)."""
    studio = studio or Studio(config)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        studio.jobs.start()
        yield
        await asyncio.to_thread(studio.jobs.stop)

    app = FastAPI(title="tribute studio", lifespan=lifespan, docs_url=None, redoc_url=None)
    app.state.studio = studio
    _guards(app, config)
    _errors(app)
    _routes(app, studio)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app


def _guards(app: FastAPI, config: StudioConfig) -> None:
    hosts = config.hosts

    @app.middleware("http")
    async def guard(request: Request, call_next):
        host = (urlsplit(f"//{request.headers.get('host', '')}").hostname or "").lower()
        if hosts is not None and host not in hosts:
            return _error(400, f"this studio answers to {', '.join(hosts)}, not {host!r}")
        origin = request.headers.get("origin")
        if (
            request.method in UNSAFE
            and origin
            and urlsplit(origin).netloc != request.headers.get("host")
        ):
            return _error(Forbidden.status, "requests from another site are refused")
        response = await call_next(request)
        response.headers["Content-Security-Policy"] = CSP
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        return response


def _errors(app: FastAPI) -> None:
    @app.exception_handler(TributeError)
    async def library_error(request: Request, exc: TributeError) -> JSONResponse:
        status = exc.status if isinstance(exc, StudioError) else 400
        return _error(status, forms.one_line(exc))

    @app.exception_handler(RequestValidationError)
    async def bad_body(request: Request, exc: RequestValidationError) -> JSONResponse:
        return _error(422, _field_error(exc))

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        return _error(exc.status_code, str(exc.detail))

    @app.exception_handler(Exception)
    async def internal(request: Request, exc: Exception) -> JSONResponse:
        log.exception("internal error on %s", request.url.path)
        return _error(500, "internal error; the studio's log has the details")


def _routes(app: FastAPI, studio: Studio) -> None:
    @app.get("/", include_in_schema=False)
    def page() -> FileResponse:
        return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})

    @app.get("/api/info")
    def info() -> dict:
        return studio.info()

    @app.post("/api/uploads", status_code=201)
    async def upload(request: Request, name: str = "") -> dict:
        limit = studio.config.upload_bytes
        length = request.headers.get("content-length", "")
        if length.isdigit() and int(length) > limit:
            raise TooLarge(
                f"the upload is {int(length) / 1e6:.1f} MB; the limit is {limit / 1e6:.0f} MB"
            )
        data = await read_bounded(request.stream(), limit)  # stops reading past the limit
        return (await asyncio.to_thread(studio.uploads.save, data, name)).to_json()

    @app.post("/api/compose", status_code=202)
    def compose(request: forms.ComposeRequest) -> dict:
        return studio.jobs.view(studio.compose(request).id)

    @app.post("/api/check", status_code=202)
    def check(request: forms.CheckRequest) -> dict:
        return studio.jobs.view(studio.check(request).id)

    _job_routes(app, studio)
    _song_routes(app, studio)


def _job_routes(app: FastAPI, studio: Studio) -> None:
    jobs = studio.jobs

    @app.get("/api/jobs")
    def job_list() -> list[dict]:
        return [jobs.view(j.id, with_log=False) for j in jobs.all()]

    @app.get("/api/jobs/{job}")
    def job(job: str) -> dict:
        return jobs.view(job)

    @app.post("/api/jobs/{job}/cancel")
    def cancel(job: str) -> dict:
        return jobs.view(jobs.cancel(job).id)

    @app.get("/api/jobs/{job}/events")
    def events(job: str, request: Request) -> StreamingResponse:
        jobs.get(job)
        after = _last_event(request.headers.get("last-event-id", ""))
        return StreamingResponse(
            _stream(studio, job_id(job), after, request),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )

    @app.get("/api/jobs/{job}/pieces/{piece}/roll")
    def piece_roll(job: str, piece: int) -> dict:
        return studio.piece_roll(job, piece)

    @app.get("/api/jobs/{job}/pieces/{piece}/compare/{number}")
    def piece_compare(job: str, piece: int, number: int) -> dict:
        return studio.piece_compare(job, piece, number)


def _song_routes(app: FastAPI, studio: Studio) -> None:
    songs = studio.songs

    @app.get("/api/songs")
    def song_list() -> list[dict]:
        return songs.all()

    @app.get("/api/songs/{song}")
    def song(song: str) -> dict:
        return songs.view(song)

    @app.get("/api/songs/{song}/roll")
    def song_roll(song: str) -> dict:
        from tribute.studio.roll import roll

        return roll(studio.song_score(song))

    @app.get("/api/songs/{song}/compare/{number}")
    def song_compare(song: str, number: int) -> dict:
        return studio.song_compare(song, number)

    @app.get("/api/songs/{song}/files/{kind}")
    def song_file(song: str, kind: str, download: bool = False) -> FileResponse:
        path, media = songs.file(song, kind)
        return _file(path, media, download)

    @app.get("/api/songs/{song}/{kind}/{number}")
    def song_page(song: str, kind: str, number: int, download: bool = False) -> FileResponse:
        path, media = songs.file(song, kind, number)
        return _file(path, media, download)

    @app.get("/api/songs/{song}/zip")
    def song_zip(song: str) -> FileResponse:
        return _file(songs.zip(song), "application/zip", True)

    @app.post("/api/songs/{song}/again", status_code=202)
    def again(song: str, new_seed: bool = False) -> dict:
        return studio.jobs.view(studio.again(song, new_seed).id)

    @app.post("/api/songs/{song}/edit", status_code=202)
    def edit(song: str, request: forms.EditRequest) -> dict:
        return studio.jobs.view(studio.edit(song, request).id)


def _file(path: Path, media: str, download: bool) -> FileResponse:
    return FileResponse(
        path,
        media_type=media,
        filename=path.name if download else None,
        content_disposition_type="attachment" if download else "inline",
    )


# -- server-sent events ------------------------------------------------------------------------

EPOCH = format(int(time.time()), "x")  # event ids name this process: a restarted studio restarts


def _last_event(text: str) -> int:
    epoch, _, seq = text.partition(":")
    return int(seq) if epoch == EPOCH and seq.isdigit() else 0


async def _stream(studio: Studio, job: str, after: int, request: Request):
    """The job as it is now, then each new event, until the job ends (or the page leaves)."""
    snapshot = studio.jobs.view(job)
    yield f"data: {json.dumps({'event': 'snapshot', 'job': snapshot})}\n\n"
    started = quiet = time.monotonic()
    seq = after
    while time.monotonic() - started < MAX_STREAM_S:
        events, finished = studio.jobs.events_after(job, seq)
        for event in events:
            seq = event["seq"]
            yield f"id: {EPOCH}:{seq}\ndata: {json.dumps(event)}\n\n"
            quiet = time.monotonic()
        if finished and not events:
            final = studio.jobs.view(job, with_log=False)
            yield f"data: {json.dumps({'event': 'done', 'job': final})}\n\n"
            return
        if time.monotonic() - quiet > HEARTBEAT_S:
            yield ": keep-alive\n\n"
            quiet = time.monotonic()
        if await request.is_disconnected():
            return
        await asyncio.sleep(POLL_S)
