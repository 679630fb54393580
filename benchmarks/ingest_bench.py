"""Ingestion: speed on band MIDI files against a music21 loader, and broken files recovered.

    python benchmarks/ingest_bench.py [--files 1000] [--baseline-files 30] [--repeats 3]
        [--compare-src /tmp/before/src --compare-label "before (3799f19)"]

1. Speed. Generates N typical band songs (``tests/songs.py``: drums, bass, guitar, lead; 64 bars
   ≈ 2 minutes at 100-160 qpm, ~1,600 notes each) into a temporary folder and measures:

   - ``tribute``: a cold ``corpus build`` (empty cache, all cores, a fresh process), the
     fastest of ``--repeats`` runs, in files/s — target ≥ 1,000 on 2 cores (643 on a quiet
     machine before the SQLite cache and the hot-path work of this version). The machine is
     shared, so CPU seconds (parent + workers) are recorded too;
   - ``other`` (with ``--compare-src``): another version's source tree (e.g. the previous
     commit, from ``git archive REV src``) built run for run alternating with this one, so
     that both see the same load;
   - ``rebuild``: the same build again over the unchanged folder (everything from the cache);
   - ``music21``: the baseline in the same run, ``music21.converter.parse`` on a sample of the
     same files (too slow to run on all of them), in files/s; the ratio target is ≥ 100×;
   - ``stages``: CPU ms per file of each step of ingesting one file (read, normalize, melody
     n-grams, MIDI out, cache entry), in one process on a sample: what limits the build.

2. Recovery. ``tests/fake_corpus.py``'s broken-file fixture set (a cut last track, a cut middle
   track, out-of-range velocities and pitches, gzip-compressed files, a header alone, noise,
   WMA audio named .mid, …) is built into a corpus; ``recovered`` is the share of the
   repairable files kept with a "repaired:" warning, ``refused_with_reason`` the share of the
   hopeless ones skipped with the expected reason.

Writes the numbers with the machine, versions and load to ``--out`` (benchmarks/
ingest_bench.json; a copy goes to benchmarks/results/ingest.json) and the Markdown report to
benchmarks/ingest_bench.md.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from machine import machine, versions  # noqa: E402

from fake_corpus import write_broken_midi  # noqa: E402
from songs import write_song  # noqa: E402
from tribute.corpus import BuildConfig, build  # noqa: E402
from tribute.corpus.families import melody_grams  # noqa: E402
from tribute.corpus.ingest import FileResult, PieceResult, _blob, _header  # noqa: E402
from tribute.corpus.normalize import normalize  # noqa: E402
from tribute.corpus.readers import read_midi  # noqa: E402

TARGET_FILES_PER_S = 1000
BEFORE_FILES_PER_S = 643.4  # results/ingest.json of the previous version (quiet machine)
STAGE_SAMPLE = 300  # files timed stage by stage


# One cold build and one unchanged rebuild in a fresh process (so that another version's source
# tree can run under the same conditions): wall and CPU seconds as JSON on stdout.
RUNNER = """
import json, resource, sys, time
from tribute.corpus import BuildConfig, build

def cpu(who):
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime

parent, workers = cpu(resource.RUSAGE_SELF), cpu(resource.RUSAGE_CHILDREN)
started = time.perf_counter()
corpus = build([sys.argv[1]], sys.argv[2], BuildConfig(), progress=False)
cold = time.perf_counter() - started
parent = cpu(resource.RUSAGE_SELF) - parent
workers = cpu(resource.RUSAGE_CHILDREN) - workers
started = time.perf_counter()
build([sys.argv[1]], sys.argv[2], BuildConfig(), progress=False)
rebuild = time.perf_counter() - started
print(json.dumps({"cold_s": cold, "cpu_s": parent + workers, "parent_cpu_s": parent,
                  "workers_cpu_s": workers, "rebuild_s": rebuild,
                  "kept": len(corpus), "notes": corpus.report()["notes"]}))
