"""``tribute pretrain``: learn a genre model from a corpus.

corpus → tokenizer (BPE trained on the training split, one style token per label value) →
token caches (train with augmented copies, validation plain) → a preset-sized Llama → the
shared training loop → a model folder::

    OUT/config.json, model.safetensors    the model (HF format)
    OUT/tokenizer/                        tokenizer.json (MidiTok) + styles.json
    OUT/pretrain_config.json              every setting of this run (reproducible)
    OUT/train_config.json, training.json  the loop's settings and record (losses, speed, env)
    OUT/checkpoints/, OUT/logs/           resumable checkpoints, TensorBoard
    OUT/sample.mid                        a short sampled piece: the smoke check

Works the same under ``torchrun --nproc_per_node N -m tribute pretrain …``: the main process
prepares the folder, tokenizer and caches first, the other ranks then read them.
"""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import torch

from tribute.builtin import refuse_as_output
from tribute.corpus.programs import write_programs
from tribute.corpus.store import Corpus
from tribute.errors import TributeError
from tribute.model import build_model, preset
from tribute.paths import atomic_write_text
from tribute.quiet import quiet_dependencies
from tribute.tokens import TOKENIZER_DIR, MusicTokenizer, TokenizerConfig
from tribute.train.data import DataConfig, TokenData, load_split
from tribute.train.loop import RECORD_FILE, TRAIN_CONFIG_FILE, TrainConfig, TrainResult, train
from tribute.train.sample import sample_song

__all__ = ["PretrainConfig", "pretrain"]

CONFIG_FILE = "pretrain_config.json"
SAMPLE_FILE = "sample.mid"
# What a folder written by tribute training contains; --force only deletes such folders.
_OURS = {CONFIG_FILE, TRAIN_CONFIG_FILE, RECORD_FILE, "checkpoints", TOKENIZER_DIR}


