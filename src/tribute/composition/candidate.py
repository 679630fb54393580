"""One sampled song before it is written: its tokens, score, guard report and style score, and
the pieces of its record (``NAME-NN.json``) that come from them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from symusic import Score

from tribute.composition.record import jsonable


@dataclass
class Candidate:
    seed: int
    tokens: list[int]
    score: Score
    sections: list[dict]
    report: Any = None  # tribute.originality.Report once the guard has checked it
    dropped_notes: int = 0  # notes on instruments the controls exclude (the grammar prevents them)
    arranged: Any = None  # tribute.composition.arrange.Arranged: what arranging changed
    style: Any = None  # tribute.stylescore.StyleScore, when a base model is known
    chords: list[str | None] = field(default_factory=list)  # per bar (harmony models)


def timing(candidate: Candidate, seconds: float, songs: int, forward: int) -> dict:
    return {
        "seconds": round(seconds, 3),
        "batch_size": songs,
        "tokens": len(candidate.tokens),
        "forward_tokens": forward,
        "music_seconds": round(candidate.score.to("second").end(), 2),
    }


def lead_run(candidate: Candidate) -> int:
    """The candidate's longest melody run shared with a training song (0: not checked)."""
    return int(candidate.report.lead_run) if candidate.report is not None else 0


def candidate_record(candidate: Candidate) -> dict:
    report = candidate.report
    return {
        "seed": candidate.seed,
        "verdict": report.verdict if report is not None else None,
        "lead_run": lead_run(candidate),
        "style": candidate.style.to_json() if candidate.style is not None else None,
    }


def rejection(candidate: Candidate) -> dict:
    report = candidate.report
    return {
        "seed": candidate.seed,
        "verdict": report.verdict,
        "reasons": report.reasons,
        "nearest": jsonable(report.nearest[:1]),
        "lead_run": report.lead_run,
    }


def nearest_title(report) -> str:
    if report is None or not report.nearest:
        return "a training song"
    first = report.nearest[0]
    return str(first.get("title") or first.get("song_id") or first)
