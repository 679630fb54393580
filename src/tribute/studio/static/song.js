// The song page: the mix and the stems (solo/mute), the piano roll with its sections, runs and
// playhead, the score and lead sheet pages (verovio SVG), the originality report, the song's
// controls and seed, downloads, "compose again" / "new seed" and, where the library has song
// editing, "regenerate bars or a part".

import { drawRoll, legend } from "./roll.js";
import { reportView, runsOf } from "./report.js";
import { api, clear, follow, h, showAlert, verdictBadge, when } from "./util.js";

// Stems played together through Web Audio, each with a gain: solo and mute without drift.
class StemMixer {
  constructor(stems, onTime) {
    this.stems = stems.map((s) => ({ ...s, muted: false, solo: false, buffer: null, gain: null }));
    this.onTime = onTime;
    this.context = null;
    this.sources = [];
    this.offset = 0;
    this.startedAt = 0;
  }

  async load() {
    if (this.context) return;
    this.context = new AudioContext();
    await Promise.all(this.stems.map(async (stem) => {
      const data = await (await fetch(stem.url)).arrayBuffer();
      stem.buffer = await this.context.decodeAudioData(data);
      stem.gain = this.context.createGain();
      stem.gain.connect(this.context.destination);
    }));
    this.apply();
  }

  apply() {
    const soloed = this.stems.some((s) => s.solo);
    for (const stem of this.stems) {
      if (stem.gain) stem.gain.gain.value = (soloed ? stem.solo : !stem.muted) ? 1 : 0;
    }
  }

  get playing() { return this.sources.length > 0; }

