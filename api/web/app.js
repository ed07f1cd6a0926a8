// The advice page and the report: reads the JSON API (or the report's inlined data) and shows
// the recommendation, the charts (SVG drawn by the server from the same document) and tables.
"use strict";
const $ = (sel) => document.querySelector(sel);
const esc = (s) => String(s ?? "").replace(/[&<>"]/g, (c) => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", "\"": "&quot;"}[c]));
// Figures by the rules of api/figures.py, which the terminal uses too (tests/api/test_page_script.py
// checks the two agree figure for figure): `d` significant digits in positional notation, whole
// numbers whole with thousands separators (110.3 -> "110", 1130 -> "1,130"), zeros after the
// point dropped, never 1.23e-7; rounding half away from zero (toFixed; Decimal's ROUND_HALF_UP).
const grouped = (digits) => digits.replace(/^\d+/, (whole) => whole.replace(/\B(?=(\d{3})+$)/g, ","));
function positional(v, decimals) {
  const size = Math.abs(v);
  // From 1e21 toFixed writes 1e+21; such a double is a whole number, exact as a BigInt.
  const text = size >= 1e21 ? BigInt(size) + (decimals ? "." + "0".repeat(decimals) : "") : size.toFixed(decimals);
  return (v < 0 ? "-" : "") + grouped(text);
}
const missing = (v) => v === null || v === undefined || v === "";
// The power of ten of |v| once rounded to d significant digits (99.96 at 3 digits: 2).
const exponent = (v, d) => Number(Math.abs(v).toExponential(d - 1).split("e")[1]);
function fmt(v, d = 3) {
  if (missing(v)) return "-";
  v = Number(v);
  if (v === 0 || !Number.isFinite(v)) return String(v);
  const text = positional(v, Math.max(d - 1 - exponent(v, d), 0));
  return text.includes(".") ? text.replace(/0+$/, "").replace(/\.$/, "") : text;
}
// Dollars and cents from $0.10 up ($0.80 beside $1.60); below, three significant digits ($0.0000179).
function usd(v) {
  if (missing(v)) return "-";
  v = Number(v);
  if (v === 0 || !Number.isFinite(v)) return "$" + v;
  const e = exponent(v, 3);
  return (v < 0 ? "-" : "") + "$" + positional(Math.abs(v), e >= -1 ? 2 : 2 - e);
}
const percent = (v) => missing(v) ? "-" : positional(Number(v), 2) + "%";

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

// Fields a question does not set go back to the query's defaults, not to blank.
const FORM_DEFAULTS = {percentile: "99", arrivals: "poisson"};

function fillForm(understood) {
  const form = $("#query-form");
  for (const el of form.elements) {
    if (!el.name || el.type === "checkbox") continue;
    if (el.name in understood) el.value = understood[el.name];
    else if (el.name in FORM_DEFAULTS) el.value = FORM_DEFAULTS[el.name];
    else if (!["model", "mode"].includes(el.name)) el.value = "";
  }
  if (understood.mode) form.elements.mode.value = understood.mode;
  if (understood.gpus) {
    for (const box of document.querySelectorAll("#gpus input")) box.checked = understood.gpus.includes(box.value);
  }
}

function row(o, cells) { return "<tr" + (o.cheaper_than_recommendation !== undefined ? " class=\"rejected\"" : "") + ">" + cells.map((c) => "<td>" + c + "</td>").join("") + "</tr>"; }

const pct = (q) => "p" + Number(q.percentile ?? 99);
const interval = (o, key, d = 3) => fmt(o[key], d) + " [" + fmt(o[key + "_lo"], d) + "-" + fmt(o[key + "_hi"], d) + "]";
const chance = (p) => (p > 0.99 && p < 1) ? ">99%" : (p > 0 && p < 0.01) ? "<1%" : Math.round(100 * p) + "%";
const has = (options, key) => options.some((o) => o[key] !== null && o[key] !== undefined);

