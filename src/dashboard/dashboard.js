// The operator's dashboard: plain JavaScript, no build step. It reads the node's admin API only
// (GET /api/report every 5 s; POST /api/rewards/claim|withdraw for the buttons) and renders what
// the report says: every figure comes from the node's one calculation (src/node/operator), so the
// page formats, it never computes money. Exact values stay in data-value attributes (wei, bytes).
/* global uPlot */

const REFRESH_MS = 5000;
const WEI = 10n ** 18n;
const token = readToken();
const charts = {};
let rendered = false;

function readToken() {
  const m = /(?:^#|&)token=([^&]+)/.exec(location.hash);
  if (m) {
    sessionStorage.setItem("bandmint-admin-token", decodeURIComponent(m[1]));
    // Out of the address bar (and so out of screenshots and shared links).
    history.replaceState(null, "", location.pathname + location.search);
  }
  return sessionStorage.getItem("bandmint-admin-token");
}

async function api(path, init = {}) {
  const headers = { ...(init.headers || {}) };
  if (token) headers.authorization = `Bearer ${token}`;
  const res = await fetch(path, { ...init, headers, cache: "no-store" });
  const body = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(body.message || `HTTP ${res.status}`);
  return body;
}

/** Wei (decimal string) as a decimal with up to 6 places; tiny non-zero amounts keep every digit. */
function formatUnits(value, unit) {
  const v = BigInt(value);
  const sign = v < 0n ? "-" : "";
  const a = v < 0n ? -v : v;
  const whole = a / WEI;
  const frac = (a % WEI).toString().padStart(18, "0");
  let digits = frac.slice(0, 6).replace(/0+$/, "");
  if (whole === 0n && digits === "" && a !== 0n) digits = frac.replace(/0+$/, "");
  return `${sign}${whole.toLocaleString("en-US")}${digits ? `.${digits}` : ""}${unit ? ` ${unit}` : ""}`;
}

function formatBytes(value) {
  let v = Number(BigInt(value));
  const units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(v < 10 ? 2 : 1)} ${units[i]}`;
}

function get(obj, path) {
  return path.split(".").reduce((o, k) => (o === undefined || o === null ? undefined : o[k]), obj);
}

function show(el, value) {
  const kind = el.dataset.kind;
  if (value === undefined || value === null) {
    el.textContent = kind === "ratio" ? "n/a" : "";
    el.dataset.value = "";
    return;
  }
  el.dataset.value = typeof value === "object" ? JSON.stringify(value) : String(value);
  if (kind === "token") el.textContent = formatUnits(value, "BAND");
  else if (kind === "coin") el.textContent = formatUnits(value, "");
  else if (kind === "bytes") el.textContent = formatBytes(value);
  else if (kind === "int") el.textContent = Number(value).toLocaleString("en-US");
  else if (kind === "ratio") el.textContent = `${(Number(value) * 100).toFixed(1)} %`;
  else if (kind === "time") el.textContent = new Date(Number(value)).toLocaleString();
  else el.textContent = String(value);
}

function rows(tbody, items, cells) {
  tbody.replaceChildren(
    ...items.map((item) => {
      const tr = document.createElement("tr");
      for (const [value, kind] of cells(item)) {
        const td = document.createElement(tr.children.length === 0 ? "th" : "td");
        if (kind) td.dataset.kind = kind;
        show(td, value);
        tr.append(td);
      }
      return tr;
    }),
  );
}

function limitText(l) {
  switch (l.limit) {
    case "rate": return [`rate ${formatBytes(l.ratePerSecond)}/s`, `${l.backlogSeconds.toFixed(1)} s queued`];
    case "quota": return [`quota ${formatBytes(l.used)} of ${formatBytes(l.bytes)} this month`, `resets ${new Date(l.periodEnd).toLocaleString()}`, Number(l.used), Number(l.bytes)];
    case "schedule": return [`hours ${l.windows.join(", ")} (${l.timeZone})`, `${l.open ? "open" : "closed"}${l.until ? ` until ${new Date(l.until).toLocaleString()}` : ""}`];
    case "sessions": return [`sessions ${l.active} of ${l.max}`, "", l.active, l.max];
  }
  return [l.limit, ""];
}

/** A uPlot line chart (created once, then fed new data); `format` labels the y axis and the legend. */
function chart(id, series, data, format) {
  const el = document.getElementById(id);
  if (charts[id]) {
    charts[id].setData(data);
    return;
  }
  const colors = ["#2f6fde", "#e08a1e", "#1e7b34", "#b3261e", "#7a4fc9"];
  const opts = {
    width: Math.max(300, el.clientWidth || 600),
    height: 200,
    series: [{}, ...series.map((label, i) => ({ label, stroke: colors[i % colors.length], width: 2, points: { show: true, size: 5 }, value: (u, v) => (v === null ? "--" : format(v)) }))],
    axes: [{}, { size: 80, values: (u, splits) => splits.map(format) }],
  };
  charts[id] = new uPlot(opts, data, el);
}

function render(r) {
  for (const el of document.querySelectorAll("[data-field]")) {
    const field = el.dataset.field;
    if (field === "summary.unavailable") show(el, r.summary.unavailable ? `${r.summary.unavailable.limit}: ${r.summary.unavailable.reason}` : "");
    else if (field === "summary.reachability") show(el, r.summary.reachability.state);
    else if (field === "summary.reachabilityReason") show(el, r.summary.reachability.reason ?? "");
    else show(el, get(r, field));
  }
  document.querySelector('[data-field="summary.state"]').dataset.state = r.summary.state;
  document.querySelector('[data-field="summary.reachability"]').dataset.state = r.summary.reachability.state;
  const sec = (t) => Math.floor(Number(t) / 1000);
  const bytes = (v) => formatBytes(BigInt(Math.round(v)));
  chart("chart-minutes", ["cdn", "relay"], [r.traffic.minutes.map((p) => sec(p.t)), r.traffic.minutes.map((p) => Number(p.cdn)), r.traffic.minutes.map((p) => Number(p.relay))], bytes);
  chart("chart-days", ["cdn", "relay"], [r.traffic.days.map((p) => sec(p.t)), r.traffic.days.map((p) => Number(p.cdn)), r.traffic.days.map((p) => Number(p.relay))], bytes);
  // Expected value per day (tickets accepted) next to what redemptions paid, over the same 30 days
  // as the traffic chart (days without tickets or redemptions are zeros).
  const days = r.traffic.days.map((p) => new Date(Number(p.t)).toISOString().slice(0, 10));
  const byDay = (list, day) => list.find((d) => d.day === day);
  const toTokens = (v) => Number(BigInt(v ?? "0")) / 1e18;
  chart("chart-earnings", ["expected", "gross", "burn", "treasury", "net"], [
    r.traffic.days.map((p) => sec(p.t)),
    days.map((d) => toTokens(byDay(r.tickets.days, d)?.expected)),
    ...["gross", "burn", "treasury", "net"].map((k) => days.map((d) => toTokens(byDay(r.earnings.days, d)?.[k]))),
  ], (v) => `${+v.toPrecision(4)}`);
  rows(document.querySelector("#earnings-days tbody"), r.earnings.days, (d) => [[d.day], [d.tickets, "int"], [d.gross, "token"], [d.burn, "token"], [d.treasury, "token"], [d.gas, "coin"], [d.net, "token"], [d.reward, "token"]]);
  const rewards = r.rewards ?? { claimable: [], vesting: { tranches: [] } };
  rows(document.querySelector("#claimable tbody"), rewards.claimable, (c) => [[c.epoch, "int"], [c.amount, "token"]]);
  rows(document.querySelector("#tranches tbody"), rewards.vesting.tranches, (t) => [[t.startEpoch, "int"], [t.amount, "token"], [t.vestedEpoch, "int"]]);
  document.getElementById("claim").disabled = rewards.claimable.length === 0;
  document.getElementById("withdraw").disabled = BigInt(rewards.vesting.withdrawable ?? "0") === 0n;
  const ul = document.getElementById("limits");
  ul.replaceChildren(
    ...(r.limits.length === 0 ? [Object.assign(document.createElement("li"), { textContent: "none set: the node takes all the work it can" })] : []),
    ...r.limits.map((l) => {
      const li = document.createElement("li");
      const [label, detail, used, max] = limitText(l);
      li.dataset.limit = l.limit;
      li.dataset.holding = String(l.holding);
      li.append(`${label}${l.holding ? " — holding" : ""} `);
      if (used !== undefined) li.append(Object.assign(document.createElement("meter"), { value: used, max }));
      li.append(Object.assign(document.createElement("small"), { textContent: ` ${detail}` }));
      return li;
    }),
  );
  if (!rendered) {
    rendered = true;
    performance.mark("bandmint-first-render");
    document.documentElement.dataset.rendered = "1";
  }
}

async function refresh() {
  try {
    render(await api("api/report"));
    if (document.getElementById("notice").dataset.kind === "error") notice("");
  } catch (error) {
    notice(`Cannot read the node: ${error.message}`, "error");
  }
}

function notice(text, kind = "info") {
  const el = document.getElementById("notice");
  el.textContent = text;
  el.dataset.kind = kind;
}

async function act(button, path, describe) {
  button.disabled = true;
  notice(`${button.textContent}: sending the transaction…`);
  try {
    const result = await api(path, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
    notice(describe(result));
  } catch (error) {
    notice(`${button.textContent} failed: ${error.message}`, "error");
  }
  await refresh();
}

document.getElementById("claim").addEventListener("click", (e) =>
  act(e.currentTarget, "api/rewards/claim", (r) => `Claimed epochs ${r.epochs.join(", ")}: ${formatUnits(r.minted, "BAND")} now vesting (tx ${r.txHash}).`));
document.getElementById("withdraw").addEventListener("click", (e) =>
  act(e.currentTarget, "api/rewards/withdraw", (r) => `Withdrew ${formatUnits(r.amount, "BAND")} (tx ${r.txHash}).`));

await refresh();
setInterval(refresh, REFRESH_MS);
