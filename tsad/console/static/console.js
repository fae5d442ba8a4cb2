/* tsad console: shared helpers — the API client (bearer key from sessionStorage,
   asked for on a 401), the page header, and small formatting helpers. */
"use strict";
(function () {
  const KEY = "tsad.apiKey";
  const PAGES = [["/", "Series"], ["/console/csv", "CSV"], ["/console/status", "Status"], ["/schema", "API docs"]];

  class ApiError extends Error {
    constructor(status, problem) {
      super((problem && (problem.detail || problem.title)) || `HTTP ${status}`);
      this.status = status;
      this.problem = problem || {};
    }
  }

  let asking = null;
  function askKey(reason) {
    // one dialog at a time: requests failing together wait for the same answer
    if (asking) return asking;
    const dialog = document.getElementById("key-dialog");
    dialog.querySelector(".reason").textContent = reason || "";
    const input = dialog.querySelector("input");
    input.value = "";
    asking = new Promise((resolve, reject) => {
      // Escape closes the dialog: the request fails with the server's own reason
      dialog.oncancel = () => {
        asking = null;
        reject(new ApiError(401, { detail: reason || "this needs an API key" }));
      };
      dialog.querySelector("form").onsubmit = (event) => {
        event.preventDefault();
        sessionStorage.setItem(KEY, input.value.trim());
        dialog.close();
        asking = null;
        updateKeyButton();
        resolve();
      };
    });
    dialog.showModal();
    input.focus();
    return asking;
  }

  async function api(path, options = {}) {
    const headers = { accept: "application/json" };
    const init = { method: options.method || "GET", headers };
    if (options.body !== undefined) {
      headers["content-type"] = "application/json";
      init.body = JSON.stringify(options.body);
    }
    const key = sessionStorage.getItem(KEY);
    if (key) headers.authorization = `Bearer ${key}`;
    const resp = await fetch(path, init);
    if (resp.status === 401) {
      // the server needs a key for this request: ask, then try once more
      const problem = await resp.json().catch(() => ({}));
      await askKey(key ? "That key was not accepted." : problem.detail);
      return api(path, options);
    }
    if (resp.status === 204) return null;
    const body = await resp.json().catch(() => null);
    if (!resp.ok) throw new ApiError(resp.status, body);
    return body;
  }

  function updateKeyButton() {
    const button = document.getElementById("key-button");
    if (!button) return;
    const has = !!sessionStorage.getItem(KEY);
    button.textContent = has ? "Forget key" : "API key";
    button.title = has ? "Remove the key kept for this tab" : "Enter an API key for this tab";
  }

  function header() {
    const here = location.pathname;
    const el = document.createElement("header");
    el.innerHTML = `<div class="brand"><img src="/console/static/favicon.svg" width="22" height="22" alt="">tsad</div>
      <nav>${PAGES.map(([href, label]) =>
        `<a href="${href}" class="${here === href ? "active" : ""}">${label}</a>`).join("")}</nav>
      <div class="spacer"></div><button id="key-button" type="button"></button>`;
    document.body.prepend(el);
    const dialog = document.createElement("dialog");
    dialog.id = "key-dialog";
    dialog.innerHTML = `<form method="dialog"><strong>API key</strong>
      <p class="muted reason"></p>
      <label>Key (kept in this tab only)<input type="password" name="key" autocomplete="off" required></label>
      <button class="primary" type="submit">Use key</button></form>`;
    document.body.append(dialog);
    el.querySelector("#key-button").onclick = () => {
      if (sessionStorage.getItem(KEY)) { sessionStorage.removeItem(KEY); updateKeyButton(); }
      else askKey("");
    };
    updateKeyButton();
  }

  function showError(err) {
    const box = document.getElementById("error");
    if (!box) return;
    box.textContent = err ? (err.message || String(err)) : "";
  }

  const fmt = {
    num(v, digits = 4) {
      if (v === null || v === undefined || Number.isNaN(v)) return "—";
      return Number(v).toLocaleString(undefined, { maximumSignificantDigits: digits });
    },
    time(iso) { return iso ? iso.replace("T", " ").replace(/(\.000)?Z$/, "Z") : "—"; },
    esc(s) {
      return String(s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
    },
  };

  /** Seconds since the epoch of an RFC 3339 string (what uPlot's time axis wants). */
  function secs(iso) { return Date.parse(iso) / 1000; }

  /** Consecutive flagged points grouped into incidents, for servers without ?group=incidents. */
  function incidentsFromAnomalies(anomalies, stepS) {
    const out = [];
    let cur = null;
    for (const a of anomalies) {
      const t = secs(a.timestamp);
      if (cur && t - secs(cur.end) <= 1.5 * stepS) {
        cur.end = a.timestamp; cur.points += 1;
        if ((a.score ?? 0) > (cur.peak_score ?? 0)) cur.peak_score = a.score;
        if ((a.severity ?? 0) > (cur.peak_severity ?? 0)) cur.peak_severity = a.severity;
      } else {
        cur = { start: a.timestamp, end: a.timestamp, points: 1, peak_score: a.score ?? null,
          peak_severity: a.severity ?? null, direction: a.direction ?? null, open: null };
        out.push(cur);
      }
    }
    return out;
  }

  function direction(d) {
    if (d === "up" || d === 1) return "▲ up";
    if (d === "down" || d === -1) return "▼ down";
    return "—";
  }

  window.tsad = { api, ApiError, askKey, header, showError, fmt, secs, incidentsFromAnomalies, direction };
  document.addEventListener("DOMContentLoaded", header);
})();
