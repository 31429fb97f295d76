//! Where the evidence database lives, and opening it safely.
//!
//! Resolution follows the usual precedence for per-user state: an explicit `--db PATH`,
//! then `$FLOWFORGE_DB`, then `$FLOWFORGE_HOME/flowforge.db`, then the XDG state directory
//! (`$XDG_STATE_HOME/flowforge/flowforge.db`), then `~/.local/state/flowforge/flowforge.db`
//! (on macOS `~/Library/Application Support/flowforge/flowforge.db`). Empty variables count
//! as unset, and a relative `XDG_STATE_HOME` is ignored as the XDG spec asks. The rule is a
//! pure function of the flag and an environment lookup so it is tested without touching
//! the process environment.
//!
//! The file records command lines and output statistics of the user's jobs, so it is
//! private: directories we create are 0700 and the file is created 0600 (and chmod-ed to
//! exactly that, whatever the umask). SQLite creates the `-wal` and `-shm` files with the
//! database file's mode, so they inherit it.
//!
//! SQLite opens almost anything without complaint and fails later, on the first statement,
//! with a code that means little to a user. So before handing the path to SQLite we check
//! what is there: a directory, an unreadable file, or a file that does not start with the
//! SQLite header each get their own error naming the file and the fix.

use super::error::EvidenceError;
use super::migrate;
use rusqlite::{Connection, OpenFlags};
use std::ffi::OsString;
use std::fs::{self, DirBuilder, OpenOptions};
use std::io;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// How long a connection waits for another writer before failing with SQLITE_BUSY, for
/// opening, migrating and the CLI's queries. The writer thread uses a shorter one.
pub(crate) const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Caps the `-wal` file left behind after a checkpoint; without it the file keeps its
/// high-water size.
const JOURNAL_SIZE_LIMIT: i64 = 4 * 1024 * 1024;

/// WAL pages after which a commit checkpoints them into the database file (SQLite's
/// default is 1000); small because every open of a run reads the whole WAL to rebuild its
/// index, the last connection having closed without a checkpoint.
const WAL_AUTOCHECKPOINT_PAGES: i64 = 100;

/// `PRAGMA auto_vacuum` answers 0 (none), 1 (full) or 2 (incremental).
const AUTO_VACUUM_INCREMENTAL: i64 = 2;
const FILE_NAME: &str = "flowforge.db";

/// The database path for this invocation; see the module documentation for the order.
pub fn resolve_db_path(db_flag: Option<&Path>) -> PathBuf {
    resolve_with(db_flag, |key| std::env::var_os(key), cfg!(target_os = "macos"))
}

fn resolve_with(db_flag: Option<&Path>, env: impl Fn(&str) -> Option<OsString>, macos: bool) -> PathBuf {
    let var = |key: &str| env(key).filter(|v| !v.is_empty()).map(PathBuf::from);
    if let Some(path) = db_flag {
        return path.to_path_buf();
    }
    if let Some(path) = var("FLOWFORGE_DB") {
        return path;
    }
    if let Some(home) = var("FLOWFORGE_HOME") {
        return home.join(FILE_NAME);
    }
    if let Some(state) = var("XDG_STATE_HOME").filter(|p| p.is_absolute()) {
        return state.join("flowforge").join(FILE_NAME);
    }
    // Without HOME there is no per-user place; the current directory is at least visible.
    let home = var("HOME").unwrap_or_default();
    let base = if macos {
        home.join("Library").join("Application Support")
    } else {
        home.join(".local").join("state")
    };
    base.join("flowforge").join(FILE_NAME)
}

/// Opens (creating if needed) the database at `path`, configures the connection and brings
/// the schema up to date. Every CLI command and the recorder go through here.
pub fn open(path: &Path) -> Result<Connection, EvidenceError> {
    prepare_file(path)?;
    connect(path, OpenFlags::SQLITE_OPEN_CREATE)
}

/// Opens another connection to a store that exists, without creating it. Like [`open`],
/// it never opens the database file through std: closing any descriptor of that file
/// releases every POSIX lock this process holds on it (fcntl semantics), including the
/// shared locks of its other SQLite connections; another process closing its connection
/// would then believe it is the last one, checkpoint and delete the `-wal` and `-shm`
/// files under ours. So a file that is not a database is recognised by SQLite itself
/// (`SQLITE_NOTADB` on the first read), not by reading its header.
pub fn open_existing(path: &Path) -> Result<Connection, EvidenceError> {
    connect(path, OpenFlags::empty())
}

