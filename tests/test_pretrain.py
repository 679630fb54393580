"""``tribute pretrain`` end to end on a hand-written corpus: the CLI run, resume, atomic
checkpoints, 2-process DDP on CPU, and the one-line errors for bad input."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from symusic import Score

from fake_corpus import write_corpus
from tribute.cli import main
from tribute.errors import TributeError
from tribute.model import build_model, load_model
from tribute.tokens import MusicTokenizer, TokenizerConfig
from tribute.train import loop
from tribute.train.checkpoints import latest_checkpoint
from tribute.train.data import DataConfig, load_split
from tribute.train.loop import TrainConfig, train
from tribute.train.nll import piece_windows

# A few steps of the tiny preset on short windows: each run takes a second or two.
FAST = [
    "--preset",
    "tiny",
    "--vocab-size",
    "700",
    "--batch-size",
    "2",
    "--seq-len",
    "64",
    "--augment-copies",
    "1",
    "--no-progress",
    "--sample-tokens",
    "64",
]


@pytest.fixture(autouse=True)
def _cache(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("TRIBUTE_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "cache"))


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    return write_corpus(tmp_path_factory.mktemp("corpus"), n_train=6, n_validation=2)


def test_cli_pretrain_tiny(corpus, tmp_path, capsys):
    out = tmp_path / "model"
    assert (
        main(
            [
                "pretrain",
                str(corpus),
                "--out",
                str(out),
                "--max-steps",
                "8",
                "--eval-every",
                "4",
                "--save-every",
                "4",
                *FAST,
            ]
        )
        == 0
    )
    printed = capsys.readouterr().out
    for quantity in ("parameters", "tokens/step", "tokens/epoch", "estimated", "one epoch ≈"):
        assert quantity in printed
    # Preparation is timed: the vocabulary, each split's tokens, the whole of it.
    assert "vocabulary of" in printed and " s\n" in printed and "data ready" in printed
    assert "tokenized train" in printed and "validation tokens:" in printed
    record = json.loads((out / "training.json").read_text())
    assert record["result"]["steps"] == 8 and len(record["result"]["history"]) == 2
    assert record["result"]["full_val_loss"] > 0
    assert record["styles"] == ["genre=pop", "genre=rock"]
    for name in (
        "config.json",
        "model.safetensors",
        "pretrain_config.json",
        "train_config.json",
        "tokenizer/tokenizer.json",
        "tokenizer/styles.json",
    ):
        assert (out / name).is_file(), name
    assert list((out / "logs").glob("events.out.tfevents.*"))
    # The saved model reloads with its tokenizer, and its sample is a valid MIDI file.
    model, tokenizer = load_model(out), MusicTokenizer.load(out)
    assert model.config.vocab_size == tokenizer.vocab_size
    Score(str(out / "sample.mid"))


def _data(corpus: Path, tokenizer_dir: Path):
    from tribute.corpus.store import Corpus

    paths = sorted((corpus / "scores").glob("*.mid"))
    tokenizer = MusicTokenizer.train(
        paths, TokenizerConfig(vocab_size=700), ["genre=pop", "genre=rock"]
    )
    tokenizer.save(tokenizer_dir)
    opened = Corpus.open(corpus)
    settings = DataConfig(augment_copies=1)
    return (
        tokenizer,
        load_split(opened, tokenizer, "train", settings, tokenizer_dir),
        load_split(opened, tokenizer, "validation", settings, tokenizer_dir),
    )


CONFIG = TrainConfig(
    batch_size=2,
    seq_len=64,
    max_steps=6,
    save_every=3,
    eval_every=3,
    warmup_steps=2,
    progress=False,
    learning_rate=3e-3,
    log_every=3,
)


def _run(tokenizer, train_data, val_data, out, *, resume=False, config=CONFIG):
    model = build_model("tiny", tokenizer.vocab_size)
    return train(
        model,
        train_data,
        val_data,
        config,
        out,
        resume=resume,
        fingerprint=tokenizer.fingerprint,
        log=lambda *a: None,
    )


def test_resume_continues_with_the_same_state(corpus, tmp_path):
    tokenizer, train_data, val_data = _data(corpus, tmp_path / "tok")
    straight = _run(tokenizer, train_data, val_data, tmp_path / "a")
    # The second run "dies" after step 3: its step-6 checkpoint is removed (latest.json now
    # points at nothing, so resume must fall back to the newest complete checkpoint).
    _run(tokenizer, train_data, val_data, tmp_path / "b")
    shutil.rmtree(tmp_path / "b" / "checkpoints" / "step-000006")
    assert latest_checkpoint(tmp_path / "b").name == "step-000003"
    resumed = _run(tokenizer, train_data, val_data, tmp_path / "b", resume=True)
    assert resumed.steps == 6 and resumed.history[-1]["step"] == 6
    a, b = (tmp_path / p / "checkpoints" / "step-000006" for p in ("a", "b"))
    state_a, state_b = (json.loads((p / "state.json").read_text()) for p in (a, b))
    assert state_a["scheduler"] == state_b["scheduler"]
    assert state_a["tokens"] == state_b["tokens"]
    for x, y in ((load_file(a / "model.safetensors"), load_file(b / "model.safetensors")),):
        for name in x:
            torch.testing.assert_close(x[name], y[name])
    opt_a, opt_b = (torch.load(p / "optimizer.pt", weights_only=True) for p in (a, b))
    assert opt_a["param_groups"] == opt_b["param_groups"]
    for key, value in opt_a["state"].items():
        torch.testing.assert_close(value["exp_avg_sq"], opt_b["state"][key]["exp_avg_sq"])
    assert straight.train_loss == pytest.approx(resumed.train_loss, rel=1e-4)


def test_an_interrupted_save_leaves_the_last_checkpoint_intact(corpus, tmp_path, monkeypatch):
    tokenizer, train_data, val_data = _data(corpus, tmp_path / "tok")
    real_save, calls = torch.save, []

    def dying_save(obj, path, *args, **kwargs):  # the process "dies" writing checkpoint 2
        calls.append(path)
        if len(calls) == 2:
            Path(path).write_bytes(b"half a file")
            raise KeyboardInterrupt
        return real_save(obj, path, *args, **kwargs)

    monkeypatch.setattr(loop.torch, "save", dying_save)
    with pytest.raises(KeyboardInterrupt):
        _run(tokenizer, train_data, val_data, tmp_path / "run")
    monkeypatch.setattr(loop.torch, "save", real_save)
    good = latest_checkpoint(tmp_path / "run")
    assert good.name == "step-000003"
    assert not (tmp_path / "run" / "checkpoints" / "step-000006").exists()
    torch.load(good / "optimizer.pt", weights_only=True)
    assert _run(tokenizer, train_data, val_data, tmp_path / "run", resume=True).steps == 6


def test_early_stopping(corpus, tmp_path):
    tokenizer, train_data, val_data = _data(corpus, tmp_path / "tok")
    config = replace(
        CONFIG,
        max_steps=40,
        eval_every=1,
        patience=1,
        learning_rate=0.5,
        warmup_steps=1,
        save_every=100,
    )
    result = _run(tokenizer, train_data, val_data, tmp_path / "run", config=config)
    assert result.stopped_early and result.steps < 40
    assert json.loads((tmp_path / "run" / "training.json").read_text())["exported"] == "best"


def test_two_process_ddp_on_cpu_ranks_agree(corpus, tmp_path):
    out = tmp_path / "ddp"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    # --standalone: a free rendezvous port, so parallel test runs never collide.
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node",
        "2",
        "-m",
        "tribute",
        "pretrain",
        str(corpus),
        "--out",
        str(out),
        "--max-steps",
        "4",
        "--eval-every",
        "2",
        "--save-every",
        "2",
        *FAST,
    ]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    record = json.loads((out / "training.json").read_text())
    assert record["environment"]["processes"] == 2
    checksums = record["result"]["rank_checksums"]
    assert len(checksums) == 2 and checksums[0] == checksums[1]
    # The ranks drew different batches: agreement means gradients were averaged (real DDP).
    assert "×" in done.stdout and "× 2 proc" in done.stdout
    Score(str(out / "sample.mid"))


# ---------------------------------------------------------------- bad input: one-line errors


def _error(capsys, argv) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    return err


def test_empty_corpus(tmp_path, capsys):
    empty = write_corpus(tmp_path / "c", n_train=0, n_validation=0)
    assert "is empty" in _error(capsys, ["pretrain", str(empty), "--out", str(tmp_path / "o")])


def test_no_train_split(tmp_path, capsys):
    corpus = write_corpus(tmp_path / "c", n_train=0, n_validation=2)
    err = _error(capsys, ["pretrain", str(corpus), "--out", str(tmp_path / "o")])
    assert "no train split" in err


def test_not_a_corpus(tmp_path, capsys):
    err = _error(capsys, ["pretrain", str(tmp_path), "--out", str(tmp_path / "o")])
    assert "not a tribute corpus" in err


def test_existing_output_is_refused_unless_forced(corpus, tmp_path, capsys):
    out = tmp_path / "o"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    assert "exists" in _error(capsys, ["pretrain", str(corpus), "--out", str(out)])
    err = _error(capsys, ["pretrain", str(corpus), "--out", str(out), "--force"])
    assert "does not look like a tribute model folder" in err
    assert (out / "notes.txt").is_file()


def test_resume_with_another_preset_is_a_mismatch(corpus, tmp_path, capsys):
    out = tmp_path / "o"
    assert main(["pretrain", str(corpus), "--out", str(out), "--max-steps", "2", *FAST]) == 0
    capsys.readouterr()
    argv = ["pretrain", str(corpus), "--out", str(out), "--max-steps", "4", "--resume", *FAST]
    argv[argv.index("tiny")] = "small"
    assert "does not match this model" in _error(capsys, argv)
    # --force starts over in a folder tribute wrote.
    assert (
        main(["pretrain", str(corpus), "--out", str(out), "--max-steps", "2", "--force", *FAST])
        == 0
    )


def test_out_of_memory_gives_a_hint(corpus, tmp_path, capsys, monkeypatch):
    from transformers import LlamaForCausalLM

    def oom(self, *args, **kwargs):
        raise torch.OutOfMemoryError("CUDA out of memory")

    monkeypatch.setattr(LlamaForCausalLM, "forward", oom)
    err = _error(
        capsys, ["pretrain", str(corpus), "--out", str(tmp_path / "o"), "--max-steps", "2", *FAST]
    )
    assert "out of memory" in err and "--grad-accum 2" in err


def test_library_error_for_missing_corpus(tmp_path):
    from tribute.train.pretrain import PretrainConfig, pretrain

    with pytest.raises(TributeError):
        pretrain(tmp_path / "nothing", tmp_path / "o", PretrainConfig(preset="tiny"))


def test_full_validation_scores_every_validation_token_once(corpus, tmp_path):
    """With windows longer than every piece, the full validation loss is the token-weighted
    mean of each whole piece's own loss (BOS + styles + its tokens + EOS, prompt unscored)."""
    tokenizer, _, val_data = _data(corpus, tmp_path / "tok")
    model = build_model("tiny", tokenizer.vocab_size).eval()
    longest = int(val_data.piece_len.max())
    seq_len = longest + 8
    nats = tokens = 0.0
    with torch.no_grad():
        for piece in range(len(val_data)):
            ids, labels = val_data.window(piece, 0, seq_len)
            n = int((labels[1:] != -100).sum())
            loss = model(
                input_ids=torch.from_numpy(ids)[None], labels=torch.from_numpy(labels)[None]
            ).loss
            nats, tokens = nats + float(loss) * n, tokens + n
    assert tokens > val_data.n_tokens  # every token (and each piece's EOS) counted
    full = loop.full_validation_loss(model, val_data, seq_len)
    assert full == pytest.approx(nats / tokens, rel=1e-5)


