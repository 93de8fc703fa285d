//! Which entries a command works on: the filters of docs/architecture.md, held as parsed values, validated
//! once and turned into one `media.list` filter; [`Walker`] walks it page by page.

use std::collections::HashSet;
use std::path::Path;

use kaltura::codes::{code_list, ModerationStatus};
use kaltura::media::{all_of, plays_below, without_tag};
use kaltura::{EntryId, EntryStatus, MediaEntryFilter, MediaType};

use crate::time::years_ago;

mod walker;

pub use walker::{Flavors, Page, Walker};

/// Longest time window a filter accepts, in years. Beyond about 45 years an absolute time would
/// fall within ±10 years of 1970 and the service would read it as relative to now.
pub const MAX_YEARS: f64 = 40.0;

/// A selection of entries: every filter set must hold.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Selection {
    /// Only these entries.
    pub entry_ids: Vec<EntryId>,
    /// Entries carrying every one of these tags.
    pub tags: Vec<String>,
    /// Entries carrying none of these tags.
    pub without_tags: Vec<String>,
    /// Entries in one of these categories or their subcategories: ids, or full names
    /// (`Courses>PHY101`, that category only).
    pub categories: Vec<String>,
    /// Entries played fewer than this many times.
    pub plays_below: Option<i64>,
    /// Entry statuses; READY when empty.
    pub statuses: Vec<EntryStatus>,
    /// Media types; all when empty.
    pub media_types: Vec<MediaType>,
    /// Created within the last N years.
    pub created_within_years: Option<f64>,
    /// Created more than N years ago.
    pub created_before_years: Option<f64>,
    /// Played within the last N years.
    pub played_within_years: Option<f64>,
    /// Not played for N years, or never played.
    pub unplayed_for_years: Option<f64>,
    /// At most this many entries.
    pub max_entries: Option<u64>,
}

/// One filter of a [`Selection`], named in errors so that a front end can name its own option.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Filter {
    /// [`Selection::entry_ids`].
    EntryIds,
    /// [`Selection::tags`] and [`Selection::without_tags`].
    Tags,
    /// [`Selection::categories`].
    Categories,
    /// [`Selection::plays_below`].
    PlaysBelow,
    /// [`Selection::created_within_years`].
    CreatedWithin,
    /// [`Selection::created_before_years`].
    CreatedBefore,
    /// [`Selection::played_within_years`].
    PlayedWithin,
    /// [`Selection::unplayed_for_years`].
    UnplayedFor,
    /// [`Selection::max_entries`].
    MaxEntries,
}

impl Filter {
    /// The filter in words.
    pub fn name(self) -> &'static str {
        match self {
            Filter::EntryIds => "entry ids",
            Filter::Tags => "tags",
            Filter::Categories => "categories",
            Filter::PlaysBelow => "plays below",
            Filter::CreatedWithin => "created within",
            Filter::CreatedBefore => "created before",
            Filter::PlayedWithin => "played within",
            Filter::UnplayedFor => "unplayed for",
            Filter::MaxEntries => "max entries",
        }
    }
}

impl std::fmt::Display for Filter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a selection could not be made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SelectionError {
    /// A filter is malformed, out of range or contradicts another.
    #[error("{filter}: {reason}")]
    Invalid {
        /// The filter at fault.
        filter: Filter,
        /// What is wrong and what to change.
        reason: String,
    },
    /// An entry named by id does not exist.
    #[error("entry {0} does not exist in this partner (deleted, or a typo in the id?)")]
    UnknownEntry(EntryId),
    /// Kaltura failed.
    #[error(transparent)]
    Kaltura(#[from] kaltura::Error),
}

fn invalid<T>(filter: Filter, reason: String) -> Result<T, SelectionError> {
    Err(SelectionError::Invalid { filter, reason })
}

/// Checks with Kaltura that every category a selection names exists: a name with a typo would
/// otherwise select nothing, silently. One `category.list` per 500 categories.
pub async fn check_categories(
    client: &kaltura::Client,
    selection: &Selection,
) -> Result<(), SelectionError> {
    let wanted: Vec<String> = selection
        .categories
        .iter()
        .map(|c| c.trim().to_string())
        .filter(|c| !c.is_empty())
        .collect();
    if wanted.is_empty() {
        return Ok(());
    }
    let by_id = wanted.iter().all(|c| c.bytes().all(|b| b.is_ascii_digit()));
    let found = client.categories_found(&wanted, by_id).await?;
    let missing: Vec<&String> = wanted.iter().filter(|c| !found.contains(c)).collect();
    if missing.is_empty() {
        return Ok(());
    }
    let what = if by_id { "id" } else { "full name" };
    invalid(
        Filter::Categories,
        format!(
            "no category with the {what} {} in this partner: give the full name as Kaltura shows it (e.g. Courses>PHY101, case and spaces exact) or the category id",
            missing.iter().map(|m| format!("{m:?}")).collect::<Vec<_>>().join(", ")
        ),
    )
}

/// Reads an id file: one entry id per line; blank lines and `#` comments are ignored.
pub fn read_id_file(path: &Path) -> Result<Vec<EntryId>, SelectionError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => {
            let reason = format!("cannot read the id file {}: {e}", path.display());
            return invalid(Filter::EntryIds, reason);
        }
    };
    let mut ids = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        match EntryId::parse(line) {
            Ok(id) => ids.push(id),
            Err(e) => {
                let (file, n) = (path.display(), n + 1);
                let reason = format!("id file {file} line {n}: {e}; put one entry id per line");
                return invalid(Filter::EntryIds, reason);
            }
        }
    }
    Ok(ids)
}

