//! The `category` service (`list` by `idIn`, `fullNameIn`, `idEqual`, `fullNameEqual`): the
//! partner's category tree, as selections name it.

use serde_json::{json, Value};

use super::media::paged;
use crate::error::ApiResult;
use crate::params::Obj;
use crate::world::World;

fn render(w: &World, c: &crate::model::Category) -> Value {
    let depth = c.full_name.matches('>').count();
    let name = c.full_name.rsplit('>').next().unwrap_or(&c.full_name);
    let entries = w
        .entries
        .iter()
        .filter(|e| e.category_ids.contains(&c.id))
        .count();
    json!({
        "id": c.id, "parentId": c.parent.unwrap_or(0), "depth": depth, "partnerId": w.settings.partner_id,
        "name": name, "fullName": c.full_name, "fullIds": "", "entriesCount": entries,
        "createdAt": 1262304000, "updatedAt": 1262304000, "status": 2, "objectType": "KalturaCategory"
    })
}

/// `category.list`.
pub fn list(w: &World, p: Obj<'_>) -> ApiResult<Value> {
    let f = p.obj_or_empty("filter");
    let csv = |name: &str| -> Option<Vec<String>> {
        f.str(name)
            .map(|v| v.split(',').map(|s| s.trim().to_string()).collect())
    };
    let ids = csv("idIn").or_else(|| f.str("idEqual").map(|i| vec![i]));
    let names = csv("fullNameIn").or_else(|| f.str("fullNameEqual").map(|n| vec![n]));
    let all: Vec<Value> = w
        .categories
        .iter()
        .filter(|c| {
            ids.as_ref()
                .is_none_or(|ids| ids.contains(&c.id.to_string()))
        })
        .filter(|c| names.as_ref().is_none_or(|n| n.contains(&c.full_name)))
        .map(|c| render(w, c))
        .collect();
    Ok(paged(all, p, "KalturaCategoryListResponse"))
}
