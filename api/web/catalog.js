"use strict";
const esc = (s) => String(s ?? "").replace(/[&<>"]/g, (c) => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", "\"": "&quot;"}[c]));

async function json(path) {
  const response = await fetch(path);
  const body = await response.json();
  if (!response.ok) throw new Error(body.detail || response.statusText);
  return body;
}

async function matrix() {
  const coverage = await json("/v1/coverage");
  const gpus = coverage.gpus;
  let html = "<table class=\"matrix\"><tr><th>model</th><th>format</th>" + gpus.map((g) => "<th>" + esc(g) + "</th>").join("") + "</tr>";
  for (const row of coverage.rows) {
    html += "<tr><td>" + esc(row.model) + "</td><td>" + esc(row.format) + "</td>" + gpus.map((g) => {
      const cell = row.cells[g];
      const text = cell.status === "measured" ? cell.sync + " / " + cell.async + " / " + cell.load_points : cell.status;
      return "<td class=\"" + esc(cell.status) + "\" title=\"" + esc(cell.detail) + "\">" + esc(text) + "</td>";
    }).join("") + "</tr>";
  }
  document.getElementById("matrix").innerHTML = html + "</table>";
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
