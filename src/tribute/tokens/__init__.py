"""Tokens: how scores become ids and back (:mod:`.tokenizer`), the control tokens beside
MidiTok's vocabulary (:mod:`.controls`: chords, infill markers) and the stream's grammar
(:mod:`.grammar`)."""

from tribute.tokens.controls import CHORD_SYMBOLS, NO_CHORD, ControlVocab
from tribute.tokens.grammar import event_kind, may_follow
from tribute.tokens.tokenizer import (
    TOKENIZER_DIR,
    MusicTokenizer,
    TokenizerConfig,
    style_name,
)

__all__ = [
    "CHORD_SYMBOLS",
    "NO_CHORD",
    "TOKENIZER_DIR",
    "ControlVocab",
    "MusicTokenizer",
    "TokenizerConfig",
    "event_kind",
    "may_follow",
    "style_name",
]
