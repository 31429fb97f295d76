//! What `flowforge run` was asked to do, validated: the settings the action layer runs
//! with. `cli` builds them from the command line; they live here so that act (and
//! supervise, through [`crate::supervise::Options`]) depend on no parser.

use super::guardrails::Limits;
use super::restart::Budget;
use super::watch::ActionMode;
use crate::detect::DetectConfig;
use crate::evidence::retention::Policy;
use crate::supervise::PtyMode;
use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

/// Everything `flowforge run` was asked to do, validated.
#[derive(Debug, Clone)]
pub struct RunArgs {
    pub command: Vec<OsString>,
    pub kill_grace: Duration,
    pub pty: PtyMode,
    pub tick: Duration,
    pub verbose: u8,
    pub db: DbChoice,
    pub action: ActionMode,
    pub limits: Limits,
    /// `None` with `--no-detect`.
    pub detect: Option<DetectConfig>,
    pub restart_budget: Budget,
    /// `--retention`; `None` leaves it to `FLOWFORGE_RETENTION` and the default.
    pub retention: Option<Policy>,
    /// Redact secrets from the evidence and the stop line; off with `--no-redact`.
    pub redact: bool,
    /// `--record FILE`: what the detector was fed, for `flowforge replay`.
    pub record: Option<PathBuf>,
    /// `--listen ADDR`: serve the API from inside the run.
    pub listen: Option<std::net::SocketAddr>,
    pub allow_remote: bool,
}

/// Where `flowforge run` records its evidence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DbChoice {
    /// `--db PATH` or the default location; `required` is `--require-db`.
    Record { path: Option<PathBuf>, required: bool },
    /// `--no-db`.
    Off,
}