// The limits, floor and load in words, as `advise` prints them above its table.
function targetsLine(q) {
  const sync = q.mode === "sync";
  const latency = [q.ttft_limit_ms ? "TTFT < " + q.ttft_limit_ms + " ms" : "", q.itl_limit_ms ? "ITL < " + fmt(q.itl_limit_ms, 4) + " ms" : "",
                   q.latency_limit_s ? "latency < " + q.latency_limit_s + " s" : ""].filter(Boolean).join(", ");
  const parts = [latency && !sync ? latency + " at " + pct(q) : latency];
  if (!sync) parts.push((q.arrivals || "poisson") + " arrivals");
  if (q.min_recovery_pct) parts.push("recovery >= " + q.min_recovery_pct + "% (" + q.suite + ")");
  if (q.qps) parts.push(q.qps + " QPS" + (q.headroom_pct !== null && q.headroom_pct !== undefined ? " with " + q.headroom_pct + "% headroom" : ""));
  return parts.filter(Boolean).join(", ");
}

// [header, cell] of the options table: the operating point's only where the options carry
// one, the fleet's only for a target load (the same columns as `advise`).
function optionColumns(q, options) {
  const sync = q.mode === "sync";
  const layout = (o) => o.gpu_count + " x " + esc(o.gpu) + ((o.replicas || 1) > 1 ? " (" + o.replicas + "x TP" + o.tensor_parallel_size + ")" : "");
  const ttftItl = (o) => fmt(o.ttft_ms, 4) + " / " + fmt(o.itl_ms);
  const columns = [["format", (o) => esc(o.format)], ["GPUs", layout]];
  if (sync) {
    columns.push(["latency (80%)", (o) => interval(o, "latency_s") + " s"], ["TTFT / ITL ms", ttftItl]);
  } else {
    const operating = has(options, "operating_qps");
    columns.push(["max QPS (80%)", (o) => interval(o, "max_qps")]);
    if (operating) columns.push(["QPS @ op", (o) => fmt(o.operating_qps)]);
    columns.push([operating ? "TTFT / ITL " + pct(q) + " ms" : "TTFT / ITL ms", ttftItl]);
    if (q.latency_limit_s) columns.push(["latency " + pct(q) + " s", (o) => fmt(o.latency_s)]);
    if (has(options, "binding_constraint")) columns.push(["limited by", (o) => esc(o.binding_constraint || "-")]);
  }
  if (q.qps) {
    columns.push(["deployments", (o) => esc(o.deployments ?? "-")], ["GPUs total", (o) => esc(o.fleet_gpus ?? "-")],
                 ["fleet $/hour", (o) => usd(o.fleet_usd_per_hour)], ["$/M output tokens", (o) => usd(o.usd_per_million_output_tokens)]);
  }
  columns.push(["USD/query", (o) => usd(o.usd_per_query)],
               ["recovery", (o) => o.recovery_pct === null || o.recovery_pct === undefined ? "-" : Number(o.recovery_pct).toFixed(2) + "%"],
               ["label", (o) => "<span class=\"tag\">" + esc(o.label || "-") + "</span>"]);
  return columns;
}

// What the winner's paragraph says of its load: the operating point, or one request alone.
function winnerFigures(rec, q) {
  if (q.mode === "sync") return fmt(rec.latency_s) + " s per request";
  if (rec.operating_qps === null || rec.operating_qps === undefined) return fmt(rec.max_qps) + " requests/s within the limits";
  let text = fmt(rec.operating_qps) + " requests/s per deployment at the operating point, " + pct(q) + " TTFT " +
    interval(rec, "ttft_ms", 4) + " ms, ITL " + interval(rec, "itl_ms") + " ms (max " + fmt(rec.max_qps) + " requests/s within the limits";
  if (rec.ttft_unloaded_ms !== null && rec.ttft_unloaded_ms !== undefined) text += "; idle server: " + fmt(rec.ttft_unloaded_ms, 4) + " / " + fmt(rec.itl_unloaded_ms) + " ms";
  return text + ")";
}

