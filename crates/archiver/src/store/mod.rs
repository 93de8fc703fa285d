//! Archive stores: where the archive copy of an original lives. One small trait, implemented by
//! a local directory ([`local`]) and S3 ([`s3`]); optional abilities (storage classes, Glacier
//! restores) are declared in [`Features`], not assumed.
//!
//! Every object carries [`ArchiveMeta`]; objects without it (written by the reference tool) are
//! reported as legacy and never treated as verified. Every object also has a CRC64NVME checksum of
//! its bytes, computed by the store while writing and checked again while reading.

pub mod checksum;
pub mod local;
pub mod media_type;
pub mod s3;
#[cfg(test)]
pub(crate) mod testing;

use bytes::Bytes;
use futures_util::Stream;
use std::collections::BTreeMap;
use std::pin::Pin;

/// A stream of bytes into or out of a store.
pub type ByteStream = Pin<Box<dyn Stream<Item = std::io::Result<Bytes>> + Send>>;

/// An object key: non-empty, relative, no `.`/`..` segments, at most 1,024 bytes.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjectKey(String);

impl ObjectKey {
    /// Validates a key.
    pub fn new(key: impl Into<String>) -> Result<Self> {
        let key = key.into();
        let bad = key.is_empty()
            || key.len() > 1024
            || key.starts_with('/')
            || key
                .split('/')
                .any(|s| s.is_empty() || s == "." || s == "..")
            || key.chars().any(|c| c.is_control());
        if bad {
            return Err(Error::InvalidKey(key));
        }
        Ok(ObjectKey(key))
    }

    /// The key as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for ObjectKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// What an archive object says about itself (docs/architecture.md: entry id, flavor id, flavor version,
/// file extension, archived-at, tool version; byte count and checksum come from the store).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ArchiveMeta {
    /// Entry id.
    pub entry_id: String,
    /// Flavor id of the original that was archived.
    pub flavor_id: String,
    /// Flavor version that was archived.
    pub flavor_version: i64,
    /// File extension of the original.
    pub file_ext: String,
    /// When it was archived (Unix seconds).
    pub archived_at: i64,
    /// Version of kaltura-archiver that wrote it.
    pub tool_version: String,
}

impl ArchiveMeta {
    /// As user metadata (S3 `x-amz-meta-*`).
    pub fn to_map(&self) -> BTreeMap<String, String> {
        BTreeMap::from([
            ("entry-id".to_string(), self.entry_id.clone()),
            ("flavor-id".to_string(), self.flavor_id.clone()),
            (
                "flavor-version".to_string(),
                self.flavor_version.to_string(),
            ),
            ("file-ext".to_string(), self.file_ext.clone()),
            ("archived-at".to_string(), self.archived_at.to_string()),
            ("tool-version".to_string(), self.tool_version.clone()),
        ])
    }

    /// From user metadata; `None` when it is not ours (a legacy object).
    pub fn from_map(m: &BTreeMap<String, String>) -> Option<Self> {
        Some(ArchiveMeta {
            entry_id: m.get("entry-id")?.clone(),
            flavor_id: m.get("flavor-id")?.clone(),
            flavor_version: m.get("flavor-version")?.parse().ok()?,
            file_ext: m.get("file-ext").cloned().unwrap_or_default(),
            archived_at: m
                .get("archived-at")
                .and_then(|v| v.parse().ok())
                .unwrap_or(0),
            tool_version: m.get("tool-version").cloned().unwrap_or_default(),
        })
    }
}

/// S3 storage classes an archive can be written to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StorageClass {
    /// STANDARD.
    Standard,
    /// STANDARD_IA.
    StandardIa,
    /// INTELLIGENT_TIERING.
    IntelligentTiering,
    /// GLACIER_IR (instant retrieval: no restore needed).
    GlacierIr,
    /// GLACIER (flexible retrieval: restore needed).
    Glacier,
    /// DEEP_ARCHIVE (restore needed, no Expedited tier).
    DeepArchive,
}

