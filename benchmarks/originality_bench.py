"""Originality index benchmark (SPEC §5: build ≥ 1,000 songs/s, query < 100 ms at 10 k songs).

    python benchmarks/originality_bench.py --songs 10000 --bars 32 \\
        --out benchmarks/originality_bench.json

1. Writes a synthetic ingested corpus (``tests/songs.py`` band songs: drums, bass, guitar, lead;
   normalized to the corpus grid) unless it exists at ``--corpus``.
2. Builds the index from it in stages: read scores + extract streams, derive lookup tables,
   calibrate (leave-family-out human baseline), save. Reports songs/s and sizes.
3. Queries held-out new songs and transposed copies of indexed songs; reports ms per song.
4. Baseline in the same run: a naive all-pairs scan — the lead melody of the query against every
   indexed song's lead, one exact longest-common-run per pair (``runs.longest_common_run``) — on
   a few queries, and checks both find the same copied run.
Machine and versions are recorded with the results.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import symusic

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from songs import band_song  # noqa: E402
from tribute.corpus.store import Corpus  # noqa: E402
from tribute.music import Song  # noqa: E402
from tribute.originality import Checker, calibrate, save  # noqa: E402
from tribute.originality.check import song_from_score  # noqa: E402
from tribute.originality.features import (  # noqa: E402
    BATCH_SONGS,
    DEFAULT_CONFIG,
    batch_streams,
    batches,
    melody_tokens,
)
from tribute.originality.index import OriginalityIndex, song_record  # noqa: E402
from tribute.originality.runs import longest_common_run  # noqa: E402


def write_corpus(root: Path, n_songs: int, bars: int) -> None:
    (root / "scores").mkdir(parents=True, exist_ok=True)
    with open(root / "manifest.jsonl", "w", encoding="utf-8") as manifest:
        for seed in range(n_songs):
            song = song_from_score(band_song(seed, bars=bars, key=seed % 12), f"s{seed:05d}")
            song.meta.content_hash = f"synthetic-{seed}"
            song.meta.split = "train"
            song.score.dump_midi(str(root / "scores" / f"{song.meta.id}.mid"))
            manifest.write(json.dumps(song.meta.to_json()) + "\n")
    (root / "corpus.json").write_text(
        json.dumps({"format": "tribute-corpus", "version": 1, "config": {"synthetic": True}})
    )


def machine() -> dict:
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
        cpu = next(x.split(":", 1)[1].strip() for x in lines if x.startswith("model name"))
    except (OSError, StopIteration):
        cpu = platform.processor()
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "symusic": symusic.__version__,
        "platform": platform.platform(),
    }


def dir_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--songs", type=int, default=10_000)
    parser.add_argument("--bars", type=int, default=32)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--baseline-queries", type=int, default=3)
    parser.add_argument("--corpus", type=Path, help="reuse/keep the synthetic corpus here")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()

    tmp = None
    root = args.corpus
    if root is None:
        tmp = Path(tempfile.mkdtemp(prefix="tribute-bench-"))
        root = tmp / "corpus"
    results: dict = {
        "command": "python " + " ".join(sys.argv),
        "machine": machine(),
        "settings": DEFAULT_CONFIG.to_json(),
        "songs": args.songs,
        "bars": args.bars,
    }
    if not (root / "corpus.json").is_file():
        started = time.perf_counter()
        write_corpus(root, args.songs, args.bars)
        results["write_corpus_s"] = round(time.perf_counter() - started, 2)

    corpus = Corpus.open(root)
    # Build, stage by stage (tribute.originality.corpus_index does the same in one call).
    t0, c0 = time.perf_counter(), time.process_time()
    records, streams = [], []
    for batch in batches(corpus.metas, BATCH_SONGS):
        songs = [Song(corpus.score(meta), meta) for meta in batch]
        records += [song_record(song, corpus.name) for song in songs]
        streams += batch_streams(songs, DEFAULT_CONFIG)
    t1, c1 = time.perf_counter(), time.process_time()
    index = OriginalityIndex.from_streams(DEFAULT_CONFIG, records, streams)
    t2, c2 = time.perf_counter(), time.process_time()
    calibrate(index)
    t3 = time.perf_counter()
    where = save(index, root / "originality")
    t4 = time.perf_counter()
    n = len(index)
    results["build"] = {
        "read_and_extract_s": round(t1 - t0, 3),
        "tables_s": round(t2 - t1, 3),
        "build_songs_per_s": round(n / (t2 - t0), 1),
        "read_and_extract_cpu_s": round(c1 - c0, 3),
        "tables_cpu_s": round(c2 - c1, 3),
        "build_songs_per_cpu_s": round(n / (c2 - c0), 1),
        "notes": int(sum(m.n_notes for m in corpus.metas)),
        "load_average_at_start": os.getloadavg()[0],
        "calibration_s": round(t3 - t2, 3),
        "calibration_songs": index.calibration["songs"],
        "save_s": round(t4 - t3, 3),
        "tokens": len(index.tokens),
        "streams": index.n_streams,
        "memory_mb": round(index.nbytes() / 2**20, 1),
        "disk_mb": round(dir_bytes(where) / 2**20, 1),
    }
    print(json.dumps(results["build"], indent=1), flush=True)
    t5 = time.perf_counter()
    checker = Checker.open([root])  # what `tribute check` does: load the saved index
    results["build"]["load_s"] = round(time.perf_counter() - t5, 3)

    # Queries: new songs (seeds beyond the corpus) and transposed copies of indexed songs.
    rng = np.random.default_rng(0)
    half = args.queries // 2
    queries = [
        song_from_score(band_song(args.songs + 10_000 + i, bars=args.bars), f"new{i}")
        for i in range(half)
    ]
    copied = rng.choice(args.songs, size=args.queries - half, replace=False)
    queries += [
        song_from_score(
            band_song(int(s), bars=args.bars, key=int(s) % 12 + 2), f"copy-of-s{int(s):05d}"
        )
        for s in copied
    ]
    times, cpu_times, verdicts = [], [], {}
    reports = []
    for q in queries:
        started, cpu_started = time.perf_counter(), time.process_time()
        report = checker.check(q)
        times.append(time.perf_counter() - started)
        cpu_times.append(time.process_time() - cpu_started)
        reports.append(report)
        kind = "copy" if q.meta.id.startswith("copy") else "new"
        verdicts.setdefault(kind, {}).setdefault(report.verdict, 0)
        verdicts[kind][report.verdict] += 1
    named = sum(
        r.roles["lead"] is not None and r.song.endswith(r.roles["lead"].song_id)
        for r in reports[half:]
    )
    ms = np.array(times) * 1000
    results["query"] = {
        "queries": len(queries),
        "mean_ms": round(float(ms.mean()), 2),
        "p50_ms": round(float(np.percentile(ms, 50)), 2),
        "p95_ms": round(float(np.percentile(ms, 95)), 2),
        "max_ms": round(float(ms.max()), 2),
        "cpu_mean_ms": round(float(np.mean(cpu_times)) * 1000, 2),
        "verdicts": verdicts,
        "copies_with_source_named": named,
    }
    print(json.dumps(results["query"], indent=1), flush=True)

    # Baseline: naive all-pairs scan of lead melodies.
    leads = [melody_tokens(corpus.score(m), m.lead_track) for m in corpus.metas]
    base_times, agree = [], 0
    picks = [*queries[:1], *queries[half : half + max(args.baseline_queries - 1, 0)]]
    for q, report in zip(picks, [reports[0], *reports[half:]], strict=False):
        lead = melody_tokens(q.score, q.meta.lead_track)
        started = time.perf_counter()
        best = max(longest_common_run(lead, [ref]).length for ref in leads)
        base_times.append(time.perf_counter() - started)
        found = report.roles["lead"]
        index_len = found.length if found else 0
        # The index reports runs of seed_n or more, and also melody-vs-other-part runs.
        agree += index_len == best or (best < DEFAULT_CONFIG.seed_n and index_len == 0)
    base_ms = float(np.mean(base_times) * 1000)
    results["baseline_all_pairs"] = {
        "queries": len(base_times),
        "mean_ms": round(base_ms, 1),
        "speedup": round(base_ms / float(ms.mean()), 1),
        "same_lead_run_length": agree,
    }
    results["load_average_at_end"] = os.getloadavg()[0]
    print(json.dumps(results["baseline_all_pairs"], indent=1), flush=True)

    if args.out:
        args.out.write_text(json.dumps(results, indent=1) + "\n")
    if tmp is not None:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
