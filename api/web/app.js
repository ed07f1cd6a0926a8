// The advice page and the report: reads the JSON API (or the report's inlined data) and shows
// the recommendation, the charts (SVG drawn by the server from the same document) and tables.
"use strict";
const $ = (sel) => document.querySelector(sel);
const esc = (s) => String(s ?? "").replace(/[&<>"]/g, (c) => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", "\"": "&quot;"}[c]));
const fmt = (v, d = 3) => (v === null || v === undefined) ? "-" : Number(v).toPrecision(d).replace(/\.?0+$/, "");
const usd = (v) => (v === null || v === undefined) ? "-" : (v < 1 ? "$" + Number(v).toPrecision(3) : "$" + Number(v).toFixed(2));

async function api(path, options) {
  const response = await fetch(path, options);
  const type = response.headers.get("content-type") || "";
  const body = type.includes("json") ? await response.json() : await response.text();
  if (!response.ok) {
    const problem = typeof body === "object" ? body : {detail: body};
    const extra = problem.examples ? "\nTry: " + problem.examples.join(" | ") : "";
    throw new Error((problem.title ? problem.title + ": " : "") + (problem.detail || response.statusText) + extra);
  }
  return body;
}

function formParams() {
  const form = new FormData($("#query-form"));
  const params = new URLSearchParams();
  for (const [key, value] of form.entries()) {
    if (value !== "" && key !== "gpu") params.append(key, value);
  }
  const gpus = [...document.querySelectorAll("#gpus input:checked")].map((i) => i.value);
  if (gpus.length) params.append("gpu", gpus.join(","));
  if (params.get("use_case")) { params.delete("prefill_tokens"); params.delete("decode_tokens"); }
  return params;
}

function fillForm(understood) {
  const form = $("#query-form");
  for (const el of form.elements) {
    if (!el.name || el.type === "checkbox") continue;
    if (el.name in understood) el.value = understood[el.name];
    else if (!["model", "mode"].includes(el.name)) el.value = "";
  }
  if (understood.mode) form.elements.mode.value = understood.mode;
  if (understood.gpus) {
    for (const box of document.querySelectorAll("#gpus input")) box.checked = understood.gpus.includes(box.value);
  }
}

function row(o, cells) { return "<tr" + (o.cheaper_than_recommendation !== undefined ? " class=\"rejected\"" : "") + ">" + cells.map((c) => "<td>" + c + "</td>").join("") + "</tr>"; }

function optionCells(o, sync) {
  const layout = o.gpu_count + " x " + esc(o.gpu) + ((o.replicas || 1) > 1 ? " (" + o.replicas + "x TP" + o.tensor_parallel_size + ")" : "");
  const perf = sync ? fmt(o.latency_s) + " s [" + fmt(o.latency_s_lo) + "-" + fmt(o.latency_s_hi) + "]"
                    : fmt(o.max_qps) + " QPS [" + fmt(o.max_qps_lo) + "-" + fmt(o.max_qps_hi) + "]";
  return [esc(o.format), layout, perf, fmt(o.ttft_ms, 4) + " / " + fmt(o.itl_ms), usd(o.usd_per_query),
          o.recovery_pct === null || o.recovery_pct === undefined ? "-" : Number(o.recovery_pct).toFixed(2) + "%",
          "<span class=\"tag\">" + esc(o.label || "-") + "</span>"];
}

