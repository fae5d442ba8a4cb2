/* tsad console: one series — facts, the chart (values, in-sample expected line and
   band from POST /v1/detect, flagged points, incidents), a forecast overlay from
   POST /v1/forecast, and the incident list. */
"use strict";
(function () {
  const { api, fmt, showError, secs, incidentsFromAnomalies, direction } = window.tsad;
  const id = new URLSearchParams(location.search).get("id") || "";
  const path = `/v1/series/${encodeURIComponent(id)}`;
  let history = null;
  let incidents = [];
  let plot = null;
  let level = null;
  let stored = null; // the band arriving points will be scored against, drawn ahead of the data
  let labels = []; // feedback already given on this series
  // an alert's feedback link: ?feedback=<epoch seconds> marks the incident holding it
  const target = Number(new URLSearchParams(location.search).get("feedback")) || null;

  function facts(detail, status) {
    const items = [
      ["points", detail.count.toLocaleString()],
      ["first", fmt.time(detail.first)],
      ["last", fmt.time(detail.last)],
      ["frequency", detail.freq || "—"],
      ["model", detail.model_used || detail.model || "auto"],
    ];
    if (detail.learning !== undefined) {
      const more = detail.points_needed ? `, ${detail.points_needed} more points` : "";
      items.push(["state", detail.learning ? `learning${more}` : "detecting"]);
    } else {
      items.push(["state", detail.band ? "detecting" : "learning (no band yet)"]);
    }
    if (detail.sensitivity !== undefined) items.push(["sensitivity", fmt.num(detail.sensitivity)]);
    if (detail.threshold !== undefined) items.push(["score threshold", fmt.num(detail.threshold)]);
    if (detail.feedback_count) items.push(["feedback", `${detail.feedback_count} labels`]);
    if (detail.band) items.push(["stored band", `${fmt.time(detail.band.start)} → ${fmt.time(detail.band.end)}`]);
    if (detail.last_error) items.push(["last fit error", detail.last_error]);
    if (status) items.push(["detection level", `${level}%`]);
    document.getElementById("facts").innerHTML = items
      .map(([k, v]) => `<div><span>${fmt.esc(k)}</span>${fmt.esc(v)}</div>`).join("");
  }

  const LABEL_TEXT = { true_positive: "real", false_positive: "false alarm" };

  function labelOf(inc) {
    const a = secs(inc.start), b = secs(inc.end);
    const hit = labels.filter((l) => secs(l.end) >= a && secs(l.start) <= b && LABEL_TEXT[l.label]);
    return hit.length ? hit[hit.length - 1].label : null;
  }

  function feedbackCell(inc) {
    const given = labelOf(inc);
    const rank = inc.p_true != null ? `<span class="muted" title="the alert ranker's p_true">p ${fmt.num(inc.p_true, 2)}</span> ` : "";
    return rank + feedbackButtons(inc, given);
  }

  function feedbackButtons(inc, given) {
    if (given) return `<span class="pill closed labelled">${LABEL_TEXT[given]}</span>`;
    return `<button type="button" class="fb" data-label="true_positive">real</button>
      <button type="button" class="fb" data-label="false_positive">false alarm</button>`;
  }

  async function label(inc, kind) {
    try {
      await api(`${path}/feedback`, { method: "POST", body: { label: kind, start: inc.start, end: inc.end } });
      const [detail, given] = await Promise.all([api(path), api(`${path}/feedback`)]);
      labels = given.feedback;
      facts(detail, null);
      renderIncidents();
      showError(null);
    } catch (err) {
      showError(err);
    }
  }

  function renderIncidents() {
    const body = document.querySelector("#incidents tbody");
    document.getElementById("no-incidents").hidden = incidents.length > 0;
    body.innerHTML = incidents.slice().reverse().map((inc, i) => {
      const st = inc.open === true ? "open" : inc.open === false ? "closed" : "";
      const marked = target && target >= secs(inc.start) && target <= secs(inc.end) ? " target" : "";
      return `<tr class="clickable${marked}" data-i="${incidents.length - 1 - i}">
        <td>${fmt.time(inc.start)}</td><td>${fmt.time(inc.end)}</td>
        <td class="num">${inc.points ?? "—"}</td><td class="num">${fmt.num(inc.peak_score, 3)}</td>
        <td class="num">${fmt.num(inc.peak_severity, 3)}</td><td>${direction(inc.direction)}</td>
        <td>${st ? `<span class="pill ${st}">${st}</span>` : "—"}</td><td>${feedbackCell(inc)}</td></tr>`;
    }).join("");
    body.querySelectorAll("tr").forEach((tr) => {
      const inc = incidents[Number(tr.dataset.i)];
      tr.onclick = (e) => {
        if (e.target.classList.contains("fb")) {
          e.stopPropagation();
          label(inc, e.target.dataset.label);
        } else if (plot) {
          window.tsadChart.zoomTo(plot, secs(inc.start), secs(inc.end));
        }
      };
    });
    const marked = body.querySelector("tr.target");
    if (marked) marked.scrollIntoView({ block: "center" });
  }

  function storedBand(band) {
    if (!band || !band.points.length) return null;
    const p = band.points;
    return { label: `stored band (${band.model_used})`, ts: p.map((r) => secs(r.timestamp)),
      mean: p.map((r) => r.mean), bands: [{ level: band.level, lo: p.map((r) => r.lo), hi: p.map((r) => r.hi) }] };
  }

  let overlay = null; // a forecast the user asked for replaces the stored band

  function draw() {
    const forecast = overlay || stored;
    const shading = incidents.map((i) => ({ start: secs(i.start), end: secs(i.end) }));
    plot = window.tsadChart.draw(document.getElementById("chart"),
      { history, forecast, incidents: shading, label: id, level });
  }

  async function scored(values) {
    // the in-sample band at the detection level: what each stored point was expected to be
    try {
      const body = { series_id: id };
      if (level) body.level = level;
      const out = await api("/v1/detect", { method: "POST", body });
      const byTs = new Map(out.points.map((p) => [secs(p.timestamp), p]));
      const pick = (k) => values.ts.map((t) => (byTs.has(t) ? byTs.get(t)[k] : null));
      document.getElementById("chart-note").textContent = `model ${out.model_used}${out.degraded ? " (degraded)" : ""}`;
      return { ...values, expected: pick("expected"), lo: pick("lo"), hi: pick("hi"),
        flagged: pick("is_anomaly").map(Boolean) };
    } catch (err) {
      if (err.status === 401) throw err;
      document.getElementById("chart-note").textContent = `no band: ${err.message}`;
      return values;
    }
  }

  async function forecast() {
    const button = document.getElementById("forecast-button");
    button.disabled = true;
    try {
      const h = Number(document.getElementById("h").value);
      const levels = document.getElementById("levels").value.split(",").map((s) => Number(s.trim())).filter(Boolean);
      const out = await api("/v1/forecast", { method: "POST", body: { series_id: id, h, levels } });
      const rows = out.forecast;
      overlay = {
        ts: rows.map((r) => secs(r.timestamp)),
        mean: rows.map((r) => r.mean),
        bands: levels.slice().sort((a, b) => a - b).map((l) => ({
          level: l, lo: rows.map((r) => r[`lo-${l}`]), hi: rows.map((r) => r[`hi-${l}`]) })),
      };
      draw();
      document.getElementById("chart-note").textContent =
        `forecast: ${rows.length} steps, model ${out.model_used}${out.degraded ? " (degraded)" : ""}`;
      showError(null);
    } catch (err) {
      showError(err);
    } finally {
      button.disabled = false;
    }
  }

  async function load() {
    document.getElementById("title").textContent = id;
    document.title = `${id} · tsad`;
    try {
      const [detail, points, anomalies, status, given] = await Promise.all([
        api(path), api(`${path}/points`), api(`${path}/anomalies?group=incidents`),
        api("/v1/status").catch(() => null), api(`${path}/feedback`).catch(() => null),
      ]);
      labels = given ? given.feedback : [];
      level = status ? status.settings.detect_level : null;
      document.getElementById("level").value = level ?? 99;
      facts(detail, status);
      stored = storedBand(detail.band);
      const values = { ts: points.points.map((p) => secs(p.timestamp)), value: points.points.map((p) => p.value) };
      const stepS = values.ts.length > 1 ? (values.ts[values.ts.length - 1] - values.ts[0]) / (values.ts.length - 1) : 60;
      incidents = Array.isArray(anomalies.incidents)
        ? anomalies.incidents
        : incidentsFromAnomalies(anomalies.anomalies || [], stepS);
      renderIncidents();
      history = values;
      draw();
      const needed = status ? status.settings.min_points - values.ts.length : 0;
      if (needed > 0) {
        // no model fits this few points: say so instead of asking for a 422
        document.getElementById("chart-note").textContent = `learning: ${needed} more points before a band`;
      } else {
        history = await scored(values);
        draw();
      }
      document.body.dataset.loaded = "1";
    } catch (err) {
      showError(err);
    }
  }

  document.addEventListener("DOMContentLoaded", () => {
    document.getElementById("forecast-button").onclick = forecast;
    document.getElementById("reset-zoom").onclick = () => history && draw();
    document.getElementById("level").onchange = async (e) => {
      level = Number(e.target.value) || null;
      history = await scored({ ts: history.ts, value: history.value });
      draw();
    };
    load();
  });
})();
