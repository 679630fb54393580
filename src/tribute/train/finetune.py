"""``tribute finetune``: the second training — a genre model learns one artist's ~50 songs.

base model folder + artist corpus → a style model folder::

    OUT/tokenizer/                      the base tokenizer plus the new style token
    OUT/model.safetensors, config.json  full fine-tuning (or OUT/adapter_* for LoRA, with
                                        the base recorded; ``--merge`` adds OUT/merged/)
    OUT/training.json                   base and corpus identity, split, per-evaluation losses
                                        and over-fitting probe, chosen checkpoint and why

Fifty songs over-fit within a few epochs, so: validation on held-out artist *families* after
every epoch, early stopping on it, the best epoch exported, and a probe after every epoch that
prompts with the first bars of training and of held-out songs and measures how much of the
original each continuation reproduces (train minus held-out: memorization as it happens).
"""

from __future__ import annotations

import json
import math
import shutil
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from tribute.builtin import PREFIX as BUILTIN_PREFIX
from tribute.builtin import refuse_as_output
from tribute.corpus.forms import FORMS_FILE, write_forms
from tribute.corpus.programs import PROGRAMS_FILE, write_programs
from tribute.corpus.store import Corpus
from tribute.errors import TributeError
from tribute.model import grow_vocab, load_model
from tribute.modeldir import (
    RunRecord,
    StyleModel,
    is_adapter,
    load_style_model,
    model_path,
    read_record,
    write_record,
)
from tribute.paths import atomic_write_text
from tribute.quiet import quiet_dependencies
from tribute.tokens import TOKENIZER_DIR, MusicTokenizer, style_name
from tribute.train.data import DataConfig, TokenData, TokenMixture, load_split
from tribute.train.loop import TrainConfig, TrainResult, train
from tribute.train.nll import held_out_bits

__all__ = ["DEFAULT_METHOD", "FinetuneConfig", "finetune"]

CONFIG_FILE = "finetune_config.json"
MIN_SONGS = 5
# Measured at equal wall-clock on held-out artist loss (benchmarks/finetune_method.py): full
# fine-tuning wins where the whole model fits easily; LoRA where memory rules.
DEFAULT_METHOD = {"tiny": "full", "mini": "full", "small": "full", "base": "lora", "large": "lora"}


@dataclass(frozen=True)
class FinetuneConfig:
    style: str  # the artist's name: the style token becomes "<style_key>=<style>"
    style_key: str = "artist"
    method: str = "auto"  # "lora", "full", or "auto" (DEFAULT_METHOD of the base's preset)
    lora_rank: int = 8
    lora_alpha: int = 16
    lora_dropout: float = 0.05
    rehearsal: float = 0.0  # share of each batch drawn from the genre corpus
    epochs: float = 8.0
    patience: int | None = 2  # epochs without validation improvement before stopping
    replace_style: bool = False  # allow a style name the base already has
    merge: bool = False  # LoRA: also write a merged plain model into OUT/merged
    probe_songs: int = 4  # per side (train / held-out), each epoch; 0: no probe
    probe_prompt_bars: int = 2
    probe_tokens: int = 160  # continuation length of the probe
    data: DataConfig = field(default_factory=DataConfig)
    train: TrainConfig = field(
        default_factory=lambda: TrainConfig(learning_rate=2e-4, warmup_steps=20)
    )

    def __post_init__(self) -> None:
        if not self.style.strip():
            raise TributeError("--style needs the artist's name")
        if self.method not in ("auto", "lora", "full"):
            raise TributeError(f"--method must be lora, full or auto, got {self.method!r}")
        if not 0 <= self.rehearsal < 1:
            raise TributeError("--rehearsal is a fraction in [0, 1)")
        if self.epochs <= 0:
            raise TributeError("--epochs must be positive")

    def to_json(self) -> dict:
        return asdict(self)


