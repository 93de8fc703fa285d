//! The record of a copy: what the tool computed over the bytes it received from Kaltura (byte
//! count, CRC64NVME, SHA-256), which flavor they were, and where the copy went (key and, on a
//! versioned bucket, the object version that pins exactly those bytes). Written once, beside the
//! copy at `<copy key>.record.json`, with a create-if-absent write that never overwrites; separate
//! from the object's own metadata, which anyone who rewrites the object rewrites too.

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use crate::store::checksum::Digest;
use crate::store::{create_or_confirm, read_json, ArchiveStore, Error, ObjectKey, Result};

/// Suffix of a record's key.
pub const SUFFIX: &str = ".record.json";

/// What was archived, and its proof.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CopyRecord {
    /// Key of the copy.
    pub key: String,
    /// Object version of the copy (versioned S3 buckets); `None` elsewhere.
    pub version_id: Option<String>,
    /// Entry id.
    pub entry_id: String,
    /// Flavor id of the original that was archived.
    pub flavor_id: String,
    /// Its flavor version.
    pub flavor_version: i64,
    /// File extension of the original.
    pub file_ext: String,
    /// Bytes received from Kaltura.
    pub bytes: u64,
    /// CRC64NVME of those bytes (base64 of the big-endian value, as S3 writes it).
    pub crc64nvme: String,
    /// SHA-256 of those bytes (hex): the content identity.
    pub sha256: String,
    /// Storage class the copy was written in.
    pub storage_class: String,
    /// When it was archived (Unix seconds).
    pub archived_at: i64,
    /// Version of kaltura-archiver that wrote it.
    pub tool_version: String,
}

impl CopyRecord {
    /// Whether the recorded bytes are these digests.
    pub fn same_bytes(&self, d: &Digest) -> bool {
        self.bytes == d.bytes && self.crc64nvme == d.crc64nvme && self.sha256 == d.sha256
    }
}

/// Key of the record of the copy at `copy`.
pub fn key_of(copy: &ObjectKey) -> Result<ObjectKey> {
    ObjectKey::new(format!("{}{SUFFIX}", copy.as_str()))
}

/// The copy key a record key belongs to, if `key` is a record key.
pub fn copy_of(key: &ObjectKey) -> Option<ObjectKey> {
    key.as_str()
        .strip_suffix(SUFFIX)
        .and_then(|k| ObjectKey::new(k).ok())
}

/// Writes a record once. Fails if another record already exists for that copy (a record is
/// never overwritten; the caller chose a key no record used); a lost answer to this write is
/// recognised as written.
pub async fn write(store: &dyn ArchiveStore, record: &CopyRecord) -> Result<()> {
    let key = key_of(&ObjectKey::new(record.key.clone())?)?;
    let body = serde_json::to_vec_pretty(record).map_err(|e| Error::Invalid(e.to_string()))?;
    if create_or_confirm(store, &key, Bytes::from(body)).await? {
        Ok(())
    } else {
        Err(Error::Invalid(format!(
            "{store}: a record already exists at {key}; not overwriting it (archive again: the next copy goes to a new key)"
        )))
    }
}

/// Reads the record at a record key.
pub async fn read(store: &dyn ArchiveStore, record_key: &ObjectKey) -> Result<CopyRecord> {
    read_json(store, record_key).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::local::LocalStore;
    use crate::store::testing::LostAnswers;

    fn record(sha: &str) -> CopyRecord {
        CopyRecord {
            key: "0_a".into(),
            version_id: None,
            entry_id: "0_a".into(),
            flavor_id: "0_f".into(),
            flavor_version: 1,
            file_ext: "mp4".into(),
            bytes: 3,
            crc64nvme: "x".into(),
            sha256: sha.into(),
            storage_class: "STANDARD".into(),
            archived_at: 0,
            tool_version: "t".into(),
        }
    }

    #[tokio::test]
    async fn a_record_whose_write_answer_was_lost_counts_as_written_and_another_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let store = LostAnswers(LocalStore::new(dir.path()).unwrap());
        write(&store, &record("aa")).await.unwrap();
        let err = write(&store, &record("bb")).await.unwrap_err();
        assert!(err.to_string().contains("not overwriting"), "{err}");
        let key = key_of(&ObjectKey::new("0_a").unwrap()).unwrap();
        assert_eq!(read(&store, &key).await.unwrap().sha256, "aa");
    }
}
