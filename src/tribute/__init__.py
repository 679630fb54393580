"""tribute: learn a genre, learn a band, write new songs in its style — checked for originality.

The Python API mirrors the CLI, one function per command; names load lazily, so
``import tribute`` stays light (no torch until a training or composing function is used)::

    tribute.build_corpus(["music21:bach-chorales"], "corpora/bach")
    tribute.pretrain("corpora/genre", "models/genre", tribute.PretrainConfig(preset="small"))
    tribute.finetune("models/genre", "corpora/bach", "models/bach", tribute.FinetuneConfig("Bach"))
    songs = tribute.compose("models/bach", "songs", tribute.Controls(), tribute.ComposeConfig())
    tribute.check(["songs/song-01.mid"], against=["corpora/bach"])
    tribute.render(["songs/song-01.mid"], "songs", tribute.RenderConfig(wav=True))
    result = tribute.evaluate("models/bach", "corpora/bach", "corpora/genre", "eval")
    tribute.demo("runs/demo", quick=True)

Each function takes a config object (``*Config``) and returns a typed result
(``TrainResult``, ``SongRecord``, ``EvaluationResult``, ``AblationResult`` …).
"""

from importlib import import_module

__version__ = "0.1.0"

_EXPORTS = {
    # name: (module, attribute)
    "Corpus": ("tribute.corpus", "Corpus"),
    "BuildConfig": ("tribute.corpus", "BuildConfig"),
    "build_corpus": ("tribute.corpus", "build"),
    "pretrain": ("tribute.train.pretrain", "pretrain"),
    "PretrainConfig": ("tribute.train.pretrain", "PretrainConfig"),
    "TrainResult": ("tribute.train.loop", "TrainResult"),
    "finetune": ("tribute.train.finetune", "finetune"),
    "FinetuneConfig": ("tribute.train.finetune", "FinetuneConfig"),
    "ablate": ("tribute.train.ablate", "ablate"),
    "AblateConfig": ("tribute.train.ablate", "AblateConfig"),
    "AblationResult": ("tribute.train.ablate", "AblationResult"),
    "compose": ("tribute.composition", "compose"),
    "Controls": ("tribute.composition", "Controls"),
    "ComposeConfig": ("tribute.composition", "ComposeConfig"),
    "SongRecord": ("tribute.composition", "SongRecord"),
    "check": ("tribute.originality", "check"),
    "Checker": ("tribute.originality", "Checker"),
    "render": ("tribute.rendering", "render"),
    "RenderConfig": ("tribute.rendering", "RenderConfig"),
    "evaluate": ("tribute.evaluation", "evaluate"),
    "EvaluateConfig": ("tribute.evaluation", "EvaluateConfig"),
    "EvaluationResult": ("tribute.evaluation", "EvaluationResult"),
    "demo": ("tribute.demonstration", "demo"),
    "load_style_model": ("tribute.modeldir", "load_style_model"),
}

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'tribute' has no attribute {name!r}")
    module, attribute = _EXPORTS[name]
    return getattr(import_module(module), attribute)
