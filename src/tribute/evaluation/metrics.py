"""Diagnostics, reported beside the real-song value and never gated (docs/evaluation.md §2F).

- objective metrics (Dong et al. 2018, MuseGAN; Wu & Yang 2020): pitch-class entropy, scale
  consistency, groove consistency, empty-beat rate, polyphony, pitch range, note density per
  instrument;
- texture checks that likelihood hides: overlapping notes within one track, notes outside the
  instrument's range, voice crossings (lead below the bass), parallel perfect 5ths/8ves between
  lead and bass per 100 eighth-note slots (real Bach chorales: ~0.23), share of pieces that end
  on the tonic triad;
- Yang & Lerch (2020) intra-/inter-set distance overlap per feature: kernel densities of
  |x_i − x_j| within the real set (self-distances excluded) and between generated and real, on
  one shared grid; overlap area and KL(intra ‖ inter).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from tribute.evaluation.features import (
    Piece,
    groove_consistency,
    onset_grid,
    pitch_class_weights,
)
from tribute.music import ROLE_RANGES, ROLES, Song
from tribute.music.pitch import MAJOR_SCALE, MINOR_SCALE

OVERLAP_FEATURES = (
    "mel.range_octaves",
    "mel.step_rate",
    "mel.leap_rate",
    "mel.repeat_4gram",
    "mel.repeat_8gram",
    "mel.notes_per_bar",
    "mel.contour_changes",
    "band.polyphony",
    "band.groove_consistency",
    "band.empty_beat_rate",
    "drum.onsets_per_bar",
    "drum.pattern_repeat",
)


def _top_line_at(notes: dict, slots: np.ndarray) -> np.ndarray:
    """Highest pitch sounding at each slot tick (−1 where silent); lowest if ``notes`` is bass."""
    out = np.full(len(slots), -1, dtype=np.int64)
    starts, ends = (
        notes["time"].astype(np.int64),
        (notes["time"] + notes["duration"]).astype(np.int64),
    )
    for start, end, pitch in zip(starts, ends, notes["pitch"].astype(np.int64), strict=True):
        lo, hi = np.searchsorted(slots, [start, end])
        out[lo:hi] = np.maximum(out[lo:hi], pitch)
    return out


def piece_metrics(song: Song) -> dict[str, float]:
    p = Piece.of(song)
    m: dict[str, float] = {}
    hist = pitch_class_weights(p.tracks)
    nonzero = hist[hist > 0]
    m["pitch_class_entropy_bits"] = float(-(nonzero * np.log2(nonzero)).sum())
    m["scale_consistency"] = float(
        max(
            hist[np.roll(scale, t)].sum() for scale in (MAJOR_SCALE, MINOR_SCALE) for t in range(12)
        )
    )
    everything = [n for _, n in p.tracks]
    if everything:
        from tribute.evaluation.features import concat_notes

        joined = concat_notes(p.tracks)
        m["groove_consistency"] = groove_consistency(onset_grid(p, joined))
        pitched = concat_notes(p.pitched())
        m["pitch_range"] = float(np.ptp(pitched["pitch"])) if len(pitched["pitch"]) else 0.0
    total_notes = sum(len(n["time"]) for n in everything)
    for role in ROLES:
        count = sum(len(n["time"]) for r, n in p.tracks if r == role)
        m[f"notes_per_bar[{role}]"] = count / p.bars
    for track in song.score.tracks:  # per part, by its name (a line-up's parts keep theirs)
        if track.note_num() and track.name:
            m[f"notes_per_bar[part:{track.name}]"] = track.note_num() / p.bars
    # Texture.
    overlaps = out_of_range = 0
    for role, notes in p.pitched():
        order = np.lexsort((notes["time"], notes["pitch"]))
        pitch, start = notes["pitch"][order], notes["time"][order].astype(np.int64)
        end = start + notes["duration"][order]
        same = pitch[1:] == pitch[:-1]
        overlaps += int((same & (start[1:] < end[:-1])).sum())
        lowest, highest = ROLE_RANGES.get(role, (0, 127))
        out_of_range += int(((notes["pitch"] < lowest) | (notes["pitch"] > highest)).sum())
    pitched_total = max(1, sum(len(n["time"]) for _, n in p.pitched()))
    m["overlapping_notes_share"] = overlaps / pitched_total
    m["out_of_range_share"] = out_of_range / pitched_total
    eighth = max(1, p.tpq // 2)
    slots = np.arange(0, p.bars * p.bar_ticks, eighth, dtype=np.int64)
    lead = [n for r, n in p.tracks if r == "lead"]
    bass = [n for r, n in p.tracks if r == "bass"]
    crossings = parallels = 0
    if lead and bass and len(slots) > 1:
        top = _top_line_at(lead[0], slots)
        bass_notes = dict(bass[0])
        bass_notes["pitch"] = -bass_notes["pitch"].astype(np.int64)  # lowest note: max of −p
        low = -_top_line_at(bass_notes, slots)
        both = (top >= 0) & (low > 0)
        crossings = int((both & (top < low)).sum())
        interval = (top - low) % 12
        moving = both[1:] & both[:-1] & (top[1:] != top[:-1]) & (low[1:] != low[:-1])
        perfect = np.isin(interval, (0, 7))
        parallels = int(
            (moving & perfect[1:] & perfect[:-1] & (interval[1:] == interval[:-1])).sum()
        )
    m["voice_crossings_share"] = crossings / max(1, len(slots))
    m["parallel_5ths_8ves_per_100_eighths"] = 100.0 * parallels / max(1, len(slots))
    last = int(p.pitches[-1]) % 12 if len(p.pitches) else -1
    triad = {(p.tonic + k) % 12 for k in (0, 3 if p.minor else 4, 7)}
    m["ends_on_tonic_triad"] = float(last in triad)
    m["notes"] = float(total_notes)
    return m


def set_metrics(songs: Sequence[Song]) -> dict[str, float]:
    """Mean of every per-piece metric over a set."""
    rows = [piece_metrics(s) for s in songs]
    if not rows:
        return {}
    keys = sorted(set().union(*rows))
    return {k: float(np.mean([r.get(k, 0.0) for r in rows])) for k in keys}


def distance_overlap(
    generated: np.ndarray, real: np.ndarray, grid_points: int = 200
) -> dict[str, float] | None:
    """Yang & Lerch overlap and KL of one feature (1-D values per piece), or None if flat."""
    from scipy.stats import gaussian_kde

    real, generated = np.asarray(real, float), np.asarray(generated, float)
    if len(real) < 3 or len(generated) < 2:
        return None
    intra = np.abs(real[:, None] - real[None, :])[~np.eye(len(real), dtype=bool)]
    inter = np.abs(generated[:, None] - real[None, :]).ravel()
    if np.ptp(intra) == 0 or np.ptp(inter) == 0:
        return None
    grid = np.linspace(0, max(intra.max(), inter.max()) * 1.1, grid_points)
    try:
        a, b = gaussian_kde(intra)(grid), gaussian_kde(inter)(grid)
    except (np.linalg.LinAlgError, ValueError):
        return None
    step = grid[1] - grid[0]
    a, b = a / (a.sum() * step), b / (b.sum() * step)
    eps = 1e-12
    return {
        "overlap": float(np.minimum(a, b).sum() * step),
        "kl": float((a * np.log((a + eps) / (b + eps))).sum() * step),
    }
