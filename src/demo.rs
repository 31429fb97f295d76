//! `flowforge demo`: detect → intervene → recover, on a simulated agent, in about 15 s.
//!
//! The simulated agent reads a few files (healthy, varied output), then falls into the loop
//! real agents fall into: the same failing tool call and the same "let me try again",
//! over and over. FlowForge (the real binary, `--action restart`) detects the loop, stops
//! the tree, and restarts the agent, which this time gets past the failure and finishes.
//! Then `flowforge show` explains the run with the numbers, and the demo names the next
//! steps: the same story in the dashboard, and a first real command. With `--serve` it
//! becomes `flowforge dashboard --run last`, so the page opens on the demo's run. The agent
//! is a plain `sh` script so the demo needs nothing but a POSIX shell.

use crate::diag::{self, diag};
use std::ffi::OsString;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::Command;

const AGENT: &str = r#"
state="$1"
if [ -f "$state" ]; then attempt=2; else attempt=1; : > "$state"; fi
echo "agent: starting (attempt $attempt)"
for i in 1 2 3 4 5 6; do
  echo "agent: step $i/6: reading src/module_$i.py ($((i * 16)) % of the plan)"
  sleep 0.4
done
if [ "$attempt" = 1 ]; then
  while :; do
    echo "tool call: run_tests(path='tests/', verbose=True)"
    echo "error: ModuleNotFoundError: No module named 'demo_app.settings'"
    echo "agent: the tests failed; let me run them again to see the current status"
    sleep 0.05
  done
fi
echo "agent: added demo_app/settings.py; tests pass (42 passed in 1.3 s)"
echo "agent: done"
"#;

pub const HELP: &str = "\
flowforge demo — watch FlowForge detect a looping agent, stop it, and recover

Usage:
  flowforge demo [--serve [--listen ADDR]]

Runs a simulated agent under `flowforge run --action restart`: it works for a few seconds,
then loops on the same failing tool call. FlowForge detects the loop, stops the process
tree, restarts the agent (which then succeeds), and `flowforge show` explains what it did.
The run is recorded in your evidence store like any other (see `flowforge runs`).

      --serve          then keep the dashboard up with the demo's run open (as
                       `flowforge dashboard --run last`; Ctrl-C stops it)
      --listen ADDR    with --serve: where the dashboard listens [default: 127.0.0.1:7171]
";

/// What `flowforge demo` was asked to do.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DemoArgs {
    /// `--serve`: end in the dashboard, on `listen` when given.
    pub serve: bool,
    pub listen: Option<OsString>,
}

const NEXT_STEPS: &str = "   flowforge show last              this story again, any time
   flowforge dashboard              the same story in your browser (add --open to launch it)
   flowforge run -- your command    supervise your own job (flowforge run --help for options)
";

fn say(text: &str) {
    use flowforge_platform::fd;
    if fd::isatty(fd::stdio(2)) {
        diag::write(format!("\n\x1b[1m== {text}\x1b[0m\n").as_bytes());
    } else {
        diag::write(format!("\n== {text}\n").as_bytes());
    }
}

pub fn demo(args: DemoArgs) -> i32 {
    let exe = match std::env::current_exe() {
        Ok(exe) => exe,
        Err(e) => {
            diag!("demo: cannot find the flowforge binary: {e}");
            return 125;
        }
    };
    let dir: PathBuf = std::env::temp_dir().join(format!("flowforge-demo-{}", std::process::id()));
    let agent = dir.join("agent.sh");
    if let Err(e) = std::fs::create_dir_all(&dir).and_then(|()| std::fs::write(&agent, AGENT)) {
        diag!("demo: cannot write the simulated agent to {}: {e}", dir.display());
        return 125;
    }
    say("a simulated agent starts working; a few seconds in, it will start looping");
    diag::write(
        format!(
            "   $ flowforge run --action restart -- sh {} {}\n",
            agent.display(),
            dir.join("state").display()
        )
        .as_bytes(),
    );
    let status = Command::new(&exe)
        .args(["run", "--action", "restart", "--", "sh"])
        .arg(&agent)
        .arg(dir.join("state"))
        .status();
    let _ = std::fs::remove_dir_all(&dir);
    let code = match status {
        Ok(status) => status.code().unwrap_or(125),
        Err(e) => {
            diag!("demo: cannot start flowforge run: {e}");
            return 125;
        }
    };
    if code != 0 {
        diag!("demo: the supervised agent ended with status {code}, expected 0");
        return code;
    }
    say("FlowForge detected the loop, stopped the tree and restarted the agent, which finished");
    say("the evidence: flowforge show last");
    let shown = Command::new(&exe).args(["show", "last"]).status();
    match shown {
        Ok(status) if status.success() => {
            say("next");
            diag::write(NEXT_STEPS.as_bytes());
            if args.serve {
                say("the dashboard, open on this run");
                let mut dashboard = Command::new(&exe);
                dashboard.args(["dashboard", "--run", "last"]);
                if let Some(listen) = &args.listen {
                    dashboard.arg("--listen").arg(listen);
                }
                // exec returns only when it failed.
                let e = dashboard.exec();
                diag!("demo: cannot start flowforge dashboard: {e}");
                return 125;
            }
            0
        }
        Ok(status) => status.code().unwrap_or(125),
        Err(e) => {
            diag!("demo: cannot run flowforge show: {e}");
            125
        }
    }
}
