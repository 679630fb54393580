"""P1 inputs: held-out artist likelihood in bits per note, M2 against its base model M0.

The compute-matched artist-only arm M1 needs training runs of its own: ``tribute ablate``
trains all arms and writes ``ablation.json``, which the report reads when it lies in the model
folder or its parent. Without it this module scores what exists — the model and its recorded
base model — with :mod:`tribute.train.nll` (bits per note, paired bootstrap).
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np

from tribute.corpus.store import Corpus
from tribute.errors import TributeError
from tribute.music import SongMeta

ABLATION_FILE = "ablation.json"


def find_ablation(model: str | Path) -> tuple[Path, dict] | None:
    """(path, contents) of an ``ablation.json`` in the model folder or its parent."""
    model = Path(model)
    for folder in (model, model.parent):
        path = folder / ABLATION_FILE
        if path.is_file():
            try:
                return path, json.loads(path.read_text(encoding="utf-8"))
            except (OSError, json.JSONDecodeError):
                return None
    return None


def held_out_bits(model_dir: str | Path, corpus: Corpus, split: str) -> np.ndarray:
    """Bits per note of every song of ``split`` under a model (its own tokenizer and style)."""
    from tribute.modeldir import load_style_model
    from tribute.tokens import TOKENIZER_DIR
    from tribute.train.data import DataConfig, load_split
    from tribute.train.nll import bits_per_note

    loaded = load_style_model(model_dir)
    metas = [SongMeta.from_json(m.to_json()) for m in corpus.split(split)]
    style = loaded.record.get("style")
    if style and "=" in style:  # artist songs are scored under the style they were trained with
        key, value = style.split("=", 1)
        for meta in metas:
            meta.labels = {**meta.labels, key: value}
    view = Corpus(corpus.path, corpus.config, metas)
    tokens = load_split(view, loaded.tokenizer, split,
                        replace(DataConfig(), augment_copies=0, workers=1),
                        Path(model_dir) / TOKENIZER_DIR, augmented=False)
    if tokens is None or len(tokens) != len(metas):
        raise TributeError(f"{corpus.path}: some {split} songs could not be tokenized")
    seq_len = int(loaded.record.get("train_config", {}).get("seq_len") or loaded.context_tokens)
    return bits_per_note(loaded.model, tokens, [m.n_notes for m in metas],
                         min(seq_len, loaded.context_tokens))


def transfer(model: Path, base: Path | None, artist: Corpus, split: str, samples: int = 1000,
             seed: int = 0) -> dict:
    """Held-out bits per note of the model (M2) and its base (M0), with M2 − M0 paired."""
    from tribute.train.nll import paired_bootstrap

    m2 = held_out_bits(model, artist, split)
    out = {"split": split, "songs": len(m2), "M2": {"mean": float(m2.mean()),
                                                    "per_song": m2.round(4).tolist()}}
    if base is not None:
        m0 = held_out_bits(base, artist, split)
        out["M0"] = {"mean": float(m0.mean()), "per_song": m0.round(4).tolist()}
        out["M2-M0"] = paired_bootstrap(m2, m0, samples, seed)
    return out
