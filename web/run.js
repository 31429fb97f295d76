// The run view, top to bottom: the intervention card (what happened, why, the loop itself,
// what FlowForge did, what came of it), sparklines of the run's resources with the decision
// marked, the typed event timeline, and Kill/Restart for a live run.

import { api, explain } from "./api.js";
import { el, badge, clock, duration, bytes, command } from "./format.js";
import { sparkline } from "./sparkline.js";

/** Events rendered at first; the rest behind a button (a run can have 10,000). */
const TIMELINE_PAGE = 300;
const EVENTS_PAGE = 1000;

const GUARDRAILS = {
  timeout: "it ran past its --timeout",
  max_rss: "its memory went over --max-rss",
  idle_timeout: "it printed nothing for longer than --idle-timeout",
};

function plainWords(decision, actions, run) {
  const kind = decision.kind;
  const by = decision.actor;
  const restarted = actions.some((a) => a.kind === "restart");
  const alerted = decision.category === "alert" || actions.some((a) => a.kind === "alert");
  let what;
  if (by === "user") what = "A user asked FlowForge to " + (restarted ? "restart" : "stop") + " this run";
  else if (GUARDRAILS[kind]) what = "FlowForge stopped this run: " + GUARDRAILS[kind];
  else if (alerted) what = "FlowForge saw this run looping and raised an alert (the process was left alone)";
  else what = "FlowForge saw this run repeating itself in a loop and " + (restarted ? "restarted it" : "stopped it");
  return what + ".";
}

function numberOf(payload, ...names) {
  for (const n of names) if (typeof payload?.[n] === "number") return payload[n];
  return null;
}

/** The lines a decision carries: its cycle (and the lines before the stop), as [{stream, text}]. */
function linesOf(payload, name) {
  const raw = payload?.[name];
  if (!Array.isArray(raw)) return [];
  return raw.map((l) => (typeof l === "string" ? { stream: "stdout", text: l } : { stream: l.stream || "stdout", text: String(l.text ?? l.line ?? "") }));
}

function linesBlock(title, lines) {
  if (!lines.length) return null;
  return [
    el("dt", {}, title),
    el("dd", {}, el("pre", { class: "cycle" }, lines.map((l) => el("span", { class: l.stream === "stderr" ? "stderr" : "" }, l.text + "\n")))),
  ];
}

function confidenceBlock(payload) {
  const confidence = numberOf(payload, "confidence");
  if (confidence === null) return null;
  const threshold = numberOf(payload, "threshold");
  const fill = el("span");
  fill.style.width = Math.round(Math.max(0, Math.min(1, confidence)) * 100) + "%";
  const parts = [el("span", { class: "bar", role: "img", "aria-label": `confidence ${confidence.toFixed(2)}` }, fill), " ", confidence.toFixed(2), threshold !== null ? ` (acts at ≥ ${threshold.toFixed(2)})` : ""];
  const components = payload.components && typeof payload.components === "object" ? Object.entries(payload.components).filter(([, v]) => typeof v === "number") : [];
  const list = components.length
    ? el("ul", { class: "components" }, components.map(([name, value]) => {
        const f = el("span");
        f.style.width = Math.round(Math.max(0, Math.min(1, Math.abs(value))) * 100) + "%";
        return el("li", {}, el("span", { class: "name" }, name.replace(/_/g, " ")), el("span", { class: "bar" }, f), el("span", {}, value.toFixed(2)));
      }))
    : null;
  return [el("dt", {}, "confidence"), el("dd", {}, parts, list)];
}

/** Groups the timeline into interventions: a decision, the actions and the outcome after it. */
function interventions(events) {
  const found = [];
  let current = null;
  for (const e of events) {
    const isDecision = e.category === "decision" || (e.category === "control" && e.actor === "user");
    if (isDecision) {
      current = { decision: e, actions: [], outcome: null };
      found.push(current);
    } else if (current && e.category === "action") current.actions.push(e);
    else if (current && e.category === "outcome" && !current.outcome) current.outcome = e;
    else if (e.category === "alert" && !current) found.push({ decision: e, actions: [], outcome: null });
  }
  return found;
}

