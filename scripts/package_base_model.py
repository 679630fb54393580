"""Package a pretrained model folder as a built-in model of tribute (``builtin:NAME``).

    .venv/bin/python scripts/package_base_model.py RUN --genre CORPUS --artist CORPUS \\
        --name music21-mini [--weights RUN/checkpoints/best] [--out src/tribute/builtin/models]

Writes ``OUT/NAME/``: ``config.json``, ``model.safetensors`` (float16 when its held-out loss
is within 0.1 % of float32's, else float32), ``tokenizer/``, ``programs.json``, a trimmed
``training.json``, ``reference_songs/`` (60 held-out genre songs for the style score's genre
percentiles, the same seeded sample a local corpus would give) and ``MODEL_CARD.md`` — data and
exclusions, tokens seen, steps, the held-out loss curve, machine, time, precision and the exact
commands that made it (``scripts/train_base_model.sh``). The loss curve is also drawn into
``docs/NAME-curve.png``.

``--weights`` packages a checkpoint of a run rather than its final weights (its history from
the checkpoint's ``state.json``); the card says so.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import shutil
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import torch

from tribute.corpus import Corpus
from tribute.model import count_parameters, load_model
from tribute.modeldir import StyleModel, read_record
from tribute.stylescore import GENRE_SONGS, REFERENCE_SONGS
from tribute.tokens import TOKENIZER_DIR, MusicTokenizer
from tribute.train.data import DataConfig, load_split
from tribute.train.loop import full_validation_loss
from tribute.train.nll import held_out_bits

ROOT = Path(__file__).resolve().parents[1]
HALF_TOLERANCE = 0.001  # relative held-out loss change that float16 weights may cost
SCORED_PIECES = 200  # genre test pieces for the held-out bits per note (seeded sample)
REPRODUCE = "scripts/train_base_model.sh"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("run", type=Path, help="the pretrain output folder")
    parser.add_argument("--genre", type=Path, required=True, help="the corpus it learned from")
    parser.add_argument("--artist", type=Path, help="the excluded artist corpus (zero-shot)")
    parser.add_argument("--name", required=True)
    parser.add_argument("--weights", type=Path, help="a checkpoint folder (default: the run's)")
    parser.add_argument("--out", type=Path, default=ROOT / "src/tribute/builtin/models")
    args = parser.parse_args()
    torch.set_num_threads(1)

    weights = args.weights or args.run
    target = args.out / args.name
    tokenizer = MusicTokenizer.load(args.run)
    model = load_model(weights)
    genre = Corpus.open(args.genre)
    history, state = _history(args.run, args.weights)
    record = read_record(args.run) if (args.run / "training.json").is_file() else None

    print("measuring float32 against float16 weights on the validation split …", flush=True)
    val_data = load_split(genre, tokenizer, "validation", DataConfig())
    seq_len = int(json.loads((args.run / "train_config.json").read_text())["seq_len"])
    loss32 = full_validation_loss(model, val_data, seq_len)
    half = load_model_from_state({k: v.half() for k, v in model.state_dict().items()}, weights)
    loss16 = full_validation_loss(half, val_data, seq_len)
    use_half = abs(loss16 - loss32) / loss32 <= HALF_TOLERANCE

    styled = StyleModel(args.run, model, tokenizer, record or read_record(args.run))
    print("held-out bits per note …", flush=True)
    sample = _sampled(genre, SCORED_PIECES)
    genre_bits = held_out_bits(styled, sample, "test", music_only=True)
    artist_bits = None
    if args.artist is not None:
        artist_bits = held_out_bits(styled, Corpus.open(args.artist), "test", music_only=True)
    epoch_tokens = load_split(genre, tokenizer, "train", DataConfig()).n_tokens  # cached

    if target.exists():
        shutil.rmtree(target)
    (target / TOKENIZER_DIR).mkdir(parents=True)
    shipped = copy.deepcopy(model).half() if use_half else model
    shipped.save_pretrained(target, safe_serialization=True)
    for extra in ("generation_config.json",):
        (target / extra).unlink(missing_ok=True)
    tokenizer.save(target / TOKENIZER_DIR)
    shutil.copy2(args.run / "programs.json", target / "programs.json")
    _reference_songs(genre, target / REFERENCE_SONGS)
    facts = {
        "name": args.name,
        "preset": (record.preset if record else None) or model.config.tribute_preset,
        "parameters": count_parameters(model),
        "non_embedding": count_parameters(model, non_embedding=True),
        "context": model.config.max_position_embeddings,
        "seq_len": seq_len,
        "tokenizer": tokenizer,
        "genre": genre,
        "artist": args.artist,
        "history": history,
        "state": state,
        "record": record,
        "checkpoint": str(args.weights) if args.weights else None,
        "loss32": loss32,
        "loss16": loss16,
        "use_half": use_half,
        "genre_bits": genre_bits,
        "artist_bits": artist_bits,
        "epoch_tokens": epoch_tokens,
        "train_config": json.loads((args.run / "train_config.json").read_text()),
        "size_mb": (target / "model.safetensors").stat().st_size / 1e6,
    }
    trimmed = {
        "command": "pretrain",
        "preset": facts["preset"],
        "corpus": f"(built-in corpus: see {args.name}/MODEL_CARD.md)",
        "styles": tokenizer.styles,
        "result": {
            "steps": state.get("step"),
            "tokens": state.get("tokens"),
            "seconds": state.get("seconds"),
            "history": history,
        },
        "train_config": json.loads((args.run / "train_config.json").read_text()),
        "exported": "checkpoint"
        if args.weights
        else (record.extra.get("exported") if record else None),
        "precision": "float16" if use_half else "float32",
        "packaged": time.strftime("%Y-%m-%d"),
    }
    (target / "training.json").write_text(json.dumps(trimmed, indent=1) + "\n")
    (target / "MODEL_CARD.md").write_text(card(facts))
    _curve(history, ROOT / "docs" / f"{args.name}-curve.png", args.name)
    print(
        f"wrote {target} ({facts['size_mb']:.1f} MB of weights, "
        f"{'float16' if use_half else 'float32'})"
    )


def _environment() -> dict:
    """This machine's facts, for a run that has not written its record yet (same machine)."""
    import platform
    from importlib.metadata import version

    return {
        "cpu_count": len(os.sched_getaffinity(0)),
        "platform": platform.platform(),
        "torch": version("torch"),
        "transformers": version("transformers"),
    }


