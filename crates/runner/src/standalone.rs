//! An instance's own Spark standalone cluster: one Master and one Worker on 127.0.0.1 with
//! random free ports, sharing the instance's secret through a 0600 properties file. Started and
//! stopped by the runner; its pids are recorded so a restarted runner finds it again.

use std::collections::BTreeMap;
use std::fs::OpenOptions;
use std::net::TcpListener;
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::error::RunnerError;
use crate::fsutil::{private_dir, read_json, write_atomic, write_json};
use crate::procs;
use crate::state::{now_ms, EpochMs};

/// A running standalone cluster.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ClusterInfo {
    /// Master pid (and process group).
    pub master_pid: u32,
    /// Worker pid (and process group; executors are its children).
    pub worker_pid: u32,
    /// Master RPC port on 127.0.0.1.
    pub master_port: u16,
    /// Master web UI port on 127.0.0.1.
    pub master_ui_port: u16,
    /// Worker web UI port on 127.0.0.1.
    pub worker_ui_port: u16,
    /// Worker cores.
    pub worker_cores: u32,
    /// When it was started.
    pub started_at: EpochMs,
}

impl ClusterInfo {
    /// `spark://127.0.0.1:PORT`.
    pub fn master_url(&self) -> String {
        format!("spark://127.0.0.1:{}", self.master_port)
    }

    /// Whether both daemons are still running.
    pub fn alive(&self) -> bool {
        let is = |pid: u32, class: &str| {
            procs::process_alive(pid) && procs::cmdline(pid).is_some_and(|c| c.contains(class))
        };
        is(self.master_pid, "deploy.master.Master") && is(self.worker_pid, "deploy.worker.Worker")
    }
}

/// What the runner needs to start daemons.
#[derive(Debug, Clone)]
pub struct DaemonEnv {
    /// `$SPARK_HOME`.
    pub spark_home: PathBuf,
    /// The base environment (allow-list) for the daemons.
    pub env: BTreeMap<String, String>,
    /// A confinement prefix (`bwrap … --`); empty = run directly.
    pub wrap: Vec<String>,
}

fn free_port() -> Result<u16, RunnerError> {
    let l = TcpListener::bind("127.0.0.1:0")
        .map_err(|e| RunnerError::Cluster(format!("no free port: {e}")))?;
    l.local_addr()
        .map(|a| a.port())
        .map_err(|e| RunnerError::Cluster(format!("no free port: {e}")))
}

