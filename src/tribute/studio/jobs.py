"""Jobs: a bounded queue, worker threads, state persisted under ``WORK/jobs/ID.json``, and an
event log per job that the page follows (server-sent events).

A job is ``queued`` → ``running`` → ``done`` | ``failed`` | ``cancelled``; a job that was
running when the studio stopped is ``interrupted`` at the next start, and queued jobs are queued
again. One worker by default: composing, rendering and engraving each use every core they get,
so two jobs at once on a 2-core laptop only make both slower. The queue holds at most
:data:`MAX_QUEUED` waiting jobs; the next submission gets a 429.

A runner reports through its :class:`JobContext`: ``stage`` (what it is doing), ``progress``
(the composer's events: section k of n, bars, tokens/s), ``log`` lines, the songs it wrote.
Cancelling a running job makes the next ``progress`` call (or ``check``) raise
:class:`Cancelled`, which the composer lets through — sampling stops within one bar.
"""

from __future__ import annotations

import collections
import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from tribute.paths import atomic_write_text
from tribute.studio.errors import Conflict, NotFound, QueueFull
from tribute.studio.forms import one_line
from tribute.studio.ids import inside, job_id, new_id

MAX_QUEUED = 8  # waiting jobs; at ~10 s per 16-bar song that is a few minutes of work queued
MAX_EVENTS = 1000  # per job in memory: a 512-bar song sends ~600 bar events
MAX_LOG_LINES = 200
SAVE_EVERY_S = 0.5  # progress is written to disk at most twice a second (state changes at once)
FINISHED = ("done", "failed", "cancelled", "interrupted")

log = logging.getLogger("tribute.studio")


class Cancelled(Exception):
    """Raised inside a running job when the user cancelled it (or the studio is stopping)."""


@dataclass
class Job:
    id: str
    kind: str  # "compose" | "check" | "edit"
    title: str
    request: dict
    status: str = "queued"
    created: float = field(default_factory=time.time)
    started: float | None = None
    finished: float | None = None
    stage: str = ""
    progress: dict = field(default_factory=dict)
    songs: list[str] = field(default_factory=list)  # song ids, in order
    result: dict | None = None  # a check's reports
    error: str | None = None
    log: list[str] = field(default_factory=list)

    def to_json(self, with_log: bool = True) -> dict:
        data = asdict(self)
        if not with_log:
            data.pop("log")
        return data

    @classmethod
    def from_json(cls, data: dict) -> Job:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


class JobContext:
    """What a running job reports through (one per run, used by the worker thread)."""

    def __init__(self, jobs: Jobs, job: Job):
        self._jobs, self.job = jobs, job
        self._offset = 0  # bars of the sections before the current one
        self._section_bars = 0

    @property
    def cancelled(self) -> bool:
        return self.job.id in self._jobs._cancel

    def check(self) -> None:
        if self.cancelled:
            raise Cancelled

    def stage(self, text: str) -> None:
        self.check()
        self._jobs._update(self.job, stage=text, event={"event": "stage", "stage": text})

    def progress(self, event: dict) -> None:
        """The composer's ``on_progress``: merged into ``job.progress`` and streamed."""
        self.check()
        done = dict(self.job.progress)
        if event.get("event") == "section":
            self._offset = 0 if event["index"] == 0 else self._offset + self._section_bars
            self._section_bars = int(event["bars"])
            done.update(
                section=event["section"],
                index=event["index"],
                sections=event["sections"],
                bars_done=self._offset,
            )
        elif event.get("event") == "bar":
            done.update(bars_done=self._offset + event["bars_done"])
            done.update(tokens_per_s=event["tokens_per_s"])
        self._jobs._update(self.job, progress=done, event={**event, "progress": done}, urgent=False)

    def log(self, *parts: Any, **_: Any) -> None:
        """A ``print``-like log for the library's ``log=`` arguments."""
        line = " ".join(str(p) for p in parts)
        self._jobs._update(self.job, log_line=line, event={"event": "log", "line": line})

    def set(self, **values: Any) -> None:
        """Job fields (``songs``, ``result``, ``progress``) and an event saying so."""
        self._jobs._update(self.job, event={"event": "update", **values}, **values)

    def event(self, event: dict) -> None:
        self._jobs._update(self.job, event=event)


Runner = Callable[[Job, JobContext], None]


