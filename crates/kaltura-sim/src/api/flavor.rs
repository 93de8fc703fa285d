//! The `flavorAsset` service: list (entry id mandatory, default page 30, no 10,000 cap, deleted
//! flavors invisible), get, getFlavorAssetsWithParams, getUrl, delete (kaltura-api.md §6).

use serde_json::{json, Value};

use super::media::{list_response, pager};
use crate::error::{codes, ApiResult};
use crate::model::{flavor_status, FLAVOR_PARAMS};
use crate::params::Obj;
use crate::wire::flavor_params_json;
use crate::world::World;

/// `flavorAsset.list`.
pub fn list(w: &World, p: Obj<'_>) -> ApiResult<Value> {
    let f = p.obj_or_empty("filter");
    let entry_ids: Vec<String> = match (f.str("entryIdEqual"), f.csv("entryIdIn")) {
        (Some(id), _) => vec![id],
        (None, Some(mut ids)) => {
            ids.truncate(500);
            ids
        }
        (None, None) => {
            return Err(codes::cannot_be_null(
                "KalturaFlavorAssetFilter::entryIdEqual/KalturaFlavorAssetFilter::entryIdIn",
            ))
        }
    };
    let status_in: Option<Vec<i32>> = f
        .str("statusEqual")
        .map(|s| vec![s])
        .or_else(|| f.csv("statusIn"))
        .map(|l| l.iter().filter_map(|s| s.parse().ok()).collect());
    let status_not_in: Vec<i32> = f
        .csv("statusNotIn")
        .unwrap_or_default()
        .iter()
        .filter_map(|s| s.parse().ok())
        .collect();
    let params_in: Option<Vec<i64>> = f
        .str("flavorParamsIdEqual")
        .map(|s| vec![s])
        .or_else(|| f.csv("flavorParamsIdIn"))
        .map(|l| l.iter().filter_map(|s| s.parse().ok()).collect());
    let ids_in: Option<Vec<String>> = f.str("idEqual").map(|s| vec![s]).or_else(|| f.csv("idIn"));
    let mut hits: Vec<usize> = entry_ids
        .iter()
        .filter_map(|id| w.entry_idx(id).ok())
        .flat_map(|e| w.entries[e].flavors.iter().copied())
        .filter(|&i| {
            let fl = &w.flavors[i];
            fl.status != flavor_status::DELETED
                && status_in.as_ref().is_none_or(|s| s.contains(&fl.status))
                && !status_not_in.contains(&fl.status)
                && params_in
                    .as_ref()
                    .is_none_or(|s| s.contains(&fl.flavor_params_id))
                && ids_in.as_ref().is_none_or(|s| s.contains(&fl.id))
        })
        .collect();
    hits.sort_unstable();
    if let Some(order) = f.str("orderBy") {
        let desc = order.starts_with('-');
        hits.sort_by(|&a, &b| {
            let (x, y) = (&w.flavors[a], &w.flavors[b]);
            let o = match order.trim_start_matches(['+', '-']) {
                "size" => x.size_bytes.cmp(&y.size_bytes),
                "updatedAt" => x.updated_at.cmp(&y.updated_at),
                "deletedAt" => x.deleted_at.cmp(&y.deleted_at),
                _ => x.created_at.cmp(&y.created_at),
            };
            if desc { o.reverse() } else { o }.then(a.cmp(&b))
        });
    }
    let total = hits.len();
    let (size, index) = pager(p.obj_or_empty("pager"));
    let offset = (index - 1) * size;
    let objects = hits
        .iter()
        .skip(offset)
        .take(size)
        .map(|&i| w.render_flavor(i))
        .collect();
    Ok(list_response(
        objects,
        total,
        "KalturaFlavorAssetListResponse",
    ))
}

/// `flavorAsset.get`.
pub fn get(w: &World, p: Obj<'_>) -> ApiResult<Value> {
    let id = p.required_str("id")?;
    Ok(w.render_flavor(w.flavor_idx(&id)?))
}

/// `flavorAsset.getFlavorAssetsWithParams`: each live flavor with its params, then the partner's
/// params that have no flavor on this entry (no `flavorAsset` key).
pub fn with_params(w: &World, p: Obj<'_>) -> ApiResult<Value> {
    let id = p.required_str("entryId")?;
    let idx = w.entry_idx(&id)?;
    let pid = w.settings.partner_id;
    let mut out = Vec::new();
    let mut seen = Vec::new();
    for &f in &w.entries[idx].flavors {
        let fl = &w.flavors[f];
        if fl.status == flavor_status::DELETED {
            continue;
        }
        let params = FLAVOR_PARAMS
            .iter()
            .find(|p| p.id == fl.flavor_params_id)
            .unwrap_or(&FLAVOR_PARAMS[0]);
        seen.push(params.id);
        out.push(json!({"flavorAsset": w.render_flavor(f), "flavorParams": flavor_params_json(params, pid),
                        "entryId": id, "objectType": "KalturaFlavorAssetWithParams"}));
    }
    for params in FLAVOR_PARAMS.iter().filter(|p| !seen.contains(&p.id)) {
        out.push(
            json!({"flavorParams": flavor_params_json(params, pid), "entryId": id,
                        "objectType": "KalturaFlavorAssetWithParams"}),
        );
    }
    Ok(Value::Array(out))
}

/// Reduces a file name to URL-safe characters.
fn url_safe(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// `flavorAsset.getUrl`: a serveFlavor URL that this simulator serves.
pub fn get_url(w: &World, p: Obj<'_>) -> ApiResult<Value> {
    let id = p.required_str("id")?;
    let fidx = w.flavor_idx(&id)?;
    let f = &w.flavors[fidx];
    if f.status != flavor_status::READY {
        return Err(codes::flavor_not_ready());
    }
    let entry = &w.entries[w.entry_idx(&f.entry_id)?];
    let params_name = FLAVOR_PARAMS
        .iter()
        .find(|p| p.id == f.flavor_params_id)
        .map(|p| p.name)
        .unwrap_or("Source");
    let name = p
        .obj("options")
        .and_then(|o| o.str("fileName"))
        .unwrap_or_else(|| format!("{} ({params_name})", entry.name));
    let ext = if f.file_ext.is_empty() {
        "mp4"
    } else {
        &f.file_ext
    };
    let pid = w.settings.partner_id;
    Ok(Value::String(format!(
        "{}/p/{pid}/sp/{pid}00/serveFlavor/entryId/{}/v/{}/flavorId/{}/fileName/{}.{ext}/forceproxy/true/name/a.{ext}",
        w.base_url,
        f.entry_id,
        f.version,
        f.id,
        url_safe(&name)
    )))
}

/// `flavorAsset.delete`: DELETED with `deletedAt`; the last READY flavor gone ⇒ entry NO_CONTENT.
pub fn delete(w: &mut World, p: Obj<'_>) -> ApiResult<Value> {
    let id = p.required_str("id")?;
    let fidx = w.flavor_idx(&id)?;
    w.delete_flavor(fidx);
    Ok(Value::Null)
}
