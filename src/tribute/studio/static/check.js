// "Check a song": upload a MIDI or MusicXML file, pick corpora the models learned from, and read
// its originality report, with each shared run drawn on the song and on the training song.

import { drawRoll, legend } from "./roll.js";
import { reportView, runsOf } from "./report.js";
import { api, bytes, clear, follow, h } from "./util.js";

function pieceView(jobId, number, piece) {
  const holder = h("div", { class: "roll" });
  const legendHolder = h("div");
  const box = h("section", { class: "panel piece" }, h("h3", {}, piece.name),
    reportView(piece.report, piece.findings || [], (n) => `/api/jobs/${jobId}/pieces/${number}/compare/${n}`),
    piece.midi ? h("div", {}, h("h4", {}, "Piano roll"), legendHolder, holder) : null);
  if (piece.midi) {
    api(`/api/jobs/${jobId}/pieces/${number}/roll`).then((data) => {
      legendHolder.replaceChildren(legend(data));
      drawRoll(holder, data, { runs: runsOf(piece.report), height: 260 });
    }).catch((error) => holder.replaceChildren(h("p", { class: "error" }, error.message)));
  }
  return box;
}

async function showResult(results, jobId) {
  const job = await api(`/api/jobs/${jobId}`);
  if (job.status !== "done") {
    clear(results, h("p", { class: job.status === "failed" ? "error" : "muted", id: "check-error" }, job.error || job.status));
    return;
  }
  const result = job.result;
  clear(results, h("p", { class: "muted" }, `Checked against ${result.against.join(", ")} (${result.index_songs} songs).`),
    result.pieces.map((piece, i) => pieceView(jobId, i + 1, piece)));
}

export async function checkPage(main, info) {
  const present = info.corpora.filter((c) => c.present);
  const message = h("p", { class: "error", role: "alert" });
  const status = h("span", { class: "muted" });
  const results = h("div", { id: "check-results" });
  let upload = null;
  const file = h("input", { type: "file", id: "check-file", accept: ".mid,.midi,.kar,.rmi,.musicxml,.xml,.mxl",
    onchange: async () => {
      upload = null;
      message.textContent = "";
      if (!file.files.length) return;
      status.textContent = "uploading…";
      try {
        upload = await api(`/api/uploads?name=${encodeURIComponent(file.files[0].name)}`, { method: "POST", raw: file.files[0] });
        status.textContent = `${upload.name}: ${upload.kind}, ${bytes(upload.size_bytes)}`;
      } catch (error) { status.textContent = ""; message.textContent = error.message; }
    } });
  const boxes = present.map((c) => h("label", { class: "toggle" },
    h("input", { type: "checkbox", name: "against", value: c.id, checked: true }), `${c.name}${c.songs != null ? ` (${c.songs} songs)` : ""}`));
  const form = h("form", { id: "check", onsubmit: async (event) => {
    event.preventDefault();
    message.textContent = "";
    if (!upload) { message.textContent = "choose a MIDI or MusicXML file first"; return; }
    const against = [...form.querySelectorAll("input[name=against]:checked")].map((e) => e.value);
    try {
      const job = await api("/api/check", { method: "POST", body: { upload: upload.id, against } });
      const stage = h("p", { class: "stage" }, "queued");
      clear(results, h("div", { class: "panel" }, h("h3", {}, `Checking ${upload.name}`), stage));
      follow(job.id, (e) => {
        if (e.event === "stage") stage.textContent = e.stage;
        if (e.event === "done") showResult(results, job.id);
      });
    } catch (error) { message.textContent = error.message; }
  } },
  h("div", { class: "field" }, h("label", { for: "check-file" }, "Song (MIDI or MusicXML, ≤ ", bytes(info.limits.upload_bytes), ")"), h("span", {}, file, status)),
  h("div", { class: "field" }, h("label", {}, "Against"), present.length ? boxes : h("span", { class: "muted" }, "no corpus on disk")),
  h("div", { class: "submit" }, h("button", { type: "submit", class: "primary" }, "Check"), message));
  clear(main, h("section", { class: "panel" }, h("h2", {}, "Check a song"),
    h("p", { class: "muted" }, "Is a song new, or does it copy a passage of a song the models learned from? Any MIDI or MusicXML file; the report names the longest shared run per part and the training song it comes from."),
    form), results);
}
