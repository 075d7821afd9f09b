// Charts drawn as SVG from the data (no library): bars for per-UID values, a heatmap for
// the weights and bonds matrices. Colours come from the stylesheet (classes), so light and
// dark themes apply; intensities are opacities.

import { s } from "./dom.js";
import * as f from "./format.js";

/** Bars of `values` (u16 proportions) by UID; `label` names the series. */
export function bars(values, label, name) {
  const n = values.length;
  const width = 640, height = 180, pad = 28, top = 10;
  const max = Math.max(1, ...values);
  const step = (width - pad - 4) / Math.max(1, n);
  const svg = s("svg", { viewBox: `0 0 ${width} ${height}`, class: "chart", role: "img", "aria-label": `${label} by UID`, "data-chart": name });
  svg.append(s("line", { x1: pad, y1: height - 20, x2: width, y2: height - 20, class: "axis" }));
  svg.append(s("text", { x: 2, y: top + 8, class: "tick" }, f.proportion(max)));
  svg.append(s("text", { x: 2, y: height - 22, class: "tick" }, "0"));
  values.forEach((value, uid) => {
    const h = ((height - 20 - top) * value) / max;
    const x = pad + uid * step + step * 0.1;
    const bar = s("rect", { x: x.toFixed(2), y: (height - 20 - h).toFixed(2), width: Math.max(1, step * 0.8).toFixed(2), height: h.toFixed(2), class: "bar", "data-uid": uid, "data-value": value });
    bar.append(s("title", {}, `UID ${uid}: ${label} ${f.proportion(value)}`));
    svg.append(bar);
    if (n <= 64 || uid % Math.ceil(n / 32) === 0) {
      svg.append(s("text", { x: (x + step * 0.4).toFixed(2), y: height - 6, class: "tick", "text-anchor": "middle" }, uid));
    }
  });
  return svg;
}

/** A heatmap of sparse rows `[[col, value]]` (u16 values) for the given row UIDs; columns
 *  are UIDs 0..n-1. Empty rows are left out. */
export function heatmap(rows, n, label, name) {
  const present = rows.map((row, uid) => [uid, row]).filter(([, row]) => row.length > 0);
  const cell = Math.max(6, Math.min(40, Math.floor(600 / Math.max(1, n))));
  const left = 40, top = 24;
  const width = left + cell * n + 4, height = top + cell * present.length + 4;
  const svg = s("svg", { viewBox: `0 0 ${width} ${height}`, class: "chart heatmap", role: "img", "aria-label": label, "data-chart": name, width, height });
  for (let col = 0; col < n; col += Math.max(1, Math.ceil(n / 32))) {
    svg.append(s("text", { x: left + col * cell + cell / 2, y: top - 6, class: "tick", "text-anchor": "middle" }, col));
  }
  present.forEach(([uid, row], r) => {
    const y = top + r * cell;
    svg.append(s("text", { x: left - 4, y: y + cell * 0.7, class: "tick", "text-anchor": "end" }, uid));
    svg.append(s("rect", { x: left, y, width: cell * n, height: cell, class: "cell-empty" }));
    for (const [col, value] of row) {
      if (col >= n) continue;
      const rect = s("rect", { x: left + col * cell, y, width: cell, height: cell, class: "cell", "fill-opacity": (0.12 + 0.88 * (value / 65535)).toFixed(3), "data-row": uid, "data-col": col, "data-value": value });
      rect.append(s("title", {}, `${uid} → ${col}: ${f.proportion(value)}`));
      svg.append(rect);
    }
  });
  if (present.length === 0) svg.append(s("text", { x: left, y: top + 14, class: "tick" }, "none yet"));
  return svg;
}
