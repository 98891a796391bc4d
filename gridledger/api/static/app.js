// gridledger dashboard: plain JavaScript, no build step, no network beyond this server.
// Reads the JSON API, then follows the Server-Sent Events feed (read with fetch, so the
// bearer token can travel in a header rather than in the URL).
"use strict";

const API = "/api/v1";
const TOKEN_KEY = "gridledger.token";
const state = { levels: [], price: null, samples: [], lastFillSeq: 0, refreshTimer: null, status: null };

function $(id) { return document.getElementById(id); }
function token() { return sessionStorage.getItem(TOKEN_KEY); }
function askToken() {
  const t = window.prompt("API token (kept for this tab only):");
  if (t) sessionStorage.setItem(TOKEN_KEY, t.trim());
  return t;
}
function headers() { const t = token(); return t ? { Authorization: "Bearer " + t } : {}; }

// Decimals arrive as exact strings; show them shorter, never do arithmetic that is booked.
function short(s, dp) {
  if (s === null || s === undefined) return "-";
  const n = Number(s);
  if (!isFinite(n)) return String(s);
  if (dp === undefined) dp = Math.abs(n) >= 1000 ? 2 : Math.abs(n) >= 1 ? 4 : 8;
  return n.toFixed(dp).replace(/(\.\d*?)0+$/, "$1").replace(/\.$/, "");
}
function time(ms) { return new Date(ms).toISOString().replace("T", " ").slice(5, 19); }
function duration(s) {
  const d = Math.floor(s / 86400), h = Math.floor(s % 86400 / 3600), m = Math.floor(s % 3600 / 60);
  return (d ? d + "d " : "") + (h ? h + "h " : "") + m + "m";
}

async function get(path) {
  let r = await fetch(API + path, { headers: headers() });
  if (r.status === 401 && askToken()) r = await fetch(API + path, { headers: headers() });
  if (!r.ok) throw new Error(path + ": HTTP " + r.status);
  return r.json();
}

async function control(action) {
  if (!token() && !askToken()) return;
  let r = await fetch(API + "/control/" + action, { method: "POST", headers: headers() });
  if (r.status === 401) {
    sessionStorage.removeItem(TOKEN_KEY);
    if (!askToken()) return;
    r = await fetch(API + "/control/" + action, { method: "POST", headers: headers() });
  }
  const body = await r.json().catch(() => ({}));
  if (!r.ok) { logEvent("control " + action + " refused: " + (body.error || r.status), true); return; }
  if (body.paused !== undefined) showStatus(body);
  logEvent("control: " + action);
}

// ---------------------------------------------------------------- status and banner
function showStatus(s) {
  state.status = s;
  $("symbol").textContent = s.symbol + " grid " + s.grid_id;
  $("venue").textContent = s.venue + (s.mode ? " (" + s.mode + (s.speed ? ", x" + s.speed : "") + ")" : "");
  if (s.price) setPrice(s.price);
  showPosition(s);
  $("realized").textContent = short(s.realized_pnl);
  $("unrealized").textContent = short(s.unrealized_pnl);
  $("total").textContent = short(s.total_pnl);
  $("live-orders").textContent = s.live_orders;
  const d = s.drift;
  $("drift").textContent = d.ok ? "none" : short(d.base_drift, 8) + (d.missing_on_exchange.length ? " +" + d.missing_on_exchange.length + " missing" : "");
  $("drift").className = d.ok ? "" : "warn";
  $("last-reconcile").textContent = s.last_reconcile ? time(s.last_reconcile.ts_ms) + " " + s.last_reconcile.reason : "-";
  $("uptime").textContent = duration(s.uptime_s);
  setPaused(s.paused, (s.pause_reasons || []).join(", "));
}

// Short and neutral grids (issue 11) report the signed net position and the direction; a
// long grid's status carries neither and shows its position as before.
function showPosition(s) {
  const net = s.net_position !== undefined && s.net_position !== null;
  $("position").textContent = short(net ? s.net_position : s.position, 8);
  $("position-label").textContent = net ? "net position (" + s.direction + " grid)" : "position";
}

function setPaused(paused, reasons) {
  $("paused-banner").hidden = !paused;
  $("paused-reasons").textContent = reasons ? "(" + reasons + "): no new opening orders; closing sells go on" : "";
}

function setPrice(p) {
  state.price = p;
  $("price").textContent = short(p);
  placeMarker();
}

