"""tribute: learn a genre, learn a band, write new songs in its style — checked for originality.

The Python API mirrors the CLI; names load lazily, so ``import tribute`` stays light (no torch
until a training or composing function is used). Stages that are sub-packages of the same name
keep their function inside (``tribute.composition.compose``)::

    tribute.build_corpus(["music21:bach-chorales"], "corpora/bach")
    tribute.pretrain("corpora/genre", "models/genre", tribute.PretrainConfig(preset="small"))
    tribute.finetune("models/genre", "corpora/bach", "models/bach", tribute.FinetuneConfig("Bach"))
    tribute.composition.compose("models/bach", "songs", tribute.Controls(), tribute.ComposeConfig())
    tribute.check(["songs/song-01.mid"], against=["corpora/bach"])
    tribute.rendering.render(["songs/song-01.mid"], "songs", tribute.RenderConfig(wav=True))
    tribute.evaluation.evaluate("models/bach", "corpora/bach", "corpora/genre", "eval")
    tribute.demonstration.demo("runs/demo", quick=True)
"""

from importlib import import_module

__version__ = "0.1.0"

_EXPORTS = {
    "Corpus": "tribute.corpus",
    "BuildConfig": "tribute.corpus",
    "build_corpus": ("tribute.corpus", "build"),
    "pretrain": "tribute.train.pretrain",
    "PretrainConfig": "tribute.train.pretrain",
    "finetune": "tribute.train.finetune",
    "FinetuneConfig": "tribute.train.finetune",
    "ablate": "tribute.train.ablate",
    "Controls": "tribute.composition",
    "ComposeConfig": "tribute.composition",
    "check": "tribute.originality",
    "Checker": "tribute.originality",
    "RenderConfig": "tribute.rendering",
}

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str):
    if name in ("compose", "render", "evaluate", "demo"):  # sub-packages of the same name
        return import_module(f"tribute.{name}")
    if name not in _EXPORTS:
        raise AttributeError(f"module 'tribute' has no attribute {name!r}")
    target = _EXPORTS[name]
    module, attribute = target if isinstance(target, tuple) else (target, name)
    return getattr(import_module(module), attribute)
