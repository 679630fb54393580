"""Training data: a corpus split tokenized once, cached as a memory-mapped token file, and
sampled into bar-aligned windows that carry each piece's style tokens.

Cache layout (``cache_dir("tokens", KEY)``, KEY = hash of corpus manifest + tokenizer
fingerprint + data settings + split)::

    tokens.bin     all pieces back to back, uint16 (uint32 if the vocabulary needs it)
    index.npz      piece_start, piece_len, bar_start (offset into bar_pos), bar_pos, styles
    data.json      settings, counts and the key (written last: a cache without it is ignored)

Augmentation (training split only) is materialised at tokenization time: each song is kept as
is plus ``augment_copies`` variants, each transposed by a random interval that keeps every
pitched track inside its instrument's range (drums never move) with a small tempo and velocity
jitter. The windows drawn from it are a pure function of (seed, step, rank), so a resumed run
sees exactly the batches an uninterrupted one would have.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from multiprocessing import get_context
from pathlib import Path

import numpy as np
from symusic import Score
from tqdm.auto import tqdm

from tribute.corpus.store import Corpus
from tribute.errors import TributeError
from tribute.music import ROLE_RANGES, role_from_program
from tribute.paths import atomic_write_text, cache_dir
from tribute.tokens import MusicTokenizer
from tribute.train.infill import InfillWindows

__all__ = ["DataConfig", "TokenData", "TokenMixture", "augment", "load_split"]

IGNORE_INDEX = -100  # label of positions that carry no loss (padding, prompt)


@dataclass(frozen=True)
class DataConfig:
    augment_copies: int = 3  # augmented variants per training song, besides the original
    max_transpose: int = 5  # semitones each way
    tempo_jitter: float = 0.05  # tempo scaled by 1 ± this
    velocity_jitter: int = 8  # velocities shifted by ± this (out of 127)
    seed: int = 0
    workers: int = 0  # tokenization processes; 0 = one per CPU core
    # Share of training windows that are infill examples (tokenizers with infill markers);
    # measured in benchmarks/recipe_study.py.
    infill_rate: float = 0.25

    def __post_init__(self) -> None:
        if self.augment_copies < 0 or not 0 <= self.infill_rate <= 1:
            raise TributeError("--augment-copies must be ≥ 0 and the infill rate in [0, 1]")

    def to_json(self) -> dict:
        return asdict(self)


def augment(score: Score, rng: np.random.Generator, settings: DataConfig) -> Score:
    """A transposed, tempo- and velocity-jittered copy of ``score`` (drums never transposed)."""
    out = score.copy()
    low, high = -settings.max_transpose, settings.max_transpose
    for track in out.tracks:
        if track.is_drum or track.note_num() == 0:
            continue
        pitches = track.notes.numpy()["pitch"]
        role_low, role_high = ROLE_RANGES[role_from_program(track.program, False)]
        low = max(low, min(role_low, int(pitches.min())) - int(pitches.min()))
        high = min(high, max(role_high, int(pitches.max())) - int(pitches.max()))
    choices = [k for k in range(low, high + 1) if k != 0] or [0]
    shift = int(rng.choice(choices))
    velocity_shift = int(rng.integers(-settings.velocity_jitter, settings.velocity_jitter + 1))
    for track in out.tracks:
        if shift and not track.is_drum:
            track.shift_pitch(shift, inplace=True)
        if velocity_shift:
            for note in track.notes:
                note.velocity = max(1, min(127, note.velocity + velocity_shift))
    factor = 1.0 + float(rng.uniform(-settings.tempo_jitter, settings.tempo_jitter))
    for tempo in out.tempos:
        tempo.qpm = tempo.qpm * factor
    return out


@dataclass
class TokenData:
    """One tokenized split: flat tokens plus a piece/bar index; samples training windows."""

    tokens: np.ndarray  # (n_tokens,) memmap
    piece_start: np.ndarray  # (n_pieces,) offset of each piece in ``tokens``
    piece_len: np.ndarray  # (n_pieces,)
    bar_start: np.ndarray  # (n_pieces + 1,) offsets into ``bar_pos``
    bar_pos: np.ndarray  # absolute token offsets where a bar begins
    styles: np.ndarray  # (n_pieces, max_styles) style ids, -1 = none
    bos_id: int
    eos_id: int
    pad_id: int
    path: Path | None = None
    infill: InfillWindows | None = None  # training splits of infill tokenizers

    def __len__(self) -> int:
        return len(self.piece_start)

    @property
    def n_tokens(self) -> int:
        return int(self.piece_len.sum())

    def window(self, piece: int, bar: int, seq_len: int) -> tuple[np.ndarray, np.ndarray]:
        """(input ids, labels) of length ``seq_len`` from bar ``bar`` of ``piece``.

        A window from the first bar starts with BOS + style tokens, any other with the style
        tokens alone (the model always knows the style; BOS means "a piece starts here"). The
        prompt and padding carry no loss; a window reaching the piece's end closes with EOS.
        """
        styles = [int(s) for s in self.styles[piece] if s >= 0]
        prefix = ([self.bos_id] if bar == 0 else []) + styles
        start = int(self.bar_pos[self.bar_start[piece] + bar])
        end = int(self.piece_start[piece] + self.piece_len[piece])
        room = seq_len - len(prefix)
        body = np.asarray(self.tokens[start : min(end, start + room)], dtype=np.int64)
        ids = np.full(seq_len, self.pad_id, dtype=np.int64)
        labels = np.full(seq_len, IGNORE_INDEX, dtype=np.int64)
        ids[: len(prefix)] = prefix
        n = len(prefix) + len(body)
        ids[len(prefix) : n] = body
        labels[len(prefix) : n] = body
        if start + len(body) >= end and n < seq_len:
            ids[n] = labels[n] = self.eos_id
        return ids, labels

    def sample(
        self, rng: np.random.Generator, batch_size: int, seq_len: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """A batch of random windows: pieces drawn in proportion to their length in bars."""
        bars = np.diff(self.bar_start)
        pieces = rng.choice(len(bars), size=batch_size, p=bars / bars.sum())
        rows = []
        for piece in pieces:
            bar = int(rng.integers(bars[piece]))
            row = None
            if self.infill is not None and rng.random() < self.infill.rate:
                row = self.infill.window(self, int(piece), bar, seq_len, rng)
            rows.append(row or self.window(int(piece), bar, seq_len))
        return np.stack([r[0] for r in rows]), np.stack([r[1] for r in rows])


@dataclass
class TokenMixture:
    """Several TokenData sampled row by row with fixed weights (e.g. fine-tuning with
    rehearsal: 80 % artist songs, 20 % genre songs). Epochs count the first part's tokens."""

    parts: list[TokenData]
    weights: list[float]

    def __len__(self) -> int:
        return len(self.parts[0])

    @property
    def n_tokens(self) -> int:
        return self.parts[0].n_tokens

    def sample(
        self, rng: np.random.Generator, batch_size: int, seq_len: int
    ) -> tuple[np.ndarray, np.ndarray]:
        p = np.asarray(self.weights, dtype=float) / sum(self.weights)
        counts = np.bincount(
            rng.choice(len(self.parts), size=batch_size, p=p), minlength=len(self.parts)
        )
        rows = [
            part.sample(rng, int(n), seq_len)
            for part, n in zip(self.parts, counts, strict=True)
            if n
        ]
        return np.concatenate([r[0] for r in rows]), np.concatenate([r[1] for r in rows])


