//! The `media` service (and its `baseEntry` aliases): get, list, count, update, add, delete,
//! addContent, updateContent, approveReplace, cancelReplace, updateThumbnail (kaltura-api.md §4–5).

use serde_json::{json, Value};

use crate::error::{codes, ApiError, ApiResult};
use crate::faults::Faults;
use crate::filter::EntryFilter;
use crate::model::{entry_status, flavor_status, normalize_tags, Category, Entry};
use crate::params::{to_string, Obj};
use crate::world::World;

/// Result cap of list calls served from the search index.
pub const MAX_MATCHES: usize = 10_000;

/// Reads a pager: `pageSize` default 30, clamped to 500; `pageIndex` 1-based, < 1 read as 1.
pub fn pager(p: Obj<'_>) -> (usize, usize) {
    let size = p.int("pageSize").filter(|s| *s > 0).unwrap_or(30).min(500) as usize;
    let index = p.int("pageIndex").unwrap_or(1).max(1) as usize;
    (size, index)
}

/// One page of `all`, as the request's pager asks, as a list response.
pub fn paged(all: Vec<Value>, p: Obj<'_>, object_type: &str) -> Value {
    let (size, index) = pager(p.obj_or_empty("pager"));
    let total = all.len();
    let page = all
        .into_iter()
        .skip(size * (index - 1))
        .take(size)
        .collect();
    list_response(page, total, object_type)
}

/// A list response object.
pub fn list_response(objects: Vec<Value>, total: usize, object_type: &str) -> Value {
    json!({"objects": objects, "totalCount": total, "objectType": object_type})
}

/// `media.get`.
pub fn get(w: &World, p: Obj<'_>) -> ApiResult<Value> {
    let id = p.required_str("entryId")?;
    Ok(w.render_entry(w.entry_idx(&id)?))
}

fn matching(w: &World, f: &EntryFilter) -> Vec<usize> {
    let now_ms = w.now_ms();
    (0..w.entries.len())
        .filter(|&i| f.matches(w.index_view(i, now_ms), &w.categories))
        .collect()
}

/// `media.list`: default scoping, 500 clamp, the 10,000 cap with
/// `QUERY_EXCEEDED_MAX_MATCHES_ALLOWED`, true `totalCount`.
pub fn list(w: &World, p: Obj<'_>) -> ApiResult<Value> {
    let f = EntryFilter::compile(p.obj_or_empty("filter"), w.now())?;
    let (size, index) = pager(p.obj_or_empty("pager"));
    let offset = (index - 1) * size;
    if offset >= MAX_MATCHES {
        return Err(codes::query_exceeded_max_matches());
    }
    let now_ms = w.now_ms();
    let mut hits: Vec<_> = matching(w, &f)
        .into_iter()
        .map(|i| (f.sort_key(w.index_view(i, now_ms)), i))
        .collect();
    let total = hits.len();
    let end = (offset + size).min(MAX_MATCHES).min(total);
    // Only the first `end` in order are needed: partition around them, then sort just those.
    if end > 0 && end < hits.len() {
        hits.select_nth_unstable(end);
        hits.truncate(end);
    }
    hits.sort_unstable();
    let objects = hits
        .get(offset..end)
        .unwrap_or(&[])
        .iter()
        .map(|(_, i)| w.render_entry(*i))
        .collect();
    Ok(list_response(objects, total, "KalturaMediaListResponse"))
}

/// `media.count`: the number of matches (not capped).
pub fn count(w: &World, p: Obj<'_>) -> ApiResult<Value> {
    let f = EntryFilter::compile(p.obj_or_empty("filter"), w.now())?;
    Ok(json!(matching(w, &f).len()))
}

/// Fields a client may not change (read-only or insert-only).
const NOT_UPDATABLE: &[&str] = &[
    "id",
    "partnerId",
    "status",
    "createdAt",
    "updatedAt",
    "plays",
    "views",
    "lastPlayedAt",
    "version",
    "flavorParamsIds",
    "replacingEntryId",
    "replacedEntryId",
    "replacementStatus",
    "moderationStatus",
    "moderationCount",
    "width",
    "height",
    "duration",
    "rank",
    "totalRank",
    "downloadUrl",
    "dataUrl",
    "thumbnailUrl",
    "searchText",
    "creatorId",
    "mediaType",
    "sourceType",
    "conversionQuality",
    "templateEntryId",
    "rootEntryId",
    "capabilities",
    "durationType",
];

fn category_ids_by_name(cats: &mut Vec<Category>, names: &str) -> Vec<i64> {
    let mut ids = Vec::new();
    for name in names.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        let id = match cats.iter().find(|c| c.full_name == name) {
            Some(c) => c.id,
            None => {
                let id = cats.iter().map(|c| c.id).max().unwrap_or(100) + 1;
                let parent = name
                    .rsplit_once('>')
                    .and_then(|(p, _)| cats.iter().find(|c| c.full_name == p).map(|c| c.id));
                cats.push(Category {
                    id,
                    full_name: name.to_string(),
                    parent,
                });
                id
            }
        };
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    ids
}

