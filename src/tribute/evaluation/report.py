"""The evaluation report: ``report.json`` (every figure), ``report.md`` and ``report.html``.

The Markdown links the plots (PNG files beside it); the HTML embeds them, so it travels as one
file. Plots (matplotlib, Agg backend): the originality distributions of generated and held-out
real pieces, the C2ST accuracy against its permutation null and the baselines, and the
Yang & Lerch feature overlaps.
"""

from __future__ import annotations

import base64
import html
import json
import math
from pathlib import Path

from tribute.paths import atomic_write_text

PLOTS = ("originality.png", "c2st.png", "overlap.png")
_MARK = {
    "pass": "✅ pass",
    "fail": "❌ fail",
    "incomplete": "⚠️ incomplete",
    "not computed": "— not computed",
}


def _json_default(value):
    if hasattr(value, "item"):
        return value.item()
    if isinstance(value, tuple | set):
        return list(value)
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


def _clean(value):
    """NaN/inf to None, so report.json is strict JSON."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


def _fmt(value, digits: int = 3) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def _table_head(*columns: str, left: int = 1) -> list[str]:
    """A Markdown table's header row and rule; the columns after the first ``left`` align right."""
    rule = ["---"] * left + ["---:"] * (len(columns) - left)
    return ["| " + " | ".join(columns) + " |", "|" + "|".join(rule) + "|"]


def _header(result: dict) -> list[str]:
    """Title, quick-run note, what was compared, and the warnings."""
    lines = [f"# Evaluation of {result.get('model', 'a style model')}", ""]
    if result.get("quick"):
        note = "few, short pieces and relaxed thresholds (see below); not a verdict on the model."
        lines += [f"**Quick run**: {note}", ""]
    lines += [
        f"Style {result.get('style') or '(none)'}; {result.get('n')} generated pieces of "
        f"{result.get('bars')} bars (temperature {result.get('temperature', 1.0)}, top-p "
        f"{result.get('top_p', 0.95)}; forms: {result.get('forms', 'one section')}); "
        f"artist corpus {result.get('artist_corpus')}, genre "
        f"corpus {result.get('genre_corpus')}; base model (M0) "
        f"{result.get('base_model') or 'none recorded'}.",
        "",
    ]
    counts = result.get("counts", {})
    splits = result.get("held_out_splits")
    held_out = f" (held-out = the artist corpus's {' ∪ '.join(splits)} splits)" if splits else ""
    lines += ["Sets: " + ", ".join(f"{k} {v}" for k, v in counts.items()) + held_out + ".", ""]
    lines += [f"> ⚠️ {warning}" for warning in result.get("warnings", [])]
    if result.get("warnings"):
        lines.append("")
    return lines


def _criteria(result: dict) -> list[str]:
    """The criteria table, then the pieces that P5 flagged as copies."""
    lines = ["## Criteria", ""]
    lines += _table_head("#", "criterion", "threshold", "result", "status", left=5)
    for c in result["criteria"]:
        parts = "<br>".join(
            f"{p['test']}: {p['value'] or p['why']} ({p['status']})" for p in c["parts"]
        )
        status = _MARK.get(c["status"], c["status"])
        lines.append(f"| {c['id']} | {c['name']} | {c['threshold']} | {parts} | {status} |")
    lines.append("")
    flagged = [f for c in result["criteria"] for f in c.get("flagged", [])]
    if flagged:
        lines += ["### Pieces flagged by P5", ""]
        for f in flagged:
            src = f.get("source") or {}
            lines.append(
                f"- {f['id']}: L = {f['L']} ({100 * f['L_rel']:.0f} % of its melody), "
                f"bars {src.get('piece_bars')} = {src.get('corpus')} song "
                f'{src.get("id")} "{src.get("title")}" bars {src.get("bars")}'
            )
        lines.append("")
    return lines


