"""Which pretraining recipe wins per CPU-hour? Held-out bits per note against CPU time.

Each arm is one ``tribute pretrain`` run with a wall-clock budget (``--time-budget``, which plans
the steps and the cosine decay to end on time) on ONE thread at low priority, so its CPU-minutes
are its wall minutes and a second core stays free. Arms vary one factor at a time around a
baseline: model size (preset), context length, BPE vocabulary size, learning rate and
augmentation copies. After training, every arm is scored the same way:

- held-out genre bits per note on a fixed, seeded sample of the corpus's test pieces;
- zero-shot bits per note on held-out songs of a target artist (``--artist``: pieces the genre
  never contained, e.g. the Bach chorales the base model is fine-tuned on later) — the figure
  that matters for the second training;
- the validation curve (nats per token over fixed windows) against training seconds.

Run::

    python benchmarks/recipe_study.py runs/base/genre --artist runs/base/bach \\
        --budget 900 --out runs/recipe --arms baseline,tiny,ctx256,vocab1000,...
    python benchmarks/recipe_study.py --report runs/recipe   # table + curves into benchmarks/

Results: ``benchmarks/recipe_study.json`` / ``.md`` / ``recipe_study.png``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from machine import machine, versions

BASELINE = {
    "preset": "small",
    "seq_len": 512,
    "vocab_size": 2000,
    "lr": 1e-3,
    "augment": 3,
    "harmony": False,  # a chord token before each bar
    "infill": 0.0,  # share of infill training windows (0: no infill markers)
}
ARMS = {
    "baseline": {},
    "tiny": {"preset": "tiny", "lr": 2e-3, "seq_len": 256},  # tiny's context is 256
    "ctx256": {"seq_len": 256},
    "ctx1024": {"seq_len": 1024},
    "vocab1000": {"vocab_size": 1000},
    "vocab4000": {"vocab_size": 4000},
    "lr3e-3": {"lr": 3e-3},
    "lr3e-4": {"lr": 3e-4},
    "aug0": {"augment": 0},
    "aug1": {"augment": 1},
    # Token-stream changes at the same budget: harmony must not make the model worse at
    # modelling music, infill windows must not cost left-to-right quality.
    "harmony": {"harmony": True},
    "infill25": {"harmony": True, "infill": 0.25},
    "infill50": {"harmony": True, "infill": 0.5},
    # The tiny preset won the first 15-minute round by far (4,052 steps against small's 305):
    # the factors again around it, and the sizes between.
    "tiny-vocab1000": {"preset": "tiny", "lr": 2e-3, "seq_len": 256, "vocab_size": 1000},
    "tiny-vocab4000": {"preset": "tiny", "lr": 2e-3, "seq_len": 256, "vocab_size": 4000},
    "tiny-lr1e-3": {"preset": "tiny", "lr": 1e-3, "seq_len": 256},
    "tiny-lr4e-3": {"preset": "tiny", "lr": 4e-3, "seq_len": 256},
    "tiny-aug0": {"preset": "tiny", "lr": 2e-3, "seq_len": 256, "augment": 0},
    "tiny-harmony": {"preset": "tiny", "lr": 2e-3, "seq_len": 256, "harmony": True},
    "tiny-infill25": {
        "preset": "tiny",
        "lr": 2e-3,
        "seq_len": 256,
        "harmony": True,
        "infill": 0.25,
    },
    "tiny-infill50": {"preset": "tiny", "lr": 2e-3, "seq_len": 256, "harmony": True, "infill": 0.5},
    "mini": {"preset": "mini", "lr": 1.5e-3, "seq_len": 256},
}
HELD_OUT_PIECES = 200  # genre test pieces scored per arm (seeded sample)
HERE = Path(__file__).parent


def arm_settings(name: str) -> dict:
    base = name.split("@")[0]  # "baseline@3600": the same arm at another budget
    return {**BASELINE, **ARMS[base]}


def arm_length(name: str, default_s: float) -> tuple[str, str]:
    """(flag, value): ``NAME@3600`` a time budget in seconds, ``NAME@4052steps`` a step count
    (equal steps compare arms of one model size at equal compute, free of the noise of timing
    trial steps on a shared machine)."""
    given = name.split("@")[1] if "@" in name else None
    if given and given.endswith("steps"):
        return "--max-steps", given[: -len("steps")]
    return "--time-budget", str(float(given) if given else default_s)


def run_arm(corpus: Path, out: Path, name: str, budget_s: float, log) -> dict:
    """Train one arm in a subprocess on one thread; returns its training record's essentials."""
    s = arm_settings(name)
    folder = out / name.replace("@", "-")
    if (folder / "training.json").is_file():
        log(f"{name}: done earlier")
        return json.loads((folder / "training.json").read_text())
    command = [
        sys.executable,
        "-m",
        "tribute",
        "pretrain",
        str(corpus),
        "--out",
        str(folder),
        "--preset",
        s["preset"],
        "--seq-len",
        str(s["seq_len"]),
        "--vocab-size",
        str(s["vocab_size"]),
        "--lr",
        str(s["lr"]),
        "--augment-copies",
        str(s["augment"]),
        *arm_length(name, budget_s),
        "--save-every",
        "1000000",
        "--validations",
        "10",
        "--no-progress",
        "--force",
    ]
    if not s.get("harmony"):
        command.append("--no-harmony")
    if s.get("infill"):
        command += ["--infill-rate", str(s["infill"])]
    else:
        command.append("--no-infill")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    started = time.perf_counter()
    with open(out / f"{folder.name}.log", "w") as handle:
        code = subprocess.call(
            ["nice", "-n", "19", *command], env=env, stdout=handle, stderr=subprocess.STDOUT
        )
    if code:
        raise SystemExit(f"{name}: pretrain failed (see {out / folder.name}.log)")
    log(f"{name}: trained in {time.perf_counter() - started:.0f} s")
    return json.loads((folder / "training.json").read_text())


