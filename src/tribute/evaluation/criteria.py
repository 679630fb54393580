"""The pass criteria P1–P7 of docs/evaluation.md §3, judged on sets of pieces (no model needed).

:func:`assess` takes the generated pieces and the real sets, computes the baselines (Markov-2,
interval shuffle, genre pieces, M0 samples when given), the C2ST, acceptance, originality and
diversity numbers, and judges each criterion. A criterion that cannot be computed says which
part and why (too few songs, no base model …) — it never passes silently.

Each criterion has parts; its status is ``fail`` if any part fails, ``pass`` if all pass,
``incomplete`` if the computed parts pass but some could not be computed, ``not computed`` if
none could. Quick runs (32 pieces) relax the statistical thresholds, and say so.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

import numpy as np

from tribute.evaluation import c2st as c2st_mod
from tribute.evaluation.baselines import interval_shuffled, markov2_samples
from tribute.evaluation.features import feature_matrix
from tribute.evaluation.metrics import OVERLAP_FEATURES, distance_overlap, set_metrics
from tribute.evaluation.originality import (
    HARD_RUN,
    REL_FLOOR,
    Reference,
    diversity,
    piece_originality,
    role_runs,
    summary,
)
from tribute.music import Song

MIN_ORIGINALITY = 5  # pieces per set for a Mann–Whitney test


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
class Part:
    test: str
    status: str  # pass / fail / not computed
    value: str = ""
    why: str = ""


@dataclass
class Criterion:
    id: str
    name: str
    threshold: str
    parts: list[Part] = field(default_factory=list)
    numbers: dict = field(default_factory=dict)
    flagged: list[dict] = field(default_factory=list)

    @property
    def status(self) -> str:
        states = [p.status for p in self.parts]
        if not states or all(s == "not computed" for s in states):
            return "not computed"
        if "fail" in states:
            return "fail"
        return "pass" if all(s == "pass" for s in states) else "incomplete"

    def add(self, test: str, ok: bool | None, value: str = "", why: str = "") -> None:
        status = "not computed" if ok is None else ("pass" if ok else "fail")
        self.parts.append(Part(test, status, value, why))

    def to_json(self) -> dict:
        data = asdict(self)
        data["status"] = self.status
        return data


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


def wilson(rate: float, n: int, z: float = 1.96) -> tuple[float, float]:
    """95 % Wilson interval of a proportion observed on ``n`` trials."""
    if n <= 0:
        return (0.0, 1.0)
    centre = (rate + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(rate * (1 - rate) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (float(max(0.0, centre - half)), float(min(1.0, centre + half)))


def bootstrap_median_difference(
    a: Sequence[float], b: Sequence[float], samples: int = 1000, seed: int = 0
) -> tuple[float, float]:
    """95 % bootstrap interval of median(a) − median(b), resampling each set."""
    rng = np.random.default_rng(seed)
    a, b = np.asarray(a, float), np.asarray(b, float)
    diffs = np.median(a[rng.integers(0, len(a), (samples, len(a)))], axis=1) - np.median(
        b[rng.integers(0, len(b), (samples, len(b)))], axis=1
    )
    low, high = np.percentile(diffs, [2.5, 97.5])
    return float(low), float(high)


def _ci(interval: tuple[float, float], digits: int = 2) -> str:
    return f"[{interval[0]:.{digits}f}, {interval[1]:.{digits}f}]"


def _c2st_or_reason(a: np.ndarray, b: np.ndarray, what: str, **kwargs):
    try:
        return c2st_mod.c2st(a, b, **kwargs), ""
    except ValueError as exc:
        return None, f"{what}: {exc}"


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
    rng = np.random.default_rng(seed)
    log("baselines: Markov-2 and interval-shuffled held-out songs")
    markov = markov2_samples(sets.artist_train, sets.held_out, seed)
    shuffled = interval_shuffled(sets.held_out, seed)
    genre_sample = list(sets.genre)
    if len(genre_sample) > sets.genre_sample:
        picks = rng.choice(len(genre_sample), sets.genre_sample, replace=False)
        genre_sample = [genre_sample[i] for i in sorted(picks)]
    log("features")
    named = {
        "generated": sets.generated,
        "held_out": sets.held_out,
        "train": sets.artist_train,
        "genre": genre_sample,
        "genre_pieces": sets.genre_pieces,
        "markov2": markov,
        "shuffled": shuffled,
        "m0": sets.m0 or [],
    }
    feats: dict[str, np.ndarray] = {}
    names: list[str] = []
    for key, songs in named.items():
        feats[key], names_here = feature_matrix(songs)
        names = names or (names_here if len(songs) else names)
    result: dict = {
        "thresholds": asdict(thresholds),
        "counts": {k: len(v) for k, v in named.items()},
    }
    criteria = [_p1(nll, ablation)]

    log("classifier two-sample tests")
    tests: dict[str, dict] = {}
    main, why = _c2st_or_reason(
        feats["generated"],
        feats["held_out"],
        "generated vs held-out",
        repeats=repeats,
        permutations=permutations,
        seed=seed,
    )
    tests["generated"] = main.to_json() if main else {"not computed": why}
    half = len(sets.held_out) // 2
    order = rng.permutation(len(sets.held_out))
    pairs = {
        "real_vs_real": (feats["held_out"][order[:half]], feats["held_out"][order[half:]]),
        "markov2": (feats["markov2"], feats["held_out"]),
        "shuffled": (feats["shuffled"], feats["held_out"]),
        "genre_pieces": (feats["genre_pieces"], feats["held_out"]),
        "m0": (feats["m0"], feats["held_out"]),
    }
    baseline_tests = {}
    for key, (a, b) in pairs.items():
        if key == "m0" and sets.m0 is None:
            tests[key] = {"not computed": "no M0 samples (the model records no base model)"}
            continue
        test, why_b = _c2st_or_reason(a, b, key, repeats=repeats, seed=seed)
        baseline_tests[key] = test
        tests[key] = test.to_json() if test else {"not computed": why_b}
    result["c2st"] = tests
    criteria.append(_p2(main, why, baseline_tests.get("markov2"), tests["markov2"], thresholds))

    log("style acceptance")
    criteria.append(_p3(feats, sets, thresholds, result, seed))

    log("originality against artist train ∪ genre")
    ref = Reference.of([("artist", sets.artist_train), ("genre", sets.genre)])
    gen_orig = piece_originality(sets.generated, ref)
    real_orig = piece_originality(sets.held_out, ref)
    result["originality"] = {
        "generated": summary(gen_orig),
        "held_out": summary(real_orig),
        "pieces": gen_orig,
        "held_out_pieces": real_orig,
        "other_roles": role_runs(
            [("generated", sets.generated), ("held_out", sets.held_out)],
            [*sets.artist_train, *sets.genre],
        ),
    }
    criteria.append(_p4(gen_orig, real_orig, thresholds))
    criteria.append(_p5(gen_orig, real_orig, thresholds))
    criteria.append(_p6(extraction, thresholds))
    log("diversity")
    div_gen, div_real = diversity(sets.generated), diversity(sets.held_out)
    result["diversity"] = {"generated": div_gen, "held_out": div_real}
    criteria.append(_p7(div_gen, div_real, thresholds))

    log("diagnostics")
    result["diagnostics"] = {
        key: set_metrics(songs)
        for key, songs in (
            ("generated", sets.generated),
            ("held_out", sets.held_out),
            ("m0", sets.m0 or []),
            ("markov2", markov),
        )
        if songs
    }
    overlaps = {}
    for feature in OVERLAP_FEATURES:
        if feature in names and len(feats["generated"]) and len(feats["held_out"]):
            col = names.index(feature)
            overlaps[feature] = distance_overlap(
                feats["generated"][:, col], feats["held_out"][:, col]
            )
    result["feature_overlap"] = overlaps
    result["criteria"] = [c.to_json() for c in criteria]
    return result


def _p1(nll: dict | None, ablation: dict | None) -> Criterion:
    c = Criterion(
        "P1",
        "transfer",
        "M2 better than M0 and than compute-matched M1 on held-out "
        "NLL, each paired-bootstrap CI excluding 0",
    )
    if ablation and "differences" in ablation:
        for other in ("M0", "M1b"):
            diff = ablation["differences"].get(f"M2-{other}")
            if diff is None:
                c.add(f"M2 < {other} (ablation)", None, why=f"ablation.json has no M2-{other}")
                continue
            low, high = diff["ci95"]
            c.add(
                f"M2 < {other} (ablation.json)",
                high < 0,
                f"{diff['mean']:+.3f} bits/note [{low:+.3f}, {high:+.3f}]",
            )
        c.numbers["ablation"] = {
            k: ablation.get(k)
            for k in ("bits_per_note", "differences", "genre_bits_per_note", "steps")
        }
        return c
    if nll is None:
        c.add("M2 < M0", None, why="held-out likelihood not computed")
    elif "M2-M0" in nll:
        diff = nll["M2-M0"]
        low, high = diff["ci95"]
        c.add("M2 < M0", high < 0, f"{diff['mean']:+.3f} bits/note [{low:+.3f}, {high:+.3f}]")
    else:
        c.add("M2 < M0", None, why=nll.get("why", "the model records no base model (M0)"))
    c.add("M2 < compute-matched M1", None, why="not computed (run tribute ablate)")
    if nll:
        c.numbers = {k: v for k, v in nll.items() if k != "why"}
    return c


def _p2(main, why: str, markov, markov_json: dict, t: Thresholds) -> Criterion:
    c = Criterion(
        "P2",
        "style (C2ST)",
        f"accuracy ≤ max({t.c2st_max}, permutation-null p95) and "
        f"≥ {t.markov_margin} below the Markov-2 baseline",
    )
    if main is None:
        c.add("C2ST accuracy", None, why=why)
        c.add("below Markov-2", None, why=why)
        return c
    limit = max(t.c2st_max, main.null_p95 or 0.0)
    ci = wilson(main.accuracy, 2 * main.n_per_class)  # each piece is predicted once per repeat
    c.add(
        "C2ST accuracy",
        main.accuracy <= limit,
        f"{main.accuracy:.3f} (95 % CI {_ci(ci, 3)}, ± {main.accuracy_std:.3f} over repeats; "
        f"AUC {main.auc:.3f}) vs limit {limit:.3f}",
    )
    if markov is None:
        c.add("below Markov-2", None, why=markov_json.get("not computed", "no Markov-2 baseline"))
    else:
        c.add(
            "below Markov-2",
            main.accuracy <= markov.accuracy - t.markov_margin,
            f"{main.accuracy:.3f} vs Markov-2 {markov.accuracy:.3f}",
        )
    c.numbers = {
        "accuracy": main.accuracy,
        "accuracy_ci95": ci,
        "auc": main.auc,
        "limit": limit,
        "null_p95": main.null_p95,
        "p_value": main.p_value,
        "markov2": markov.accuracy if markov else None,
    }
    return c


def _p3(feats: dict, sets: Sets, t: Thresholds, result: dict, seed: int) -> Criterion:
    c = Criterion(
        "P3", "acceptance", f"generated ≥ out-of-fold real − {t.acceptance_margin}, and M2 > M0"
    )
    scored = {
        k: feats[k] for k in ("generated", "held_out", "markov2", "shuffled", "genre_pieces", "m0")
    }
    try:
        acc = c2st_mod.acceptance(feats["train"], feats["genre"], scored, seed)
    except ValueError as exc:
        why = f"acceptance classifier: {exc}"
        c.add("generated vs out-of-fold real", None, why=why)
        c.add("M2 > M0", None, why=why)
        result["acceptance"] = {"not computed": why}
        return c
    result["acceptance"] = acc.to_json()
    gen = acc.rates.get("generated")
    if gen is None:
        c.add("generated vs out-of-fold real", None, why="no generated pieces")
    else:
        c.add(
            "generated vs out-of-fold real",
            gen >= acc.out_of_fold_real - t.acceptance_margin,
            f"{gen:.2f} {_ci(wilson(gen, len(sets.generated)))} vs "
            f"{acc.out_of_fold_real:.2f} {_ci(wilson(acc.out_of_fold_real, acc.n_target))}",
        )
    if sets.m0 is None or "m0" not in acc.rates or gen is None:
        c.add("M2 > M0", None, why="no M0 samples (the model records no base model)")
    else:
        m0 = acc.rates["m0"]
        c.add("M2 > M0", gen > m0, f"{gen:.2f} vs M0 {m0:.2f} {_ci(wilson(m0, len(sets.m0)))}")
    c.numbers = acc.to_json()
    return c


def _mann_whitney(a: Sequence[float], b: Sequence[float], alternative: str) -> float:
    from scipy.stats import mannwhitneyu

    return float(mannwhitneyu(a, b, alternative=alternative).pvalue)


def _p4(gen: list[dict], real: list[dict], t: Thresholds) -> Criterion:
    c = Criterion(
        "P4",
        "originality, distribution",
        f"median L(generated) ≤ median L(real held-out) + {t.median_L_margin:g}, "
        f"one-sided Mann–Whitney p > {t.alpha}; same for ν12",
    )
    if min(len(gen), len(real)) < MIN_ORIGINALITY:
        why = (
            f"{len(gen)} generated and {len(real)} held-out real pieces; the test needs "
            f"{MIN_ORIGINALITY} of each"
        )
        for test in ("median L", "L Mann–Whitney", "ν12 Mann–Whitney"):
            c.add(test, None, why=why)
        return c
    lg, lr = [r["L"] for r in gen], [r["L"] for r in real]
    c.add(
        "median L",
        np.median(lg) <= np.median(lr) + t.median_L_margin,
        f"{np.median(lg):g} vs real {np.median(lr):g} (difference 95 % CI "
        f"{_ci(bootstrap_median_difference(lg, lr), 1)})",
    )
    p = _mann_whitney(lg, lr, "greater")
    c.add("L Mann–Whitney (generated longer)", p > t.alpha, f"p = {p:.3f}")
    ng = [r["nu12"] for r in gen if r.get("nu12") is not None]
    nr = [r["nu12"] for r in real if r.get("nu12") is not None]
    if min(len(ng), len(nr)) < MIN_ORIGINALITY:
        c.add(
            "ν12 Mann–Whitney",
            None,
            why=f"only {len(ng)} generated / {len(nr)} real pieces have 12-grams",
        )
    else:
        p12 = _mann_whitney(ng, nr, "less")
        c.add(
            "ν12 Mann–Whitney (generated less novel)",
            p12 > t.alpha,
            f"median {np.median(ng):.2f} vs real {np.median(nr):.2f}, p = {p12:.3f}",
        )
    c.numbers = {"L_median": float(np.median(lg)), "L_median_real": float(np.median(lr)), "L_p": p}
    return c


def _p5(gen: list[dict], real: list[dict], t: Thresholds) -> Criterion:
    real_max = max((r["L"] for r in real), default=0)
    limit = max(HARD_RUN, real_max)
    c = Criterion(
        "P5",
        "originality, hard",
        f"no piece with L_rel ≥ 0.5 (L ≥ {REL_FLOOR}); ≤ "
        f"{100 * t.copy_share:g} % with L ≥ max(16, max L of real held-out) = {limit}",
    )
    if not gen:
        c.add("L_rel", None, why="no generated pieces")
        return c
    half = [r for r in gen if r["L_rel"] >= 0.5 and r["L"] >= REL_FLOOR]
    long = [r for r in gen if r["L"] >= limit]
    c.add("no piece with L_rel ≥ 0.5", not half, f"{len(half)} pieces")
    c.add(
        f"share with L ≥ {limit}",
        len(long) / len(gen) <= t.copy_share,
        f"{len(long)} of {len(gen)}",
    )
    if not real:
        c.parts[-1].why = "no held-out real songs: the limit is the floor 16"
    seen = set()
    for r in half + long:
        if r["id"] not in seen:
            seen.add(r["id"])
            c.flagged.append({k: r.get(k) for k in ("id", "L", "L_rel", "source")})
    c.numbers = {"limit": limit, "real_max_L": real_max}
    return c


def _p6(extraction: dict | None, t: Thresholds) -> Criterion:
    c = Criterion(
        "P6",
        "extraction",
        f"train − held-out prefix-extraction rate ≤ {t.extraction_points:g} points",
    )
    if not extraction or extraction.get("train_rate") is None:
        why = (extraction or {}).get("why", "needs the model: prompts with 2-bar prefixes")
        c.add("train − held-out", None, why=why)
        return c
    gap = 100 * (extraction["train_rate"] - extraction["held_out_rate"])
    c.add(
        "train − held-out",
        gap <= t.extraction_points,
        f"{100 * extraction['train_rate']:.0f} % − {100 * extraction['held_out_rate']:.0f} % "
        f"= {gap:+.0f} points ({extraction['prompts']} prompts each)",
    )
    c.numbers = extraction
    return c


def _p7(gen: dict, real: dict, t: Thresholds) -> Criterion:
    c = Criterion(
        "P7",
        "diversity",
        f"generated pairs sharing ≥ {HARD_RUN} tokens no more often "
        f"than real pairs (+ {t.diversity_margin:g})",
    )
    if gen["share"] is None or real["share"] is None:
        c.add(
            "pairs sharing 16+",
            None,
            why=f"{gen['pairs']} generated / {real['pairs']} real pairs; needs 2 pieces of each",
        )
        return c
    c.add(
        "pairs sharing 16+",
        gen["share"] <= real["share"] + t.diversity_margin,
        f"{100 * gen['share']:.1f} % of {gen['pairs']} pairs vs real "
        f"{100 * real['share']:.1f} % of {real['pairs']}",
    )
    c.numbers = {"generated": gen, "held_out": real}
    return c
