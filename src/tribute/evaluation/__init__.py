"""Evaluation of a style model (SPEC §3.8, EVALUATION.md): is it the artist, and is it new?

::

    result = evaluate(model, artist_corpus, genre_corpus, out, n=100)   # report.md/.html/.json
    result["criteria"]  # P1–P7, each with its parts, numbers and pass / fail / not computed

Modules: :mod:`.features` (per-piece feature vectors), :mod:`.baselines` (Markov-2, interval
shuffle), :mod:`.c2st` (two-sample classifier test, acceptance), :mod:`.originality` (L, ν,
diversity against the held-out human baseline), :mod:`.metrics` (diagnostics), :mod:`.nll`
(bits per note), :mod:`.criteria` (judging P1–P7 on sets of pieces, no model needed),
:mod:`.run` (generation and the whole run), :mod:`.report`. Only :mod:`.run` and :mod:`.nll`
need torch, and only when a model is loaded.
"""

from tribute.evaluation.criteria import Criterion, Sets, Thresholds, assess
from tribute.evaluation.features import feature_matrix, piece_features
from tribute.evaluation.run import evaluate

__all__ = [
    "Criterion",
    "Sets",
    "Thresholds",
    "assess",
    "evaluate",
    "feature_matrix",
    "piece_features",
]
