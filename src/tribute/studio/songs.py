"""The songs a studio made, on disk under ``WORK/songs/JOB/``, and what the page reads of them.

One folder per job holds what ``tribute compose`` and ``tribute render`` write — ``NAME-NN.mid``,
``NAME-NN.json`` (the :class:`~tribute.composition.SongRecord`), ``NAME-NN.wav``,
``NAME-NN.stems/``, ``NAME-NN.musicxml``/``.pdf``/``-K.svg``, the lead sheet, the piano-roll PNG —
plus ``songs.json``, the studio's index of the folder: per song its id, file stem and the
rendered files with any rendering warnings. The page downloads files by kind (``wav``,
``stem`` 2, ``svg`` page 1), never by name; :data:`KINDS` maps kinds to files.
"""

from __future__ import annotations

import json
import re
import threading
import zipfile
from pathlib import Path

from tribute.paths import atomic_write_text
from tribute.studio.compare import findings
from tribute.studio.errors import Conflict, NotFound
from tribute.studio.ids import inside, job_id, song_id

INDEX = "songs.json"
# kind → (file name pattern given the stem, media type, zip compresses it)
KINDS: dict[str, tuple[str, str, bool]] = {
    "midi": ("{stem}.mid", "audio/midi", True),
    "json": ("{stem}.json", "application/json", True),
    "wav": ("{stem}.wav", "audio/wav", False),
    "pianoroll": ("{stem}.pianoroll.png", "image/png", False),
    "musicxml": ("{stem}.musicxml", "application/vnd.recordare.musicxml+xml", True),
    "pdf": ("{stem}.pdf", "application/pdf", False),
    "lead-musicxml": ("{stem}.lead.musicxml", "application/vnd.recordare.musicxml+xml", True),
    "lead-pdf": ("{stem}.lead.pdf", "application/pdf", False),
}
PAGED = {"svg": r"{stem}-(\d+)\.svg", "lead-svg": r"{stem}\.lead-(\d+)\.svg"}
STEMS_DIR = "{stem}.stems"
MEDIA = {".svg": "image/svg+xml", ".wav": "audio/wav", ".zip": "application/zip"}


