"""``tribute finetune BASE ARTIST_CORPUS --style NAME --out DIR``."""

from __future__ import annotations

import argparse

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
    p.add_argument("--style-key", default="artist", help="label key of the style (default artist)")
    p.add_argument("--out", required=True, help="output model folder")
    p.add_argument(
        "--method",
        default="auto",
        choices=("auto", "lora", "full"),
        help="LoRA adapter or full fine-tuning (default: the preset's measured best)",
    )
    p.add_argument("--lora-rank", type=int, default=8)
    p.add_argument(
        "--merge",
        action="store_true",
        help="LoRA: also write OUT/merged, a plain model with the adapter merged in",
    )
    p.add_argument(
        "--rehearsal",
        type=float,
        default=0.0,
        metavar="FRACTION",
        help="share of genre songs mixed into each batch (needs --genre-corpus)",
    )
    p.add_argument("--genre-corpus", help="the genre corpus for --rehearsal")
    p.add_argument("--epochs", type=float, default=8.0, help="maximum epochs (default 8)")
    p.add_argument(
        "--patience",
        type=int,
        default=2,
        help="stop after N epochs without held-out improvement (default 2)",
    )
    p.add_argument("--lr", type=float, default=2e-4, help="peak learning rate (default 2e-4)")
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--seq-len", type=int, default=512)
    p.add_argument(
        "--augment-copies",
        type=int,
        default=3,
        help="transposed/jittered copies per song (default 3)",
    )
    p.add_argument(
        "--replace-style", action="store_true", help="allow a style name the base model already has"
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--resume", action="store_true")
    p.add_argument("--force", action="store_true", help="delete an existing run and start over")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from tribute.train.data import DataConfig
    from tribute.train.finetune import FinetuneConfig, finetune
    from tribute.train.loop import TrainConfig

    config = FinetuneConfig(
        style=args.style,
        style_key=args.style_key,
        method=args.method,
        lora_rank=args.lora_rank,
        rehearsal=args.rehearsal,
        epochs=args.epochs,
        patience=args.patience,
        replace_style=args.replace_style,
        merge=args.merge,
        data=DataConfig(augment_copies=args.augment_copies, seed=args.seed),
        train=TrainConfig(
            learning_rate=args.lr,
            batch_size=args.batch_size,
            seq_len=args.seq_len,
            warmup_steps=20,
            seed=args.seed,
            progress=not args.no_progress,
        ),
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