/// The connection both opens share: read-write (plus `extra`), busy timeout, a newer file
/// refused before any pragma can change it, configured, migrated.
fn connect(path: &Path, extra: OpenFlags) -> Result<Connection, EvidenceError> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX | extra;
    let conn =
        Connection::open_with_flags(path, flags).map_err(|e| EvidenceError::classify(path, "opening", e))?;
    conn.busy_timeout(BUSY_TIMEOUT)
        .map_err(|e| EvidenceError::classify(path, "setting busy_timeout", e))?;
    let version = migrate::refuse_newer(&conn, path)?;
    configure(&conn, path, version)?;
    migrate::migrate(&conn, path, version)?;
    Ok(conn)
}

/// Makes sure `path` is either absent-and-now-created with private permissions, or an
/// existing file that is not a directory; whether it is a database, SQLite says at the
/// first read (see [`open_existing`] for why not by reading its header here).
fn prepare_file(path: &Path) -> Result<(), EvidenceError> {
    match fs::metadata(path) {
        Ok(meta) if meta.is_dir() => Err(EvidenceError::IsDirectory {
            path: path.to_path_buf(),
        }),
        Ok(_) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::PermissionDenied => Err(EvidenceError::Unreadable {
            path: path.to_path_buf(),
            source: e,
        }),
        // Absent, or a path through a non-directory: creating it reports the real problem.
        Err(_) => create_private(path),
    }
}

/// Creates `dir` and its missing parents, private to the user (0700), unless it exists. The
/// one way FlowForge makes a directory for its state: the store, the API key, the control
/// sockets.
pub fn create_private_dir(dir: &Path) -> io::Result<()> {
    if dir.as_os_str().is_empty() || dir.is_dir() {
        return Ok(());
    }
    DirBuilder::new().recursive(true).mode(0o700).create(dir)
}