@dataclass(frozen=True)
class PretrainConfig:
    preset: str = "small"
    tokenizer: TokenizerConfig = field(default_factory=TokenizerConfig)
    data: DataConfig = field(default_factory=DataConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    sample_tokens: int = 256  # length of the smoke-check sample

    def to_json(self) -> dict:
        return asdict(self)


def default_train_config(preset_name: str, **overrides) -> TrainConfig:
    """Preset-appropriate defaults: its learning rate, and 512 tokens (its context if shorter)."""
    size = preset(preset_name)
    base = TrainConfig(learning_rate=size.learning_rate, seq_len=min(512, size.context_tokens))
    return replace(base, **{k: v for k, v in overrides.items() if v is not None})


def fresh_model(preset_name: str, tokenizer: MusicTokenizer, seed: int = 0):
    """A newly initialized model of a preset for a tokenizer's vocabulary and special ids."""
    return build_model(
        preset_name,
        tokenizer.vocab_size,
        pad_id=tokenizer.pad_id,
        bos_id=tokenizer.bos_id,
        eos_id=tokenizer.eos_id,
        seed=seed,
    )


def pretrain(
    corpus_path: str | Path,
    out_dir: str | Path,
    config: PretrainConfig,
    *,
    style_keys: tuple[str, ...] | None = None,
    tokenizer_from: str | Path | None = None,
    resume: bool = False,
    force: bool = False,
    log=print,
) -> TrainResult:
    """Pretrain a model of ``config.preset`` on a corpus; see the module docstring.

    ``style_keys``: label keys that become style tokens (default: every key the corpus uses).
    ``tokenizer_from``: reuse a saved tokenizer (a model folder or tokenizer folder) instead of
    training one. ``resume`` continues from the newest checkpoint in ``out_dir``; ``force``
    starts over in an existing output folder.
    """
    from accelerate import PartialState

    quiet_dependencies()
    state = PartialState(cpu=not torch.cuda.is_available())
    out_dir = Path(out_dir)
    corpus = _open_corpus(corpus_path)
    if style_keys is None:
        style_keys = tuple(sorted({k for m in corpus.metas for k in m.labels}))
    config = replace(config, tokenizer=replace(config.tokenizer, style_keys=tuple(style_keys)))
    quiet = log if state.is_main_process else (lambda *a, **k: None)
    with state.main_process_first():  # rank 0 writes the tokenizer and caches, the rest read
        tokenizer, train_data, val_data = _prepare(
            corpus, out_dir, config, state.is_main_process, tokenizer_from, resume, force, quiet
        )
    model = fresh_model(config.preset, tokenizer, config.train.seed)
    record = {
        "command": "pretrain",
        "corpus": str(corpus.path.resolve()),
        "corpus_songs": {s: len(corpus.split(s)) for s in ("train", "validation", "test")},
        "preset": config.preset,
        "styles": tokenizer.styles,
        "pretrain_config": config.to_json(),
    }
    result = train(
        model,
        train_data,
        val_data,
        config.train,
        out_dir,
        resume=resume,
        fingerprint=tokenizer.fingerprint,
        record=record,
        log=quiet,
    )
    if state.is_main_process:
        _smoke_sample(out_dir, tokenizer, corpus, config, quiet)
        validation = f", validation loss {result.val_loss:.3f}" if result.val_loss else ""
        quiet(
            f"saved model to {out_dir} (step {result.steps}, train loss "
            f"{result.train_loss:.3f}{validation})"
        )
    state.wait_for_everyone()
    return result


def _prepare(
    corpus: Corpus,
    out_dir: Path,
    config: PretrainConfig,
    main: bool,
    tokenizer_from: str | Path | None,
    resume: bool,
    force: bool,
    log,
) -> tuple[MusicTokenizer, TokenData, TokenData | None]:
    """The output folder, the tokenizer (trained, reused or resumed) and the token data."""
    began = time.perf_counter()
    tokenizer_dir = out_dir / TOKENIZER_DIR
    if main:
        _prepare_out_dir(out_dir, resume=resume, force=force)
        tokenizer = _tokenizer(corpus, config, tokenizer_dir, tokenizer_from, resume, log)
        settings = {
            **config.to_json(),
            "corpus": str(corpus.path.resolve()),
            "styles": tokenizer.styles,
        }
        atomic_write_text(out_dir / CONFIG_FILE, json.dumps(settings, indent=1) + "\n")
        # The line-up compose defaults to, per style too.
        write_programs(out_dir, corpus.split("train"), config.tokenizer.style_keys)
    else:
        tokenizer = MusicTokenizer.load(tokenizer_dir)
    log(
        f"tokenizer: {tokenizer.music_vocab_size:,} music tokens + "
        f"{len(tokenizer.styles)} style tokens ({', '.join(tokenizer.styles) or 'none'})"
    )
    train_data = load_split(corpus, tokenizer, "train", config.data, log=log)
    val_data = load_split(corpus, tokenizer, "validation", config.data, log=log)
    log(f"data ready {time.perf_counter() - began:,.0f} s after the start")
    if train_data is None:
        raise TributeError(f"corpus {corpus.path} has no training songs")
    if val_data is None:
        log("note: the corpus has no validation split; no validation loss will be reported")
    return tokenizer, train_data, val_data


def _open_corpus(path: str | Path) -> Corpus:
    corpus = Corpus.open(path)
    if len(corpus) == 0:
        raise TributeError(f"corpus {corpus.path} is empty")
    if not corpus.split("train"):
        raise TributeError(
            f"corpus {corpus.path} has no train split (every song is in validation/test)"
        )
    return corpus


def _prepare_out_dir(out_dir: Path, *, resume: bool, force: bool) -> None:
    refuse_as_output(out_dir)
    if out_dir.exists() and any(out_dir.iterdir()) and not resume:
        if not force:
            raise TributeError(
                f"output folder {out_dir} exists; pass --resume to continue "
                "its training or --force to start over"
            )
        if not {p.name for p in out_dir.iterdir()} & _OURS:
            raise TributeError(
                f"--force refuses to delete {out_dir}: it does not look like a tribute model folder"
            )
        shutil.rmtree(out_dir)
    if resume and out_dir.exists() and not (out_dir / TOKENIZER_DIR).is_dir():
        raise TributeError(f"cannot resume: {out_dir} holds no tokenizer from an earlier run")
    out_dir.mkdir(parents=True, exist_ok=True)


def _tokenizer(
    corpus: Corpus,
    config: PretrainConfig,
    tokenizer_dir: Path,
    tokenizer_from: str | Path | None,
    resume: bool,
    log,
) -> MusicTokenizer:
    if resume and tokenizer_dir.is_dir():
        tokenizer = MusicTokenizer.load(tokenizer_dir)
        if tokenizer_from is not None:
            other = MusicTokenizer.load(tokenizer_from)
            if other.fingerprint != tokenizer.fingerprint:
                raise TributeError(
                    f"--tokenizer {tokenizer_from} differs from the tokenizer "
                    f"the run in {tokenizer_dir.parent} was started with"
                )
        return tokenizer
    styles = sorted(
        {
            f"{k}={m.labels[k]}"
            for m in corpus.metas
            for k in config.tokenizer.style_keys
            if k in m.labels
        }
    )
    if tokenizer_from is not None:
        tokenizer = MusicTokenizer.load(tokenizer_from)
        for name in styles:
            tokenizer.add_style(*name.split("=", 1))
    else:
        paths = [corpus.score_path(m) for m in corpus.split("train")]
        songs = min(len(paths), config.tokenizer.max_training_files)
        began = time.perf_counter()
        tokenizer = MusicTokenizer.train(paths, config.tokenizer, styles)
        log(
            f"trained a {config.tokenizer.model} vocabulary of {config.tokenizer.vocab_size:,} "
            f"tokens on {songs:,} songs in {time.perf_counter() - began:,.0f} s"
        )
    tokenizer.save(tokenizer_dir)
    return tokenizer


def _smoke_sample(
    out_dir: Path, tokenizer: MusicTokenizer, corpus: Corpus, config: PretrainConfig, log
) -> None:
    """Sample a short piece from the saved model and write it as ``sample.mid``."""
    from symusic import Score

    from tribute.model import load_model

    model = load_model(out_dir)
    first = corpus.split("train")[0]
    score = sample_song(
        model,
        tokenizer,
        tokenizer.styles_of(first.labels),
        max_new_tokens=config.sample_tokens,
        seed=config.train.seed,
    )
    path = out_dir / SAMPLE_FILE
    score.dump_midi(str(path))
    notes = Score(str(path)).note_num()  # reads back: the file is valid MIDI
    log(f"sample: {path} ({notes} notes, {len(score.tracks)} tracks)")
