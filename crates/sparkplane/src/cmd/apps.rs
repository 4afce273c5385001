//! `sparkplane apps list|get|logs|stop`: Spark applications of an instance, through the API at
//! `SPARKPLANE_URL` with the API key in `SPARKPLANE_APIKEY` (exchanged at `/identity/token`).
//! A private CA or self-signed server certificate is trusted with `SPARKPLANE_CA_CERT` (PEM).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context};
use serde_json::Value;

/// Connection settings shared by `apps` and `submit`.
#[derive(clap::Args, Clone)]
pub struct Conn {
    /// Server URL, e.g. https://127.0.0.1:8443.
    #[arg(long, env = "SPARKPLANE_URL")]
    pub url: String,
    /// API key (exchanged for a bearer token).
    #[arg(long, env = "SPARKPLANE_APIKEY", hide_env_values = true)]
    pub apikey: String,
    /// PEM certificate to trust (the server's self-signed one, or a private CA).
    #[arg(long, env = "SPARKPLANE_CA_CERT")]
    pub ca_cert: Option<PathBuf>,
}

/// An authenticated API client.
pub struct Api {
    http: reqwest::blocking::Client,
    base: String,
    token: String,
}

impl Api {
    /// Connect and exchange the API key for a token.
    pub fn connect(c: &Conn) -> anyhow::Result<Api> {
        let mut b = reqwest::blocking::Client::builder().timeout(Duration::from_secs(60));
        if let Some(p) = &c.ca_cert {
            let pem = std::fs::read(p).with_context(|| format!("reading {}", p.display()))?;
            b = b.add_root_certificate(
                reqwest::Certificate::from_pem(&pem).context("parsing --ca-cert")?,
            );
        }
        let http = b.build().context("building the HTTP client")?;
        let base = c.url.trim_end_matches('/').to_owned();
        let r = http
            .post(format!("{base}/identity/token"))
            .form(&[
                ("grant_type", "urn:ibm:params:oauth:grant-type:apikey"),
                ("apikey", c.apikey.as_str()),
            ])
            .send()
            .with_context(|| format!("connecting to {base}"))?;
        let v = answer(r)?;
        let token = v["access_token"]
            .as_str()
            .context("no access_token in the token answer")?
            .to_owned();
        Ok(Api { http, base, token })
    }

    /// A request with the bearer token.
    pub fn req(&self, method: reqwest::Method, path: &str) -> reqwest::blocking::RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token)
    }
}

/// The body of a successful answer as JSON (or a string), or the API's error message.
pub fn answer(r: reqwest::blocking::Response) -> anyhow::Result<Value> {
    let status = r.status();
    let text = r.text().context("reading the answer")?;
    let v: Value = serde_json::from_str(&text).unwrap_or(Value::String(text));
    if !status.is_success() {
        let msg = v["errors"][0]["message"]
            .as_str()
            .map(str::to_owned)
            .unwrap_or_else(|| v.to_string());
        bail!("{status}: {msg}");
    }
    Ok(v)
}

/// Arguments of `sparkplane apps`.
#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    conn: Conn,
    /// Instance id.
    #[arg(long)]
    instance: String,
    #[command(subcommand)]
    what: What,
}

#[derive(clap::Subcommand)]
enum What {
    /// List applications (optionally only those in STATE).
    List {
        /// accepted, waiting, submitted, running, finished, failed or stopped.
        #[arg(long)]
        state: Option<String>,
    },
    /// Show one application as JSON.
    Get {
        /// Application id.
        id: String,
    },
    /// Print the driver log.
    Logs {
        /// Application id.
        id: String,
    },
    /// Stop an application (idempotent).
    Stop {
        /// Application id.
        id: String,
    },
}

/// Run `sparkplane apps …`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let api = Api::connect(&args.conn)?;
    let apps = format!("/v3/analytics_engines/{}/spark_applications", args.instance);
    match args.what {
        What::List { state } => {
            let mut start: Option<String> = None;
            println!(
                "{:<38} {:<10} {:<26} SPARK APP ID",
                "ID", "STATE", "SUBMITTED"
            );
            loop {
                let mut q: Vec<(&str, String)> = vec![("limit", "1000".into())];
                if let Some(s) = &state {
                    q.push(("state", s.clone()));
                }
                if let Some(s) = &start {
                    q.push(("start", s.clone()));
                }
                let v = answer(api.req(reqwest::Method::GET, &apps).query(&q).send()?)?;
                for a in v["applications"].as_array().into_iter().flatten() {
                    println!(
                        "{:<38} {:<10} {:<26} {}",
                        a["id"].as_str().unwrap_or(""),
                        a["state"].as_str().unwrap_or(""),
                        a["submission_time"].as_str().unwrap_or(""),
                        a["spark_application_id"].as_str().unwrap_or("-")
                    );
                }
                match v["next_start"].as_str() {
                    Some(s) => start = Some(s.to_owned()),
                    None => break,
                }
            }
        }
        What::Get { id } => {
            let v = answer(
                api.req(reqwest::Method::GET, &format!("{apps}/{id}"))
                    .send()?,
            )?;
            println!("{}", serde_json::to_string_pretty(&v)?);
        }
        What::Logs { id } => {
            let v = answer(
                api.req(reqwest::Method::GET, &format!("{apps}/{id}/logs"))
                    .send()?,
            )?;
            match v {
                Value::String(s) => print!("{s}"),
                other => println!("{other}"),
            }
        }
        What::Stop { id } => {
            answer(
                api.req(reqwest::Method::DELETE, &format!("{apps}/{id}"))
                    .send()?,
            )?;
            println!("stopping {id}");
        }
    }
    Ok(ExitCode::SUCCESS)
}
