"""Composition: new multi-track songs in a style, with form, controls and the originality guard."""

from tribute.composition.controls import (
    Controls,
    Section,
    parse_form,
    parse_instruments,
    parse_tempo,
    parse_time_signature,
    scale_pitch_classes,
)
from tribute.composition.primer import Primer
from tribute.composition.record import SongRecord
from tribute.composition.song import ComposeConfig, Composer, compose
from tribute.modeldir import StyleModel, load_style_model, resolve_style

__all__ = [
    "ComposeConfig",
    "Composer",
    "Controls",
    "Primer",
    "Section",
    "SongRecord",
    "StyleModel",
    "compose",
    "load_style_model",
    "parse_form",
    "parse_instruments",
    "parse_tempo",
    "parse_time_signature",
    "resolve_style",
    "scale_pitch_classes",
]