// ---------------------------------------------------------------- the ladder
function renderLadder(doc) {
  state.levels = doc.levels;
  const body = $("ladder-body");
  const rows = [];
  for (const lv of doc.levels) {
    const tr = document.createElement("tr");
    const held = Number(lv.qty) !== 0;
    tr.className = "level s-" + lv.status + (held ? " held" : "");
    tr.dataset.level = lv.level;
    tr.dataset.price = lv.price;
    const o = lv.bound_order;
    const order = o ? o.side + " " + o.role + " " + short(o.amount, 8) + " @ " + short(o.price) +
      (Number(o.filled) ? " (filled " + short(o.filled, 8) + ")" : "") + (o.acknowledged ? "" : " sending") : "";
    // A short slot's qty is owed (issue 11): shown negative, as it counts in the net position.
    const qty = (lv.direction === "short" && held ? "-" : "") + short(lv.qty, 8);
    const cells = [lv.level, short(lv.price), lv.status, qty, short(lv.cost), short(lv.realized_pnl), lv.round_trips, order];
    const classes = ["", "", "status", "qty", "", "", "", "order" + (o ? " " + o.side : "")];
    cells.forEach((c, i) => { const td = document.createElement("td"); td.textContent = c; if (classes[i]) td.className = classes[i]; tr.appendChild(td); });
    rows.push(tr);
  }
  body.replaceChildren(...rows);
  if (doc.price) state.price = doc.price;
  placeMarker();
}

// The marker row sits between the level above the price and the one at or below it.
function placeMarker() {
  const body = $("ladder-body");
  let marker = $("price-marker");
  if (!marker) {
    marker = document.createElement("tr");
    marker.id = "price-marker";
    const td = document.createElement("td");
    td.colSpan = 8;
    marker.appendChild(td);
  }
  if (state.price === null) { marker.remove(); return; }
  marker.dataset.price = state.price;
  marker.firstChild.textContent = "\u25B6 price " + short(state.price);
  const p = Number(state.price);
  let before = null;
  for (const tr of body.querySelectorAll("tr.level")) {
    if (Number(tr.dataset.price) <= p) { before = tr; break; }
  }
  if (before) body.insertBefore(marker, before); else body.appendChild(marker);
}

// ---------------------------------------------------------------- fills, counters, events
function addFill(f, fresh) {
  if (f.seq !== undefined) state.lastFillSeq = Math.max(state.lastFillSeq, f.seq);
  const tr = document.createElement("tr");
  tr.className = "fill " + (f.side || "") + (fresh ? " new" : "");
  tr.dataset.level = f.level;
  const cells = [time(f.ts_ms), f.level, (f.side || "?") + " " + (f.role || ""), short(f.price), short(f.qty, 8),
    f.fee ? short(f.fee, 8) + " " + (f.fee_asset || "") : "-", short(f.realized_delta)];
  cells.forEach((c, i) => { const td = document.createElement("td"); td.textContent = c; if (i === 2) td.className = "side"; tr.appendChild(td); });
  const body = $("fills-body");
  body.insertBefore(tr, body.firstChild);
  while (body.children.length > 50) body.lastChild.remove();
}

function renderCounters(doc) {
  const parts = [];
  for (const [k, v] of Object.entries(doc.outcomes || doc)) {
    if (k === "kind" || k === "ts_ms") continue;
    parts.push("<span>" + k.toLowerCase() + " <b>" + Number(v) + "</b></span>");
  }
  $("counters").innerHTML = parts.join("");
}

function logEvent(text, warn) {
  const li = document.createElement("li");
  li.textContent = new Date().toLocaleTimeString() + "  " + text;
  if (warn) li.className = "warn";
  const ul = $("events");
  ul.insertBefore(li, ul.firstChild);
  while (ul.children.length > 100) ul.lastChild.remove();
}

// ---------------------------------------------------------------- the chart (SVG, drawn here)
function addSample(s) {
  if (!s.price) return;
  state.samples.push({ t: s.ts_ms, price: Number(s.price), total: Number(s.total_pnl), realized: Number(s.realized_pnl) });
  if (state.samples.length > 2000) state.samples.shift();
}

