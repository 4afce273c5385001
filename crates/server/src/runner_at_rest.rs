//! Encryption at rest of the runner's files (the instance secret; a finished application's
//! event log, driver log, summary, record and request): [`RunnerAtRest`] implements
//! [`sparkplane_runner::AtRest`] with the server's [`Keyring`] and the instance's data key.
//!
//! Every sealed item uses the object format of [`sparkplane_store::crypto`] (64 KiB STREAM
//! segments, bounded memory) under the object key `instances/<id>/runner/<relative path>`:
//! the instance and the path inside its area are associated data, so a sealed file moved to
//! another place or instance fails to open. [`RunnerAtRest::register_eventlog_opener`] lets
//! `sparkplane_eventlog` (and so the per-instance History Server and the analysis) read sealed
//! `*.spk` event logs.

use std::future::Future;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use sparkplane_runner::{AtRest, SealWriter};
use sparkplane_store::crypto::{ObjectOpener, ObjectSealer, HEADER_LEN, SEGMENT};
use sparkplane_store::{Keyring, StoreError};

/// Size of a sealed segment (plaintext + GCM tag).
const CT_SEGMENT: usize = ObjectOpener::CT_SEGMENT;

/// The runner's [`AtRest`] in the server.
pub struct RunnerAtRest {
    keyring: Arc<Keyring>,
    /// `<runner dir>/instances`.
    instances_root: PathBuf,
    rt: tokio::runtime::Handle,
}

impl std::fmt::Debug for RunnerAtRest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunnerAtRest")
            .field("instances_root", &self.instances_root)
            .finish_non_exhaustive()
    }
}

fn object_key(instance_id: &str, rel: &str) -> String {
    format!("instances/{instance_id}/runner/{rel}")
}

fn io_err(e: StoreError) -> io::Error {
    match e {
        StoreError::Integrity(m) => io::Error::new(io::ErrorKind::InvalidData, m),
        other => io::Error::other(other.to_string()),
    }
}

impl RunnerAtRest {
    /// For the runner whose data dir is `runner_dir`; `rt` runs the (rare) data-key creation.
    pub fn new(keyring: Arc<Keyring>, runner_dir: &Path, rt: tokio::runtime::Handle) -> Self {
        RunnerAtRest {
            keyring,
            instances_root: runner_dir.join("instances"),
            rt,
        }
    }

    /// Run a keyring future from synchronous code. With the instance's data key loaded (every
    /// key is loaded at start; a new instance's is created on first use) it completes at once;
    /// otherwise it is driven on the server's runtime.
    fn block<F: Future>(&self, f: F) -> F::Output {
        let mut f = std::pin::pin!(f);
        let in_runtime = tokio::runtime::Handle::try_current().is_ok();
        {
            // The keyring's futures need a Tokio context even when they complete at once.
            let _ctx = (!in_runtime).then(|| self.rt.enter());
            let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
            if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) {
                return v;
            }
        }
        if in_runtime {
            tokio::task::block_in_place(|| self.rt.block_on(f))
        } else {
            self.rt.block_on(f)
        }
    }

    /// (instance id, path in its area without `.spk`) of a file under the runner's instances.
    pub fn context_of(&self, path: &Path) -> Option<(String, String)> {
        let rel = match path.strip_prefix(&self.instances_root) {
            Ok(r) => r.to_owned(),
            Err(_) => {
                let root = self.instances_root.canonicalize().ok()?;
                let parent = path.parent()?.canonicalize().ok()?;
                parent.strip_prefix(&root).ok()?.join(path.file_name()?)
            }
        };
        let mut parts = rel.components().map(|c| c.as_os_str().to_str());
        let id = parts.next()??.to_owned();
        let rest: Vec<&str> = parts.collect::<Option<Vec<_>>>()?;
        if rest.is_empty() {
            return None;
        }
        let joined = rest.join("/");
        let rel = joined
            .strip_suffix(sparkplane_runner::at_rest::SEALED_SUFFIX)
            .unwrap_or(&joined)
            .to_owned();
        Some((id, rel))
    }

    /// Open a sealed file under the runner's instances as a stream of its plaintext (its
    /// context is its place); `ErrorKind::Unsupported` for a file elsewhere.
    pub fn open_path(&self, path: &Path) -> io::Result<Box<dyn Read + Send>> {
        let (id, rel) = self.context_of(path).ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::Unsupported,
                format!("{}: not in the runner's area", path.display()),
            )
        })?;
        let f = std::fs::File::open(path)?;
        self.opener(&id, &rel, Box::new(io::BufReader::new(f)))
    }

    /// Append `line` to the sealed `<plain>.spk` of a file under the runner's instances (a
    /// driver log sealed before the outbox delivered the run's summary).
    pub fn append_line(
        &self,
        plain: &Path,
        line: &str,
    ) -> Result<(), sparkplane_runner::RunnerError> {
        let (id, rel) = self
            .context_of(plain)
            .ok_or_else(|| sparkplane_runner::RunnerError::BadPath(plain.display().to_string()))?;
        sparkplane_runner::at_rest::append_sealed(
            self,
            &id,
            &rel,
            plain,
            format!("{line}\n").as_bytes(),
        )
    }

    /// Let `sparkplane_eventlog::open` read the runner's sealed event logs.
    pub fn register_eventlog_opener(self: &Arc<Self>) {
        let me = Arc::clone(self);
        sparkplane_eventlog::sealed::register_opener(Arc::new(move |p: &Path| me.open_path(p)));
    }
}

