"""``tribute edit`` and ``tribute accompany``: regenerate bars or parts of a song, or write a
band around a melody, keeping everything else note for note."""

from __future__ import annotations

import argparse

EDIT_EXAMPLES = """examples:
  tribute edit models/queen song-03.mid --bars 9-16 --out edits/          # every part
  tribute edit models/queen song-03.mid --bars 9-16 --parts bass -n 3 --out edits/
  tribute edit builtin:music21-mini my_song.mid --parts drums,guitar --out edits/  # the whole song
"""
ACCOMPANY_EXAMPLES = """examples:
  tribute accompany models/queen melody.mid --instruments drums,bass,guitar,keys --out band/
  tribute accompany models/queen lead_sheet.mid --melody-track 2 --instruments bass,keys \\
      --bars 1-8 --seed 3 -n 2 --out band/
"""


def register(subparsers) -> None:
    edit = subparsers.add_parser(
        "edit",
        help="regenerate chosen bars or parts of a song",
        description="Regenerate bars (all parts, or only --parts) of a song with a model that "
        "has infill tokens; the model sees what comes after the bars as well as before, and "
        "every note outside the edit stays exactly as it was.",
        epilog=EDIT_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    edit.add_argument("model", help="model folder (pretrained, fine-tuned, merged or LoRA)")
    edit.add_argument("song", help="the song to edit (MIDI, MusicXML, ...); it is not modified")
    edit.add_argument(
        "--bars",
        help="bars to regenerate, 1-based and inclusive: 9-16 or 9 (default: the whole song)",
    )
    edit.add_argument(
        "--parts",
        help="comma-separated parts to regenerate: track names, "
        "instrument words (bass, guitar …) or GM programs (default: every part)",
    )
    _common(edit)
    edit.set_defaults(func=run_edit)
    band = subparsers.add_parser(
        "accompany",
        help="write a band around a melody",
        description="Write the named parts around a given melody (any MIDI; a one-track file "
        "is the melody); the melody stays note for note.",
        epilog=ACCOMPANY_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    band.add_argument("model", help="model folder (pretrained, fine-tuned, merged or LoRA)")
    band.add_argument("melody", help="a file holding the melody")
    band.add_argument(
        "--instruments",
        required=True,
        help="the parts to write, as in compose: drums,bass,guitar,keys",
    )
    band.add_argument(
        "--melody-track", type=int, help="the melody's track (1-based) when the file has several"
    )
    band.add_argument("--bars", help="bars to accompany: 1-8 (default: all)")
    _common(band)
    band.set_defaults(func=run_accompany)


def _common(parser) -> None:
    parser.add_argument("--out", required=True, help="folder for NAME-NN.mid + NAME-NN.json")
    parser.add_argument("-n", type=int, help="versions to write, each its own seed (default 1)")
    parser.add_argument("--seed", type=int, help="seed of the first version (default 0)")
    parser.add_argument("--style", help="style token (default: the model's own)")
    parser.add_argument("--temperature", type=float, help="sampling temperature (default 1.0)")
    parser.add_argument("--top-p", type=float, help="nucleus sampling mass (default 0.95)")
    parser.add_argument("--no-guard", action="store_true", help="no originality check")
    parser.add_argument(
        "--against",
        action="append",
        metavar="CORPUS",
        help="corpora for the guard (default: the model's training corpora)",
    )
    parser.add_argument("--name", help="file name stem (default: the input's name + -edit)")
    parser.add_argument("--device", help="torch device, e.g. cuda (default cpu)")


def _config(args: argparse.Namespace):
    from tribute.cli import given
    from tribute.composition.edit import EditConfig, parse_bars

    return EditConfig(
        bars=parse_bars(args.bars),
        parts=tuple(p.strip() for p in args.parts.split(",") if p.strip())
        if getattr(args, "parts", None)
        else None,
        guard=not args.no_guard,
        against=tuple(args.against) if args.against else None,
        **given(args, "n", "seed", "style", "temperature", "top_p", "name", "device"),
    )


def run_edit(args: argparse.Namespace) -> int:
    from tribute.composition.edit import Editor

    config = _config(args)
    Editor.open(args.model, config).edit(args.song, args.out)
    return 0


def run_accompany(args: argparse.Namespace) -> int:
    from tribute.composition.edit import Editor

    config = _config(args)
    Editor.open(args.model, config).accompany(
        args.melody, args.out, args.instruments, args.melody_track
    )
    return 0
