//! `KalturaMediaEntryFilter` evaluation for `media.list`/`media.count` (kaltura-api.md §4.3):
//! default scoping (READY only, moderation, displayInSearch), inclusive bounds, relative times,
//! tag matching as the full-text index does it, `advancedSearch` conditions, ordering.

use std::collections::HashSet;

use crate::error::{codes, ApiResult};
use crate::model::{entry_status, Category, Entry};
use crate::params::{to_i64, Obj};

/// Largest |value| taken as relative to now for time fields (±10 years).
const MAX_RELATIVE_TIME: i64 = 315_360_000;
/// `…In` lists are truncated to this many values.
const MAX_IN_VALUES: usize = 500;
/// Terms handled by the full-text engine are truncated to this many values.
const MAX_TEXT_TERMS: usize = 150;

/// Rewrites a small time value as relative to now (§1.4); `-1` is left alone.
pub fn relative_time(v: i64, now: i64) -> i64 {
    if v != -1 && (-MAX_RELATIVE_TIME..=MAX_RELATIVE_TIME).contains(&v) {
        now + v
    } else {
        v
    }
}

/// Whether a tag list matches one term: whole tag, or a `_`/`-`-separated part of it
/// (the index treats those as blend characters); a term with blanks is a phrase.
pub fn tag_matches(tags: &[String], term: &str) -> bool {
    let term = term.trim().to_lowercase();
    if term.is_empty() {
        return false;
    }
    tags.iter()
        .any(|t| t == &term || (!term.contains(' ') && t.split(['_', '-', ' ']).any(|p| p == term)))
}

/// A set of entry ids: a short list is scanned (cheaper than hashing every entry id during a
/// cursor walk, whose `idNotIn` holds a handful of ids), a long one is hashed.
#[derive(Debug, Clone)]
enum IdSet {
    Few(Vec<String>),
    Many(HashSet<String>),
}

impl IdSet {
    fn new(ids: Vec<String>) -> Self {
        if ids.len() <= 16 {
            IdSet::Few(ids)
        } else {
            IdSet::Many(ids.into_iter().collect())
        }
    }

    fn contains(&self, id: &String) -> bool {
        match self {
            IdSet::Few(v) => v.contains(id),
            IdSet::Many(s) => s.contains(id),
        }
    }
}

#[derive(Debug, Clone)]
enum Cond {
    Compare {
        attr: String,
        cmp: i64,
        value: i64,
    },
    Match {
        attr: String,
        value: String,
        not: bool,
    },
    And(Vec<Cond>),
    Or(Vec<Cond>),
    Always,
}

/// Sort order of a list.
#[derive(Debug, Clone)]
pub struct OrderBy {
    key: String,
    desc: bool,
}

/// A compiled entry filter.
#[derive(Debug, Clone, Default)]
pub struct EntryFilter {
    id_equal: Option<String>,
    id_in: Option<IdSet>,
    id_not_in: Option<IdSet>,
    tags_and: Vec<String>,
    tags_or: Option<Vec<String>>,
    admin_tags_and: Vec<String>,
    admin_tags_or: Option<Vec<String>>,
    cat_or: Option<Vec<i64>>,
    cat_and: Vec<i64>,
    cat_not: Vec<i64>,
    cat_empty: Option<bool>,
    cat_ancestor_in: Option<Vec<i64>>,
    cat_names_or: Option<Vec<String>>,
    status_in: Option<Vec<i32>>,
    status_not_in: Vec<i32>,
    moderation_in: Option<Vec<i32>>,
    media_type_in: Option<Vec<i32>>,
    type_in: Option<Vec<i32>>,
    created: (Option<i64>, Option<i64>),
    updated: (Option<i64>, Option<i64>),
    played: (Option<i64>, Option<i64>),
    played_lte_or_null: Option<i64>,
    duration: [Option<i64>; 4],
    user_in: Option<Vec<String>>,
    creator_equal: Option<String>,
    reference_in: Option<Vec<String>>,
    replacing_in: Option<Vec<String>>,
    replaced_in: Option<Vec<String>>,
    replacement_status_in: Option<Vec<i32>>,
    psv: (Option<i64>, Option<i64>),
    name_like: Option<String>,
    name_equal: Option<String>,
    free_text: Option<String>,
    display_in: Option<Vec<i32>>,
    parent_equal: Option<String>,
    advanced: Option<Cond>,
    /// Sort order.
    pub order: Option<OrderBy>,
}

