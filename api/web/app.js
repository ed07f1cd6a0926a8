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

// Lookups the page fills from the API: model and use case names, GPU names.
const NAMES = {models: {}, useCases: {}, gpus: {}};

// The form as the body of POST /v1/advice (the Query's field names; numbers as numbers).
const NUMBERS = new Set(["prefill_tokens", "decode_tokens", "ttft_ms", "itl_ms", "latency_s", "percentile", "min_recovery", "qps", "headroom_pct"]);
const BODY_NAMES = {ttft_ms: "ttft_limit_ms", itl_ms: "itl_limit_ms", latency_s: "latency_limit_s"};

function queryBody() {
  const body = {};
  for (const el of $("#query-form").elements) {
    if (!el.name || el.type === "checkbox" || el.value === "") continue;
    body[BODY_NAMES[el.name] || el.name] = NUMBERS.has(el.name) ? Number(el.value) : el.value;
  }
  const gpus = [...document.querySelectorAll("#gpus input:checked")].map((i) => i.value);
  if (gpus.length) body.gpu_types = gpus;
  if (body.use_case) { delete body.prefill_tokens; delete body.decode_tokens; }
  const prices = [...editorPrices(), ...csvPrices($("#prices-csv").value)];
  const only = $("#prices-only").checked;
  if (only && !prices.length) throw new Error("replace the list: give at least one price row (GPU, GPUs per offer, $/hour) or paste a CSV");
  if (prices.length) { body.prices = prices; body.prices_only = only; }
  if (only) delete body.price_list;  // your prices alone: no list to merge them over
  return body;
}

const pricesGiven = () => editorPrices().length > 0 || $("#prices-csv").value.trim() !== "" || $("#prices-only").checked;

// The editor's rows that have a GPU and a price; a half-filled row is an error, not a silence.
function editorPrices() {
  const rows = [];
  for (const tr of document.querySelectorAll("#price-rows tbody tr")) {
    const [gpu, count, price] = [...tr.querySelectorAll("input")].map((i) => i.value.trim());
    if (!gpu && !price) continue;
    if (!gpu || !price) throw new Error("price row: give both the GPU and its $/hour (or clear the row)");
    rows.push({gpu, gpu_count: Number(count || 1), usd_per_hour: Number(price)});
  }
  return rows;
}

// A CSV in the `--prices` format: gpu, gpu_count (optional), usd_per_hour or usd_per_gpu_hour;
// without a header line the columns are gpu,gpu_count,usd_per_hour.
const PRICE_COLUMNS = ["gpu", "gpu_count", "usd_per_hour", "usd_per_gpu_hour"];
function csvPrices(text) {
  const lines = text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l && !l.startsWith("#"));
  if (!lines.length) return [];
  let header = lines[0].split(",").map((c) => c.trim().toLowerCase());
  let body = lines.slice(1);
  if (!header.includes("gpu")) { header = ["gpu", "gpu_count", "usd_per_hour"]; body = lines; }
  const unknown = header.filter((h) => !PRICE_COLUMNS.includes(h));
  if (unknown.length) throw new Error("price CSV: unknown column " + unknown.join(", ") + "; the columns are gpu, gpu_count (optional), usd_per_hour or usd_per_gpu_hour");
  return body.map((line) => {
    const cells = line.split(",").map((c) => c.trim());
    if (cells.length !== header.length) throw new Error("price CSV: \"" + line + "\" has " + cells.length + " fields, the header " + header.length + " (" + header.join(",") + ")");
    const row = {};
    header.forEach((name, j) => {
      if (cells[j] === "") return;
      if (name !== "gpu" && !Number.isFinite(Number(cells[j]))) throw new Error("price CSV: " + name + " \"" + cells[j] + "\" is not a number (line \"" + line + "\")");
      row[name] = name === "gpu" ? cells[j] : Number(cells[j]);
    });
    return row;
  });
}

function addPriceRow(gpu = "", count = 1, price = "") {
  const tr = document.createElement("tr");
  tr.innerHTML = "<td><input list=\"gpu-ids\" aria-label=\"GPU\" value=\"" + esc(gpu) + "\"></td>" +
    "<td><input type=\"number\" min=\"1\" step=\"1\" aria-label=\"GPUs per offer\" value=\"" + esc(count) + "\"></td>" +
    "<td><input type=\"number\" min=\"0\" step=\"any\" aria-label=\"USD per hour for the offer\" value=\"" + esc(price) + "\"></td>" +
    "<td><button type=\"button\" class=\"secondary\" aria-label=\"remove the row\">x</button></td>";
  tr.querySelector("button").onclick = () => tr.remove();
  $("#price-rows tbody").append(tr);
}

