//! Sidecars: what makes a copy stand on its own without Kaltura. Beside every copy `K`, under
//! `sidecars/K/`, go the entry's metadata (`metadata.json`: name, description, tags, categories,
//! owner, dates, plays, the original's flavor, size and checksums, where the copy is), its
//! captions (`captions/<asset>.<language>.<ext>`, as Kaltura stores them) and its default
//! thumbnail (`thumbnail.jpg`), in a class readable without a thaw; then `record.json` lists
//! each file with its size and checksums, written once. `verify` reads the files against it;
//! `catalog` reads the metadata alone.

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use kaltura::{EntryId, MediaEntry};

use crate::context::Ctx;
use crate::error::{Error, Result};
use crate::record::CopyRecord;
use crate::store::checksum::Digests;
use crate::store::{
    create_or_confirm, read_all, read_json, ArchiveMeta, ArchiveStore, ObjectKey, PutOptions,
    StorageClass,
};

/// Where every sidecar lives.
pub const PREFIX: &str = "sidecars/";
/// The metadata file of a sidecar.
pub const METADATA: &str = "metadata.json";
/// The record of a sidecar's files.
pub const RECORD: &str = "record.json";

/// The folder of the sidecar of the copy at `copy_key`.
pub fn dir(copy_key: &str) -> String {
    format!("{PREFIX}{copy_key}/")
}

/// The copy a sidecar's record key (`sidecars/K/record.json`) belongs to.
pub fn copy_of_record(key: &ObjectKey) -> Option<&str> {
    key.as_str()
        .strip_prefix(PREFIX)?
        .strip_suffix(RECORD)?
        .strip_suffix('/')
        .filter(|c| !c.contains('/'))
}

fn key(copy_key: &str, name: &str) -> Result<ObjectKey> {
    Ok(ObjectKey::new(format!("{}{name}", dir(copy_key)))?)
}

/// One file of a sidecar, as recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileRecord {
    /// Key in the store.
    pub key: String,
    /// Byte count.
    pub bytes: u64,
    /// CRC64NVME (base64).
    pub crc64nvme: String,
    /// SHA-256 (hex).
    pub sha256: String,
}

/// The record of a sidecar: every file it holds, written once after them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SidecarRecord {
    /// The copy the sidecar describes.
    pub copy_key: String,
    /// Its files (metadata, captions, thumbnail).
    pub files: Vec<FileRecord>,
    /// When it was written (Unix seconds).
    pub written_at: i64,
}

/// A caption, as the metadata lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaptionFile {
    /// Kaltura's caption asset id.
    pub id: String,
    /// Language name.
    pub language: String,
    /// Language code.
    pub language_code: String,
    /// Label.
    pub label: String,
    /// Kaltura's format code (1 SRT, 2 DFXP, 3 WebVTT, …).
    pub format: i64,
    /// Key of the file in the store.
    pub key: String,
    /// Byte count.
    pub bytes: u64,
}

/// The original that was archived, as its copy's record says (`None` fields: a copy without a
/// record, such as the reference tool's).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OriginalFile {
    /// Flavor id.
    pub flavor_id: Option<String>,
    /// Flavor version.
    pub flavor_version: Option<i64>,
    /// File extension.
    pub file_ext: Option<String>,
    /// Byte count.
    pub bytes: u64,
    /// CRC64NVME (base64).
    pub crc64nvme: Option<String>,
    /// SHA-256 (hex).
    pub sha256: Option<String>,
}

/// Where the copy is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CopyLocation {
    /// Key of the copy.
    pub key: String,
    /// Object version (versioned buckets).
    pub version_id: Option<String>,
    /// Storage class the copy was written in.
    pub storage_class: String,
    /// When it was archived (Unix seconds).
    pub archived_at: Option<i64>,
}

