"""``tribute evaluate``: a style model against its artist's held-out songs (EVALUATION.md).

One run: open and compare the two corpora, generate ``n`` pieces with the model (guard off —
originality is measured here) to the median length of the held-out songs, sample its base
model M0 for the same number of pieces, score held-out likelihood (P1), prompt with 2-bar
prefixes of training and held-out songs (P6), then judge everything in
:func:`tribute.evaluation.criteria.assess` and write ``report.md``, ``report.html`` and
``report.json`` into ``out``.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from tribute.corpus.store import Corpus
from tribute.errors import TributeError
from tribute.evaluation.criteria import Sets, Thresholds, assess
from tribute.evaluation.nll import find_ablation
from tribute.evaluation.originality import HARD_RUN, REL_FLOOR
from tribute.music import Meter, Song

QUICK_PIECES = 32
QUICK_MAX_BARS = 8  # quick runs generate short pieces
EXTRACTION_PROMPTS = (16, 4)  # prompts per group (training, held-out): full, quick
QUICK_CONTINUATION_BARS = 4  # bars generated after each 2-bar prompt in a quick run (full: 16)
PROMPT_BARS = 2
# Build settings that must agree between the artist and genre corpora; the rest (labels,
# fractions, seeds, workers) may differ.
COMPARED_SETTINGS = (("ingest", "normalize"), ("ingest", "ngram"), ("families",))


def _quiet(*args, **kwargs) -> None:
    pass


def compare_settings(artist: Corpus, genre: Corpus) -> list[str]:
    """The build settings in which the corpora differ (empty when comparable)."""
    diffs = []
    for path in COMPARED_SETTINGS:
        a, g = artist.config, genre.config
        for key in path:
            a, g = (a or {}).get(key), (g or {}).get(key)
        if a != g:
            detail = (", ".join(f"{k}: {a.get(k)} vs {g.get(k)}" for k in sorted(set(a) | set(g))
                                if a.get(k) != g.get(k))
                      if isinstance(a, dict) and isinstance(g, dict) else f"{a} vs {g}")
            diffs.append(f"{'.'.join(path)} ({detail})")
    return diffs


def artist_style(model: Path, artist: Corpus, style: str | None,
                 genre: Corpus | None = None) -> str | None:
    """The style token to generate with: ``style``, the model's own, or a label of the artist
    corpus that the genre corpus does not share (a shared label names the genre, not the
    artist); a model that knows none of them cannot be evaluated for this artist."""
    from tribute.modeldir import read_record, resolve_style
    from tribute.tokens import MusicTokenizer

    tokenizer = MusicTokenizer.load(model)
    default = read_record(model).get("style")
    if style or default:
        return resolve_style(tokenizer, style, default)[0]
    labels = Counter(f"{k}={v}" for m in artist.metas for k, v in m.labels.items())
    shared = {f"{k}={v}" for m in (genre.metas if genre else []) for k, v in m.labels.items()}
    for name, _ in labels.most_common():
        if name in shared:
            continue
        if name in tokenizer.styles:
            return name
    corpus_labels = sorted(labels)
    raise TributeError(
        f"model {model} has no style for artist corpus {artist.name} (its labels: "
        f"{', '.join(corpus_labels) or 'none'}; the model knows: "
        f"{', '.join(tokenizer.styles) or 'no styles'}); fine-tune it on this corpus with "
        "`tribute finetune`, or pass --style")


def genre_style(model: Path, genre: Corpus) -> str | None:
    """M0's style for genre pieces: the genre corpus's most common known label, else none."""
    from tribute.tokens import MusicTokenizer

    tokenizer = MusicTokenizer.load(model)
    labels = Counter(f"{k}={v}" for m in genre.metas for k, v in m.labels.items())
    return next((name for name, _ in labels.most_common() if name in tokenizer.styles), None)


def median_bars(songs: Sequence[Song]) -> int:
    bars = []
    for song in songs:
        quarters = Meter.from_text(song.meta.time_signature).quarters_per_bar
        bars.append(song.meta.duration_beats / max(1.0, quarters))
    return max(1, round(float(np.median(bars)))) if bars else 16


def generate(model: Path, style: str | None, n: int, bars: int, seed: int, batch_size: int,
             prefix: str, log=print) -> list[Song]:
    """``n`` pieces of ``bars`` bars, as normalized Songs (roles and lead track as ingestion)."""
    from tribute.composition import ComposeConfig, Composer, Controls, parse_form
    from tribute.originality import song_from_score

    composer = Composer.open(model, Controls(form=parse_form(None, bars)),
                             ComposeConfig(n=n, style=style, seed=seed, guard=False,
                                            batch_size=batch_size), log=log)
    songs = []
    for first in range(0, n, batch_size):
        seeds = list(range(seed + first, seed + min(n, first + batch_size)))
        candidates, _ = composer.generate(seeds)
        songs += [song_from_score(c.score, f"{prefix}-{s - seed + 1:03d}")
                  for s, c in zip(seeds, candidates, strict=True)]
        log(f"  {prefix}: {len(songs)}/{n} pieces")
    return songs


def extraction(model: Path, style: str | None, groups: dict[str, Sequence[Song]], bars: int,
               seed: int, workdir: Path) -> dict:
    """Prompt with the first 2 bars of each song; the share of continuations that reproduce the
    song's own continuation (a run of 16+ tokens, or half of it in a run of 8+)."""
    from tribute.composition import ComposeConfig, Composer, Controls, parse_form
    from tribute.originality import longest_common_run, melody_tokens, song_from_score

    workdir.mkdir(parents=True, exist_ok=True)
    rates, details = {}, {}
    for group, songs in groups.items():
        hits = []
        for song in songs:
            meter = Meter.from_text(song.meta.time_signature)
            bar = meter.bar_ticks(song.score.ticks_per_quarter)
            cut = PROMPT_BARS * bar
            if song.score.end() <= cut + bar:
                continue
            primer = workdir / f"{group}-{song.meta.id}.mid"
            song.score.clip(0, cut, clip_end=True).dump_midi(str(primer))
            try:
                composer = Composer.open(model, Controls(form=parse_form(None, bars)),
                                         ComposeConfig(n=1, style=style, seed=seed, guard=False,
                                                        primer=str(primer)), log=_quiet)
            except TributeError:
                continue  # a prefix the model cannot encode (no notes in its instruments)
            candidate = composer.generate([seed])[0][0]
            made = song_from_score(candidate.score, f"{song.meta.id}-continued")
            made_cut = PROMPT_BARS * meter.bar_ticks(made.score.ticks_per_quarter)
            ours = melody_tokens(made.score.clip(made_cut, made.score.end() + 1),
                                 made.meta.lead_track)
            theirs = melody_tokens(song.score.clip(cut, song.score.end() + 1),
                                   song.meta.lead_track)
            run = longest_common_run(ours, [theirs]).length if len(ours) else 0
            hits.append(bool(run >= HARD_RUN or (run >= REL_FLOOR and run >= 0.5 * len(ours))))
        rates[group] = float(np.mean(hits)) if hits else None
        details[group] = len(hits)
    if rates.get("train") is None or rates.get("held_out") is None:
        return {"why": f"too few songs of 3+ bars to prompt with ({details})"}
    return {"train_rate": rates["train"], "held_out_rate": rates["held_out"],
            "prompts": min(details.values()), "prompt_bars": PROMPT_BARS,
            "continuation_bars": bars}


