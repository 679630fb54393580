"""Normalization: a raw piece becomes the one music type, with caps recorded as warnings.

Quantize to ``TICKS_PER_QUARTER``, keep tempo/time-signature/key events, drop empty tracks,
give every pitched track its own program (so program-keyed tokenizations keep parts apart),
assign band roles and the lead track, and cap absurd values (tempo, length, track count) with a
recorded reason. Pure function of its input: the ingest cache depends on that.
"""

from __future__ import annotations

import hashlib
import itertools
from dataclasses import dataclass

import numpy as np
from symusic import Score, Tempo

from tribute.corpus.readers import RawPiece, SkipFile
from tribute.music import (
    TICKS_PER_QUARTER,
    SongMeta,
    TrackInfo,
    band_role,
    distinct_program,
    pick_lead_track,
)


@dataclass(frozen=True)
class NormalizeConfig:
    ticks_per_quarter: int = TICKS_PER_QUARTER
    min_qpm: float = 20.0
    max_qpm: float = 320.0
    max_minutes: float = 20.0
    max_tracks: int = 32
    max_notes: int = 200_000
    min_notes: int = 8


def normalize(raw: RawPiece, config: NormalizeConfig = NormalizeConfig()) -> tuple[Score, SongMeta]:
    """(normalized score, metadata without id/labels/family/split) or :class:`SkipFile`."""
    for warning in raw.warnings:
        if warning.startswith("skip: "):
            raise SkipFile(warning[len("skip: ") :])
    warnings = list(raw.warnings)
    # Resampling makes the copy that the steps below change (the raw score stays as it was).
    score = raw.score.resample(config.ticks_per_quarter, min_dur=1)
    score.tracks = [t for t in score.tracks if t.note_num() > 0]
    if not score.tracks:
        raise SkipFile("no notes")
    if len(score.tracks) > config.max_tracks:
        tracks = list(score.tracks)
        kept = sorted(range(len(tracks)), key=lambda i: -tracks[i].note_num())
        warnings.append(f"{len(tracks)} tracks: kept the {config.max_tracks} with the most notes")
        score.tracks = [tracks[i] for i in sorted(kept[: config.max_tracks])]
    _clamp_tempos(score, config, warnings)
    seconds = _cap_length(score, config, warnings)
    n_notes = score.note_num()
    if n_notes > config.max_notes:
        raise SkipFile(f"{n_notes} notes: more than the {config.max_notes} a song may have")
    if n_notes < config.min_notes:
        raise SkipFile(f"only {n_notes} notes (fewer than {config.min_notes})")
    notes = [track.notes.numpy() for track in score.tracks]  # once: records and hash share it
    tracks, lead = _tracks_and_lead(score, notes)
    ts = score.time_signatures[0] if score.time_signatures else None
    meta = SongMeta(
        id="",
        title=raw.title,
        source="",
        format=raw.format,
        key=raw.key,
        content_hash=content_hash(score, notes),
        tempo_qpm=round(float(score.tempos[0].qpm), 2) if score.tempos else 120.0,
        time_signature=f"{ts.numerator}/{ts.denominator}" if ts else "4/4",
        duration_s=round(float(seconds), 3),
        duration_beats=round(score.end() / config.ticks_per_quarter, 3),
        n_notes=int(n_notes),
        tracks=tracks,
        lead_track=lead,
        warnings=warnings,
    )
    return score, meta


def _tracks_and_lead(score: Score, notes: list[dict]) -> tuple[list[TrackInfo], int | None]:
    """Band roles, a distinct program per pitched track (set on ``score``), the track records
    and the lead track's index; ``notes``: each track's note arrays."""
    taken: set[int] = set()
    roles = []
    for track in score.tracks:
        roles.append(band_role(track.name, track.program, track.is_drum))
        if not track.is_drum:
            track.program = distinct_program(track.program, taken)
            taken.add(track.program)
    tracks = []
    for track, role, arrays in zip(score.tracks, roles, notes, strict=True):
        pitches = arrays["pitch"]
        tracks.append(
            TrackInfo(
                name=track.name,
                program=int(track.program),
                is_drum=bool(track.is_drum),
                role=role,
                n_notes=int(track.note_num()),
                pitch_min=int(pitches.min()),
                pitch_max=int(pitches.max()),
            )
        )
    return tracks, pick_lead_track(score.tracks, roles)


def _clamp_tempos(score: Score, config: NormalizeConfig, warnings: list[str]) -> None:
    clamped = []
    for tempo in score.tempos:
        qpm = float(tempo.qpm)
        bounded = min(config.max_qpm, max(config.min_qpm, qpm))
        if not np.isfinite(qpm):
            bounded = 120.0
        if bounded != qpm:
            warnings.append(f"tempo {qpm:.4g} qpm clamped to {bounded:g}")
        clamped.append(Tempo(tempo.time, bounded))
    score.tempos = clamped[:1] + [t for a, t in itertools.pairwise(clamped) if t.qpm != a.qpm]


def _cap_length(score: Score, config: NormalizeConfig, warnings: list[str]) -> float:
    """Cut ``score`` at ``max_minutes``; its length in seconds, after the cut."""
    max_seconds = config.max_minutes * 60
    seconds = score.to("second").end()
    if seconds <= max_seconds:
        return seconds
    # Tick of the cap: the tempo map is piecewise constant, walk it.
    tick, elapsed, qpm = 0, 0.0, 120.0
    events = list(score.tempos) or [Tempo(0, 120.0)]
    for tempo in events:
        span = (tempo.time - tick) / score.tpq * 60 / qpm
        if elapsed + span > max_seconds:
            break
        elapsed, tick, qpm = elapsed + span, tempo.time, float(tempo.qpm)
    end_tick = tick + int((max_seconds - elapsed) * qpm / 60 * score.tpq)
    clipped = score.clip(0, end_tick, clip_end=True)
    score.tracks = [t for t in clipped.tracks if t.note_num() > 0]
    warnings.append(f"{seconds / 60:.0f} minutes long: truncated at {config.max_minutes:g}")
    return score.to("second").end()


def content_hash(score: Score, notes: list[dict] | None = None) -> str:
    """Hash of the normalized notes, independent of track order, names and tempo. ``notes``:
    each track's note arrays, when the caller already has them."""
    arrays = notes if notes is not None else [t.notes.numpy() for t in score.tracks]
    digest = hashlib.sha256()
    keyed = sorted(
        zip(score.tracks, arrays, strict=True),
        key=lambda pair: (pair[0].is_drum, pair[0].program, pair[0].note_num()),
    )
    for track, columns in keyed:
        order = np.lexsort((columns["pitch"], columns["time"]))
        digest.update(bytes([int(track.is_drum), int(track.program)]))
        # The time, duration and pitch columns one after another, as int64: one update.
        packed = np.empty((3, len(order)), dtype=np.int64)
        for row, column in enumerate(("time", "duration", "pitch")):
            packed[row] = columns[column][order]
        digest.update(packed.tobytes())
    return digest.hexdigest()