fn ints(list: Option<Vec<String>>) -> Option<Vec<i32>> {
    list.map(|l| l.iter().filter_map(|s| s.parse::<i32>().ok()).collect())
}

fn capped(list: Option<Vec<String>>, n: usize) -> Option<Vec<String>> {
    list.map(|mut l| {
        l.truncate(n);
        l
    })
}

impl EntryFilter {
    /// Compiles a `KalturaMediaEntryFilter` object; `now` resolves relative times.
    pub fn compile(f: Obj<'_>, now: i64) -> ApiResult<Self> {
        let time = |k: &str| f.int(k).map(|v| relative_time(v, now));
        let one_or_in = |eq: &str, inn: &str| -> Option<Vec<String>> {
            f.str(eq)
                .map(|v| vec![v])
                .or_else(|| capped(f.csv(inn), MAX_IN_VALUES))
        };
        let mut status_in = ints(one_or_in("statusEqual", "statusIn"));
        if status_in.is_none()
            && (f.str("statusNotEqual").is_some() || f.str("statusNotIn").is_some())
        {
            status_in = Some(vec![-2, -1, 0, 1, 2, 4, 5, 6, 7]);
        }
        let mut status_not_in = ints(f.csv("statusNotIn")).unwrap_or_default();
        if let Some(s) = f.int("statusNotEqual") {
            status_not_in.push(s as i32);
        }
        let advanced = match f.obj("advancedSearch") {
            Some(o) => Some(compile_cond(o)?),
            None => None,
        };
        let order = f.str("orderBy").map(|o| {
            let (desc, key) = match o.chars().next() {
                Some('-') => (true, o[1..].to_string()),
                Some('+') => (false, o[1..].to_string()),
                _ => (false, o.clone()),
            };
            OrderBy { key, desc }
        });
        let mut tags_and: Vec<String> = f.csv("tagsMultiLikeAnd").unwrap_or_default();
        tags_and.truncate(MAX_TEXT_TERMS);
        if let Some(t) = f.str("tagsLike") {
            tags_and.push(t);
        }
        let mut admin_tags_and: Vec<String> = f.csv("adminTagsMultiLikeAnd").unwrap_or_default();
        if let Some(t) = f.str("adminTagsLike") {
            admin_tags_and.push(t);
        }
        let int_list =
            |k: &str| ints(f.csv(k)).map(|v| v.into_iter().map(i64::from).collect::<Vec<i64>>());
        Ok(EntryFilter {
            id_equal: f.str("idEqual"),
            id_in: capped(f.csv("idIn"), MAX_IN_VALUES).map(IdSet::new),
            id_not_in: capped(f.csv("idNotIn"), MAX_IN_VALUES).map(IdSet::new),
            tags_and,
            tags_or: capped(f.csv("tagsMultiLikeOr"), MAX_TEXT_TERMS),
            admin_tags_and,
            admin_tags_or: capped(f.csv("adminTagsMultiLikeOr"), MAX_TEXT_TERMS),
            cat_or: int_list("categoriesIdsMatchOr"),
            cat_and: int_list("categoriesIdsMatchAnd").unwrap_or_default(),
            cat_not: int_list("categoriesIdsNotContains").unwrap_or_default(),
            cat_empty: f
                .int("categoriesIdsEmpty")
                .filter(|v| *v >= 0)
                .map(|v| v == 1),
            cat_ancestor_in: int_list("categoryAncestorIdIn"),
            cat_names_or: f
                .csv("categoriesMatchOr")
                .or_else(|| f.csv("categoriesFullNameIn")),
            status_in,
            status_not_in,
            moderation_in: ints(one_or_in("moderationStatusEqual", "moderationStatusIn")),
            media_type_in: ints(one_or_in("mediaTypeEqual", "mediaTypeIn")),
            type_in: ints(one_or_in("typeEqual", "typeIn")),
            created: (
                time("createdAtGreaterThanOrEqual"),
                time("createdAtLessThanOrEqual"),
            ),
            updated: (
                time("updatedAtGreaterThanOrEqual"),
                time("updatedAtLessThanOrEqual"),
            ),
            played: (
                time("lastPlayedAtGreaterThanOrEqual"),
                time("lastPlayedAtLessThanOrEqual"),
            ),
            played_lte_or_null: time("lastPlayedAtLessThanOrEqualOrNull"),
            duration: [
                f.int("durationLessThan"),
                f.int("durationGreaterThan"),
                f.int("durationLessThanOrEqual"),
                f.int("durationGreaterThanOrEqual"),
            ],
            user_in: one_or_in("userIdEqual", "userIdIn"),
            creator_equal: f.str("creatorIdEqual"),
            reference_in: one_or_in("referenceIdEqual", "referenceIdIn"),
            replacing_in: one_or_in("replacingEntryIdEqual", "replacingEntryIdIn"),
            replaced_in: one_or_in("replacedEntryIdEqual", "replacedEntryIdIn"),
            replacement_status_in: ints(one_or_in("replacementStatusEqual", "replacementStatusIn")),
            psv: (
                f.int("partnerSortValueGreaterThanOrEqual"),
                f.int("partnerSortValueLessThanOrEqual"),
            ),
            name_like: f.str("nameLike").map(|s| s.to_lowercase()),
            name_equal: f.str("nameEqual"),
            free_text: f.str("freeText").map(|s| s.to_lowercase()),
            display_in: ints(one_or_in("displayInSearchEqual", "displayInSearchIn")),
            parent_equal: f.str("parentEntryIdEqual"),
            advanced,
            order,
        })
    }

