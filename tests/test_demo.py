"""`tribute demo --quick`: the whole pipeline end to end on built-in data (the CI's end-to-end
test), and a second run that resumes instead of redoing finished stages."""

from __future__ import annotations

import json

import pytest
from symusic import Score

from tribute.cli import main


@pytest.mark.slow
def test_quick_demo_runs_end_to_end_and_resumes(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("TRIBUTE_CACHE_DIR", str(tmp_path / "cache"))
    out = tmp_path / "demo"
    assert main(["demo", "--quick", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "tribute demo (quick)" in printed and "bits per note" in printed
    summary = json.loads((out / "summary.json").read_text())
    assert set(summary["seconds_by_stage"]) == {
        "corpora",
        "pretrain",
        "finetune",
        "compose",
        "render",
        "evaluate",
    }
    songs = [s for s in summary["songs"] if s["midi"]]
    assert songs, "no song passed the guard"
    for song in songs:
        score = Score(song["midi"])
        assert score.note_num() > 0
        assert song["verdict"] in ("original", "review")
        stem = song["midi"][: -len(".mid")]
        for suffix in (".wav", ".pianoroll.png", ".musicxml"):
            assert (tmp_path / "demo" / "songs" / (stem.rsplit("/", 1)[1] + suffix)).is_file()
    assert (out / "evaluation" / "report.md").is_file()
    assert len(summary["evaluate"]["criteria"]) == 7

    # Run again: every stage is found finished and skipped.
    assert main(["demo", "--quick", "--out", str(out)]) == 0
    again = capsys.readouterr().out
    assert again.count("done earlier: skipped") == 6
    assert main(["demo", "--out", str(out)]) == 2  # a full run refuses a quick run's folder