def _c2st(result: dict) -> list[str]:
    """The C2ST table against held-out real songs and the permutation null."""
    lines = ["## Two-sample classifier tests (vs held-out real songs)", ""]
    mode = result.get("c2st", {}).get("mode", {})
    if mode.get("excerpts"):
        lines += [
            f"Too few held-out songs for whole pieces: every set is cut into "
            f"{mode['excerpt_bars']}-bar excerpts, folds keep a song's excerpts together and the "
            "null permutes whole songs (n per class counts excerpts).",
            "",
        ]
    lines += _table_head("compared set", "accuracy", "±", "AUC", "n per class")
    for name, test in result.get("c2st", {}).items():
        if name == "mode":
            continue
        if "not computed" in test:
            lines.append(f"| {name} | not computed: {test['not computed']} | | | |")
        else:
            lines.append(
                f"| {name} | {_fmt(test['accuracy'])} | {_fmt(test['accuracy_std'])} | "
                f"{_fmt(test['auc'])} | {test['n_per_class']} |"
            )
    main = result.get("c2st", {}).get("generated", {})
    if main.get("null_p95") is not None:
        lines += [
            "",
            f"Permutation null ({len(main.get('null') or [])} permutations): p95 "
            f"{_fmt(main['null_p95'])}, p-value of the generated set "
            f"{_fmt(main.get('p_value'))}.",
        ]
    return lines


def _acceptance(result: dict) -> list[str]:
    acc = result.get("acceptance", {})
    if "rates" not in acc:
        return []
    rates = ", ".join(f"{k} {_fmt(v, 2)}" for k, v in acc["rates"].items())
    return [
        "",
        "## Style acceptance (target-vs-genre classifier)",
        "",
        f"Out-of-fold real artist songs accepted: {_fmt(acc['out_of_fold_real'], 2)}. "
        f"Accepted: {rates}. (Easy to fool: never read alone.)",
    ]


def _originality(result: dict) -> list[str]:
    """Longest shared run and novelty of the melodies, then of the other parts (not gated)."""
    orig = result.get("originality", {})
    lines = []
    if orig:
        lines += ["", "## Originality against artist train ∪ genre", ""]
        columns = ("median L", "mean L", "p95 L", "max L", "median ν8", "median ν12")
        lines += _table_head("set", "n", *columns)
        for name in ("generated", "held_out"):
            s = orig.get(name, {})
            lines.append(
                f"| {name} | {s.get('n')} | {_fmt(s.get('L_median'), 1)} | "
                f"{_fmt(s.get('L_mean'), 1)} | {_fmt(s.get('L_p95'), 1)} | "
                f"{_fmt(s.get('L_max'), 0)} | {_fmt(s.get('nu8_median'), 2)} | "
                f"{_fmt(s.get('nu12_median'), 2)} |"
            )
    roles = orig.get("other_roles") or {}
    if roles:
        shared = "; ".join(
            f"{name}: "
            + ", ".join(
                f"{role} median {v['L_median']:g} max {v['L_max']}" for role, v in per.items()
            )
            for name, per in roles.items()
        )
        lines += [
            "",
            "Other parts, longest run shared with R (reported, not gated: a common groove is "
            f"the genre, a shared hook is not): {shared}. Units: intervals (bass), chord "
            "changes (chords), bars (drums).",
        ]
    return lines


def _diversity(result: dict) -> list[str]:
    sets = [
        f"{k}: {d['pairs']} pairs, share sharing 16+ {_fmt(d['share'])}, mean L "
        f"{_fmt(d.get('mean_L'), 1)}"
        for k, d in (result.get("diversity") or {}).items()
    ]
    return ["", "Diversity (pairwise L within a set): " + "; ".join(sets)] if sets else []


def _likelihood(result: dict) -> list[str]:
    """Held-out bits per note of M2, and against M0 with its bootstrap interval."""
    nll = result.get("nll") or {}
    if "M2" not in nll:
        return []
    text = f"M2 {nll['M2']['mean']:.3f}"
    if "M0" in nll:
        low, high = nll["M2-M0"]["ci95"]
        text += (
            f", M0 {nll['M0']['mean']:.3f}; M2 − M0 {nll['M2-M0']['mean']:+.3f}, paired "
            f"bootstrap 95 % CI [{low:+.3f}, {high:+.3f}]"
        )
    songs = f"({nll['songs']} songs of the {nll['split']} split)"
    return ["", "## Held-out likelihood (bits per note)", "", f"{text} {songs}."]


