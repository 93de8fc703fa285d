//! Where an entry's archive copies live, what each one is proven to hold, and which one matches a
//! flavor.
//!
//! The first copy of an entry is stored under the bare entry id, as the reference tool did. A
//! copy is never overwritten: a later copy goes to `<entry>.<flavor>.v<version>`, then
//! `<entry>.<flavor>.v<version>.2`, `.3`, … — the first key that neither a copy nor a record
//! uses — so a copy that fails its proof never blocks a new one; old copies stay until a human
//! removes them. Each copy has a record (see [`crate::record`]); a copy without one (the reference
//! tool's, or one whose record was never written) is *unrecorded*: it still restores, but it is
//! never the proof that lets an original go. After a restore, Kaltura holds the archived bytes
//! under a new flavor version; a small record `<entry>.<flavor>.v<version>.same-as.json` then says
//! which copy holds those bytes, so the entry counts as archived without uploading it again.

use bytes::Bytes;
use kaltura::FlavorAsset;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

use crate::placeholder::Placeholders;
use crate::proof::{self, Depth, Verdict};
use crate::record::{self, CopyRecord};
use crate::store::{read_json, ArchiveStore, Error, ObjectInfo, ObjectKey, Result};

/// Key of an entry's first copy: the bare entry id.
pub fn primary_key(entry: &str) -> Result<ObjectKey> {
    ObjectKey::new(entry)
}

