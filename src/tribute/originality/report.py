"""Per-song originality report: the longest copied run per role, novelty and a verdict.

Verdict, per role, from the longest shared run: its length L in tokens and its rarity-weighted
length L_w (:mod:`tribute.originality.query`), against the human baseline of
:mod:`tribute.originality.calibration`:

- ``copy``: a melodic role (lead, bass, other pitched track) shares a run with one reference song
  that is long (L ≥ ``copy_floor``, 16: docs/evaluation.md P5) and rarer than what 99 % of real
  songs share (L_w ≥ ``copy_at``); or the lead shares at least half of itself (P5: L_rel ≥ 0.5) in a
  run of L ≥ ``review_floor`` with L_w beyond the review limit;
- ``review``: a melodic role or the chord progression shares L ≥ ``review_floor`` (8) with L_w
  beyond the review limit (``review_at``: the per-role percentile at which 5 % of real songs
  would be reviewed);
- ``original`` otherwise. Drum grooves are reported but never raise the verdict: shared grooves
  are the genre, shared hooks are not (SPEC §3.7).
- ``not comparable``: the song has no pitched notes, or could not be read.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

from tribute.music import Song, pitch_name
from tribute.originality.features import PITCHED_ROLES, STREAM_ROLES, Stream, song_streams
from tribute.originality.index import OriginalityIndex
from tribute.originality.query import Match, StreamResult, query_streams

_MAX_PASSAGES = 5
_MAX_NEAREST = 5


@dataclass
class Finding:
    """The longest (rarity-weighted) run of one role shared with one reference song."""

    role: str
    length: int  # tokens: intervals (pitched), chord changes (chords), bars (drums)
    weighted: float
    relative: float  # length / tokens in the query stream
    song_id: str
    title: str
    corpus: str
    query_track: str
    query_bars: tuple[int, int]  # 1-based, inclusive
    match_track: str
    match_bars: tuple[int, int]
    notes: list[str] = field(default_factory=list)  # the query's copied notes (pitched roles)


@dataclass
class Report:
    song: str
    verdict: str
    reasons: list[str]
    roles: dict[str, Finding | None]
    novelty: dict[str, dict[int, float]]
    passages: list[Finding]
    nearest: list[dict]
    drums_common_share: float | None
    thresholds: dict[str, dict[str, float]]
    calibrated: bool

    @property
    def lead_run(self) -> int:
        """L(x) of the lead melody, in tokens (0 when nothing of ``seed_n`` or more is shared)."""
        lead = self.roles.get("lead")
        return lead.length if lead else 0

    def to_json(self) -> dict:
        data = asdict(self)
        data["novelty"] = {
            r: {str(n): None if np.isnan(v) else round(v, 4) for n, v in d.items()}
            for r, d in self.novelty.items()
        }
        return data

    def text(self) -> str:
        lines = [
            f"{self.song}: {self.verdict.upper()}"
            + (f" — {'; '.join(self.reasons)}" if self.reasons else "")
        ]
        for role, found in self.roles.items():
            limits = self.thresholds.get(role, {})
            limit = (
                f"  [review: L_w > {limits['review_at']:.1f}; copy: L_w ≥ "
                f"{limits['copy_at']:.1f}, L ≥ {limits['copy_length']:.0f}]"
                if limits
                else ""
            )
            if found is None:
                lines.append(f"  {role:7s} no shared run{limit}")
                continue
            lines.append(
                f"  {role:7s} L={found.length} (weighted {found.weighted:.1f}, "
                f"{100 * found.relative:.0f}% of the part) with {found.song_id} "
                f'"{found.title}"{limit}'
            )
        for p in self.passages:
            notes = f": {' '.join(p.notes)}" if p.notes else ""
            lines.append(
                f"  copied? {p.role} bars {p.query_bars[0]}-{p.query_bars[1]} "
                f"({p.query_track}) = {p.song_id} bars {p.match_bars[0]}-{p.match_bars[1]} "
                f"({p.match_track}){notes}"
            )
        nov = self.novelty.get("lead", {})
        if nov:
            lines.append(
                "  novelty (lead): "
                + ", ".join(f"ν{n}={v:.2f}" for n, v in nov.items() if not np.isnan(v))
            )
        if self.drums_common_share is not None:
            lines.append(
                f"  drums: {100 * self.drums_common_share:.0f}% of bar patterns "
                "are genre-common (not judged)"
            )
        if self.nearest:
            lines.append(
                "  nearest: "
                + ", ".join(f"{n['song_id']} ({n['role']} L={n['length']})" for n in self.nearest)
            )
        if not self.calibrated:
            lines.append("  (index not calibrated: floor thresholds)")
        return "\n".join(lines)


def not_comparable(name: str, reason: str) -> Report:
    return Report(
        song=name,
        verdict="not comparable",
        reasons=[reason],
        roles={},
        novelty={},
        passages=[],
        nearest=[],
        drums_common_share=None,
        thresholds={},
        calibrated=False,
    )


def thresholds(index: OriginalityIndex) -> dict[str, dict[str, float]]:
    """Per role: L_w limits (calibrated; uncalibrated, 3/4 of the length floors) and L floors."""
    s = index.settings
    roles = (index.calibration or {}).get("roles", {})
    out = {}
    for role in (*PITCHED_ROLES, "chords"):
        cal = roles.get(role, {})
        out[role] = {
            "review_at": float(cal.get("review_at", 0.75 * s.review_floor)),
            "copy_at": float(cal.get("copy_at", 0.75 * s.copy_floor)),
            "review_length": float(s.review_floor),
            "copy_length": float(s.copy_floor),
        }
    return out


def best_by_role(results: list[StreamResult], streams: list[Stream]) -> dict[str, Match | None]:
    """The top (weighted) match of every role the query has a stream for."""
    present = {s.role for s in streams}
    best: dict[str, Match | None] = {r: None for r in STREAM_ROLES if r in present}
    for result in results:
        for m in result.matches:
            if m.role not in best:
                continue
            current = best[m.role]
            if current is None or (m.weighted, m.length) > (current.weighted, current.length):
                best[m.role] = m
    return best


def check_song(
    index: OriginalityIndex, song: Song, name: str | None = None, exclude_family: bool = False
) -> Report:
    """Originality report of one song against the index (the call composition makes).

    ``exclude_family`` leaves out the reference songs of the song's own family (for a real song
    checked against a corpus that holds it).
    """
    name = name or song.meta.id or song.meta.title
    if song.score.note_num() == 0:
        return not_comparable(name, "empty song: no notes")
    streams = song_streams(song, index.settings)
    if not any(s.role in PITCHED_ROLES for s in streams):
        return not_comparable(
            name, "no pitched line of 2+ notes (drums only?): grooves alone are not judged"
        )
    exclude = None
    if exclude_family:
        family = song.meta.family or song.meta.id
        exclude = np.array(
            [
                i
                for i, r in enumerate(index.songs)
                if r["family"] == family or r["id"] == song.meta.id
            ],
            dtype=np.int64,
        )
    return build_report(index, song, name, streams, query_streams(index, streams, exclude))


def build_report(
    index: OriginalityIndex,
    song: Song,
    name: str,
    streams: list[Stream],
    results: list[StreamResult],
) -> Report:
    """The report of one song from its streams' query results: per-role findings, the verdict
    (module docstring), copied passages, nearest songs, novelty and the drums' common share."""
    limits = thresholds(index)
    best = best_by_role(results, streams)
    roles = {role: _finding(index, song, streams, m) if m else None for role, m in best.items()}
    verdict, reasons = _verdict(best, streams, limits)
    drums = [r.common_share for r, s in zip(results, streams, strict=True) if s.role == "drums"]
    return Report(
        song=name,
        verdict=verdict,
        reasons=reasons,
        roles=roles,
        novelty=_novelty(index, streams, results),
        passages=_passages(index, song, streams, results, limits),
        nearest=_nearest(index, results),
        drums_common_share=drums[0] if drums else None,
        thresholds=limits,
        calibrated=index.calibration is not None,
    )


