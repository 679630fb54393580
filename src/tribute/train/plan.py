"""The plan of a training run and the accounting of its speed.

The plan: AdamW (no weight decay on norms and biases) under a linear warm-up and a cosine
decay, and what the main process prints before the first step (model, devices, tokens per
step and epoch, an estimated duration). While training, :class:`Throughput` turns steps into
tokens/s and MFU (model FLOPs utilisation: achieved FLOP/s over the devices' dense bf16 peak,
:data:`PEAK_FLOPS`) and :class:`Reporter` shows them in the progress bar and TensorBoard.
Apart from the loop so that the benchmarks use the same peaks and machine record.
"""

from __future__ import annotations

import math
import os
import platform
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from tribute.model import count_parameters

if TYPE_CHECKING:
    from tribute.train.data import TokenData, TokenMixture
    from tribute.train.loop import TrainConfig

__all__ = ["PEAK_FLOPS", "Reporter", "Throughput", "environment", "peak_flops"]

# Dense (no sparsity) bf16 tensor-core peaks, FLOP/s, matched against the CUDA device name in
# order (most specific first). Turing and Volta have no bf16: their fp16 peak is listed.
PEAK_FLOPS: tuple[tuple[str, float], ...] = (
    ("H100 PCIe", 756e12),
    ("H100 NVL", 835e12),
    ("H100", 989e12),  # SXM (HBM3)
    ("H200", 989e12),
    ("GH200", 989e12),
    ("B200", 2_250e12),
    ("A100", 312e12),
    ("A800", 312e12),
    ("L40S", 362e12),
    ("L4", 121e12),
    ("A10G", 70e12),
    ("A10", 125e12),
    ("RTX 4090", 165e12),
    ("RTX 3090", 71e12),
    ("TITAN RTX", 130e12),  # fp16 tensor
    ("V100", 125e12),  # fp16 tensor
    ("T4", 65e12),  # fp16 tensor
)


def peak_flops(device: torch.device) -> float | None:
    """Dense bf16 (or fp16) FLOP/s of a CUDA device, None when unknown or on CPU."""
    if device.type != "cuda":
        return None
    name = torch.cuda.get_device_name(device)
    return next((peak for key, peak in PEAK_FLOPS if key in name), None)


def environment(accelerator=None) -> dict:
    """Machine and versions, recorded with every run and benchmark."""
    import accelerate
    import transformers

    env = {
        "python": sys.version.split()[0],
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "accelerate": accelerate.__version__,
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
    }
    if torch.cuda.is_available():
        env["gpu"] = torch.cuda.get_device_name(0)
    if accelerator is not None:
        env["processes"] = accelerator.num_processes
        env["distributed"] = str(accelerator.distributed_type)
    return env


class Throughput:
    """Tokens/s and MFU of each log window, the steady rate after the first window (warm-up,
    compilation) and the whole run's rate. The clock starts when the meter is made."""

    def __init__(self, flops_per_token: float, peak_flops_per_s: float | None) -> None:
        self.flops_per_token = flops_per_token
        self.peak_flops_per_s = peak_flops_per_s  # all processes together; None: unknown
        self.t_start_s = time.perf_counter()
        self.tokens = 0  # trained since the start
        self.tokens_per_s = 0.0  # of the last log window
        self.mfu: float | None = 0.0 if peak_flops_per_s else None
        self._window = (self.t_start_s, 0)  # (time, tokens) where the window began
        self._steady_from: tuple[float, int] | None = None  # (time, tokens) at the first log
        self._t_end_s: float | None = None

    def count(self, tokens: int) -> None:
        self.tokens += tokens

    def end_window(self) -> None:
        """Close a log window: its tokens/s and MFU become the current figures."""
        now = time.perf_counter()
        t_window, tokens_window = self._window
        self.tokens_per_s = (self.tokens - tokens_window) / max(now - t_window, 1e-9)
        if self.peak_flops_per_s:
            self.mfu = self.tokens_per_s * self.flops_per_token / self.peak_flops_per_s
        self._window = (now, self.tokens)
        self._steady_from = self._steady_from or self._window

    def stop(self) -> None:
        self._t_end_s = time.perf_counter()

    @property
    def seconds(self) -> float:
        return (self._t_end_s or time.perf_counter()) - self.t_start_s

    @property
    def run_tokens_per_s(self) -> float:
        return self.tokens / max(self.seconds, 1e-9)

    @property
    def steady_tokens_per_s(self) -> float | None:
        """Tokens/s after the first log window; None when nothing was trained after it."""
        if self._steady_from is None or self.tokens <= self._steady_from[1]:
            return None
        t_end_s = self._t_end_s or time.perf_counter()
        t_from, tokens_from = self._steady_from
        return (self.tokens - tokens_from) / max(t_end_s - t_from, 1e-9)


