//! Event logs sealed at rest (`<name>.spk`): sparkplane's server encrypts a finished
//! application's log with a key this crate knows nothing about, and registers an opener at
//! start ([`register_opener`]) that turns a sealed file back into its plaintext bytes. The name
//! without `.spk` is the log's own name (its codec, `.inprogress`). Plain logs never take this
//! path.

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;
use std::sync::{Arc, RwLock};

/// The suffix of a sealed log file.
pub const SEALED_SUFFIX: &str = ".spk";

/// Opens a sealed file as a stream of its plaintext. Returns an error of kind
/// [`io::ErrorKind::Unsupported`] for a file it does not handle (the next opener is tried).
pub type Opener = dyn Fn(&Path) -> io::Result<Box<dyn Read + Send>> + Send + Sync;

static OPENERS: RwLock<Vec<Arc<Opener>>> = RwLock::new(Vec::new());

/// Register a process-wide opener of sealed logs (the server does so at start).
pub fn register_opener(opener: Arc<Opener>) {
    match OPENERS.write() {
        Ok(mut v) => v.push(opener),
        Err(p) => p.into_inner().push(opener),
    }
}

/// Whether `name` is a sealed file's name.
pub fn is_sealed_name(name: &str) -> bool {
    name.ends_with(SEALED_SUFFIX)
}

/// Whether `path` names a sealed file.
pub fn is_sealed(path: &Path) -> bool {
    path.file_name()
        .is_some_and(|n| is_sealed_name(&n.to_string_lossy()))
}

/// The log's own name: `name` without [`SEALED_SUFFIX`].
pub fn inner_name(name: &str) -> &str {
    name.strip_suffix(SEALED_SUFFIX).unwrap_or(name)
}

/// Open a sealed file through the registered openers.
pub fn open(path: &Path) -> io::Result<Box<dyn Read + Send>> {
    let openers: Vec<Arc<Opener>> = match OPENERS.read() {
        Ok(v) => v.clone(),
        Err(p) => p.into_inner().clone(),
    };
    for o in openers {
        match o(path) {
            Err(e) if e.kind() == io::ErrorKind::Unsupported => continue,
            other => return other,
        }
    }
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "sealed event log, and no key to open it in this process",
    ))
}

/// Open any log file: sealed ones through the openers, others as they are.
pub fn open_file(path: &Path) -> io::Result<Box<dyn Read + Send>> {
    if is_sealed(path) {
        open(path)
    } else {
        Ok(Box::new(File::open(path)?))
    }
}
