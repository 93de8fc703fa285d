//! The simulated partner's objects — entries, flavors, upload tokens, sessions, categories — and
//! their wire form (kaltura-api.md §4.1, §6.1, §8.1). Enum values follow §10.

use std::path::PathBuf;

/// `KalturaEntryStatus` values used by the simulator.
pub mod entry_status {
    /// ERROR_IMPORTING.
    pub const ERROR_IMPORTING: i32 = -2;
    /// ERROR_CONVERTING.
    pub const ERROR_CONVERTING: i32 = -1;
    /// IMPORT: waiting for an upload to complete.
    pub const IMPORT: i32 = 0;
    /// PRECONVERT: converting.
    pub const PRECONVERT: i32 = 1;
    /// READY.
    pub const READY: i32 = 2;
    /// DELETED.
    pub const DELETED: i32 = 3;
    /// PENDING.
    pub const PENDING: i32 = 4;
    /// NO_CONTENT: no READY flavor.
    pub const NO_CONTENT: i32 = 7;
}

/// `KalturaFlavorAssetStatus` values used by the simulator.
pub mod flavor_status {
    /// ERROR.
    pub const ERROR: i32 = -1;
    /// QUEUED.
    pub const QUEUED: i32 = 0;
    /// CONVERTING.
    pub const CONVERTING: i32 = 1;
    /// READY.
    pub const READY: i32 = 2;
    /// DELETED.
    pub const DELETED: i32 = 3;
}

/// `KalturaMediaType` values.
pub mod media_type {
    /// VIDEO.
    pub const VIDEO: i32 = 1;
    /// IMAGE.
    pub const IMAGE: i32 = 2;
    /// AUDIO.
    pub const AUDIO: i32 = 5;
}

/// `KalturaUploadTokenStatus` values.
pub mod token_status {
    /// PENDING: nothing uploaded yet.
    pub const PENDING: i32 = 0;
    /// PARTIAL_UPLOAD.
    pub const PARTIAL_UPLOAD: i32 = 1;
    /// FULL_UPLOAD.
    pub const FULL_UPLOAD: i32 = 2;
    /// CLOSED: consumed by an entry.
    pub const CLOSED: i32 = 3;
    /// DELETED.
    pub const DELETED: i32 = 5;
}

/// One flavor params definition of the partner (what a rendition is).
#[derive(Debug, Clone)]
pub struct FlavorParams {
    /// Params id (`0` = source).
    pub id: i64,
    /// Display name.
    pub name: &'static str,
    /// Tags of flavors made with it.
    pub tags: &'static str,
    /// Size of the rendition relative to the source.
    pub size_factor: f64,
    /// Frame height.
    pub height: i64,
    /// Whether the default conversion profile produces it.
    pub in_default_profile: bool,
}

/// The partner's flavor params: source plus renditions, two of which the default profile skips.
pub const FLAVOR_PARAMS: &[FlavorParams] = &[
    FlavorParams {
        id: 0,
        name: "Source",
        tags: "source",
        size_factor: 1.0,
        height: 0,
        in_default_profile: true,
    },
    FlavorParams {
        id: 2,
        name: "Basic/Small - WEB/MBL (H264/400)",
        tags: "mobile,web,mbr,iphone",
        size_factor: 0.08,
        height: 360,
        in_default_profile: true,
    },
    FlavorParams {
        id: 3,
        name: "Basic/Small - WEB/MBL (H264/600)",
        tags: "mobile,web,mbr",
        size_factor: 0.12,
        height: 360,
        in_default_profile: false,
    },
    FlavorParams {
        id: 4,
        name: "SD/Small - WEB/MBL (H264/900)",
        tags: "mobile,web,mbr,ipad",
        size_factor: 0.2,
        height: 480,
        in_default_profile: true,
    },
    FlavorParams {
        id: 5,
        name: "SD/Large - WEB/MBL (H264/1500)",
        tags: "web,mbr",
        size_factor: 0.3,
        height: 540,
        in_default_profile: false,
    },
    FlavorParams {
        id: 7,
        name: "HD/720 - WEB (H264/2500)",
        tags: "web,mbr,ipad",
        size_factor: 0.5,
        height: 720,
        in_default_profile: true,
    },
];

