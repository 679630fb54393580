"""The forms of a corpus's songs (:mod:`tribute.music.form`), written beside a model as
``forms.json`` by fine-tuning, so that ``compose`` can give a new song the form of one of the
artist's songs (``--form learned``, the default when the model has forms)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from tribute.music.form import Form, bar_signatures, find_form, fit_form
from tribute.music.song import Song
from tribute.paths import atomic_write_text

FORMS_FILE = "forms.json"
NEAR = 0.25  # a form is drawn among songs whose length is within this share of the asked


def song_form(song: Song) -> Form:
    """The form of a song, from its lead track's bars (every pitched track without one)."""
    lead = song.meta.lead_track
    return find_form(bar_signatures(song.score, None if lead is None else [lead]))


def write_forms(folder: str | Path, songs: Iterable[Song]) -> int:
    """Record the forms of a model's training songs; the number recorded."""
    forms = [{"song": s.meta.id, "form": [list(x) for x in song_form(s)]} for s in songs]
    atomic_write_text(Path(folder) / FORMS_FILE, json.dumps({"forms": forms}, indent=0) + "\n")
    return len(forms)


def read_forms(folder: str | Path) -> list[tuple[str, Form]] | None:
    """(song id, form) of each training song, or None when the model has no forms file."""
    path = Path(folder) / FORMS_FILE
    if not path.is_file():
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    return [(f["song"], [(str(n), int(b)) for n, b in f["form"]]) for f in data["forms"]]


def choose_form(forms: list[tuple[str, Form]], bars: int, seed: int) -> tuple[str, Form]:
    """One training song's form fitted to ``bars`` bars, drawn by ``seed`` among the songs
    within a quarter of that length when there are any, else among all; returns (song id,
    fitted form)."""
    if not forms:
        raise ValueError("no forms to choose from")
    near = [f for f in forms if abs(sum(b for _, b in f[1]) - bars) <= NEAR * bars]
    pool = near or forms
    song, form = pool[int(np.random.default_rng(seed).integers(len(pool)))]
    return song, fit_form(form, bars)
