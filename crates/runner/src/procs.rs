//! Process helpers: signalling process groups, scanning `/proc`, liveness locks.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::fcntl::{Flock, FlockArg};
use nix::sys::signal::{kill, killpg, Signal};
use nix::unistd::Pid;

use crate::error::RunnerError;

fn pid(p: u32) -> Option<Pid> {
    i32::try_from(p).ok().filter(|p| *p > 1).map(Pid::from_raw)
}

/// Whether any process is in process group `pgid`.
pub fn group_alive(pgid: u32) -> bool {
    match pid(pgid) {
        Some(p) => !matches!(killpg(p, None), Err(Errno::ESRCH)),
        None => false,
    }
}

/// Whether process `p` exists (and is not a zombie).
pub fn process_alive(p: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{p}/stat")) {
        Ok(stat) => stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .is_some_and(|st| st != "Z" && st != "X"),
        Err(_) => false,
    }
}

/// Send `sig` to process group `pgid` (no error if it is gone).
pub fn signal_group(pgid: u32, sig: Signal) {
    if let Some(p) = pid(pgid) {
        let _ = killpg(p, sig);
    }
}

/// Send `sig` to process `p` (no error if it is gone).
pub fn signal_process(p: u32, sig: Signal) {
    if let Some(p) = pid(p) {
        let _ = kill(p, sig);
    }
}

/// SIGTERM the group, wait up to `grace`, then SIGKILL what is left. Returns once the group is
/// empty or after another second of SIGKILL retries.
pub fn kill_group(pgid: u32, grace: Duration) {
    signal_group(pgid, Signal::SIGTERM);
    let deadline = Instant::now() + grace;
    while group_alive(pgid) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    let deadline = Instant::now() + Duration::from_secs(2);
    while group_alive(pgid) && Instant::now() < deadline {
        signal_group(pgid, Signal::SIGKILL);
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The NUL-separated command line of process `p`, as one string with spaces.
pub fn cmdline(p: u32) -> Option<String> {
    let raw = std::fs::read(format!("/proc/{p}/cmdline")).ok()?;
    Some(
        raw.split(|b| *b == 0)
            .map(|s| String::from_utf8_lossy(s).into_owned())
            .collect::<Vec<_>>()
            .join(" "),
    )
}

/// Pids of live processes whose command line contains every one of `needles`.
pub fn find_processes(needles: &[&str]) -> Vec<u32> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let me = std::process::id();
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|p| *p != me)
        .filter(|p| {
            cmdline(*p).is_some_and(|c| needles.iter().all(|n| c.contains(n))) && process_alive(*p)
        })
        .collect()
}

/// A held exclusive lock: proof that its holder (a supervisor) is alive.
pub type LivenessLock = Flock<File>;

/// Try to take the exclusive lock on `path` without blocking. `Ok(None)` if someone holds it.
pub fn try_lock(path: &Path) -> Result<Option<LivenessLock>, RunnerError> {
    let f = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| RunnerError::io(path, e))?;
    match Flock::lock(f, FlockArg::LockExclusiveNonblock) {
        Ok(l) => Ok(Some(l)),
        Err((_, Errno::EWOULDBLOCK)) => Ok(None),
        Err((_, e)) => Err(RunnerError::io(path, std::io::Error::from(e))),
    }
}

/// Whether some process holds the lock on `path` (probes by taking and dropping it).
pub fn lock_held(path: &Path) -> bool {
    if !path.exists() {
        return false;
    }
    matches!(try_lock(path), Ok(None))
}

/// `(pid, pgid, sid)` of every live (non-zombie) process.
fn all_processes() -> Vec<(u32, u32, u32)> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(|p| {
            let stat = std::fs::read_to_string(format!("/proc/{p}/stat")).ok()?;
            let (_, rest) = stat.rsplit_once(')')?;
            let f: Vec<&str> = rest.split_whitespace().collect();
            if matches!(f.first(), Some(&"Z") | Some(&"X")) {
                return None;
            }
            Some((p, f.get(2)?.parse().ok()?, f.get(3)?.parse().ok()?))
        })
        .collect()
}

/// Live processes of session `sid` (a supervisor's session: the driver and everything it
/// started, including process groups of their own such as `pyspark.daemon`).
pub fn session_members(sid: u32) -> Vec<u32> {
    all_processes()
        .into_iter()
        .filter(|(_, _, s)| *s == sid)
        .map(|(p, _, _)| p)
        .collect()
}

/// SIGTERM every process of session `sid` except `except`, wait up to `grace`, SIGKILL the rest.
pub fn kill_session(sid: u32, except: u32, grace: Duration) {
    if sid <= 1 {
        return;
    }
    let members = || -> Vec<u32> {
        session_members(sid)
            .into_iter()
            .filter(|p| *p != except)
            .collect()
    };
    for p in members() {
        signal_process(p, Signal::SIGTERM);
    }
    let deadline = Instant::now() + grace;
    while !members().is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        let left = members();
        if left.is_empty() || Instant::now() > deadline {
            break;
        }
        for p in left {
            signal_process(p, Signal::SIGKILL);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}