// Fields a question does not set go back to the query's defaults, not to blank.
const FORM_DEFAULTS = {percentile: "99", arrivals: "poisson"};

function fillForm(understood) {
  const form = $("#query-form");
  for (const el of form.elements) {
    if (!el.name || el.type === "checkbox" || el.name === "price_list") continue;
    if (el.name in understood) el.value = understood[el.name];
    else if (el.name in FORM_DEFAULTS) el.value = FORM_DEFAULTS[el.name];
    else if (!["model", "mode"].includes(el.name)) el.value = "";
  }
  if (understood.mode) form.elements.mode.value = understood.mode;
}

function gpuBox(gpu, checked) {
  return "<label><input type=\"checkbox\" value=\"" + esc(gpu) + "\"" + (checked ? " checked" : "") + "> " + esc(gpu) + "</label>";
}

// The GPU boxes show the set the answer considered: a GPU it names that has no box gets one.
function showGpuSet(gpus) {
  const box = $("#gpus");
  if (!box || !gpus) return;
  const have = new Set([...box.querySelectorAll("input")].map((i) => i.value));
  box.insertAdjacentHTML("beforeend", gpus.filter((g) => !have.has(g)).map((g) => gpuBox(g, true)).join(""));
  for (const input of box.querySelectorAll("input")) input.checked = gpus.includes(input.value);
}

// A figure as shown, tagged with the field it shows so that a test can read it back.
const figure = (o, key, text) => "<span data-field=\"" + key + "\">" + text + "</span>";
const num = (o, key, d = 3) => missing(o[key]) ? "-" : figure(o, key, fmt(o[key], d));
const money = (o, key) => missing(o[key]) ? "-" : figure(o, key, usd(o[key]));
const share = (o, key) => missing(o[key]) ? "-" : figure(o, key, percent(o[key]));
// value [low-high]; a missing high end under load means that end would not keep up: unbounded.
function interval(o, key, d = 3) {
  const high = !missing(o[key]) && !missing(o[key + "_lo"]) && missing(o[key + "_hi"]) ? "unbounded" : num(o, key + "_hi", d);
  return num(o, key, d) + " [" + num(o, key + "_lo", d) + "-" + high + "]";
}
const optionId = (o) => o.format + "-" + o.gpu + "-" + o.gpu_count;

function row(o, cells) {
  return "<tr data-option=\"" + esc(optionId(o)) + "\"" + (o.cheaper_than_recommendation !== undefined ? " class=\"rejected\"" : "") + ">" +
    cells.map((c) => "<td>" + c + "</td>").join("") + "</tr>";
}

const pct = (q) => "p" + fmt(q.percentile ?? 99, 4);
const chance = (p) => (p > 0.99 && p < 1) ? ">99%" : (p > 0 && p < 0.01) ? "<1%" : positional(100 * p, 0) + "%";
const has = (options, key) => options.some((o) => !missing(o[key]));

// The limits, floor and load in words, as `advise` prints them above its table.
function targetsLine(q) {
  const sync = q.mode === "sync";
  const latency = [q.ttft_limit_ms ? "TTFT < " + fmt(q.ttft_limit_ms, 6) + " ms" : "", q.itl_limit_ms ? "ITL < " + fmt(q.itl_limit_ms, 4) + " ms" : "",
                   q.latency_limit_s ? "latency < " + fmt(q.latency_limit_s, 6) + " s" : ""].filter(Boolean).join(", ");
  const parts = [latency && !sync ? latency + " at " + pct(q) : latency];
  if (!sync) parts.push((q.arrivals || "poisson") + " arrivals");
  if (q.min_recovery_pct) parts.push("recovery >= " + fmt(q.min_recovery_pct, 6) + "% (" + q.suite + ")");
  if (q.qps) parts.push(fmt(q.qps, 6) + " QPS" + (missing(q.headroom_pct) ? "" : " with " + fmt(q.headroom_pct, 6) + "% headroom"));
  return parts.filter(Boolean).join(", ");
}