def _passages(
    index: OriginalityIndex,
    song: Song,
    streams: list[Stream],
    results: list[StreamResult],
    limits: dict[str, dict[str, float]],
) -> list[Finding]:
    """Up to ``_MAX_PASSAGES`` pitched runs beyond the review limit, the lead melody's first and
    then the rarest, none overlapping another in the same query stream."""
    passages: list[Finding] = []
    taken: dict[int, list[tuple[int, int]]] = {}
    candidates = sorted(
        (
            m
            for r in results
            for m in r.matches
            if m.role in PITCHED_ROLES and _beyond(m, limits[m.role], "review")
        ),
        key=lambda m: (m.role != "lead", -m.weighted),
    )  # the melody first
    for m in candidates:
        span = (m.query_start, m.query_start + m.length)
        spans = taken.setdefault(m.query_stream, [])
        if any(a < span[1] and span[0] < b for a, b in spans):
            continue
        spans.append(span)
        passages.append(_finding(index, song, streams, m))
        if len(passages) == _MAX_PASSAGES:
            break
    return passages


def _nearest(index: OriginalityIndex, results: list[StreamResult]) -> list[dict]:
    """The ``_MAX_NEAREST`` reference songs with the rarest run shared (drums left out)."""
    per_song: dict[int, Match] = {}
    for r in results:
        for m in r.matches:
            if m.role != "drums" and (
                m.song not in per_song or m.weighted > per_song[m.song].weighted
            ):
                per_song[m.song] = m
    return [
        {
            "song_id": index.songs[m.song]["id"],
            "title": index.songs[m.song]["title"],
            "role": m.role,
            "length": m.length,
            "weighted": round(m.weighted, 2),
        }
        for m in sorted(per_song.values(), key=lambda m: -m.weighted)[:_MAX_NEAREST]
    ]


