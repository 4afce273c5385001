//! The `sparkplane` binary: server, CLI and exporter in one. Each subcommand lives in its own
//! module under `cmd/`; this file only parses arguments and dispatches.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod cmd;

/// Self-hosted, secure, multi-tenant serverless Spark with a performance observatory.
#[derive(Parser)]
#[command(name = "sparkplane", version, about, long_about = None, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Analyse a Spark event log (file, rolling directory, or a directory of many applications).
    Analyze(cmd::analyze::Args),
    /// Run benchmarks and benchmark-data generators.
    Bench(cmd::bench::Args),
    /// Analyse one event log locally and upload only its redacted summary (bucket or server).
    Export(cmd::export::Args),
    /// Run a Spark job (spark-submit …), then export its event log; returns the job's exit code.
    Exec(cmd::exec::Args),
    /// Run the control-plane server (HTTPS API, portal).
    #[cfg(feature = "server")]
    Serve(cmd::serve::Args),
    /// Operator commands on the server's data (portal passwords, …); the server may be stopped.
    #[cfg(feature = "server")]
    Admin(cmd::admin::Args),
    /// Serve Spark History Server's REST API (/api/v1) for a directory of event logs.
    #[cfg(feature = "server")]
    History(cmd::history::Args),
    /// Submit a Spark application to an instance (uploads the file first); --wait follows it.
    Submit(cmd::submit::Args),
    /// List, inspect, read the logs of, or stop an instance's Spark applications.
    Apps(cmd::apps::Args),
    /// Internal: supervise one Spark application (started by the runner).
    #[command(hide = true)]
    Supervise(cmd::supervise::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Analyze(args) => cmd::analyze::run(args),
        Command::Bench(args) => cmd::bench::run(args),
        Command::Export(args) => cmd::export::run(args),
        Command::Exec(args) => cmd::exec::run(args),
        #[cfg(feature = "server")]
        Command::Serve(args) => cmd::serve::run(args),
        #[cfg(feature = "server")]
        Command::Admin(args) => cmd::admin::run(args),
        #[cfg(feature = "server")]
        Command::History(args) => cmd::history::run(args),
        Command::Submit(args) => cmd::submit::run(args),
        Command::Apps(args) => cmd::apps::run(args),
        Command::Supervise(args) => cmd::supervise::run(args),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("sparkplane: error: {err:#}");
            ExitCode::from(2)
        }
    }
}
