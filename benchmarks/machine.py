"""What every benchmark records beside its results: the machine, the versions, the load."""

from __future__ import annotations

import json
import os
import platform
import re
from importlib.metadata import version
from pathlib import Path


def machine(**extra) -> dict:
    """Platform, CPU model, visible/usable cores and Python, plus any ``extra`` facts."""
    cpu = "unknown"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        found = re.search(r"model name\s*:\s*(.+)", cpuinfo.read_text())
        cpu = found.group(1).strip() if found else cpu
    return {
        "platform": platform.platform(),
        "cpu": cpu,
        "cores_visible": os.cpu_count(),
        "cores_usable": len(os.sched_getaffinity(0)),
        "python": platform.python_version(),
        **extra,
    }


def versions(*packages: str) -> dict:
    return {p: version(p) for p in packages}


def keep_run(path: Path, result: dict) -> list[dict]:
    """Add ``result`` to the runs recorded in ``path`` (a run of the same label replaces the
    old one) and return them all, oldest first."""
    runs = json.loads(path.read_text()) if path.is_file() else []
    runs = [r for r in runs if r.get("label") != result.get("label")] + [result]
    path.write_text(json.dumps(runs, indent=1) + "\n")
    return runs
