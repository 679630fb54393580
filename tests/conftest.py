"""Fixtures shared by test modules: a tiny band model trained once per session."""

from __future__ import annotations

from pathlib import Path

import pytest

from songs import write_song
from tribute.corpus import BuildConfig, build
from tribute.corpus.labels import LabelRules
from tribute.tokens import TokenizerConfig
from tribute.train.data import DataConfig
from tribute.train.pretrain import PretrainConfig, default_train_config, pretrain


def _quiet(*args, **kwargs) -> None:
    pass


def _train(
    corpus: Path,
    out: Path,
    steps: int,
    lr: float | None = None,
    harmony: bool = True,
    infill: bool = True,
) -> Path:
    """A tiny model with a real BPE vocabulary, trained for ``steps`` steps."""
    config = PretrainConfig(
        preset="tiny",
        tokenizer=TokenizerConfig(vocab_size=800, harmony=harmony, infill=infill),
        data=DataConfig(augment_copies=0, workers=1),
        train=default_train_config(
            "tiny",
            max_steps=steps,
            seq_len=128,
            batch_size=8,
            learning_rate=lr,
            eval_every=steps,
            save_every=steps,
            progress=False,
        ),
        sample_tokens=16,
    )
    pretrain(corpus, out, config, log=_quiet)
    return out


@pytest.fixture(scope="session")
def band_model(tmp_path_factory) -> Path:
    """A tiny model of six four-part band songs (drums, bass 33, guitar 29, lead 80)."""
    root = tmp_path_factory.mktemp("compose")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TRIBUTE_CACHE_DIR", str(root / "cache"))
        for seed in range(6):
            write_song(root / "src" / f"Band_Song{seed}.mid", seed, bars=8, key=seed % 3)
        build(
            [str(root / "src")],
            root / "corpus",
            BuildConfig(labels=LabelRules(fixed={"genre": "rock"})),
            progress=False,
        )
        return _train(root / "corpus", root / "model", steps=30)
