//! `media.list`, `media.count`, `media.get` and `flavorAsset.list`, with the filter and pager as
//! serializable structs: the wire parameters are the structs (kaltura-api.md §4.3, §6.2).

use serde::Serialize;
use serde_json::{json, Map, Value};

use crate::client::{Client, Idempotence};
use crate::error::{Error, Result};
use crate::models::{EntryId, FlavorAsset, ListResponse, MediaEntry};

/// Largest page the service returns.
pub const MAX_PAGE_SIZE: u32 = 500;

/// `KalturaMediaEntryFilter`: only the fields set are sent. Times are absolute Unix seconds
/// (values within ±10 years of zero would be taken as relative to now).
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct MediaEntryFilter {
    /// `+createdAt`, `-createdAt`, …
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order_by: Option<String>,
    /// Comma list of ids.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_in: Option<String>,
    /// Comma list of ids to leave out.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_not_in: Option<String>,
    /// Every one of these tags (comma list).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tags_multi_like_and: Option<String>,
    /// Membership in these categories or their descendants (comma list of ids).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub category_ancestor_id_in: Option<String>,
    /// Membership in categories with these full names (comma list).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub categories_full_name_in: Option<String>,
    /// Statuses (comma list); without it the service returns READY entries only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_in: Option<String>,
    /// Media types (comma list).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub media_type_in: Option<String>,
    /// Created at or after.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_at_greater_than_or_equal: Option<i64>,
    /// Created at or before.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_at_less_than_or_equal: Option<i64>,
    /// Last played at or after (never-played entries do not match).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_played_at_greater_than_or_equal: Option<i64>,
    /// Last played at or before, or never played.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_played_at_less_than_or_equal_or_null: Option<i64>,
    /// Moderation statuses (comma list); without it pending and rejected entries are hidden.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub moderation_status_in: Option<String>,
    /// A `KalturaSearchItem` (conditions on plays, negated tags, …).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub advanced_search: Option<Value>,
}

/// `plays < n` as an `advancedSearch` condition.
pub fn plays_below(n: i64) -> Value {
    json!({"objectType": "KalturaMediaEntryCompareAttributeCondition", "attribute": "plays", "comparison": "4", "value": n.to_string()})
}

/// "Does not carry tag" as an `advancedSearch` condition.
pub fn without_tag(tag: &str) -> Value {
    json!({"objectType": "KalturaMediaEntryMatchAttributeCondition", "attribute": "tags", "value": tag, "not": true})
}

/// Several conditions that must all hold.
pub fn all_of(items: Vec<Value>) -> Value {
    json!({"objectType": "KalturaSearchOperator", "type": 1, "items": items})
}

/// The `filter` parameter: the fields set, plus `objectType`.
fn filter_param(filter: &MediaEntryFilter) -> Value {
    let mut m = match serde_json::to_value(filter) {
        Ok(Value::Object(m)) => m,
        _ => Map::new(),
    };
    m.insert("objectType".into(), json!("KalturaMediaEntryFilter"));
    Value::Object(m)
}

/// Parses a result into its type; a mismatch is a [`Error::Decode`] naming the action.
pub(crate) fn decode<T: serde::de::DeserializeOwned>(action: &str, v: Value) -> Result<T> {
    serde_json::from_value(v).map_err(|e| Error::Decode {
        action: action.to_string(),
        detail: e.to_string(),
    })
}

/// The name of the nested flavor list of [`Client::list_media_with_flavors`].
pub const FLAVORS: &str = "flavors";

impl Client {
    /// `media.list`: one page (`page_size` ≤ 500, `page_index` from 1).
    pub async fn list_media(
        &self,
        filter: &MediaEntryFilter,
        page_size: u32,
        page_index: u32,
    ) -> Result<ListResponse<MediaEntry>> {
        let mut p = Map::new();
        p.insert("filter".into(), filter_param(filter));
        p.insert("pager".into(), json!({"objectType": "KalturaFilterPager", "pageSize": page_size.min(MAX_PAGE_SIZE), "pageIndex": page_index.max(1)}));
        decode(
            "media.list",
            self.call("media", "list", p, Idempotence::Safe).await?,
        )
    }