# --------------------------------------------------------------------------------------------
# Building the cache


def load_split(
    corpus: Corpus,
    tokenizer: MusicTokenizer,
    split: str,
    settings: DataConfig,
    tokenizer_dir: Path | None = None,
    *,
    augmented: bool | None = None,
    log: Callable | None = None,
) -> TokenData | None:
    """Tokenize (or load from cache) one corpus split; None if the split has no usable songs.

    ``tokenizer_dir`` is the saved tokenizer worker processes load (default: the folder the
    tokenizer was loaded from or saved to; without one, tokenization runs in this process).
    ``augmented`` defaults to True for the training split only. ``log`` hears what is
    tokenized and how long it took (a progress bar shows on a terminal).
    """
    metas = corpus.split(split)
    if not metas:
        return None
    augmented = split == "train" if augmented is None else augmented
    copies = settings.augment_copies if augmented else 0
    key_source = json.dumps(
        {
            "manifest": [(m.id, m.content_hash, m.labels) for m in metas],
            "corpus": str(corpus.path.resolve()),
            "tokenizer": tokenizer.fingerprint,
            "settings": {**settings.to_json(), "workers": 0, "infill_rate": 0},
            "copies": copies,
        },
        sort_keys=True,
    )
    key = hashlib.sha256(key_source.encode()).hexdigest()[:20]
    folder = cache_dir("tokens") / f"{split}-{key}"
    if not (folder / "data.json").is_file():
        jobs = [
            (str(corpus.score_path(m)), i, c, settings.seed)
            for i, m in enumerate(metas)
            for c in range(copies + 1)
        ]
        began = time.perf_counter()
        results = _encode_all(
            jobs, tokenizer, tokenizer_dir or tokenizer.path, settings, f"tokenize {split}", log
        )
        styles = [tokenizer.styles_of(metas[i].labels) for (_, i, _, _) in jobs]
        _write_cache(folder, results, styles, tokenizer, key)
        if log is not None:
            log(
                f"tokenized {split}: {len(jobs):,} pieces ({len(metas):,} songs × {copies + 1}) "
                f"in {time.perf_counter() - began:,.0f} s; cached for the next run"
            )
    data = _open_cache(folder, tokenizer)
    if augmented and tokenizer.settings.infill and settings.infill_rate > 0:
        data.infill = InfillWindows.of(tokenizer, settings.infill_rate)
    return data


# Per-process state of tokenization workers (set once by the pool initializer).
_WORKER: dict = {}


def _init_worker(tokenizer: MusicTokenizer | str, settings: dict) -> None:
    """``tokenizer``: the tokenizer itself (in this process) or its folder (a pool worker)."""
    if isinstance(tokenizer, str):
        tokenizer = MusicTokenizer.load(tokenizer)
    _WORKER["tokenizer"] = tokenizer
    _WORKER["bars"] = tokenizer.bar_opener_table()  # windows start where a bar opens
    _WORKER["settings"] = DataConfig(**settings)


