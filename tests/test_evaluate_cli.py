"""`tribute evaluate --quick` end to end on a tiny model: generation, the base model M0, held-out
likelihood, prefix extraction, all seven criteria and the three report files; bad input."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from eval_songs import write_artist, write_genre
from tribute.cli import main
from tribute.corpus import BuildConfig, build
from tribute.corpus.labels import LabelRules
from tribute.tokens import TokenizerConfig
from tribute.train.data import DataConfig
from tribute.train.pretrain import PretrainConfig, default_train_config, pretrain


def _quiet(*args, **kwargs) -> None:
    pass


@pytest.fixture(scope="module")
def setup(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("evaluate_cli")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TRIBUTE_CACHE_DIR", str(root / "cache"))
        write_artist(root / "src_artist", 40)
        write_genre(root / "src_genre", 16)
        build(
            [str(root / "src_artist")],
            root / "artist",
            BuildConfig(
                labels=LabelRules(fixed={"artist": "Motif"}), fractions=(0.5, 0.25, 0.25), workers=1
            ),
            progress=False,
        )
        build(
            [str(root / "src_genre")],
            root / "genre",
            BuildConfig(
                labels=LabelRules(fixed={"genre": "rock"}),
                workers=1,
                exclude_families_of=(str(root / "artist"),),
            ),
            progress=False,
        )
        base = root / "base"
        pretrain(
            root / "artist",
            base,
            PretrainConfig(
                preset="tiny",
                tokenizer=TokenizerConfig(vocab_size=800),
                data=DataConfig(augment_copies=0, workers=1),
                train=default_train_config(
                    "tiny",
                    max_steps=10,
                    seq_len=128,
                    batch_size=8,
                    eval_every=10,
                    save_every=10,
                    progress=False,
                ),
                sample_tokens=16,
            ),
            log=_quiet,
        )
        # A stand-in for a fine-tuned model: the same weights, recording ``base`` as its M0.
        tuned = root / "tuned"
        tuned.mkdir()
        for name in ("config.json", "model.safetensors", "tokenizer"):
            copy = shutil.copytree if (base / name).is_dir() else shutil.copy
            copy(base / name, tuned / name)
        record = json.loads((base / "training.json").read_text())
        record.update(
            command="finetune",
            base_model=str(base),
            style="artist=Motif",
            artist_corpus=str(root / "artist"),
        )
        (tuned / "training.json").write_text(json.dumps(record))
    return {
        "root": root,
        "artist": root / "artist",
        "genre": root / "genre",
        "base": base,
        "tuned": tuned,
    }


def _evaluate(setup, model: Path, out: Path, *extra: str) -> int:
    return main(
        [
            "evaluate",
            str(model),
            "--artist",
            str(setup["artist"]),
            "--genre",
            str(setup["genre"]),
            "--quick",
            "-n",
            "10",
            "--bars",
            "2",
            "--batch-size",
            "10",
            "--prompts",
            "1",
            "--out",
            str(out),
            *extra,
        ]
    )


def test_quick_run_writes_all_criteria(setup, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("TRIBUTE_CACHE_DIR", str(setup["root"] / "cache"))
    assert _evaluate(setup, setup["tuned"], tmp_path) == 0
    printed = capsys.readouterr().out
    assert "P7 diversity" in printed
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["quick"] and report["n"] == 10 and report["style"] == "artist=Motif"
    assert [c["id"] for c in report["criteria"]] == [f"P{i}" for i in range(1, 8)]
    assert report["counts"]["generated"] == 10 and report["counts"]["m0"] == 10
    assert report["c2st"]["generated"]["n_per_class"] == 10
    assert "M2" in report["nll"] or "why" in report["nll"]
    p1 = report["criteria"][0]
    assert any("run tribute ablate" in p["why"] for p in p1["parts"])
    assert "train_rate" in report["extraction"] or "why" in report["extraction"]
    for status in (c["status"] for c in report["criteria"]):
        assert status in ("pass", "fail", "incomplete", "not computed")
    text = (tmp_path / "report.md").read_text()
    assert "Quick run" in text and "| P5 |" in text
    assert "data:image/png;base64," in (tmp_path / "report.html").read_text()


def test_model_without_the_artist_style_is_refused(setup, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("TRIBUTE_CACHE_DIR", str(setup["root"] / "cache"))
    # The genre corpus as "artist": its label genre=rock is no style of this model.
    code = main(
        [
            "evaluate",
            str(setup["base"]),
            "--artist",
            str(setup["genre"]),
            "--genre",
            str(setup["artist"]),
            "--quick",
            "--out",
            str(tmp_path),
        ]
    )
    assert code == 2
    assert "has no style for artist corpus" in capsys.readouterr().err
    code = main(
        [
            "evaluate",
            str(setup["base"]),
            "--artist",
            str(setup["artist"]),
            "--genre",
            str(setup["genre"]),
            "--style",
            "artist=Nobody",
            "--out",
            str(tmp_path),
        ]
    )
    assert code == 2
    assert "unknown style" in capsys.readouterr().err
