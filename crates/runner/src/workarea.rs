//! The instance's **working copy** (`<instance>/files/`): the only place where apps see the
//! instance's uploaded files and library sets as plain files.
//!
//! The server keeps those encrypted in its object store. Before a submission it takes a
//! [`WorkareaPin`] ([`Runner::pin_workarea`]), materialises (decrypts) what the app needs into
//! the working copy, submits, and drops the pin. [`Runner::poll`] wipes the working copy as soon
//! as the instance has no application that is not terminal (accepted, waiting, submitted,
//! running) and nobody holds a pin: the plaintext exists on disk only while apps of that
//! instance can use it.
//!
//! Only a working copy that was pinned at least once (it holds the marker file [`MARKER`]) is
//! ever wiped: a runner driven without the server, whose caller puts files into `files/`
//! itself, keeps them. A wipe first renames `files/` away (atomic: a fresh empty `files/` takes
//! its place at once) and deletes the renamed tree outside the runner's lock; a tree left by a
//! crash is deleted by the next poll.

use std::collections::{HashMap, HashSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use super::{Runner, State};
use crate::error::RunnerError;
use crate::fsutil::{private_dir, random_hex, write_atomic};

/// Marker of a managed working copy, relative to `files/`.
pub const MARKER: &str = ".sparkplane/workarea";
/// Prefix of a working copy being deleted, in the instance's directory.
const TRASH_PREFIX: &str = ".files-wipe-";

#[derive(Default)]
struct PinState {
    /// Pins held, by instance.
    held: HashMap<String, usize>,
    /// Renamed-away working copies being deleted right now.
    removing: HashSet<PathBuf>,
}

/// The runner's pin counts (one per [`super::Runner`]).
#[derive(Default, Clone)]
pub(super) struct Pins(Arc<Mutex<PinState>>);

impl Pins {
    fn lock(&self) -> MutexGuard<'_, PinState> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// While alive, the instance's working copy is not wiped. Dropping it releases the pin (a
/// submission made under the pin keeps the working copy alive from then on by itself).
#[must_use = "the working copy may be wiped as soon as the pin is dropped"]
pub struct WorkareaPin {
    pins: Pins,
    instance: String,
    dir: PathBuf,
}

impl std::fmt::Debug for WorkareaPin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "WorkareaPin({})", self.instance)
    }
}

impl WorkareaPin {
    /// The working copy (`<instance>/files/`), created 0700.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

impl Drop for WorkareaPin {
    fn drop(&mut self) {
        let mut p = self.pins.lock();
        if let Some(n) = p.held.get_mut(&self.instance) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                p.held.remove(&self.instance);
            }
        }
    }
}

impl Runner {
    /// Pin the instance's working copy (create it, mark it as managed): it is not wiped until
    /// the pin drops. Take it before materialising files into `files/` and keep it until the
    /// app is submitted.
    pub fn pin_workarea(&self, instance_id: &str) -> Result<WorkareaPin, RunnerError> {
        let dir = self.instance_dir(instance_id)?.join("files");
        let pins = self.inner.pins.clone();
        *pins.lock().held.entry(instance_id.to_owned()).or_default() += 1;
        // From here on a failure unpins through Drop.
        let pin = WorkareaPin {
            pins,
            instance: instance_id.to_owned(),
            dir,
        };
        let marker = pin.dir.join(MARKER);
        if let Some(parent) = marker.parent() {
            private_dir(parent)?;
        }
        if !marker.exists() {
            write_atomic(
                &marker,
                b"sparkplane working copy: wiped when the instance has no live application\n",
                0o600,
            )?;
        }
        Ok(pin)
    }

    /// Whether the instance currently has a working copy (a pinned, not yet wiped `files/`).
    pub fn has_workarea(&self, instance_id: &str) -> Result<bool, RunnerError> {
        Ok(self
            .instance_dir(instance_id)?
            .join("files")
            .join(MARKER)
            .exists())
    }

    /// Rename away every managed working copy whose instance has no live app and no pin
    /// (called with the state lock held, from [`Runner::poll`]); returns the trees to delete
    /// with [`Runner::remove_trees`] once the lock is released.
    pub(super) fn sweep_workareas(&self, st: &State) -> Vec<PathBuf> {
        let mut pins = self.inner.pins.lock();
        let mut trash = Vec::new();
        for (id, inst) in &st.instances {
            // Left by a crash (or a failed delete) earlier.
            if let Ok(rd) = fs::read_dir(&inst.dir) {
                for e in rd.flatten() {
                    let p = e.path();
                    let ours = e.file_name().to_string_lossy().starts_with(TRASH_PREFIX);
                    if ours && !pins.removing.contains(&p) {
                        trash.push(p);
                    }
                }
            }
            if pins.held.get(id).is_some_and(|n| *n > 0) {
                continue;
            }
            let files = inst.dir.join("files");
            if !files.join(MARKER).exists() {
                continue;
            }
            let live = st
                .apps
                .values()
                .any(|e| e.record.instance_id == *id && !e.record.state().is_terminal());
            if live {
                continue;
            }
            let suffix = random_hex(8).unwrap_or_else(|_| std::process::id().to_string());
            let to = inst.dir.join(format!("{TRASH_PREFIX}{suffix}"));
            match fs::rename(&files, &to) {
                Ok(()) => {
                    if let Err(e) = private_dir(&files) {
                        tracing::warn!(instance = %id, error = %e, "runner: recreating the working copy dir");
                    }
                    tracing::debug!(instance = %id, "runner: working copy wiped");
                    trash.push(to);
                }
                Err(e) => {
                    tracing::warn!(instance = %id, error = %e, "runner: wiping the working copy")
                }
            }
        }
        pins.removing.extend(trash.iter().cloned());
        trash
    }

