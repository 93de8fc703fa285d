//! The local-directory store: the embedded default, and what on-prem users with a NAS use.
//! Writes are atomic (temporary file, flush, fsync, rename, fsync of the directory); metadata and
//! checksum live beside the object in `<key>.meta.json`; nothing ever needs a restore. Every
//! write error is reported, a failed write leaves nothing behind, and temporary files of killed
//! runs are swept by [`LocalStore::sweep_stale_temp_files`].

use bytes::Bytes;
use futures_util::StreamExt;
use std::path::{Path, PathBuf};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::checksum::{verify_stream, Crc64};
use super::{check_len, head_existing};
use super::{
    ArchiveMeta, ArchiveStore, ByteStream, Error, Features, ObjectInfo, ObjectKey, PutOptions,
    RestoreStatus, RestoreTier, Result, StorageClass,
};

/// Suffix of the metadata file beside each object.
const META_SUFFIX: &str = ".meta.json";
/// Prefix of temporary files (never listed, never read).
const TMP_PREFIX: &str = ".tmp-";
/// Read size of `get`.
const READ_CHUNK: usize = 1 << 20;
/// Batches waiting for the writer thread.
const WRITE_QUEUE: usize = 4;
/// Bytes handed to the writer thread at once.
const WRITE_BATCH: usize = 1 << 20;
/// A temporary file older than this is stale even if a process with its pid is running (pids are
/// reused).
const STALE_TEMP_SECS: u64 = 24 * 3600;

/// What the metadata file holds.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct MetaFile {
    meta: ArchiveMeta,
    bytes: u64,
    crc64nvme: String,
}

/// A store in a local directory.
#[derive(Debug, Clone)]
pub struct LocalStore {
    root: PathBuf,
}

impl std::fmt::Display for LocalStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "local store {}", self.root.display())
    }
}

impl LocalStore {
    /// A store rooted at `root` (created if missing).
    pub fn new(root: impl Into<PathBuf>) -> Result<Self> {
        let root = root.into();
        std::fs::create_dir_all(&root).map_err(|e| Error::Backend {
            store: format!("local store {}", root.display()),
            op: "create directory",
            key: String::new(),
            detail: e.to_string(),
        })?;
        Ok(LocalStore { root })
    }

    fn path(&self, key: &ObjectKey) -> PathBuf {
        self.root.join(key.as_str())
    }

    fn meta_path(&self, key: &ObjectKey) -> PathBuf {
        self.root.join(format!("{}{META_SUFFIX}", key.as_str()))
    }

