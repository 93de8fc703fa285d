//! The objects as the wire shows them: `KalturaMediaEntry`, `KalturaFlavorAsset`,
//! `KalturaFlavorParams` and `KalturaUploadToken` rendered from the model, field by field in the
//! service's order, with the service's types (kaltura-api.md §2). [`crate::render`] turns them
//! into JSON or XML responses.

use serde_json::{json, Map, Value};

use crate::model::{Entry, Flavor, FlavorParams, UploadToken};

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
