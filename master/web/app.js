// The framehive console: one page, five views chosen by the URL's hash (#/ overview,
// #/camera/PORT, #/events, #/search, #/upload), built on the master's JSON API
// (docs/http-api.md) — the same API a script would use. Plain JavaScript, no framework, no
// build step; Chart.js and Bootstrap's CSS come from Debian's packages, embedded in the master
// like this file.

const STATUS_EVERY_MS = 1000;
const RESULTS_EVERY_MS = 3000;
const FAILURES_EVERY_MS = 10000;
const UPLOAD_POLL_MS = 500;
const EVENTS_EVERY_MS = 2000;
const EVENTS_SHOWN = 200;   // items the events list keeps, the oldest removed beyond
const CAMERA_EVENTS = 5;    // recent events on a camera page
// The master's --max-image-bytes, from /api/v1/session at start (the master is the authority;
// this only spares sending a file it would refuse).
let maxUploadBytes = 16 * 1024 * 1024;
const UPLOAD_TYPES = ["image/jpeg", "image/png"];
const UPLOAD_PORT = 0;  // the reserved source port of uploaded images
// Chart windows: seconds -> bucket interval (at most ~100 buckets) and refresh period.
const WINDOWS = {
  300: {interval: 5, refresh_ms: 5000},
  3600: {interval: 60, refresh_ms: 15000},
  21600: {interval: 300, refresh_ms: 60000},
  86400: {interval: 900, refresh_ms: 60000},
};
// Colour-blind friendly, each >= 3:1 against white (WCAG non-text contrast).
const PALETTE = ["#1f5fbf", "#c2410c", "#15803d", "#9333ea", "#b91c1c", "#0e7490", "#a16207",
                 "#be185d", "#4d7c0f", "#475569"];
// The chart's tracked-objects line (teal, 5.5:1 on white; its axis's ticks and title too).
const OBJECTS_COLOUR = "#0f766e";

// ---- small helpers --------------------------------------------------------------------------

const $ = (id) => document.getElementById(id);

/// Creates an element: el("a", {class: "x", href: "#/", text: "hi"}, child, ...).
function el(tag, props = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") e.className = v;
    else if (k === "text") e.textContent = v;
    else if (k === "dataset") Object.assign(e.dataset, v);
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    e.append(c instanceof Node ? c : String(c));
  }
  return e;
}

const nf = new Intl.NumberFormat("en-US");
const count = (n) => nf.format(Math.round(n || 0));
const fps = (x) => (x || 0).toFixed(1);

function ms(x) {
  if (!x) return "–";
  return x < 1000 ? `${Math.round(x)} ms` : `${(x / 1000).toFixed(1)} s`;
}

/// "812 B", "117 KiB", "3.4 MiB".
function bytes(n) {
  if (n < 1024) return `${n} B`;
  if (n < 1048576) return `${Math.round(n / 1024)} KiB`;
  return `${(n / 1048576).toFixed(1)} MiB`;
}

/// "0.4 s", "42 s", "5 min", "3 min 20 s", "2 h 5 min", "1 d 3 h".
function duration(s) {
  s = Math.max(0, s || 0);
  if (s < 10 && s !== Math.round(s)) return `${s.toFixed(1)} s`;
  s = Math.round(s);
  const two = (n1, u1, n2, u2) => (n2 ? `${n1} ${u1} ${n2} ${u2}` : `${n1} ${u1}`);
  if (s < 60) return `${s} s`;
  if (s < 3600) return two(Math.floor(s / 60), "min", s % 60, "s");
  if (s < 86400) return two(Math.floor(s / 3600), "h", Math.floor((s % 3600) / 60), "min");
  return two(Math.floor(s / 86400), "d", Math.floor((s % 86400) / 3600), "h");
}

/// "230 / 880 ms", "0.9 / 1.4 s".
function latencyPair(p) {
  const a = p.latency_p50_ms || 0;
  const b = p.latency_p99_ms || 0;
  if (b < 1000) return `${Math.round(a)} / ${Math.round(b)} ms`;
  return `${(a / 1000).toFixed(1)} / ${(b / 1000).toFixed(1)} s`;
}

const ago = (s) => `${duration(s)} ago`;

function clock(t, seconds = true) {
  if (!t) return "–";
  const d = new Date(t * 1000);
  const hm = d.toLocaleTimeString("en-GB", {hour: "2-digit", minute: "2-digit",
                                            second: seconds ? "2-digit" : undefined});
  const today = new Date();
  if (d.toDateString() === today.toDateString()) return hm;
  return `${d.toLocaleDateString("en-GB", {day: "numeric", month: "short"})} ${hm}`;
}

function fullTime(t) {
  return t ? new Date(t * 1000).toLocaleString("en-GB") : "–";
}

