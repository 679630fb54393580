"""Evaluation of a style model (SPEC §3.8, docs/evaluation.md): is it the artist, and is it new?

::

    result = evaluate(model, artist_corpus, genre_corpus, out, EvaluateConfig(n=100))
    result.criteria       # P1–P7, each with its parts, numbers and pass / fail / not computed
    result.status("P2")   # "pass" / "fail" / "incomplete" / "not computed"

Modules: :mod:`.alike` (one description rule for real and generated pieces), :mod:`.excerpts`
(bar-aligned excerpts when few songs are held out), :mod:`.judges` (the criteria's judgements),
:mod:`.features` (per-piece feature vectors), :mod:`.baselines` (Markov-2, interval shuffle),
:mod:`.c2st` (two-sample classifier test, acceptance), :mod:`.originality` (L, ν, diversity
against the held-out human baseline), :mod:`.metrics` (diagnostics), :mod:`.transfer` (held-out
bits per note of M2 and M0), :mod:`.criteria` (judging P1–P7 on sets of pieces, no model
needed), :mod:`.run` (generation and the whole run), :mod:`.report`. Only :mod:`.run` and
:mod:`.transfer` need torch, and only when a model is loaded.
"""

from tribute.evaluation.criteria import Criterion, Sets, Thresholds, assess
from tribute.evaluation.features import feature_matrix, piece_features
from tribute.evaluation.run import EvaluateConfig, EvaluationResult, evaluate

__all__ = [
    "Criterion",
    "EvaluateConfig",
    "EvaluationResult",
    "Sets",
    "Thresholds",
    "assess",
    "evaluate",
    "feature_matrix",
    "piece_features",
]
