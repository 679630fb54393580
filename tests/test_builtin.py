"""The shipped base model: listed, loadable by name, its card complete, its tokenizer able to do
everything that ships (chords, editing), and a second training from it works."""

from __future__ import annotations

import json
import re

from songs import write_song
from tribute.builtin import BASE, CARD, names, path_of
from tribute.cli import main
from tribute.corpus import BuildConfig, build
from tribute.modeldir import load_style_model
from tribute.stylescore import GENRE_SONGS, REFERENCE_SONGS
from tribute.train.data import DataConfig
from tribute.train.finetune import FinetuneConfig, finetune
from tribute.train.loop import TrainConfig

NAME = BASE.split(":", 1)[1]


def test_the_base_model_is_listed(capsys):
    assert NAME in names()
    assert main(["models", "list"]) == 0
    assert f"builtin:{NAME}" in capsys.readouterr().out


def test_its_card_says_how_it_was_made():
    card = (path_of(NAME) / CARD).read_text(encoding="utf-8")
    for heading in ("## Tokens", "## Data", "## Training", "## Reproduce", "## Limits"):
        assert heading in card, heading
    assert "--exclude-families-of" in card  # the exclusions
    assert "scripts/train_base_model.sh" in card  # the exact command
    assert re.search(r"[\d.]+ M tokens seen", card)  # tokens seen
    assert re.search(r"[\d,]+ optimizer steps", card)
    assert re.search(r"validation loss [\d.]+ nats per token", card)
    assert "| step | tokens (M) |" in card  # the loss curve, as a table
    assert "core" in card and "torch" in card  # the machine


def test_it_loads_with_a_tokenizer_for_every_shipped_feature():
    model = load_style_model(BASE)
    tokenizer = model.tokenizer
    assert model.model.config.vocab_size == tokenizer.vocab_size
    assert next(model.model.parameters()).dtype.is_floating_point
    assert str(next(model.model.parameters()).dtype) == "torch.float32"  # shipped half, run fp32
    assert tokenizer.settings.harmony and tokenizer.settings.infill  # --chords, tribute edit
    assert "collection=palestrina" in tokenizer.styles and len(tokenizer.styles) >= 20
    assert not any(s.split("=", 1)[1] == "bach" for s in tokenizer.styles)
    record = json.loads((path_of(NAME) / "training.json").read_text())
    assert record["result"]["steps"] > 0 and record["train_config"]["seq_len"] == 512
    programs = model.programs()
    assert programs is not None
    references = sorted((path_of(NAME) / REFERENCE_SONGS).glob("*.mid"))
    assert len(references) == GENRE_SONGS
    size = sum(p.stat().st_size for p in path_of(NAME).rglob("*") if p.is_file())
    assert size < 25e6


def test_a_second_training_starts_from_it(tmp_path, monkeypatch):
    monkeypatch.setenv("TRIBUTE_CACHE_DIR", str(tmp_path / "cache"))
    for seed in range(8):
        write_song(tmp_path / "songs" / f"a{seed}.mid", 100 + seed, bars=8, key=2, tempo_qpm=90)
    artist = build(
        [str(tmp_path / "songs")],
        tmp_path / "artist",
        BuildConfig(fractions=(0.6, 0.2, 0.2)),
        progress=False,
    )
    result = finetune(
        BASE,
        artist.path,
        tmp_path / "tuned",
        FinetuneConfig(
            style="Band",
            epochs=1,
            probe_songs=0,
            data=DataConfig(augment_copies=0, workers=1),
            train=TrainConfig(batch_size=2, seq_len=128, max_steps=3, progress=False),
        ),
        log=lambda *a, **k: None,
    )
    assert result.steps == 3
    tuned = load_style_model(tmp_path / "tuned")
    assert tuned.default_style == "artist=Band"
    assert tuned.record.base_model == BASE  # recorded by name, not by this machine's path
    assert tuned.base_path == path_of(NAME)


def test_training_never_writes_into_it(tmp_path, capsys):
    shipped = sorted(p.name for p in path_of(NAME).iterdir())
    corpus = tmp_path / "corpus"
    write_song(tmp_path / "songs" / "a.mid", 1, bars=8)
    build([str(tmp_path / "songs")], corpus, BuildConfig(), progress=False)
    for argv in (
        ["pretrain", str(corpus), "--out", str(path_of(NAME)), "--force"],
        ["finetune", BASE, str(corpus), "--style", "X", "--out", str(path_of(NAME)), "--force"],
    ):
        assert main(argv) == 2
        assert "inside tribute's built-in models" in capsys.readouterr().err
    assert sorted(p.name for p in path_of(NAME).iterdir()) == shipped
