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


def _cv_accuracy(x: np.ndarray, y: np.ndarray, seed: int) -> tuple[float, float]:
    """(accuracy, AUC) of one stratified 5-fold cross-validation."""
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold

    folds = StratifiedKFold(FOLDS, shuffle=True, random_state=seed)
    scores = np.zeros(len(y))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for train, test in folds.split(x, y):
            model = _classifier().fit(x[train], y[train])
            scores[test] = model.decision_function(x[test])
    return float(((scores > 0) == (y == 1)).mean()), float(roc_auc_score(y, scores))


def _balanced(a: np.ndarray, b: np.ndarray, rng: np.random.Generator):
    m = min(len(a), len(b))
    a = a[rng.choice(len(a), m, replace=False)]
    b = b[rng.choice(len(b), m, replace=False)]
    return np.vstack([a, b]), np.r_[np.ones(m), np.zeros(m)]


def c2st(
    a: np.ndarray, b: np.ndarray, repeats: int = 5, permutations: int = 0, seed: int = 0
) -> C2ST:
    """Held-out accuracy of telling feature rows ``a`` from ``b`` (and a permutation null)."""
    m = min(len(a), len(b))
    if m < MIN_PER_CLASS:
        raise ValueError(f"{m} pieces in the smaller set; the test needs {MIN_PER_CLASS}")
    rng = np.random.default_rng(seed)
    accs, aucs = [], []
    for r in range(repeats):
        x, y = _balanced(a, b, rng)
        acc, auc = _cv_accuracy(x, y, seed + r)
        accs.append(acc)
        aucs.append(auc)
    null = None
    if permutations:
        null = []
        for r in range(permutations):
            x, y = _balanced(a, b, rng)
            null.append(_cv_accuracy(x, rng.permutation(y), seed + 1_000 + r)[0])
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
