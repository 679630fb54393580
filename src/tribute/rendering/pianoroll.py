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
from dataclasses import dataclass
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


@dataclass(frozen=True)
class _Song:
    """What the drawing needs from the score: its bars and which tracks have notes."""

    bars: list  # (start tick, time signature) of each bar
    end: int  # the tick where the last bar ends
    pitched: list[int]  # indices of the pitched tracks that have notes
    drums: list[int]  # indices of the drum tracks that have notes
    drum_keys: list[int]  # the drum sounds (MIDI keys) used, one lane row each

    @property
    def n_bars(self) -> int:
        return len(self.bars)

    @property
    def drawn(self) -> list[int]:
        """Track indices in legend and colour order: pitched tracks, then drums."""
        return self.pitched + self.drums

    def to_bars(self, ticks: np.ndarray) -> np.ndarray:
        """Tick → bar position (1.0 = start of bar 1), exact across time-signature changes."""
        bar_ticks = [tick for tick, _ in self.bars]
        return 1.0 + np.interp(ticks, [*bar_ticks, self.end], np.arange(self.n_bars + 1))


@dataclass(frozen=True)
class _Layout:
    """Rows of bars, the lanes of each row, and the figure's size in inches."""

    per_row: int  # bars per row
    rows: int
    lanes: list[tuple[str, float]]  # ("pitched" | "drums", height in inches) of one row
    width: float
    labels: list[str]  # legend entries, in ``_Song.drawn`` order
    legend_cols: int
    top_in: float  # the band above the plots that holds the title and legend

    @property
    def heights(self) -> list[float]:
        return [h for _ in range(self.rows) for _, h in self.lanes]

    @property
    def fig_height(self) -> float:
        return sum(self.heights) + 0.45 * self.rows + self.top_in + 0.3


@dataclass(frozen=True)
class _Shapes:
    """Notes and markers in bar coordinates, ready to draw."""

    boxes: dict  # pitched track index → (n, 4, 2) note rectangles
    hits: dict  # drum track index → (x, lane row) of each hit
    low: int  # pitch range of the pitched lane
    high: int
    markers: list[tuple[float, str]]  # (x, text) of each section marker


def _song(score: Score) -> _Song:
    tpq = score.ticks_per_quarter
    bars = bar_starts(score)
    drums = [i for i, t in enumerate(score.tracks) if t.is_drum and t.note_num()]
    pitched = [i for i, t in enumerate(score.tracks) if not t.is_drum and t.note_num()]
    drum_keys = sorted(
        {int(p) for i in drums for p in np.unique(score.tracks[i].notes.numpy()["pitch"])}
    )
    end = bars[-1][0] + bars[-1][1].bar_ticks(tpq)
    return _Song(bars, end, pitched, drums, drum_keys)


