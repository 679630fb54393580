// The originality report (tribute.originality.Report.to_json): verdict and reasons, the longest
// shared run, each role's longest run with its training song and bars on both sides, copied
// passages, the nearest training songs; "both sides" draws the song's and the training song's
// bars one above the other (from …/compare/N).

import { drawRoll, legend } from "./roll.js";
import { api, h, verdictBadge } from "./util.js";

const ROLE_NAMES = { lead: "lead melody", bass: "bass line", other: "other parts",
  chords: "chord progression", drums: "drum groove" };

function bars(pair) {
  return pair[0] === pair[1] ? `bar ${pair[0]}` : `bars ${pair[0]}–${pair[1]}`;
}

// Runs to highlight on the song's roll: the copied passages, and the lead melody's longest run.
export function runsOf(report) {
  if (!report) return [];
  const copied = report.passages || [];
  const lead = report.roles && report.roles.lead;
  const chosen = [...copied];
  if (lead && !copied.some((p) => p.role === "lead" && p.query_bars[0] === lead.query_bars[0])) chosen.push(lead);
  return chosen.map((f) => ({
    from: f.query_bars[0], to: f.query_bars[1] + 1,
    label: `${ROLE_NAMES[f.role] || f.role}: ${f.length} shared with “${f.title}” ${bars(f.match_bars)}`,
    level: copied.includes(f) ? "review" : "shared",
  }));
}

function leadLine(report) {
  const lead = report.roles && report.roles.lead;
  if (!lead) return h("p", {}, "Longest shared run of the lead melody: none (no run of the minimum length is shared with any training song).");
  return h("p", { class: "lead-run" }, "Longest shared run of the lead melody: ",
    h("strong", {}, `${lead.length} intervals`), ` (${Math.round(100 * lead.relative)}% of the melody, rarity-weighted ${lead.weighted}) with `,
    h("em", {}, `“${lead.title}”`), ` — this song's ${bars(lead.query_bars)} = its ${bars(lead.match_bars)}.`);
}

function roleTable(report, findings, compare) {
  const rows = Object.entries(report.roles || {}).map(([role, f]) => {
    const limits = (report.thresholds || {})[role];
    const limit = limits ? `review > ${limits.review_at.toFixed(1)}, copy ≥ ${limits.copy_at.toFixed(1)}` : "not judged";
    if (!f) return h("tr", {}, h("td", {}, ROLE_NAMES[role] || role), h("td", { colspan: 5 }, "no shared run"), h("td", {}, limit), h("td"));
    const index = findings.indexOf(findings.find((x) => x.role === f.role && x.song_id === f.song_id && x.query_bars[0] === f.query_bars[0]));
    return h("tr", {},
      h("td", {}, ROLE_NAMES[role] || role), h("td", { class: "num" }, f.length), h("td", { class: "num" }, f.weighted),
      h("td", {}, `“${f.title}”`), h("td", {}, `${bars(f.query_bars)} (${f.query_track})`),
      h("td", {}, `${bars(f.match_bars)} (${f.match_track})`), h("td", { class: "muted" }, limit),
      h("td", {}, index >= 0 ? h("button", { type: "button", class: "small", onclick: () => compare(index) }, "Both sides") : ""));
  });
  return h("table", { class: "roles" },
    h("thead", {}, h("tr", {}, ["part", "length", "weighted", "training song", "this song", "training song's bars", "limits", ""].map((t) => h("th", {}, t)))),
    h("tbody", {}, rows));
}

function passages(report, findings, compare) {
  if (!report.passages || !report.passages.length) return null;
  return h("div", {}, h("h4", {}, "Passages that may be copied"),
    h("ul", { class: "passages" }, report.passages.map((p, i) => h("li", {},
      `${ROLE_NAMES[p.role] || p.role}: ${bars(p.query_bars)} (${p.query_track}) = “${p.title}” ${bars(p.match_bars)} (${p.match_track})`,
      p.notes && p.notes.length ? h("span", { class: "muted" }, ` — ${p.notes.join(" ")}`) : "",
      " ", h("button", { type: "button", class: "small", onclick: () => compare(i) }, "Both sides")))));
}

function nearest(report) {
  if (!report.nearest || !report.nearest.length) return h("p", { class: "muted" }, "Nearest training songs: none share a run.");
  return h("div", {}, h("h4", {}, "Nearest training songs"),
    h("ol", { class: "nearest" }, report.nearest.map((n) =>
      h("li", {}, h("strong", {}, `“${n.title}”`), ` (${n.song_id}): ${ROLE_NAMES[n.role] || n.role} shares ${n.length}, weighted ${n.weighted}`))));
}

function drawSide(title, side, height) {
  const holder = h("div", { class: "roll small-roll" });
  const box = h("figure", { class: "side" }, h("figcaption", {}, title), holder, legend(side));
  requestAnimationFrame(() => drawRoll(holder, side, { height, focus: side.track,
    runs: [{ from: side.run[0], to: side.run[1], label: "shared run", level: "review" }] }));
  return box;
}

// Both sides of finding `index` from `url(index)`, drawn into `target`.
async function showCompare(target, url) {
  target.replaceChildren(h("p", { class: "muted" }, "Reading both passages…"));
  try {
    const found = await api(url);
    const f = found.finding;
    target.replaceChildren(
      h("h4", {}, `Shared ${ROLE_NAMES[f.role] || f.role}: ${f.length} tokens`),
      drawSide(`This song, ${bars(f.query_bars)} — ${f.query_track}`, found.song, 200),
      found.reference
        ? drawSide(`Training song “${f.title}” (${f.corpus || "corpus"}), ${bars(f.match_bars)} — ${f.match_track}`, found.reference, 200)
        : h("p", { class: "muted" }, found.missing));
  } catch (error) {
    target.replaceChildren(h("p", { class: "error" }, error.message));
  }
}

// The report as an element; compareUrl(n) gives the URL of finding n's both-sides view.
export function reportView(report, findings, compareUrl) {
  if (!report) return h("p", { class: "muted" }, "No originality report: the guard was off for this song.");
  const sides = h("div", { class: "compare" });
  const compare = (index) => showCompare(sides, compareUrl(index));
  const novelty = (report.novelty || {}).lead || {};
  return h("div", { class: "report" },
    h("p", { class: "verdict-line" }, "Verdict: ", verdictBadge(report.verdict),
      report.calibrated ? "" : h("span", { class: "muted" }, " (index not calibrated: floor thresholds)")),
    report.reasons && report.reasons.length ? h("ul", { class: "reasons" }, report.reasons.map((r) => h("li", {}, r))) : null,
    leadLine(report),
    roleTable(report, findings, compare),
    passages(report, findings, compare),
    nearest(report),
    Object.keys(novelty).length ? h("p", { class: "muted" }, "Novel n-grams of the lead: " +
      Object.entries(novelty).filter(([, v]) => v !== null).map(([n, v]) => `${Math.round(100 * v)}% of ${n}-grams`).join(", ")) : null,
    sides);
}
