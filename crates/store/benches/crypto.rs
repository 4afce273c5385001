//! Encryption-at-rest throughput (release): sealing and opening a 64 MiB object through
//! [`Objects`] on a local directory (whole-object `put`/`get` and streaming
//! `put_stream`/`get_stream`, with the unencrypted store as the baseline), and sealing/opening
//! small column values. Run: `cargo bench -p sparkplane-store --bench crypto`.
//! Peak memory of streaming a 1 GiB object: `examples/stream_object.rs`.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use futures_util::StreamExt;
use sparkplane_store::{crypto::MasterKey, Keyring, ObjectStoreSpec, Objects, Store};

const OBJECT: usize = 64 << 20;

struct Env {
    rt: tokio::runtime::Runtime,
    _dir: tempfile::TempDir,
    _store: Store,
    keyring: Arc<Keyring>,
    plain: Objects,
    sealed: Objects,
}

fn env() -> Env {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("db.sqlite").display());
    let store = rt
        .block_on(Store::open_encrypted(&url, MasterKey::generate()))
        .unwrap();
    let keyring = store.keyring().unwrap().clone();
    let spec = ObjectStoreSpec::parse(dir.path().join("objects").to_str().unwrap(), None).unwrap();
    let plain = Objects::open(&spec).unwrap();
    let sealed = plain.clone().with_keyring(keyring.clone());
    Env {
        rt,
        _dir: dir,
        _store: store,
        keyring,
        plain,
        sealed,
    }
}

fn data(n: usize) -> Vec<u8> {
    // Incompressible-looking bytes (AEAD speed does not depend on content anyway).
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

async fn drain(o: &Objects, key: &str) -> usize {
    let mut s = o.get_stream(key).await.unwrap();
    let mut n = 0;
    while let Some(c) = s.next().await {
        n += c.unwrap().len();
    }
    n
}

fn objects(c: &mut Criterion) {
    let e = env();
    let body = data(OBJECT);
    let mut g = c.benchmark_group("object_64MiB");
    g.sample_size(10);
    g.throughput(Throughput::Bytes(OBJECT as u64));
    for (name, o) in [("plain", &e.plain), ("sealed", &e.sealed)] {
        let key = format!("instances/bench/{name}.bin");
        g.bench_function(BenchmarkId::new("put", name), |b| {
            b.iter(|| e.rt.block_on(o.put(&key, body.clone())).unwrap())
        });
        g.bench_function(BenchmarkId::new("get", name), |b| {
            b.iter(|| assert_eq!(e.rt.block_on(o.get(&key)).unwrap().len(), OBJECT))
        });
        let skey = format!("instances/bench/{name}-stream.bin");
        g.bench_function(BenchmarkId::new("put_stream", name), |b| {
            b.iter(|| {
                e.rt.block_on(o.put_stream(&skey, std::io::Cursor::new(body.as_slice())))
                    .unwrap()
            })
        });
        g.bench_function(BenchmarkId::new("get_stream", name), |b| {
            b.iter(|| assert_eq!(e.rt.block_on(drain(o, &skey)), OBJECT))
        });
    }
    g.finish();
}

fn values(c: &mut Criterion) {
    let e = env();
    let mut g = c.benchmark_group("value");
    for size in [32usize, 500] {
        let v = data(size);
        g.throughput(Throughput::Bytes(size as u64));
        g.bench_function(BenchmarkId::new("seal", size), |b| {
            b.iter(|| {
                e.rt.block_on(e.keyring.seal_value("instance/bench", "t/c", &v))
                    .unwrap()
            })
        });
        let sealed =
            e.rt.block_on(e.keyring.seal_value("instance/bench", "t/c", &v))
                .unwrap();
        g.bench_function(BenchmarkId::new("open", size), |b| {
            b.iter(|| {
                e.keyring
                    .open_value("instance/bench", "t/c", &sealed)
                    .unwrap()
            })
        });
    }
    g.finish();
}

criterion_group!(benches, objects, values);
criterion_main!(benches);
