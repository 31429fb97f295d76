//! The API key: one random secret in one private file, created on first use.
//!
//! The key is 32 bytes read from `/dev/urandom` (the kernel CSPRNG; std's `File` is all it
//! takes, no crate), written as 64 lowercase hex digits to `api.key` in `$FLOWFORGE_HOME`,
//! else in the XDG config directory (`$XDG_CONFIG_HOME/flowforge`, `~/.config/flowforge`;
//! `~/Library/Application Support/flowforge` on macOS). It is never read from anywhere
//! else — no environment variable, no flag — so it cannot leak through `ps`, a shell
//! history or a CI log. The file is created with `O_EXCL` and mode 0600 inside a 0700
//! directory; a key file that group or others can read is refused rather than used.
//!
//! `flowforge key --rotate` writes a new key to a temporary file and renames it over the
//! old one, so a reader sees the old key or the new one, never half of either. A running
//! server notices the rename (the file's inode changes) on its next request and uses the
//! new key from then on: revoking a leaked key does not need a restart.
//!
//! Comparison is constant-time over the full length, so response timing says nothing about
//! how many leading characters of a guess were right.

use std::ffi::OsString;
use std::fmt;
use std::fs::{self, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

const KEY_BYTES: usize = 32;
const FILE_NAME: &str = "api.key";

/// Why the key could not be had.
#[derive(Debug)]
pub enum KeyError {
    /// Neither FLOWFORGE_HOME, XDG_CONFIG_HOME nor HOME is set.
    NoHome,
    Io {
        what: &'static str,
        path: PathBuf,
        source: io::Error,
    },
    /// The file is readable by group or others.
    TooOpen { path: PathBuf, mode: u32 },
    /// The file does not hold 64 hex digits.
    Malformed { path: PathBuf },
}

impl fmt::Display for KeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyError::NoHome => write!(
                f,
                "no place for the API key: set FLOWFORGE_HOME (or XDG_CONFIG_HOME or HOME)"
            ),
            KeyError::Io { what, path, .. } => write!(f, "{what} {}", path.display()),
            KeyError::TooOpen { path, mode } => write!(
                f,
                "the API key {} has mode {mode:04o}; it must be readable by its owner only (chmod 600 it, or `flowforge key --rotate`)",
                path.display()
            ),
            KeyError::Malformed { path } => write!(
                f,
                "the API key {} is not 64 hex digits; replace it with `flowforge key --rotate`",
                path.display()
            ),
        }
    }
}

impl std::error::Error for KeyError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            KeyError::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

fn io_error<'p>(what: &'static str, path: &'p Path) -> impl FnOnce(io::Error) -> KeyError + 'p {
    move |source| KeyError::Io {
        what,
        path: path.to_path_buf(),
        source,
    }
}

/// Where the key file lives for this environment.
pub fn key_path() -> Result<PathBuf, KeyError> {
    key_path_with(|k| std::env::var_os(k), cfg!(target_os = "macos"))
}

fn key_path_with(env: impl Fn(&str) -> Option<OsString>, macos: bool) -> Result<PathBuf, KeyError> {
    let var = |key: &str| env(key).filter(|v| !v.is_empty()).map(PathBuf::from);
    if let Some(home) = var("FLOWFORGE_HOME") {
        return Ok(home.join(FILE_NAME));
    }
    if let Some(config) = var("XDG_CONFIG_HOME").filter(|p| p.is_absolute()) {
        return Ok(config.join("flowforge").join(FILE_NAME));
    }
    let home = var("HOME").ok_or(KeyError::NoHome)?;
    let base = if macos {
        home.join("Library").join("Application Support")
    } else {
        home.join(".config")
    };
    Ok(base.join("flowforge").join(FILE_NAME))
}

/// The key, as the 64 hex digits a client sends.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(..)")
    }
}

