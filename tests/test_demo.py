"""`tribute demo --quick`: the whole pipeline end to end on built-in data (the CI's end-to-end
test) — from the built-in base model, and from scratch — and a second run that resumes instead
of redoing finished stages."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest
from symusic import Score

from tribute.builtin import names
from tribute.cli import main

SITE_PACKAGES = ("site-packages", "dist-packages")


def _run_demo(args: list[str]) -> list[warnings.WarningMessage]:
    """Run the demo; return the warnings the dependencies raised (every one is recorded)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert main(["demo", *args]) == 0
    return [w for w in caught if any(part in w.filename for part in SITE_PACKAGES)]


def _check_songs(summary: dict, out: Path) -> None:
    songs = [s for s in summary["songs"] if s["midi"]]
    assert songs, "no song passed the guard"
    for song in songs:
        score = Score(song["midi"])
        assert score.note_num() > 0
        assert song["verdict"] in ("original", "review")
        stem = Path(song["midi"]).name[: -len(".mid")]
        for suffix in (".wav", ".pianoroll.png", ".musicxml"):
            assert (out / "songs" / (stem + suffix)).is_file()
    assert (out / "evaluation" / "report.md").is_file()
    assert len(summary["evaluate"]["criteria"]) == 7


@pytest.mark.slow
def test_quick_demo_from_the_builtin_base_runs_end_to_end_and_resumes(
    tmp_path, capsys, monkeypatch
):
    assert "music21-mini" in names()
    monkeypatch.setenv("TRIBUTE_CACHE_DIR", str(tmp_path / "cache"))
    out = tmp_path / "demo"
    noisy = _run_demo(["--quick", "--out", str(out)])
    assert not noisy, [f"{w.category.__name__}: {w.message}" for w in noisy]
    printed = capsys.readouterr()
    assert "tribute demo (quick)" in printed.out and "bits per note" in printed.out
    assert "builtin:music21-mini (built-in base)" in printed.out
    assert "Warning" not in printed.err  # nor logged by a dependency
    summary = json.loads((out / "summary.json").read_text())
    assert list(summary["seconds_by_stage"]) == [
        "corpora",
        "finetune",
        "compose",
        "render",
        "evaluate",
    ]
    assert summary["finetune"]["base"] == "builtin:music21-mini"
    _check_songs(summary, out)

    # Run again: every stage is found finished and skipped.
    assert main(["demo", "--quick", "--out", str(out)]) == 0
    assert capsys.readouterr().out.count("done earlier: skipped") == 5
    assert main(["demo", "--out", str(out)]) == 2  # a full run refuses a quick run's folder


@pytest.mark.slow
def test_quick_demo_from_scratch_pretrains_here(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("TRIBUTE_CACHE_DIR", str(tmp_path / "cache"))
    out = tmp_path / "demo"
    noisy = _run_demo(["--quick", "--from-scratch", "--out", str(out)])
    assert not noisy, [f"{w.category.__name__}: {w.message}" for w in noisy]
    printed = capsys.readouterr().out
    assert "pretrained 40 steps here" in printed
    summary = json.loads((out / "summary.json").read_text())
    assert "pretrain" in summary["seconds_by_stage"]
    _check_songs(summary, out)
    assert main(["demo", "--quick", "--out", str(out)]) == 2  # not the built-in base's folder
