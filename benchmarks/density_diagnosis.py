"""Why are composed songs sparse? Notes per bar per part from the model and from the sampler.

    python benchmarks/density_diagnosis.py MODEL ARTIST_CORPUS [--n 16] [--bars 16]
        [--out benchmarks/density_diagnosis.json]

Four distributions of notes per bar per sounding part (and parts per piece) on one model:

- (a) **real**: the artist corpus's held-out (test) songs;
- (b) **free**: plain samples from the model (BOS + style token, temperature 1, top-p 0.95,
  ``generate()``; no grammar, bar-count, instrument, key or position masks), decoded;
- (c) **composed**: the composer (``tribute.evaluation.run.generate``, as ``evaluate`` makes its
  pieces) under its masks; (c1) the same with ``SamplerConfig.ordered_positions`` — positions
  may only rise inside a bar, the rule before this benchmark found it thinned the songs; and
  (c0) with the in-bar position mask switched off altogether (the first wave's sampler: only
  the grammar and bar-count masks; a model was seen writing ``Position_122`` in a 4/4 bar);
- (e) **what the ordered rule blocks**: during (c1)'s sampling, the share of steps whose top
  choice it forbids, by reason, and the probability of ending the bar before and after it;
- (d) **teacher forcing**: over the real held-out songs' tokens, the model's expected number of
  notes per bar — at every position, the probability of each next id times the notes it starts
  (a BPE id can hold several ``Pitch`` tokens) — against the notes really there. A ratio near 1
  says the model itself is not thin; sparse samples then come from sampling or masks.

Writes JSON (``--out``) and prints the Markdown table for benchmarks/density_diagnosis.md.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).parent))
from machine import keep_run, machine, versions

from tribute.composition.sampler import BarSampler
from tribute.corpus import Corpus
from tribute.evaluation.run import artist_style, generate
from tribute.modeldir import load_style_model
from tribute.music import Song, bar_start_ticks
from tribute.originality import song_from_score


def sounding_share(track, end: int) -> float:
    """Share of the piece's ticks in which the track sounds (legato voices: near 1)."""
    sounding = np.zeros(end + 1, dtype=np.int64)
    for note in track.notes:
        start = min(note.time, end)
        sounding[start] += 1
        sounding[min(end, note.time + max(1, note.duration))] -= 1
    return float((np.cumsum(sounding)[:end] > 0).mean()) if end else 0.0


def silences(track, end: int, tpq: int) -> tuple[float, float, float]:
    """Shares of the piece's ticks a part is silent: before its first note or after its last,
    in rests of up to a beat, in longer rests (where a voice drops out)."""
    notes = sorted(track.notes, key=lambda n: n.time)
    edges = notes[0].time + max(0, end - max(n.time + n.duration for n in notes))
    short = long = 0
    reach = notes[0].time + notes[0].duration
    for note in notes[1:]:
        gap = note.time - reach
        if gap > tpq:
            long += gap
        elif gap > 0:
            short += gap
        reach = max(reach, note.time + note.duration)
    return edges / end, short / end, long / end


def density(song: Song) -> dict:
    """Notes per bar per sounding part, parts with notes, notes per bar in all, the share of
    the time a part sounds, and where it is silent."""
    bars = max(1, len(bar_start_ticks(song.score)))
    tracks = [t for t in song.score.tracks if t.note_num()]
    parts = [t.note_num() / bars for t in tracks]
    end = song.score.end()
    return {
        "per_part": float(np.mean(parts)) if parts else 0.0,
        "parts": len(parts),
        "per_bar": float(sum(parts)),
        "bars": bars,
        "sounding": float(np.mean([sounding_share(t, end) for t in tracks])) if tracks else 0.0,
        "silent": np.mean([silences(t, end, song.score.tpq) for t in tracks], axis=0).tolist()
        if tracks and end
        else [0.0, 0.0, 0.0],
    }


def summarize(rows: list[dict]) -> dict:
    if not rows:
        return {"pieces": 0}
    per_part = np.array([r["per_part"] for r in rows])
    return {
        "pieces": len(rows),
        "per_part_mean": round(float(per_part.mean()), 2),
        "per_part_p10_p50_p90": [round(float(q), 2) for q in np.percentile(per_part, [10, 50, 90])],
        "parts_mean": round(float(np.mean([r["parts"] for r in rows])), 2),
        "per_bar_mean": round(float(np.mean([r["per_bar"] for r in rows])), 2),
        "bars_mean": round(float(np.mean([r["bars"] for r in rows])), 1),
        "sounding_mean": round(float(np.mean([r["sounding"] for r in rows])), 2),
        "silent_edges_short_long": [
            round(float(v), 4) for v in np.mean([r["silent"] for r in rows], axis=0)
        ],
    }


