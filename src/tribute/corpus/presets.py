"""Built-in sources: presets over the corpus that ships inside the ``music21`` package.

``music21:NAME`` names a preset or a sub-corpus folder; ``+`` joins and ``-`` excludes, e.g.
``music21:all-bach-essenFolksong`` or ``music21:renaissance+classical``. Licences: the music21
corpus is public domain or licensed for use; some encodings (e.g. Essen) are non-commercial
only, and Bach encodings carry an encoder credit (see the README).
"""

from __future__ import annotations

import re
from pathlib import Path

from tribute.corpus.readers import FORMATS
from tribute.errors import TributeError

PREFIX = "music21:"

PRESETS: dict[str, tuple[str, ...]] = {
    "bach-chorales": ("bach",),
    "folk": ("essenFolksong", "oneills1850", "ryansMammoth", "airdsAirs", "miscFolk"),
    "renaissance": (
        "palestrina",
        "josquin",
        "monteverdi",
        "trecento",
        "ciconia",
        "luca",
        "lusitano",
    ),
    "classical": (
        "beethoven",
        "mozart",
        "haydn",
        "handel",
        "cpebach",
        "corelli",
        "chopin",
        "schubert",
        "schumann_clara",
        "schumann_robert",
        "weber",
        "verdi",
        "beach",
        "joplin",
        "johnson_j_r",
        "liliuokalani",
        "schoenberg",
        "webern",
        "leadSheet",
    ),
}
# Folders that hold no usable music: demos and exercises, and a 2-tune stub.
_NOT_MUSIC = {"demos", "theoryExercises", "nottingham-dataset", "_metadataCache", "__pycache__"}


def corpus_root() -> Path:
    try:
        import music21.corpus
    except ImportError as exc:  # pragma: no cover - music21 is a hard dependency
        raise TributeError("music21 is not installed: pip install music21") from exc
    return Path(music21.corpus.__file__).parent


def subcorpora() -> list[str]:
    return sorted(
        p.name for p in corpus_root().iterdir() if p.is_dir() and p.name not in _NOT_MUSIC
    )


def is_preset(source: str) -> bool:
    return source.startswith(PREFIX)


def expand(source: str) -> list[str]:
    """Sub-corpus folder names a ``music21:`` source stands for."""
    spec = source[len(PREFIX) :]
    if not spec:
        raise TributeError(f"empty music21 preset; try one of {', '.join(preset_names())}")
    folders: list[str] = []
    for sign, name in re.findall(r"([+-]?)([A-Za-z0-9_]+(?:-chorales)?)", spec):
        members = _members(name)
        if sign == "-":
            folders = [f for f in folders if f not in members]
        else:
            folders += [f for f in members if f not in folders]
    if not folders:
        raise TributeError(f"music21 preset {source!r} selects nothing")
    return folders


def _members(name: str) -> tuple[str, ...]:
    available = subcorpora()
    if name == "all":
        return tuple(available)
    if name in PRESETS:
        return tuple(f for f in PRESETS[name] if f in available)
    if name in available:
        return (name,)
    raise TributeError(
        f"unknown music21 preset or sub-corpus {name!r}; presets: "
        f"{', '.join(preset_names())}; sub-corpora: {', '.join(available)}"
    )


def preset_names() -> list[str]:
    return ["all", *PRESETS]


def files(source: str) -> list[tuple[Path, str]]:
    """(file, sub-corpus) pairs of a preset, sorted, readable formats only.

    A folder with both an ``.mxl`` and a ``.krn`` of one work keeps the MusicXML (richer
    metadata); Roman-numeral analyses (.rntxt) and proprietary formats are not music files.
    """
    root = corpus_root()
    found: list[tuple[Path, str]] = []
    for folder in expand(source):
        paths = sorted(
            p for p in (root / folder).rglob("*") if p.is_file() and p.suffix.lower() in FORMATS
        )
        stems_with_xml = {p.stem for p in paths if p.suffix.lower() in (".mxl", ".xml")}
        for path in paths:
            if path.suffix.lower() == ".krn" and path.stem in stems_with_xml:
                continue
            found.append((path, folder))
    return found
