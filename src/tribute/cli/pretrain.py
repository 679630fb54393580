"""``tribute pretrain CORPUS --preset P --out DIR``: parse arguments, call ``pretrain()``."""

from __future__ import annotations

import argparse

from tribute.cli import add_time_budget

EXAMPLES = """examples:
  tribute pretrain corpora/rock --preset small --out models/rock
  tribute pretrain corpora/rock --preset tiny --max-steps 50 --out /tmp/smoke
  tribute pretrain corpora/rock --out models/rock --resume          # continue a run
  tribute pretrain corpora/lakh --preset base --style-key genre --style-key artist \\
      --batch-size 16 --grad-accum 4 --out models/lakh                # one GPU, bf16
  torchrun --nproc_per_node 8 -m tribute pretrain corpora/lakh --preset large --fsdp \\
      --out models/lakh-large                                          # 8 GPUs
"""


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "pretrain",
        help="train a genre model on a corpus",
        description="Train a tokenizer and a Llama-style model on a corpus built with "
        "`tribute corpus build`; writes a model folder with checkpoints, logs, "
        "the tokenizer and a sampled sample.mid.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("corpus", help="corpus folder (from `tribute corpus build`)")
    p.add_argument("--out", required=True, help="output model folder")
    p.add_argument(
        "--preset",
        choices=("tiny", "mini", "small", "base", "large"),
        help="model size (default: small, ~5 M parameters)",
    )
    p.add_argument(
        "--style-key",
        action="append",
        dest="style_keys",
        metavar="KEY",
        help="label key whose values become style tokens (repeatable; default: "
        "every label key of the corpus)",
    )
    p.add_argument("--tokenizer", help="reuse the tokenizer of this model/tokenizer folder")
    p.add_argument("--vocab-size", type=int, help="BPE vocabulary size (default 2000)")
    p.add_argument(
        "--no-harmony", action="store_true", help="no chord token before each bar (chord control)"
    )
    p.add_argument(
        "--no-infill", action="store_true", help="no infill markers (editing bars and parts)"
    )
    p.add_argument(
        "--infill-rate", type=float, help="share of training windows that are infill examples"
    )
    run = p.add_argument_group("training")
    run.add_argument("--max-steps", type=int, help="optimizer steps (default: from --epochs)")
    add_time_budget(run)
    run.add_argument(
        "--epochs", type=float, help="passes over the augmented training tokens (default 1)"
    )
    run.add_argument("--batch-size", type=int, help="sequences per micro-batch (default 8)")
    run.add_argument("--grad-accum", type=int, help="micro-batches per step (default 1)")
    run.add_argument("--seq-len", type=int, help="tokens per sequence (default 512)")
    run.add_argument("--lr", type=float, help="peak learning rate (default: the preset's)")
    run.add_argument("--warmup-steps", type=int, help="linear warm-up (default 100)")
    run.add_argument("--eval-every", type=int, help="steps between validations (default 100)")
    run.add_argument("--validations", type=int, help="instead: N validations spread over the run")
    run.add_argument("--save-every", type=int, help="steps between checkpoints (default 200)")
    run.add_argument(
        "--patience", type=int, help="early stop after N validations without improvement"
    )
    run.add_argument(
        "--augment-copies",
        type=int,
        help="transposed/jittered copies per training song (default 3)",
    )
    run.add_argument("--seed", type=int, help="seed of initialization and batches (default 0)")
    run.add_argument("--workers", type=int, help="tokenization processes (default: the cores)")
    dev = p.add_argument_group("devices")
    dev.add_argument("--precision", choices=("auto", "fp32", "bf16", "fp16"))
    dev.add_argument(
        "--threads",
        type=int,
        help="CPU threads (default: the cores other work leaves free, at least one)",
    )
    dev.add_argument("--compile", action="store_true", help="torch.compile the model (GPU)")
    dev.add_argument(
        "--fsdp",
        action="store_true",
        help="shard the model over GPUs (FSDP) instead of DDP (for --preset large)",
    )
    out = p.add_argument_group("output folder")
    out.add_argument("--resume", action="store_true", help="continue from the last checkpoint")
    out.add_argument("--force", action="store_true", help="delete an existing run and start over")
    out.add_argument("--no-progress", action="store_true", help="no progress bar")
    out.add_argument(
        "--sample-tokens", type=int, help="length of the smoke-check sample.mid (default 256)"
    )
    p.set_defaults(func=run_pretrain)


def run_pretrain(args: argparse.Namespace) -> int:
    from tribute.cli import duration_s, given
    from tribute.tokens import TokenizerConfig
    from tribute.train.data import DataConfig
    from tribute.train.pretrain import PretrainConfig, default_train_config, pretrain

    preset = args.preset or PretrainConfig.preset
    train = default_train_config(
        preset,
        time_budget_s=duration_s(args.time_budget) if args.time_budget else None,
        progress=False if args.no_progress else None,
        **given(
            args,
            "max_steps",
            "epochs",
            "batch_size",
            "grad_accum",
            "seq_len",
            "warmup_steps",
            "eval_every",
            "validations",
            "save_every",
            "patience",
            "seed",
            "precision",
            "threads",
            learning_rate="lr",
        ),
        compile=args.compile or None,
        fsdp=args.fsdp or None,
    )
    config = PretrainConfig(
        preset=preset,
        tokenizer=TokenizerConfig(
            harmony=not args.no_harmony, infill=not args.no_infill, **given(args, "vocab_size")
        ),
        data=DataConfig(**given(args, "augment_copies", "seed", "workers", "infill_rate")),
        train=train,
        **given(args, "sample_tokens"),
    )
    pretrain(
        args.corpus,
        args.out,
        config,
        style_keys=tuple(args.style_keys) if args.style_keys else None,
        tokenizer_from=args.tokenizer,
        resume=args.resume,
        force=args.force,
    )
    return 0
