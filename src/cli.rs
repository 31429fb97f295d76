//! Command-line parsing: lexopt into typed commands, in two steps (raw flags, then
//! validated settings), so every bad input becomes one line naming the problem and the fix.

use crate::act::guardrails::Limits;
use crate::act::restart::Budget;
use crate::act::watch::ActionMode;
use crate::detect::DetectConfig;
use crate::evidence::retention::Policy;
use crate::evidence::RunRef;
use crate::units::{parse_duration, parse_size};
use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

pub const MAIN_HELP: &str = "\
flowforge — a local guardrail for long-running jobs

Usage:
  flowforge run [OPTIONS] -- CMD [ARGS...]   run CMD under supervision
  flowforge runs [--json] [--limit N]        list recorded runs
  flowforge show RUN|last                    explain one run: what happened and why
  flowforge events [RUN] [--json] [--follow] the event stream (NDJSON with --json)
  flowforge prune --older-than DURATION      delete runs that ended before then
  flowforge export RUN|last [--out FILE]     one run's evidence as a tamper-evident bundle
  flowforge verify FILE                      check a bundle's hash chain (exit 0 ok, 1 broken,
                                             2 not a bundle)
  flowforge serve [--listen ADDR]            serve the local API (default 127.0.0.1:7171)
  flowforge dashboard [--open] [--run RUN]   the dashboard: prints its address (key included)
  flowforge key [--rotate]                   print the API key's path (create or replace it)
  flowforge demo                             see detect → intervene → recover in ~15 s
  flowforge replay FILE|-                    would FlowForge have stopped this saved log?

Options:
  -h, --help       print help (also: flowforge run --help)
  -V, --version    print the version

Exit status of `flowforge run` follows timeout(1): the command's own status (128+N if it
died of signal N); 124 when FlowForge stopped it; 125 when FlowForge itself failed;
126 when the command is not executable; 127 when it is not found.
";

pub const RUN_HELP: &str = "\
flowforge run — run a command, pass its output through, own its whole process tree

Usage:
  flowforge run [OPTIONS] -- CMD [ARGS...]

The command's stdout and stderr pass through byte for byte; stdin is passed through;
signals (INT, TERM, HUP, QUIT, USR1, USR2) are forwarded to its process group, and a
second Ctrl-C within 3 s kills the whole tree at once. When the command exits, whatever
it left running is stopped (SIGTERM, then SIGKILL after the grace).

Detection and action:
      --action kill|restart|alert
                             what to do about a runaway [default: kill]: kill stops the
                             tree (exit 124); restart stops it and starts the command again
                             (backoff 1 s, doubling up to 30 s); alert prints and records,
                             never touches the process
      --max-restarts N       restart budget for --action restart [default: 3] ...
      --restart-window DURATION
                             ... within this window [default: 5m]; when spent: stop, exit 124
      --threshold CONFIDENCE runaway confidence needed to act, 0-1 [default: 0.80]
      --window DURATION      how far back the detector looks [default: 10s]
      --no-detect            no runaway detection (guardrails still apply)

Guardrails (off by default):
      --timeout DURATION     stop the tree after this wall-clock time (exit 124)
      --max-rss SIZE         stop the tree when its resident memory exceeds SIZE (512M, 2G)
      --idle-timeout DURATION
                             stop the tree after this long without any output