def _novelty(
    index: OriginalityIndex, streams: list[Stream], results: list[StreamResult]
) -> dict[str, dict[int, float]]:
    """Per role and n: the share of novel n-grams over all of the role's streams, weighted by
    each stream's n-gram count (NaN when the role has no n-grams)."""
    novelty: dict[str, dict[int, float]] = {}
    for role in dict.fromkeys(s.role for s in streams):
        picked = [r for r, s in zip(results, streams, strict=True) if s.role == role]
        novelty[role] = {}
        for n in index.settings.novelty_ns:
            total = sum(r.n_grams[n] for r in picked)
            novelty[role][n] = (
                (sum(r.novelty[n] * r.n_grams[n] for r in picked if r.n_grams[n]) / total)
                if total
                else float("nan")
            )
    return novelty


def _beyond(m: Match, limits: dict[str, float], level: str) -> bool:
    """Whether a run is long enough and rare enough for ``level`` ("review" or "copy")."""
    if m.length < limits[f"{level}_length"]:
        return False
    weighted = limits[f"{level}_at"]
    return m.weighted >= weighted if level == "copy" else m.weighted > weighted


def _verdict(
    best: dict[str, Match | None], streams: list[Stream], limits: dict[str, dict[str, float]]
) -> tuple[str, list[str]]:
    copy, review = [], []
    for role in PITCHED_ROLES:
        m = best.get(role)
        if m is None:
            continue
        said = f"{role} shares {m.length} tokens (weighted {m.weighted:.1f}"
        if _beyond(m, limits[role], "copy"):
            copy.append(f"{said} ≥ {limits[role]['copy_at']:.1f}, the p99 of real songs)")
        elif _beyond(m, limits[role], "review"):
            review.append(
                f"{said} > {limits[role]['review_at']:.1f}, the review limit of real songs)"
            )
    lead = best.get("lead")
    if lead is not None:
        size = len(streams[lead.query_stream].tokens)
        if lead.length >= 0.5 * size and _beyond(lead, limits["lead"], "review"):
            copy.append(f"lead shares {lead.length} of its {size} tokens")
    chords = best.get("chords")
    if chords is not None and _beyond(chords, limits["chords"], "review"):
        review.append(
            f"chord progression shares {chords.length} changes (weighted {chords.weighted:.1f})"
        )
    if copy:
        return "copy", copy
    if review:
        return "review", review
    return "original", []


def _finding(index: OriginalityIndex, song: Song, streams: list[Stream], m: Match) -> Finding:
    stream = streams[m.query_stream]
    record = index.songs[m.song]
    g0 = int(index.stream_start[m.ref_stream]) + m.ref_start
    g1 = g0 + m.length - 1
    ref_track = int(index.stream_track[m.ref_stream])
    notes = []
    if len(stream.pitches):
        notes = [
            pitch_name(p)
            for p in stream.pitches[m.query_start : m.query_start + m.length + 1].tolist()
        ]
    return Finding(
        role=m.role,
        length=m.length,
        weighted=round(m.weighted, 2),
        relative=round(m.length / max(len(stream.tokens), 1), 3),
        song_id=record["id"],
        title=record["title"],
        corpus=record.get("corpus", ""),
        query_track=_track_name(song.score.tracks, stream.track, stream.role),
        query_bars=(
            int(stream.bar_from[m.query_start]) + 1,
            int(stream.bar_to[m.query_start + m.length - 1]) + 1,
        ),
        match_track=_track_name(
            record.get("tracks", []), ref_track, STREAM_ROLES[index.stream_role[m.ref_stream]]
        ),
        match_bars=(int(index.bar_from[g0]) + 1, int(index.bar_to[g1]) + 1),
        notes=notes,
    )


def _track_name(tracks, track: int, role: str) -> str:
    if track < 0:
        return {"lead": "top line", "chords": "all parts", "drums": "drums"}.get(role, role)
    if track < len(tracks):
        name = tracks[track] if isinstance(tracks[track], str) else tracks[track].name
        return f"track {track + 1} {name!r}" if name else f"track {track + 1}"
    return f"track {track + 1}"