fn create_private(path: &Path) -> Result<(), EvidenceError> {
    if let Some(dir) = path.parent() {
        create_private_dir(dir).map_err(|source| EvidenceError::CreateDir {
            path: path.to_path_buf(),
            dir: dir.to_path_buf(),
            source,
        })?;
    }
    let created = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path);
    match created {
        Ok(file) => file
            .set_permissions(fs::Permissions::from_mode(0o600))
            .map_err(|source| EvidenceError::CreateFile {
                path: path.to_path_buf(),
                source,
            }),
        // Another FlowForge created it between our stat and our open: use theirs.
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(()),
        Err(source) => Err(EvidenceError::CreateFile {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// WAL lets the CLI read while a run writes; NORMAL sync is safe under WAL (a power cut can
/// lose the last commits, never corrupt the file); incremental auto-vacuum lets `prune`
/// give pages back without a full VACUUM.
///
/// Every open of a run pays for what happens here, so nothing here writes to an existing
/// database, and a store FlowForge made (in WAL mode, schema `version` > 0) costs one batch
/// of connection settings and one read of the journal mode: each pragma is SQL to parse.
/// The settings come first: `synchronous` is a setting of this connection, and until it is
/// set any write runs under SQLite's default FULL, which fsyncs the WAL (and, on the first
/// sync of a connection, its directory) at every commit. `auto_vacuum` only takes effect on
/// a database with no tables yet, so it is read (and set when it differs: setting it, even
/// to its current value, is a write transaction on page 1) only before the first migration.
fn configure(conn: &Connection, path: &Path, version: i64) -> Result<(), EvidenceError> {
    let fail = |what| move |e| EvidenceError::classify(path, what, e);
    conn.execute_batch(&format!(
        "PRAGMA synchronous = NORMAL; PRAGMA journal_size_limit = {JOURNAL_SIZE_LIMIT}; \
         PRAGMA wal_autocheckpoint = {WAL_AUTOCHECKPOINT_PAGES};"
    ))
    .map_err(fail("setting pragmas"))?;
    conn.set_db_config(rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_FKEY, true)
        .map_err(fail("enabling foreign keys"))?;
    let current: String = conn
        .query_row("PRAGMA journal_mode", [], |row| row.get(0))
        .map_err(fail("reading journal_mode"))?;
    let wal = current.eq_ignore_ascii_case("wal");
    // A file FlowForge did not create (not yet in WAL mode, not empty) is checked before
    // anything below writes to it, so a damaged one is refused untouched. Files FlowForge
    // created are in WAL mode already and skip the scan.
    if !wal {
        let pages: i64 = conn
            .query_row("PRAGMA page_count", [], |row| row.get(0))
            .map_err(fail("reading page_count"))?;
        if pages > 0 {
            let verdict: String = conn
                .query_row("PRAGMA quick_check(1)", [], |row| row.get(0))
                .map_err(fail("checking the database"))?;
            if verdict != "ok" {
                return Err(EvidenceError::NotADatabase {
                    path: path.to_path_buf(),
                    source: None,
                });
            }
        }
    }
    if version == 0 {
        let auto_vacuum: i64 = conn
            .query_row("PRAGMA auto_vacuum", [], |row| row.get(0))
            .map_err(fail("reading auto_vacuum"))?;
        if auto_vacuum != AUTO_VACUUM_INCREMENTAL {
            conn.execute_batch("PRAGMA auto_vacuum = INCREMENTAL;")
                .map_err(fail("setting auto_vacuum"))?;
        }
    }
    let mode = if wal { current } else { switch_to_wal(conn, path)? };
    if !mode.eq_ignore_ascii_case("wal") {
        log::debug!(
            "evidence database {} stays in {mode} journal mode",
            path.display()
        );
    }
    // Closing the last connection would checkpoint the WAL into the main file and fsync
    // both: milliseconds to tens of milliseconds at the end of every run. The WAL is instead
    // checkpointed by SQLite's auto-checkpoint, after a commit that leaves it longer than
    // WAL_AUTOCHECKPOINT_PAGES, on a writer thread (a recorder defers it past its last
    // commit, which `finish` waits for); a reader sees committed rows in the WAL either way.
    // The price is that the next open rebuilds the WAL index from the file, which is why
    // the threshold is small.
    conn.set_db_config(rusqlite::config::DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, true)
        .map_err(fail("disabling the checkpoint on close"))?;
    Ok(())
}

/// `PRAGMA journal_mode = WAL` on a file not yet in WAL mode. The switch needs the file to
/// itself, and SQLite answers BUSY at once, without its busy handler, while another
/// connection has it open: the case of several runs starting together on a new store,
/// where the first one switches and the others would have run without evidence. Retried
/// until it succeeds (or another connection switched the file) or [`BUSY_TIMEOUT`] passes.
fn switch_to_wal(conn: &Connection, path: &Path) -> Result<String, EvidenceError> {
    let deadline = Instant::now() + BUSY_TIMEOUT;
    loop {
        match conn.query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0)) {
            Ok(mode) => return Ok(mode),
            Err(e)
                if e.sqlite_error_code() == Some(rusqlite::ErrorCode::DatabaseBusy)
                    && Instant::now() < deadline =>
            {
                std::thread::sleep(WAL_SWITCH_RETRY);
            }
            Err(e) => return Err(EvidenceError::classify(path, "setting journal_mode", e)),
        }
    }
}

/// The pause between two attempts of [`switch_to_wal`].
const WAL_SWITCH_RETRY: Duration = Duration::from_millis(2);

#[cfg(test)]
mod tests {
    use super::*;

    /// The first 16 bytes of every SQLite database file.
    const SQLITE_HEADER: &[u8; 16] = b"SQLite format 3\0";
    use crate::evidence::testutil::TempDir;
    use std::collections::HashMap;

    fn resolve(flag: Option<&str>, vars: &[(&str, &str)], macos: bool) -> PathBuf {
        let env: HashMap<String, OsString> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), OsString::from(v)))
            .collect();
        resolve_with(flag.map(Path::new), |k| env.get(k).cloned(), macos)
    }

    #[test]
    fn precedence_flag_env_home_xdg_default() {
        let all = [
            ("FLOWFORGE_DB", "/a/x.db"),
            ("FLOWFORGE_HOME", "/b"),
            ("XDG_STATE_HOME", "/c"),
            ("HOME", "/home/u"),
        ];
        assert_eq!(resolve(Some("/f.db"), &all, false), PathBuf::from("/f.db"));
        assert_eq!(resolve(None, &all, false), PathBuf::from("/a/x.db"));
        assert_eq!(resolve(None, &all[1..], false), PathBuf::from("/b/flowforge.db"));
        assert_eq!(
            resolve(None, &all[2..], false),
            PathBuf::from("/c/flowforge/flowforge.db")
        );
        assert_eq!(
            resolve(None, &all[3..], false),
            PathBuf::from("/home/u/.local/state/flowforge/flowforge.db")
        );
        assert_eq!(
            resolve(None, &all[3..], true),
            PathBuf::from("/home/u/Library/Application Support/flowforge/flowforge.db")
        );
    }

    #[test]
    fn empty_and_relative_variables_are_ignored() {
        let vars = [
            ("FLOWFORGE_DB", ""),
            ("FLOWFORGE_HOME", ""),
            ("XDG_STATE_HOME", "relative/state"),
            ("HOME", "/home/u"),
        ];
        assert_eq!(
            resolve(None, &vars, false),
            PathBuf::from("/home/u/.local/state/flowforge/flowforge.db")
        );
    }

    #[test]
    fn creates_private_directories_and_file() {
        let tmp = TempDir::new("perms");
        let path = tmp.path().join("state/flowforge/flowforge.db");
        let conn = open(&path).expect("open fresh path");
        conn.execute_batch("CREATE TABLE t (x); INSERT INTO t VALUES (1);")
            .expect("write something so the WAL exists");
        let mode = |p: &Path| fs::metadata(p).expect("stat").permissions().mode() & 0o777;
        assert_eq!(mode(&tmp.path().join("state")), 0o700);
        assert_eq!(mode(&tmp.path().join("state/flowforge")), 0o700);
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(&path.with_extension("db-wal")), 0o600);
        let journal: String = conn
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .expect("journal_mode");
        assert_eq!(journal, "wal");
    }

    #[test]
    fn directory_is_refused_with_the_fix() {
        let tmp = TempDir::new("isdir");
        let err = open(tmp.path()).expect_err("a directory is not a database");
        assert!(matches!(err, EvidenceError::IsDirectory { .. }), "{err:?}");
        let text = err.to_string();
        assert!(text.contains(&tmp.path().display().to_string()), "{text}");
        assert!(
            text.contains("use --db elsewhere or move the file away"),
            "{text}"
        );
    }

    #[test]
    fn garbage_file_is_refused_with_the_fix() {
        let tmp = TempDir::new("garbage");
        let path = tmp.db();
        let garbage: Vec<u8> = (0..4096u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        fs::write(&path, &garbage).expect("write garbage");
        let err = open(&path).expect_err("garbage is not a database");
        assert!(matches!(err, EvidenceError::NotADatabase { .. }), "{err:?}");
        let text = err.to_string();
        assert!(text.contains(&path.display().to_string()), "{text}");
        assert!(
            text.contains("use --db elsewhere or move the file away"),
            "{text}"
        );
        assert_eq!(
            fs::read(&path).expect("read back"),
            garbage,
            "file left untouched"
        );
    }

    #[test]
    fn damaged_file_with_a_valid_header_is_refused() {
        let tmp = TempDir::new("damaged");
        let path = tmp.db();
        let mut bytes = SQLITE_HEADER.to_vec();
        bytes.extend((0..4080u32).map(|i| (i * 7 + 3) as u8));
        fs::write(&path, &bytes).expect("write damaged db");
        let err = open(&path).expect_err("damaged file");
        assert!(matches!(err, EvidenceError::NotADatabase { .. }), "{err:?}");
    }

    #[test]
    fn unwritable_location_is_an_error() {
        let tmp = TempDir::new("unwritable");
        // A regular file where a directory should be: fails even for root.
        let blocker = tmp.path().join("not-a-dir");
        fs::write(&blocker, b"x").expect("write blocker");
        let err = open(&blocker.join("flowforge/flowforge.db")).expect_err("cannot create");
        assert!(matches!(err, EvidenceError::CreateDir { .. }), "{err:?}");
        assert!(err.to_string().contains("not-a-dir"), "{err}");

        // A read-only directory: only meaningful when we are not root.
        let ro = tmp.path().join("ro");
        fs::create_dir(&ro).expect("mkdir ro");
        fs::set_permissions(&ro, fs::Permissions::from_mode(0o500)).expect("chmod ro");
        if fs::write(ro.join("probe"), b"").is_err() {
            let err = open(&ro.join("flowforge.db")).expect_err("read-only dir");
            assert!(matches!(err, EvidenceError::CreateFile { .. }), "{err:?}");
        }
        fs::set_permissions(&ro, fs::Permissions::from_mode(0o700)).expect("chmod back");
    }

    #[test]
    fn reopening_keeps_the_data() {
        let tmp = TempDir::new("reopen");
        let path = tmp.db();
        drop(open(&path).expect("first open"));
        let conn = open(&path).expect("second open");
        let version: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .expect("user_version");
        assert_eq!(version, migrate::LATEST);
    }

    /// The connection settings every open makes, on a new store and on an existing one
    /// (where `configure` reads nothing it does not need): WAL, NORMAL sync, foreign keys
    /// enforced, the auto-checkpoint threshold, incremental auto-vacuum from the start.
    #[test]
    fn every_open_has_the_same_settings() {
        let tmp = TempDir::new("settings");
        let path = tmp.db();
        for open_number in 1..=2 {
            let conn = open(&path).expect("open");
            let pragma = |name: &str| -> String {
                conn.query_row(&format!("PRAGMA {name}"), [], |r| {
                    r.get::<_, rusqlite::types::Value>(0)
                })
                .map(|v| match v {
                    rusqlite::types::Value::Integer(i) => i.to_string(),
                    rusqlite::types::Value::Text(t) => t,
                    other => format!("{other:?}"),
                })
                .expect(name)
            };
            assert_eq!(pragma("journal_mode"), "wal", "open {open_number}");
            assert_eq!(pragma("synchronous"), "1", "NORMAL, open {open_number}");
            assert_eq!(pragma("foreign_keys"), "1", "open {open_number}");
            assert_eq!(pragma("wal_autocheckpoint"), WAL_AUTOCHECKPOINT_PAGES.to_string());
            assert_eq!(pragma("journal_size_limit"), JOURNAL_SIZE_LIMIT.to_string());
            assert_eq!(pragma("auto_vacuum"), AUTO_VACUUM_INCREMENTAL.to_string());
            let orphan = conn.execute(
                "INSERT INTO events (run_id, at_ms, category, kind, actor, message) VALUES (999999, 0, 'lifecycle', 'x', 'supervisor', 'x')",
                [],
            );
            assert!(
                orphan.is_err(),
                "an event of no run is refused (open {open_number})"
            );
        }
    }

    /// Regression: `open` checked the header through a std `File`, and closing it released
    /// every POSIX lock this process held on the database (fcntl semantics), so a second
    /// open in one process (the recorder beside `run --listen`'s API) left the first
    /// connection unprotected: another process closing its connection believed it was the
    /// last one, checkpointed and deleted the WAL under it.
    #[test]
    fn a_second_open_keeps_the_locks_of_the_first() {
        let tmp = TempDir::new("locks");
        let path = tmp.db();
        let first = open(&path).expect("first open");
        first
            .execute_batch("INSERT INTO runs (argv, cwd, started_at_ms, mode, flowforge_version) VALUES ('[]', '/', 0, 'kill', 't')")
            .expect("a row in the WAL");
        let second = open(&path).expect("second open");
        let reader = "import sqlite3, sys\nc = sqlite3.connect(sys.argv[1])\nc.execute('SELECT count(*) FROM runs').fetchall()\nc.close()";
        let status = std::process::Command::new("python3")
            .args(["-c", reader])
            .arg(&path)
            .status()
            .expect("python3 runs");
        assert!(status.success());
        assert!(
            path.with_extension("db-wal").exists(),
            "another process's close took the WAL away from this one"
        );
        drop((first, second));
    }
}