impl AtRest for RunnerAtRest {
    fn seal(&self, instance_id: &str, rel: &str, plain: &[u8]) -> io::Result<Vec<u8>> {
        let key = object_key(instance_id, rel);
        self.block(self.keyring.seal_object(&key, plain))
            .map_err(io_err)
    }

    fn open(&self, instance_id: &str, rel: &str, sealed: &[u8]) -> io::Result<Vec<u8>> {
        self.keyring
            .open_object(&object_key(instance_id, rel), sealed)
            .map_err(io_err)
    }

    fn sealer(
        &self,
        instance_id: &str,
        rel: &str,
        mut out: Box<dyn Write + Send>,
    ) -> io::Result<Box<dyn SealWriter>> {
        let key = object_key(instance_id, rel);
        let mut sealer = self
            .block(self.keyring.object_sealer(&key))
            .map_err(io_err)?;
        out.write_all(&sealer.take_header())?;
        Ok(Box::new(StreamSealer {
            sealer,
            out,
            buf: Vec::with_capacity(SEGMENT),
        }))
    }

    fn opener(
        &self,
        instance_id: &str,
        rel: &str,
        mut input: Box<dyn Read + Send>,
    ) -> io::Result<Box<dyn Read + Send>> {
        let key = object_key(instance_id, rel);
        let mut header = [0u8; HEADER_LEN];
        input.read_exact(&mut header).map_err(|e| {
            if e.kind() == io::ErrorKind::UnexpectedEof {
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("`{key}`: sealed file too short"),
                )
            } else {
                e
            }
        })?;
        let opener = self.keyring.object_opener(&key, &header).map_err(io_err)?;
        Ok(Box::new(StreamOpener {
            opener,
            input,
            pending: Vec::with_capacity(CT_SEGMENT + 1),
            plain: Vec::new(),
            pos: 0,
            done: false,
        }))
    }
}

/// Seals 64 KiB segments as they fill; the last one on [`SealWriter::finish`].
struct StreamSealer {
    sealer: ObjectSealer,
    out: Box<dyn Write + Send>,
    buf: Vec<u8>,
}

