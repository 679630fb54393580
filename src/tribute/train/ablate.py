"""``tribute ablate``: does pretraining on the genre help the artist model? (docs/evaluation.md §2A)

Trains, with one architecture, one tokenizer and one augmentation:

- M0  genre only (pretraining);
- M2  genre → artist (M0 fine-tuned);
- M1a artist only, from scratch, with M2's fine-tuning budget (steps);
- M1b artist only, from scratch, with the whole budget of M0 + M2 (early-stopped) — the honest
  comparison: is pretraining better than spending the same compute on the artist alone?

and reports held-out artist bits per note per song, paired bootstrap 95 % CIs of M2 − M0 and
M2 − M1a/b, and M2's held-out genre bits per note against M0's (forgetting), in
``ablation.json`` and ``ablation.md``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from tribute.corpus.store import Corpus
from tribute.errors import TributeError
from tribute.model import preset
from tribute.modeldir import RunRecord, load_style_model, read_record, write_record
from tribute.paths import atomic_write_text
from tribute.tokens import TOKENIZER_DIR, MusicTokenizer, TokenizerConfig
from tribute.train.data import DataConfig
from tribute.train.finetune import FinetuneConfig, finetune
from tribute.train.loop import TrainConfig
from tribute.train.nll import held_out_bits, paired_bootstrap
from tribute.train.pretrain import PretrainConfig, default_train_config, fresh_model, pretrain

__all__ = ["AblateConfig", "AblationResult", "ablate"]

RESULT_FILE = "ablation.json"
REPORT_FILE = "ablation.md"
ARMS = {  # arm → (folder, what it is)
    "M0": ("M0-genre", "genre only"),
    "M1a": ("M1a-artist-same-finetune-budget", "artist only, M2's fine-tuning budget"),
    "M1b": ("M1b-artist-whole-budget", "artist only, whole M0+M2 budget"),
    "M2": ("M2-genre-artist", "genre → artist"),
}


@dataclass(frozen=True)
class AblateConfig:
    preset: str = "small"
    style: str = "artist"
    pretrain_steps: int = 300
    finetune_epochs: float = 8.0
    batch_size: int = 8
    seq_len: int = 512
    vocab_size: int = 2_000
    augment_copies: int = 3
    seed: int = 0
    bootstrap: int = 1_000

    def to_json(self) -> dict:
        return asdict(self)


@dataclass
class AblationResult:
    """The four arms' held-out bits per note and the paired comparisons (``ablation.json``)."""

    config: dict
    genre_corpus: str
    artist_corpus: str
    held_out_split: str
    held_out_songs: list[str]
    steps: dict[str, int]
    seconds: dict[str, float]
    bits_per_note: dict[str, dict]  # arm → {"mean", "per_song"}
    differences: dict[str, dict]  # "M2-M0" … → paired bootstrap
    genre_bits_per_note: dict[str, float]
    forgetting: dict | None
    transfer_shown: bool = False

    def to_json(self) -> dict:
        return asdict(self)


@dataclass
class _Arms:
    """Trained arm folders and the wall time each took."""

    folders: dict[str, Path] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)

    def timed(self, arm: str, work: Callable[[], Path]) -> Path:
        began = time.perf_counter()
        self.folders[arm] = work()
        self.seconds[arm] = round(time.perf_counter() - began, 1)
        return self.folders[arm]


def ablate(
    genre_corpus: str | Path,
    artist_corpus: str | Path,
    out: str | Path,
    config: AblateConfig,
    *,
    log=print,
) -> AblationResult:
    """Train the four arms into ``out`` and write ``ablation.json`` + ``ablation.md``."""
    out = Path(out)
    genre, artist = Corpus.open(genre_corpus), Corpus.open(artist_corpus)
    held_out_split = "test" if artist.split("test") else "validation"
    if not artist.split(held_out_split):
        raise TributeError(f"artist corpus {artist.path} has no held-out songs")
    out.mkdir(parents=True, exist_ok=True)
    arms = _train_arms(genre, artist, out, config, log)
    result = _score_arms(arms, genre, artist, held_out_split, config, log)
    atomic_write_text(out / RESULT_FILE, json.dumps(result.to_json(), indent=1) + "\n")
    atomic_write_text(out / REPORT_FILE, report_markdown(result.to_json()))
    log(f"wrote {out / REPORT_FILE}")
    return result


def _train_arms(genre: Corpus, artist: Corpus, out: Path, config: AblateConfig, log) -> _Arms:
    data = DataConfig(augment_copies=config.augment_copies, seed=config.seed)
    arms = _Arms()
    m0 = arms.timed("M0", lambda: _pretrain_arm(genre, out / ARMS["M0"][0], config, data, log))
    m0_steps = read_record(m0).steps

    def artist_run(
        arm: str, base: Path, epochs: float, lr: float, max_steps: int | None = None
    ) -> Path:
        target = out / ARMS[arm][0]
        finetune(
            base,
            artist.path,
            target,
            FinetuneConfig(
                style=config.style,
                method="full",
                epochs=epochs,
                data=data,
                probe_songs=0,  # the probe measures copying; the ablation compares likelihood
                patience=2 if max_steps is None else 3,
                train=TrainConfig(
                    learning_rate=lr,
                    batch_size=config.batch_size,
                    seq_len=config.seq_len,
                    warmup_steps=20,
                    seed=config.seed,
                    max_steps=max_steps,
                    progress=False,
                ),
            ),
            force=True,
            log=log,
        )
        return target

    m2 = arms.timed("M2", lambda: artist_run("M2", m0, config.finetune_epochs, 2e-4))
    m2_steps = read_record(m2).steps
    scratch = _scratch_base(out / "scratch-base", m0, config)
    lr = preset(config.preset).learning_rate
    arms.timed("M1a", lambda: artist_run("M1a", scratch, 10_000, lr, max_steps=m2_steps))
    arms.timed("M1b", lambda: artist_run("M1b", scratch, 10_000, lr, max_steps=m0_steps + m2_steps))
    return arms


