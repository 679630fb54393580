"""``tribute corpus build|info``."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

EXAMPLES = """examples:
  tribute corpus build music21:bach-chorales --out corpora/bach
  tribute corpus build music21:renaissance --exclude-families-of corpora/bach --out corpora/genre
  tribute corpus build ~/midi/clean_midi --label-from-folder artist --label genre=rock \\
      --out corpora/rock
  tribute corpus build ~/midi/queen --label-from-name "{artist}_{title}" --out corpora/queen
  tribute corpus info corpora/bach
"""


def register(sub: argparse._SubParsersAction) -> None:
    corpus = sub.add_parser(
        "corpus",
        help="build and inspect corpora",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = corpus.add_subparsers(dest="corpus_command", metavar="SUBCOMMAND")
    _build_parser(commands)
    _info_parser(commands)
    corpus.set_defaults(func=lambda args: corpus.print_help() or 1)


def _build_parser(commands: argparse._SubParsersAction) -> None:
    """``tribute corpus build``: sources and --out, then labels, selection and run options."""
    build = commands.add_parser(
        "build",
        help="turn folders, files or music21 presets into a corpus",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    build.add_argument(
        "sources",
        nargs="+",
        metavar="SRC",
        help="folder, file, or music21:PRESET (bach-chorales, folk, renaissance, "
        "classical, all; join with +, exclude with -, e.g. music21:all-bach)",
    )
    build.add_argument("--out", required=True, help="corpus folder to write (or update)")
    _label_options(build)
    _selection_options(build)
    build.add_argument("--workers", type=int, help="processes (default: all cores)")
    build.add_argument(
        "--timeout",
        type=float,
        default=60.0,
        metavar="SECONDS",
        help="time limit for reading one file (default 60)",
    )
    build.add_argument("--no-cache", action="store_true", help="ignore the ingest cache")
    build.add_argument("--json", action="store_true", help="print the report as JSON")
    build.set_defaults(func=run_build)


def _label_options(build: argparse.ArgumentParser) -> None:
    """Where a piece's labels come from: fixed, folder names, file names, a manifest."""
    build.add_argument(
        "--label",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="label every piece, e.g. genre=rock (repeatable)",
    )
    build.add_argument(
        "--label-from-folder",
        action="append",
        default=[],
        metavar="KEY[:LEVEL]",
        help="label from a folder name; LEVEL 1 = the file's own folder (Lakh "
        "clean_midi/<Artist>/<Title>.mid: artist:1)",
    )
    build.add_argument(
        "--label-from-name",
        metavar="PATTERN",
        help='label from the file name, e.g. "{artist}_{title}"',
    )
    build.add_argument(
        "--manifest", metavar="FILE", help="CSV/JSON with a path column and one column per label"
    )


def _selection_options(build: argparse.ArgumentParser) -> None:
    """Which pieces are kept and how they are split."""
    build.add_argument(
        "--exclude-families-of",
        action="append",
        default=[],
        metavar="CORPUS",
        help="drop each piece that matches a piece of this corpus directly: an exact copy, "
        "a close melody or the same specific title (report.json lists each, with why); repeatable",
    )
    build.add_argument(
        "--max-pieces",
        type=int,
        metavar="N",
        help="keep at most N pieces, chosen as whole families (seeded)",
    )
    build.add_argument(
        "--max-files",
        type=int,
        metavar="N",
        help="read only a seeded sample of N of the files found (quick trials)",
    )
    build.add_argument(
        "--split",
        default="0.8,0.1,0.1",
        metavar="TRAIN,VAL,TEST",
        help="split fractions by family (default 0.8,0.1,0.1)",
    )
    build.add_argument("--seed", type=int, default=0, help="seed for splits and selection")


def _info_parser(commands: argparse._SubParsersAction) -> None:
    """``tribute corpus info``."""
    info = commands.add_parser("info", help="print a corpus's report")
    info.add_argument("corpus", help="corpus folder")
    info.add_argument(
        "--all",
        action="store_true",
        help="list every entry (repaired, duplicates, excluded, skipped, ignored), not only "
        "the first 40 of each",
    )
    info.add_argument("--json", action="store_true", help="print the report as JSON")
    info.set_defaults(func=run_info)


def run_build(args: argparse.Namespace) -> int:
    from tribute.corpus import BuildConfig, build, info_text
    from tribute.corpus.ingest import IngestConfig
    from tribute.corpus.labels import LabelRules, parse_fixed, parse_from_folder, read_manifest
    from tribute.errors import TributeError

    try:
        train, validation, test = (float(x) for x in args.split.split(","))
    except ValueError:
        raise TributeError(
            f"--split expects three numbers like 0.8,0.1,0.1, got {args.split!r}"
        ) from None
    fractions = (train, validation, test)
    if (args.max_pieces is not None and args.max_pieces < 1) or (
        args.max_files is not None and args.max_files < 1
    ):
        raise TributeError("--max-pieces and --max-files must be at least 1")
    rules = LabelRules(
        fixed=parse_fixed(args.label),
        from_folder=parse_from_folder(args.label_from_folder),
        name_pattern=args.label_from_name,
        manifest=read_manifest(Path(args.manifest)) if args.manifest else {},
    )
    if rules.name_pattern:
        from tribute.corpus.labels import pattern_regex

        pattern_regex(rules.name_pattern)  # a bad pattern fails now, not per file
    config = BuildConfig(
        labels=rules,
        fractions=fractions,
        seed=args.seed,
        max_pieces=args.max_pieces,
        max_files=args.max_files,
        workers=args.workers,
        exclude_families_of=tuple(args.exclude_families_of),
        ingest=IngestConfig(timeout_s=args.timeout, use_cache=not args.no_cache),
    )
    corpus = build(args.sources, args.out, config, progress=not args.json)
    print(json.dumps(corpus.report(), indent=1) if args.json else info_text(corpus))
    return 0


def run_info(args: argparse.Namespace) -> int:
    from tribute.corpus import Corpus, info_text

    corpus = Corpus.open(args.corpus)
    print(json.dumps(corpus.report(), indent=1) if args.json else info_text(corpus, args.all))
    return 0
