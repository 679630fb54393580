"""A folder of broken, hostile and odd files: every one is skipped with a reason or kept with a
warning; the build never crashes or hangs, and the source folder is left exactly as it was."""

from __future__ import annotations

import hashlib
import io
import os
import zipfile
from pathlib import Path

import pytest
from symusic import Note, Score, Tempo, Track

from songs import band_song, write_song
from tribute.corpus import BuildConfig, build
from tribute.corpus.ingest import IngestConfig, ingest_file


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("TRIBUTE_CACHE_DIR", str(tmp_path / "cache"))


def _snapshot(folder: Path) -> dict[bytes, tuple]:
    state = {}
    for root, dirs, files in os.walk(os.fsencode(folder), followlinks=False):
        for name in dirs + files:
            path = os.path.join(root, name)
            info = os.lstat(path)
            digest = ""
            if os.path.isfile(path) and not os.path.islink(path) and info.st_size < 1e6:
                with open(path, "rb") as handle:
                    digest = hashlib.sha256(handle.read()).hexdigest()
            state[path] = (info.st_mode, info.st_size, info.st_mtime_ns, digest)
    return state


def make_bad_folder(src: Path) -> dict[str, str]:
    """Files and the reason fragment each must be reported with (None: kept)."""
    src.mkdir()
    good = band_song(1).dumps_midi()
    expected = {}

    def put(name: str, data: bytes, reason: str | None) -> None:
        (src / name).write_bytes(data)
        expected[name] = reason

    write_song(src / "good.mid", 1)
    expected["good.mid"] = None
    put("empty.mid", b"", "empty file")
    put("text.mid", b"this is a text file, not music\n" * 4, "looks like text")
    put("audio.mid", b"RIFF\x24\x00\x00\x00WAVEfmt " + bytes(64), "audio (RIFF WAVE)")
    put("song.mp3.mid", b"ID3\x03\x00" + bytes(200), "audio (MP3)")
    put("truncated.mid", good[:60], "only 2 notes (fewer than 8) after repair")  # 2 notes left
    put("notes_none.mid", Score(480).dumps_midi(), "no notes")
    put("corrupt.mxl", b"PK\x03\x04 not really a zip", "corrupt .mxl")
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("score.xml", b"\0" * (30 * 1024 * 1024))
    put("bomb.mxl", bomb.getvalue(), "zip bomb")
    put("garbage.musicxml", b"<?xml version='1.0'?><score-partwise><part", "unreadable")
    put("tunes.abc", b"X:1\nT:Good\nK:C\nCDEF GABc|cBAG FEDC|]\n\nX:2\nT:Bad\nK:C\n", None)
    put("notes.txt", b"readme", "unsupported file type")

    fast = Score(480)  # absurd tempo: kept, clamped, with a warning
    fast.tempos.append(Tempo(0, 2000.0))
    lead = Track("Lead", 80, False)
    for i in range(16):
        lead.notes.append(Note(i * 240, 240, 60 + i % 5, 90))
    fast.tracks.append(lead)
    put("fast.mid", fast.dumps_midi(), None)

    crowded = band_song(2)  # 60 tracks: kept, capped at 32
    for i in range(56):
        extra = Track(f"t{i}", i % 128, False)
        extra.notes.append(Note(i * 10, 100, 40 + i % 40, 80))
        crowded.tracks.append(extra)
    put("crowded.mid", crowded.dumps_midi(), None)

    with open(src / "huge.mid", "wb") as handle:  # sparse: 60 MB on paper, nothing on disk
        handle.truncate(60 * 1024 * 1024)
    expected["huge.mid"] = "too large"
    put(os.fsdecode(b"caf\xe9_latin1.mid"), good, None)  # not UTF-8: kept
    os.mkfifo(src / "pipe.mid")  # opening a FIFO would block forever
    expected["pipe.mid"] = "not a regular file"
    os.symlink("dangling_target.mid", src / "dangling.mid")
    expected["dangling.mid"] = "broken symbolic link"
    (src / "sub").mkdir()
    os.symlink("..", src / "sub" / "loop")  # a symlinked folder loop is not followed
    os.symlink("self_b.mid", src / "self_a.mid")
    os.symlink("self_a.mid", src / "self_b.mid")
    expected["self_a.mid"] = expected["self_b.mid"] = "broken symbolic link"
    return expected


def test_bad_folder_is_reported_file_by_file_and_left_untouched(tmp_path):
    src = tmp_path / "src"
    expected = make_bad_folder(src)
    before = _snapshot(src)
    corpus = build([str(src)], tmp_path / "out", BuildConfig(workers=2), progress=False)
    assert _snapshot(src) == before

    report = corpus.report()
    reasons = {}
    for entry in report["skipped"] + report["ignored"]:
        reasons[Path(entry["source"]).name] = entry["reason"]
    for name, fragment in expected.items():
        shown = os.fsencode(name).decode("utf-8", errors="replace")
        if fragment is None:
            assert shown not in reasons, (name, reasons.get(shown))
        else:
            assert fragment in reasons.get(shown, ""), (name, reasons.get(shown))
    assert reasons["tunes.abc#2"]  # the bad tune alone is skipped
    # Kept: good.mid, tunes.abc#1, fast, crowded; the latin-1 name duplicates good.mid.
    assert len(corpus) == 4
    assert len(report["duplicates"]) == 1
    warnings = {m.title: m.warnings for m in corpus.metas}
    assert any("clamped to 320" in w for w in warnings["fast"])
    assert any("kept the 32" in w for w in warnings["crowded"])


def test_parse_time_is_bounded(tmp_path):
    import music21

    stream = music21.stream.Score()
    part = music21.stream.Part()
    for step in range(200):
        part.append(music21.note.Note(60 + step % 12, quarterLength=0.5))
    stream.insert(0, part)
    path = Path(stream.write("musicxml", fp=tmp_path / "slow.musicxml"))
    result = ingest_file(str(path), IngestConfig(timeout_s=0.001, use_cache=False))
    assert result.reason.startswith("took longer than")
