//! The simulated partner's objects — entries, flavors, upload tokens, sessions, categories — and
//! their wire form (kaltura-api.md §4.1, §6.1, §8.1). Enum values follow §10.

use serde_json::{json, Map, Value};
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

/// The `KalturaFlavorParams` object of a params definition.
pub fn flavor_params_json(p: &FlavorParams, partner_id: i64) -> Value {
    json!({
        "videoCodec": "h264", "videoBitrate": (p.size_factor * 5000.0) as i64,
        "audioCodec": "aac", "audioBitrate": 96, "height": p.height, "width": 0,
        "frameRate": 0, "isSystemDefault": 1, "engineVersion": 1,
        "id": p.id, "partnerId": if p.id == 0 { 0 } else { partner_id }, "name": p.name,
        "systemName": "", "description": "", "createdAt": 1262304000, "tags": p.tags,
        "format": if p.id == 0 { "" } else { "mp4" }, "objectType": "KalturaFlavorParams"
    })
}

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

impl Flavor {
    /// The `KalturaFlavorAsset` object (read path: `version` as a string, as the database returns it).
    pub fn to_json(&self, partner_id: i64) -> Value {
        let mut m = Map::new();
        m.insert("flavorParamsId".into(), json!(self.flavor_params_id));
        m.insert("width".into(), json!(self.width));
        m.insert("height".into(), json!(self.height));
        m.insert("bitrate".into(), json!(self.bitrate));
        m.insert(
            "frameRate".into(),
            if self.is_original {
                json!(29.97)
            } else {
                json!(25)
            },
        );
        m.insert("isOriginal".into(), json!(self.is_original));
        m.insert("isWeb".into(), json!(true));
        m.insert("containerFormat".into(), json!("isom"));
        m.insert("videoCodecId".into(), json!("avc1"));
        m.insert("status".into(), json!(self.status));
        m.insert("isDefault".into(), json!(false));
        m.insert("id".into(), json!(self.id));
        m.insert("entryId".into(), json!(self.entry_id));
        m.insert("partnerId".into(), json!(partner_id));
        m.insert("version".into(), json!(self.version.to_string()));
        m.insert(
            "size".into(),
            json!(((self.size_bytes as f64) / 1024.0).round() as i64),
        );
        m.insert("tags".into(), json!(self.tags));
        m.insert("fileExt".into(), json!(self.file_ext));
        m.insert("createdAt".into(), json!(self.created_at));
        m.insert("updatedAt".into(), json!(self.updated_at));
        if let Some(d) = self.deleted_at {
            m.insert("deletedAt".into(), json!(d));
        }
        m.insert("description".into(), json!(""));
        if self.reports_size_in_bytes {
            m.insert("sizeInBytes".into(), json!(self.size_bytes));
        }
        m.insert("objectType".into(), json!("KalturaFlavorAsset"));
        Value::Object(m)
    }
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

/// Context needed to render an entry.
pub struct RenderCtx<'a> {
    /// Partner id.
    pub partner_id: i64,
    /// Base URL of the simulator.
    pub base_url: &'a str,
    /// Category full names by id.
    pub category_name: &'a dyn Fn(i64) -> Option<String>,
    /// Comma list of READY flavor params ids.
    pub flavor_params_ids: String,
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

