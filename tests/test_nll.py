"""Held-out likelihood: every token of a piece scored exactly once, batched windows give the
same bits as one window at a time, and a song's style score is its bits-per-note difference."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from fake_corpus import write_corpus
from tribute.corpus.store import Corpus
from tribute.model import build_model
from tribute.tokens import MusicTokenizer, TokenizerConfig
from tribute.train.data import DataConfig, load_split
from tribute.train.nll import bits_per_note, piece_windows


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("nll")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TRIBUTE_CACHE_DIR", str(root / "cache"))
        corpus = Corpus.open(write_corpus(root / "corpus", n_train=4, n_validation=3))
        tokenizer = MusicTokenizer.train(
            [corpus.score_path(m) for m in corpus.split("train")], TokenizerConfig(vocab_size=700)
        )
        tokenizer.save(root / "tok")
        split = load_split(corpus, tokenizer, "validation", DataConfig(augment_copies=0))
    model = build_model("tiny", tokenizer.vocab_size, seed=3).eval()
    return split, model, [m.n_notes for m in corpus.split("validation")]


def test_every_token_is_scored_exactly_once(data):
    split, _, _ = data
    for piece in range(len(split)):
        windows = piece_windows(split, piece, seq_len=48)  # short windows: several per piece
        assert len(windows) > 1
        scored = sum(int((labels[1:] != -100).sum()) for _, labels in windows)
        # Every token once (no more, no fewer), and the closing EOS where a window has room.
        assert scored in (int(split.piece_len[piece]), int(split.piece_len[piece]) + 1)


def test_batched_windows_give_the_bits_of_one_window_at_a_time(data):
    split, model, notes = data
    batched = bits_per_note(model, split, notes, seq_len=48)
    one_by_one = []
    with torch.no_grad():
        for piece, n_notes in enumerate(notes):
            nats = 0.0
            for ids, labels in piece_windows(split, piece, seq_len=48):
                logits = model(input_ids=torch.from_numpy(ids[None])).logits[0, :-1]
                target = torch.from_numpy(labels[1:])
                keep = target != -100
                nats += float(
                    torch.nn.functional.cross_entropy(logits[keep], target[keep], reduction="sum")
                )
            one_by_one.append(nats / math.log(2) / max(1, n_notes))
    assert np.allclose(batched, one_by_one, rtol=1e-5)