def free_samples(style_model, style: str | None, n: int, seed: int) -> list[Song]:
    """(b): the model alone — ``generate()`` from BOS and the style token, decoded."""
    tokenizer, model = style_model.tokenizer, style_model.model
    styles = tokenizer.styles_named([style]) if style else []
    prompt = torch.tensor([tokenizer.prompt(styles)])
    songs = []
    for i in range(n):
        torch.manual_seed(seed + i)
        with torch.inference_mode():
            ids = model.generate(
                prompt,
                do_sample=True,
                temperature=1.0,
                top_p=0.95,
                top_k=0,
                max_new_tokens=style_model.context_tokens - prompt.shape[1],
                pad_token_id=tokenizer.pad_id,
                eos_token_id=tokenizer.eos_id,
            )[0, prompt.shape[1] :].tolist()
        music = [t for t in ids if t < tokenizer.music_vocab_size]
        songs.append(song_from_score(tokenizer.decode(music), f"free-{i:03d}"))
    return songs


@contextmanager
def without_position_mask():
    """(c0): the sampler as before the in-bar position mask (grammar + bar count only)."""
    original = BarSampler._in_bar

    def everything(self, rows):
        return torch.ones((len(rows), len(self.rising)), dtype=torch.bool, device=self.device)

    BarSampler._in_bar = everything  # type: ignore[method-assign]
    try:
        yield
    finally:
        BarSampler._in_bar = original  # type: ignore[method-assign]


@contextmanager
def ordered_positions():
    """(c1): positions may only rise inside a bar."""
    original = BarSampler._in_bar

    def ordered(self, rows):
        self.settings = dataclasses.replace(self.settings, ordered_positions=True)
        return original(self, rows)

    BarSampler._in_bar = ordered  # type: ignore[method-assign]
    try:
        yield
    finally:
        BarSampler._in_bar = original  # type: ignore[method-assign]


def blocked_choices(style_model, style, n: int, bars: int, seed: int) -> dict:
    """(e): under ordered positions, how often the in-bar mask blocks the model's top choice, why,
    and the probability of ending the bar before and after the mask (per step, means)."""
    counts: dict[str, float] = {}
    step_mask, choose = BarSampler._step_mask, BarSampler._choose

    def add(key: str, value: float = 1.0) -> None:
        counts[key] = counts.get(key, 0.0) + value

    def probing_mask(self, rows, plan):
        full = step_mask(self, rows, plan)
        with without_position_mask():
            self.probe = (rows, full, step_mask(self, rows, plan))
        return full

    def probing_choose(self, logits, allowed, generators):
        rows, full, free = self.probe
        for i, row in enumerate(rows):
            before = torch.softmax(logits[i].float().masked_fill(~free[i], -torch.inf), -1)
            after = torch.softmax(logits[i].float().masked_fill(~full[i], -torch.inf), -1)
            add("steps")
            add("bar_end_before_mask", float(before[self.opener].sum()))
            add("bar_end_after_mask", float(after[self.opener].sum()))
            top = int(before.argmax())
            if full[i, top]:
                continue
            first = int(self.first_position[top])
            limit = row.beats * self.table.positions_per_beat
            if int(self.top_position[top]) >= limit:
                add("top_blocked: past the bar's end")
            elif 0 <= first <= row.position and not bool(self.resets[top]):
                add("top_blocked: an earlier or the same position")
            else:
                add("top_blocked: other (meter, order inside one id)")
        return choose(self, logits, allowed, generators)

    BarSampler._step_mask, BarSampler._choose = probing_mask, probing_choose  # type: ignore
    try:
        with ordered_positions():
            generate(style_model, style, n, bars, seed, 4, "e", lambda *a, **k: None)
    finally:
        BarSampler._step_mask, BarSampler._choose = step_mask, choose  # type: ignore
    steps = max(1.0, counts.pop("steps", 0.0))
    return {"steps": int(steps), **{k: round(v / steps, 4) for k, v in sorted(counts.items())}}


