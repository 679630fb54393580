"""The training loop shared by pretraining and fine-tuning.

``train(model, train_data, val_data, config, out_dir)`` runs AdamW with linear warm-up and a
cosine decay, gradient accumulation, periodic validation loss, optional early stopping, atomic
checkpoints with ``resume`` (layout: :mod:`tribute.train.checkpoints`), TensorBoard logs and a
progress bar with tokens/s and ETA (:mod:`tribute.train.plan`).

Devices, precision and distribution come from HF ``accelerate``: the same code runs on CPU,
one GPU (bf16 autocast, fp16 + loss scaling where bf16 is missing) and under ``torchrun`` /
``accelerate launch`` as DDP (gloo on CPU, NCCL on GPU) or FSDP (``config.fsdp``).
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from tribute.errors import TributeError
from tribute.model import flops_per_token
from tribute.modeldir import RECORD_FILE
from tribute.paths import atomic_write_text
from tribute.threads import ThreadGovernor, training_threads
from tribute.train.checkpoints import (
    CHECKPOINTS,
    _export,
    _load_optimizer_state,
    _resume,
    _RunState,
    _save_checkpoint,
    _save_weights,
    latest_checkpoint,
    weights_checksum,
)
from tribute.train.data import TokenData, TokenMixture
from tribute.train.plan import (
    Reporter,
    Throughput,
    _lr_lambda,
    _optimizer,
    _print_plan,
    peak_flops,
)

__all__ = [
    "RECORD_FILE",
    "TRAIN_CONFIG_FILE",
    "TrainConfig",
    "TrainResult",
    "train",
    "validation_loss",
]

TRAIN_CONFIG_FILE = "train_config.json"


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
    max_steps: int | None = None  # else derived from ``time_budget_s``, else from ``epochs``
    epochs: float = 1.0  # passes over the (augmented) training tokens
    time_budget_s: float | None = None  # plan the steps (and the cosine) to end in this time
    eval_every: int = 100  # steps between validation passes (and at the end)
    validations: int | None = None  # instead: this many validations spread over the run
    eval_batches: int = 8
    save_every: int = 200  # steps between checkpoints (and at the end)
    keep_checkpoints: int = 2
    patience: int | None = None  # stop after this many evaluations without improvement
    restore_best: bool = True  # export the best-validation weights, not the last ones
    log_every: int = 10
    seed: int = 0
    precision: str = "auto"  # auto | fp32 | bf16 | fp16  (auto: bf16 on GPU if it can, else fp16)
    threads: int | None = None  # CPU threads (None: the cores other work leaves free)
    compile: bool = False  # torch.compile the model (GPU)
    fsdp: bool = False  # shard parameters (FSDP) instead of replicating them (DDP)
    progress: bool = True

    def __post_init__(self) -> None:
        if self.batch_size < 1 or self.grad_accum < 1 or self.seq_len < 2:
            raise TributeError("batch size and gradient accumulation must be ≥ 1, seq_len ≥ 2")
        if self.learning_rate <= 0:
            raise TributeError("the learning rate must be positive")
        if self.max_steps is not None and self.max_steps < 1:
            raise TributeError("--max-steps must be at least 1")
        if self.time_budget_s is not None and self.time_budget_s <= 0:
            raise TributeError("--time-budget must be positive")

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
    full_val_loss: float | None = None  # every validation token once, the exported weights

    def to_json(self) -> dict:
        return asdict(self)


def train(
    model,
    train_data: TokenData | TokenMixture,
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
    run = _Run(model, train_data, val_data, config, Path(out_dir), fingerprint, log, on_evaluate)
    run.start(resume)
    stopped_early = run.steps()
    return run.finish(stopped_early, record or {})


@torch.no_grad()
def validation_loss(model, data: TokenData, config: TrainConfig, accelerator) -> float:
    """Mean validation loss per token, split over ranks: every token once when the split
    fits in ``eval_batches`` batches of windows (a fine-tuning's few held-out songs: exact,
    and fewer forwards than sampling would take), else ``eval_batches`` fixed sampled batches."""
    model.eval()
    total = torch.zeros(2, device=accelerator.device, dtype=torch.float64)
    windows = _every_window(data, config)
    if windows is not None:
        mine = windows[accelerator.process_index :: accelerator.num_processes]
        if mine:
            with accelerator.autocast():
                nats, scored = _windows_nats(model, mine)
            total += torch.tensor([nats, scored], device=accelerator.device, dtype=torch.float64)
    else:
        rng = np.random.default_rng([config.seed, 7_919])  # the same windows every time
        batches = [
            data.sample(rng, config.batch_size, config.seq_len) for _ in range(config.eval_batches)
        ]
        for ids, labels in batches[accelerator.process_index :: accelerator.num_processes]:
            n = int((labels[:, 1:] != -100).sum())
            with accelerator.autocast():
                loss = model(
                    input_ids=torch.from_numpy(ids).to(accelerator.device),
                    labels=torch.from_numpy(labels).to(accelerator.device),
                ).loss
            total += torch.tensor(
                [loss.item() * n, n], device=accelerator.device, dtype=torch.float64
            )
    total = accelerator.reduce(total, "sum")
    model.train()
    return float(total[0] / max(total[1].item(), 1.0))


def _every_window(data: TokenData, config: TrainConfig) -> list | None:
    """The windows that score each validation token once, when there are no more of them
    than the sampled estimate's ``eval_batches × batch_size``; else None."""
    from tribute.train.nll import piece_windows

    budget = config.eval_batches * config.batch_size
    if data.n_tokens > budget * config.seq_len:
        return None  # more tokens than the sampled batches hold: never fewer windows
    windows = []
    for piece in range(len(data)):
        windows += piece_windows(data, piece, config.seq_len)
        if len(windows) > budget:
            return None
    return windows


