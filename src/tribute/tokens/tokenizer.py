"""The music tokenizer: MidiTok REMI + programs, a trained BPE vocabulary, control and style
tokens.

Token layout (one stream for all tracks, MidiTok 3 REMI with ``use_programs``)::

    Bar TimeSig_4/4 Position_0 Tempo_121.29 Program_33 Pitch_36 Velocity_95 Duration_1.0.12 ...

after which MidiTok's BPE (or Unigram) model, trained on the corpus, merges successions that
occur within one bar (``encode_ids_split="bar"``), so every bar starts with a new token.

Vocabulary as offset blocks, in the manner of anticipation's vocabulary::

    [0, M)            MidiTok ids (PAD=0, BOS, EOS, then learned tokens)
    [M, M + C)        control tokens (tribute.tokens.controls): a chord per bar (harmony, 97)
                      and infill markers (3), each block only where the settings ask for it
    [M + C, + S)      one style token per label value ("genre=rock")

Control and style tokens live outside MidiTok: chords come from tribute's own analysis
(:func:`tribute.music.harmony.bar_chords`), and fine-tuning appends a new style (``add_style``)
without retraining the BPE model; the model then grows its embedding by one row. With harmony,
every bar's ids are preceded by its chord id: the chord *opens* the bar.

Saved as a folder: ``tokenizer.json`` (MidiTok's own file) and ``styles.json`` (settings and the
style block). The pair is part of a model's identity (``fingerprint``).
"""

from __future__ import annotations

import hashlib
import json
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from symusic import Score

from tribute.errors import TributeError
from tribute.music import TICKS_PER_QUARTER
from tribute.music.harmony import bar_chords
from tribute.paths import atomic_write_text
from tribute.tokens.controls import ControlVocab
from tribute.tokens.grammar import _grammatical, event_kind

FORMAT = "tribute-tokenizer"
FORMAT_VERSION = 2  # 2: control blocks (harmony, infill); version-1 files have neither
MIDITOK_FILE = "tokenizer.json"
STYLES_FILE = "styles.json"
TOKENIZER_DIR = "tokenizer"  # sub-folder of a model folder

__all__ = ["MusicTokenizer", "TokenizerConfig", "style_name"]


@dataclass(frozen=True)
class TokenizerConfig:
    """How scores become tokens (saved in ``styles.json``)."""

    vocab_size: int = 2_000  # target size of the learned vocabulary (base REMI vocab ≈ 560)
    model: str = "BPE"  # "BPE" or "Unigram" (MidiTok / HF tokenizers models)
    # Positions per beat: 12 holds 16ths (3), 8th triplets (4) and 16th triplets (2) of a
    # TICKS_PER_QUARTER=24 corpus for the first 4 beats of a duration, then 4 per beat up to 12.
    beat_res: tuple[tuple[int, int, int], ...] = ((0, 4, 12), (4, 12, 4))
    num_velocities: int = 8  # coarse dynamics: ppp .. fff
    num_tempos: int = 32
    tempo_range_qpm: tuple[int, int] = (40, 250)
    style_keys: tuple[str, ...] = ("genre",)  # corpus label keys that become style tokens
    max_training_files: int = 2_000  # BPE is trained on at most this many training songs
    harmony: bool = True  # a chord token opens every bar (chord control, lead sheets)
    infill: bool = True  # infill markers: bars and parts can be regenerated in place

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping) -> TokenizerConfig:
        data = dict(data)
        data["beat_res"] = tuple(tuple(r) for r in data.get("beat_res", cls.beat_res))
        data["tempo_range_qpm"] = tuple(data.get("tempo_range_qpm", cls.tempo_range_qpm))
        data["style_keys"] = tuple(data.get("style_keys", cls.style_keys))
        data.setdefault("harmony", False)  # written before control tokens existed
        data.setdefault("infill", False)
        return cls(**data)


def style_name(key: str, value: str) -> str:
    """The name of a style token: ``"genre=rock"``."""
    return f"{key}={value}"