async function show(doc, charts) {
  const sync = doc.query.mode === "sync";
  const rec = doc.recommendation;
  const cheaper = doc.rejected.filter((r) => r.cheaper_than_recommendation);
  let winner;
  if (rec) {
    const perf = sync ? fmt(rec.latency_s) + " s per request" : fmt(rec.max_qps) + " requests/s within the limits";
    winner = "<h2 id=\"recommendation\">" + esc(rec.format) + " on " + rec.gpu_count + " x " + esc(rec.gpu) + "</h2>" +
      "<p>" + perf + ", " + usd(rec.usd_per_query) + " per query, " + Number(rec.recovery_pct).toFixed(2) + "% of BF16 accuracy (" + esc(rec.label) + ")" +
      (rec.fleet_usd_per_hour ? "; " + rec.deployments + " deployment(s) for " + doc.query.qps + " QPS: " + usd(rec.fleet_usd_per_hour) + "/hour, " + usd(rec.usd_per_million_output_tokens) + " per million output tokens" : "") + "</p>" +
      "<p class=\"why\">" + (cheaper.length ? cheaper.length + " cheaper option(s) ruled out: " + cheaper.slice(0, 3).map((r) => esc(r.format + " on " + r.gpu_count + " x " + r.gpu + ": " + r.detail)).join("; ") : "No cheaper option exists.") + "</p>" +
      "<pre class=\"command\" id=\"serve-command\">" + esc(rec.vllm_serve_command) + "</pre>" +
      "<button type=\"button\" class=\"secondary\" id=\"copy\">Copy the vLLM command</button> " +
      "<details><summary>GuideLLM command to confirm it</summary><pre class=\"command\">" + esc(rec.guidellm_command) + "</pre></details>";
  } else {
    winner = "<h2 id=\"recommendation\">Nothing meets these targets</h2><p class=\"why\">Closest misses: " +
      doc.closest_misses.map((r) => esc(r.format + " on " + r.gpu_count + " x " + r.gpu + ": " + r.detail)).join("; ") + "</p>";
  }
  $("#winner").innerHTML = winner;
  const copy = $("#copy");
  if (copy) copy.onclick = () => navigator.clipboard && navigator.clipboard.writeText(rec.vllm_serve_command);
  const head = "<tr><th>format</th><th>GPUs</th><th>" + (sync ? "latency (80%)" : "max QPS (80%)") + "</th><th>TTFT / ITL ms</th><th>USD/query</th><th>recovery</th><th>label</th></tr>";
  $("#alternatives").innerHTML = head + [rec, ...doc.alternatives].filter(Boolean).map((o) => row({}, optionCells(o, sync))).join("");
  $("#rejected").innerHTML = "<tr><th>format</th><th>GPUs</th><th>USD/query</th><th>why</th></tr>" +
    doc.rejected.map((r) => row(r, [esc(r.format), r.gpu_count + " x " + esc(r.gpu), usd(r.usd_per_query), "<span class=\"reason\">" + esc(r.detail) + "</span>"])).join("");
  $("#advice-chart").innerHTML = charts.advice;
  $("#recovery-chart").innerHTML = charts.recovery;
  $("#answer").hidden = false;
}

async function chartsFor(doc) {
  const post = (name) => api("/v1/charts/" + name + ".svg", {method: "POST", headers: {"content-type": "application/json"}, body: JSON.stringify(doc)});
  const [advice, recovery] = await Promise.all([post("advice"), post("recovery")]);
  return {advice, recovery};
}

async function run(makeDoc) {
  $("#error").textContent = "";
  try {
    const doc = await makeDoc();
    await show(doc, await chartsFor(doc));
  } catch (err) {
    $("#error").textContent = err.message;
  }
}

async function init() {
  const inlined = document.getElementById("report-data");
  if (inlined) {  // the self-contained report: everything is in the file
    const data = JSON.parse(inlined.textContent);
    await show(data.advice, data.charts);
    return;
  }
  const [models, useCases, gpus] = await Promise.all([api("/v1/models"), api("/v1/use-cases"), api("/v1/gpus")]);
  $("#models").innerHTML = models.map((m) => "<option value=\"" + esc(m.model) + "\">").join("");
  $("#query-form").elements.use_case.innerHTML += useCases.map((u) => "<option value=\"" + esc(u.use_case) + "\">" + esc(u.name) + "</option>").join("");
  $("#query-form").elements.use_case.value = "rag";
  $("#gpus").innerHTML = gpus.map((g) => "<label><input type=\"checkbox\" value=\"" + esc(g.gpu) + "\"" + (g.usd_per_gpu_hour ? " checked" : "") + "> " + esc(g.gpu) + "</label>").join("");
  $("#query-form").addEventListener("submit", (event) => {
    event.preventDefault();
    $("#understood").textContent = "";
    run(() => api("/v1/advice?" + formParams().toString()));
  });
  const ask = () => run(async () => {
    const answer = await api("/v1/ask?" + new URLSearchParams({q: $("#question").value}).toString());
    fillForm(answer.understood);
    $("#understood").textContent = "Read as " + JSON.stringify(answer.understood) + (answer.defaulted.length ? "; defaulted: " + answer.defaulted.join(", ") : "");
    return answer.advice;
  });
  $("#ask-button").addEventListener("click", ask);
  $("#question").addEventListener("keydown", (e) => { if (e.key === "Enter") ask(); });
}

init();
