//! The [`Runner`]: instances' sandboxes, submission, scheduling under quotas, tracking through
//! supervisors, stop, re-attach after restart, and the end-of-run hook.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fs;
use std::path::{Component, Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;

use crate::app::{check_id, AppRecord, ApplicationDetails, Backend, InstanceSpec};
use crate::at_rest::{self, AtRest};
use crate::completion::{NoopCompletion, RunCompletion};
use crate::conf::{self, EffectiveConf, Enforced, Keystore, SparkConf};
use crate::error::RunnerError;
use crate::fsutil::{private_dir, random_hex, read_json, write_atomic, write_json};
use crate::procs;
use crate::standalone::{self, ClusterInfo, DaemonEnv};
use crate::state::{now_ms, AppState, Lifecycle};
use crate::supervisor::{files, LaunchSpec, SupervisorStatus};

// The instance's working copy of decrypted files (helper "files"): pins and the idle wipe.
#[path = "workarea.rs"]
mod workarea;
pub use workarea::{WorkareaPin, MARKER as WORKAREA_MARKER};

/// How application processes are confined beyond their own directories and cleared environment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sandbox {
    /// Plain processes (own process group, 0700 dirs, cleared env).
    None,
    /// `bwrap`: the whole data dir is hidden behind a tmpfs except the instance's own
    /// directory, private `/tmp`, own PID namespace; local-backend apps also get their own
    /// network namespace (their UI and ports are unreachable from anything else).
    Bubblewrap,
}

impl Sandbox {
    /// `Bubblewrap` if `bwrap` works here (it needs user namespaces, or root), else `None`.
    pub fn detect() -> Sandbox {
        let ok = Command::new("bwrap")
            .args(["--ro-bind", "/", "/", "--unshare-pid", "--", "true"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if ok {
            Sandbox::Bubblewrap
        } else {
            Sandbox::None
        }
    }
}

/// Static settings of a runner.
#[derive(Clone)]
pub struct RunnerConfig {
    /// Root of the runner's data; instances live in `<data_dir>/instances/<id>`.
    pub data_dir: PathBuf,
    /// `$SPARK_HOME` (must contain `bin/spark-submit`).
    pub spark_home: PathBuf,
    /// Python for PySpark (`spark.pyspark.python`); `None` = `python3` on PATH.
    pub python: Option<PathBuf>,
    /// `$JAVA_HOME` to pass on, if any.
    pub java_home: Option<PathBuf>,
    /// The supervisor command (`[current_exe, "supervise"]`); `--app-dir DIR` is appended.
    pub supervisor: Vec<OsString>,
    /// Platform default Spark conf (lowest layer).
    pub platform_defaults: SparkConf,
    /// Confinement.
    pub sandbox: Sandbox,
    /// SIGTERM → SIGKILL grace on stop.
    pub stop_grace: Duration,
    /// Encryption at rest of the instance secret and of finished apps' logs and records
    /// (see [`crate::at_rest`]); `None` = plaintext.
    pub at_rest: Option<Arc<dyn AtRest>>,
}

impl std::fmt::Debug for RunnerConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunnerConfig")
            .field("data_dir", &self.data_dir)
            .field("spark_home", &self.spark_home)
            .field("python", &self.python)
            .field("java_home", &self.java_home)
            .field("supervisor", &self.supervisor)
            .field("platform_defaults", &self.platform_defaults)
            .field("sandbox", &self.sandbox)
            .field("stop_grace", &self.stop_grace)
            .field("at_rest", &self.at_rest.is_some())
            .finish()
    }
}

impl RunnerConfig {
    /// Settings with sensible defaults; `supervisor` must still be set by the caller.
    pub fn new(data_dir: PathBuf, spark_home: PathBuf) -> Self {
        RunnerConfig {
            data_dir,
            spark_home,
            python: None,
            java_home: std::env::var_os("JAVA_HOME").map(PathBuf::from),
            supervisor: Vec::new(),
            platform_defaults: default_platform_conf(),
            sandbox: Sandbox::None,
            stop_grace: Duration::from_secs(5),
            at_rest: None,
        }
    }
}

/// The platform defaults sparkplane ships with.
pub fn default_platform_conf() -> SparkConf {
    [
        ("spark.ui.showConsoleProgress", "false"),
        ("spark.driver.memory", "1g"),
        ("spark.executor.memory", "512m"),
        ("spark.sql.shuffle.partitions", "8"),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect()
}

/// Find Spark: `SPARK_HOME`, else the pip `pyspark` in the project venv at `root/.venv`.
pub fn find_spark_home(root: &Path) -> Option<PathBuf> {
    let ok = |p: &Path| p.join("bin/spark-submit").is_file();
    if let Some(h) = std::env::var_os("SPARK_HOME").map(PathBuf::from) {
        if ok(&h) {
            return Some(h);
        }
    }
    let lib = root.join(".venv/lib");
    fs::read_dir(&lib)
        .ok()?
        .filter_map(|e| e.ok())
        .map(|e| e.path().join("site-packages/pyspark"))
        .find(|p| ok(p))
}

/// The installed Spark version, from the `spark-core_*-VERSION.jar` name.
pub fn spark_version(spark_home: &Path) -> Option<String> {
    fs::read_dir(spark_home.join("jars"))
        .ok()?
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().into_string().ok())
        .find(|n| n.starts_with("spark-core_") && n.ends_with(".jar"))
        .and_then(|n| {
            n.trim_end_matches(".jar")
                .rsplit_once('-')
                .map(|(_, v)| v.to_owned())
        })
}

/// Environment names the app may not set (the sandbox depends on them).
fn is_reserved_env(name: &str) -> bool {
    const EXACT: &[&str] = &[
        "PATH",
        "HOME",
        "TMPDIR",
        "LANG",
        "JAVA_HOME",
        "_JAVA_OPTIONS",
        "JDK_JAVA_OPTIONS",
        "JAVA_TOOL_OPTIONS",
        "PYSPARK_PYTHON",
        "PYSPARK_DRIVER_PYTHON",
    ];
    EXACT.contains(&name) || name.starts_with("SPARK_") || name.starts_with("LD_")
}

struct Inst {
    spec: InstanceSpec,
    dir: PathBuf,
    secret: String,
    cluster: Option<ClusterInfo>,
}

struct Entry {
    record: AppRecord,
    child: Option<Child>,
    completion_running: bool,
}

struct State {
    instances: BTreeMap<String, Inst>,
    apps: BTreeMap<String, Entry>,
}

struct Inner {
    cfg: RunnerConfig,
    spark_version: Option<String>,
    completion: Arc<dyn RunCompletion>,
    state: Mutex<State>,
    pins: workarea::Pins,
}

/// Runs Spark applications for many instances. Cheap to clone (shared state).
#[derive(Clone)]
pub struct Runner {
    inner: Arc<Inner>,
}

