"""``tribute`` command line: a thin layer that parses arguments and calls one library function.

Each sub-command lives in its own module here and exposes ``register(subparsers)``; the module
imports its library lazily so that ``tribute --help`` stays fast and torch-free.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from tribute.errors import TributeError

# Sub-command modules, in the order `tribute --help` lists them.
COMMANDS = (
    "corpus",
    "check",
    "pretrain",
    "finetune",
    "ablate",
    "models",
    "compose",
    "render",
    "evaluate",
    "demo",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tribute",
        description="Learn a genre, learn a band, write new songs in its style.",
    )
    parser.add_argument("--version", action="version", version=_version())
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        try:
            module = importlib.import_module(f"tribute.cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"tribute.cli.{name}":
                continue  # command not built yet
            raise
        module.register(sub)
    return parser


def given(args: argparse.Namespace, *names: str) -> dict:
    """The named options the user actually gave (not None): passed to a config class, so that
    every default lives in one place, the config's fields."""
    return {name: getattr(args, name) for name in names if getattr(args, name) is not None}


def _version() -> str:
    from tribute import __version__

    return f"tribute {__version__}"


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 1
    try:
        return int(args.func(args) or 0)
    except TributeError as exc:
        print(f"tribute {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"tribute {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