function fleetText(rec, q) {
  if (!q.qps || rec.deployments === null || rec.deployments === undefined) return "";
  let text = rec.deployments + " deployment(s)" + (rec.fleet_gpus ? ", " + rec.fleet_gpus + " GPUs" : "") + " for " + q.qps + " QPS: " +
    usd(rec.fleet_usd_per_hour) + "/hour, " + usd(rec.usd_per_million_output_tokens) + " per million output tokens";
  if (rec.sized_qps_per_deployment !== null && rec.sized_qps_per_deployment !== undefined) {
    const basis = q.headroom_pct !== null && q.headroom_pct !== undefined ? q.headroom_pct + "% headroom" : "the 80% interval's low end";
    text += "; sized on " + fmt(rec.sized_qps_per_deployment) + " QPS per deployment (" + basis + ")";
  }
  if (rec.meets_limits_probability !== null && rec.meets_limits_probability !== undefined) text += "; chance to meet the limits at " + q.qps + " QPS: " + chance(rec.meets_limits_probability);
  return text;
}

async function show(doc, charts) {
  const q = doc.query;
  const rec = doc.recommendation;
  const cheaper = doc.rejected.filter((r) => r.cheaper_than_recommendation);
  let winner;
  if (rec) {
    const fleet = fleetText(rec, q);
    winner = "<h2 id=\"recommendation\">" + esc(rec.format) + " on " + rec.gpu_count + " x " + esc(rec.gpu) + "</h2>" +
      "<p>" + winnerFigures(rec, q) + ", " + usd(rec.usd_per_query) + " per query, " + Number(rec.recovery_pct).toFixed(2) + "% of BF16 accuracy (" + esc(rec.label) + ")" +
      "</p>" + (fleet ? "<p id=\"fleet\">" + fleet + "</p>" : "") +
      "<p class=\"why\">" + (cheaper.length ? cheaper.length + " cheaper option(s) ruled out: " + cheaper.slice(0, 3).map((r) => esc(r.format + " on " + r.gpu_count + " x " + r.gpu + ": " + r.detail)).join("; ") : "No cheaper option exists.") + "</p>" +
      "<pre class=\"command\" id=\"serve-command\">" + esc(rec.vllm_serve_command) + "</pre>" +
      "<button type=\"button\" class=\"secondary\" id=\"copy\">Copy the vLLM command</button> " +
      "<details><summary>GuideLLM command to confirm it</summary><pre class=\"command\">" + esc(rec.guidellm_command) + "</pre></details>";
  } else {
    winner = "<h2 id=\"recommendation\">Nothing meets these targets</h2><p class=\"why\">Closest misses: " +
      doc.closest_misses.map((r) => esc(r.format + " on " + r.gpu_count + " x " + r.gpu + ": " + r.detail)).join("; ") + "</p>";
  }
  $("#winner").innerHTML = "<p class=\"muted\" id=\"targets\">" + esc(targetsLine(q)) + "</p>" + winner;
  const copy = $("#copy");
  if (copy) copy.onclick = () => navigator.clipboard && navigator.clipboard.writeText(rec.vllm_serve_command);
  const options = [rec, ...doc.alternatives].filter(Boolean);
  const columns = optionColumns(q, options);
  const head = "<tr>" + columns.map(([header]) => "<th>" + esc(header) + "</th>").join("") + "</tr>";
  $("#alternatives").innerHTML = head + options.map((o) => row({}, columns.map(([, cell]) => cell(o)))).join("");
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
  $("#gpus").innerHTML = gpus.map((g) => "<label><input type=\"checkbox\" value=\"" + esc(g.gpu) + "\"" + (g.usd_per_gpu_hour && g.price_fallback !== "nearest_gpu" ? " checked" : "") + "> " + esc(g.gpu) + "</label>").join("");
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
