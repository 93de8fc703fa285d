//! eSearch `elasticsearch_esearch.searchEntry` (kaltura-api.md §7): AND/OR/NOT operators with
//! nesting, entry items checked against the per-field table of allowed item types, unified and
//! category items, RANGE/EXISTS, `objectStatuses` (default READY), `orderBy`, the
//! `page × size > 10,000` cap.

use serde_json::{json, Value};
use std::cmp::Ordering;

use super::media::pager;
use crate::error::{codes, ApiResult};
use crate::filter::tag_matches;
use crate::model::{split_tags, Entry};
use crate::params::{to_i64, Obj};
use crate::world::World;

/// Allowed item types per field (1 exact, 2 partial, 3 starts-with, 4 exists, 5 range).
fn allowed_types(field: &str) -> &'static [i64] {
    match field {
        "id" => &[1],
        "name" => &[1, 2, 3],
        "description" | "tags" | "captions_content" | "user_names" => &[1, 2, 3, 4],
        "admin_tags"
        | "reference_id"
        | "redirect_entry_id"
        | "parent_id"
        | "template_entry_id"
        | "access_control_id"
        | "moderation_status"
        | "credit"
        | "site_url"
        | "recorded_entry_id"
        | "broadcast_entry_id"
        | "push_publish"
        | "external_source_type"
        | "is_quiz" => &[1, 4],
        f if f.starts_with("entitled_kusers_") => &[1, 4],
        "kuser_id"
        | "creator_kuser_id"
        | "media_type"
        | "source_type"
        | "entry_type"
        | "conversion_profile_id"
        | "is_live"
        | "root_id"
        | "display_in_search"
        | "room_type" => &[1],
        "created_at" | "updated_at" | "length_in_msecs" | "plays" | "views" | "rank" | "votes"
        | "partner_sort_value" | "recycled_at" => &[5],
        "last_played_at" | "start_date" | "end_date" => &[5, 4],
        _ => &[1, 2, 3, 4, 5],
    }
}

/// A field value of an entry as eSearch indexes it.
enum FieldValue {
    Text(Vec<String>),
    Num(i64),
}

fn field(e: &Entry, name: &str) -> Option<FieldValue> {
    use FieldValue::{Num, Text};
    let text = |s: &str| {
        if s.is_empty() {
            None
        } else {
            Some(Text(vec![s.to_lowercase()]))
        }
    };
    match name {
        "id" | "root_id" => Some(Text(vec![e.id.to_lowercase()])),
        "name" => text(&e.name),
        "description" => e.description.as_deref().and_then(text),
        "tags" => Some(Text(split_tags(&e.tags))).filter(|t| !matches!(t, Text(v) if v.is_empty())),
        "admin_tags" => {
            Some(Text(split_tags(&e.admin_tags))).filter(|t| !matches!(t, Text(v) if v.is_empty()))
        }
        "reference_id" => e.reference_id.as_deref().and_then(text),
        "kuser_id" => text(&e.user_id),
        "creator_kuser_id" => text(&e.creator_id),
        "media_type" => Some(Num(i64::from(e.media_type))),
        "entry_type" => Some(Num(1)),
        "display_in_search" => Some(Num(i64::from(e.display_in_search))),
        "moderation_status" => Some(Num(i64::from(e.moderation_status))),
        "conversion_profile_id" => Some(Num(e.conversion_profile_id)),
        "created_at" => Some(Num(e.created_at)),
        "updated_at" => Some(Num(e.updated_at)),
        "last_played_at" => e.last_played_at.map(Num),
        "plays" => Some(Num(e.plays)),
        "views" => Some(Num(e.views)),
        "length_in_msecs" => Some(Num(e.ms_duration)),
        "partner_sort_value" => Some(Num(e.partner_sort_value)),
        "rank" | "votes" => Some(Num(0)),
        _ => None,
    }
}

#[derive(Debug)]
enum Node {
    And(Vec<Node>),
    Or(Vec<Node>),
    Not(Vec<Node>),
    Item {
        field: String,
        item_type: i64,
        term: String,
        range: [Option<i64>; 4],
    },
    Unified {
        term: String,
        item_type: i64,
    },
    Category {
        field: String,
        term: String,
    },
}

fn compile(o: Obj<'_>) -> ApiResult<Node> {
    let t = o
        .object_type()
        .ok_or_else(|| codes::object_type_abstract("KalturaESearchEntryBaseItem"))?;
    if t.contains("Operator") {
        let op = o.int("operator").ok_or_else(codes::missing_operator_type)?;
        let items = o.list("searchItems");
        if items.is_empty() {
            return Err(codes::empty_search_items());
        }
        let nodes = items
            .into_iter()
            .filter_map(|v| v.as_object().map(Obj))
            .map(compile)
            .collect::<ApiResult<Vec<_>>>()?;
        return Ok(match op {
            2 => Node::Or(nodes),
            3 => Node::Not(nodes),
            _ => Node::And(nodes),
        });
    }
    let item_type = o.int("itemType").unwrap_or(1);
    let term = o.str_or_empty("searchTerm").unwrap_or_default();
    if t.contains("Unified") {
        if term.is_empty() {
            return Err(codes::empty_search_term("unified", &item_type.to_string()));
        }
        return Ok(Node::Unified {
            term: term.to_lowercase(),
            item_type,
        });
    }
    let field = o.str("fieldName").unwrap_or_default();
    if t.contains("Category") {
        return Ok(Node::Category {
            field,
            term: term.to_lowercase(),
        });
    }
    if !allowed_types(&field).contains(&item_type) {
        return Err(codes::search_type_not_allowed(
            &item_type.to_string(),
            &field,
        ));
    }
    if matches!(item_type, 1..=3) && term.is_empty() {
        return Err(codes::empty_search_term(&field, &item_type.to_string()));
    }
    let r = o.obj_or_empty("range");
    let bound = |k: &str| r.get(k).and_then(to_i64);
    Ok(Node::Item {
        field,
        item_type,
        term: term.to_lowercase(),
        range: [
            bound("greaterThanOrEqual"),
            bound("lessThanOrEqual"),
            bound("greaterThan"),
            bound("lessThan"),
        ],
    })
}