    fn io(&self, op: &'static str, key: &ObjectKey) -> impl Fn(std::io::Error) -> Error + '_ {
        let key = key.to_string();
        move |e| Error::Backend {
            store: self.to_string(),
            op,
            key: key.clone(),
            detail: if e.kind() == std::io::ErrorKind::StorageFull {
                format!("{e}: the archive disk is full; free space or point ARCHIVE_DIR at a larger disk, then run again (nothing half-written was kept)")
            } else {
                e.to_string()
            },
        }
    }

    /// The object's path and its directory, created if missing.
    async fn prepare(&self, key: &ObjectKey) -> Result<(PathBuf, PathBuf)> {
        let path = self.path(key);
        let dir = path.parent().unwrap_or(&self.root).to_path_buf();
        tokio::fs::create_dir_all(&dir)
            .await
            .map_err(self.io("create directory", key))?;
        Ok((path, dir))
    }

    /// A temporary file name of this process: its pid (for the sweep), a random part (two
    /// containers both run as pid 1 and may share a directory) and a counter.
    fn tmp_path(dir: &Path) -> PathBuf {
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        static RANDOM: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
        let random = RANDOM.get_or_init(|| {
            use std::hash::{BuildHasher, Hasher};
            let mut h = std::collections::hash_map::RandomState::new().build_hasher();
            h.write_u32(std::process::id());
            h.finish()
        });
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        dir.join(format!(
            "{TMP_PREFIX}{}-{random:016x}-{n}",
            std::process::id()
        ))
    }

    /// Writes `data` to `path` atomically; on any error the temporary file is removed.
    async fn write_atomic(path: &Path, data: &[u8]) -> std::io::Result<()> {
        let dir = path.parent().unwrap_or(Path::new("."));
        let tmp = Self::tmp_path(dir);
        // tokio buffers writes: without a flush a failed write (a full disk) is not reported.
        let written = match write_synced(&tmp, data).await {
            Ok(()) => tokio::fs::rename(&tmp, path).await,
            Err(e) => Err(e),
        };
        if let Err(e) = written {
            let _ = tokio::fs::remove_file(&tmp).await;
            return Err(e);
        }
        sync_dir(dir).await
    }

    /// Removes temporary files that killed runs left behind: those of processes that no longer
    /// run, and any older than a day. Returns how many were removed.
    pub async fn sweep_stale_temp_files(&self) -> Result<usize> {
        let root = self.root.clone();
        let store = self.to_string();
        tokio::task::spawn_blocking(move || sweep(&root))
            .await
            .map_err(|e| std::io::Error::other(e.to_string()))
            .and_then(|r| r)
            .map_err(|e| Error::Backend {
                store,
                op: "sweep temporary files in",
                key: String::new(),
                detail: e.to_string(),
            })
    }

    async fn read_meta(&self, key: &ObjectKey) -> Result<Option<MetaFile>> {
        match tokio::fs::read(self.meta_path(key)).await {
            Ok(b) => Ok(serde_json::from_slice(&b).ok()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(self.io("read metadata", key)(e)),
        }
    }
}

/// Whether a temporary file name belongs to a run that is gone (or is older than a day).
fn stale(name: &str, age: std::time::Duration) -> bool {
    let pid = name
        .strip_prefix(TMP_PREFIX)
        .and_then(|rest| rest.split('-').next())
        .and_then(|p| p.parse::<u32>().ok());
    let alive = |pid: u32| pid == std::process::id() || Path::new(&format!("/proc/{pid}")).exists();
    age.as_secs() > STALE_TEMP_SECS || pid.is_none_or(|p| !alive(p))
}

fn sweep(root: &Path) -> std::io::Result<usize> {
    let mut removed = 0;
    let mut dirs = vec![root.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir)? {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().to_string();
            let kind = entry.file_type()?;
            if kind.is_dir() {
                dirs.push(entry.path());
                continue;
            }
            if !name.starts_with(TMP_PREFIX) {
                continue;
            }
            let age = entry
                .metadata()?
                .modified()
                .ok()
                .and_then(|m| m.elapsed().ok())
                .unwrap_or_default();
            if stale(&name, age) {
                match std::fs::remove_file(entry.path()) {
                    Ok(()) => removed += 1,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => return Err(e),
                }
            }
        }
    }
    Ok(removed)
}

/// Every key under `prefix`, sorted: a walk of the folder the prefix names.
fn walk(root: &Path, prefix: &str) -> std::io::Result<Vec<ObjectKey>> {
    let start = match prefix.rsplit_once('/') {
        Some((dir, _)) if !dir.is_empty() => root.join(dir),
        _ => root.to_path_buf(),
    };
    let mut out = Vec::new();
    let mut dirs = vec![start];
    while let Some(dir) = dirs.pop() {
        let rd = match std::fs::read_dir(&dir) {
            Ok(r) => r,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        };
        for entry in rd.flatten() {
            let name = entry.file_name().to_string_lossy().to_string();
            if name.starts_with(TMP_PREFIX) || name.ends_with(META_SUFFIX) {
                continue;
            }
            let p = entry.path();
            if entry
                .file_type()
                .map(|t| t.is_dir())
                .unwrap_or_else(|_| p.is_dir())
            {
                dirs.push(p);
                continue;
            }
            let rel = p
                .strip_prefix(root)
                .unwrap_or(&p)
                .to_string_lossy()
                .replace('\\', "/");
            if rel.starts_with(prefix) {
                if let Ok(k) = ObjectKey::new(rel) {
                    out.push(k);
                }
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Writes a whole small file and syncs it, reporting every write error.
async fn write_synced(path: &Path, data: &[u8]) -> std::io::Result<()> {
    let mut f = tokio::fs::File::create(path).await?;
    f.write_all(data).await?;
    f.flush().await?;
    f.sync_all().await
}

async fn sync_dir(dir: &Path) -> std::io::Result<()> {
    tokio::fs::File::open(dir).await?.sync_all().await
}

#[async_trait::async_trait]
impl ArchiveStore for LocalStore {
    fn features(&self) -> Features {
        Features {
            storage_classes: false,
            restore: false,
            stored_checksums: false,
        }
    }

    async fn put(
        &self,
        key: &ObjectKey,
        mut body: ByteStream,
        opts: &PutOptions,
    ) -> Result<ObjectInfo> {
        let (path, dir) = self.prepare(key).await?;
        let tmp = Self::tmp_path(&dir);
        // The writes run on a blocking thread fed through a short queue of ~1 MiB batches (a
        // network source gives small chunks: one wake-up each would cost more than the write),
        // so reading the source, checksumming and writing overlap; memory stays at a few batches.
        let (tx, mut rx) = tokio::sync::mpsc::channel::<Vec<Bytes>>(WRITE_QUEUE);
        let writer_path = tmp.clone();
        let writer = tokio::task::spawn_blocking(move || -> std::io::Result<()> {
            use std::io::Write;
            let mut f = std::fs::File::create(&writer_path)?;
            while let Some(batch) = rx.blocking_recv() {
                for chunk in batch {
                    f.write_all(&chunk)?;
                }
            }
            f.sync_all()
        });
        let read: Result<Crc64> = async {
            let mut crc = Crc64::default();
            let (mut batch, mut batched) = (Vec::new(), 0usize);
            while let Some(chunk) = body.next().await {
                let chunk = chunk.map_err(self.io("read source for", key))?;
                crc.update(&chunk);
                batched += chunk.len();
                batch.push(chunk);
                if batched >= WRITE_BATCH {
                    batched = 0;
                    if tx.send(std::mem::take(&mut batch)).await.is_err() {
                        return Ok(crc); // the writer failed; its error is reported below
                    }
                }
            }
            if !batch.is_empty() {
                let _ = tx.send(batch).await;
            }
            Ok(crc)
        }
        .await;
        drop(tx);
        let written = writer
            .await
            .map_err(|e| std::io::Error::other(e.to_string()))
            .and_then(|r| r);
        let result = match (read, written) {
            (Err(e), _) => Err(e),
            (Ok(_), Err(e)) => Err(self.io("write", key)(e)),
            (Ok(crc), Ok(())) => {
                check_len(self, key.as_str(), opts.expected_len, crc.bytes()).map(|()| crc)
            }
        };
        let crc = match result {
            Ok(c) => c,
            Err(e) => {
                let _ = tokio::fs::remove_file(&tmp).await;
                return Err(e);
            }
        };
        if let Err(e) = tokio::fs::rename(&tmp, &path).await {
            let _ = tokio::fs::remove_file(&tmp).await;
            return Err(self.io("rename", key)(e));
        }
        let meta = MetaFile {
            meta: opts.meta.clone(),
            bytes: crc.bytes(),
            crc64nvme: crc.base64(),
        };
        let json = serde_json::to_vec_pretty(&meta).expect("metadata serializes");
        if let Err(e) = Self::write_atomic(&self.meta_path(key), &json).await {
            // The object was written to a free key by this put: without its metadata it is not
            // a copy, so it goes too (nothing half-written stays).
            let _ = tokio::fs::remove_file(&path).await;
            return Err(self.io("write metadata", key)(e));
        }
        head_existing(self, key, key.as_str(), None).await
    }

    async fn head_version(
        &self,
        key: &ObjectKey,
        version: Option<&str>,
    ) -> Result<Option<ObjectInfo>> {
        if version.is_some() {
            return Ok(None); // a directory keeps no object versions
        }
        let md = match tokio::fs::metadata(self.path(key)).await {
            Ok(m) if m.is_file() => m,
            Ok(_) => return Ok(None),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(self.io("stat", key)(e)),
        };
        let meta = self.read_meta(key).await?;
        // Metadata that disagrees with the file (a crash between the two writes) is not trusted.
        let meta = meta.filter(|m| m.bytes == md.len());
        Ok(Some(ObjectInfo {
            key: key.clone(),
            size: md.len(),
            checksum: meta.as_ref().map(|m| m.crc64nvme.clone()),
            meta: meta.map(|m| m.meta),
            storage_class: StorageClass::Standard,
            restore: RestoreStatus::NotNeeded,
            version_id: None,
        }))
    }

    async fn get_version(&self, key: &ObjectKey, version: Option<&str>) -> Result<ByteStream> {
        let info = head_existing(self, key, key.as_str(), version).await?;
        let file = tokio::fs::File::open(self.path(key))
            .await
            .map_err(self.io("open", key))?;
        // A small object (a record, a sidecar) gets a buffer of its own size, not a chunk.
        let chunk = READ_CHUNK.min(usize::try_from(info.size).unwrap_or(READ_CHUNK).max(1) + 1);
        let stream = futures_util::stream::try_unfold(file, move |mut f| async move {
            let mut buf = vec![0u8; chunk];
            let n = f.read(&mut buf).await?;
            if n == 0 {
                return Ok(None);
            }
            buf.truncate(n);
            Ok(Some((Bytes::from(buf), f)))
        });
        Ok(verify_stream(
            Box::pin(stream),
            info.size,
            info.checksum,
            format!("{self}: {key}"),
        ))
    }

    async fn digest_version(
        &self,
        key: &ObjectKey,
        version: Option<&str>,
    ) -> Result<super::checksum::Digest> {
        head_existing(self, key, key.as_str(), version).await?;
        // One blocking thread reads and hashes the file with one reused buffer: no per-chunk
        // hand-over, so proofs and `verify --read-data` run at the speed of the disk or the hash.
        let path = self.path(key);
        tokio::task::spawn_blocking(move || -> std::io::Result<super::checksum::Digest> {
            use std::io::Read;
            let mut f = std::fs::File::open(path)?;
            let mut buf = vec![0u8; READ_CHUNK];
            let mut d = super::checksum::Digests::default();
            loop {
                let n = f.read(&mut buf)?;
                if n == 0 {
                    return Ok(d.finish());
                }
                d.update(&buf[..n]);
            }
        })
        .await
        .map_err(|e| std::io::Error::other(e.to_string()))
        .and_then(|r| r)
        .map_err(self.io("read", key))
    }

    async fn restore_version(
        &self,
        key: &ObjectKey,
        version: Option<&str>,
        _tier: RestoreTier,
        _days: u32,
    ) -> Result<RestoreStatus> {
        head_existing(self, key, key.as_str(), version).await?;
        Ok(RestoreStatus::NotNeeded)
    }

    async fn list(&self, prefix: &str) -> Result<Vec<ObjectKey>> {
        // The whole walk on one blocking thread (one hand-over, not one per directory entry),
        // and only under the folder the prefix names (`sidecars/` does not read the journals).
        let root = self.root.clone();
        let prefix_owned = prefix.to_string();
        let walked = tokio::task::spawn_blocking(move || walk(&root, &prefix_owned))
            .await
            .map_err(std::io::Error::other);
        match walked.and_then(|r| r) {
            Ok(keys) => Ok(keys),
            Err(e) => Err(Error::Backend {
                store: self.to_string(),
                op: "list",
                key: prefix.into(),
                detail: e.to_string(),
            }),
        }
    }

    async fn read_small(&self, key: &ObjectKey) -> Result<Bytes> {
        // One blocking step: the file, its metadata, and the check of the one against the other.
        let (path, meta_path) = (self.path(key), self.meta_path(key));
        let read =
            tokio::task::spawn_blocking(move || -> std::io::Result<(Vec<u8>, Option<MetaFile>)> {
                let data = std::fs::read(&path)?;
                let meta = match std::fs::read(&meta_path) {
                    Ok(b) => serde_json::from_slice::<MetaFile>(&b).ok(),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
                    Err(e) => return Err(e),
                };
                Ok((data, meta))
            })
            .await
            .map_err(std::io::Error::other)
            .and_then(|r| r);
        let (data, meta) = match read {
            Ok(r) => r,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(Error::NotFound {
                    store: self.to_string(),
                    key: key.to_string(),
                })
            }
            Err(e) => return Err(self.io("read", key)(e)),
        };
        // Metadata that disagrees with the file's length is not trusted (as `head` does).
        if let Some(m) = meta.filter(|m| m.bytes == data.len() as u64) {
            let mut crc = Crc64::default();
            crc.update(&data);
            if crc.base64() != m.crc64nvme {
                return Err(Error::Backend {
                    store: self.to_string(),
                    op: "read",
                    key: key.to_string(),
                    detail: format!(
                        "the bytes read do not match the stored checksum ({} != {})",
                        crc.base64(),
                        m.crc64nvme
                    ),
                });
            }
        }
        Ok(Bytes::from(data))
    }

    async fn create_if_absent(&self, key: &ObjectKey, body: Bytes) -> Result<bool> {
        let (path, dir) = self.prepare(key).await?;
        // Write aside, then link into place: link fails if the name exists, so exactly one of
        // several concurrent writers wins and nobody ever sees a half-written object.
        let tmp = Self::tmp_path(&dir);
        if let Err(e) = write_synced(&tmp, &body).await {
            let _ = tokio::fs::remove_file(&tmp).await;
            return Err(self.io("write", key)(e));
        }
        let linked = tokio::fs::hard_link(&tmp, &path).await;
        let _ = tokio::fs::remove_file(&tmp).await;
        match linked {
            Ok(()) => {
                sync_dir(&dir).await.map_err(self.io("fsync", key))?;
                Ok(true)
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
            Err(e) => Err(self.io("create", key)(e)),
        }
    }
}
