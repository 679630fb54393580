"""``tribute studio``."""

from __future__ import annotations

import argparse

EXAMPLES = """examples:
  tribute studio                                 # the built-in base model
  tribute studio runs/demo/models/bach
  tribute studio runs/ --work ~/songs/studio --port 8800
  tribute studio models/queen models/rock --host 0.0.0.0     # other machines too: no login!
"""


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "studio",
        help="a local web studio: compose, listen, look, check",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Serve a web page on this machine to compose with every control, follow "
        "the progress, listen to the mix and stems, see the piano roll and score, read the "
        "originality report, download everything and check any song. Needs the studio extra "
        "(pip install 'tribute[studio]').",
    )
    parser.add_argument(
        "models",
        nargs="*",
        metavar="MODEL_OR_FOLDER",
        help="model folders (or builtin:NAME), or folders to search for them (default: the "
        "built-in base model)",
    )
    parser.add_argument(
        "--work",
        default="tribute-studio",
        help="folder for jobs, songs and uploads; a restarted studio finds them there "
        "(default ./tribute-studio)",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    parser.add_argument("--port", type=int, default=8765, help="port (default 8765)")
    parser.add_argument(
        "--workers", type=int, default=1, help="jobs that run at once (default 1: one CPU job)"
    )
    parser.add_argument(
        "--max-queued", type=int, default=8, help="jobs that may wait in the queue (default 8)"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from tribute.errors import TributeError

    try:
        import fastapi  # noqa: F401
        import uvicorn  # noqa: F401
    except ModuleNotFoundError as exc:
        raise TributeError(
            f"the studio needs {exc.name}: pip install 'tribute[studio]' (or scripts/setup.sh)"
        ) from None
    from tribute.builtin import BASE, names
    from tribute.studio import StudioConfig, serve

    if not args.models and not names():
        raise TributeError("give a model folder (or a folder of them): no built-in model here")
    if args.workers < 1 or args.max_queued < 1:
        raise TributeError("--workers and --max-queued must be at least 1")
    config = StudioConfig(
        models=tuple(args.models) or (BASE,),
        work=Path(args.work),
        host=args.host,
        port=args.port,
        workers=args.workers,
        max_queued=args.max_queued,
    )
    serve(config)
    return 0
