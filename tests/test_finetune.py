"""`tribute finetune` and `tribute ablate` on tiny fixtures: LoRA and full fine-tuning run, save
and reload (adapter and merged), early stopping keeps the best epoch, the probe runs, and the
ablation writes its table."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from songs import write_song
from tribute.cli import main
from tribute.composition import ComposeConfig, Controls, compose, parse_form
from tribute.corpus import BuildConfig, build
from tribute.corpus.forms import read_forms
from tribute.corpus.labels import LabelRules
from tribute.modeldir import load_style_model, model_info
from tribute.tokens import TokenizerConfig
from tribute.train.data import DataConfig
from tribute.train.finetune import FinetuneConfig, finetune
from tribute.train.loop import TrainConfig
from tribute.train.pretrain import PretrainConfig, default_train_config, pretrain

DATA = DataConfig(augment_copies=0, workers=1)


def _quiet(*args, **kwargs) -> None:
    pass


@pytest.fixture(scope="module")
def setup(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("finetune")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TRIBUTE_CACHE_DIR", str(root / "cache"))
        for seed in range(8):
            write_song(root / "genre" / f"g{seed}.mid", seed, bars=8, key=seed % 4)
        for seed in range(100, 108):  # the "artist": its own melodies, slower, in D
            write_song(root / "artist" / f"a{seed}.mid", seed, bars=8, key=2, tempo_qpm=90)
        genre = build(
            [str(root / "genre")],
            root / "c_genre",
            BuildConfig(labels=LabelRules(fixed={"genre": "rock"})),
            progress=False,
        )
        artist = build(
            [str(root / "artist")],
            root / "c_artist",
            BuildConfig(fractions=(0.6, 0.2, 0.2)),
            progress=False,
        )
        base = root / "base"
        pretrain(
            genre.path,
            base,
            PretrainConfig(
                preset="tiny",
                tokenizer=TokenizerConfig(vocab_size=800),
                data=DATA,
                train=default_train_config(
                    "tiny", max_steps=20, seq_len=128, eval_every=20, save_every=20, progress=False
                ),
                sample_tokens=16,
            ),
            log=_quiet,
        )
        yield {
            "root": root,
            "genre": genre.path,
            "artist": artist.path,
            "base": base,
            "patch": patch,
        }


def _config(method: str, **kwargs) -> FinetuneConfig:
    return FinetuneConfig(
        style="Band",
        method=method,
        epochs=kwargs.pop("epochs", 2),
        data=DATA,
        probe_songs=2,
        probe_tokens=32,
        train=TrainConfig(
            learning_rate=1e-3, batch_size=4, seq_len=128, warmup_steps=2, progress=False
        ),
        **kwargs,
    )


def test_full_finetune_saves_reloads_and_records(setup, tmp_path):
    out = tmp_path / "full"
    result = finetune(setup["base"], setup["artist"], out, _config("full"), log=_quiet)
    record = json.loads((out / "training.json").read_text())
    assert record["style"] == "artist=Band" and record["method"] == "full"
    assert record["base_model"] == str(setup["base"].resolve())
    assert set(record["split"]) == {"train", "validation", "test"}
    history = record["result"]["history"]
    assert len(history) == result.steps // history[0]["step"]  # one evaluation per epoch
    assert all("probe_train_copy" in h and "probe_gap" in h for h in history)
    summary = record["summary"]
    assert summary["validation_loss_after"] <= summary["validation_loss_before"]
    assert summary["bits_per_note_before"] > 0 and summary["bits_per_note_after"] > 0
    loaded = load_style_model(out)
    assert "artist=Band" in loaded.tokenizer.styles
    assert loaded.model.config.vocab_size == loaded.tokenizer.vocab_size
    text, _ = model_info(out)
    assert "style: artist=Band" in text and "bits per note" in text
    forms = read_forms(out)  # one per training song, for compose's learned forms
    assert forms is not None and len(forms) == len(record["split"]["train"])
    assert {song for song, _ in forms} == set(record["split"]["train"])
    # The fine-tuned model composes in its style by default.
    (song,) = compose(
        out,
        tmp_path / "songs",
        Controls(form=parse_form(None, 2)),
        ComposeConfig(guard=False),
        log=_quiet,
    )
    assert song.styles == ["artist=Band"]


def test_lora_adapter_and_merged_model(setup, tmp_path):
    out = tmp_path / "lora"
    finetune(setup["base"], setup["artist"], out, _config("lora", merge=True), log=_quiet)
    assert (out / "adapter_config.json").is_file()
    assert not (out / "model.safetensors").is_file()  # an adapter, not a copy of the model
    adapter = load_style_model(out)
    merged = load_style_model(out / "merged")
    import torch

    ids = torch.tensor([[adapter.tokenizer.bos_id, adapter.tokenizer.vocab_size - 1, 5, 9]])
    with torch.no_grad():
        a = adapter.model(input_ids=ids).logits
        b = merged.model(input_ids=ids).logits
    assert torch.allclose(a, b, atol=1e-4)
    assert read_forms(out / "merged") == read_forms(out)


def test_early_stopping_keeps_the_best_epoch(setup, tmp_path):
    out = tmp_path / "stop"
    config = _config("full", epochs=12, patience=1)
    config = FinetuneConfig(
        **{
            **config.__dict__,
            "train": TrainConfig(
                learning_rate=2e-2, batch_size=4, seq_len=128, warmup_steps=1, progress=False
            ),
        }
    )
    result = finetune(setup["base"], setup["artist"], out, config, log=_quiet)
    record = json.loads((out / "training.json").read_text())
    losses = [h["val_loss"] for h in record["result"]["history"]]
    assert result.stopped_early and len(losses) < 12
    assert record["summary"]["validation_loss_after"] == pytest.approx(min(losses))
    assert (
        record["summary"]["chosen_step"]
        == record["result"]["history"][losses.index(min(losses))]["step"]
    )


def test_bad_requests(setup, tmp_path, capsys):
    def error(argv) -> str:
        assert main(argv) == 2
        return capsys.readouterr().err.strip()

    base, artist = str(setup["base"]), str(setup["artist"])
    assert "already has style" in error(
        [
            "finetune",
            base,
            str(setup["genre"]),
            "--style",
            "rock",
            "--style-key",
            "genre",
            "--out",
            str(tmp_path / "a"),
        ]
    )
    small = build(
        [str(setup["root"] / "artist" / "a100.mid")],
        tmp_path / "tiny_corpus",
        BuildConfig(),
        progress=False,
    )
    assert "at least 5" in error(
        ["finetune", base, str(small.path), "--style", "X", "--out", str(tmp_path / "b")]
    )
    assert "--genre-corpus" in error(
        [
            "finetune",
            base,
            artist,
            "--style",
            "X",
            "--rehearsal",
            "0.2",
            "--out",
            str(tmp_path / "c"),
        ]
    )
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "x").write_text("x")
    assert "exists" in error(
        ["finetune", base, artist, "--style", "X", "--out", str(tmp_path / "d")]
    )


def test_rehearsal_mixes_genre_data(setup, tmp_path):
    out = tmp_path / "rehearsal"
    finetune(
        setup["base"],
        setup["artist"],
        out,
        _config("full", epochs=1, rehearsal=0.3),
        genre_corpus=setup["genre"],
        log=_quiet,
    )
    record = json.loads((out / "training.json").read_text())
    assert record["genre_corpus"] == str(Path(setup["genre"]).resolve())


def test_ablate_writes_its_table(setup, tmp_path):
    from tribute.train.ablate import AblateConfig, ablate

    result = ablate(
        setup["genre"],
        setup["artist"],
        tmp_path / "abl",
        AblateConfig(
            preset="tiny",
            style="Band",
            pretrain_steps=10,
            finetune_epochs=1,
            batch_size=4,
            seq_len=128,
            vocab_size=800,
            augment_copies=0,
            bootstrap=200,
        ),
        log=_quiet,
    )
    assert set(result.bits_per_note) == {"M0", "M1a", "M1b", "M2"}
    assert result.steps["M1b"] <= result.steps["M0"] + result.steps["M2"]
    assert result.steps["M1a"] <= result.steps["M2"]
    for diff in result.differences.values():
        assert diff["ci95"][0] <= diff["mean"] <= diff["ci95"][1]
    table = (tmp_path / "abl" / "ablation.md").read_text()
    assert "| M2 | genre → artist |" in table