impl Write for StreamSealer {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        // Seal a full segment only once more data follows it: the final segment is sealed
        // with the "last" flag in `finish`.
        if self.buf.len() == SEGMENT && !data.is_empty() {
            let ct = self.sealer.next(&self.buf).map_err(io_err)?;
            self.out.write_all(&ct)?;
            self.buf.clear();
        }
        let n = data.len().min(SEGMENT - self.buf.len());
        self.buf.extend_from_slice(&data[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

impl SealWriter for StreamSealer {
    fn finish(mut self: Box<Self>) -> io::Result<()> {
        let ct = self.sealer.last(&self.buf).map_err(io_err)?;
        self.out.write_all(&ct)?;
        self.out.flush()
    }
}

/// Opens one segment at a time (reading one byte ahead to know which is the last).
struct StreamOpener {
    opener: ObjectOpener,
    input: Box<dyn Read + Send>,
    pending: Vec<u8>,
    plain: Vec<u8>,
    pos: usize,
    done: bool,
}

impl StreamOpener {
    fn fill(&mut self) -> io::Result<()> {
        let mut eof = false;
        while self.pending.len() < CT_SEGMENT + 1 {
            let start = self.pending.len();
            self.pending.resize(CT_SEGMENT + 1, 0);
            let n = match self.input.read(&mut self.pending[start..]) {
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => 0,
                Err(e) => {
                    self.pending.truncate(start);
                    return Err(e);
                }
            };
            self.pending.truncate(start + n);
            if n == 0 {
                eof = true;
                break;
            }
        }
        if eof {
            self.plain = self.opener.last(&self.pending).map_err(io_err)?;
            self.pending.clear();
            self.done = true;
        } else {
            self.plain = self
                .opener
                .next(&self.pending[..CT_SEGMENT])
                .map_err(io_err)?;
            self.pending.drain(..CT_SEGMENT);
        }
        self.pos = 0;
        Ok(())
    }
}

impl Read for StreamOpener {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        while self.pos >= self.plain.len() {
            if self.done || out.is_empty() {
                return Ok(0);
            }
            self.fill()?;
        }
        let n = out.len().min(self.plain.len() - self.pos);
        out[..n].copy_from_slice(&self.plain[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open_all(a: &RunnerAtRest, id: &str, rel: &str, sealed: &[u8]) -> io::Result<Vec<u8>> {
        let mut back = Vec::new();
        a.opener(id, rel, Box::new(io::Cursor::new(sealed.to_vec())))?
            .read_to_end(&mut back)?;
        Ok(back)
    }

    /// Round trips through the streaming sealer/opener around segment boundaries (in both
    /// directions with the in-memory format); a flipped byte, a cut or a moved file fails.
    #[test]
    fn stream_round_trip_and_integrity() {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let url = format!(
            "sqlite://{}?mode=rwc",
            dir.path().join("db.sqlite").display()
        );
        let store = rt
            .block_on(sparkplane_store::Store::open_encrypted(
                &url,
                sparkplane_store::MasterKey::generate(),
            ))
            .unwrap();
        let keyring = store.keyring().unwrap().clone();
        let a = RunnerAtRest::new(keyring, dir.path(), rt.handle().clone());
        let rel = "apps/a/driver.log";
        for len in [
            0,
            1,
            SEGMENT - 1,
            SEGMENT,
            SEGMENT + 1,
            3 * SEGMENT,
            3 * SEGMENT + 7,
        ] {
            let plain: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
            let file = dir.path().join("sealed");
            {
                let out = std::fs::File::create(&file).unwrap();
                let mut w = a.sealer("i1", rel, Box::new(out)).unwrap();
                for c in plain.chunks(1000) {
                    w.write_all(c).unwrap();
                }
                w.finish().unwrap();
            }
            let streamed = std::fs::read(&file).unwrap();
            assert_eq!(
                open_all(&a, "i1", rel, &streamed).unwrap(),
                plain,
                "len {len}"
            );
            assert_eq!(a.open("i1", rel, &streamed).unwrap(), plain, "len {len}");
            let whole = a.seal("i1", rel, &plain).unwrap();
            assert_eq!(open_all(&a, "i1", rel, &whole).unwrap(), plain, "len {len}");
            assert!(
                open_all(&a, "i2", rel, &whole).is_err(),
                "len {len}: other instance"
            );
            assert!(open_all(&a, "i1", "apps/b/driver.log", &whole).is_err());
            let mut bad = streamed.clone();
            let last = bad.len() - 1;
            bad[last] ^= 1;
            assert!(
                open_all(&a, "i1", rel, &bad).is_err(),
                "len {len}: tampered"
            );
            let cut = &streamed[..streamed.len() - 1];
            assert!(
                open_all(&a, "i1", rel, cut).is_err(),
                "len {len}: truncated"
            );
        }
        let p = dir.path().join("instances/i1/eventlogs/local-1.zstd.spk");
        assert_eq!(
            a.context_of(&p),
            Some(("i1".into(), "eventlogs/local-1.zstd".into()))
        );
        assert_eq!(a.context_of(Path::new("/elsewhere/x.spk")), None);
    }
}
