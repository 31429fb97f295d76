// The runs view: every run in the store, newest first, live. Polls once a second with
// If-None-Match (a 304 costs the server one small query) and pauses while the tab is hidden.

import { api } from "./api.js";
import { el, badge, runState, clock, duration, command } from "./format.js";

const FILTERS = [
  ["all", "all runs"],
  ["running", "running"],
  ["ok", "ok"],
  ["stopped", "stopped by FlowForge"],
  ["restarted", "restarted"],
  ["failed", "failed"],
  ["lost", "lost"],
];

export function runsView(root, { filter = "all", onError, onOk, navigate }) {
  let etag = null;
  let runs = [];
  const select = el("select", { id: "filter", "aria-label": "Show runs by state" });
  for (const [value, text] of FILTERS) select.append(el("option", { value, selected: value === filter }, text));
  select.addEventListener("change", () => {
    filter = select.value;
    navigate(filter === "all" ? "" : "state=" + filter, { replace: true });
    render();
  });
  const body = el("tbody");
  const empty = el("div", { class: "notice", hidden: true });
  const table = el(
    "table",
    { class: "runs" },
    el("colgroup", {}, el("col", { class: "col-id" }), el("col", { class: "col-state" }), el("col"), el("col", { class: "col-started" }), el("col", { class: "col-dur" }), el("col", { class: "col-exit" })),
    el("thead", {}, el("tr", {}, el("th", {}, "run"), el("th", {}, "state"), el("th", {}, "command · reason"), el("th", {}, "started"), el("th", {}, "duration"), el("th", {}, "exit"))),
    body,
  );
  root.replaceChildren(el("h1", {}, "Runs"), el("div", { class: "toolbar" }, el("label", { for: "filter" }, "Show "), select), empty, table);

  function row(run) {
    const open = () => navigate("run=" + run.id);
    const tr = el(
      "tr",
      { tabindex: 0, "data-run": run.id, onclick: open, onkeydown: (e) => { if (e.key === "Enter") open(); } },
      el("td", {}, el("a", { href: "#run=" + run.id, onclick: (e) => { e.preventDefault(); open(); } }, String(run.id))),
      el("td", {}, badge(run)),
      el("td", { class: "cmdcell" }, el("div", { class: "mono", title: command(run.argv) }, command(run.argv)), run.reason ? el("div", { class: "reason", title: run.reason }, run.reason) : null),
      el("td", { class: "started" }, clock(run.started_at_ms)),
      el("td", { class: "dur" }, duration(run.duration_ms ?? (run.ended_at_ms ? null : Date.now() - run.started_at_ms))),
      el("td", {}, run.exit_code ?? ""),
    );
    return tr;
  }

  function render() {
    const shown = filter === "all" ? runs : runs.filter((r) => runState(r).key === filter);
    body.replaceChildren(...shown.map(row));
    if (runs.length === 0) {
      empty.hidden = false;
      empty.replaceChildren("No runs yet — try ", el("code", {}, "flowforge demo"), " or ", el("code", {}, "flowforge run -- your command"), ".");
    } else if (shown.length === 0) {
      empty.hidden = false;
      empty.replaceChildren(`No ${FILTERS.find((f) => f[0] === filter)[1]} runs among the latest ${runs.length}.`);
    } else {
      empty.hidden = true;
    }
  }

  async function refresh() {
    try {
      const answer = await api.get("/api/v1/runs?limit=100", { etag });
      onOk();
      if (answer.status === 304) {
        // Durations of running runs still move.
        if (runs.some((r) => !r.ended_at_ms)) render();
        return;
      }
      etag = answer.etag;
      runs = answer.body.runs || [];
      render();
    } catch (e) {
      onError(e);
    }
  }

  return { refresh, interval: 1000 };
}
