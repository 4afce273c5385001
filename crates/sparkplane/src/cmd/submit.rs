//! `sparkplane submit --instance ID app.py [--conf k=v]… [--wait] [-- args]`: upload the file
//! into the instance's area, submit it, and with `--wait` follow its state (exit 0 when it
//! finishes, 1 when it fails or is stopped).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context};
use serde_json::json;

use crate::cmd::apps::{answer, Api, Conn};

/// Seconds `--wait` keeps retrying while the server cannot be reached.
const MAX_UNREACHABLE: u32 = 120;

/// Arguments of `sparkplane submit`.
#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    conn: Conn,
    /// Instance id.
    #[arg(long)]
    instance: String,
    /// The application file (uploaded as `<file name>` into the instance's area).
    app: PathBuf,
    /// Spark conf, repeatable: --conf spark.executor.memory=2g
    #[arg(long = "conf", value_name = "KEY=VALUE")]
    conf: Vec<String>,
    /// Application name.
    #[arg(long)]
    name: Option<String>,
    /// Main class (JVM applications).
    #[arg(long)]
    class: Option<String>,
    /// Follow the state until the application ends; exit 0 if it finished, 1 otherwise.
    #[arg(long)]
    wait: bool,
    /// Arguments for the application (after `--`).
    #[arg(last = true)]
    arguments: Vec<String>,
}

/// Run `sparkplane submit`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let mut conf = BTreeMap::new();
    for kv in &args.conf {
        let (k, v) = kv
            .split_once('=')
            .with_context(|| format!("--conf {kv}: expected KEY=VALUE"))?;
        conf.insert(k.to_owned(), v.to_owned());
    }
    let file_name = args
        .app
        .file_name()
        .and_then(|n| n.to_str())
        .context("the application path has no file name")?
        .to_owned();
    let bytes =
        std::fs::read(&args.app).with_context(|| format!("reading {}", args.app.display()))?;
    let api = Api::connect(&args.conn)?;
    let inst = &args.instance;
    answer(
        api.req(
            reqwest::Method::PUT,
            &format!("/v3/analytics_engines/{inst}/files/{file_name}"),
        )
        .body(bytes)
        .send()?,
    )?;
    let mut details = json!({"application": file_name, "arguments": args.arguments, "conf": conf});
    if let Some(n) = &args.name {
        details["name"] = json!(n);
    }
    if let Some(c) = &args.class {
        details["class"] = json!(c);
    }
    let apps = format!("/v3/analytics_engines/{inst}/spark_applications");
    let v = answer(
        api.req(reqwest::Method::POST, &apps)
            .json(&json!({"application_details": details}))
            .send()?,
    )?;
    let id = v["id"].as_str().context("no id in the answer")?.to_owned();
    println!("{id}");
    if !args.wait {
        return Ok(ExitCode::SUCCESS);
    }
    let spinner = indicatif::ProgressBar::new_spinner();
    spinner.enable_steady_tick(Duration::from_millis(120));
    let mut unreachable = 0u32;
    loop {
        let sent = api
            .req(reqwest::Method::GET, &format!("{apps}/{id}/state"))
            .send();
        let s = match sent {
            Ok(r) => {
                unreachable = 0;
                answer(r)?
            }
            // A server restart is not the application's outcome: keep following for a while.
            Err(e) if unreachable < MAX_UNREACHABLE => {
                unreachable += 1;
                spinner.set_message(format!("{id}: server unreachable ({e}); retrying"));
                std::thread::sleep(Duration::from_secs(1));
                continue;
            }
            Err(e) => return Err(e).context("following the application's state"),
        };
        let state = s["state"].as_str().unwrap_or("unknown").to_owned();
        spinner.set_message(format!("{id}: {state}"));
        match state.as_str() {
            "finished" => {
                spinner.finish_with_message(format!("{id}: finished"));
                return Ok(ExitCode::SUCCESS);
            }
            "failed" | "stopped" => {
                let d = answer(
                    api.req(reqwest::Method::GET, &format!("{apps}/{id}"))
                        .send()?,
                )?;
                let why = d["failure_reason"].as_str().unwrap_or("");
                spinner.finish_with_message(format!("{id}: {state} {why}"));
                return Ok(ExitCode::from(1));
            }
            "accepted" | "waiting" | "submitted" | "running" => {}
            other => bail!("unexpected state `{other}`"),
        }
        std::thread::sleep(Duration::from_secs(1));
    }
}