Supervision:
      --kill-grace DURATION  time between SIGTERM and SIGKILL [default: 5s]
      --pty auto|always|never
                             give the command a pseudo-terminal [default: auto: when
                             FlowForge's stdout is a terminal]
      --tick DURATION        how often the tree's CPU and memory are sampled [default: 1s]

Local API (see OPERATIONS.md):
      --listen ADDR          serve the local API from inside this run (e.g. 127.0.0.1:7171),
                             with the live tree's numbers on /metrics; loopback only
      --allow-remote         allow a --listen address beyond loopback (prints a warning)

Evidence (see OPERATIONS.md):
      --db PATH              record into this SQLite file [default: $FLOWFORGE_DB, else
                             $FLOWFORGE_HOME/flowforge.db, else ~/.local/state/flowforge/]
      --no-db                record nothing
      --require-db           fail (exit 125) when the database cannot be opened, instead
                             of running on with a warning
      --retention AGE,SIZE|off
                             delete older runs while this one runs [default:
                             $FLOWFORGE_RETENTION, else 30d,256M]
      --no-redact            store excerpts and the command line as they are, secrets
                             included (the run records that it was not redacted)
      --record FILE          also write what the detector sees (lines with their times,
                             samples, ticks; redacted) to FILE, for `flowforge replay FILE`

Output:
  -v, --verbose              say more on stderr (repeat for debug); RUST_LOG also works
  -h, --help                 print this help

Durations: 500ms, 5s, 2m, 1h, 1d; a bare number means seconds.

Examples:
  flowforge run -- python3 agent.py
  flowforge run --timeout 2h -- ./nightly-build.sh
";

pub const REPLAY_HELP: &str = "\
flowforge replay — would FlowForge have stopped the job that printed this log?

Usage:
  flowforge replay [OPTIONS] FILE|-

Feeds the log through the same detector, with the same defaults, as `flowforge run`, on a
simulated clock (much faster than real time), and prints whether, when (line number and
seconds) and why it would have intervened, with the reason text a run would print.

Inputs (recognised by their first line):
  plain text                 timed by its own timestamps when most lines begin with one
                             (2026-12-03 13:42:05.123, Dec  3 13:42:05, [13:42:05]), else
                             one line every 1/RATE seconds
  typescript + --timing FILE `script -T FILE` / scriptreplay timing (DELAY BYTES lines)
  asciinema v2 cast          a .cast file (header line, then [time, \"o\", data] events)
  FlowForge recording        written by `flowforge run --record FILE`: lines with their
                             times and streams, tree CPU samples and the run's own ticks

Options:
      --rate LINES/S         plain-text replay speed, ignoring timestamps
                             [default: the log's timestamps, else 20]
      --timing FILE          the timing file of a typescript
      --explain              print the confidence and its components at every tick
      --threshold CONFIDENCE as for `flowforge run` [default: 0.80]
      --window DURATION      as for `flowforge run` [default: 10s]
  -h, --help                 print this help

A plain log carries no CPU figures, so replay judges output alone (CPU only ever adds
confidence to a loop already seen); a recording carries the run's samples.

Exit status: 0 would not intervene, 1 would intervene, 2 the input cannot be read.
";

/// Everything `flowforge replay` was asked to do, validated.
#[derive(Debug, Clone)]
pub struct ReplayArgs {
    /// The log, or `-` for stdin.
    pub input: PathBuf,
    pub timing: crate::replay::Timing,
    pub explain: bool,
    pub detect: DetectConfig,
}

// What `run` was asked to do lives with the layers that act on it, so neither act nor
// supervise depends on this parser.
pub use crate::act::settings::{DbChoice, RunArgs};
pub use crate::supervise::PtyMode;

/// A command that reads or maintains the evidence store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Inspect {
    Runs {
        json: bool,
        limit: usize,
    },
    Show {
        run: RunRef,
    },
    Events {
        run: Option<RunRef>,
        json: bool,
        follow: bool,
    },
    Prune {
        older_than: Duration,
    },
    /// `flowforge export RUN [--out FILE]`: stdout without `--out`.
    Export {
        run: RunRef,
        out: Option<PathBuf>,
    },
    /// `flowforge verify FILE`: reads the bundle only, never the database.
    Verify {
        file: PathBuf,
    },
}

#[derive(Debug)]
pub enum Command {
    Run(RunArgs),
    /// Internal: the session-leader shim (see platform::shim).
    Shim {
        pty: bool,
        command: Vec<OsString>,
    },
    Inspect {
        what: Inspect,
        db: Option<PathBuf>,
    },
    Serve(crate::api::ServeArgs),
    /// `flowforge key [--rotate]`.
    Key {
        rotate: bool,
    },
    Demo(crate::demo::DemoArgs),
    Replay(ReplayArgs),
    Help(&'static str),
    Version,
}

/// A usage error: what is wrong, and what to do instead.
#[derive(Debug, PartialEq, Eq)]
pub struct UsageError {
    pub problem: String,
    pub fix: String,
}

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}; {}", self.problem, self.fix)
    }
}

fn usage(problem: impl Into<String>, fix: impl Into<String>) -> UsageError {
    UsageError {
        problem: problem.into(),
        fix: fix.into(),
    }
}

/// Options of `flowforge run` that take a value; used to spot an ambiguous command line
/// (`flowforge run sleep 10 --timeout 5`).
const RUN_VALUE_OPTIONS: &[&str] = &[
    "--timeout",
    "--kill-grace",
    "--pty",
    "--tick",
    "--db",
    "--action",
    "--max-restarts",
    "--restart-window",
    "--threshold",
    "--window",
    "--max-rss",
    "--idle-timeout",
    "--record",
    "--listen",
    "--retention",
];

pub const INSPECT_HELP: &str = "\
flowforge runs | show | events | prune — read and maintain the evidence store

Usage:
  flowforge runs [--json] [--limit N]          recorded runs, newest first [default limit: 20]
  flowforge show RUN                           one run's story: what happened, why, what came of it
  flowforge events [RUN] [--json] [--follow]   the event stream; --json prints NDJSON, one
                                               object per line (fields in OPERATIONS.md)
  flowforge prune --older-than DURATION        delete runs that ended before then
  flowforge export RUN [--out FILE]            the run's manifest and events as NDJSON, each
                                               event with its SHA-256 chain hash [default: stdout]
  flowforge verify FILE                        recompute a bundle's chain; names the first event
                                               that breaks it (exit 0 ok, 1 broken, 2 not a bundle)

RUN is a run id from `flowforge runs`, or `last`.
Every command takes --db PATH (default: $FLOWFORGE_DB, else $FLOWFORGE_HOME/flowforge.db,
else ~/.local/state/flowforge/flowforge.db).
";

fn parse_inspect(name: &str, args: Vec<OsString>) -> Result<Command, UsageError> {
    use lexopt::prelude::*;
    let mut parser = lexopt::Parser::from_args(args);
    let (mut json, mut follow, mut limit, mut db, mut run, mut older_than) =
        (false, false, 20usize, None, None, None);
    let (mut out, mut file): (Option<PathBuf>, Option<PathBuf>) = (None, None);
    let fix = format!("see `flowforge {name} --help`");
    while let Some(arg) = parser.next().map_err(|e| usage(e.to_string(), fix.clone()))? {
        match arg {
            Long("json") if matches!(name, "runs" | "events") => json = true,
            Long("out") | Short('o') if name == "export" => {
                out = Some(PathBuf::from(parser.value().map_err(|_| {
                    usage("--out needs a value", "e.g. --out run-17.ffbundle")
                })?))
            }
            Value(value) if name == "verify" && file.is_none() => file = Some(PathBuf::from(value)),
            Long("follow") | Short('f') if name == "events" => follow = true,
            Long("limit") if name == "runs" => {
                let text = value_of(&mut parser, "--limit")?;
                limit = text.parse().ok().filter(|&n: &usize| n > 0).ok_or_else(|| {
                    usage(
                        format!("invalid --limit '{text}'"),
                        "give a positive number, e.g. --limit 50",
                    )
                })?;
            }
            Long("older-than") if name == "prune" => {
                let text = value_of(&mut parser, "--older-than")?;
                older_than =
                    Some(parse_duration(&text).map_err(|why| {
                        usage(format!("invalid --older-than: {why}"), "e.g. --older-than 30d")
                    })?);
            }
            Long("db") => {
                db = Some(PathBuf::from(
                    parser
                        .value()
                        .map_err(|_| usage("--db needs a value", "e.g. --db ./runs.db"))?,
                ))
            }
            Short('h') | Long("help") => return Ok(Command::Help(INSPECT_HELP)),
            Value(value) if run.is_none() && matches!(name, "show" | "events" | "export") => {
                let text = value.to_string_lossy().into_owned();
                run = Some(RunRef::parse(&text).ok_or_else(|| {
                    usage(
                        format!("'{text}' is not a run"),
                        "give a run id from `flowforge runs`, or `last`",
                    )
                })?);
            }
            other => return Err(usage(format!("unexpected {}", describe(&other)), fix)),
        }
    }
    let what = match name {
        "runs" => Inspect::Runs { json, limit },
        "show" => Inspect::Show {
            run: run.ok_or_else(|| {
                usage(
                    "show needs a run",
                    "e.g. `flowforge show last` or `flowforge show 17`",
                )
            })?,
        },
        "events" => Inspect::Events { run, json, follow },
        "export" => Inspect::Export {
            run: run.ok_or_else(|| {
                usage(
                    "export needs a run",
                    "e.g. `flowforge export last --out run.ffbundle`",
                )
            })?,
            out,
        },
        "verify" => Inspect::Verify {
            file: file.ok_or_else(|| usage("verify needs a file", "e.g. `flowforge verify run.ffbundle`"))?,
        },
        _ => Inspect::Prune {
            older_than: older_than.ok_or_else(|| {
                usage(
                    "prune needs --older-than",
                    "e.g. `flowforge prune --older-than 30d`",
                )
            })?,
        },
    };
    Ok(Command::Inspect { what, db })
}

fn describe(arg: &lexopt::Arg<'_>) -> String {
    match arg {
        lexopt::Arg::Short(c) => format!("option '-{c}'"),
        lexopt::Arg::Long(name) => format!("option '--{name}'"),
        lexopt::Arg::Value(value) => format!("argument '{}'", value.to_string_lossy()),
    }
}

pub fn parse(args: Vec<OsString>) -> Result<Command, UsageError> {
    let mut iter = args.into_iter();
    let first = match iter.next() {
        None => return Ok(Command::Help(MAIN_HELP)),
        Some(arg) => arg,
    };
    let rest: Vec<OsString> = iter.collect();
    match first.to_str() {
        Some("run") => parse_run(rest),
        Some("__shim") => parse_shim(rest),
        Some(name @ ("runs" | "show" | "events" | "prune" | "export" | "verify")) => {
            parse_inspect(name, rest)
        }
        Some("replay") => parse_replay(rest),
        Some("serve") => parse_serve(rest, false),
        Some("dashboard") => parse_serve(rest, true),
        Some("key") => parse_key(rest),
        Some("demo") => parse_demo(rest),
        Some("-h" | "--help" | "help") => Ok(Command::Help(MAIN_HELP)),
        Some("-V" | "--version") => Ok(Command::Version),
        Some(other) if other.starts_with('-') => Err(usage(
            format!("unknown option '{other}'"),
            "see `flowforge --help`",
        )),
        Some(other) => Err(usage(
            format!("unknown command '{other}'"),
            "to supervise a program use `flowforge run -- {other} ...`; see `flowforge --help`",
        )),
        None => Err(usage(
            "the command name is not valid UTF-8",
            "see `flowforge --help`",
        )),
    }
}

fn parse_replay(args: Vec<OsString>) -> Result<Command, UsageError> {
    use lexopt::prelude::*;
    let fix = "see `flowforge replay --help`";
    let mut parser = lexopt::Parser::from_args(args);
    let (mut input, mut rate, mut timing, mut explain) = (None, None, None, false);
    let mut detect = DetectConfig::default();
    while let Some(arg) = parser.next().map_err(|e| usage(e.to_string(), fix))? {
        match arg {
            Long("rate") => {
                let text = value_of(&mut parser, "--rate")?;
                rate = Some(
                    text.parse()
                        .ok()
                        .filter(|r: &f64| r.is_finite() && *r > 0.0 && *r <= 1e9)
                        .ok_or_else(|| {
                            usage(
                                format!("invalid --rate '{text}'"),
                                "give lines per second, e.g. --rate 20",
                            )
                        })?,
                );
            }
            Long("timing") => {
                timing = Some(PathBuf::from(parser.value().map_err(|_| {
                    usage("--timing needs a file", "e.g. --timing session.timing")
                })?))
            }
            Long("explain") => explain = true,
            Long("threshold") => {
                detect.threshold = threshold(&mut parser)?;
            }
            Long("window") => {
                detect.window = duration_at_least(&mut parser, "--window", Duration::from_secs(1))?
            }
            Short('h') | Long("help") => return Ok(Command::Help(REPLAY_HELP)),
            Value(value) if input.is_none() => input = Some(PathBuf::from(value)),
            other => return Err(usage(format!("unexpected {}", describe(&other)), fix)),
        }
    }
    let input = input.ok_or_else(|| {
        usage(
            "replay needs a log",
            "e.g. `flowforge replay job.log` or `- ` for stdin",
        )
    })?;
    let timing = match (timing, rate) {
        (Some(_), Some(_)) => {
            return Err(usage(
                "--rate and --timing contradict each other",
                "a typescript's timing file gives every chunk its time; drop --rate",
            ))
        }
        (Some(path), None) => crate::replay::Timing::File(path),
        (None, rate) => crate::replay::Timing::Rate(rate),
    };
    Ok(Command::Replay(ReplayArgs {
        input,
        timing,
        explain,
        detect,
    }))
}

fn parse_shim(args: Vec<OsString>) -> Result<Command, UsageError> {
    let mut pty = false;
    let mut iter = args.into_iter();
    for arg in iter.by_ref() {
        match arg.to_str() {
            Some("--pty") => pty = true,
            Some("--") => break,
            _ => return Err(usage("__shim is internal", "run `flowforge run -- CMD` instead")),
        }
    }
    Ok(Command::Shim {
        pty,
        command: iter.collect(),
    })
}

/// `--threshold CONFIDENCE` (run and replay): above 0 and at most 1.
fn threshold(parser: &mut lexopt::Parser) -> Result<f64, UsageError> {
    let text = value_of(parser, "--threshold")?;
    text.parse()
        .ok()
        .filter(|t: &f64| *t > 0.0 && *t <= 1.0)
        .ok_or_else(|| {
            usage(
                format!("invalid --threshold '{text}'"),
                "give a confidence above 0 and at most 1, e.g. --threshold 0.8",
            )
        })
}

fn value_of(parser: &mut lexopt::Parser, flag: &str) -> Result<String, UsageError> {
    let value = parser.value().map_err(|_| {
        usage(
            format!("{flag} needs a value"),
            format!("e.g. {flag} {}", example_for(flag)),
        )
    })?;
    value.into_string().map_err(|_| {
        usage(
            format!("the value of {flag} is not valid UTF-8"),
            format!("e.g. {flag} {}", example_for(flag)),
        )
    })
}

fn example_for(flag: &str) -> &'static str {
    match flag {
        "--pty" => "auto",
        "--kill-grace" => "5s",
        "--tick" => "1s",
        "--window" => "10s",
        "--idle-timeout" => "10m",
        "--restart-window" => "5m",
        _ => "30m",
    }
}

