//! The verdict where CI users already look: the GitHub Actions job summary and annotations,
//! and a collapsible section in a GitLab job log.
//!
//! The exit status stays the contract (124 when FlowForge stopped the job); this only
//! repeats it where a human reads. With `GITHUB_STEP_SUMMARY` set (GitHub sets it to a file
//! per step), every run appends a Markdown summary to that file: the command, the outcome,
//! the duration, the exit code, and for an intervention a card with the reason, the
//! repeating lines and the last lines before the stop. With `GITHUB_ACTIONS=true` or
//! `GITHUB_STEP_SUMMARY` set, an intervention also prints one workflow command on stderr —
//! `::error` when FlowForge stopped the job, `::warning` when it only alerted or restarted
//! — which the runner turns into an annotation on the run's page. With `GITLAB_CI` set, an
//! intervention prints its card as a collapsed section of the job log
//! (`section_start`/`section_end`). A run without an intervention prints nothing: FlowForge
//! stands in front of someone else's log.
//!
//! Everything shown is what the evidence holds — redacted unless `--no-redact` — and the
//! repeating lines are escaped for their medium: HTML-escaped inside `<pre>` for Markdown
//! (no fence a line could close), `%`, CR and LF encoded for workflow commands, control
//! characters escaped for the log. A summary file that cannot be written costs one warning,
//! never the job's exit status.

use crate::evidence::report::printable;
use crate::units::format_duration;
use serde_json::Value;
use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

/// Where the CI verdict goes, from the environment of `flowforge run`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ci {
    /// `GITHUB_STEP_SUMMARY`: the Markdown file of this step.
    pub github_summary: Option<PathBuf>,
    /// Print `::error`/`::warning` workflow commands.
    pub github_annotations: bool,
    /// `GITLAB_CI`: print a collapsible section.
    pub gitlab: bool,
}

impl Ci {
    /// Reads `GITHUB_STEP_SUMMARY`, `GITHUB_ACTIONS` and `GITLAB_CI`; `None` outside CI.
    pub fn from_env() -> Option<Ci> {
        let set = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
        let github_summary = set("GITHUB_STEP_SUMMARY").map(PathBuf::from);
        let ci = Ci {
            github_annotations: github_summary.is_some()
                || std::env::var("GITHUB_ACTIONS").is_ok_and(|v| v == "true"),
            github_summary,
            gitlab: set("GITLAB_CI").is_some(),
        };
        (ci != Ci::default()).then_some(ci)
    }
}

/// What FlowForge decided, as its decision event recorded it.
#[derive(Debug, Clone, PartialEq)]
pub struct Intervention {
    /// `runaway`, `timeout`, `max_rss`, `idle_timeout`.
    pub kind: String,
    pub reason: String,
    /// The decision's payload: `cycle`, `period`, `last_lines`, ...
    pub payload: Value,
}

/// How the run ended, for the summary.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict<'a> {
    pub command: &'a str,
    pub outcome: &'a str,
    pub exit_code: i32,
    pub duration: Duration,
    /// `flowforge show` argument: the run id, or `last`.
    pub run_ref: String,
    pub intervention: Option<Intervention>,
}

impl Verdict<'_> {
    fn headline(&self) -> String {
        let ran = format_duration(self.duration);
        match (&self.intervention, self.exit_code) {
            (Some(i), 124) => format!(
                "FlowForge stopped {} after {ran}: {} (exit 124)",
                self.command,
                what_stopped(i)
            ),
            (Some(i), code) => format!(
                "FlowForge saw {} in {} ({}, exit {code} after {ran})",
                what_stopped(i),
                self.command,
                self.outcome
            ),
            (None, code) => format!("{} {} with exit {code} after {ran}", self.command, self.outcome),
        }
    }
}

fn what_stopped(i: &Intervention) -> &'static str {
    match i.kind.as_str() {
        "runaway" => "a runaway loop",
        "timeout" => "the --timeout",
        "max_rss" => "the --max-rss limit",
        "idle_timeout" => "the --idle-timeout",
        _ => "a guardrail",
    }
}

/// Writes the verdict to every CI medium that is configured.
pub fn report(ci: &Ci, verdict: &Verdict<'_>) {
    if let Some(path) = &ci.github_summary {
        let appended = std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .open(path)
            .and_then(|mut f| f.write_all(markdown(verdict).as_bytes()));
        if let Err(e) = appended {
            log::warn!("cannot append the job summary to {}: {e}", path.display());
        }
    }
    if ci.github_annotations {
        if let Some(line) = annotation(verdict) {
            emit(&line);
        }
    }
    if ci.gitlab && verdict.intervention.is_some() {
        emit(&gitlab_section(verdict, crate::evidence::now_ms() / 1000));
    }
}

