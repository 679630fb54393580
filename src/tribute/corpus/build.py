"""``tribute corpus build``: folders, files and music21 presets in; a clean corpus out.

Steps: collect files (never following symlinked folders, never writing to a source) → ingest
each in parallel (cached by content; damaged files repaired where they can be, and listed under
``repaired``) → label → drop exact duplicates → group near-duplicate families → optionally drop
the pieces another corpus holds (exact copies, close melodies, shared titles) → optionally keep
a seeded subset of whole families → split by family → write scores, manifest and report.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path

import numpy as np
from tqdm import tqdm

from tribute.corpus import presets
from tribute.corpus.families import (
    FamilyConfig,
    assign_families,
    cross_matches,
    melody_grams,
    split_families,
)
from tribute.corpus.info import family_summary
from tribute.corpus.ingest import (
    FileResult,
    IngestConfig,
    PieceResult,
    ingest_file,
    store_results,
)
from tribute.corpus.labels import LabelRules
from tribute.corpus.readers import format_of
from tribute.corpus.store import FORMAT, FORMAT_VERSION, SPLITS, Corpus
from tribute.errors import TributeError
from tribute.music import SongMeta
from tribute.paths import atomic_write_bytes, atomic_write_text


@dataclass(frozen=True)
class BuildConfig:
    labels: LabelRules = field(default_factory=LabelRules)
    ingest: IngestConfig = field(default_factory=IngestConfig)
    families: FamilyConfig = field(default_factory=FamilyConfig)
    fractions: tuple[float, float, float] = (0.8, 0.1, 0.1)
    seed: int = 0
    max_pieces: int | None = None  # keep a seeded subset of whole families
    max_files: int | None = None  # read only a seeded sample of the files found (quick runs)
    exclude_families_of: tuple[str, ...] = ()
    workers: int | None = None  # None: all cores

    def to_json(self) -> dict:
        return {
            "labels": self.labels.to_json(),
            "ingest": asdict(self.ingest),
            "families": asdict(self.families),
            "fractions": list(self.fractions),
            "seed": self.seed,
            "max_pieces": self.max_pieces,
            "max_files": self.max_files,
            "exclude_families_of": list(self.exclude_families_of),
        }


@dataclass
class SourceFile:
    path: str
    root: str | None  # the source folder it was found under
    display: str  # how the report names it (music21 presets: "music21:bach/bwv26.6.mxl")
    collection: str | None = None  # music21 sub-corpus


def build(
    sources: Sequence[str],
    out: str | Path,
    config: BuildConfig = BuildConfig(),
    progress: bool = True,
) -> Corpus:
    """Build (or incrementally rebuild) the corpus at ``out`` from ``sources``."""
    started = time.perf_counter()
    out = Path(out)
    _check_fractions(config.fractions)
    files, ignored = collect(sources)
    _check_out(out, files, sources)
    found = len(files)
    files = _sample_files(files, config)
    others = [Corpus.open(p) for p in config.exclude_families_of]
    if not files:
        raise TributeError(
            "no music files found in "
            + ", ".join(sources)
            + (f" ({len(ignored)} other files ignored)" if ignored else "")
        )

    results = _ingest_all(files, config, progress)
    report: dict = {
        "sources": list(sources),
        "files": len(files),
        "files_found": found,
        "ignored": ignored,
        "skipped": [],
        "repaired": [],
        "duplicates": [],
        "excluded": [],
        "not_selected": 0,
    }
    metas, midis, grams = _pieces(files, results, config, report)
    report["cache_hits"] = sum(r.cached for r in results)
    metas, midis = _group_and_select(metas, midis, grams, others, config, report)
    if not metas:
        raise TributeError("no usable piece left: " + _summary(report, 0))
    splits = split_families([m.family for m in metas], config.fractions, config.seed)
    for meta, split in zip(metas, splits, strict=True):
        meta.split = split

    report.update(statistics(metas))
    report["build_seconds"] = round(time.perf_counter() - started, 3)
    _write(out, metas, midis, report, config)
    if progress:
        print(_summary(report, len(metas)))
    return Corpus.open(out)


def _sample_files(files: list[SourceFile], config: BuildConfig) -> list[SourceFile]:
    """At most ``max_files`` of the files found, a seeded sample kept in collection order."""
    if config.max_files is None or len(files) <= config.max_files:
        return files
    rng = np.random.default_rng(config.seed)
    chosen = sorted(rng.choice(len(files), size=config.max_files, replace=False))
    return [files[i] for i in chosen]


def _pieces(
    files: list[SourceFile], results: list[FileResult], config: BuildConfig, report: dict
) -> tuple[list[SongMeta], list[bytes], list[np.ndarray]]:
    """Metadata, MIDI bytes and melody n-grams of every readable piece, labelled and titled;
    unreadable files and pieces go to ``report["skipped"]`` with their reason, repaired ones
    also to ``report["repaired"]`` with what was repaired."""
    metas, midis, grams = [], [], []
    for source, result in zip(files, results, strict=True):
        if result.reason:
            report["skipped"].append({"source": source.display, "reason": result.reason})
            continue
        labels = config.labels.labels_for(
            Path(source.path), Path(source.root) if source.root else None
        )
        if source.collection:
            labels.setdefault("collection", source.collection)
        for piece in result.pieces or []:
            where = source.display + piece.part
            if piece.reason:
                report["skipped"].append({"source": where, "reason": piece.reason})
                continue
            metas.append(_piece_meta(source, piece, where, labels))
            repairs = [w for w in metas[-1].warnings if w.startswith("repaired: ")]
            if repairs:  # kept, and listed with what was repaired
                report["repaired"].append({"source": where, "reason": "; ".join(repairs)})
            midis.append(piece.midi)
            grams.append(np.frombuffer(piece.grams, dtype="<u8").astype(np.uint64))
    return metas, midis, grams


def _piece_meta(
    source: SourceFile, piece: PieceResult, where: str, labels: dict[str, str]
) -> SongMeta:
    """A piece's SongMeta: its source, the file's labels, and a title taken from a ``title``
    label, else the file's own title, else the file name."""
    meta = SongMeta.from_json(piece.meta or {})
    meta.source = where
    meta.labels = dict(labels)
    meta.title = (
        meta.labels.pop("title", "")
        or _clean_title(piece.title)
        or _title_from_path(source.path, piece.part)
    )
    return meta


