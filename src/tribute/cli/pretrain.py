"""``tribute pretrain CORPUS --preset P --out DIR``: parse arguments, call ``pretrain()``."""

from __future__ import annotations

import argparse

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
        default="small",
        choices=("tiny", "small", "base", "large"),
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
    p.add_argument("--vocab-size", type=int, default=2_000, help="BPE vocabulary (default 2000)")
    run = p.add_argument_group("training")
    run.add_argument("--max-steps", type=int, help="optimizer steps (default: from --epochs)")
    run.add_argument(
        "--epochs",
        type=float,
        default=1.0,
        help="passes over the augmented training tokens (default 1)",
    )
    run.add_argument("--batch-size", type=int, default=8, help="sequences per micro-batch")
    run.add_argument("--grad-accum", type=int, default=1, help="micro-batches per step")
    run.add_argument("--seq-len", type=int, help="tokens per sequence (default 512)")
    run.add_argument("--lr", type=float, help="peak learning rate (default: the preset's)")
    run.add_argument("--warmup-steps", type=int, default=100)
    run.add_argument("--eval-every", type=int, default=100, help="steps between validations")
    run.add_argument("--save-every", type=int, default=200, help="steps between checkpoints")
    run.add_argument(
        "--patience", type=int, help="early stop after N validations without improvement"
    )
    run.add_argument(
        "--augment-copies",
        type=int,
        default=3,
        help="transposed/jittered copies per training song (default 3)",
    )
    run.add_argument("--seed", type=int, default=0)
    run.add_argument("--workers", type=int, default=0, help="tokenization processes (0: cores)")
    dev = p.add_argument_group("devices")
    dev.add_argument("--precision", default="auto", choices=("auto", "fp32", "bf16", "fp16"))
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
        "--sample-tokens",
        type=int,
        default=256,
        help="length of the smoke-check sample.mid (default 256 tokens)",
    )
    p.set_defaults(func=run_pretrain)


def run_pretrain(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from tribute.tokens import TokenizerConfig
    from tribute.train.data import DataConfig
    from tribute.train.pretrain import PretrainConfig, default_train_config, pretrain

    train = default_train_config(
        args.preset,
        max_steps=args.max_steps,
        epochs=args.epochs,
        batch_size=args.batch_size,
        grad_accum=args.grad_accum,
        seq_len=args.seq_len,
        learning_rate=args.lr,
        warmup_steps=args.warmup_steps,
        eval_every=args.eval_every,
        save_every=args.save_every,
        patience=args.patience,
        seed=args.seed,
        precision=args.precision,
        compile=args.compile,
        fsdp=args.fsdp,
        progress=not args.no_progress,
    )
    config = PretrainConfig(
        preset=args.preset,
        tokenizer=replace(TokenizerConfig(), vocab_size=args.vocab_size),
        data=DataConfig(augment_copies=args.augment_copies, seed=args.seed, workers=args.workers),
        train=train,
        sample_tokens=args.sample_tokens,
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
