//! Peak memory of streaming a large sealed object (what `benches/crypto.rs` cannot show):
//! writes `<MiB>` MiB through [`Objects::put_stream`] from a generated reader, then reads it
//! back with [`Objects::get_stream`], verifying the length, and prints the throughput of each.
//! Measure with `/usr/bin/time -v` (maximum resident set size):
//! `/usr/bin/time -v target/release/examples/stream_object <dir> 1024`.
#![allow(clippy::unwrap_used)]

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use futures_util::StreamExt;
use sparkplane_store::{crypto::MasterKey, ObjectStoreSpec, Objects, Store};
use tokio::io::{AsyncRead, ReadBuf};

/// `left` pseudo-random bytes, generated as they are read.
struct Gen {
    left: u64,
    x: u64,
}

impl AsyncRead for Gen {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let n = (buf.remaining() as u64).min(self.left) as usize;
        let mut chunk = vec![0u8; n];
        for b in &mut chunk {
            self.x ^= self.x << 13;
            self.x ^= self.x >> 7;
            self.x ^= self.x << 17;
            *b = self.x as u8;
        }
        buf.put_slice(&chunk);
        self.left -= n as u64;
        Poll::Ready(Ok(()))
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (dir, mib) = match args.as_slice() {
        [_, d, m] => (std::path::PathBuf::from(d), m.parse::<u64>().unwrap()),
        _ => {
            eprintln!("usage: stream_object <dir> <MiB>");
            std::process::exit(2);
        }
    };
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("sqlite://{}", dir.join("db.sqlite").display());
    let store = Store::open_encrypted(&url, MasterKey::generate())
        .await
        .unwrap();
    let spec = ObjectStoreSpec::parse(dir.join("objects").to_str().unwrap(), None).unwrap();
    let o = Objects::open(&spec)
        .unwrap()
        .with_keyring(store.keyring().unwrap().clone());
    let bytes = mib << 20;
    let key = "instances/bench/big.bin";
    let t = Instant::now();
    let n = o
        .put_stream(
            key,
            Gen {
                left: bytes,
                x: 0x9e37_79b9_7f4a_7c15,
            },
        )
        .await
        .unwrap();
    assert_eq!(n, bytes);
    let put = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let mut s = o.get_stream(key).await.unwrap();
    let mut got = 0u64;
    while let Some(c) = s.next().await {
        got += c.unwrap().len() as u64;
    }
    assert_eq!(got, bytes);
    let get = t.elapsed().as_secs_f64();
    let on_disk = std::fs::metadata(dir.join("objects").join(key))
        .unwrap()
        .len();
    println!(
        "{mib} MiB sealed object: put_stream {:.0} MB/s, get_stream {:.0} MB/s, {} bytes on disk",
        bytes as f64 / 1e6 / put,
        bytes as f64 / 1e6 / get,
        on_disk
    );
    o.delete(key).await.unwrap();
    store.close().await;
}