impl ApiKey {
    /// Constant-time comparison with what a client sent.
    pub fn matches(&self, presented: &[u8]) -> bool {
        constant_time_eq(self.0.as_bytes(), presented)
    }

    /// The key itself: for `flowforge dashboard`'s address (in its fragment) only.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Compares every byte of the longer input whatever the others hold, so the time taken
/// depends on the lengths only.
pub fn constant_time_eq(expected: &[u8], presented: &[u8]) -> bool {
    let mut diff = u8::from(expected.len() != presented.len());
    for i in 0..expected.len().max(presented.len()) {
        let a = expected.get(i).copied().unwrap_or(0);
        let b = presented.get(i).copied().unwrap_or(0xff);
        diff |= a ^ b;
    }
    diff == 0
}

/// Reads the key at `path`, creating it first if there is none.
pub fn load_or_create(path: &Path) -> Result<ApiKey, KeyError> {
    match read_key(path) {
        Err(KeyError::Io { source, .. }) if source.kind() == io::ErrorKind::NotFound => {
            match write_new(path, false) {
                Ok(key) => Ok(key),
                // Another FlowForge created it between our read and our create.
                Err(KeyError::Io { source, .. }) if source.kind() == io::ErrorKind::AlreadyExists => {
                    read_key(path)
                }
                Err(e) => Err(e),
            }
        }
        other => other,
    }
}

/// Replaces the key with a fresh one (atomically, by rename).
pub fn rotate(path: &Path) -> Result<ApiKey, KeyError> {
    write_new(path, true)
}

fn read_key(path: &Path) -> Result<ApiKey, KeyError> {
    let mut file = fs::File::open(path).map_err(io_error("cannot open the API key", path))?;
    let meta = file
        .metadata()
        .map_err(io_error("cannot stat the API key", path))?;
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(KeyError::TooOpen {
            path: path.to_path_buf(),
            mode,
        });
    }
    let mut text = String::new();
    Read::by_ref(&mut file)
        .take(256)
        .read_to_string(&mut text)
        .map_err(io_error("cannot read the API key", path))?;
    let text = text.trim();
    if text.len() != KEY_BYTES * 2 || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(KeyError::Malformed {
            path: path.to_path_buf(),
        });
    }
    Ok(ApiKey(text.to_ascii_lowercase()))
}

fn random_hex() -> io::Result<String> {
    let mut bytes = [0u8; KEY_BYTES];
    fs::File::open("/dev/urandom")?.read_exact(&mut bytes)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

fn write_new(path: &Path, replace: bool) -> Result<ApiKey, KeyError> {
    if let Some(dir) = path.parent() {
        crate::evidence::location::create_private_dir(dir)
            .map_err(io_error("cannot create the directory of the API key", dir))?;
    }
    let hex = random_hex().map_err(io_error(
        "cannot read random bytes for the API key from",
        Path::new("/dev/urandom"),
    ))?;
    let target = if replace {
        path.with_extension(format!("key.new-{}", std::process::id()))
    } else {
        path.to_path_buf()
    };
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&target)
        .map_err(io_error("cannot create the API key", &target))?;
    let written = file
        .set_permissions(fs::Permissions::from_mode(0o600))
        .and_then(|()| file.write_all(format!("{hex}\n").as_bytes()))
        .and_then(|()| file.sync_all());
    if let Err(source) = written {
        let _ = fs::remove_file(&target);
        return Err(KeyError::Io {
            what: "cannot write the API key",
            path: target,
            source,
        });
    }
    if replace {
        fs::rename(&target, path).map_err(|source| {
            let _ = fs::remove_file(&target);
            KeyError::Io {
                what: "cannot replace the API key",
                path: path.to_path_buf(),
                source,
            }
        })?;
    }
    Ok(ApiKey(hex))
}

/// The key a server checks requests against, re-read when the file is replaced.
pub struct KeyStore {
    path: PathBuf,
    current: Mutex<(u64, ApiKey)>,
}

