"""Token data: augmentation within instrument ranges, cached splits that respect the corpus's
family splits, and bar-aligned windows that carry the piece's style tokens."""

from __future__ import annotations

import numpy as np
import pytest
from symusic import Note, Score, Track

from fake_corpus import write_corpus
from songs import band_song
from tribute.corpus.store import Corpus
from tribute.music import TICKS_PER_QUARTER
from tribute.tokens import MusicTokenizer, TokenizerConfig
from tribute.train.data import (
    IGNORE_INDEX,
    ROLE_RANGES,
    DataConfig,
    TokenMixture,
    augment,
    load_split,
)


@pytest.fixture(autouse=True)
def _cache(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("TRIBUTE_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "cache"))


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    corpus = write_corpus(tmp_path_factory.mktemp("corpus"), n_train=5, n_validation=2)
    opened = Corpus.open(corpus)
    tokenizer = MusicTokenizer.train(
        [opened.score_path(m) for m in opened.split("train")],
        TokenizerConfig(vocab_size=700),
        ["genre=pop", "genre=rock"],
    )
    tok_dir = tokenizer.save(tmp_path_factory.mktemp("tok"))
    return opened, tokenizer, tok_dir


def test_augment_transposes_pitched_tracks_only():
    score = band_song(4).resample(TICKS_PER_QUARTER)
    for seed in range(20):
        out = augment(score, np.random.default_rng(seed), DataConfig())
        shifts = set()
        for before, after in zip(score.tracks, out.tracks, strict=True):
            delta = after.notes.numpy()["pitch"].astype(int) - before.notes.numpy()["pitch"]
            assert len(set(delta)) == 1
            if before.is_drum:
                assert delta[0] == 0
            else:
                shifts.add(int(delta[0]))
            velocity = (
                after.notes.numpy()["velocity"].astype(int) - before.notes.numpy()["velocity"]
            )
            assert np.all(np.abs(velocity) <= 8)
        assert len(shifts) == 1 and 1 <= abs(shifts.pop()) <= 5
        assert abs(out.tempos[0].qpm / score.tempos[0].qpm - 1) <= 0.0501


def test_augment_respects_instrument_ranges():
    score = Score(TICKS_PER_QUARTER)
    bass = Track("Bass", 33, False)  # bass already at the top of its range: only down
    bass.notes.append(Note(0, 24, ROLE_RANGES["bass"][1] - 1, 90))
    score.tracks.append(bass)
    for seed in range(30):
        out = augment(score, np.random.default_rng(seed), DataConfig())
        assert out.tracks[0].notes[0].pitch <= ROLE_RANGES["bass"][1]


def test_splits_are_respected_and_cached(setup):
    corpus, tokenizer, tok_dir = setup
    settings = DataConfig(augment_copies=2)
    train = load_split(corpus, tokenizer, "train", settings, tok_dir)
    val = load_split(corpus, tokenizer, "validation", settings, tok_dir)
    assert len(train) == 5 * 3  # originals + 2 augmented copies
    assert len(val) == 2  # validation families only, never augmented
    assert load_split(corpus, tokenizer, "test", settings, tok_dir) is None
    again = load_split(corpus, tokenizer, "train", settings, tok_dir)
    assert again.path == train.path and np.array_equal(again.tokens, train.tokens)
    val_ids = [m.id for m in corpus.split("validation")]
    first = tokenizer.encode(corpus.score(corpus.split("validation")[0]))
    assert np.array_equal(val.tokens[: len(first)], first) and val_ids


def test_windows_start_at_bars_and_carry_style(setup):
    corpus, tokenizer, tok_dir = setup
    data = load_split(corpus, tokenizer, "validation", DataConfig(), tok_dir)
    bars = tokenizer.bar_opener_table()  # a chord id opens each bar
    style = tokenizer.styles_of(corpus.split("validation")[0].labels)
    assert len(style) == 1
    ids, labels = data.window(0, 0, 48)
    assert list(ids[:2]) == [tokenizer.bos_id, *style] and bars[ids[2]]
    assert np.all(labels[:2] == IGNORE_INDEX) and np.array_equal(labels[2:], ids[2:])
    ids, labels = data.window(0, 3, 48)
    assert ids[0] == style[0] and bars[ids[1]] and labels[0] == IGNORE_INDEX
    # A long window runs past the piece: EOS, then padding without loss.
    n_bars = int(data.bar_start[1] - data.bar_start[0])
    ids, labels = data.window(0, n_bars - 1, 400)
    eos = int(np.flatnonzero(ids == tokenizer.eos_id)[0])
    assert labels[eos] == tokenizer.eos_id
    assert np.all(ids[eos + 1 :] == tokenizer.pad_id) and np.all(labels[eos + 1 :] == IGNORE_INDEX)


def test_sampling_is_a_function_of_the_seed(setup):
    corpus, tokenizer, tok_dir = setup
    data = load_split(corpus, tokenizer, "train", DataConfig(), tok_dir)
    a = data.sample(np.random.default_rng([0, 5]), 4, 32)
    b = data.sample(np.random.default_rng([0, 5]), 4, 32)
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
    assert a[0].shape == (4, 32)


def test_mixture_draws_rows_from_each_part(setup):
    corpus, tokenizer, tok_dir = setup
    train = load_split(corpus, tokenizer, "train", DataConfig(), tok_dir)
    val = load_split(corpus, tokenizer, "validation", DataConfig(), tok_dir)
    mixture = TokenMixture([train, val], [0.5, 0.5])
    ids, labels = mixture.sample(np.random.default_rng(1), 16, 32)
    assert ids.shape == labels.shape == (16, 32) and mixture.n_tokens == train.n_tokens
    only_val = TokenMixture([train, val], [0.0, 1.0]).sample(np.random.default_rng(2), 4, 400)
    val_tokens = set(np.asarray(val.tokens).tolist()) | {
        tokenizer.eos_id,
        tokenizer.pad_id,
        tokenizer.bos_id,
        *tokenizer.style_ids(),
    }
    assert set(only_val[0].ravel().tolist()) <= val_tokens