// "Llama-3.1-70B-Instruct, code completion (256 in / 1,024 out tokens), async at 10 QPS, ...":
// the query an answer was computed for, in words.
function queryWords(q) {
  const model = NAMES.models[q.model];
  const name = model && model.hf_id ? model.hf_id.split("/").pop() : q.model;
  const useCase = NAMES.useCases[q.use_case];
  const work = (useCase ? useCase.name.replace(/\b[A-Z][a-z]+\b/g, (w) => w.toLowerCase()) + " " : "") +
    "(" + fmt(q.prefill_tokens, 6) + " in / " + fmt(q.decode_tokens, 6) + " out tokens)";
  const parts = [name, work];
  parts.push(q.mode === "sync" ? "one request at a time" : "async" + (q.qps ? " at " + fmt(q.qps, 6) + " QPS" : " at the most load within the limits") +
    (missing(q.headroom_pct) ? "" : " with " + fmt(q.headroom_pct, 6) + "% headroom"));
  const limits = [q.ttft_limit_ms ? "TTFT ≤ " + fmt(q.ttft_limit_ms, 6) + " ms" : "", q.itl_limit_ms ? "ITL ≤ " + fmt(q.itl_limit_ms, 6) + " ms" : "",
                  q.latency_limit_s ? "latency ≤ " + fmt(q.latency_limit_s, 6) + " s" : ""].filter(Boolean);
  if (limits.length) parts.push(limits.join(" and ") + (q.mode === "sync" ? "" : " at " + pct(q) + ", " + (q.arrivals || "poisson") + " arrivals"));
  if (q.min_recovery_pct) parts.push("accuracy ≥ " + fmt(q.min_recovery_pct, 6) + "% of BF16 on " + q.suite);
  const gpus = (q.gpus || []).map((g) => (NAMES.gpus[g] || {}).name || g);
  const either = (names) => names.length > 1 ? names.slice(0, -1).join(", ") + " or " + names[names.length - 1] : names.join("");
  if (gpus.length) parts.push("on " + (gpus.length > 4 ? gpus.length + " GPU types (" + (q.gpus || []).join(", ") + ")" : either(gpus)));
  if (q.price_list) parts.push("prices: " + q.price_list + (q.prices_merged ? " with yours merged over it" : ""));
  return parts.join(", ");
}

// [header, cell] of the options table: the operating point's only where the options carry
// one, the fleet's only for a target load (the same columns as `advise`).
function optionColumns(q, options) {
  const sync = q.mode === "sync";
  const layout = (o) => num(o, "gpu_count") + " x " + esc(o.gpu) + ((o.replicas || 1) > 1 ? " (" + num(o, "replicas") + "x TP" + num(o, "tensor_parallel_size") + ")" : "");
  const ttftItl = (o) => num(o, "ttft_ms", 4) + " / " + num(o, "itl_ms");
  const columns = [["format", (o) => esc(o.format) + (o.weight_only ? " (weight-only)" : "")], ["GPUs", layout]];
  if (sync) {
    columns.push(["latency (80%)", (o) => interval(o, "latency_s") + " s"], ["TTFT / ITL ms", ttftItl]);
  } else {
    const operating = has(options, "operating_qps");
    columns.push(["max QPS (80%)", (o) => interval(o, "max_qps")]);
    if (operating) columns.push(["QPS @ op", (o) => num(o, "operating_qps")]);
    columns.push([operating ? "TTFT / ITL " + pct(q) + " ms" : "TTFT / ITL ms", ttftItl]);
    if (q.latency_limit_s) columns.push(["latency " + pct(q) + " s", (o) => num(o, "latency_s")]);
    if (has(options, "binding_constraint")) columns.push(["limited by", (o) => esc(o.binding_constraint || "-")]);
  }
  if (q.qps) {
    columns.push(["deployments", (o) => num(o, "deployments")], ["GPUs total", (o) => num(o, "fleet_gpus")],
                 ["fleet $/hour", (o) => money(o, "fleet_usd_per_hour")], ["$/M output tokens", (o) => money(o, "usd_per_million_output_tokens")]);
  }
  columns.push(["USD/query", (o) => money(o, "usd_per_query")], ["recovery", (o) => share(o, "recovery_pct")],
               ["label", (o) => "<span class=\"tag\">" + esc(o.label || "-") + "</span>"]);
  return columns;
}