impl KeyStore {
    pub fn open(path: PathBuf) -> Result<KeyStore, KeyError> {
        let key = load_or_create(&path)?;
        let inode = fs::metadata(&path).map(|m| m.ino()).unwrap_or(0);
        Ok(KeyStore {
            path,
            current: Mutex::new((inode, key)),
        })
    }

    /// Whether `presented` is the current key. A rotated file (new inode) is read again;
    /// a file that became unreadable or was deleted keeps the last good key.
    pub fn matches(&self, presented: &[u8]) -> bool {
        let mut current = self
            .current
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Ok(meta) = fs::metadata(&self.path) {
            if meta.ino() != current.0 {
                match read_key(&self.path) {
                    Ok(key) => *current = (meta.ino(), key),
                    Err(e) => log::warn!("keeping the previous API key: {e}"),
                }
            }
        }
        current.1.matches(presented)
    }

    #[cfg(test)]
    pub fn current(&self) -> ApiKey {
        self.current.lock().expect("not poisoned in tests").1.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evidence::testutil::TempDir;
    use std::collections::HashMap;

    fn path(vars: &[(&str, &str)], macos: bool) -> Option<PathBuf> {
        let env: HashMap<String, OsString> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), OsString::from(v)))
            .collect();
        key_path_with(|k| env.get(k).cloned(), macos).ok()
    }

    #[test]
    fn location_prefers_flowforge_home_then_xdg_config() {
        let all = [
            ("FLOWFORGE_HOME", "/b"),
            ("XDG_CONFIG_HOME", "/c"),
            ("HOME", "/h"),
        ];
        assert_eq!(path(&all, false), Some(PathBuf::from("/b/api.key")));
        assert_eq!(
            path(&all[1..], false),
            Some(PathBuf::from("/c/flowforge/api.key"))
        );
        assert_eq!(
            path(&all[2..], false),
            Some(PathBuf::from("/h/.config/flowforge/api.key"))
        );
        assert_eq!(
            path(&all[2..], true),
            Some(PathBuf::from("/h/Library/Application Support/flowforge/api.key"))
        );
        assert_eq!(path(&[("XDG_CONFIG_HOME", "rel")], false), None);
    }

    #[test]
    fn constant_time_eq_is_exact() {
        assert!(constant_time_eq(b"abcd", b"abcd"));
        assert!(!constant_time_eq(b"abcd", b"abce"));
        assert!(!constant_time_eq(b"abcd", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abcd"));
        assert!(!constant_time_eq(b"", b"\xff"));
        assert!(constant_time_eq(b"", b""));
    }

    #[test]
    fn created_private_then_reused_then_rotated() {
        let tmp = TempDir::new("key");
        let path = tmp.path().join("home/api.key");
        let key = load_or_create(&path).expect("create");
        assert_eq!(key.as_str().len(), 64);
        assert_eq!(
            fs::metadata(&path).expect("stat").permissions().mode() & 0o777,
            0o600
        );
        assert_eq!(load_or_create(&path).expect("reuse"), key);
        let store = KeyStore::open(path.clone()).expect("store");
        assert!(store.matches(key.as_str().as_bytes()));
        let rotated = rotate(&path).expect("rotate");
        assert_ne!(rotated, key);
        assert!(!store.matches(key.as_str().as_bytes()), "old key revoked");
        assert!(store.matches(rotated.as_str().as_bytes()));
        assert_eq!(store.current(), rotated);
    }

    #[test]
    fn a_readable_key_file_is_refused() {
        let tmp = TempDir::new("keyopen");
        let path = tmp.path().join("api.key");
        load_or_create(&path).expect("create");
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).expect("chmod");
        assert!(matches!(load_or_create(&path), Err(KeyError::TooOpen { .. })));
        fs::write(&path, "short\n").expect("write");
        fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).expect("chmod");
        assert!(matches!(load_or_create(&path), Err(KeyError::Malformed { .. })));
    }
}
