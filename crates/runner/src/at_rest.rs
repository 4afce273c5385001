//! Encryption at rest of what the runner keeps on disk: the instance's Spark secret, and — once
//! an application is terminal and its completion hook has returned — its event log, driver
//! log, summary, record and request. The runner does not know the keys: the server implements
//! [`AtRest`] (with its keyring and the instance's data key) and passes it in
//! [`crate::RunnerConfig::at_rest`]. `None` keeps everything in plaintext (CLI-only uses, unit
//! tests).
//!
//! Every sealed item is bound to its instance and its path relative to the instance's area
//! (`apps/<id>/driver.log`, `eventlogs/local-1.zstd`, …) as associated data, so a sealed file
//! moved to another place or instance fails to open. Sealed files carry the suffix
//! [`SEALED_SUFFIX`] after the name of the plaintext they replace; the context of a sealed file
//! is the relative path *without* the suffix.
//!
//! While an application runs, Spark writes its event log and the supervisor its driver log in
//! plaintext (Spark cannot write through sparkplane's keys); they are sealed when it ends.

use std::fs;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use crate::error::RunnerError;

/// The suffix of sealed files (`driver.log` → `driver.log.spk`).
pub const SEALED_SUFFIX: &str = ".spk";

/// A writer that seals what is written to it; [`SealWriter::finish`] writes the last segment
/// (without it the sealed file is truncated and fails to open).
pub trait SealWriter: Write + Send {
    /// Seal the final segment and flush the output.
    fn finish(self: Box<Self>) -> io::Result<()>;
}

/// Sealing and opening with the instance's data key. `instance_id` + `rel` (a path relative to
/// the instance's area, `/`-separated) are the associated data.
pub trait AtRest: Send + Sync {
    /// Seal a small value in memory.
    fn seal(&self, instance_id: &str, rel: &str, plain: &[u8]) -> io::Result<Vec<u8>>;
    /// Open a value sealed by [`AtRest::seal`] with the same context; an integrity failure is
    /// an error (`ErrorKind::InvalidData`), never plaintext.
    fn open(&self, instance_id: &str, rel: &str, sealed: &[u8]) -> io::Result<Vec<u8>>;
    /// Stream-seal everything written to the returned writer into `out` (bounded memory).
    fn sealer(
        &self,
        instance_id: &str,
        rel: &str,
        out: Box<dyn Write + Send>,
    ) -> io::Result<Box<dyn SealWriter>>;
    /// Stream-open `input` (written by [`AtRest::sealer`] with the same context). A segment
    /// that fails authentication is a read error; no byte of it is returned.
    fn opener(
        &self,
        instance_id: &str,
        rel: &str,
        input: Box<dyn Read + Send>,
    ) -> io::Result<Box<dyn Read + Send>>;
}

/// `path` with [`SEALED_SUFFIX`] appended.
pub fn sealed_path(path: &Path) -> PathBuf {
    let mut s = path.as_os_str().to_os_string();
    s.push(SEALED_SUFFIX);
    PathBuf::from(s)
}

fn io(path: &Path, e: io::Error) -> RunnerError {
    RunnerError::io(path, e)
}

/// What to do with an existing `<plain>.spk` when sealing `plain` again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Existing {
    /// The new plaintext replaces it (a summary written again).
    Replace,
    /// The new plaintext is appended to what it holds (lines logged after it was sealed).
    Append,
}

/// Seal the file `plain` (at `rel` in the instance's area) into `<plain>.spk` (0600, written
/// to a temporary name and renamed) and remove the plaintext. A missing file is not an error.
pub fn seal_file_in_place(
    at_rest: &dyn AtRest,
    instance_id: &str,
    rel: &str,
    plain: &Path,
    existing: Existing,
) -> Result<(), RunnerError> {
    let mut input = match fs::File::open(plain) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(io(plain, e)),
    };
    let before = match existing {
        Existing::Append => open_sealed_file(at_rest, instance_id, rel, plain)?,
        Existing::Replace => None,
    };
    let dst = sealed_path(plain);
    write_sealed(at_rest, instance_id, rel, &dst, |w| {
        if let Some(mut r) = before {
            io::copy(&mut r, w)?;
        }
        io::copy(&mut input, w).map(|_| ())
    })?;
    fs::remove_file(plain).map_err(|e| io(plain, e))
}

/// Append `bytes` to the sealed `<plain>.spk` (re-sealed as a stream, bounded memory; created
/// if missing).
pub fn append_sealed(
    at_rest: &dyn AtRest,
    instance_id: &str,
    rel: &str,
    plain: &Path,
    bytes: &[u8],
) -> Result<(), RunnerError> {
    let before = open_sealed_file(at_rest, instance_id, rel, plain)?;
    write_sealed(at_rest, instance_id, rel, &sealed_path(plain), |w| {
        if let Some(mut r) = before {
            io::copy(&mut r, w)?;
        }
        w.write_all(bytes)
    })
}

/// Write `dst` (0600, atomically) with what `fill` writes, sealed with context `rel`.
pub fn write_sealed(
    at_rest: &dyn AtRest,
    instance_id: &str,
    rel: &str,
    dst: &Path,
    fill: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> Result<(), RunnerError> {
    use std::os::unix::fs::OpenOptionsExt;
    let tmp = tmp_name(dst);
    let _ = fs::remove_file(&tmp);
    let out = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(|e| io(&tmp, e))?;
    let res = (|| {
        let mut w = at_rest.sealer(instance_id, rel, Box::new(io::BufWriter::new(out)))?;
        fill(&mut *w)?;
        w.finish()
    })();
    if let Err(e) = res {
        let _ = fs::remove_file(&tmp);
        return Err(io(dst, e));
    }
    fs::rename(&tmp, dst).map_err(|e| io(dst, e))
}

fn tmp_name(dst: &Path) -> PathBuf {
    let name = dst
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    dst.with_file_name(format!(".{name}.tmp"))
}

/// Open the sealed `<plain>.spk` as a stream; `Ok(None)` if it does not exist.
pub fn open_sealed_file(
    at_rest: &dyn AtRest,
    instance_id: &str,
    rel: &str,
    plain: &Path,
) -> Result<Option<Box<dyn Read + Send>>, RunnerError> {
    let p = sealed_path(plain);
    match fs::File::open(&p) {
        Ok(f) => Ok(Some(
            at_rest
                .opener(instance_id, rel, Box::new(io::BufReader::new(f)))
                .map_err(|e| io(&p, e))?,
        )),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io(&p, e)),
    }
}

/// Read a whole small file that may be sealed (`<plain>.spk`, preferred) or plaintext.
/// `Ok(None)` if neither exists.
pub fn read_maybe_sealed(
    at_rest: Option<&dyn AtRest>,
    instance_id: &str,
    rel: &str,
    plain: &Path,
) -> Result<Option<Vec<u8>>, RunnerError> {
    if let Some(a) = at_rest {
        if let Some(mut r) = open_sealed_file(a, instance_id, rel, plain)? {
            let mut out = Vec::new();
            r.read_to_end(&mut out)
                .map_err(|e| io(&sealed_path(plain), e))?;
            return Ok(Some(out));
        }
    }
    match fs::read(plain) {
        Ok(b) => Ok(Some(b)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io(plain, e)),
    }
}
