"""Infill examples: the context and the middle together hold exactly the original notes, the
markers carry no loss, windows fit, and the same seed gives the same windows."""

from __future__ import annotations

import numpy as np
import pytest

from fake_corpus import write_corpus
from songs import band_song
from tribute.corpus.store import Corpus
from tribute.music import TICKS_PER_QUARTER
from tribute.tokens import MusicTokenizer, TokenizerConfig
from tribute.tokens.infill import InfillIds, infill_example, split_bars
from tribute.train.data import IGNORE_INDEX, DataConfig, load_split


@pytest.fixture(autouse=True)
def _cache(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("TRIBUTE_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "cache"))


@pytest.fixture(scope="module")
def tokenizer(tmp_path_factory) -> MusicTokenizer:
    corpus = Corpus.open(write_corpus(tmp_path_factory.mktemp("corpus"), n_train=5))
    tok = MusicTokenizer.train(
        [corpus.score_path(m) for m in corpus.split("train")], TokenizerConfig(vocab_size=700)
    )
    tok.save(tmp_path_factory.mktemp("tok"))
    return tok


def _bars(tokenizer, ids):
    opener, chords = tokenizer.bar_opener_table(), set(tokenizer.controls.chord_ids)
    return split_bars(ids, lambda i: bool(opener[i]), lambda i: i in chords, tokenizer.base_tokens)


def _notes(tokenizer, ids) -> list[tuple]:
    score = tokenizer.decode(ids)
    return sorted(
        (t.program, t.is_drum, n.time, n.pitch, n.duration) for t in score.tracks for n in t.notes
    )


@pytest.mark.parametrize("remove", [None, "bass"])
def test_context_and_middle_hold_exactly_the_original_notes(tokenizer, remove):
    score = band_song(3, bars=6).resample(TICKS_PER_QUARTER)
    ids = [int(i) for i in tokenizer.encode(score)]
    bars = _bars(tokenizer, ids)
    assert len(bars) == 6
    bass = {t.program for t in score.tracks if 32 <= t.program < 40}
    programs = None if remove is None else frozenset(bass)
    start, end, middle = tokenizer.controls.infill_ids
    markers = InfillIds(start, end, middle, tokenizer.encode_base)
    context, mid = infill_example(bars, (2, 4), programs, markers)
    assert context.count(start) == context.count(end) == 1 and mid[0] == middle
    bar_ticks = 4 * TICKS_PER_QUARTER
    # The middle's bars, placed back at bars 2-3, plus the context give the original notes.
    inner = [i for i in context if i not in (start, end)]
    placed = [(p, d, t + 2 * bar_ticks, n, u) for p, d, t, n, u in _notes(tokenizer, mid[1:])]
    assert sorted(_notes(tokenizer, inner) + placed) == _notes(tokenizer, ids)
    if remove is not None:
        assert {p for p, *_ in placed} <= bass  # only the bass was taken out
    # The span's chords stay in the context and open the middle's bars too.
    assert tokenizer.chords_in(mid) == tokenizer.chords_in(ids)[2:4]


def test_infill_windows_fit_hide_markers_from_the_loss_and_follow_the_seed(tokenizer, tmp_path):
    corpus = Corpus.open(write_corpus(tmp_path / "c", n_train=4))
    data = load_split(corpus, tokenizer, "train", DataConfig(augment_copies=0, infill_rate=1.0))
    assert data is not None and data.infill is not None
    start, end, middle = tokenizer.controls.infill_ids
    ids, labels = data.sample(np.random.default_rng(3), 16, 256)
    again, _ = data.sample(np.random.default_rng(3), 16, 256)
    assert np.array_equal(ids, again)
    with_markers = [row for row in range(16) if middle in ids[row]]
    assert len(with_markers) >= 12  # a window too short for a span falls back to a plain one
    for row in with_markers:
        assert list(ids[row]).count(start) == 1 and list(ids[row]).count(end) == 1
        marked = np.isin(ids[row], [start, end, middle])
        assert np.all(labels[row][marked] == IGNORE_INDEX)
    validation = load_split(
        corpus, tokenizer, "train", DataConfig(augment_copies=0), augmented=False
    )
    assert validation is not None and validation.infill is None  # held-out loss: left to right
