"""Piano-roll PNG: one colour per track with a legend, bar lines, section markers, drum lane.

Drawn with matplotlib's Agg backend (no display needed). The x axis is in bars (bar 1 at the
left edge, numbers at bar lines, sparser for long songs), the y axis in pitch names; drums get
a lane of their own below the pitched tracks, one row per drum sound, because their MIDI keys
name sounds, not pitches. Section markers are MIDI marker events (``Score.markers``).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from symusic import Score

from tribute.errors import TributeError
from tribute.render.timeline import bar_starts, end_tick

DPI = 100
WIDTH_PER_BAR_IN = 0.45  # 32 bars → 14.4 in; clamped to [10, 40] in so that long songs stay PNGs
MAX_BAR_LABELS = 40  # bar numbers every 1, 2, 4, 8, ... bars so that at most this many show
PITCH_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
DRUM_NAMES = {
    **dict.fromkeys((35, 36), "Kick"),
    **dict.fromkeys((38, 40), "Snare"),
    37: "Stick",
    39: "Clap",
    **dict.fromkeys((41, 43, 45, 47, 48, 50), "Tom"),
    42: "HH closed",
    44: "HH pedal",
    46: "HH open",
    **dict.fromkeys((49, 57), "Crash"),
    **dict.fromkeys((51, 59), "Ride"),
    52: "China",
    53: "Ride bell",
    54: "Tambourine",
    55: "Splash",
    56: "Cowbell",
}


def _track_label(track, index: int) -> str:
    name = track.name.strip() or ("Drums" if track.is_drum else f"Track {index + 1}")
    return f"{name} ({'drums' if track.is_drum else f'program {track.program}'})"


def draw_pianoroll(score: Score, path: Path, title: str = "") -> Path:
    """Write the piano roll of ``score`` to ``path`` (PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    last = end_tick(score)
    if last == 0:
        raise TributeError("the song has no notes: nothing to draw")
    tpq = score.ticks_per_quarter
    bars = bar_starts(score)
    bar_ticks = [tick for tick, _ in bars]
    end = bars[-1][0] + bars[-1][1].bar_ticks(tpq)
    drums = [i for i, t in enumerate(score.tracks) if t.is_drum and t.note_num()]
    pitched = [i for i, t in enumerate(score.tracks) if not t.is_drum and t.note_num()]
    drum_keys = sorted(
        {int(p) for i in drums for p in np.unique(score.tracks[i].notes.numpy()["pitch"])}
    )

    width = float(np.clip(len(bars) * WIDTH_PER_BAR_IN, 10, 40))
    heights = [4.0] * bool(pitched) + [max(1.0, 0.22 * len(drum_keys))] * bool(drums)
    fig, axes = plt.subplots(
        len(heights),
        1,
        sharex=True,
        squeeze=False,
        figsize=(width, sum(heights) + 1.6),
        gridspec_kw={"height_ratios": heights},
    )
    axes = list(axes[:, 0])
    colours = plt.get_cmap("tab10")
    handles = []

    def to_bars(ticks: np.ndarray) -> np.ndarray:
        """Tick → bar position (1.0 = start of bar 1), exact across time-signature changes."""
        return 1.0 + np.interp(ticks, [*bar_ticks, end], np.arange(len(bar_ticks) + 1))

    axis = 0
    if pitched:
        ax = axes[axis]
        lows, highs = [], []
        for order, index in enumerate(pitched):
            notes = score.tracks[index].notes.numpy()
            x0 = to_bars(notes["time"])
            x1 = to_bars(notes["time"] + np.maximum(notes["duration"], 1))
            colour = colours(order % 10)
            ax.barh(
                notes["pitch"],
                x1 - x0,
                left=x0,
                height=0.8,
                color=colour,
                edgecolor="black",
                linewidth=0.2,
                alpha=0.85,
            )
            handles.append(
                plt.Rectangle(
                    (0, 0), 1, 1, color=colour, label=_track_label(score.tracks[index], index)
                )
            )
            lows.append(int(notes["pitch"].min()))
            highs.append(int(notes["pitch"].max()))
        low, high = min(lows) - 2, max(highs) + 2
        ax.set_ylim(low, high)
        octaves = [p for p in range(low, high + 1) if p % 12 == 0]  # every C
        ticks = octaves if len(octaves) >= 2 else list(range(low, high + 1, 4))
        ax.set_yticks(ticks, [f"{PITCH_NAMES[p % 12]}{p // 12 - 1}" for p in ticks])
        ax.set_ylabel("pitch")
        for c in octaves:
            ax.axhline(c, color="0.85", linewidth=0.5, zorder=0)
        axis += 1
    if drums:
        ax = axes[axis]
        row = {key: n for n, key in enumerate(drum_keys)}
        for order, index in enumerate(drums, start=len(pitched)):
            notes = score.tracks[index].notes.numpy()
            y = np.array([row[int(p)] for p in notes["pitch"]])
            colour = colours(order % 10)
            ax.scatter(to_bars(notes["time"]), y, s=40, marker="|", color=colour, linewidths=1.5)
            handles.append(
                plt.Rectangle(
                    (0, 0), 1, 1, color=colour, label=_track_label(score.tracks[index], index)
                )
            )
        ax.set_yticks(
            range(len(drum_keys)), [DRUM_NAMES.get(k, f"key {k}") for k in drum_keys], fontsize=7
        )
        ax.set_ylim(-0.7, len(drum_keys) - 0.3)
        ax.set_ylabel("drums")

    step = 1
    while len(bars) / step > MAX_BAR_LABELS:
        step *= 2
    labelled = list(range(1, len(bars) + 1, step))
    # Every bar line up to 200 bars; beyond, only at the numbered bars (thousands of lines blur).
    lines = range(1, len(bars) + 2) if len(bars) <= 200 else labelled
    for ax in axes:
        ax.set_xlim(1, len(bars) + 1)
        for number in lines:
            strong = (number - 1) % 4 == 0
            ax.axvline(
                number,
                color="0.45" if strong else "0.75",
                linewidth=0.8 if strong else 0.4,
                zorder=0,
            )
    axes[-1].set_xticks(labelled, [str(n) for n in labelled])
    axes[-1].set_xlabel("bar")

    markers = sorted(
        ((int(m.time), str(m.text).strip()) for m in score.markers), key=lambda m: m[0]
    )
    for tick, text in markers:
        x = float(to_bars(np.array([tick]))[0])
        for ax in axes:
            ax.axvline(x, color="crimson", linewidth=1.2, zorder=3)
        axes[0].text(
            x,
            1.01,
            f" {text}",
            transform=axes[0].get_xaxis_transform(),
            color="crimson",
            fontsize=9,
            va="bottom",
            ha="left",
            clip_on=False,
        )
    meter = bars[0][1]
    tempo = f"{score.tempos[0].qpm:.0f} qpm, " if len(score.tempos) else ""
    top_in = 0.85  # title and legend above the plots, in inches: constant for any figure height
    height_in = fig.get_figheight()
    fig.suptitle(
        f"{title} — {tempo}{meter.numerator}/{meter.denominator}, {len(bars)} bars",
        fontsize=12,
        y=1 - 0.1 / height_in,
        va="top",
    )
    fig.legend(
        handles=handles,
        loc="upper center",
        bbox_to_anchor=(0.5, 1 - 0.45 / height_in),
        fontsize=8,
        ncol=min(6, len(handles)),
        frameon=False,
    )
    fig.tight_layout(rect=(0, 0, 1, 1 - top_in / height_in))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp.png")
    fig.savefig(tmp, dpi=DPI)
    plt.close(fig)
    os.replace(tmp, path)
    return path
