//! Proving a copy: that the store holds, now, exactly the bytes its record says. On S3 the pinned
//! object version's stored full-object checksum and size are compared with the record (S3
//! validated that checksum against the bytes it received); on a local directory the file is read
//! again and hashed. A copy is never trusted on its own metadata.

use crate::record::CopyRecord;
use crate::store::checksum::verify_stream;
use crate::store::{ArchiveStore, ByteStream, ObjectInfo, ObjectKey, Result};

/// How hard to look.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Depth {
    /// Size and, where the store keeps one, the stored checksum (no reads of the bytes): for
    /// deciding what a command would do.
    Quick,
    /// A proof: the stored checksum where the store keeps one, else a full re-read hashed with
    /// CRC64NVME and SHA-256. Before every destructive step, and in `health`.
    Prove,
    /// A full re-read wherever the bytes are readable now (frozen S3 copies: the stored
    /// checksum): `verify --read-data`.
    ReadData,
}

/// What a check found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The copy holds the recorded bytes.
    Good {
        /// `true` when the bytes were read and hashed, `false` when the store's checksum proved
        /// them.
        read: bool,
    },
    /// The object (or its pinned version) is gone.
    Missing,
    /// The object differs from its record; the text says how.
    Bad(String),
}

impl Verdict {
    /// Whether the copy holds the recorded bytes.
    pub fn good(&self) -> bool {
        matches!(self, Verdict::Good { .. })
    }
}

/// Checks the copy a record describes; also returns what the store says about it.
pub async fn check(
    store: &dyn ArchiveStore,
    rec: &CopyRecord,
    depth: Depth,
) -> Result<(Verdict, Option<ObjectInfo>)> {
    let key = ObjectKey::new(rec.key.clone())?;
    let version = rec.version_id.as_deref();
    let Some(info) = store.head_version(&key, version).await? else {
        return Ok((Verdict::Missing, None));
    };
    if info.size != rec.bytes {
        let what = format!("holds {} bytes, {} were archived", info.size, rec.bytes);
        return Ok((Verdict::Bad(what), Some(info)));
    }
    let stored = store.features().stored_checksums;
    if stored && info.checksum.as_deref() != Some(rec.crc64nvme.as_str()) {
        let what = format!(
            "the store's checksum of it is {}, the archived bytes had CRC64NVME {}",
            info.checksum.as_deref().unwrap_or("missing"),
            rec.crc64nvme
        );
        return Ok((Verdict::Bad(what), Some(info)));
    }
    let read = match depth {
        Depth::Quick => false,
        Depth::Prove => !stored,
        Depth::ReadData => info.restore.readable(),
    };
    if !read {
        return Ok((Verdict::Good { read: false }, Some(info)));
    }
    let verdict = match store.digest_version(&key, version).await {
        Ok(d) if rec.same_bytes(&d) => Verdict::Good { read: true },
        Ok(d) => Verdict::Bad(format!(
            "read {} bytes with SHA-256 {}, archived {} bytes with SHA-256 {}",
            d.bytes, d.sha256, rec.bytes, rec.sha256
        )),
        Err(e) => Verdict::Bad(format!("cannot be read: {e}")),
    };
    Ok((verdict, Some(info)))
}

/// Reads a recorded copy (its pinned version) as a stream that ends with an error unless the
/// bytes are exactly the recorded ones.
pub async fn read(store: &dyn ArchiveStore, rec: &CopyRecord) -> Result<ByteStream> {
    let key = ObjectKey::new(rec.key.clone())?;
    let body = store.get_version(&key, rec.version_id.as_deref()).await?;
    Ok(verify_stream(
        body,
        rec.bytes,
        Some(rec.crc64nvme.clone()),
        format!("{store}: {key} against its record"),
    ))
}