/// An entry as the archive keeps it: enough to find and use a recording without Kaltura.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Metadata {
    /// Entry id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Description.
    pub description: String,
    /// Tags.
    pub tags: Vec<String>,
    /// Category full names.
    pub categories: Vec<String>,
    /// Category ids.
    pub categories_ids: Vec<String>,
    /// Owner (user id).
    pub owner: String,
    /// Creator (user id).
    pub creator: String,
    /// Created (Unix seconds).
    pub created_at: i64,
    /// Updated (Unix seconds).
    pub updated_at: i64,
    /// Duration in milliseconds.
    pub duration_ms: i64,
    /// Plays.
    pub plays: i64,
    /// Last played (Unix seconds); `None` when never.
    pub last_played_at: Option<i64>,
    /// The original.
    pub original: OriginalFile,
    /// Where the copy is.
    pub copy: CopyLocation,
    /// Captions.
    pub captions: Vec<CaptionFile>,
    /// Key of the thumbnail, when Kaltura had one.
    pub thumbnail: Option<String>,
    /// Version of kaltura-archiver that wrote it.
    pub tool_version: String,
}

fn split(list: &str) -> Vec<String> {
    list.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// What a sidecar describes: a copy, with its record when it has one.
#[derive(Debug, Clone)]
pub struct Subject<'a> {
    /// Key of the copy.
    pub copy_key: &'a str,
    /// Its record; `None` for a copy without one.
    pub record: Option<&'a CopyRecord>,
    /// Its size and class as stored (for a copy without a record).
    pub stored: Option<(u64, StorageClass)>,
}

/// The ready captions of these entries with their URLs: one `caption_captionAsset.list` per
/// 500 entries and one multirequest of `getUrl` per 100 captions. Every entry asked is in the
/// answer, with an empty list when it has no captions.
pub async fn captions_with_urls(
    client: &kaltura::Client,
    ids: &[EntryId],
) -> Result<Vec<(EntryId, Vec<(kaltura::CaptionAsset, String)>)>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let assets: Vec<kaltura::CaptionAsset> = client
        .captions_of(ids)
        .await?
        .into_iter()
        .filter(|c| c.status == 2)
        .collect();
    let asked: Vec<&str> = assets.iter().map(|c| c.id.as_str()).collect();
    let urls: std::collections::HashMap<String, String> = client
        .asset_urls("caption_captionAsset", &asked)
        .await?
        .into_iter()
        .collect();
    let mut by_entry: std::collections::HashMap<EntryId, Vec<(kaltura::CaptionAsset, String)>> =
        ids.iter().map(|i| (i.clone(), Vec::new())).collect();
    for c in assets {
        let url = match urls.get(&c.id) {
            Some(u) => u.clone(),
            None => client.caption_url(&c.id).await?,
        };
        if let Some(list) = by_entry.get_mut(&EntryId(c.entry_id.clone())) {
            list.push((c, url));
        }
    }
    Ok(by_entry.into_iter().collect())
}

/// Whether the copy at `copy_key` has a sidecar (its record).
pub async fn exists(store: &dyn ArchiveStore, copy_key: &str) -> Result<bool> {
    Ok(store.head(&key(copy_key, RECORD)?).await?.is_some())
}

