/* tsad console: one uPlot chart of a series — values, the expected line, the band,
   flagged points, shaded incidents and an optional forecast with its bands.
   Drag across the chart to zoom in; double-click to zoom back out. */
"use strict";
(function () {
  const BAND_FILL = "rgba(31, 95, 191, 0.14)";
  const FORECAST_FILLS = ["rgba(46, 125, 50, 0.22)", "rgba(46, 125, 50, 0.12)", "rgba(46, 125, 50, 0.07)"];

  function incidentShading(incidents) {
    return {
      hooks: {
        drawClear: [(u) => {
          const { ctx, bbox } = u;
          ctx.save();
          ctx.fillStyle = "rgba(198, 40, 40, 0.10)";
          for (const inc of incidents) {
            const x0 = u.valToPos(inc.start, "x", true);
            const x1 = u.valToPos(inc.end, "x", true);
            const left = Math.max(bbox.left, Math.min(x0, x1) - 3);
            const right = Math.min(bbox.left + bbox.width, Math.max(x0, x1) + 3);
            if (right > left) ctx.fillRect(left, bbox.top, right - left, bbox.height);
          }
          ctx.restore();
        }],
      },
    };
  }

  /**
   * history: {ts: [s], value: [], expected?: [], lo?: [], hi?: [], flagged?: [bool]}
   * forecast: {ts: [s], mean: [], bands: [{level, lo: [], hi: []}], label?} or null
   * incidents: [{start: s, end: s}]
   */
  function draw(el, { history, forecast = null, incidents = [], label = "value", level = null }) {
    el.innerHTML = "";
    const n = history.ts.length;
    const m = forecast ? forecast.ts.length : 0;
    const pad = (arr, before, after) => [...new Array(before).fill(null), ...arr, ...new Array(after).fill(null)];
    const x = [...history.ts, ...(forecast ? forecast.ts : [])];
    const data = [x, pad(history.value, 0, m)];
    const series = [{}, { label, stroke: "#1d2733", width: 1.2 }];
    const bands = [];
    if (history.expected) {
      data.push(pad(history.expected, 0, m));
      series.push({ label: "expected", stroke: "#1f5fbf", width: 1, dash: [5, 4] });
    }
    if (history.lo && history.hi) {
      const bandLabel = level ? `band ${level}%` : "band";
      data.push(pad(history.hi, 0, m), pad(history.lo, 0, m));
      series.push({ label: `${bandLabel} hi`, stroke: "rgba(31,95,191,0.35)", width: 0.5 },
        { label: `${bandLabel} lo`, stroke: "rgba(31,95,191,0.35)", width: 0.5 });
      bands.push({ series: [data.length - 2, data.length - 1], fill: BAND_FILL });
    }
    if (history.flagged) {
      data.push(pad(history.value.map((v, i) => (history.flagged[i] ? v : null)), 0, m));
      series.push({ label: "flagged", stroke: "#c62828", paths: () => null,
        points: { show: true, size: 7, width: 1.5, stroke: "#c62828", fill: "#ffcdd2" } });
    }
    if (forecast) {
      data.push(pad(forecast.mean, n, 0));
      series.push({ label: forecast.label || "forecast", stroke: "#2e7d32", width: 1.5 });
      forecast.bands.forEach((b, i) => {
        data.push(pad(b.hi, n, 0), pad(b.lo, n, 0));
        series.push({ label: `hi-${b.level}`, stroke: "rgba(46,125,50,0.4)", width: 0.5 },
          { label: `lo-${b.level}`, stroke: "rgba(46,125,50,0.4)", width: 0.5 });
        bands.push({ series: [data.length - 2, data.length - 1], fill: FORECAST_FILLS[i % FORECAST_FILLS.length] });
      });
    }
    const opts = {
      width: Math.max(320, el.clientWidth),
      height: 380,
      series,
      bands,
      scales: { x: { time: true } },
      axes: [{}, { label, size: 70 }],
      cursor: { drag: { x: true, y: false } },
      plugins: incidents.length ? [incidentShading(incidents)] : [],
    };
    const plot = new uPlot(opts, data, el);
    const resize = () => plot.setSize({ width: Math.max(320, el.clientWidth), height: 380 });
    window.addEventListener("resize", resize);
    el.dataset.points = String(n);
    el.dataset.flagged = String(history.flagged ? history.flagged.filter(Boolean).length : 0);
    el.dataset.band = history.lo ? "1" : "0";
    el.dataset.forecast = String(m);
    return plot;
  }

  /** Zoom ``plot`` to [start, end] seconds with some margin either side. */
  function zoomTo(plot, start, end) {
    const span = Math.max(end - start, 1);
    const margin = Math.max(span * 2, 3600 * 6);
    plot.setScale("x", { min: start - margin, max: end + margin });
  }

  window.tsadChart = { draw, zoomTo };
})();
