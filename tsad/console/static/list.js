/* tsad console: the series list — search, sort, and per-series details (last
   value, learning state, open incidents) fetched a few at a time. */
"use strict";
(function () {
  const { api, fmt, showError } = window.tsad;
  const DETAIL_LIMIT = 300; // details for this many series; the rest show the list's fields
  let rows = [];
  let sortKey = "series_id";
  let sortDir = 1;

  function state(detail) {
    if (!detail) return { text: "…", cls: "" };
    if (detail.last_error) return { text: "fallback band", cls: "failed", title: detail.last_error };
    if (detail.learning === true) {
      const more = detail.points_needed ? ` (${detail.points_needed} more points)` : "";
      return { text: `learning${more}`, cls: "learning" };
    }
    if (detail.learning === false || detail.band) return { text: "detecting", cls: "detecting" };
    return { text: "learning", cls: "learning", title: "no band fitted yet" };
  }

  function render() {
    const q = document.getElementById("search").value.trim().toLowerCase();
    const shown = rows.filter((r) => r.series_id.toLowerCase().includes(q));
    shown.sort((a, b) => {
      const x = a[sortKey], y = b[sortKey];
      if (x === y) return 0;
      if (x === null || x === undefined) return 1;
      if (y === null || y === undefined) return -1;
      return (x < y ? -1 : 1) * sortDir;
    });
    const body = document.querySelector("#series-table tbody");
    body.innerHTML = shown.map((r) => {
      const s = state(r.detail);
      const inc = r.open_incidents === null ? "—" : r.open_incidents;
      const incTitle = r.incidents_exact ? "open incidents" : "incidents so far (this server does not say which are open)";
      return `<tr class="clickable" data-id="${fmt.esc(r.series_id)}">
        <td><a href="/console/series?id=${encodeURIComponent(r.series_id)}">${fmt.esc(r.series_id)}</a></td>
        <td class="num">${r.count.toLocaleString()}</td>
        <td class="num">${fmt.num(r.last_value)}</td>
        <td>${fmt.time(r.last)}</td>
        <td>${fmt.esc(r.model_used || r.model || "auto")}</td>
        <td><span class="pill ${s.cls}" title="${fmt.esc(s.title || "")}">${fmt.esc(s.text)}</span></td>
        <td class="num" title="${incTitle}">${inc}</td></tr>`;
    }).join("");
    body.querySelectorAll("tr").forEach((tr) => {
      tr.onclick = (e) => {
        if (e.target.tagName !== "A") location.href = `/console/series?id=${encodeURIComponent(tr.dataset.id)}`;
      };
    });
    document.getElementById("summary").textContent =
      `${shown.length} of ${rows.length} series`;
    document.getElementById("empty").hidden = rows.length > 0;
    document.querySelectorAll("th.sortable").forEach((th) => {
      th.classList.toggle("sorted-asc", th.dataset.key === sortKey && sortDir === 1);
      th.classList.toggle("sorted-desc", th.dataset.key === sortKey && sortDir === -1);
    });
  }

  async function details(row) {
    const id = encodeURIComponent(row.series_id);
    const [detail, last, anomalies] = await Promise.all([
      api(`/v1/series/${id}`).catch(() => null),
      row.last ? api(`/v1/series/${id}/points?start=${encodeURIComponent(row.last)}`).catch(() => null) : null,
      api(`/v1/series/${id}/anomalies?group=incidents`).catch(() => null),
    ]);
    row.detail = detail;
    row.state = state(detail).text;
    if (last && last.points.length) row.last_value = last.points[last.points.length - 1].value;
    if (anomalies && Array.isArray(anomalies.incidents)) {
      row.open_incidents = anomalies.incidents.filter((i) => i.open).length;
      row.incidents_exact = true;
    } else if (anomalies && Array.isArray(anomalies.anomalies)) {
      // an older server: group its flagged points, and say their open state is unknown
      const span = row.first && row.last ? window.tsad.secs(row.last) - window.tsad.secs(row.first) : 0;
      const stepS = row.count > 1 ? span / (row.count - 1) : 60;
      row.open_incidents = window.tsad.incidentsFromAnomalies(anomalies.anomalies, stepS).length;
    }
  }

  async function load() {
    try {
      const list = await api("/v1/series");
      rows = list.series.map((s) => ({ ...s, last_value: null, open_incidents: null, state: "…", detail: null }));
      render();
      const queue = rows.slice(0, DETAIL_LIMIT);
      const workers = Array.from({ length: 6 }, async () => {
        while (queue.length) await details(queue.shift());
      });
      await Promise.all(workers);
      render();
      document.body.dataset.loaded = "1";
    } catch (err) {
      showError(err);
    }
  }

  document.addEventListener("DOMContentLoaded", () => {
    document.getElementById("search").addEventListener("input", render);
    document.querySelectorAll("th.sortable").forEach((th) => {
      th.onclick = () => {
        sortDir = sortKey === th.dataset.key ? -sortDir : 1;
        sortKey = th.dataset.key;
        render();
      };
    });
    load();
  });
})();
