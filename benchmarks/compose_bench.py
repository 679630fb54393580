"""Composition speed: seconds of music per wall-clock second, lean decoder against the old path.

    python benchmarks/compose_bench.py [--bars 8] [--repeats 3] [--model FOLDER]
        [--work /tmp/tribute-compose-bench] [--out benchmarks/compose_bench.json]

Issue 18's target: ≥ 20× real time with the ``small`` preset at batch 4 on 2 cores (and batch 1
and 8 reported). The default model is a ``small`` Llama (random weights: speed does not depend
on them) saved as a model folder with a BPE tokenizer trained on 8 synthetic band songs
(tests/songs.py); ``--model`` times a trained model folder instead (``builtin:NAME`` works),
whose token density is real music's. The real composer opens it: ``Composer.open`` +
``generate(seeds)``, a form of ``--bars`` bars at 120 qpm in 4/4 (2 s of music per bar),
temperature 1, top-p 0.95, guard off.

Measured, each the median of ``--repeats`` runs, at batch 1, 4 and 8:

- the composer on the **lean decoder** (``tribute.decoder.FastDecoder``: fused projections,
  static cache; what tribute uses) and on the **old path** (the Hugging Face forward with its
  dynamic cache, as before the lean decoder) — music seconds per wall second, new tokens/s;
- **baseline in the same run**: Hugging Face ``model.generate()`` with its KV cache, do_sample,
  the same temperature / top-p (top-k off), as many new tokens as the composer made per song;
- one bare decoding step of each engine (256 cached tokens) and its share of the arithmetic
  limit: forward FLOPs per token × tokens/s over this CPU's measured fp32 matmul rate on one
  thread (the sampler's thread count for small models).

Writes JSON (``--out``) and prints the Markdown tables for benchmarks/compose_bench.md.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import sys
import time
from pathlib import Path

import torch
from machine import machine as common_machine
from machine import versions as common_versions

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from songs import write_song  # noqa: E402
from tribute.composition import ComposeConfig, Composer, Controls, parse_form  # noqa: E402
from tribute.composition import sampler as sampler_module  # noqa: E402
from tribute.decoder import FastDecoder  # noqa: E402
from tribute.model import (  # noqa: E402
    build_model,
    count_parameters,
    flops_per_token,
    inference_threads,
)
from tribute.modeldir import model_path  # noqa: E402
from tribute.tokens import TOKENIZER_DIR, MusicTokenizer, TokenizerConfig  # noqa: E402

PRESET = "small"
SEQ_LEN = 512  # the context the composer samples with (training.json's train_config.seq_len)
TEMPO_QPM = 120.0  # 4/4 at 120 qpm: 2 s of music per bar
TEMPERATURE, TOP_P = 1.0, 0.95
STEP_CONTEXT = 256  # cached tokens when timing one forward step
STEP_REPEATS = 30
BATCHES = (1, 4, 8)
ENGINES = ("lean", "old")  # tribute.decoder.FastDecoder; the Hugging Face forward and cache


def _quiet(*args, **kwargs) -> None:
    pass


def machine() -> dict:
    return common_machine(torch_threads=torch.get_num_threads())


def versions() -> dict:
    return common_versions("torch", "transformers", "miditok", "symusic")


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def model_folder(work: Path) -> Path:
    """A ``small`` model with random weights, its tokenizer and a training record."""
    folder = work / f"model-{PRESET}"
    songs = [write_song(work / "songs" / f"song{s}.mid", s, bars=16, key=s % 3) for s in range(8)]
    tokenizer = MusicTokenizer.train(songs, TokenizerConfig(vocab_size=1000))
    model = build_model(
        PRESET,
        tokenizer.vocab_size,
        pad_id=tokenizer.pad_id,
        bos_id=tokenizer.bos_id,
        eos_id=tokenizer.eos_id,
    )
    model.save_pretrained(folder, safe_serialization=True)
    tokenizer.save(folder / TOKENIZER_DIR)
    record = {"command": "compose_bench", "preset": PRESET, "train_config": {"seq_len": SEQ_LEN}}
    (folder / "training.json").write_text(json.dumps(record, indent=1) + "\n")
    return folder


def composer(folder: Path, bars: int) -> Composer:
    # The random model has no corpus line-up (programs.json): the synthetic songs' band.
    band = None if (folder / "programs.json").is_file() else "drums,bass,guitar,lead"
    controls = Controls(
        form=parse_form(None, bars),
        tempo_qpm=TEMPO_QPM,
        time_signature=(4, 4),
        instruments=band,
        temperature=TEMPERATURE,
        top_p=TOP_P,
    )
    options = ComposeConfig(n=4, batch_size=4, guard=False, style_score=False)
    return Composer.open(folder, controls, options, log=_quiet)


@contextlib.contextmanager
def engine(name: str, model):
    """The composer on the lean decoder, or on the old path (the model's own forward)."""
    original = sampler_module.supports
    if name == "old":
        sampler_module.supports = lambda model: False  # type: ignore[assignment]
    elif not original(model):
        # Until 2026-12-02 supports() refused every transformers-5 model, so both arms timed
        # the old path; a run that cannot take the lean path must not be labelled lean.
        raise SystemExit("the lean decoder does not support this model: no lean arm to time")
    try:
        yield
    finally:
        sampler_module.supports = original  # type: ignore[assignment]


def one_thread_flops() -> float:
    """fp32 FLOP/s of 256 × 256 matmuls on one thread (the sampler's thread count)."""
    a = torch.randn(256, 256)
    with inference_threads(torch.nn.Linear(1, 1)):
        torch.mm(a, a)
        started = time.perf_counter()
        for _ in range(200):
            torch.mm(a, a)
        return 200 * 2 * 256**3 / (time.perf_counter() - started)


def time_composer(song_maker: Composer, batch: int, repeats: int) -> dict:
    runs = []
    for r in range(repeats):
        seeds = [1000 * r + i for i in range(batch)]
        started = time.perf_counter()
        candidates, forward = song_maker.generate(seeds)
        seconds = time.perf_counter() - started
        music = sum(c.score.to("second").end() for c in candidates)
        new_tokens = sum(len(c.tokens) for c in candidates)
        print(f"batch {batch}: {seconds:.1f} s, {new_tokens} tokens", file=sys.stderr, flush=True)
        runs.append(
            {
                "seconds": seconds,
                "music_seconds": music,
                "new_tokens": new_tokens,
                "forward_tokens": forward,
                "realtime": music / seconds,
                "forward_tokens_per_s": forward / seconds,
                "new_tokens_per_s": new_tokens / seconds,
            }
        )
    best = sorted(runs, key=lambda x: x["seconds"])[(len(runs) - 1) // 2]  # median
    out = {k: round(v, 3) for k, v in best.items()}
    out["tokens_per_music_second"] = round(best["new_tokens"] / best["music_seconds"], 1)
    out["tokens_per_bar"] = round(
        best["new_tokens"] / (best["music_seconds"] / (4 * 60 / TEMPO_QPM)), 1
    )
    out["seconds_all_runs"] = [round(x["seconds"], 2) for x in runs]
    return out


@torch.inference_mode()
def time_hf_generate(model, prompt: list[int], batch: int, new_tokens: int, repeats: int) -> dict:
    ids = torch.tensor([prompt] * batch)
    runs = []
    for r in range(repeats):
        torch.manual_seed(r)
        started = time.perf_counter()
        with inference_threads(model):  # one thread, as the composer samples
            out = model.generate(
                input_ids=ids,
                attention_mask=torch.ones_like(ids),
                do_sample=True,
                temperature=TEMPERATURE,
                top_p=TOP_P,
                top_k=0,
                max_new_tokens=new_tokens,
                min_new_tokens=new_tokens,
                use_cache=True,
                pad_token_id=model.config.pad_token_id,
            )
        seconds = time.perf_counter() - started
        runs.append((seconds, (out.shape[1] - ids.shape[1]) * batch))
        print(f"generate() batch {batch}: {seconds:.1f} s", file=sys.stderr, flush=True)
    seconds, made = sorted(runs)[(len(runs) - 1) // 2]
    return {
        "seconds": round(seconds, 3),
        "new_tokens": made,
        "tokens_per_s": round(made / seconds, 1),
        "seconds_all_runs": [round(s, 2) for s, _ in runs],
    }


@torch.inference_mode()
def time_forward_step(model, batch: int, name: str, peak: float) -> dict:
    """Median seconds of one decoding step (1 new token per row, ``STEP_CONTEXT`` cached) on
    one thread, and the share of ``peak`` FLOP/s it reaches."""
    generator = torch.Generator().manual_seed(0)
    ids = torch.randint(3, model.config.vocab_size, (batch, STEP_CONTEXT), generator=generator)
    times = []
    with inference_threads(model):
        if name == "lean":
            decoder = FastDecoder(model, batch, STEP_CONTEXT + STEP_REPEATS + 1)
            positions = torch.arange(STEP_CONTEXT).expand(batch, -1)
            decoder.prefill(ids, torch.ones_like(ids), positions)
            at = torch.full((batch,), STEP_CONTEXT)
            for _ in range(STEP_REPEATS):
                started = time.perf_counter()
                decoder.step(ids[:, -1], at)
                times.append(time.perf_counter() - started)
                at = at + 1
        else:
            cache = model(input_ids=ids, use_cache=True).past_key_values
            step = ids[:, -1:]
            for _ in range(STEP_REPEATS):
                started = time.perf_counter()
                out = model(input_ids=step, past_key_values=cache, use_cache=True)
                times.append(time.perf_counter() - started)
                cache = out.past_key_values
    seconds = statistics.median(times)
    flops = flops_per_token(model, STEP_CONTEXT) / 3  # forward only: a third of fwd + bwd
    return {
        "ms_per_step": round(seconds * 1e3, 2),
        "tokens_per_s": round(batch / seconds, 1),
        "gflop_per_s": round(flops * batch / seconds / 1e9, 2),
        "share_of_peak": round(flops * batch / seconds / peak, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bars", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--model",
        help="a trained model folder or builtin:NAME (default: a random-weight small model)",
    )
    parser.add_argument("--work", type=Path, default=Path("/tmp/tribute-compose-bench"))
    parser.add_argument("--out", type=Path, default=Path("benchmarks/compose_bench.json"))
    args = parser.parse_args()

    started = time.perf_counter()
    report = {
        "command": "python " + " ".join(sys.argv),
        "date_utc": time.strftime("%Y-%m-%d %H:%M", time.gmtime()),
        "machine": machine(),
        "versions": versions(),
        "load_average_at_start": load_average(),
        "settings": {
            "model": args.model or f"{PRESET} (random weights)",
            "bars": args.bars,
            "tempo_qpm": TEMPO_QPM,
            "temperature": TEMPERATURE,
            "top_p": TOP_P,
            "repeats": args.repeats,
        },
    }
    folder = model_path(args.model) if args.model else model_folder(args.work)
    song_maker = composer(folder, args.bars)
    model = song_maker.style_model.model
    report["model"] = {
        "preset": getattr(model.config, "tribute_preset", "?"),
        "parameters": count_parameters(model),
        "non_embedding_parameters": count_parameters(model, non_embedding=True),
        "vocab_size": model.config.vocab_size,
        "context_tokens": song_maker.style_model.context_tokens,
    }
    peak = one_thread_flops()
    report["one_thread_gflop_per_s"] = round(peak / 1e9, 2)
    for name in ENGINES:
        with engine(name, model):
            song_maker.generate([0])  # warm-up: first-call allocations, lazy imports
            report[f"composer_{name}"] = {
                str(b): time_composer(song_maker, b, args.repeats) for b in BATCHES
            }
        report[f"step_{name}"] = {str(b): time_forward_step(model, b, name, peak) for b in BATCHES}
    report["first_bar"] = time_composer(composer(folder, 1), 1, max(3, args.repeats))
    tokens_per_song = round(report["composer_lean"]["1"]["new_tokens"])
    prompt = song_maker.style_model.tokenizer.prompt()
    new_tokens = min(tokens_per_song, model.config.max_position_embeddings - len(prompt))
    report["hf_generate"] = {
        str(b): time_hf_generate(model, prompt, b, new_tokens, args.repeats) for b in BATCHES
    }
    report["hf_generate_new_tokens_per_song"] = new_tokens
    report["load_average_at_end"] = load_average()
    report["wall_seconds"] = round(time.perf_counter() - started, 1)
    args.out.write_text(json.dumps(report, indent=1) + "\n")
    print(tables(report))


def tables(r: dict) -> str:
    lines = [
        f"Model: {r['settings']['model']} ({r['model']['parameters'] / 1e6:.2f} M parameters); "
        f"{r['settings']['bars']} bars per song.",
        "",
        "| batch | lean: music s per wall s | lean new tokens/s | old path: music s per wall s "
        "| old new tokens/s | HF `generate()` tokens/s | tokens per music s |",
        "|---|---|---|---|---|---|---|",
    ]
    lean, old, hf = r["composer_lean"], r["composer_old"], r["hf_generate"]
    for b in map(str, BATCHES):
        lines.append(
            f"| {b} | **{lean[b]['realtime']:.1f}×** | {lean[b]['new_tokens_per_s']:.0f} | "
            f"{old[b]['realtime']:.1f}× | {old[b]['new_tokens_per_s']:.0f} | "
            f"{hf[b]['tokens_per_s']:.0f} | {lean[b]['tokens_per_music_second']:.0f} |"
        )
    lines += [
        "",
        f"Time to the first finished bar (batch 1, lean): {r['first_bar']['seconds']:.2f} s"
        f" ({r['first_bar']['new_tokens']} tokens).",
        "",
        f"One decoding step with {STEP_CONTEXT} cached tokens, one thread (peak: "
        f"{r['one_thread_gflop_per_s']} GFLOP/s, fp32 matmul):",
        "",
        "| batch | lean ms/step | lean share of peak | old ms/step | old share of peak |",
        "|---|---|---|---|---|",
    ]
    for b in map(str, BATCHES):
        a, o = r["step_lean"][b], r["step_old"][b]
        lines.append(
            f"| {b} | {a['ms_per_step']} | {100 * a['share_of_peak']:.1f} % | "
            f"{o['ms_per_step']} | {100 * o['share_of_peak']:.1f} % |"
        )
    lines.append(
        f"\nload average {r['load_average_at_start']} → {r['load_average_at_end']};"
        f" {r['wall_seconds']} s"
    )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