/// FlowForge's own CI lines go to stderr, through this one function.
fn emit(text: &str) {
    let mut stderr = std::io::stderr().lock();
    let _ = stderr.write_all(text.as_bytes());
    let _ = stderr.flush();
}

/// The Markdown appended to `GITHUB_STEP_SUMMARY`.
pub fn markdown(v: &Verdict<'_>) -> String {
    let mut md = String::new();
    let icon = match (&v.intervention, v.exit_code) {
        (Some(_), 124) => "🛑",
        (Some(_), _) => "⚠️",
        (None, 0) => "✅",
        (None, _) => "❌",
    };
    md.push_str(&format!("### {icon} {}\n\n", html(&v.headline())));
    md.push_str("| | |\n|---|---|\n");
    md.push_str(&format!("| command | <code>{}</code> |\n", html(v.command)));
    md.push_str(&format!("| outcome | {} |\n", html(v.outcome)));
    md.push_str(&format!("| exit code | {} |\n", v.exit_code));
    md.push_str(&format!("| duration | {} |\n", format_duration(v.duration)));
    md.push_str(&format!(
        "| evidence | <code>flowforge show {}</code> |\n\n",
        html(&v.run_ref)
    ));
    if let Some(i) = &v.intervention {
        md.push_str(&format!("**Why:** {}\n\n", html(&i.reason)));
        if let Some(cycle) = lines_of(&i.payload, "cycle") {
            let period = i.payload.get("period").and_then(Value::as_u64).unwrap_or(0);
            let title = match period {
                1 => "The repeating line".to_string(),
                n => format!("The repeating lines ({n}-line cycle)"),
            };
            md.push_str(&format!(
                "<details open><summary>{title}</summary>\n\n<pre>\n{}</pre>\n</details>\n\n",
                pre_lines(&cycle)
            ));
        }
        if let Some(last) = lines_of(&i.payload, "last_lines").filter(|l| !l.is_empty()) {
            md.push_str(&format!(
                "<details><summary>Last lines before the stop</summary>\n\n<pre>\n{}</pre>\n</details>\n\n",
                pre_lines(&last)
            ));
        }
    }
    md
}

/// `(stream, line)` pairs of an excerpt field of the payload.
fn lines_of(payload: &Value, key: &str) -> Option<Vec<(String, String)>> {
    let lines = payload.get(key)?.as_array()?;
    Some(
        lines
            .iter()
            .map(|l| {
                let get = |k: &str| l.get(k).and_then(Value::as_str).unwrap_or("").to_string();
                (get("stream"), get("line"))
            })
            .collect(),
    )
}

fn pre_lines(lines: &[(String, String)]) -> String {
    lines
        .iter()
        .map(|(stream, line)| format!("{:<6} | {}\n", html(stream), html(&printable(line))))
        .collect()
}

/// `::error title=…::message`, or `::warning` for an intervention that did not end the job.
pub fn annotation(v: &Verdict<'_>) -> Option<String> {
    let i = v.intervention.as_ref()?;
    let level = if v.exit_code == 124 { "error" } else { "warning" };
    let title = if v.exit_code == 124 {
        "FlowForge stopped the job"
    } else {
        "FlowForge intervened"
    };
    let message = format!(
        "{}. {}. Details: flowforge show {}",
        v.headline(),
        i.reason,
        v.run_ref
    );
    Some(format!(
        "::{level} title={}::{}\n",
        workflow_property(title),
        workflow_data(&message)
    ))
}

/// A collapsed section of the GitLab job log with the card; `now_s` names its boundaries.
pub fn gitlab_section(v: &Verdict<'_>, now_s: i64) -> String {
    const NAME: &str = "flowforge_verdict";
    let mut text = format!(
        "\x1b[0Ksection_start:{now_s}:{NAME}[collapsed=true]\r\x1b[0K{}\n",
        printable(&v.headline())
    );
    if let Some(i) = &v.intervention {
        text.push_str(&format!("why: {}\n", printable(&i.reason)));
        for (key, title) in [
            ("cycle", "the repeating lines:"),
            ("last_lines", "last lines before the stop:"),
        ] {
            if let Some(lines) = lines_of(&i.payload, key).filter(|l| !l.is_empty()) {
                text.push_str(title);
                text.push('\n');
                for (stream, line) in lines {
                    text.push_str(&format!("  {stream:<6} | {}\n", printable(&line)));
                }
            }
        }
    }
    text.push_str(&format!("details: flowforge show {}\n", v.run_ref));
    text.push_str(&format!("\x1b[0Ksection_end:{now_s}:{NAME}\r\x1b[0K\n"));
    text
}

