//! Where an entry's archive copies live and which one matches a flavor.
//!
//! The first copy of an entry is stored under the bare entry id, as the reference tool did. A
//! copy is never overwritten: when the original changes after archiving (a re-upload bumps the
//! flavor version), the new copy goes to a versioned key `<entry>.<flavor>.v<version>` and the
//! old one stays. After a restore, Kaltura holds the archived bytes under a new flavor version;
//! a small record `<entry>.<flavor>.v<version>.same-as.json` then says which copy holds those
//! bytes, so the entry counts as archived without uploading the video again.

use bytes::Bytes;
use kaltura::FlavorAsset;
use serde::{Deserialize, Serialize};

use crate::store::{read_json, ArchiveStore, Error, ObjectInfo, ObjectKey, Result};

/// Key of an entry's first copy: the bare entry id.
pub fn primary_key(entry: &str) -> Result<ObjectKey> {
    ObjectKey::new(entry)
}

/// Key of a copy of one flavor version, used when the primary key holds something else.
pub fn versioned_key(entry: &str, flavor: &str, version: i64) -> Result<ObjectKey> {
    ObjectKey::new(format!("{entry}.{flavor}.v{version}"))
}

/// Key of the record saying a restored flavor version holds the bytes of an existing copy.
pub fn same_as_key(entry: &str, flavor: &str, version: i64) -> Result<ObjectKey> {
    ObjectKey::new(format!("{entry}.{flavor}.v{version}.same-as.json"))
}

/// A record written after a restore: flavor version `version` holds the bytes of `copy`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct SameAs {
    /// The copy whose bytes were restored.
    pub copy: String,
    /// Its byte count (Kaltura reported the same for the restored flavor).
    pub bytes: u64,
    /// Its checksum.
    pub checksum: String,
    /// When the restore finished.
    pub restored_at: i64,
}

/// Whether a copy holds this flavor: our metadata names the same flavor id and version, the
/// checksum was recorded, and the byte count equals the flavor's exact size (or, for old
/// assets without an exact size, its kilobyte size rounded either way).
pub fn holds(copy: &ObjectInfo, flavor: &FlavorAsset) -> bool {
    let Some(meta) = &copy.meta else {
        return false;
    };
    copy.verified()
        && meta.flavor_id == flavor.id.0
        && meta.flavor_version == flavor.version
        && size_agrees(copy.size, flavor)
}

/// Whether a byte count agrees with what Kaltura reports for a flavor.
pub fn size_agrees(bytes: u64, flavor: &FlavorAsset) -> bool {
    match flavor.exact_bytes() {
        Some(n) => n == bytes,
        None => {
            let kb = flavor.size.max(0) as u64;
            kb == bytes / 1024 || kb == bytes.div_ceil(1024)
        }
    }
}

/// The verified copy that holds the current original `flavor`, if any: the primary key, the
/// versioned key, or a copy a same-as record points to. At most three reads.
pub async fn matching(
    store: &dyn ArchiveStore,
    entry: &str,
    flavor: &FlavorAsset,
) -> Result<Option<ObjectInfo>> {
    if let Some(c) = store.head(&primary_key(entry)?).await? {
        if holds(&c, flavor) {
            return Ok(Some(c));
        }
    }
    let versioned = versioned_key(entry, &flavor.id.0, flavor.version)?;
    if let Some(c) = store.head(&versioned).await? {
        if holds(&c, flavor) {
            return Ok(Some(c));
        }
    }
    let record = same_as_key(entry, &flavor.id.0, flavor.version)?;
    if store.head(&record).await?.is_none() {
        return Ok(None);
    }
    let same: SameAs = read_json(store, &record).await?;
    let Some(c) = store.head(&ObjectKey::new(same.copy)?).await? else {
        return Ok(None);
    };
    let agrees = c.verified()
        && c.size == same.bytes
        && c.checksum.as_deref() == Some(same.checksum.as_str())
        && size_agrees(c.size, flavor);
    Ok(agrees.then_some(c))
}

/// Every copy of an entry (legacy ones included), oldest first by archive time; records and
/// journals are left out.
pub async fn all(store: &dyn ArchiveStore, entry: &str) -> Result<Vec<ObjectInfo>> {
    let dotted = format!("{entry}.");
    let mut out = Vec::new();
    for key in store.list(entry).await? {
        let k = key.as_str();
        let ours = k == entry || (k.starts_with(&dotted) && !k.ends_with(".json"));
        if !ours {
            continue;
        }
        if let Some(info) = store.head(&key).await? {
            out.push(info);
        }
    }
    out.sort_by_key(|c| c.meta.as_ref().map_or(0, |m| m.archived_at));
    Ok(out)
}

/// The copy to restore from: the most recently archived verified copy.
pub fn newest_verified(copies: &[ObjectInfo]) -> Option<&ObjectInfo> {
    copies.iter().rev().find(|c| c.verified())
}

/// Where a new copy of `flavor` goes: the primary key when it is free, else the versioned key
/// when that is free. Never a key that holds something (nothing is overwritten).
pub async fn key_for_new_copy(
    store: &dyn ArchiveStore,
    entry: &str,
    flavor: &FlavorAsset,
) -> Result<ObjectKey> {
    let primary = primary_key(entry)?;
    if store.head(&primary).await?.is_none() {
        return Ok(primary);
    }
    let versioned = versioned_key(entry, &flavor.id.0, flavor.version)?;
    match store.head(&versioned).await? {
        None => Ok(versioned),
        Some(existing) => Err(Error::Invalid(format!(
            "{versioned} already holds another copy ({} bytes) that does not match flavor {} v{}; not overwriting it",
            existing.size, flavor.id.0, flavor.version
        ))),
    }
}

/// Writes a same-as record (idempotent: an existing record is kept).
pub async fn record_same_as(
    store: &dyn ArchiveStore,
    entry: &str,
    flavor: &FlavorAsset,
    same: &SameAs,
) -> Result<()> {
    let key = same_as_key(entry, &flavor.id.0, flavor.version)?;
    let body = serde_json::to_vec(same).map_err(|e| Error::Invalid(e.to_string()))?;
    store.create_if_absent(&key, Bytes::from(body)).await?;
    Ok(())
}
