"""The style score: a song's bits per note under the style model minus under its base, placed
among held-out artist songs and genre songs; ``--candidates K`` keeps the most artist-like
original and lists every candidate."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from eval_songs import artist_song, write_artist, write_genre
from tribute.composition import ComposeConfig, Controls, compose, parse_form
from tribute.corpus import BuildConfig, Corpus, build
from tribute.corpus.labels import LabelRules
from tribute.evaluation.baselines import interval_shuffled
from tribute.modeldir import load_style_model
from tribute.originality import song_from_score
from tribute.stylescore import StyleScorer
from tribute.tokens import TokenizerConfig
from tribute.train.data import DataConfig
from tribute.train.finetune import FinetuneConfig, finetune
from tribute.train.loop import TrainConfig
from tribute.train.nll import held_out_bits
from tribute.train.pretrain import PretrainConfig, default_train_config, pretrain


def _quiet(*args, **kwargs) -> None:
    pass


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> dict[str, Path]:
    """A tiny genre model (random-walk band songs) fine-tuned on a motif "artist"."""
    root = tmp_path_factory.mktemp("style")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TRIBUTE_CACHE_DIR", str(root / "cache"))
        write_artist(root / "src_artist", 40)
        write_genre(root / "src_genre", 30)
        artist = build(
            [str(root / "src_artist")],
            root / "artist",
            BuildConfig(labels=LabelRules(fixed={"artist": "Motif"}), fractions=(0.6, 0.2, 0.2)),
            progress=False,
        )
        genre = build(
            [str(root / "src_genre")],
            root / "genre",
            BuildConfig(
                labels=LabelRules(fixed={"genre": "rock"}),
                fractions=(0.6, 0.2, 0.2),
                exclude_families_of=(str(artist.path),),
            ),
            progress=False,
        )
        train = default_train_config(
            "tiny",
            max_steps=80,
            seq_len=128,
            learning_rate=3e-3,
            eval_every=80,
            save_every=80,
            progress=False,
        )
        pretrain(
            genre.path,
            root / "base",
            PretrainConfig(
                preset="tiny",
                tokenizer=TokenizerConfig(vocab_size=700),
                data=DataConfig(augment_copies=0, workers=1),
                train=train,
                sample_tokens=8,
            ),
            log=_quiet,
        )
        finetune(
            root / "base",
            artist.path,
            root / "tuned",
            FinetuneConfig(
                style="Motif",
                method="full",
                epochs=6,
                patience=None,
                probe_songs=0,
                data=DataConfig(augment_copies=1, workers=1),
                train=TrainConfig(
                    learning_rate=3e-3, batch_size=8, seq_len=128, warmup_steps=5, progress=False
                ),
            ),
            log=_quiet,
        )
        yield {
            "root": root,
            "base": root / "base",
            "tuned": root / "tuned",
            "artist": artist.path,
            "genre": genre.path,
        }


def test_the_score_is_the_recomputed_bits_per_note_difference(models):
    tuned, base = load_style_model(models["tuned"]), load_style_model(models["base"])
    scorer = StyleScorer.open(tuned)
    artist = Corpus.open(models["artist"])
    test = artist.split("test")
    scores = scorer.score([artist.score(m) for m in test])
    expected = held_out_bits(tuned, artist, "test", style="artist=Motif") - held_out_bits(
        base, artist, "test"
    )
    assert np.allclose([s.style_bits for s in scores], expected, atol=1e-4)
    assert all(s.notes == m.n_notes for s, m in zip(scores, test, strict=True))


def test_real_artist_songs_score_in_the_middle_and_shuffled_ones_low(models):
    scorer = StyleScorer.open(load_style_model(models["tuned"]))
    fresh = [song_from_score(artist_song(seed), f"fresh-{seed}") for seed in range(500, 512)]
    real = scorer.score([s.score for s in fresh])
    shuffled = scorer.score([s.score for s in interval_shuffled(fresh, seed=3)])
    # New songs of the artist spread over the held-out range (this tiny model knows its 24
    # training motifs better than new ones: they sit low, not at 0); shuffled ones sit lower.
    real_middle = float(np.median([s.artist_percentile for s in real]))
    assert 10 <= real_middle <= 90, real_middle
    assert max(s.artist_percentile for s in real) >= 50
    assert np.median([s.artist_percentile for s in shuffled]) < real_middle - 10
    assert np.median([s.genre_percentile for s in real]) > 60  # more artist-like than genre
    reference = json.loads((models["tuned"] / "style_reference.json").read_text())
    assert len(reference["artist"]) == len(Corpus.open(models["artist"]).split("test")) + len(
        Corpus.open(models["artist"]).split("validation")
    )


def test_candidates_keep_the_most_artist_like_original_and_list_all(models, tmp_path):
    (record,) = compose(
        models["tuned"],
        tmp_path,
        Controls(form=parse_form(None, 4)),
        ComposeConfig(candidates=4, seed=2),
        log=_quiet,
    )
    assert len(record.candidates) == 4
    assert len({c["seed"] for c in record.candidates}) == 4
    originals = [c for c in record.candidates if c["verdict"] != "copy"]
    best = min(originals, key=lambda c: (c["style"]["style_bits"], c["lead_run"]))
    assert record.seed == best["seed"]
    assert record.style["style_bits"] == best["style"]["style_bits"]
    saved = json.loads((tmp_path / "song-01.json").read_text())
    assert saved["candidates"] == record.candidates
