"""Model folders: the only door to a model folder tribute writes — a pretrained (base) model, a
fully fine-tuned or merged style model, or a LoRA adapter over its base model.

Every folder holds ``tokenizer/`` and ``training.json`` (the run's record, :class:`RunRecord`).
An adapter folder holds ``adapter_config.json`` + ``adapter_model.safetensors`` instead of the
full weights; its base model is the record's ``base_model`` (else PEFT's
``base_model_name_or_path``). A merged folder is a plain model whose record names the adapter
it was merged from. Callers load a folder once (:func:`load_style_model`) and pass the loaded
:class:`StyleModel` down.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from tribute.errors import TributeError
from tribute.paths import atomic_write_text
from tribute.tokens import MusicTokenizer

RECORD_FILE = "training.json"
ADAPTER_CONFIG = "adapter_config.json"
ADAPTER_WEIGHTS = "adapter_model.safetensors"
WEIGHTS = "model.safetensors"
# Keys of a training record that name corpora the model learned from.
CORPUS_KEYS = ("corpus", "artist_corpus", "genre_corpus", "rehearsal_corpus")
KINDS = ("base", "finetuned", "adapter", "merged")


@dataclass
class RunRecord:
    """What ``training.json`` holds; keys this class does not name are kept in ``extra``."""

    command: str = ""
    preset: str | None = None
    corpus: str | None = None
    artist_corpus: str | None = None
    genre_corpus: str | None = None
    rehearsal_corpus: str | None = None
    base_model: str | None = None
    merged_from: str | None = None
    style: str | None = None  # "artist=Bach": the style a fine-tuning run added
    method: str | None = None  # "lora" or "full"
    styles: list[str] = field(default_factory=list)
    split: dict[str, list[str]] = field(default_factory=dict)  # artist song ids per split
    result: dict[str, Any] = field(default_factory=dict)  # the loop's TrainResult
    train_config: dict[str, Any] = field(default_factory=dict)
    summary: dict[str, Any] = field(default_factory=dict)  # fine-tuning's before → after
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_json(cls, data: dict) -> RunRecord:
        known = {f.name for f in fields(cls)} - {"extra"}
        values = {k: v for k, v in data.items() if k in known and v is not None}
        return cls(**values, extra={k: v for k, v in data.items() if k not in known})

    def to_json(self) -> dict:
        data = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "extra"}
        return {**{k: v for k, v in data.items() if v not in (None, [], {})}, **self.extra}

    @property
    def seq_len(self) -> int | None:
        value = self.train_config.get("seq_len")
        return int(value) if value else None

    @property
    def steps(self) -> int:
        return int(self.result.get("steps", 0))

    def corpora(self) -> list[str]:
        found: list[str] = []
        for key in CORPUS_KEYS:
            value = getattr(self, key)
            for corpus in [value] if isinstance(value, str) else value or []:
                if corpus not in found:
                    found.append(corpus)
        return found


def model_path(model: str | Path) -> Path:
    """A model folder from what a user typed: a path, or ``builtin:NAME`` for a shipped one."""
    from tribute.builtin import PREFIX, path_of

    text = str(model)
    return path_of(text[len(PREFIX) :]) if text.startswith(PREFIX) else Path(model)


def read_record(path: str | Path) -> RunRecord:
    """The record of a model folder (an empty record if it has none)."""
    record_path = Path(path) / RECORD_FILE
    if not record_path.is_file():
        return RunRecord()
    try:
        return RunRecord.from_json(json.loads(record_path.read_text(encoding="utf-8")))
    except (OSError, json.JSONDecodeError, TypeError) as exc:
        raise TributeError(f"{record_path} is unreadable: {exc}") from exc


def write_record(path: str | Path, record: RunRecord) -> None:
    atomic_write_text(Path(path) / RECORD_FILE, json.dumps(record.to_json(), indent=1) + "\n")


def is_adapter(path: str | Path) -> bool:
    """A LoRA adapter folder (PEFT's files) rather than full weights."""
    return (Path(path) / ADAPTER_CONFIG).is_file()


def model_kind(path: str | Path, record: RunRecord | None = None) -> str:
    """One of :data:`KINDS`: how the folder's weights relate to its base model."""
    record = read_record(path) if record is None else record
    if is_adapter(path):
        return "adapter"
    if record.merged_from:
        return "merged"
    return "finetuned" if record.base_model else "base"


def base_model_path(path: str | Path, record: RunRecord | None = None) -> Path | None:
    """The folder a model was fine-tuned from (None for a base model)."""
    record = read_record(path) if record is None else record
    base = record.base_model
    if base is None and is_adapter(path):
        config = json.loads((Path(path) / ADAPTER_CONFIG).read_text(encoding="utf-8"))
        base = config.get("base_model_name_or_path")
    return model_path(base) if base else None


def training_corpora(path: str | Path) -> list[str]:
    """Every corpus a model (and its base, recursively) was trained on."""
    found: list[str] = []
    seen: set[Path] = set()
    current: Path | None = Path(path)
    while current is not None and current.resolve() not in seen:
        seen.add(current.resolve())
        record = read_record(current)
        found += [c for c in record.corpora() if c not in found]
        current = base_model_path(current, record)
    return found


@dataclass
class StyleModel:
    """A loaded model folder: weights (adapters merged in), tokenizer and record."""

    path: Path
    model: Any  # LlamaForCausalLM
    tokenizer: MusicTokenizer
    record: RunRecord = field(default_factory=RunRecord)
    kind: str = "base"

    @property
    def base_path(self) -> Path | None:
        return base_model_path(self.path, self.record)

    def training_corpora(self) -> list[str]:
        return training_corpora(self.path)

    def programs(self):
        """What the model's training songs play (:class:`tribute.corpus.programs.
        CorpusPrograms`): its ``programs.json``, else its recorded corpora (the artist's
        first), else nothing known."""
        from tribute.corpus.programs import EMPTY, CorpusPrograms, read_programs
        from tribute.corpus.store import Corpus

        found = read_programs(self.path)
        if found is not None:
            return found
        for corpus in (self.record.artist_corpus, self.record.corpus):
            if corpus and (Path(corpus) / "corpus.json").is_file():
                opened = Corpus.open(corpus)
                return CorpusPrograms.of(opened.split("train") or opened.metas)
        return EMPTY

    @property
    def default_style(self) -> str | None:
        return self.record.style

    @property
    def context_tokens(self) -> int:
        """The longest context to sample with: the sequence length the model was trained on
        (RoPE positions beyond it were never seen), at most its position limit."""
        limit = int(self.model.config.max_position_embeddings)
        trained = self.record.seq_len
        return min(limit, trained) if trained else limit


def load_style_model(path: str | Path, device: str | None = None) -> StyleModel:
    """The model and tokenizer in ``path``, ready to sample (eval mode, adapters merged)."""
    from tribute.model import grow_vocab, load_model

    path = model_path(path)
    if not path.is_dir():
        raise TributeError(f"model folder {path} does not exist")
    tokenizer = MusicTokenizer.load(path)
    record = read_record(path)
    kind = model_kind(path, record)
    if kind == "adapter":
        from peft import PeftModel

        base = base_model_path(path, record)
        if base is None or not base.is_dir():
            raise TributeError(
                f"{path} is a LoRA adapter whose base model {base or '(unrecorded)'} is missing"
            )
        model = load_model(base)
        grow_vocab(model, tokenizer.vocab_size)
        model = PeftModel.from_pretrained(model, path).merge_and_unload()
    else:
        model = load_model(path)
    if model.config.vocab_size != tokenizer.vocab_size:
        raise TributeError(
            f"{path}: the model has {model.config.vocab_size} token embeddings "
            f"but its tokenizer {tokenizer.vocab_size} tokens"
        )
    if device:
        model.to(device)
    model.eval()
    return StyleModel(path, model, tokenizer, record, kind)


def resolve_style(
    tokenizer: MusicTokenizer, style: str | None, default: str | None = None
) -> list[str]:
    """Style-token names for ``--style``: ``artist=Bach``, or a bare value (``Bach``) that one
    label key holds; the model's own fine-tuned style when none is given."""
    style = style or default
    if style is None:
        return []
    if style in tokenizer.styles:
        return [style]
    matches = [s for s in tokenizer.styles if s.split("=", 1)[1] == style]
    if len(matches) == 1:
        return matches
    known = ", ".join(tokenizer.styles) or "none"
    if matches:
        raise TributeError(f"style {style!r} is ambiguous ({', '.join(matches)}): give key=value")
    raise TributeError(f"unknown style {style!r}; this model knows: {known}")


def model_info(path: str | Path) -> tuple[str, RunRecord]:
    """A readable summary of a model folder, and its training record."""
    path = model_path(path)
    record = read_record(path)
    if (
        not (path / RECORD_FILE).is_file()
        and not (path / "config.json").is_file()
        and not (is_adapter(path))
    ):
        raise TributeError(f"{path} is not a tribute model folder (no training.json)")
    tokenizer = MusicTokenizer.load(path)
    kind = {"adapter": "LoRA adapter", "merged": "merged model"}.get(
        model_kind(path, record), "model"
    )
    lines = [
        f"{path}: {kind}, made by `tribute {record.command or '?'}`",
        f"preset: {record.preset or '?'}; tokenizer {tokenizer.fingerprint}: "
        f"{tokenizer.music_vocab_size} music tokens, styles "
        f"{', '.join(tokenizer.styles) or 'none'}",
    ]
    if record.base_model:
        lines.append(f"base model: {record.base_model}")
    for key in CORPUS_KEYS:
        if getattr(record, key):
            lines.append(f"{key.replace('_', ' ')}: {getattr(record, key)}")
    if record.style:
        lines.append(f"style: {record.style} ({record.method} fine-tuning)")
    if record.split:
        lines.append("artist split: " + ", ".join(f"{k} {len(v)}" for k, v in record.split.items()))
    lines += _result_lines(record)
    return "\n".join(lines), record


def _result_lines(record: RunRecord) -> list[str]:
    result, summary, lines = record.result, record.summary, []
    if result:
        best = result.get("best_val_loss")
        lines.append(
            f"trained {result.get('steps')} steps, {result.get('tokens', 0):,} tokens in "
            f"{result.get('seconds', 0):.0f} s; train loss {result.get('train_loss'):.4f}"
            + (f", best validation loss {best:.4f}" if best is not None else "")
        )
    if summary.get("bits_per_note_after") is not None:
        lines.append(
            f"held-out ({summary.get('held_out_split', 'validation')} songs): "
            f"{summary['bits_per_note_before']:.3f} → {summary['bits_per_note_after']:.3f} "
            f"bits per note; kept step {summary['chosen_step']} ({summary['why']})"
        )
    for entry in result.get("history", []):
        probe = ""
        if entry.get("probe_gap") is not None:
            probe = (
                f", probe copy train {entry['probe_train_copy']:.2f} / held-out "
                f"{entry['probe_heldout_copy']:.2f}"
            )
        lines.append(f"  step {entry['step']}: validation {entry['val_loss']:.4f}{probe}")
    return lines
