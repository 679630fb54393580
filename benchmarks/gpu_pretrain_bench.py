"""GPU training speed and MFU of the ``base`` preset: tribute's loop vs a bare bf16 loop.

Needs no corpus: token data is synthetic (random ids in pieces of 8,192 tokens with a bar
every 128), which does not change the speed of a training step. Measures, on one GPU:

- ``tribute``: ``tribute.train.loop.train`` (accelerate, bf16 autocast — fp16 + loss scaling
  where bf16 is missing —, SDPA attention, fused AdamW, optional ``torch.compile``), steady
  tokens/s after the first log window, and MFU against the device's dense peak
  (``tribute.train.plan.PEAK_FLOPS``: H100 SXM 989 TFLOPS, H100 PCIe 756, A100 312, ...);
- ``baseline``: the same model, batch and precision in a bare loop (autocast + fused AdamW).

MFU = tokens/s × (6 N + 12 L d T) / peak (Kaplan et al. 2020 / PaLM appendix B); the spec's
target for ``base`` is ≥ 40 %.

Run (one GPU; a few minutes):
    python benchmarks/gpu_pretrain_bench.py --preset base --batch-size 16 --seq-len 2048 --compile
Smoke check on CPU:  python benchmarks/gpu_pretrain_bench.py --preset tiny --allow-cpu --steps 3
Writes benchmarks/results/gpu_pretrain.json with the device and versions.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from tribute.model import build_model, count_parameters, flops_per_token
from tribute.train.data import TokenData
from tribute.train.loop import TrainConfig, train
from tribute.train.plan import environment, peak_flops

PIECE_TOKENS = 8_192
BAR_TOKENS = 128


def synthetic_data(vocab_size: int, n_pieces: int, seed: int = 0) -> TokenData:
    """Random music ids (3 .. vocab) in equal pieces with a bar every BAR_TOKENS tokens."""
    rng = np.random.default_rng(seed)
    tokens = rng.integers(3, vocab_size, size=n_pieces * PIECE_TOKENS).astype(np.uint16)
    starts = np.arange(n_pieces, dtype=np.int64) * PIECE_TOKENS
    bars_per_piece = PIECE_TOKENS // BAR_TOKENS
    return TokenData(
        tokens=tokens,
        piece_start=starts,
        piece_len=np.full(n_pieces, PIECE_TOKENS, dtype=np.int64),
        bar_start=np.arange(n_pieces + 1, dtype=np.int64) * bars_per_piece,
        bar_pos=np.arange(n_pieces * bars_per_piece, dtype=np.int64) * BAR_TOKENS,
        styles=np.full((n_pieces, 1), -1, dtype=np.int64),
        bos_id=1,
        eos_id=2,
        pad_id=0,
    )


def baseline(
    model,
    data: TokenData,
    batch: int,
    seq_len: int,
    steps: int,
    dtype: torch.dtype | None,
    compile_model: bool,
) -> float:
    """Tokens/s of a bare autocast + fused AdamW loop (2 warm-up steps, then timed)."""
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    model.to(device).train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-4, fused=device.type == "cuda")
    scaler = torch.amp.GradScaler(enabled=dtype == torch.float16)
    step_model = torch.compile(model) if compile_model else model
    rng = np.random.default_rng(1)
    started = 0.0
    for i in range(steps + 2):
        if i == 2:
            _sync()
            started = time.perf_counter()
        ids, labels = (torch.from_numpy(a).to(device) for a in data.sample(rng, batch, seq_len))
        with torch.autocast(device.type, dtype=dtype or torch.float32, enabled=dtype is not None):
            loss = step_model(input_ids=ids, labels=labels).loss
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
        optimizer.zero_grad(set_to_none=True)
    _sync()
    return steps * batch * seq_len / (time.perf_counter() - started)


def _sync() -> None:
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="base")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--seq-len", type=int, default=2048)
    parser.add_argument("--steps", type=int, default=30, help="timed steps")
    parser.add_argument("--vocab-size", type=int, default=4_000)
    parser.add_argument("--compile", action="store_true")
    parser.add_argument("--allow-cpu", action="store_true", help="smoke-run without a GPU")
    parser.add_argument(
        "--out", default=str(Path(__file__).parent / "results" / "gpu_pretrain.json")
    )
    args = parser.parse_args()
    cuda = torch.cuda.is_available()
    if not cuda and not args.allow_cpu:
        sys.exit("no CUDA device: this benchmark needs a GPU (or --allow-cpu for a smoke run)")
    if cuda:
        torch.backends.cuda.matmul.allow_tf32 = True
    dtype = (torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16) if cuda else None
    seq_len = args.seq_len if cuda else min(args.seq_len, 128)
    batch = args.batch_size if cuda else min(args.batch_size, 2)
    data = synthetic_data(args.vocab_size, n_pieces=64)

    warmup = 5 if cuda else 1
    config = TrainConfig(
        batch_size=batch,
        seq_len=seq_len,
        max_steps=warmup + args.steps,
        log_every=warmup,
        eval_every=10**9,
        save_every=10**9,
        warmup_steps=1,
        compile=args.compile,
        progress=False,
        learning_rate=3e-4,
    )
    model = build_model(args.preset, args.vocab_size, context_tokens=max(seq_len, 256))
    n_params = count_parameters(model)
    flops_token = flops_per_token(model, seq_len)
    with tempfile.TemporaryDirectory(prefix="tribute-gpu-bench-") as tmp:
        result = train(model, data, None, config, Path(tmp) / "run")
    del model
    if cuda:
        torch.cuda.empty_cache()
    base = baseline(
        build_model(args.preset, args.vocab_size, context_tokens=max(seq_len, 256)),
        data,
        batch,
        seq_len,
        args.steps,
        dtype,
        args.compile,
    )

    device = torch.device("cuda" if cuda else "cpu")
    peak = peak_flops(device)

    def mfu(tokens_per_s: float) -> float | None:
        return round(tokens_per_s * flops_token / peak, 4) if peak else None

    row = {
        "preset": args.preset,
        "parameters": n_params,
        "batch": batch,
        "seq_len": seq_len,
        "timed_steps": args.steps,
        "compile": args.compile,
        "dtype": str(dtype).replace("torch.", "") if dtype else "fp32",
        "device": torch.cuda.get_device_name(0) if cuda else "cpu",
        "peak_tflops": peak / 1e12 if peak else None,
        "tribute_tokens_per_s": round(result.steady_tokens_per_s, 1),
        "tribute_mfu": mfu(result.steady_tokens_per_s),
        "baseline_tokens_per_s": round(base, 1),
        "baseline_mfu": mfu(base),
        "ratio": round(result.steady_tokens_per_s / base, 3),
        "max_memory_gib": round(torch.cuda.max_memory_allocated() / 2**30, 2) if cuda else None,
    }
    print(json.dumps(row, indent=1))
    record = {
        "benchmark": "gpu_pretrain",
        "results": [row],
        "environment": environment(),
        "date": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
        "command": "python benchmarks/gpu_pretrain_bench.py " + " ".join(sys.argv[1:]),
    }
    if cuda:  # a CPU smoke run does not overwrite the recorded GPU numbers
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(record, indent=1) + "\n")
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