def score_arm(folder: Path, genre: Path, artist: Path | None) -> dict:
    """Held-out genre bits/note on a fixed sample, and zero-shot artist bits/note."""
    import numpy as np
    import torch

    from tribute.corpus.store import Corpus
    from tribute.modeldir import load_style_model
    from tribute.train.nll import held_out_bits

    torch.set_num_threads(1)
    model = load_style_model(folder)
    corpus = Corpus.open(genre)
    test = corpus.split("test")
    rng = np.random.default_rng(0)
    pick = sorted(rng.choice(len(test), min(HELD_OUT_PIECES, len(test)), replace=False))
    sample = Corpus(corpus.path, corpus.config, [test[i] for i in pick])
    out = {
        "genre_bits_per_note": float(held_out_bits(model, sample, "test").mean()),
        # Without the chord tokens' own cost: the music's bits (equal without harmony).
        "genre_music_bits_per_note": float(
            held_out_bits(model, sample, "test", music_only=True).mean()
        ),
        "genre_pieces": len(pick),
    }
    if artist is not None:
        artist_corpus = Corpus.open(artist)
        bits = held_out_bits(model, artist_corpus, "test")
        music = held_out_bits(model, artist_corpus, "test", music_only=True)
        out.update(
            artist_bits_per_note=float(bits.mean()),
            artist_music_bits_per_note=float(music.mean()),
            artist_pieces=len(bits),
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("corpus", nargs="?", type=Path)
    parser.add_argument("--artist", type=Path, help="target artist corpus (zero-shot score)")
    parser.add_argument("--out", type=Path, default=Path("runs/recipe"))
    parser.add_argument("--budget", type=float, default=900, help="seconds per arm")
    parser.add_argument("--arms", default="baseline", help="comma-separated names; NAME@SECONDS")
    parser.add_argument(
        "--report", type=Path, nargs="+", help="only write the report of these study folders"
    )
    args = parser.parse_args()
    if args.report:
        return report(*args.report)
    args.out.mkdir(parents=True, exist_ok=True)
    results_file = args.out / "results.json"
    results = json.loads(results_file.read_text()) if results_file.is_file() else {}
    for name in args.arms.split(","):
        flag, value = arm_length(name, args.budget)
        budget = float(value) if flag == "--time-budget" else None
        record = run_arm(args.corpus, args.out, name, args.budget, print)
        folder = args.out / name.replace("@", "-")
        scores = score_arm(folder, args.corpus, args.artist)
        results[name] = {
            "settings": arm_settings(name),
            "budget_s": budget,
            "steps": record["result"]["steps"],
            "tokens": record["result"]["tokens"],
            "seconds": record["result"]["seconds"],
            "best_val_loss": record["result"]["best_val_loss"],
            "curve": [
                {k: h.get(k) for k in ("step", "tokens", "seconds", "cpu_seconds", "val_loss")}
                for h in record["result"]["history"]
            ],
            **scores,
        }
        results_file.write_text(json.dumps(results, indent=1) + "\n")
        print(f"{name}: {json.dumps({k: v for k, v in results[name].items() if k != 'curve'})}")
    report(args.out)


NOTES = "## Reading the results"


def report(*folders: Path) -> None:
    """The table, JSON and curves of one or more study folders (arms by name, merged)."""
    results = {}
    for folder in folders:
        results.update(json.loads((folder / "results.json").read_text()))
    lines = [
        "# Recipe study: held-out bits per note against CPU time",
        "",
        "Each arm: `tribute pretrain` with `--time-budget`, one thread at nice 19, its steps "
        "planned from the CPU time of trial steps, on the music21 corpus without the Bach "
        f"chorales. Genre: held-out bits/note on {HELD_OUT_PIECES} seeded test pieces; Bach: "
        "zero-shot bits/note on the 41 held-out (test) Bach chorales the genre never contained. "
        "With harmony, *music* bits leave out the chord tokens' own cost (what a model without "
        "them pays); *all* includes it. Lower is better.",
        "",
        "| arm | preset | ctx | vocab | lr | aug | harmony | infill | budget s | steps | "
        "tokens | genre b/n (music / all) | Bach b/n (music / all) |",
        "|---|---|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, r in sorted(results.items(), key=lambda kv: (kv[1]["budget_s"] or 0, kv[0])):
        s = {**BASELINE, **r["settings"]}
        genre = r.get("genre_music_bits_per_note", r["genre_bits_per_note"])
        bach = r.get("artist_music_bits_per_note", r.get("artist_bits_per_note", float("nan")))
        budget = f"{r['budget_s']:.0f}" if r["budget_s"] else "steps"
        lines.append(
            f"| {name} | {s['preset']} | {s['seq_len']} | {s['vocab_size']} | {s['lr']:g} | "
            f"{s['augment']} | {'yes' if s['harmony'] else 'no'} | {s['infill']:g} | "
            f"{budget} | {r['steps']} | "
            f"{r['tokens']:,} | "
            f"{genre:.3f} / {r['genre_bits_per_note']:.3f} | "
            f"{bach:.3f} / {r.get('artist_bits_per_note', float('nan')):.3f} |"
        )
    record = {**machine(), **versions("torch", "transformers", "miditok")}
    lines += ["", f"Machine: {json.dumps(record)}", ""]
    md = HERE / "recipe_study.md"
    old = md.read_text() if md.is_file() else ""
    if NOTES in old:  # the hand-written reading of the results stays below the fresh table
        lines += [old[old.index(NOTES) :].rstrip("\n"), ""]
    md.write_text("\n".join(lines))
    (HERE / "recipe_study.json").write_text(
        json.dumps({"results": results, "machine": record}, indent=1) + "\n"
    )
    _plot(results, HERE / "recipe_study.png")
    print("\n".join(lines))


def _plot(results: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 5))
    for name, r in sorted(results.items()):
        clock = "cpu_seconds" if all(h.get("cpu_seconds") for h in r["curve"]) else "seconds"
        points = [(h[clock] / 60, h["val_loss"]) for h in r["curve"] if h.get(clock)]
        if points:
            ax.plot(*zip(*points, strict=True), marker=".", label=name)
    ax.set_xlabel("CPU minutes (one thread)")
    ax.set_ylabel("validation loss (nats per token; vocabularies differ)")
    ax.set_title("Pretraining curves of the recipe arms")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


if __name__ == "__main__":
    main()
