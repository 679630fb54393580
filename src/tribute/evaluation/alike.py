"""Like with like: every piece an evaluation compares is described by the same rule.

A real chorale's bass part is "bass" by its part name; a generated track has only a program. So
roles come from one map for every piece — each program's most common role among the artist's
own tracks — and the lead track is picked again from those roles. Real pieces are cut to the
length the model generated and keep only the parts the generated line-up has, so that density,
repetition and length features compare pieces of one shape.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence

from tribute.music import Song, SongMeta, TrackInfo, bar_start_ticks, pick_lead_track


def role_map(metas: Iterable[SongMeta]) -> dict[tuple[int, bool], str]:
    """(program, is_drum) → the role most of the artist's tracks on it have."""
    counts: dict[tuple[int, bool], Counter[str]] = {}
    for meta in metas:
        for track in meta.tracks:
            counts.setdefault((track.program, track.is_drum), Counter())[track.role] += 1
    return {key: c.most_common(1)[0][0] for key, c in counts.items()}


def alike(
    songs: Sequence[Song],
    roles: dict[tuple[int, bool], str],
    programs: set[tuple[int, bool]] | None = None,
    bars: int | None = None,
) -> list[Song]:
    """Songs with roles from ``roles``, only the tracks of ``programs`` (None: all), cut to
    their first ``bars`` bars (None: whole)."""
    out = []
    for song in songs:
        score = song.score
        if bars is not None:
            starts = bar_start_ticks(score, until_tick=1 << 40)
            if len(starts) > bars:
                score = score.clip(0, int(starts[bars]), clip_end=True)
        keep = [
            i
            for i, t in enumerate(score.tracks)
            if t.note_num() and (programs is None or (int(t.program), bool(t.is_drum)) in programs)
        ]
        if not keep:
            continue
        score = score.copy()
        score.tracks = [score.tracks[i] for i in keep]
        meta = SongMeta.from_json(song.meta.to_json())
        meta.tracks = [_track_info(t, roles) for t in score.tracks]
        meta.lead_track = pick_lead_track(score.tracks, [t.role for t in meta.tracks])
        out.append(Song(score, meta))
    return out


def line_up_of(songs: Sequence[Song]) -> set[tuple[int, bool]]:
    return {
        (int(t.program), bool(t.is_drum)) for s in songs for t in s.score.tracks if t.note_num()
    }


def _track_info(track, roles: dict[tuple[int, bool], str]) -> TrackInfo:
    pitches = track.notes.numpy()["pitch"]
    key = (int(track.program), bool(track.is_drum))
    from tribute.music import role_from_program

    role = roles.get(key) or role_from_program(key[0], key[1])
    return TrackInfo(
        track.name,
        key[0],
        key[1],
        role,
        int(track.note_num()),
        int(pitches.min()),
        int(pitches.max()),
    )
