"""The training loop shared by pretraining and fine-tuning.

``train(model, train_data, val_data, config, out_dir)`` runs AdamW with linear warm-up and a
cosine decay, gradient accumulation, periodic validation loss, optional early stopping, atomic
checkpoints with ``resume``, TensorBoard logs and a progress bar with tokens/s and ETA.

Devices, precision and distribution come from HF ``accelerate``: the same code runs on CPU,
one GPU (bf16 autocast, fp16 + loss scaling where bf16 is missing) and under ``torchrun`` /
``accelerate launch`` as DDP (gloo on CPU, NCCL on GPU) or FSDP (``config.fsdp``).

Checkpoint folder (written to ``.tmp-…`` and renamed, so a killed run never leaves a partial
``step-N``; ``latest.json`` is replaced atomically after the rename)::

    checkpoints/step-000200/  config.json, model.safetensors   (save_pretrained)
                              optimizer.pt                      (tensors only: weights_only load)
                              state.json                        (step, scheduler, history; last)
    checkpoints/latest.json   {"step": 200, "dir": "step-000200"}
    checkpoints/best/         the weights with the lowest validation loss so far
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import platform
import shutil
import sys
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import torch

from tribute.errors import TributeError
from tribute.model import count_parameters, flops_per_token
from tribute.paths import atomic_write_text
from tribute.train.data import TokenData

__all__ = ["TrainConfig", "TrainResult", "latest_checkpoint", "peak_flops", "train"]

CHECKPOINTS = "checkpoints"
TRAIN_CONFIG_FILE = "train_config.json"
RECORD_FILE = "training.json"
ADAPTER_WEIGHTS = "adapter_model.safetensors"  # what a PEFT (LoRA) model saves instead

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


@dataclass(frozen=True)
class TrainConfig:
    """Every knob of a training run (saved as ``train_config.json`` beside its outputs)."""

    batch_size: int = 8  # sequences per micro-batch per process
    grad_accum: int = 1  # micro-batches per optimizer step
    seq_len: int = 512  # tokens per sequence (≤ the model's context)
    learning_rate: float = 1e-3  # peak
    min_lr_ratio: float = 0.1  # cosine floor, as a fraction of the peak
    warmup_steps: int = 100  # capped at 10 % of the run
    weight_decay: float = 0.1
    betas: tuple[float, float] = (0.9, 0.95)
    grad_clip: float = 1.0
    max_steps: int | None = None  # else derived from ``epochs``
    epochs: float = 1.0  # passes over the (augmented) training tokens
    eval_every: int = 100  # steps between validation passes (and at the end)
    eval_batches: int = 8
    save_every: int = 200  # steps between checkpoints (and at the end)
    keep_checkpoints: int = 2
    patience: int | None = None  # stop after this many evaluations without improvement
    restore_best: bool = True  # export the best-validation weights, not the last ones
    log_every: int = 10
    seed: int = 0
    precision: str = "auto"  # auto | fp32 | bf16 | fp16  (auto: bf16 on GPU if it can, else fp16)
    compile: bool = False  # torch.compile the model (GPU)
    fsdp: bool = False  # shard parameters (FSDP) instead of replicating them (DDP)
    progress: bool = True

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> TrainConfig:
        data = dict(data)
        data["betas"] = tuple(data.get("betas", cls.betas))
        return cls(**data)


@dataclass
class TrainResult:
    steps: int
    tokens: int
    train_loss: float
    val_loss: float | None
    best_val_loss: float | None
    tokens_per_s: float
    seconds: float
    stopped_early: bool = False
    mfu: float | None = None
    steady_tokens_per_s: float | None = None  # after the first log window (warm-up, compile)
    history: list[dict] = field(default_factory=list)
    rank_checksums: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        return asdict(self)


def peak_flops(device: torch.device) -> float | None:
    """Dense bf16 (or fp16) FLOP/s of a CUDA device, None when unknown or on CPU."""
    if device.type != "cuda":
        return None
    name = torch.cuda.get_device_name(device)
    return next((peak for key, peak in PEAK_FLOPS if key in name), None)


def latest_checkpoint(out_dir: Path) -> Path | None:
    """The newest complete checkpoint (``state.json`` present), trusting ``latest.json`` first."""
    root = Path(out_dir) / CHECKPOINTS
    with contextlib.suppress(OSError, ValueError, KeyError):
        latest = root / json.loads((root / "latest.json").read_text())["dir"]
        if (latest / "state.json").is_file():
            return latest
    complete = sorted(p for p in root.glob("step-*") if (p / "state.json").is_file())
    return complete[-1] if complete else None


def _accelerator(config: TrainConfig):
    from accelerate import Accelerator

    cuda = torch.cuda.is_available()
    precision = config.precision
    if precision == "auto":
        precision = ("bf16" if torch.cuda.is_bf16_supported() else "fp16") if cuda else "fp32"
    if precision in ("bf16", "fp16") and not cuda:
        raise TributeError(f"--precision {precision} needs a GPU; use fp32 on CPU")
    kwargs = {}
    if config.fsdp:
        from accelerate import FullyShardedDataParallelPlugin

        kwargs["fsdp_plugin"] = FullyShardedDataParallelPlugin(
            fsdp_version=2,
            auto_wrap_policy="transformer_based_wrap",
            transformer_cls_names_to_wrap=["LlamaDecoderLayer"],
            reshard_after_forward=True,
            state_dict_type="FULL_STATE_DICT",
            cpu_ram_efficient_loading=False,
        )
    accelerator = Accelerator(
        cpu=not cuda, mixed_precision="no" if precision == "fp32" else precision, **kwargs
    )
    return accelerator, precision


def _lr_lambda(config: TrainConfig, total_steps: int):
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


def train(
    model,
    train_data: TokenData,
    val_data: TokenData | None,
    config: TrainConfig,
    out_dir: str | Path,
    *,
    resume: bool = False,
    fingerprint: str = "",
    record: dict | None = None,
    log=print,
    on_evaluate=None,
) -> TrainResult:
    """Train ``model`` (a ``LlamaForCausalLM``, or a PEFT model around one) and save it into
    ``out_dir``.

    ``fingerprint`` identifies the tokenizer (checked on resume); ``record`` is merged into
    ``training.json``; ``on_evaluate(model, step) -> dict`` runs on the main process after each
    validation and its figures join that validation's history entry (e.g. fine-tuning's
    over-fitting probe). Returns the result on every rank; only the main process writes files.
    """
    out_dir = Path(out_dir)
    accelerator, precision = _accelerator(config)
    main = accelerator.is_main_process
    world = accelerator.num_processes
    device = accelerator.device
    if config.seq_len > model.config.max_position_embeddings:
        raise TributeError(
            f"sequence length {config.seq_len} exceeds the model's context "
            f"({model.config.max_position_embeddings})"
        )

    tokens_per_step = config.batch_size * config.grad_accum * config.seq_len * world
    total_steps = config.max_steps or max(
        1, math.ceil(config.epochs * train_data.n_tokens / tokens_per_step)
    )
    config = replace(config, max_steps=total_steps)
    flops_token = flops_per_token(model, config.seq_len)

    # ---- resume: weights into the bare model; optimizer/scheduler state after creation
    state: dict = {
        "step": 0,
        "tokens": 0,
        "best_val_loss": None,
        "evals_since_best": 0,
        "history": [],
    }
    checkpoint = latest_checkpoint(out_dir) if resume else None
    if resume and checkpoint is None:
        log(f"no checkpoint in {out_dir}; starting from step 0")
    if checkpoint is not None:
        state = _load_checkpoint_state(checkpoint, model, fingerprint)
        if state.get("world_size", world) != world:
            log(
                f"note: resuming a {state['world_size']}-process run on {world} processes; "
                "tokens per step change accordingly"
            )

    optimizer = _optimizer(model, config)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, _lr_lambda(config, total_steps))
    if config.compile:
        model.compile()  # in place: the module and its state-dict keys stay as they are
    model, optimizer = accelerator.prepare(model, optimizer)
    if checkpoint is not None:
        _load_optimizer_state(accelerator, model, optimizer, checkpoint / "optimizer.pt")
        scheduler.load_state_dict(state["scheduler"])

    if main:
        out_dir.mkdir(parents=True, exist_ok=True)
        atomic_write_text(out_dir / TRAIN_CONFIG_FILE, json.dumps(config.to_json(), indent=1))
        _print_plan(
            log,
            accelerator,
            model,
            config,
            train_data,
            val_data,
            tokens_per_step,
            total_steps,
            flops_token,
            precision,
            state["step"],
        )
    writer = _tensorboard(out_dir) if main else None

    peak = peak_flops(device)
    start_step = state["step"]
    step = start_step
    bar = _progress(config, total_steps, start_step) if main else None
    t_start = time.perf_counter()
    t_window, tokens_window, losses = t_start, 0, []
    steady_from: tuple[float, int] | None = None  # (time, step) at the first log
    tokens_per_s = mfu = 0.0
    val_loss = None
    stopped_early = False
    try:
        while step < total_steps:
            model.train()
            for micro in range(config.grad_accum):
                rng = np.random.default_rng([config.seed, step, micro, accelerator.process_index])
                ids, labels = train_data.sample(rng, config.batch_size, config.seq_len)
                sync = micro == config.grad_accum - 1
                ctx = contextlib.nullcontext() if sync else accelerator.no_sync(model)
                with ctx:
                    with accelerator.autocast():
                        loss = model(
                            input_ids=torch.from_numpy(ids).to(device),
                            labels=torch.from_numpy(labels).to(device),
                        ).loss
                    accelerator.backward(loss / config.grad_accum)
                losses.append(loss.detach())
            if config.grad_clip:
                accelerator.clip_grad_norm_(model.parameters(), config.grad_clip)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            step += 1
            if bar is not None:
                bar.update(1)
            state["tokens"] += tokens_per_step
            tokens_window += tokens_per_step

            if step % config.log_every == 0 or step == total_steps:
                train_loss = accelerator.reduce(torch.stack(losses).mean(), "mean").item()
                losses = []
                elapsed = time.perf_counter() - t_window
                tokens_per_s = tokens_window / max(elapsed, 1e-9)
                mfu = tokens_per_s * flops_token / (peak * world) if peak else 0.0
                t_window, tokens_window = time.perf_counter(), 0
                steady_from = steady_from or (t_window, step)
                state["train_loss"] = train_loss
                if writer:
                    writer.add_scalar("train/loss", train_loss, step)
                    writer.add_scalar("train/lr", scheduler.get_last_lr()[0], step)
                    writer.add_scalar("perf/tokens_per_s", tokens_per_s, step)
                    if peak:
                        writer.add_scalar("perf/mfu", mfu, step)
                if bar is not None:
                    bar.set_postfix_str(_postfix(train_loss, val_loss, tokens_per_s, mfu))

            if val_data is not None and (step % config.eval_every == 0 or step == total_steps):
                val_loss = evaluate(model, val_data, config, accelerator)
                improved = state["best_val_loss"] is None or val_loss < state["best_val_loss"]
                state["history"].append(
                    {
                        "step": step,
                        "tokens": state["tokens"],
                        "train_loss": state.get("train_loss"),
                        "val_loss": val_loss,
                    }
                )
                if on_evaluate is not None and main:
                    state["history"][-1].update(on_evaluate(accelerator.unwrap_model(model), step))
                    model.train()
                if improved:
                    state["best_val_loss"], state["evals_since_best"] = val_loss, 0
                    _save_weights(accelerator, model, out_dir / CHECKPOINTS / "best")
                else:
                    state["evals_since_best"] += 1
                if writer:
                    writer.add_scalar("val/loss", val_loss, step)
                if bar is not None:
                    bar.set_postfix_str(
                        _postfix(state.get("train_loss"), val_loss, tokens_per_s, mfu)
                    )
                if config.patience is not None and state["evals_since_best"] >= config.patience:
                    stopped_early = True
                    log(
                        f"\nearly stop at step {step}: no validation improvement in "
                        f"{config.patience} evaluations (best {state['best_val_loss']:.4f})"
                    )

            if step % config.save_every == 0 or step == total_steps or stopped_early:
                state.update(
                    step=step,
                    scheduler=scheduler.state_dict(),
                    world_size=world,
                    fingerprint=fingerprint,
                    config=config.to_json(),
                )
                _save_checkpoint(accelerator, model, optimizer, state, out_dir, config)
            if stopped_early:
                break
    except torch.OutOfMemoryError as exc:
        raise TributeError(
            f"out of memory at batch {config.batch_size} × {config.seq_len} tokens; try "
            f"--batch-size {max(1, config.batch_size // 2)} --grad-accum "
            f"{config.grad_accum * 2} (same tokens per step)"
        ) from exc
    finally:
        if bar is not None:
            bar.close()
        if writer:
            writer.close()

    t_end = time.perf_counter()
    seconds = t_end - t_start
    steady = None
    if steady_from is not None and step > steady_from[1]:
        steady = (step - steady_from[1]) * tokens_per_step / max(t_end - steady_from[0], 1e-9)
    trained_tokens = (step - start_step) * tokens_per_step
    result = TrainResult(
        steps=step,
        tokens=state["tokens"],
        train_loss=state.get("train_loss", float("nan")),
        val_loss=val_loss,
        best_val_loss=state["best_val_loss"],
        tokens_per_s=trained_tokens / max(seconds, 1e-9),
        seconds=seconds,
        steady_tokens_per_s=steady,
        stopped_early=stopped_early,
        mfu=mfu if peak else None,
        history=state["history"],
    )
    # Every rank's weight hash: under DDP they must be identical (the ranks saw different
    # batches, so agreement proves the gradients were averaged).
    from accelerate.utils import gather_object

    result.rank_checksums = gather_object([weights_checksum(accelerator.unwrap_model(model))])
    _export(accelerator, model, out_dir, config, result, record or {}, fingerprint)
    return result


def weights_checksum(model: torch.nn.Module) -> str:
    """SHA-256 (16 hex digits) of all parameters, bit-exact."""
    digest = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        digest.update(name.encode())
        digest.update(tensor.detach().float().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()[:16]


@torch.no_grad()
def evaluate(model, data: TokenData, config: TrainConfig, accelerator) -> float:
    """Mean validation loss per token over ``eval_batches`` fixed batches, split over ranks."""
    model.eval()
    rng = np.random.default_rng([config.seed, 7_919])  # the same windows at every evaluation
    batches = [
        data.sample(rng, config.batch_size, config.seq_len) for _ in range(config.eval_batches)
    ]
    total = torch.zeros(2, device=accelerator.device, dtype=torch.float64)
    for ids, labels in batches[accelerator.process_index :: accelerator.num_processes]:
        n = int((labels[:, 1:] != -100).sum())
        with accelerator.autocast():
            loss = model(
                input_ids=torch.from_numpy(ids).to(accelerator.device),
                labels=torch.from_numpy(labels).to(accelerator.device),
            ).loss
        total += torch.tensor([loss.item() * n, n], device=accelerator.device, dtype=torch.float64)
    total = accelerator.reduce(total, "sum")
    model.train()
    return float(total[0] / max(total[1].item(), 1.0))


# --------------------------------------------------------------------------------------------
# Checkpoints


def _state_dict(accelerator, model) -> dict:
    """The full (gathered) weights; every rank must call this under FSDP."""
    return accelerator.get_state_dict(model)


def _save_weights(accelerator, model, folder: Path) -> None:
    state_dict = _state_dict(accelerator, model)
    if accelerator.is_main_process:
        tmp = _tmp_dir(folder)
        _save_pretrained(accelerator.unwrap_model(model), tmp, state_dict)
        _replace_dir(tmp, folder)
    accelerator.wait_for_everyone()


def _save_checkpoint(
    accelerator, model, optimizer, state: dict, out_dir: Path, config: TrainConfig
) -> None:
    state_dict = _state_dict(accelerator, model)
    optim_state = _optimizer_state(accelerator, model, optimizer)
    if accelerator.is_main_process:
        root = out_dir / CHECKPOINTS
        name = f"step-{state['step']:06d}"
        tmp = _tmp_dir(root / name)
        _save_pretrained(accelerator.unwrap_model(model), tmp, state_dict)
        torch.save(optim_state, tmp / "optimizer.pt")
        # state.json last: its presence marks a complete checkpoint.
        atomic_write_text(tmp / "state.json", json.dumps(state, indent=1))
        _fsync_dir(tmp)
        _replace_dir(tmp, root / name)
        atomic_write_text(root / "latest.json", json.dumps({"step": state["step"], "dir": name}))
        old = sorted(p for p in root.glob("step-*") if p.name != name)
        for stale in old[: max(0, len(old) - config.keep_checkpoints + 1)]:
            shutil.rmtree(stale, ignore_errors=True)
    accelerator.wait_for_everyone()


def _optimizer_state(accelerator, model, optimizer) -> dict:
    """A full optimizer state dict (gathered from the shards under FSDP)."""
    if getattr(accelerator, "is_fsdp2", False):
        from torch.distributed.checkpoint.state_dict import (
            StateDictOptions,
            get_optimizer_state_dict,
        )

        return get_optimizer_state_dict(
            model,
            optimizer.optimizer,
            options=StateDictOptions(full_state_dict=True, cpu_offload=True),
        )
    return optimizer.state_dict()


def _load_optimizer_state(accelerator, model, optimizer, path: Path) -> None:
    saved = torch.load(path, map_location="cpu", weights_only=True)  # tensors only, no pickle
    if getattr(accelerator, "is_fsdp2", False):
        from torch.distributed.checkpoint.state_dict import (
            StateDictOptions,
            set_optimizer_state_dict,
        )

        set_optimizer_state_dict(
            model, optimizer.optimizer, saved, options=StateDictOptions(full_state_dict=True)
        )
    else:
        optimizer.load_state_dict(saved)


def _load_checkpoint_state(checkpoint: Path, model, fingerprint: str) -> dict:
    from safetensors.torch import load_file

    state = json.loads((checkpoint / "state.json").read_text(encoding="utf-8"))
    if fingerprint and state.get("fingerprint") and state["fingerprint"] != fingerprint:
        raise TributeError(
            f"{checkpoint} was trained with a different tokenizer "
            f"({state['fingerprint']} ≠ {fingerprint}); use --force to start over"
        )
    if (checkpoint / ADAPTER_WEIGHTS).is_file():
        _load_adapter(model, checkpoint)
        return state
    saved = json.loads((checkpoint / "config.json").read_text(encoding="utf-8"))
    for key in ("vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads"):
        if saved.get(key) != getattr(model.config, key):
            raise TributeError(
                f"{checkpoint} does not match this model ({key} "
                f"{saved.get(key)} ≠ {getattr(model.config, key)}); "
                "use the same preset and tokenizer, or --force to start over"
            )
    weights = load_file(checkpoint / "model.safetensors")
    missing, unexpected = model.load_state_dict(weights, strict=False)
    missing = [k for k in missing if k != "lm_head.weight"]  # tied to the embedding
    if missing or unexpected:
        raise TributeError(
            f"{checkpoint}: weights do not fit the model "
            f"(missing {missing[:3]}, unexpected {unexpected[:3]})"
        )
    model.tie_weights()
    return state


def _load_adapter(model, folder: Path) -> None:
    """LoRA weights saved by a PEFT model's ``save_pretrained`` back into that model."""
    from peft import set_peft_model_state_dict
    from safetensors.torch import load_file

    if not hasattr(model, "peft_config"):
        raise TributeError(
            f"{folder} holds a LoRA adapter but this run trains a plain model; "
            "use the same --method, or --force to start over"
        )
    set_peft_model_state_dict(model, load_file(folder / ADAPTER_WEIGHTS))