class Jobs:
    """The queue, its workers and every job this studio has seen."""

    def __init__(self, root: Path, runner: Runner, workers: int = 1, max_queued: int = MAX_QUEUED):
        self.root = root
        self.runner = runner
        self.workers = workers
        self.max_queued = max_queued
        root.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Condition()
        self._save_lock = threading.Lock()
        self._jobs: dict[str, Job] = {}
        self._queue: collections.deque[str] = collections.deque()
        self._events: dict[str, collections.deque[dict]] = {}
        self._seq: dict[str, int] = {}
        self._saved_at: dict[str, float] = {}
        self._cancel: set[str] = set()
        self._threads: list[threading.Thread] = []
        self._stopping = False
        self._load()

    # -- lifecycle -----------------------------------------------------------------------------

    def _load(self) -> None:
        """Earlier jobs from disk: running ones were interrupted, queued ones queue again."""
        found = []
        for path in sorted(self.root.glob("*.json")):
            try:
                found.append(Job.from_json(json.loads(path.read_text(encoding="utf-8"))))
            except (OSError, ValueError, TypeError) as exc:
                log.warning("skipping unreadable job file %s: %s", path.name, exc)
        for job in sorted(found, key=lambda j: j.created):
            self._jobs[job.id] = job
            self._events[job.id] = collections.deque(maxlen=MAX_EVENTS)
            self._seq[job.id] = 0
            if job.status == "running":
                job.status, job.finished = "interrupted", time.time()
                job.error = "the studio stopped while this job ran"
                self._save(job)
            elif job.status == "queued":
                self._queue.append(job.id)

    def start(self) -> None:
        for n in range(self.workers):
            thread = threading.Thread(target=self._work, name=f"studio-worker-{n}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stop the workers; a running job is cancelled and recorded as interrupted."""
        with self._lock:
            self._stopping = True
            self._cancel.update(j.id for j in self._jobs.values() if j.status == "running")
            self._lock.notify_all()
        for thread in self._threads:
            thread.join(timeout_s)

    # -- requests ------------------------------------------------------------------------------

    def submit(self, kind: str, request: dict, title: str) -> Job:
        with self._lock:
            waiting = sum(1 for i in self._queue if self._jobs[i].status == "queued")
            if waiting >= self.max_queued:
                raise QueueFull(
                    f"the queue is full ({waiting} jobs waiting); wait for one to finish "
                    "or cancel one"
                )
            job = Job(new_id(), kind, title, request)
            self._jobs[job.id] = job
            self._events[job.id] = collections.deque(maxlen=MAX_EVENTS)
            self._seq[job.id] = 0
            self._queue.append(job.id)
            self._emit(job, {"event": "state", "status": "queued"})
            self._lock.notify()
        self._save(job)
        return job

    def get(self, text: str) -> Job:
        job = self._jobs.get(job_id(text))
        if job is None:
            raise NotFound(f"no job {text!r}")
        return job

    def view(self, text: str, with_log: bool = True) -> dict:
        """A job's JSON, read under the lock (its worker may be updating it)."""
        job = self.get(text)
        with self._lock:
            return job.to_json(with_log)

    def all(self) -> list[Job]:
        with self._lock:
            return sorted(self._jobs.values(), key=lambda j: -j.created)

    def cancel(self, text: str) -> Job:
        job = self.get(text)
        with self._lock:
            if job.status in FINISHED:
                raise Conflict(f"job {job.id} has already finished ({job.status})")
            if job.status == "queued":
                self._queue.remove(job.id)
                self._finish(job, "cancelled", None)
            else:
                self._cancel.add(job.id)
                self._emit(job, {"event": "cancelling"})
        return job

    def events_after(self, text: str, seq: int) -> tuple[list[dict], bool]:
        """Events of a job numbered above ``seq``, and whether the job has finished."""
        job = self.get(text)
        with self._lock:
            return [e for e in self._events[job.id] if e["seq"] > seq], job.status in FINISHED

    # -- the worker ----------------------------------------------------------------------------

    def _work(self) -> None:
        while True:
            with self._lock:
                while not self._queue and not self._stopping:
                    self._lock.wait()
                if self._stopping:
                    return
                job = self._jobs[self._queue.popleft()]
                job.status, job.started = "running", time.time()
                self._emit(job, {"event": "state", "status": "running"})
            self._save(job)
            self._run(job)

    def _run(self, job: Job) -> None:
        try:
            self.runner(job, JobContext(self, job))
        except Cancelled:
            status = "interrupted" if self._stopping else "cancelled"
            self._finish(job, status, "the studio stopped" if self._stopping else None)
        except Exception as exc:  # a job's failure is the job's, never the server's
            from tribute.errors import TributeError

            if not isinstance(exc, TributeError):
                log.exception("job %s failed", job.id)
            self._finish(job, "failed", one_line(exc))
        else:
            self._finish(job, "done", None)

    # -- state changes (all under the lock, saved after) ---------------------------------------

    def _finish(self, job: Job, status: str, error: str | None) -> None:
        with self._lock:
            job.status, job.error, job.finished = status, error, time.time()
            job.stage = "" if status == "done" else job.stage
            self._cancel.discard(job.id)
            self._emit(job, {"event": "end", "status": status, "error": error})
        self._save(job)

    def _update(
        self,
        job: Job,
        event: dict,
        log_line: str | None = None,
        urgent: bool = True,
        **values: Any,
    ) -> None:
        with self._lock:
            for name, value in values.items():
                setattr(job, name, value)
            if log_line is not None:
                job.log = [*job.log[-(MAX_LOG_LINES - 1) :], log_line]
            self._emit(job, event)
        if urgent or time.monotonic() - self._saved_at.get(job.id, 0.0) > SAVE_EVERY_S:
            self._save(job)

    def _emit(self, job: Job, event: dict) -> None:
        self._seq[job.id] += 1
        self._events[job.id].append({**event, "seq": self._seq[job.id]})
        self._lock.notify_all()

    def _save(self, job: Job) -> None:
        with self._lock:
            text = json.dumps(job.to_json(), indent=1)
        with self._save_lock:  # one writer: the temporary file's name is per process
            self._saved_at[job.id] = time.monotonic()
            atomic_write_text(inside(self.root, f"{job.id}.json"), text + "\n")