/// Writes the sidecar of a copy of `entry`: captions and thumbnail fetched from Kaltura, the
/// metadata, then the record (once). Each file is checked against the store's read-back.
pub async fn write(ctx: &Ctx, entry: &MediaEntry, subject: &Subject<'_>) -> Result<SidecarRecord> {
    let store = ctx.store.as_ref();
    let copy_key = subject.copy_key;
    let class = ctx.settings.sidecar_class;
    let meta = ArchiveMeta {
        entry_id: entry.id.0.clone(),
        flavor_id: subject
            .record
            .map(|r| r.flavor_id.clone())
            .unwrap_or_default(),
        flavor_version: subject.record.map(|r| r.flavor_version).unwrap_or(0),
        file_ext: "sidecar".into(),
        archived_at: crate::time::now(),
        tool_version: env!("CARGO_PKG_VERSION").to_string(),
    };
    let mut files = Vec::new();
    let mut captions = Vec::new();
    let assets = match ctx.captions.take(&entry.id) {
        Some(fetched) => fetched,
        None => captions_with_urls(&ctx.client, std::slice::from_ref(&entry.id))
            .await?
            .into_iter()
            .flat_map(|(_, c)| c)
            .collect(),
    };
    for (c, url) in &assets {
        let bytes = ctx.client.fetch_small(url, "caption download").await?;
        let ext = if c.file_ext.is_empty() {
            "txt"
        } else {
            &c.file_ext
        };
        let lang = if c.language_code.is_empty() {
            "und"
        } else {
            &c.language_code
        };
        let name = format!("captions/{}.{lang}.{ext}", c.id);
        let f = put_small(store, &key(copy_key, &name)?, bytes, &meta, class).await?;
        captions.push(CaptionFile {
            id: c.id.clone(),
            language: c.language.clone(),
            language_code: c.language_code.clone(),
            label: c.label.clone(),
            format: c.format,
            key: f.key.clone(),
            bytes: f.bytes,
        });
        files.push(f);
    }
    let thumbnail = if entry.thumbnail_url.is_empty() {
        None
    } else {
        let bytes = ctx
            .client
            .fetch_small(&entry.thumbnail_url, "thumbnail download")
            .await?;
        let f = put_small(store, &key(copy_key, "thumbnail.jpg")?, bytes, &meta, class).await?;
        let k = f.key.clone();
        files.push(f);
        Some(k)
    };
    let metadata = metadata(entry, subject, captions, thumbnail);
    let body = serde_json::to_vec_pretty(&metadata).map_err(|e| Error::Invalid(e.to_string()))?;
    files.push(
        put_small(
            store,
            &key(copy_key, METADATA)?,
            Bytes::from(body),
            &meta,
            class,
        )
        .await?,
    );
    let record = SidecarRecord {
        copy_key: copy_key.to_string(),
        files,
        written_at: crate::time::now(),
    };
    let body = serde_json::to_vec_pretty(&record).map_err(|e| Error::Invalid(e.to_string()))?;
    if !create_or_confirm(store, &key(copy_key, RECORD)?, Bytes::from(body)).await? {
        return Err(Error::Inconsistent(format!(
            "{store}: the sidecar of {copy_key} already has a record; not overwriting it"
        )));
    }
    Ok(record)
}

fn metadata(
    entry: &MediaEntry,
    subject: &Subject<'_>,
    captions: Vec<CaptionFile>,
    thumbnail: Option<String>,
) -> Metadata {
    let r = subject.record;
    Metadata {
        id: entry.id.0.clone(),
        name: entry.name.clone(),
        description: entry.description.clone(),
        tags: entry.tag_list(),
        categories: split(&entry.categories),
        categories_ids: split(&entry.categories_ids),
        owner: entry.user_id.clone(),
        creator: entry.creator_id.clone(),
        created_at: entry.created_at,
        updated_at: entry.updated_at,
        duration_ms: entry.ms_duration,
        plays: entry.plays,
        last_played_at: entry.last_played_at,
        original: OriginalFile {
            flavor_id: r.map(|r| r.flavor_id.clone()),
            flavor_version: r.map(|r| r.flavor_version),
            file_ext: r.map(|r| r.file_ext.clone()),
            bytes: r
                .map(|r| r.bytes)
                .or(subject.stored.map(|s| s.0))
                .unwrap_or(0),
            crc64nvme: r.map(|r| r.crc64nvme.clone()),
            sha256: r.map(|r| r.sha256.clone()),
        },
        copy: CopyLocation {
            key: subject.copy_key.to_string(),
            version_id: r.and_then(|r| r.version_id.clone()),
            storage_class: r
                .map(|r| r.storage_class.clone())
                .or(subject.stored.map(|s| s.1.as_str().to_string()))
                .unwrap_or_default(),
            archived_at: r.map(|r| r.archived_at),
        },
        captions,
        thumbnail,
        tool_version: env!("CARGO_PKG_VERSION").to_string(),
    }
}