    /// `media.list` with each entry's flavors nested (a response profile whose related
    /// `flavorAsset` list is mapped `id` → `entryIdEqual`): a page and its flavors in one call.
    /// With `originals_only`, only source flavors. Each entry's flavors are in
    /// `related_objects[FLAVORS]`; a nested list whose `totalCount` exceeds its objects was cut by
    /// the pager.
    pub async fn list_media_with_flavors(
        &self,
        filter: &MediaEntryFilter,
        page_size: u32,
        page_index: u32,
        originals_only: bool,
    ) -> Result<ListResponse<MediaEntry>> {
        let mut related_filter = json!({"objectType": "KalturaFlavorAssetFilter"});
        if originals_only {
            related_filter["flavorParamsIdEqual"] = json!(0);
        }
        let profile = json!({
            "objectType": "KalturaDetachedResponseProfile",
            // Exclude no field: every field of the entry, as without a profile.
            "type": 2, "fields": "",
            "relatedProfiles": [{
                "objectType": "KalturaDetachedResponseProfile",
                "name": FLAVORS,
                "filter": related_filter,
                "mappings": [{"objectType": "KalturaResponseProfileMapping",
                              "parentProperty": "id", "filterProperty": "entryIdEqual"}],
                "pager": {"objectType": "KalturaFilterPager", "pageSize": MAX_PAGE_SIZE}
            }]
        });
        let mut p = Map::new();
        p.insert("filter".into(), filter_param(filter));
        p.insert("pager".into(), json!({"objectType": "KalturaFilterPager", "pageSize": page_size.min(MAX_PAGE_SIZE), "pageIndex": page_index.max(1)}));
        p.insert("responseProfile".into(), profile);
        decode(
            "media.list",
            self.call("media", "list", p, Idempotence::Safe).await?,
        )
    }

    /// `media.count`.
    pub async fn count_media(&self, filter: &MediaEntryFilter) -> Result<u64> {
        let mut p = Map::new();
        p.insert("filter".into(), filter_param(filter));
        let v = self.call("media", "count", p, Idempotence::Safe).await?;
        let n: i64 = v
            .as_i64()
            .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
            .ok_or_else(|| Error::Decode {
                action: "media.count".into(),
                detail: format!("not a number: {v}"),
            })?;
        Ok(n.max(0) as u64)
    }

    /// `media.get`.
    pub async fn get_media(&self, id: &EntryId) -> Result<MediaEntry> {
        let mut p = Map::new();
        p.insert("entryId".into(), json!(id.0));
        decode(
            "media.get",
            self.call("media", "get", p, Idempotence::Safe).await?,
        )
    }

    /// Every object a `list` of `service` returns for `filter`, page by page (500 each).
    pub(crate) async fn list_all<T: serde::de::DeserializeOwned>(
        &self,
        service: &str,
        filter: Value,
    ) -> Result<Vec<T>> {
        let action = format!("{service}.list");
        let mut out = Vec::new();
        for page in 1.. {
            let mut p = Map::new();
            p.insert("filter".into(), filter.clone());
            p.insert(
                "pager".into(),
                json!({"objectType": "KalturaFilterPager", "pageSize": MAX_PAGE_SIZE, "pageIndex": page}),
            );
            let r: ListResponse<T> = decode(
                &action,
                self.call(service, "list", p, Idempotence::Safe).await?,
            )?;
            let n = r.objects.len();
            out.extend(r.objects);
            if n < MAX_PAGE_SIZE as usize {
                break;
            }
        }
        Ok(out)
    }

    /// The flavors of up to 500 entries in as few calls as the pager allows (one call when they
    /// have at most 500 flavors together). With `originals_only`, only source flavors
    /// (`flavorParamsId` 0) are asked for, so a page of 500 entries takes one call.
    pub async fn flavors_of(
        &self,
        entries: &[EntryId],
        originals_only: bool,
    ) -> Result<Vec<FlavorAsset>> {
        let mut out = Vec::new();
        for chunk in entries.chunks(MAX_PAGE_SIZE as usize) {
            let ids: Vec<&str> = chunk.iter().map(|e| e.0.as_str()).collect();
            let mut filter =
                json!({"objectType": "KalturaFlavorAssetFilter", "entryIdIn": ids.join(",")});
            if originals_only {
                filter["flavorParamsIdEqual"] = json!(0);
            }
            out.extend(self.list_all("flavorAsset", filter).await?);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filter_serializes_only_the_fields_set_with_object_type() {
        let f = MediaEntryFilter {
            status_in: Some("2,7".into()),
            created_at_greater_than_or_equal: Some(1_500_000_000),
            ..Default::default()
        };
        assert_eq!(
            filter_param(&f),
            json!({"objectType": "KalturaMediaEntryFilter", "statusIn": "2,7", "createdAtGreaterThanOrEqual": 1_500_000_000})
        );
    }
}
