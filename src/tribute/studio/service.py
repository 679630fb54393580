"""One studio: its catalog, work folder, uploads, songs and job queue, and the requests the web
app forwards to it — each a validation followed by one call into the library or the queue.

Layout of ``--work`` (JSON and the library's own files; nothing else is written anywhere)::

    jobs/ID.json            a job: kind, request, status, stage, progress, songs, error, log
    songs/ID/               a compose or edit job's songs and renders (tribute.studio.songs)
    checks/ID/              a check job's normalized pieces and reports.json
    uploads/ID.mid|.musicxml|.mxl + ID.json
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field
from pathlib import Path

from symusic import Score

from tribute.studio import forms
from tribute.studio.catalog import Catalog
from tribute.studio.compare import side_by_side
from tribute.studio.errors import BadRequest, NotFound
from tribute.studio.ids import inside
from tribute.studio.jobs import MAX_QUEUED, Job, Jobs
from tribute.studio.roll import roll
from tribute.studio.songs import Songs
from tribute.studio.tasks import Runner, edit_available
from tribute.studio.uploads import MAX_UPLOAD_BYTES, Uploads

LOOPBACK = ("127.0.0.1", "localhost", "::1")
NEW_SEEDS = 1_000_000  # "new seed" draws from 0…999,999: short enough to read back and retype


@dataclass(frozen=True)
class StudioConfig:
    models: tuple[str, ...]
    work: Path = Path("tribute-studio")
    host: str = "127.0.0.1"
    port: int = 8765
    workers: int = 1  # jobs run at once; 0 queues jobs without running them
    max_queued: int = MAX_QUEUED
    upload_bytes: int = MAX_UPLOAD_BYTES
    allowed_hosts: tuple[str, ...] | None = field(default=None)  # None: loopback names only

    @property
    def hosts(self) -> tuple[str, ...] | None:
        """Host names a request may address (DNS rebinding guard); None: any (a public bind)."""
        if self.allowed_hosts is not None:
            return self.allowed_hosts
        return LOOPBACK if self.host in LOOPBACK else None


class Studio:
    def __init__(self, config: StudioConfig):
        self.config = config
        self.catalog = Catalog.discover(list(config.models))  # before making any folder
        self.catalog.count_songs()
        work = Path(config.work)
        work.mkdir(parents=True, exist_ok=True)
        self.work = work.resolve()
        self.uploads = Uploads(self.work / "uploads", config.upload_bytes)
        self.songs = Songs(self.work / "songs")
        self.checks = self.work / "checks"
        self.checks.mkdir(exist_ok=True)
        runner = Runner(self.catalog, self.uploads, self.songs, self.checks)
        self.jobs = Jobs(self.work / "jobs", runner, config.workers, config.max_queued)
        self._options: dict = {}
        self._warm = threading.Thread(target=self._warm_up, name="studio-warm-up", daemon=True)
        self._warm.start()

    def _warm_up(self) -> None:
        """Import the composer (torch, transformers: ~4 s on 2 cores) and the audio renderer now,
        so that neither the first page load nor the first Compose waits for them (music21 and
        matplotlib load with the first score, after the first audio)."""
        from tribute.rendering.score import find_mscore

        self._options = {
            "candidates": forms.config_has("candidates"),
            "edit": edit_available(),
            "pdf": find_mscore() is not None,
        }
        try:  # the audio pass's own imports (~0.3 s); without the render extra it says so later
            import pyloudnorm  # noqa: F401
            import soundfile  # noqa: F401
        except ImportError:
            pass

    def ready(self, timeout_s: float | None = None) -> None:
        """Wait until the composer is imported (the CLI prints the address after this)."""
        self._warm.join(timeout_s)

    def info(self) -> dict:
        from tribute import __version__

        self.ready()
        return {
            "version": __version__,
            **self.catalog.to_json(),
            "options": self._options,
            "limits": {
                "upload_bytes": self.config.upload_bytes,
                "max_queued": self.config.max_queued,
                "max_songs": forms.MAX_SONGS,
            },
        }

    # -- jobs ----------------------------------------------------------------------------------

    def compose(self, request: forms.ComposeRequest) -> Job:
        forms.compile_compose(request, self.catalog, self.uploads)  # the CLI's messages, now
        data = request.model_dump(exclude_none=True)
        return self.jobs.submit("compose", data, forms.describe(request))

    def check(self, request: forms.CheckRequest) -> Job:
        forms.check_corpora(request, self.catalog)
        upload = self.uploads.get(request.upload)
        return self.jobs.submit("check", request.model_dump(exclude_none=True), upload.name)

    def edit(self, song: str, request: forms.EditRequest) -> Job:
        if not edit_available():
            raise NotFound("song editing is not part of this tribute")
        from tribute.composition.edit import EditConfig, parse_bars

        _, entry, index = self.songs.entry(song)
        self.catalog.model(index.get("model") or "")
        if request.n is not None and not 1 <= request.n <= forms.MAX_SONGS:
            raise BadRequest(f"-n: 1 to {forms.MAX_SONGS} versions a job, got {request.n}")
        EditConfig(
            bars=parse_bars(request.bars),
            **{
                k: v
                for k, v in request.model_dump().items()
                if k in ("n", "temperature", "top_p") and v is not None
            },
        )
        what = f"bars {request.bars}" if request.bars else "all bars"
        title = f"edit {entry['id']}: {what}, {request.parts or 'every part'}"
        return self.jobs.submit(
            "edit", {"song": song, **request.model_dump(exclude_none=True)}, title
        )

    def again(self, song: str, new_seed: bool) -> Job:
        """The song's request once more: its own seed, or a new one."""
        index = self.songs.entry(song)[2]
        request = dict(index.get("request") or {})
        seed = (
            random.randrange(NEW_SEEDS)
            if new_seed
            else self.songs.record(song).get("requested_seed", 0)
        )
        if index.get("kind") == "edit":
            return self.edit(request.pop("song"), forms.EditRequest(**{**request, "seed": seed}))
        return self.compose(forms.ComposeRequest(**{**request, "seed": seed, "n": 1}))

    # -- what pages read -----------------------------------------------------------------------

    def song_score(self, song: str) -> Score:
        folder, entry, _ = self.songs.entry(song)
        if not entry.get("midi"):
            raise NotFound(f"song {song} has no MIDI file (the guard refused it)")
        return Score(str(inside(folder, f"{entry['stem']}.mid")))

    def song_compare(self, song: str, number: int) -> dict:
        report = self.songs.record(song).get("originality")
        return side_by_side(self.song_score(song), report, number, self.catalog)

    def _piece(self, job: str, piece: int) -> tuple[Score, dict]:
        found = self.jobs.get(job)
        pieces = (found.result or {}).get("pieces", []) if found.kind == "check" else []
        if not 1 <= piece <= len(pieces):
            raise NotFound(f"job {job} has no checked piece {piece}")
        entry = pieces[piece - 1]
        if not entry.get("midi"):
            raise BadRequest(f"piece {piece} could not be read: nothing to draw")
        return Score(str(inside(self.checks, found.id, entry["midi"]))), entry["report"]

    def piece_roll(self, job: str, piece: int) -> dict:
        return roll(self._piece(job, piece)[0])

    def piece_compare(self, job: str, piece: int, number: int) -> dict:
        score, report = self._piece(job, piece)
        return side_by_side(score, report, number, self.catalog)