"""


def one_build(src: Path, tmp: Path, tree: Path | None, run: int) -> dict:
    """Cold build + rebuild of ``src`` in a fresh process with an empty cache; ``tree``: the
    ``src`` folder of another tribute version to run instead of this one."""
    name = f"{'other' if tree else 'this'}{run}"
    env = {**os.environ, "TRIBUTE_CACHE_DIR": str(tmp / f"cache_{name}")}
    if tree is not None:
        env["PYTHONPATH"] = str(tree)
    out = subprocess.run(
        [sys.executable, "-c", RUNNER, str(src), str(tmp / f"corpus_{name}")],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    shutil.rmtree(tmp / f"corpus_{name}")
    return json.loads(out.strip().splitlines()[-1])


def cold_builds(src: Path, tmp: Path, repeats: int, other: Path | None) -> dict:
    """Fastest of ``repeats`` cold builds (fresh cache, fresh corpus) and unchanged rebuilds;
    with ``other``, that version's builds alternate with these, run for run."""
    runs: dict[str, list[dict]] = {"this": [], "other": []}
    for run in range(repeats):
        runs["this"].append(one_build(src, tmp, None, run))
        if other is not None:
            runs["other"].append(one_build(src, tmp, other, run))
    result = _speed(runs["this"])
    if other is not None:
        result["other"] = _speed(runs["other"])
    return result


def _speed(runs: list[dict]) -> dict:
    fastest = min(runs, key=lambda r: r["cold_s"])
    return {
        "pieces_kept": runs[-1]["kept"],
        "notes_per_file": round(runs[-1]["notes"] / max(1, runs[-1]["kept"])),
        "cold_s_runs": [round(r["cold_s"], 3) for r in runs],
        "cold_s": round(min(r["cold_s"] for r in runs), 3),
        "cpu_s": round(min(r["cpu_s"] for r in runs), 3),
        "fastest_run_cpu_s": {  # where the CPU of the fastest run went
            "parent": round(fastest["parent_cpu_s"], 3),
            "workers": round(fastest["workers_cpu_s"], 3),
        },
        "rebuild_unchanged_s": round(min(r["rebuild_s"] for r in runs), 3),
    }


def write_songs(src: Path, count: int) -> None:
    for seed in range(count):
        write_song(
            src / f"artist{seed % 20}" / f"song{seed}.mid",
            seed,
            bars=64,
            tempo_qpm=100 + seed % 60,
            key=seed % 12,
        )


def stage_times(src: Path) -> dict:
    """CPU ms per file of each ingest step, one process, on a sample of the files."""
    paths = sorted(src.rglob("*.mid"))[:STAGE_SAMPLE]
    totals = dict.fromkeys(("read", "normalize", "melody_grams", "midi_out", "cache_entry"), 0.0)
    for path in paths:
        clock = time.process_time()
        raw = read_midi(path.read_bytes())
        totals["read"] += time.process_time() - clock
        clock = time.process_time()
        score, meta = normalize(raw)
        totals["normalize"] += time.process_time() - clock
        clock = time.process_time()
        grams = melody_grams(score, meta.lead_track)
        totals["melody_grams"] += time.process_time() - clock
        clock = time.process_time()
        midi = score.dumps_midi()
        totals["midi_out"] += time.process_time() - clock
        clock = time.process_time()
        piece = PieceResult("", "", meta=meta.to_json(), midi=midi, grams=grams.tobytes())
        entry = FileResult(path=str(path), pieces=[piece])
        _header(entry), _blob(entry)
        totals["cache_entry"] += time.process_time() - clock
    return {name: round(1e3 * value / len(paths), 3) for name, value in totals.items()}


def music21_rate(src: Path, count: int) -> tuple[int, float]:
    import music21

    sample = sorted(src.rglob("*.mid"))[:count]
    started = time.perf_counter()
    for path in sample:
        music21.converter.parse(str(path))
    return len(sample), len(sample) / (time.perf_counter() - started)


