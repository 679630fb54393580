"""``tribute evaluate``: a style model against its artist's held-out songs (docs/evaluation.md).

One run: open and compare the two corpora, load the model (M2) and its base model (M0) once,
generate ``n`` pieces with each (guard off — originality is measured here) to the median
length of the held-out songs, score held-out likelihood (P1), prompt with 2-bar prefixes of
training and held-out songs (P6), then judge everything in
:func:`tribute.evaluation.criteria.assess` and write ``report.md``, ``report.html`` and
``report.json`` into ``out``.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tribute.corpus.forms import FORMS_FILE
from tribute.corpus.store import Corpus
from tribute.errors import TributeError
from tribute.evaluation.alike import alike, line_up_of, role_map
from tribute.evaluation.criteria import Sets, Thresholds, assess
from tribute.evaluation.originality import HARD_RUN, REL_FLOOR
from tribute.evaluation.transfer import find_ablation
from tribute.modeldir import model_path
from tribute.music import Meter, Song

QUICK_PIECES = 32
QUICK_MAX_BARS = 8  # quick runs generate short pieces
EXTRACTION_PROMPTS = (16, 4)  # prompts per group (training, held-out): full, quick
QUICK_CONTINUATION_BARS = 4  # bars generated after each 2-bar prompt in a quick run (full: 16)
PROMPT_BARS = 2
# Build settings that must agree between the artist and genre corpora; the rest (labels,
# fractions, seeds, workers) may differ.
COMPARED_SETTINGS = (("ingest", "normalize"), ("ingest", "ngram"), ("families",))


@dataclass(frozen=True)
class EvaluateConfig:
    """How much to generate and how strictly to judge (``tribute evaluate``'s options)."""

    n: int = 100  # pieces per model (quick: at most 32)
    quick: bool = False  # a smoke run: short pieces, relaxed thresholds (said so)
    style: str | None = None  # default: the model's own style
    bars: int | None = None  # default: the held-out songs' median length
    seed: int = 0
    batch_size: int = 8
    permutations: int | None = None  # C2ST permutation null (default 100; quick 20)
    prompts: int | None = None  # 2-bar prompts per group for P6 (default 16; quick 4)
    candidates: int = 1  # each M2 piece the best of this many by style score (no guard)
    temperature: float = 1.0  # sampling, as compose --temperature / --top-p
    top_p: float = 0.95

    def __post_init__(self) -> None:
        if self.n < 1 or self.batch_size < 1:
            raise TributeError("-n and --batch-size must be at least 1")
        if self.temperature <= 0 or not 0 < self.top_p <= 1:
            raise TributeError("--temperature must be > 0 and --top-p in (0, 1]")
        if self.candidates < 1:
            raise TributeError("--candidates must be at least 1")
        if self.bars is not None and self.bars < 1:
            raise TributeError("--bars must be at least 1")

    @property
    def pieces(self) -> int:
        return min(self.n, QUICK_PIECES) if self.quick else self.n

    def to_json(self) -> dict:
        return asdict(self)


@dataclass
class EvaluationResult:
    """Every figure of a run (what ``report.json`` holds) and the judged criteria."""

    figures: dict[str, Any]

    @property
    def criteria(self) -> list[dict]:
        return self.figures["criteria"]

    def status(self, criterion: str) -> str:
        """``"pass"``, ``"fail"``, ``"incomplete"`` or ``"not computed"`` of P1 … P7."""
        return next(c["status"] for c in self.criteria if c["id"] == criterion)

    def to_json(self) -> dict:
        return self.figures


@dataclass
class _Inputs:
    """The two corpora, the loaded models and the songs a run compares."""

    artist: Corpus
    genre: Corpus
    m2: Any  # StyleModel
    m0: Any  # StyleModel | None
    train: list[Song]
    held_out: list[Song]
    warnings: list[str]


def _quiet(*args, **kwargs) -> None:
    pass


def compare_settings(artist: Corpus, genre: Corpus) -> list[str]:
    """The build settings in which the corpora differ (empty when comparable)."""
    diffs = []
    for path in COMPARED_SETTINGS:
        a: Any = artist.config
        g: Any = genre.config
        for key in path:
            a, g = (a or {}).get(key), (g or {}).get(key)
        if a != g:
            detail = (
                ", ".join(
                    f"{k}: {a.get(k)} vs {g.get(k)}"
                    for k in sorted(set(a) | set(g))
                    if a.get(k) != g.get(k)
                )
                if isinstance(a, dict) and isinstance(g, dict)
                else f"{a} vs {g}"
            )
            diffs.append(f"{'.'.join(path)} ({detail})")
    return diffs


def artist_style(
    model, artist: Corpus, style: str | None, genre: Corpus | None = None
) -> str | None:
    """The style token to generate with: ``style``, the model's own, or a label of the artist
    corpus that the genre corpus does not share (a shared label names the genre, not the
    artist); a model that knows none of them cannot be evaluated for this artist."""
    from tribute.modeldir import resolve_style

    tokenizer = model.tokenizer
    if style or model.default_style:
        return resolve_style(tokenizer, style, model.default_style)[0]
    labels = Counter(f"{k}={v}" for m in artist.metas for k, v in m.labels.items())
    shared = {f"{k}={v}" for m in (genre.metas if genre else []) for k, v in m.labels.items()}
    for name, _ in labels.most_common():
        if name not in shared and name in tokenizer.styles:
            return name
    raise TributeError(
        f"model {model.path} has no style for artist corpus {artist.name} (its labels: "
        f"{', '.join(sorted(labels)) or 'none'}; the model knows: "
        f"{', '.join(tokenizer.styles) or 'no styles'}); fine-tune it on this corpus with "
        "`tribute finetune`, or pass --style"
    )


def genre_style(model, genre: Corpus) -> str | None:
    """M0's style for genre pieces: the genre corpus's most common known label, else none."""
    labels = Counter(f"{k}={v}" for m in genre.metas for k, v in m.labels.items())
    return next((name for name, _ in labels.most_common() if name in model.tokenizer.styles), None)


def median_bars(songs: Sequence[Song]) -> int:
    bars = []
    for song in songs:
        quarters = Meter.from_text(song.meta.time_signature).quarters_per_bar
        bars.append(song.meta.duration_beats / max(1.0, quarters))
    return max(1, round(float(np.median(bars)))) if bars else 16


def generate(
    model,
    style: str | None,
    n: int,
    bars: int,
    seed: int,
    batch_size: int,
    prefix: str,
    log=print,
    candidates: int = 1,
    temperature: float = 1.0,
    top_p: float = 0.95,
) -> list[Song]:
    """``n`` pieces of ``bars`` bars from a loaded model, as normalized Songs (roles and lead
    track as ingestion gives them); each the best of ``candidates`` by style score. Each batch
    takes the form of one of the model's training songs when it recorded them, as compose."""
    from tribute.composition import ComposeConfig, Composer, Controls, parse_form
    from tribute.originality import song_from_score

    composer = Composer.open(
        model,
        Controls(
            form=parse_form(None, bars), temperature=temperature, top_p=top_p, learned_form=True
        ),
        ComposeConfig(
            n=n,
            style=style,
            seed=seed,
            guard=False,
            batch_size=batch_size,
            candidates=candidates,
            style_score=candidates > 1,
        ),
        log=log,
    )
    songs = []
    per_call = max(1, batch_size // candidates)
    for first in range(0, n, per_call):
        seeds = list(range(seed + first, seed + min(n, first + per_call)))
        composer.draw_form(seeds[0])
        kept = composer.best_of(seeds)
        songs += [
            song_from_score(c.score, f"{prefix}-{s - seed + 1:03d}")
            for s, c in zip(seeds, kept, strict=True)
        ]
        log(f"  {prefix}: {len(songs)}/{n} pieces")
    return songs


def extraction(
    model,
    style: str | None,
    groups: dict[str, Sequence[Song]],
    bars: int,
    seed: int,
    temperature: float = 1.0,
    top_p: float = 0.95,
) -> dict:
    """Prompt with the first 2 bars of each song; the share of continuations that reproduce the
    song's own continuation (a run of 16+ tokens, or half of it in a run of 8+)."""
    from tribute.composition import ComposeConfig, Composer, Controls, Primer, parse_form

    composer = Composer.open(
        model,
        Controls(form=parse_form(None, bars), temperature=temperature, top_p=top_p),
        ComposeConfig(style=style, seed=seed, guard=False),
        log=_quiet,
    )
    rates, details = {}, {}
    for group, songs in groups.items():
        hits = []
        for song in songs:
            meter = Meter.from_text(song.meta.time_signature)
            cut = PROMPT_BARS * meter.bar_ticks(song.score.ticks_per_quarter)
            if song.score.end() <= cut + meter.bar_ticks(song.score.ticks_per_quarter):
                continue
            try:
                primer = Primer.of_score(
                    song.score.clip(0, cut, clip_end=True),
                    model.tokenizer,
                    composer.table,
                    song.meta.id,
                )
                candidate = composer.generate([seed], primer)[0][0]
            except TributeError:
                continue  # a prefix the model cannot encode (no notes in its instruments)
            hits.append(_reproduces(candidate.score, song, meter))
        rates[group] = float(np.mean(hits)) if hits else None
        details[group] = len(hits)
    if rates.get("train") is None or rates.get("held_out") is None:
        return {"why": f"too few songs of 3+ bars to prompt with ({details})"}
    return {
        "train_rate": rates["train"],
        "held_out_rate": rates["held_out"],
        "prompts": min(details.values()),
        "prompt_bars": PROMPT_BARS,
        "continuation_bars": bars,
    }


def _reproduces(made_score, song: Song, meter: Meter) -> bool:
    """Whether a continuation after a song's first bars copies the song's own continuation."""
    from tribute.originality import longest_common_run, melody_tokens, song_from_score

    made = song_from_score(made_score, f"{song.meta.id}-continued")
    made_cut = PROMPT_BARS * meter.bar_ticks(made.score.ticks_per_quarter)
    cut = PROMPT_BARS * meter.bar_ticks(song.score.ticks_per_quarter)
    ours = melody_tokens(made.score.clip(made_cut, made.score.end() + 1), made.meta.lead_track)
    theirs = melody_tokens(song.score.clip(cut, song.score.end() + 1), song.meta.lead_track)
    run = longest_common_run(ours, [theirs]).length if len(ours) else 0
    return bool(run >= HARD_RUN or (run >= REL_FLOOR and run >= 0.5 * len(ours)))


def evaluate(
    model: str | Path,
    artist: str | Path,
    genre: str | Path,
    out: str | Path,
    config: EvaluateConfig | None = None,
    *,
    log=print,
) -> EvaluationResult:
    """Evaluate a style model (docs/evaluation.md) and write the report into ``out``."""
    from tribute.evaluation.report import write_report

    config = config or EvaluateConfig()
    started = time.perf_counter()
    inputs = _open_inputs(model_path(model), artist, genre)
    m2_style = artist_style(inputs.m2, inputs.artist, config.style, inputs.genre)
    bars = config.bars or median_bars(inputs.held_out or inputs.train)
    bars = min(QUICK_MAX_BARS, bars) if config.quick and not config.bars else bars
    n = config.pieces
    log(
        f"evaluating {inputs.m2.path} ({m2_style or 'no style'}): {n} pieces of {bars} bars; "
        f"{len(inputs.train)} training and {len(inputs.held_out)} held-out artist songs, "
        f"{len(inputs.genre)} genre songs"
        + (" — quick run, relaxed thresholds" if config.quick else "")
    )
    generated, m0_songs, generation_s = _generate_sets(inputs, m2_style, n, bars, config, log)
    log("held-out likelihood (P1)")
    nll = _likelihood(inputs)
    log("prefix extraction (P6)")
    k = config.prompts if config.prompts is not None else EXTRACTION_PROMPTS[int(config.quick)]
    extracted = extraction(
        inputs.m2,
        m2_style,
        {"train": inputs.train[:k], "held_out": inputs.held_out[:k]},
        min(bars, QUICK_CONTINUATION_BARS if config.quick else 2 * QUICK_MAX_BARS),
        config.seed,
        config.temperature,
        config.top_p,
    )
    figures = _judge(inputs, generated, m0_songs, nll, extracted, config, bars, log)
    figures.update(
        {
            "model": str(inputs.m2.path),
            "style": m2_style,
            "base_model": str(inputs.m0.path) if inputs.m0 is not None else None,
            "artist_corpus": str(inputs.artist.path),
            "genre_corpus": str(inputs.genre.path),
            "held_out_splits": ["test", "validation"],
            "quick": config.quick,
            "n": n,
            "bars": bars,
            "seed": config.seed,
            "candidates": config.candidates,
            "temperature": config.temperature,
            "top_p": config.top_p,
            "forms": "learned" if (inputs.m2.path / FORMS_FILE).is_file() else "one section",
            "seconds_per_piece": round(generation_s / n, 2),
            "warnings": inputs.warnings,
            "nll": nll,
            "extraction": extracted,
            "seconds": round(time.perf_counter() - started, 1),
        }
    )
    write_report(figures, out)
    log(f"wrote {Path(out) / 'report.md'}, report.html and report.json")
    return EvaluationResult(figures)


def _generate_sets(inputs: _Inputs, m2_style, n: int, bars: int, config: EvaluateConfig, log):
    """The pieces of the model (M2) and of its base (M0, when known); M2's seconds."""
    log(
        "generating with the model (M2)"
        + (f", best of {config.candidates} by style score" if config.candidates > 1 else "")
    )
    began = time.perf_counter()
    generated = generate(
        inputs.m2,
        m2_style,
        n,
        bars,
        config.seed,
        config.batch_size,
        "M2",
        log,
        candidates=config.candidates,
        temperature=config.temperature,
        top_p=config.top_p,
    )
    generation_s = time.perf_counter() - began
    m0_songs = None
    if inputs.m0 is not None:
        log(f"generating with its base model M0 ({inputs.m0.path})")
        m0_songs = generate(
            inputs.m0,
            genre_style(inputs.m0, inputs.genre),
            n,
            bars,
            config.seed,
            config.batch_size,
            "M0",
            log,
            temperature=config.temperature,
            top_p=config.top_p,
        )
    return generated, m0_songs, generation_s


def _open_inputs(model: Path, artist: str | Path, genre: str | Path) -> _Inputs:
    """Open and check the corpora, load M2 and (when it exists) its base model M0."""
    from tribute.modeldir import load_style_model

    if not model.is_dir():
        raise TributeError(f"model folder {model} does not exist")
    artist_c, genre_c = Corpus.open(artist), Corpus.open(genre)
    if artist_c.path.resolve() == genre_c.path.resolve():
        raise TributeError("the artist and genre corpora are the same folder")
    diffs = compare_settings(artist_c, genre_c)
    if diffs:
        raise TributeError(
            f"corpora built with different settings ({artist_c.name} vs "
            f"{genre_c.name}): {'; '.join(diffs)}; rebuild one of them with the "
            "other's settings"
        )
    train = list(artist_c.songs("train"))
    held_out = list(artist_c.songs("test")) + list(artist_c.songs("validation"))
    if not train:
        raise TributeError(f"artist corpus {artist_c.name} has no training songs")
    if not len(genre_c):
        raise TributeError(f"genre corpus {genre_c.name} has no songs")
    m2 = load_style_model(model)
    warnings = []
    excluded = [Path(p).resolve() for p in genre_c.config.get("exclude_families_of", [])]
    if artist_c.path.resolve() not in excluded:
        warnings.append(
            f"the genre corpus was not built with --exclude-families-of "
            f"{artist_c.path}: artist songs may leak into it (docs/evaluation.md §1)"
        )
    learned = {Path(c).resolve() for c in m2.training_corpora()}
    if learned and artist_c.path.resolve() not in learned:
        warnings.append(
            f"the model's record does not name {artist_c.path} among its training "
            "corpora: are its held-out songs really held out?"
        )
    base, m0 = m2.base_path, None
    if base is not None and base.is_dir():
        m0 = load_style_model(base)
    elif base is not None:
        warnings.append(f"the base model {base} is missing: no M0 samples")
    return _Inputs(artist_c, genre_c, m2, m0, train, held_out, warnings)


def _likelihood(inputs: _Inputs) -> dict:
    from tribute.evaluation.transfer import transfer

    split = "test" if inputs.artist.split("test") else "validation"
    if not inputs.artist.split(split):
        return {"why": "the artist corpus has no held-out songs"}
    try:
        return transfer(inputs.m2, inputs.m0, inputs.artist, split)
    except TributeError as exc:
        return {"why": str(exc)}


def _judge(
    inputs: _Inputs,
    generated: list[Song],
    m0_songs: list[Song] | None,
    nll: dict,
    extracted: dict,
    config: EvaluateConfig,
    bars: int,
    log,
) -> dict:
    genre_songs = list(inputs.genre.songs())
    held_genre = [s for s in genre_songs if s.meta.split in ("test", "validation")]
    genre_pieces = (held_genre or genre_songs)[: max(config.pieces, 20)]
    ablation = find_ablation(inputs.m2.path)
    thresholds = Thresholds().relaxed() if config.quick else Thresholds()
    # Like with like: one role rule for every artist-side piece, real ones cut to the
    # generated length and to the generated line-up (tribute.evaluation.alike).
    roles = role_map(inputs.artist.metas)
    programs = line_up_of(generated)
    parts = _parts_of(inputs.m2)

    def real(songs: Sequence[Song]) -> list[Song]:  # through the generated-song path
        return alike(as_generated(songs, inputs.m2.tokenizer, parts), roles, programs, bars)

    sets = Sets(
        alike(generated, roles),
        real(inputs.train),
        real(inputs.held_out),
        genre_songs,
        genre_pieces,
        alike(m0_songs, roles) if m0_songs is not None else None,
    )
    figures = assess(
        sets,
        thresholds,
        nll=nll,
        ablation=ablation[1] if ablation else None,
        extraction=extracted,
        repeats=5,
        permutations=config.permutations
        if config.permutations is not None
        else (20 if config.quick else 100),
        seed=config.seed,
        log=log,
    )
    figures["ablation"] = {"path": str(ablation[0]), **ablation[1]} if ablation else None
    return figures


def _parts_of(model):
    """The line-up the generated pieces were written for (the model's typical one)."""
    from tribute.composition.lineup import parse_lineup

    return parse_lineup(None, model.programs())


def as_generated(songs: Sequence[Song], tokenizer, parts) -> list[Song]:
    """Real songs through the generated-song path — tokens, decoding, the line-up's parts, a
    Song as composing makes one: the evaluator's self-test that both sides are described by
    the same rule (tests/test_evaluate.py)."""
    from tribute.composition.arrange import arrange
    from tribute.composition.controls import Controls, Section
    from tribute.composition.plan import PlannedSection
    from tribute.composition.sampler import SectionPlan
    from tribute.music import bar_start_ticks
    from tribute.originality import song_from_score

    out = []
    for song in songs:
        bars = len(bar_start_ticks(song.score))
        controls = Controls(form=(Section("song", bars),))
        planned = [PlannedSection(controls.form[0], 0, tuple(parts), SectionPlan(np.ones(1)))]
        decoded = tokenizer.decode(tokenizer.encode(song.score))
        arranged = arrange(decoded, parts, planned, controls, 0)
        out.append(song_from_score(arranged.score, f"{song.meta.id}-through", song.meta.title))
    return out
