"""`tribute corpus build`: labels, families, splits, exclusion, incremental rebuilds, CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from songs import band_song, write_song
from tribute.cli import main
from tribute.corpus import BuildConfig, Corpus, build
from tribute.corpus.families import split_families
from tribute.corpus.labels import LabelRules, match_name
from tribute.errors import TributeError


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("TRIBUTE_CACHE_DIR", str(tmp_path / "cache"))


def quiet(sources, out, **kwargs) -> Corpus:
    return build([str(s) for s in sources], out, BuildConfig(**kwargs), progress=False)


def test_lakh_layout_labels_from_folder(tmp_path):
    src = tmp_path / "clean_midi"
    for artist, seeds in (("Queen", (1, 2)), ("Muse", (3,))):
        for seed in seeds:
            write_song(src / artist / f"Song {seed}.mid", seed)
    corpus = quiet(
        [src],
        tmp_path / "out",
        labels=LabelRules(fixed={"genre": "rock"}, from_folder=(("artist", 1),)),
    )
    by_title = {m.title: m for m in corpus.metas}
    assert by_title["Song 1"].labels == {"genre": "rock", "artist": "Queen"}
    assert by_title["Song 3"].labels["artist"] == "Muse"
    # A level above the source folder is never used.
    corpus = quiet([src / "Queen"], tmp_path / "out2", labels=LabelRules(from_folder=(("a", 2),)))
    assert all("a" not in m.labels for m in corpus.metas)


def test_labels_from_name_pattern_and_manifest(tmp_path):
    src = tmp_path / "src"
    write_song(src / "Queen_Bohemian_Rhapsody.mid", 1)
    write_song(src / "other.mid", 2)
    manifest = tmp_path / "labels.csv"
    manifest.write_text("path,genre,title\nsrc/other.mid,prog,Other Song\n")
    from tribute.corpus.labels import read_manifest

    rules = LabelRules(name_pattern="{artist}_{title}", manifest=read_manifest(manifest))
    corpus = quiet([src], tmp_path / "out", labels=rules)
    by_title = {m.title: m for m in corpus.metas}
    assert by_title["Bohemian Rhapsody"].labels == {"artist": "Queen"}
    assert by_title["Other Song"].labels == {"genre": "prog"}
    assert match_name("{artist} - {title}", "no dash here") == {}


def test_transposed_and_reencoded_copies_share_a_family(tmp_path):
    src = tmp_path / "src"
    song = band_song(5, bars=16)
    song.dump_midi(str(src / "a.mid")) if src.mkdir() is None else None
    transposed = song.copy()
    for track in transposed.tracks:
        if not track.is_drum:
            track.shift_pitch(3, inplace=True)
    transposed.dump_midi(str(src / "b_transposed.mid"))
    reencoded = song.resample(96)  # another resolution, then slower tempo: same notes
    reencoded.tempos[0].qpm = 90.0
    reencoded.dump_midi(str(src / "c_reencoded.mid"))
    for seed in range(10, 16):
        write_song(src / f"other{seed}.mid", seed, bars=16)
    corpus = quiet([src], tmp_path / "out", fractions=(0.5, 0.25, 0.25))
    report = corpus.report()
    # The re-encoded copy has the same notes after normalization: an exact duplicate.
    assert [d["source"].endswith("c_reencoded.mid") for d in report["duplicates"]] == [True]
    fam = {Path(m.source).name: m.family for m in corpus.metas}
    assert fam["a.mid"] == fam["b_transposed.mid"]
    assert len({fam[f"other{s}.mid"] for s in range(10, 16)}) == 6
    split = {Path(m.source).name: m.split for m in corpus.metas}
    assert split["a.mid"] == split["b_transposed.mid"]


def test_split_families_is_seeded_family_aware_and_fills_held_out_splits():
    families = [f"f{i // 2}" for i in range(40)]  # 20 families of two
    first = split_families(families, (0.8, 0.1, 0.1), seed=1)
    assert first == split_families(families, (0.8, 0.1, 0.1), seed=1)
    assert first != split_families(families, (0.8, 0.1, 0.1), seed=2)
    for fam in set(families):
        assert len({s for f, s in zip(families, first, strict=True) if f == fam}) == 1
    assert first.count("train") == 32 and first.count("validation") == 4
    small = split_families(["a", "b", "c"], (0.8, 0.1, 0.1), seed=0)
    assert sorted(small) == ["test", "train", "validation"]


def test_exclude_families_of_another_corpus(tmp_path):
    artist, genre = tmp_path / "artist", tmp_path / "genre"
    for seed in (1, 2, 3):
        write_song(artist / f"hit{seed}.mid", seed, bars=12)
    write_song(genre / "cover_of_hit2.mid", 2, bars=12, key=5, tempo_qpm=100)  # transposed
    for seed in (20, 21, 22, 23):
        write_song(genre / f"genre{seed}.mid", seed, bars=12)
    artist_corpus = quiet([artist], tmp_path / "c_artist")
    genre_corpus = quiet(
        [genre], tmp_path / "c_genre", exclude_families_of=(str(artist_corpus.path),)
    )
    assert sorted(Path(m.source).name for m in genre_corpus.metas) == [
        f"genre{s}.mid" for s in (20, 21, 22, 23)
    ]
    excluded = genre_corpus.report()["excluded"]
    assert len(excluded) == 1 and "hit2" in excluded[0]["reason"]


def test_max_pieces_keeps_whole_families(tmp_path):
    src = tmp_path / "src"
    for seed in range(12):
        write_song(src / f"s{seed}.mid", seed)
    corpus = quiet([src], tmp_path / "out", max_pieces=5, seed=3)
    assert len(corpus) == 5
    assert corpus.report()["not_selected"] == 7


def test_incremental_rebuild_reuses_the_cache_and_picks_up_changes(tmp_path):
    src = tmp_path / "src"
    for seed in range(6):
        write_song(src / f"s{seed}.mid", seed)
    out = tmp_path / "out"
    first = quiet([src], out)
    assert first.report()["cache_hits"] == 0
    again = quiet([src], out)
    assert again.report()["cache_hits"] == 6
    assert [m.to_json() for m in again.metas] == [m.to_json() for m in first.metas]
    write_song(src / "s0.mid", 100)  # changed content
    (src / "s5.mid").unlink()  # removed
    third = quiet([src], out)
    assert third.report()["cache_hits"] == 4
    assert len(third) == 5
    assert len(list((out / "scores").iterdir())) == 5  # stale score removed


def test_a_damaged_cache_is_rebuilt_not_fatal(tmp_path):
    src = tmp_path / "src"
    for seed in range(3):
        write_song(src / f"s{seed}.mid", seed)
    quiet([src], tmp_path / "out")
    (database,) = (tmp_path / "cache" / "ingest").glob("*.sqlite")
    database.write_bytes(b"this is not a database" * 100)
    database.with_name(database.name + "-wal").unlink(missing_ok=True)
    subprocess.run(  # a fresh process: this one keeps its connection to the old file
        [sys.executable, "-c", REBUILD, str(src), str(tmp_path / "out2")],
        check=True,
        env={**os.environ, "TRIBUTE_CACHE_DIR": str(tmp_path / "cache")},
    )
    again = Corpus.open(tmp_path / "out2")
    assert len(again) == 3 and again.report()["cache_hits"] == 0
    third = quiet([src], tmp_path / "out3", workers=1)
    assert len(third) == 3


REBUILD = """
import sys
from tribute.corpus import BuildConfig, build
build([sys.argv[1]], sys.argv[2], BuildConfig(workers=1), progress=False)
"""


def test_corpus_files_round_trip(tmp_path):
    src = tmp_path / "src"
    write_song(src / "one.mid", 1)
    write_song(src / "two.mid", 2)
    corpus = quiet([src], tmp_path / "out")
    header = json.loads((corpus.path / "corpus.json").read_text())
    assert header["format"] == "tribute-corpus" and header["config"]["seed"] == 0
    reopened = Corpus.open(corpus.path)
    song = next(reopened.songs())
    assert song.score.note_num() == song.meta.n_notes
    assert {m.split for m in reopened.metas} <= {"train", "validation", "test"}


def test_bad_requests_are_one_line_errors(tmp_path, capsys):
    src = tmp_path / "src"
    write_song(src / "one.mid", 1)
    with pytest.raises(TributeError, match="does not exist"):
        quiet([tmp_path / "missing"], tmp_path / "o1")
    with pytest.raises(TributeError, match="inside the source folder"):
        quiet([src], src / "corpus")
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "keep.txt").write_text("mine")
    with pytest.raises(TributeError, match="not a tribute corpus"):
        quiet([src], tmp_path / "full")
    with pytest.raises(TributeError, match="no music files"):
        quiet([tmp_path / "full"], tmp_path / "o2")
    with pytest.raises(TributeError, match="unknown music21 preset"):
        quiet(["music21:nonsense"], tmp_path / "o3")
    assert main(["corpus", "build", str(tmp_path / "missing"), "--out", str(tmp_path / "o4")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("tribute corpus: error:") and "\n" not in err


def test_cli_build_and_info(tmp_path, capsys):
    src = tmp_path / "src"
    for seed in range(4):
        write_song(src / f"Band_Song{seed}.mid", seed)
    out = tmp_path / "out"
    code = main(
        [
            "corpus",
            "build",
            str(src),
            "--out",
            str(out),
            "--label",
            "genre=rock",
            "--label-from-name",
            "{artist}_{title}",
            "--workers",
            "1",
            "--json",
        ]
    )
    assert code == 0
    report = json.loads(capsys.readouterr().out)
    assert report["pieces"] == 4 and report["labels"]["artist"] == {"Band": 4}
    assert main(["corpus", "info", str(out)]) == 0
    text = capsys.readouterr().out
    assert "4 pieces" in text and "label genre: rock 4" in text


def test_music21_preset_subcorpus(tmp_path):
    corpus = quiet(["music21:miscFolk"], tmp_path / "folk")
    assert len(corpus) > 10
    assert all(m.format == "abc" and m.labels["collection"] == "miscFolk" for m in corpus.metas)
    assert all(m.tracks[m.lead_track].role == "lead" for m in corpus.metas)


def test_max_files_reads_a_seeded_sample(tmp_path):
    src = tmp_path / "src"
    for seed in range(10):
        write_song(src / f"s{seed}.mid", seed)
    first = quiet([src], tmp_path / "a", max_files=4, seed=1)
    again = quiet([src], tmp_path / "b", max_files=4, seed=1)
    assert len(first) == 4 and first.report()["files_found"] == 10
    assert sorted(m.source for m in first.metas) == sorted(m.source for m in again.metas)
