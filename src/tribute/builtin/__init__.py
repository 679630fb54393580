"""Models that ship inside the package, trained by tribute's own commands (each folder holds
its model card, ``MODEL_CARD.md``: data, exclusions, tokens seen, curve, machine, command).

``builtin:NAME`` names one wherever a model folder is expected (``finetune``, ``compose``,
``edit``, ``evaluate``, ``studio``); ``tribute models list`` shows them.
"""

from __future__ import annotations

from pathlib import Path

PREFIX = "builtin:"
BASE = PREFIX + "music21-mini"  # the base model the demo and the error messages point to
ROOT = Path(__file__).parent / "models"
CARD = "MODEL_CARD.md"


def names() -> list[str]:
    """Names of the shipped models (folders with weights and a tokenizer)."""
    if not ROOT.is_dir():
        return []
    return sorted(
        p.name
        for p in ROOT.iterdir()
        if (p / "config.json").is_file() and (p / "tokenizer" / "styles.json").is_file()
    )


def path_of(name: str) -> Path:
    from tribute.errors import TributeError

    if name not in names():
        shipped = ", ".join(names()) or "none in this installation"
        raise TributeError(f"no built-in model {name!r} (built-in: {shipped})")
    return ROOT / name


def refuse_as_output(folder: Path) -> None:
    """A training run never writes into (or deletes) a model that ships with tribute."""
    from tribute.errors import TributeError

    resolved = Path(folder).resolve()
    if resolved == ROOT.resolve() or ROOT.resolve() in resolved.parents:
        raise TributeError(
            f"{folder} is inside tribute's built-in models; choose another output folder"
        )
