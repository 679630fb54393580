"""``tribute demo``."""

from __future__ import annotations

import argparse

EXAMPLES = """examples:
  tribute demo --out runs/demo    # fine-tune the built-in base on 50 chorales (~10 minutes)
  tribute demo --quick            # the same in about 2 minutes (fewer chorales, 1 epoch)
  tribute demo --from-scratch     # pretrain here too (~15 minutes; far weaker music)
"""


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "demo",
        help="the whole pipeline on built-in data",
        description="Fine-tune the built-in base model (pretrained on the music21 corpus "
        "without the Bach chorales) on 50 Bach chorales, compose with the originality guard, "
        "render and evaluate — all on this machine. Run it again to resume.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--quick", action="store_true", help="a ~2-minute run (fewer songs, steps)")
    p.add_argument(
        "--from-scratch",
        action="store_true",
        help="build a genre corpus and pretrain here instead of starting from the built-in base",
    )
    p.add_argument("--out", help="output folder (default runs/demo[-scratch][-quick])")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from tribute.demonstration import demo

    default = "runs/demo" + "-scratch" * args.from_scratch + "-quick" * args.quick
    demo(args.out or default, quick=args.quick, from_scratch=args.from_scratch)
    return 0
