//! The one event model: everything FlowForge records about a run is an `Event`.
//!
//! A closed set of categories keeps the timeline and the explanation built from the same
//! rows; `kind` names the specific thing within the category (`started`, `exited`,
//! `runaway`, `tree_stop`, ...), `actor` says who caused it, `message` is the sentence a
//! human reads and `payload` carries the numbers behind it as JSON.

use serde::Serialize;
use serde_json::Value;
use std::time::{SystemTime, UNIX_EPOCH};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Category {
    Lifecycle,
    Sample,
    Decision,
    Action,
    Outcome,
    Control,
    Alert,
    Error,
}

impl Category {
    #[cfg(test)]
    pub const ALL: [Category; 8] = [
        Category::Lifecycle,
        Category::Sample,
        Category::Decision,
        Category::Action,
        Category::Outcome,
        Category::Control,
        Category::Alert,
        Category::Error,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Category::Lifecycle => "lifecycle",
            Category::Sample => "sample",
            Category::Decision => "decision",
            Category::Action => "action",
            Category::Outcome => "outcome",
            Category::Control => "control",
            Category::Alert => "alert",
            Category::Error => "error",
        }
    }
}

/// Who caused an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Actor {
    /// FlowForge's own supervision (start, exit, tree stop after the child exited).
    Supervisor,
    /// The runaway detector.
    Detector,
    /// A user through the local API (kill or restart of a live run).
    User,
    /// A signal delivered to FlowForge (Ctrl-C, SIGTERM from a CI runner, ...).
    Signal,
    /// A configured limit: --timeout, --max-rss, --idle-timeout.
    Guardrail,
}

impl Actor {
    pub fn as_str(self) -> &'static str {
        match self {
            Actor::Supervisor => "supervisor",
            Actor::Detector => "detector",
            Actor::User => "user",
            Actor::Signal => "signal",
            Actor::Guardrail => "guardrail",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Event {
    /// Wall-clock time in milliseconds since the Unix epoch.
    pub at_ms: i64,
    pub category: Category,
    pub kind: String,
    pub actor: Actor,
    pub message: String,
    pub payload: Value,
}

impl Event {
    pub fn new(
        category: Category,
        kind: impl Into<String>,
        actor: Actor,
        message: impl Into<String>,
        payload: Value,
    ) -> Event {
        Event {
            at_ms: now_ms(),
            category,
            kind: kind.into(),
            actor,
            message: message.into(),
            payload,
        }
    }
}

pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