def _ablation(result: dict) -> list[str]:
    ablation = result.get("ablation")
    if not ablation:
        return []
    lines = ["", "## Ablation", "", f"From {ablation.get('path')}:", ""]
    lines += _table_head("arm", "held-out bits/note", "steps")
    steps = ablation.get("steps") or {}
    for arm, bits in (ablation.get("bits_per_note") or {}).items():
        lines.append(f"| {arm} | {_fmt(bits.get('mean'))} | {steps.get(arm, '')} |")
    lines.append("")
    for name, diff in (ablation.get("differences") or {}).items():
        low, high = diff["ci95"]
        lines.append(f"- {name}: {diff['mean']:+.3f} bits/note, 95 % CI [{low:+.3f}, {high:+.3f}]")
    genre = ablation.get("genre_bits_per_note") or {}
    if "M0" in genre and "M2" in genre:
        lines.append(
            f"- forgetting: held-out genre bits/note M0 {genre['M0']:.3f} → M2 {genre['M2']:.3f}"
        )
    return lines


def _diagnostics(result: dict) -> list[str]:
    """The ungated metrics per set, then the Yang & Lerch feature overlaps."""
    lines = []
    diag = result.get("diagnostics", {})
    if diag:
        keys = sorted(set().union(*(d.keys() for d in diag.values())))
        sets = list(diag)
        lines += ["", "## Diagnostics (not gated)", ""]
        lines += _table_head("metric", *sets)
        for key in keys:
            lines.append(f"| {key} | " + " | ".join(_fmt(diag[s].get(key)) for s in sets) + " |")
    overlap = {k: v for k, v in result.get("feature_overlap", {}).items() if v}
    if overlap:
        lines += [
            "",
            "Feature overlap (Yang & Lerch; 1 = generated as close to real as real is to itself):",
            "",
            *_table_head("feature", "overlap", "KL"),
        ]
        lines += [f"| {k} | {v['overlap']:.3f} | {v['kl']:.3f} |" for k, v in overlap.items()]
    return lines


def _footer(result: dict) -> list[str]:
    """The plots, the thresholds used and the run time."""
    lines = ["", "## Plots", ""]
    lines += [f"![{p}]({p})" for p in PLOTS if p in result.get("plots", [])]
    t = result.get("thresholds", {})
    relaxed = " (relaxed for a quick run)" if t.get("quick") else ""
    used = ", ".join(f"{k} {v}" for k, v in t.items() if k != "quick")
    seconds = result.get("seconds", "?")
    return [*lines, "", f"Thresholds{relaxed}: {used}.", f"Run time {seconds} s.", ""]


def markdown(result: dict) -> str:
    """report.md: the sections in order, each a list of Markdown lines."""
    lines = _header(result) + _criteria(result) + _c2st(result) + _acceptance(result)
    lines += _originality(result) + _diversity(result) + _likelihood(result) + _ablation(result)
    return "\n".join(lines + _diagnostics(result) + _footer(result))


def _plot_originality(plt, orig: dict, path: Path) -> None:
    """Histograms of L and ν12, generated against held-out real pieces."""
    import numpy as np

    fig, axes = plt.subplots(1, 2, figsize=(9, 3.2))
    longest = max(
        [r["L"] for k in ("pieces", "held_out_pieces") for r in orig.get(k, [])], default=1
    )
    for name, color in (("pieces", "tab:orange"), ("held_out_pieces", "tab:blue")):
        records = orig.get(name, [])
        if not records:
            continue
        label = "generated" if name == "pieces" else "held-out real"
        style = {"density": True, "alpha": 0.6, "color": color, "label": label}
        axes[0].hist([r["L"] for r in records], bins=np.arange(longest + 2) - 0.5, **style)
        novelty = [r["nu12"] for r in records if r.get("nu12") is not None]
        if novelty:
            axes[1].hist(novelty, bins=20, range=(0, 1), **style)
    axes[0].set_xlabel("L: longest run shared with R (tokens)")
    axes[1].set_xlabel("ν12: share of new 12-grams")
    axes[0].legend()
    _save_plot(plt, fig, path)