    /// Delete trees returned by [`Runner::sweep_workareas`].
    pub(super) fn remove_trees(&self, trees: Vec<PathBuf>) {
        for t in trees {
            if let Err(e) = fs::remove_dir_all(&t) {
                if e.kind() != std::io::ErrorKind::NotFound {
                    tracing::warn!(path = %t.display(), error = %e, "runner: deleting a wiped working copy");
                }
            }
            self.inner.pins.lock().removing.remove(&t);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use crate::app::{ApplicationDetails, Backend, InstanceSpec, Quota};
    use crate::{Runner, RunnerConfig};

    use super::MARKER;

    /// A runner whose "supervisor" is `sh -c 'sleep N'`: a launched app stays live (not
    /// terminal) for N seconds, then counts as failed. No Spark is started.
    fn runner(data: &std::path::Path, secs: u32) -> Runner {
        let home = data.join("spark");
        std::fs::create_dir_all(home.join("bin")).unwrap();
        std::fs::write(home.join("bin/spark-submit"), "").unwrap();
        let mut cfg = RunnerConfig::new(data.join("runner"), home);
        cfg.supervisor = vec![
            "sh".into(),
            "-c".into(),
            format!("sleep {secs}").into(),
            "sup".into(),
        ];
        let r = Runner::without_completion(cfg).unwrap();
        r.ensure_instance(InstanceSpec {
            id: "i1".into(),
            default_config: Default::default(),
            quota: Quota::default(),
            backend: Backend::Local,
        })
        .unwrap();
        r
    }

    fn details(app: &str) -> ApplicationDetails {
        serde_json::from_value(serde_json::json!({ "application": app })).unwrap()
    }

    #[test]
    fn unmanaged_files_are_kept_and_a_pin_holds_the_wipe() {
        let t = tempfile::tempdir().unwrap();
        let r = runner(t.path(), 1);
        let files = r.files_dir("i1").unwrap();
        // Never pinned: a caller-managed files/ is left alone.
        std::fs::write(files.join("mine.txt"), "x").unwrap();
        r.poll().unwrap();
        assert!(files.join("mine.txt").exists());
        assert!(!r.has_workarea("i1").unwrap());
        // Pinned: kept while the pin lives, wiped at the next poll after it drops.
        let pin = r.pin_workarea("i1").unwrap();
        assert_eq!(pin.dir(), files);
        let pin2 = r.pin_workarea("i1").unwrap();
        std::fs::write(files.join("secret.txt"), "plain").unwrap();
        r.poll().unwrap();
        drop(pin);
        r.poll().unwrap();
        assert!(files.join("secret.txt").exists(), "wiped under a pin");
        assert!(r.has_workarea("i1").unwrap());
        drop(pin2);
        r.poll().unwrap();
        assert!(!files.join("secret.txt").exists(), "not wiped");
        assert!(!files.join(MARKER).exists());
        assert!(files.is_dir(), "files/ is recreated empty");
        assert_eq!(std::fs::read_dir(&files).unwrap().count(), 0);
        let inst = r.instance_dir("i1").unwrap();
        let left: Vec<_> = std::fs::read_dir(&inst)
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with(".files-wipe-"))
            .collect();
        assert!(left.is_empty(), "trash left: {left:?}");
        assert!(r.pin_workarea("nope").is_err());
    }

    #[test]
    fn a_live_app_keeps_the_working_copy_until_it_ends() {
        let t = tempfile::tempdir().unwrap();
        let r = runner(t.path(), 3);
        let files = {
            let pin = r.pin_workarea("i1").unwrap();
            std::fs::write(pin.dir().join("app.py"), "print(1)").unwrap();
            let rec = r.submit("i1", details("app.py")).unwrap();
            assert!(!rec.state().is_terminal());
            pin.dir().to_owned()
        };
        r.poll().unwrap();
        assert!(files.join("app.py").exists(), "wiped under a live app");
        let deadline = Instant::now() + Duration::from_secs(30);
        while !r.list("i1", None).unwrap()[0].state().is_terminal() {
            assert!(Instant::now() < deadline, "app never ended");
            std::thread::sleep(Duration::from_millis(200));
            r.poll().unwrap();
        }
        r.poll().unwrap();
        assert!(
            !files.join("app.py").exists(),
            "working copy outlived its apps"
        );
    }
}
