// Drives the FlowForge dashboard in a real headless Chromium (Debian's /usr/bin/chromium,
// through puppeteer-core: nothing is downloaded). Started by tests/dashboard.rs, which has
// already made a store with a real intervened run and started `flowforge dashboard`.
//
// Input (environment): FF_URL (base URL, no key), FF_KEY, FF_STOPPED_RUN (the id of a run
// FlowForge stopped, whose output carried <img onerror> and <script> lines), FF_BIN and
// FLOWFORGE_HOME (to start a live run during the test), FF_SHOTS (a directory for the
// screenshots). Output: one line per check, `ok NAME` or `FAIL NAME: why`, then
// `live-run ID` for the run it killed, and the exit status is the number of failures.
//
// Checks wait for outcomes with generous bounds (a loaded 2-core runner is slow); the
// times they took are printed, not asserted.

import puppeteer from "puppeteer-core";
import { spawn } from "node:child_process";

const env = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set`);
  return v;
};
const base = env("FF_URL");
const key = env("FF_KEY");
const stoppedRun = env("FF_STOPPED_RUN");
const shots = process.env.FF_SHOTS;
const WAIT = 20000;

let failures = 0;
async function check(name, fn) {
  const began = Date.now();
  try {
    const note = await fn();
    console.log(`ok ${name} (${Date.now() - began} ms)${note ? " " + note : ""}`);
  } catch (e) {
    failures++;
    console.log(`FAIL ${name}: ${String(e && e.message ? e.message : e).split("\n")[0]}`);
  }
}

const text = (page, selector) => page.$eval(selector, (n) => n.textContent);

const browser = await puppeteer.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run"],
});
const page = await browser.newPage();
await page.setViewport({ width: 1100, height: 900 });
const consoleErrors = [];
page.on("pageerror", (e) => consoleErrors.push(String(e)));
page.on("console", (m) => { if (m.type() === "error") consoleErrors.push(m.text()); });
let dialogs = 0;
page.on("dialog", async (d) => { dialogs++; await d.dismiss(); });

await check("the key moves from the fragment to the page", async () => {
  await page.goto(`${base}/#key=${key}`, { waitUntil: "domcontentloaded" });
  await page.waitForFunction(() => !location.hash.includes("key="), { timeout: WAIT });
  const stored = await page.evaluate(() => sessionStorage.getItem("flowforge.key"));
  if (stored !== key) throw new Error("the key is not in sessionStorage");
});

await check("the runs list shows the stopped run", async () => {
  await page.waitForSelector(`tr[data-run="${stoppedRun}"]`, { timeout: WAIT });
  const row = await text(page, `tr[data-run="${stoppedRun}"]`);
  if (!row.includes("stopped by FlowForge")) throw new Error(`row says: ${row}`);
  if (!row.includes("output loop")) throw new Error(`the row lacks the reason: ${row}`);
  if (shots) await page.screenshot({ path: `${shots}/dashboard-runs.png` });
});

await check("the run view shows the intervention card with its reason, numbers and cycle", async () => {
  await page.goto(`${base}/#run=${stoppedRun}`, { waitUntil: "domcontentloaded" });
  await page.waitForSelector("section.card", { timeout: WAIT });
  const card = await text(page, "section.card");
  for (const needle of ["loop", "confidence", "what FlowForge did"]) {
    if (!card.includes(needle)) throw new Error(`the card lacks "${needle}": ${card.slice(0, 300)}`);
  }
  if (!/\d+-line cycle repeated \d+×/.test(card) && !/repeated \d+/.test(card)) throw new Error(`no numbers in: ${card.slice(0, 300)}`);
  const cycle = await page.$eval("section.card pre.cycle", (n) => n.textContent);
  if (!cycle.includes("<img src=x onerror=")) throw new Error(`the cycle lacks the repeating line: ${cycle.slice(0, 200)}`);
});

await check("child output is text, never markup", async () => {
  const imgs = await page.$$eval("main img", (n) => n.length);
  const scripts = await page.$$eval("main script", (n) => n.length);
  const fired = await page.evaluate(() => window.__ffxss);
  if (imgs || scripts || fired || dialogs) throw new Error(`img ${imgs}, script ${scripts}, fired ${fired}, dialogs ${dialogs}`);
  const shown = await page.$eval("main", (n) => n.textContent);
  if (!shown.includes("<script>")) throw new Error("the <script> line is not shown as text");
});