def finetune(
    base: str | Path,
    artist_corpus: str | Path,
    out_dir: str | Path,
    config: FinetuneConfig,
    *,
    genre_corpus: str | Path | None = None,
    resume: bool = False,
    force: bool = False,
    log=print,
) -> TrainResult:
    """Fine-tune the model in ``base`` on ``artist_corpus``; see the module docstring."""
    quiet_dependencies()
    # A built-in base is recorded by name, so the record stays true in another installation.
    base_name = str(base) if str(base).startswith(BUILTIN_PREFIX) else None
    base, out_dir = model_path(base), Path(out_dir)
    refuse_as_output(out_dir)  # before anything is read: a shipped model is never touched
    corpus = _artist_corpus(artist_corpus)
    if config.rehearsal and genre_corpus is None:
        raise TributeError("--rehearsal needs --genre-corpus (the genre data to mix in)")
    tokenizer, model, base_record = _open_base(base)
    preset = str(base_record.preset or getattr(model.config, "tribute_preset", "small"))
    method = DEFAULT_METHOD.get(preset, "full") if config.method == "auto" else config.method
    _prepare_out(out_dir, resume, force)
    name, style_id = _add_style(tokenizer, model, config)
    tokenizer.save(out_dir / TOKENIZER_DIR)

    corpus = corpus.labelled({config.style_key: config.style})  # every song carries the style
    train_data, val_data, mixed = _data(corpus, tokenizer, config, genre_corpus, log)
    train_config = _train_config(config, model, train_data)
    held_out_split = "test" if corpus.split("test") else "validation"
    before = _validation_loss(model, val_data, train_config)
    bits_before = _held_out_bits(
        StyleModel(out_dir, model, tokenizer, RunRecord(train_config=train_config.to_json())),
        corpus,
        held_out_split,
    )
    log(
        f"fine-tuning {base} on {len(corpus.split('train'))} songs of {name} ({method}); "
        f"{train_config.eval_every} steps per epoch; held-out loss before: {before:.4f}"
    )
    if method == "lora":
        model = _lora(model, config, style_id)
    probe = (
        _Probe(corpus, tokenizer, train_data, val_data, config, train_config.seq_len)
        if config.probe_songs
        else None
    )
    record = _run_record(
        base_name or str(base.resolve()),
        base_record,
        corpus,
        genre_corpus,
        config,
        name,
        style_id,
        method,
        preset,
        before,
        bits_before,
    )
    atomic_write_text(out_dir / CONFIG_FILE, json.dumps(record, indent=1) + "\n")
    write_programs(out_dir, corpus.split("train"))  # the line-up compose defaults to
    write_forms(out_dir, corpus.songs("train"))  # the forms compose draws from
    result = train(
        model,
        mixed,
        val_data,
        train_config,
        out_dir,
        resume=resume,
        fingerprint=tokenizer.fingerprint,
        record=record,
        log=log,
        on_evaluate=probe,
    )
    bits_after = _held_out_bits(load_style_model(out_dir), corpus, held_out_split)
    _finish_record(out_dir, result, before, (held_out_split, bits_before, bits_after))
    _style_reference(out_dir, log)
    if method == "lora" and config.merge:
        _merge(out_dir, tokenizer, log)
    log(f"held-out loss {before:.4f} → {result.best_val_loss:.4f} (best epoch); saved {out_dir}")
    return result


def _run_record(
    base: str,
    base_record: RunRecord,
    corpus: Corpus,
    genre_corpus,
    config: FinetuneConfig,
    name: str,
    style_id: int,
    method: str,
    preset: str,
    before: float,
    bits_before,
) -> dict:
    """What ``finetune_config.json`` and the run's record say about this fine-tuning."""
    return {
        "command": "finetune",
        "base_model": base,
        "base_record": {
            "preset": base_record.preset,
            "corpus": base_record.corpus,
            "styles": base_record.styles,
        },
        "artist_corpus": str(corpus.path.resolve()),
        "genre_corpus": (
            str(Path(genre_corpus).resolve()) if config.rehearsal and genre_corpus else None
        ),
        "style": name,
        "style_id": style_id,
        "method": method,
        "preset": preset,
        "split": {s: [m.id for m in corpus.split(s)] for s in ("train", "validation", "test")},
        "validation_loss_before": before,
        "bits_per_note_before": bits_before,
        "finetune_config": config.to_json(),
    }


def _open_base(base: Path) -> tuple[MusicTokenizer, Any, RunRecord]:
    if is_adapter(base):
        raise TributeError(
            f"{base} is a LoRA adapter: fine-tune its merged model "
            "(tribute finetune --merge writes one) or its base"
        )
    tokenizer = MusicTokenizer.load(base)
    model = load_model(base)
    if model.config.vocab_size != tokenizer.vocab_size:
        raise TributeError(
            f"{base}: model and tokenizer disagree ({model.config.vocab_size} "
            f"embeddings, {tokenizer.vocab_size} tokens)"
        )
    return tokenizer, model, read_record(base)


def _add_style(tokenizer: MusicTokenizer, model, config: FinetuneConfig) -> tuple[str, int]:
    """The artist's style token, appended and initialized at the mean style embedding."""
    name = style_name(config.style_key, config.style)
    if name in tokenizer.styles and not config.replace_style:
        raise TributeError(
            f"the base model already has style {name!r}; choose another name "
            "or pass --replace-style to train it further"
        )
    old_styles = tokenizer.style_ids()
    if config.style_key not in tokenizer.settings.style_keys:
        tokenizer.settings = replace(
            tokenizer.settings, style_keys=(*tokenizer.settings.style_keys, config.style_key)
        )
    style_id = tokenizer.add_style(config.style_key, config.style)
    grow_vocab(model, tokenizer.vocab_size, init_from=old_styles or None)
    return name, style_id


