// The studio's page: a hash router over four views — compose (#/), songs (#/songs), a song
// (#/song/ID, in song.js), check a song (#/check) and jobs (#/jobs). Every control of
// `tribute compose` is a field here; the server validates with the CLI's own parsers and its
// one-line messages are shown under the form.

import { songPage } from "./song.js";
import { checkPage } from "./check.js";
import { api, bytes, clear, follow, h, showAlert, statusBadge, verdictBadge, when } from "./util.js";

let info = null;
const FINISHED = ["done", "failed", "cancelled", "interrupted"];

// One row per `tribute compose` option: [name, label, flag, input attributes].
const GROUPS = [
  ["Song", [
    ["style", "Style", "--style", { type: "style" }],
    ["bars", "Bars", "--bars", { type: "number", min: 1, max: 512, placeholder: "16" }],
    ["form", "Form", "--form", { placeholder: "learned (default), or intro:4 verse:8 chorus:8 verse:8 chorus:8", size: 40 }],
    ["vary_repeats", "Vary repeated sections", "--vary-repeats", { type: "checkbox" }],
    ["key", "Key", "--key", { placeholder: "E minor" }],
    ["tempo", "Tempo (bpm)", "--tempo", { type: "number", min: 20, max: 320, step: "any", placeholder: "model's choice" }],
    ["time", "Time signature", "--time", { placeholder: "4/4" }],
    ["instruments", "Instruments", "--instruments", { placeholder: "drums,bass,guitar,keys,lead", size: 40 }],
  ]],
  ["Harmony, arrangement and primer", [
    ["chords", "Chords", "--chords", { placeholder: "verse: Em C G D; chorus: C G Am F", size: 40 }],
    ["chords_from", "Chords from a song", "--chords-from", { type: "upload" }],
    ["density", "Density", "--density", { placeholder: "bass=low,drums=high", size: 30 }],
    ["primer", "Primer (opening bars)", "--primer", { type: "upload" }],
  ]],
  ["Sampling", [
    ["n", "Songs", "-n", { type: "number", min: 1, max: 16, placeholder: "1" }],
    ["seed", "Seed", "--seed", { type: "number", min: 0, placeholder: "0" }],
    ["temperature", "Temperature", "--temperature", { type: "number", step: "0.05", min: 0.05, placeholder: "1.0" }],
    ["top_p", "Top-p", "--top-p", { type: "number", step: "0.01", min: 0.01, max: 1, placeholder: "0.95" }],
    ["batch_size", "Batch size", "--batch-size", { type: "number", min: 1, placeholder: "4" }],
    ["candidates", "Candidates", "--candidates", { type: "number", min: 1, option: "candidates" }],
  ]],
  ["Originality guard", [
    ["guard", "Check every song against the training corpora", "--no-guard when off", { type: "checkbox", checked: true }],
    ["against", "Check against", "--against", { type: "corpora" }],
    ["max_retries", "Resamples of a copy", "--max-retries", { type: "number", min: 0, placeholder: "3" }],
    ["name", "File name", "--name", { placeholder: "song", pattern: "[A-Za-z0-9][A-Za-z0-9_-]*" }],
  ]],
];

function modelCard(model) {
  const bits = model.bits_per_note_after != null
    ? `held-out ${model.held_out_split || "validation"} songs: ${model.bits_per_note_before.toFixed(3)} → ${model.bits_per_note_after.toFixed(3)} bits per note`
    : "no fine-tuning summary (a pretrained model)";
  const corpora = model.corpora.map((id) => info.corpora.find((c) => c.id === id))
    .map((c) => `${c.name}${c.present ? (c.songs != null ? ` (${c.songs} songs)` : "") : " (missing)"}`);
  return h("div", { class: "model-card" },
    h("p", {}, h("strong", {}, model.name), ` — ${model.kind}${model.preset ? `, ${model.preset}` : ""}`,
      model.base_model ? `, fine-tuned from ${model.base_model}` : "", model.method ? ` (${model.method})` : ""),
    h("p", {}, `Styles: ${model.styles.join(", ") || "none"}${model.default_style ? `; its own: ${model.default_style}` : ""}`),
    h("p", {}, bits),
    h("p", {}, `Learned from: ${corpora.join(", ") || "no recorded corpus"}`),
    h("details", {}, h("summary", {}, "tribute models info"), h("pre", {}, model.info)));
}

