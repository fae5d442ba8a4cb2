/* tsad console: the status page — GET /v1/status, /health and /ready as tables. */
"use strict";
(function () {
  const { api, fmt, showError } = window.tsad;

  function fill(id, pairs) {
    document.querySelector(`#${id} tbody`).innerHTML = pairs
      .map(([k, v]) => `<tr><td>${fmt.esc(k)}</td><td>${fmt.esc(v === null || v === undefined ? "—" : v)}</td></tr>`)
      .join("");
  }

  async function probe(path) {
    try {
      const out = await api(path);
      return out.status;
    } catch (err) {
      return `${err.status || ""} ${err.message}`.trim();
    }
  }

  async function load() {
    try {
      const [status, health, ready] = await Promise.all([api("/v1/status"), probe("/health"), probe("/ready")]);
      fill("process", [["version", status.version], ["/health", health], ["/ready", ready]]);
      const b = status.buffer;
      fill("buffer", [["kind", b.kind], ["reachable", b.reachable ? "yes" : "no"], ["series", b.series],
        ["Redis", b.redis_url || "not used"]]);
      const w = status.workers;
      fill("workers", [["runner", w.runner], ["model workers", w.model_workers],
        ["embedded queue worker", w.embedded_worker ? "yes" : "no"],
        ["refit queue", status.refit_queue.kind], ["refits pending", status.refit_queue.pending]]);
      fill("settings", Object.entries(status.settings).map(([k, v]) => [k, typeof v === "boolean" ? (v ? "yes" : "no") : v]));
      document.body.dataset.loaded = "1";
    } catch (err) {
      showError(err);
    }
  }

  document.addEventListener("DOMContentLoaded", load);
})();
