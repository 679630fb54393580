"""The compose form: one field per ``tribute compose`` option, turned into the library's
:class:`~tribute.composition.Controls` and :class:`~tribute.composition.ComposeConfig` exactly
as ``tribute.cli.compose.run`` turns the flags — the same parsers, so the same messages
("--tempo must be between 20 and 320 bpm, got 400").

The differences from the CLI are the server's: files are upload ids (``primer``,
``chords_from``), corpora for the guard are corpus ids, the output name must be a plain file
stem, and a request asks for at most :data:`MAX_SONGS` songs (each one also renders audio,
stems and a score: ~5 s of CPU per 16-bar song on 2 cores).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields
from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator

from tribute.errors import TributeError
from tribute.studio.catalog import Catalog, ModelEntry
from tribute.studio.errors import BadRequest
from tribute.studio.uploads import Uploads

MAX_SONGS = 16
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,39}")


class _Form(BaseModel):
    """Empty text fields of an HTML form count as not given."""

    model_config = ConfigDict(extra="forbid", protected_namespaces=())

    @field_validator("*", mode="before")
    @classmethod
    def _blank_is_none(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value


class ComposeRequest(_Form):
    """Every ``tribute compose`` option the studio offers (None: the library's default)."""

    model: str
    style: str | None = None
    n: int | None = None
    bars: int | None = None
    form: str | None = None
    vary_repeats: bool | None = None
    tempo: float | None = None
    key: str | None = None
    time: str | None = None
    instruments: str | None = None
    chords: str | None = None
    chords_from: str | None = None  # upload id
    density: str | None = None
    primer: str | None = None  # upload id
    seed: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    batch_size: int | None = None
    guard: bool = True
    against: list[str] | None = None  # corpus ids
    max_retries: int | None = None
    name: str | None = None
    candidates: int | None = None  # only where ComposeConfig has the option


class CheckRequest(_Form):
    upload: str
    against: list[str] | None = None  # corpus ids; None: every corpus the models learned from


class EditRequest(_Form):
    """``tribute edit`` of a studio song: which bars and parts to write again."""

    bars: str | None = None  # "9-16"
    parts: str | None = None  # "bass,lead"
    seed: int | None = None
    n: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    guard: bool = True


@dataclass(frozen=True)
class ComposeSpec:
    """A validated request: the model and the library's own config objects."""

    model: ModelEntry
    controls: Any  # tribute.composition.Controls
    config: Any  # tribute.composition.ComposeConfig


def config_has(option: str) -> bool:
    """Whether this tribute's ComposeConfig has ``option`` (e.g. ``candidates``)."""
    from tribute.composition import ComposeConfig

    return option in {f.name for f in fields(ComposeConfig)}


def _given(request: BaseModel, *names: str) -> dict:
    return {n: getattr(request, n) for n in names if getattr(request, n) is not None}


def compile_compose(request: ComposeRequest, catalog: Catalog, uploads: Uploads) -> ComposeSpec:
    """The request as the CLI would build it; a :class:`TributeError` with the CLI's message."""
    from tribute.composition import (
        ComposeConfig,
        Controls,
        parse_instruments,
        parse_tempo,
        parse_time_signature,
    )
    from tribute.composition.controls import (
        chords_of_song,
        parse_chords,
        parse_density,
        parse_form_request,
        require_forms,
    )
    from tribute.modeldir import resolve_style

    entry = catalog.model(request.model)
    if request.n is not None and not 1 <= request.n <= MAX_SONGS:
        raise BadRequest(f"-n: the studio composes 1 to {MAX_SONGS} songs a job, got {request.n}")
    if request.name is not None and not NAME.fullmatch(request.name):
        raise BadRequest("--name: letters, digits, - and _ only (it names the song's files)")
    if request.chords and request.chords_from:
        raise BadRequest("give either --chords or --chords-from, not both")
    if request.candidates is not None and not config_has("candidates"):
        raise BadRequest("--candidates: this tribute's composer has no such option")
    form, learned = parse_form_request(request.form, request.bars)
    if learned and request.form is not None:
        require_forms(entry.path, request.model)
    chords = (
        chords_of_song(str(uploads.path(request.chords_from)), sum(s.bars for s in form))
        if request.chords_from
        else parse_chords(request.chords, form)
    )
    controls = Controls(
        form=form,
        tempo_qpm=parse_tempo(request.tempo),
        time_signature=parse_time_signature(request.time),
        instruments=parse_instruments(request.instruments),
        chords=chords,
        density=parse_density(request.density),
        learned_form=learned,
        **_given(request, "key", "temperature", "top_p", "vary_repeats"),
    )
    against = tuple(str(catalog.corpus(c).path) for c in request.against or [])
    primer = str(uploads.path(request.primer)) if request.primer else None
    config = ComposeConfig(
        guard=request.guard,
        against=against or None,
        primer=primer,
        **_given(request, "n", "style", "seed", "batch_size", "max_retries", "name", "candidates"),
    )
    resolve_style(catalog.tokenizer(entry.id), config.style, entry.record.style)
    return ComposeSpec(entry, controls, config)


def check_corpora(request: CheckRequest, catalog: Catalog) -> list[str]:
    """Corpus folders to check against: those asked for, else every corpus on disk."""
    if request.against:
        return [str(catalog.corpus(c).path) for c in request.against]
    present = [str(c.path) for c in catalog.corpora.values() if c.present]
    if not present:
        raise BadRequest("no corpus to check against: the models' training corpora are missing")
    return present


def describe(request: ComposeRequest) -> str:
    """A one-line title for the job list: "bach · verse:8 chorus:8 · 120 bpm · seed 3"."""
    shape = request.form or f"{request.bars or 16} bars"
    bits = [request.model, shape]
    bits += [f"{request.tempo:g} bpm"] if request.tempo else []
    bits += [request.key] if request.key else []
    bits += [f"{request.n} songs"] if request.n and request.n > 1 else []
    bits += [f"seed {request.seed if request.seed is not None else 0}"]
    return " · ".join(bits)


def one_line(exc: Exception) -> str:
    """A library error as the CLI prints it (first line only)."""
    text = str(exc).strip() or type(exc).__name__
    return (
        text.splitlines()[0] if isinstance(exc, TributeError) else f"{type(exc).__name__}: {text}"
    )