function uploadField(name) {
  const status = h("span", { class: "muted upload-status" });
  const hidden = h("input", { type: "hidden", name });
  hidden.keep = (id) => { hidden.value = id; status.textContent = `the earlier request's file (upload ${id})`; };
  const file = h("input", { type: "file", id: `f-${name}`, accept: ".mid,.midi,.kar,.rmi,.musicxml,.xml,.mxl",
    onchange: async () => {
      hidden.value = "";
      if (!file.files.length) { status.textContent = ""; return; }
      const chosen = file.files[0];
      status.textContent = "uploading…";
      try {
        const up = await api(`/api/uploads?name=${encodeURIComponent(chosen.name)}`, { method: "POST", raw: chosen });
        hidden.value = up.id;
        status.textContent = `${up.name}: ${up.kind}, ${bytes(up.size_bytes)}`;
        status.className = "muted upload-status";
      } catch (error) {
        status.textContent = error.message;
        status.className = "error upload-status";
      }
    } });
  return h("span", { class: "upload" }, file, hidden, status);
}

function field(name, label, flag, attrs, model) {
  const id = `f-${name}`;
  let input;
  if (attrs.type === "style") {
    input = h("select", { id, name }, h("option", { value: "" }, model.default_style ? `its own (${model.default_style})` : "none"),
      model.styles.map((s) => h("option", { value: s }, s)));
  } else if (attrs.type === "upload") {
    input = uploadField(name);
  } else if (attrs.type === "corpora") {
    input = h("span", { class: "corpora" }, model.corpora.map((cid) => {
      const c = info.corpora.find((x) => x.id === cid);
      return h("label", { class: "toggle" }, h("input", { type: "checkbox", name: "against", value: cid, disabled: !c.present }), c.name);
    }), h("span", { class: "muted" }, " (none ticked: all the model learned from)"));
  } else {
    input = h("input", { id, name, ...attrs, option: null });
  }
  const row = h("div", { class: `field field-${attrs.type || "text"}` },
    h("label", { for: id }, label, h("code", { class: "flag" }, flag)), input);
  return row;
}

function collect(form) {
  const body = { model: form.elements.model.value };
  for (const [, rows] of GROUPS) {
    for (const [name, , , attrs] of rows) {
      const element = form.elements[name];
      if (!element || attrs.type === "corpora") continue;
      if (attrs.type === "checkbox") body[name] = element.checked;
      else if (attrs.type === "number") { if (element.value !== "") body[name] = Number(element.value); }
      else if (element.value && element.value.trim()) body[name] = element.value.trim();
    }
  }
  const against = [...form.querySelectorAll("input[name=against]:checked")].map((e) => e.value);
  if (against.length) body.against = against;
  return body;
}

function fill(form, request) {
  for (const [key, value] of Object.entries(request)) {
    const element = form.elements[key];
    if (!element || key === "model" || key === "against") continue;
    if (element.type === "hidden") element.keep(value);
    else if (element.type === "checkbox") element.checked = Boolean(value);
    else element.value = value;
  }
  for (const box of form.querySelectorAll("input[name=against]")) box.checked = (request.against || []).includes(box.value);
}

function composeForm(model, onJob) {
  const message = h("p", { class: "error", id: "form-error", role: "alert" });
  const select = h("select", { name: "model", id: "f-model", onchange: () => { location.hash = `#/?model=${select.value}`; } },
    info.models.map((m) => h("option", { value: m.id, selected: m.id === model.id }, m.name)));
  const groups = GROUPS.map(([title, rows]) => h("fieldset", {}, h("legend", {}, title),
    rows.filter(([, , , a]) => !a.option || info.options[a.option]).map((r) => field(...r, model))));
  const form = h("form", { id: "compose", novalidate: true, onsubmit: async (event) => {
    event.preventDefault();
    message.textContent = "";
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    try { onJob(await api("/api/compose", { method: "POST", body: collect(form) })); }
    catch (error) { message.textContent = error.message; }
    finally { button.disabled = false; }
  } },
  h("fieldset", {}, h("legend", {}, "Model"), h("div", { class: "field" }, h("label", { for: "f-model" }, "Model"), select), modelCard(model)),
  groups, h("div", { class: "submit" }, h("button", { type: "submit", class: "primary", id: "compose-button" }, "Compose"), message));
  const corporaHere = model.corpora.some((id) => (info.corpora.find((c) => c.id === id) || {}).present);
  if (!corporaHere) { // the guard needs them: off by default, and the page says why
    form.elements.guard.checked = false;
    form.elements.guard.after(h("span", { class: "muted" }, " off: the model's training corpora are not on this machine"));
  }
  return form;
}

