"""Full fine-tuning against LoRA at equal wall-clock: which lowers held-out artist loss more?

    python benchmarks/finetune_method.py [--presets small [tiny]] [--tune-seconds 40]
        [--base-steps 30] [--work /tmp/tribute-finetune-bench]
        [--out benchmarks/finetune_method.json]

Issue 4: ``DEFAULT_METHOD`` in ``tribute.train.finetune`` should be whichever method wins on
held-out loss at equal wall-clock. Per preset: pretrain a base for ``--base-steps`` steps on a
genre corpus (music21 ABC folk: ``miscFolk+oneills1850``, 600 pieces), then fine-tune it on an
artist corpus (60 Bach chorales, held-out families for validation) once with ``method="full"``
and once with ``method="lora"``, each for the same training seconds. The number of steps each
method gets comes from a short calibration run of each (seconds per step): full fine-tuning gets
the steps that fill ``--tune-seconds`` and LoRA as many steps as take the same time (from the
ratio of the two calibrations, run back to back); the achieved seconds are recorded. Everything
else is the shipped default (learning rate 2e-4, LoRA r=8 on every projection, augmentation),
at sequence length 256 and batch 8. Losses are the ``summary`` block of each output's
``training.json``.

Writes JSON (``--out``) and prints a Markdown table for benchmarks/finetune_method.md.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import torch
from machine import machine as common_machine
from machine import versions as common_versions

from tribute.corpus import BuildConfig, build
from tribute.tokens import TokenizerConfig
from tribute.train.data import DataConfig
from tribute.train.finetune import DEFAULT_METHOD, FinetuneConfig, finetune
from tribute.train.loop import TrainConfig
from tribute.train.pretrain import PretrainConfig, default_train_config, pretrain

ARTIST = "music21:bach-chorales"
GENRE = "music21:miscFolk+oneills1850"
SEQ_LEN = 256  # tokens per sequence, base and fine-tuning alike
BATCH = 8
CALIBRATION_STEPS = 6  # a short run of each method gives its seconds per step


def _quiet(*args, **kwargs) -> None:
    pass


def machine() -> dict:
    return common_machine(torch_threads=torch.get_num_threads())


def versions() -> dict:
    return common_versions(
        "torch", "transformers", "peft", "accelerate", "miditok", "music21", "symusic"
    )


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def corpora(work: Path) -> tuple[Path, Path]:
    artist, genre = work / "corpus-bach", work / "corpus-folk"
    if not (artist / "corpus.json").is_file():
        build([ARTIST], artist, BuildConfig(max_pieces=60), progress=False)
    if not (genre / "corpus.json").is_file():
        build([GENRE], genre, BuildConfig(max_pieces=600), progress=False)
    return artist, genre


def pretrain_base(preset: str, genre: Path, out: Path, steps: int) -> dict:
    config = PretrainConfig(
        preset=preset,
        tokenizer=TokenizerConfig(vocab_size=1000),
        data=DataConfig(augment_copies=1),
        train=default_train_config(
            preset,
            max_steps=steps,
            seq_len=SEQ_LEN,
            batch_size=BATCH,
            eval_every=steps,
            save_every=steps,
            progress=False,
        ),
        sample_tokens=16,
    )
    started = time.perf_counter()
    result = pretrain(genre, out, config, force=True, log=_quiet)
    return {
        "steps": result.steps,
        "train_seconds": round(result.seconds, 1),
        "wall_seconds": round(time.perf_counter() - started, 1),
        "val_loss_genre": result.val_loss,
    }


def tune(base: Path, artist: Path, out: Path, method: str, steps: int) -> dict:
    config = FinetuneConfig(
        style="Bach",
        method=method,
        probe_songs=0,
        train=TrainConfig(
            learning_rate=2e-4,
            warmup_steps=20,
            seq_len=SEQ_LEN,
            batch_size=BATCH,
            max_steps=steps,
            progress=False,
        ),
    )
    started = time.perf_counter()
    result = finetune(base, artist, out, config, force=True, log=_quiet)
    summary = json.loads((out / "training.json").read_text())["summary"]
    return {
        "steps": result.steps,
        "train_seconds": round(result.seconds, 2),
        "wall_seconds": round(time.perf_counter() - started, 1),
        "seconds_per_step": round(result.seconds / max(1, result.steps), 3),
        **{
            k: summary[k]
            for k in (
                "validation_loss_before",
                "validation_loss_after",
                "bits_per_note_before",
                "bits_per_note_after",
            )
        },
    }


def run_preset(preset: str, artist: Path, genre: Path, work: Path, args) -> dict:
    base = work / f"base-{preset}"
    print(f"[{preset}] pretraining the base for {args.base_steps} steps", flush=True)
    found = {"preset": preset, "base": pretrain_base(preset, genre, base, args.base_steps)}
    print(f"[{preset}] base: {found['base']}", flush=True)
    calibration = {
        m: tune(base, artist, work / f"cal-{preset}-{m}", m, CALIBRATION_STEPS)["seconds_per_step"]
        for m in ("full", "lora")
    }
    # Full gets the steps that fill --tune-seconds; LoRA the steps that take as long, from the
    # ratio of the two calibrations (run back to back, so the machine's load cancels out).
    steps = {"full": max(CALIBRATION_STEPS, round(args.tune_seconds / calibration["full"]))}
    steps["lora"] = max(
        CALIBRATION_STEPS, round(steps["full"] * calibration["full"] / calibration["lora"])
    )
    print(f"[{preset}] calibration s/step {calibration} → steps {steps}", flush=True)
    for method in ("full", "lora"):
        found[method] = tune(base, artist, work / f"tuned-{preset}-{method}", method, steps[method])
        found[method]["calibration_seconds_per_step"] = calibration[method]
        print(f"[{preset}] {method}: {found[method]}", flush=True)
    losses = {m: found[m]["validation_loss_after"] for m in ("full", "lora")}
    found["winner"] = min(losses, key=losses.get)
    found["default_method"] = DEFAULT_METHOD.get(preset)
    found["agrees_with_default"] = found["winner"] == found["default_method"]
    return found


def table(results: list[dict]) -> str:
    lines = [
        "| preset | method | steps | train s | s/step | held-out loss before → after"
        " | bits/note before → after |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in results:
        for method in ("full", "lora"):
            m = r[method]
            win = "**" if r["winner"] == method else ""
            lines.append(
                f"| {r['preset']} | {win}{method}{win} | {m['steps']} | {m['train_seconds']:.1f}"
                f" | {m['seconds_per_step']:.3f} | {m['validation_loss_before']:.3f} → "
                f"{win}{m['validation_loss_after']:.3f}{win} | {m['bits_per_note_before']:.2f}"
                f" → {m['bits_per_note_after']:.2f} |"
            )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presets", nargs="+", default=["small"])
    parser.add_argument("--tune-seconds", type=float, default=40.0)
    parser.add_argument("--base-steps", type=int, default=30)
    parser.add_argument("--work", type=Path, default=Path("/tmp/tribute-finetune-bench"))
    parser.add_argument("--out", type=Path, default=Path("benchmarks/finetune_method.json"))
    args = parser.parse_args()

    started = time.perf_counter()
    report = {
        "command": "python " + " ".join(sys.argv),
        "date_utc": time.strftime("%Y-%m-%d %H:%M", time.gmtime()),
        "machine": machine(),
        "versions": versions(),
        "load_average_at_start": load_average(),
        "settings": {
            "artist_corpus": f"{ARTIST} (BuildConfig(max_pieces=60))",
            "genre_corpus": f"{GENRE} (BuildConfig(max_pieces=600))",
            "seq_len": SEQ_LEN,
            "batch_size": BATCH,
            "learning_rate": 2e-4,
            "tune_seconds": args.tune_seconds,
            "base_steps": args.base_steps,
        },
    }
    artist, genre = corpora(args.work)
    results = [run_preset(p, artist, genre, args.work, args) for p in args.presets]
    report["results"] = results
    report["load_average_at_end"] = load_average()
    report["wall_seconds"] = round(time.perf_counter() - started, 1)
    args.out.write_text(json.dumps(report, indent=1) + "\n")
    print(table(results))
    print(
        f"load average {report['load_average_at_start']} → {report['load_average_at_end']}; "
        f"{report['wall_seconds']} s"
    )


if __name__ == "__main__":
    main()