fn duration_flag(parser: &mut lexopt::Parser, flag: &str) -> Result<Duration, UsageError> {
    let text = value_of(parser, flag)?;
    parse_duration(&text).map_err(|why| {
        usage(
            format!("invalid {flag}: {why}"),
            format!("give a duration such as {flag} {}", example_for(flag)),
        )
    })
}

/// A duration flag that must be at least `minimum` (zero is never a sensible limit).
fn duration_at_least(
    parser: &mut lexopt::Parser,
    flag: &str,
    minimum: Duration,
) -> Result<Duration, UsageError> {
    let value = duration_flag(parser, flag)?;
    if value < minimum {
        let bound = if minimum <= Duration::from_millis(1) {
            "greater than zero".to_string()
        } else {
            format!("at least {}", crate::units::format_duration(minimum))
        };
        return Err(usage(
            format!("invalid {flag}: it must be {bound}"),
            format!("e.g. {flag} {}", example_for(flag)),
        ));
    }
    Ok(value)
}

fn parse_run(args: Vec<OsString>) -> Result<Command, UsageError> {
    use lexopt::prelude::*;
    let mut run = RunArgs {
        command: Vec::new(),
        kill_grace: Duration::from_secs(5),
        pty: PtyMode::Auto,
        tick: Duration::from_secs(1),
        verbose: 0,
        db: DbChoice::Record {
            path: None,
            required: false,
        },
        action: ActionMode::Kill,
        limits: Limits::default(),
        detect: Some(DetectConfig::default()),
        restart_budget: Budget::default(),
        retention: None,
        redact: true,
        record: None,
        listen: None,
        allow_remote: false,
    };
    let mut no_detect = false;
    let mut no_db = false;
    let mut require_db = false;
    let mut db_path = None;
    let mut parser = lexopt::Parser::from_args(args);
    let mut saw_separator = false;
    loop {
        // `--` ends our options; lexopt reports what follows as positional values, so we
        // detect it by peeking at the raw arguments first.
        if let Some(mut raw) = parser.try_raw_args() {
            if raw.peek().and_then(|a| a.to_str()) == Some("--") {
                raw.next();
                saw_separator = true;
                run.command = raw.collect();
                break;
            }
        }
        let Some(arg) = parser
            .next()
            .map_err(|e| usage(e.to_string(), "see `flowforge run --help`"))?
        else {
            break;
        };
        match arg {
            Long("timeout") => {
                let timeout = duration_at_least(&mut parser, "--timeout", Duration::from_millis(1))?;
                run.limits.timeout = Some(timeout);
            }
            Long("kill-grace") => run.kill_grace = duration_flag(&mut parser, "--kill-grace")?,
            Long("tick") => {
                let tick = duration_at_least(&mut parser, "--tick", Duration::from_millis(100))?;
                run.tick = tick;
            }
            Long("pty") => {
                run.pty = match value_of(&mut parser, "--pty")?.as_str() {
                    "auto" => PtyMode::Auto,
                    "always" => PtyMode::Always,
                    "never" => PtyMode::Never,
                    other => {
                        return Err(usage(
                            format!("invalid --pty '{other}'"),
                            "use --pty auto, always or never",
                        ))
                    }
                }
            }
            Long("action") => {
                run.action = match value_of(&mut parser, "--action")?.as_str() {
                    "kill" => ActionMode::Kill,
                    "restart" => ActionMode::Restart,
                    "alert" => ActionMode::Alert,
                    other => {
                        return Err(usage(
                            format!("invalid --action '{other}'"),
                            "use --action kill, restart or alert",
                        ))
                    }
                }
            }
            Long("max-restarts") => {
                let text = value_of(&mut parser, "--max-restarts")?;
                run.restart_budget.max_restarts = text.parse().map_err(|_| {
                    usage(
                        format!("invalid --max-restarts '{text}'"),
                        "give a whole number, e.g. --max-restarts 3",
                    )
                })?;
            }
            Long("restart-window") => {
                let window = duration_at_least(&mut parser, "--restart-window", Duration::from_millis(1))?;
                run.restart_budget.window = window;
            }
            Long("threshold") => {
                let threshold = threshold(&mut parser)?;
                if let Some(detect) = run.detect.as_mut() {
                    detect.threshold = threshold;
                }
            }
            Long("window") => {
                let window = duration_at_least(&mut parser, "--window", Duration::from_secs(1))?;
                if let Some(detect) = run.detect.as_mut() {
                    detect.window = window;
                }
            }
            Long("no-detect") => no_detect = true,
            Long("max-rss") => {
                let text = value_of(&mut parser, "--max-rss")?;
                let size = parse_size(&text).ok().filter(|&s| s > 0).ok_or_else(|| {
                    usage(
                        format!("invalid --max-rss '{text}'"),
                        "give a size such as --max-rss 512M or --max-rss 2G",
                    )
                })?;
                run.limits.max_rss = Some(size);
            }
            Long("idle-timeout") => {
                let idle = duration_at_least(&mut parser, "--idle-timeout", Duration::from_millis(1))?;
                run.limits.idle_timeout = Some(idle);
            }
            Short('v') | Long("verbose") => run.verbose = run.verbose.saturating_add(1),
            Long("db") => {
                db_path = Some(PathBuf::from(
                    parser
                        .value()
                        .map_err(|_| usage("--db needs a value", "e.g. --db ./runs.db"))?,
                ))
            }
            Long("record") => {
                run.record =
                    Some(PathBuf::from(parser.value().map_err(|_| {
                        usage("--record needs a file", "e.g. --record job.ffrec")
                    })?))
            }
            Long("no-db") => no_db = true,
            Long("require-db") => require_db = true,
            Long("retention") => {
                let text = value_of(&mut parser, "--retention")?;
                let policy = Policy::parse(&text).map_err(|why| {
                    usage(format!("invalid --retention: {why}"), "e.g. --retention 30d,256M")
                })?;
                run.retention = Some(policy);
            }
            Long("no-redact") => run.redact = false,
            Long("listen") => run.listen = Some(listen_address(&value_of(&mut parser, "--listen")?)?),
            Long("allow-remote") => run.allow_remote = true,
            Short('h') | Long("help") => return Ok(Command::Help(RUN_HELP)),
            Value(program) => {
                run.command.push(program);
                run.command.extend(
                    parser
                        .raw_args()
                        .map_err(|e| usage(e.to_string(), "see `flowforge run --help`"))?,
                );
                break;
            }
            other => {
                return Err(usage(
                    format!("unknown {}", describe(&other)),
                    "see `flowforge run --help`; put `--` before the command if the option is the command's",
                ))
            }
        }
    }
    if run.command.is_empty() {
        return Err(usage(
            "no command given",
            "e.g. `flowforge run -- python3 agent.py`",
        ));
    }
    run.db = match (no_db, require_db, db_path) {
        (true, true, _) => {
            return Err(usage(
                "--no-db and --require-db contradict each other",
                "use one of them",
            ))
        }
        (true, false, Some(_)) => {
            return Err(usage("--no-db and --db contradict each other", "use one of them"))
        }
        (true, false, None) => DbChoice::Off,
        (false, required, path) => DbChoice::Record { path, required },
    };
    if no_detect {
        run.detect = None;
    }
    if run.listen.is_some() && run.db == DbChoice::Off {
        return Err(usage(
            "--listen serves the evidence store, which --no-db turns off",
            "drop one of them",
        ));
    }
    if !saw_separator {
        if let Some(flag) = run.command[1..].iter().filter_map(|a| a.to_str()).find(|a| {
            let name = a.split('=').next().unwrap_or(a);
            RUN_VALUE_OPTIONS.contains(&name)
        }) {
            return Err(usage(
                format!("'{flag}' after the command is ambiguous (FlowForge's option or the command's?)"),
                "put FlowForge's options first and `--` before the command: `flowforge run [OPTIONS] -- CMD [ARGS...]`",
            ));
        }
    }
    Ok(Command::Run(run))
}

