"""``tribute ablate GENRE_CORPUS ARTIST_CORPUS --out DIR``."""

from __future__ import annotations

import argparse

EXAMPLES = """examples:
  tribute ablate corpora/genre corpora/bach --style Bach --preset small --out runs/ablation
  tribute ablate corpora/rock corpora/queen --style Queen --pretrain-steps 2000 --out runs/abl
"""


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "ablate",
        help="genre-only vs artist-only vs genre→artist, on one split",
        description="Train the three arms (M0 genre only, M1 artist only from scratch at two "
        "budgets, M2 genre→artist) and compare held-out artist bits per note with "
        "paired bootstrap CIs; writes ablation.md and ablation.json.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("genre_corpus")
    p.add_argument("artist_corpus")
    p.add_argument("--out", required=True)
    p.add_argument("--style", help="the artist's name (style token; default artist)")
    p.add_argument(
        "--preset", choices=("tiny", "mini", "small", "base", "large"), help="default small"
    )
    p.add_argument("--pretrain-steps", type=int, help="M0's budget (default 300)")
    p.add_argument(
        "--finetune-epochs", type=float, help="M2's maximum epochs (early-stopped; default 8)"
    )
    p.add_argument("--batch-size", type=int, help="sequences per step (default 8)")
    p.add_argument("--seq-len", type=int, help="tokens per sequence (default 512)")
    p.add_argument("--vocab-size", type=int, help="BPE vocabulary size (default 2000)")
    p.add_argument("--augment-copies", type=int, help="augmented copies per song (default 3)")
    p.add_argument("--seed", type=int, help="seed of every arm (default 0)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from tribute.cli import given
    from tribute.train.ablate import AblateConfig, ablate, report_markdown

    config = AblateConfig(
        **given(
            args,
            "preset",
            "style",
            "pretrain_steps",
            "finetune_epochs",
            "batch_size",
            "seq_len",
            "vocab_size",
            "augment_copies",
            "seed",
        )
    )
    result = ablate(args.genre_corpus, args.artist_corpus, args.out, config)
    print(report_markdown(result.to_json()))
    return 0
