"""Do the controls hold? Chord adherence and density levels, against real songs as the yardstick.

    python benchmarks/controls_bench.py MODEL ARTIST_CORPUS [--bars 16] [--songs 16]
        [--out benchmarks/controls_bench.json]

- **Chords**: each held-out song's own chords (by the analysis that writes harmony tokens,
  ``tribute.music.harmony.bar_chords``) are asked of the model with ``--chords`` for its first
  ``--bars`` bars; the measure is the share of pitched, non-drum note-time on the requested
  chord's tones, and the share of the lowest part's downbeat notes on the chord's root or fifth.
  The real songs scored against their own analysed chords are the yardstick (not 100 %: passing
  tones and suspensions are music); songs composed *without* ``--chords`` scored against the same
  requested chords show what chance gives.
- **Density**: ``--density`` at each level for every part; notes per bar per part at each level,
  against the real songs' spread of the same figure (their 10th, 50th and 90th percentile).

Writes JSON (``--out``) and prints the Markdown tables for benchmarks/controls_bench.md.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).parent))
from machine import keep_run, machine, versions
from symusic import Score

from tribute.composition import ComposeConfig, Composer, Controls
from tribute.composition.controls import DENSITY_LEVELS, NO_CHORD, Section
from tribute.composition.lineup import parse_lineup
from tribute.corpus import Corpus
from tribute.evaluation.run import artist_style
from tribute.modeldir import load_style_model
from tribute.music import bar_start_ticks
from tribute.music.harmony import QUALITIES, bar_chords
from tribute.music.pitch import pitch_class

INTERVALS = {suffix: intervals for suffix, _, intervals in QUALITIES}


def chord_tones(symbol: str | None) -> tuple[int, frozenset[int]] | None:
    """(root, pitch classes) of a canonical chord symbol; None for no chord."""
    if symbol is None or symbol == NO_CHORD:
        return None
    match = re.fullmatch(r"([A-G][#b]?)(.*)", symbol)
    if not match or match.group(2) not in INTERVALS:
        return None
    root = pitch_class(match.group(1))
    return root, frozenset((root + i) % 12 for i in INTERVALS[match.group(2)])


def adherence(score: Score, chords: list[str | None], bars: int) -> dict:
    """Share of pitched note-time on each bar's chord tones; the lowest part's downbeat notes on
    the root or fifth."""
    starts = bar_start_ticks(score, until_tick=1 << 40)
    edges = list(starts[: bars + 1])
    pitched = [t for t in score.tracks if not t.is_drum and t.note_num()]
    if len(edges) < 2 or not pitched:
        return {"tone_share": None, "bass_share": None}
    lowest = min(pitched, key=lambda t: float(np.mean(t.notes.numpy()["pitch"])))
    on = total = bass_hits = bass_notes = 0.0
    for bar, chord in enumerate(chords[: len(edges) - 1]):
        tones = chord_tones(chord)
        if tones is None:
            continue
        root, pcs = tones
        begin, end = int(edges[bar]), int(edges[bar + 1])
        for track in pitched:
            notes = track.notes.numpy()
            inside = np.clip(notes["time"] + notes["duration"], begin, end) - np.clip(
                notes["time"], begin, end
            )
            chord_tone = np.isin(notes["pitch"] % 12, list(pcs))
            on += float(inside[chord_tone].sum())
            total += float(inside.sum())
        notes = lowest.notes.numpy()
        down = notes["pitch"][notes["time"] == begin] % 12
        bass_notes += len(down)
        bass_hits += int(np.isin(down, [root, (root + 7) % 12]).sum())
    return {
        "tone_share": on / total if total else None,
        "bass_share": bass_hits / bass_notes if bass_notes else None,
    }


def per_part_density(score: Score, bars: int) -> float:
    parts = [t.note_num() / bars for t in score.tracks if t.note_num()]
    return float(np.mean(parts)) if parts else 0.0


def _mean(values) -> float | None:
    kept = [v for v in values if v is not None]
    return round(float(np.mean(kept)), 3) if kept else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("model")
    parser.add_argument("artist_corpus")
    parser.add_argument("--bars", type=int, default=16)
    parser.add_argument("--songs", type=int, default=16)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--label", default="")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/controls_bench.json"))
    args = parser.parse_args()
    torch.set_num_threads(1)

    style_model = load_style_model(args.model)
    corpus = Corpus.open(args.artist_corpus)
    style = artist_style(style_model, corpus, None)
    real = [
        s.score
        for split in ("test", "validation")
        for s in corpus.songs(split)
        if len(bar_start_ticks(s.score)) >= args.bars
    ][: args.songs]
    bars = args.bars
    began = time.perf_counter()
    quiet = lambda *a, **k: None  # noqa: E731

    def composed(controls: Controls, seed: int) -> Score:
        composer = Composer.open(
            style_model,
            controls,
            ComposeConfig(style=style, seed=seed, guard=False, style_score=False),
            log=quiet,
        )
        return composer.generate([seed])[0][0].score

    form = (Section("song", bars),)
    chords_rows: dict[str, list[dict]] = {"real": [], "with_chords": [], "without_chords": []}
    for i, score in enumerate(real):
        asked = bar_chords(score, bars)
        chords_rows["real"].append(adherence(score, asked, bars))
        plan = tuple(c or NO_CHORD for c in asked)
        made = composed(Controls(form=form, chords=plan), args.seed + i)
        chords_rows["with_chords"].append(adherence(made, asked, bars))
        free = composed(Controls(form=form), args.seed + i)
        chords_rows["without_chords"].append(adherence(free, asked, bars))
        print(f"chords: song {i + 1}/{len(real)}", flush=True)

    parts = parse_lineup(None, style_model.programs())
    density_rows: dict[str, list[float]] = {}
    for level in DENSITY_LEVELS:
        setting = tuple(("*", p.name.lower(), level) for p in parts)
        density_rows[level] = [
            per_part_density(composed(Controls(form=form, density=setting), args.seed + i), bars)
            for i in range(len(real))
        ]
        print(f"density {level}: done", flush=True)
    real_density = [per_part_density(s, len(bar_start_ticks(s))) for s in real]
    result = {
        "label": args.label,
        "model": args.model,
        "bars": bars,
        "songs": len(real),
        "chords": {
            name: {
                "tone_share": _mean([r["tone_share"] for r in rows]),
                "bass_root_fifth_share": _mean([r["bass_share"] for r in rows]),
            }
            for name, rows in chords_rows.items()
        },
        "density": {
            "real_p10_p50_p90": [
                round(float(q), 2) for q in np.percentile(real_density, [10, 50, 90])
            ],
            **{
                level: {
                    "mean": _mean(values),
                    "p10_p50_p90": [
                        round(float(q), 2) for q in np.percentile(values, [10, 50, 90])
                    ],
                }
                for level, values in density_rows.items()
            },
        },
        "seconds": round(time.perf_counter() - began, 1),
        "machine": machine(threads=1),
        "versions": versions("torch", "transformers", "miditok", "symusic"),
    }
    runs = keep_run(args.out, result)
    print(table(runs))


def table(runs: list[dict]) -> str:
    lines = [
        "| run | songs | chord-tone share: real / --chords / no --chords | "
        "bass root-or-fifth: real / --chords / no --chords |",
        "|---|---:|---|---|",
    ]
    fmt = lambda v: "–" if v is None else f"{v:.2f}"  # noqa: E731
    for run in runs:
        c = run["chords"]
        lines.append(
            f"| {run['label']} | {run['songs']} | {fmt(c['real']['tone_share'])} / "
            f"{fmt(c['with_chords']['tone_share'])} / {fmt(c['without_chords']['tone_share'])} | "
            f"{fmt(c['real']['bass_root_fifth_share'])} / "
            f"{fmt(c['with_chords']['bass_root_fifth_share'])} / "
            f"{fmt(c['without_chords']['bass_root_fifth_share'])} |"
        )
    lines += ["", "| run | real p10 / p50 / p90 | " + " | ".join(DENSITY_LEVELS) + " |"]
    lines.append("|---|---|" + "---|" * len(DENSITY_LEVELS))
    for run in runs:
        d = run["density"]
        cells = [
            f"{d[level]['mean']:.2f} ({' / '.join(f'{q:.1f}' for q in d[level]['p10_p50_p90'])})"
            for level in DENSITY_LEVELS
        ]
        real = " / ".join(f"{q:.1f}" for q in d["real_p10_p50_p90"])
        lines.append(f"| {run['label']} | {real} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