function drawChart() {
  const svg = $("chart"), W = 600, H = 220, pad = 4;
  const pts = state.samples;
  if (pts.length < 2) { svg.innerHTML = ""; return; }
  const t0 = pts[0].t, t1 = pts[pts.length - 1].t || t0 + 1;
  const x = (t) => pad + (W - 2 * pad) * (t - t0) / Math.max(1, t1 - t0);
  const scale = (vals) => {
    let lo = Math.min(...vals), hi = Math.max(...vals);
    if (hi === lo) { hi += 1; lo -= 1; }
    return (v) => H - pad - (H - 2 * pad) * (v - lo) / (hi - lo);
  };
  const pnlY = scale(pts.map((p) => p.total).concat(pts.map((p) => p.realized), [0]));
  const priceY = scale(pts.map((p) => p.price));
  const path = (f, y) => pts.map((p, i) => (i ? "L" : "M") + x(p.t).toFixed(1) + " " + y(f(p)).toFixed(1)).join(" ");
  svg.innerHTML =
    '<line x1="0" x2="' + W + '" y1="' + pnlY(0).toFixed(1) + '" y2="' + pnlY(0).toFixed(1) + '" stroke="#26313c" stroke-dasharray="4 4"/>' +
    '<path d="' + path((p) => p.price, priceY) + '" fill="none" stroke="#7d8a97" stroke-width="1"/>' +
    '<path d="' + path((p) => p.realized, pnlY) + '" fill="none" stroke="#3fb950" stroke-width="1.5"/>' +
    '<path d="' + path((p) => p.total, pnlY) + '" fill="none" stroke="#58a6ff" stroke-width="2"/>';
}

// ---------------------------------------------------------------- refresh and the feed
async function refresh() {
  try {
    const [levels, counters] = await Promise.all([get("/levels"), get("/counters")]);
    renderLadder(levels);
    renderCounters(counters);
  } catch (e) { logEvent(String(e), true); }
}
function refreshSoon() {
  if (state.refreshTimer) return;
  state.refreshTimer = setTimeout(() => { state.refreshTimer = null; refresh(); }, 150);
}

function onEvent(kind, ev) {
  switch (kind) {
    case "status":
      addSample(ev); drawChart();
      if (ev.price) setPrice(ev.price);
      showPosition(ev);
      $("realized").textContent = short(ev.realized_pnl);
      $("unrealized").textContent = short(ev.unrealized_pnl);
      $("total").textContent = short(ev.total_pnl);
      $("live-orders").textContent = ev.live_orders;
      setPaused(ev.paused, ev.pause_reasons);
      refreshSoon();
      break;
    case "fill":
      addFill(ev, true);
      logEvent("fill level " + ev.level + " " + ev.side + " " + short(ev.qty, 8) + " @ " + short(ev.price));
      refreshSoon();
      break;
    case "outcome": renderCounters(ev); break;
    case "pause": setPaused(true, ev.reason); logEvent("paused: " + ev.reason, true); break;
    case "resume": setPaused(false, ""); logEvent("resumed"); break;
    case "drift": logEvent("drift " + ev.base_drift + (ev.paused ? " (paused)" : ""), !ev.ok); get("/status").then(showStatus).catch(() => {}); break;
    case "reconnect": logEvent("stream " + ev.stream + " reconnecting (" + ev.error + ")", true); break;
    case "reconcile": logEvent("reconcile: " + ev.reason); break;
    case "stop": $("stopped-banner").hidden = false; logEvent("engine stopping", true); break;
  }
}

async function follow() {
  const feed = $("feed-state");
  for (;;) {
    try {
      const r = await fetch(API + "/events", { headers: headers() });
      if (r.status === 401) { if (!askToken()) return; continue; }
      if (!r.ok || !r.body) throw new Error("HTTP " + r.status);
      feed.textContent = "live"; feed.className = "feed live";
      const reader = r.body.getReader();
      const dec = new TextDecoder();
      let buf = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += dec.decode(value, { stream: true });
        let cut;
        while ((cut = buf.indexOf("\n\n")) >= 0) {
          const block = buf.slice(0, cut); buf = buf.slice(cut + 2);
          let kind = "message", data = "";
          for (const line of block.split("\n")) {
            if (line.startsWith("event: ")) kind = line.slice(7);
            else if (line.startsWith("data: ")) data += line.slice(6);
          }
          if (data) { try { onEvent(kind, JSON.parse(data)); } catch (e) { console.error(e); } }
        }
      }
    } catch (e) { /* the server went away: retry below */ }
    feed.textContent = "reconnecting"; feed.className = "feed down";
    await new Promise((ok) => setTimeout(ok, 1000));
    try { showStatus(await get("/status")); } catch (e) { /* still down */ }
  }
}

async function start() {
  $("pause-btn").onclick = () => control("pause");
  $("resume-btn").onclick = () => control("resume");
  $("reconcile-btn").onclick = () => control("reconcile");
  try {
    showStatus(await get("/status"));
    const [hist, fills] = await Promise.all([get("/history"), get("/fills?limit=1000")]);
    hist.samples.forEach(addSample); drawChart();
    const list = fills.fills;
    list.slice(-50).forEach((f) => addFill(f, false));
    await refresh();
  } catch (e) { logEvent(String(e), true); }
  follow();
}

start();