/// Stops the background monitor thread when dropped.
pub struct MonitorHandle {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for MonitorHandle {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn instances_root(cfg: &RunnerConfig) -> PathBuf {
    cfg.data_dir.join("instances")
}

fn app_dir(inst_dir: &Path, app_id: &str) -> PathBuf {
    inst_dir.join("apps").join(app_id)
}

fn new_app_id() -> Result<String, RunnerError> {
    let h = random_hex(16)?;
    Ok(format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    ))
}

impl Runner {
    /// Open the runner on `cfg.data_dir`, re-attaching to every instance and application found
    /// there (supervisors still running are tracked again; ended ones get their recorded state).
    pub fn new(cfg: RunnerConfig, completion: Arc<dyn RunCompletion>) -> Result<Self, RunnerError> {
        if !cfg.spark_home.join("bin/spark-submit").is_file() {
            return Err(RunnerError::SparkMissing(format!(
                "{}/bin/spark-submit does not exist",
                cfg.spark_home.display()
            )));
        }
        if cfg.supervisor.is_empty() {
            return Err(RunnerError::Process(
                "RunnerConfig::supervisor (the supervise command) is empty".into(),
            ));
        }
        private_dir(&cfg.data_dir)?;
        let root = instances_root(&cfg);
        private_dir(&root)?;
        let mut state = State {
            instances: BTreeMap::new(),
            apps: BTreeMap::new(),
        };
        // Finished apps whose files are still in plaintext (a version before encryption at
        // rest, or a crash while sealing): sealed in the background below.
        let mut legacy: Vec<AppRecord> = Vec::new();
        for e in fs::read_dir(&root).map_err(|e| RunnerError::io(&root, e))? {
            let dir = e.map_err(|e| RunnerError::io(&root, e))?.path();
            let Some(spec) = read_json::<InstanceSpec>(&dir.join("instance.json"))? else {
                continue;
            };
            if cfg.at_rest.is_some() && dir.join(SECRET).exists() {
                // A plaintext secret from before encryption at rest: sealed in place.
                ensure_secret(&dir, &spec.id, cfg.at_rest.as_deref())?;
            }
            let secret = read_secret(&dir, &spec.id, cfg.at_rest.as_deref())?;
            let cluster = standalone::find(&dir.join("standalone"))?;
            let apps = dir.join("apps");
            if let Ok(rd) = fs::read_dir(&apps) {
                for a in rd.flatten() {
                    if let Some(record) = load_record(cfg.at_rest.as_deref(), &spec.id, &a.path())?
                    {
                        if record.state().is_terminal() {
                            // Found terminal after a restart: its properties are of no use.
                            remove_properties(&a.path());
                            if cfg.at_rest.is_some()
                                && record.completion_done
                                && left_in_plaintext(&a.path(), &record)
                            {
                                legacy.push(record.clone());
                            }
                        }
                        state.apps.insert(
                            record.id.clone(),
                            Entry {
                                record,
                                child: None,
                                completion_running: false,
                            },
                        );
                    }
                }
            }
            state.instances.insert(
                spec.id.clone(),
                Inst {
                    spec,
                    dir,
                    secret,
                    cluster,
                },
            );
        }
        let spark_version = spark_version(&cfg.spark_home);
        let runner = Runner {
            inner: Arc::new(Inner {
                cfg,
                spark_version,
                completion,
                state: Mutex::new(state),
                pins: workarea::Pins::default(),
            }),
        };
        if !legacy.is_empty() {
            let r = runner.clone();
            std::thread::spawn(move || {
                for rec in legacy {
                    r.reseal(rec);
                }
            });
        }
        Ok(runner)
    }

    /// Seal what a finished app (completion done) left in plaintext.
    fn reseal(&self, record: AppRecord) {
        let Some(a) = self.inner.cfg.at_rest.as_deref() else {
            return;
        };
        let Ok(dir) = self.app_dir(&record.instance_id, &record.id) else {
            return;
        };
        let log = record.event_log.clone();
        let sealed = self.seal_finished(a, &record, &dir, log.as_deref());
        let mut st = self.lock();
        if let Some(e) = st.apps.get_mut(&record.id) {
            if sealed.is_some() {
                e.record.event_log = sealed;
            }
            if let Err(err) = self.save_record(&dir, &e.record) {
                tracing::warn!(app = %record.id, error = %err, "runner: could not save record");
            }
        }
    }

