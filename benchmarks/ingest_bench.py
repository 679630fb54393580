"""Ingestion speed: tribute's corpus build vs a music21-based loader, in the same run.

Generates N typical band songs (drums, bass, guitar, lead; 64 bars ≈ 2 minutes at 120 qpm,
~1,700 notes each) into a temporary folder, then measures:

- ``tribute``: a cold ``corpus build`` (empty cache, all cores) in files/s — target ≥ 300;
- ``rebuild``: the same build again over the unchanged folder (everything from the cache);
- ``music21``: the baseline, ``music21.converter.parse`` on a sample of the same files
  (it is too slow to run on all of them), in files/s; the ratio target is ≥ 100×.

Run:  .venv/bin/python benchmarks/ingest_bench.py [--files 1000] [--baseline-files 40]
Writes benchmarks/results/ingest.json with the machine and versions.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from machine import machine, versions

from songs import write_song
from tribute.corpus import BuildConfig, build


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--baseline-files", type=int, default=40)
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "ingest.json"))
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="tribute-bench-") as tmp:
        tmp = Path(tmp)
        os.environ["TRIBUTE_CACHE_DIR"] = str(tmp / "cache")
        src = tmp / "songs"
        for seed in range(args.files):
            write_song(
                src / f"artist{seed % 20}" / f"song{seed}.mid",
                seed,
                bars=64,
                tempo_qpm=100 + seed % 60,
                key=seed % 12,
            )

        started = time.perf_counter()
        corpus = build([str(src)], tmp / "corpus", BuildConfig(), progress=False)
        cold_s = time.perf_counter() - started
        notes = corpus.report()["notes"]
        started = time.perf_counter()
        build([str(src)], tmp / "corpus", BuildConfig(), progress=False)
        warm_s = time.perf_counter() - started

        import music21

        sample = sorted(src.rglob("*.mid"))[: args.baseline_files]
        started = time.perf_counter()
        for path in sample:
            music21.converter.parse(str(path))
        music21_s = time.perf_counter() - started

    tribute_rate = args.files / cold_s
    music21_rate = len(sample) / music21_s
    result = {
        "files": args.files,
        "pieces_kept": len(corpus),
        "notes_per_file": round(notes / len(corpus)),
        "tribute_cold_s": round(cold_s, 2),
        "tribute_files_per_s": round(tribute_rate, 1),
        "rebuild_unchanged_s": round(warm_s, 2),
        "music21_baseline_files": len(sample),
        "music21_files_per_s": round(music21_rate, 2),
        "speedup_vs_music21": round(tribute_rate / music21_rate, 1),
        "targets": {"files_per_s": 300, "speedup": 100},
        "machine": machine(load_average_1min=round(os.getloadavg()[0], 2)),
        "versions": versions("tribute", "symusic", "music21", "numpy"),
        "date": time.strftime("%Y-%m-%d"),
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
