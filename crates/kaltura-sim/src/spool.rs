//! Where uploaded bytes live: a spool file per upload token, and each token's byte state
//! behind a lock of its own so that chunks never race.

use anyhow::Context;
use bytes::Bytes;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// The byte state of one token, guarded by a per-token lock so chunks never race.
#[derive(Debug, Default)]
pub struct TokenFile {
    /// Contiguous bytes assembled.
    pub size: u64,
    /// Whether any data was ever written.
    pub exists: bool,
    /// Chunks waiting for a gap before them to be filled, by offset.
    pub parked: BTreeMap<u64, Bytes>,
}

/// The spool directory and the byte state of every token.
#[derive(Debug)]
pub struct Spool {
    dir: PathBuf,
    files: Mutex<HashMap<String, Arc<tokio::sync::Mutex<TokenFile>>>>,
    _temporary: Option<tempfile::TempDir>,
}

impl Spool {
    /// A spool in `dir`, or in a temporary directory removed with the spool.
    pub fn new(dir: Option<&Path>) -> anyhow::Result<Spool> {
        let (dir, temporary) = match dir {
            Some(d) => {
                std::fs::create_dir_all(d)
                    .with_context(|| format!("creating spool directory {}", d.display()))?;
                (d.to_path_buf(), None)
            }
            None => {
                let t = tempfile::Builder::new()
                    .prefix("kaltura-sim-spool")
                    .tempdir()
                    .context("creating a spool directory")?;
                (t.path().to_path_buf(), Some(t))
            }
        };
        Ok(Spool {
            dir,
            files: Mutex::new(HashMap::new()),
            _temporary: temporary,
        })
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The byte state of a token.
    pub fn token_file(&self, id: &str) -> Arc<tokio::sync::Mutex<TokenFile>> {
        self.files
            .lock()
            .expect("spool lock")
            .entry(id.to_string())
            .or_default()
            .clone()
    }

    /// Forgets every token's state.
    pub fn clear(&self) {
        self.files.lock().expect("spool lock").clear();
    }
}
