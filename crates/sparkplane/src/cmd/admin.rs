//! `sparkplane admin …`: operator commands that work on the server's data directory and
//! database directly (the server may be stopped). Each operation is one variant of
//! [`AdminCommand`]; add new ones there and in [`run`].

use std::io::BufRead;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context};
use sparkplane_server::{Settings, SettingsLayer};

const EXAMPLES: &str = "Examples:
  # the bootstrap Administrator's portal password (read from stdin, never argv)
  printf '%s\\n' \"$PORTAL_PASSWORD\" | sparkplane admin set-password --data-dir ./sparkplane-data
  # another user's, by name, e-mail or id
  printf '%s\\n' \"$PW\" | sparkplane admin set-password --user alice@example.com
  # rotate the master key of encryption at rest while the server runs
  SPARKPLANE_APIKEY=$(cat ./sparkplane-data/admin-apikey) sparkplane admin rotate-master-key \\
      --url https://127.0.0.1:8443 --ca-cert ./sparkplane-data/tls-cert.pem";

#[derive(clap::Args)]
#[command(after_help = EXAMPLES)]
pub struct Args {
    #[command(subcommand)]
    command: AdminCommand,
}

/// Where the server keeps its state (same flags and environment as `serve`).
#[derive(clap::Args)]
pub struct StoreArgs {
    /// TOML settings file of the server (keys as for `serve`).
    #[arg(long, env = "SPARKPLANE_CONFIG")]
    config: Option<PathBuf>,
    /// Data directory (default ./sparkplane-data).
    #[arg(long, env = "SPARKPLANE_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// Database: sqlite://PATH (default <data-dir>/sparkplane.db) or postgres://…
    #[arg(long, env = "SPARKPLANE_DATABASE_URL")]
    database_url: Option<String>,
    /// Master key of encryption at rest (default <data-dir>/master-key).
    #[arg(long, env = "SPARKPLANE_MASTER_KEY_FILE")]
    master_key_file: Option<PathBuf>,
}

impl StoreArgs {
    fn settings(self) -> anyhow::Result<Settings> {
        let flags = SettingsLayer {
            data_dir: self.data_dir,
            database_url: self.database_url,
            master_key_file: self.master_key_file,
            ..Default::default()
        };
        let file = match &self.config {
            Some(path) => SettingsLayer::from_toml_file(path)?,
            None => SettingsLayer::default(),
        };
        Ok(Settings::resolve(flags.or(file))?)
    }
}

#[derive(clap::Subcommand)]
pub enum AdminCommand {
    /// Set the web-portal password of a user (default: the bootstrap Administrator `admin`).
    /// The password is read from the first line of standard input, never from the command
    /// line; at least 12 characters. The user's open portal sessions end.
    SetPassword {
        #[command(flatten)]
        store: StoreArgs,
        /// User name, principal id (`usr-…`) or e-mail.
        #[arg(long, default_value = "admin")]
        user: String,
    },
    /// Rotate the master key of encryption at rest on a RUNNING server: it generates a new key,
    /// re-wraps every data key with it in one transaction and replaces the master key file
    /// (audited). Needs an Administrator API key (`SPARKPLANE_APIKEY`).
    RotateMasterKey {
        #[command(flatten)]
        conn: super::apps::Conn,
    },
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    match args.command {
        AdminCommand::SetPassword { store, user } => set_password(store, &user),
        AdminCommand::RotateMasterKey { conn } => rotate_master_key(&conn),
    }
}

fn read_password() -> anyhow::Result<String> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("reading the password from standard input")?;
    let pw = line.trim_end_matches(['\n', '\r']).to_owned();
    if pw.is_empty() {
        bail!("no password on standard input (e.g. `printf '%s\\n' \"$PW\" | sparkplane admin set-password`)");
    }
    Ok(pw)
}

fn set_password(store_args: StoreArgs, user: &str) -> anyhow::Result<ExitCode> {
    let settings = store_args.settings()?;
    let password = read_password()?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let p = runtime.block_on(sparkplane_server::portal::admin::set_password(
        &settings, user, &password,
    ))?;
    println!("portal password set for {} ({})", p.name, p.id);
    Ok(ExitCode::SUCCESS)
}

fn rotate_master_key(conn: &super::apps::Conn) -> anyhow::Result<ExitCode> {
    let api = super::apps::Api::connect(conn)?;
    let v = super::apps::answer(
        api.req(reqwest::Method::POST, "/v1/admin/rotate_master_key")
            .send()
            .context("calling /v1/admin/rotate_master_key")?,
    )?;
    println!(
        "master key rotated: {} data keys re-wrapped; new master key id {}",
        v["rewrapped_data_keys"],
        v["master_key_id"].as_str().unwrap_or("?")
    );
    Ok(ExitCode::SUCCESS)
}
