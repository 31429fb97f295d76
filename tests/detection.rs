//! Detector paths end to end, on real processes: `flowforge run` with default settings
//! around a script that behaves like the job class, the exit code and the stop line it
//! prints. The timeline scenarios in `src/detect` cover the timing; these check that the
//! live path (pipes, samples, ticks, the stop) reaches the same verdict and names the
//! signal that decided or the protection that held.

use crate::common::*;

fn stop_line(out: &Outcome) -> Option<String> {
    out.stderr_lines()
        .into_iter()
        .find(|l| l.starts_with("flowforge: stopped "))
}

/// A function-calling agent logging JSON lines: a sentence composed anew every pass, the
/// same tool call with a fresh id, the same empty result, at a model's pace.
const REWORDED_TOOL_LOOP: &str = r#"
import json, random, sys, time
lead = ["Let me", "I will", "Now I'll", "I should", "OK, I'll"]
act = ["fetch the invoices", "look up the invoices", "query the invoice store", "list the invoices"]
tail = ["for March.", "for the customer again.", "once more.", "to check the totals.", "with the same filter."]
t0 = time.time()
while time.time() - t0 < 60:
    time.sleep(random.uniform(0.5, 1.0))
    cid = "call_%024x" % random.getrandbits(96)
    say = " ".join((random.choice(lead), random.choice(act), random.choice(tail)))
    args = json.dumps({"customer": "c-1042", "month": "2026-03"})
    print(json.dumps({"role": "assistant", "content": say, "tool_calls": [
        {"id": cid, "function": {"name": "list_invoices", "arguments": args}}]}), flush=True)
    time.sleep(random.uniform(0.05, 0.2))
    print(json.dumps({"role": "tool", "tool_call_id": cid, "content": "[]"}), flush=True)
sys.exit(99)
"#;

#[test]
fn a_tool_call_loop_reworded_every_pass_is_stopped_as_a_paraphrase_loop() {
    let sandbox = Sandbox::new("detect-paraphrase");
    let script = write_file(&sandbox.home, "agent.py", REWORDED_TOOL_LOOP, 0o644);
    let out = sandbox.run(&["run", "--", python(), &script.to_string_lossy()]);
    assert_eq!(out.code(), 124, "{}", out.describe());
    let stop = stop_line(&out).expect("a stop line");
    assert!(stop.contains("a paraphrase loop"), "{stop}");
    assert!(stop.contains("empty result"), "{stop}");
}

/// A deploy script polling a pod table every second while two pods fail, until a fix lands:
/// the same failing block nine times with only the AGE column moving, then Running.
const FAILING_TABLE_WITH_AGE: &str = r#"
i=0
while [ $i -lt 9 ]; do
  echo "NAME                 READY   STATUS    RESTARTS   AGE"
  echo "api-7c9f-2xkqp       1/1     Running   0          $((i + 61))s"
  echo "api-7c9f-9wz4m       0/1     Error     3          $((i + 58))s"
  echo "worker-5d8b-tq6rn    0/1     Error     3          $((i + 58))s"
  sleep 1
  i=$((i + 1))
done
echo "all pods Running"
"#;

#[test]
fn a_failing_status_table_with_a_rising_age_is_left_alone() {
    let sandbox = Sandbox::new("detect-age");
    let out = sandbox.run(&["run", "--", "sh", "-c", FAILING_TABLE_WITH_AGE]);
    assert_eq!(out.code(), 0, "{}", out.describe());
    assert_eq!(stop_line(&out), None, "{}", out.describe());
    assert!(out.stdout_text().ends_with("all pods Running\n"));
}

/// An agent's output channel: a tagged message composed anew every pass, the same tool call,
/// the call's token usage (growing with the conversation), the same empty result.
const TAGGED_AGENT_LOOP: &str = r#"
import json, random, sys, time
lead = ["Let me", "I'll", "Now I will", "I should"]
act = ["list the components directory", "check which components exist", "look at src/components"]
tail = ["again.", "to see the structure.", "before adding the picker.", "once more."]
t0, used = time.time(), 2400
while time.time() - t0 < 60:
    time.sleep(random.uniform(0.7, 1.3))
    print("[assistant] %s %s %s" % (random.choice(lead), random.choice(act), random.choice(tail)), flush=True)
    print('[tool_use] list_files {"path": "src/components", "recursive": false}', flush=True)
    used += random.randint(150, 260)
    print("[usage] " + json.dumps({"input_tokens": used, "output_tokens": random.randint(30, 90)}), flush=True)
    time.sleep(random.uniform(0.05, 0.15))
    print("[tool_result] No files found.", flush=True)
sys.exit(99)
"#;

#[test]
fn a_tagged_agent_loop_with_growing_token_counts_is_stopped_as_a_paraphrase_loop() {
    let sandbox = Sandbox::new("detect-tagged-agent");
    let script = write_file(&sandbox.home, "agent.py", TAGGED_AGENT_LOOP, 0o644);
    let out = sandbox.run(&["run", "--", python(), &script.to_string_lossy()]);
    assert_eq!(out.code(), 124, "{}", out.describe());
    let stop = stop_line(&out).expect("a stop line");
    assert!(stop.contains("a paraphrase loop"), "{stop}");
    assert!(stop.contains("empty result"), "{stop}");
}

/// A local API server (Python's http.server, the access-log format Werkzeug shares) while
/// a dashboard polls it twelve times a second: the same access-log line over and over.
const POLLED_SERVER: &str = r#"
import sys, threading, time, urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")
    def log_message(self, fmt, *args):
        sys.stdout.write("%s - - [%s] %s\n" % (self.address_string(), self.log_date_time_string(), fmt % args))
        sys.stdout.flush()
server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
threading.Thread(target=server.serve_forever, daemon=True).start()
t0 = time.time()
while time.time() - t0 < 8:
    urllib.request.urlopen("http://127.0.0.1:%d/api/status" % server.server_address[1], timeout=5).read()
    time.sleep(0.08)
print("dashboard closed")
"#;

#[test]
fn a_server_answering_a_polling_client_is_left_alone() {
    let sandbox = Sandbox::new("detect-served");
    let script = write_file(&sandbox.home, "server.py", POLLED_SERVER, 0o644);
    let out = sandbox.run(&["run", "--", python(), &script.to_string_lossy()]);
    assert_eq!(out.code(), 0, "{}", out.describe());
    assert_eq!(stop_line(&out), None, "{}", out.describe());
    assert!(out.stdout_text().contains(r#""GET /api/status HTTP/1.1" 200 -"#));
    assert!(out.stdout_text().ends_with("dashboard closed\n"));
}