/// "2024-05-01T12:30:00" in local time, for <input type=datetime-local>.
function localInput(t) {
  const d = new Date(t * 1000);
  const p = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:` +
         `${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

function cookie(name) {
  for (const part of document.cookie.split(";")) {
    const [k, ...v] = part.trim().split("=");
    if (k === name) return decodeURIComponent(v.join("="));
  }
  return "";
}

function portName(p) {
  if (p.port === UPLOAD_PORT) return "Uploads";
  return p.stream || `Camera ${p.port}`;
}

function frameUrl(taskId, width) {
  const q = width ? `?width=${width}` : "";
  return `/api/v1/tasks/${encodeURIComponent(taskId)}/frame.jpg${q}`;
}

function labelCounts(detections) {
  const m = new Map();
  for (const d of detections || []) m.set(d.label, (m.get(d.label) || 0) + 1);
  return [...m.entries()].sort((a, b) => b[1] - a[1]);
}

function showError(box, message) {
  box.textContent = message || "";
  box.hidden = !message;
}

/// Repeats fn every period (after it finished) until the returned function is called.
function every(periodMs, fn) {
  let stopped = false;
  let timer = 0;
  const run = async () => {
    if (stopped) return;
    try {
      await fn();
    } catch (e) {
      // Shown by fn itself; a redirect to the login page ends the loop.
    }
    if (!stopped) timer = setTimeout(run, typeof periodMs === "function" ? periodMs() : periodMs);
  };
  run();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}

// ---- the API --------------------------------------------------------------------------------

class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

let leaving = false;          // set once the page is going to the login page: no more requests
const inflight = new Set();  // fetch() promises not settled yet

function goLogin() {
  if (leaving) return;
  leaving = true;
  const here = window.location.pathname + window.location.search + window.location.hash;
  window.location.assign(`/login?next=${encodeURIComponent(here)}`);
}

/// fetch() with the console's headers; JSON back, or an ApiError with the server's message.
async function api(path, options = {}) {
  const headers = new Headers(options.headers || {});
  headers.set("X-Framehive-Console", "1");
  const method = (options.method || "GET").toUpperCase();
  if (method !== "GET" && method !== "HEAD") {
    const token = cookie("fh_csrf");
    if (token) headers.set("X-CSRF-Token", token);
  }
  if (leaving) throw new ApiError(0, "leaving the page");
  let res;
  // referrerPolicy: a POST then carries this page's Origin, not "null" (see index.html).
  const request = fetch(path, {...options, method, headers, credentials: "same-origin",
                               referrerPolicy: "same-origin"});
  inflight.add(request);
  try {
    res = await request;
  } catch (e) {
    throw new ApiError(0, "the master does not answer (network error)");
  } finally {
    inflight.delete(request);
  }
  if (res.status === 401) {
    goLogin();
    throw new ApiError(401, "not logged in");
  }
  if (!res.ok) {
    let message = `${res.status} ${res.statusText}`;
    try {
      const body = await res.json();
      if (body && body.error && body.error.message) {
        message = `${body.error.message} (HTTP ${body.error.status || res.status})`;
      }
    } catch (e) {
      // Not JSON: keep the status line.
    }
    throw new ApiError(res.status, message);
  }
  return options.raw ? res : res.json();
}

// ---- shared state: the latest status ---------------------------------------------------------

let status = null;           // the latest GET /api/v1/status
const statusListeners = [];  // called with each new status

const masterNow = () => (status && status.now) || Date.now() / 1000;
const cameraPorts = () => (status ? status.ports.filter((p) => p.source !== "upload" &&
                                                              p.port !== UPLOAD_PORT) : []);

function liveCapabilities() {
  const caps = [];
  for (const w of (status && status.workers) || []) {
    if (!w.alive) continue;
    for (const c of w.capabilities || []) if (!caps.includes(c)) caps.push(c);
  }
  return caps;
}

async function pollStatus() {
  if (leaving) return;
  try {
    status = await api("/api/v1/status");
  } catch (e) {
    if (e.status === 401 || leaving) return;
    showError($("global-error"), `Cannot load the master's status: ${e.message}. Retrying…`);
    $("conn-state").replaceChildren(el("span", {class: "badge text-bg-danger", text: "offline"}));
    return;
  }
  showError($("global-error"), "");
  $("conn-state").replaceChildren();
  $("master-version").textContent = status.version ? `master ${status.version}` : "";
  for (const fn of statusListeners) {
    try {
      fn(status);
    } catch (e) {
      console.warn("console: rendering the status failed:", e);
    }
  }
}

/// A port's detector as shown: the detector its frames go to, and for a fallback chain
/// (--detector PORT=A,B) whether that is a fallback, e.g. "hog (fallback; chain dnn:yolo,hog)".
function detectorText(p) {
  const chain = p.detector_chain || [];
  if (chain.length === 0) return p.detector || "–";
  return `${p.running_detector} (${p.fallback ? "fallback; " : ""}chain ${chain.join(", ")})`;
}

function stateBadge(p) {
  const s = p.state || "idle";
  let cls = "text-bg-secondary";
  let text = s;
  let title = "";
  if (s === "live") {
    cls = "text-bg-success";
  } else if (s === "stalled") {
    cls = "text-bg-warning";
    text = `stalled for ${duration(p.stalled_s)}`;
    title = "no frame received recently";
  } else if (s === "waiting") {
    cls = "text-bg-info";
    text = "waiting";
    const chain = p.detector_chain || [];
    title = chain.length
      ? `frames are pending and no live worker offers any of ${chain.join(", ")}`
      : `frames are pending and no live worker offers ${p.detector || "its detector"}`;
  } else if (s === "idle") {
    title = "no frame received yet";
  }
  return el("span", {class: `badge state-badge ${cls}`, title: title || null, text});
}

/// Swaps img to the task's frame once it loaded, so that the picture never flickers; only when
/// the task changes.
function showFrame(img, placeholder, taskId, width, alt) {
  if (!taskId) {
    if (!img.dataset.task) {
      img.hidden = true;
      placeholder.hidden = false;
    }
    return;
  }
  if (img.dataset.task === taskId) return;
  img.dataset.task = taskId;
  const url = frameUrl(taskId, width);
  const pre = new Image();
  pre.onload = () => {
    if (img.dataset.task !== taskId) return;
    img.src = url;
    img.alt = alt;
    img.hidden = false;
    placeholder.hidden = true;
  };
  pre.onerror = () => {
    // Evicted between the status and the request: the next status names a newer frame.
    if (img.dataset.task === taskId) delete img.dataset.task;
  };
  pre.src = url;
}

// ---- Overview -------------------------------------------------------------------------------

const overview = {
  tiles: new Map(),  // port -> {root, img, placeholder, ...}

  render(s) {
    $("overview-uptime").textContent = `master up ${duration(s.uptime_s)}`;
    this.renderTotals(s);
    this.renderTiles(s);
    this.renderQueue(s);
    this.renderUploads(s);
    this.renderWorkers(s);
  },

  renderTotals(s) {
    const alive = s.workers.filter((w) => w.alive).length;
    const items = [
      ["Completed", count(s.completed)],
      ["Failed", count(s.failed), s.failed > 0],
      ["Pending", count(s.pending)],
      ["In progress", count(s.in_progress)],
      ["Dropped", count(s.dropped), s.dropped > 0],
      ["Expired", count(s.expired), s.expired > 0],
      ["Requeued", count((s.requeued_timeout || 0) + (s.requeued_dead_worker || 0))],
      ["Workers up", `${alive} / ${s.workers.length}`, alive === 0 && s.workers.length > 0],
    ];
    $("totals").replaceChildren(...items.map(([label, value, bad]) =>
      el("div", {class: bad ? "stat stat-bad" : "stat"},
         el("div", {class: "stat-label", text: label}),
         el("div", {class: "stat-value", text: value}))));
  },

  makeTile(p) {
    const img = el("img", {class: "frame-img tile-frame", alt: "", hidden: true});
    const placeholder = el("div", {class: "frame-placeholder", text: "No frame yet"});
    const name = el("span", {class: "name"});
    const portText = el("span", {class: "text-body-secondary small", text: `port ${p.port}`});
    const badge = el("span", {class: "ms-auto"});
    const detector = el("div", {class: "small text-body-secondary"});
    const metric = () => el("dd", {class: "num"});
    const m = {fpsIn: metric(), fpsOut: metric(), latency: metric(), completed: metric(),
               lost: metric(), failed: metric()};
    const root = el("a", {class: "camera-tile", href: `#/camera/${p.port}`,
                          dataset: {port: p.port}},
      el("div", {class: "frame-box"}, img, placeholder),
      el("div", {class: "tile-body"},
         el("div", {class: "tile-title"}, name, portText, badge),
         detector,
         el("dl", {class: "tile-metrics"},
            el("div", {}, el("dt", {text: "fps in"}), m.fpsIn),
            el("div", {}, el("dt", {text: "fps detected"}), m.fpsOut),
            el("div", {}, el("dt", {text: "p50 / p99"}), m.latency),
            el("div", {}, el("dt", {text: "completed / gated"}), m.completed),
            el("div", {}, el("dt", {text: "dropped / expired"}), m.lost),
            el("div", {}, el("dt", {text: "failed"}), m.failed))));
    return {root, img, placeholder, name, badge, detector, m};
  },

  renderTiles(s) {
    const ports = cameraPorts();
    const box = $("camera-tiles");
    $("camera-count").textContent = ports.length === 1 ? "1 camera" : `${ports.length} cameras`;
    if (ports.length === 0) {
      this.tiles.clear();
      box.replaceChildren(el("p", {class: "empty-note",
        text: "No camera has sent a frame yet. Start a framehive-sender towards the receiver."}));
      return;
    }
    const seen = new Set();
    const order = [];
    for (const p of ports) {
      seen.add(p.port);
      let t = this.tiles.get(p.port);
      if (!t) {
        t = this.makeTile(p);
        this.tiles.set(p.port, t);
      }
      const title = portName(p);
      t.name.textContent = title;
      t.badge.replaceChildren(stateBadge(p));
      t.detector.textContent = `detector ${detectorText(p)}`;
      t.detector.className = p.fallback ? "small text-warning-emphasis fw-semibold"
                                        : "small text-body-secondary";
      t.m.fpsIn.textContent = fps(p.fps_in);
      t.m.fpsOut.textContent = fps(p.fps);
      t.m.latency.textContent = p.latency_p50_ms ? latencyPair(p) : "–";
      t.m.completed.textContent = `${count(p.completed)} / ${count(p.gated || 0)}`;
      t.m.lost.textContent = `${count(p.dropped)} / ${count(p.expired)}`;
      t.m.failed.textContent = count(p.failed);
      t.root.setAttribute("aria-label", `${title}, port ${p.port}: ${t.badge.textContent}`);
      t.placeholder.textContent = p.state === "waiting" ? "Waiting for a worker" : "No frame yet";
      showFrame(t.img, t.placeholder, p.latest_task_id, 480,
                `Latest annotated frame from ${title} (port ${p.port})`);
      order.push(t.root);
    }
    for (const port of [...this.tiles.keys()]) if (!seen.has(port)) this.tiles.delete(port);
    // Re-append only when the set or order of tiles changed: the images keep loading.
    const current = [...box.children];
    if (current.length !== order.length || current.some((c, i) => c !== order[i])) {
      box.replaceChildren(...order);
    }
  },

  renderQueue(s) {
    const q = s.queue || {};
    const waiting = new Set(s.waiting_detectors || []);
    const names = Object.keys(q).sort();
    if (names.length === 0) {
      $("queue").replaceChildren(el("p", {class: "empty-note", text: "Nothing pending."}));
      return;
    }
    $("queue").replaceChildren(el("ul", {class: "list-unstyled mb-0"}, names.map((d) =>
      el("li", {class: "d-flex align-items-center gap-2 py-1"},
         el("code", {text: d}),
         waiting.has(d) ? el("span", {class: "badge text-bg-info", text: "no live worker"}) : null,
         el("span", {class: "ms-auto num fw-semibold", text: count(q[d])})))));
  },

  renderUploads(s) {
    const p = s.ports.find((x) => x.port === UPLOAD_PORT || x.source === "upload");
    if (!p) {
      $("uploads-port").replaceChildren(el("p", {class: "empty-note"},
        "No image uploaded yet. ", el("a", {href: "#/upload", text: "Upload images"}),
        " to run a detector on them."));
      return;
    }
    $("uploads-port").replaceChildren(el("dl", {class: "tile-metrics mt-0"},
      ["received", "pending", "in_progress", "completed", "failed"].map((k) =>
        el("div", {}, el("dt", {text: k.replace("_", " ")}),
           el("dd", {class: "num", text: count(p[k])})))));
  },

  renderWorkers(s) {
    const now = masterNow();
    if (s.workers.length === 0) {
      $("workers").replaceChildren(el("tr", {}, el("td", {colspan: 8, class: "empty-note py-3",
        text: "No worker has registered. Start a framehive-worker with --master pointing here."})));
      return;
    }
    $("workers").replaceChildren(...s.workers.map((w) => el("tr", {},
      el("td", {}, el("code", {text: w.worker_id})),
      el("td", {class: "small", text: w.address}),
      el("td", {}, (w.capabilities || []).map((c) => el("span", {class: "label-chip", text: c}))),
      el("td", {}, el("span", {class: `badge ${w.alive ? "text-bg-success" : "text-bg-danger"}`,
                               text: w.alive ? "alive" : "dead"})),
      el("td", {class: "text-end num", text: count(w.completed)}),
      el("td", {class: "text-end num", text: count(w.failed)}),
      el("td", {class: "text-end num", text: w.last_seen ? ago(now - w.last_seen) : "–"}),
      el("td", {class: "text-end num", text: w.task_age_s > 0 ? duration(w.task_age_s) : "–"}))));
  },
};

// ---- the frame dialog -----------------------------------------------------------------------

function recordTitle(r) {
  if (r.port === UPLOAD_PORT) return `Upload ${(r.stream || "").replace(/^upload:/, "")}`;
  return `${r.stream || `Camera ${r.port}`} · frame ${r.frame_id}`;
}

function openRecord(r, kept) {
  const dlg = $("frame-dialog");
  $("frame-dialog-title").textContent = recordTitle(r);
  $("frame-dialog-json-summary").textContent = "Record as JSON";
  const img = $("frame-dialog-img");
  const placeholder = $("frame-dialog-placeholder");
  placeholder.textContent = "Frame no longer kept";
  if (kept) {
    img.hidden = false;
    placeholder.hidden = true;
    img.alt = `Annotated frame ${r.frame_id} of ${r.stream || `port ${r.port}`} with ` +
              `${(r.detections || []).length} detections`;
    img.onerror = () => {
      img.hidden = true;
      placeholder.hidden = false;
    };
    img.src = frameUrl(r.task_id);
  } else {
    img.removeAttribute("src");
    img.hidden = true;
    placeholder.hidden = false;
  }
  const latency = r.completed_at && r.captured_at ? (r.completed_at - r.captured_at) * 1000 : 0;
  const rows = [
    ["Task", r.task_id], ["Port", r.port], ["Stream", r.stream || "–"], ["Frame", r.frame_id],
    ["Captured", fullTime(r.captured_at)], ["Received", fullTime(r.received_at)],
    ["Completed", fullTime(r.completed_at)], ["Latency", ms(latency)],
    ["Worker", r.worker_id || "–"], ["Detector", r.detector || "–"],
    ["Processing", ms(r.processing_ms)], ["Detections", (r.detections || []).length],
  ];
  $("frame-dialog-record").replaceChildren(...rows.flatMap(([k, v]) =>
    [el("dt", {text: k}), el("dd", {text: String(v)})]));
  $("frame-dialog-json").textContent = JSON.stringify(r, null, 2);
  if (!dlg.open) dlg.showModal();
}

$("frame-dialog-close").addEventListener("click", () => $("frame-dialog").close());
$("frame-dialog").addEventListener("click", (e) => {
  if (e.target === $("frame-dialog")) $("frame-dialog").close();  // a click on the backdrop
});

/// One result as a thumbnail button; cards are cached by task id so that thumbnails don't reload.
function resultCard(r, cache) {
  const kept = r.frame_kept !== false;
  const key = `${r.task_id}/${kept}`;
  if (cache && cache.has(key)) return cache.get(key);
  const n = (r.detections || []).length;
  const frame = kept ?
      el("img", {class: "frame-img", loading: "lazy", src: frameUrl(r.task_id, 160),
                 alt: `Frame ${r.frame_id} of ${r.stream || `port ${r.port}`}: ${n} detections`}) :
      el("div", {class: "frame-placeholder", role: "img",
                 "aria-label": "Frame no longer kept", text: "no longer kept"});
  const card = el("button", {type: "button", class: "result-card", dataset: {task: r.task_id},
                             onclick: () => openRecord(r, kept)},
    el("span", {class: "frame-box w-100"}, frame),
    el("span", {class: "meta d-block"},
       el("span", {class: "when d-block", text: clock(r.captured_at)}),
       el("span", {class: "d-block text-body-secondary",
                   text: `${r.port === UPLOAD_PORT ? "upload" : r.stream || `port ${r.port}`} · ` +
                         `${n} detection${n === 1 ? "" : "s"}`}),
       labelCounts(r.detections).slice(0, 3).map(([label, c]) =>
         el("span", {class: "label-chip", text: c > 1 ? `${label} ×${c}` : label}))));
  if (cache) cache.set(key, card);
  return card;
}

function renderResults(box, records, cache, emptyText) {
  if (records.length === 0) {
    box.replaceChildren(el("p", {class: "empty-note", text: emptyText}));
    return;
  }
  const cards = records.map((r) => resultCard(r, cache));
  const current = [...box.children];
  if (current.length !== cards.length || current.some((c, i) => c !== cards[i])) {
    box.replaceChildren(...cards);
  }
  if (cache) {
    const keep = new Set(cards);
    for (const [k, c] of cache) if (!keep.has(c)) cache.delete(k);
  }
}

const knownLabels = new Set();

function learnLabels(records) {
  let added = false;
  for (const r of records) {
    for (const d of r.detections || []) {
      if (!knownLabels.has(d.label)) {
        knownLabels.add(d.label);
        added = true;
      }
    }
  }
  if (added) {
    $("known-labels").replaceChildren(...[...knownLabels].sort().map((l) =>
      el("option", {value: l})));
  }
}

// ---- Camera page ----------------------------------------------------------------------------

const camera = {
  port: 0,
  stops: [],
  chart: null,
  cache: new Map(),  // result cards by task id
  eventCache: new Map(),  // event items by seq

  enter(port) {
    if (port !== this.port) {
      this.port = port;
      this.cache.clear();
      this.eventCache.clear();
      $("camera-results").replaceChildren();
      $("camera-events").replaceChildren();
      $("camera-events-empty").hidden = true;
      $("camera-failures").replaceChildren();
      const img = $("camera-live");
      img.hidden = true;
      img.removeAttribute("src");
      delete img.dataset.task;
      $("camera-live-placeholder").hidden = false;
      if (this.chart) {
        this.chart.destroy();
        this.chart = null;
      }
    }
    $("camera-title").textContent = `Camera ${port}`;
    $("camera-crumb").textContent = `Camera ${port}`;
    $("export-csv").href = `/api/v1/export?port=${port}&format=csv`;
    $("export-jsonl").href = `/api/v1/export?port=${port}&format=jsonl`;
    $("camera-events-link").href = `#/events?port=${port}`;
    showError($("camera-error"), "");
    if (status) this.render(status);
    this.stops = [
      every(RESULTS_EVERY_MS, () => this.loadResults()),
      every(RESULTS_EVERY_MS, () => this.loadEvents()),
      every(FAILURES_EVERY_MS, () => this.loadFailures()),
      every(() => WINDOWS[this.windowSeconds()].refresh_ms, () => this.loadChart()),
    ];
  },

  leave() {
    for (const stop of this.stops) stop();
    this.stops = [];
  },

  windowSeconds() {
    const checked = document.querySelector("input[name=window]:checked");
    return checked ? Number(checked.value) : 300;
  },

  render(s) {
    const p = s.ports.find((x) => x.port === this.port);
    if (!p) {
      $("camera-state").replaceChildren(el("span", {class: "badge text-bg-secondary",
                                                    text: "no frames yet"}));
      $("camera-stats").replaceChildren(el("dt", {text: "Port"}),
        el("dd", {text: `${this.port}: the master has not received a frame on it`}));
      return;
    }
    const title = p.port === UPLOAD_PORT ? "Uploads" : `${portName(p)}`;
    $("camera-title").textContent = title;
    $("camera-crumb").textContent = title;
    document.title = `${title} · framehive`;
    $("camera-state").replaceChildren(stateBadge(p));
    const now = masterNow();
    const rows = [
      ["Port", p.port], ["Stream", p.stream || "–"], ["Detector", detectorText(p)],
      ["fps in / detected", `${fps(p.fps_in)} / ${fps(p.fps)}`],
      ["Latency p50 / p99", `${ms(p.latency_p50_ms)} / ${ms(p.latency_p99_ms)}`],
      ["Last frame", p.last_received_at ? ago(now - p.last_received_at) : "never"],
      ["Received", count(p.received)], ["Completed", count(p.completed)],
      ["Pending / in progress", `${count(p.pending)} / ${count(p.in_progress)}`],
      ["Failed", count(p.failed)], ["Dropped / expired", `${count(p.dropped)} / ${count(p.expired)}`],
      ["Gated (nothing moved, not sent)", count(p.gated || 0)],
    ];
    $("camera-stats").replaceChildren(...rows.flatMap(([k, v]) =>
      [el("dt", {text: k}), el("dd", {class: "num", text: String(v)})]));
    $("camera-live-caption").textContent = p.latest_task_id ? `task ${p.latest_task_id}` : "";
    showFrame($("camera-live"), $("camera-live-placeholder"), p.latest_task_id, 960,
              `Latest annotated frame from ${title} (port ${p.port})`);
  },

  async loadResults() {
    const port = this.port;
    let body;
    try {
      body = await api(`/api/v1/ports/${port}/results?limit=50`);
    } catch (e) {
      if (port === this.port) showError($("camera-error"), `Recent results: ${e.message}`);
      throw e;
    }
    if (port !== this.port) return;
    showError($("camera-error"), "");
    const records = body.results || [];
    learnLabels(records);
    $("results-caption").textContent = records.length ? `newest ${records.length}` : "";
    renderResults($("camera-results"), records, this.cache, "No results yet.");
  },

  async loadEvents() {
    const port = this.port;
    let body;
    try {
      body = await api(`/api/v1/events?order=desc&limit=${CAMERA_EVENTS}&port=${port}`);
    } catch (e) {
      if (port !== this.port) return;
      $("camera-events").replaceChildren();
      $("camera-events-empty").classList.add("text-danger");
      showError($("camera-events-empty"), `Cannot load the events: ${e.message}`);
      throw e;
    }
    if (port !== this.port) return;
    const list = body.events || [];
    $("camera-events-empty").classList.remove("text-danger");
    showError($("camera-events-empty"), list.length ? "" : "No events for this camera yet.");
    const items = list.map((e) => {
      const key = `${e.seq}/${e.snapshot_kept !== false}`;
      if (!this.eventCache.has(key)) this.eventCache.set(key, eventItem(e, true));
      return this.eventCache.get(key);
    });
    const box = $("camera-events");
    const current = [...box.children];
    if (current.length !== items.length || current.some((c, i) => c !== items[i])) {
      box.replaceChildren(...items);
    }
    const keep = new Set(items);
    for (const [k, item] of this.eventCache) if (!keep.has(item)) this.eventCache.delete(k);
  },

  async loadFailures() {
    const port = this.port;
    let body;
    try {
      body = await api(`/api/v1/failures?port=${port}&limit=50`);
    } catch (e) {
      if (port !== this.port) return;
      $("camera-failures").replaceChildren(el("tr", {}, el("td", {colspan: 5,
        class: "text-danger", text: `Cannot load failures: ${e.message}`})));
      throw e;
    }
    if (port !== this.port) return;
    const failures = body.failures || [];
    if (failures.length === 0) {
      $("camera-failures").replaceChildren(el("tr", {}, el("td", {colspan: 5,
        class: "empty-note py-3", text: "No failures."})));
      return;
    }
    $("camera-failures").replaceChildren(...failures.map((f) => el("tr", {},
      el("td", {class: "num text-nowrap", text: clock(f.failed_at)}),
      el("td", {class: "num", text: f.frame_id}),
      el("td", {}, el("code", {text: f.task_id})),
      el("td", {text: f.worker_id || "–"}),
      el("td", {class: "failure-reason", text: f.reason}))));
  },

  async loadChart() {
    const port = this.port;
    const win = this.windowSeconds();
    const {interval} = WINDOWS[win];
    let body;
    try {
      body = await api(`/api/v1/ports/${port}/summary?interval=${interval}&since=${win}`);
    } catch (e) {
      if (port === this.port) $("chart-caption").textContent = `Cannot load the summary: ${e.message}`;
      throw e;
    }
    if (port !== this.port || win !== this.windowSeconds()) return;
    this.drawChart(body.buckets || [], win, interval, body.since);
  },

  drawChart(buckets, win, interval, since) {
    const now = masterNow();
    const first = Math.floor((since || now - win) / interval) * interval;
    const last = Math.floor(now / interval) * interval;
    const n = Math.max(1, Math.round((last - first) / interval) + 1);
    const labels = [];
    for (let i = 0; i < n; i++) labels.push(clock(first + i * interval, interval < 60));
    const frames = new Array(n).fill(0);
    const objects = new Array(n).fill(0);  // distinct tracked objects, all labels
    const perLabel = new Map();
    let totalDetections = 0;
    let totalFrames = 0;
    for (const b of buckets) {
      const i = Math.round((b.start - first) / interval);
      if (i < 0 || i >= n) continue;
      frames[i] += b.frames || 0;
      totalFrames += b.frames || 0;
      for (const c of Object.values(b.tracks || {})) objects[i] += c;
      for (const [label, c] of Object.entries(b.labels || {})) {
        if (!perLabel.has(label)) perLabel.set(label, new Array(n).fill(0));
        perLabel.get(label)[i] += c;
        totalDetections += c;
      }
    }
    const datasets = [...perLabel.entries()]
      .sort((a, b) => b[1].reduce((x, y) => x + y, 0) - a[1].reduce((x, y) => x + y, 0))
      .map(([label, data], i) => ({type: "bar", label, data, stack: "detections",
                                   backgroundColor: PALETTE[i % PALETTE.length]}));
    // Objects on an axis of their own: a few per bucket beside tens of detections.
    datasets.push({type: "line", label: "objects (tracks)", data: objects, yAxisID: "y2",
                   borderColor: OBJECTS_COLOUR, backgroundColor: OBJECTS_COLOUR,
                   borderWidth: 2.5, pointRadius: 0, pointHoverRadius: 4, stepped: "middle"});
    datasets.push({type: "line", label: "frames analysed", data: frames, yAxisID: "y1",
                   borderColor: "#334155", backgroundColor: "#334155", borderWidth: 1.5,
                   pointRadius: 0, cubicInterpolationMode: "monotone"});
    $("chart-caption").textContent =
      `${count(totalDetections)} detections in ${count(totalFrames)} frames over the last ` +
      `${duration(win)} (${duration(interval)} buckets); objects: distinct tracked objects ` +
      "per bucket.";
    if (!window.Chart) {
      $("chart-caption").textContent += " (Chart.js did not load.)";
      return;
    }
    if (this.chart) {
      this.chart.data.labels = labels;
      this.chart.data.datasets = datasets;
      this.chart.update("none");
      return;
    }
    this.chart = new window.Chart($("summary-chart"), {
      data: {labels, datasets},
      options: {
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        interaction: {mode: "index", intersect: false},
        scales: {
          x: {stacked: true, ticks: {color: "#1d2430", maxRotation: 0, autoSkipPadding: 12}},
          y: {stacked: true, beginAtZero: true, ticks: {color: "#1d2430", precision: 0},
              title: {display: true, text: "detections", color: "#1d2430"}},
          y1: {position: "right", beginAtZero: true, grid: {drawOnChartArea: false},
               ticks: {color: "#1d2430", precision: 0},
               title: {display: true, text: "frames", color: "#1d2430"}},
          y2: {position: "right", beginAtZero: true, suggestedMax: 4,
               grid: {drawOnChartArea: false}, ticks: {color: OBJECTS_COLOUR, precision: 0},
               title: {display: true, text: "objects", color: OBJECTS_COLOUR}},
        },
        plugins: {legend: {position: "bottom", labels: {color: "#1d2430"}}},
      },
    });
  },
};

for (const input of document.querySelectorAll("input[name=window]")) {
  input.addEventListener("change", () => {
    if (current.view !== "camera") return;
    camera.loadChart().catch(() => {});
  });
}

// ---- Events ---------------------------------------------------------------------------------

/// The type filter's families -> the API's type patterns (one request each, merged by seq).
const EVENT_FAMILIES = {
  all: [""],
  objects: ["object.*"],
  camera: ["camera.*"],
  workers: ["worker.*", "detector.*"],
};

/// Badge colours: object.* shades of one blue, trouble as warning/danger, recovery as success.
const EVENT_BADGES = {
  "object.start": "ev-object-start",
  "object.zone_enter": "ev-object-zone",
  "object.zone_leave": "ev-object-zone-leave",
  "object.stationary": "ev-object-stationary",
  "object.end": "ev-object-end",
  "camera.stalled": "text-bg-warning",
  "camera.loss": "text-bg-warning",
  "detector.unavailable": "text-bg-danger",
  "detector.fallback": "text-bg-warning",
  "detector.restored": "text-bg-success",
  "worker.dead": "text-bg-danger",
  "camera.recovered": "text-bg-success",
  "worker.back": "text-bg-success",
};

const isObjectEvent = (e) => typeof e.type === "string" && e.type.startsWith("object.");

function eventBadge(type) {
  const cls = EVENT_BADGES[type] || (String(type).startsWith("object.") ? "ev-object-end" :
                                     "text-bg-secondary");
  return el("span", {class: `badge event-badge ${cls}`, text: type || "event"});
}

/// "person #12" for an object event, else its type.
function eventTitle(e) {
  return isObjectEvent(e) ? `${e.label || "object"} #${e.track_id}` : e.type;
}

function eventCameraName(e) {
  return e.stream || `Camera ${e.port}`;
}

function eventFrameUrl(taskId, width) {
  const q = new URLSearchParams();
  if (width) q.set("width", width);
  q.set("boxes", "1");
  return `/api/v1/tasks/${encodeURIComponent(taskId)}/frame.jpg?${q}`;
}

const percent = (x) => `${Math.round((x || 0) * 100)}%`;

/// One event as a list item (compact: the camera page's list, without the camera and rules).
function eventItem(e, compact = false) {
  const object = isObjectEvent(e);
  const kept = e.snapshot_kept !== false;
  let thumb = null;
  if (object && e.snapshot_task_id) {
    const placeholder = () => el("span", {class: "frame-placeholder",
                                          text: "snapshot no longer kept"});
    let frame;
    if (kept) {
      frame = el("img", {class: "frame-img", loading: "lazy", width: 160, height: 120,
                         src: eventFrameUrl(e.snapshot_task_id, 160),
                         alt: `Snapshot of ${eventTitle(e)}`});
      frame.addEventListener("error", () => frame.replaceWith(placeholder()), {once: true});
    } else {
      frame = placeholder();
    }
    thumb = el("button", {type: "button", class: "frame-box event-thumb",
                          title: "Show the full frame",
                          "aria-label": `Show the full frame of ${eventTitle(e)}`,
                          onclick: () => openEvent(e)}, frame);
  }
  const when = el("time", {class: "event-time", title: fullTime(e.time), text: clock(e.time),
                           datetime: e.time ? new Date(e.time * 1000).toISOString() : null});
  const head = el("div", {class: "event-head"}, eventBadge(e.type));
  if (object) {
    head.append(el("span", {class: "event-object", text: eventTitle(e)}));
    if (e.confidence) {
      head.append(el("span", {class: "text-body-secondary num", title: "best confidence",
                              text: percent(e.confidence)}));
    }
  }
  const facts = [];
  if (!compact && e.port) {
    facts.push(el("span", {}, el("a", {href: `#/camera/${e.port}`, text: eventCameraName(e)}),
                  ` · port ${e.port}`));
  }
  if (e.zone) {
    facts.push(el("span", {}, "zone ", el("span", {class: "fw-semibold", text: e.zone})));
  }
  if (object && e.end > 0 && e.start > 0) {
    facts.push(el("span", {text: `lasted ${duration(e.end - e.start)}`}));
  }
  const body = el("div", {class: "event-body"}, head,
    facts.length ? el("div", {class: "event-facts small"}, facts) : null,
    !object && e.detail ? el("div", {class: "event-detail small", text: e.detail}) : null,
    !compact && (e.rules || []).length ?
      el("div", {class: "event-rules small"},
         el("span", {class: "text-body-secondary", text: "rules "}),
         e.rules.map((r) => el("span", {class: "label-chip", text: r}))) : null);
  return el("li", {class: thumb ? "event-item" : "event-item no-thumb",
                   dataset: {seq: e.seq, type: e.type, port: e.port}},
            when, thumb || el("span", {class: "event-thumb-none"}), body);
}

/// The frame dialog with an event's snapshot, its facts and its JSON.
function openEvent(e) {
  const dlg = $("frame-dialog");
  const object = isObjectEvent(e);
  $("frame-dialog-title").textContent = e.port ?
      `${eventTitle(e)} · ${eventCameraName(e)}` : eventTitle(e);
  $("frame-dialog-json-summary").textContent = "Event as JSON";
  const img = $("frame-dialog-img");
  const placeholder = $("frame-dialog-placeholder");
  placeholder.textContent = e.snapshot_task_id ? "Snapshot no longer kept" : "No frame";
  if (e.snapshot_task_id && e.snapshot_kept !== false) {
    img.hidden = false;
    placeholder.hidden = true;
    img.alt = `Snapshot of ${eventTitle(e)} (${e.type}), annotated`;
    img.onerror = () => {
      img.hidden = true;
      placeholder.hidden = false;
    };
    img.src = eventFrameUrl(e.snapshot_task_id);
  } else {
    img.removeAttribute("src");
    img.hidden = true;
    placeholder.hidden = false;
  }
  const b = e.box || {};
  const rows = [["Type", e.type], ["Time", fullTime(e.time)],
                ["Camera", e.port ? `${eventCameraName(e)} (port ${e.port})` : "–"]];
  if (object) {
    rows.push(["Object", eventTitle(e)], ["Confidence", percent(e.confidence)],
              ["Box", `${b.w}×${b.h} px at (${b.x}, ${b.y})`]);
    if (e.zone) rows.push(["Zone", e.zone]);
    rows.push(["First seen", fullTime(e.start)]);
    if (e.end > 0) {
      rows.push(["Last seen", fullTime(e.end)], ["Lasted", duration(e.end - e.start)]);
    }
    rows.push(["Snapshot task", e.snapshot_task_id || "–"]);
  } else {
    rows.push(["Detail", e.detail || "–"]);
  }
  rows.push(["Rules", (e.rules || []).length ? e.rules.join(", ") : "none"], ["Event", e.id],
            ["Sequence", e.seq]);
  $("frame-dialog-record").replaceChildren(...rows.flatMap(([k, v]) =>
    [el("dt", {text: k}), el("dd", {text: String(v)})]));
  $("frame-dialog-json").textContent = JSON.stringify(e, null, 2);
  if (!dlg.open) dlg.showModal();
}

const events = {
  filter: {port: "", family: "all"},
  cursor: 0,        // the highest seq shown: polls ask for events after it
  loaded: false,    // the first page (newest first) is shown
  stop: null,       // ends the polling loop
  generation: 0,    // bumped when the filter changes: replies for an older filter are dropped
  ports: null,      // the camera options shown, joined

  enter(query) {
    const q = new URLSearchParams(query || "");
    const port = q.get("port") || "";
    const family = q.get("type") || "all";
    this.filter = {port: /^\d{1,5}$/.test(port) ? port : "",
                   family: EVENT_FAMILIES[family] ? family : "all"};
    this.ports = null;
    this.renderPorts(status);
    const radio = $(`events-family-${this.filter.family}`);
    if (radio) radio.checked = true;
    this.restart();
  },

  leave() {
    if (this.stop) this.stop();
    this.stop = null;
  },

  render(s) {
    this.renderPorts(s);
  },

  /// The camera select: every camera port of the status, and the filter's port even when the
  /// status does not list it (yet).
  renderPorts(s) {
    const ports = s ? cameraPorts().slice().sort((a, b) => a.port - b.port) : [];
    const known = new Set(ports.map((p) => String(p.port)));
    const extra = this.filter.port && !known.has(this.filter.port) ? [this.filter.port] : [];
    const key = ports.map((p) => `${p.port}=${p.stream}`).concat(extra).join(",");
    if (key === this.ports) return;
    this.ports = key;
    const select = $("events-port");
    select.replaceChildren(el("option", {value: "", text: "All cameras"}),
      ...ports.map((p) => el("option", {value: p.port,
                                        text: `${portName(p)} (port ${p.port})`})),
      ...extra.map((port) => el("option", {value: port, text: `Camera ${port}`})));
    select.value = this.filter.port;
  },

  /// Applies the filter controls: the URL says it (history entry replaced), the list reloads.
  changed() {
    const checked = document.querySelector("input[name=events-family]:checked");
    this.filter = {port: $("events-port").value, family: checked ? checked.value : "all"};
    const q = new URLSearchParams();
    if (this.filter.port) q.set("port", this.filter.port);
    if (this.filter.family !== "all") q.set("type", this.filter.family);
    const hash = q.toString() ? `#/events?${q}` : "#/events";
    if (window.location.hash !== hash) window.history.replaceState(null, "", hash);
    this.restart();
  },

  restart() {
    this.leave();
    this.generation += 1;
    this.cursor = 0;
    this.loaded = false;
    $("events-list").replaceChildren();
    $("events-empty").hidden = true;
    showError($("events-error"), "");
    $("events-caption").textContent = "Loading…";
    const generation = this.generation;
    this.stop = every(EVENTS_EVERY_MS, () => this.poll(generation));
  },

  filtered() {
    return this.filter.port !== "" || this.filter.family !== "all";
  },

  /// GET /api/v1/events for each type pattern of the family; params has order, limit, after.
  async fetch(params) {
    const replies = await Promise.all(EVENT_FAMILIES[this.filter.family].map((type) => {
      const q = new URLSearchParams(params);
      if (this.filter.port) q.set("port", this.filter.port);
      if (type) q.set("type", type);
      return api(`/api/v1/events?${q}`);
    }));
    return replies.map((r) => (r && r.events) || []);
  },

  async poll(generation) {
    const limit = 100;
    let pages;
    try {
      pages = this.loaded ?
          await this.fetch({order: "asc", after: this.cursor, limit}) :
          await this.fetch({order: "desc", limit});
    } catch (e) {
      if (generation !== this.generation) return;
      showError($("events-error"), `Cannot load the events: ${e.message}. Retrying…`);
      $("events-caption").textContent = "";
      throw e;
    }
    if (generation !== this.generation) return;
    showError($("events-error"), "");
    let batch;
    if (!this.loaded) {
      batch = pages.flat().sort((a, b) => a.seq - b.seq).slice(-limit);
      this.loaded = true;
    } else {
      // Of a full page, events after its last one may be missing: take events only up to the
      // lowest such last seq, the next poll goes on from there.
      let upTo = Infinity;
      for (const page of pages) {
        if (page.length >= limit) upTo = Math.min(upTo, page[page.length - 1].seq);
      }
      batch = pages.flat().filter((e) => e.seq > this.cursor && e.seq <= upTo)
                   .sort((a, b) => a.seq - b.seq);
    }
    this.add(batch);
  },

  /// Prepends events (oldest first in batch, so that the newest ends on top).
  add(batch) {
    const list = $("events-list");
    const fresh = list.children.length > 0;
    for (const e of batch) {
      if (e.seq <= this.cursor) continue;
      this.cursor = e.seq;
      const item = eventItem(e);
      if (fresh) item.classList.add("event-new");
      list.prepend(item);
    }
    while (list.children.length > EVENTS_SHOWN) list.lastElementChild.remove();
    const n = list.children.length;
    $("events-empty").textContent = this.filtered() ?
        "No event matches these filters yet." :
        "No events yet — events appear when tracked objects start, enter zones or end, and " +
        "when cameras stall; see docs/events.md.";
    $("events-empty").hidden = n > 0;
    $("events-caption").textContent = n === 0 ? "live" :
        n >= EVENTS_SHOWN ? `the newest ${EVENTS_SHOWN}, live` :
        `${n} event${n === 1 ? "" : "s"}, live`;
  },
};

$("events-port").addEventListener("change", () => events.changed());
for (const input of document.querySelectorAll("input[name=events-family]")) {
  input.addEventListener("change", () => events.changed());
}
$("events-filter").addEventListener("submit", (e) => e.preventDefault());

// ---- Search ---------------------------------------------------------------------------------

const search = {
  ports: "",  // the port list the checkboxes show
  cache: new Map(),

  enter() {
    if (!$("search-since").value) this.lastHour();
    if (status) this.render(status);
  },

  lastHour() {
    const now = Date.now() / 1000;
    $("search-since").value = localInput(now - 3600);
    $("search-until").value = "";
  },

  render(s) {
    const ports = s.ports.slice().sort((a, b) => a.port - b.port);
    const key = ports.map((p) => p.port).join(",");
    if (key === this.ports) return;
    const checked = new Set([...document.querySelectorAll("#search-ports input:checked")]
                              .map((i) => Number(i.value)));
    const first = this.ports === "";
    this.ports = key;
    if (ports.length === 0) {
      $("search-ports").replaceChildren(el("span", {class: "text-body-secondary small",
                                                    text: "No camera yet."}));
      return;
    }
    $("search-ports").replaceChildren(...ports.map((p) => el("div", {class: "form-check"},
      el("input", {class: "form-check-input", type: "checkbox", id: `search-port-${p.port}`,
                   value: p.port, checked: first || checked.has(p.port) || null}),
      el("label", {class: "form-check-label", for: `search-port-${p.port}`,
                   text: p.port === UPLOAD_PORT ? "Uploads" : `${portName(p)} (${p.port})`}))));
  },

  async run() {
    const params = new URLSearchParams();
    const label = $("search-label").value.trim();
    if (label) params.set("label", label);
    params.set("min_confidence", $("search-conf").value);
    const boxes = [...document.querySelectorAll("#search-ports input")];
    const chosen = boxes.filter((b) => b.checked).map((b) => b.value);
    if (boxes.length > 0 && chosen.length === 0) {
      showError($("search-error"), "Choose at least one camera.");
      return;
    }
    if (chosen.length !== boxes.length) params.set("ports", chosen.join(","));
    const since = $("search-since").value ? new Date($("search-since").value).getTime() / 1000 : 0;
    const until = $("search-until").value ? new Date($("search-until").value).getTime() / 1000 : 0;
    if (since && until && until < since) {
      showError($("search-error"), "The end of the time range is before its start.");
      return;
    }
    if (since) params.set("since", since.toFixed(0));
    if (until) params.set("until", until.toFixed(0));
    params.set("limit", "200");
    showError($("search-error"), "");
    $("search-caption").textContent = "Searching…";
    let body;
    try {
      body = await api(`/api/v1/search?${params}`);
    } catch (e) {
      $("search-caption").textContent = "";
      showError($("search-error"), `Search failed: ${e.message}`);
      return;
    }
    const results = body.results || [];
    learnLabels(results);
    $("search-caption").textContent = results.length === 200 ?
        "The newest 200 matching frames." :
        `${results.length} matching frame${results.length === 1 ? "" : "s"}.`;
    renderResults($("search-results"), results, this.cache, "No frame matches.");
  },
};

$("search-form").addEventListener("submit", (e) => {
  e.preventDefault();
  search.run();
});
$("search-last-hour").addEventListener("click", () => {
  search.lastHour();
  search.run();
});
$("search-conf").addEventListener("input", () => {
  $("search-conf-out").textContent = Number($("search-conf").value).toFixed(2);
});

// ---- Upload ---------------------------------------------------------------------------------

const upload = {
  caps: null,  // the capabilities the select shows, joined

  render() {
    const caps = liveCapabilities();
    const key = caps.join(",");
    if (key === this.caps) return;
    this.caps = key;
    const select = $("upload-detector");
    const previous = select.value;
    const options = caps.map((c) => el("option", {value: c, text: c}));
    options.push(el("option", {value: "", text: "the master's default"}));
    options.push(el("option", {value: "__other", text: "Other…"}));
    select.replaceChildren(...options);
    if (previous && [...select.options].some((o) => o.value === previous)) {
      select.value = previous;
    } else {
      select.selectedIndex = 0;
    }
    $("upload-detector-note").textContent = caps.length ?
        `Offered by live workers: ${caps.join(", ")}.` :
        "No live worker: uploads wait until one offering the detector registers.";
    this.toggleOther();
  },

  toggleOther() {
    $("upload-detector-other-box").hidden = $("upload-detector").value !== "__other";
  },

  detector() {
    const v = $("upload-detector").value;
    return v === "__other" ? $("upload-detector-other").value.trim() : v;
  },

  async files(list) {
    showError($("upload-error"), "");
    const detector = this.detector();
    if ($("upload-detector").value === "__other" && !detector) {
      showError($("upload-error"), "Type the detector's name, or choose one from the list.");
      return;
    }
    // Checked here for a quick answer; the master checks again and is the authority.
    const jobs = [...list].map((file) => {
      const type = file.type || (/\.png$/i.test(file.name) ? "image/png" :
                                 /\.jpe?g$/i.test(file.name) ? "image/jpeg" : "");
      let refused = "";
      if (!UPLOAD_TYPES.includes(type)) {
        refused = `Not a JPEG or PNG image (${file.type || "unknown type"}): not uploaded.`;
      } else if (file.size > maxUploadBytes) {
        refused = `${bytes(file.size)} is over the master's limit of ${bytes(maxUploadBytes)}: ` +
                  "not uploaded.";
      } else if (file.size === 0) {
        refused = "The file is empty: not uploaded.";
      }
      return {file, type, refused, item: this.item(file, !refused)};
    });
    // The newest batch on top, in the order the files were chosen.
    $("upload-list").prepend(...jobs.map((j) => j.item.root));
    for (const job of jobs) {
      if (job.refused) job.item.fail(job.refused, "not sent");
    }
    for (const job of jobs) {
      if (!job.refused) await this.send(job.file, job.type, detector, job.item);
    }
  },

  item(file, withPreview) {
    const preview = withPreview ? URL.createObjectURL(file) : "";
    const badge = el("span", {class: "badge text-bg-secondary ms-auto", text: "uploading"});
    const img = withPreview ?
        el("img", {class: "frame-img", src: preview, alt: `Preview of ${file.name}`}) :
        el("img", {class: "frame-img", alt: "", hidden: true});
    const placeholder = el("div", {class: "frame-placeholder", text: "Not uploaded",
                                   hidden: withPreview});
    const info = el("div", {class: "small"});
    const detections = el("div");
    const root = el("div", {class: "card upload-item", dataset: {state: "uploading"}},
      el("div", {class: "card-header d-flex align-items-center gap-2"},
         el("span", {class: "text-truncate file-name", title: file.name, text: file.name}),
         el("span", {class: "small text-body-secondary fw-normal text-nowrap",
                     text: bytes(file.size)}),
         badge),
      el("div", {class: "frame-box"}, img, placeholder),
      el("div", {class: "card-body"}, info, detections));
    const setState = (state, text, cls) => {
      root.dataset.state = state;
      badge.className = `badge ms-auto ${cls}`;
      badge.textContent = text;
    };
    return {
      root, img, info, detections, setState, preview,
      fail(message, badgeText = "failed") {
        setState("failed", badgeText, "text-bg-danger");
        info.replaceChildren(el("div", {class: "alert alert-danger py-2 mb-0", role: "alert",
                                        text: message}));
      },
    };
  },

  async send(file, type, detector, item) {
    const params = new URLSearchParams({name: file.name});
    if (detector) params.set("detector", detector);
    let reply;
    try {
      reply = await api(`/api/v1/images?${params}`, {method: "POST", body: file,
                                                      headers: {"Content-Type": type}});
    } catch (e) {
      item.fail(`The master refused the image: ${e.message}`);
      return;
    }
    item.root.dataset.task = reply.task_id;
    item.setState("pending", "queued", "text-bg-secondary");
    item.info.replaceChildren(
      el("div", {}, "Task ", el("code", {text: reply.task_id}), ` · detector ${reply.detector}`),
      reply.waiting ? el("div", {class: "text-body-secondary",
                                 text: `No live worker offers ${reply.detector} now: the image ` +
                                       "waits for one."}) : null);
    this.follow(reply.task_id, item);
  },

  follow(taskId, item) {
    const stop = every(UPLOAD_POLL_MS, async () => {
      let t;
      try {
        t = await api(`/api/v1/tasks/${encodeURIComponent(taskId)}`);
      } catch (e) {
        if (e.status === 404 || e.status === 401) {
          stop();
          item.fail(`Task ${taskId}: ${e.message}`);
        }
        return;
      }
      if (t.state === "pending") {
        item.setState("pending", "queued", "text-bg-secondary");
      } else if (t.state === "in_progress") {
        item.setState("in_progress", "detecting", "text-bg-info");
      } else if (t.state === "completed") {
        stop();
        this.completed(t, item);
      } else if (t.state === "failed") {
        stop();
        item.fail(`Failed: ${(t.failure && t.failure.reason) || "no reason given"}`);
      }
    });
  },

  completed(t, item) {
    const r = t.record || {task_id: t.task_id, detections: []};
    const dets = r.detections || [];
    item.setState("completed", `${dets.length} detection${dets.length === 1 ? "" : "s"}`,
                  "text-bg-success");
    if (t.frame_kept !== false) {
      const url = frameUrl(t.task_id);
      const pre = new Image();
      pre.onload = () => {
        item.img.src = url;
        item.img.alt = `Annotated ${(r.stream || "").replace(/^upload:/, "")}: ` +
                       `${dets.length} detections`;
        if (item.preview) URL.revokeObjectURL(item.preview);
      };
      pre.src = url;
      item.img.classList.add("clickable");
      item.img.addEventListener("click", () => openRecord(r, true));
    }
    item.detections.replaceChildren(dets.length === 0 ?
      el("p", {class: "empty-note small mb-0 mt-2", text: "Nothing detected."}) :
      el("ol", {class: "detections mt-2"}, dets.map((d) => el("li", {},
        el("span", {class: "fw-semibold", text: d.label}),
        ` ${(d.confidence * 100).toFixed(0)}% at (${d.x}, ${d.y}), ${d.w}×${d.h} px`))),
      el("button", {type: "button", class: "btn btn-link btn-sm px-0",
                    text: "Show the frame and its record", onclick: () => openRecord(r, true)}));
  },
};

$("upload-detector").addEventListener("change", () => upload.toggleOther());
$("upload-files").addEventListener("change", (e) => {
  const list = [...e.target.files];
  e.target.value = "";
  upload.files(list);
});
{
  const zone = $("drop-zone");
  zone.addEventListener("dragover", (e) => {
    e.preventDefault();
    zone.classList.add("dragging");
  });
  zone.addEventListener("dragleave", () => zone.classList.remove("dragging"));
  zone.addEventListener("drop", (e) => {
    e.preventDefault();
    zone.classList.remove("dragging");
    upload.files([...e.dataTransfer.files]);
  });
  // Files dropped next to the zone must not replace the page.
  window.addEventListener("dragover", (e) => e.preventDefault());
  window.addEventListener("drop", (e) => e.preventDefault());
}

// ---- routing --------------------------------------------------------------------------------

const views = {
  overview: {title: "Overview", enter: () => status && overview.render(status), leave() {},
             render: (s) => overview.render(s)},
  camera: {title: "Camera", enter: (port) => camera.enter(port), leave: () => camera.leave(),
           render: (s) => camera.render(s)},
  events: {title: "Events", enter: (query) => events.enter(query), leave: () => events.leave(),
           render: (s) => events.render(s)},
  search: {title: "Search", enter: () => search.enter(), leave() {}, render: (s) => search.render(s)},
  upload: {title: "Upload", enter: () => upload.render(), leave() {}, render: () => upload.render()},
  notfound: {title: "Not found", enter() {}, leave() {}, render() {}},
};

const current = {view: "", arg: null};

function route(focus) {
  const hash = window.location.hash || "#/";
  let view = "notfound";
  let arg = null;
  const cam = hash.match(/^#\/camera\/(\d{1,5})$/);
  const evs = hash.match(/^#\/events(?:\?(.*))?$/);
  if (hash === "#/" || hash === "#") view = "overview";
  else if (cam) [view, arg] = ["camera", Number(cam[1])];
  else if (evs) [view, arg] = ["events", evs[1] || ""];
  else if (hash === "#/search") view = "search";
  else if (hash === "#/upload") view = "upload";
  if (current.view) views[current.view].leave();
  if ($("frame-dialog").open) $("frame-dialog").close();  // it belongs to the page left
  current.view = view;
  current.arg = arg;
  for (const section of document.querySelectorAll(".app-view")) {
    section.hidden = section.id !== `view-${view}`;
  }
  for (const link of document.querySelectorAll("[data-nav]")) {
    const active = link.dataset.nav === view;
    link.classList.toggle("active", active);
    if (active) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  document.title = `${views[view].title} · framehive`;
  views[view].enter(arg);
  if (focus) $("view").focus({preventScroll: true});
}

statusListeners.push((s) => views[current.view].render(s));
window.addEventListener("hashchange", () => route(true));

$("logout").addEventListener("click", async () => {
  // No request may run into the ended session (a 401 would be an error in the browser's
  // console): stop making them, let those under way finish, then log out.
  leaving = true;
  await Promise.allSettled([...inflight]);
  const headers = {"X-Framehive-Console": "1"};
  const token = cookie("fh_csrf");
  if (token) headers["X-CSRF-Token"] = token;
  try {
    await fetch("/logout", {method: "POST", headers, credentials: "same-origin",
                            referrerPolicy: "same-origin"});
  } catch (e) {
    // Going to the login page anyway: it says whether the session is still valid.
  }
  window.location.assign("/login");
});

async function start() {
  route(false);
  try {
    const session = await api("/api/v1/session");
    $("logout").hidden = !session.auth_required;
    if (session.max_image_bytes > 0) maxUploadBytes = session.max_image_bytes;
  } catch (e) {
    // Not fatal: the status poll shows the error.
  }
  every(STATUS_EVERY_MS, pollStatus);
}

start();
