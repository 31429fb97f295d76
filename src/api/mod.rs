//! The local HTTP API: runs, events, samples, metrics and control, for curl, CI, the
//! dashboard and Prometheus.
//!
//! It is local and keyed by design (THREAT_MODEL.md): loopback only unless
//! `--allow-remote`; every `/api` and `/metrics` request needs the bearer key of `key.rs`;
//! `Host` and `Origin` are checked against DNS rebinding and cross-site requests
//! (`routes.rs`); connections, heads, bodies and threads are bounded (`http.rs`, which also
//! says why tiny_http 0.12 is not used). There is no async runtime: one poller
//! thread and a fixed pool of workers, blocking SQLite reads on a per-worker connection.
//!
//! The same server runs in two places: `flowforge serve` serves the whole store until
//! SIGTERM/SIGINT; `flowforge run --listen ADDR` serves it from inside one run on its own
//! threads, adding the live tree's numbers to `/metrics` from atomics the supervisor loop
//! stores without ever waiting.
//!
//! - [`http`]: the connection layer and its limits; [`wire`]: parsing and writing HTTP/1.1;
//! - [`routes`]: the localhost defences and the handlers; [`store`]: their SQL;
//! - [`key`]: the API key file; [`limit`]: backing off wrong keys;
//! - [`problem`]: RFC 7807 errors and strict query strings;
//! - [`metrics`]: the Prometheus exposition; [`openapi`]: the OpenAPI document;
//! - [`web`]: the dashboard's embedded files, served at `/` (`flowforge dashboard`).

pub mod http;
pub mod key;
pub mod limit;
pub mod metrics;
pub mod openapi;
pub mod problem;
pub mod routes;
pub mod store;
pub mod web;
pub mod wire;

use crate::act::control::LiveStats;
use crate::act::EXIT_FLOWFORGE_FAILED;
use crate::evidence;
use std::fmt;
use std::io;
use std::net::{IpAddr, SocketAddr, TcpListener};
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

/// `flowforge serve` without `--listen`.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:7171";

/// `flowforge serve`, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServeArgs {
    pub listen: SocketAddr,
    pub allow_remote: bool,
    pub db: Option<PathBuf>,
    pub verbose: u8,
    /// `Some` for `flowforge dashboard`: print the page's address with the key.
    pub dashboard: Option<DashboardArgs>,
}

/// What `flowforge dashboard` adds to `serve`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DashboardArgs {
    /// `--open`: launch the system's browser on the address.
    pub open: bool,
    /// `--run ID|last`: the address opens that run's view.
    pub run: Option<evidence::RunRef>,
}

/// Why the API could not start.
#[derive(Debug)]
pub enum ApiError {
    Key(key::KeyError),
    /// A non-loopback address without `--allow-remote`.
    NotLoopback {
        addr: SocketAddr,
        flag: &'static str,
    },
    InUse {
        addr: SocketAddr,
        flag: &'static str,
    },
    Bind {
        addr: SocketAddr,
        source: io::Error,
    },
    Start(io::Error),
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ApiError::Key(e) => write!(f, "{e}"),
            ApiError::NotLoopback { addr, flag } => write!(
                f,
                "{flag} {addr} is not a loopback address; the API is local by design (add --allow-remote to serve it anyway)"
            ),
            ApiError::InUse { addr, flag } => write!(
                f,
                "port {} is already in use ({addr}); pick another with {flag} 127.0.0.1:PORT",
                addr.port()
            ),
            ApiError::Bind { addr, .. } => write!(f, "cannot listen on {addr}"),
            ApiError::Start(_) => write!(f, "cannot start the API threads"),
        }
    }
}

impl std::error::Error for ApiError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ApiError::Key(e) => Some(e),
            ApiError::Bind { source, .. } | ApiError::Start(source) => Some(source),
            _ => None,
        }
    }
}

impl From<key::KeyError> for ApiError {
    fn from(e: key::KeyError) -> ApiError {
        ApiError::Key(e)
    }
}

/// One line on stderr, `flowforge: ...` (the one place this module writes there). A
/// closed stderr is not a reason to fail: the line is lost, the server goes on.
fn say(line: &str) {
    crate::diag::line(format_args!("{line}"));
}

/// A serving API: stops and joins its threads when dropped.
pub struct Listening {
    server: http::Server,
}

