// Small pure helpers shared by the views: durations, times, states, element building.
// Everything that reaches the DOM goes through textContent or element creation here —
// never innerHTML — so a child's output (`<img onerror=…>`) is shown as text.

/** `el("td", {class: "x"}, "text", child)`: an element with attributes and children. */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "class") node.className = value;
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export function duration(ms) {
  if (ms === null || ms === undefined) return "";
  const s = ms / 1000;
  if (s < 10) return s.toFixed(1) + " s";
  if (s < 90) return Math.round(s) + " s";
  const m = s / 60;
  if (m < 90) return Math.floor(m) + " m " + Math.round(s % 60) + " s";
  const h = m / 60;
  if (h < 48) return Math.floor(h) + " h " + Math.round(m % 60) + " m";
  return Math.floor(h / 24) + " d " + Math.round(h % 24) + " h";
}

export function clock(ms) {
  if (!ms) return "";
  const d = new Date(ms);
  const today = new Date();
  const time = d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });
  if (d.toDateString() === today.toDateString()) return time;
  return d.toLocaleDateString([], { month: "short", day: "numeric" }) + " " + time;
}

export function bytes(n) {
  if (!Number.isFinite(n)) return "";
  const units = ["B", "KiB", "MiB", "GiB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return (i === 0 ? n : n.toFixed(1)) + " " + units[i];
}

export function command(argv) {
  return (argv || []).map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : "'" + a.replace(/'/g, "'\\''") + "'")).join(" ");
}

/** The one state a person reads for a run: running, ok, stopped, restarted, failed, lost. */
export function runState(run) {
  if (run.state === "lost") return { key: "lost", text: "lost" };
  if (run.state === "running" || (!run.ended_at_ms && run.state !== "ended")) return { key: "running", text: "running" };
  const outcome = run.outcome || "";
  if (outcome === "stopped" || outcome === "timeout" || run.exit_code === 124) {
    return { key: "stopped", text: "stopped by FlowForge" };
  }
  if (run.restarts > 0 && run.exit_code === 0) return { key: "restarted", text: "restarted, then ok" };
  if (run.exit_code === 0) return { key: "ok", text: "ok" };
  return { key: "failed", text: run.exit_code === null || run.exit_code === undefined ? "failed" : "failed" };
}

export function badge(run) {
  const s = runState(run);
  return el("span", { class: "badge st-" + s.key }, s.text);
}