function progressLine(job) {
  const p = job.progress || {};
  const bits = [];
  if (p.sections) bits.push(`section ${p.index + 1} of ${p.sections}${p.section ? ` (${p.section})` : ""}`);
  if (p.bars_total) bits.push(`bar ${Math.min(p.bars_done || 0, p.bars_total)} of ${p.bars_total}`);
  if (p.tokens_per_s) bits.push(`${Math.round(p.tokens_per_s)} tokens/s`);
  return bits.join(" · ");
}

// A live view of one job, fed by its event stream.
export function jobPanel(jobId, { onAudio } = {}) {
  const panel = h("div", { class: "panel job", id: "job", dataset: { job: jobId } }, h("p", { class: "muted" }, "Waiting for the job…"));
  let job = null;
  const render = () => {
    const running = !FINISHED.includes(job.status);
    const bar = job.progress && job.progress.bars_total ? h("progress", { max: job.progress.bars_total, value: Math.min(job.progress.bars_done || 0, job.progress.bars_total) }) : null;
    clear(panel, h("h3", {}, job.title, " ", statusBadge(job.status)),
      bar, h("p", { class: "stage", id: "job-stage" }, job.stage || (job.status === "queued" ? "waiting in the queue" : "")),
      h("p", { class: "muted", id: "job-progress" }, running ? progressLine(job) : ""),
      job.error ? h("p", { class: "error", id: "job-error" }, job.error) : null,
      job.songs.length ? h("p", {}, "Songs: ", job.songs.map((s) => h("a", { href: `#/song/${s}`, class: "song-link" }, s, " "))) : null,
      running ? h("button", { type: "button", id: "cancel", onclick: () => api(`/api/jobs/${job.id}/cancel`, { method: "POST" }).catch((e) => showAlert(e.message)) }, "Cancel") : null,
      h("details", {}, h("summary", {}, "Log"), h("pre", { class: "log" }, (job.log || []).join("\n"))));
  };
  follow(jobId, (event) => {
    if (event.event === "snapshot" || event.event === "done") { job = { log: [], ...event.job, log: event.job.log || (job && job.log) || [] }; }
    else if (!job) return;
    else if (event.event === "state") job.status = event.status;
    else if (event.event === "stage") job.stage = event.stage;
    else if (event.event === "section" || event.event === "bar") job.progress = event.progress;
    else if (event.event === "update") Object.assign(job, Object.fromEntries(Object.entries(event).filter(([k]) => !["event", "seq"].includes(k))));
    else if (event.event === "log") job.log = [...job.log, event.line].slice(-200);
    else if (event.event === "end") Object.assign(job, { status: event.status, error: event.error });
    else if (event.event === "audio" && onAudio) onAudio(event.songs);
    render();
  });
  return panel;
}

async function composeView(main, params) {
  const model = info.models.find((m) => m.id === params.get("model")) || info.models[0];
  const side = h("div", { class: "side-column" });
  const showJob = (job) => {
    const panel = jobPanel(job.id, { onAudio: (songs) => {
      if (panel.isConnected) location.hash = `#/song/${songs[0]}`; // still watching this job
    } });
    clear(side, panel, recentSongs());
  };
  const form = composeForm(model, showJob);
  clear(main, h("div", { class: "compose-layout" }, form, side));
  clear(side, recentSongs());
  if (params.get("from")) {
    const song = await api(`/api/songs/${params.get("from")}`);
    const request = { ...(song.request || {}), seed: song.record.requested_seed, n: 1 };
    if (request.model && request.model !== model.id) { location.hash = `#/?model=${request.model}&from=${params.get("from")}`; return; }
    fill(form, request);
  }
  if (params.get("job")) showJob({ id: params.get("job") });
}