def _group_and_select(
    metas: list[SongMeta],
    midis: list[bytes],
    grams: list[np.ndarray],
    others: list[Corpus],
    config: BuildConfig,
    report: dict,
) -> tuple[list[SongMeta], list[bytes]]:
    """Drop exact duplicates, give ids and families, drop the pieces ``others`` hold, keep a
    seeded subset of whole families: the pieces left and their MIDI bytes."""
    keep = _drop_exact_duplicates(metas, report)
    metas = [metas[i] for i in keep]
    midis = [midis[i] for i in keep]
    grams = [grams[i] for i in keep]
    _assign_ids(metas)
    families = assign_families(
        [m.id for m in metas], [m.title for m in metas], grams, config.families
    )
    for meta, fam in zip(metas, families, strict=True):
        meta.family = fam
    keep = _exclude_shared_families(metas, grams, others, config, report)
    keep = _select_families(metas, keep, config, report)
    return [metas[i] for i in keep], [midis[i] for i in keep]


# --------------------------------------------------------------------------------------------
# Collecting sources


def collect(sources: Sequence[str]) -> tuple[list[SourceFile], list[dict]]:
    """Music files under ``sources`` (sorted, de-duplicated by real path) and what was ignored."""
    files: list[SourceFile] = []
    ignored: list[dict] = []
    seen: set[str] = set()
    real_folders: dict[str, str] = {}

    def add(path: Path, root: Path | None, display: str, collection: str | None = None) -> None:
        try:
            real = _real_path(path, real_folders)
        except (OSError, RuntimeError):  # symlink loop
            ignored.append({"source": display, "reason": "unresolvable path (symlink loop?)"})
            return
        if real not in seen:
            seen.add(real)
            files.append(SourceFile(str(path), str(root) if root else None, display, collection))

    for source in sources:
        if presets.is_preset(source):
            root = presets.corpus_root()
            for path, folder in presets.files(source):
                add(path, None, f"music21:{path.relative_to(root)}", folder)
            continue
        path = Path(source)
        if path.is_file():
            if format_of(path) is None:
                ignored.append({"source": _show(path), "reason": "unsupported file type"})
            else:
                add(path, path.parent, _show(path))
        elif path.is_dir():
            for found, reason in _walk(path):
                if reason:
                    ignored.append({"source": _show(found), "reason": reason})
                else:
                    add(found, path, _show(found))
        elif path.is_symlink():
            raise TributeError(f"{source} is a broken symbolic link")
        else:
            raise TributeError(
                f"{source} does not exist (nor is it a music21:PRESET; presets: "
                f"{', '.join(presets.preset_names())})"
            )
    return files, ignored