pub const SERVE_HELP: &str = "\
flowforge serve — the local API: runs, events, samples, metrics and control over HTTP

Usage:
  flowforge serve [--listen ADDR] [--allow-remote] [--db PATH]

      --listen ADDR     where to listen [default: 127.0.0.1:7171]; port 0 picks a free one
      --allow-remote    allow an address beyond loopback (prints a warning)
      --db PATH         the evidence store [default: as for `flowforge run`]
  -v, --verbose         say more on stderr

Every /api and /metrics request needs `Authorization: Bearer KEY`, the key being the
contents of the file `flowforge key` prints. SIGTERM or Ctrl-C stops the server.
See OPERATIONS.md for the endpoints and a Prometheus scrape config.
";

pub const DASHBOARD_HELP: &str = "\
flowforge dashboard — the dashboard in your browser: runs, interventions, the loop itself

Usage:
  flowforge dashboard [--listen ADDR] [--open] [--run RUN|last] [--db PATH]

Starts the local API server (as `flowforge serve`) and prints the page's address, with the
API key in the fragment (`http://127.0.0.1:7171/#key=...`): the browser never sends a
fragment to a server, and the page moves the key into the tab's storage and out of the
address bar at once. Share a run's address from the address bar: it carries no key.

      --listen ADDR     where to listen [default: 127.0.0.1:7171]; port 0 picks a free one
      --open            open the address in the system's browser (xdg-open, open)
      --run RUN|last    the address opens this run's view
      --allow-remote    allow an address beyond loopback (prints a warning)
      --db PATH         the evidence store [default: as for `flowforge run`]
  -v, --verbose         say more on stderr
