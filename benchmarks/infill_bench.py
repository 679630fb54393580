"""Editing bars: infill (the model sees both sides) against left-to-right continuation.

    python benchmarks/infill_bench.py MODEL ARTIST_CORPUS [--bars 5-8] [--songs 12]
        [--out benchmarks/infill_bench.json]

On the artist corpus's held-out songs with at least ``last + 1`` bars, bars ``--bars`` (every
part) are taken out and written again by each method:

- **infill**: what ``tribute edit`` does — the infill example (bars before, ``Infill_Start``,
  the span without its notes, ``Infill_End``, bars after, ``Infill_Middle``) and the model
  writes the span (:mod:`tribute.tokens.infill`);
- **left-to-right**: the model continues the bars before the span (a primer) for the span's
  bars, under the same sampler, and the real bars after it are pasted back.

Measured per method:

- **bits per note of the real span** under the method's context (infill: after
  ``Infill_Middle``, with 4 bars on each side; left-to-right: after the same 4 bars before) —
  how well each layout predicts what was really there;
- **the seam**: the model's own surprise at the real bar after the span (bits per note of bar
  ``last + 1`` given the bars before it, the span as written; real span for the yardstick), the
  pitch step across the seam per part (|last pitch of the span − first pitch after|), and notes
  per bar per part inside the span, each against the real song;
- **texture** of the span by ``evaluate``'s piece metrics (scale consistency, pitch range,
  overlapping notes, parallel fifths/octaves) against the real span.

Writes JSON (``--out``) and prints the Markdown table for benchmarks/infill_bench.md.
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

from tribute.composition import ComposeConfig, Composer, Controls, parse_form
from tribute.composition.edit import EditConfig, Editor, parse_bars
from tribute.corpus import Corpus
from tribute.evaluation.metrics import piece_metrics
from tribute.evaluation.run import artist_style
from tribute.modeldir import load_style_model
from tribute.music import Song, bar_start_ticks
from tribute.originality import song_from_score
from tribute.tokens.infill import InfillIds, infill_example, split_bars

CONTEXT_BARS = 4  # bars on each side of the span in the likelihood layouts
TEXTURE = (
    "scale_consistency",
    "pitch_range",
    "overlapping_notes_share",
    "parallel_5ths_8ves_per_100_eighths",
)


class Scorer:
    """Bits per note of target ids after context ids (the context cut from the left to fit)."""

    def __init__(self, style_model, style: str) -> None:
        self.model = style_model.model
        self.tokenizer = style_model.tokenizer
        self.window = style_model.context_tokens
        self.styles = self.tokenizer.styles_named([style])
        self.notes_of = np.zeros(self.tokenizer.vocab_size, dtype=np.int64)
        for i in range(self.tokenizer.music_vocab_size):
            self.notes_of[i] = sum(b.startswith("Pitch") for b in self.tokenizer.base_tokens(i))

    def bits(self, context: list[int], target: list[int]) -> float | None:
        notes = int(self.notes_of[np.asarray(target, dtype=np.int64)].sum())
        if not notes or len(target) >= self.window - len(self.styles) - 1:
            return None
        room = self.window - len(target) - len(self.styles)
        ids = self.styles + context[-room:] + target
        with torch.inference_mode():
            logits = self.model(input_ids=torch.tensor([ids])).logits[0, :-1].float()
        labels = torch.tensor(ids[1:])
        nats = torch.nn.functional.cross_entropy(logits, labels, reduction="none")
        return float(nats[-len(target) :].sum()) / np.log(2) / notes

    def bars_of(self, score: Score, table) -> list:
        tok = self.tokenizer
        chords = set(tok.controls.chord_ids)
        ids = [int(i) for i in tok.encode(score)]
        return split_bars(
            ids, lambda i: bool(table.opener[i]), lambda i: i in chords, tok.base_tokens
        )

    def ids_of(self, bars) -> list[int]:
        tok = self.tokenizer
        return [
            t
            for bar in bars
            for t in ([bar.chord] if bar.chord is not None else []) + tok.encode_base(bar.events)
        ]


def _span(score: Score, a: int, b: int) -> Score:
    """Bars [a, b) of a score, shifted to start at 0."""
    starts = bar_start_ticks(score, until_tick=1 << 40)
    end = int(starts[b]) if b < len(starts) else int(score.end()) + 1
    return score.clip(int(starts[a]), end, clip_end=True).shift_time(-int(starts[a]))


def _seam_step(score: Score, boundary_bar: int) -> float | None:
    """Mean over parts of |last pitch before bar ``boundary_bar`` − first pitch from it|."""
    starts = bar_start_ticks(score, until_tick=1 << 40)
    if boundary_bar >= len(starts):
        return None
    tick = int(starts[boundary_bar])
    steps = []
    for track in score.tracks:
        if track.is_drum or not track.note_num():
            continue
        notes = track.notes.numpy()
        before, after = notes["time"] < tick, notes["time"] >= tick
        if before.any() and after.any():
            last = notes["pitch"][before][np.argmax(notes["time"][before])]
            first = notes["pitch"][after][np.argmin(notes["time"][after])]
            steps.append(abs(int(last) - int(first)))
    return float(np.mean(steps)) if steps else None


def _density(span: Score, bars: int) -> float:
    parts = [t.note_num() / bars for t in span.tracks if t.note_num()]
    return float(np.mean(parts)) if parts else 0.0


def measure(scorer: Scorer, table, real: Score, made: Score, a: int, b: int) -> dict:
    """Seam and texture of ``made`` (bars a..b written, the rest real) against ``real``."""
    bars = scorer.bars_of(made, table)
    seam_bits = (
        scorer.bits(scorer.ids_of(bars[:b]), scorer.ids_of(bars[b : b + 1]))
        if len(bars) > b
        else None
    )
    span = _span(made, a, b)
    texture = piece_metrics(song_from_score(span, "span"))
    return {
        "seam_bits_per_note": seam_bits,
        "seam_pitch_step": _seam_step(made, b),
        "notes_per_bar_per_part": _density(span, b - a),
        **{k: texture.get(k) for k in TEXTURE},
    }


def left_to_right(
    style_model, style: str, real: Score, a: int, b: int, seed: int, work: Path
) -> Score:
    """Bars a..b continued from bars before a (a primer: its line-up is the song's); the real
    bars from b pasted after."""
    starts = bar_start_ticks(real, until_tick=1 << 40)
    primer = work / "primer.mid"
    real.clip(0, int(starts[a]), clip_end=True).dump_midi(str(primer))
    composer = Composer.open(
        style_model,
        Controls(form=parse_form(None, b - a)),
        ComposeConfig(style=style, seed=seed, guard=False, style_score=False, primer=str(primer)),
        log=lambda *x, **k: None,
    )
    candidate = composer.generate([seed])[0][0]
    written = candidate.score  # primer bars, then the new bars
    new_starts = bar_start_ticks(written, until_tick=1 << 40)
    cut = int(new_starts[b]) if len(new_starts) > b else int(written.end()) + 1
    made = written.clip(0, cut, clip_end=True)
    tail = real.clip(int(starts[b]), int(real.end()) + 1).shift_time(cut - int(starts[b]))
    for track in made.tracks:
        same = [t for t in tail.tracks if t.program == track.program and t.is_drum == track.is_drum]
        for other in same:
            track.notes.extend(other.notes)
        track.notes.sort()
    return made


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("model")
    parser.add_argument("artist_corpus")
    parser.add_argument("--bars", default="5-8", help="1-based, inclusive")
    parser.add_argument("--songs", type=int, default=12)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--label", default="")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/infill_bench.json"))
    args = parser.parse_args()
    torch.set_num_threads(1)

    first, last = parse_bars(args.bars)
    a, b = first - 1, last
    style_model = load_style_model(args.model)
    corpus = Corpus.open(args.artist_corpus)
    style = artist_style(style_model, corpus, None)
    scorer = Scorer(style_model, style)
    editor = Editor.open(style_model, EditConfig(bars=(first, last), style=style, guard=False))
    tok = style_model.tokenizer
    markers = InfillIds(*tok.controls.infill_ids, tok.encode_base)
    songs: list[Song] = [s for s in corpus.songs("test") if len(bar_start_ticks(s.score)) > b] + [
        s for s in corpus.songs("validation") if len(bar_start_ticks(s.score)) > b
    ]
    songs = songs[: args.songs]
    began = time.perf_counter()
    rows = {"real": [], "infill": [], "left_to_right": []}
    likelihood = {"infill": [], "left_to_right": []}
    with tempfile.TemporaryDirectory() as work:
        for i, song in enumerate(songs):
            path, real = corpus.score_path(song.meta), song.score
            bars = scorer.bars_of(real, editor.table)
            context, middle = infill_example(bars, (a, b), None, markers)
            likelihood["infill"].append(
                scorer.bits(tok.styles_named([style]) + context, middle[1:])
            )
            likelihood["left_to_right"].append(
                scorer.bits(scorer.ids_of(bars[:a]), scorer.ids_of(bars[a:b]))
            )
            rows["real"].append(measure(scorer, editor.table, real, real, a, b))
            edited = editor.edit(path, Path(work) / f"e{i}", log=lambda *x, **k: None)[0]
            made = Score(str(Path(work) / f"e{i}" / f"{edited.song}.mid"))
            rows["infill"].append(measure(scorer, editor.table, real, made, a, b))
            made = left_to_right(style_model, style, real, a, b, args.seed + i, Path(work))
            rows["left_to_right"].append(measure(scorer, editor.table, real, made, a, b))
            print(f"song {i + 1}/{len(songs)}", flush=True)
    result = {
        "label": args.label,
        "model": args.model,
        "bars": [first, last],
        "songs": len(songs),
        "real_span_bits_per_note": {k: _mean(v) for k, v in likelihood.items()},
        "methods": {
            name: {k: _mean([r[k] for r in rs]) for k in rs[0]} for name, rs in rows.items() if rs
        },
        "per_song": {"likelihood": likelihood, **rows},
        "seconds": round(time.perf_counter() - began, 1),
        "machine": machine(threads=1),
        "versions": versions("torch", "transformers", "miditok", "symusic"),
    }
    runs = keep_run(args.out, result)
    print(table(runs))


def _mean(values) -> float | None:
    kept = [v for v in values if v is not None]
    return round(float(np.mean(kept)), 3) if kept else None


def table(runs: list[dict]) -> str:
    lines = [
        "| run | method | real span bits/note | seam bits/note | seam pitch step | "
        "notes/bar/part | scale cons. | pitch range | overlaps | par. 5/8 per 100 |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    fmt = lambda v: "–" if v is None else f"{v:.2f}"  # noqa: E731
    for run in runs:
        for name, m in run["methods"].items():
            lines.append(
                f"| {run['label']} ({run['songs']} songs, bars {run['bars'][0]}–{run['bars'][1]}) "
                f"| {name} | {fmt(run['real_span_bits_per_note'].get(name))} | "
                f"{fmt(m['seam_bits_per_note'])} | {fmt(m['seam_pitch_step'])} | "
                f"{fmt(m['notes_per_bar_per_part'])} | {fmt(m['scale_consistency'])} | "
                f"{fmt(m['pitch_range'])} | {fmt(m['overlapping_notes_share'])} | "
                f"{fmt(m['parallel_5ths_8ves_per_100_eighths'])} |"
            )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