def _plot_c2st(plt, tests: dict, path: Path) -> None:
    """Each set's C2ST accuracy against the generated set's permutation null."""
    main = tests["generated"]
    fig, ax = plt.subplots(figsize=(7, 3.2))
    if main.get("null"):
        ax.hist(main["null"], bins=15, color="lightgray", label="permutation null")
    for i, (name, test) in enumerate(tests.items()):
        if test.get("accuracy") is not None:
            label, width = f"{name} {test['accuracy']:.2f}", 2.5 if name == "generated" else 1.2
            ax.axvline(test["accuracy"], color=f"C{i}", label=label, lw=width)
    ax.set_xlim(0.2, 1.02)
    ax.set_xlabel("C2ST accuracy against held-out real songs")
    ax.legend(fontsize=7)
    _save_plot(plt, fig, path)


def _plot_overlap(plt, overlap: dict, path: Path) -> None:
    fig, ax = plt.subplots(figsize=(7, 0.3 * len(overlap) + 1))
    ax.barh(list(overlap), [v["overlap"] for v in overlap.values()], color="tab:green")
    ax.set_xlim(0, 1)
    ax.set_xlabel("overlap of intra-real and generated-real distance densities")
    _save_plot(plt, fig, path)


def _save_plot(plt, fig, path: Path) -> None:
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plots(result: dict, out: Path) -> list[str]:
    """Write the PNGs; returns the names written (none when matplotlib is missing)."""
    try:
        import matplotlib
    except ImportError:
        return []
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    written = []
    orig = result.get("originality", {})
    if orig.get("pieces") or orig.get("held_out_pieces"):
        _plot_originality(plt, orig, out / PLOTS[0])
        written.append(PLOTS[0])
    tests = result.get("c2st", {})
    if tests.get("generated", {}).get("accuracy") is not None:
        _plot_c2st(plt, tests, out / PLOTS[1])
        written.append(PLOTS[1])
    overlap = {k: v for k, v in result.get("feature_overlap", {}).items() if v}
    if overlap:
        _plot_overlap(plt, overlap, out / PLOTS[2])
        written.append(PLOTS[2])
    return written


def to_html(text: str, out: Path) -> str:
    """A small Markdown-to-HTML for the report's own constructs (tables, lists, images)."""
    body: list[str] = []
    table: list[str] = []

    def flush() -> None:
        if table:
            rows = [r for r in table if not set(r.replace("|", "").strip()) <= set("-: ")]
            raw = [r.strip().strip("|").split("|") for r in rows]
            cells = [[html.escape(c.strip()).replace("&lt;br&gt;", "<br>") for c in r] for r in raw]
            head = "".join(f"<th>{c}</th>" for c in cells[0])
            rest = "".join(
                "<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in cells[1:]
            )
            body.append(f"<table><tr>{head}</tr>{rest}</table>")
            table.clear()

    for line in text.splitlines():
        if line.startswith("|"):
            table.append(line)
            continue
        flush()
        if line.startswith("!["):
            name = line[line.index("(") + 1 : -1]
            data = base64.b64encode((out / name).read_bytes()).decode("ascii")
            body.append(
                f'<p><img alt="{html.escape(name)}" src="data:image/png;base64,{data}"></p>'
            )
        elif line.startswith("#"):
            level = len(line) - len(line.lstrip("#"))
            body.append(f"<h{level}>{html.escape(line[level:].strip())}</h{level}>")
        elif line.startswith(("- ", "> ")):
            body.append(f"<p>{html.escape(line[2:])}</p>")
        elif line.strip():
            body.append(f"<p>{html.escape(line).replace('**', '')}</p>")
    flush()
    style = (
        "body{font-family:sans-serif;max-width:70em;margin:2em auto}table{border-collapse:"
        "collapse}td,th{border:1px solid #ccc;padding:3px 6px;font-size:90%}"
    )
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>tribute evaluation"
        f"</title><style>{style}</style></head><body>{''.join(body)}</body></html>\n"
    )


def write_report(result: dict, out: str | Path) -> None:
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    result["plots"] = plots(result, out)
    atomic_write_text(
        out / "report.json",
        json.dumps(_clean(result), indent=1, ensure_ascii=False, default=_json_default) + "\n",
    )
    text = markdown(result)
    atomic_write_text(out / "report.md", text)
    atomic_write_text(out / "report.html", to_html(text, out))