    /// The `KalturaMediaEntry` object (null fields omitted, `objectType` last).
    pub fn to_json(&self, ctx: &RenderCtx<'_>) -> Value {
        let pid = ctx.partner_id;
        let base = ctx.base_url;
        let mut m = Map::new();
        m.insert("mediaType".into(), json!(self.media_type));
        m.insert(
            "conversionQuality".into(),
            json!(self.conversion_profile_id),
        );
        m.insert("sourceType".into(), json!("1"));
        m.insert(
            "dataUrl".into(),
            json!(format!(
                "{base}/p/{pid}/sp/{pid}00/playManifest/entryId/{}/format/url/protocol/http",
                self.id
            )),
        );
        m.insert("flavorParamsIds".into(), json!(ctx.flavor_params_ids));
        m.insert("plays".into(), json!(self.plays));
        m.insert("views".into(), json!(self.views));
        if let Some(t) = self.last_played_at {
            m.insert("lastPlayedAt".into(), json!(t));
        }
        m.insert("width".into(), json!(self.width));
        m.insert("height".into(), json!(self.height));
        m.insert("duration".into(), json!((self.ms_duration + 500) / 1000));
        m.insert("msDuration".into(), json!(self.ms_duration));
        let secs = self.ms_duration / 1000;
        let duration_type = match secs {
            0 => "notavailable",
            1..=239 => "short",
            240..=1199 => "medium",
            _ => "long",
        };
        m.insert("durationType".into(), json!(duration_type));
        m.insert("id".into(), json!(self.id));
        m.insert("name".into(), json!(self.name));
        if let Some(d) = &self.description {
            m.insert("description".into(), json!(d));
        }
        m.insert("partnerId".into(), json!(pid));
        m.insert("userId".into(), json!(self.user_id));
        m.insert("creatorId".into(), json!(self.creator_id));
        m.insert("tags".into(), json!(self.tags));
        m.insert("adminTags".into(), json!(self.admin_tags));
        let names: Vec<String> = self
            .category_ids
            .iter()
            .filter_map(|c| (ctx.category_name)(*c))
            .collect();
        m.insert("categories".into(), json!(names.join(",")));
        let ids: Vec<String> = self.category_ids.iter().map(|c| c.to_string()).collect();
        m.insert("categoriesIds".into(), json!(ids.join(",")));
        m.insert("status".into(), json!(self.status));
        m.insert("moderationStatus".into(), json!(self.moderation_status));
        m.insert("moderationCount".into(), json!(0));
        m.insert("type".into(), json!(1));
        m.insert("createdAt".into(), json!(self.created_at));
        m.insert("updatedAt".into(), json!(self.updated_at));
        m.insert("rank".into(), json!(0));
        m.insert("totalRank".into(), json!(0));
        m.insert("votes".into(), json!(0));
        if let Some(p) = &self.partner_data {
            m.insert("partnerData".into(), json!(p));
        }
        m.insert(
            "downloadUrl".into(),
            json!(format!("{base}/p/{pid}/sp/{pid}00/playManifest/entryId/{}/format/download/protocol/http/flavorParamIds/0", self.id)),
        );
        m.insert(
            "searchText".into(),
            json!(format!(
                "_PAR_ONLY_ _{pid}_ _MEDIA_TYPE_{}| {} {}",
                self.media_type, self.name, self.tags
            )),
        );
        m.insert("licenseType".into(), json!(-1));
        m.insert("version".into(), json!(0));
        m.insert(
            "thumbnailUrl".into(),
            json!(format!(
                "{base}/p/{pid}/sp/{pid}00/thumbnail/entry_id/{}/version/{}",
                self.id,
                100000 + self.thumb_version
            )),
        );
        m.insert("accessControlId".into(), json!(1));
        if let Some(r) = &self.reference_id {
            m.insert("referenceId".into(), json!(r));
        }
        if let Some(r) = &self.replacing_entry_id {
            m.insert("replacingEntryId".into(), json!(r));
        }
        if let Some(r) = &self.replaced_entry_id {
            m.insert("replacedEntryId".into(), json!(r));
        }
        m.insert("replacementStatus".into(), json!(self.replacement_status));
        m.insert("partnerSortValue".into(), json!(self.partner_sort_value));
        m.insert(
            "conversionProfileId".into(),
            json!(self.conversion_profile_id),
        );
        m.insert("rootEntryId".into(), json!(self.id));
        m.insert("operationAttributes".into(), json!([]));
        m.insert("entitledUsersEdit".into(), json!(""));
        m.insert("entitledUsersPublish".into(), json!(""));
        m.insert("entitledUsersView".into(), json!(""));
        m.insert("capabilities".into(), json!(""));
        m.insert("displayInSearch".into(), json!(self.display_in_search));
        m.insert("blockAutoTranscript".into(), json!(false));
        m.insert("objectType".into(), json!("KalturaMediaEntry"));
        Value::Object(m)
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

impl UploadToken {
    /// The `KalturaUploadToken` object; on read paths (`get`, `list`) the sizes come back as
    /// numeric strings, as the database returns them (kaltura-api.md §2.2).
    pub fn to_json(&self, partner_id: i64, read_path: bool) -> Value {
        let num = |n: f64| {
            let text = if n.fract() == 0.0 {
                format!("{}", n as i64)
            } else {
                n.to_string()
            };
            match (read_path, n.fract() == 0.0) {
                (true, _) => json!(text),
                (false, true) => json!(n as i64),
                (false, false) => json!(n),
            }
        };
        let mut m = Map::new();
        m.insert("id".into(), json!(self.id));
        m.insert("partnerId".into(), json!(partner_id));
        m.insert("userId".into(), json!(self.user_id));
        m.insert("status".into(), json!(self.status));
        if let Some(f) = &self.file_name {
            m.insert("fileName".into(), json!(f));
        }
        if let Some(s) = self.file_size {
            m.insert("fileSize".into(), num(s));
        }
        if let Some(u) = self.uploaded {
            m.insert("uploadedFileSize".into(), num(u as f64));
        }
        m.insert("createdAt".into(), json!(self.created_at));
        m.insert("updatedAt".into(), json!(self.updated_at));
        m.insert(
            "autoFinalize".into(),
            json!(if self.auto_finalize { 1 } else { 0 }),
        );
        if let Some((t, id)) = &self.attached {
            m.insert("attachedObjectType".into(), json!(t));
            m.insert("attachedObjectId".into(), json!(id));
        }
        m.insert("objectType".into(), json!("KalturaUploadToken"));
        Value::Object(m)
    }
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