def recovery(tmp: Path) -> dict:
    """Build the broken-file fixture set; what was recovered and what was refused, per file."""
    os.environ["TRIBUTE_CACHE_DIR"] = str(tmp / "cache_broken")
    expected = write_broken_midi(tmp / "broken")
    corpus = build([str(tmp / "broken")], tmp / "corpus_broken", BuildConfig(), progress=False)
    report = corpus.report()
    kept = {Path(m.source).name: m for m in corpus.metas}
    skipped = {Path(e["source"]).name: e["reason"] for e in report["skipped"]}
    files, recovered, refused = {}, 0, 0
    for name, outcome in expected.items():
        if outcome is None:
            meta = kept.get(name)
            repairs = [w for w in meta.warnings if w.startswith("repaired: ")] if meta else []
            recovered += bool(repairs)
            files[name] = {
                "expected": "recovered",
                "got": "recovered" if repairs else f"lost: {skipped.get(name, 'kept unrepaired')}",
                "notes": meta.n_notes if meta else 0,
                "detail": "; ".join(repairs),
            }
        else:
            reason = skipped.get(name, "")
            refused += outcome in reason
            files[name] = {"expected": "refused", "got": "refused" if reason else "kept"}
            files[name]["detail"] = reason
    repairable = sum(o is None for o in expected.values())
    return {
        "files": len(expected),
        "repairable": repairable,
        "recovered": recovered,
        "recovered_share": round(recovered / repairable, 3),
        "hopeless": len(expected) - repairable,
        "refused_with_reason": refused,
        "refused_share": round(refused / (len(expected) - repairable), 3),
        "per_file": files,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--baseline-files", type=int, default=30)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--compare-src",
        type=Path,
        help="the src/ folder of another tribute version (e.g. `git archive REV src`): its "
        "cold builds alternate with this version's, under the same load",
    )
    parser.add_argument("--compare-label", default="", help="how the report names it")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "ingest_bench.json")
    parser.add_argument("--md", type=Path, default=ROOT / "benchmarks" / "ingest_bench.md")
    args = parser.parse_args()

    load_start = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="tribute-bench-") as name:
        tmp = Path(name)
        write_songs(tmp / "songs", args.files)
        speed = cold_builds(tmp / "songs", tmp, args.repeats, args.compare_src)
        stages = stage_times(tmp / "songs")
        sample, music21_files_per_s = music21_rate(tmp / "songs", args.baseline_files)
        recovered = recovery(tmp)
    files_per_s = args.files / speed["cold_s"]
    result = {
        "files": args.files,
        **speed,
        "tribute_files_per_s": round(files_per_s, 1),
        "files_per_cpu_s": round(args.files / speed["cpu_s"], 1),
        "cpu_ms_per_file": round(1e3 * speed["cpu_s"] / args.files, 3),
        "stages_cpu_ms_per_file": stages,
        "music21_baseline_files": sample,
        "music21_files_per_s": round(music21_files_per_s, 2),
        "speedup_vs_music21": round(files_per_s / music21_files_per_s, 1),
        "recovery": recovered,
        "compared_with": args.compare_label or (str(args.compare_src) if args.compare_src else ""),
        "targets": {"files_per_s": TARGET_FILES_PER_S, "speedup": 100},
        "before_files_per_s": BEFORE_FILES_PER_S,
        "machine": machine(
            load_average_1min_start=round(load_start, 2),
            load_average_1min_end=round(os.getloadavg()[0], 2),
        ),
        "versions": versions("tribute", "symusic", "music21", "numpy"),
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }
    text = json.dumps(result, indent=1) + "\n"
    args.out.write_text(text)
    (ROOT / "benchmarks" / "results").mkdir(exist_ok=True)
    (ROOT / "benchmarks" / "results" / "ingest.json").write_text(text)
    args.md.write_text(markdown(result))
    print(markdown(result))


def _projection(r: dict) -> str:
    """Files/s that the fastest run's CPU allows on 2 idle cores: between the parent's work
    fully serial beside the workers (parent + workers / 2) and everything overlapping."""
    parent, workers = r["fastest_run_cpu_s"]["parent"], r["fastest_run_cpu_s"]["workers"]
    low, high = r["files"] / (parent + workers / 2), r["files"] / ((parent + workers) / 2)
    return f"{low:.0f}-{high:.0f} files/s (not measured: the cores were not idle)"


def _other_rows(r: dict) -> list[str]:
    """Rows for the other version's builds, when they ran alternating with these."""
    if "other" not in r:
        return []
    o, label = r["other"], r["compared_with"]
    rate, cpu_ms = r["files"] / o["cold_s"], 1e3 * o["cpu_s"] / r["files"]
    return [
        f"| {label}: cold build, same runs interleaved | {o['cold_s']} s → {rate:.1f} files/s "
        f"(runs {', '.join(map(str, o['cold_s_runs']))} s); this version "
        f"{o['cold_s'] / r['cold_s']:.2f}× faster |",
        f"| {label}: CPU | {cpu_ms:.3f} ms per file; this version "
        f"{o['cpu_s'] / r['cpu_s']:.2f}× less |",
        f"| {label}: unchanged rebuild | {o['rebuild_unchanged_s']} s |",
    ]