await check("the sparklines have points", async () => {
  const counts = await page.$$eval(".spark polyline", (ns) => ns.map((n) => n.getAttribute("points").trim().split(/\s+/).length));
  if (counts.length < 3 || counts.some((c) => c < 2)) throw new Error(`points per sparkline: ${counts}`);
  const marks = await page.$$eval(".spark line.mark", (n) => n.length);
  if (marks < 1) throw new Error("the decision moment is not marked");
  return `points ${counts.join("/")}`;
});

if (shots) {
  await check("screenshots of the run view, light and dark", async () => {
    for (const scheme of ["light", "dark"]) {
      await page.emulateMediaFeatures([{ name: "prefers-color-scheme", value: scheme }]);
      await new Promise((r) => setTimeout(r, 200));
      const name = scheme === "light" ? "dashboard.png" : "dashboard-dark.png";
      await page.screenshot({ path: `${shots}/${name}`, fullPage: true });
    }
    await page.emulateMediaFeatures([]);
  });
}

await check("readable at 360 px wide (no horizontal scroll)", async () => {
  await page.setViewport({ width: 360, height: 800 });
  await new Promise((r) => setTimeout(r, 200));
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  if (shots) await page.screenshot({ path: `${shots}/dashboard-narrow.png`, fullPage: true });
  await page.setViewport({ width: 1100, height: 900 });
  if (overflow > 1) throw new Error(`${overflow} px of horizontal overflow`);
});

// A live run, started now: it must appear, and Kill + confirm must stop it.
const live = spawn(env("FF_BIN"), ["run", "--no-detect", "--", "sh", "-c", "echo live run up; exec sleep 120"], {
  env: process.env,
  stdio: ["ignore", "pipe", "pipe"],
});
const liveExit = new Promise((resolve) => live.on("exit", (code, signal) => resolve(code ?? 128 + (signal ? 9 : 0))));
let liveId = null;

await check("a run started during the test appears in the list", async () => {
  await page.goto(`${base}/#`, { waitUntil: "domcontentloaded" });
  const began = Date.now();
  const handle = await page.waitForFunction(
    () => [...document.querySelectorAll("tr[data-run]")].find((r) => r.textContent.includes("sleep 120") && r.textContent.includes("running"))?.dataset.run,
    { timeout: WAIT, polling: 100 },
  );
  liveId = await handle.jsonValue();
  return `run ${liveId} after ${Date.now() - began} ms`;
});

await check("Kill with confirm stops the live run (exit 124)", async () => {
  if (!liveId) throw new Error("no live run");
  await page.goto(`${base}/#run=${liveId}`, { waitUntil: "domcontentloaded" });
  const kill = await page.waitForSelector("xpath/.//button[starts-with(normalize-space(.), 'Kill')]", { timeout: WAIT });
  await kill.click();
  const yes = await page.waitForSelector("xpath/.//button[contains(., 'Yes, stop')]", { timeout: WAIT });
  await yes.click();
  const code = await Promise.race([liveExit, new Promise((r) => setTimeout(() => r("timeout"), WAIT))]);
  if (code !== 124) throw new Error(`the live run ended with ${code}`);
  await page.waitForFunction(() => document.querySelector(".controls")?.textContent.includes("exit 124"), { timeout: WAIT });
});
if (live.exitCode === null) live.kill("SIGKILL");
if (liveId) console.log(`live-run ${liveId}`);

await check("a run id that does not exist says so", async () => {
  await page.goto(`${base}/#run=999999`, { waitUntil: "domcontentloaded" });
  await page.waitForFunction(() => document.querySelector("main")?.textContent.includes("does not exist"), { timeout: WAIT });
});

await check("a wrong key shows the error state", async () => {
  const other = await browser.newPage();
  await other.goto(`${base}/#key=${"0".repeat(key.length)}`, { waitUntil: "domcontentloaded" });
  await other.waitForFunction(() => document.querySelector("main")?.textContent.includes("run `flowforge dashboard` again"), { timeout: WAIT });
  await other.close();
});

await check("no script errors on the page", async () => {
  const real = consoleErrors.filter((e) => !/Failed to load resource: the server responded with a status of (401|404)/.test(e));
  if (real.length) throw new Error(real.join(" | "));
});

await browser.close();
console.log(`${failures === 0 ? "all" : failures} ${failures === 0 ? "checks passed" : "checks failed"}`);
process.exit(failures);