class Songs:
    """``WORK/songs/``: folders by job id, songs by ``JOB-NN``."""

    def __init__(self, root: Path):
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        self._zip_lock = threading.Lock()

    def folder(self, job: str) -> Path:
        return inside(self.root, job_id(job))

    def write_index(self, job: str, entries: list[dict], meta: dict) -> None:
        folder = self.folder(job)
        atomic_write_text(folder / INDEX, json.dumps({**meta, "songs": entries}, indent=1) + "\n")

    def index(self, job: str) -> dict:
        path = self.folder(job) / INDEX
        if not path.is_file():
            return {"songs": []}
        return json.loads(path.read_text(encoding="utf-8"))

    def entry(self, text: str) -> tuple[Path, dict, dict]:
        """(folder, the song's entry in songs.json, the folder's index) of a song id."""
        job, number = song_id(text)
        index = self.index(job)
        for entry in index["songs"]:
            if entry["number"] == number:
                return self.folder(job), entry, index
        raise NotFound(f"no song {text!r}")

    def all(self) -> list[dict]:
        """Every song, newest job first: id, title, verdict, model, when."""
        found = []
        for path in self.root.glob(f"*/{INDEX}"):
            try:
                index = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            for entry in index.get("songs", []):
                found.append(
                    {
                        **{k: entry.get(k) for k in ("id", "stem", "verdict", "bars", "seed")},
                        "model": index.get("model"),
                        "title": index.get("title"),
                        "created": index.get("created", 0),
                        "playable": bool(entry.get("audio")),
                    }
                )
        return sorted(found, key=lambda s: (-s["created"], s["id"]))

    # -- what a song page reads -------------------------------------------------------------

    def record(self, text: str) -> dict:
        folder, entry, _ = self.entry(text)
        path = inside(folder, f"{entry['stem']}.json")
        return json.loads(path.read_text(encoding="utf-8"))

    def view(self, text: str) -> dict:
        """Everything the song page shows: the record, the files by kind, rendering notes."""
        folder, entry, index = self.entry(text)
        record = self.record(text)
        files = files_of(folder, entry["stem"])
        base = f"/api/songs/{entry['id']}"
        return {
            "id": entry["id"],
            "job": index.get("job"),
            "kind": index.get("kind"),
            "audio": bool(entry.get("audio")),
            "rendered": bool(entry.get("rendered")),
            "model": index.get("model"),
            "request": index.get("request"),
            "created": index.get("created"),
            "record": record,
            "findings": findings(record.get("originality")),
            "rendering": entry.get("rendering", {}),
            "files": {k: f"{base}/files/{k}" for k in files if k in KINDS},
            "stems": [
                {"name": p.stem, "url": f"{base}/stems/{n}"}
                for n, p in enumerate(files.get("stems", []), start=1)
            ],
            "svg": [f"{base}/svg/{n}" for n in range(1, len(files.get("svg", [])) + 1)],
            "lead_svg": [
                f"{base}/lead-svg/{n}" for n in range(1, len(files.get("lead-svg", [])) + 1)
            ],
            "zip": f"{base}/zip",
        }

    def file(self, text: str, kind: str, number: int | None = None) -> tuple[Path, str]:
        """(path, media type) of one file of a song: a kind, or page/stem ``number``."""
        folder, entry, _ = self.entry(text)
        files = files_of(folder, entry["stem"])
        if kind in KINDS:
            if kind not in files:
                raise NotFound(f"song {text} has no {kind} file (yet)")
            return files[kind], KINDS[kind][1]
        pages = files.get(kind, [])
        if kind not in (*PAGED, "stems") or number is None:
            raise NotFound(f"no such file kind {kind!r}")
        if not 1 <= number <= len(pages):
            raise NotFound(f"song {text} has {len(pages)} {kind} file(s), not {number}")
        path = pages[number - 1]
        return path, MEDIA.get(path.suffix, "application/octet-stream")

    def zip(self, text: str) -> Path:
        """``STEM.zip`` of every file of the song, made once (after rendering finished)."""
        folder, entry, _ = self.entry(text)
        if not entry.get("rendered"):
            raise Conflict(f"song {text} is still rendering; download the zip when it is done")
        target = inside(folder, f"{entry['stem']}.zip")
        with self._zip_lock:
            if not target.is_file():
                _write_zip(target, folder, entry["stem"])
        return target


def files_of(folder: Path, stem: str) -> dict:
    """The files of one song that exist, by kind (pages and stems as ordered lists); a file
    that resolves outside the folder (a planted symlink) is not the song's."""
    base = folder.resolve()

    def mine(path: Path) -> bool:
        return path.is_file() and base in path.resolve().parents

    found: dict = {}
    for kind, (pattern, _, _) in KINDS.items():
        path = folder / pattern.format(stem=stem)
        if mine(path):
            found[kind] = path
    names = [p.name for p in folder.iterdir() if mine(p)]
    for kind, pattern in PAGED.items():
        regex = re.compile(pattern.format(stem=re.escape(stem)))
        pages = sorted((int(m.group(1)), n) for n in names if (m := regex.fullmatch(n)))
        found[kind] = [folder / n for _, n in pages]
    stems = folder / STEMS_DIR.format(stem=stem)
    found["stems"] = sorted(p for p in stems.glob("*.wav") if mine(p)) if stems.is_dir() else []
    return found


def _write_zip(target: Path, folder: Path, stem: str) -> None:
    files = files_of(folder, stem)
    tmp = target.with_name(f".{target.name}.tmp")
    with zipfile.ZipFile(tmp, "w") as archive:
        for kind, (_, _, compress) in KINDS.items():
            if kind in files:
                mode = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
                archive.write(files[kind], f"{stem}/{files[kind].name}", compress_type=mode)
        for kind in (*PAGED, "stems"):
            for path in files[kind]:
                if kind == "stems":  # WAV: deflate saves ~10 % for seconds of CPU
                    archive.write(path, f"{stem}/stems/{path.name}", zipfile.ZIP_STORED)
                else:
                    archive.write(path, f"{stem}/{path.name}", zipfile.ZIP_DEFLATED)
    tmp.replace(target)