function card(run, item, index, total) {
  const { decision, actions, outcome } = item;
  const p = decision.payload || {};
  const cls = decision.category === "alert" ? "card alert" : "card";
  const rows = [];
  rows.push(el("dt", {}, "why"), el("dd", { class: "reason" }, decision.message));
  const conf = confidenceBlock(p);
  if (conf) rows.push(...conf);
  rows.push(...(linesBlock("the loop", linesOf(p, "cycle")) || []));
  rows.push(...(linesBlock("last lines", linesOf(p, "last_lines")) || []));
  if (!linesOf(p, "cycle").length && typeof p.example === "string" && p.example) {
    rows.push(el("dt", {}, "example"), el("dd", {}, el("pre", { class: "cycle" }, p.example)));
  }
  const did = actions.length ? actions.map((a) => `${a.message} (by ${a.actor})`).join("; ") : decision.category === "alert" ? "alert only" : "";
  if (did) rows.push(el("dt", {}, "what FlowForge did"), el("dd", {}, did));
  const result = [];
  if (outcome) {
    result.push(outcome.message);
    const signalled = numberOf(outcome.payload, "signalled");
    if (signalled !== null) result.push(`${signalled} process${signalled === 1 ? "" : "es"} stopped`);
  }
  if (index === total - 1 && run.ended_at_ms) result.push(`final exit code ${run.exit_code ?? "none"}`);
  if (result.length) rows.push(el("dt", {}, "what came of it"), el("dd", {}, result.join(" · ")));
  rows.push(el("dt", {}, "when"), el("dd", {}, `${duration(decision.at_ms - run.started_at_ms)} into the run (${clock(decision.at_ms)})`));
  return el(
    "section",
    { class: cls, "aria-labelledby": "card-" + decision.id },
    el("h2", { id: "card-" + decision.id }, plainWords(decision, actions, run), total > 1 ? el("span", { class: "muted" }, ` (${index + 1} of ${total})`) : null),
    el("dl", {}, rows),
  );
}

function timelineItem(run, e) {
  return el(
    "li",
    { class: "cat-" + e.category, "data-event": e.id },
    el("span", { class: "at" }, "+" + duration(e.at_ms - run.started_at_ms)),
    el("span", { class: "kind" }, `${e.category}/${e.kind}`, el("span", { class: "muted" }, " · " + e.actor)),
    el("span", { class: "msg" }, e.message),
  );
}

