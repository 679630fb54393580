"""How much like the artist is this song? The style score, per song, for any style model.

``style_bits`` = bits per note of the song under the style model − under its base (genre) model:
how much more the artist's model expects the song than the genre's (negative: more artist-like).
It is computed on exactly the song's tokens (every token once, per note, like the held-out
likelihood of :mod:`tribute.train.nll`), the style model reading it under the artist's style
token and the base under none.

A number alone means little, so each score is placed among the same score of the artist's
held-out real songs and of genre songs: ``artist_percentile`` 40 means "as artist-like as the
40th-percentile held-out song" (40 % of them score less artist-like), ``genre_percentile`` 97
"more artist-like than 97 % of genre songs". The reference is computed once per style model and
kept beside it (``style_reference.json``), or in the cache for folders that are not writable.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from symusic import Score

from tribute.corpus.store import Corpus
from tribute.errors import TributeError
from tribute.modeldir import StyleModel, load_style_model
from tribute.paths import atomic_write_text, cache_dir
from tribute.train.data import TokenData
from tribute.train.nll import bits_per_note

REFERENCE_FILE = "style_reference.json"
REFERENCE_VERSION = 1
GENRE_SONGS = 60  # genre pieces in the reference (a seeded sample of its held-out splits)


def ordinal(n: int) -> str:
    """1st, 2nd, 3rd, 4th, 11th, 12th, 13th, 21st, ..."""
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


@dataclass
class StyleScore:
    style_bits: float  # under the style model − under the base, bits per note
    style_model_bits: float
    base_bits: float
    notes: int
    artist_percentile: float | None = None  # share of held-out artist songs less artist-like
    genre_percentile: float | None = None  # share of genre songs less artist-like

    def to_json(self) -> dict:
        return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in asdict(self).items()}

    def text(self) -> str:
        where = []
        if self.artist_percentile is not None:
            nth = ordinal(round(self.artist_percentile))
            where.append(f"as artist-like as the {nth}-percentile held-out song")
        if self.genre_percentile is not None:
            where.append(f"more than {self.genre_percentile:.0f} % of genre songs")
        return f"style {self.style_bits:+.2f} bits/note" + (
            f" ({'; '.join(where)})" if where else ""
        )


@dataclass
class StyleReference:
    artist: list[float]  # style_bits of the artist's held-out songs
    genre: list[float]  # of a sample of genre songs

    def percentile(self, values: list[float], bits: float) -> float | None:
        if not values:
            return None
        ref = np.asarray(values)
        return float(100 * ((ref > bits).mean() + 0.5 * (ref == bits).mean()))


class StyleScorer:
    """A style model and its base, loaded once; scores songs in shared batches."""

    def __init__(self, style: StyleModel, base: StyleModel) -> None:
        if not style.default_style:
            raise TributeError(f"{style.path} has no fine-tuned style to score against")
        self.style, self.base = style, base
        self.style_ids = style.tokenizer.styles_named([style.default_style])
        self._reference: StyleReference | None = None

    @classmethod
    def open(cls, style: StyleModel, base: str | Path | StyleModel | None = None) -> StyleScorer:
        """``base``: the genre model (default: the one the style model records)."""
        if base is None:
            recorded = style.base_path
            if recorded is None or not recorded.is_dir():
                raise TributeError(
                    f"{style.path} records no base model on this machine "
                    f"({recorded or 'none recorded'}); give the genre model it was fine-tuned "
                    "from with --base"
                )
            base = recorded
        loaded = base if isinstance(base, StyleModel) else load_style_model(base)
        return cls(style, loaded)

    # ---------------------------------------------------------------------------------------

    def bits(self, scores: Sequence[Score]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(bits/note under the style model, under the base, note counts) of each score."""
        data, notes = _token_data(self.style.tokenizer, scores)
        style = _bits(self.style, data, notes, self.style_ids)
        base = _bits(self.base, data, notes, [])
        return style, base, np.asarray(notes)

    def score(self, scores: Sequence[Score]) -> list[StyleScore]:
        style, base, notes = self.bits(scores)
        reference = self.reference()
        out = []
        for s, b, n in zip(style, base, notes, strict=True):
            diff = float(s - b)
            out.append(
                StyleScore(
                    diff,
                    float(s),
                    float(b),
                    int(n),
                    reference.percentile(reference.artist, diff),
                    reference.percentile(reference.genre, diff),
                )
            )
        return out

    def reference(self) -> StyleReference:
        if self._reference is None:
            self._reference = self._load_reference() or self._compute_reference()
        return self._reference

    # ---------------------------------------------------------------------------------------

    def _reference_paths(self) -> list[Path]:
        key = hashlib.sha256(
            f"{self.style.path.resolve()}|{self.base.path.resolve()}|"
            f"{self.style.tokenizer.fingerprint}".encode()
        ).hexdigest()[:16]
        return [self.style.path / REFERENCE_FILE, cache_dir("style") / f"{key}.json"]

    def _load_reference(self) -> StyleReference | None:
        for path in self._reference_paths():
            if path.is_file():
                data = json.loads(path.read_text(encoding="utf-8"))
                if data.get("version") == REFERENCE_VERSION and data.get("base") == str(
                    self.base.path.resolve()
                ):
                    return StyleReference(data["artist"], data["genre"])
        return None

    def _compute_reference(self) -> StyleReference:
        artist = _held_out(self.style.record.artist_corpus)
        genre = _held_out(self.base.record.corpus, GENRE_SONGS) or _shipped(self.base.path)
        reference = StyleReference(self._diffs(artist), self._diffs(genre))
        record = {
            "version": REFERENCE_VERSION,
            "base": str(self.base.path.resolve()),
            "artist": reference.artist,
            "genre": reference.genre,
        }
        for path in self._reference_paths():
            try:
                atomic_write_text(path, json.dumps(record) + "\n")
                break
            except OSError:  # a read-only model folder (e.g. a built-in one): the cache
                continue
        return reference

    def _diffs(self, scores: list[Score]) -> list[float]:
        if not scores:
            return []
        style, base, _ = self.bits(scores)
        return [round(float(s - b), 4) for s, b in zip(style, base, strict=True)]