def _has_weights(folder: Path) -> bool:
    return (folder / "model.safetensors").is_file() or (folder / ADAPTER_WEIGHTS).is_file()


def _save_pretrained(model, folder: Path, state_dict: dict) -> None:
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    model.save_pretrained(folder, state_dict=state_dict, safe_serialization=True)


def _tmp_dir(folder: Path) -> Path:
    tmp = folder.with_name(f".tmp-{folder.name}-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    return tmp


def _replace_dir(tmp: Path, folder: Path) -> None:
    """Move ``tmp`` to ``folder``; an old ``folder`` is moved aside first, then deleted."""
    if folder.exists():
        trash = folder.with_name(f".old-{folder.name}-{os.getpid()}")
        shutil.rmtree(trash, ignore_errors=True)
        os.replace(folder, trash)
        os.replace(tmp, folder)
        shutil.rmtree(trash, ignore_errors=True)
    else:
        os.replace(tmp, folder)


def _fsync_dir(folder: Path) -> None:
    for path in folder.iterdir():
        with open(path, "rb") as handle:
            os.fsync(handle.fileno())


# --------------------------------------------------------------------------------------------
# Output, logging


def _export(
    accelerator,
    model,
    out_dir: Path,
    config: TrainConfig,
    result: TrainResult,
    record: dict,
    fingerprint: str,
) -> None:
    """The final model into ``out_dir`` (best-validation weights if ``restore_best``)."""
    best = out_dir / CHECKPOINTS / "best"
    use_best = (
        config.restore_best
        and result.best_val_loss is not None
        and result.val_loss is not None
        and result.best_val_loss < result.val_loss
        and _has_weights(best)
    )
    state_dict = _state_dict(accelerator, model)
    if accelerator.is_main_process:
        if use_best and (best / ADAPTER_WEIGHTS).is_file():
            unwrapped = accelerator.unwrap_model(model)
            _load_adapter(unwrapped, best)
            state_dict = unwrapped.state_dict()
        elif use_best:
            from safetensors.torch import load_file

            state_dict = load_file(best / "model.safetensors")
        _save_pretrained(accelerator.unwrap_model(model), out_dir, state_dict)
        full = {
            **record,
            "result": result.to_json(),
            "train_config": config.to_json(),
            "exported": "best" if use_best else "last",
            "tokenizer_fingerprint": fingerprint,
            "environment": environment(accelerator),
        }
        atomic_write_text(out_dir / RECORD_FILE, json.dumps(full, indent=1) + "\n")
    accelerator.wait_for_everyone()


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


def _print_plan(
    log,
    accelerator,
    model,
    config: TrainConfig,
    train_data: TokenData,
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
        f"{_duration(seconds)}"
    )


def _cpu_flops() -> float:
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


def _postfix(train_loss, val_loss, tokens_per_s: float, mfu: float) -> str:
    parts = []
    if train_loss is not None:
        parts.append(f"loss {train_loss:.3f}")
    if val_loss is not None:
        parts.append(f"val {val_loss:.3f}")
    parts.append(f"{tokens_per_s:,.0f} tok/s")
    if mfu:
        parts.append(f"MFU {100 * mfu:.1f}%")
    return ", ".join(parts)


def _progress(config: TrainConfig, total: int, initial: int):
    from tqdm.auto import tqdm

    return tqdm(
        total=total,
        initial=initial,
        unit="step",
        dynamic_ncols=True,
        disable=not config.progress,
        file=sys.stderr,
    )


def _tensorboard(out_dir: Path):
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:  # tensorboard is in the "train" extra; training works without it
        return None
    return SummaryWriter(str(out_dir / "logs"))
