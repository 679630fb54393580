"""Ingestion recovers what a tolerant reader can: a cut track up to the cut, out-of-range data
bytes clipped, gzip-compressed MIDI unpacked — each kept with a "repaired:" warning — and still
skips, with its reason, what nothing sensible can be read from (WMA audio named .mid, noise)."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest
from symusic import Score

from fake_corpus import explicit_midi, write_broken_midi
from songs import band_song
from tribute.corpus import BuildConfig, Corpus, build, info_text
from tribute.corpus.midifix import repair_midi
from tribute.corpus.readers import SkipFile, read, read_midi


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("TRIBUTE_CACHE_DIR", str(tmp_path / "cache"))


def test_broken_files_are_kept_with_their_repair_or_skipped_with_a_reason(tmp_path):
    src = tmp_path / "broken"
    expected = write_broken_midi(src)
    corpus = build([str(src)], tmp_path / "out", BuildConfig(workers=1), progress=False)
    report = corpus.report()
    kept = {Path(m.source).name: m for m in corpus.metas}
    skipped = {Path(e["source"]).name: e["reason"] for e in report["skipped"]}
    repaired = {Path(e["source"]).name: e["reason"] for e in report["repaired"]}
    for name, outcome in expected.items():
        if outcome is None:
            assert name in kept, (name, skipped.get(name))
            assert any(w.startswith("repaired: ") for w in kept[name].warnings), name
            assert repaired[name].startswith("repaired: ")
        else:
            assert outcome in skipped.get(name, ""), (name, skipped.get(name))
    assert "12 data bytes out of range clipped to 127" in repaired["velocity_overflow.mid"]
    assert "gzip-compressed file decompressed" in repaired["gzipped.mid"]
    assert "cut short in track 4 (header declares 4)" in repaired["cut_last_track.mid"]
    text = info_text(Corpus.open(corpus.path))
    assert f"repaired (kept, with a warning): {len(repaired)}" in text
    assert "audio (WMA/ASF), not a score" in text


def test_a_cut_file_is_read_up_to_the_cut():
    song = band_song(4, bars=16)
    data, _, _ = explicit_midi(song)
    cut = data[: len(data) * 9 // 10]
    with pytest.raises(RuntimeError):
        Score.from_midi(cut)  # the strict fast path refuses it
    piece = read_midi(cut)
    full = Score.from_midi(data)
    before = {(t, n.time, n.pitch) for t, tr in enumerate(full.tracks) for n in tr.notes}
    after = {(t, n.time, n.pitch) for t, tr in enumerate(piece.score.tracks) for n in tr.notes}
    assert after <= before  # nothing invented
    assert len(after) > 0.8 * len(before)  # 90% of the bytes, most of the notes
    last = full.tracks[-1].notes
    assert max(n.time for n in piece.score.tracks[-1].notes) < max(n.time for n in last)


def test_out_of_range_velocities_are_clipped_not_dropped():
    data, _, velocities = explicit_midi(band_song(6))
    broken = bytearray(data)
    for offset in velocities[:5]:
        broken[offset] = 0xC8  # velocity 200
    fixed, warnings = repair_midi(bytes(broken))
    assert warnings == ["repaired: 5 data bytes out of range clipped to 127"]
    score = Score.from_midi(fixed)
    assert score.note_num() == Score.from_midi(data).note_num()
    assert sorted(n.velocity for t in score.tracks for n in t.notes)[-5:] == [127] * 5


def test_gzip_and_audio_detection():
    midi = band_song(1).dumps_midi()
    piece = read_midi(gzip.compress(midi))
    assert piece.warnings == ["repaired: gzip-compressed file decompressed"]
    assert piece.score.note_num() == Score.from_midi(midi).note_num()
    asf = bytes.fromhex("3026b2758e66cf11a6d900aa0062ce6c") + bytes(300)
    with pytest.raises(SkipFile, match=r"audio \(WMA/ASF\), not a score"):
        read_midi(asf)
    with pytest.raises(SkipFile, match="gzip-compressed, and inside: not a MIDI file"):
        read_midi(gzip.compress(b"<html>not music</html>" * 20))
    with pytest.raises(SkipFile, match="unpacks to more than"):  # a gzip bomb is refused
        read_midi(gzip.compress(b"MThd" + bytes(60 * 1024 * 1024)))


def test_a_valid_file_takes_the_fast_path_unchanged():
    midi = band_song(2).dumps_midi()
    piece = read_midi(midi)
    assert piece.warnings == []
    assert piece.score == Score.from_midi(midi)


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-8-sig"])
def test_musicxml_with_a_byte_order_mark_or_utf16_is_read(tmp_path, encoding):
    import music21

    stream = music21.stream.Score()
    part = music21.stream.Part()
    for step in range(12):
        part.append(music21.note.Note(60 + step % 7, quarterLength=1))
    stream.insert(0, part)
    path = Path(stream.write("musicxml", fp=tmp_path / "tune.musicxml"))
    text = path.read_text(encoding="utf-8").replace("encoding='UTF-8'", "encoding='UTF-16'")
    path.write_bytes(text.replace('encoding="UTF-8"', 'encoding="UTF-16"').encode(encoding))
    (piece,) = read(path, path.read_bytes())
    assert piece.score.note_num() == 12