def load_model_from_state(state_dict: dict, folder: Path):
    model = load_model(folder, dtype=torch.float16)
    model.load_state_dict(state_dict)
    return model.float()  # the half-rounded weights, computed in fp32 as tribute loads them


def _history(run: Path, checkpoint: Path | None) -> tuple[list[dict], dict]:
    """The validation history and the run's totals (a checkpoint's when packaging one)."""
    if checkpoint is not None:
        latest = sorted((run / "checkpoints").glob("step-*/state.json"))[-1]
        state = json.loads(latest.read_text())
        return state["history"], state
    result = json.loads((run / "training.json").read_text())["result"]
    # A resumed run's result counts the seconds since its last resume; the history carries the
    # whole run's training time.
    seconds = max([result["seconds"], *(h.get("seconds", 0) for h in result["history"])])
    state = {"step": result["steps"], "tokens": result["tokens"], "seconds": seconds}
    return result["history"], state


def _sampled(corpus: Corpus, n: int) -> Corpus:
    """The corpus's test split cut to ``n`` pieces (the recipe study's seeded sample)."""
    test = corpus.split("test")
    picks = sorted(np.random.default_rng(0).choice(len(test), min(n, len(test)), replace=False))
    return Corpus(corpus.path, corpus.config, [test[i] for i in picks])


def _reference_songs(corpus: Corpus, folder: Path) -> None:
    """The held-out genre songs the style score places songs among (stylescore._held_out's
    seeded sample), as MIDI files."""
    metas = corpus.split("test") + corpus.split("validation")
    if len(metas) > GENRE_SONGS:
        picks = np.random.default_rng(0).choice(len(metas), GENRE_SONGS, replace=False)
        metas = [metas[i] for i in sorted(picks)]
    folder.mkdir(parents=True, exist_ok=True)
    for i, meta in enumerate(metas):
        shutil.copy2(corpus.score_path(meta), folder / f"{i:03d}.mid")


