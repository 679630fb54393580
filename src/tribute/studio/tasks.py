"""What a studio job does: library calls only — compose, edit, render, check.

Compose: :class:`~tribute.composition.Composer` with the request's controls (its progress events
streamed, its cancel honoured), then :func:`~tribute.rendering.render` in two passes so that the
page can play a song before its score is engraved: first the WAV mix and the stems (the mix is
their sum: one synthesis; ~3 s for a 16-bar band song on 2 cores), then the piano-roll PNG,
MusicXML, the SVG pages (verovio), a PDF where MuseScore 3 is installed and the lead sheet.
Edit: :mod:`tribute.composition.edit` on a studio song, rendered the same way. Check:
:mod:`tribute.studio.checkrun` in a child process.

The loaded model of the last job is kept (one model: a ``small`` model is ~20 MB, a ``base`` one
hundreds), so composing again skips torch's import and the weights' load.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from tribute.errors import TributeError
from tribute.studio.catalog import Catalog, ModelEntry
from tribute.studio.checkrun import ERROR_PREFIX, STAGE_PREFIX
from tribute.studio.compare import findings
from tribute.studio.forms import (
    CheckRequest,
    ComposeRequest,
    EditRequest,
    check_corpora,
    compile_compose,
)
from tribute.studio.ids import inside
from tribute.studio.jobs import Cancelled, Job, JobContext
from tribute.studio.songs import Songs
from tribute.studio.uploads import Uploads

CHECK_TIMEOUT_S = 1800  # the first check against a 14,000-song corpus builds its index (minutes)
POLL_S = 0.2


def edit_available() -> bool:
    """Whether this tribute has song editing (:mod:`tribute.composition.edit`)."""
    import importlib.util

    return importlib.util.find_spec("tribute.composition.edit") is not None


class Runner:
    """Runs one job at a time per worker; see the module docstring."""

    def __init__(self, catalog: Catalog, uploads: Uploads, songs: Songs, checks: Path):
        self.catalog, self.uploads, self.songs, self.checks = catalog, uploads, songs, checks
        self._lock = threading.Lock()
        self._loaded: tuple[Path, Any] | None = None

    def __call__(self, job: Job, ctx: JobContext) -> None:
        {"compose": self.compose, "edit": self.edit, "check": self.check}[job.kind](job, ctx)

    def style_model(self, entry: ModelEntry, ctx: JobContext):
        from tribute.modeldir import load_style_model

        with self._lock:
            if self._loaded is None or self._loaded[0] != entry.path:
                ctx.stage(f"loading model {entry.id}")
                self._loaded = None  # free the old weights before loading the new ones
                self._loaded = (entry.path, load_style_model(entry.path))
            return self._loaded[1]

    # -- compose and edit ----------------------------------------------------------------------

    def compose(self, job: Job, ctx: JobContext) -> None:
        from tribute.composition import Composer

        request = ComposeRequest(**job.request)
        spec = compile_compose(request, self.catalog, self.uploads)
        composer = Composer.open(
            self.style_model(spec.model, ctx), spec.controls, spec.config, ctx.log
        )
        composer.on_progress = ctx.progress
        ctx.set(progress={"bars_total": spec.controls.bars, "bars_done": 0})
        ctx.stage("composing")
        records = composer.compose(self.songs.folder(job.id), ctx.log)
        self.finish(job, ctx, spec.model, records)

    def edit(self, job: Job, ctx: JobContext) -> None:
        from tribute.composition.edit import EditConfig, Editor, parse_bars

        request = EditRequest(**{k: v for k, v in job.request.items() if k != "song"})
        folder, entry, index = self.songs.entry(job.request["song"])
        model = self.catalog.model(index["model"])
        stem = re.sub(r"(-edit)?-\d+$", "", entry["stem"]) or "song"
        config = EditConfig(
            bars=parse_bars(request.bars),
            parts=tuple(p.strip() for p in request.parts.split(",") if p.strip())
            if request.parts
            else None,
            guard=request.guard,
            name=f"{stem}-edit",
            **{
                k: getattr(request, k)
                for k in ("n", "seed", "temperature", "top_p")
                if getattr(request, k) is not None
            },
        )
        editor = Editor.open(self.style_model(model, ctx), config, ctx.log)
        ctx.stage("regenerating")
        source = inside(folder, f"{entry['stem']}.mid")
        records = editor.edit(source, self.songs.folder(job.id), ctx.log)
        self.finish(job, ctx, model, records)

    def finish(self, job: Job, ctx: JobContext, model: ModelEntry, records: list) -> None:
        """Index the songs, then render audio and piano roll, then the score."""
        entries = [
            {
                "id": f"{job.id}-{number:02d}",
                "number": number,
                "stem": record.song,
                "verdict": record.verdict,
                "bars": record.bars,
                "seed": record.seed,
                "midi": record.midi is not None,
                "audio": False,
                "rendered": False,
                "rendering": {"warnings": []},
            }
            for number, record in enumerate(records, start=1)
        ]
        meta = {
            "job": job.id,
            "kind": job.kind,
            "title": job.title,
            "model": model.id,
            "request": job.request,
            "created": job.created,
        }
        self.songs.write_index(job.id, entries, meta)
        ctx.set(songs=[e["id"] for e in entries])
        playable = [e for e in entries if e["midi"]]
        if not playable:
            raise TributeError("the guard refused every candidate: each copied a training song")
        self._render(job, ctx, playable, "audio", entries, meta)
        self._render(job, ctx, playable, "score", entries, meta)

    def _render(self, job, ctx, entries: list[dict], stage: str, every: list, meta: dict) -> None:
        from tribute.rendering import RenderConfig, render
        from tribute.rendering.score import find_mscore

        if stage == "audio":  # the mix is the sum of the stems: both cost one synthesis
            ctx.stage("rendering audio")
            config = RenderConfig(wav=True, stems=True)
        else:  # the page draws its own piano roll: the PNG can wait for the score
            ctx.stage("engraving the score")
            formats = ("musicxml", "svg", "pdf") if find_mscore() else ("musicxml", "svg")
            config = RenderConfig(score_formats=formats, lead_sheet=True, pianoroll=True)
        folder = self.songs.folder(job.id)
        midis = [folder / f"{e['stem']}.mid" for e in entries]
        try:
            results = render(midis, folder / ".render" / stage, config)
        except TributeError as exc:  # a missing synthesizer or engraver: say so, go on
            for entry in entries:
                entry["rendering"]["warnings"].append(f"no {stage}: {exc}")
            results = []
        for entry, result in zip(entries, results, strict=False):
            self._keep(folder, folder / ".render" / stage, result)
            for empty in sorted((folder / ".render" / stage).glob("*/"), reverse=True):
                if empty.is_dir() and not any(empty.iterdir()):
                    empty.rmdir()  # the moved stems' folder; render.json stays as the record
            problems = [result.error] if result.error else result.warnings
            entry["rendering"]["warnings"] += problems
            entry["audio" if stage == "audio" else "rendered"] = True
        self.songs.write_index(job.id, every, meta)
        ctx.event({"event": stage, "songs": [e["id"] for e in entries]})

    @staticmethod
    def _keep(folder: Path, staging: Path, result) -> None:
        """Move a song's rendered files from the staging folder next to its MIDI file."""
        for output in result.outputs:
            path = Path(output)
            target = folder / path.relative_to(staging)
            target.parent.mkdir(parents=True, exist_ok=True)
            path.replace(target)

    # -- check ---------------------------------------------------------------------------------

    def check(self, job: Job, ctx: JobContext) -> None:
        request = CheckRequest(**job.request)
        corpora = check_corpora(request, self.catalog)
        upload = self.uploads.get(request.upload)
        out = inside(self.checks, job.id)
        out.mkdir(parents=True, exist_ok=True)
        ctx.stage("starting the checker")
        argv = [sys.executable, "-m", "tribute.studio.checkrun"]
        argv += [str(self.uploads.path(upload.id)), Path(upload.name).stem, str(out), *corpora]
        error = self._child(argv, out / "check.log", ctx)
        if error:
            raise TributeError(error)
        result = json.loads((out / "reports.json").read_text(encoding="utf-8"))
        for piece in result["pieces"]:
            piece["findings"] = findings(piece["report"])
        ctx.set(result={**result, "upload": upload.to_json()})

    @staticmethod
    def _child(argv: list[str], log_path: Path, ctx: JobContext) -> str | None:
        """Run a child process, streaming its ``stage:`` lines; its error line, if it failed."""
        error, seen = None, 0
        with open(log_path, "wb") as log_file:
            child = subprocess.Popen(argv, stdout=log_file, stderr=subprocess.STDOUT)
        started = time.monotonic()
        try:
            while True:
                running = child.poll() is None
                data = log_path.read_bytes()
                end = data.rfind(b"\n") + 1 if running else len(data)  # whole lines only
                for line in data[seen:end].decode("utf-8", "replace").splitlines():
                    if line.startswith(STAGE_PREFIX):
                        ctx.stage(line[len(STAGE_PREFIX) :])
                    elif line.startswith(ERROR_PREFIX):
                        error = line[len(ERROR_PREFIX) :]
                seen = max(seen, end)
                if not running:
                    break
                if time.monotonic() - started > CHECK_TIMEOUT_S:
                    raise TributeError(f"the check took longer than {CHECK_TIMEOUT_S} s")
                ctx.check()
                time.sleep(POLL_S)
        except (Cancelled, TributeError):
            child.kill()
            child.wait()
            raise
        if child.returncode and not error:
            error = f"the checker stopped with status {child.returncode} (see {log_path.name})"
        return error
