"""``tribute demo``."""

from __future__ import annotations

import argparse

EXAMPLES = """examples:
  tribute demo --quick            # the whole pipeline in about 2 minutes (tiny model)
  tribute demo --out runs/demo    # the default experiment at laptop scale (~15 minutes)
"""


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "demo",
        help="the whole pipeline on built-in data",
        description="Build a genre corpus (non-Bach music21 pieces) and an artist corpus (50 "
        "Bach chorales), pretrain, fine-tune, compose with the originality guard, "
        "render and evaluate — all on this machine. Run it again to resume.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--quick", action="store_true", help="a ~2-minute run with a tiny model")
    p.add_argument("--out", help="output folder (default runs/demo or runs/demo-quick)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from tribute.demonstration import demo

    demo(args.out or ("runs/demo-quick" if args.quick else "runs/demo"), quick=args.quick)
    return 0
