"""Training speed on CPU: tribute's training loop vs a bare PyTorch loop, in the same run.

For each preset (default ``tiny`` and ``small``), on token data from synthetic band songs
(drums, bass, guitar, lead; tokenized and cached exactly as ``tribute pretrain`` does):

- ``tribute``: ``tribute.train.loop.train`` — batches drawn from the memmapped token cache,
  accelerate, AdamW + cosine schedule, gradient clipping, logging, the final checkpoint —
  steady-state tokens/s after the first log window (warm-up excluded);
- ``baseline``: the same model and batch shape in a bare loop (tensors prepared in memory,
  forward / backward / AdamW step, nothing else): the upper bound the loop can reach.

The two alternate for ``--rounds`` rounds (the machine is shared: its load changes by the
minute); the best round of each is compared. The ratio tribute / baseline is the loop's
overhead. Tokens/s counts every position of every sequence (padding included), as MFU does.

Run:  .venv/bin/python benchmarks/train_bench.py [--presets tiny small] [--steps 20]
Writes benchmarks/results/train.json with the machine, versions and load average.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from fake_corpus import write_corpus
from tribute.corpus.store import Corpus
from tribute.model import build_model, count_parameters
from tribute.tokens import MusicTokenizer, TokenizerConfig
from tribute.train.data import DataConfig, load_split
from tribute.train.loop import TrainConfig, train
from tribute.train.plan import environment

# (batch, seq_len, timed steps) per preset: the shapes `tribute pretrain` uses on CPU.
SHAPES = {"tiny": (8, 256, 20), "small": (8, 512, 6)}


def baseline(model, batches: list[tuple[torch.Tensor, torch.Tensor]], lr: float) -> float:
    """Tokens/s of a bare forward/backward/AdamW loop over prepared batches (1 warm-up)."""
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr)
    model.train()
    started = None
    for i, (ids, labels) in enumerate(batches):
        if i == 1:
            started = time.perf_counter()
        model(input_ids=ids, labels=labels).loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
    return (len(batches) - 1) * ids.numel() / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presets", nargs="+", default=["tiny", "small"])
    parser.add_argument("--steps", type=int, help="timed steps (default: per preset)")
    parser.add_argument("--songs", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds per preset")
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "train.json"))
    args = parser.parse_args()

    results = []
    with tempfile.TemporaryDirectory(prefix="tribute-bench-") as tmp:
        tmp = Path(tmp)
        os.environ["TRIBUTE_CACHE_DIR"] = str(tmp / "cache")
        corpus = Corpus.open(
            write_corpus(tmp / "corpus", n_train=args.songs, n_validation=0, bars=32)
        )
        tokenizer = MusicTokenizer.train(
            [corpus.score_path(m) for m in corpus.split("train")],
            TokenizerConfig(vocab_size=2_000),
            ["genre=pop", "genre=rock"],
        )
        tok_dir = tokenizer.save(tmp / "tokenizer")
        data = load_split(corpus, tokenizer, "train", DataConfig(augment_copies=1), tok_dir)

        for name in args.presets:
            batch, seq_len, steps = SHAPES.get(name, (8, 512, 10))
            steps = args.steps or steps
            warmup = 2
            config = TrainConfig(
                batch_size=batch,
                seq_len=seq_len,
                max_steps=warmup + steps,
                log_every=warmup,
                eval_every=10**9,
                save_every=10**9,
                warmup_steps=1,
                progress=False,
            )
            rng = np.random.default_rng(0)
            batches = [
                tuple(torch.from_numpy(a) for a in data.sample(rng, batch, seq_len))
                for _ in range(steps + 1)
            ]
            ours, bare = [], []
            # Alternate the two, round after round: on a shared machine the load changes by
            # the minute, and the best round of each is the least disturbed one.
            for round_ in range(args.rounds):
                model = build_model(name, tokenizer.vocab_size)
                result = train(
                    model, data, None, config, tmp / f"run-{name}-{round_}", log=lambda *a: None
                )
                ours.append(result.steady_tokens_per_s)
                bare.append(baseline(build_model(name, tokenizer.vocab_size), batches, 1e-3))
            row = {
                "preset": name,
                "parameters": count_parameters(model),
                "batch": batch,
                "seq_len": seq_len,
                "timed_steps": steps,
                "rounds": args.rounds,
                "tribute_tokens_per_s": [round(x, 1) for x in ours],
                "baseline_tokens_per_s": [round(x, 1) for x in bare],
                "tribute_best": round(max(ours), 1),
                "baseline_best": round(max(bare), 1),
                "ratio_best": round(max(ours) / max(bare), 3),
            }
            print(json.dumps(row))
            results.append(row)

    record = {
        "benchmark": "train",
        "results": results,
        "environment": environment(),
        "load_average": os.getloadavg(),
        "date": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
        "command": "python benchmarks/train_bench.py " + " ".join(sys.argv[1:]),
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(record, indent=1) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
