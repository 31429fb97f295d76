//! The process tree below a root: who the descendants are, and what each one costs.
//!
//! Linux: descendants come from `/proc/<pid>/task/<tid>/children` (every thread's list,
//! since a child belongs to the thread that forked it), walked breadth-first from the root;
//! when the kernel lacks that file (CONFIG_PROC_CHILDREN off) we fall back to one scan of
//! every `/proc/<pid>/stat` and follow parent links. The walk costs a few reads per process,
//! which keeps an idle supervisor far below 0.1 % of a core. Per-process CPU (utime, stime
//! and the reaped-children totals cutime/cstime, in clock ticks) and RSS come from
//! `/proc/<pid>/stat`, parsed by the pure [`parse_stat`].
//!
//! A [`TreeReader`] reads the same tree again and again (the sampler, once a second): on
//! Linux it keeps each process's `stat` and `children` files open and reads them again from
//! offset 0, two reads per process instead of two opens, two closes, a `statx` and four
//! reads. An open procfs file belongs to the process it was opened for: once that process
//! is reaped, reading it fails (ESRCH), even when its pid has been given to a new process,
//! so a kept file can never report someone else.
//!
//! macOS: `proc_listchildpids` and `proc_pidinfo(PROC_PIDTASKINFO)` from libproc give the
//! same facts (CPU in nanoseconds, converted to ticks of 10 ms).

use std::io;

/// What one process costs and where it sits, as read at one instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProcStat {
    pub pid: i32,
    pub ppid: i32,
    pub pgrp: i32,
    pub session: i32,
    pub state: u8,
    /// User + system CPU of the process itself, in clock ticks.
    pub own_ticks: u64,
    /// User + system CPU of its reaped children, in clock ticks.
    pub children_ticks: u64,
    /// Start time since boot, in clock ticks: with the pid, identifies the process.
    pub start_time: u64,
    pub rss_pages: u64,
    /// Threads in the process; a child belongs to the thread that forked it.
    pub threads: u32,
}

/// Parses the contents of `/proc/<pid>/stat` (proc(5)). The command name may contain spaces
/// and parentheses, so fields are counted from the last `)`.
pub fn parse_stat(text: &[u8]) -> Option<ProcStat> {
    let open = text.iter().position(|&b| b == b'(')?;
    let close = text.iter().rposition(|&b| b == b')')?;
    let pid: i32 = std::str::from_utf8(&text[..open]).ok()?.trim().parse().ok()?;
    let rest = std::str::from_utf8(text.get(close + 1..)?).ok()?;
    let fields: Vec<&str> = rest.split_ascii_whitespace().collect();
    // Field numbers in proc(5) minus 3: state is field 3.
    let num = |field: usize| -> Option<u64> { fields.get(field - 3)?.parse().ok() };
    let signed = |field: usize| -> Option<i32> { fields.get(field - 3)?.parse().ok() };
    Some(ProcStat {
        pid,
        state: *fields.first()?.as_bytes().first()?,
        ppid: signed(4)?,
        pgrp: signed(5)?,
        session: signed(6)?,
        own_ticks: num(14)? + num(15)?,
        children_ticks: num(16)? + num(17)?,
        start_time: num(22)?,
        rss_pages: num(24)?,
        threads: u32::try_from(num(20)?).unwrap_or(u32::MAX),
    })
}

/// Clock ticks per second (sysconf(_SC_CLK_TCK)), usually 100.
pub fn clock_ticks_per_second() -> u64 {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: sysconf takes an integer name.
        let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
        if ticks > 0 {
            ticks as u64
        } else {
            100
        }
    }
    #[cfg(not(target_os = "linux"))]
    {
        100
    }
}

/// The memory page size in bytes.
pub fn page_size() -> u64 {
    // SAFETY: sysconf takes an integer name.
    let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if size > 0 {
        size as u64
    } else {
        4096
    }
}

/// Every descendant of `root` (children, grandchildren, ...), not `root` itself. A process
/// that exits during the walk is simply missing; callers that must see an empty tree repeat
/// the walk.
pub fn descendants(root: i32) -> Vec<i32> {
    let mut found = Vec::new();
    let mut frontier = vec![root];
    while let Some(pid) = frontier.pop() {
        match children(pid) {
            Ok(kids) => {
                for kid in kids {
                    if kid != root && !found.contains(&kid) {
                        found.push(kid);
                        frontier.push(kid);
                    }
                }
            }
            Err(_) if pid == root => return descendants_by_scan(root),
            Err(_) => {}
        }
    }
    found
}