def _real_path(path: Path, folders: dict[str, str]) -> str:
    """``os.path.realpath`` of a file, its folder resolved once per folder in ``folders``
    (resolving lstats every path component: ~10 system calls per file in a deep tree)."""
    if os.path.islink(path):
        return os.path.realpath(path)
    folder = os.path.dirname(os.path.abspath(path))
    if folder not in folders:
        folders[folder] = os.path.realpath(folder)
    return os.path.join(folders[folder], path.name)


def _walk(root: Path):
    """(path, reason) for every file under ``root``; reason is empty for music files.
    Symlinked folders are not followed (no loops, no escaping the source)."""
    errors: list[OSError] = []
    for folder, dirnames, filenames in os.walk(root, followlinks=False, onerror=errors.append):
        dirnames.sort()
        for name in sorted(filenames):
            path = Path(folder) / name
            if name.startswith("."):
                continue
            if format_of(path) is None:
                yield path, f"unsupported file type {path.suffix or '(none)'}"
            elif path.is_symlink() and not path.exists():
                yield path, "broken symbolic link"
            elif not path.is_file():
                yield path, "not a regular file"
            else:
                yield path, ""
    for error in errors:
        yield Path(error.filename or str(root)), f"unreadable folder: {error.strerror}"


def _show(path: Path) -> str:
    """A path as printable text even when its name is not valid UTF-8."""
    return os.fsencode(path).decode("utf-8", errors="replace")


def _check_out(out: Path, files: list[SourceFile], sources: Sequence[str]) -> None:
    resolved = out.resolve()
    for source in sources:
        if presets.is_preset(source) or not Path(source).is_dir():
            continue
        root = Path(source).resolve()
        if resolved == root or root in resolved.parents:
            raise TributeError(
                f"--out {out} is inside the source folder {source}; source "
                "folders are read-only to tribute: choose another --out"
            )
    if out.exists() and not out.is_dir():
        raise TributeError(f"--out {out} exists and is not a folder")
    if out.is_dir() and any(out.iterdir()) and not (out / "corpus.json").is_file():
        raise TributeError(
            f"--out {out} is a non-empty folder that is not a tribute corpus; "
            "choose an empty or new folder"
        )


def _check_fractions(fractions: tuple[float, float, float]) -> None:
    if len(fractions) != 3 or any(f < 0 for f in fractions) or abs(sum(fractions) - 1) > 1e-6:
        raise TributeError(
            f"split fractions must be three non-negative numbers summing to 1, got {fractions}"
        )
    if fractions[0] == 0:
        raise TributeError("the train split fraction must be above 0")


# --------------------------------------------------------------------------------------------
# Ingest in parallel


STORE_BATCH = 256  # new cache entries stored per transaction (bounds what the parent holds)
WRITE_THREADS = 4  # creating a small file is ~0.3 ms of kernel time; 4 threads: ~2.5x faster


