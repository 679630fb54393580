"""``tribute corpus info``: a built corpus's report as readable text."""

from __future__ import annotations

from tribute.corpus.store import Corpus

MAX_LISTED = 40  # skipped files listed in full in report.json; the text shows the first ones


def info_text(corpus: Corpus, all_skipped: bool = False) -> str:
    report = corpus.report()
    lines = [
        f"corpus {corpus.path}: {len(corpus)} pieces in "
        f"{report.get('families', '?')} families, from {report.get('files', '?')} files"
    ]
    splits = report.get("splits", {})
    if splits:
        lines.append(
            "splits: "
            + ", ".join(
                f"{name} {v['pieces']} pieces / {v['families']} families"
                for name, v in splits.items()
            )
        )
    duration = report.get("duration_s")
    if duration:
        lines.append(
            f"duration: {duration['total'] / 3600:.1f} h in all, median "
            f"{duration['median']:.0f} s, longest {duration['max']:.0f} s"
        )
    if report.get("formats"):
        lines.append("formats: " + _counts(report["formats"]))
    if report.get("roles"):
        lines.append("tracks by role: " + _counts(report["roles"]))
    if report.get("tracks_per_piece"):
        lines.append("tracks per piece: " + _counts(report["tracks_per_piece"]))
    for key, values in report.get("labels", {}).items():
        lines.append(
            f"label {key}: "
            + _counts(dict(list(values.items())[:12]))
            + (" …" if len(values) > 12 else "")
        )
    lines.append(
        f"warnings: {report.get('with_warnings', 0)} pieces with a capped value; "
        f"cache hits: {report.get('cache_hits', 0)}; "
        f"build time: {report.get('build_seconds', 0):.1f} s"
    )
    for key, title in (
        ("duplicates", "exact duplicates (dropped)"),
        ("excluded", "excluded: same family as a piece of another corpus"),
        ("skipped", "skipped"),
        ("ignored", "ignored (not music files)"),
    ):
        entries = report.get(key, [])
        if not entries:
            continue
        lines.append(f"{title}: {len(entries)}")
        shown = entries if all_skipped else entries[:MAX_LISTED]
        for entry in shown:
            detail = entry.get("reason") or f"duplicate of {entry.get('duplicate_of')}"
            lines.append(f"  {entry['source']}: {detail}")
        if len(shown) < len(entries):
            lines.append(f"  … {len(entries) - len(shown)} more in {corpus.path / 'report.json'}")
    if report.get("not_selected"):
        lines.append(f"not selected (--max-pieces): {report['not_selected']}")
    return "\n".join(lines)


def _counts(values: dict) -> str:
    return ", ".join(f"{k} {v}" for k, v in values.items())
