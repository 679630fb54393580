"""Bar-aligned excerpts of songs: the two-sample test at the size the product is for.

With ~45 songs of an artist only ~9 are held out — too few pieces for a classifier test. Each
piece (real or generated) is cut into excerpts of ``EXCERPT_BARS`` bars; the test then scores
excerpts, with every song's excerpts kept on one side of each cross-validation fold and the
permutation null drawn song by song (:func:`tribute.evaluation.c2st.c2st` with ``groups``), so
excerpts of one song never tell the classifier about each other.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from tribute.music import Song, SongMeta, bar_start_ticks

EXCERPT_BARS = 8
MIN_EXCERPT_BARS = 4  # a shorter tail is no excerpt


def excerpts(songs: Sequence[Song], bars: int = EXCERPT_BARS) -> tuple[list[Song], np.ndarray]:
    """Every song's consecutive excerpts of ``bars`` bars, and the index of its song."""
    out: list[Song] = []
    groups: list[int] = []
    for index, song in enumerate(songs):
        starts = bar_start_ticks(song.score)
        ends = [*starts[1:], int(song.score.end()) + 1]
        for first in range(0, len(starts), bars):
            last = min(first + bars, len(starts))
            if last - first < MIN_EXCERPT_BARS and first > 0:
                break
            begin, end = int(starts[first]), int(ends[last - 1])
            clipped = song.score.clip(begin, end, clip_end=True).shift_time(-begin)
            if clipped.note_num() == 0:
                continue
            meta = SongMeta.from_json(song.meta.to_json())
            meta.id = f"{meta.id}@{first + 1}"
            out.append(Song(clipped, meta))
            groups.append(index)
    return out, np.asarray(groups, dtype=np.int64)
