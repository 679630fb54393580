"""Held-out likelihood per song, in bits per note (docs/evaluation.md §2A).

Token-level NLL depends on the tokenizer (BPE merges several events into one token), so arms are
compared per *note*: the summed NLL of a piece's tokens, converted to bits, divided by the
piece's note count. A piece longer than the window is scored in consecutive windows that start
at bars (each token scored once, with the context of its own window).
"""

from __future__ import annotations

import math

import numpy as np
import torch

from tribute.corpus.store import Corpus
from tribute.errors import TributeError
from tribute.modeldir import StyleModel
from tribute.train.data import DataConfig, TokenData, load_split

BATCH_WINDOWS = 8  # windows scored per forward (right-padded: padding changes nothing)


def piece_windows(data: TokenData, piece: int, seq_len: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """The (input ids, labels) windows that score every token of a piece exactly once, each
    with the context of its own window: windows start at bars, a token already scored by the
    previous window is context only (label -100). A function of the data alone."""
    bar_offsets = data.bar_pos[data.bar_start[piece] : data.bar_start[piece + 1]]
    end = int(data.piece_start[piece] + data.piece_len[piece])
    n_styles = int((data.styles[piece] >= 0).sum())
    windows, bar = [], 0
    scored_upto = int(bar_offsets[0]) if len(bar_offsets) else end
    while bar < len(bar_offsets):
        ids, labels = data.window(piece, bar, seq_len)
        prefix = n_styles + (1 if bar == 0 else 0)
        start = int(bar_offsets[bar])
        absolute = start + np.arange(len(labels)) - prefix  # offset of each label's token
        windows.append((ids, np.where(absolute < scored_upto, -100, labels)))
        body = int((ids[prefix:] != data.pad_id).sum())
        scored_upto = max(scored_upto, start + body)
        if scored_upto >= end:
            break
        following = int(np.searchsorted(bar_offsets, scored_upto, side="right")) - 1
        bar = following if following > bar else bar + 1  # a bar longer than the window: skip
    return windows


@torch.no_grad()
def windows_nll(
    model, windows: list[tuple[np.ndarray, np.ndarray]], skip: np.ndarray | None = None
) -> np.ndarray:
    """Summed NLL (nats) of each window's labelled tokens, ``BATCH_WINDOWS`` at a time.
    ``skip[id]`` True: that token is context only, its own NLL is not counted (e.g. chords)."""
    device = next(model.parameters()).device
    skip_t = None if skip is None else torch.from_numpy(skip).to(device)
    out = np.zeros(len(windows))
    for first in range(0, len(windows), BATCH_WINDOWS):
        chunk = windows[first : first + BATCH_WINDOWS]
        ids = torch.from_numpy(np.stack([w[0] for w in chunk])).to(device)
        targets = torch.from_numpy(np.stack([w[1] for w in chunk])[:, 1:]).to(device)
        logits = model(input_ids=ids).logits[:, :-1].float()
        scored = targets != -100
        if skip_t is not None:
            scored &= ~skip_t[targets.clamp(min=0)]
        losses = torch.nn.functional.cross_entropy(
            logits.transpose(1, 2), targets.clamp(min=0), reduction="none"
        )
        out[first : first + len(chunk)] = (losses * scored).sum(dim=1).double().cpu().numpy()
    return out


def piece_nll(
    model, data: TokenData, piece: int, seq_len: int, skip: np.ndarray | None = None
) -> tuple[float, int]:
    """(summed NLL in nats, scored tokens) of one piece of ``data``, each token once."""
    windows = piece_windows(data, piece, seq_len)
    scored = sum(int((w[1][1:] != -100).sum()) for w in windows)
    return float(windows_nll(model, windows, skip).sum()), scored


def bits_per_note(
    model, data: TokenData, notes: list[int], seq_len: int, skip: np.ndarray | None = None
) -> np.ndarray:
    """Bits per note of every piece of ``data`` (``notes``: note count per piece), every
    piece's windows scored in shared batches."""
    was_training = model.training
    model.eval()
    windows, owner = [], []
    for piece in range(len(notes)):
        found = piece_windows(data, piece, seq_len)
        windows += found
        owner += [piece] * len(found)
    nats = np.zeros(len(notes))
    np.add.at(nats, np.asarray(owner, dtype=np.int64), windows_nll(model, windows, skip))
    model.train(was_training)
    return nats / math.log(2) / np.maximum(1, np.asarray(notes))


def held_out_bits(
    model: StyleModel,
    corpus: Corpus,
    split: str,
    *,
    style: str | None = None,
    music_only: bool = False,
) -> np.ndarray:
    """Bits per note of every song of ``split`` under ``model``, each in its own windows of the
    length the model was trained with. ``style`` (``"artist=Bach"``) is added to every song's
    labels, so artist songs are scored under the style token they were trained with; the
    corpus's records are not changed. ``music_only``: chord tokens are context, not scored
    (the music's own bits, comparable with a model without harmony tokens)."""
    if style and "=" in style:
        key, value = style.split("=", 1)
        corpus = corpus.labelled({key: value})
    metas = corpus.split(split)
    data = load_split(
        corpus, model.tokenizer, split, DataConfig(augment_copies=0, workers=1), augmented=False
    )
    if data is None or len(data) != len(metas):
        raise TributeError(f"{corpus.path}: some {split} songs could not be tokenized")
    seq_len = min(model.record.seq_len or model.context_tokens, model.context_tokens)
    skip = None
    if music_only and model.tokenizer.settings.harmony:
        skip = np.zeros(model.tokenizer.vocab_size, dtype=bool)
        skip[list(model.tokenizer.controls.chord_ids)] = True
    return bits_per_note(model.model, data, [m.n_notes for m in metas], seq_len, skip)


def paired_bootstrap(a: np.ndarray, b: np.ndarray, samples: int = 1000, seed: int = 0) -> dict:
    """Mean of ``a - b`` per song with a bootstrap 95 % CI (resampling songs)."""
    diff = np.asarray(a) - np.asarray(b)
    rng = np.random.default_rng(seed)
    means = diff[rng.integers(0, len(diff), size=(samples, len(diff)))].mean(axis=1)
    low, high = np.percentile(means, [2.5, 97.5])
    return {
        "mean": float(diff.mean()),
        "ci95": [float(low), float(high)],
        "excludes_zero": bool(low > 0 or high < 0),
        "songs": len(diff),
    }
