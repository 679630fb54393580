"""Both sides of a shared run: the song's bars and the training song's bars, as piano rolls.

An originality report (:meth:`tribute.originality.Report.to_json`) names, per finding, the
song's bars and track, the reference song's id, corpus, bars and track. The reference side is
read from the corpus the models learned from (:class:`tribute.corpus.store.Corpus`), so the page
can show the two passages one above the other.
"""

from __future__ import annotations

import re

from symusic import Score

from tribute.studio.catalog import Catalog
from tribute.studio.errors import NotFound
from tribute.studio.roll import roll

CONTEXT_BARS = 1  # shown around each passage, so that a run is seen where it enters and leaves


def findings(report: dict | None) -> list[dict]:
    """The shared runs worth showing: copied passages first, then each role's longest run not
    already among them, rarest first."""
    if not report:
        return []
    passages = list(report.get("passages") or [])
    seen = {(p["role"], p["song_id"], tuple(p["query_bars"])) for p in passages}
    roles = [
        f
        for f in (report.get("roles") or {}).values()
        if f and (f["role"], f["song_id"], tuple(f["query_bars"])) not in seen
    ]
    return passages + sorted(roles, key=lambda f: -f["weighted"])


def _track(text: str) -> int | None:
    """``"track 2 'Lead'"`` → 1 (0-based); None for "top line", "all parts", "drums"."""
    match = re.match(r"track (\d+)", text or "")
    return int(match.group(1)) - 1 if match else None


def _window(score: Score, bars: list[int]) -> dict:
    first, last = int(bars[0]), int(bars[1])
    shown = roll(score, max(1, first - CONTEXT_BARS), last + CONTEXT_BARS)
    return {**shown, "run": [first, last + 1]}  # the run's x range, in bars


def side_by_side(score: Score, report: dict | None, number: int, catalog: Catalog) -> dict:
    """Finding ``number`` (0-based, in :func:`findings` order) with both sides' notes."""
    found = findings(report)
    if not 0 <= number < len(found):
        raise NotFound(f"the report has {len(found)} shared run(s), not run {number + 1}")
    finding = found[number]
    song = {**_window(score, finding["query_bars"]), "track": _track(finding["query_track"])}
    reference, missing = None, None
    corpus = catalog.opened_corpus(finding.get("corpus") or "")
    meta = next((m for m in corpus.metas if m.id == finding["song_id"]), None) if corpus else None
    if meta is None:
        missing = f"{finding['song_id']} is not in a corpus this studio's models learned from"
    else:
        reference = {
            **_window(corpus.score(meta), finding["match_bars"]),
            "track": _track(finding["match_track"]),
        }
    return {"finding": finding, "song": song, "reference": reference, "missing": missing}