    /// A runner with the no-op completion hook.
    pub fn without_completion(cfg: RunnerConfig) -> Result<Self, RunnerError> {
        Self::new(cfg, Arc::new(NoopCompletion))
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.inner
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The installed Spark version, if known.
    pub fn spark_version(&self) -> Option<&str> {
        self.inner.spark_version.as_deref()
    }

    /// Create or update an instance's sandbox (0700 dirs, secret) and, for the standalone
    /// backend, make sure its Master + Worker run (this can take tens of seconds).
    pub fn ensure_instance(&self, spec: InstanceSpec) -> Result<(), RunnerError> {
        check_id(&spec.id)?;
        let cfg = &self.inner.cfg;
        let dir = instances_root(cfg).join(&spec.id);
        for sub in [
            "",
            "apps",
            "eventlogs",
            "files",
            "standalone",
            "standalone/local",
            "conf",
        ] {
            private_dir(&dir.join(sub))?;
        }
        ensure_secret(&dir, &spec.id, cfg.at_rest.as_deref())?;
        let secret = read_secret(&dir, &spec.id, cfg.at_rest.as_deref())?;
        write_json(&dir.join("instance.json"), &spec)?;
        let cluster = match &spec.backend {
            Backend::Local => {
                standalone::stop(&dir.join("standalone"))?;
                None
            }
            Backend::Standalone {
                worker_cores,
                worker_memory,
            } => match standalone::find(&dir.join("standalone"))? {
                Some(c) if c.worker_cores == *worker_cores => Some(c),
                _ => {
                    standalone::stop(&dir.join("standalone"))?;
                    let daemon_conf = self.daemon_conf(&spec, &dir, &secret);
                    Some(standalone::start(
                        &dir.join("standalone"),
                        &self.daemon_env(&dir),
                        &daemon_conf,
                        *worker_cores,
                        worker_memory,
                    )?)
                }
            },
        };
        let mut st = self.lock();
        st.instances.insert(
            spec.id.clone(),
            Inst {
                spec,
                dir,
                secret,
                cluster,
            },
        );
        Ok(())
    }

    /// Stop an instance's standalone cluster and every live application of it.
    pub fn shutdown_instance(&self, instance_id: &str) -> Result<(), RunnerError> {
        let ids: Vec<String> = self
            .list(instance_id, None)?
            .into_iter()
            .filter(|r| !r.state().is_terminal())
            .map(|r| r.id)
            .collect();
        for id in &ids {
            self.stop(instance_id, id)?;
        }
        let deadline = Instant::now() + self.inner.cfg.stop_grace + Duration::from_secs(10);
        while Instant::now() < deadline {
            self.poll()?;
            if ids.iter().all(|id| {
                self.get(instance_id, id)
                    .is_ok_and(|r| r.state().is_terminal())
            }) {
                break;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        let dir = {
            let mut st = self.lock();
            let inst = st
                .instances
                .get_mut(instance_id)
                .ok_or_else(|| RunnerError::UnknownInstance(instance_id.to_owned()))?;
            inst.cluster = None;
            inst.dir.clone()
        };
        standalone::stop(&dir.join("standalone"))
    }

    /// The instance's standalone cluster, if it has one running.
    pub fn cluster(&self, instance_id: &str) -> Option<ClusterInfo> {
        self.lock()
            .instances
            .get(instance_id)
            .and_then(|i| i.cluster.clone())
    }

    /// The instance's upload area (`files/`); `application`, `jars`, `files`, `archives` name
    /// files in it.
    pub fn files_dir(&self, instance_id: &str) -> Result<PathBuf, RunnerError> {
        self.lock()
            .instances
            .get(instance_id)
            .map(|i| i.dir.join("files"))
            .ok_or_else(|| RunnerError::UnknownInstance(instance_id.to_owned()))
    }

    /// The instance's directory (0700).
    pub fn instance_dir(&self, instance_id: &str) -> Result<PathBuf, RunnerError> {
        self.lock()
            .instances
            .get(instance_id)
            .map(|i| i.dir.clone())
            .ok_or_else(|| RunnerError::UnknownInstance(instance_id.to_owned()))
    }

    /// Accept an application: validate it, persist it as `accepted`, and start it at once if
    /// the instance's quota allows (else it goes to `waiting`).
    pub fn submit(
        &self,
        instance_id: &str,
        details: ApplicationDetails,
    ) -> Result<AppRecord, RunnerError> {
        self.submit_as(instance_id, &Self::new_app_id()?, details)
    }

    /// A fresh application id (what [`Runner::submit`] would pick), for callers that must know
    /// it before submitting (e.g. to mint a credential bound to the app) — see
    /// [`Runner::submit_as`].
    pub fn new_app_id() -> Result<String, RunnerError> {
        new_app_id()
    }

    /// [`Runner::submit`] under an id from [`Runner::new_app_id`] (refused if it is not of that
    /// form or already used).
    pub fn submit_as(
        &self,
        instance_id: &str,
        id: &str,
        details: ApplicationDetails,
    ) -> Result<AppRecord, RunnerError> {
        let well_formed = id.len() == 36
            && id.bytes().enumerate().all(|(i, b)| {
                if matches!(i, 8 | 13 | 18 | 23) {
                    b == b'-'
                } else {
                    b.is_ascii_digit() || (b'a'..=b'f').contains(&b)
                }
            });
        if !well_formed {
            return Err(RunnerError::Unsupported(format!(
                "application id `{id}` is not a runner-made id"
            )));
        }
        let accepted_at = now_ms();
        let mut st = self.lock();
        let inst = st
            .instances
            .get(instance_id)
            .ok_or_else(|| RunnerError::UnknownInstance(instance_id.to_owned()))?;
        if let Some(rt) = &details.runtime {
            let have = self.inner.spark_version.as_deref().unwrap_or("");
            let want = rt.spark_version.trim();
            if want.is_empty() || !(have == want || have.starts_with(&format!("{want}."))) {
                return Err(RunnerError::Unsupported(format!(
                    "runtime.spark_version {want} (installed: {have})"
                )));
            }
        }
        for name in details.env.keys() {
            conf::check_env_name(name)?;
            if is_reserved_env(name) {
                return Err(RunnerError::Unsupported(format!(
                    "environment variable {name} is set by sparkplane"
                )));
            }
        }
        let files = inst.dir.join("files");
        resolve_in_area(&files, &details.application)?;
        for f in details
            .jars
            .iter()
            .chain(&details.files)
            .chain(&details.archives)
        {
            resolve_in_area(&files, f)?;
        }
        if st.apps.contains_key(id) {
            return Err(RunnerError::Unsupported(format!(
                "application id `{id}` is already used"
            )));
        }
        let id = id.to_owned();
        let dir = app_dir(&inst.dir, &id);
        let eff = self.conf_for(inst, &id, &details)?;
        private_dir(&dir)?;
        self.save_json(instance_id, &dir, REQUEST, &details)?;
        let record = AppRecord {
            id: id.clone(),
            instance_id: instance_id.to_owned(),
            name: details.name.clone(),
            application: details.application.clone(),
            lifecycle: Lifecycle::accepted(accepted_at),
            cores: eff.cores(),
            effective_conf: eff.redacted(),
            env_names: details.env.keys().cloned().collect(),
            spark_app_id: None,
            event_log: None,
            failure_reason: None,
            exit_code: None,
            launched: false,
            launched_at: None,
            completion_done: false,
        };
        self.save_record(&dir, &record)?;
        st.apps.insert(
            id.clone(),
            Entry {
                record,
                child: None,
                completion_running: false,
            },
        );
        self.schedule(&mut st, instance_id)?;
        st.apps
            .get(&id)
            .map(|e| e.record.clone())
            .ok_or(RunnerError::UnknownApp(id))
    }

    /// One application of an instance.
    pub fn get(&self, instance_id: &str, app_id: &str) -> Result<AppRecord, RunnerError> {
        self.lock()
            .apps
            .get(app_id)
            .filter(|e| e.record.instance_id == instance_id)
            .map(|e| e.record.clone())
            .ok_or_else(|| RunnerError::UnknownApp(app_id.to_owned()))
    }

    /// An instance's applications (optionally only those in `state`), oldest first.
    pub fn list(
        &self,
        instance_id: &str,
        state: Option<AppState>,
    ) -> Result<Vec<AppRecord>, RunnerError> {
        let st = self.lock();
        if !st.instances.contains_key(instance_id) {
            return Err(RunnerError::UnknownInstance(instance_id.to_owned()));
        }
        let mut v: Vec<AppRecord> = st
            .apps
            .values()
            .filter(|e| e.record.instance_id == instance_id)
            .filter(|e| state.is_none_or(|s| e.record.state() == s))
            .map(|e| e.record.clone())
            .collect();
        v.sort_by_key(|r| (r.lifecycle.accepted_at(), r.id.clone()));
        Ok(v)
    }

    /// The driver log (stdout + stderr), with the instance secret masked.
    pub fn driver_log(&self, instance_id: &str, app_id: &str) -> Result<String, RunnerError> {
        let (dir, secret) = {
            let st = self.lock();
            let inst = st
                .instances
                .get(instance_id)
                .ok_or_else(|| RunnerError::UnknownInstance(instance_id.to_owned()))?;
            self.get_locked(&st, instance_id, app_id)?;
            (app_dir(&inst.dir, app_id), inst.secret.clone())
        };
        let path = dir.join(files::DRIVER_LOG);
        let mut bytes = Vec::new();
        if let Some(a) = self.inner.cfg.at_rest.as_deref() {
            let rel = format!("apps/{app_id}/{}", files::DRIVER_LOG);
            if let Some(mut r) = at_rest::open_sealed_file(a, instance_id, &rel, &path)? {
                use std::io::Read;
                r.read_to_end(&mut bytes)
                    .map_err(|e| RunnerError::io(&at_rest::sealed_path(&path), e))?;
            }
        }
        // The running app's log, or lines appended after it was sealed (export retries).
        match fs::read(&path) {
            Ok(b) => bytes.extend(b),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(RunnerError::io(&path, e)),
        }
        Ok(String::from_utf8_lossy(&bytes).replace(&secret, "*********(redacted)"))
    }

    /// The application's request as submitted (opened if sealed); `Ok(None)` if missing.
    pub fn request(
        &self,
        instance_id: &str,
        app_id: &str,
    ) -> Result<Option<ApplicationDetails>, RunnerError> {
        let dir = self.app_dir(instance_id, app_id)?;
        read_maybe_sealed_json(
            self.inner.cfg.at_rest.as_deref(),
            instance_id,
            &dir,
            REQUEST,
        )
    }

    /// The run's own `summary.json` (written by the completion hook), opened if sealed;
    /// `Ok(None)` if there is none (yet).
    pub fn run_summary(
        &self,
        instance_id: &str,
        app_id: &str,
    ) -> Result<Option<Vec<u8>>, RunnerError> {
        let dir = self.app_dir(instance_id, app_id)?;
        at_rest::read_maybe_sealed(
            self.inner.cfg.at_rest.as_deref(),
            instance_id,
            &format!("apps/{app_id}/summary.json"),
            &dir.join("summary.json"),
        )
    }

    /// The app's directory (state files, driver log).
    pub fn app_dir(&self, instance_id: &str, app_id: &str) -> Result<PathBuf, RunnerError> {
        let st = self.lock();
        self.get_locked(&st, instance_id, app_id)?;
        st.instances
            .get(instance_id)
            .map(|i| app_dir(&i.dir, app_id))
            .ok_or_else(|| RunnerError::UnknownInstance(instance_id.to_owned()))
    }

    fn get_locked<'a>(
        &self,
        st: &'a State,
        instance_id: &str,
        app_id: &str,
    ) -> Result<&'a Entry, RunnerError> {
        st.apps
            .get(app_id)
            .filter(|e| e.record.instance_id == instance_id)
            .ok_or_else(|| RunnerError::UnknownApp(app_id.to_owned()))
    }

    /// Stop an application (idempotent). Not yet started → `stopped` at once; running → the
    /// supervisor kills its whole process tree and records `stopped` (visible after the next
    /// [`Runner::poll`]).
    pub fn stop(&self, instance_id: &str, app_id: &str) -> Result<AppRecord, RunnerError> {
        let mut st = self.lock();
        let inst_dir = st
            .instances
            .get(instance_id)
            .map(|i| i.dir.clone())
            .ok_or_else(|| RunnerError::UnknownInstance(instance_id.to_owned()))?;
        let dir = app_dir(&inst_dir, app_id);
        let entry = st
            .apps
            .get_mut(app_id)
            .filter(|e| e.record.instance_id == instance_id)
            .ok_or_else(|| RunnerError::UnknownApp(app_id.to_owned()))?;
        if entry.record.state().is_terminal() {
            return Ok(entry.record.clone());
        }
        write_atomic(&dir.join(files::STOP), b"stop\n", 0o600)?;
        if !entry.record.launched {
            entry
                .record
                .lifecycle
                .advance(AppState::Stopped, now_ms())?;
            self.save_record(&dir, &entry.record)?;
            let rec = entry.record.clone();
            self.schedule(&mut st, instance_id)?;
            return Ok(rec);
        }
        let status: Option<SupervisorStatus> = read_json(&dir.join(files::STATUS))?;
        if procs::lock_held(&dir.join(files::LOCK)) {
            if let Some(s) = &status {
                procs::signal_process(s.supervisor_pid, Signal::SIGTERM);
            }
            // Otherwise the supervisor has not started the driver yet; it checks the file.
        } else if let Some(s) = &status {
            // Supervisor gone: kill the driver's group and session ourselves.
            if let Some(pgid) = s.driver_pid {
                procs::kill_group(pgid, self.inner.cfg.stop_grace);
            }
            procs::kill_session(s.session_id, 0, self.inner.cfg.stop_grace);
        }
        Ok(entry.record.clone())
    }

    /// Drive every application one step: pick up supervisors' status, finish ended apps, start
    /// waiting apps when quota frees, re-launch supervisors lost before they started a driver,
    /// and run the completion hook. The server calls this periodically ([`Runner::spawn_monitor`]).
    pub fn poll(&self) -> Result<(), RunnerError> {
        let mut st = self.lock();
        let ids: Vec<String> = st
            .apps
            .iter()
            .filter(|(_, e)| e.record.launched && !e.record.state().is_terminal())
            .map(|(k, _)| k.clone())
            .collect();
        for id in ids {
            if let Err(e) = self.poll_one(&mut st, &id) {
                tracing::warn!(app = %id, error = %e, "runner: poll failed");
            }
        }
        let instance_ids: Vec<String> = st.instances.keys().cloned().collect();
        for iid in instance_ids {
            self.schedule(&mut st, &iid)?;
        }
        self.kick_completions(&mut st);
        let wiped = self.sweep_workareas(&st);
        drop(st);
        self.remove_trees(wiped);
        Ok(())
    }

    fn poll_one(&self, st: &mut State, id: &str) -> Result<(), RunnerError> {
        let Some(entry) = st.apps.get(id) else {
            return Ok(());
        };
        let Some(inst) = st.instances.get(&entry.record.instance_id) else {
            return Ok(());
        };
        let dir = app_dir(&inst.dir, id);
        let grace = self.inner.cfg.stop_grace;
        let Some(entry) = st.apps.get_mut(id) else {
            return Ok(());
        };
        let child_exited = match entry.child.as_mut() {
            Some(c) => matches!(c.try_wait(), Ok(Some(_))),
            None => false,
        };
        let status: Option<SupervisorStatus> = read_json(&dir.join(files::STATUS))?;
        let rec = &mut entry.record;
        let before = rec.clone();
        if let Some(s) = &status {
            if let (Some(at), AppState::Accepted | AppState::Waiting) =
                (s.submitted_at, rec.state())
            {
                rec.lifecycle.advance(AppState::Submitted, at)?;
            }
            if s.spark_app_id.is_some() {
                rec.spark_app_id.clone_from(&s.spark_app_id);
                rec.event_log = s.event_log.as_deref().map(event_log_path);
                if let (Some(at), AppState::Submitted) = (s.running_at, rec.state()) {
                    rec.lifecycle.advance(AppState::Running, at)?;
                }
            }
            if let Some(exit) = &s.exit {
                rec.exit_code = exit.code;
                let to = if exit.stopped {
                    AppState::Stopped
                } else if exit.succeeded() {
                    AppState::Finished
                } else {
                    rec.failure_reason.clone_from(&exit.reason);
                    AppState::Failed
                };
                if to == AppState::Finished && !rec.state().can_become(to) {
                    // Never got as far as `submitted`: count as failed.
                    rec.lifecycle.advance(AppState::Failed, exit.at)?;
                } else {
                    rec.lifecycle.advance(to, exit.at)?;
                }
            }
        }
        if !rec.state().is_terminal() && status.as_ref().is_none_or(|s| s.exit.is_none()) {
            let sup_alive = procs::lock_held(&dir.join(files::LOCK));
            let grace_over = rec
                .launched_at
                .is_some_and(|t| now_ms().saturating_sub(t) > 10_000);
            let dead = !sup_alive && (child_exited || (entry.child.is_none() && grace_over));
            if dead {
                match status
                    .as_ref()
                    .and_then(|s| s.driver_pid.map(|p| (p, s.session_id)))
                {
                    Some((pgid, sid)) => {
                        // The supervisor died under a running driver: nobody can record its
                        // exit any more, so end it.
                        procs::kill_group(pgid, grace);
                        procs::kill_session(sid, 0, grace);
                        if dir.join(files::STOP).exists() {
                            rec.lifecycle.advance(AppState::Stopped, now_ms())?;
                        } else {
                            rec.failure_reason = Some("supervisor lost; driver killed".into());
                            rec.lifecycle.advance(AppState::Failed, now_ms())?;
                        }
                    }
                    None if child_exited => {
                        let log =
                            fs::read_to_string(dir.join(files::SUPERVISOR_LOG)).unwrap_or_default();
                        rec.failure_reason = Some(format!(
                            "supervisor failed before starting spark-submit: {}",
                            log.lines().last().unwrap_or("no output")
                        ));
                        rec.lifecycle.advance(AppState::Failed, now_ms())?;
                    }
                    None => {
                        // Re-attached and the supervisor never started the driver: start it
                        // again (the supervisor itself refuses to start a driver twice).
                        entry.child = Some(self.spawn_supervisor(&dir)?);
                        entry.record.launched_at = Some(now_ms());
                    }
                }
            }
        }
        if entry.record != before {
            self.save_record(&dir, &entry.record)?;
        }
        if entry.record.state().is_terminal() {
            if let Some(mut c) = entry.child.take() {
                let _ = c.try_wait();
            }
            remove_properties(&dir);
        }
        Ok(())
    }

    fn schedule(&self, st: &mut State, instance_id: &str) -> Result<(), RunnerError> {
        let Some(inst) = st.instances.get(instance_id) else {
            return Ok(());
        };
        let quota = inst.spec.quota;
        let inst_dir = inst.dir.clone();
        let (mut active, mut cores) = (0u32, 0u32);
        let mut queue: Vec<(u64, String)> = Vec::new();
        for e in st.apps.values() {
            let r = &e.record;
            if r.instance_id != instance_id || r.state().is_terminal() {
                continue;
            }
            if r.launched {
                active += 1;
                cores += r.cores;
            } else {
                queue.push((r.lifecycle.accepted_at(), r.id.clone()));
            }
        }
        queue.sort();
        let mut blocked = false;
        for (_, id) in queue {
            let Some(app_cores) = st.apps.get(&id).map(|e| e.record.cores) else {
                continue;
            };
            let fits = quota.admits(active, cores, app_cores);
            let dir = app_dir(&inst_dir, &id);
            if fits && !blocked {
                match self.launch(st, instance_id, &id) {
                    Ok(()) => {
                        active += 1;
                        cores += app_cores;
                    }
                    Err(err) => {
                        if let Some(e) = st.apps.get_mut(&id) {
                            e.record.failure_reason = Some(format!("could not start: {err}"));
                            e.record.lifecycle.advance(AppState::Failed, now_ms())?;
                            self.save_record(&dir, &e.record)?;
                        }
                    }
                }
            } else {
                blocked = true;
                if let Some(e) = st.apps.get_mut(&id) {
                    if e.record.state() == AppState::Accepted {
                        e.record.lifecycle.advance(AppState::Waiting, now_ms())?;
                        self.save_record(&dir, &e.record)?;
                    }
                }
            }
        }
        Ok(())
    }

    /// The effective conf; when encryption is requested, with the instance's UI keystore
    /// (generated on first use).
    fn conf_for(
        &self,
        inst: &Inst,
        app_id: &str,
        details: &ApplicationDetails,
    ) -> Result<EffectiveConf, RunnerError> {
        let ks = existing_keystore(&inst.dir);
        let eff = self.effective_conf(inst, app_id, details, ks.as_ref())?;
        if eff.encrypted && ks.is_none() {
            let ks = generate_keystore(&inst.dir, self.inner.cfg.java_home.as_deref())?;
            return self.effective_conf(inst, app_id, details, Some(&ks));
        }
        Ok(eff)
    }

    fn effective_conf(
        &self,
        inst: &Inst,
        app_id: &str,
        details: &ApplicationDetails,
        keystore: Option<&Keystore>,
    ) -> Result<EffectiveConf, RunnerError> {
        let cfg = &self.inner.cfg;
        let mut platform = cfg.platform_defaults.clone();
        if let Some(py) = &cfg.python {
            platform.insert("spark.pyspark.python".into(), py.display().to_string());
        }
        if let Some(name) = &details.name {
            platform.insert("spark.app.name".into(), name.clone());
        }
        let master = match (&inst.spec.backend, &inst.cluster) {
            (Backend::Local, _) => {
                let n = details
                    .conf
                    .get("spark.driver.cores")
                    .or_else(|| inst.spec.default_config.get("spark.driver.cores"))
                    .and_then(|v| v.trim().parse::<u32>().ok())
                    .unwrap_or(1)
                    .max(1);
                format!("local[{n}]")
            }
            (Backend::Standalone { worker_cores, .. }, cluster) => {
                platform.insert("spark.cores.max".into(), worker_cores.to_string());
                cluster
                    .as_ref()
                    .map(ClusterInfo::master_url)
                    .unwrap_or_else(|| "spark://127.0.0.1:0".into())
            }
        };
        let dir = app_dir(&inst.dir, app_id);
        let event_log_dir = inst.dir.join("eventlogs");
        let local_dir = dir.join("tmp");
        Ok(conf::layer(
            &platform,
            &inst.spec.default_config,
            &details.conf,
            &Enforced {
                master,
                event_log_dir: &event_log_dir,
                local_dir: &local_dir,
                secret: &inst.secret,
                instance_id: &inst.spec.id,
                app_id,
                ui_keystore: keystore,
                env: &details.env,
            },
        )?)
    }

    fn daemon_conf(&self, spec: &InstanceSpec, dir: &Path, secret: &str) -> EffectiveConf {
        let mut public = SparkConf::new();
        public.insert("spark.authenticate".into(), "true".into());
        public.insert("spark.master.rest.enabled".into(), "false".into());
        public.insert("spark.ui.reverseProxy".into(), "false".into());
        public.insert("spark.worker.cleanup.enabled".into(), "true".into());
        // Executors' scratch (shuffle, spill) goes under the Worker's local dirs: keep them in
        // the instance's area, not /tmp.
        public.insert(
            "spark.local.dir".into(),
            dir.join("standalone/local").display().to_string(),
        );
        let encrypted = spec
            .default_config
            .get("spark.ssl.enabled")
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"));
        if encrypted {
            public.insert("spark.network.crypto.enabled".into(), "true".into());
        }
        let mut secret_conf = SparkConf::new();
        secret_conf.insert("spark.authenticate.secret".into(), secret.to_owned());
        EffectiveConf {
            public,
            secret: secret_conf,
            encrypted,
        }
    }

    fn base_env(&self, home: &Path, tmp: &Path) -> BTreeMap<String, String> {
        let cfg = &self.inner.cfg;
        let mut path = String::from("/usr/local/bin:/usr/bin:/bin");
        if let Some(j) = &cfg.java_home {
            path = format!("{}:{path}", j.join("bin").display());
        }
        if let Some(py) = cfg.python.as_ref().and_then(|p| p.parent()) {
            path = format!("{}:{path}", py.display());
        }
        let mut env = BTreeMap::new();
        env.insert("PATH".into(), path);
        env.insert("LANG".into(), "C.UTF-8".into());
        env.insert("HOME".into(), home.display().to_string());
        env.insert("TMPDIR".into(), tmp.display().to_string());
        env.insert("SPARK_HOME".into(), cfg.spark_home.display().to_string());
        env.insert("SPARK_LOCAL_IP".into(), "127.0.0.1".into());
        if let Some(j) = &cfg.java_home {
            env.insert("JAVA_HOME".into(), j.display().to_string());
        }
        if let Some(py) = &cfg.python {
            env.insert("PYSPARK_PYTHON".into(), py.display().to_string());
        }
        env
    }

    fn daemon_env(&self, inst_dir: &Path) -> DaemonEnv {
        let sa = inst_dir.join("standalone");
        let mut env = self.base_env(&sa, &sa);
        env.insert(
            "SPARK_CONF_DIR".into(),
            inst_dir.join("conf").display().to_string(),
        );
        env.insert("SPARK_NO_DAEMONIZE".into(), "1".into());
        let wrap = match self.inner.cfg.sandbox {
            Sandbox::None => Vec::new(),
            Sandbox::Bubblewrap => bwrap_daemon_args(&self.inner.cfg.data_dir, inst_dir),
        };
        DaemonEnv {
            spark_home: self.inner.cfg.spark_home.clone(),
            env,
            wrap,
        }
    }

    fn launch(&self, st: &mut State, instance_id: &str, app_id: &str) -> Result<(), RunnerError> {
        let cfg = &self.inner.cfg;
        let inst = st
            .instances
            .get(instance_id)
            .ok_or_else(|| RunnerError::UnknownInstance(instance_id.to_owned()))?;
        if matches!(inst.spec.backend, Backend::Standalone { .. }) && inst.cluster.is_none() {
            return Err(RunnerError::Cluster(
                "the instance's standalone cluster is not running (ensure_instance)".into(),
            ));
        }
        let dir = app_dir(&inst.dir, app_id);
        let details: ApplicationDetails =
            read_maybe_sealed_json(cfg.at_rest.as_deref(), instance_id, &dir, REQUEST)?
                .ok_or_else(|| RunnerError::UnknownApp(app_id.to_owned()))?;
        let eff = self.conf_for(inst, app_id, &details)?;
        let (home, tmp) = (dir.join("home"), dir.join("tmp"));
        private_dir(&home)?;
        private_dir(&tmp)?;
        let props = dir.join("spark.properties");
        write_atomic(&props, eff.to_properties().as_bytes(), 0o600)?;
        let files_dir = inst.dir.join("files");
        let mut args: Vec<String> = vec!["--properties-file".into(), props.display().to_string()];
        if let Some(c) = &details.class {
            args.extend(["--class".into(), c.clone()]);
        }
        let list = |v: &[String]| -> Result<String, RunnerError> {
            Ok(v.iter()
                .map(|f| resolve_in_area(&files_dir, f).map(|p| p.display().to_string()))
                .collect::<Result<Vec<_>, _>>()?
                .join(","))
        };
        if !details.jars.is_empty() {
            args.extend(["--jars".into(), list(&details.jars)?]);
        }
        if !details.files.is_empty() {
            args.extend(["--files".into(), list(&details.files)?]);
        }
        if !details.archives.is_empty() {
            args.extend(["--archives".into(), list(&details.archives)?]);
        }
        if !details.packages.is_empty() {
            args.extend(["--packages".into(), details.packages.join(",")]);
        }
        args.push(
            resolve_in_area(&files_dir, &details.application)?
                .display()
                .to_string(),
        );
        args.extend(details.arguments.iter().cloned());
        let mut env = self.base_env(&home, &tmp);
        env.insert(
            "SPARK_CONF_DIR".into(),
            inst.dir.join("conf").display().to_string(),
        );
        env.extend(details.env.iter().map(|(k, v)| (k.clone(), v.clone())));
        let submit = cfg.spark_home.join("bin/spark-submit");
        let (program, args) = match cfg.sandbox {
            Sandbox::None => (submit, args),
            Sandbox::Bubblewrap => {
                let local = matches!(inst.spec.backend, Backend::Local);
                let mut b = bwrap_args(&cfg.data_dir, &inst.dir, &dir, local);
                b.push(submit.display().to_string());
                b.extend(args);
                (PathBuf::from("bwrap"), b)
            }
        };
        // Standalone executors are the Worker's children, outside the driver's group.
        let executor_markers = if inst.cluster.is_some() {
            vec!["--worker-url".to_owned()]
        } else {
            Vec::new()
        };
        let spec = LaunchSpec {
            program,
            args,
            env,
            cwd: home.clone(),
            stop_grace_ms: u64::try_from(cfg.stop_grace.as_millis()).unwrap_or(5000),
            executor_markers,
        };
        write_json(&dir.join(files::LAUNCH), &spec)?;
        let child = self.spawn_supervisor(&dir)?;
        if let Some(e) = st.apps.get_mut(app_id) {
            e.child = Some(child);
            e.record.launched = true;
            e.record.launched_at = Some(now_ms());
            self.save_record(&dir, &e.record)?;
        }
        Ok(())
    }

    fn spawn_supervisor(&self, dir: &Path) -> Result<Child, RunnerError> {
        let sup = &self.inner.cfg.supervisor;
        let (prog, rest) = sup
            .split_first()
            .ok_or_else(|| RunnerError::Process("no supervisor command".into()))?;
        let log_path = dir.join(files::SUPERVISOR_LOG);
        let log = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .map_err(|e| RunnerError::io(&log_path, e))?;
        Command::new(prog)
            .args(rest)
            .arg("--app-dir")
            .arg(dir)
            .env_clear()
            .env("PATH", "/usr/local/bin:/usr/bin:/bin")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(log))
            .spawn()
            .map_err(|e| {
                RunnerError::Process(format!("supervisor {}: {e}", prog.to_string_lossy()))
            })
    }