fn wait_for_line(log: &Path, needle: &str, pid: u32, timeout: Duration) -> Result<(), RunnerError> {
    let deadline = Instant::now() + timeout;
    loop {
        if std::fs::read_to_string(log).is_ok_and(|t| t.contains(needle)) {
            return Ok(());
        }
        if !procs::process_alive(pid) {
            return Err(RunnerError::Cluster(format!(
                "daemon exited before `{needle}`; see {}",
                log.display()
            )));
        }
        if Instant::now() > deadline {
            return Err(RunnerError::Cluster(format!(
                "timed out waiting for `{needle}` in {}",
                log.display()
            )));
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn spawn_daemon(
    env: &DaemonEnv,
    args: &[String],
    log: &Path,
    cwd: &Path,
) -> Result<u32, RunnerError> {
    let out = OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(log)
        .map_err(|e| RunnerError::io(log, e))?;
    let err = out.try_clone().map_err(|e| RunnerError::io(log, e))?;
    let spark_class = env.spark_home.join("bin/spark-class");
    let (program, all_args): (PathBuf, Vec<String>) = if env.wrap.is_empty() {
        (spark_class, args.to_vec())
    } else {
        let mut a = env.wrap.clone();
        a.push(spark_class.display().to_string());
        a.extend(args.iter().cloned());
        (PathBuf::from("bwrap"), a)
    };
    let child = Command::new(&program)
        .args(&all_args)
        .env_clear()
        .envs(&env.env)
        .current_dir(cwd)
        .stdin(Stdio::null())
        .stdout(Stdio::from(out))
        .stderr(Stdio::from(err))
        .process_group(0)
        .spawn()
        .map_err(|e| RunnerError::Cluster(format!("{}: {e}", program.display())))?;
    // The daemon is reaped by whoever outlives it; detach the handle.
    let pid = child.id();
    std::thread::spawn(move || {
        let mut child = child;
        let _ = child.wait();
    });
    Ok(pid)
}

/// Start the instance's Master and Worker in `dir` (0700), with `daemon_conf` (including the
/// secret) in a 0600 properties file. Returns once the Worker has registered.
pub fn start(
    dir: &Path,
    env: &DaemonEnv,
    daemon_conf: &crate::conf::EffectiveConf,
    worker_cores: u32,
    worker_memory: &str,
) -> Result<ClusterInfo, RunnerError> {
    private_dir(dir)?;
    let work = dir.join("work");
    private_dir(&work)?;
    let props = dir.join(DAEMON_PROPERTIES);
    write_atomic(&props, daemon_conf.to_properties().as_bytes(), 0o600)?;
    // Master and Worker read the file (with the secret) only when their JVM starts: remove it
    // once both have started, or failed to.
    let res = start_daemons(dir, env, &props, worker_cores, worker_memory);
    let _ = std::fs::remove_file(&props);
    res
}

/// The daemons' properties file (present only while they start).
const DAEMON_PROPERTIES: &str = "daemon.properties";

fn start_daemons(
    dir: &Path,
    env: &DaemonEnv,
    props: &Path,
    worker_cores: u32,
    worker_memory: &str,
) -> Result<ClusterInfo, RunnerError> {
    let work = dir.join("work");
    let props_s = props.display().to_string();
    let (master_port, master_ui_port, worker_ui_port) = (free_port()?, free_port()?, free_port()?);
    let master_log = dir.join("master.log");
    let worker_log = dir.join("worker.log");
    let _ = std::fs::remove_file(&master_log);
    let _ = std::fs::remove_file(&worker_log);
    let master_pid = spawn_daemon(
        env,
        &[
            "org.apache.spark.deploy.master.Master".into(),
            "--host".into(),
            "127.0.0.1".into(),
            "--port".into(),
            master_port.to_string(),
            "--webui-port".into(),
            master_ui_port.to_string(),
            "--properties-file".into(),
            props_s.clone(),
        ],
        &master_log,
        dir,
    )?;
    let stop_master = |e: RunnerError| {
        procs::kill_group(master_pid, Duration::from_secs(2));
        e
    };
    wait_for_line(
        &master_log,
        "I have been elected leader",
        master_pid,
        Duration::from_secs(90),
    )
    .map_err(stop_master)?;
    let worker_pid = spawn_daemon(
        env,
        &[
            "org.apache.spark.deploy.worker.Worker".into(),
            format!("spark://127.0.0.1:{master_port}"),
            "--host".into(),
            "127.0.0.1".into(),
            "--port".into(),
            "0".into(),
            "--webui-port".into(),
            worker_ui_port.to_string(),
            "--cores".into(),
            worker_cores.to_string(),
            "--memory".into(),
            worker_memory.to_owned(),
            "--work-dir".into(),
            work.display().to_string(),
            "--properties-file".into(),
            props_s,
        ],
        &worker_log,
        dir,
    )
    .map_err(stop_master)?;
    if let Err(e) = wait_for_line(
        &worker_log,
        "Successfully registered with master",
        worker_pid,
        Duration::from_secs(90),
    ) {
        procs::kill_group(worker_pid, Duration::from_secs(2));
        return Err(stop_master(e));
    }
    let info = ClusterInfo {
        master_pid,
        worker_pid,
        master_port,
        master_ui_port,
        worker_ui_port,
        worker_cores,
        started_at: now_ms(),
    };
    write_json(&dir.join("cluster.json"), &info)?;
    Ok(info)
}

/// The cluster recorded in `dir`, if its daemons still run.
pub fn find(dir: &Path) -> Result<Option<ClusterInfo>, RunnerError> {
    let info: Option<ClusterInfo> = read_json(&dir.join("cluster.json"))?;
    Ok(info.filter(ClusterInfo::alive))
}

/// Stop the Worker (and with it any executors) and the Master.
pub fn stop(dir: &Path) -> Result<(), RunnerError> {
    let info: Option<ClusterInfo> = read_json(&dir.join("cluster.json"))?;
    if let Some(info) = info {
        for pid in [info.worker_pid, info.master_pid] {
            let class = if pid == info.worker_pid {
                "deploy.worker.Worker"
            } else {
                "deploy.master.Master"
            };
            // Only signal what is still ours (pid reuse).
            if procs::cmdline(pid).is_some_and(|c| c.contains(class)) {
                procs::kill_group(pid, Duration::from_secs(5));
            }
        }
        let _ = std::fs::remove_file(dir.join("cluster.json"));
    }
    // Left by a version that kept it for the daemons' lifetime.
    let _ = std::fs::remove_file(dir.join(DAEMON_PROPERTIES));
    // The daemons' logs name every app the cluster ran: they go with the cluster.
    let _ = std::fs::remove_file(dir.join("master.log"));
    let _ = std::fs::remove_file(dir.join("worker.log"));
    Ok(())
}
