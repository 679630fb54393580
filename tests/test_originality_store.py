"""The index beside its corpus: save/load without pickle, incremental update, the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from songs import band_song, write_song
from tribute.cli import main
from tribute.errors import TributeError
from tribute.originality import OriginalityConfig, corpus_index, load
from tribute.originality.check import song_from_score
from tribute.originality.store import DIRNAME


def write_corpus(root: Path, seeds) -> Path:
    """A corpus directory in the layout of tribute.corpus.store, written by hand."""
    (root / "scores").mkdir(parents=True, exist_ok=True)
    lines = []
    for seed in seeds:
        s = song_from_score(band_song(seed, bars=8), f"s{seed}")
        s.meta.content_hash = f"hash{seed}"
        s.meta.split = "train"
        s.score.dump_midi(str(root / "scores" / f"s{seed}.mid"))
        lines.append(json.dumps(s.meta.to_json()))
    (root / "manifest.jsonl").write_text("\n".join(lines) + "\n")
    (root / "corpus.json").write_text(json.dumps({"format": "tribute-corpus", "version": 1}))
    return root


def test_save_load_round_trip_and_incremental_update(tmp_path):
    root = write_corpus(tmp_path / "corpus", range(12))
    first = corpus_index(root)
    assert len(first) == 12 and first.calibration["build"]["new_songs"] == 12
    stored = load(root / DIRNAME)  # np.load(allow_pickle=False) inside
    for name in ("tokens", "stream_start", "stream_song"):
        np.testing.assert_array_equal(getattr(stored, name), getattr(first, name))
    np.testing.assert_array_equal(stored.seeds.positions, first.seeds.positions)
    assert stored.calibration["roles"]["lead"]["n"] == 12

    assert corpus_index(root).calibration["build"]["new_songs"] == 12  # unchanged: not rebuilt
    write_corpus(root, range(12, 15))  # manifest now lists 12..14 only
    manifest = [json.loads(line) for line in (root / "manifest.jsonl").read_text().splitlines()]
    old = [song_from_score(band_song(s, bars=8), f"s{s}").meta for s in range(3)]
    for meta, seed in zip(old, range(3), strict=True):
        meta.content_hash = f"hash{seed}"
    (root / "manifest.jsonl").write_text(
        "\n".join(json.dumps(m) for m in [*(o.to_json() for o in old), *manifest]) + "\n"
    )
    updated = corpus_index(root)
    assert updated.calibration["build"] == {
        **updated.calibration["build"],
        "new_songs": 3,
        "kept_songs": 3,
    }
    assert sorted(r["id"] for r in updated.songs) == sorted(f"s{i}" for i in (0, 1, 2, 12, 13, 14))


def test_load_refuses_other_settings_and_damage(tmp_path):
    root = write_corpus(tmp_path / "corpus", range(6))
    corpus_index(root)
    with pytest.raises(TributeError, match="not comparable"):
        load(root / DIRNAME, expect=OriginalityConfig(rhythm=False))
    (root / DIRNAME / "tables.npz").write_bytes(b"not a zip")
    with pytest.raises(TributeError, match="damaged"):
        load(root / DIRNAME)
    assert len(corpus_index(root)) == 6  # a damaged index is rebuilt


def test_cli_check_text_and_json(tmp_path, capsys):
    root = write_corpus(tmp_path / "corpus", range(10))
    copy = write_song(tmp_path / "songs" / "copy.mid", 4, bars=8, key=2)
    new = write_song(tmp_path / "songs" / "new.mid", 500, bars=8)
    assert main(["check", str(copy), str(new), "--against", str(root)]) == 0
    out = capsys.readouterr().out
    assert "copy.mid: COPY" in out and "s4" in out and "new.mid: ORIGINAL" in out

    bad = tmp_path / "songs" / "bad.mid"
    bad.write_bytes(b"\x00" * 40)
    assert main(["check", str(tmp_path / "songs"), "--against", str(root), "--json"]) == 1
    record = json.loads(capsys.readouterr().out)
    verdicts = {Path(s["song"]).name: s["verdict"] for s in record["songs"]}
    assert verdicts == {"bad.mid": "not comparable", "copy.mid": "copy", "new.mid": "original"}
    assert record["calibration"]["roles"]["lead"]["n"] == 10


def test_cli_errors_are_one_line(tmp_path, capsys):
    song = write_song(tmp_path / "a.mid", 1, bars=4)
    assert main(["check", str(song), "--against", str(tmp_path / "nowhere")]) == 2
    assert "not a tribute corpus" in capsys.readouterr().err