def _ingest_all(files: list[SourceFile], config: BuildConfig, progress: bool) -> list[FileResult]:
    workers = config.workers or len(os.sched_getaffinity(0))
    work = partial(ingest_file, settings=config.ingest, store=False)
    paths = [f.path for f in files]
    bar = tqdm(total=len(paths), unit="file", desc="ingest", disable=not progress, mininterval=0.5)
    results: list[FileResult] = []
    pending: list[FileResult] = []

    def take(result: FileResult) -> None:
        results.append(result)
        bar.update()
        if result.cacheable:
            pending.append(result)
        if len(pending) >= STORE_BATCH:
            _store(pending, config)

    if workers <= 1 or len(paths) < 8:
        for path in paths:
            take(work(path))
    else:
        chunk = max(1, min(32, len(paths) // (workers * 8)))
        with ProcessPoolExecutor(max_workers=workers) as pool:
            for result in pool.map(work, paths, chunksize=chunk):
                take(result)
    _store(pending, config)
    bar.close()
    return results


def _store(pending: list[FileResult], config: BuildConfig) -> None:
    """Store the new cache entries of ``pending`` in one transaction, then let them go."""
    store_results(pending, config.ingest)
    for result in pending:
        result.header = ""
    pending.clear()


# --------------------------------------------------------------------------------------------
# De-duplication, exclusion, selection


def _drop_exact_duplicates(metas: list[SongMeta], report: dict) -> list[int]:
    first: dict[str, int] = {}
    keep = []
    for index, meta in enumerate(metas):
        if meta.content_hash in first:
            report["duplicates"].append(
                {"source": meta.source, "duplicate_of": metas[first[meta.content_hash]].source}
            )
        else:
            first[meta.content_hash] = index
            keep.append(index)
    return keep


def _assign_ids(metas: list[SongMeta]) -> None:
    for meta in metas:
        slug = re.sub(r"[^a-z0-9]+", "-", meta.title.lower()).strip("-")[:40] or "piece"
        meta.id = f"{slug}-{meta.content_hash[:10]}"


def _exclude_shared_families(
    metas: list[SongMeta],
    grams: list[np.ndarray],
    others: list[Corpus],
    config: BuildConfig,
    report: dict,
) -> list[int]:
    """Indices of pieces kept after removing every piece that another corpus also holds: an
    exact copy of one of its pieces (by content hash, even with an uninformative melody), a
    close melody or a shared specific title — direct matches, never through a chain (e.g. the
    genre corpus loses the target artist's songs and their covers, and nothing else)."""
    if not others:
        return list(range(len(metas)))
    other_metas = [m for corpus in others for m in corpus.metas]
    other_sources = [corpus.path for corpus in others for _ in corpus.metas]
    other_grams = [
        melody_grams(corpus.score(m), m.lead_track, config.ingest.ngram)
        for corpus in others
        for m in corpus.metas
    ]
    matches = cross_matches(
        [m.content_hash for m in metas],
        [m.title for m in metas],
        grams,
        [m.content_hash for m in other_metas],
        [m.title for m in other_metas],
        other_grams,
        config.families,
    )
    keep = []
    for index, meta in enumerate(metas):
        match = matches.get(index)
        if match is None:
            keep.append(index)
            continue
        other = other_metas[match.other]
        what = {
            "copy": "exact copy of",
            "melody": f"melody close to (similarity {match.similarity:.2f})",
            "title": "same title as",
        }[match.kind]
        report["excluded"].append(
            {
                "id": meta.id,
                "source": meta.source,
                "reason": f"{what} {other.title or other.id} ({other.source}, "
                f"{other_sources[match.other].name})",
                "match": match.kind,
            }
        )
    return keep


def _select_families(
    metas: list[SongMeta], keep: list[int], config: BuildConfig, report: dict
) -> list[int]:
    """At most ``max_pieces`` pieces, taken as whole families in a seeded order."""
    if config.max_pieces is None or len(keep) <= config.max_pieces:
        return keep
    by_family: dict[str, list[int]] = {}
    for index in keep:
        by_family.setdefault(metas[index].family, []).append(index)
    rng = np.random.default_rng(config.seed)
    order = list(by_family)
    rng.shuffle(order)
    chosen: list[int] = []
    for fam in order:
        if len(chosen) + len(by_family[fam]) <= config.max_pieces:
            chosen += by_family[fam]
    report["not_selected"] = len(keep) - len(chosen)
    return sorted(chosen)


# --------------------------------------------------------------------------------------------
# Statistics, writing, summary


def statistics(metas: list[SongMeta]) -> dict:
    durations = np.array([m.duration_s for m in metas]) if metas else np.zeros(1)
    roles = Counter(t.role for m in metas for t in m.tracks)
    programs = Counter(t.program for m in metas for t in m.tracks if not t.is_drum)
    labels: dict[str, Counter] = {}
    for meta in metas:
        for key, value in meta.labels.items():
            labels.setdefault(key, Counter())[value] += 1
    splits = Counter(m.split for m in metas)
    split_families = {s: len({m.family for m in metas if m.split == s}) for s in SPLITS}
    return {
        "pieces": len(metas),
        "families": len({m.family for m in metas}),
        "splits": {s: {"pieces": splits[s], "families": split_families[s]} for s in SPLITS},
        "formats": dict(Counter(m.format for m in metas)),
        "duration_s": {
            "total": round(float(durations.sum()), 1),
            "min": round(float(durations.min()), 1),
            "median": round(float(np.median(durations)), 1),
            "max": round(float(durations.max()), 1),
        },
        "tracks_per_piece": dict(sorted(Counter(len(m.tracks) for m in metas).items())),
        "roles": dict(roles.most_common()),
        "top_programs": dict(programs.most_common(10)),
        "labels": {k: dict(v.most_common(50)) for k, v in labels.items()},
        "notes": int(sum(m.n_notes for m in metas)),
        "with_warnings": sum(bool(m.warnings) for m in metas),
        **family_summary(metas),
    }


def _write(
    out: Path, metas: list[SongMeta], midis: list[bytes], report: dict, config: BuildConfig
) -> None:
    scores = out / "scores"
    scores.mkdir(parents=True, exist_ok=True)
    wanted = {f"{m.id}.mid" for m in metas}
    for stale in scores.iterdir():
        if stale.name not in wanted:
            stale.unlink() if stale.is_file() else shutil.rmtree(stale)
    with ThreadPoolExecutor(WRITE_THREADS) as pool:
        list(pool.map(_write_score, [scores / f"{m.id}.mid" for m in metas], midis))
    lines = "".join(json.dumps(m.to_json(), ensure_ascii=False) + "\n" for m in metas)
    atomic_write_text(out / "manifest.jsonl", lines)
    atomic_write_text(out / "report.json", json.dumps(report, indent=1, ensure_ascii=False))
    header = {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "config": config.to_json(),
        "counts": {k: report[k] for k in ("pieces", "families")},
    }
    atomic_write_text(out / "corpus.json", json.dumps(header, indent=1))


def _write_score(target: Path, midi: bytes) -> None:
    """Write one score unless the file already holds exactly these bytes (rebuilds)."""
    if not target.is_file() or target.stat().st_size != len(midi) or target.read_bytes() != midi:
        atomic_write_bytes(target, midi)


def _clean_title(title: str) -> str:
    """Readers sometimes report a file name as the title: drop its music-file extension."""
    title = title.strip()
    path = Path(title)
    return path.stem if format_of(path) else title


def _title_from_path(path: str, part: str) -> str:
    stem = _show(Path(Path(path).stem)).replace("_", " ").strip()
    return f"{stem} {part}".strip()


def _summary(report: dict, kept: int) -> str:
    parts = [f"{kept} pieces kept from {report['files']} files"]
    if "families" in report:
        parts.append(f"{report['families']} families")
    for key, what in (
        ("skipped", "skipped"),
        ("repaired", "repaired"),
        ("duplicates", "exact duplicates"),
        ("excluded", "excluded (held by another corpus)"),
    ):
        if report.get(key):
            parts.append(f"{len(report[key])} {what}")
    if report.get("not_selected"):
        parts.append(f"{report['not_selected']} not selected (--max-pieces)")
    if report.get("ignored"):
        parts.append(f"{len(report['ignored'])} non-music files ignored")
    if "build_seconds" in report:
        parts.append(f"{report['build_seconds']:.1f} s")
    return ", ".join(parts)
