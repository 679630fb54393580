"""``tribute models info DIR``: what a model folder is and where it came from."""

from __future__ import annotations

import argparse
import json


def register(subparsers) -> None:
    p = subparsers.add_parser("models", help="inspect model folders")
    commands = p.add_subparsers(dest="models_command", metavar="SUBCOMMAND")
    info = commands.add_parser("info", help="print a model folder's identity and training record")
    info.add_argument("model", help="model folder")
    info.add_argument("--json", action="store_true", help="print the whole record as JSON")
    info.set_defaults(func=run_info)
    p.set_defaults(func=lambda args: p.print_help() or 1)


def run_info(args: argparse.Namespace) -> int:
    from tribute.modeldir import model_info

    text, record = model_info(args.model)
    print(json.dumps(record.to_json(), indent=1) if args.json else text)
    return 0