/// Writes a small file and checks the store's read-back against the bytes sent.
async fn put_small(
    store: &dyn ArchiveStore,
    key: &ObjectKey,
    bytes: Bytes,
    meta: &ArchiveMeta,
    class: StorageClass,
) -> Result<FileRecord> {
    let d = Digests::of(&bytes);
    let opts = PutOptions {
        meta: meta.clone(),
        expected_len: Some(d.bytes),
        size_hint: None,
        storage_class: class,
    };
    let body: kaltura::ByteStream = Box::pin(futures_util::stream::once(async move { Ok(bytes) }));
    let info = store.put(key, body, &opts).await?;
    if info.size != d.bytes || info.checksum.as_deref() != Some(d.crc64nvme.as_str()) {
        return Err(Error::Inconsistent(format!(
            "{store}: the sidecar file {key} does not read back as written"
        )));
    }
    Ok(FileRecord {
        key: key.to_string(),
        bytes: d.bytes,
        crc64nvme: d.crc64nvme,
        sha256: d.sha256,
    })
}

/// Reads a sidecar's record and checks every file it lists, byte for byte; returns what is
/// wrong (empty: all good), or `None` when the copy has no sidecar.
pub async fn check(store: &dyn ArchiveStore, copy_key: &str) -> Result<Option<Vec<String>>> {
    let record_key = key(copy_key, RECORD)?;
    if store.head(&record_key).await?.is_none() {
        return Ok(None);
    }
    let record: SidecarRecord = read_json(store, &record_key).await?;
    let mut problems = Vec::new();
    for f in &record.files {
        let k = ObjectKey::new(f.key.clone())?;
        match read_all(store, &k).await {
            Ok(bytes) => {
                let d = Digests::of(&bytes);
                if d.bytes != f.bytes || d.sha256 != f.sha256 {
                    problems.push(format!(
                        "sidecar file {} changed: {} bytes, SHA-256 {} (recorded {} bytes, {})",
                        f.key, d.bytes, d.sha256, f.bytes, f.sha256
                    ));
                }
            }
            Err(crate::store::Error::NotFound { .. }) => {
                problems.push(format!("sidecar file {} is gone", f.key))
            }
            Err(e) => problems.push(format!("sidecar file {} cannot be read: {e}", f.key)),
        }
    }
    Ok(Some(problems))
}

/// The metadata of every sidecar in the store, as it is read (bounded concurrency); entries
/// whose metadata cannot be read come as errors with their key.
pub fn all_metadata(
    store: std::sync::Arc<dyn ArchiveStore>,
    keys: Vec<ObjectKey>,
    jobs: usize,
) -> impl futures_util::Stream<Item = (ObjectKey, Result<Metadata>)> {
    use futures_util::StreamExt;
    futures_util::stream::iter(keys)
        .map(move |k| {
            let store = store.clone();
            async move {
                let m = read_json::<Metadata>(store.as_ref(), &k)
                    .await
                    .map_err(Error::from);
                (k, m)
            }
        })
        .buffered(jobs.max(1))
}

/// The metadata keys of every sidecar in the store (one listing of `sidecars/`).
pub async fn metadata_keys(store: &dyn ArchiveStore) -> Result<Vec<ObjectKey>> {
    let suffix = format!("/{METADATA}");
    Ok(store
        .list(PREFIX)
        .await?
        .into_iter()
        .filter(|k| k.as_str().ends_with(&suffix) && k.as_str().matches('/').count() == 2)
        .collect())
}

/// The metadata of an entry's copies, from the store alone (newest archive last).
pub async fn of_entry(store: &dyn ArchiveStore, entry: &EntryId) -> Result<Vec<Metadata>> {
    let suffix = format!("/{METADATA}");
    let dotted = format!("{PREFIX}{}.", entry.0);
    let exact = format!("{PREFIX}{}/", entry.0);
    let mut out = Vec::new();
    for k in store.list(&format!("{PREFIX}{}", entry.0)).await? {
        let s = k.as_str();
        if s.ends_with(&suffix)
            && (s.starts_with(&exact) || s.starts_with(&dotted))
            && s.matches('/').count() == 2
        {
            out.push(read_json::<Metadata>(store, &k).await?);
        }
    }
    out.sort_by_key(|m| m.copy.archived_at.unwrap_or(0));
    Ok(out)
}
