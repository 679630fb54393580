"""Composition speed: seconds of music per wall-clock second with the ``small`` preset.

    python benchmarks/compose_bench.py [--bars 8] [--repeats 3] [--work /tmp/tribute-compose-bench]
        [--out benchmarks/compose_bench.json]

Issue 6's target: ≥ 20× real time at batch 4. The model is a ``small`` Llama
(``tribute.model.build_model("small", vocab)``, random weights: speed does not depend on them)
saved as a model folder with a BPE tokenizer trained on 8 synthetic band songs
(tests/songs.py), so the real composer opens it: ``Composer.open`` + ``generate(seeds)``, form
``--bars`` bars at 120 qpm in 4/4 (2 s of music per bar), temperature 1, top-p 0.95.

Measured, each the median of ``--repeats`` runs:
- the composer at batch 1 and 4: music seconds (``score.to("second").end()``) per wall second,
  and its forward tokens per second (``forward_tokens`` / seconds, prefill included);
- the time to the first finished bar (a 1-bar form, batch 1: prefill, sampling, decoding);
- **baseline in the same run**: Hugging Face ``model.generate()`` with its KV cache, do_sample,
  the same temperature / top-p (top-k off), as many new tokens as the composer made per song,
  at batch 1 and 4, tokens per second;
- one decoding forward step of the bare model at batch 1 and 4 (256 cached tokens), which
  separates per-step overhead from arithmetic.

Random weights give arbitrary token statistics (tokens per bar), so tokens per second of music
is reported too: a trained model's density converts tokens/s to real time
(docs/dependencies.md: dense band music is ~100 REMI tokens per second of music before BPE).

Writes JSON (``--out``) and prints the Markdown tables for benchmarks/compose_bench.md.
"""

from __future__ import annotations

import argparse
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
from tribute.model import build_model, count_parameters, flops_per_token  # noqa: E402
from tribute.tokens import TOKENIZER_DIR, MusicTokenizer, TokenizerConfig  # noqa: E402

PRESET = "small"
SEQ_LEN = 512  # the context the composer samples with (training.json's train_config.seq_len)
TEMPO_QPM = 120.0  # 4/4 at 120 qpm: 2 s of music per bar
TEMPERATURE, TOP_P = 1.0, 0.95
STEP_CONTEXT = 256  # cached tokens when timing one forward step
STEP_REPEATS = 30


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
    controls = Controls(
        form=parse_form(None, bars),
        tempo_qpm=TEMPO_QPM,
        time_signature=(4, 4),
        temperature=TEMPERATURE,
        top_p=TOP_P,
    )
    options = ComposeConfig(n=4, batch_size=4, guard=False)
    return Composer.open(folder, controls, options, log=_quiet)


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
def time_forward_step(model, batch: int) -> dict:
    """Median seconds of one decoding step (1 new token per row, ``STEP_CONTEXT`` cached)."""
    generator = torch.Generator().manual_seed(0)
    ids = torch.randint(3, model.config.vocab_size, (batch, STEP_CONTEXT), generator=generator)
    cache = model(input_ids=ids, use_cache=True).past_key_values
    step = ids[:, -1:]
    times = []
    for _ in range(STEP_REPEATS):
        started = time.perf_counter()
        out = model(input_ids=step, past_key_values=cache, use_cache=True)
        times.append(time.perf_counter() - started)
        cache = out.past_key_values
    seconds = statistics.median(times)
    flops = flops_per_token(model, STEP_CONTEXT) / 3  # forward only: a third of fwd + bwd
    return {
        "ms_per_step": round(seconds * 1e3, 2),
        "ms_per_token": round(seconds * 1e3 / batch, 2),
        "tokens_per_s": round(batch / seconds, 1),
        "gflop_per_s": round(flops * batch / seconds / 1e9, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bars", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=3)
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
            "preset": PRESET,
            "bars": args.bars,
            "tempo_qpm": TEMPO_QPM,
            "temperature": TEMPERATURE,
            "top_p": TOP_P,
            "context_tokens": SEQ_LEN,
            "repeats": args.repeats,
        },
    }
    folder = model_folder(args.work)
    song_maker = composer(folder, args.bars)
    model = song_maker.style_model.model
    report["model"] = {
        "parameters": count_parameters(model),
        "non_embedding_parameters": count_parameters(model, non_embedding=True),
        "vocab_size": model.config.vocab_size,
    }
    # Warm-up (first-call allocations, lazy imports) before anything is timed.
    song_maker.generate([0])

    composed = {b: time_composer(song_maker, b, args.repeats) for b in (1, 4)}
    first_bar = time_composer(composer(folder, 1), 1, max(3, args.repeats))
    tokens_per_song = round(composed[1]["new_tokens"])
    tokenizer = song_maker.style_model.tokenizer
    prompt = tokenizer.prompt()
    new_tokens = min(tokens_per_song, model.config.max_position_embeddings - len(prompt))
    baseline = {b: time_hf_generate(model, prompt, b, new_tokens, args.repeats) for b in (1, 4)}
    steps = {b: time_forward_step(model, b) for b in (1, 4)}

    report["composer"] = {str(b): v for b, v in composed.items()}
    report["first_bar"] = first_bar
    report["hf_generate"] = {str(b): v for b, v in baseline.items()}
    report["hf_generate_new_tokens_per_song"] = new_tokens
    report["forward_step"] = {str(b): v for b, v in steps.items()}
    report["load_average_at_end"] = load_average()
    report["wall_seconds"] = round(time.perf_counter() - started, 1)
    args.out.write_text(json.dumps(report, indent=1) + "\n")
    print(tables(report))


def tables(r: dict) -> str:
    c, h, s = r["composer"], r["hf_generate"], r["forward_step"]
    lines = [
        "| batch | composer: music s per wall s | composer tokens/s (forward) |"
        " new tokens/s | HF `generate()` tokens/s | tokens per music s | tokens per bar |",
        "|---|---|---|---|---|---|---|",
    ]
    for b in ("1", "4"):
        lines.append(
            f"| {b} | **{c[b]['realtime']:.2f}×** | {c[b]['forward_tokens_per_s']:.0f} |"
            f" {c[b]['new_tokens_per_s']:.0f} | {h[b]['tokens_per_s']:.0f} |"
            f" {c[b]['tokens_per_music_second']:.0f} | {c[b]['tokens_per_bar']:.0f} |"
        )
    lines += [
        "",
        f"Time to the first finished bar (batch 1): {r['first_bar']['seconds']:.2f} s"
        f" ({r['first_bar']['new_tokens']} tokens).",
        "",
        "| forward step (256 cached) | ms per step | ms per token | tokens/s | GFLOP/s |",
        "|---|---|---|---|---|",
    ]
    for b in ("1", "4"):
        lines.append(
            f"| batch {b} | {s[b]['ms_per_step']} | {s[b]['ms_per_token']} |"
            f" {s[b]['tokens_per_s']} | {s[b]['gflop_per_s']} |"
        )
    lines.append(
        f"\nload average {r['load_average_at_start']} → {r['load_average_at_end']};"
        f" {r['wall_seconds']} s"
    )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