def evaluate(model: str | Path, artist: str | Path, genre: str | Path, out: str | Path, *,
             n: int = 100, quick: bool = False, style: str | None = None,
             bars: int | None = None, seed: int = 0, batch_size: int = 8,
             permutations: int | None = None, prompts: int | None = None, log=print) -> dict:
    """Evaluate a style model (EVALUATION.md) and write the report; returns report.json's dict."""
    from tribute.evaluation.nll import transfer
    from tribute.evaluation.report import write_report
    from tribute.modeldir import base_model_path, training_corpora

    started = time.perf_counter()
    model, out = Path(model), Path(out)
    if not model.is_dir():
        raise TributeError(f"model folder {model} does not exist")
    artist_c, genre_c = Corpus.open(artist), Corpus.open(genre)
    if artist_c.path.resolve() == genre_c.path.resolve():
        raise TributeError("the artist and genre corpora are the same folder")
    diffs = compare_settings(artist_c, genre_c)
    if diffs:
        raise TributeError(f"corpora built with different settings ({artist_c.name} vs "
                           f"{genre_c.name}): {'; '.join(diffs)}; rebuild one of them with the "
                           "other's settings")
    train = list(artist_c.songs("train"))
    held_out = list(artist_c.songs("test")) + list(artist_c.songs("validation"))
    if not train:
        raise TributeError(f"artist corpus {artist_c.name} has no training songs")
    if not len(genre_c):
        raise TributeError(f"genre corpus {genre_c.name} has no songs")
    m2_style = artist_style(model, artist_c, style, genre_c)
    warnings = []
    excluded = [Path(p).resolve() for p in genre_c.config.get("exclude_families_of", [])]
    if artist_c.path.resolve() not in excluded:
        warnings.append(f"the genre corpus was not built with --exclude-families-of "
                        f"{artist_c.path}: artist songs may leak into it (EVALUATION.md §1)")
    learned = {Path(c).resolve() for c in training_corpora(model)}
    if learned and artist_c.path.resolve() not in learned:
        warnings.append(f"the model's record does not name {artist_c.path} among its training "
                        "corpora: are its held-out songs really held out?")
    n = min(n, QUICK_PIECES) if quick else n
    bars = bars or (min(QUICK_MAX_BARS, median_bars(held_out or train)) if quick
                    else median_bars(held_out or train))
    thresholds = Thresholds().relaxed() if quick else Thresholds()
    log(f"evaluating {model} ({m2_style or 'no style'}): {n} pieces of {bars} bars; "
        f"{len(train)} training and {len(held_out)} held-out artist songs, {len(genre_c)} "
        f"genre songs" + (" — quick run, relaxed thresholds" if quick else ""))

    log("generating with the model (M2)")
    generated = generate(model, m2_style, n, bars, seed, batch_size, "M2", log)
    base = base_model_path(model)
    m0 = None
    if base is not None and base.is_dir():
        log(f"generating with its base model M0 ({base})")
        m0 = generate(base, genre_style(base, genre_c), n, bars, seed, batch_size, "M0", log)
    elif base is not None:
        warnings.append(f"the base model {base} is missing: no M0 samples")

    log("held-out likelihood (P1)")
    split = "test" if artist_c.split("test") else "validation"
    try:
        nll = (transfer(model, base if base is not None and base.is_dir() else None, artist_c,
                        split) if artist_c.split(split) else
               {"why": "the artist corpus has no held-out songs"})
    except (TributeError, ImportError) as exc:  # ImportError: a tribute without train.nll
        nll = {"why": str(exc)}
    ablation = find_ablation(model)

    log("prefix extraction (P6)")
    k = prompts if prompts is not None else EXTRACTION_PROMPTS[1 if quick else 0]
    extracted = extraction(model, m2_style, {"train": train[:k], "held_out": held_out[:k]},
                           min(bars, QUICK_CONTINUATION_BARS if quick else 2 * QUICK_MAX_BARS),
                           seed, out / "extraction")

    genre_songs = list(genre_c.songs())
    held_genre = [s for s in genre_songs if s.meta.split in ("test", "validation")]
    genre_pieces = (held_genre or genre_songs)[:max(n, 20)]
    result = assess(Sets(generated, train, held_out, genre_songs, genre_pieces, m0),
                    thresholds, nll=nll, ablation=ablation[1] if ablation else None,
                    extraction=extracted, repeats=5,
                    permutations=permutations if permutations is not None else
                    (20 if quick else 100), seed=seed, log=log)
    result.update({
        "model": str(model), "style": m2_style, "base_model": str(base) if base else None,
        "artist_corpus": str(artist_c.path), "genre_corpus": str(genre_c.path),
        "held_out_splits": ["test", "validation"], "quick": quick, "n": n, "bars": bars,
        "seed": seed, "warnings": warnings,
        "nll": nll, "extraction": extracted,
        "ablation": {"path": str(ablation[0]), **ablation[1]} if ablation else None,
        "seconds": round(time.perf_counter() - started, 1)})
    write_report(result, out)
    log(f"wrote {out / 'report.md'}, report.html and report.json")
    return result


def load_report(out: str | Path) -> dict:
    return json.loads((Path(out) / "report.json").read_text(encoding="utf-8"))
