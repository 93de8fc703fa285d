//! Response profiles (`responseProfile`, a `KalturaDetachedResponseProfile`): each object of a
//! result gets, in `relatedObjects[name]`, the list its related profile selects — the related
//! filter with each mapping's `parentProperty` of the object written into its `filterProperty`
//! (e.g. the entry's `id` into a `KalturaFlavorAssetFilter`'s `entryIdEqual`), paged by the
//! related profile's pager. As the server does it, one list per object. The simulator knows the
//! related lists the archiver can use: flavor assets.

use serde_json::{Map, Value};

use super::flavor;
use crate::error::{codes, ApiResult};
use crate::params::Obj;
use crate::world::World;

/// Adds the related objects `profile` asks for to each object of `result` (a list response or
/// one object).
pub fn attach(w: &World, profile: Obj<'_>, result: &mut Value) -> ApiResult<()> {
    let Some(Value::Array(related)) = profile.get("relatedProfiles") else {
        return Ok(());
    };
    let objects: Vec<&mut Value> = match result.get_mut("objects") {
        Some(Value::Array(list)) => list.iter_mut().collect(),
        _ => vec![result],
    };
    for object in objects {
        let mut lists = Map::new();
        for r in related {
            let Value::Object(r) = r else { continue };
            let r = Obj(r);
            let name = r.str("name").unwrap_or_default();
            let mut filter = r.obj_or_empty("filter").0.clone();
            // The one related list simulated; any other is refused rather than ignored.
            if filter.get("objectType").and_then(Value::as_str) != Some("KalturaFlavorAssetFilter")
            {
                return Err(codes::object_type_abstract("KalturaRelatedFilter"));
            }
            if let Some(Value::Array(mappings)) = r.get("mappings") {
                for m in mappings.iter().filter_map(Value::as_object) {
                    let m = Obj(m);
                    let (Some(parent), Some(into)) =
                        (m.str("parentProperty"), m.str("filterProperty"))
                    else {
                        continue;
                    };
                    if let Some(v) = object.get(&parent) {
                        filter.insert(into, v.clone());
                    }
                }
            }
            let mut params = Map::new();
            params.insert("filter".into(), Value::Object(filter));
            if let Some(pager) = r.get("pager") {
                params.insert("pager".into(), pager.clone());
            }
            lists.insert(name, flavor::list(w, Obj(&params))?);
        }
        if let Value::Object(o) = object {
            o.insert("relatedObjects".into(), Value::Object(lists));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_profile_without_related_profiles_changes_nothing() {
        let w = World::new(
            crate::SimConfig::default(),
            "http://x",
            std::env::temp_dir(),
        );
        let mut v = json!({"objects": [{"id": "0_a"}], "totalCount": 1});
        let before = v.clone();
        attach(&w, Obj(&Map::new()), &mut v).unwrap();
        assert_eq!(v, before);
    }
}