";

pub const KEY_HELP: &str = "\
flowforge key — the API key

Usage:
  flowforge key            print the key file's path (creating the key on first use)
  flowforge key --rotate   replace the key; a running server uses the new one at once
";

/// `127.0.0.1:7171`, `[::1]:7171`, `localhost:7171`, or a bare port on 127.0.0.1.
fn listen_address(text: &str) -> Result<std::net::SocketAddr, UsageError> {
    let bad = || {
        usage(
            format!("invalid --listen '{text}'"),
            "give ADDRESS:PORT, e.g. --listen 127.0.0.1:7171",
        )
    };
    if let Ok(port) = text.parse::<u16>() {
        return Ok(std::net::SocketAddr::from(([127, 0, 0, 1], port)));
    }
    if let Some(port) = text.strip_prefix("localhost:") {
        let port = port.parse::<u16>().map_err(|_| bad())?;
        return Ok(std::net::SocketAddr::from(([127, 0, 0, 1], port)));
    }
    text.parse().map_err(|_| bad())
}

/// `serve`, or `dashboard` (the same server, plus the page's address and `--open`/`--run`).
fn parse_serve(args: Vec<OsString>, dashboard: bool) -> Result<Command, UsageError> {
    use lexopt::prelude::*;
    let mut serve = crate::api::ServeArgs {
        listen: listen_address(crate::api::DEFAULT_LISTEN)?,
        allow_remote: false,
        db: None,
        verbose: 0,
        dashboard: dashboard.then_some(crate::api::DashboardArgs {
            open: false,
            run: None,
        }),
    };
    let mut parser = lexopt::Parser::from_args(args);
    let (fix, help) = if dashboard {
        ("see `flowforge dashboard --help`", DASHBOARD_HELP)
    } else {
        ("see `flowforge serve --help`", SERVE_HELP)
    };
    while let Some(arg) = parser.next().map_err(|e| usage(e.to_string(), fix))? {
        match (arg, serve.dashboard.as_mut()) {
            (Long("listen"), _) => serve.listen = listen_address(&value_of(&mut parser, "--listen")?)?,
            (Long("allow-remote"), _) => serve.allow_remote = true,
            (Long("db"), _) => serve.db = Some(PathBuf::from(value_of(&mut parser, "--db")?)),
            (Short('v') | Long("verbose"), _) => serve.verbose = serve.verbose.saturating_add(1),
            (Short('h') | Long("help"), _) => return Ok(Command::Help(help)),
            (Long("open"), Some(page)) => page.open = true,
            (Long("run"), Some(page)) => {
                let text = value_of(&mut parser, "--run")?;
                page.run = Some(RunRef::parse(&text).ok_or_else(|| {
                    usage(format!("invalid --run '{text}'"), "give a run number or `last`")
                })?);
            }
            (other, _) => return Err(usage(format!("unexpected {}", describe(&other)), fix)),
        }
    }
    Ok(Command::Serve(serve))
}

