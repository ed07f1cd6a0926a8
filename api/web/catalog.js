"use strict";
// The catalog view: what is measured, per model x format x GPU, and the GuideLLM load curves.
const esc = (s) => String(s ?? "").replace(/[&<>"]/g, (c) => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", "\"": "&quot;"}[c]));

async function json(path) {
  const response = await fetch(path);
  const body = await response.json();
  if (!response.ok) throw new Error(body.detail || response.statusText);
  return body;
}

// What a cell says: its measured cells, else a short word (the colour and the title say more).
const SHORT = {predicted: "pred.", unsupported: "n/a", "no-fit": "no fit"};
const VENDORS = ["nvidia", "amd"];
const ARCHITECTURES = ["ampere", "ada", "hopper", "blackwell", "cdna3", "cdna4"];

// GPU columns grouped by vendor and architecture (a header row names the groups), so that a
// reader compares like with like and 20 GPUs fit a 1400-pixel window without scrolling.
function grouped(ids, gpus) {
  const info = Object.fromEntries(gpus.map((g) => [g.gpu, g]));
  const rank = (id) => {
    const g = info[id] || {};
    const known = (list, name) => (list.indexOf(name) + list.length + 1) % (list.length + 1);  // unknown last
    return [known(VENDORS, g.vendor), g.vendor || "", known(ARCHITECTURES, g.architecture), g.architecture || "", id];
  };
  const order = [...ids].sort((a, b) => {
    const [x, y] = [rank(a), rank(b)];
    for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return x[i] < y[i] ? -1 : 1;
    return 0;
  });
  const groups = [];
  for (const id of order) {
    const g = info[id] || {};
    const name = g.architecture ? (g.vendor || "") + " " + g.architecture : "other";
    if (groups.length && groups[groups.length - 1].name === name) groups[groups.length - 1].ids.push(id);
    else groups.push({name, ids: [id]});
  }
  return {order, groups, info};
}

async function matrix() {
  const [coverage, gpus] = await Promise.all([json("/v1/coverage"), json("/v1/gpus")]);
  const {order, groups, info} = grouped(coverage.gpus, gpus);
  const breakable = (id) => esc(id).replace(/-/g, "-<wbr>");
  let html = "<table class=\"matrix\"><thead><tr><th rowspan=\"2\">model</th><th rowspan=\"2\">format</th>" +
    groups.map((g) => "<th class=\"group\" colspan=\"" + g.ids.length + "\">" + esc(g.name) + "</th>").join("") + "</tr><tr>" +
    order.map((id) => "<th title=\"" + esc((info[id] || {}).name || id) + "\">" + breakable(id) + "</th>").join("") + "</tr></thead><tbody>";
  const span = {};
  for (const row of coverage.rows) span[row.model] = (span[row.model] || 0) + 1;
  let previous = null;
  for (const row of coverage.rows) {
    const first = row.model !== previous;
    previous = row.model;
    html += "<tr" + (first ? " class=\"first\"" : "") + ">" + (first ? "<td class=\"model\" rowspan=\"" + span[row.model] + "\">" + breakable(row.model) + "</td>" : "") +
      "<td>" + esc(row.format) + "</td>" + order.map((g) => {
        const cell = row.cells[g];
        const text = cell.status === "measured" ? cell.sync + "/" + cell.async + "/" + cell.load_points : SHORT[cell.status] || cell.status;
        return "<td class=\"" + esc(cell.status) + "\" title=\"" + esc(g + ": " + cell.detail) + "\">" + esc(text) + "</td>";
      }).join("") + "</tr>";
  }
  document.getElementById("matrix").innerHTML = html + "</tbody></table>";
}

async function curves() {
  const configs = await json("/v1/coverage/load-curves");
  const box = document.getElementById("curves");
  if (!configs.length) {
    box.innerHTML = "<p class=\"muted\">No GuideLLM sweeps in the catalog yet: import one with <code>advisor catalog import guidellm REPORT.json ...</code> or POST /v1/imports/guidellm.</p>";
    return;
  }
  box.innerHTML = configs.map((c) => {
    const q = new URLSearchParams({model: c.model, format: c.format, gpu: c.gpu, gpu_count: c.gpu_count});
    return "<figure><img alt=\"load curve " + esc(c.model + " " + c.format + " " + c.gpu_count + "x" + c.gpu) + "\" src=\"/v1/charts/load-curve.svg?" + q + "\"></figure>";
  }).join("");
}

Promise.all([matrix(), curves()]).catch((err) => { document.getElementById("error").textContent = err.message; });