/// The direct children of `pid`.
#[cfg(target_os = "linux")]
pub fn children(pid: i32) -> io::Result<Vec<i32>> {
    use std::os::unix::fs::MetadataExt;
    let tasks = format!("/proc/{pid}/task");
    // procfs gives a process's task directory 2 + (number of threads) links: for the usual
    // single-threaded process, its one children file is read without listing the directory
    // (one statx instead of five calls, at every sample of an idle run).
    let paths: Vec<std::path::PathBuf> = match std::fs::metadata(&tasks)?.nlink() {
        3 => vec![format!("{tasks}/{pid}/children").into()],
        _ => std::fs::read_dir(&tasks)?
            .map(|task| task.map(|task| task.path().join("children")))
            .collect::<io::Result<_>>()?,
    };
    let mut kids = Vec::new();
    for path in paths {
        match read_proc(&path.to_string_lossy()) {
            Ok(text) => kids.extend(parse_pids(&text)),
            Err(e) if e.kind() == io::ErrorKind::NotFound && !path.parent().is_some_and(|p| p.exists()) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(kids)
}

/// Fallback walk: read every process's parent once, then follow links down from `root`.
#[cfg(target_os = "linux")]
fn descendants_by_scan(root: i32) -> Vec<i32> {
    let mut parents = Vec::new();
    if let Ok(entries) = std::fs::read_dir("/proc") {
        for entry in entries.flatten() {
            let Some(pid) = entry.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else {
                continue;
            };
            if let Ok(stat) = read_stat(pid) {
                parents.push((pid, stat.ppid));
            }
        }
    }
    let mut found = Vec::new();
    let mut frontier = vec![root];
    while let Some(parent) = frontier.pop() {
        for &(pid, ppid) in &parents {
            if ppid == parent && pid != root && !found.contains(&pid) {
                found.push(pid);
                frontier.push(pid);
            }
        }
    }
    found
}

/// Reads a small /proc file with plain read(2)s. `fs::read` first asks statx for a size,
/// which /proc files do not have: one wasted syscall per file, per process, per tick.
#[cfg(target_os = "linux")]
fn read_proc(path: &str) -> io::Result<Vec<u8>> {
    use std::io::Read;
    let mut file = std::fs::File::open(path)?;
    let mut out = Vec::with_capacity(512);
    let mut chunk = [0u8; 512];
    loop {
        match file.read(&mut chunk) {
            Ok(0) => return Ok(out),
            Ok(n) => out.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

/// Reads and parses `/proc/<pid>/stat`.
#[cfg(target_os = "linux")]
pub fn read_stat(pid: i32) -> io::Result<ProcStat> {
    let text = read_proc(&format!("/proc/{pid}/stat"))?;
    parse_stat(&text).ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("unparseable /proc/{pid}/stat"),
        )
    })
}

#[cfg(target_os = "macos")]
pub fn children(pid: i32) -> io::Result<Vec<i32>> {
    let mut buf = vec![0 as libc::pid_t; 256];
    loop {
        let bytes = (buf.len() * std::mem::size_of::<libc::pid_t>()) as libc::c_int;
        // SAFETY: `buf` is valid writable memory of `bytes` bytes.
        let n = unsafe { libc::proc_listchildpids(pid, buf.as_mut_ptr().cast(), bytes) };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        let count = n as usize;
        if count < buf.len() {
            buf.truncate(count);
            return Ok(buf.into_iter().filter(|&p| p > 0).collect());
        }
        buf.resize(buf.len() * 2, 0);
    }
}

#[cfg(target_os = "macos")]
fn descendants_by_scan(_root: i32) -> Vec<i32> {
    Vec::new()
}

#[cfg(target_os = "macos")]
pub fn read_stat(pid: i32) -> io::Result<ProcStat> {
    let mut info = std::mem::MaybeUninit::<libc::proc_taskinfo>::uninit();
    let size = std::mem::size_of::<libc::proc_taskinfo>() as libc::c_int;
    // SAFETY: `info` is valid writable memory of `size` bytes.
    let n = unsafe { libc::proc_pidinfo(pid, libc::PROC_PIDTASKINFO, 0, info.as_mut_ptr().cast(), size) };
    if n != size {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: proc_pidinfo filled all `size` bytes.
    let info = unsafe { info.assume_init() };
    let mut bsd = std::mem::MaybeUninit::<libc::proc_bsdinfo>::uninit();
    let bsd_size = std::mem::size_of::<libc::proc_bsdinfo>() as libc::c_int;
    // SAFETY: `bsd` is valid writable memory of `bsd_size` bytes.
    let n = unsafe { libc::proc_pidinfo(pid, libc::PROC_PIDTBSDINFO, 0, bsd.as_mut_ptr().cast(), bsd_size) };
    if n != bsd_size {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: proc_pidinfo filled all `bsd_size` bytes.
    let bsd = unsafe { bsd.assume_init() };
    let ns_per_tick = 10_000_000u64;
    Ok(ProcStat {
        pid,
        ppid: bsd.pbi_ppid as i32,
        pgrp: bsd.pbi_pgid as i32,
        session: 0,
        state: b'R',
        own_ticks: (info.pti_total_user + info.pti_total_system) / ns_per_tick,
        children_ticks: 0,
        start_time: bsd.pbi_start_tvsec * 100 + bsd.pbi_start_tvusec / 10_000,
        rss_pages: info.pti_resident_size / page_size(),
        threads: u32::try_from(info.pti_threadnum).unwrap_or(u32::MAX),
    })
}

/// How many processes a [`TreeReader`] keeps files open for (two each); the rest of a big
/// tree is read the plain way, so a `make -j` of hundreds cannot exhaust our descriptors.
#[cfg(target_os = "linux")]
const KEPT_PROCESSES: usize = 32;

/// Reads the tree below one root repeatedly, cheaply (see the module's introduction).
pub struct TreeReader {
    root: i32,
    #[cfg(target_os = "linux")]
    kept: std::collections::HashMap<i32, KeptFiles>,
    #[cfg(target_os = "linux")]
    buf: Vec<u8>,
}

#[cfg(target_os = "linux")]
struct KeptFiles {
    stat: std::fs::File,
    /// The main thread's children file (the one that matters for a single thread).
    children: std::fs::File,
}

impl TreeReader {
    pub fn new(root: i32) -> TreeReader {
        TreeReader {
            root,
            #[cfg(target_os = "linux")]
            kept: std::collections::HashMap::new(),
            #[cfg(target_os = "linux")]
            buf: Vec::with_capacity(512),
        }
    }

    /// The root and every live descendant, as read now; a process that exits during the
    /// walk is simply missing.
    #[cfg(target_os = "linux")]
    pub fn read(&mut self) -> Vec<ProcStat> {
        let mut stats: Vec<ProcStat> = Vec::new();
        let mut visited = Vec::new();
        let mut frontier = vec![self.root];
        while let Some(pid) = frontier.pop() {
            if visited.contains(&pid) {
                continue;
            }
            visited.push(pid);
            let Some(stat) = self.stat(pid) else {
                continue;
            };
            stats.push(stat);
            match self.children(pid, stat.threads) {
                Ok(kids) => frontier.extend(kids),
                Err(_) if pid == self.root => {
                    // No children files in this kernel: the plain walk has the fallback.
                    self.kept.clear();
                    return descendants_by_scan(self.root)
                        .into_iter()
                        .filter_map(|pid| read_stat(pid).ok())
                        .chain(stats)
                        .collect();
                }
                Err(_) => {}
            }
        }
        self.kept.retain(|pid, _| visited.contains(pid));
        stats
    }

    #[cfg(target_os = "linux")]
    fn stat(&mut self, pid: i32) -> Option<ProcStat> {
        if let Some(kept) = self.kept.get(&pid) {
            if read_again(&kept.stat, &mut self.buf).is_ok() {
                if let Some(stat) = parse_stat(&self.buf) {
                    return Some(stat);
                }
            }
            // Reaped; the pid may already name a new process, opened afresh below.
            self.kept.remove(&pid);
        }
        let stat_path = format!("/proc/{pid}/stat");
        if self.kept.len() >= KEPT_PROCESSES {
            return read_stat(pid).ok();
        }
        let stat_file = std::fs::File::open(&stat_path).ok()?;
        read_again(&stat_file, &mut self.buf).ok()?;
        let stat = parse_stat(&self.buf)?;
        if let Ok(children) = std::fs::File::open(format!("/proc/{pid}/task/{pid}/children")) {
            self.kept.insert(
                pid,
                KeptFiles {
                    stat: stat_file,
                    children,
                },
            );
        }
        Some(stat)
    }

    #[cfg(target_os = "linux")]
    fn children(&mut self, pid: i32, threads: u32) -> io::Result<Vec<i32>> {
        match self.kept.get(&pid) {
            Some(kept) if threads == 1 => {
                read_again(&kept.children, &mut self.buf)?;
                Ok(parse_pids(&self.buf))
            }
            _ => children(pid),
        }
    }

    #[cfg(target_os = "macos")]
    pub fn read(&mut self) -> Vec<ProcStat> {
        let mut pids = descendants(self.root);
        pids.push(self.root);
        pids.into_iter().filter_map(|pid| read_stat(pid).ok()).collect()
    }
}

/// Reads a kept procfs file from its start into `buf` (procfs makes the text anew).
///
/// One read is usually all: procfs fills a page-sized buffer with whole records before it
/// returns, so a read that came back with less than half a page has reached the end; only a
/// longer text (a process with hundreds of children) needs the read that returns 0.
#[cfg(target_os = "linux")]
fn read_again(file: &std::fs::File, buf: &mut Vec<u8>) -> io::Result<()> {
    use std::os::unix::fs::FileExt;
    const SURELY_COMPLETE: usize = 2048;
    buf.clear();
    let mut chunk = [0u8; 4096];
    loop {
        match file.read_at(&mut chunk, buf.len() as u64) {
            Ok(0) => return Ok(()),
            Ok(n) if n < SURELY_COMPLETE && buf.is_empty() => {
                buf.extend_from_slice(&chunk[..n]);
                return Ok(());
            }
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

#[cfg(target_os = "linux")]
fn parse_pids(text: &[u8]) -> Vec<i32> {
    String::from_utf8_lossy(text)
        .split_ascii_whitespace()
        .filter_map(|s| s.parse::<i32>().ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_stat_line_with_spaces_and_parens_in_the_name() {
        let line = b"4242 (my (odd) name) S 1 4242 4242 0 -1 4194560 100 0 0 0 7 3 2 1 20 0 1 0 123456 10000000 250 18446744073709551615 0 0 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n";
        let stat = parse_stat(line).expect("valid line");
        assert_eq!(stat.pid, 4242);
        assert_eq!(stat.ppid, 1);
        assert_eq!(stat.pgrp, 4242);
        assert_eq!(stat.state, b'S');
        assert_eq!(stat.own_ticks, 10);
        assert_eq!(stat.children_ticks, 3);
        assert_eq!(stat.start_time, 123456);
        assert_eq!(stat.rss_pages, 250);
    }

    #[test]
    fn rejects_garbage() {
        assert_eq!(parse_stat(b""), None);
        assert_eq!(parse_stat(b"12 (x"), None);
        assert_eq!(parse_stat(b"12 (x) S 1"), None);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn reads_our_own_stat_and_sees_a_child() {
        let me = std::process::id() as i32;
        assert_eq!(read_stat(me).expect("own stat").pid, me);
        let mut child = std::process::Command::new("sleep")
            .arg("5")
            .spawn()
            .expect("spawn sleep");
        let kid = child.id() as i32;
        assert!(descendants(me).contains(&kid));
        child.kill().expect("kill");
        child.wait().expect("wait");
    }

    /// A kept reader follows the tree as it changes: a grandchild appears, a child is
    /// reaped and leaves no stale entry behind, and the numbers are read afresh each time.
    #[test]
    fn a_tree_reader_follows_processes_that_come_and_go() {
        let mut root = std::process::Command::new("sh")
            .args(["-c", "sleep 30 & echo $!; read line; kill $!; wait; read line"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("spawn sh");
        let root_pid = root.id() as i32;
        let mut out = std::io::BufReader::new(root.stdout.take().expect("stdout"));
        let mut line = String::new();
        std::io::BufRead::read_line(&mut out, &mut line).expect("sleep's pid");
        let sleep_pid: i32 = line.trim().parse().expect("a pid");
        let mut reader = TreeReader::new(root_pid);
        let pids = |stats: Vec<ProcStat>| stats.iter().map(|s| s.pid).collect::<Vec<_>>();
        let first = pids(reader.read());
        assert!(
            first.contains(&root_pid) && first.contains(&sleep_pid),
            "{first:?}"
        );
        // Read again through the kept files: the same two.
        let again = pids(reader.read());
        assert!(
            again.contains(&root_pid) && again.contains(&sleep_pid),
            "{again:?}"
        );
        let mut stdin = root.stdin.take().expect("stdin");
        std::io::Write::write_all(&mut stdin, b"go\n").expect("tell sh");
        // sh kills and reaps sleep, then waits for the second line.
        let mut gone = false;
        for _ in 0..500 {
            if !pids(reader.read()).contains(&sleep_pid) {
                gone = true;
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        assert!(gone, "the reaped sleep is still reported");
        assert_eq!(pids(reader.read()), vec![root_pid]);
        drop(stdin);
        root.wait().expect("wait sh");
        assert!(reader.read().is_empty(), "a reaped root is not read");
    }
}
