"""Training on a busy machine: tokens/s alone and beside a competing CPU-bound process.

    python benchmarks/train_load_bench.py [--preset small] [--steps 30] [--rounds 2]
        [--out benchmarks/train_load_bench.json]

Each measurement is one ``tribute pretrain`` subprocess (a synthetic band corpus, the preset at
8 × 256 tokens per step, ``--max-steps``), its steady tokens/s read from ``training.json``
(after the first log window). Thread settings compared:

- ``auto``: what tribute does now — the cores other work leaves free, followed during the run
  (``tribute.threads``);
- ``all``: every core (``--threads`` = the core count): PyTorch's default, the old behaviour;
- ``…, passive``: the same with ``OMP_WAIT_POLICY=PASSIVE`` (OpenMP threads sleep at barriers
  instead of spinning).

Each runs alone and beside one competing process (a pure-Python busy loop at normal priority,
started before the run and stopped after it), alternating for ``--rounds`` rounds; the best
round of each is kept. The target (issue 18): beside one busy process on 2 cores, ≥ 40 % of the
quiet throughput (a fair share is 50 %).

Writes JSON (``--out``) and prints the Markdown table for benchmarks/train_load_bench.md.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from machine import machine, versions

from fake_corpus import write_corpus

SETTINGS = {
    "auto": ([], {}),
    "auto, passive": ([], {"OMP_WAIT_POLICY": "PASSIVE"}),
    "all": (["--threads", str(len(os.sched_getaffinity(0)))], {}),
    "all, passive": (
        ["--threads", str(len(os.sched_getaffinity(0)))],
        {"OMP_WAIT_POLICY": "PASSIVE"},
    ),
}
COMPETITOR = "while True: pass"


def run_once(corpus: Path, work: Path, preset: str, steps: int, flags, env) -> dict:
    out = work / f"run-{time.monotonic_ns()}"
    command = [
        sys.executable, "-m", "tribute", "pretrain", str(corpus), "--out", str(out),
        "--preset", preset, "--max-steps", str(steps), "--seq-len", "256", "--batch-size", "8",
        "--eval-every", str(10 * steps), "--save-every", str(10 * steps), "--sample-tokens", "8",
        "--no-progress", *flags,
    ]  # fmt: skip
    clean = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "OMP_WAIT_POLICY")}
    done = subprocess.run(command, env={**clean, **env}, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(done.stderr[-2000:])
    result = json.loads((out / "training.json").read_text())["result"]
    threads = [line for line in done.stdout.splitlines() if line.startswith("threads:")]
    return {
        "tokens_per_s": result["steady_tokens_per_s"],
        "threads": threads[0][9:] if threads else "",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--preset", default="small")
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/train_load_bench.json"))
    args = parser.parse_args()

    results: dict[str, dict[str, list[dict]]] = {
        name: {"alone": [], "beside one busy process": []} for name in SETTINGS
    }
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        os.environ["TRIBUTE_CACHE_DIR"] = str(work / "cache")
        corpus = write_corpus(work / "corpus", n_train=24, n_validation=4, bars=16)
        run_once(corpus, work, "tiny", 2, [], {})  # tokenizer and token cache warm
        for round_ in range(args.rounds):
            for name, (flags, env) in SETTINGS.items():
                for condition in ("alone", "beside one busy process"):
                    competitor = (
                        subprocess.Popen([sys.executable, "-c", COMPETITOR])
                        if condition != "alone"
                        else None
                    )
                    try:
                        measured = run_once(corpus, work, args.preset, args.steps, flags, env)
                    finally:
                        if competitor is not None:
                            competitor.kill()
                            competitor.wait()
                    results[name][condition].append(measured)
                    print(f"round {round_ + 1} {name} {condition}: {measured}", flush=True)
    best = {
        name: {c: max(runs, key=lambda r: r["tokens_per_s"]) for c, runs in by.items()}
        for name, by in results.items()
    }
    quiet = best["all"]["alone"]["tokens_per_s"]  # the quiet machine's throughput
    report = {
        "preset": args.preset,
        "steps": args.steps,
        "rounds": args.rounds,
        "best": best,
        "share_of_quiet_beside_one": {
            name: round(b["beside one busy process"]["tokens_per_s"] / quiet, 3)
            for name, b in best.items()
        },
        "all_runs": results,
        "machine": machine(load_before=os.getloadavg()),
        "versions": versions("torch", "transformers", "accelerate"),
    }
    args.out.write_text(json.dumps(report, indent=1) + "\n")
    print(table(report))


def table(report: dict) -> str:
    lines = [
        f"{report['preset']} preset, 8 × 256 tokens per step, best of {report['rounds']} rounds",
        "",
        "| threads | alone tok/s | beside one busy process tok/s | share of quiet "
        "| threads chosen |",
        "|---|---:|---:|---:|---|",
    ]
    for name, b in report["best"].items():
        alone, busy = b["alone"], b["beside one busy process"]
        lines.append(
            f"| {name} | {alone['tokens_per_s']:,.0f} | {busy['tokens_per_s']:,.0f} | "
            f"{100 * report['share_of_quiet_beside_one'][name]:.0f} % | "
            f"{alone['threads']} / {busy['threads']} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