    fn kick_completions(&self, st: &mut State) {
        for e in st.apps.values_mut() {
            if e.record.state().is_terminal() && !e.record.completion_done && !e.completion_running
            {
                e.completion_running = true;
                let record = e.record.clone();
                let runner = self.clone();
                std::thread::spawn(move || runner.run_completion(record));
            }
        }
    }

    fn run_completion(&self, record: AppRecord) {
        let Some(dir) = self
            .lock()
            .instances
            .get(&record.instance_id)
            .map(|i| app_dir(&i.dir, &record.id))
        else {
            return;
        };
        // A restart between sealing the event log and saving the record: read the sealed copy.
        let log = record.event_log.as_deref().map(|p| {
            let sealed = at_rest::sealed_path(p);
            if !p.exists() && sealed.is_file() {
                sealed
            } else {
                p.to_owned()
            }
        });
        let line = self
            .inner
            .completion
            .on_finished(&record, log.as_deref(), &dir);
        if let Some(line) = line {
            use std::io::Write;
            if let Ok(mut f) = fs::OpenOptions::new()
                .append(true)
                .open(dir.join(files::DRIVER_LOG))
            {
                let _ = writeln!(f, "{line}");
            }
        }
        remove_properties(&dir);
        // The hook has read the plaintext: seal what the run left behind.
        let sealed_log = match self.inner.cfg.at_rest.as_deref() {
            Some(a) => self.seal_finished(a, &record, &dir, log.as_deref()),
            None => None,
        };
        let mut st = self.lock();
        if let Some(e) = st.apps.get_mut(&record.id) {
            e.completion_running = false;
            e.record.completion_done = true;
            if sealed_log.is_some() {
                e.record.event_log = sealed_log;
            }
            if let Err(err) = self.save_record(&dir, &e.record) {
                tracing::warn!(app = %record.id, error = %err, "runner: could not save record");
            }
        }
    }

