// The dashboard's entry: takes the key from the fragment, routes on the fragment
// (`#run=ID`, `#state=stopped`), and drives the current view's polling — once a second,
// paused while the tab is hidden, slower while the server is away.

import { adoptKeyFromFragment, hasKey, explain } from "./api.js";
import { el } from "./format.js";
import { runsView } from "./runs.js";
import { runView } from "./run.js";

const main = document.getElementById("main");
const conn = document.getElementById("conn");
let view = null;
let timer = null;
let generation = 0;

function status(text, bad = false) {
  conn.textContent = text;
  conn.classList.toggle("bad", bad);
}

function fatal(error) {
  stop();
  main.replaceChildren(el("div", { class: "notice bad", role: "alert" }, explain(error)));
  status("not connected", true);
}

function navigate(fragment, { replace = false } = {}) {
  const url = location.pathname + location.search + (fragment ? "#" + fragment : "");
  if (replace) history.replaceState(null, "", url);
  else history.pushState(null, "", url);
  route();
}

function stop() {
  generation++;
  clearTimeout(timer);
  timer = null;
}

function schedule(delay) {
  const mine = generation;
  clearTimeout(timer);
  timer = setTimeout(() => tick(mine), delay);
}

let backoff = 0;
let inFlight = false;
async function tick(mine) {
  if (mine !== generation || !view || inFlight) return;
  if (document.hidden) return; // resumed by visibilitychange
  inFlight = true;
  let answer;
  try {
    answer = await view.refresh();
  } finally {
    inFlight = false;
  }
  if (mine !== generation) return tick(generation);
  if (answer === "stop") return;
  schedule(backoff || view.interval);
}

const hooks = {
  navigate,
  onOk() {
    backoff = 0;
    status("live");
  },
  onError(error) {
    if (error.state === "bad-key" || error.state === "no-key") return fatal(error);
    backoff = error.state === "limited" ? Math.max(1, error.retryAfter) * 1000 : 2000;
    status(explain(error), true);
  },
};

function route() {
  stop();
  const params = new URLSearchParams(location.hash.slice(1));
  if (!hasKey()) return fatal({ state: "no-key" });
  const run = params.get("run");
  if (run !== null) {
    if (!/^[0-9]{1,18}$/.test(run)) {
      main.replaceChildren(el("div", { class: "notice bad" }, `"${run}" is not a run id (run ids are numbers).`));
      return;
    }
    view = runView(main, run, hooks);
    document.title = `FlowForge · run ${run}`;
  } else {
    view = runsView(main, { filter: params.get("state") || "all", ...hooks });
    document.title = "FlowForge · runs";
  }
  tick(generation);
}

document.addEventListener("visibilitychange", () => {
  if (!document.hidden && view) tick(generation);
});
window.addEventListener("popstate", route);
window.addEventListener("hashchange", route);

adoptKeyFromFragment();
route();