class Reporter:
    """The progress bar (stderr) and TensorBoard scalars; silent on processes other than the
    main one."""

    def __init__(self, out_dir: Path, progress: bool, total: int, initial: int, main: bool):
        self.writer = _tensorboard(out_dir) if main else None
        self.bar = _progress(progress, total, initial) if main else None

    def advance(self) -> None:
        if self.bar is not None:
            self.bar.update(1)

    def train(self, step: int, loss: float, lr: float, meter: Throughput, val_loss) -> None:
        if self.writer:
            self.writer.add_scalar("train/loss", loss, step)
            self.writer.add_scalar("train/lr", lr, step)
            self.writer.add_scalar("perf/tokens_per_s", meter.tokens_per_s, step)
            if meter.mfu is not None:
                self.writer.add_scalar("perf/mfu", meter.mfu, step)
        self._postfix(loss, val_loss, meter)

    def threads(self, step: int, threads: int) -> None:
        if self.writer:
            self.writer.add_scalar("perf/threads", threads, step)

    def validation(self, step: int, val_loss: float, train_loss, meter: Throughput) -> None:
        if self.writer:
            self.writer.add_scalar("val/loss", val_loss, step)
        self._postfix(train_loss, val_loss, meter)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
        if self.writer:
            self.writer.close()

    def _postfix(self, train_loss, val_loss, meter: Throughput) -> None:
        if self.bar is None:
            return
        parts = []
        if train_loss is not None:
            parts.append(f"loss {train_loss:.3f}")
        if val_loss is not None:
            parts.append(f"val {val_loss:.3f}")
        parts.append(f"{meter.tokens_per_s:,.0f} tok/s")
        if meter.mfu:
            parts.append(f"MFU {100 * meter.mfu:.1f}%")
        self.bar.set_postfix_str(", ".join(parts))


def _lr_lambda(config: TrainConfig, total_steps: int):
    """The LR factor per step: linear warm-up (at most 10 % of the run), then a cosine decay to
    ``min_lr_ratio``."""
    warmup = min(config.warmup_steps, max(1, total_steps // 10))

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        progress = min(1.0, (step - warmup) / max(1, total_steps - warmup))
        cosine = 0.5 * (1.0 + math.cos(math.pi * progress))
        return config.min_lr_ratio + (1.0 - config.min_lr_ratio) * cosine

    return factor


def _optimizer(model: torch.nn.Module, config: TrainConfig) -> torch.optim.AdamW:
    # No weight decay on norms and biases (1-D tensors), as in GPT-2 / nanoGPT.
    params = [p for p in model.parameters() if p.requires_grad]
    decay = [p for p in params if p.dim() >= 2]
    other = [p for p in params if p.dim() < 2]
    groups = [
        {"params": decay, "weight_decay": config.weight_decay},
        {"params": other, "weight_decay": 0.0},
    ]
    return torch.optim.AdamW(
        groups,
        lr=config.learning_rate,
        betas=config.betas,
        fused=torch.cuda.is_available() and not config.fsdp,
    )


def _print_plan(
    log,
    accelerator,
    model,
    config: TrainConfig,
    train_data: TokenData | TokenMixture,
    val_data: TokenData | None,
    tokens_per_step: int,
    total_steps: int,
    flops_token: float,
    precision: str,
    start_step: int,
) -> None:
    bare = accelerator.unwrap_model(model)
    n_params = count_parameters(bare)
    steps_per_epoch = train_data.n_tokens / tokens_per_step
    device = accelerator.device
    peak = peak_flops(device)
    # Time estimate: 40 % of the device peak on GPU; on CPU a measured matmul rate × 0.5.
    rate = 0.4 * peak * accelerator.num_processes if peak else 0.5 * _cpu_flops()
    seconds = (total_steps - start_step) * tokens_per_step * flops_token / max(rate, 1.0)
    log(
        f"model: {getattr(bare.config, 'tribute_preset', '?')}, {n_params / 1e6:.2f} M "
        f"parameters ({count_parameters(bare, non_embedding=True) / 1e6:.2f} M non-embedding), "
        f"vocabulary {bare.config.vocab_size:,}, context {bare.config.max_position_embeddings:,}"
    )
    log(
        f"device: {device.type} × {accelerator.num_processes} ({accelerator.distributed_type}), "
        f"precision {precision}"
    )
    if config.fsdp and not getattr(accelerator, "is_fsdp2", False):
        log("note: --fsdp shards over several GPUs only; this run replicates the model (DDP)")
    log(
        f"tokens/step: {config.batch_size} seq × {config.grad_accum} accum × {config.seq_len} "
        f"tokens × {accelerator.num_processes} proc = {tokens_per_step:,}"
    )
    log(
        f"tokens/epoch: {train_data.n_tokens:,} in {len(train_data):,} pieces (with augmented "
        f"copies) = {steps_per_epoch:,.1f} steps; validation: "
        + (f"{val_data.n_tokens:,} tokens in {len(val_data):,} pieces" if val_data else "none")
    )
    log(
        f"run: steps {start_step:,} → {total_steps:,} "
        f"({total_steps / max(steps_per_epoch, 1e-9):.2f} epochs), "
        f"{flops_token * tokens_per_step / 1e9:,.1f} GFLOP/step, estimated "
        f"{_duration(seconds)} (one epoch ≈ "
        f"{_duration(seconds / max(total_steps - start_step, 1) * steps_per_epoch)})"
    )


def _cpu_flops() -> float:
    """FLOP/s of this CPU on 512 × 512 fp32 matmuls (1 warm-up, then 8 timed: 2.1 GFLOP)."""
    a = torch.randn(512, 512)
    torch.mm(a, a)
    t0 = time.perf_counter()
    for _ in range(8):
        torch.mm(a, a)
    return 8 * 2 * 512**3 / (time.perf_counter() - t0)


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7_200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def _progress(enabled: bool, total: int, initial: int):
    from tqdm.auto import tqdm

    return tqdm(
        total=total,
        initial=initial,
        unit="step",
        dynamic_ncols=True,
        disable=not enabled,
        file=sys.stderr,
    )


def _tensorboard(out_dir: Path):
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:  # tensorboard is in the "train" extra; training works without it
        return None
    return SummaryWriter(str(out_dir / "logs"))