/// Applies the writable fields of a `KalturaMediaEntry` object to an entry.
fn apply_fields(w: &mut World, idx: usize, m: Obj<'_>) -> ApiResult<()> {
    let current = w.render_entry(idx);
    for (k, v) in m.0 {
        if NOT_UPDATABLE.contains(&k.as_str()) && !v.is_null() {
            let cur = current.get(k).and_then(to_string);
            if cur != to_string(v) {
                return Err(codes::not_updatable(&format!("KalturaMediaEntry::{k}")));
            }
        }
    }
    if let Some(d) = m.int("displayInSearch") {
        if !(-2..=2).contains(&d) {
            return Err(codes::invalid_enum(
                &d.to_string(),
                "displayInSearch",
                "KalturaEntryDisplayInSearchType",
            ));
        }
    }
    let cat_ids = m
        .str_or_empty("categories")
        .map(|names| category_ids_by_name(&mut w.categories, &names));
    w.touch(idx);
    let e: &mut Entry = &mut w.entries[idx];
    if let Some(n) = m.str("name") {
        e.name = n;
    }
    if m.is_nulled("description") {
        e.description = None;
    } else if let Some(d) = m.str_or_empty("description") {
        e.description = Some(d);
    }
    if m.is_nulled("tags") {
        e.tags.clear();
    } else if let Some(t) = m.str_or_empty("tags") {
        e.tags = normalize_tags(&t);
    }
    if let Some(t) = m.str_or_empty("adminTags") {
        e.admin_tags = normalize_tags(&t);
    }
    if let Some(ids) = cat_ids {
        e.category_ids = ids;
    } else if let Some(ids) = m.str_or_empty("categoriesIds") {
        e.category_ids = ids
            .split(',')
            .filter_map(|s| s.trim().parse().ok())
            .collect();
    }
    if let Some(u) = m.str("userId") {
        e.user_id = u;
    }
    if m.is_nulled("partnerData") {
        e.partner_data = None;
    } else if let Some(d) = m.str_or_empty("partnerData") {
        e.partner_data = Some(d);
    }
    if m.is_nulled("referenceId") {
        e.reference_id = None;
    } else if let Some(r) = m.str_or_empty("referenceId") {
        e.reference_id = Some(r);
    }
    if let Some(v) = m.int("partnerSortValue") {
        e.partner_sort_value = v;
    }
    if let Some(v) = m.int("displayInSearch") {
        e.display_in_search = v as i32;
    }
    if let Some(v) = m.int("conversionProfileId") {
        e.conversion_profile_id = v;
    }
    if let Some(v) = m.int("msDuration") {
        e.ms_duration = v;
    }
    Ok(())
}

/// `media.update`: writes the given fields; tags are normalised; RO/IO fields refused when changed.
pub fn update(w: &mut World, p: Obj<'_>) -> ApiResult<Value> {
    let id = p.required_str("entryId")?;
    let idx = w.entry_idx(&id)?;
    let m = p
        .obj("mediaEntry")
        .or_else(|| p.obj("baseEntry"))
        .ok_or_else(|| codes::missing_parameter("mediaEntry"))?;
    apply_fields(w, idx, m)?;
    Ok(w.render_entry(idx))
}

/// `media.add`: a new entry in NO_CONTENT.
pub fn add(w: &mut World, p: Obj<'_>, ks_user: &str) -> ApiResult<Value> {
    let m = p
        .obj("entry")
        .ok_or_else(|| codes::missing_parameter("entry"))?;
    let now = w.now();
    let id = w.new_id(false);
    let user = m.str("userId").unwrap_or_else(|| ks_user.to_string());
    let entry = Entry::new(id, user, m.int("mediaType").unwrap_or(1) as i32, now);
    let idx = w.push_entry(entry);
    let mut writable = m.0.clone();
    for k in ["mediaType", "creatorId", "userId"] {
        writable.remove(k);
    }
    apply_fields(w, idx, Obj(&writable))?;
    Ok(w.render_entry(idx))
}

/// `media.delete`: the entry goes to DELETED and disappears from get and default lists.
pub fn delete(w: &mut World, p: Obj<'_>) -> ApiResult<Value> {
    let id = p.required_str("entryId")?;
    let idx = w.entry_idx(&id)?;
    w.touch(idx);
    w.entries[idx].status = entry_status::DELETED;
    Ok(Value::Null)
}

/// The upload token of a `resource` parameter (the only resource kind the simulator ingests).
fn resource_token(w: &World, resource: Obj<'_>) -> ApiResult<String> {
    let t = resource
        .object_type()
        .ok_or_else(|| codes::object_type_abstract("KalturaResource"))?;
    if t != "KalturaUploadedFileTokenResource" {
        return Err(ApiError::new(
            "RESOURCE_TYPE_NOT_SUPPORTED",
            "Resource type [@RES_TYPE@] is not supported",
            &[("RES_TYPE", &t)],
        ));
    }
    let token = resource.required_str("token")?;
    if !w.tokens.contains_key(&token) {
        return Err(codes::upload_token_not_found());
    }
    Ok(token)
}

