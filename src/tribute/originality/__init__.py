"""Originality guard (SPEC §3.7, docs/evaluation.md §2D–E): is a song new, or a copy of a reference?

Composition::

    checker = Checker.open([artist_corpus, genre_corpus])   # index built/updated, loaded once
    report = checker.check(song)                             # per candidate, milliseconds
    report.verdict, report.lead_run, report.passages

Evaluation and fine-tuning use the plain sequence functions (:mod:`.runs`) on
:func:`melody_tokens`.
"""

from tribute.music import melody_tokens
from tribute.originality.calibration import calibrate
from tribute.originality.check import Checker, check, read_songs, song_from_score
from tribute.originality.features import OriginalityConfig, song_streams
from tribute.originality.index import OriginalityIndex
from tribute.originality.report import Report, check_song
from tribute.originality.runs import (
    Run,
    SequenceSet,
    longest_common_run,
    ngram_novelty,
    pairwise_longest_runs,
    shared_melody_run,
)
from tribute.originality.store import corpus_index, load, save

__all__ = [
    "Checker",
    "OriginalityConfig",
    "OriginalityIndex",
    "Report",
    "Run",
    "SequenceSet",
    "calibrate",
    "check",
    "check_song",
    "corpus_index",
    "load",
    "longest_common_run",
    "melody_tokens",
    "ngram_novelty",
    "pairwise_longest_runs",
    "read_songs",
    "save",
    "shared_melody_run",
    "song_from_score",
    "song_streams",
]