function recentSongs() {
  const list = h("div", { class: "panel" }, h("h3", {}, "Recent songs"), h("p", { class: "muted" }, "…"));
  api("/api/songs").then((songs) => {
    clear(list, h("h3", {}, "Recent songs"), songs.length ? songTable(songs.slice(0, 8)) : h("p", { class: "muted" }, "None yet."));
  }).catch((e) => showAlert(e.message));
  return list;
}

function songTable(songs) {
  return h("table", { class: "list" }, h("tbody", {}, songs.map((s) => h("tr", {},
    h("td", {}, h("a", { href: `#/song/${s.id}` }, s.stem)), h("td", {}, verdictBadge(s.verdict)),
    h("td", { class: "muted" }, s.title || ""), h("td", { class: "muted" }, `${s.bars || "?"} bars, seed ${s.seed ?? "–"}`),
    h("td", { class: "muted" }, when(s.created))))));
}

async function songsView(main) {
  const songs = await api("/api/songs");
  clear(main, h("section", { class: "panel" }, h("h2", {}, "Songs"),
    songs.length ? songTable(songs) : h("p", { class: "muted" }, "No songs yet: compose one.")));
}

async function jobsView(main) {
  const jobs = await api("/api/jobs");
  const rows = jobs.map((j) => h("tr", {},
    h("td", { class: "muted" }, when(j.created)), h("td", {}, j.kind), h("td", {}, h("a", { href: `#/?job=${j.id}` }, j.title)),
    h("td", {}, statusBadge(j.status)), h("td", { class: "muted" }, j.error || j.stage || ""),
    h("td", {}, j.songs.map((s) => h("a", { href: `#/song/${s}` }, s, " "))),
    h("td", {}, FINISHED.includes(j.status) ? "" : h("button", { type: "button", class: "small",
      onclick: () => api(`/api/jobs/${j.id}/cancel`, { method: "POST" }).then(() => jobsView(main)).catch((e) => showAlert(e.message)) }, "Cancel"))));
  clear(main, h("section", { class: "panel" }, h("h2", {}, "Jobs"),
    jobs.length ? h("table", { class: "list" }, h("tbody", {}, rows)) : h("p", { class: "muted" }, "No jobs yet.")));
}

async function route() {
  const main = document.getElementById("view");
  const [path, query] = (location.hash.slice(1) || "/").split("?");
  const params = new URLSearchParams(query || "");
  const parts = path.split("/").filter(Boolean);
  const view = parts[0] || "compose";
  for (const link of document.querySelectorAll("nav a")) link.classList.toggle("active", link.dataset.view === view || (view === "song" && link.dataset.view === "songs"));
  showAlert("");
  queueCount();
  try {
    if (view === "song" && parts[1]) await songPage(main, parts[1], info, (hash) => { location.hash = hash; });
    else if (view === "songs") await songsView(main);
    else if (view === "jobs") await jobsView(main);
    else if (view === "check") await checkPage(main, info);
    else await composeView(main, params);
  } catch (error) {
    clear(main, h("p", { class: "error" }, error.message));
  }
}

async function queueCount() {
  try {
    const jobs = await api("/api/jobs");
    const busy = jobs.filter((j) => !FINISHED.includes(j.status)).length;
    const badge = document.getElementById("queue-count");
    badge.textContent = busy;
    badge.hidden = busy === 0;
  } catch { /* the next poll tells */ }
}

async function start() {
  info = await api("/api/info");
  document.getElementById("version").textContent = `tribute ${info.version}`;
  if (!info.models.length) { clear(document.getElementById("view"), h("p", { class: "error" }, "This studio has no model.")); return; }
  window.addEventListener("hashchange", route);
  await route();
  document.body.dataset.ready = "true";
  setInterval(queueCount, 3000); // 3 s: a glance at the queue, not a load
  queueCount();
}

start().catch((error) => showAlert(error.message));
