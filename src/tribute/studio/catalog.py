"""The models a studio serves and the corpora they learned from, each under a short id.

``tribute studio A B`` takes model folders (or ``builtin:NAME``), or folders to search: a model
folder is one with
``tokenizer/styles.json`` and its weights (``config.json`` + ``model.safetensors``, or a LoRA
``adapter_config.json``), so a run folder's ``checkpoints/`` (weights without a tokenizer) is not
offered. What the page shows of a model is its :class:`~tribute.modeldir.RunRecord`: style
names, base model, held-out bits per note before → after fine-tuning, and the corpora of
:func:`~tribute.modeldir.training_corpora` — the ones "check a song" can compare against.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tribute.errors import TributeError
from tribute.studio.errors import NotFound
from tribute.studio.ids import slug_id, slugify

MAX_MODELS = 200  # a search that finds more is pointed at the wrong folder (a whole disk)
STYLE_FILE = Path("tokenizer") / "styles.json"


@dataclass
class CorpusEntry:
    id: str
    path: Path
    present: bool  # corpus.json is there: the guard and "check a song" can use it
    songs: int | None = None

    def to_json(self) -> dict:
        return {
            "id": self.id,
            "name": self.path.name,
            "present": self.present,
            "songs": self.songs,
        }


@dataclass
class ModelEntry:
    id: str
    path: Path
    info: str  # tribute.modeldir.model_info's text, as `tribute models info` prints it
    record: Any  # RunRecord
    kind: str
    styles: list[str] = field(default_factory=list)
    corpora: list[str] = field(default_factory=list)  # corpus ids

    def to_json(self) -> dict:
        record, summary = self.record, self.record.summary
        return {
            "id": self.id,
            "name": self.path.name,
            "kind": self.kind,
            "preset": record.preset,
            "styles": self.styles,
            "default_style": record.style,
            "base_model": Path(record.base_model).name if record.base_model else None,
            "method": record.method,
            "steps": record.steps,
            "bits_per_note_before": summary.get("bits_per_note_before"),
            "bits_per_note_after": summary.get("bits_per_note_after"),
            "held_out_split": summary.get("held_out_split"),
            "corpora": self.corpora,
            "info": self.info,
        }


def is_model_folder(path: Path) -> bool:
    weights = (path / "config.json").is_file() and (path / "model.safetensors").is_file()
    return (path / STYLE_FILE).is_file() and (weights or (path / "adapter_config.json").is_file())


def find_model_folders(paths: list[str | Path]) -> list[Path]:
    """Each path that is a model folder, else the model folders found under it (sorted)."""
    from tribute.modeldir import model_path

    found: list[Path] = []
    for given in map(model_path, paths):  # a path, or builtin:NAME for a shipped model
        if not given.exists():
            raise TributeError(f"{given} does not exist")
        if is_model_folder(given):
            candidates = [given]
        else:
            candidates = sorted(p.parent.parent for p in given.rglob(str(STYLE_FILE)))
            candidates = [c for c in candidates if is_model_folder(c)]
            if not candidates:
                raise TributeError(
                    f"{given} is not a model folder and holds none (a model folder has "
                    "tokenizer/styles.json and its weights)"
                )
        found += [c.resolve() for c in candidates if c.resolve() not in found]
        if len(found) > MAX_MODELS:
            raise TributeError(f"more than {MAX_MODELS} model folders under {given}: name fewer")
    return found


def _unique(wanted: str, taken: dict) -> str:
    slug, n = wanted, 2
    while slug in taken:
        slug, n = f"{wanted}-{n}", n + 1
    return slug


class Catalog:
    """Models and corpora by id; tokenizers and opened corpora cached (read-only)."""

    def __init__(self, models: dict[str, ModelEntry], corpora: dict[str, CorpusEntry]):
        self.models = models
        self.corpora = corpora
        self._lock = threading.Lock()
        self._tokenizers: dict[str, Any] = {}
        self._opened: dict[Path, Any] = {}

    @classmethod
    def discover(cls, paths: list[str | Path]) -> Catalog:
        from tribute.modeldir import model_info, model_kind, training_corpora
        from tribute.tokens import MusicTokenizer

        models: dict[str, ModelEntry] = {}
        corpora: dict[str, CorpusEntry] = {}
        by_path: dict[Path, str] = {}
        for folder in find_model_folders(paths):
            info, record = model_info(folder)
            ids = []
            for corpus in training_corpora(folder):
                path = Path(corpus).resolve()
                if path not in by_path:
                    by_path[path] = _unique(slugify(path.name), corpora)
                    corpora[by_path[path]] = CorpusEntry(
                        by_path[path], path, (path / "corpus.json").is_file()
                    )
                ids.append(by_path[path])
            wanted = slugify(folder.name)
            if wanted in models:
                wanted = slugify(f"{folder.parent.name}-{folder.name}")
            entry_id = _unique(wanted, models)
            styles = list(MusicTokenizer.load(folder).styles)
            models[entry_id] = ModelEntry(
                entry_id, folder, info, record, model_kind(folder, record), styles, ids
            )
        return cls(models, corpora)

    def model(self, model_id: str) -> ModelEntry:
        slug_id(model_id, "model")
        if model_id not in self.models:
            known = ", ".join(self.models) or "none"
            raise NotFound(f"unknown model {model_id!r}; this studio has: {known}")
        return self.models[model_id]

    def model_at(self, path: str | Path) -> ModelEntry | None:
        wanted = Path(path).resolve()
        return next((m for m in self.models.values() if m.path == wanted), None)

    def corpus(self, corpus_id: str) -> CorpusEntry:
        slug_id(corpus_id, "corpus")
        entry = self.corpora.get(corpus_id)
        if entry is None:
            known = ", ".join(self.corpora) or "none"
            raise NotFound(f"unknown corpus {corpus_id!r}; the models learned from: {known}")
        if not entry.present:
            raise NotFound(f"corpus {corpus_id!r} ({entry.path}) is no longer on disk")
        return entry

    def tokenizer(self, model_id: str):
        """The model's tokenizer (loaded once; requests validate styles with it)."""
        from tribute.tokens import MusicTokenizer

        with self._lock:
            if model_id not in self._tokenizers:
                self._tokenizers[model_id] = MusicTokenizer.load(self.model(model_id).path)
            return self._tokenizers[model_id]

    def opened_corpus(self, name: str):
        """The opened corpus (:class:`tribute.corpus.store.Corpus`) whose folder is ``name``, as
        an originality finding names it; None when no model learned from one of that name."""
        from tribute.corpus.store import Corpus

        entry = next((c for c in self.corpora.values() if c.present and c.path.name == name), None)
        if entry is None:
            return None
        with self._lock:
            if entry.path not in self._opened:
                self._opened[entry.path] = Corpus.open(entry.path)
            return self._opened[entry.path]

    def count_songs(self) -> None:
        """Each present corpus's song count, for the page (a 14,000-song manifest: ~0.2 s)."""
        for entry in self.corpora.values():
            if entry.present and entry.songs is None:
                try:
                    entry.songs = len(self.opened_corpus(entry.path.name) or [])
                except TributeError:
                    entry.present = False

    def to_json(self) -> dict:
        return {
            "models": [m.to_json() for m in self.models.values()],
            "corpora": [c.to_json() for c in self.corpora.values()],
        }
