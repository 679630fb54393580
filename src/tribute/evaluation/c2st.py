"""Classifier two-sample test and style acceptance (docs/evaluation.md §2B–C).

C2ST (Lopez-Paz & Oquab 2017): train a classifier to tell two sets of pieces apart; held-out
accuracy near 0.5 means the sets are indistinguishable. L2 logistic regression on standardized
features, stratified 5-fold cross-validation repeated with fresh folds; the larger set is
subsampled to the smaller one in every repeat, so 0.5 is always chance. The null distribution
comes from the same pieces with their labels permuted, at the same n (with 20 vs 20 pieces,
chance alone reaches ~0.65; with 100 vs 100, ~0.58).

Acceptance: a target-vs-genre classifier's rate of accepting pieces as the target's.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

FOLDS = 5
MIN_PER_CLASS = 10  # below this, 5-fold accuracy is noise: the test is not computed


def _classifier(balanced: bool = False):
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    # liblinear: 10x faster than lbfgs on a few hundred pieces × ~100 features, same optimum.
    return make_pipeline(
        StandardScaler(),
        LogisticRegression(
            C=1.0,
            solver="liblinear",
            max_iter=1000,
            random_state=0,
            class_weight="balanced" if balanced else None,
        ),
    )


@dataclass
class C2ST:
    accuracy: float
    accuracy_std: float
    auc: float
    n_per_class: int
    repeats: int
    null: list[float] | None = None

    @property
    def null_p95(self) -> float | None:
        return float(np.percentile(self.null, 95)) if self.null else None

    @property
    def p_value(self) -> float | None:
        if not self.null:
            return None
        return float((1 + sum(v >= self.accuracy for v in self.null)) / (1 + len(self.null)))

    def to_json(self) -> dict:
        return {
            "accuracy": round(self.accuracy, 4),
            "accuracy_std": round(self.accuracy_std, 4),
            "auc": round(self.auc, 4),
            "n_per_class": self.n_per_class,
            "repeats": self.repeats,
            "null_p95": None if self.null_p95 is None else round(self.null_p95, 4),
            "p_value": None if self.p_value is None else round(self.p_value, 4),
            "null": None if self.null is None else [round(v, 4) for v in self.null],
        }


def _cv_accuracy(
    x: np.ndarray, y: np.ndarray, seed: int, groups: np.ndarray | None = None
) -> tuple[float, float]:
    """(accuracy, AUC) of one stratified 5-fold cross-validation; with ``groups`` (excerpts of
    one song share a group), a song's excerpts never sit on both sides of a fold."""
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold

    scores = np.zeros(len(y))
    if groups is None:
        splits = StratifiedKFold(FOLDS, shuffle=True, random_state=seed).split(x, y)
    else:
        smallest = min(len(np.unique(groups[y == c])) for c in (0, 1))
        folds = StratifiedGroupKFold(min(FOLDS, smallest), shuffle=True, random_state=seed)
        splits = folds.split(x, y, groups)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for train, test in splits:
            model = _classifier().fit(x[train], y[train])
            scores[test] = model.decision_function(x[test])
    return float(((scores > 0) == (y == 1)).mean()), float(roc_auc_score(y, scores))


MIN_GROUPS = 4  # excerpt mode: songs per class, so that 4-fold grouped CV has a song to test


def _balanced(a: np.ndarray, b: np.ndarray, rng: np.random.Generator, ga=None, gb=None):
    """Rows of both sets subsampled to the smaller set's size; (x, y, groups or None)."""
    m = min(len(a), len(b))
    pick_a, pick_b = rng.choice(len(a), m, replace=False), rng.choice(len(b), m, replace=False)
    x, y = np.vstack([a[pick_a], b[pick_b]]), np.r_[np.ones(m), np.zeros(m)]
    if ga is None or gb is None:
        return x, y, None
    return x, y, np.r_[ga[pick_a], gb[pick_b] + ga.max() + 1]


def _group_permuted(y: np.ndarray, groups: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Labels permuted song by song (a song's excerpts keep one label), as the null needs."""
    labels = {g: y[groups == g][0] for g in np.unique(groups)}
    shuffled = dict(zip(labels, rng.permutation(list(labels.values())), strict=True))
    return np.array([shuffled[g] for g in groups])


def c2st(
    a: np.ndarray,
    b: np.ndarray,
    repeats: int = 5,
    permutations: int = 0,
    seed: int = 0,
    groups: tuple[np.ndarray, np.ndarray] | None = None,
) -> C2ST:
    """Held-out accuracy of telling feature rows ``a`` from ``b`` (and a permutation null).

    ``groups``: the song each row comes from, per set, when rows are excerpts of songs: folds
    keep a song's excerpts together and the null permutes whole songs."""
    m = min(len(a), len(b))
    if m < MIN_PER_CLASS:
        raise ValueError(f"{m} pieces in the smaller set; the test needs {MIN_PER_CLASS}")
    ga, gb = groups if groups is not None else (None, None)
    if ga is not None and gb is not None:
        songs = min(len(np.unique(ga)), len(np.unique(gb)))
        if songs < MIN_GROUPS:
            raise ValueError(f"{songs} songs in the smaller set; the test needs {MIN_GROUPS}")
    rng = np.random.default_rng(seed)
    accs, aucs = [], []
    for r in range(repeats):
        x, y, g = _balanced(a, b, rng, ga, gb)
        acc, auc = _cv_accuracy(x, y, seed + r, g)
        accs.append(acc)
        aucs.append(auc)
    null = None
    if permutations:
        null = []
        for r in range(permutations):
            x, y, g = _balanced(a, b, rng, ga, gb)
            permuted = rng.permutation(y) if g is None else _group_permuted(y, g, rng)
            null.append(_cv_accuracy(x, permuted, seed + 1_000 + r, g)[0])
    return C2ST(float(np.mean(accs)), float(np.std(accs)), float(np.mean(aucs)), m, repeats, null)


@dataclass
class Acceptance:
    """Rates at which a target-vs-genre classifier calls pieces the target's."""

    out_of_fold_real: float  # artist training songs, each scored by a model that never saw it
    rates: dict[str, float]  # per scored set (generated, held-out real, baselines …)
    n_target: int
    n_genre: int

    def to_json(self) -> dict:
        return {
            "out_of_fold_real": round(self.out_of_fold_real, 4),
            "rates": {k: round(v, 4) for k, v in self.rates.items()},
            "n_target": self.n_target,
            "n_genre": self.n_genre,
        }


def acceptance(
    target: np.ndarray, genre: np.ndarray, scored: dict[str, np.ndarray], seed: int = 0
) -> Acceptance:
    """Train target (1) vs genre (0); accept when P(target) > 0.5, classes weighted equally."""
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    if min(len(target), len(genre)) < FOLDS:
        raise ValueError(
            f"{len(target)} target and {len(genre)} genre songs; the classifier "
            f"needs {FOLDS} of each"
        )
    x = np.vstack([target, genre])
    y = np.r_[np.ones(len(target)), np.zeros(len(genre))]
    folds = StratifiedKFold(FOLDS, shuffle=True, random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        oof = cross_val_predict(_classifier(balanced=True), x, y, cv=folds)
        model = _classifier(balanced=True).fit(x, y)
        rates = {
            name: float(model.predict(rows).mean()) for name, rows in scored.items() if len(rows)
        }
    return Acceptance(float(oof[y == 1].mean()), rates, len(target), len(genre))
