"""Best of K by style score: does keeping the most artist-like of K samples help, and does the
score track what the style tests see?

    python benchmarks/candidates_bench.py MODEL ARTIST_CORPUS GENRE_CORPUS [--n 100]
        [--k 1,4,8] [--bars 16] [--out benchmarks/candidates_bench.json]

1. **The K table**: ``tribute evaluate --candidates K`` for each K (the same number of kept
   pieces, ``--n``): C2ST accuracy (P2), acceptance, originality P4/P5 and the seconds per kept
   piece. The guard is off in evaluation, so P4/P5 show whether selection favours copies.
2. **Validity of the score** (``tribute.stylescore``), on ``--n`` plain samples (K = 1):
   - its Spearman rank correlation with a C2ST classifier's out-of-fold probability of "real"
     over held-out real and generated pieces (evaluate's features and classifier);
   - the artist percentile of each held-out real song among the *other* held-out songs
     (leave-one-out: the reference itself is those songs) — should be about uniform (mean 50,
     a small Kolmogorov–Smirnov distance from uniform);
   - the percentiles of Markov-2 and interval-shuffled songs made from the real ones
     (evaluate's baselines) — should be low.

Writes JSON (``--out``) and prints the Markdown tables for benchmarks/candidates_bench.md.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).parent))
from machine import keep_run, machine, versions

from tribute.corpus import Corpus
from tribute.evaluation import EvaluateConfig, evaluate
from tribute.evaluation.baselines import interval_shuffled, markov2_samples
from tribute.evaluation.c2st import FOLDS, _classifier
from tribute.evaluation.features import feature_matrix
from tribute.evaluation.run import artist_style, generate
from tribute.modeldir import load_style_model
from tribute.stylescore import StyleScorer


def k_row(model: str, artist: str, genre: str, out: Path, k: int, n: int, bars: int) -> dict:
    began = time.perf_counter()
    figures = evaluate(
        model,
        artist,
        genre,
        out / f"k{k}",
        EvaluateConfig(n=n, candidates=k, bars=bars),
        log=lambda *a, **kw: None,
    ).to_json()
    status = {c["id"]: c["status"] for c in figures["criteria"]}
    c2st = (figures.get("c2st") or {}).get("generated") or {}
    return {
        "k": k,
        "c2st_accuracy": c2st.get("accuracy"),
        "acceptance": ((figures.get("acceptance") or {}).get("rates") or {}).get("generated"),
        "P2": status.get("P2"),
        "P4": status.get("P4"),
        "P5": status.get("P5"),
        "seconds_per_piece": figures.get("seconds_per_piece"),
        "evaluate_seconds": round(time.perf_counter() - began, 1),
        "report": str(out / f"k{k}" / "report.md"),
    }


def leave_one_out_percentiles(diffs: np.ndarray) -> np.ndarray:
    """Each value's artist percentile among the others (the style score's own formula)."""
    out = []
    for i, bits in enumerate(diffs):
        others = np.delete(diffs, i)
        out.append(100 * ((others > bits).mean() + 0.5 * (others == bits).mean()))
    return np.asarray(out)


def validity(model_path: str, artist_path: str, n: int, bars: int) -> dict:
    from scipy.stats import kstest, spearmanr
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    style = load_style_model(model_path)
    scorer = StyleScorer.open(style)
    artist = Corpus.open(artist_path)
    held_out = list(artist.songs("test")) + list(artist.songs("validation"))
    train = list(artist.songs("train"))
    name = artist_style(style, artist, None)
    made = generate(style, name, n, bars, 0, 8, "g", lambda *a, **k: None)
    real_bits = _diffs(scorer, [s.score for s in held_out])
    made_bits = _diffs(scorer, [s.score for s in made])
    x_real, _ = feature_matrix(held_out)
    x_made, _ = feature_matrix(made)
    x = np.nan_to_num(np.vstack([x_real, x_made]))
    y = np.r_[np.ones(len(held_out)), np.zeros(len(made))]
    folds = StratifiedKFold(min(FOLDS, len(held_out)), shuffle=True, random_state=0)
    probability = cross_val_predict(
        _classifier(balanced=True), x, y, cv=folds, method="predict_proba"
    )[:, 1]
    rho = spearmanr(-np.r_[real_bits, made_bits], probability)
    loo = leave_one_out_percentiles(real_bits)
    reference = scorer.reference()
    baselines = {
        "markov2": markov2_samples(train, held_out, seed=0),
        "interval_shuffled": interval_shuffled(held_out, seed=0),
    }
    low = {}
    for label, songs in baselines.items():
        bits = _diffs(scorer, [s.score for s in songs])
        low[label] = {
            "songs": len(bits),
            "mean_artist_percentile": round(
                float(np.mean([reference.percentile(reference.artist, b) for b in bits])), 1
            ),
        }
    return {
        "spearman_style_vs_c2st_real_probability": round(float(rho.statistic), 3),
        "spearman_p": float(rho.pvalue),
        "pieces": {"held_out": len(held_out), "generated": len(made)},
        "held_out_leave_one_out_percentile": {
            "mean": round(float(loo.mean()), 1),
            "ks_distance_from_uniform": round(float(kstest(loo / 100, "uniform").statistic), 3),
        },
        "generated_mean_artist_percentile": round(
            float(np.mean([reference.percentile(reference.artist, b) for b in made_bits])), 1
        ),
        **low,
    }


def _diffs(scorer: StyleScorer, scores) -> np.ndarray:
    style, base, _ = scorer.bits(scores)
    return np.asarray(style) - np.asarray(base)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("model")
    parser.add_argument("artist_corpus")
    parser.add_argument("genre_corpus")
    parser.add_argument("--n", type=int, default=100)
    parser.add_argument("--k", default="1,4,8")
    parser.add_argument("--bars", type=int, default=16)
    parser.add_argument("--work", type=Path, default=Path("runs/candidates_bench"))
    parser.add_argument("--label", default="")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/candidates_bench.json"))
    args = parser.parse_args()
    torch.set_num_threads(1)
    began = time.perf_counter()
    rows = [
        k_row(
            args.model, args.artist_corpus, args.genre_corpus, args.work, int(k), args.n, args.bars
        )
        for k in args.k.split(",")
    ]
    result = {
        "label": args.label,
        "model": args.model,
        "n": args.n,
        "bars": args.bars,
        "k_table": rows,
        "validity": validity(args.model, args.artist_corpus, args.n, args.bars),
        "seconds": round(time.perf_counter() - began, 1),
        "machine": machine(threads=1),
        "versions": versions("torch", "transformers", "scikit-learn"),
    }
    runs = keep_run(args.out, result)
    print(table(runs))


def table(runs: list[dict]) -> str:
    fmt = lambda v: "–" if v is None else (f"{v:.2f}" if isinstance(v, float) else str(v))  # noqa: E731
    lines = [
        "| run | K | C2ST accuracy | acceptance | P2 | P4 | P5 | s per kept piece |",
        "|---|---:|---:|---:|---|---|---|---:|",
    ]
    for run in runs:
        for r in run["k_table"]:
            lines.append(
                f"| {run['label']} | {r['k']} | {fmt(r['c2st_accuracy'])} | {fmt(r['acceptance'])} "
                f"| {r['P2']} | {r['P4']} | {r['P5']} | {fmt(r['seconds_per_piece'])} |"
            )
    for run in runs:
        v = run["validity"]
        lines += [
            "",
            f"{run['label']}: Spearman(style score, C2ST P(real)) = "
            f"{v['spearman_style_vs_c2st_real_probability']:+.3f} (p = {v['spearman_p']:.2g}, "
            f"{v['pieces']['held_out']} real + {v['pieces']['generated']} generated); held-out "
            f"leave-one-out percentile mean {v['held_out_leave_one_out_percentile']['mean']:.1f} "
            f"(KS distance from uniform "
            f"{v['held_out_leave_one_out_percentile']['ks_distance_from_uniform']:.3f}); "
            f"generated {v['generated_mean_artist_percentile']:.1f}; Markov-2 "
            f"{v['markov2']['mean_artist_percentile']:.1f}; interval-shuffled "
            f"{v['interval_shuffled']['mean_artist_percentile']:.1f}",
        ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