/// `media.addContent`: only from NO_CONTENT; a FULL_UPLOAD token is consumed, any other token is
/// attached "not ready" and the entry waits in IMPORT.
pub fn add_content(w: &mut World, p: Obj<'_>, faults: &Faults) -> ApiResult<Value> {
    let id = p.required_str("entryId")?;
    let idx = w.entry_idx(&id)?;
    let Some(resource) = p.obj("resource") else {
        return Ok(w.render_entry(idx));
    };
    if w.entries[idx].status != entry_status::NO_CONTENT {
        return Err(codes::entry_already_with_content());
    }
    let token = resource_token(w, resource)?;
    w.start_ingest(idx, &token, faults.conversion_fails());
    Ok(w.render_entry(idx))
}

/// `media.updateContent`: like addContent on NO_CONTENT; otherwise a replacement through a
/// temporary entry (kaltura-api.md §5.3).
pub fn update_content(w: &mut World, p: Obj<'_>, faults: &Faults) -> ApiResult<Value> {
    let id = p.required_str("entryId")?;
    let idx = w.entry_idx(&id)?;
    let resource = p
        .obj("resource")
        .ok_or_else(|| codes::missing_parameter("resource"))?;
    if w.entries[idx].status == entry_status::NO_CONTENT {
        let token = resource_token(w, resource)?;
        w.start_ingest(idx, &token, faults.conversion_fails());
        return Ok(w.render_entry(idx));
    }
    if !w.settings.replacement_enabled {
        return Err(codes::feature_forbidden("ENTRY_REPLACEMENT"));
    }
    if w.entries[idx].replacing_entry_id.is_some() {
        return Err(codes::replacement_already_exists());
    }
    let token = resource_token(w, resource)?;
    let now = w.now();
    let temp_id = w.new_id(false);
    let mut temp = w.entries[idx].clone();
    temp.id = temp_id.clone();
    temp.display_in_search = -1;
    temp.replaced_entry_id = Some(id.clone());
    temp.replacing_entry_id = None;
    temp.status = entry_status::NO_CONTENT;
    temp.flavors = vec![];
    temp.stale = None;
    temp.ingest = None;
    temp.created_at = now;
    temp.updated_at = now;
    temp.plays = 0;
    temp.views = 0;
    temp.last_played_at = None;
    let temp_idx = w.push_entry(temp);
    w.touch(idx);
    w.entries[idx].replacing_entry_id = Some(temp_id);
    w.entries[idx].replacement_status = if w.settings.approval_required { 3 } else { 1 };
    w.start_ingest(temp_idx, &token, faults.conversion_fails());
    Ok(w.render_entry(idx))
}

fn temp_of(w: &World, idx: usize) -> Option<usize> {
    w.entries[idx]
        .replacing_entry_id
        .as_ref()
        .and_then(|t| w.entry_index.get(t).copied())
}

/// `media.approveReplace`.
pub fn approve_replace(w: &mut World, p: Obj<'_>) -> ApiResult<Value> {
    let id = p.required_str("entryId")?;
    let idx = w.entry_idx(&id)?;
    match (w.entries[idx].replacement_status, temp_of(w, idx)) {
        (2, Some(temp)) => w.replace_now(idx, temp),
        (3, Some(temp)) => {
            w.touch(idx);
            w.entries[idx].replacement_status = 1;
            let t = &w.entries[temp];
            if t.ingest.is_none() && t.status == entry_status::READY {
                w.replace_now(idx, temp);
            }
        }
        (1, _) => {}
        _ => return Err(codes::entry_not_replaced(&id)),
    }
    Ok(w.render_entry(idx))
}

/// `media.cancelReplace`: deletes the temporary entry and clears the replacement.
pub fn cancel_replace(w: &mut World, p: Obj<'_>) -> ApiResult<Value> {
    let id = p.required_str("entryId")?;
    let idx = w.entry_idx(&id)?;
    if let Some(temp) = temp_of(w, idx) {
        w.touch(temp);
        w.entries[temp].status = entry_status::DELETED;
        w.entries[temp].ingest = None;
    }
    w.touch(idx);
    w.entries[idx].replacing_entry_id = None;
    w.entries[idx].replacement_status = 0;
    Ok(w.render_entry(idx))
}

/// `media.updateThumbnail`: needs a flavor file, else `INTERNAL_SERVERL_ERROR` (sic).
pub fn update_thumbnail(w: &mut World, p: Obj<'_>) -> ApiResult<Value> {
    let id = p.required_str("entryId")?;
    let idx = w.entry_idx(&id)?;
    // A frame comes from any flavor whose file exists, in any status (kaltura-api.md §5.5): a
    // READY one, or the original, whose file is the uploaded one from the request that
    // created it.
    let has_file = w.entries[idx].flavors.iter().any(|&f| {
        let f = &w.flavors[f];
        f.status == flavor_status::READY || (f.is_original && f.status != flavor_status::DELETED)
    });
    if !has_file {
        return Err(codes::internal_serverl_error());
    }
    w.touch(idx);
    w.entries[idx].thumb_version += 1;
    Ok(w.render_entry(idx))
}
