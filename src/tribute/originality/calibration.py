"""The human baseline: what real songs share with the rest of their corpus.

Each sampled reference song is queried against the index without its own family (its own
near-duplicates: the same hymn tune harmonized twice is one family, docs/evaluation.md §1). The
distribution of its per-role longest runs is what a real new song shares with the others;
verdict thresholds on the rarity-weighted run length L_w come from it:

- ``review_at``: per role, the same percentile q of L_w of real songs, q chosen so that 5 % of
  real songs would go to review (any role beyond it): with four judged roles q is near 98.5,
  where a per-role 95th percentile would send a fifth of all real songs to review;
- ``copy_at``: per role, the 99th percentile — not the maximum that docs/evaluation.md P5
  quotes: one undetected duplicate pair in a user's corpus would otherwise disable the guard.
  The maximum is stored and reported beside it.

A run must also be long in absolute terms (raw L ≥ ``review_floor`` / ``copy_floor`` tokens):
see :mod:`tribute.originality.report`.
"""

from __future__ import annotations

import time

import numpy as np

from tribute.originality.features import PITCHED_ROLES, STREAM_ROLES, Stream
from tribute.originality.index import OriginalityIndex
from tribute.originality.query import query_streams
from tribute.originality.report import best_by_role

_SAMPLE_SEED = 0


def stored_streams(index: OriginalityIndex, song: int) -> list[Stream]:
    """The streams of an indexed song, as the query side sees them (without pitches)."""
    out = []
    for s in index.song_streams(song):
        lo, hi = index.stream_start[s], index.stream_start[s + 1]
        out.append(
            Stream(
                STREAM_ROLES[index.stream_role[s]],
                int(index.stream_track[s]),
                index.tokens[lo:hi],
                index.bar_from[lo:hi],
                index.bar_to[lo:hi],
            )
        )
    return out


def baseline(index: OriginalityIndex, max_songs: int | None = None) -> dict:
    """Leave-family-out runs of up to ``max_songs`` sampled songs: per role L, L_w, novelty."""
    started = time.perf_counter()
    max_songs = index.settings.calibration_songs if max_songs is None else max_songs
    families = np.array([f"{r.get('corpus', '')}\x00{r['family']}" for r in index.songs])
    _, family_id = np.unique(families, return_inverse=True)
    order = np.random.default_rng(_SAMPLE_SEED).permutation(len(index))[:max_songs]
    values: dict[str, dict[str, list[float]]] = {}
    judged: list[dict[str, tuple[int, float]]] = []  # per song: role → (L, L_w)
    for song in sorted(order.tolist()):
        streams = stored_streams(index, song)
        if not any(s.role in PITCHED_ROLES for s in streams):
            continue
        exclude = np.flatnonzero(family_id == family_id[song])
        results = query_streams(index, streams, exclude)
        judged.append({})
        for role, match in best_by_role(results, streams).items():
            judged[-1][role] = (match.length, match.weighted) if match else (0, 0.0)
            row = values.setdefault(role, {"length": [], "weighted": []})
            row["length"].append(match.length if match else 0)
            row["weighted"].append(match.weighted if match else 0.0)
            if role == "lead":
                lead = next(r for r, s in zip(results, streams, strict=True) if s.role == "lead")
                for n, v in lead.novelty.items():
                    row.setdefault(f"novelty_{n}", []).append(v)
    return {
        "songs": len(order),
        "families": int(family_id.max(initial=-1) + 1),
        "index_songs": len(index),
        "seconds": round(time.perf_counter() - started, 2),
        "values": values,
        "judged": judged,
    }


def calibrate(index: OriginalityIndex, max_songs: int | None = None) -> dict:
    """Compute, attach and return the index's calibration record."""
    base = baseline(index, max_songs)
    values, judged = base.pop("values"), base.pop("judged")
    q, share = _review_percentile(values, judged, index.settings.review_floor)
    roles: dict[str, dict] = {}
    for role, row in values.items():
        entry: dict = {key: _stats(vals) for key, vals in row.items()}
        entry["n"] = len(row["length"])
        weighted = np.asarray(row["weighted"], dtype=np.float64)
        entry["review_at"] = round(_q(weighted, q), 2)
        entry["copy_at"] = round(_q(weighted, 99), 2)
        roles[role] = entry
    base["version"] = CALIBRATION_VERSION
    base["review_percentile"] = q
    base["review_share_of_real_songs"] = round(share, 4)
    base["roles"] = roles
    index.calibration = base
    return base


CALIBRATION_VERSION = 2  # bump when thresholds are computed differently: indexes recalibrate
REVIEW_SHARE = 0.05  # of real songs a verdict may send to review
_JUDGED = ("lead", "bass", "other", "chords")  # roles that can raise a review


def _review_percentile(
    values: dict, judged: list[dict[str, tuple[int, float]]], min_length: int
) -> tuple[float, float]:
    """Smallest per-role percentile (95..100) at which ≤ REVIEW_SHARE of real songs would have
    some judged role beyond it (and at least ``min_length`` long); and that share."""
    share = 0.0
    for q in np.arange(95.0, 100.01, 0.25):
        limit = {r: _q(np.asarray(values[r]["weighted"]), q) for r in _JUDGED if r in values}
        flagged = sum(
            any(
                r in limit and length >= min_length and weighted > limit[r]
                for r, (length, weighted) in song.items()
            )
            for song in judged
        )
        share = flagged / max(len(judged), 1)
        if share <= REVIEW_SHARE:
            return float(q), share
    return 100.0, share


def _q(values: np.ndarray, q: float) -> float:
    return float(np.percentile(values, q)) if len(values) else 0.0


def _stats(values: list[float]) -> dict[str, float]:
    v = np.asarray([x for x in values if not np.isnan(x)], dtype=np.float64)
    if len(v) == 0:
        return {}
    return {
        "mean": round(float(v.mean()), 3),
        "p50": round(_q(v, 50), 3),
        "p95": round(_q(v, 95), 3),
        "p99": round(_q(v, 99), 3),
        "max": round(float(v.max()), 3),
    }