def test_a_small_validation_split_is_scored_exactly(corpus, tmp_path):
    """A validation split that fits in ``eval_batches`` batches of windows is scored every token
    once (the full loss), not by sampled windows; a larger one keeps the sampled estimate."""
    from accelerate import Accelerator

    tokenizer, _, val_data = _data(corpus, tmp_path / "tok")
    model = build_model("tiny", tokenizer.vocab_size).eval()
    accelerator, seq_len = Accelerator(cpu=True), 64
    exact = loop.full_validation_loss(model, val_data, seq_len)
    roomy = replace(CONFIG, seq_len=seq_len, batch_size=8, eval_batches=8)
    assert loop.validation_loss(model, val_data, roomy, accelerator) == pytest.approx(exact)
    windows = sum(len(piece_windows(val_data, p, seq_len)) for p in range(len(val_data)))
    tight = replace(roomy, batch_size=1, eval_batches=windows - 1)  # one window short
    sampled = loop.validation_loss(model, val_data, tight, accelerator)
    assert sampled != pytest.approx(exact)
    assert loop.validation_loss(model, val_data, tight, accelerator) == sampled  # fixed windows


def test_a_batched_sample_continues_each_prompt_as_alone(corpus, tmp_path):
    """Left-padded prompts of different lengths: with top-k 1 (greedy) each row continues as
    it does alone, and each is cut to its own length."""
    from tribute.train.sample import sample_batch, sample_ids

    tokenizer, _, val_data = _data(corpus, tmp_path / "tok")
    model = build_model("tiny", tokenizer.vocab_size).eval()
    short = tokenizer.prompt([]) + [int(t) for t in val_data.tokens[:5]]
    long = tokenizer.prompt([]) + [int(t) for t in val_data.tokens[5:40]]
    kwargs = {"suppress": tokenizer.special_ids, "eos_id": tokenizer.eos_id, "top_k": 1}
    alone = [sample_ids(model, p, 12, **kwargs) for p in (short, long)]
    together = sample_batch(model, [short, long], [12, 7], **kwargs)
    assert together[0] == alone[0] and together[1] == alone[1][:7]
    assert len(alone[0]) > 0 and len(together[1]) <= 7


def test_a_resumed_time_budget_keeps_its_plan(corpus, tmp_path, monkeypatch):
    tokenizer, train_data, val_data = _data(corpus, tmp_path / "tok")
    budgeted = replace(CONFIG, max_steps=None, time_budget_s=3.0, save_every=2)
    first = _run(tokenizer, train_data, val_data, tmp_path / "b", config=budgeted)
    planned = first.steps
    checkpoints = sorted((tmp_path / "b" / "checkpoints").glob("step-*"))
    assert len(checkpoints) == 2 and planned >= 3
    shutil.rmtree(checkpoints[-1])  # the run "died" before its last checkpoint

    def no_new_plan(*args, **kwargs):
        raise AssertionError("the resumed run planned its steps again")

    monkeypatch.setattr(loop._Run, "_steps_in_budget", no_new_plan)
    resumed = _run(tokenizer, train_data, val_data, tmp_path / "b", config=budgeted, resume=True)
    assert resumed.steps == planned
    # Another budget is a new plan for the whole run.
    with pytest.raises(AssertionError, match="planned its steps again"):
        _run(
            tokenizer,
            train_data,
            val_data,
            tmp_path / "b",
            config=replace(budgeted, time_budget_s=6.0),
            resume=True,
        )