def _curve(history: list[dict], path: Path, name: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tokens = [h["tokens"] / 1e6 for h in history]
    fig, ax = plt.subplots(figsize=(6, 3.2), dpi=110)
    ax.plot(tokens, [h["train_loss"] for h in history], label="training (last window)")
    ax.plot(tokens, [h["val_loss"] for h in history], label="validation (fixed windows)")
    ax.set_xlabel("tokens seen (millions)")
    ax.set_ylabel("loss (nats per token)")
    ax.set_title(f"{name}: pretraining")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def card(f: dict) -> str:
    tokenizer, genre, state, history = f["tokenizer"], f["genre"], f["state"], f["history"]
    report = genre.report()
    env = (f["record"].extra.get("environment") if f["record"] else None) or _environment()
    name, preset, seq_len = f["name"], f["preset"], f["seq_len"]
    params, non_embedding = f["parameters"] / 1e6, f["non_embedding"] / 1e6
    steps, tokens = state.get("step", 0), state.get("tokens", 0) / 1e6
    epochs = state.get("tokens", 0) / max(f["epoch_tokens"], 1)
    per_epoch = f["epoch_tokens"] / 1e6
    lr = f["train_config"].get("learning_rate", "?")
    hours = state.get("seconds", 0) / 3600
    machine = (
        f"{env.get('cpu_count', 2)}-core {env.get('platform', 'Linux')}, torch "
        f"{env.get('torch', '?')}, transformers {env.get('transformers', '?')}"
    )
    styles = ", ".join(s.split("=", 1)[1] for s in tokenizer.styles)
    formats = ", ".join(f"{k} {v:,}" for k, v in sorted(report.get("formats", {}).items()))
    splits = "; ".join(
        f"{k} {v['pieces']:,} pieces in {v['families']:,} families"
        for k, v in report.get("splits", {}).items()
    )
    bits = f["genre_bits"]
    zero_shot = ""
    if f["artist_bits"] is not None:
        zero_shot = (
            f" and {f['artist_bits'].mean():.2f} on the {len(f['artist_bits'])} held-out Bach "
            "chorales of the demo's artist corpus, which it never saw (no style token)"
        )
    precision = "float16" if f["use_half"] else "float32"
    change = 100 * (f["loss16"] - f["loss32"]) / f["loss32"]
    rows = "\n".join(
        f"| {h['step']:,} | {h['tokens'] / 1e6:.1f} | "
        f"{h['seconds'] / 3600:.2f} | {h['train_loss']:.3f} | "
        f"{h['val_loss']:.3f} |"
        for h in history
    )
    checkpoint = (
        f"\n**Packaged from a checkpoint of its run** ({f['checkpoint']}), not from the "
        "run's final weights.\n"
        if f["checkpoint"]
        else ""
    )
    excluded = len(report.get("excluded", []))
    text = f"""# {name} — tribute's built-in base model

A genre model of the music21 corpus without Bach: a Llama-architecture decoder (`{preset}`
preset, {params:.2f} M parameters, {non_embedding:.2f} M without the token embedding; context
{f["context"]} tokens, trained on {seq_len}-token windows), trained by `tribute pretrain` on this
project's 2-core CPU machine. Fine-tune it on an artist (`tribute finetune builtin:{name}
CORPUS --style NAME`) — the demo does this with 50 Bach chorales — or compose with it directly
under a collection's style token.
{checkpoint}
## Tokens

MidiTok REMI (programs, tempo, time signature, 8 velocities) with a BPE vocabulary of
{tokenizer.music_vocab_size:,} ids; a chord token opens every bar (harmony: `--chords` works),
infill markers for `tribute edit` / `tribute accompany` (a quarter of the training windows were
infill examples); {len(tokenizer.styles)} style tokens, one per music21 collection: {styles}.

## Data

`tribute corpus build music21:all-bach --exclude-families-of BACH`: every collection of the
music21 corpus except its `bach` folder (so neither the chorales nor other Bach works), and
every piece whose melody family also occurs among the Bach chorales removed ({excluded}
removed), so that the demo's evaluation on held-out chorales stays honest.
{report["pieces"]:,} pieces from {report["files"]:,} files ({formats}),
{report["families"]:,} melody families, split by family ({splits}). Training
used the train split plus 3 transposed, tempo- and velocity-jittered copies of each song:
{per_epoch:.1f} M tokens per epoch.

## Training

{steps:,} optimizer steps of 8 × {seq_len} tokens, {tokens:.1f} M tokens seen ({epochs:.1f}
epochs); AdamW, peak learning rate {lr}, a warm-up then a cosine decay planned by
`--time-budget` to end on time; {hours:.1f} h of training on one thread ({machine}).

Held-out: validation loss {f["loss32"]:.4f} nats per token over every validation token;
{bits.mean():.2f} bits per note (chord tokens as context: the music's own bits) on {len(bits)}
held-out genre test pieces{zero_shot}.

Weights: {precision} ({f["size_mb"]:.1f} MB). The float16 copy's validation loss is
{f["loss16"]:.4f} against {f["loss32"]:.4f} in float32 ({change:+.3f} %); float16 is shipped
when within {100 * HALF_TOLERANCE:.1f} %. tribute loads the weights in float32.

| step | tokens (M) | hours of training | training loss | validation loss |
|---:|---:|---:|---:|---:|
{rows}

The curve: `docs/{name}-curve.png` in the source tree.

## Reproduce

`{REPRODUCE}` runs the two corpus builds and the pretraining (resumable: run it again with
`RESUME=1`), then this packaging step. The genre corpus was built before this wave's family
rule (complete linkage, rarity weights); a rebuild with today's tribute draws slightly
different families and splits, so the figures will differ a little.

## Limits

Trained on notated classical, folk and lead-sheet music (MusicXML, ABC, kern): almost no drums,
few bass guitars, no rock guitar idiom. Fine-tune it on band material before asking it for a
rock band. The data's licences are those of the music21 corpus (see its documentation); the
weights are this project's own work.
"""
    return _rewrap(text)


def _rewrap(markdown: str) -> str:
    """Paragraphs re-filled to 96 columns (tables, headings and lists left as they are)."""
    out = []
    for block in markdown.split("\n\n"):
        if block.lstrip().startswith(("|", "#", "-", "!")):
            out.append(block)
        else:
            out.append(textwrap.fill(" ".join(block.split()), 96))
    return "\n\n".join(out) + "\n"


if __name__ == "__main__":
    sys.exit(main())