// What the winner's paragraph says of its load: the operating point, or one request alone.
function winnerFigures(rec, q) {
  if (q.mode === "sync") return num(rec, "latency_s") + " s per request";
  if (missing(rec.operating_qps)) return num(rec, "max_qps") + " requests/s within the limits";
  let text = num(rec, "operating_qps") + " requests/s per deployment at the operating point, " + pct(q) + " TTFT " +
    interval(rec, "ttft_ms", 4) + " ms, ITL " + interval(rec, "itl_ms") + " ms (max " + num(rec, "max_qps") + " requests/s within the limits";
  if (!missing(rec.ttft_unloaded_ms)) text += "; idle server: " + num(rec, "ttft_unloaded_ms", 4) + " / " + num(rec, "itl_unloaded_ms") + " ms";
  return text + ")";
}

function fleetText(rec, q) {
  if (!q.qps || missing(rec.deployments)) return "";
  let text = num(rec, "deployments") + " deployment(s)" + (rec.fleet_gpus ? ", " + num(rec, "fleet_gpus") + " GPUs" : "") + " for " + fmt(q.qps, 6) + " QPS: " +
    money(rec, "fleet_usd_per_hour") + "/hour, " + money(rec, "usd_per_million_output_tokens") + " per million output tokens";
  if (!missing(rec.sized_qps_per_deployment)) {
    const basis = missing(q.headroom_pct) ? "the 80% interval's low end" : fmt(q.headroom_pct, 6) + "% headroom";
    text += "; sized on " + num(rec, "sized_qps_per_deployment") + " QPS per deployment (" + basis + ")";
  }
  if (!missing(rec.meets_limits_probability)) text += "; chance to meet the limits at " + fmt(q.qps, 6) + " QPS: " + chance(rec.meets_limits_probability);
  return text;
}

const missLine = (r) => esc(r.format + " on " + r.gpu_count + " x " + r.gpu + ": " + r.detail);

async function show(doc, charts) {
  const q = doc.query;
  const rec = doc.recommendation;
  const cheaper = doc.rejected.filter((r) => r.cheaper_than_recommendation);
  let winner;
  if (rec) {
    const fleet = fleetText(rec, q);
    winner = "<h2 id=\"recommendation\">" + esc(rec.format) + " on " + rec.gpu_count + " x " + esc(rec.gpu) + "</h2>" +
      "<p>" + winnerFigures(rec, q) + ", " + money(rec, "usd_per_query") + " per query, " + share(rec, "recovery_pct") + " of BF16 accuracy (" + esc(rec.label) + ")" +
      "</p>" + (fleet ? "<p id=\"fleet\">" + fleet + "</p>" : "") +
      "<p class=\"why\">" + (cheaper.length ? cheaper.length + " cheaper option(s) ruled out: " + cheaper.slice(0, 3).map(missLine).join("; ") : "No cheaper option exists.") + "</p>" +
      "<pre class=\"command\" id=\"serve-command\">" + esc(rec.vllm_serve_command) + "</pre>" +
      "<button type=\"button\" class=\"secondary\" id=\"copy\">Copy the vLLM command</button> " +
      "<details><summary>GuideLLM command to confirm it</summary><pre class=\"command\">" + esc(rec.guidellm_command) + "</pre></details>";
  } else {
    winner = "<h2 id=\"recommendation\">Nothing meets these targets</h2><p class=\"why\">Closest misses: " +
      (doc.closest_misses.length ? doc.closest_misses.map(missLine).join("; ") : "none was evaluated") + "</p>";
  }
  // A shipped list has a description; your prices alone (prices_only) have only a name.
  const list = q.price_list_description ? esc(q.price_list) + (q.price_list_as_of ? " (as of " + esc(q.price_list_as_of) + ")" : "") : "yours alone";
  const prices = q.price_list ? "<p class=\"muted\" id=\"price-source\">Prices: " + list +
    (q.prices_merged ? "; yours merged over it: " + esc(q.prices_merged) : "") + (q.not_priced && q.not_priced.length ? "; not priced: " + esc(q.not_priced.join(", ")) : "") + "</p>" : "";
  $("#winner").innerHTML = "<p class=\"muted\" id=\"targets\">" + esc(targetsLine(q)) + "</p>" + winner + prices;
  const copy = $("#copy");
  if (copy) copy.onclick = () => navigator.clipboard && navigator.clipboard.writeText(rec.vllm_serve_command);
  const options = [rec, ...doc.alternatives].filter(Boolean);
  const columns = optionColumns(q, options);
  const head = "<tr>" + columns.map(([header]) => "<th>" + esc(header) + "</th>").join("") + "</tr>";
  $("#alternatives").innerHTML = head + options.map((o) => row(o, columns.map(([, cell]) => cell(o)))).join("");
  $("#rejected").innerHTML = "<tr><th>format</th><th>GPUs</th><th>USD/query</th><th>why</th></tr>" +
    doc.rejected.map((r) => row(r, [esc(r.format), num(r, "gpu_count") + " x " + esc(r.gpu), money(r, "usd_per_query"), "<span class=\"reason\">" + esc(r.detail) + "</span>"])).join("");
  $("#advice-chart").innerHTML = charts.advice;
  $("#limits-chart").innerHTML = charts.limits || "";
  $("#limits-chart").hidden = !charts.limits;
  $("#recovery-chart").innerHTML = charts.recovery;
  $("#answer").hidden = false;
  showGpuSet(q.gpus);
  window.shownAdvice = doc;  // what the page shows, for a reader of the page (and its tests)
}