def _data(
    corpus: Corpus,
    tokenizer: MusicTokenizer,
    config: FinetuneConfig,
    genre_corpus: str | Path | None,
    log,
) -> tuple[TokenData, TokenData, TokenData | TokenMixture]:
    """Training and validation token data, and what training samples from (with rehearsal)."""
    train_data = load_split(corpus, tokenizer, "train", config.data, log=log)
    val_data = load_split(corpus, tokenizer, "validation", config.data, log=log)
    if train_data is None or val_data is None:
        raise TributeError(
            f"artist corpus {corpus.path} needs songs in both its train and "
            "validation splits (rebuild it with more families, e.g. --split "
            "0.7,0.15,0.15)"
        )
    if not config.rehearsal:
        return train_data, val_data, train_data
    if genre_corpus is None:
        raise TributeError("--rehearsal needs --genre-corpus (the genre data to mix in)")
    genre = Corpus.open(genre_corpus)
    genre_data = load_split(genre, tokenizer, "train", config.data, log=log)
    if genre_data is None:
        raise TributeError(f"genre corpus {genre.path} has no training songs")
    mixed = TokenMixture([train_data, genre_data], [1 - config.rehearsal, config.rehearsal])
    return train_data, val_data, mixed


def _train_config(config: FinetuneConfig, model, train_data: TokenData) -> TrainConfig:
    """The loop's settings: one validation and checkpoint per epoch, the best epoch kept."""
    seq_len = min(config.train.seq_len, model.config.max_position_embeddings)
    tokens_per_step = config.train.batch_size * config.train.grad_accum * seq_len
    steps_per_epoch = max(1, math.ceil(train_data.n_tokens / tokens_per_step))
    return replace(
        config.train,
        seq_len=seq_len,
        eval_every=steps_per_epoch,
        save_every=steps_per_epoch,
        patience=config.patience,
        # A time budget plans the steps itself (tribute.train.loop); else epochs decide.
        max_steps=config.train.max_steps
        or (None if config.train.time_budget_s else max(1, round(config.epochs * steps_per_epoch))),
        restore_best=True,
    )


# --------------------------------------------------------------------------------------------


def _artist_corpus(path: str | Path) -> Corpus:
    corpus = Corpus.open(path)
    if len(corpus) < MIN_SONGS:
        raise TributeError(
            f"artist corpus {corpus.path} has {len(corpus)} songs; fine-tuning "
            f"needs at least {MIN_SONGS} (about 50 is the intended size)"
        )
    if not corpus.split("validation"):
        raise TributeError(
            f"artist corpus {corpus.path} has no held-out (validation) family; "
            "rebuild it with at least three melody families"
        )
    return corpus


def _prepare_out(out_dir: Path, resume: bool, force: bool) -> None:
    refuse_as_output(out_dir)
    if out_dir.exists() and any(out_dir.iterdir()) and not resume:
        if not force:
            raise TributeError(f"output folder {out_dir} exists; pass --resume or --force")
        if not (out_dir / CONFIG_FILE).is_file():
            raise TributeError(
                f"--force refuses to delete {out_dir}: not a tribute fine-tuning folder"
            )
        shutil.rmtree(out_dir)
    if resume and out_dir.exists():
        saved = _read(out_dir / CONFIG_FILE)
        if not saved:
            raise TributeError(f"cannot resume: {out_dir} holds no earlier fine-tuning run")
    out_dir.mkdir(parents=True, exist_ok=True)


