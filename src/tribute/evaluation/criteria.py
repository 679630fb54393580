"""The pass criteria P1–P7 of docs/evaluation.md §3, judged on sets of pieces (no model needed).

:func:`assess` takes the generated pieces and the real sets, computes the baselines (Markov-2,
interval shuffle, genre pieces, M0 samples when given), the C2ST, acceptance, originality and
diversity numbers, and judges each criterion (the judges and their statistics live in
:mod:`tribute.evaluation.judges`). A criterion that cannot be computed says which part and why
(too few songs, no base model …) — it never passes silently.

Each criterion has parts; its status is ``fail`` if any part fails, ``pass`` if all pass,
``incomplete`` if the computed parts pass but some could not be computed, ``not computed`` if
none could. Quick runs (32 pieces) relax the statistical thresholds, and say so.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

from tribute.evaluation import c2st as c2st_mod
from tribute.evaluation.baselines import interval_shuffled, markov2_samples
from tribute.evaluation.excerpts import EXCERPT_BARS, excerpts
from tribute.evaluation.features import feature_matrix
from tribute.evaluation.judges import (
    MIN_ORIGINALITY,
    Criterion,
    Part,
    bootstrap_median_difference,
    p1_transfer,
    p2_style,
    p3_acceptance,
    p4_originality,
    p5_copies,
    p6_extraction,
    p7_diversity,
    wilson,
)
from tribute.evaluation.metrics import OVERLAP_FEATURES, distance_overlap, set_metrics
from tribute.evaluation.originality import (
    Reference,
    diversity,
    piece_originality,
    role_runs,
    summary,
)
from tribute.music import Song

__all__ = [
    "MIN_ORIGINALITY",
    "Criterion",
    "Part",
    "Sets",
    "Thresholds",
    "assess",
    "bootstrap_median_difference",
    "wilson",
]


@dataclass(frozen=True)
class Thresholds:
    """docs/evaluation.md §3; :meth:`relaxed` for quick runs."""

    c2st_max: float = 0.64  # or the permutation null's 95th percentile at this n, if higher
    markov_margin: float = 0.15  # C2ST at least this far below the Markov-2 baseline
    acceptance_margin: float = 0.10  # generated ≥ out-of-fold real − this
    median_L_margin: float = 1.0  # median L(generated) ≤ median L(real held-out) + this
    alpha: float = 0.05  # one-sided Mann–Whitney, L and ν12
    copy_share: float = 0.01  # ≤ 1 % of pieces with L ≥ max(16, max L of real held-out)
    extraction_points: float = 5.0  # train − held-out prefix-extraction rate
    diversity_margin: float = 0.0  # generated pairs sharing 16+ ≤ real pairs + this
    quick: bool = False

    def relaxed(self) -> Thresholds:
        return Thresholds(
            c2st_max=0.70,
            markov_margin=0.10,
            acceptance_margin=0.15,
            median_L_margin=2.0,
            alpha=0.01,
            copy_share=self.copy_share,
            extraction_points=10.0,
            diversity_margin=0.02,
            quick=True,
        )


@dataclass
class Sets:
    """What a style model is judged against. Songs carry SongMeta (roles, lead track)."""

    generated: Sequence[Song]
    artist_train: Sequence[Song]
    held_out: Sequence[Song]  # real artist songs the model never trained on
    genre: Sequence[Song]  # the genre corpus (R, and the acceptance classifier's negatives)
    genre_pieces: Sequence[Song] = ()  # held-out genre songs: the "genre pieces" baseline
    m0: Sequence[Song] | None = None  # samples of the genre model M0
    genre_sample: int = 400  # genre songs the acceptance classifier trains on


def assess(
    sets: Sets,
    thresholds: Thresholds = Thresholds(),
    *,
    nll: dict | None = None,
    ablation: dict | None = None,
    extraction: dict | None = None,
    repeats: int = 5,
    permutations: int = 50,
    seed: int = 0,
    log=print,
) -> dict:
    """Every figure and the judged criteria, as one JSON-ready dict."""
    # One generator, drawn in this order: the genre sample, then the real-vs-real halves.
    rng = np.random.default_rng(seed)
    log("baselines: Markov-2 and interval-shuffled held-out songs")
    named = _named_sets(sets, rng, seed)
    log("features")
    feats, names = _features(named)
    result: dict = {
        "thresholds": asdict(thresholds),
        "counts": {k: len(v) for k, v in named.items()},
    }
    p1 = p1_transfer(nll, ablation)

    log("classifier two-sample tests")
    result["c2st"], p2 = _two_sample_tests(
        feats,
        named,
        sets,
        thresholds,
        rng,
        repeats=repeats,
        permutations=permutations,
        seed=seed,
    )
    log("style acceptance")
    result["acceptance"], p3 = _acceptance(feats, sets, thresholds, seed)
    log("originality against artist train ∪ genre")
    result["originality"], p4, p5 = _originality(sets, thresholds)
    p6 = p6_extraction(extraction, thresholds)
    log("diversity")
    div_gen, div_real = diversity(sets.generated), diversity(sets.held_out)
    result["diversity"] = {"generated": div_gen, "held_out": div_real}
    p7 = p7_diversity(div_gen, div_real, thresholds)

    log("diagnostics")
    result["diagnostics"] = _diagnostics(sets, named["markov2"])
    result["feature_overlap"] = _feature_overlap(feats, names)
    result["criteria"] = [c.to_json() for c in (p1, p2, p3, p4, p5, p6, p7)]
    return result


def _named_sets(sets: Sets, rng: np.random.Generator, seed: int) -> dict[str, Sequence[Song]]:
    """Every set that gets a feature matrix: the given ones, the two baselines built from the
    held-out songs, and at most ``sets.genre_sample`` genre songs (a seeded draw)."""
    markov = markov2_samples(sets.artist_train, sets.held_out, seed)
    shuffled = interval_shuffled(sets.held_out, seed)
    genre_sample = list(sets.genre)
    if len(genre_sample) > sets.genre_sample:
        picks = rng.choice(len(genre_sample), sets.genre_sample, replace=False)
        genre_sample = [genre_sample[i] for i in sorted(picks)]
    return {
        "generated": sets.generated,
        "held_out": sets.held_out,
        "train": sets.artist_train,
        "genre": genre_sample,
        "genre_pieces": sets.genre_pieces,
        "markov2": markov,
        "shuffled": shuffled,
        "m0": sets.m0 or [],
    }


def _features(named: dict[str, Sequence[Song]]) -> tuple[dict[str, np.ndarray], list[str]]:
    """Feature matrix per set, and the feature names (from the first non-empty set)."""
    feats: dict[str, np.ndarray] = {}
    names: list[str] = []
    for key, songs in named.items():
        feats[key], names_here = feature_matrix(songs)
        names = names or (names_here if len(songs) else names)
    return feats, names


def _c2st_or_reason(a: np.ndarray, b: np.ndarray, what: str, **kwargs):
    try:
        return c2st_mod.c2st(a, b, **kwargs), ""
    except ValueError as exc:
        return None, f"{what}: {exc}"


def _two_sample_tests(
    feats: dict[str, np.ndarray],
    named: dict[str, Sequence[Song]],
    sets: Sets,
    thresholds: Thresholds,
    rng: np.random.Generator,
    *,
    repeats: int,
    permutations: int,
    seed: int,
) -> tuple[dict[str, dict], Criterion]:
    """C2ST of generated vs held-out (with its permutation null) and of each baseline vs
    held-out (without), as JSON, and P2 judged on them. With fewer held-out songs than the
    test needs pieces, every set is cut into bar-aligned excerpts scored song-grouped
    (:mod:`tribute.evaluation.excerpts`), the real-vs-real null included."""
    groups: dict[str, np.ndarray] | None = None
    excerpt_bars = None
    if len(sets.held_out) < c2st_mod.MIN_PER_CLASS:
        feats, groups, excerpt_bars = _excerpt_features(named)
    tests: dict[str, dict] = {
        "mode": {"excerpts": groups is not None, "excerpt_bars": excerpt_bars}
    }

    def grouped(*keys: str):
        return None if groups is None else tuple(groups[k] for k in keys)

    main, why = _c2st_or_reason(
        feats["generated"],
        feats["held_out"],
        "generated vs held-out",
        repeats=repeats,
        permutations=permutations,
        seed=seed,
        groups=grouped("generated", "held_out"),
    )
    tests["generated"] = main.to_json() if main else {"not computed": why}
    halves = _halves(len(sets.held_out), rng, groups["held_out"] if groups else None)
    pairs = {
        "real_vs_real": (
            feats["held_out"][halves[0]],
            feats["held_out"][halves[1]],
            None
            if groups is None
            else (groups["held_out"][halves[0]], groups["held_out"][halves[1]]),
        ),
        **{
            key: (feats[key], feats["held_out"], grouped(key, "held_out"))
            for key in ("markov2", "shuffled", "genre_pieces", "m0")
        },
    }
    baseline_tests = {}
    for key, (a, b, g) in pairs.items():
        if key == "m0" and sets.m0 is None:
            tests[key] = {"not computed": "no M0 samples (the model records no base model)"}
            continue
        test, why_b = _c2st_or_reason(a, b, key, repeats=repeats, seed=seed, groups=g)
        baseline_tests[key] = test
        tests[key] = test.to_json() if test else {"not computed": why_b}
    p2 = p2_style(main, why, baseline_tests.get("markov2"), tests["markov2"], thresholds)
    return tests, p2


def _excerpt_features(named) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], int]:
    """Excerpt features and song groups of every tested set; 8-bar excerpts, or 4 where the
    held-out songs give too few 8-bar ones for the test."""
    bars = EXCERPT_BARS
    if len(excerpts(named["held_out"], bars)[0]) < c2st_mod.MIN_PER_CLASS:
        bars = EXCERPT_BARS // 2
    feats, groups = {}, {}
    for key in ("generated", "held_out", "markov2", "shuffled", "genre_pieces", "m0"):
        cut, groups[key] = excerpts(named[key], bars)
        feats[key], _ = feature_matrix(cut)
    return feats, groups, bars


def _halves(n_songs: int, rng: np.random.Generator, groups: np.ndarray | None):
    """Row indices of two random halves of the held-out songs (whole songs per half)."""
    order = rng.permutation(n_songs)
    first, second = set(order[: n_songs // 2].tolist()), set(order[n_songs // 2 :].tolist())
    if groups is None:
        return np.array(sorted(first), dtype=np.int64), np.array(sorted(second), dtype=np.int64)
    return (
        np.flatnonzero(np.isin(groups, list(first))),
        np.flatnonzero(np.isin(groups, list(second))),
    )


def _acceptance(
    feats: dict[str, np.ndarray], sets: Sets, thresholds: Thresholds, seed: int
) -> tuple[dict, Criterion]:
    """Acceptance rates of each scored set by a classifier of artist train vs genre, and P3."""
    scored = {
        k: feats[k] for k in ("generated", "held_out", "markov2", "shuffled", "genre_pieces", "m0")
    }
    try:
        acc, why = c2st_mod.acceptance(feats["train"], feats["genre"], scored, seed), ""
    except ValueError as exc:
        acc, why = None, f"acceptance classifier: {exc}"
    figures = acc.to_json() if acc is not None else {"not computed": why}
    n_m0 = None if sets.m0 is None else len(sets.m0)
    return figures, p3_acceptance(acc, why, len(sets.generated), n_m0, thresholds)


def _originality(sets: Sets, thresholds: Thresholds) -> tuple[dict, Criterion, Criterion]:
    """Per-piece originality of generated and held-out songs against artist train ∪ genre,
    the runs of the other roles, and P4 and P5 judged on them."""
    ref = Reference.of([("artist", sets.artist_train), ("genre", sets.genre)])
    gen_orig = piece_originality(sets.generated, ref)
    real_orig = piece_originality(sets.held_out, ref)
    figures = {
        "generated": summary(gen_orig),
        "held_out": summary(real_orig),
        "pieces": gen_orig,
        "held_out_pieces": real_orig,
        "other_roles": role_runs(
            [("generated", sets.generated), ("held_out", sets.held_out)],
            [*sets.artist_train, *sets.genre],
        ),
    }
    p4 = p4_originality(gen_orig, real_orig, thresholds)
    p5 = p5_copies(gen_orig, real_orig, thresholds)
    return figures, p4, p5


def _diagnostics(sets: Sets, markov: Sequence[Song]) -> dict[str, dict]:
    """Set metrics (not judged) of every non-empty set among generated, held-out, M0, Markov-2."""
    return {
        key: set_metrics(songs)
        for key, songs in (
            ("generated", sets.generated),
            ("held_out", sets.held_out),
            ("m0", sets.m0 or []),
            ("markov2", markov),
        )
        if songs
    }


def _feature_overlap(feats: dict[str, np.ndarray], names: list[str]) -> dict:
    """Distribution overlap of generated and held-out pieces on each of OVERLAP_FEATURES."""
    overlaps = {}
    for feature in OVERLAP_FEATURES:
        if feature in names and len(feats["generated"]) and len(feats["held_out"]):
            col = names.index(feature)
            overlaps[feature] = distance_overlap(
                feats["generated"][:, col], feats["held_out"][:, col]
            )
    return overlaps