export function runView(root, id, { onError, onOk, navigate }) {
  let run = null;
  let events = [];
  let samples = [];
  let shownEvents = TIMELINE_PAGE;
  let pendingControl = null;
  let runEtag = null;

  const head = el("div");
  const cards = el("div");
  const controls = el("div", { class: "controls" });
  const sparks = el("div", { class: "sparks" });
  const timeline = el("ol", { class: "timeline" });
  const more = el("div");
  root.replaceChildren(
    el("p", {}, el("a", { href: "#", onclick: (e) => { e.preventDefault(); navigate(""); } }, "← all runs")),
    head, controls, cards,
    el("h2", {}, "Resources"), sparks,
    el("h2", {}, "Timeline"), timeline, more,
  );

  function renderHead() {
    head.replaceChildren(
      el("h1", {}, `Run ${run.id} `, badge(run)),
      el("dl", { class: "meta" },
        el("dt", {}, "command"), el("dd", { class: "mono cmd" }, command(run.argv)),
        el("dt", {}, "directory"), el("dd", { class: "mono" }, run.cwd || ""),
        el("dt", {}, "started"), el("dd", {}, `${clock(run.started_at_ms)} · mode ${run.mode}`),
        el("dt", {}, run.ended_at_ms ? "ended" : "running for"),
        el("dd", {}, run.ended_at_ms ? `${clock(run.ended_at_ms)} after ${duration(run.duration_ms)} · ${run.outcome || "?"} · exit ${run.exit_code ?? "none"}` : duration(Date.now() - run.started_at_ms)),
      ),
    );
  }

  function renderCards() {
    const found = interventions(events);
    if (!found.length) {
      cards.replaceChildren(el("p", { class: "muted" }, run.ended_at_ms ? "FlowForge did not intervene in this run." : "No intervention so far."));
      return;
    }
    cards.replaceChildren(...found.map((item, i) => card(run, item, i, found.length)).reverse());
  }

  function renderSparks() {
    const t0 = run.started_at_ms;
    const marks = interventions(events).map((i) => i.decision.at_ms - t0);
    const xMax = Math.max(1, (run.ended_at_ms || Date.now()) - t0);
    const pts = (f) => samples.map((s) => [s.at_ms - t0, f(s)]);
    sparks.replaceChildren(
      sparkline("CPU", pts((s) => s.cpu_percent), { format: (v) => v.toFixed(0) + " %", marks, xMax }),
      sparkline("memory (RSS)", pts((s) => s.rss_bytes), { format: bytes, marks, xMax }),
      sparkline("output lines per tick", pts((s) => s.lines), { format: (v) => String(Math.round(v)), marks, xMax }),
    );
  }

  function renderTimeline() {
    const visible = events.slice(0, shownEvents);
    timeline.replaceChildren(...visible.map((e) => timelineItem(run, e)));
    const hidden = events.length - visible.length;
    more.replaceChildren(
      hidden > 0
        ? el("button", { type: "button", onclick: () => { shownEvents += TIMELINE_PAGE * 4; renderTimeline(); } }, `show ${Math.min(hidden, TIMELINE_PAGE * 4)} more of ${hidden} hidden events`)
        : "",
    );
  }

  function renderControls() {
    if (run.ended_at_ms || run.state === "lost") {
      controls.replaceChildren(pendingControl ? el("span", { role: "status" }, pendingControl.result || "") : "");
      return;
    }
    if (pendingControl && !pendingControl.result) {
      controls.replaceChildren(el("span", { role: "status" }, pendingControl.text));
      return;
    }
    const ask = (action) => {
      const yes = el("button", { type: "button", class: "danger", onclick: () => send(action) }, action === "kill" ? "Yes, stop the whole tree" : "Yes, restart it");
      const no = el("button", { type: "button", onclick: renderControls }, "Cancel");
      controls.replaceChildren(
        el("div", { class: "confirm", role: "group", "aria-label": "confirm" },
          el("span", {}, action === "kill" ? "Stop this run's whole process tree (SIGTERM, then SIGKILL)?" : "Stop this run and start its command again?"), yes, no),
      );
      yes.focus();
    };
    controls.replaceChildren(
      el("button", { type: "button", class: "danger", onclick: () => ask("kill") }, "Kill…"),
      el("button", { type: "button", onclick: () => ask("restart") }, "Restart…"),
      pendingControl?.result ? el("span", { role: "status" }, pendingControl.result) : "",
    );
  }

  async function send(action) {
    pendingControl = { action, text: `${action} requested…` };
    renderControls();
    try {
      const key = (crypto.randomUUID && crypto.randomUUID()) || String(Date.now()) + Math.random();
      const answer = await api.post(`/api/v1/runs/${id}/${action}`, {}, { headers: { "Idempotency-Key": key } });
      const eventId = answer.body?.event_id ?? answer.body?.id;
      pendingControl.text = `${action} accepted${eventId ? ` (event ${eventId})` : ""}; waiting for the run to act…`;
      pendingControl.since = Date.now();
      if (action === "restart") pendingControl.result = `restart accepted${eventId ? ` (event ${eventId})` : ""}`;
    } catch (e) {
      pendingControl.result = `${action} failed: ${explain(e)}`;
    }
    renderControls();
  }

  /** Fetches the events after the last one held; true when there were any. */
  async function loadEvents() {
    let got = 0;
    for (;;) {
      const after = events.length ? events[events.length - 1].id : 0;
      const answer = await api.get(`/api/v1/runs/${id}/events?after=${after}&limit=${EVENTS_PAGE}`);
      const page = answer.body.events || [];
      events.push(...page);
      got += page.length;
      if (page.length < EVENTS_PAGE) return got > 0;
    }
  }

  async function refresh() {
    try {
      const answer = await api.get(`/api/v1/runs/${id}`, { etag: runEtag });
      const wasRunning = run && !run.ended_at_ms;
      if (answer.status !== 304) {
        runEtag = answer.etag;
        run = answer.body.run || answer.body;
      }
      const changed = await loadEvents();
      if (changed || answer.status !== 304 || !run.ended_at_ms) {
        // Only the samples after the last one held: a long run is not fetched again each second.
        for (;;) {
          const after = samples.length ? samples[samples.length - 1].id : 0;
          const s = await api.get(`/api/v1/runs/${id}/samples?after=${after}&limit=10000`);
          const page = s.body.samples || [];
          samples.push(...page);
          if (page.length < 10000) break;
        }
      }
      if (pendingControl && !pendingControl.result && run.ended_at_ms) {
        pendingControl.result = `The run was stopped: ${run.outcome || "ended"}, exit ${run.exit_code ?? "none"}.`;
      }
      onOk();
      if (answer.status !== 304 || changed || wasRunning || !run.ended_at_ms) {
        renderHead();
        renderCards();
        renderSparks();
        renderTimeline();
        renderControls();
      }
    } catch (e) {
      if (e.state === "not-found") {
        root.replaceChildren(
          el("p", {}, el("a", { href: "#", onclick: (ev) => { ev.preventDefault(); navigate(""); } }, "← all runs")),
          el("div", { class: "notice bad" }, `Run ${id} does not exist in this store. It may have been pruned.`),
        );
        return "stop";
      }
      onError(e);
    }
  }

  return { refresh, interval: 1000 };
}
