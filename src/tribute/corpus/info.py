"""``tribute corpus info``: a built corpus's report as readable text.

Besides the build report it shows the family structure, computed from the manifest (so older
corpora show it too): the largest family, its size and example titles, and how many families
mix pieces of more than one ``artist`` label — a family is meant to be one song, so a family
of many artists is a sign of over-merging (one scrape once chained 647 pieces of 221 artists).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence

from tribute.corpus.store import Corpus
from tribute.music import SongMeta

MAX_LISTED = 40  # skipped files listed in full in report.json; the text shows the first ones
EXAMPLE_TITLES = 5  # titles of the largest family shown


def family_summary(metas: Sequence[SongMeta]) -> dict:
    """Largest family (name, size, example titles, artists) and family-size counts; with an
    ``artist`` label, the number of families whose pieces carry more than one artist."""
    by_family: dict[str, list[SongMeta]] = defaultdict(list)
    for meta in metas:
        by_family[meta.family].append(meta)
    if not by_family:
        return {}
    name, members = min(by_family.items(), key=lambda item: (-len(item[1]), item[0]))
    titles = sorted({m.title for m in members})
    summary: dict = {
        "largest_family": {
            "family": name,
            "pieces": len(members),
            "titles": titles[:EXAMPLE_TITLES],
            "distinct_titles": len(titles),
        },
        "family_sizes": dict(sorted(Counter(len(m) for m in by_family.values()).items())),
    }
    if any("artist" in m.labels for m in metas):
        artists = {f: {m.labels.get("artist") for m in ms} - {None} for f, ms in by_family.items()}
        summary["largest_family"]["artists"] = len(artists[name])
        summary["multi_artist_families"] = sum(len(a) > 1 for a in artists.values())
    return summary


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
    lines += _family_lines(corpus.metas)
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
        f"warnings: {report.get('with_warnings', 0)} pieces with a capped value or a repair; "
        f"cache hits: {report.get('cache_hits', 0)}; "
        f"build time: {report.get('build_seconds', 0):.1f} s"
    )
    for key, title in (
        ("repaired", "repaired (kept, with a warning)"),
        ("duplicates", "exact duplicates (dropped)"),
        ("excluded", "excluded: held by another corpus (exact copy, close melody or title)"),
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


def _family_lines(metas: Sequence[SongMeta]) -> list[str]:
    summary = family_summary(metas)
    if not summary:
        return []
    largest = summary["largest_family"]
    more = largest["distinct_titles"] - len(largest["titles"])
    titles = ", ".join(largest["titles"]) + (f" … ({more} more titles)" if more > 0 else "")
    artists = f", {largest['artists']} artists" if "artists" in largest else ""
    lines = [f"largest family: {largest['pieces']} pieces{artists} ({titles})"]
    sizes = summary["family_sizes"]
    lines.append("family sizes: " + ", ".join(f"{k}: {v}" for k, v in sizes.items()))
    if "multi_artist_families" in summary:
        lines.append(
            f"families with more than one artist: {summary['multi_artist_families']} "
            f"of {sum(sizes.values())}"
        )
    return lines


def _counts(values: dict) -> str:
    return ", ".join(f"{k} {v}" for k, v in values.items())
