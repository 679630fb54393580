"""The judges of the pass criteria P1–P7 (docs/evaluation.md §3) and the statistics they report.

Each judge takes figures already computed by :func:`tribute.evaluation.criteria.assess` (C2ST
results, acceptance rates, per-piece originality, diversity, the likelihood and extraction
files) and returns a :class:`Criterion` with its parts, numbers and flagged pieces. Judges
compute nothing expensive, so a criterion's wording and limits can be read here in one place.

Each criterion has parts; its status is ``fail`` if any part fails, ``pass`` if all pass,
``incomplete`` if the computed parts pass but some could not be computed, ``not computed`` if
none could.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from tribute.evaluation.originality import HARD_RUN, REL_FLOOR

if TYPE_CHECKING:  # criteria imports the judges; the judges only read Thresholds' fields
    from tribute.evaluation.c2st import Acceptance
    from tribute.evaluation.criteria import Thresholds

MIN_ORIGINALITY = 5  # pieces per set for a Mann–Whitney test


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
    x, y = np.asarray(a, float), np.asarray(b, float)
    diffs = np.median(x[rng.integers(0, len(x), (samples, len(x)))], axis=1) - np.median(
        y[rng.integers(0, len(y), (samples, len(y)))], axis=1
    )
    low, high = np.percentile(diffs, [2.5, 97.5])
    return float(low), float(high)


def _ci(interval: tuple[float, float], digits: int = 2) -> str:
    return f"[{interval[0]:.{digits}f}, {interval[1]:.{digits}f}]"


def p1_transfer(nll: dict | None, ablation: dict | None) -> Criterion:
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


def p2_style(main, why: str, markov, markov_json: dict, t: Thresholds) -> Criterion:
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


def p3_acceptance(
    acc: Acceptance | None, why: str, n_generated: int, n_m0: int | None, t: Thresholds
) -> Criterion:
    """P3 from the acceptance classifier's rates; ``why`` says why ``acc`` is missing.
    ``n_m0`` is None when there are no M0 samples."""
    c = Criterion(
        "P3", "acceptance", f"generated ≥ out-of-fold real − {t.acceptance_margin}, and M2 > M0"
    )
    if acc is None:
        c.add("generated vs out-of-fold real", None, why=why)
        c.add("M2 > M0", None, why=why)
        return c
    gen = acc.rates.get("generated")
    if gen is None:
        c.add("generated vs out-of-fold real", None, why="no generated pieces")
    else:
        c.add(
            "generated vs out-of-fold real",
            gen >= acc.out_of_fold_real - t.acceptance_margin,
            f"{gen:.2f} {_ci(wilson(gen, n_generated))} vs "
            f"{acc.out_of_fold_real:.2f} {_ci(wilson(acc.out_of_fold_real, acc.n_target))}",
        )
    if n_m0 is None or "m0" not in acc.rates or gen is None:
        c.add("M2 > M0", None, why="no M0 samples (the model records no base model)")
    else:
        m0 = acc.rates["m0"]
        c.add("M2 > M0", gen > m0, f"{gen:.2f} vs M0 {m0:.2f} {_ci(wilson(m0, n_m0))}")
    c.numbers = acc.to_json()
    return c


def _mann_whitney(a: Sequence[float], b: Sequence[float], alternative: str) -> float:
    from scipy.stats import mannwhitneyu

    return float(mannwhitneyu(a, b, alternative=alternative).pvalue)


def p4_originality(gen: list[dict], real: list[dict], t: Thresholds) -> Criterion:
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


def p5_copies(gen: list[dict], real: list[dict], t: Thresholds) -> Criterion:
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


def p6_extraction(extraction: dict | None, t: Thresholds) -> Criterion:
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


def p7_diversity(gen: dict, real: dict, t: Thresholds) -> Criterion:
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