fn text_match(values: &[String], item_type: i64, term: &str, is_tags: bool) -> bool {
    match item_type {
        1 if is_tags => tag_matches(values, term),
        1 => values.iter().any(|v| v == term),
        2 => values.iter().any(|v| v.contains(term)),
        3 => values.iter().any(|v| v.starts_with(term)),
        _ => false,
    }
}

fn eval(n: &Node, e: &Entry, w: &World) -> bool {
    match n {
        Node::And(items) => items.iter().all(|i| eval(i, e, w)),
        Node::Or(items) => items.iter().any(|i| eval(i, e, w)),
        Node::Not(items) => !items.iter().any(|i| eval(i, e, w)),
        Node::Unified { term, item_type } => ["name", "description", "tags", "reference_id"]
            .iter()
            .any(|f| matches!(field(e, f), Some(FieldValue::Text(v)) if text_match(&v, *item_type, term, *f == "tags"))),
        Node::Category { field, term } => e.category_ids.iter().any(|&c| {
            let name = w.category_name(c).unwrap_or_default().to_lowercase();
            match field.as_str() {
                "id" => c.to_string() == *term,
                "name" => name == *term || name.rsplit('>').next() == Some(term.as_str()),
                "full_ids" => c.to_string() == *term,
                _ => name.contains(term.as_str()),
            }
        }),
        Node::Item { field: f, item_type, term, range } => {
            let value = field(e, f);
            match (item_type, value) {
                (4, v) => v.is_some(),
                (5, Some(FieldValue::Num(x))) => {
                    let [gte, lte, gt, lt] = *range;
                    gte.is_none_or(|b| x >= b) && lte.is_none_or(|b| x <= b) && gt.is_none_or(|b| x > b) && lt.is_none_or(|b| x < b)
                }
                (_, Some(FieldValue::Text(v))) => text_match(&v, *item_type, term, f.ends_with("tags")),
                (1, Some(FieldValue::Num(x))) => term.parse::<i64>().ok() == Some(x),
                _ => false,
            }
        }
    }
}

fn sort_key(e: &Entry, field: &str) -> (Option<i64>, String) {
    match field {
        "name" => (None, e.name.to_lowercase()),
        "updated_at" => (Some(e.updated_at), String::new()),
        "last_played_at" => (e.last_played_at, String::new()),
        "plays" => (Some(e.plays), String::new()),
        "views" => (Some(e.views), String::new()),
        _ => (Some(e.created_at), String::new()),
    }
}

/// `elasticsearch_esearch.searchEntry`.
pub fn search_entry(w: &World, p: Obj<'_>) -> ApiResult<Value> {
    let sp = p
        .obj("searchParams")
        .ok_or_else(|| codes::missing_parameter("searchParams"))?;
    let op = sp
        .obj("searchOperator")
        .ok_or_else(|| codes::missing_parameter("searchOperator"))?;
    let root = compile(op)?;
    let (size, index) = pager(p.obj_or_empty("pager"));
    if index * size > 10_000 {
        return Err(codes::criteria_exceeded_max_matches());
    }
    let statuses: Vec<i32> = sp
        .csv("objectStatuses")
        .map(|l| l.iter().filter_map(|s| s.parse().ok()).collect())
        .unwrap_or_else(|| vec![2]);
    let mut ids: Option<Vec<String>> = sp
        .str("objectId")
        .map(|s| vec![s])
        .or_else(|| sp.csv("objectIds"));
    let ids_not_in = sp.int("objectIdsNotIn") == Some(1);
    if let Some(l) = ids.as_mut() {
        l.truncate(500);
    }
    let now_ms = w.now_ms();
    let mut hits: Vec<&Entry> = (0..w.entries.len())
        .map(|i| w.index_view(i, now_ms))
        .filter(|e| statuses.contains(&e.status) && e.display_in_search >= 0)
        .filter(|e| ids.as_ref().is_none_or(|l| l.contains(&e.id) != ids_not_in))
        .filter(|e| eval(&root, e, w))
        .collect();
    let order: Vec<(String, bool)> = sp
        .obj("orderBy")
        .map(|o| {
            o.list("orderItems")
                .into_iter()
                .filter_map(|v| v.as_object().map(Obj))
                .map(|i| {
                    (
                        i.str("sortField").unwrap_or_default(),
                        i.str("sortOrder").as_deref() == Some("desc"),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    hits.sort_by(|a, b| {
        for (f, desc) in &order {
            let o = sort_key(a, f).cmp(&sort_key(b, f));
            let o = if *desc { o.reverse() } else { o };
            if o != Ordering::Equal {
                return o;
            }
        }
        a.seq.cmp(&b.seq)
    });
    let total = hits.len();
    let objects: Vec<Value> = hits
        .iter()
        .skip((index - 1) * size)
        .take(size)
        .map(|e| {
            let idx = w.entry_index[&e.id];
            json!({"object": w.render_entry(idx), "highlight": [], "itemsData": [], "objectType": "KalturaESearchEntryResult"})
        })
        .collect();
    Ok(
        json!({"objects": objects, "totalCount": total, "objectType": "KalturaESearchEntryResponse"}),
    )
}
