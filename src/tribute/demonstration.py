"""``tribute demo``: the whole pipeline on built-in data, on a laptop CPU.

The second training of the system we model, on a laptop CPU: the built-in base model (pretrained
by ``tribute pretrain`` on the music21 corpus without the Bach chorales; see its model card) →
full fine-tuning on 50 Bach chorales chosen by melody family → compose four pieces with the
originality guard → render audio, score and piano roll → ``evaluate --quick`` → a summary. A
small genre sample (Bach chorale families excluded) is built for the guard and the evaluation.

``from_scratch`` keeps the whole path on this machine instead: a genre corpus → pretrain a model
for a few minutes → fine-tune it (far weaker music: a few minutes of pretraining against hours).

Each stage records itself in ``OUT/demo.json`` when it completes; an interrupted demo run again
with the same ``--out`` skips finished stages and resumes training from its last checkpoint.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from tribute.builtin import BASE
from tribute.errors import TributeError
from tribute.paths import atomic_write_text

STATE_FILE = "demo.json"


@dataclass(frozen=True)
class DemoConfig:
    """Sizes of the demo; ``quick`` keeps it within ~2 minutes on 2 cores."""

    quick: bool = False
    from_scratch: bool = False  # pretrain here instead of fine-tuning the built-in base
    base: str = BASE
    artist_files: int | None = None  # chorale files read (None: all 410)
    artist_pieces: int = 50
    genre_sources: str = "music21:renaissance"  # Palestrina, Josquin, Monteverdi, trecento …
    genre_files: int = 240  # seeded sample of the genre files (MusicXML/kern parse ~0.5 s each)
    preset: str = "small"  # from scratch
    seq_len: int = 512  # a whole chorale with its chord tokens (~400–500 tokens) per window
    pretrain_steps: int = 200  # from scratch: ~1.5 s per step for small at 8 × 256 on 2 cores
    finetune_epochs: float = 8.0  # early-stopped (patience 2)
    finetune_lr: float = 3e-4
    songs: int = 4
    bars: int = 16
    evaluate_n: int = 32
    seed: int = 0

    @classmethod
    def for_run(cls, quick: bool, from_scratch: bool = False) -> DemoConfig:
        if not quick:
            if from_scratch:  # the first wave's path: a small model's window, 3 epochs
                return cls(from_scratch=True, seq_len=256, finetune_epochs=3.0)
            return cls()
        return cls(
            quick=True,
            from_scratch=from_scratch,
            artist_files=70,
            artist_pieces=30,
            genre_sources="music21:monteverdi+josquin",
            genre_files=30,
            preset="tiny",
            seq_len=128 if from_scratch else 256,
            pretrain_steps=40,
            finetune_epochs=1.0,
            finetune_lr=2e-3 if from_scratch else 3e-4,
            songs=2,
            bars=8,
            evaluate_n=10,  # the two-sample test needs 10 pieces a side
        )

    @property
    def stages(self) -> tuple[str, ...]:
        trained = ("pretrain", "finetune") if self.from_scratch else ("finetune",)
        return ("corpora", *trained, "compose", "render", "evaluate")


def demo(
    out: str | Path = "runs/demo", quick: bool = False, from_scratch: bool = False, log=print
) -> dict:
    """Run (or resume) the demo in ``out``; returns the summary it prints."""
    out = Path(out)
    plan = DemoConfig.for_run(quick, from_scratch)
    state = _load_state(out, plan)
    started = time.perf_counter()

    def stage(name: str, work) -> dict:
        if name in state["done"]:
            log(f"[{name}] done earlier: skipped")
            return state["done"][name]
        log(f"[{name}] …")
        began = time.perf_counter()
        result = work() or {}
        result["seconds"] = round(time.perf_counter() - began, 1)
        state["done"][name] = result
        atomic_write_text(out / STATE_FILE, json.dumps(state, indent=1) + "\n")
        log(f"[{name}] finished in {result['seconds']:.0f} s")
        return result

    corpora = stage("corpora", lambda: _corpora(out, plan))
    if plan.from_scratch:
        stage("pretrain", lambda: _pretrain(out, plan))
    finetuned = stage("finetune", lambda: _finetune(out, plan))
    composed = stage("compose", lambda: _compose(out, plan))
    rendered = stage("render", lambda: _render(out, composed))
    evaluated = stage("evaluate", lambda: _evaluate(out, plan))
    summary = {
        "plan": asdict(plan),
        "corpora": corpora,
        "finetune": finetuned,
        "songs": composed.get("songs", []),
        "render": rendered,
        "evaluate": evaluated,
        "seconds_this_run": round(time.perf_counter() - started, 1),
        "seconds_by_stage": {k: v.get("seconds") for k, v in state["done"].items()},
    }
    atomic_write_text(out / "summary.json", json.dumps(summary, indent=1) + "\n")
    log("")
    log(summary_text(out, summary))
    return summary


# --------------------------------------------------------------------------------------------
# Stages


def _corpora(out: Path, plan: DemoConfig) -> dict:
    from tribute.corpus import BuildConfig, build

    corpora = out / "corpora"
    chorales = build(
        ["music21:bach-chorales"],
        corpora / "bach-all",
        BuildConfig(max_files=plan.artist_files, seed=plan.seed),
        progress=False,
    )
    # 50 chorales as whole melody families; their own split gives the held-out families.
    artist = build(
        ["music21:bach-chorales"],
        corpora / "bach-50",
        BuildConfig(
            max_files=plan.artist_files,
            max_pieces=plan.artist_pieces,
            fractions=(0.7, 0.15, 0.15),
            seed=plan.seed,
        ),
        progress=False,
    )
    genre = build(
        [plan.genre_sources],
        corpora / "genre",
        BuildConfig(
            max_files=plan.genre_files,
            seed=plan.seed,
            exclude_families_of=(str(artist.path), str(chorales.path)),
        ),
        progress=False,
    )
    if len(genre) == 0 or not genre.split("train"):
        raise TributeError(f"the genre corpus from {plan.genre_sources} came out empty")
    return {
        "artist": str(artist.path),
        "genre": str(genre.path),
        "artist_songs": {s: len(artist.split(s)) for s in ("train", "validation", "test")},
        "artist_families": artist.report()["families"],
        "chorales_read": len(chorales),
        "genre_songs": len(genre),
        "genre_excluded": len(genre.report()["excluded"]),
    }


def _pretrain(out: Path, plan: DemoConfig) -> dict:
    from tribute.tokens import TokenizerConfig
    from tribute.train.data import DataConfig
    from tribute.train.pretrain import PretrainConfig, default_train_config, pretrain

    target = out / "models" / "genre"
    resume = (target / "checkpoints").is_dir()
    steps = plan.pretrain_steps
    result = pretrain(
        out / "corpora" / "genre",
        target,
        PretrainConfig(
            preset=plan.preset,
            tokenizer=TokenizerConfig(vocab_size=1_000 if plan.quick else 2_000),
            data=DataConfig(augment_copies=1 if plan.quick else 3, seed=plan.seed),
            train=default_train_config(
                plan.preset,
                max_steps=steps,
                seq_len=plan.seq_len,
                eval_every=max(1, steps // 5),
                save_every=max(1, steps // 5),
                warmup_steps=max(1, steps // 10),
                seed=plan.seed,
                progress=not plan.quick,
            ),
            sample_tokens=64,
        ),
        resume=resume,
        force=not resume,
        log=_indent,
    )
    return {"model": str(target), "steps": result.steps, "val_loss": result.best_val_loss}


def _finetune(out: Path, plan: DemoConfig) -> dict:
    from tribute.modeldir import read_record
    from tribute.train.data import DataConfig
    from tribute.train.finetune import FinetuneConfig, finetune
    from tribute.train.loop import TrainConfig

    target = out / "models" / "bach"
    resume = (target / "checkpoints").is_dir()
    finetune(
        out / "models" / "genre" if plan.from_scratch else plan.base,
        out / "corpora" / "bach-50",
        target,
        FinetuneConfig(
            style="Bach",
            method="full",
            epochs=plan.finetune_epochs,
            patience=2,
            probe_songs=2 if plan.quick else 4,
            probe_tokens=64 if plan.quick else 128,
            data=DataConfig(augment_copies=1 if plan.quick else 3, seed=plan.seed),
            train=TrainConfig(
                learning_rate=plan.finetune_lr,
                seq_len=plan.seq_len,
                warmup_steps=5,
                seed=plan.seed,
                progress=not plan.quick,
            ),
        ),
        resume=resume,
        force=not resume,
        log=_indent,
    )
    record = read_record(target)
    return {
        "model": str(target),
        "base": record.base_model,
        "summary": record.summary,
        "epochs": [
            {k: h.get(k) for k in ("step", "val_loss", "probe_train_copy", "probe_heldout_copy")}
            for h in record.result["history"]
        ],
    }


def _compose(out: Path, plan: DemoConfig) -> dict:
    from tribute.composition import ComposeConfig, Controls, compose, parse_form

    records = compose(
        out / "models" / "bach",
        out / "songs",
        # No --instruments: the chorales' typical line-up, four voices a choir can sing; no
        # --form: each song takes the form of one of the chorales it learned from.
        Controls(form=parse_form(None, plan.bars), time_signature=(4, 4), learned_form=True),
        ComposeConfig(
            n=plan.songs,
            seed=plan.seed,
            batch_size=1,  # a form per batch: one song each, so each has its own
            against=(str(out / "corpora" / "bach-50"), str(out / "corpora" / "genre")),
        ),
        log=_indent,
    )
    return {
        "songs": [
            {
                "midi": str(out / "songs" / r.midi) if r.midi else None,
                "verdict": r.verdict,
                "rejected": len(r.rejected),
                "lead_run": (((r.originality or {}).get("roles") or {}).get("lead") or {}).get(
                    "length"
                ),
                "nearest": (r.nearest or [{}])[0].get("title"),
                "music_seconds": r.timings.get("music_seconds"),
            }
            for r in records
        ]
    }


def _render(out: Path, composed: dict) -> dict:
    from tribute.rendering import band_outputs, render

    midis = [s["midi"] for s in composed.get("songs", []) if s.get("midi")]
    if not midis:
        return {"outputs": [], "note": "no song passed the guard"}
    results = render(midis, out / "songs", band_outputs())
    return {
        "outputs": [o for r in results for o in r.outputs],
        "problems": [f"{r.source}: {r.error}" for r in results if r.error]
        + [w for r in results for w in r.warnings],
    }


def _evaluate(out: Path, plan: DemoConfig) -> dict:
    from tribute.evaluation import EvaluateConfig, evaluate

    report = evaluate(
        out / "models" / "bach",
        out / "corpora" / "bach-50",
        out / "corpora" / "genre",
        out / "evaluation",
        EvaluateConfig(n=plan.evaluate_n, quick=True, seed=plan.seed),
        log=_indent,
    ).to_json()
    nll = report.get("nll") or {}
    return {
        "report": str(out / "evaluation" / "report.md"),
        "criteria": {c["id"]: f"{c['status']} — {c['name']}" for c in report["criteria"]},
        "held_out_bits_per_note": {k: nll[k]["mean"] for k in ("M0", "M2") if k in nll},
        "held_out_songs": nll.get("songs"),
        "difference_ci95": (nll.get("M2-M0") or {}).get("ci95"),
    }


# --------------------------------------------------------------------------------------------


def _indent(*args, **kwargs) -> None:
    text = " ".join(str(a) for a in args)
    print(
        "    " + text.replace("\n", "\n    "),
        **{k: v for k, v in kwargs.items() if k in ("end", "flush")},
    )


def _load_state(out: Path, plan: DemoConfig) -> dict:
    path = out / STATE_FILE
    if path.is_file():
        state = json.loads(path.read_text(encoding="utf-8"))
        if state.get("plan") != asdict(plan):
            raise TributeError(
                f"{out} holds a demo run with other settings (quick="
                f"{state.get('plan', {}).get('quick')}, from_scratch="
                f"{state.get('plan', {}).get('from_scratch')}); use another --out"
            )
        return state
    if out.exists() and any(out.iterdir()):
        raise TributeError(f"{out} exists and is not a demo folder; choose another --out")
    out.mkdir(parents=True, exist_ok=True)
    return {"plan": asdict(plan), "done": {}}


def _models_line(summary: dict) -> str:
    plan = summary["plan"]
    if plan.get("from_scratch"):
        return (
            f"  models: {plan['preset']} pretrained {plan['pretrain_steps']} steps here, then "
            "fully fine-tuned on the chorales"
        )
    return f"  models: {plan['base']} (built-in base), fully fine-tuned on the chorales"


def summary_text(out: Path, summary: dict) -> str:
    corpora, tuned = summary["corpora"], summary["finetune"]
    s = tuned.get("summary", {})
    lines = [
        f"tribute demo ({'quick' if summary['plan']['quick'] else 'full'}) — {out}",
        f"  genre corpus: {corpora['genre_songs']} pieces from "
        f"{summary['plan']['genre_sources']} ({corpora['genre_excluded']} removed: shared "
        "a melody family with Bach chorales)",
        f"  artist corpus: {sum(corpora['artist_songs'].values())} Bach chorales in "
        f"{corpora['artist_families']} families (train {corpora['artist_songs']['train']}, "
        f"held out {corpora['artist_songs']['validation'] + corpora['artist_songs']['test']})",
        _models_line(summary),
    ]
    exact = summary["evaluate"].get("held_out_bits_per_note", {})
    if {"M0", "M2"} <= set(exact):
        low, high = summary["evaluate"]["difference_ci95"]
        lines.append(
            f"  held-out chorales ({summary['evaluate']['held_out_songs']} test songs): "
            f"{exact['M0']:.2f} → {exact['M2']:.2f} bits per note, genre model → Bach model "
            f"(difference 95 % CI [{low:+.2f}, {high:+.2f}])"
        )
    elif s.get("bits_per_note_before") is not None:
        lines.append(
            f"  held-out validation chorales: {s['bits_per_note_before']:.2f} → "
            f"{s['bits_per_note_after']:.2f} bits per note (genre model → Bach model)"
        )
    for song in summary["songs"]:
        lines.append(
            f"  song: {song['midi'] or '(refused)'} — {song['verdict']}, lead run "
            f"{song['lead_run'] or 'under 6'} tokens, nearest {song['nearest'] or 'none'}, "
            f"{song['rejected']} candidate(s) rejected by the guard"
        )
    lines.append(
        f"  rendered: {len(summary['render'].get('outputs', []))} files in {out / 'songs'}"
    )
    lines.append(f"  evaluation: {summary['evaluate']['report']}")
    for name, status in summary["evaluate"].get("criteria", {}).items():
        lines.append(f"    {name}: {status}")
    stages = ", ".join(
        f"{k} {v:.0f} s" for k, v in summary["seconds_by_stage"].items() if v is not None
    )
    lines.append(f"  time: {stages}")
    return "\n".join(lines)