def _held_out(corpus_path: str | None, limit: int | None = None) -> list[Score]:
    """Scores of a corpus's held-out songs (test, then validation; a seeded sample)."""
    if not corpus_path or not (Path(corpus_path) / "corpus.json").is_file():
        return []
    corpus = Corpus.open(corpus_path)
    metas = corpus.split("test") + corpus.split("validation")
    if limit is not None and len(metas) > limit:
        picks = np.random.default_rng(0).choice(len(metas), limit, replace=False)
        metas = [metas[i] for i in sorted(picks)]
    return [corpus.score(m) for m in metas]


REFERENCE_SONGS = "reference_songs"  # a built-in model's held-out genre songs (MIDI)


def _shipped(folder: Path) -> list[Score]:
    """Held-out genre songs shipped beside a model whose corpus is not on this machine."""
    songs = sorted((folder / REFERENCE_SONGS).glob("*.mid"))
    return [Score(str(p)) for p in songs[:GENRE_SONGS]]


def _token_data(tokenizer, scores: Sequence[Score]) -> tuple[TokenData, list[int]]:
    """An in-memory TokenData of the scores (style tokens added per model when scoring)."""
    ids, bars, notes = [], [], []
    opener = tokenizer.bar_opener_table()
    for score in scores:
        encoded = tokenizer.encode(score)
        if not len(encoded):
            raise TributeError("a song without notes has no style score")
        ids.append(encoded)
        bars.append(np.flatnonzero(opener[encoded]))
        notes.append(int(score.note_num()))
    lengths = np.array([len(i) for i in ids], dtype=np.int64)
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
    counts = np.array([len(b) for b in bars], dtype=np.int64)
    data = TokenData(
        tokens=np.concatenate(ids).astype(np.int64),
        piece_start=starts,
        piece_len=lengths,
        bar_start=np.concatenate([[0], np.cumsum(counts)]).astype(np.int64),
        bar_pos=np.concatenate([b + s for b, s in zip(bars, starts, strict=True)]),
        styles=np.full((len(ids), 1), -1, dtype=np.int64),
        bos_id=tokenizer.bos_id,
        eos_id=tokenizer.eos_id,
        pad_id=tokenizer.pad_id,
    )
    return data, notes


def _bits(model: StyleModel, data: TokenData, notes: list[int], styles: list[int]) -> np.ndarray:
    """Bits per note of every piece of ``data`` under ``model``, read under ``styles``."""
    data.styles = np.full((len(notes), max(1, len(styles))), -1, dtype=np.int64)
    data.styles[:, : len(styles)] = styles
    seq_len = min(model.record.seq_len or model.context_tokens, model.context_tokens)
    return bits_per_note(model.model, data, notes, seq_len)


def score_files(
    songs: Sequence[str | Path],
    model: str | Path,
    base: str | Path | None = None,
    as_json: bool = False,
) -> str:
    """The style score of every song file (any readable format), as text or JSON lines."""
    from tribute.originality.check import expand_paths, read_songs

    scorer = StyleScorer.open(load_style_model(model), base)
    lines = []
    for path in expand_paths(songs):
        for found in read_songs(path):
            if isinstance(found, tuple):  # (name, reason): a piece that could not be read
                name, reason = found
                lines.append(
                    json.dumps({"song": name, "error": reason})
                    if as_json
                    else f"{name}: no style score ({reason})"
                )
                continue
            try:
                (score,) = scorer.score([found.score])
            except TributeError as exc:
                lines.append(
                    json.dumps({"song": str(path), "error": str(exc)})
                    if as_json
                    else f"{path}: no style score ({exc})"
                )
                continue
            lines.append(
                json.dumps({"song": found.meta.id, "style": score.to_json()})
                if as_json
                else f"{found.meta.id}: {score.text()}"
            )
    return "\n".join(lines)