async function chartsFor(doc) {
  const post = (name) => api("/v1/charts/" + name + ".svg", {method: "POST", headers: {"content-type": "application/json"}, body: JSON.stringify(doc)});
  const names = doc.query.mode === "sync" ? ["advice", "recovery"] : ["advice", "recovery", "limits"];
  const drawn = await Promise.all(names.map(post));
  return Object.fromEntries(names.map((name, i) => [name, drawn[i]]));
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

const postAdvice = () => api("/v1/advice", {method: "POST", headers: {"content-type": "application/json"}, body: JSON.stringify(queryBody())});

async function init() {
  const inlined = document.getElementById("report-data");
  if (inlined) {  // the self-contained report: everything is in the file
    const data = JSON.parse(inlined.textContent);
    await show(data.advice, data.charts);
    return;
  }
  const [models, useCases, gpus, priceLists] = await Promise.all([api("/v1/models"), api("/v1/use-cases"), api("/v1/gpus"), api("/v1/price-lists")]);
  for (const m of models) NAMES.models[m.model] = m;
  for (const u of useCases) NAMES.useCases[u.use_case] = u;
  for (const g of gpus) NAMES.gpus[g.gpu] = g;
  $("#models").innerHTML = models.map((m) => "<option value=\"" + esc(m.model) + "\">").join("");
  $("#gpu-ids").innerHTML = gpus.map((g) => "<option value=\"" + esc(g.gpu) + "\">" + esc(g.name) + "</option>").join("");
  const form = $("#query-form");
  form.elements.use_case.innerHTML += useCases.map((u) => "<option value=\"" + esc(u.use_case) + "\">" + esc(u.name) + "</option>").join("");
  form.elements.use_case.value = "rag";
  form.elements.price_list.innerHTML = priceLists.map((p) => "<option value=\"" + esc(p.price_list) + "\"" + (p.is_default ? " selected" : "") + " title=\"" + esc(p.source) + "\">" +
    esc(p.price_list + ": " + p.description + (p.as_of ? ", as of " + p.as_of : "") + (p.is_default ? " (default)" : "")) + "</option>").join("");
  $("#gpus").innerHTML = gpus.map((g) => gpuBox(g.gpu, g.usd_per_gpu_hour && g.price_fallback !== "nearest_gpu")).join("");
  addPriceRow();
  $("#add-price").addEventListener("click", () => addPriceRow());
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    $("#understood").textContent = "";
    run(postAdvice);
  });
  const ask = () => run(async () => {
    const answer = await api("/v1/ask?" + new URLSearchParams({q: $("#question").value}).toString());
    fillForm(answer.understood);
    showGpuSet(answer.advice.query.gpus);
    // Your prices or another list: the question's query again, priced by them.
    const doc = pricesGiven() || form.elements.price_list.value !== answer.advice.query.price_list ? await postAdvice() : answer.advice;
    $("#understood").textContent = "Read as: " + queryWords(doc.query) + "." + (answer.defaulted.length ? " Assumed where the question did not say: " + answer.defaulted.join(", ") + "." : "");
    return doc;
  });
  $("#ask-button").addEventListener("click", ask);
  $("#question").addEventListener("keydown", (e) => { if (e.key === "Enter") ask(); });
}

init();