    /// Whether an entry (as the index sees it) matches, including the server's default scoping.
    pub fn matches(&self, e: &Entry, cats: &[Category]) -> bool {
        if let Some(id) = &self.id_equal {
            if &e.id != id {
                return false;
            }
        } else {
            // Default scoping, skipped when idEqual is set.
            if self.status_in.is_none() && e.status != entry_status::READY {
                return false;
            }
            if self.moderation_in.is_none() && matches!(e.moderation_status, 1 | 3) {
                return false;
            }
            let display_scoped =
                self.id_in.is_some() || self.parent_equal.is_some() || self.display_in.is_some();
            if !display_scoped && e.display_in_search < 0 {
                return false;
            }
        }
        let statuses_ok = match &self.status_in {
            Some(s) => s.contains(&e.status),
            None => e.status != entry_status::DELETED,
        };
        if !statuses_ok || self.status_not_in.contains(&e.status) {
            return false;
        }
        let in_list = |l: &Option<Vec<i32>>, v: i32| l.as_ref().is_none_or(|l| l.contains(&v));
        let in_strs = |l: &Option<Vec<String>>, v: Option<&String>| {
            l.as_ref().is_none_or(|l| v.is_some_and(|v| l.contains(v)))
        };
        let between = |b: &(Option<i64>, Option<i64>), v: i64| {
            b.0.is_none_or(|lo| v >= lo) && b.1.is_none_or(|hi| v <= hi)
        };
        // Cheap numeric bounds first: a cursor walk rejects most entries on createdAt alone.
        if !between(&self.created, e.created_at)
            || !between(&self.updated, e.updated_at)
            || self.id_in.as_ref().is_some_and(|s| !s.contains(&e.id))
            || self.id_not_in.as_ref().is_some_and(|s| s.contains(&e.id))
            || !in_list(&self.moderation_in, e.moderation_status)
            || !in_list(&self.media_type_in, e.media_type)
            || !in_list(&self.type_in, 1)
            || !in_list(&self.display_in, e.display_in_search)
            || !in_list(&self.replacement_status_in, e.replacement_status)
            || !between(&self.psv, e.partner_sort_value)
            || !in_strs(&self.user_in, Some(&e.user_id))
            || self
                .creator_equal
                .as_ref()
                .is_some_and(|c| c != &e.creator_id)
            || !in_strs(&self.reference_in, e.reference_id.as_ref())
            || !in_strs(&self.replacing_in, e.replacing_entry_id.as_ref())
            || !in_strs(&self.replaced_in, e.replaced_entry_id.as_ref())
            // Simulated entries have no parent entry, so a parent filter matches nothing.
            || self.parent_equal.is_some()
        {
            return false;
        }
        // Never-played entries match neither lastPlayedAt bound, only the OrNull variant.
        if self.played.0.is_some() || self.played.1.is_some() {
            match e.last_played_at {
                Some(t) if between(&self.played, t) => {}
                _ => return false,
            }
        }
        if let Some(hi) = self.played_lte_or_null {
            if e.last_played_at.is_some_and(|t| t > hi) {
                return false;
            }
        }
        let secs = (e.ms_duration + 500) / 1000;
        let [lt, gt, lte, gte] = self.duration;
        if lt.is_some_and(|v| secs >= v)
            || gt.is_some_and(|v| secs <= v)
            || lte.is_some_and(|v| secs > v)
            || gte.is_some_and(|v| secs < v)
        {
            return false;
        }
        if !self.tags_and.is_empty() || self.tags_or.is_some() {
            let tags = e.tag_list();
            if !self.tags_and.iter().all(|t| tag_matches(&tags, t))
                || self
                    .tags_or
                    .as_ref()
                    .is_some_and(|l| !l.iter().any(|t| tag_matches(&tags, t)))
            {
                return false;
            }
        }
        if !self.admin_tags_and.is_empty() || self.admin_tags_or.is_some() {
            let admin = crate::model::split_tags(&e.admin_tags);
            if !self.admin_tags_and.iter().all(|t| tag_matches(&admin, t))
                || self
                    .admin_tags_or
                    .as_ref()
                    .is_some_and(|l| !l.iter().any(|t| tag_matches(&admin, t)))
            {
                return false;
            }
        }
        if self
            .cat_or
            .as_ref()
            .is_some_and(|l| !l.iter().any(|c| e.category_ids.contains(c)))
            || !self.cat_and.iter().all(|c| e.category_ids.contains(c))
            || self.cat_not.iter().any(|c| e.category_ids.contains(c))
            || self
                .cat_empty
                .is_some_and(|empty| empty != e.category_ids.is_empty())
        {
            return false;
        }
        if let Some(ancestors) = &self.cat_ancestor_in {
            let hit = e
                .category_ids
                .iter()
                .any(|&c| ancestry(c, cats).iter().any(|a| ancestors.contains(a)));
            if !hit {
                return false;
            }
        }
        if let Some(names) = &self.cat_names_or {
            let hit = e.category_ids.iter().any(|&c| {
                cats.iter()
                    .any(|cat| cat.id == c && names.iter().any(|n| n == &cat.full_name))
            });
            if !hit {
                return false;
            }
        }
        if let Some(n) = &self.name_equal {
            if &e.name != n {
                return false;
            }
        }
        if let Some(n) = &self.name_like {
            if !e.name.to_lowercase().contains(n) {
                return false;
            }
        }
        if let Some(t) = &self.free_text {
            let hay = format!(
                "{} {} {}",
                e.name,
                e.description.as_deref().unwrap_or(""),
                e.tags
            )
            .to_lowercase();
            if !t.split_whitespace().all(|w| hay.contains(w)) {
                return false;
            }
        }
        self.advanced.as_ref().is_none_or(|c| eval_cond(c, e))
    }

