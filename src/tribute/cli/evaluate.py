"""`tribute evaluate MODEL --artist CORPUS --genre CORPUS --out DIR` (docs/evaluation.md)."""

from __future__ import annotations

import argparse

EXAMPLES = """\
examples:
  tribute evaluate runs/bach --artist corpora/bach --genre corpora/folk --out eval/bach
  tribute evaluate runs/bach --artist corpora/bach --genre corpora/folk --quick --out eval/quick
  tribute evaluate runs/queen --artist corpora/queen --genre corpora/rock -n 200 --seed 1 \\
      --out eval/queen

Writes report.md (with PNG plots beside it), report.html (plots embedded) and report.json:
criteria P1-P7 with their numbers and pass / fail / not computed, baselines from the same run
(held-out real songs, Markov-2, interval-shuffled songs, genre pieces, samples of the base model
M0), originality against the held-out human baseline, diversity and diagnostics. --quick: 32
short pieces and relaxed thresholds (a smoke run, said so in the report). An ablation.json from
`tribute ablate` in the model folder or its parent is included."""


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "evaluate",
        help="evaluate a style model: style, originality, transfer (P1-P7)",
        description="Generate pieces with a style model and judge them against the artist's "
        "held-out songs and baselines computed in the same run (docs/evaluation.md).",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("model", help="model folder (from tribute pretrain / finetune)")
    parser.add_argument(
        "--artist",
        required=True,
        metavar="CORPUS",
        help="the artist corpus the model was fine-tuned on (its held-out split is the reference)",
    )
    parser.add_argument(
        "--genre",
        required=True,
        metavar="CORPUS",
        help="the genre corpus (originality reference, acceptance negatives)",
    )
    parser.add_argument("-n", type=int, help="pieces to generate (default 100)")
    parser.add_argument(
        "--quick",
        action="store_true",
        default=None,
        help="smoke run: at most 32 pieces of at most 8 bars, relaxed thresholds",
    )
    parser.add_argument("--style", help="style to generate (default: the model's own)")
    parser.add_argument(
        "--bars", type=int, help="bars per piece (default: median length of the held-out songs)"
    )
    parser.add_argument("--seed", type=int, help="first sampling seed (default 0)")
    parser.add_argument("--batch-size", type=int, help="pieces generated at once (default 8)")
    parser.add_argument(
        "--prompts",
        type=int,
        help="2-bar prompts per group (training, held-out) for the extraction "
        "test P6 (default 16; quick 4)",
    )
    parser.add_argument(
        "--candidates",
        type=int,
        metavar="K",
        help="each generated piece the best of K by style score, as compose --candidates "
        "keeps (default 1; no guard, so P4/P5 show what selection does to copying)",
    )
    parser.add_argument(
        "--temperature", type=float, help="sampling temperature, as compose's (default 1.0)"
    )
    parser.add_argument("--top-p", type=float, help="nucleus sampling mass (default 0.95)")
    parser.add_argument("--out", required=True, metavar="DIR", help="report folder")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from tribute.cli import given
    from tribute.evaluation import EvaluateConfig, evaluate

    config = EvaluateConfig(
        **given(
            args,
            *("n", "quick", "style", "bars", "seed", "batch_size", "prompts", "candidates"),
            *("temperature", "top_p"),
        )
    )
    result = evaluate(args.model, args.artist, args.genre, args.out, config)
    for c in result.criteria:
        print(f"{c['id']} {c['name']}: {c['status']}")
    return 0