def _encode_job(job: tuple[str, int, int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Token ids and bar offsets of one (song, copy); copy 0 is the original."""
    path, index, copy, seed = job
    tokenizer: MusicTokenizer = _WORKER["tokenizer"]
    try:
        score = Score(path)
    except Exception:  # a corpus file gone bad is skipped, not fatal
        return np.zeros(0, np.uint32), np.zeros(0, np.int64)
    if copy:
        score = augment(score, np.random.default_rng([seed, index, copy]), _WORKER["settings"])
    ids = tokenizer.encode(score)
    bars = np.flatnonzero(_WORKER["bars"][ids]) if len(ids) else np.zeros(0, np.int64)
    return ids, bars


def _encode_all(
    jobs: list,
    tokenizer: MusicTokenizer,
    tokenizer_dir: Path | None,
    settings: DataConfig,
    label: str,
    log: Callable | None,
) -> list[tuple[np.ndarray, np.ndarray]]:
    workers = settings.workers or len(os.sched_getaffinity(0)) or 1
    # A pool's start-up (~3 s) outweighs small jobs; without a saved tokenizer there is none.
    if workers <= 1 or len(jobs) < 64 or tokenizer_dir is None:
        workers = 1
    if log is not None and len(jobs) >= 64:
        log(f"{label}: {len(jobs):,} pieces on {workers} process{'es' * (workers > 1)}")
    # On a terminal only (disable=None): a log file gets the summary line instead.
    bar = tqdm(total=len(jobs), desc=label, unit="piece", disable=None, mininterval=1.0)
    try:
        if workers == 1:
            _init_worker(tokenizer, settings.to_json())
            out = []
            for job in jobs:
                out.append(_encode_job(job))
                bar.update()
            return out
        init_args = (str(tokenizer_dir), settings.to_json())
        chunk = max(1, min(256, len(jobs) // (8 * workers)))
        with ProcessPoolExecutor(
            workers, mp_context=get_context("spawn"), initializer=_init_worker, initargs=init_args
        ) as pool:
            out = []
            for result in pool.map(_encode_job, jobs, chunksize=chunk):
                out.append(result)
                bar.update()
            return out
    finally:
        bar.close()


def _write_cache(
    folder: Path, results: list, styles: list[list[int]], tokenizer: MusicTokenizer, key: str
) -> None:
    keep = [i for i, (ids, bars) in enumerate(results) if len(ids) and len(bars)]
    if not keep:
        raise TributeError("no song of this split produced any tokens (all empty?)")
    dtype = np.uint16 if tokenizer.vocab_size <= np.iinfo(np.uint16).max else np.uint32
    lengths = np.array([len(results[i][0]) for i in keep], dtype=np.int64)
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
    bar_counts = np.array([len(results[i][1]) for i in keep], dtype=np.int64)
    bar_start = np.concatenate([[0], np.cumsum(bar_counts)]).astype(np.int64)
    bar_pos = np.concatenate([results[i][1] + s for i, s in zip(keep, starts, strict=True)])
    max_styles = max([len(styles[i]) for i in keep] + [1])
    style_ids = np.full((len(keep), max_styles), -1, dtype=np.int64)
    for row, i in enumerate(keep):
        style_ids[row, : len(styles[i])] = styles[i]
    tmp = folder.with_name(f".{folder.name}.{os.getpid()}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    np.concatenate([results[i][0] for i in keep]).astype(dtype).tofile(tmp / "tokens.bin")
    np.savez(
        tmp / "index.npz",
        piece_start=starts,
        piece_len=lengths,
        bar_start=bar_start,
        bar_pos=bar_pos.astype(np.int64),
        styles=style_ids,
    )
    atomic_write_text(
        tmp / "data.json",
        json.dumps(
            {
                "key": key,
                "dtype": np.dtype(dtype).name,
                "pieces": len(keep),
                "skipped_empty": len(results) - len(keep),
                "tokens": int(lengths.sum()),
            }
        )
        + "\n",
    )
    try:
        os.replace(tmp, folder)
    except OSError:  # another process finished the same cache first: keep theirs
        shutil.rmtree(tmp, ignore_errors=True)
        if not (folder / "data.json").is_file():
            raise


def _open_cache(folder: Path, tokenizer: MusicTokenizer) -> TokenData:
    header = json.loads((folder / "data.json").read_text(encoding="utf-8"))
    index = np.load(folder / "index.npz", allow_pickle=False)
    return TokenData(
        tokens=np.memmap(folder / "tokens.bin", dtype=header["dtype"], mode="r"),
        piece_start=index["piece_start"],
        piece_len=index["piece_len"],
        bar_start=index["bar_start"],
        bar_pos=index["bar_pos"],
        styles=index["styles"],
        bos_id=tokenizer.bos_id,
        eos_id=tokenizer.eos_id,
        pad_id=tokenizer.pad_id,
        path=folder,
    )