def _read(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def _lora(model, config: FinetuneConfig, style_id: int):
    """LoRA on attention and MLP projections; the new style row of the (tied) embedding is
    trained too, so the adapter carries the style token."""
    from peft import LoraConfig, get_peft_model

    lora = LoraConfig(
        r=config.lora_rank,
        lora_alpha=config.lora_alpha,
        lora_dropout=config.lora_dropout,
        task_type="CAUSAL_LM",
        target_modules=[
            "q_proj",
            "k_proj",
            "v_proj",
            "o_proj",
            "gate_proj",
            "up_proj",
            "down_proj",
        ],
        trainable_token_indices={"embed_tokens": [style_id]},
    )
    return get_peft_model(model, lora)


def _validation_loss(model, data: TokenData, config: TrainConfig) -> float:
    from tribute.train.loop import _accelerator, validation_loss

    accelerator, _ = _accelerator(config)
    return validation_loss(model, data, config, accelerator)


def _held_out_bits(model: StyleModel, corpus: Corpus, split: str) -> float | None:
    """Mean exact bits per note of the held-out songs under the artist's style (None if some
    could not be tokenized)."""
    try:
        return float(held_out_bits(model, corpus, split).mean())
    except TributeError:
        return None


def _style_reference(out_dir: Path, log) -> None:
    """The style score's reference (held-out artist songs, genre songs) beside the model, so
    that composing later needs neither corpus."""
    from tribute.stylescore import StyleScorer

    try:
        reference = StyleScorer.open(load_style_model(out_dir)).reference()
    except TributeError as exc:
        log(f"no style-score reference: {exc}")
        return
    log(
        f"style-score reference: {len(reference.artist)} held-out artist songs, "
        f"{len(reference.genre)} genre songs"
    )


def _finish_record(
    out_dir: Path,
    result: TrainResult,
    before: float,
    held_out: tuple[str, float | None, float | None],
) -> None:
    """Add the before/after summary and the choice of checkpoint to ``training.json``."""
    split, bits_before, bits_after = held_out
    record = read_record(out_dir)
    history = result.history
    best = min(history, key=lambda h: h["val_loss"]) if history else None
    record.summary = {
        "validation_loss_before": before,  # nats per token over fixed validation windows
        "validation_loss_after": result.best_val_loss,
        # Exact, per held-out song (train/nll.py), on songs that played no part in choosing
        # the kept epoch (the test split; validation only when the corpus has no test split).
        "held_out_split": split,
        "bits_per_note_before": bits_before,
        "bits_per_note_after": bits_after,
        "chosen_step": best["step"] if best else result.steps,
        "why": (
            "lowest held-out loss of every epoch"
            + (f"; stopped early after {len(history)} epochs" if result.stopped_early else "")
        ),
    }
    write_record(out_dir, record)


def _merge(out_dir: Path, tokenizer: MusicTokenizer, log) -> None:
    merged = out_dir / "merged"
    style_model = load_style_model(out_dir)
    style_model.model.save_pretrained(merged, safe_serialization=True)
    tokenizer.save(merged / TOKENIZER_DIR)
    for name in (PROGRAMS_FILE, FORMS_FILE):
        shutil.copy2(out_dir / name, merged / name)
    record = read_record(out_dir)
    record.merged_from = str(out_dir.resolve())
    write_record(merged, record)
    log(f"merged model: {merged}")


@dataclass
class _Probe:
    """After each evaluation: prompt with the first bars of training and held-out songs and
    measure how much of each original continuation the model reproduces."""

    corpus: Corpus
    tokenizer: MusicTokenizer
    train_data: TokenData
    val_data: TokenData
    config: FinetuneConfig
    seq_len: int

    def __call__(self, model, step: int) -> dict:
        from tribute.originality import longest_common_run, melody_tokens
        from tribute.train.sample import sample_batch

        cases = [("train", c) for c in self._cases(self.train_data)]
        cases += [("held_out", c) for c in self._cases(self.val_data)]
        made = (
            sample_batch(
                model,
                [prompt for _, (prompt, _) in cases],
                [len(original) for _, (_, original) in cases],
                suppress=self.tokenizer.special_ids,
                eos_id=self.tokenizer.eos_id,
                temperature=1.0,
                seed=step * 7919,
            )
            if cases
            else []
        )
        rates: dict[str, list[float]] = {"train": [], "held_out": []}
        for (side, (_, original)), continuation in zip(cases, made, strict=True):
            truth = melody_tokens(self.tokenizer.decode(original), None)
            if len(truth) >= 4:
                ours = melody_tokens(self.tokenizer.decode(continuation), None)
                rates[side].append(longest_common_run(ours, [truth]).length / len(truth))
        train, held_out = (float(np.mean(r)) if r else None for r in rates.values())
        return {
            "probe_train_copy": train,
            "probe_heldout_copy": held_out,
            "probe_gap": None if train is None or held_out is None else train - held_out,
        }

    def _cases(self, data: TokenData) -> list[tuple[list[int], list[int]]]:
        """(prompt, original continuation) of up to ``probe_songs`` songs spread over ``data``:
        the style prefix and the song's first bars, then the tokens that followed them."""
        cases = []
        n = min(self.config.probe_songs, len(data))
        for piece in range(0, len(data), max(1, len(data) // max(1, n)))[:n]:
            bars = data.bar_pos[data.bar_start[piece] : data.bar_start[piece + 1]]
            if len(bars) <= self.config.probe_prompt_bars:
                continue
            start = int(data.piece_start[piece])
            cut = int(bars[self.config.probe_prompt_bars])
            length = min(self.config.probe_tokens, self.seq_len // 2)
            end = min(int(start + data.piece_len[piece]), cut + length)
            prefix = self.tokenizer.prompt([int(s) for s in data.styles[piece] if s >= 0])
            room = self.seq_len - length - len(prefix)  # the prompt's opening bars must fit
            prompt = prefix + [int(t) for t in data.tokens[max(start, cut - room) : cut]]
            if end > cut:
                cases.append((prompt, [int(t) for t in data.tokens[cut:end]]))
        return cases