fn parse_demo(args: Vec<OsString>) -> Result<Command, UsageError> {
    use lexopt::prelude::*;
    let mut demo = crate::demo::DemoArgs::default();
    let mut parser = lexopt::Parser::from_args(args);
    let fix = "see `flowforge demo --help`";
    while let Some(arg) = parser.next().map_err(|e| usage(e.to_string(), fix))? {
        match arg {
            Long("serve") => demo.serve = true,
            Long("listen") => {
                let text = value_of(&mut parser, "--listen")?;
                listen_address(&text)?;
                demo.listen = Some(text.into());
            }
            Short('h') | Long("help") => return Ok(Command::Help(crate::demo::HELP)),
            other => return Err(usage(format!("unexpected {}", describe(&other)), fix)),
        }
    }
    if demo.listen.is_some() && !demo.serve {
        return Err(usage(
            "--listen goes with --serve",
            "flowforge demo --serve --listen ADDR",
        ));
    }
    Ok(Command::Demo(demo))
}

fn parse_key(args: Vec<OsString>) -> Result<Command, UsageError> {
    use lexopt::prelude::*;
    let mut rotate = false;
    let mut parser = lexopt::Parser::from_args(args);
    while let Some(arg) = parser
        .next()
        .map_err(|e| usage(e.to_string(), "see `flowforge key --help`"))?
    {
        match arg {
            Long("rotate") => rotate = true,
            Short('h') | Long("help") => return Ok(Command::Help(KEY_HELP)),
            other => {
                return Err(usage(
                    format!("unexpected {}", describe(&other)),
                    "see `flowforge key --help`",
                ))
            }
        }
    }
    Ok(Command::Key { rotate })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn serve_key_and_listen() {
        match parse(args(&["serve"])) {
            Ok(Command::Serve(s)) => {
                assert_eq!(s.listen.to_string(), "127.0.0.1:7171");
                assert!(!s.allow_remote);
            }
            other => panic!("{other:?}"),
        }
        match parse(args(&["serve", "--listen", "localhost:0", "--allow-remote"])) {
            Ok(Command::Serve(s)) => assert_eq!((s.listen.port(), s.allow_remote), (0, true)),
            other => panic!("{other:?}"),
        }
        assert!(parse(args(&["serve", "--listen", "nowhere"]))
            .unwrap_err()
            .problem
            .contains("--listen"));
        assert!(matches!(
            parse(args(&["key", "--rotate"])),
            Ok(Command::Key { rotate: true })
        ));
        assert_eq!(
            run(&["run", "--listen", "[::1]:9", "--", "x"])
                .listen
                .map(|a| a.to_string()),
            Some("[::1]:9".into())
        );
        assert!(parse(args(&["run", "--listen", "9", "--no-db", "--", "x"])).is_err());
    }

    fn args(list: &[&str]) -> Vec<OsString> {
        list.iter().map(OsString::from).collect()
    }

    fn run(list: &[&str]) -> RunArgs {
        match parse(args(list)) {
            Ok(Command::Run(run)) => run,
            other => panic!("expected a run, got {other:?}"),
        }
    }

    #[test]
    fn replay_takes_the_run_defaults_and_one_timing() {
        let Ok(Command::Replay(r)) = parse(args(&["replay", "job.log"])) else {
            panic!("expected a replay");
        };
        assert_eq!(r.timing, crate::replay::Timing::Rate(None));
        assert_eq!(
            r.detect,
            DetectConfig::default(),
            "the same detector settings as run"
        );
        let Ok(Command::Replay(r)) = parse(args(&["replay", "--timing", "t", "--explain", "-"])) else {
            panic!("expected a replay");
        };
        assert_eq!(r.timing, crate::replay::Timing::File("t".into()));
        assert!(r.explain && r.input == Path::new("-"));
        assert!(parse(args(&["replay", "--rate", "0", "x"])).is_err());
        assert!(parse(args(&["replay", "--rate", "5", "--timing", "t", "x"])).is_err());
        assert!(parse(args(&["replay"])).is_err());
        assert_eq!(
            run(&["run", "--record", "r.ffrec", "--", "true"]).record,
            Some("r.ffrec".into())
        );
    }

    #[test]
    fn run_with_separator_keeps_command_options() {
        let parsed = run(&["run", "--timeout", "5s", "--", "sleep", "10", "--timeout", "1"]);
        assert_eq!(parsed.limits.timeout, Some(Duration::from_secs(5)));
        assert_eq!(parsed.command, args(&["sleep", "10", "--timeout", "1"]));
    }

    #[test]
    fn run_without_separator_takes_first_value_as_command() {
        let parsed = run(&["run", "-v", "ls", "-l", "/tmp"]);
        assert_eq!(parsed.command, args(&["ls", "-l", "/tmp"]));
        assert_eq!(parsed.verbose, 1);
    }

    #[test]
    fn ambiguous_without_separator_is_refused() {
        let err = parse(args(&["run", "sleep", "10", "--timeout", "5"])).unwrap_err();
        assert!(err.problem.contains("ambiguous"), "{err}");
    }

    #[test]
    fn inspect_commands() {
        match parse(args(&["show", "last"])) {
            Ok(Command::Inspect {
                what: Inspect::Show { run: RunRef::Last },
                db: None,
            }) => {}
            other => panic!("{other:?}"),
        }
        match parse(args(&["events", "7", "--json", "--db", "/tmp/x.db"])) {
            Ok(Command::Inspect {
                what:
                    Inspect::Events {
                        run: Some(RunRef::Id(7)),
                        json: true,
                        follow: false,
                    },
                db: Some(_),
            }) => {}
            other => panic!("{other:?}"),
        }
        assert!(parse(args(&["prune"])).unwrap_err().fix.contains("30d"));
        assert!(parse(args(&["show", "banana"]))
            .unwrap_err()
            .fix
            .contains("flowforge runs"));
        assert!(parse(args(&["runs", "--limit", "0"])).is_err());
    }

    #[test]
    fn export_and_verify() {
        match parse(args(&["export", "last", "--out", "b.ndjson"])) {
            Ok(Command::Inspect {
                what:
                    Inspect::Export {
                        run: RunRef::Last,
                        out: Some(out),
                    },
                db: None,
            }) => assert_eq!(out, PathBuf::from("b.ndjson")),
            other => panic!("{other:?}"),
        }
        match parse(args(&["verify", "b.ndjson"])) {
            Ok(Command::Inspect {
                what: Inspect::Verify { file },
                ..
            }) => assert_eq!(file, PathBuf::from("b.ndjson")),
            other => panic!("{other:?}"),
        }
        assert!(parse(args(&["export"])).unwrap_err().fix.contains("export last"));
        assert!(parse(args(&["verify"])).is_err());
        assert!(parse(args(&["verify", "a", "b"])).is_err());
    }

    #[test]
    fn detection_and_action_flags() {
        let parsed = run(&[
            "run",
            "--action",
            "restart",
            "--max-restarts",
            "5",
            "--restart-window",
            "10m",
            "--threshold",
            "0.9",
            "--window",
            "20s",
            "--max-rss",
            "1G",
            "--idle-timeout",
            "2m",
            "--",
            "x",
        ]);
        assert_eq!(parsed.action, ActionMode::Restart);
        assert_eq!(
            parsed.restart_budget,
            Budget {
                max_restarts: 5,
                window: Duration::from_secs(600)
            }
        );
        let detect = parsed.detect.expect("detection on");
        assert_eq!((detect.threshold, detect.window), (0.9, Duration::from_secs(20)));
        assert_eq!(parsed.limits.max_rss, Some(1 << 30));
        assert_eq!(parsed.limits.idle_timeout, Some(Duration::from_secs(120)));
        assert!(run(&["run", "--no-detect", "--", "x"]).detect.is_none());
        for (flag, value, example) in [
            ("--threshold", "2", "0.8"),
            ("--max-rss", "lots", "512M"),
            ("--action", "nuke", "restart"),
            ("--window", "0", "10s"),
            ("--max-restarts", "-1", "3"),
        ] {
            let err = parse(args(&["run", flag, value, "--", "x"])).unwrap_err();
            assert!(
                err.to_string().contains(flag) && err.fix.contains(example),
                "{err}"
            );
        }
    }

    #[test]
    fn db_flags() {
        assert_eq!(run(&["run", "--no-db", "--", "true"]).db, DbChoice::Off);
        assert!(parse(args(&["run", "--no-db", "--require-db", "--", "true"])).is_err());
    }

    #[test]
    fn redaction_is_on_unless_refused() {
        assert!(run(&["run", "--", "true"]).redact);
        assert!(!run(&["run", "--no-redact", "--", "true"]).redact);
    }

    #[test]
    fn bad_inputs_name_the_flag_and_a_fix() {
        let err = parse(args(&["run", "--timeout", "soon", "--", "true"])).unwrap_err();
        assert!(
            err.to_string().contains("--timeout") && err.fix.contains("30m"),
            "{err}"
        );
        let err = parse(args(&["run", "--bogus", "--", "true"])).unwrap_err();
        assert!(err.problem.contains("--bogus"), "{err}");
        let err = parse(args(&["run"])).unwrap_err();
        assert!(err.problem.contains("no command"), "{err}");
        let err = parse(args(&["run", "--"])).unwrap_err();
        assert!(err.problem.contains("no command"), "{err}");
        let err = parse(args(&["run", "--pty", "maybe", "--", "true"])).unwrap_err();
        assert!(err.fix.contains("auto"), "{err}");
        let err = parse(args(&["frobnicate"])).unwrap_err();
        assert!(err.problem.contains("frobnicate"), "{err}");
    }
}
