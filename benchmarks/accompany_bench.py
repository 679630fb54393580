"""Accompanying a melody: how many notes the written parts play, against the real song.

    python benchmarks/accompany_bench.py MODEL ARTIST_CORPUS [--songs 8] [--label NAME]
        [--out benchmarks/accompany_bench.json]

For each held-out song of the artist corpus, its highest part (by mean pitch) becomes a
one-track melody file and ``tribute accompany`` writes the song's other parts around it
(their programs, the whole song). Measured per part: notes per bar written against the real
part's, and the share of bars in which the part plays. Two sampler settings: as shipped (every
part plays in every bar, ``SectionPlan.every_bar``) and without that rule (the model alone).

Writes JSON (``--out``) and prints the Markdown table for benchmarks/accompany_bench.md.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).parent))
from machine import keep_run, machine, versions
from symusic import Score

import tribute.composition.edit as edit_module
from tribute.composition.edit import EditConfig, Editor
from tribute.corpus import Corpus
from tribute.evaluation.run import artist_style
from tribute.modeldir import load_style_model
from tribute.music import bar_start_ticks


def melody_file(score: Score, path: Path) -> tuple[list, int]:
    """Write the highest part as a one-track MIDI; the other parts and the bar count."""
    tracks = [t for t in score.tracks if t.notes and not t.is_drum]
    top = max(range(len(tracks)), key=lambda i: np.mean([n.pitch for n in tracks[i].notes]))
    melody = Score(score.ticks_per_quarter)
    melody.tempos, melody.time_signatures = score.tempos, score.time_signatures
    melody.tracks.append(tracks[top].copy())
    melody.dump_midi(str(path))
    return [t for i, t in enumerate(tracks) if i != top], max(1, len(bar_start_ticks(score)))


def part_figures(track, bar_ticks: np.ndarray, bars: int) -> tuple[float, float]:
    """(notes per bar, share of bars with a note)."""
    if track is None or not track.notes:
        return 0.0, 0.0
    times = np.array([n.time for n in track.notes], dtype=np.int64)
    played = set((np.searchsorted(bar_ticks, times, side="right") - 1).tolist())
    return len(times) / bars, len(played & set(range(bars))) / bars


def run_arm(editor: Editor, songs, work: Path) -> dict:
    work.mkdir(parents=True, exist_ok=True)
    made, real, made_bars, real_bars = [], [], [], []
    for i, song in enumerate(songs):
        others, bars = melody_file(song.score, work / f"m{i}.mid")
        instruments = ",".join(str(t.program) for t in others)
        record = editor.accompany(
            work / f"m{i}.mid", work / f"a{i}", instruments, log=lambda *a, **k: None
        )[0]
        written = Score(str(work / f"a{i}" / record.midi))
        real_ticks = bar_start_ticks(song.score, until_tick=1 << 40)
        made_ticks = bar_start_ticks(written, until_tick=1 << 40)
        for track in others:
            mine = next((t for t in written.tracks if t.program == track.program), None)
            notes, share = part_figures(mine, made_ticks, bars)
            made.append(notes)
            made_bars.append(share)
            notes, share = part_figures(track, real_ticks, bars)
            real.append(notes)
            real_bars.append(share)
    return {
        "parts": len(made),
        "notes_per_bar": float(np.mean(made)),
        "bars_played": float(np.mean(made_bars)),
        "real_notes_per_bar": float(np.mean(real)),
        "real_bars_played": float(np.mean(real_bars)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("model")
    parser.add_argument("artist_corpus")
    parser.add_argument("--songs", type=int, default=8)
    parser.add_argument("--label", default="")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/accompany_bench.json"))
    args = parser.parse_args()
    torch.set_num_threads(1)

    style_model = load_style_model(args.model)
    corpus = Corpus.open(args.artist_corpus)
    editor = Editor.open(
        style_model, EditConfig(style=artist_style(style_model, corpus, None), guard=False)
    )
    songs = [s for split in ("test", "validation") for s in corpus.songs(split)][: args.songs]
    began = time.perf_counter()
    arms = {}
    with tempfile.TemporaryDirectory() as work:
        arms["every_part_every_bar"] = run_arm(editor, songs, Path(work) / "a")
        shipped = edit_module.SectionPlan
        edit_module.SectionPlan = lambda *a, every_bar=frozenset(), **k: shipped(*a, **k)
        try:
            arms["model_alone"] = run_arm(editor, songs, Path(work) / "b")
        finally:
            edit_module.SectionPlan = shipped
    result = {
        "label": args.label,
        "model": args.model,
        "songs": len(songs),
        "arms": arms,
        "seconds": round(time.perf_counter() - began, 1),
        "machine": machine(threads=1),
        "versions": versions("torch", "transformers", "miditok", "symusic"),
    }
    print(table(keep_run(args.out, result)))


def table(runs: list[dict]) -> str:
    lines = [
        "| run | sampler | parts | notes per bar: written / real | bars played: written / real |",
        "|---|---|---:|---|---|",
    ]
    for run in runs:
        for name, a in run["arms"].items():
            lines.append(
                f"| {run['label']} | {name} | {a['parts']} | {a['notes_per_bar']:.2f} / "
                f"{a['real_notes_per_bar']:.2f} | {a['bars_played']:.0%} / "
                f"{a['real_bars_played']:.0%} |"
            )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