    /// The sort key of an entry under the filter's order (default `-createdAt`): a number, or
    /// the name for `name` ordering; descending orders are folded in, so keys sort ascending.
    /// Ties are broken by the internal order (`seq`).
    pub fn sort_key(&self, e: &Entry) -> (SortKey, usize) {
        let (key, desc) = match &self.order {
            Some(o) => (o.key.as_str(), o.desc),
            None => ("createdAt", true),
        };
        let n = match key {
            "updatedAt" => e.updated_at,
            "lastPlayedAt" => e.last_played_at.unwrap_or(i64::MIN),
            "plays" => e.plays,
            "views" => e.views,
            "duration" => e.ms_duration,
            "mediaType" => i64::from(e.media_type),
            "partnerSortValue" => e.partner_sort_value,
            "createdAt" | "recent" => e.created_at,
            "name" => {
                let k = if desc {
                    SortKey::Desc(std::cmp::Reverse(e.name.clone()))
                } else {
                    SortKey::Asc(e.name.clone())
                };
                return (k, e.seq);
            }
            _ => 0,
        };
        (
            SortKey::Num(if desc { n.saturating_neg() } else { n }),
            e.seq,
        )
    }
}

/// A precomputed sort key, so sorting touches a compact vector rather than the entries.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum SortKey {
    /// A number (negated for descending order).
    Num(i64),
    /// A text in ascending order.
    Asc(String),
    /// A text in descending order.
    Desc(std::cmp::Reverse<String>),
}