impl StorageClass {
    /// The S3 name.
    pub fn as_str(self) -> &'static str {
        match self {
            StorageClass::Standard => "STANDARD",
            StorageClass::StandardIa => "STANDARD_IA",
            StorageClass::IntelligentTiering => "INTELLIGENT_TIERING",
            StorageClass::GlacierIr => "GLACIER_IR",
            StorageClass::Glacier => "GLACIER",
            StorageClass::DeepArchive => "DEEP_ARCHIVE",
        }
    }

    /// Parses an S3 name (case-insensitive).
    pub fn parse(s: &str) -> Result<Self> {
        let all = [
            StorageClass::Standard,
            StorageClass::StandardIa,
            StorageClass::IntelligentTiering,
            StorageClass::GlacierIr,
            StorageClass::Glacier,
            StorageClass::DeepArchive,
        ];
        all.into_iter().find(|c| c.as_str().eq_ignore_ascii_case(s.trim())).ok_or_else(|| {
            Error::Invalid(format!(
                "unknown storage class {s:?}; use STANDARD, STANDARD_IA, INTELLIGENT_TIERING, GLACIER_IR, GLACIER or DEEP_ARCHIVE"
            ))
        })
    }

    /// Whether reading needs a restore first.
    pub fn needs_restore(self) -> bool {
        matches!(self, StorageClass::Glacier | StorageClass::DeepArchive)
    }
}

/// Whether an object can be read now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RestoreStatus {
    /// Readable: not in an archival class.
    NotNeeded,
    /// In an archival class, no restore requested.
    Frozen,
    /// A restore is in progress.
    Thawing,
    /// A restored copy is readable until the given HTTP date (when the store says).
    Thawed {
        /// Expiry of the restored copy.
        until: Option<String>,
    },
}

impl RestoreStatus {
    /// Whether the bytes can be read now.
    pub fn readable(&self) -> bool {
        matches!(
            self,
            RestoreStatus::NotNeeded | RestoreStatus::Thawed { .. }
        )
    }
}

/// Restore speed (and price) of a Glacier restore.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RestoreTier {
    /// Cheapest, slowest (GLACIER 5–12 h, DEEP_ARCHIVE up to 48 h).
    Bulk,
    /// GLACIER 3–5 h, DEEP_ARCHIVE up to 12 h.
    Standard,
    /// GLACIER 1–5 min; not available for DEEP_ARCHIVE.
    Expedited,
}

impl RestoreTier {
    /// Parses a tier name (any case): bulk, standard, expedited.
    pub fn parse(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "bulk" => Ok(RestoreTier::Bulk),
            "standard" => Ok(RestoreTier::Standard),
            "expedited" => Ok(RestoreTier::Expedited),
            other => Err(Error::Invalid(format!(
                "unknown restore tier {other:?}: use bulk, standard or expedited (RESTORE_TIER or --restore-tier)"
            ))),
        }
    }

    /// How long a thaw of a copy in `class` typically takes at this tier (AWS's published
    /// times): as said to a person, and its upper bound in seconds.
    pub fn typical_wait(self, class: StorageClass) -> (&'static str, i64) {
        const H: i64 = 3600;
        match (class, self) {
            (StorageClass::DeepArchive, RestoreTier::Bulk) => ("up to 48 hours", 48 * H),
            (StorageClass::DeepArchive, _) => ("up to 12 hours", 12 * H),
            (_, RestoreTier::Bulk) => ("5–12 hours", 12 * H),
            (_, RestoreTier::Standard) => ("3–5 hours", 5 * H),
            (_, RestoreTier::Expedited) => ("1–5 minutes", 5 * 60),
        }
    }

    /// The S3 name.
    pub fn as_str(self) -> &'static str {
        match self {
            RestoreTier::Bulk => "Bulk",
            RestoreTier::Standard => "Standard",
            RestoreTier::Expedited => "Expedited",
        }
    }
}

/// What a store knows about one object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectInfo {
    /// Key.
    pub key: ObjectKey,
    /// Exact size in bytes.
    pub size: u64,
    /// CRC64NVME of the bytes, base64 of the big-endian value (as S3 writes it); `None` on
    /// legacy objects.
    pub checksum: Option<String>,
    /// Our metadata; `None` = legacy object (written by another tool), never treated as verified.
    pub meta: Option<ArchiveMeta>,
    /// Storage class.
    pub storage_class: StorageClass,
    /// Whether it can be read now.
    pub restore: RestoreStatus,
    /// The object version (S3 buckets with versioning), to pin a copy to exactly these bytes.
    pub version_id: Option<String>,
}

impl ObjectInfo {
    /// Whether this is a copy the archiver can rely on: our metadata and a checksum.
    pub fn verified(&self) -> bool {
        self.meta.is_some() && self.checksum.is_some()
    }
}