fn check_years(filter: Filter, v: Option<f64>) -> Result<(), SelectionError> {
    match v {
        Some(y) if !(y > 0.0 && y <= MAX_YEARS) => invalid(
            filter,
            format!("must be more than 0 and at most {MAX_YEARS} years, got {y}"),
        ),
        _ => Ok(()),
    }
}

impl Selection {
    /// This selection with `other`'s filters added: both must hold. Lists of required tags,
    /// excluded tags and categories are joined; statuses and media types keep only what both
    /// allow; of two time windows the stricter one wins; ids, plays and the maximum come from
    /// `other` when it sets them.
    pub fn narrowed_by(&self, other: &Selection) -> Selection {
        fn both<T: Clone + PartialEq>(a: &[T], b: &[T]) -> Vec<T> {
            match (a.is_empty(), b.is_empty()) {
                (true, _) => b.to_vec(),
                (_, true) => a.to_vec(),
                _ => a.iter().filter(|x| b.contains(x)).cloned().collect(),
            }
        }
        let max = |a: Option<f64>, b: Option<f64>| match (a, b) {
            (Some(x), Some(y)) => Some(x.max(y)),
            (x, y) => x.or(y),
        };
        let min = |a: Option<f64>, b: Option<f64>| match (a, b) {
            (Some(x), Some(y)) => Some(x.min(y)),
            (x, y) => x.or(y),
        };
        let joined = |a: &[String], b: &[String]| {
            let mut v = a.to_vec();
            v.extend(b.iter().filter(|x| !a.contains(x)).cloned());
            v
        };
        Selection {
            entry_ids: if other.entry_ids.is_empty() {
                self.entry_ids.clone()
            } else {
                other.entry_ids.clone()
            },
            tags: joined(&self.tags, &other.tags),
            without_tags: joined(&self.without_tags, &other.without_tags),
            categories: if self.categories.is_empty() {
                other.categories.clone()
            } else {
                self.categories.clone()
            },
            plays_below: match (self.plays_below, other.plays_below) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            },
            statuses: both(&self.statuses, &other.statuses),
            media_types: both(&self.media_types, &other.media_types),
            created_within_years: min(self.created_within_years, other.created_within_years),
            created_before_years: max(self.created_before_years, other.created_before_years),
            played_within_years: min(self.played_within_years, other.played_within_years),
            unplayed_for_years: max(self.unplayed_for_years, other.unplayed_for_years),
            max_entries: other.max_entries.or(self.max_entries),
        }
    }

    /// Checks ranges and contradictions; every message says what to change.
    pub fn validate(&self) -> Result<(), SelectionError> {
        check_years(Filter::CreatedWithin, self.created_within_years)?;
        check_years(Filter::CreatedBefore, self.created_before_years)?;
        check_years(Filter::PlayedWithin, self.played_within_years)?;
        check_years(Filter::UnplayedFor, self.unplayed_for_years)?;
        if let (Some(w), Some(b)) = (self.created_within_years, self.created_before_years) {
            if w <= b {
                return invalid(Filter::CreatedWithin, format!(
                    "created within {w} years and created before {b} years select nothing: within must be larger than before"
                ));
            }
        }
        if let (Some(w), Some(u)) = (self.played_within_years, self.unplayed_for_years) {
            if w <= u {
                return invalid(Filter::PlayedWithin, format!(
                    "played within {w} years and unplayed for {u} years select nothing: within must be larger than unplayed for"
                ));
            }
        }
        if let Some(p) = self.plays_below.filter(|p| *p < 1) {
            return invalid(Filter::PlaysBelow, format!("must be at least 1, got {p}"));
        }
        if self.max_entries == Some(0) {
            return invalid(Filter::MaxEntries, "must be at least 1".into());
        }
        let tags: HashSet<String> = self.tags.iter().map(|t| t.trim().to_lowercase()).collect();
        if let Some(t) = self
            .without_tags
            .iter()
            .find(|t| tags.contains(&t.trim().to_lowercase()))
        {
            return invalid(
                Filter::Tags,
                format!("tag {t:?} is both required and excluded (!{t}); keep one"),
            );
        }
        if self
            .tags
            .iter()
            .chain(&self.without_tags)
            .any(|t| t.trim().is_empty() || t.contains(','))
        {
            return invalid(
                Filter::Tags,
                "a tag is empty or contains a comma; give one tag per filter".into(),
            );
        }
        let numeric = self
            .categories
            .iter()
            .filter(|c| c.trim().parse::<i64>().is_ok())
            .count();
        if numeric != 0 && numeric != self.categories.len() {
            return invalid(
                Filter::Categories,
                "give categories either all by id or all by full name".into(),
            );
        }
        Ok(())
    }

    /// The `media.list` filter of this selection (without the id list), ordered `+createdAt`,
    /// with absolute times computed from `now`. Every moderation status is asked for: rejected
    /// or pending videos cost storage too.
    pub fn filter(&self, now: i64) -> Result<MediaEntryFilter, SelectionError> {
        self.validate()?;
        let mut conditions: Vec<serde_json::Value> = self
            .without_tags
            .iter()
            .map(|t| without_tag(t.trim()))
            .collect();
        if let Some(p) = self.plays_below {
            conditions.push(plays_below(p));
        }
        let advanced_search = match conditions.len() {
            0 => None,
            1 => conditions.pop(),
            _ => Some(all_of(conditions)),
        };
        let statuses = if self.statuses.is_empty() {
            code_list(&[EntryStatus::Ready])
        } else {
            code_list(&self.statuses)
        };
        let by_id = self
            .categories
            .iter()
            .all(|c| c.trim().parse::<i64>().is_ok());
        let categories = (!self.categories.is_empty()).then(|| {
            self.categories
                .iter()
                .map(|c| c.trim())
                .collect::<Vec<_>>()
                .join(",")
        });
        Ok(MediaEntryFilter {
            order_by: Some("+createdAt".into()),
            tags_multi_like_and: (!self.tags.is_empty()).then(|| {
                self.tags
                    .iter()
                    .map(|t| t.trim().to_lowercase())
                    .collect::<Vec<_>>()
                    .join(",")
            }),
            category_ancestor_id_in: categories.clone().filter(|_| by_id),
            categories_full_name_in: categories.filter(|_| !by_id),
            status_in: Some(statuses),
            media_type_in: (!self.media_types.is_empty()).then(|| code_list(&self.media_types)),
            created_at_greater_than_or_equal: self.created_within_years.map(|y| years_ago(now, y)),
            created_at_less_than_or_equal: self.created_before_years.map(|y| years_ago(now, y)),
            last_played_at_greater_than_or_equal: self
                .played_within_years
                .map(|y| years_ago(now, y)),
            last_played_at_less_than_or_equal_or_null: self
                .unplayed_for_years
                .map(|y| years_ago(now, y)),
            moderation_status_in: Some(code_list(ModerationStatus::NAMED)),
            advanced_search,
            ..Default::default()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sel() -> Selection {
        Selection::default()
    }

    #[test]
    fn contradictions_and_out_of_range_values_are_refused_with_a_fix() {
        let bad = [
            Selection {
                created_within_years: Some(2.0),
                created_before_years: Some(3.0),
                ..sel()
            },
            Selection {
                played_within_years: Some(1.0),
                unplayed_for_years: Some(1.0),
                ..sel()
            },
            Selection {
                unplayed_for_years: Some(0.0),
                ..sel()
            },
            Selection {
                created_before_years: Some(60.0),
                ..sel()
            },
            Selection {
                plays_below: Some(0),
                ..sel()
            },
            Selection {
                tags: vec!["a1".into()],
                without_tags: vec!["A1".into()],
                ..sel()
            },
            Selection {
                categories: vec!["12".into(), "Courses".into()],
                ..sel()
            },
            Selection {
                max_entries: Some(0),
                ..sel()
            },
        ];
        for s in bad {
            assert!(
                matches!(s.validate(), Err(SelectionError::Invalid { .. })),
                "{s:?}"
            );
        }
    }

    #[test]
    fn filter_uses_absolute_times_all_moderation_and_combined_conditions() {
        let now = 1_800_000_000;
        let s = Selection {
            tags: vec!["Lecture".into()],
            without_tags: vec!["archived_to_s3".into()],
            plays_below: Some(5),
            unplayed_for_years: Some(3.0),
            categories: vec!["101".into()],
            media_types: vec![MediaType::Video],
            ..sel()
        };
        let f = s.filter(now).unwrap();
        assert_eq!(f.tags_multi_like_and.as_deref(), Some("lecture"));
        assert_eq!(f.status_in.as_deref(), Some("2"));
        assert_eq!(f.media_type_in.as_deref(), Some("1"));
        assert_eq!(f.category_ancestor_id_in.as_deref(), Some("101"));
        assert_eq!(
            f.last_played_at_less_than_or_equal_or_null,
            Some(now - 94_672_800)
        );
        assert_eq!(f.moderation_status_in.as_deref(), Some("1,2,3,4,5,6"));
        let adv = f.advanced_search.unwrap();
        assert_eq!(adv["objectType"], "KalturaSearchOperator");
        assert_eq!(adv["items"].as_array().unwrap().len(), 2);
    }
}