impl Listening {
    pub fn addr(&self) -> SocketAddr {
        self.server.local_addr()
    }

    pub fn shutdown(self) {
        self.server.shutdown();
    }
}

/// The `Host` values that name a server on `addr`.
fn hosts_for(addr: SocketAddr, remote: bool) -> Vec<String> {
    let port = addr.port();
    let mut hosts = vec![
        format!("127.0.0.1:{port}"),
        format!("localhost:{port}"),
        format!("[::1]:{port}"),
    ];
    if remote && !addr.ip().is_loopback() && !addr.ip().is_unspecified() {
        hosts.push(match addr.ip() {
            IpAddr::V4(ip) => format!("{ip}:{port}"),
            IpAddr::V6(ip) => format!("[{ip}]:{port}"),
        });
    }
    hosts
}

/// Binds `listen` and starts serving the store at `db`; `flag` names the option in errors.
pub fn start(
    listen: SocketAddr,
    allow_remote: bool,
    flag: &'static str,
    db: PathBuf,
    live: Option<Arc<LiveStats>>,
) -> Result<Listening, ApiError> {
    if !listen.ip().is_loopback() {
        if !allow_remote {
            return Err(ApiError::NotLoopback { addr: listen, flag });
        }
        say(&format!(
            "warning: serving the API on {listen}, beyond this machine; anyone who can reach it and has the key can read command lines and output and stop runs"
        ));
    }
    let keys = key::KeyStore::open(key::key_path()?)?;
    let listener = TcpListener::bind(listen).map_err(|source| match source.kind() {
        io::ErrorKind::AddrInUse => ApiError::InUse { addr: listen, flag },
        _ => ApiError::Bind { addr: listen, source },
    })?;
    let addr = listener.local_addr().map_err(ApiError::Start)?;
    let stop = Arc::new(AtomicBool::new(false));
    let api = routes::Api::new(keys, db, hosts_for(addr, allow_remote), Arc::clone(&stop), live);
    let server = http::Server::start(listener, Arc::new(api), stop).map_err(ApiError::Start)?;
    Ok(Listening { server })
}

/// `run --listen`: starts the API for one run and says where; `Err` is the exit status.
pub fn start_for_run(
    listen: SocketAddr,
    allow_remote: bool,
    db: &std::path::Path,
    live: Option<Arc<LiveStats>>,
) -> Result<Listening, i32> {
    match start(listen, allow_remote, "--listen", db.to_path_buf(), live) {
        Ok(listening) => {
            say(&format!("API on http://{}", listening.addr()));
            Ok(listening)
        }
        Err(e) => {
            say(&crate::diag::with_sources(&e));
            Err(EXIT_FLOWFORGE_FAILED)
        }
    }
}

/// `flowforge serve`: serves until SIGTERM or SIGINT.
pub fn serve(args: ServeArgs) -> i32 {
    use signal_hook::consts::{SIGINT, SIGTERM};
    let mut signals = match signal_hook::iterator::Signals::new([SIGTERM, SIGINT]) {
        Ok(signals) => signals,
        Err(e) => {
            say(&format!("cannot watch for SIGTERM and SIGINT: {e}"));
            return EXIT_FLOWFORGE_FAILED;
        }
    };
    let db = evidence::resolve_db_path(args.db.as_deref());
    if let Err(e) = evidence::open(&db) {
        say(&crate::diag::with_sources(&e));
        return EXIT_FLOWFORGE_FAILED;
    }
    let listening = match start(args.listen, args.allow_remote, "--listen", db.clone(), None) {
        Ok(listening) => listening,
        Err(e) => {
            say(&crate::diag::with_sources(&e));
            return EXIT_FLOWFORGE_FAILED;
        }
    };
    let key_path = key::key_path()
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    match &args.dashboard {
        None => say(&format!(
            "serving {} on http://{} (key in {key_path}); Ctrl-C stops",
            db.display(),
            listening.addr()
        )),
        Some(dashboard) => {
            let url = match dashboard_url(&db, listening.addr(), dashboard.run) {
                Ok(url) => url,
                Err(why) => {
                    say(&why);
                    listening.shutdown();
                    return EXIT_FLOWFORGE_FAILED;
                }
            };
            // The one place the key is shown: in the fragment, which the browser keeps to
            // itself; the page moves it to sessionStorage and strips it from the address.
            crate::diag::stdout(format!("{url}\n").as_bytes());
            say(&format!("dashboard of {} is up; Ctrl-C stops it", db.display()));
            if dashboard.open {
                open_browser(&url);
            }
        }
    }
    let signal = signals.forever().next();
    log::info!(
        "api: {} received, shutting down",
        signal.map_or_else(String::new, flowforge_platform::kill::signal_name)
    );
    listening.shutdown();
    0
}

