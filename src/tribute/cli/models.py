"""``tribute models list`` and ``tribute models info DIR``: the shipped models, and what any
model folder is and where it came from."""

from __future__ import annotations

import argparse
import json


def register(subparsers) -> None:
    p = subparsers.add_parser("models", help="list the built-in models, inspect model folders")
    commands = p.add_subparsers(dest="models_command", metavar="SUBCOMMAND")
    listing = commands.add_parser("list", help="the models shipped with tribute (builtin:NAME)")
    listing.set_defaults(func=run_list)
    info = commands.add_parser("info", help="print a model folder's identity and training record")
    info.add_argument("model", help="model folder, or builtin:NAME")
    info.add_argument("--json", action="store_true", help="print the whole record as JSON")
    info.set_defaults(func=run_info)
    p.set_defaults(func=lambda args: p.print_help() or 1)


def run_list(args: argparse.Namespace) -> int:
    from tribute.builtin import CARD, names, path_of
    from tribute.modeldir import read_record

    shipped = names()
    if not shipped:
        print("no built-in models in this installation")
        return 0
    for name in shipped:
        folder = path_of(name)
        record = read_record(folder)
        card = folder / CARD
        summary = card.read_text(encoding="utf-8").splitlines()[2:3] if card.is_file() else []
        result = record.result
        print(
            f"builtin:{name}  {record.preset or '?'} preset, {result.get('steps', '?')} steps, "
            f"{result.get('tokens', 0):,} tokens; styles: {len(record.styles)}"
            + (f"\n    {summary[0]}" if summary else "")
            + f"\n    card: {card}"
        )
    return 0


def run_info(args: argparse.Namespace) -> int:
    from tribute.modeldir import model_info

    text, record = model_info(args.model)
    print(json.dumps(record.to_json(), indent=1) if args.json else text)
    return 0
