"""`tribute check SONG... --against CORPUS...`: is each song original, or a copy?"""

from __future__ import annotations

import argparse

EXAMPLES = """\
examples:
  tribute check out/song1.mid --against corpora/bach
  tribute check out/ --against corpora/queen corpora/rock --json > originality.json
  tribute check new.mid --against corpora/bach --rebuild
  tribute check demo_tape.mid --against corpora/queen --style models/queen   # + style score

The index is built on first use and kept in CORPUS/originality/ (updated when the corpus
changes). Verdicts: original / review / copy / not comparable, against thresholds calibrated
from the corpus's own songs (each against the rest without its family)."""


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "check",
        help="check songs for copied passages against corpora",
        description="Longest copied run per role (melody, bass, other parts, chords, drums), "
        "n-gram novelty and a verdict for each song.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "songs",
        nargs="+",
        metavar="SONG",
        help="song files (MIDI, MusicXML, ABC, kern, Guitar Pro), or folders of MIDI files",
    )
    parser.add_argument(
        "--against",
        nargs="+",
        required=True,
        metavar="CORPUS",
        help="corpus directories (from `tribute corpus build`)",
    )
    parser.add_argument(
        "--style",
        metavar="MODEL",
        help="also give each song's style score under this fine-tuned model (how artist-like)",
    )
    parser.add_argument("--base", help="the style model's genre model (default: the recorded one)")
    parser.add_argument("--json", action="store_true", help="print one JSON record")
    parser.add_argument(
        "--rebuild", action="store_true", help="rebuild the corpus index from scratch"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from tribute.originality import check

    text, status = check(args.songs, args.against, as_json=args.json, rebuild=args.rebuild)
    print(text)
    if args.style:
        from tribute.stylescore import score_files

        print(score_files(args.songs, args.style, args.base, as_json=args.json))
    return status
