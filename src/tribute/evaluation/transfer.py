"""P1 inputs: held-out artist likelihood in bits per note, M2 against its base model M0.

The compute-matched artist-only arm M1 needs training runs of its own: ``tribute ablate``
trains all arms and writes ``ablation.json``, which the report reads when it lies in the model
folder or its parent. Without it this module scores what exists — the model and its recorded
base model — with :mod:`tribute.train.nll` (bits per note, paired bootstrap).
"""

from __future__ import annotations

import json
from pathlib import Path

from tribute.corpus.store import Corpus
from tribute.modeldir import StyleModel

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


def transfer(
    m2: StyleModel,
    m0: StyleModel | None,
    artist: Corpus,
    split: str,
    samples: int = 1000,
    seed: int = 0,
) -> dict:
    """Held-out bits per note of the model (M2) and its base (M0), with M2 − M0 paired."""
    from tribute.train.nll import held_out_bits, paired_bootstrap

    bits = held_out_bits(m2, artist, split, style=m2.default_style)
    out = {
        "split": split,
        "songs": len(bits),
        "M2": {"mean": float(bits.mean()), "per_song": bits.round(4).tolist()},
    }
    if m0 is not None:
        base = held_out_bits(m0, artist, split)
        out["M0"] = {"mean": float(base.mean()), "per_song": base.round(4).tolist()}
        out["M2-M0"] = paired_bootstrap(bits, base, samples, seed)
    return out