/// A category id and all its ancestors.
fn ancestry(id: i64, cats: &[Category]) -> Vec<i64> {
    let mut out = vec![id];
    let mut cur = id;
    while let Some(p) = cats.iter().find(|c| c.id == cur).and_then(|c| c.parent) {
        if out.contains(&p) {
            break;
        }
        out.push(p);
        cur = p;
    }
    out
}

fn compile_cond(o: Obj<'_>) -> ApiResult<Cond> {
    let t = o
        .object_type()
        .ok_or_else(|| codes::object_type_abstract("KalturaSearchItem"))?;
    if t.contains("Operator") {
        let items = o
            .list("items")
            .into_iter()
            .filter_map(|v| v.as_object().map(Obj))
            .map(compile_cond)
            .collect::<ApiResult<Vec<_>>>()?;
        return Ok(if o.int("type") == Some(2) {
            Cond::Or(items)
        } else {
            Cond::And(items)
        });
    }
    let attr = o.str("attribute").unwrap_or_default();
    if t.contains("Compare") {
        let cmp = o.int("comparison").unwrap_or(1);
        let value = o.get("value").and_then(to_i64).unwrap_or(0);
        return Ok(Cond::Compare { attr, cmp, value });
    }
    if t.contains("Match") || t.contains("Condition") {
        return Ok(Cond::Match {
            attr,
            value: o.str_or_empty("value").unwrap_or_default(),
            not: o.bool_or("not", false),
        });
    }
    Ok(Cond::Always)
}

fn eval_cond(c: &Cond, e: &Entry) -> bool {
    match c {
        Cond::Always => true,
        Cond::And(items) => items.iter().all(|i| eval_cond(i, e)),
        Cond::Or(items) => items.iter().any(|i| eval_cond(i, e)),
        Cond::Compare { attr, cmp, value } => {
            let v = match attr.as_str() {
                "plays" => Some(e.plays),
                "views" => Some(e.views),
                "lastPlayedAt" => e.last_played_at,
                "createdAt" => Some(e.created_at),
                "updatedAt" => Some(e.updated_at),
                "msDuration" => Some(e.ms_duration),
                "duration" => Some((e.ms_duration + 500) / 1000),
                "status" => Some(i64::from(e.status)),
                "mediaType" => Some(i64::from(e.media_type)),
                "partnerSortValue" => Some(e.partner_sort_value),
                "moderationStatus" => Some(i64::from(e.moderation_status)),
                _ => None,
            };
            let Some(v) = v else { return false };
            match cmp {
                1 => v == *value,
                2 => v > *value,
                3 => v >= *value,
                4 => v < *value,
                5 => v <= *value,
                6 => v != *value,
                _ => false,
            }
        }
        Cond::Match { attr, value, not } => {
            let hit = match attr.as_str() {
                "tags" => value.split(',').any(|t| tag_matches(&e.tag_list(), t)),
                "adminTags" => value
                    .split(',')
                    .any(|t| tag_matches(&crate::model::split_tags(&e.admin_tags), t)),
                "categoriesIds" => value
                    .split(',')
                    .filter_map(|v| v.trim().parse::<i64>().ok())
                    .any(|c| e.category_ids.contains(&c)),
                "name" => e.name.to_lowercase().contains(&value.to_lowercase()),
                "description" => e
                    .description
                    .as_deref()
                    .unwrap_or("")
                    .to_lowercase()
                    .contains(&value.to_lowercase()),
                "id" => value.split(',').any(|v| v.trim() == e.id),
                "referenceId" => e.reference_id.as_deref() == Some(value.as_str()),
                "userId" => e.user_id == *value,
                "creatorId" => e.creator_id == *value,
                _ => false,
            };
            hit != *not
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_times_are_relative_to_now_and_minus_one_is_kept() {
        assert_eq!(relative_time(0, 1_700_000_000), 1_700_000_000);
        assert_eq!(relative_time(-86400, 1_700_000_000), 1_699_913_600);
        assert_eq!(relative_time(-1, 1_700_000_000), -1);
        assert_eq!(relative_time(1_500_000_000, 1_700_000_000), 1_500_000_000);
    }

    #[test]
    fn tags_match_whole_or_by_blend_parts_case_insensitively() {
        let tags = vec!["archived_to_s3".to_string(), "lecture".to_string()];
        assert!(tag_matches(&tags, "Archived_To_S3"));
        assert!(tag_matches(&tags, "archived"));
        assert!(tag_matches(&tags, "LECTURE"));
        assert!(!tag_matches(&tags, "lect"));
    }
}