def _miditok_config(settings: TokenizerConfig):
    from miditok import TokenizerConfig

    return TokenizerConfig(
        beat_res={(a, b): res for a, b, res in settings.beat_res},
        num_velocities=settings.num_velocities,
        special_tokens=["PAD", "BOS", "EOS"],
        use_programs=True,
        one_token_stream_for_programs=True,
        use_tempos=True,
        use_time_signatures=True,
        use_velocities=True,
        num_tempos=settings.num_tempos,
        tempo_range=settings.tempo_range_qpm,
        encode_ids_split="bar",
    )


@dataclass
class MusicTokenizer:
    """MidiTok tokenizer + style block; the only way tribute turns scores into ids and back."""

    miditok: Any  # miditok.REMI
    settings: TokenizerConfig
    styles: list[str] = field(default_factory=list)
    path: Path | None = field(default=None, compare=False)  # folder it was loaded from/saved to

    def __post_init__(self) -> None:
        # len(miditok) walks the BPE vocabulary (~2 ms) and building a token table asks it
        # thousands of times; the MidiTok vocabulary never changes once it is built.
        self._music_vocab_size = len(self.miditok)

    # ---------------------------------------------------------------- construction and files

    @classmethod
    def train(
        cls,
        score_paths: Iterable[str | Path],
        settings: TokenizerConfig,
        styles: Sequence[str] = (),
    ) -> MusicTokenizer:
        """Train the BPE/Unigram vocabulary on MIDI files (at most ``max_training_files``)."""
        from miditok import REMI

        tokenizer = REMI(_miditok_config(settings))
        paths = [Path(p) for p in score_paths]
        if len(paths) > settings.max_training_files:  # a seeded sample of the whole split, not
            # its first files (a corpus lists its collections one after another)
            picks = np.random.default_rng(0).choice(
                len(paths), settings.max_training_files, replace=False
            )
            paths = [paths[i] for i in sorted(picks)]
        if not paths:
            raise TributeError("no training songs to learn the tokenizer vocabulary from")
        target = max(settings.vocab_size, len(tokenizer) + 1)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # MidiTok warns when a tiny corpus ends merging early
            tokenizer.train(vocab_size=target, model=settings.model, files_paths=paths)
        return cls(tokenizer, settings, sorted(set(styles)))

    @classmethod
    def load(cls, path: str | Path) -> MusicTokenizer:
        """Load from a tokenizer folder, or from a model folder that holds one."""
        from miditok import REMI

        path = Path(path)
        if (path / TOKENIZER_DIR / STYLES_FILE).is_file():
            path = path / TOKENIZER_DIR
        styles_file = path / STYLES_FILE
        if not styles_file.is_file() or not (path / MIDITOK_FILE).is_file():
            raise TributeError(
                f"{path} holds no tribute tokenizer ({STYLES_FILE} + {MIDITOK_FILE})"
            )
        header = json.loads(styles_file.read_text(encoding="utf-8"))
        if header.get("format") != FORMAT or header.get("version", 0) > FORMAT_VERSION:
            raise TributeError(f"{styles_file} is not a tokenizer this tribute can read")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tokenizer = REMI(params=path / MIDITOK_FILE)
        loaded = cls(
            tokenizer, TokenizerConfig.from_json(header["settings"]), list(header["styles"]), path
        )
        if len(tokenizer) != header["music_vocab_size"]:
            raise TributeError(
                f"{path}: MidiTok vocabulary size {len(tokenizer)} differs from "
                f"the recorded {header['music_vocab_size']}"
            )
        return loaded

    def save(self, path: str | Path) -> Path:
        """Write ``tokenizer.json`` and ``styles.json`` into folder ``path``; returns it."""
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.miditok.save(path / MIDITOK_FILE)
        atomic_write_text(path / STYLES_FILE, json.dumps(self._header(), indent=1) + "\n")
        self.path = path
        return path

    def _header(self) -> dict:
        return {
            "format": FORMAT,
            "version": FORMAT_VERSION,
            "settings": self.settings.to_json(),
            "music_vocab_size": self.music_vocab_size,
            "styles": list(self.styles),
        }

    @property
    def fingerprint(self) -> str:
        """A hash of everything that decides ids: MidiTok vocabulary + model, control blocks
        and styles (a tokenizer without control blocks keeps the fingerprint it had before
        they existed, so its runs still resume)."""
        header = self._header()
        if not (self.settings.harmony or self.settings.infill):
            header["version"] = 1
            for key in ("harmony", "infill"):
                header["settings"].pop(key)
        digest = hashlib.sha256()
        digest.update(json.dumps(header, sort_keys=True).encode())
        digest.update(json.dumps(self.miditok.vocab, sort_keys=True).encode())
        if self.miditok.is_trained:
            digest.update(json.dumps(self.miditok.vocab_model, sort_keys=True).encode())
        return digest.hexdigest()[:16]

    # ---------------------------------------------------------------- vocabulary

    @property
    def music_vocab_size(self) -> int:
        return self._music_vocab_size

    @property
    def controls(self) -> ControlVocab:
        return ControlVocab(self.music_vocab_size, self.settings.harmony, self.settings.infill)

    @property
    def style_offset(self) -> int:
        return self.music_vocab_size + self.controls.size

    @property
    def vocab_size(self) -> int:
        return self.style_offset + len(self.styles)

    @property
    def pad_id(self) -> int:
        return self.miditok.vocab["PAD_None"]

    @property
    def bos_id(self) -> int:
        return self.miditok.vocab["BOS_None"]

    @property
    def eos_id(self) -> int:
        return self.miditok.vocab["EOS_None"]

    @property
    def special_ids(self) -> list[int]:
        """PAD, BOS, infill markers and every style token: ids a sampler never emits mid-song."""
        markers = list(self.controls.infill_ids) if self.settings.infill else []
        return [self.pad_id, self.bos_id, *markers, *self.style_ids()]

    def style_ids(self) -> list[int]:
        return list(range(self.style_offset, self.vocab_size))

    def style_id(self, key: str, value: str) -> int | None:
        name = style_name(key, value)
        return self.style_offset + self.styles.index(name) if name in self.styles else None

    def add_style(self, key: str, value: str) -> int:
        """Append a style token (fine-tuning a new artist); returns its id."""
        name = style_name(key, value)
        if name not in self.styles:
            self.styles.append(name)
        return self.style_id(key, value)  # type: ignore[return-value]

    def styles_named(self, names: Iterable[str]) -> list[int]:
        """Ids of style tokens given by name (``"artist=Bach"``); unknown names raise."""
        ids = []
        for name in names:
            if name not in self.styles:
                raise TributeError(
                    f"unknown style {name!r}; this model knows: {', '.join(self.styles) or 'none'}"
                )
            ids.append(self.style_offset + self.styles.index(name))
        return ids

    def styles_of(self, labels: Mapping[str, str]) -> list[int]:
        """Style-token ids for a song's labels, in ``settings.style_keys`` order (known only)."""
        ids = []
        for key in self.settings.style_keys:
            if key in labels:
                token = self.style_id(key, labels[key])
                if token is not None:
                    ids.append(token)
        return ids

    def prompt(self, styles: Iterable[int] = ()) -> list[int]:
        """Start of a new piece: BOS, then its style tokens."""
        return [self.bos_id, *styles]

    def bar_start_table(self) -> np.ndarray:
        """``table[id]`` is True where token ``id`` begins with a ``Bar`` event."""
        table = np.zeros(self.vocab_size, dtype=bool)
        for token_id in range(self.music_vocab_size):
            base = self.base_tokens(token_id)
            table[token_id] = bool(base) and base[0].startswith("Bar_")
        return table

    def bar_opener_table(self) -> np.ndarray:
        """``table[id]`` is True for the ids that open a bar: the chord ids with harmony
        (they come right before the bar), else the ids that begin with a ``Bar`` event."""
        if not self.settings.harmony:
            return self.bar_start_table()
        table = np.zeros(self.vocab_size, dtype=bool)
        table[list(self.controls.chord_ids)] = True
        return table

    def base_tokens(self, token_id: int) -> list[str]:
        """The MidiTok base tokens (``"Pitch_60"``…) that one music id stands for."""
        tok = self.miditok
        if not tok.is_trained:
            return [tok[token_id]]
        byte = tok._model.id_to_token(int(token_id))
        return list(tok._vocab_learned_bytes_to_tokens.get(byte, [])) if byte else []

    def grammar(self) -> dict[str, frozenset[str]]:
        """Which event kind may follow which: MidiTok's own token-type graph of this
        tokenizer, special tokens left out (REMI + programs here:
        ``Bar TimeSig (Position [Tempo] (Program Pitch Velocity Duration)*)*``)."""
        graph = self.miditok.tokens_types_graph
        special = {"PAD", "BOS", "EOS"}
        return {
            kind: frozenset(event_kind(n) for n in following) - special
            for kind, following in graph.items()
            if kind not in special
        }

    # ---------------------------------------------------------------- encode / decode

    def encode(self, score: Score) -> np.ndarray:
        """Ids of a score (no BOS/EOS/style), uint32: MidiTok's, with each bar's chord id
        before it when the tokenizer has harmony."""
        if len(score.tracks) == 0 or score.note_num() == 0:
            return np.zeros(0, dtype=np.uint32)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ids = np.asarray(self.miditok.encode(score).ids, dtype=np.uint32)
        if not self.settings.harmony:
            return ids
        starts = np.flatnonzero(self.bar_start_table()[ids])
        chords = bar_chords(score, len(starts))
        chord_ids = np.array([self.controls.chord_id(c) for c in chords], dtype=np.uint32)
        return np.insert(ids, starts, chord_ids)

    def encode_base(self, tokens: Sequence[str]) -> list[int]:
        """BPE ids of MidiTok base tokens (``"Bar_None"``, ``"Pitch_60"`` …), merged within
        bars exactly as :meth:`encode` merges them (0.6 ms for a chorale)."""
        from miditok import TokSequence

        tok = self.miditok
        if not tok.is_trained:
            return [tok.vocab[t] for t in tokens]
        bars: list[list[str]] = []
        for token in tokens:
            if token.startswith("Bar_") or not bars:
                bars.append([])
            bars[-1].append(token)
        chunks = []
        for bar in bars:
            seq = TokSequence(tokens=bar)
            tok.complete_sequence(seq, complete_bytes=True)
            chunks.append(seq.bytes)
        return list(tok._model.encode(chunks, is_pretokenized=True).ids) if chunks else []

    def chords_in(self, ids: Iterable[int]) -> list[str | None]:
        """The chord symbol of every bar of a token stream (harmony tokenizers)."""
        chord_ids = self.controls.chord_ids
        return [self.controls.chord_symbol(int(i)) for i in ids if int(i) in chord_ids]

    def decode(self, ids: Iterable[int]) -> Score:
        """A Score from any id sequence; never raises.

        Special, control and style ids are dropped; if MidiTok rejects the rest, a grammar
        filter keeps only well-formed REMI events; as a last resort the result is an empty
        (valid) score.
        """
        size = self.music_vocab_size  # len(MidiTok) rebuilds its vocabulary: read it once
        special = (self.pad_id, self.bos_id, self.eos_id)
        music = [int(i) for i in ids if 0 <= int(i) < size and int(i) not in special]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                return self._checked(self.miditok.decode(music))
            except Exception:  # repaired below: decoding must never crash
                pass
            try:
                repaired = _grammatical(
                    [t for i in music for t in self.base_tokens(i)], self.grammar()
                )
                return self._checked(self.miditok.decode(self.encode_base(repaired)))
            except Exception:  # the last resort must not raise either
                return _empty_score()

    @staticmethod
    def _checked(score: Score) -> Score:
        score.dumps_midi()  # a score MidiTok built but symusic cannot write counts as a failure
        return score


def _empty_score() -> Score:
    return Score(TICKS_PER_QUARTER)