/// What to write.
#[derive(Debug, Clone)]
pub struct PutOptions {
    /// Metadata of the object.
    pub meta: ArchiveMeta,
    /// Size the source announced, if known; a different byte count fails the put.
    pub expected_len: Option<u64>,
    /// An approximate size when the exact one is unknown (old Kaltura assets report kilobytes):
    /// used only to plan multipart part sizes, never to check the bytes.
    pub size_hint: Option<u64>,
    /// Storage class (stores without classes ignore it).
    pub storage_class: StorageClass,
}

/// Abilities a store declares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Features {
    /// Objects have storage classes.
    pub storage_classes: bool,
    /// Objects can be frozen and need restores.
    pub restore: bool,
    /// The store keeps a full-object checksum that it validated against the bytes it received
    /// (S3), so comparing it with a record proves the bytes without reading them. Without it
    /// (a local directory) a proof re-reads the object.
    pub stored_checksums: bool,
}

/// Store errors; the variant says what the caller does next.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The object does not exist.
    #[error("{store}: no object {key}")]
    NotFound {
        /// Store description.
        store: String,
        /// Key.
        key: String,
    },
    /// The object is in an archival class and has not been restored.
    #[error("{store}: {key} is in {class} and must be restored first (request a restore and wait until it is thawed)")]
    RestoreFirst {
        /// Store description.
        store: String,
        /// Key.
        key: String,
        /// Storage class.
        class: String,
    },
    /// The bytes do not match what was recorded or expected.
    #[error("{store}: {key}: {what}; the copy is not trustworthy — do not delete the original, archive it again")]
    Mismatch {
        /// Store description.
        store: String,
        /// Key.
        key: String,
        /// What differed.
        what: String,
    },
    /// The request is not possible (e.g. Expedited restore of DEEP_ARCHIVE).
    #[error("{0}")]
    Invalid(String),
    /// A key that cannot be used.
    #[error("invalid object key {0:?}: keys are relative paths without empty, . or .. segments")]
    InvalidKey(String),
    /// Access was refused.
    #[error("{store}: access denied to {key}: check the credentials and the bucket policy")]
    PermissionDenied {
        /// Store description.
        store: String,
        /// Key or bucket.
        key: String,
    },
    /// The bucket does not exist.
    #[error("bucket {bucket} does not exist (check AWS_BUCKET and the region)")]
    NoSuchBucket {
        /// Bucket.
        bucket: String,
    },
    /// The store could not be reached or failed.
    #[error("{store}: {op} {key} failed: {detail}")]
    Backend {
        /// Store description.
        store: String,
        /// Operation.
        op: &'static str,
        /// Key.
        key: String,
        /// What happened.
        detail: String,
    },
}

impl Error {
    /// Reading `key` failed part-way (a stream's error).
    fn read_failed(store: &dyn std::fmt::Display, key: &ObjectKey, e: std::io::Error) -> Error {
        Error::Backend {
            store: store.to_string(),
            op: "read",
            key: key.to_string(),
            detail: e.to_string(),
        }
    }
}

/// Result of a store operation.
pub type Result<T> = std::result::Result<T, Error>;

/// Fails when a source gave a different number of bytes than it announced.
pub(crate) fn check_len(
    store: &dyn std::fmt::Display,
    key: &str,
    expected: Option<u64>,
    got: u64,
) -> Result<()> {
    match expected {
        Some(n) if n != got => Err(Error::Mismatch {
            store: store.to_string(),
            key: key.to_string(),
            what: format!("the source gave {got} bytes, expected {n}"),
        }),
        _ => Ok(()),
    }
}

/// What the store knows about one version of `key`; [`Error::NotFound`] when it does not exist.
pub(crate) async fn head_existing(
    store: &dyn ArchiveStore,
    key: &ObjectKey,
    full_key: &str,
    version: Option<&str>,
) -> Result<ObjectInfo> {
    store
        .head_version(key, version)
        .await?
        .ok_or_else(|| Error::NotFound {
            store: store.to_string(),
            key: full_key.to_string(),
        })
}

/// Writes a small object only if `key` does not exist, as [`ArchiveStore::create_if_absent`] —
/// and when the key exists, reads it: if it holds exactly `body`, this writer created it (the
/// answer to its first attempt was lost and a retried conditional write then reads as taken), so
/// that counts as created. Every write-once object (records, journal parts, locks) goes through
/// here.
pub async fn create_or_confirm(
    store: &dyn ArchiveStore,
    key: &ObjectKey,
    body: Bytes,
) -> Result<bool> {
    if store.create_if_absent(key, body.clone()).await? {
        return Ok(true);
    }
    Ok(read_all(store, key).await? == body)
}