def _layout(score: Score, song: _Song) -> _Layout:
    per_row = max(BARS_PER_ROW, -(-song.n_bars // MAX_ROWS))
    rows = -(-song.n_bars // per_row)
    lanes = [("pitched", PITCHED_HEIGHT_IN)] * bool(song.pitched)
    lanes += [("drums", max(0.8, 0.2 * len(song.drum_keys)))] * bool(song.drums)
    width = max(10.0, min(song.n_bars, per_row) * WIDTH_PER_BAR_IN)
    # Legend columns that fit the width (~0.075 in per character at 8 pt), and the rows they
    # need: the title and legend sit above the plots in a band of constant inches.
    labels = [_track_label(score.tracks[i], i) for i in song.drawn]
    column_in = max(len(label) for label in labels) * 0.075 + 0.45
    legend_cols = max(1, min(len(labels), int(width // column_in)))
    legend_rows = -(-len(labels) // legend_cols)
    top_in = 0.6 + 0.2 * legend_rows
    return _Layout(per_row, rows, lanes, width, labels, legend_cols, top_in)


def _shapes(score: Score, song: _Song) -> _Shapes:
    boxes, hits = {}, {}
    low = high = 0
    if song.pitched:
        pitches = [score.tracks[i].notes.numpy()["pitch"] for i in song.pitched]
        low = int(min(p.min() for p in pitches)) - 2
        high = int(max(p.max() for p in pitches)) + 2
        for index in song.pitched:
            notes = score.tracks[index].notes.numpy()
            x0 = song.to_bars(notes["time"])
            x1 = song.to_bars(notes["time"] + np.maximum(notes["duration"], 1))
            boxes[index] = _boxes(x0, x1, notes["pitch"].astype(float), 0.4)
    if song.drums:
        row_of = {key: n for n, key in enumerate(song.drum_keys)}
        for index in song.drums:
            notes = score.tracks[index].notes.numpy()
            y = np.array([row_of[int(p)] for p in notes["pitch"]], dtype=float)
            hits[index] = (song.to_bars(notes["time"]), y)
    markers = sorted(
        ((int(m.time), str(m.text).strip()) for m in score.markers), key=lambda m: m[0]
    )
    marker_x = [(float(song.to_bars(np.array([tick]))[0]), text) for tick, text in markers]
    return _Shapes(boxes, hits, low, high, marker_x)


def _draw_pitched_lane(ax, shapes: _Shapes, colour_of: dict, first: int, last: int) -> None:
    from matplotlib.collections import PolyCollection

    for index, boxes in shapes.boxes.items():
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
    low, high = shapes.low, shapes.high
    ax.set_ylim(low, high)
    octaves = [p for p in range(low, high + 1) if p % 12 == 0]  # every C
    ticks = octaves if len(octaves) >= 2 else list(range(low, high + 1, 4))
    ax.set_yticks(ticks, [pitch_name(p) for p in ticks])
    ax.set_ylabel("pitch")
    for c in octaves:
        ax.axhline(c, color="0.88", linewidth=0.5, zorder=0)


def _draw_drum_lane(
    ax, shapes: _Shapes, colour_of: dict, drum_keys: list[int], first: int, last: int
) -> None:
    for index, (x, y) in shapes.hits.items():
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


def _draw_bar_lines(ax, markers: list, first: int, last: int, bar_numbers: bool) -> None:
    """Bar lines (every fourth one stronger), section marker lines and the x ticks of a lane."""
    ax.set_xlim(first, last)
    for number in range(first, last + 1):
        strong = (number - 1) % 4 == 0
        ax.axvline(
            number,
            color="0.45" if strong else "0.78",
            linewidth=0.8 if strong else 0.4,
            zorder=0,
        )
    for x, _ in markers:
        if first <= x <= last:
            ax.axvline(x, color="crimson", linewidth=1.2, zorder=3)
    step = 1 if last - first <= BARS_PER_ROW else 4
    ax.set_xticks(range(first, last, step))
    ax.tick_params(axis="x", labelbottom=bar_numbers, labelsize=8)


def _label_markers(ax, markers: list, first: int, last: int) -> None:
    """Section names above the top lane of a row."""
    for x, text in markers:
        if first <= x < last:
            ax.text(
                x,
                1.01,
                f" {text}",
                transform=ax.get_xaxis_transform(),
                color="crimson",
                fontsize=9,
                va="bottom",
                ha="left",
            )


def _draw_row(
    row_axes: list, row: int, song: _Song, layout: _Layout, shapes: _Shapes, colour_of: dict
) -> None:
    """One row (system) of ``layout.per_row`` bars: its lanes, bar lines and marker labels."""
    first = 1 + row * layout.per_row
    last = min(song.n_bars, first + layout.per_row - 1) + 1  # x range [first, last)
    for (kind, _), ax in zip(layout.lanes, row_axes, strict=True):
        if kind == "pitched":
            _draw_pitched_lane(ax, shapes, colour_of, first, last)
        else:
            _draw_drum_lane(ax, shapes, colour_of, song.drum_keys, first, last)
        _draw_bar_lines(ax, shapes.markers, first, last, bar_numbers=ax is row_axes[-1])
    _label_markers(row_axes[0], shapes.markers, first, last)


def _draw_title_and_legend(
    fig, plt, score: Score, song: _Song, layout: _Layout, colour_of: dict, title: str
) -> None:
    """The title (tempo, meter, length) and the legend, in the band above the plots."""
    fig_height = layout.fig_height
    meter = song.bars[0][1]
    tempo = f"{score.tempos[0].qpm:.0f} qpm, " if len(score.tempos) else ""
    fig.suptitle(
        f"{title} — {tempo}{meter.numerator}/{meter.denominator}, {song.n_bars} bars",
        fontsize=12,
        y=1 - 0.1 / fig_height,
        va="top",
    )
    handles = [
        plt.Rectangle((0, 0), 1, 1, color=colour_of[i], label=label)
        for i, label in zip(song.drawn, layout.labels, strict=True)
    ]
    fig.legend(
        handles=handles,
        loc="upper center",
        bbox_to_anchor=(0.5, 1 - 0.45 / fig_height),
        fontsize=8,
        ncol=layout.legend_cols,
        frameon=False,
    )


def _save(fig, plt, path: Path) -> None:
    """Write the PNG through a temporary file, so that ``path`` is never half written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp.png")
    fig.savefig(tmp, dpi=DPI)
    plt.close(fig)
    os.replace(tmp, path)


def draw_pianoroll(score: Score, path: Path, title: str = "") -> Path:
    """Write the piano roll of ``score`` to ``path`` (PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if end_tick(score) == 0:
        raise TributeError("the song has no notes: nothing to draw")
    song = _song(score)
    layout = _layout(score, song)
    shapes = _shapes(score, song)
    fig, grid = plt.subplots(
        len(layout.heights),
        1,
        squeeze=False,
        figsize=(layout.width, layout.fig_height),
        gridspec_kw={"height_ratios": layout.heights},
    )
    axes = list(grid[:, 0])
    colours = plt.get_cmap("tab10")
    colour_of = {index: colours(order % 10) for order, index in enumerate(song.drawn)}
    n_lanes = len(layout.lanes)
    for row in range(layout.rows):
        row_axes = axes[row * n_lanes : (row + 1) * n_lanes]
        _draw_row(row_axes, row, song, layout, shapes, colour_of)
    axes[-1].set_xlabel("bar")
    _draw_title_and_legend(fig, plt, score, song, layout, colour_of, title)
    fig.tight_layout(rect=(0, 0, 1, 1 - layout.top_in / layout.fig_height), h_pad=0.6)
    _save(fig, plt, path)
    return path