@torch.no_grad()
def full_validation_loss(model, data: TokenData, seq_len: int) -> float:
    """Mean loss per token over every token of the validation split, each scored once with
    its own window's context (the per-validation estimate uses ``eval_batches`` windows)."""
    from tribute.train.nll import piece_windows

    model.eval()
    windows = [w for piece in range(len(data)) for w in piece_windows(data, piece, seq_len)]
    nats, scored = _windows_nats(model, windows)
    model.train()
    return nats / max(scored, 1)


def _windows_nats(model, windows: list) -> tuple[float, int]:
    """(summed NLL in nats, scored tokens) of scoring windows (``tribute.train.nll``)."""
    from tribute.train.nll import windows_nll

    scored = sum(int((labels[1:] != -100).sum()) for _, labels in windows)
    return float(windows_nll(model, windows).sum()), scored


@dataclass
class _Run:
    """One training run's moving parts, from the set-up to the export."""

    model: Any  # wrapped for DDP / FSDP by ``start``
    train_data: TokenData | TokenMixture
    val_data: TokenData | None
    config: TrainConfig  # max_steps resolved by ``start``
    out_dir: Path
    fingerprint: str
    log: Callable
    on_evaluate: Callable | None
    accelerator: Any = None  # these four are set by ``start``
    optimizer: Any = None
    scheduler: Any = None
    state: _RunState = field(default_factory=_RunState)
    tokens_per_step: int = 0  # all processes together
    flops_token: float = 0.0
    val_loss: float | None = None  # of the last validation
    total_steps: int = 0  # planned by ``start``
    seconds_before: float = 0.0  # training time of earlier invocations (a resumed run)
    reporter: Any = None  # Reporter and Throughput: made when the steps start
    meter: Any = None
    governor: ThreadGovernor | None = None  # CPU runs with threads chosen automatically

    def start(self, resume: bool) -> None:
        """Devices, the step count, resumed state, optimizer and schedule; then the settings
        into ``train_config.json`` and the plan into the log."""
        self.accelerator, precision = _accelerator(self.config)
        model, config, world = self.model, self.config, self.accelerator.num_processes
        if self.accelerator.device.type == "cpu" and world == 1:
            asked = config.threads or int(os.environ.get("OMP_NUM_THREADS", "0") or 0) or None
            threads, why = training_threads(asked)
            torch.set_num_threads(threads)
            self.governor = None if asked else ThreadGovernor(threads)
            self.log(f"threads: {why}")
        if config.seq_len > model.config.max_position_embeddings:
            raise TributeError(
                f"sequence length {config.seq_len} exceeds the model's context "
                f"({model.config.max_position_embeddings})"
            )
        self.tokens_per_step = config.batch_size * config.grad_accum * config.seq_len * world
        total_steps = config.max_steps or max(
            1, math.ceil(config.epochs * self.train_data.n_tokens / self.tokens_per_step)
        )
        if config.max_steps is None and config.time_budget_s is not None:
            kept = self._planned_before(config.time_budget_s) if resume else None
            total_steps = kept or self._steps_in_budget(model, config.time_budget_s)
        self.total_steps = total_steps
        eval_every = (
            max(1, total_steps // config.validations) if config.validations else config.eval_every
        )
        self.config = config = replace(config, max_steps=total_steps, eval_every=eval_every)
        self.flops_token = flops_per_token(model, config.seq_len)
        # Weights into the bare model; optimizer and scheduler state once they exist.
        self.state, checkpoint = _resume(
            model, self.out_dir, resume, self.fingerprint, world, self.log
        )
        self.seconds_before = self.state.seconds
        self.model, self.optimizer, self.scheduler = _prepare(
            self.accelerator, model, config, self.state, checkpoint
        )
        if not self.accelerator.is_main_process:
            return
        self.out_dir.mkdir(parents=True, exist_ok=True)
        atomic_write_text(self.out_dir / TRAIN_CONFIG_FILE, json.dumps(config.to_json(), indent=1))
        _print_plan(
            self.log,
            self.accelerator,
            self.model,
            config,
            self.train_data,
            self.val_data,
            self.tokens_per_step,
            total_steps,
            self.flops_token,
            precision,
            self.state.step,
        )

    def _planned_before(self, budget_s: float) -> int | None:
        """A resumed run with the budget it started with keeps the steps it planned then (its
        cosine schedule unchanged); another budget is planned afresh, for the whole run."""
        checkpoint = latest_checkpoint(self.out_dir)
        if checkpoint is None:
            return None
        saved = json.loads((checkpoint / "state.json").read_text()).get("config") or {}
        if saved.get("time_budget_s") != budget_s or not saved.get("max_steps"):
            return None
        self.log(f"time budget {budget_s:,.0f} s as planned before: {saved['max_steps']:,} steps")
        return int(saved["max_steps"])

    def _steps_in_budget(self, model, budget_s: float) -> int:
        """Steps that fit in ``budget_s``: three trial forward/backward passes time a step
        (their gradients are thrown away, no weight moves), plus validation's share."""
        config, device = self.config, self.accelerator.device
        model.to(device).train()
        rng = np.random.default_rng([config.seed, 104_729])  # not a training batch
        timings = []
        # On one thread, CPU time of this thread: a machine busy with other work does not
        # shrink the plan (the budget is CPU time); on several threads, wall time.
        clock = time.thread_time if torch.get_num_threads() == 1 else time.perf_counter
        for _ in range(3):
            ids, labels = self.train_data.sample(rng, config.batch_size, config.seq_len)
            began = clock()
            for _ in range(config.grad_accum):
                loss = model(
                    input_ids=torch.from_numpy(ids).to(device),
                    labels=torch.from_numpy(labels).to(device),
                ).loss
                loss.backward()
            timings.append(clock() - began)
        model.zero_grad(set_to_none=True)
        step_s = float(np.median(timings[1:]))  # the first pass pays one-off set-up costs
        # A validation pass is ``eval_batches`` forwards (≈ 1/3 of a training step each).
        eval_steps = config.eval_batches / (3 * config.grad_accum)
        if config.validations:
            steps = int(0.97 * budget_s / step_s - config.validations * eval_steps)
        else:
            steps = int(0.97 * budget_s / (step_s * (1 + eval_steps / max(1, config.eval_every))))
        steps = max(1, steps)
        self.log(f"time budget {budget_s:,.0f} s: {step_s:.2f} s per step → {steps:,} steps")
        return steps

    def steps(self) -> bool:
        """Train up to ``max_steps``; True when early stopping ended the run."""
        config, state, accelerator = self.config, self.state, self.accelerator
        main = accelerator.is_main_process
        self.reporter = Reporter(self.out_dir, config.progress, self.total_steps, state.step, main)
        peak = peak_flops(accelerator.device)
        peak_total = peak * accelerator.num_processes if peak else None
        self.meter = Throughput(self.flops_token, peak_total)  # the clock starts here
        losses: list[torch.Tensor] = []
        stopped_early = False
        try:
            while state.step < self.total_steps:
                losses += self._train_step()
                state.step += 1
                state.tokens += self.tokens_per_step
                self.meter.count(self.tokens_per_step)
                self.reporter.advance()
                if self._due(config.log_every):
                    self._log_window(losses)
                    losses = []
                    self._follow_free_cores()
                if self.val_data is not None and self._due(config.eval_every):
                    stopped_early = self._validate()
                self._maybe_checkpoint(stopped_early)
                if stopped_early:
                    break
        except torch.OutOfMemoryError as exc:
            raise TributeError(
                f"out of memory at batch {config.batch_size} × {config.seq_len} tokens; try "
                f"--batch-size {max(1, config.batch_size // 2)} --grad-accum "
                f"{config.grad_accum * 2} (same tokens per step)"
            ) from exc
        finally:
            self.reporter.close()
        self.meter.stop()
        return stopped_early

    def _follow_free_cores(self) -> None:
        """Fewer threads when other work took a core, more when it gave it back."""
        threads = self.governor.check() if self.governor is not None else None
        if threads is not None:
            torch.set_num_threads(threads)
            self.reporter.threads(self.state.step, threads)

    def _due(self, every: int) -> bool:
        return self.state.step % every == 0 or self.state.step == self.total_steps

    def _train_step(self) -> list[torch.Tensor]:
        """One optimizer step over ``grad_accum`` micro-batches; their (detached) losses."""
        accelerator, model, config = self.accelerator, self.model, self.config
        device, step = accelerator.device, self.state.step
        model.train()
        losses = []
        for micro in range(config.grad_accum):
            rng = np.random.default_rng([config.seed, step, micro, accelerator.process_index])
            ids, labels = self.train_data.sample(rng, config.batch_size, config.seq_len)
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
        self.optimizer.step()
        self.scheduler.step()
        self.optimizer.zero_grad(set_to_none=True)
        return losses

    def _log_window(self, losses: list[torch.Tensor]) -> None:
        """The window's mean training loss over all ranks, its tokens/s and MFU."""
        loss = self.accelerator.reduce(torch.stack(losses).mean(), "mean").item()
        self.meter.end_window()
        self.state.train_loss = loss
        lr = self.scheduler.get_last_lr()[0]
        self.reporter.train(self.state.step, loss, lr, self.meter, self.val_loss)

    def _validate(self) -> bool:
        """Validation loss into the history, the best weights kept; True to stop early."""
        state, config, accelerator = self.state, self.config, self.accelerator
        assert self.val_data is not None  # only called with validation data
        val_loss = validation_loss(self.model, self.val_data, config, accelerator)
        self.val_loss = val_loss
        improved = state.best_val_loss is None or val_loss < state.best_val_loss
        entry = {
            "step": state.step,
            "tokens": state.tokens,
            "seconds": round(self.seconds_before + self.meter.seconds, 1),
            "cpu_seconds": round(time.process_time(), 1),  # this process, all its threads
            "train_loss": state.train_loss,
            "val_loss": val_loss,
        }
        state.history.append(entry)
        if self.on_evaluate is not None and accelerator.is_main_process:
            entry.update(self.on_evaluate(accelerator.unwrap_model(self.model), state.step))
            self.model.train()
        if improved:
            state.best_val_loss, state.evals_since_best = val_loss, 0
            _save_weights(accelerator, self.model, self.out_dir / CHECKPOINTS / "best")
        else:
            state.evals_since_best += 1
        self.reporter.validation(state.step, val_loss, state.train_loss, self.meter)
        if config.patience is None or state.evals_since_best < config.patience:
            return False
        self.log(
            f"\nearly stop at step {state.step}: no validation improvement in "
            f"{config.patience} evaluations (best {state.best_val_loss:.4f})"
        )
        return True

    def _maybe_checkpoint(self, stopped_early: bool) -> None:
        """A checkpoint every ``save_every`` steps, at the end and on an early stop."""
        if not (self._due(self.config.save_every) or stopped_early):
            return
        state = self.state
        state.seconds = round(self.seconds_before + self.meter.seconds, 1)
        state.scheduler = self.scheduler.state_dict()
        state.world_size = self.accelerator.num_processes
        state.fingerprint = self.fingerprint
        state.config = self.config.to_json()
        _save_checkpoint(
            self.accelerator, self.model, self.optimizer, state, self.out_dir, self.config
        )

    def finish(self, stopped_early: bool, record: dict) -> TrainResult:
        """The result (on every rank) and the exported model with its ``training.json``."""
        state, meter, accelerator = self.state, self.meter, self.accelerator
        result = TrainResult(
            steps=state.step,
            tokens=state.tokens,
            train_loss=float("nan") if state.train_loss is None else state.train_loss,
            val_loss=self.val_loss,
            best_val_loss=state.best_val_loss,
            tokens_per_s=meter.run_tokens_per_s,
            seconds=meter.seconds,
            steady_tokens_per_s=meter.steady_tokens_per_s,
            stopped_early=stopped_early,
            mfu=meter.mfu,
            history=state.history,
        )
        # Every rank's weight hash: under DDP they must be identical (the ranks saw different
        # batches, so agreement proves the gradients were averaged).
        from accelerate.utils import gather_object

        checksum = weights_checksum(accelerator.unwrap_model(self.model))
        result.rank_checksums = gather_object([checksum])
        val_data, seq_len = self.val_data, self.config.seq_len
        final = None if val_data is None else lambda m: full_validation_loss(m, val_data, seq_len)
        _export(
            accelerator,
            self.model,
            self.out_dir,
            self.config,
            result,
            record,
            self.fingerprint,
            final,
        )
        if result.full_val_loss is not None and val_data is not None:
            self.log(
                f"validation loss over all {val_data.n_tokens:,} validation tokens: "
                f"{result.full_val_loss:.4f}"
            )
        return result


def _prepare(accelerator, model, config: TrainConfig, state: _RunState, checkpoint):
    """Optimizer and LR schedule, the model compiled and wrapped; resumed state loaded."""
    optimizer = _optimizer(model, config)
    total_steps = config.max_steps or 1  # resolved by _Run.start
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, _lr_lambda(config, total_steps))
    if config.compile:
        model.compile()  # in place: the module and its state-dict keys stay as they are
    model, optimizer = accelerator.prepare(model, optimizer)
    if checkpoint is not None:
        _load_optimizer_state(accelerator, model, optimizer, checkpoint / "optimizer.pt")
        scheduler.load_state_dict(state.scheduler or {})
    return model, optimizer, scheduler


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
