"""Model folders: open any model folder tribute writes — a pretrained (base) model, a fully
fine-tuned or merged style model, or a LoRA adapter over its base model — and read its record.

Every folder holds ``tokenizer/`` and ``training.json`` (the run's record). An adapter folder
holds ``adapter_config.json`` + ``adapter_model.safetensors`` instead of the full weights; its
base model is the record's ``base_model`` (else PEFT's ``base_model_name_or_path``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from tribute.errors import TributeError
from tribute.tokens import MusicTokenizer

RECORD_FILE = "training.json"
ADAPTER_CONFIG = "adapter_config.json"
# Keys of a training record that name corpora the model learned from.
CORPUS_KEYS = ("corpus", "artist_corpus", "genre_corpus", "rehearsal_corpus")


@dataclass
class StyleModel:
    path: Path
    model: object  # LlamaForCausalLM (adapters merged in for fast sampling)
    tokenizer: MusicTokenizer
    record: dict = field(default_factory=dict)

    def training_corpora(self) -> list[str]:
        """Every corpus this model (and its base, recursively) was trained on."""
        return training_corpora(self.path)

    @property
    def default_style(self) -> str | None:
        return self.record.get("style")

    @property
    def context_tokens(self) -> int:
        """The longest context to sample with: the sequence length the model was trained on
        (RoPE positions beyond it were never seen), at most its position limit."""
        limit = int(self.model.config.max_position_embeddings)
        trained = self.record.get("train_config", {}).get("seq_len")
        return min(limit, int(trained)) if trained else limit


def read_record(path: Path) -> dict:
    record_path = Path(path) / RECORD_FILE
    if not record_path.is_file():
        return {}
    try:
        return json.loads(record_path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise TributeError(f"{record_path} is unreadable: {exc}") from exc


def base_model_path(path: Path, record: dict | None = None) -> Path | None:
    record = read_record(path) if record is None else record
    base = record.get("base_model")
    if base is None and (path / ADAPTER_CONFIG).is_file():
        base = json.loads((path / ADAPTER_CONFIG).read_text()).get("base_model_name_or_path")
    return Path(base) if base else None


def training_corpora(path: Path) -> list[str]:
    found: list[str] = []
    seen: set[Path] = set()
    current: Path | None = Path(path)
    while current is not None and current.resolve() not in seen:
        seen.add(current.resolve())
        record = read_record(current)
        for key in CORPUS_KEYS:
            value = record.get(key)
            for corpus in [value] if isinstance(value, str) else value or []:
                if corpus not in found:
                    found.append(corpus)
        current = base_model_path(current, record)
    return found


def load_style_model(path: str | Path, device: str | None = None) -> StyleModel:
    """The model and tokenizer in ``path``, ready to sample (eval mode, adapters merged)."""
    from tribute.model import grow_vocab, load_model

    path = Path(path)
    if not path.is_dir():
        raise TributeError(f"model folder {path} does not exist")
    tokenizer = MusicTokenizer.load(path)
    record = read_record(path)
    if (path / ADAPTER_CONFIG).is_file():
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
    return StyleModel(path, model, tokenizer, record)


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


def model_info(path: str | Path) -> tuple[str, dict]:
    """A readable summary of a model folder, and its full training record."""
    path = Path(path)
    record = read_record(path)
    if (
        not record
        and not (path / "config.json").is_file()
        and not (path / ADAPTER_CONFIG).is_file()
    ):
        raise TributeError(f"{path} is not a tribute model folder (no training.json)")
    tokenizer = MusicTokenizer.load(path)
    kind = "LoRA adapter" if (path / ADAPTER_CONFIG).is_file() else "model"
    lines = [
        f"{path}: {kind}, made by `tribute {record.get('command', '?')}`",
        f"preset: {record.get('preset', '?')}; tokenizer {tokenizer.fingerprint}: "
        f"{tokenizer.music_vocab_size} music tokens, styles "
        f"{', '.join(tokenizer.styles) or 'none'}",
    ]
    if record.get("base_model"):
        lines.append(f"base model: {record['base_model']}")
    for key in CORPUS_KEYS:
        if record.get(key):
            lines.append(f"{key.replace('_', ' ')}: {record[key]}")
    if record.get("style"):
        lines.append(f"style: {record['style']} ({record.get('method')} fine-tuning)")
    split = record.get("split")
    if split:
        lines.append("artist split: " + ", ".join(f"{k} {len(v)}" for k, v in split.items()))
    result = record.get("result", {})
    if result:
        lines.append(
            f"trained {result.get('steps')} steps, {result.get('tokens', 0):,} tokens in "
            f"{result.get('seconds', 0):.0f} s; train loss {result.get('train_loss'):.4f}"
            + (
                f", best validation loss {result['best_val_loss']:.4f}"
                if result.get("best_val_loss") is not None
                else ""
            )
        )
    summary = record.get("summary")
    if summary and summary.get("bits_per_note_after") is not None:
        lines.append(
            f"held-out: {summary['bits_per_note_before']:.3f} → "
            f"{summary['bits_per_note_after']:.3f} bits per note; kept step "
            f"{summary['chosen_step']} ({summary['why']})"
        )
    for entry in result.get("history", []):
        probe = ""
        if entry.get("probe_gap") is not None:
            probe = (
                f", probe copy train {entry['probe_train_copy']:.2f} / held-out "
                f"{entry['probe_heldout_copy']:.2f}"
            )
        lines.append(f"  step {entry['step']}: validation {entry['val_loss']:.4f}{probe}")
    return "\n".join(lines), record