def _pretrain_arm(genre: Corpus, target: Path, config: AblateConfig, data: DataConfig, log) -> Path:
    train = default_train_config(
        config.preset,
        max_steps=config.pretrain_steps,
        batch_size=config.batch_size,
        seq_len=config.seq_len,
        seed=config.seed,
        eval_every=max(1, config.pretrain_steps // 4),
        save_every=config.pretrain_steps,
        progress=False,
    )
    pretrain(
        genre.path,
        target,
        PretrainConfig(
            preset=config.preset,
            data=data,
            tokenizer=TokenizerConfig(vocab_size=config.vocab_size),
            train=train,
        ),
        force=True,
        log=log,
    )
    return target


def _score_arms(
    arms: _Arms, genre: Corpus, artist: Corpus, held_out_split: str, config: AblateConfig, log
) -> AblationResult:
    log("scoring held-out songs (bits per note)")
    models = {arm: load_style_model(folder) for arm, folder in arms.folders.items()}
    scores = {
        arm: held_out_bits(m, artist, held_out_split, style=m.default_style)
        for arm, m in models.items()
    }
    genre_split = "test" if genre.split("test") else "validation"
    forgetting = (
        {arm: held_out_bits(models[arm], genre, genre_split) for arm in ("M0", "M2")}
        if genre.split(genre_split)
        else {}
    )
    result = AblationResult(
        config=config.to_json(),
        genre_corpus=str(genre.path.resolve()),
        artist_corpus=str(artist.path.resolve()),
        held_out_split=held_out_split,
        held_out_songs=[m.id for m in artist.split(held_out_split)],
        steps={arm: m.record.steps for arm, m in models.items()},
        seconds=arms.seconds,
        bits_per_note={
            arm: {"mean": float(v.mean()), "per_song": v.tolist()} for arm, v in scores.items()
        },
        differences={
            f"M2-{other}": paired_bootstrap(
                scores["M2"], scores[other], config.bootstrap, config.seed
            )
            for other in ("M0", "M1a", "M1b")
        },
        genre_bits_per_note={arm: float(v.mean()) for arm, v in forgetting.items()},
        forgetting=(
            paired_bootstrap(forgetting["M2"], forgetting["M0"], config.bootstrap, config.seed)
            if forgetting
            else None
        ),
    )
    result.transfer_shown = all(result.differences[f"M2-{o}"]["ci95"][1] < 0 for o in ("M0", "M1b"))
    return result


def _scratch_base(folder: Path, m0: Path, config: AblateConfig) -> Path:
    """A freshly initialized model with M0's tokenizer: the start of the artist-only arms."""
    tokenizer = MusicTokenizer.load(m0)
    model = fresh_model(config.preset, tokenizer, config.seed)
    model.save_pretrained(folder, safe_serialization=True)
    tokenizer.save(folder / TOKENIZER_DIR)
    write_record(
        folder, RunRecord(command="ablate (untrained initialization)", preset=config.preset)
    )
    return folder


def report_markdown(result: dict) -> str:
    bits = result["bits_per_note"]
    lines = [
        "# Ablation: does genre pretraining help the artist model?",
        "",
        f"Held-out artist songs: {len(result['held_out_songs'])} ({result['held_out_split']} "
        f"split of {result['artist_corpus']}); genre corpus {result['genre_corpus']}.",
        "",
        "| arm | what | steps | seconds | held-out bits/note |",
        "|---|---|---:|---:|---:|",
    ]
    for arm, (_, what) in ARMS.items():
        lines.append(
            f"| {arm} | {what} | {result['steps'][arm]} | "
            f"{result['seconds'].get(arm, 0):.0f} | {bits[arm]['mean']:.3f} |"
        )
    lines += ["", "Paired differences per song (negative: M2 is better), bootstrap 95 % CI:", ""]
    for name, diff in result["differences"].items():
        low, high = diff["ci95"]
        lines.append(
            f"- {name}: {diff['mean']:+.3f} bits/note [{low:+.3f}, {high:+.3f}]"
            + (" — excludes 0" if diff["excludes_zero"] else " — includes 0")
        )
    genre = result["genre_bits_per_note"]
    if genre:
        lines += [
            "",
            f"Forgetting: held-out genre bits/note M0 {genre['M0']:.3f} → "
            f"M2 {genre['M2']:.3f} (each under the genre songs' own style tokens).",
        ]
    lines += [
        "",
        "Transfer (P1: M2 better than M0 and than compute-matched M1b, CIs excluding 0): "
        + ("**shown**" if result["transfer_shown"] else "**not shown**"),
        "",
    ]
    return "\n".join(lines)