    /// Seal a terminal app's event log, driver log, supervisor log and summary, and remove
    /// the plaintext (and the launch spec, which holds the app's arguments and environment).
    /// Returns the sealed event log's path. Failures are logged, never fatal.
    fn seal_finished(
        &self,
        a: &dyn AtRest,
        record: &AppRecord,
        dir: &Path,
        event_log: Option<&Path>,
    ) -> Option<PathBuf> {
        let iid = &record.instance_id;
        let rel_app = format!("apps/{}", record.id);
        for (name, existing) in [
            (files::DRIVER_LOG, at_rest::Existing::Append),
            (files::SUPERVISOR_LOG, at_rest::Existing::Append),
            ("summary.json", at_rest::Existing::Replace),
            // The supervisor's record of the exit: its failure reason quotes the driver log.
            (files::STATUS, at_rest::Existing::Replace),
        ] {
            let rel = format!("{rel_app}/{name}");
            if let Err(e) = at_rest::seal_file_in_place(a, iid, &rel, &dir.join(name), existing) {
                tracing::warn!(app = %record.id, error = %e, "runner: could not seal {name}");
            }
        }
        // A request left in plaintext by an older version.
        if let Ok(Some(v)) = read_json::<serde_json::Value>(&dir.join(REQUEST)) {
            if let Err(e) = self.save_json(iid, dir, REQUEST, &v) {
                tracing::warn!(app = %record.id, error = %e, "runner: could not seal the request");
            }
        }
        let _ = fs::remove_file(dir.join(files::LAUNCH));
        // Spark's scratch (blocks, shuffle files of a killed run): of no use once terminal.
        let _ = fs::remove_dir_all(dir.join("tmp"));
        // On the standalone backend, the Worker's per-app dir holds the executors' copies of
        // the app's files and jars and their stdout/stderr: plaintext the run no longer needs.
        if let (Some(spark_id), Some(inst_dir)) = (
            record.spark_app_id.as_deref(),
            dir.parent().and_then(Path::parent),
        ) {
            if check_id(spark_id).is_ok() {
                let _ = fs::remove_dir_all(inst_dir.join("standalone/work").join(spark_id));
            }
        }
        let log = event_log?;
        if log.extension().is_some_and(|e| e == "spk") {
            return Some(log.to_owned());
        }
        let sealed = at_rest::sealed_path(log);
        if !log.exists() && sealed.is_file() {
            return Some(sealed);
        }
        match seal_event_log(a, iid, log) {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!(app = %record.id, error = %e, "runner: could not seal the event log");
                None
            }
        }
    }

