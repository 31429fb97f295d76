// Inline SVG sparklines drawn from arrays: no chart library. The viewBox is the data's
// own range, so the line scales with its box and never needs a re-layout.

import { el } from "./format.js";

const NS = "http://www.w3.org/2000/svg";

function svg(tag, attrs) {
  const node = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  return node;
}

/**
 * One labelled sparkline. `points` are [x, y] pairs (x in ms since the run started);
 * `marks` are x positions to draw as vertical lines (the decision moments).
 */
export function sparkline(label, points, { format = String, marks = [], xMax } = {}) {
  const width = 300;
  const height = 48;
  const box = el("figure", { class: "spark" });
  const ys = points.map((p) => p[1]);
  const peak = ys.length ? Math.max(...ys) : 0;
  const last = ys.length ? ys[ys.length - 1] : 0;
  box.append(
    el("figcaption", { class: "label" }, el("span", {}, label), el("span", {}, ys.length ? `peak ${format(peak)} · now ${format(last)}` : "no samples")),
  );
  const chart = svg("svg", { viewBox: `0 0 ${width} ${height}`, preserveAspectRatio: "none", role: "img" });
  chart.setAttribute("aria-label", `${label}: ${points.length} samples, peak ${format(peak)}`);
  const x1 = xMax || (points.length ? points[points.length - 1][0] : 1) || 1;
  const top = peak > 0 ? peak : 1;
  const sx = (x) => ((x / x1) * width).toFixed(1);
  const sy = (y) => (height - 2 - (y / top) * (height - 4)).toFixed(1);
  if (points.length) {
    const line = svg("polyline", { points: points.map(([x, y]) => `${sx(x)},${sy(y)}`).join(" ") });
    chart.append(line);
  }
  for (const m of marks) {
    chart.append(svg("line", { class: "mark", x1: sx(m), x2: sx(m), y1: 0, y2: height }));
  }
  box.append(chart);
  return box;
}