def markdown(r: dict) -> str:
    m, rec, st = r["machine"], r["recovery"], r["stages_cpu_ms_per_file"]
    reached = "reached" if r["tribute_files_per_s"] >= TARGET_FILES_PER_S else "**not reached**"
    lines = [
        "# Ingestion benchmark",
        "",
        "Command (from the repository root, with the venv active; a few minutes):",
        "",
        "    python benchmarks/ingest_bench.py   # --files 1000 --baseline-files 30 --repeats 3",
        "",
        "Writes `ingest_bench.json` (and the same numbers to `results/ingest.json`) and this",
        "file. What each figure means is in the script's docstring.",
        "",
        f"## Last results ({r['date']})",
        "",
        f"Machine: {m['platform']}, {m['cpu']}, {m['cores_usable']} usable cores shared with "
        f"other jobs (1-min load average {m['load_average_1min_start']} at start, "
        f"{m['load_average_1min_end']} at end). Versions: "
        + ", ".join(f"{k} {v}" for k, v in r["versions"].items())
        + ".",
        "",
        "### Speed: cold build of 1,000 band MIDI files",
        "",
        "| measure | value |",
        "|---|---|",
        f"| files | {r['files']} ({r['notes_per_file']} notes each on average) |",
        f"| cold build, fastest of {len(r['cold_s_runs'])} | {r['cold_s']} s → "
        f"**{r['tribute_files_per_s']} files/s** (target {TARGET_FILES_PER_S}: {reached}; "
        f"runs {', '.join(map(str, r['cold_s_runs']))} s) |",
        f"| CPU (parent + workers), least of the runs | {r['cpu_ms_per_file']} ms per file → "
        f"{r['files_per_cpu_s']} files per CPU-second (fastest run: parent "
        f"{r['fastest_run_cpu_s']['parent']} s, workers {r['fastest_run_cpu_s']['workers']} s) |",
        f"| idle 2-core projection from this CPU | {_projection(r)} |",
        f"| unchanged rebuild | {r['rebuild_unchanged_s']} s |",
        *_other_rows(r),
        f"| music21 baseline (same run) | {r['music21_files_per_s']} files/s on "
        f"{r['music21_baseline_files']} files → {r['speedup_vs_music21']}× |",
        "",
        "CPU ms per file of each step, one process:",
        "",
        "| " + " | ".join(st) + " | sum |",
        "|" + "---|" * (len(st) + 1),
        "| " + " | ".join(str(v) for v in st.values()) + f" | {round(sum(st.values()), 3)} |",
        "",
        "### Recovery: the broken-file fixture set (`tests/fake_corpus.py`)",
        "",
        f"Recovered **{rec['recovered']} of {rec['repairable']}** repairable files "
        f"({100 * rec['recovered_share']:.0f} %), each kept with its warning; refused "
        f"{rec['refused_with_reason']} of {rec['hopeless']} hopeless files with the expected "
        "reason.",
        "",
        "| file | expected | got | notes | warning or reason |",
        "|---|---|---|---|---|",
    ]
    for name, f in rec["per_file"].items():
        detail = f["detail"].replace("|", "/")
        lines.append(f"| {name} | {f['expected']} | {f['got']} | {f.get('notes', '')} | {detail} |")
    return "\n".join(lines) + "\n" + LIMITS


LIMITS = """
### What limits it

- Where the CPU goes: the workers' share is the stage table (measured in one process) plus
  reading and hashing each file, the time limit, the cache lookup and the result's trip back
  to the parent; the parent's share is collecting the folder, labels, exact duplicates,
  families and writing one score file per piece (creating a small file costs ~0.3 ms of
  kernel time on this VM disk, so 4 threads write them). No single step dominates: what is
  left is symusic's C++ work and many small numpy calls per file.
- This version removed one file creation per input file (the ingest cache is one SQLite file
  per settings hash, stored by the parent in batches of 256, instead of a JSON file per entry:
  ~0.5 ms each), a resolve() per file and per label lookup, and redundant work in
  normalization (a score copy, a second seconds conversion, repeated note-array conversions),
  the content hash (one digest update per track) and the melody n-grams (sorting instead of
  hashing unique values; the formula n-grams are dropped at the source).
- The machine is shared: at a 1-min load of 4-6 (other jobs on both cores) wall times
  stretch 2-4x and vary run to run, and CPU seconds grow under contention too; the
  interleaved comparison with the previous version is the fair figure.
"""


if __name__ == "__main__":
    main()