    /// Persist an app's record: sealed (`record.json.spk`) with encryption at rest, else JSON.
    fn save_record(&self, dir: &Path, record: &AppRecord) -> Result<(), RunnerError> {
        self.save_json(&record.instance_id, dir, RECORD, record)
    }

    fn save_json<T: serde::Serialize>(
        &self,
        instance_id: &str,
        dir: &Path,
        name: &str,
        value: &T,
    ) -> Result<(), RunnerError> {
        let path = dir.join(name);
        let Some(a) = self.inner.cfg.at_rest.as_deref() else {
            return write_json(&path, value);
        };
        let bytes = serde_json::to_vec(value).map_err(|e| RunnerError::Json {
            path: path.clone(),
            source: e,
        })?;
        let sealed = a
            .seal(instance_id, &rel_in_app(dir, name), &bytes)
            .map_err(|e| RunnerError::io(&path, e))?;
        write_atomic(&at_rest::sealed_path(&path), &sealed, 0o600)?;
        match fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(RunnerError::io(&path, e)),
        }
    }

    /// Poll until `pred` holds for the app or `timeout` passes; returns the last record.
    pub fn wait_until(
        &self,
        instance_id: &str,
        app_id: &str,
        timeout: Duration,
        pred: impl Fn(&AppRecord) -> bool,
    ) -> Result<AppRecord, RunnerError> {
        let deadline = Instant::now() + timeout;
        loop {
            self.poll()?;
            let r = self.get(instance_id, app_id)?;
            if pred(&r) || Instant::now() > deadline {
                return Ok(r);
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Run [`Runner::poll`] every `interval` on a background thread until the handle drops.
    pub fn spawn_monitor(&self, interval: Duration) -> MonitorHandle {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let runner = self.clone();
        let thread = std::thread::spawn(move || {
            while !flag.load(Ordering::SeqCst) {
                if let Err(e) = runner.poll() {
                    tracing::warn!(error = %e, "runner: poll failed");
                }
                std::thread::sleep(interval);
            }
        });
        MonitorHandle {
            stop,
            thread: Some(thread),
        }
    }
}

const KEYSTORE: &str = "ui-keystore.p12";
const KEYSTORE_PASS: &str = "ui-keystore.pass";

fn existing_keystore(inst_dir: &Path) -> Option<Keystore> {
    let path = inst_dir.join(KEYSTORE);
    let password = fs::read_to_string(inst_dir.join(KEYSTORE_PASS)).ok()?;
    path.is_file().then(|| Keystore {
        path,
        password: password.trim().to_owned(),
    })
}

/// Generate the instance's self-signed PKCS#12 keystore for UI TLS with `keytool` (the password
/// is passed as a file, never on the command line).
fn generate_keystore(inst_dir: &Path, java_home: Option<&Path>) -> Result<Keystore, RunnerError> {
    let pass_path = inst_dir.join(KEYSTORE_PASS);
    let path = inst_dir.join(KEYSTORE);
    let password = random_hex(24)?;
    write_atomic(&pass_path, password.as_bytes(), 0o600)?;
    let tmp = inst_dir.join(format!(".{KEYSTORE}.tmp"));
    let _ = fs::remove_file(&tmp);
    let keytool = java_home
        .map(|j| j.join("bin/keytool"))
        .filter(|p| p.is_file())
        .unwrap_or_else(|| PathBuf::from("keytool"));
    let pass_arg = pass_path.display().to_string();
    let out = Command::new(&keytool)
        .args([
            "-genkeypair",
            "-alias",
            "sparkplane-ui",
            "-keyalg",
            "EC",
            "-groupname",
            "secp256r1",
            "-dname",
            "CN=127.0.0.1",
            "-ext",
            "SAN=ip:127.0.0.1,dns:localhost",
            "-validity",
            "825",
            "-storetype",
            "PKCS12",
            "-keystore",
        ])
        .arg(&tmp)
        .args(["-storepass:file", &pass_arg, "-keypass:file", &pass_arg])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| RunnerError::Process(format!("{}: {e}", keytool.display())))?;
    if !out.status.success() {
        return Err(RunnerError::Process(format!(
            "keytool failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    fs::set_permissions(&tmp, std::os::unix::fs::PermissionsExt::from_mode(0o600))
        .map_err(|e| RunnerError::io(&tmp, e))?;
    fs::rename(&tmp, &path).map_err(|e| RunnerError::io(&path, e))?;
    Ok(Keystore { path, password })
}

/// The app record's file name (`record.json`, or `record.json.spk` sealed).
const RECORD: &str = "record.json";
/// The submitted request's file name (it holds the app's conf values and environment).
const REQUEST: &str = "request.json";
/// The instance secret's file name (`secret`, or `secret.spk` sealed).
const SECRET: &str = "secret";

/// `apps/<id>/<name>` for a file of the app directory `dir`.
fn rel_in_app(dir: &Path, name: &str) -> String {
    let id = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    format!("apps/{id}/{name}")
}

/// Read a JSON file of an app directory that may be sealed.
fn read_maybe_sealed_json<T: serde::de::DeserializeOwned>(
    a: Option<&dyn AtRest>,
    instance_id: &str,
    dir: &Path,
    name: &str,
) -> Result<Option<T>, RunnerError> {
    let path = dir.join(name);
    match at_rest::read_maybe_sealed(a, instance_id, &rel_in_app(dir, name), &path)? {
        Some(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| RunnerError::Json { path, source: e }),
        None => Ok(None),
    }
}

fn load_record(
    a: Option<&dyn AtRest>,
    instance_id: &str,
    dir: &Path,
) -> Result<Option<AppRecord>, RunnerError> {
    read_maybe_sealed_json(a, instance_id, dir, RECORD)
}

/// Whether a finished app's directory (or its event log) still holds plaintext the runner
/// seals at the end of a run.
fn left_in_plaintext(app_dir: &Path, record: &AppRecord) -> bool {
    [
        files::DRIVER_LOG,
        files::SUPERVISOR_LOG,
        "summary.json",
        files::STATUS,
        files::LAUNCH,
        RECORD,
        REQUEST,
    ]
    .iter()
    .any(|n| app_dir.join(n).exists())
        || record
            .event_log
            .as_deref()
            .is_some_and(|p| p.exists() && p.extension().is_none_or(|e| e != "spk"))
}

/// Delete an app's `spark.properties` (it holds the secret and the app's conf; spark-submit
/// reads it only at start).
fn remove_properties(app_dir: &Path) {
    let _ = fs::remove_file(app_dir.join("spark.properties"));
}

/// Create the instance secret if there is none; with encryption at rest, seal it (a plaintext
/// secret from before is sealed in place).
fn ensure_secret(
    inst_dir: &Path,
    instance_id: &str,
    a: Option<&dyn AtRest>,
) -> Result<(), RunnerError> {
    let plain = inst_dir.join(SECRET);
    let Some(a) = a else {
        if !plain.exists() {
            write_atomic(&plain, random_hex(32)?.as_bytes(), 0o600)?;
        }
        return Ok(());
    };
    let sealed = at_rest::sealed_path(&plain);
    if sealed.exists() {
        let _ = fs::remove_file(&plain);
        return Ok(());
    }
    let secret = match fs::read_to_string(&plain) {
        Ok(s) => s.trim().to_owned(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => random_hex(32)?,
        Err(e) => return Err(RunnerError::io(&plain, e)),
    };
    let bytes = a
        .seal(instance_id, SECRET, secret.as_bytes())
        .map_err(|e| RunnerError::io(&sealed, e))?;
    write_atomic(&sealed, &bytes, 0o600)?;
    match fs::remove_file(&plain) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(RunnerError::io(&plain, e)),
    }
}

fn read_secret(
    inst_dir: &Path,
    instance_id: &str,
    a: Option<&dyn AtRest>,
) -> Result<String, RunnerError> {
    let p = inst_dir.join(SECRET);
    let bytes = at_rest::read_maybe_sealed(a, instance_id, SECRET, &p)?
        .ok_or_else(|| RunnerError::io(&p, std::io::ErrorKind::NotFound.into()))?;
    Ok(String::from_utf8_lossy(&bytes).trim().to_owned())
}

/// Seal a finished app's event log (a file of any codec, kept as is, or a rolling directory,
/// whose events are written as one plain JSON-lines stream) into `<name>.spk` next to it and
/// remove the plaintext. Returns the sealed file's path (`None`: nothing to seal).
fn seal_event_log(
    a: &dyn AtRest,
    instance_id: &str,
    log: &Path,
) -> Result<Option<PathBuf>, RunnerError> {
    let (Some(parent), Some(name)) = (log.parent(), log.file_name()) else {
        return Ok(None);
    };
    let name = name.to_string_lossy().into_owned();
    if log.is_file() {
        let rel = format!("eventlogs/{name}");
        at_rest::seal_file_in_place(a, instance_id, &rel, log, at_rest::Existing::Replace)?;
        // Hadoop's checksum file next to it.
        let _ = fs::remove_file(parent.join(format!(".{name}.crc")));
        return Ok(Some(at_rest::sealed_path(log)));
    }
    if !log.is_dir() {
        return Ok(None);
    }
    let opened = sparkplane_eventlog::open(log)
        .map_err(|e| RunnerError::Process(format!("{}: {e}", log.display())))?;
    let mut inner = name
        .strip_prefix("eventlog_v2_")
        .unwrap_or(&name)
        .to_owned();
    if opened.in_progress() {
        inner.push_str(".inprogress");
    }
    let plain_path = parent.join(&inner);
    let dst = at_rest::sealed_path(&plain_path);
    at_rest::write_sealed(a, instance_id, &format!("eventlogs/{inner}"), &dst, |w| {
        let mut err: Option<std::io::Error> = None;
        let res = opened.for_each_raw(|_, line| {
            if err.is_none() {
                if let Err(e) = w.write_all(line).and_then(|()| w.write_all(b"\n")) {
                    err = Some(e);
                }
            }
        });
        if let Some(e) = err {
            return Err(e);
        }
        res.map(|_| ())
            .map_err(|f| std::io::Error::other(f.error.to_string()))
    })?;
    fs::remove_dir_all(log).map_err(|e| RunnerError::io(log, e))?;
    Ok(Some(dst))
}

/// Spark's "Logging events to file:X" → the event log to analyse (a rolling log's directory,
/// or the single file without `.inprogress`).
fn event_log_path(reported: &str) -> PathBuf {
    let p = PathBuf::from(reported.trim_start_matches("file:"));
    if let Some(parent) = p.parent() {
        if parent
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with("eventlog_v2_"))
        {
            return parent.to_owned();
        }
    }
    let s = p.display().to_string();
    match s.strip_suffix(".inprogress") {
        Some(done) if Path::new(done).exists() || !p.exists() => PathBuf::from(done),
        _ => p,
    }
}

/// Resolve `name` (relative, or absolute inside the area) to a file inside `area`, refusing
/// anything that escapes it (`..`, symlinks out, other instances' paths) or does not exist.
pub fn resolve_in_area(area: &Path, name: &str) -> Result<PathBuf, RunnerError> {
    let bad = || RunnerError::BadPath(name.to_owned());
    if name.contains("://") {
        return Err(RunnerError::Unsupported(format!(
            "object-store URL `{name}` (upload the file into the instance's files area)"
        )));
    }
    let p = Path::new(name);
    let rel = if p.is_absolute() {
        p.strip_prefix(area).map_err(|_| bad())?
    } else {
        p
    };
    if rel.as_os_str().is_empty() || rel.components().any(|c| !matches!(c, Component::Normal(_))) {
        return Err(bad());
    }
    let full = area.join(rel);
    let canon = full.canonicalize().map_err(|_| bad())?;
    let area_canon = area.canonicalize().map_err(|_| bad())?;
    if !canon.starts_with(&area_canon) || !canon.is_file() {
        return Err(bad());
    }
    Ok(canon)
}

/// bubblewrap arguments (up to and including `--`) for an instance's standalone daemons: the
/// Worker's executors see only their own instance's directory. No `--die-with-parent`: the
/// daemons outlive a server restart.
fn bwrap_daemon_args(data_dir: &Path, inst_dir: &Path) -> Vec<String> {
    let d = |p: &Path| p.display().to_string();
    let mut a: Vec<String> = [
        "--unshare-pid",
        "--unshare-ipc",
        "--ro-bind",
        "/",
        "/",
        "--dev",
        "/dev",
        "--proc",
        "/proc",
        "--tmpfs",
        "/tmp",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    a.extend(["--tmpfs".into(), d(data_dir)]);
    a.extend(["--bind".into(), d(inst_dir), d(inst_dir)]);
    a.extend([
        "--chdir".into(),
        d(&inst_dir.join("standalone")),
        "--".into(),
    ]);
    a
}

/// bubblewrap arguments (up to and including `--`) for one app of an instance.
fn bwrap_args(data_dir: &Path, inst_dir: &Path, app_dir: &Path, own_net: bool) -> Vec<String> {
    let d = |p: &Path| p.display().to_string();
    let mut a: Vec<String> = [
        "--die-with-parent",
        "--unshare-pid",
        "--unshare-ipc",
        "--ro-bind",
        "/",
        "/",
        "--dev",
        "/dev",
        "--proc",
        "/proc",
        "--tmpfs",
        "/tmp",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    if own_net {
        a.push("--unshare-net".into());
    }
    // Hide the whole data dir (other instances, the server's DB and keys)…
    a.extend(["--tmpfs".into(), d(data_dir)]);
    // …except this instance's area, read-only, and the app's own directory, writable.
    a.extend(["--ro-bind".into(), d(inst_dir), d(inst_dir)]);
    a.extend(["--bind".into(), d(app_dir), d(app_dir)]);
    a.extend([
        "--bind".into(),
        d(&inst_dir.join("eventlogs")),
        d(&inst_dir.join("eventlogs")),
    ]);
    a.extend(["--chdir".into(), d(&app_dir.join("home")), "--".into()]);
    a
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolve_refuses_escapes() {
        let t = tempfile::tempdir().unwrap();
        let area = t.path().join("i1/files");
        fs::create_dir_all(&area).unwrap();
        fs::write(area.join("app.py"), "x").unwrap();
        fs::create_dir_all(t.path().join("i2/files")).unwrap();
        fs::write(t.path().join("i2/files/b.py"), "x").unwrap();
        std::os::unix::fs::symlink(t.path().join("i2/files/b.py"), area.join("link.py")).unwrap();
        assert!(resolve_in_area(&area, "app.py").is_ok());
        assert!(resolve_in_area(&area, &area.join("app.py").display().to_string()).is_ok());
        for bad in [
            "../../i2/files/b.py".to_owned(),
            t.path().join("i2/files/b.py").display().to_string(),
            "link.py".into(),
            "missing.py".into(),
            "".into(),
            "/etc/passwd".into(),
        ] {
            assert!(
                matches!(resolve_in_area(&area, &bad), Err(RunnerError::BadPath(_))),
                "{bad}"
            );
        }
        assert!(matches!(
            resolve_in_area(&area, "s3://bucket/app.py"),
            Err(RunnerError::Unsupported(_))
        ));
    }

    #[test]
    fn event_log_paths() {
        assert_eq!(
            event_log_path("file:/e/eventlog_v2_local-1/events_1_local-1.zstd"),
            PathBuf::from("/e/eventlog_v2_local-1")
        );
        assert_eq!(
            event_log_path("file:/e/local-1.inprogress"),
            PathBuf::from("/e/local-1")
        );
    }

    #[test]
    fn sandbox_detection_matches_bwrap_presence() {
        let have = std::env::var_os("PATH")
            .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join("bwrap").is_file()));
        if !have {
            assert_eq!(Sandbox::detect(), Sandbox::None);
        } else if std::env::var("SPARKPLANE_REQUIRE_ALL").as_deref() == Ok("1") {
            assert_eq!(Sandbox::detect(), Sandbox::Bubblewrap);
        }
    }

    #[test]
    fn reserved_env() {
        for n in ["PATH", "SPARK_HOME", "LD_PRELOAD", "JAVA_TOOL_OPTIONS"] {
            assert!(is_reserved_env(n));
        }
        assert!(!is_reserved_env("MY_VAR"));
    }
}
