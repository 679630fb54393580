"""``python -m tribute.studio.checkrun SONG TITLE OUT CORPUS...``: one "check a song" job, run in
a process of its own.

Why a process: corpus ingestion bounds each reader's time with SIGALRM, which only works in a
process's main thread (the studio's jobs run in a worker thread); and a hostile or huge file
then cannot take the studio down with it, and cancelling kills the process at once.

Writes ``OUT/reports.json`` — ``{"against": [...], "pieces": [{"name", "midi", "report"}]}``,
each report :meth:`tribute.originality.Report.to_json` — and the normalized score of each piece
as ``OUT/piece-NN.mid`` (the report's bar numbers are that score's bars). Prints ``stage: ...``
lines as it goes; on a :class:`~tribute.errors.TributeError` prints ``error: MESSAGE`` and
exits 2.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from tribute.errors import TributeError

STAGE_PREFIX = "stage: "
ERROR_PREFIX = "error: "


def check_song(song: Path, title: str, out: Path, corpora: list[str]) -> dict:
    """Reports for every piece of ``song`` against ``corpora`` (the library's checker)."""
    from tribute.composition.record import jsonable
    from tribute.originality import Checker, read_songs
    from tribute.originality.report import not_comparable

    print(f"{STAGE_PREFIX}reading the song", flush=True)
    pieces = read_songs(song)
    print(f"{STAGE_PREFIX}indexing {len(corpora)} corpora (once per corpus)", flush=True)
    checker = Checker.open(corpora)
    print(f"{STAGE_PREFIX}comparing", flush=True)
    out.mkdir(parents=True, exist_ok=True)
    found: list[dict[str, Any]] = []
    for number, piece in enumerate(pieces, start=1):
        if isinstance(piece, tuple):
            name = f"{title}{piece[0][len(str(song)) :]}"
            found.append({"name": name, "midi": None, "report": not_comparable(name, piece[1])})
            continue
        name = f"{title}{(piece.meta.source or '')[len(str(song)) :]}"
        midi = f"piece-{number:02d}.mid"
        piece.score.dump_midi(str(out / midi))
        found.append({"name": name, "midi": midi, "report": checker.check(piece, name=name)})
    result = {
        "against": [Path(c).name for c in corpora],
        "index_songs": len(checker.index),
        "pieces": [{**p, "report": p["report"].to_json()} for p in found],
    }
    return jsonable(result)


def main(argv: list[str]) -> int:
    if len(argv) < 4:
        print(f"{ERROR_PREFIX}usage: checkrun SONG TITLE OUT CORPUS...", file=sys.stderr)
        return 2
    song, title, out, corpora = Path(argv[0]), argv[1], Path(argv[2]), argv[3:]
    try:
        result = check_song(song, title, out, corpora)
    except TributeError as exc:
        print(f"{ERROR_PREFIX}{str(exc).strip().splitlines()[0]}", flush=True)
        return 2
    (out / "reports.json").write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
