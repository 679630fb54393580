"""``tribute finetune BASE ARTIST_CORPUS --style NAME --out DIR``."""

from __future__ import annotations

import argparse

from tribute.cli import add_time_budget

EXAMPLES = """examples:
  tribute finetune models/genre corpora/bach --style Bach --out models/bach
  tribute finetune models/rock corpora/queen --style Queen --method lora --merge \\
      --rehearsal 0.2 --genre-corpus corpora/rock --out models/queen
  tribute finetune models/rock corpora/queen --style Queen --out models/queen --resume
"""


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "finetune",
        help="adapt a genre model to one artist's songs",
        description="The second training: fine-tune a pretrained model on ~50 songs of one "
        "artist, with a new style token, validation on held-out song families "
        "every epoch, early stopping and an over-fitting probe.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("base", help="pretrained model folder (tribute pretrain, or a merged model)")
    p.add_argument("artist_corpus", help="corpus of the artist's songs (tribute corpus build)")
    p.add_argument("--style", required=True, help="the artist's name (becomes a style token)")
    p.add_argument("--style-key", help="label key of the style (default artist)")
    p.add_argument("--out", required=True, help="output model folder")
    p.add_argument(
        "--method",
        choices=("auto", "lora", "full"),
        help="LoRA adapter or full fine-tuning (default: the preset's measured best)",
    )
    p.add_argument("--lora-rank", type=int, help="LoRA rank (default 8)")
    p.add_argument(
        "--merge",
        action="store_true",
        help="LoRA: also write OUT/merged, a plain model with the adapter merged in",
    )
    p.add_argument(
        "--rehearsal",
        type=float,
        metavar="FRACTION",
        help="share of genre songs mixed into each batch (needs --genre-corpus)",
    )
    p.add_argument("--genre-corpus", help="the genre corpus for --rehearsal")
    p.add_argument("--epochs", type=float, help="maximum epochs (default 8)")
    add_time_budget(p)
    p.add_argument(
        "--patience", type=int, help="stop after N epochs without held-out improvement (default 2)"
    )
    p.add_argument("--lr", type=float, help="peak learning rate (default 2e-4)")
    p.add_argument("--batch-size", type=int, help="sequences per micro-batch (default 8)")
    p.add_argument("--seq-len", type=int, help="tokens per sequence (default 512)")
    p.add_argument(
        "--augment-copies", type=int, help="transposed/jittered copies per song (default 3)"
    )
    p.add_argument(
        "--infill-rate",
        type=float,
        metavar="SHARE",
        help="share of training windows that are infill examples, which edit and accompany "
        "use (default 0.25; models with infill markers)",
    )
    p.add_argument(
        "--replace-style", action="store_true", help="allow a style name the base model already has"
    )
    p.add_argument("--seed", type=int, help="seed of batches and augmentation (default 0)")
    p.add_argument(
        "--threads",
        type=int,
        help="CPU threads (default: the cores other work leaves free, at least one)",
    )
    p.add_argument("--resume", action="store_true")
    p.add_argument("--force", action="store_true", help="delete an existing run and start over")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from tribute.cli import duration_s, given
    from tribute.train.data import DataConfig
    from tribute.train.finetune import FinetuneConfig, finetune

    defaults = FinetuneConfig(style=args.style)
    train = replace(
        defaults.train,
        time_budget_s=duration_s(args.time_budget) if args.time_budget else None,
        progress=not args.no_progress,
        **given(args, "batch_size", "seq_len", "seed", "threads", learning_rate="lr"),
    )
    config = replace(
        defaults,
        replace_style=args.replace_style,
        merge=args.merge,
        data=DataConfig(**given(args, "augment_copies", "infill_rate", "seed")),
        train=train,
        **given(args, "style_key", "method", "lora_rank", "rehearsal", "epochs", "patience"),
    )
    finetune(
        args.base,
        args.artist_corpus,
        args.out,
        config,
        genre_corpus=args.genre_corpus,
        resume=args.resume,
        force=args.force,
    )
    return 0