  async play() {
    await this.load();
    await this.context.resume();
    this.stop(false);
    const when = this.context.currentTime + 0.05;
    this.sources = this.stems.map((stem) => {
      const source = this.context.createBufferSource();
      source.buffer = stem.buffer;
      source.connect(stem.gain);
      source.start(when, this.offset);
      return source;
    });
    this.startedAt = when - this.offset;
    this.sources[0].onended = () => { if (this.playing) this.stop(true); };
    const tick = () => {
      if (!this.playing) return;
      this.onTime(this.context.currentTime - this.startedAt);
      requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
  }

  stop(rewind = true) {
    if (this.playing && !rewind) this.offset = this.context.currentTime - this.startedAt;
    for (const source of this.sources) { source.onended = null; source.stop(); }
    this.sources = [];
    if (rewind) this.offset = 0;
  }

  seek(seconds) {
    const was = this.playing;
    this.stop(true);
    this.offset = seconds;
    if (was) this.play();
  }
}

function stemsPanel(view, mixer, mix) {
  if (!view.stems.length) return h("p", { class: "muted" }, "No stems were rendered.");
  const button = h("button", { type: "button", onclick: async () => {
    if (mixer.playing) { mixer.stop(false); button.textContent = "▶ Play stems"; return; }
    mix.pause();
    button.textContent = "Loading stems…";
    await mixer.play();
    button.textContent = "❚❚ Pause stems";
  } }, "▶ Play stems");
  const rows = mixer.stems.map((stem) => {
    const toggle = (key, label) => h("label", { class: "toggle" },
      h("input", { type: "checkbox", onchange: (e) => { stem[key] = e.target.checked; mixer.apply(); } }), label);
    return h("li", {}, h("span", { class: "stem-name" }, stem.name), toggle("solo", "solo"), toggle("muted", "mute"),
      h("a", { href: `${stem.url}?download=1`, download: "" }, "WAV"));
  });
  return h("div", { class: "stems" }, button, h("ul", {}, rows));
}

function downloads(view) {
  const f = view.files;
  const link = (url, label) => url && h("a", { class: "download", href: `${url}?download=1`, download: "" }, label);
  return h("div", { class: "downloads" },
    link(f.midi, "MIDI"), link(f.wav, "WAV mix"), link(f.musicxml, "MusicXML"), link(f.pdf, "PDF score"),
    link(f["lead-musicxml"], "Lead sheet (MusicXML)"), link(f["lead-pdf"], "Lead sheet (PDF)"),
    link(f.pianoroll, "Piano roll (PNG)"), link(f.json, "Report (JSON)"),
    view.stems.map((s) => link(s.url, `Stem ${s.name}`)),
    view.rendered ? h("a", { class: "download primary", href: view.zip, download: "" }, "Everything (zip)")
      : h("span", { class: "muted" }, "The zip is offered once the score is engraved."));
}

function ordinal(n) {
  const teen = n % 100 >= 10 && n % 100 <= 20;
  return `${n}${teen ? "th" : ({ 1: "st", 2: "nd", 3: "rd" })[n % 10] || "th"}`;
}

function styleText(style) {
  // bits per note under the style model minus under its base: lower is more artist-like
  const where = [];
  if (style.artist_percentile !== null && style.artist_percentile !== undefined)
    where.push(`as artist-like as the ${ordinal(Math.round(style.artist_percentile))}-percentile held-out song`);
  if (style.genre_percentile !== null && style.genre_percentile !== undefined)
    where.push(`more than ${Math.round(style.genre_percentile)} % of genre songs`);
  const bits = `${style.style_bits.toFixed(2)} bits/note against the base model`;
  return where.length ? `${bits} (${where.join("; ")})` : bits;
}

function controlsTable(view) {
  const record = view.record;
  const rows = [["model", view.model], ["seed", `${record.seed} (asked for ${record.requested_seed})`],
    ["styles", (record.styles || []).join(", ") || "none"], ["bars", record.bars],
    ["form", (record.form || []).map((s) => `${s.name}:${s.bars}`).join(" ")],
    ["parts", (record.parts || []).map((p) => p.name).join(", ")], ["guard", record.guard]];
  if (record.style) rows.push(["style score", styleText(record.style)]);
  for (const [key, value] of Object.entries(record.controls || {})) {
    if (value === null || (Array.isArray(value) && !value.length) || ["form", "bars"].includes(key)) continue;
    const shown = typeof value === "boolean" ? (value ? "yes" : "no") : value;
    rows.push([key, typeof shown === "object" ? JSON.stringify(shown) : shown]);
  }
  return h("table", { class: "controls" }, h("tbody", {}, rows.map(([k, v]) => h("tr", {}, h("th", {}, k), h("td", {}, v)))));
}

function scorePages(urls, label) {
  if (!urls.length) return h("p", { class: "muted" }, `No ${label} pages (yet).`);
  return h("div", { class: "pages" }, urls.map((url, i) =>
    h("img", { src: url, alt: `${label}, page ${i + 1}`, class: "score-page", loading: "lazy" })));
}

function editForm(view, go) {
  const bars = h("input", { name: "bars", placeholder: `e.g. 5-8 (of ${view.record.bars})`, size: 14 });
  const parts = h("input", { name: "parts", placeholder: "e.g. bass,lead (default every part)", size: 28 });
  const message = h("span", { class: "error" });
  return h("form", { class: "edit", onsubmit: async (event) => {
    event.preventDefault();
    message.textContent = "";
    try {
      const job = await api(`/api/songs/${view.id}/edit`, { method: "POST",
        body: { bars: bars.value, parts: parts.value, seed: Math.floor(Math.random() * 1e6) } });
      go(`#/?job=${job.id}`);
    } catch (error) { message.textContent = error.message; }
  } }, h("label", {}, "Bars (--bars) ", bars), h("label", {}, "Parts (--parts) ", parts),
  h("button", { type: "submit" }, "Regenerate"), message);
}

function actions(view, info, go) {
  const message = h("span", { class: "error" });
  const again = async (newSeed) => {
    try {
      const job = await api(`/api/songs/${view.id}/again?new_seed=${newSeed}`, { method: "POST" });
      go(`#/?job=${job.id}`);
    } catch (error) { message.textContent = error.message; }
  };
  return h("div", { class: "actions" },
    view.kind !== "edit" ? h("a", { class: "button", href: `#/?from=${view.id}` }, "Compose again with these settings") : null,
    h("button", { type: "button", onclick: () => again(true) }, "New seed"),
    message,
    info.options.edit
      ? h("details", { class: "edit-box" }, h("summary", {}, "Regenerate bars or a part"), editForm(view, go))
      : null);
}

function section(title, ...body) {
  return h("section", { class: "panel" }, h("h3", {}, title), ...body);
}

export async function songPage(main, id, info, go) {
  const view = await api(`/api/songs/${id}`);
  const record = view.record;
  const mix = h("audio", { id: "mix", controls: true, preload: "metadata", src: view.files.wav || null });
  const rollHolder = h("div", { class: "roll", id: "roll" });
  const legendHolder = h("div");
  let roll = null;
  const mixer = new StemMixer(view.stems, (t) => roll && roll.setTime(t));
  mix.addEventListener("timeupdate", () => roll && roll.setTime(mix.currentTime));
  mix.addEventListener("play", () => { if (mixer.playing) mixer.stop(false); });
  const pending = !view.rendered ? h("p", { class: "muted", id: "engraving" }, "The score is being engraved; this page refreshes when it is ready.") : null;
  clear(main,
    h("div", { class: "song-head" },
      h("h2", {}, record.song, " ", verdictBadge(record.verdict)),
      h("p", { class: "muted" }, `${view.model} · ${record.bars} bars · seed ${record.seed} · ${when(view.created)}`),
      actions(view, info, go)),
    pending,
    (view.rendering.warnings || []).length ? h("ul", { class: "warnings" }, view.rendering.warnings.map((w) => h("li", {}, w))) : null,
    section("Listen", view.files.wav ? mix : h("p", { class: "muted" }, "No audio (see the warnings above)."), stemsPanel(view, mixer, mix)),
    section("Piano roll", legendHolder, rollHolder,
      view.files.pianoroll ? h("details", { class: "png-roll" }, h("summary", {}, "The rendered piano roll (PNG)"),
        h("img", { src: view.files.pianoroll, alt: "piano roll", id: "pianoroll", class: "pianoroll" })) : null),
    section("Score", h("div", { class: "tabs" }, scorePages(view.svg, "score")),
      h("h4", {}, "Lead sheet"), scorePages(view.lead_svg, "lead sheet")),
    section("Originality", reportView(record.originality, view.findings, (n) => `/api/songs/${id}/compare/${n}`)),
    section("Controls and seed", controlsTable(view)),
    section("Downloads", downloads(view)));
  if (record.midi) {
    const data = await api(`/api/songs/${id}/roll`);
    legendHolder.replaceChildren(legend(data));
    roll = drawRoll(rollHolder, data, { runs: runsOf(record.originality), height: 300,
      onSeek: (t) => { if (mixer.playing) mixer.seek(t); else { mix.currentTime = t; } } });
  }
  if (pending && view.job) {
    const source = follow(view.job, (event) => {
      const over = event.event === "snapshot" && ["done", "failed", "cancelled", "interrupted"].includes(event.job.status);
      if (over) { source.close(); pending.textContent = "The score was not engraved (see the warnings)."; return; }
      if (event.event === "score" || event.event === "end") {
        source.close();
        if (location.hash === `#/song/${id}`) songPage(main, id, info, go).catch((e) => showAlert(e.message));
      }
    });
  }
}
