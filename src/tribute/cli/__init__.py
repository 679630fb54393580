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
    "edit",
    "render",
    "evaluate",
    "demo",
    "studio",
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


def given(args: argparse.Namespace, *names: str, **renamed: str) -> dict:
    """The named options the user actually gave (not None), for a config class, so that every
    default lives in one place, the config's fields. ``renamed``: field=option, e.g.
    ``learning_rate="lr"``."""
    pairs = [(name, name) for name in names] + list(renamed.items())
    return {
        field: getattr(args, option)
        for field, option in pairs
        if getattr(args, option, None) is not None
    }


def add_time_budget(parser) -> None:
    """``--time-budget DURATION``, shared by the training commands."""
    parser.add_argument(
        "--time-budget",
        metavar="DURATION",
        help="plan the steps and the cosine decay to end in this time (2h, 90m, 600s)",
    )


def duration_s(text: str) -> float:
    """``"2h"``, ``"90m"``, ``"45s"``, ``"1h30m"`` or plain seconds → seconds."""
    import re

    from tribute.errors import TributeError

    parts = re.findall(r"(\d+(?:\.\d+)?)\s*([hms]?)", text.strip().lower())
    if not parts or re.sub(r"[\d.\shms]", "", text.lower()):
        raise TributeError(f"a duration looks like 2h, 90m, 1h30m or 600s, got {text!r}")
    return sum(float(n) * {"h": 3600, "m": 60, "s": 1, "": 1}[unit] for n, unit in parts)


def _version() -> str:
    from tribute import __version__

    return f"tribute {__version__}"


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 1
    from tribute.quiet import quiet_dependencies

    quiet_dependencies()
    try:
        return int(args.func(args) or 0)
    except TributeError as exc:
        print(f"tribute {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"tribute {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `tribute corpus info X | head`: the reader left, nothing to say
        import os

        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # Python's own flush at exit must not fail again
        return 0


if __name__ == "__main__":
    sys.exit(main())