/// Whether a FlowForge server answers `/healthz` on [`DEFAULT_LISTEN`] within 200 ms.
pub fn dashboard_is_up() -> bool {
    use std::io::{Read, Write};
    let Ok(addr) = DEFAULT_LISTEN.parse::<SocketAddr>() else {
        return false;
    };
    let budget = std::time::Duration::from_millis(200);
    let Ok(mut stream) = std::net::TcpStream::connect_timeout(&addr, budget) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(budget));
    let _ = stream.set_write_timeout(Some(budget));
    let request = format!("GET /healthz HTTP/1.1\r\nHost: {DEFAULT_LISTEN}\r\nConnection: close\r\n\r\n");
    if stream.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let mut answer = [0u8; 512];
    let n = stream.read(&mut answer).unwrap_or(0);
    let text = String::from_utf8_lossy(&answer[..n]);
    text.starts_with("HTTP/1.1 200") && text.contains("\"ok\"")
}

/// `http://HOST:PORT/#key=KEY[&run=ID]` for the dashboard on `addr`.
fn dashboard_url(
    db: &std::path::Path,
    addr: SocketAddr,
    run: Option<evidence::RunRef>,
) -> Result<String, String> {
    let key = key::key_path()
        .and_then(|path| key::load_or_create(&path))
        .map_err(|e| crate::diag::with_sources(&e))?;
    let host = if addr.ip().is_unspecified() || addr.ip().is_loopback() {
        format!("127.0.0.1:{}", addr.port())
    } else {
        addr.to_string()
    };
    let mut url = format!("http://{host}/#key={}", key.as_str());
    if let Some(run) = run {
        let id = evidence::open(db)
            .and_then(|conn| evidence::report::resolve_run(&conn, run))
            .map_err(|e| format!("{}; see `flowforge runs`", crate::diag::with_sources(&e)))?;
        url.push_str(&format!("&run={}", id.0));
    }
    Ok(url)
}

/// Hands `url` to the desktop's opener, detached; a failure is one line, never fatal.
fn open_browser(url: &str) {
    let opener = if cfg!(target_os = "macos") {
        "open"
    } else {
        "xdg-open"
    };
    let launched = std::process::Command::new(opener)
        .arg(url)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn();
    match launched {
        // Reaped on its own thread: the opener usually exits at once, leaving the browser.
        Ok(mut child) => {
            std::thread::spawn(move || child.wait());
        }
        Err(e) => say(&format!(
            "cannot launch a browser ({opener}: {e}); open the address above by hand"
        )),
    }
}

/// `flowforge key [--rotate]`: prints the key file's path, creating or replacing the key.
pub fn key_command(rotate: bool) -> i32 {
    let result = key::key_path().and_then(|path| {
        if rotate {
            key::rotate(&path)?;
        } else {
            key::load_or_create(&path)?;
        }
        Ok(path)
    });
    match result {
        Ok(path) => {
            crate::diag::stdout(format!("{}\n", path.display()).as_bytes());
            0
        }
        Err(e) => {
            say(&crate::diag::with_sources(&e));
            EXIT_FLOWFORGE_FAILED
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_name_loopback_and_an_explicit_remote_address() {
        let local: SocketAddr = "127.0.0.1:7171".parse().expect("literal");
        assert_eq!(
            hosts_for(local, false),
            ["127.0.0.1:7171", "localhost:7171", "[::1]:7171"]
        );
        let remote: SocketAddr = "10.1.2.3:80".parse().expect("literal");
        assert_eq!(
            hosts_for(remote, true).last().map(String::as_str),
            Some("10.1.2.3:80")
        );
        let any: SocketAddr = "0.0.0.0:80".parse().expect("literal");
        assert_eq!(hosts_for(any, true).len(), 3);
    }
}
