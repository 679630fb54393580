"""Hand-made corpus material for tests and benchmarks (no corpus builder needed).

``write_corpus(path, n_train, n_validation)`` writes corpus.json, manifest.jsonl and
scores/ID.mid (TICKS_PER_QUARTER) from ``songs.band_song``, alternating two genre labels.

``write_broken_midi(folder)`` writes the broken-file fixture set: damaged MIDI files of the
kinds a scrape holds (a cut last track, out-of-range data bytes, gzip compression, WMA audio
named .mid, …), each with what ingestion must do with it — keep it with a "repaired:" warning
or skip it with a reason. ``benchmarks/ingest_bench.py`` reports the share recovered.
"""

from __future__ import annotations

import gzip
import json
import random
import struct
from pathlib import Path

from symusic import Score

from songs import band_song, vlq
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


def explicit_midi(score: Score) -> tuple[bytes, list[int], list[int]]:
    """``score`` as a type-1 MIDI file whose every event carries its status byte (no running
    status), with the byte offsets of all note-on pitch and velocity bytes, so that a test
    can damage exactly those."""
    chunks, pitches, velocities = [], [], []
    offset = 14
    tempo = round(60_000_000 / score.tempos[0].qpm) if score.tempos else 500_000
    for index, track in enumerate(score.tracks):
        channel = 9 if track.is_drum else index % 9
        events = [(0, 0, bytes((0xC0 | channel, track.program)))]
        if index == 0:
            events.append((0, 0, b"\xff\x51\x03" + tempo.to_bytes(3, "big")))
        for note in track.notes:
            events.append((note.time, 1, bytes((0x90 | channel, note.pitch, note.velocity))))
            events.append((note.time + note.duration, 0, bytes((0x80 | channel, note.pitch, 0))))
        body, now = bytearray(), 0
        for time, _, event in sorted(events, key=lambda e: (e[0], e[1])):
            body += vlq(time - now)
            now = time
            if event[0] & 0xF0 == 0x90:
                pitches.append(offset + 8 + len(body) + 1)
                velocities.append(offset + 8 + len(body) + 2)
            body += event
        body += b"\x00\xff\x2f\x00"
        chunks.append(b"MTrk" + struct.pack(">I", len(body)) + bytes(body))
        offset += len(chunks[-1])
    header = b"MThd" + struct.pack(">IHHH", 6, 1, len(chunks), score.tpq)
    return header + b"".join(chunks), pitches, velocities


def _damaged(data: bytes, offsets: list[int], value: int, count: int, seed: int) -> bytes:
    out = bytearray(data)
    for position in random.Random(seed).sample(offsets, count):
        out[position] = value
    return bytes(out)


def broken_midi_files(seed: int = 0) -> dict[str, tuple[bytes, str | None]]:
    """name → (bytes, None for "kept with a repaired: warning" or the fragment of the reason
    it must be skipped with). Every file comes from a different seeded band song."""
    songs = [band_song(seed * 100 + i, bars=16) for i in range(12)]
    plain = [explicit_midi(s) for s in songs]
    data = [p[0] for p in plain]
    asf = b"\x30\x26\xb2\x75\x8e\x66\xcf\x11\xa6\xd9\x00\xaa\x00\x62\xce\x6c"
    noise = random.Random(seed).randbytes(2000)
    return {
        "cut_last_track.mid": (data[0][: len(data[0]) * 9 // 10], None),
        "cut_middle_track.mid": (data[1][: len(data[1]) * 6 // 10], None),
        "velocity_overflow.mid": (_damaged(data[2], plain[2][2], 0xC8, 12, seed), None),
        "pitch_overflow.mid": (_damaged(data[3], plain[3][1], 0x90, 3, seed), None),
        "overflow_and_cut.mid": (
            _damaged(data[4], plain[4][2], 0xFF, 5, seed)[: len(data[4]) * 8 // 10],
            None,
        ),
        "gzipped.mid": (gzip.compress(data[5], mtime=0), None),
        "gzipped_cut.mid": (gzip.compress(data[6], mtime=0)[:-200], None),
        "gzipped_symusic.mid": (gzip.compress(songs[7].dumps_midi(), mtime=0), None),
        "header_only.mid": (data[8][:12], "ends inside the MIDI header"),
        "noise_after_header.mid": (data[9][:14] + noise, "no MIDI track could be read"),
        "cut_in_first_bar.mid": (data[10][:40], "after repair"),
        "wma_named_mid.mid": (asf + noise, "audio (WMA/ASF), not a score"),
        "gzipped_text.mid": (gzip.compress(b"not music at all\n" * 40, mtime=0), "gzip"),
    }


def write_broken_midi(folder: Path, seed: int = 0) -> dict[str, str | None]:
    """Write :func:`broken_midi_files` into ``folder``; name → expected outcome."""
    folder.mkdir(parents=True, exist_ok=True)
    expected = {}
    for name, (data, outcome) in broken_midi_files(seed).items():
        (folder / name).write_bytes(data)
        expected[name] = outcome
    return expected
