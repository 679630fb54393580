"""Piano-roll PNG: one colour per track with a legend, bar lines, section markers, drum lane.

Drawn with matplotlib's Agg backend (no display needed). The x axis is in bars (bar numbers at
bar lines), the y axis in pitch names; drums get a lane of their own below the pitched tracks,
one row per drum sound, because their MIDI keys name sounds, not pitches. A long song wraps
into rows of ``BARS_PER_ROW`` bars, like systems on a page, so that the PNG stays readable
instead of growing into a thin strip. Section markers are MIDI marker events
(``Score.markers``).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from symusic import Score

from tribute.errors import TributeError
from tribute.music import bar_starts, end_tick, pitch_name

DPI = 100
BARS_PER_ROW = 32  # 32 bars of 4/4 ≈ 1 min at 120 qpm per row
WIDTH_PER_BAR_IN = 0.45  # a 32-bar row is 14.4 in wide (1,440 px); never narrower than 10 in
PITCHED_HEIGHT_IN = 3.2
MAX_ROWS = 40  # 1,280 bars; beyond, rows hold more bars so that the PNG stays under ~150 in
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


def _boxes(x0: np.ndarray, x1: np.ndarray, y: np.ndarray, half: float) -> np.ndarray:
    """Rectangles as (n, 4, 2) vertices for one PolyCollection.

    One collection per track: thousands of separate patches take matplotlib seconds to lay out
    (6,400 notes: 17 s as bars, 0.3 s as one collection).
    """
    corners = [(x0, y - half), (x1, y - half), (x1, y + half), (x0, y + half)]
    return np.stack([np.stack(c, 1) for c in corners], axis=1)


def draw_pianoroll(score: Score, path: Path, title: str = "") -> Path:
    """Write the piano roll of ``score`` to ``path`` (PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.collections import PolyCollection

    if end_tick(score) == 0:
        raise TributeError("the song has no notes: nothing to draw")
    tpq = score.ticks_per_quarter
    bars = bar_starts(score)
    bar_ticks = [tick for tick, _ in bars]
    end = bars[-1][0] + bars[-1][1].bar_ticks(tpq)
    n_bars = len(bars)
    drums = [i for i, t in enumerate(score.tracks) if t.is_drum and t.note_num()]
    pitched = [i for i, t in enumerate(score.tracks) if not t.is_drum and t.note_num()]
    drum_keys = sorted(
        {int(p) for i in drums for p in np.unique(score.tracks[i].notes.numpy()["pitch"])}
    )

    def to_bars(ticks: np.ndarray) -> np.ndarray:
        """Tick → bar position (1.0 = start of bar 1), exact across time-signature changes."""
        return 1.0 + np.interp(ticks, [*bar_ticks, end], np.arange(n_bars + 1))

    per_row = max(BARS_PER_ROW, -(-n_bars // MAX_ROWS))
    rows = -(-n_bars // per_row)
    lanes = [("pitched", PITCHED_HEIGHT_IN)] * bool(pitched)
    lanes += [("drums", max(0.8, 0.2 * len(drum_keys)))] * bool(drums)
    heights = [h for _ in range(rows) for _, h in lanes]
    width = max(10.0, min(n_bars, per_row) * WIDTH_PER_BAR_IN)
    # Legend columns that fit the width (~0.075 in per character at 8 pt), and the rows they
    # need: the title and legend sit above the plots in a band of constant inches.
    labels = [_track_label(score.tracks[i], i) for i in pitched + drums]
    column_in = max(len(label) for label in labels) * 0.075 + 0.45
    legend_cols = max(1, min(len(labels), int(width // column_in)))
    legend_rows = -(-len(labels) // legend_cols)
    top_in = 0.6 + 0.2 * legend_rows
    fig_height = sum(heights) + 0.45 * rows + top_in + 0.3
    fig, grid = plt.subplots(
        len(heights),
        1,
        squeeze=False,
        figsize=(width, fig_height),
        gridspec_kw={"height_ratios": heights},
    )
    axes = list(grid[:, 0])
    colours = plt.get_cmap("tab10")
    colour_of = {index: colours(order % 10) for order, index in enumerate(pitched + drums)}

    pitched_boxes, drum_hits = {}, {}
    low = high = 0
    if pitched:
        pitches = [score.tracks[i].notes.numpy()["pitch"] for i in pitched]
        low = int(min(p.min() for p in pitches)) - 2
        high = int(max(p.max() for p in pitches)) + 2
        for index in pitched:
            notes = score.tracks[index].notes.numpy()
            x0 = to_bars(notes["time"])
            x1 = to_bars(notes["time"] + np.maximum(notes["duration"], 1))
            pitched_boxes[index] = _boxes(x0, x1, notes["pitch"].astype(float), 0.4)
    if drums:
        row_of = {key: n for n, key in enumerate(drum_keys)}
        for index in drums:
            notes = score.tracks[index].notes.numpy()
            y = np.array([row_of[int(p)] for p in notes["pitch"]], dtype=float)
            drum_hits[index] = (to_bars(notes["time"]), y)
    markers = sorted(
        ((int(m.time), str(m.text).strip()) for m in score.markers), key=lambda m: m[0]
    )
    marker_x = [(float(to_bars(np.array([tick]))[0]), text) for tick, text in markers]

    for row in range(rows):
        first = 1 + row * per_row
        last = min(n_bars, first + per_row - 1) + 1  # x range [first, last)
        row_axes = axes[row * len(lanes) : (row + 1) * len(lanes)]
        for (kind, _), ax in zip(lanes, row_axes, strict=True):
            if kind == "pitched":
                for index, boxes in pitched_boxes.items():
                    visible = (boxes[:, 1, 0] >= first) & (boxes[:, 0, 0] <= last)
                    ax.add_collection(
                        PolyCollection(
                            boxes[visible],
                            facecolors=colour_of[index],
                            edgecolors="black",
                            linewidths=0.2,
                            alpha=0.85,
                        )
                    )
                ax.set_ylim(low, high)
                octaves = [p for p in range(low, high + 1) if p % 12 == 0]  # every C
                ticks = octaves if len(octaves) >= 2 else list(range(low, high + 1, 4))
                ax.set_yticks(ticks, [pitch_name(p) for p in ticks])
                ax.set_ylabel("pitch")
                for c in octaves:
                    ax.axhline(c, color="0.88", linewidth=0.5, zorder=0)
            else:
                for index, (x, y) in drum_hits.items():
                    visible = (x >= first) & (x < last)
                    ax.scatter(
                        x[visible],
                        y[visible],
                        s=40,
                        marker="|",
                        color=colour_of[index],
                        linewidths=1.5,
                    )
                names = [DRUM_NAMES.get(k, f"key {k}") for k in drum_keys]
                ax.set_yticks(range(len(drum_keys)), names, fontsize=7)
                ax.set_ylim(-0.7, len(drum_keys) - 0.3)
                ax.set_ylabel("drums")
            ax.set_xlim(first, last)
            for number in range(first, last + 1):
                strong = (number - 1) % 4 == 0
                ax.axvline(
                    number,
                    color="0.45" if strong else "0.78",
                    linewidth=0.8 if strong else 0.4,
                    zorder=0,
                )
            for x, _ in marker_x:
                if first <= x <= last:
                    ax.axvline(x, color="crimson", linewidth=1.2, zorder=3)
            step = 1 if last - first <= BARS_PER_ROW else 4
            ax.set_xticks(range(first, last, step))
            ax.tick_params(axis="x", labelbottom=ax is row_axes[-1], labelsize=8)
        for x, text in marker_x:
            if first <= x < last:
                row_axes[0].text(
                    x,
                    1.01,
                    f" {text}",
                    transform=row_axes[0].get_xaxis_transform(),
                    color="crimson",
                    fontsize=9,
                    va="bottom",
                    ha="left",
                )
    axes[-1].set_xlabel("bar")

    meter = bars[0][1]
    tempo = f"{score.tempos[0].qpm:.0f} qpm, " if len(score.tempos) else ""
    fig.suptitle(
        f"{title} — {tempo}{meter.numerator}/{meter.denominator}, {n_bars} bars",
        fontsize=12,
        y=1 - 0.1 / fig_height,
        va="top",
    )
    handles = [
        plt.Rectangle((0, 0), 1, 1, color=colour_of[i], label=label)
        for i, label in zip(pitched + drums, labels, strict=True)
    ]
    fig.legend(
        handles=handles,
        loc="upper center",
        bbox_to_anchor=(0.5, 1 - 0.45 / fig_height),
        fontsize=8,
        ncol=legend_cols,
        frameon=False,
    )
    fig.tight_layout(rect=(0, 0, 1, 1 - top_in / fig_height), h_pad=0.6)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp.png")
    fig.savefig(tmp, dpi=DPI)
    plt.close(fig)
    os.replace(tmp, path)
    return path
