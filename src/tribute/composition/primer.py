"""The opening bars a song continues (``compose --primer``, evaluation's extraction prompts)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from symusic import Score

from tribute.composition.vocab import TokenTable
from tribute.errors import TributeError


@dataclass(frozen=True)
class Primer:
    """The opening bars a song continues: tokens, bar count and the programs they use."""

    tokens: tuple[int, ...]
    bars: int
    programs: frozenset[int]
    source: str | None = None

    @classmethod
    def read(cls, path: str | Path, tokenizer, table: TokenTable) -> Primer:
        """A primer file in any format the corpus reads."""
        from tribute.corpus.normalize import normalize
        from tribute.corpus.readers import SkipFile, read

        source = Path(path)
        if not source.is_file():
            raise TributeError(f"primer {path} does not exist")
        try:
            score, _ = normalize(read(source, source.read_bytes())[0])
        except SkipFile as exc:
            raise TributeError(f"primer {path}: {exc}") from None
        return cls.of_score(score, tokenizer, table, str(path))

    @classmethod
    def of_score(
        cls, score: Score, tokenizer, table: TokenTable, source: str | None = None
    ) -> Primer:
        tokens = [int(t) for t in tokenizer.encode(score)]
        bars = int(table.opener[np.asarray(tokens, dtype=np.int64)].sum()) if tokens else 0
        if not bars:
            raise TributeError(f"primer {source or ''} has no notes this model can encode")
        programs = frozenset(-1 if t.is_drum else int(t.program) for t in score.tracks)
        return cls(tuple(tokens), bars, programs, source)