/// A category of the partner's tree.
#[derive(Debug, Clone)]
pub struct Category {
    /// Category id.
    pub id: i64,
    /// Full name, `>`-separated.
    pub full_name: String,
    /// Parent id.
    pub parent: Option<i64>,
}

/// Where a flavor's bytes come from.
#[derive(Debug, Clone)]
pub enum Content {
    /// Generated deterministically from a key (see `content`).
    Generated {
        /// Content key.
        key: u64,
    },
    /// Uploaded bytes kept in the spool directory.
    Spooled {
        /// Spool file.
        path: PathBuf,
    },
}

/// A flavor asset.
#[derive(Debug, Clone)]
pub struct Flavor {
    /// Flavor id.
    pub id: String,
    /// Owning entry id.
    pub entry_id: String,
    /// Params id (`0` = source).
    pub flavor_params_id: i64,
    /// Content version, bumped on replacement.
    pub version: i64,
    /// Exact size in bytes.
    pub size_bytes: u64,
    /// Whether `sizeInBytes` is reported (old assets report 0).
    pub reports_size_in_bytes: bool,
    /// `KalturaFlavorAssetStatus`.
    pub status: i32,
    /// The original (source) flavor.
    pub is_original: bool,
    /// Tags.
    pub tags: String,
    /// File extension.
    pub file_ext: String,
    /// Created at (Unix seconds).
    pub created_at: i64,
    /// Updated at.
    pub updated_at: i64,
    /// Deleted at.
    pub deleted_at: Option<i64>,
    /// Frame size.
    pub width: i64,
    /// Frame size.
    pub height: i64,
    /// Bitrate in kbit/s.
    pub bitrate: i64,
    /// The bytes.
    pub content: Content,
}

/// A pending conversion of an entry.
#[derive(Debug, Clone)]
pub struct Ingest {
    /// The upload token providing the content.
    pub token_id: String,
    /// When conversion started (ms), once the upload was complete.
    pub started_ms: Option<u64>,
    /// The new original flavor's index, once created.
    pub original: Option<usize>,
    /// Whether this conversion ends in ERROR_CONVERTING.
    pub fails: bool,
}

/// A media entry.
#[derive(Debug, Clone)]
pub struct Entry {
    /// Stable internal order (breaks ties when sorting).
    pub seq: usize,
    /// Entry id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Description.
    pub description: Option<String>,
    /// Owner.
    pub user_id: String,
    /// Creator.
    pub creator_id: String,
    /// Normalised tags (`", "`-joined).
    pub tags: String,
    /// Admin tags.
    pub admin_tags: String,
    /// Direct category ids.
    pub category_ids: Vec<i64>,
    /// `KalturaEntryStatus`.
    pub status: i32,
    /// Moderation status.
    pub moderation_status: i32,
    /// `KalturaMediaType`.
    pub media_type: i32,
    /// Created at (Unix seconds).
    pub created_at: i64,
    /// Updated at.
    pub updated_at: i64,
    /// Plays.
    pub plays: i64,
    /// Views.
    pub views: i64,
    /// Last played at; `None` when never played.
    pub last_played_at: Option<i64>,
    /// Duration in milliseconds.
    pub ms_duration: i64,
    /// Frame size.
    pub width: i64,
    /// Frame size.
    pub height: i64,
    /// Reference id.
    pub reference_id: Option<String>,
    /// Free partner data.
    pub partner_data: Option<String>,
    /// Partner sort value.
    pub partner_sort_value: i64,
    /// `displayInSearch`.
    pub display_in_search: i32,
    /// Temporary entry of a running replacement.
    pub replacing_entry_id: Option<String>,
    /// On a temporary entry: the entry it replaces.
    pub replaced_entry_id: Option<String>,
    /// `KalturaEntryReplacementStatus`.
    pub replacement_status: i32,
    /// Conversion profile.
    pub conversion_profile_id: i64,
    /// Thumbnail version (bumped by updateThumbnail).
    pub thumb_version: i64,
    /// Indices of this entry's flavors in the world (deleted ones included).
    pub flavors: Vec<usize>,
    /// Conversion in progress.
    pub ingest: Option<Ingest>,
    /// What the search index still sees, and from when (ms) it sees the current state.
    pub stale: Option<(u64, Box<Entry>)>,
}

