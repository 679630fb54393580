// The in-page piano roll: an SVG drawn from /api/songs/ID/roll (notes in bars, 1.0 = bar 1),
// with section markers, the originality runs highlighted, a playhead that follows the audio
// and click-to-seek. Same coordinates and colours as the rendered PNG (matplotlib's tab10).

import { h, svg } from "./util.js";

export const COLOURS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
  "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];
const TOP = 20; // px: the section band
const BOTTOM = 16; // px: bar numbers
const DRUM_ROW = 7; // px per drum sound
const MIN_BAR_PX = 28;

// Track index → colour, in the PNG's order: pitched tracks with notes first, then drums.
export function colours(data) {
  const drawn = [...data.tracks.keys()].filter((i) => data.tracks[i].notes.length);
  const order = [...drawn.filter((i) => !data.tracks[i].is_drum), ...drawn.filter((i) => data.tracks[i].is_drum)];
  return new Map(order.map((track, n) => [track, COLOURS[n % COLOURS.length]]));
}

function layout(data, width, height) {
  const first = data.first_bar, last = data.last_bar + 1;
  const barPx = Math.max(MIN_BAR_PX, (width - 4) / (last - first));
  const pitched = data.tracks.filter((t) => !t.is_drum).flatMap((t) => t.notes.map((n) => n[2]));
  const drumKeys = [...new Set(data.tracks.filter((t) => t.is_drum)
    .flatMap((t) => t.notes.map((n) => n[2])))].sort((a, b) => a - b);
  const drumPx = drumKeys.length * DRUM_ROW + (drumKeys.length ? 6 : 0);
  const low = pitched.length ? Math.min(...pitched) - 2 : 48;
  const high = pitched.length ? Math.max(...pitched) + 2 : 72;
  const pitchPx = Math.max(60, height - TOP - BOTTOM - drumPx);
  return {
    first, last, barPx, drumKeys, low, high, pitchPx,
    width: barPx * (last - first), height: TOP + pitchPx + drumPx + BOTTOM,
    x: (bar) => (bar - first) * barPx,
    y: (pitch) => TOP + ((high - pitch) / (high - low)) * pitchPx,
    drumY: (key) => TOP + pitchPx + 4 + drumKeys.indexOf(key) * DRUM_ROW,
    rowPx: pitchPx / (high - low),
  };
}

function grid(L, data) {
  const lines = [];
  for (let bar = L.first; bar <= L.last; bar++) {
    const strong = (bar - 1) % 4 === 0;
    lines.push(svg("line", { x1: L.x(bar), x2: L.x(bar), y1: TOP, y2: L.height - BOTTOM,
      class: strong ? "bar strong" : "bar" }));
    if (bar < L.last && (L.last - L.first <= 48 || strong)) {
      lines.push(svg("text", { x: L.x(bar) + 2, y: L.height - 4, class: "barno" }, bar));
    }
  }
  for (const section of data.sections) {
    if (section.bar < L.first || section.bar > L.last) continue;
    lines.push(svg("line", { x1: L.x(section.bar), x2: L.x(section.bar), y1: 0, y2: L.height - BOTTOM,
      class: "section" }));
    lines.push(svg("text", { x: L.x(section.bar) + 3, y: 13, class: "section-name" }, section.name));
  }
  return lines;
}

function notes(L, data, focus) {
  const shapes = [];
  const colourOf = colours(data);
  data.tracks.forEach((track, index) => {
    const colour = colourOf.get(index);
    const faded = focus !== null && focus !== undefined && focus !== index;
    for (const [x0, x1, pitch] of track.notes) {
      if (x1 < L.first || x0 > L.last) continue;
      if (track.is_drum) {
        shapes.push(svg("rect", { x: L.x(x0), y: L.drumY(pitch), width: 2, height: DRUM_ROW - 1,
          fill: colour, opacity: faded ? 0.25 : 0.9 }));
      } else {
        shapes.push(svg("rect", { x: L.x(x0), y: L.y(pitch) - L.rowPx * 0.45,
          width: Math.max(1.5, L.x(x1) - L.x(x0) - 0.5), height: Math.max(2, L.rowPx * 0.9),
          fill: colour, opacity: faded ? 0.25 : 0.9, class: "note" }));
      }
    }
  });
  return shapes;
}

function highlights(L, runs) {
  return runs.map((run, i) => {
    const x0 = L.x(Math.max(run.from, L.first)), x1 = L.x(Math.min(run.to, L.last));
    return svg("g", { class: `run run-${run.level || "shared"}` },
      svg("rect", { x: x0, y: TOP, width: Math.max(2, x1 - x0), height: L.height - TOP - BOTTOM }),
      svg("title", {}, run.label || "shared run"),
      svg("text", { x: x0 + 3, y: TOP + 12 + 13 * i, class: "run-label" }, run.label || "")); // stacked
  });
}

export function legend(data) {
  const colourOf = colours(data);
  return h("ul", { class: "legend" }, [...colourOf.keys()].map((index) => {
    const track = data.tracks[index];
    const swatch = h("span", { class: "swatch" });
    swatch.style.background = colourOf.get(index); // CSSOM: allowed by the page's CSP
    return h("li", {}, swatch,
      `${track.name} (${track.is_drum ? "drums" : `program ${track.program}`}, ${track.notes.length} notes)`);
  }));
}

// Draw into `holder`; returns {setTime(seconds)} to move the playhead.
// options: runs [{from, to, label, level}] in bars, onSeek(seconds), focus (track index), height.
export function drawRoll(holder, data, options = {}) {
  const width = holder.clientWidth || 900;
  const L = layout(data, width, options.height || 280);
  const playhead = svg("line", { x1: 0, x2: 0, y1: 0, y2: L.height - BOTTOM, class: "playhead",
    visibility: "hidden" });
  const picture = svg("svg", { width: L.width, height: L.height, class: "roll-svg",
    role: "img", "aria-label": `piano roll, bars ${data.first_bar} to ${data.last_bar}` },
  svg("rect", { x: 0, y: 0, width: L.width, height: L.height, class: "roll-bg" }),
  grid(L, data), highlights(L, options.runs || []), notes(L, data, options.focus), playhead);
  const seconds = data.bar_seconds;
  const barAt = (t) => {
    for (let i = 0; i < seconds.length - 1; i++) {
      if (t < seconds[i + 1]) return 1 + i + (t - seconds[i]) / (seconds[i + 1] - seconds[i]);
    }
    return seconds.length;
  };
  const timeAt = (bar) => {
    const i = Math.min(Math.max(Math.floor(bar) - 1, 0), seconds.length - 2);
    return seconds[i] + (bar - 1 - i) * (seconds[i + 1] - seconds[i]);
  };
  if (options.onSeek) {
    picture.addEventListener("click", (event) => {
      const box = picture.getBoundingClientRect();
      options.onSeek(timeAt(L.first + (event.clientX - box.left) / L.barPx));
    });
    picture.classList.add("seekable");
  }
  holder.replaceChildren(picture);
  return {
    setTime(t) {
      const x = L.x(barAt(t));
      playhead.setAttribute("x1", x);
      playhead.setAttribute("x2", x);
      playhead.setAttribute("visibility", t > 0 ? "visible" : "hidden");
      const left = holder.scrollLeft, view = holder.clientWidth;
      if (x < left || x > left + view - 40) holder.scrollLeft = Math.max(0, x - 40);
    },
  };
}