/// Key of attempt `n` (1, 2, …) at a copy of one flavor version, used when the primary key is
/// taken.
pub fn versioned_key(entry: &str, flavor: &str, version: i64, n: u32) -> Result<ObjectKey> {
    match n {
        0 | 1 => ObjectKey::new(format!("{entry}.{flavor}.v{version}")),
        n => ObjectKey::new(format!("{entry}.{flavor}.v{version}.{n}")),
    }
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

/// Whether a byte count agrees with what Kaltura reports for a flavor (exact size, or for old
/// assets without one, the kilobyte size rounded either way).
pub fn size_agrees(bytes: u64, flavor: &FlavorAsset) -> bool {
    match flavor.exact_bytes() {
        Some(n) => n == bytes,
        None => {
            let kb = flavor.size.max(0) as u64;
            kb == bytes / 1024 || kb == bytes.div_ceil(1024)
        }
    }
}

/// Whether a record is of this flavor: same flavor id and version, and a size that agrees.
pub fn holds(rec: &CopyRecord, flavor: &FlavorAsset) -> bool {
    rec.flavor_id == flavor.id.0
        && rec.flavor_version == flavor.version
        && size_agrees(rec.bytes, flavor)
}

/// One copy of an entry, with its record and what checking it found.
#[derive(Debug, Clone)]
pub struct ArchiveCopy {
    /// Its key.
    pub key: ObjectKey,
    /// What the store says about it (the pinned version); `None` when it is gone.
    pub info: Option<ObjectInfo>,
    /// Its record; `None` for an unrecorded copy.
    pub record: Option<CopyRecord>,
    /// What checking it against its record found; `None` for an unrecorded copy.
    pub verdict: Option<Verdict>,
    /// Whether its bytes are a known placeholder (never a recording).
    pub placeholder: bool,
}

impl ArchiveCopy {
    /// Whether it is proven to hold recorded bytes of a recording.
    pub fn good(&self) -> bool {
        !self.placeholder && self.verdict.as_ref().is_some_and(Verdict::good)
    }

    /// Whether it has a record but fails it (changed, unreadable or gone).
    pub fn bad(&self) -> bool {
        self.verdict.as_ref().is_some_and(|v| !v.good())
    }

    /// Whether it has no record (the reference tool's copies, or an interrupted archive).
    pub fn unrecorded(&self) -> bool {
        self.record.is_none()
    }

    /// Byte count: recorded, else as stored.
    pub fn bytes(&self) -> u64 {
        self.record
            .as_ref()
            .map(|r| r.bytes)
            .or(self.info.as_ref().map(|i| i.size))
            .unwrap_or(0)
    }

    /// What is wrong with it, in words, if anything.
    pub fn problem(&self) -> Option<String> {
        match (&self.verdict, self.placeholder) {
            (_, true) => Some(format!("{} holds a placeholder, not a recording", self.key)),
            (Some(Verdict::Missing), _) => Some(format!("{} is gone from the store", self.key)),
            (Some(Verdict::Bad(why)), _) => Some(format!("{} {why}", self.key)),
            _ => None,
        }
    }

    fn archived_at(&self) -> i64 {
        self.record
            .as_ref()
            .map(|r| r.archived_at)
            .or_else(|| self.info.as_ref()?.meta.as_ref().map(|m| m.archived_at))
            .unwrap_or(0)
    }
}

/// Every copy of an entry, checked, oldest first; and every key the entry uses in the store.
#[derive(Debug, Clone, Default)]
pub struct Copies {
    /// The copies, oldest first.
    pub list: Vec<ArchiveCopy>,
    keys: BTreeSet<ObjectKey>,
}

impl Copies {
    /// Lists and checks an entry's copies: one listing, then per copy its record and a check
    /// of the given depth.
    pub async fn load(
        store: &dyn ArchiveStore,
        entry: &str,
        depth: Depth,
        placeholders: &Placeholders,
    ) -> Result<Copies> {
        let dotted = format!("{entry}.");
        let keys: BTreeSet<ObjectKey> = store
            .list(entry)
            .await?
            .into_iter()
            .filter(|k| k.as_str() == entry || k.as_str().starts_with(&dotted))
            .collect();
        // Copies: objects that are not records, and the copies records name (a pinned version
        // may outlive its key on a versioned bucket).
        let mut copy_keys: BTreeSet<ObjectKey> = keys
            .iter()
            .filter(|k| !k.as_str().ends_with(".json"))
            .cloned()
            .collect();
        copy_keys.extend(keys.iter().filter_map(record::copy_of));
        let mut list = Vec::new();
        for key in copy_keys {
            let record_key = record::key_of(&key)?;
            let copy = if keys.contains(&record_key) {
                let rec = record::read(store, &record_key).await?;
                let (verdict, info) = proof::check(store, &rec, depth).await?;
                ArchiveCopy {
                    placeholder: placeholders.is_known(rec.bytes, &rec.crc64nvme),
                    key,
                    info,
                    record: Some(rec),
                    verdict: Some(verdict),
                }
            } else {
                let info = store.head(&key).await?;
                ArchiveCopy {
                    placeholder: info.as_ref().is_some_and(|i| {
                        i.checksum
                            .as_deref()
                            .is_some_and(|c| placeholders.is_known(i.size, c))
                    }),
                    key,
                    info,
                    record: None,
                    verdict: None,
                }
            };
            list.push(copy);
        }
        list.sort_by_key(ArchiveCopy::archived_at);
        Ok(Copies { list, keys })
    }

    /// Whether the entry has anything in the store.
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// The newest proven copy that holds the current original `flavor`: by its record, or by a
    /// same-as record written after a restore.
    pub async fn matching(
        &self,
        store: &dyn ArchiveStore,
        entry: &str,
        flavor: &FlavorAsset,
    ) -> Result<Option<&ArchiveCopy>> {
        let direct = self
            .list
            .iter()
            .rev()
            .find(|c| c.good() && c.record.as_ref().is_some_and(|r| holds(r, flavor)));
        if direct.is_some() {
            return Ok(direct);
        }
        let same_key = same_as_key(entry, &flavor.id.0, flavor.version)?;
        if !self.keys.contains(&same_key) {
            return Ok(None);
        }
        let same: SameAs = read_json(store, &same_key).await?;
        Ok(self.list.iter().find(|c| {
            c.good()
                && c.key.as_str() == same.copy
                && c.record.as_ref().is_some_and(|r| {
                    r.bytes == same.bytes
                        && r.crc64nvme == same.checksum
                        && size_agrees(r.bytes, flavor)
                })
        }))
    }

    /// Copies that have a record of this flavor but fail it.
    pub fn bad_of(&self, flavor: &FlavorAsset) -> Vec<&ArchiveCopy> {
        self.list
            .iter()
            .filter(|c| c.bad() && c.record.as_ref().is_some_and(|r| holds(r, flavor)))
            .collect()
    }

    /// The copy to restore from: the newest proven copy of a recording; else the newest
    /// unrecorded one that is not a placeholder (the reference tool's copies still restore).
    /// Never a copy that fails its record.
    pub fn restore_source(&self) -> Option<&ArchiveCopy> {
        self.list.iter().rev().find(|c| c.good()).or_else(|| {
            self.list
                .iter()
                .rev()
                .find(|c| c.unrecorded() && !c.placeholder && c.info.is_some())
        })
    }

    /// Problems of copies that fail their records or hold placeholders, in words.
    pub fn problems(&self) -> Vec<String> {
        self.list.iter().filter_map(ArchiveCopy::problem).collect()
    }

    /// Where a new copy of `flavor` goes: the primary key when neither a copy nor a record uses
    /// it, else the first free attempt key of the flavor version. Nothing is overwritten.
    pub fn key_for_new_copy(&self, entry: &str, flavor: &FlavorAsset) -> Result<ObjectKey> {
        let free = |k: &ObjectKey| -> Result<bool> {
            Ok(!self.keys.contains(k) && !self.keys.contains(&record::key_of(k)?))
        };
        let primary = primary_key(entry)?;
        if free(&primary)? {
            return Ok(primary);
        }
        for n in 1..=u32::MAX {
            let k = versioned_key(entry, &flavor.id.0, flavor.version, n)?;
            if free(&k)? {
                return Ok(k);
            }
        }
        Err(Error::Invalid(format!("no free key for {entry}")))
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