/// Reads a small object (a record, a lock, a journal) whole.
pub async fn read_all(store: &dyn ArchiveStore, key: &ObjectKey) -> Result<Bytes> {
    store.read_small(key).await
}

/// Reads a small JSON object.
pub async fn read_json<T: serde::de::DeserializeOwned>(
    store: &dyn ArchiveStore,
    key: &ObjectKey,
) -> Result<T> {
    serde_json::from_slice(&read_all(store, key).await?).map_err(|e| Error::Backend {
        store: store.to_string(),
        op: "parse",
        key: key.to_string(),
        detail: e.to_string(),
    })
}

/// An archive store.
#[async_trait::async_trait]
pub trait ArchiveStore: std::fmt::Debug + std::fmt::Display + Send + Sync {
    /// Abilities of this store.
    fn features(&self) -> Features;

    /// Writes `body` under `key` with its metadata, computing the checksum on the way; fails
    /// (leaving nothing behind) if the byte count differs from `expected_len`. Returns what the
    /// store reports for the object after the write (read back, not assumed).
    async fn put(&self, key: &ObjectKey, body: ByteStream, opts: &PutOptions)
        -> Result<ObjectInfo>;

    /// What the store knows about `key` (its current version), or `None`.
    async fn head(&self, key: &ObjectKey) -> Result<Option<ObjectInfo>> {
        self.head_version(key, None).await
    }

    /// What the store knows about one version of `key` (`None`: the current one), or `None`
    /// when it does not exist.
    async fn head_version(
        &self,
        key: &ObjectKey,
        version: Option<&str>,
    ) -> Result<Option<ObjectInfo>>;

    /// Reads `key` as a stream; the stream ends with an error if the bytes do not match the
    /// recorded checksum. A frozen object fails with [`Error::RestoreFirst`].
    async fn get(&self, key: &ObjectKey) -> Result<ByteStream> {
        self.get_version(key, None).await
    }

    /// Reads one version of `key` (`None`: the current one), as [`ArchiveStore::get`].
    async fn get_version(&self, key: &ObjectKey, version: Option<&str>) -> Result<ByteStream>;

    /// Reads one version of `key` whole and returns the tool's digests of its bytes (CRC64NVME,
    /// SHA-256), in bounded memory. A store may do this more cheaply than a stream of chunks.
    async fn digest_version(
        &self,
        key: &ObjectKey,
        version: Option<&str>,
    ) -> Result<checksum::Digest> {
        let body = self.get_version(key, version).await?;
        checksum::digest_stream(body)
            .await
            .map_err(|e| Error::read_failed(&self, key, e))
    }

    /// Requests a restore (idempotent: a restore in progress is not an error); returns the status.
    async fn restore(
        &self,
        key: &ObjectKey,
        tier: RestoreTier,
        days: u32,
    ) -> Result<RestoreStatus> {
        self.restore_version(key, None, tier, days).await
    }

    /// Requests a restore of one version of `key`, as [`ArchiveStore::restore`].
    async fn restore_version(
        &self,
        key: &ObjectKey,
        version: Option<&str>,
        tier: RestoreTier,
        days: u32,
    ) -> Result<RestoreStatus>;

    /// Keys under a prefix.
    async fn list(&self, prefix: &str) -> Result<Vec<ObjectKey>>;

    /// Reads a small object (a record, a sidecar, a journal) whole, checked against its stored
    /// checksum as [`ArchiveStore::get`] is. A store may do this in fewer steps than a stream.
    async fn read_small(&self, key: &ObjectKey) -> Result<Bytes> {
        use futures_util::TryStreamExt;
        let parts: Vec<Bytes> = self
            .get(key)
            .await?
            .try_collect()
            .await
            .map_err(|e| Error::read_failed(&self.to_string(), key, e))?;
        Ok(Bytes::from(parts.concat()))
    }

    /// Writes a small object only if `key` does not exist; `false` when it already did
    /// (locks, journals). Loses cleanly to a concurrent writer.
    async fn create_if_absent(&self, key: &ObjectKey, body: Bytes) -> Result<bool>;
}
