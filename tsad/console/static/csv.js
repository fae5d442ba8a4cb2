/* tsad console: drop a CSV (timestamp,value or unique_id,ds,y), send its points
   inline to POST /v1/detect or /v1/forecast and draw the answer. Nothing is stored. */
"use strict";
(function () {
  const { api, fmt, showError, secs, direction } = window.tsad;
  let table = null; // {byId: Map(id -> [[ts, value]...]), long: bool}

  function parse(text) {
    const lines = text.split(/\r?\n/).filter((l) => l.trim());
    if (lines.length < 2) throw new Error("the file has no data rows");
    const head = lines[0].split(",").map((h) => h.trim().replace(/^"|"$/g, "").toLowerCase());
    let cols;
    if (head.includes("unique_id") && head.includes("ds") && head.includes("y")) {
      cols = { id: head.indexOf("unique_id"), ts: head.indexOf("ds"), y: head.indexOf("y") };
    } else if (head.includes("timestamp") && head.includes("value")) {
      cols = { id: -1, ts: head.indexOf("timestamp"), y: head.indexOf("value") };
    } else {
      throw new Error(`expected columns timestamp,value or unique_id,ds,y; found ${head.slice(0, 8).join(",")}`);
    }
    const byId = new Map();
    for (let i = 1; i < lines.length; i++) {
      const cells = lines[i].split(",").map((c) => c.trim().replace(/^"|"$/g, ""));
      const key = cols.id >= 0 ? cells[cols.id] : "series";
      const y = Number(cells[cols.y]);
      if (cells[cols.y] === "" || Number.isNaN(y)) continue;
      const ts = cells[cols.ts];
      if (!byId.has(key)) byId.set(key, []);
      byId.get(key).push([/^\d+(\.\d+)?$/.test(ts) ? Number(ts) : ts, y]);
    }
    if (!byId.size) throw new Error("no numeric values found");
    return { byId, long: cols.id >= 0 };
  }

  function load(file) {
    const reader = new FileReader();
    reader.onload = () => {
      try {
        table = parse(String(reader.result));
        const ids = [...table.byId.keys()];
        const select = document.getElementById("uid");
        select.innerHTML = ids.map((k) => `<option>${fmt.esc(k)}</option>`).join("");
        document.getElementById("uid-label").hidden = !table.long;
        const n = [...table.byId.values()].reduce((a, p) => a + p.length, 0);
        document.getElementById("file-name").textContent =
          `${file.name}: ${n.toLocaleString()} points${table.long ? ` in ${ids.length} series` : ""}`;
        document.getElementById("run").disabled = false;
        showError(null);
      } catch (err) {
        table = null;
        document.getElementById("run").disabled = true;
        showError(err);
      }
    };
    reader.readAsText(file);
  }

  function summary(parts) {
    document.getElementById("result-summary").innerHTML = parts
      .map((p) => `<span>${p}</span>`).join('<span class="muted">·</span>');
  }

  async function run() {
    const button = document.getElementById("run");
    button.disabled = true;
    try {
      const uid = table.long ? document.getElementById("uid").value : "series";
      const points = table.byId.get(uid);
      const mode = document.querySelector("input[name=mode]:checked").value;
      document.getElementById("result-card").hidden = false;
      const chart = document.getElementById("chart");
      const flagsTable = document.getElementById("flags");
      if (mode === "detect") {
        const level = Number(document.getElementById("level").value) || 99;
        const out = await api("/v1/detect", { method: "POST", body: { points, level } });
        const p = out.points;
        const history = {
          ts: p.map((r) => secs(r.timestamp)), value: p.map((r) => r.value),
          expected: p.map((r) => r.expected), lo: p.map((r) => r.lo), hi: p.map((r) => r.hi),
          flagged: p.map((r) => !!r.is_anomaly),
        };
        window.tsadChart.draw(chart, { history, label: uid, level });
        const flagged = p.filter((r) => r.is_anomaly);
        summary([`model <b>${fmt.esc(out.model_used)}</b>${out.degraded ? " (degraded)" : ""}`,
          `${p.length.toLocaleString()} points`, `<b id="flag-count">${flagged.length}</b> flagged at ${level}%`]);
        const top = flagged.slice().sort((a, b) => (b.score ?? 0) - (a.score ?? 0)).slice(0, 50);
        flagsTable.hidden = !top.length;
        flagsTable.querySelector("tbody").innerHTML = top.map((r) => `<tr><td>${fmt.time(r.timestamp)}</td>
          <td class="num">${fmt.num(r.value)}</td><td class="num">${fmt.num(r.expected)}</td>
          <td class="num">${fmt.num(r.score, 3)}</td><td class="num">${fmt.num(r.severity, 3)}</td>
          <td>${direction(r.direction)}</td></tr>`).join("");
      } else {
        const h = Number(document.getElementById("h").value) || 24;
        const levels = document.getElementById("levels").value.split(",").map((s) => Number(s.trim())).filter(Boolean);
        const out = await api("/v1/forecast", { method: "POST", body: { points, h, levels } });
        const rows = out.forecast;
        const history = { ts: points.map((q) => (typeof q[0] === "number" ? q[0] : secs(/[zZ]|[+-]\d\d:?\d\d$/.test(q[0]) ? q[0] : `${q[0].replace(" ", "T")}Z`))), value: points.map((q) => q[1]) };
        const forecast = {
          ts: rows.map((r) => secs(r.timestamp)), mean: rows.map((r) => r.mean),
          bands: levels.slice().sort((a, b) => a - b).map((l) => ({ level: l, lo: rows.map((r) => r[`lo-${l}`]), hi: rows.map((r) => r[`hi-${l}`]) })),
        };
        window.tsadChart.draw(chart, { history, forecast, label: uid });
        flagsTable.hidden = true;
        summary([`model <b>${fmt.esc(out.model_used)}</b>${out.degraded ? " (degraded)" : ""}`,
          `${rows.length} steps ahead`, `levels ${levels.join(", ")}%`]);
      }
      showError(null);
      document.body.dataset.result = mode;
    } catch (err) {
      showError(err);
    } finally {
      button.disabled = false;
    }
  }

  document.addEventListener("DOMContentLoaded", () => {
    const drop = document.getElementById("drop");
    const input = document.getElementById("file");
    drop.onclick = () => input.click();
    drop.onkeydown = (e) => { if (e.key === "Enter" || e.key === " ") input.click(); };
    input.onchange = () => input.files[0] && load(input.files[0]);
    drop.ondragover = (e) => { e.preventDefault(); drop.classList.add("over"); };
    drop.ondragleave = () => drop.classList.remove("over");
    drop.ondrop = (e) => {
      e.preventDefault();
      drop.classList.remove("over");
      if (e.dataTransfer.files[0]) load(e.dataTransfer.files[0]);
    };
    document.getElementById("run").onclick = run;
  });
})();
