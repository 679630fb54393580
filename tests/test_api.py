"""The package's public API: every name resolves, and importing tribute pulls in no torch."""

from __future__ import annotations

import subprocess
import sys

import tribute


def test_public_names_resolve():
    for name in tribute.__all__:
        assert getattr(tribute, name) is not None, name
    for function in (
        "build_corpus",
        "pretrain",
        "finetune",
        "ablate",
        "compose",
        "check",
        "render",
        "evaluate",
        "demo",
    ):
        assert callable(getattr(tribute, function)), function


def test_import_is_light():
    code = "import sys, tribute, tribute.corpus, tribute.originality; print('torch' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"
