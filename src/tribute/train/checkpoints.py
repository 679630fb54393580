"""Checkpoints of a training run and its final export, written so that a killed run never
leaves a partial folder behind and ``resume`` always finds a complete one.

Each checkpoint is written to ``.tmp-…`` and renamed; ``latest.json`` is replaced atomically
after the rename, and ``state.json`` is written last, so its presence marks a complete one::

    checkpoints/step-000200/  config.json, model.safetensors   (save_pretrained)
                              optimizer.pt                      (tensors only: weights_only load)
                              state.json                        (step, scheduler, history; last)
    checkpoints/latest.json   {"step": 200, "dir": "step-000200"}
    checkpoints/best/         the weights with the lowest validation loss so far

A LoRA run saves ``adapter_model.safetensors`` (PEFT) instead of ``model.safetensors``. Under
FSDP the weights and optimizer state are gathered from the shards (every rank takes part) and
only the main process writes.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from tribute.errors import TributeError
from tribute.modeldir import ADAPTER_WEIGHTS, RECORD_FILE
from tribute.paths import atomic_write_text
from tribute.train.plan import environment

if TYPE_CHECKING:
    from tribute.train.loop import TrainConfig, TrainResult

__all__ = ["CHECKPOINTS", "latest_checkpoint", "weights_checksum"]

CHECKPOINTS = "checkpoints"


@dataclass
class _RunState:
    """Where a run stands: a checkpoint's ``state.json``, with the keys it always had."""

    step: int = 0
    tokens: int = 0
    best_val_loss: float | None = None
    evals_since_best: int = 0
    history: list[dict] = field(default_factory=list)  # one entry per validation
    seconds: float = 0.0  # training wall time of every invocation so far (resumes add up)
    train_loss: float | None = None  # of the last log window; not saved before the first
    scheduler: dict | None = None  # the LR scheduler's state_dict; the rest is set on saving
    world_size: int | None = None
    fingerprint: str = ""
    config: dict | None = None

    def to_json(self) -> dict:
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        if self.train_loss is None:
            del data["train_loss"]
        return data

    @classmethod
    def from_json(cls, data: dict) -> _RunState:
        names = {f.name for f in fields(cls)}
        return cls(**{key: value for key, value in data.items() if key in names})


def _resume(
    model, out_dir: Path, resume: bool, fingerprint: str, world: int, log
) -> tuple[_RunState, Path | None]:
    """A fresh state, or the latest checkpoint's (its weights loaded into ``model``)."""
    checkpoint = latest_checkpoint(out_dir) if resume else None
    if resume and checkpoint is None:
        log(f"no checkpoint in {out_dir}; starting from step 0")
    if checkpoint is None:
        return _RunState(), None
    state = _RunState.from_json(_load_checkpoint_state(checkpoint, model, fingerprint))
    if state.world_size not in (None, world):
        log(
            f"note: resuming a {state.world_size}-process run on {world} processes; "
            "tokens per step change accordingly"
        )
    return state, checkpoint


def latest_checkpoint(out_dir: Path) -> Path | None:
    """The newest complete checkpoint (``state.json`` present), trusting ``latest.json`` first."""
    root = Path(out_dir) / CHECKPOINTS
    with contextlib.suppress(OSError, ValueError, KeyError):
        latest = root / json.loads((root / "latest.json").read_text())["dir"]
        if (latest / "state.json").is_file():
            return latest
    complete = sorted(p for p in root.glob("step-*") if (p / "state.json").is_file())
    return complete[-1] if complete else None


def weights_checksum(model: torch.nn.Module) -> str:
    """SHA-256 (16 hex digits) of all parameters, bit-exact."""
    digest = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        digest.update(name.encode())
        digest.update(tensor.detach().float().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()[:16]


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
    accelerator, model, optimizer, state: _RunState, out_dir: Path, config: TrainConfig
) -> None:
    state_dict = _state_dict(accelerator, model)
    optim_state = _optimizer_state(accelerator, model, optimizer)
    if accelerator.is_main_process:
        root = out_dir / CHECKPOINTS
        name = f"step-{state.step:06d}"
        tmp = _tmp_dir(root / name)
        _save_pretrained(accelerator.unwrap_model(model), tmp, state_dict)
        torch.save(optim_state, tmp / "optimizer.pt")
        # state.json last: its presence marks a complete checkpoint.
        atomic_write_text(tmp / "state.json", json.dumps(state.to_json(), indent=1))
        _fsync_dir(tmp)
        _replace_dir(tmp, root / name)
        atomic_write_text(root / "latest.json", json.dumps({"step": state.step, "dir": name}))
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
    """The checkpoint's weights into the bare ``model``; returns its ``state.json``."""
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
    extra = {"save_embedding_layers": True} if hasattr(model, "peft_config") else {}
    model.save_pretrained(folder, state_dict=state_dict, safe_serialization=True, **extra)


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


def _export(
    accelerator,
    model,
    out_dir: Path,
    config: TrainConfig,
    result: TrainResult,
    record: dict,
    fingerprint: str,
    final_validation=None,
) -> None:
    """The final model and ``training.json`` into ``out_dir`` (the best-validation weights if
    ``restore_best`` and they beat the last ones). ``final_validation(model)``, when given, is
    the exported weights' loss over the whole validation split (``result.full_val_loss``)."""
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
        unwrapped = accelerator.unwrap_model(model)
        _save_pretrained(unwrapped, out_dir, state_dict)
        if final_validation is not None:
            if use_best and not (best / ADAPTER_WEIGHTS).is_file():
                unwrapped.load_state_dict(state_dict, strict=False)  # tied head: not stored
            result.full_val_loss = final_validation(unwrapped)
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