def teacher_forced(style_model, songs: list[Song], style: str | None) -> dict:
    """(d): expected against real notes per bar over the real songs' own tokens."""
    tokenizer, model = style_model.tokenizer, style_model.model
    notes_of = np.zeros(tokenizer.vocab_size, dtype=np.float32)
    for i in range(tokenizer.music_vocab_size):
        notes_of[i] = sum(b.startswith("Pitch") for b in tokenizer.base_tokens(i))
    weights = torch.from_numpy(notes_of)
    opener = tokenizer.bar_opener_table()
    styles = tokenizer.styles_named([style]) if style else []
    window = style_model.context_tokens
    expected = real = bars = 0.0
    for song in songs:
        ids = tokenizer.prompt(styles) + [int(t) for t in tokenizer.encode(song.score)]
        ids = ids[:window]
        with torch.inference_mode():
            logits = model(input_ids=torch.tensor([ids])).logits[0, :-1].float()
        probs = torch.softmax(logits, dim=-1)
        expected += float((probs @ weights).sum())
        following = np.asarray(ids[1:])
        real += float(notes_of[following].sum())
        bars += float(opener[following[following < len(opener)]].sum())
    return {
        "songs": len(songs),
        "expected_notes_per_bar": round(expected / max(1.0, bars), 2),
        "real_notes_per_bar": round(real / max(1.0, bars), 2),
        "expected_over_real": round(expected / max(1.0, real), 3),
        "note": f"first {window} tokens of each song",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("model")
    parser.add_argument("artist_corpus")
    parser.add_argument("--n", type=int, default=16, help="pieces per sampled arm")
    parser.add_argument("--bars", type=int, default=16)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--label", default="", help="a name for this run in the JSON")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/density_diagnosis.json"))
    args = parser.parse_args()
    torch.set_num_threads(1)

    style_model = load_style_model(args.model)
    corpus = Corpus.open(args.artist_corpus)
    style = artist_style(style_model, corpus, None)
    real = list(corpus.songs("test")) or list(corpus.songs("validation"))
    began = time.perf_counter()
    quiet = lambda *a, **k: None  # noqa: E731
    arms = {
        "a_real": [density(s) for s in real],
        "b_free": [density(s) for s in free_samples(style_model, style, args.n, args.seed)],
        "c_composed": [
            density(s)
            for s in generate(style_model, style, args.n, args.bars, args.seed, 4, "c", quiet)
        ],
    }
    with ordered_positions():
        arms["c1_composed_ordered_positions"] = [
            density(s)
            for s in generate(style_model, style, args.n, args.bars, args.seed, 4, "c1", quiet)
        ]
    with without_position_mask():
        arms["c0_composed_no_position_mask"] = [
            density(s)
            for s in generate(style_model, style, args.n, args.bars, args.seed, 4, "c0", quiet)
        ]
    result = {
        "label": args.label,
        "model": str(args.model),
        "style": style,
        "corpus": str(args.artist_corpus),
        "arms": {name: summarize(rows) for name, rows in arms.items()},
        "d_teacher_forced": teacher_forced(style_model, real, style),
        "e_blocked_under_ordered_positions": blocked_choices(
            style_model, style, args.n, args.bars, args.seed
        ),
        "seconds": round(time.perf_counter() - began, 1),
        "machine": machine(threads=1),
        "versions": versions("torch", "transformers", "miditok", "symusic"),
    }
    runs = keep_run(args.out, result)
    print(table(runs))


def table(runs: list[dict]) -> str:
    lines = [
        "| run | arm | pieces | notes/bar/part mean | p10 / p50 / p90 | parts | notes/bar | "
        "part sounds | silent: edges / rests ≤ 1 beat / longer |",
        "|---|---|---:|---:|---|---:|---:|---:|---|",
    ]
    for run in runs:
        for name, s in run["arms"].items():
            if not s.get("pieces"):
                continue
            p10, p50, p90 = s["per_part_p10_p50_p90"]
            lines.append(
                f"| {run['label']} | {name} | {s['pieces']} | {s['per_part_mean']:.2f} | "
                f"{p10:.2f} / {p50:.2f} / {p90:.2f} | {s['parts_mean']:.1f} | "
                f"{s['per_bar_mean']:.1f} | "
                + (f"{s['sounding_mean']:.0%} |" if "sounding_mean" in s else "– |")
                + (
                    " {:.1%} / {:.1%} / {:.1%} |".format(*s["silent_edges_short_long"])
                    if "silent_edges_short_long" in s
                    else " – |"
                )
            )
        d = run["d_teacher_forced"]
        lines.append(
            f"| {run['label']} | d_teacher_forced | {d['songs']} | expected "
            f"{d['expected_notes_per_bar']:.2f} vs real {d['real_notes_per_bar']:.2f} notes/bar "
            f"(×{d['expected_over_real']:.2f}) | | | | |"
        )
        if "e_blocked_under_ordered_positions" in run:
            e = run["e_blocked_under_ordered_positions"]
            shares = ", ".join(f"{k} {v:.1%}" for k, v in e.items() if k != "steps")
            lines.append(
                f"| {run['label']} | e_blocked (per step, c1) | {e['steps']} steps | "
                f"{shares} | | | |"
            )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