impl Entry {
    /// A fresh entry in NO_CONTENT, owned and created by `user_id` at `created_at`; callers set
    /// what differs with struct update syntax.
    pub fn new(id: String, user_id: String, media_type: i32, created_at: i64) -> Self {
        Entry {
            seq: 0,
            id,
            name: String::new(),
            description: None,
            creator_id: user_id.clone(),
            user_id,
            tags: String::new(),
            admin_tags: String::new(),
            category_ids: vec![],
            status: entry_status::NO_CONTENT,
            moderation_status: 6,
            media_type,
            created_at,
            updated_at: created_at,
            plays: 0,
            views: 0,
            last_played_at: None,
            ms_duration: 0,
            width: 0,
            height: 0,
            reference_id: None,
            partner_data: None,
            partner_sort_value: 0,
            display_in_search: 1,
            replacing_entry_id: None,
            replaced_entry_id: None,
            replacement_status: 0,
            conversion_profile_id: 8,
            thumb_version: 0,
            flavors: vec![],
            ingest: None,
            stale: None,
        }
    }

    /// Tags as a list (lower case).
    pub fn tag_list(&self) -> Vec<String> {
        split_tags(&self.tags)
    }
}

/// Splits a stored tag string into lower-case tags.
pub fn split_tags(tags: &str) -> Vec<String> {
    tags.split(',')
        .map(|t| t.trim().to_lowercase())
        .filter(|t| !t.is_empty())
        .collect()
}

/// Tag normalisation on write (kaltura-api.md §4.5): split on `,`, trim, lower-case, drop tags
/// shorter than 2 characters, cut to 100 bytes, de-duplicate keeping the first, join with `", "`.
pub fn normalize_tags(raw: &str) -> String {
    let mut out: Vec<String> = Vec::new();
    for t in raw.split(',') {
        let mut t = t.trim().to_lowercase();
        if t.chars().count() < 2 {
            continue;
        }
        if t.len() > 100 {
            let mut cut = 100;
            while !t.is_char_boundary(cut) {
                cut -= 1;
            }
            t.truncate(cut);
        }
        if !out.contains(&t) {
            out.push(t);
        }
    }
    out.join(", ")
}

/// An upload token.
#[derive(Debug, Clone)]
pub struct UploadToken {
    /// Token id (`0_<32 hex>`).
    pub id: String,
    /// Owner.
    pub user_id: String,
    /// `KalturaUploadTokenStatus`.
    pub status: i32,
    /// File name (from the token or the first part).
    pub file_name: Option<String>,
    /// Expected size.
    pub file_size: Option<f64>,
    /// Contiguous bytes received; `None` before the first upload.
    pub uploaded: Option<u64>,
    /// Created at.
    pub created_at: i64,
    /// Updated at.
    pub updated_at: i64,
    /// Complete when `file_size` bytes arrived.
    pub auto_finalize: bool,
    /// What consumed the token.
    pub attached: Option<(String, String)>,
    /// Spool file holding the bytes.
    pub path: PathBuf,
}

/// A Kaltura session.
#[derive(Debug, Clone)]
pub struct Session {
    /// Partner id.
    pub partner_id: i64,
    /// User id.
    pub user_id: String,
    /// `KalturaSessionType` (0 user, 2 admin).
    pub session_type: i64,
    /// Expiry (Unix seconds).
    pub expires_at: i64,
    /// Privileges string.
    pub privileges: String,
    /// Calls made with it.
    pub calls: u64,
    /// Why it is no longer valid (`EXPIRED`, `LOGOUT`), if forced.
    pub revoked: Option<&'static str>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_are_lowercased_deduplicated_short_dropped_and_comma_space_joined() {
        assert_eq!(
            normalize_tags(" Lecture,PHY,x, lecture ,Archived_To_S3"),
            "lecture, phy, archived_to_s3"
        );
    }
}
