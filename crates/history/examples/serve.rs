//! Stand-alone `/api/v1` server, the same as `sparkplane history` (for benchmarks that should
//! not need the whole `sparkplane` binary): `serve [history] --log-dir DIR [--listen ADDR]`.

use std::time::Duration;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let opt = |k: &str| {
        args.iter()
            .position(|a| a == k)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let dir = opt("--log-dir").ok_or("--log-dir DIR is required")?;
    let listen = opt("--listen").unwrap_or_else(|| "127.0.0.1:18080".to_owned());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(sparkplane_history::http::serve(
        sparkplane_history::http::LogSource::Dir(dir.into()),
        listen.parse()?,
        Duration::from_secs(10),
    ))?;
    Ok(())
}
