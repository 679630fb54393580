"""A hand-written tribute corpus folder for training tests (no corpus builder needed).

``write_corpus(path, n_train, n_validation)`` writes corpus.json, manifest.jsonl and
scores/ID.mid (TICKS_PER_QUARTER) from ``songs.band_song``, alternating two genre labels.
"""

from __future__ import annotations

import json
from pathlib import Path

from songs import band_song
from tribute.music import TICKS_PER_QUARTER, SongMeta, TrackInfo


def write_corpus(
    path: Path, n_train: int = 6, n_validation: int = 2, bars: int = 8, labels: bool = True
) -> Path:
    (path / "scores").mkdir(parents=True, exist_ok=True)
    (path / "corpus.json").write_text(
        json.dumps({"format": "tribute-corpus", "version": 1, "config": {}}), encoding="utf-8"
    )
    lines = []
    for i in range(n_train + n_validation):
        split = "train" if i < n_train else "validation"
        score = band_song(i, bars=bars, key=i % 5).resample(TICKS_PER_QUARTER)
        song_id = f"song{i:03d}"
        score.dump_midi(str(path / "scores" / f"{song_id}.mid"))
        tracks = [
            TrackInfo(t.name, t.program, t.is_drum, "other", t.note_num()) for t in score.tracks
        ]
        meta = SongMeta(
            id=song_id,
            title=f"Song {i}",
            source=f"test#{i}",
            format="midi",
            labels={"genre": ("rock", "pop")[i % 2]} if labels else {},
            tracks=tracks,
            family=f"f{i}",
            split=split,
        )
        lines.append(json.dumps(meta.to_json()))
    (path / "manifest.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