fn html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '|' => out.push_str("&#124;"),
            '`' => out.push_str("&#96;"),
            _ => out.push(c),
        }
    }
    out
}

/// The message of a workflow command: `%`, CR and LF encoded as the runner expects.
fn workflow_data(text: &str) -> String {
    text.replace('%', "%25").replace('\r', "%0D").replace('\n', "%0A")
}

/// A property of a workflow command: also `:` and `,`.
fn workflow_property(text: &str) -> String {
    workflow_data(text).replace(':', "%3A").replace(',', "%2C")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn stopped() -> Verdict<'static> {
        Verdict {
            command: "python3 agent.py",
            outcome: "stopped",
            exit_code: 124,
            duration: Duration::from_millis(12_400),
            run_ref: "17".into(),
            intervention: Some(Intervention {
                kind: "runaway".into(),
                reason: "output loop: 2-line cycle repeated 41× in 5.0 s — confidence 0.93 ≥ 0.80".into(),
                payload: json!({
                    "period": 2,
                    "cycle": [
                        {"stream": "stdout", "line": "calling <tool> | retry `x`"},
                        {"stream": "stderr", "line": "100% failed\u{1b}[0m"}
                    ],
                    "last_lines": [{"stream": "stderr", "line": "100% failed"}]
                }),
            }),
        }
    }

    #[test]
    fn markdown_names_the_loop_and_escapes_the_lines() {
        let md = markdown(&stopped());
        assert!(
            md.starts_with(
                "### 🛑 FlowForge stopped python3 agent.py after 12.4 s: a runaway loop (exit 124)\n"
            ),
            "{md}"
        );
        assert!(md.contains("| exit code | 124 |"), "{md}");
        assert!(md.contains("| outcome | stopped |"), "{md}");
        assert!(
            md.contains("<summary>The repeating lines (2-line cycle)</summary>"),
            "{md}"
        );
        assert!(
            md.contains("stdout | calling &lt;tool&gt; &#124; retry &#96;x&#96;\n"),
            "{md}"
        );
        assert!(md.contains("stderr | 100% failed\\u{1b}[0m\n"), "{md}");
        assert!(md.contains("<code>flowforge show 17</code>"), "{md}");
        let quiet = Verdict {
            intervention: None,
            outcome: "exited",
            exit_code: 0,
            ..stopped()
        };
        let md = markdown(&quiet);
        assert!(
            md.starts_with("### ✅ python3 agent.py exited with exit 0 after 12.4 s\n"),
            "{md}"
        );
        assert!(!md.contains("Why"), "{md}");
    }

    #[test]
    fn annotations_are_one_line_errors_or_warnings() {
        let line = annotation(&stopped()).expect("an annotation");
        assert!(
            line.starts_with("::error title=FlowForge stopped the job::FlowForge stopped python3"),
            "{line}"
        );
        assert_eq!(line.matches('\n').count(), 1);
        let alerted = Verdict {
            exit_code: 0,
            outcome: "exited",
            ..stopped()
        };
        assert!(annotation(&alerted)
            .expect("a warning")
            .starts_with("::warning title=FlowForge intervened::"));
        assert_eq!(
            annotation(&Verdict {
                intervention: None,
                ..stopped()
            }),
            None
        );
        assert_eq!(workflow_data("50%\r\nx"), "50%25%0D%0Ax");
        assert_eq!(workflow_property("a: b, c"), "a%3A b%2C c");
    }

    #[test]
    fn gitlab_section_is_collapsed_and_closed() {
        let text = gitlab_section(&stopped(), 1_700_000_000);
        assert!(text.starts_with(
            "\x1b[0Ksection_start:1700000000:flowforge_verdict[collapsed=true]\r\x1b[0KFlowForge stopped"
        ));
        assert!(text.ends_with("\x1b[0Ksection_end:1700000000:flowforge_verdict\r\x1b[0K\n"));
        assert!(text.contains("  stdout | calling <tool> | retry `x`\n"), "{text}");
        assert!(text.contains("100% failed\\u{1b}[0m"), "{text}");
    }
}
