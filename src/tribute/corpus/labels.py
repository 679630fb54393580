"""Where a piece's labels (artist, genre, …) come from: the command line, its folder, its file
name, or a CSV/JSON manifest. Labels depend on paths, not content, so they are applied after the
(content-keyed) ingest cache."""

from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from tribute.errors import TributeError


@dataclass(frozen=True)
class LabelRules:
    fixed: dict[str, str] = field(default_factory=dict)  # --label KEY=VALUE
    from_folder: tuple[tuple[str, int], ...] = ()  # --label-from-folder KEY[:LEVEL]
    name_pattern: str | None = None  # --label-from-name "{artist}_{title}"
    manifest: dict[str, dict[str, str]] = field(default_factory=dict)  # resolved path -> labels

    def labels_for(self, path: Path, root: Path | None) -> dict[str, str]:
        """Labels of the file at ``path`` (found under source folder ``root``, if any)."""
        labels = dict(self.fixed)
        for key, level in self.from_folder:
            folder = _folder_at(path, root, level)
            if folder:
                labels[key] = folder
        if self.name_pattern:
            labels.update(match_name(self.name_pattern, path.stem))
        if self.manifest:  # resolving costs a system call per path component
            labels.update(self.manifest.get(str(path.resolve()), {}))
        return labels

    def to_json(self) -> dict:
        return {
            "fixed": self.fixed,
            "from_folder": [list(x) for x in self.from_folder],
            "name_pattern": self.name_pattern,
            "manifest_entries": len(self.manifest),
        }


def _folder_at(path: Path, root: Path | None, level: int) -> str | None:
    """Name of the folder ``level`` steps above the file (1 = its own folder), never above
    the source root the user gave."""
    parents = path.parents
    if level - 1 >= len(parents):
        return None
    folder = parents[level - 1]
    if root is not None and folder != root and root not in folder.parents:
        return None
    return folder.name or None


def parse_fixed(items: list[str]) -> dict[str, str]:
    labels = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise TributeError(f"--label expects KEY=VALUE, got {item!r}")
        labels[key.strip()] = value.strip()
    return labels


def parse_from_folder(items: list[str]) -> tuple[tuple[str, int], ...]:
    rules = []
    for item in items:
        key, _, level = item.partition(":")
        if not key or (level and not level.isdigit()) or level == "0":
            raise TributeError(
                f"--label-from-folder expects KEY or KEY:LEVEL (LEVEL ≥ 1), got {item!r}"
            )
        rules.append((key, int(level or 1)))
    return tuple(rules)


def pattern_regex(pattern: str) -> re.Pattern[str]:
    """``{artist}_{title}`` → a regex with one named group per field; the last field is greedy
    so that ``Queen_Bohemian_Rhapsody`` gives title ``Bohemian_Rhapsody``."""
    keys = re.findall(r"\{(\w+)\}", pattern)
    if not keys:
        raise TributeError(f"--label-from-name pattern {pattern!r} has no {{field}}")
    if len(set(keys)) != len(keys):
        raise TributeError(f"--label-from-name pattern {pattern!r} repeats a field")
    regex, position = "", 0
    for index, match in enumerate(re.finditer(r"\{(\w+)\}", pattern)):
        regex += re.escape(pattern[position : match.start()])
        greedy = index == len(keys) - 1
        regex += f"(?P<{match.group(1)}>.+{'' if greedy else '?'})"
        position = match.end()
    regex += re.escape(pattern[position:])
    return re.compile(f"^{regex}$")


def match_name(pattern: str, stem: str) -> dict[str, str]:
    match = pattern_regex(pattern).match(stem)
    if not match:
        return {}
    return {
        k: v.replace("_", " ").strip() if k == "title" else v.strip()
        for k, v in match.groupdict().items()
    }


def read_manifest(path: Path) -> dict[str, dict[str, str]]:
    """CSV (a ``path`` or ``file`` column plus one column per label) or JSON (a list of objects
    with the same keys). Relative paths are relative to the manifest's folder."""
    if not path.is_file():
        raise TributeError(f"manifest {path} does not exist")
    try:
        if path.suffix.lower() == ".json":
            rows = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(rows, list):
                raise TributeError(f"manifest {path} must hold a JSON list of objects")
        else:
            with open(path, newline="", encoding="utf-8-sig") as handle:
                rows = list(csv.DictReader(handle))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, csv.Error) as exc:
        raise TributeError(f"manifest {path} is unreadable: {exc}") from exc
    entries: dict[str, dict[str, str]] = {}
    for number, row in enumerate(rows, start=1):
        if not isinstance(row, dict):
            raise TributeError(f"manifest {path}: entry {number} is not an object")
        file = row.get("path") or row.get("file")
        if not file:
            raise TributeError(f"manifest {path}: entry {number} has no 'path' (or 'file')")
        resolved = (path.parent / str(file)).resolve()
        entries[str(resolved)] = {
            str(k): str(v)
            for k, v in row.items()
            if k not in ("path", "file") and v not in (None, "")
        }
    return entries
