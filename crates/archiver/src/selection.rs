//! Which entries a command works on: the filters of DESIGN.md, validated once, turned into one
//! `media.list` filter, and walked page by page past the 10,000-result cap with a `createdAt`
//! cursor (kaltura-api.md §4.3), with the flavors of each page fetched in one batched call.

use std::collections::{HashMap, HashSet, VecDeque};
use std::path::Path;

use kaltura::media::{all_of, plays_below, without_tag, MAX_PAGE_SIZE};
use kaltura::{Client, EntryId, FlavorAsset, MediaEntry, MediaEntryFilter};

use crate::time::years_ago;

/// Longest time window a filter accepts, in years. Beyond about 45 years an absolute time would
/// fall within ±10 years of 1970 and the service would read it as relative to now.
pub const MAX_YEARS: f64 = 40.0;
/// Entries sharing one creation second beyond which the cursor pages through that second instead
/// of growing `idNotIn` (the service silently truncates long lists).
const MAX_IDS_AT_CURSOR: usize = 100;
/// Every moderation status: rejected or pending videos cost storage too.
const ALL_MODERATION: &str = "1,2,3,4,5,6";

/// The entry statuses by name, as `--status` accepts them.
const STATUS_NAMES: &[(&str, &str)] = &[
    ("error_importing", "-2"),
    ("error_converting", "-1"),
    ("import", "0"),
    ("preconvert", "1"),
    ("ready", "2"),
    ("pending", "4"),
    ("moderate", "5"),
    ("blocked", "6"),
    ("no_content", "7"),
];

/// The media types by name, as `--media-type` accepts them.
const MEDIA_TYPE_NAMES: &[(&str, i64)] = &[("video", 1), ("image", 2), ("audio", 5)];

/// A selection of entries: every filter set must hold.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Selection {
    /// Only these entries (from `--id` and `--id-file`).
    pub entry_ids: Vec<EntryId>,
    /// Entries carrying every one of these tags.
    pub tags: Vec<String>,
    /// Entries carrying none of these tags (`!tag`).
    pub without_tags: Vec<String>,
    /// Entries in one of these categories or their subcategories: ids, or full names
    /// (`Courses>PHY101`, that category only).
    pub categories: Vec<String>,
    /// Entries played fewer than this many times.
    pub plays_below: Option<i64>,
    /// Entry statuses (names or numbers); READY when empty.
    pub statuses: Vec<String>,
    /// Media types (names or numbers); all when empty.
    pub media_types: Vec<String>,
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

/// Why a selection could not be made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SelectionError {
    /// The filters are malformed, out of range or contradict each other.
    #[error("{0}")]
    Invalid(String),
    /// An entry named by id does not exist.
    #[error("entry {0} does not exist in this partner (deleted, or a typo in the id?)")]
    UnknownEntry(EntryId),
    /// Kaltura failed.
    #[error(transparent)]
    Kaltura(#[from] kaltura::Error),
}

/// Parses an entry id (`<partition>_<8 lower-case alphanumerics>`).
pub fn parse_entry_id(s: &str) -> Result<EntryId, String> {
    let s = s.trim();
    let ok = s.split_once('_').is_some_and(|(p, rest)| {
        !p.is_empty()
            && p.bytes().all(|b| b.is_ascii_digit())
            && rest.len() == 8
            && rest
                .bytes()
                .all(|b| b.is_ascii_digit() || b.is_ascii_lowercase())
    });
    if ok {
        Ok(EntryId(s.to_string()))
    } else {
        Err(format!(
            "{s:?} is not a Kaltura entry id (they look like 1_abcd1234)"
        ))
    }
}

/// Reads an id file: one entry id per line; blank lines and `#` comments are ignored.
pub fn read_id_file(path: &Path) -> Result<Vec<EntryId>, SelectionError> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        SelectionError::Invalid(format!("cannot read the id file {}: {e}", path.display()))
    })?;
    let mut ids = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let id = parse_entry_id(line).map_err(|e| {
            SelectionError::Invalid(format!(
                "id file {} line {}: {e}; put one entry id per line",
                path.display(),
                n + 1
            ))
        })?;
        ids.push(id);
    }
    Ok(ids)
}

fn check_years(name: &str, v: Option<f64>) -> Result<(), SelectionError> {
    match v {
        Some(y) if !(y > 0.0 && y <= MAX_YEARS) => Err(SelectionError::Invalid(format!(
            "{name} must be more than 0 and at most {MAX_YEARS} years, got {y}"
        ))),
        _ => Ok(()),
    }
}

fn status_code(s: &str) -> Result<String, SelectionError> {
    let t = s.trim().to_lowercase();
    if let Some((_, code)) = STATUS_NAMES
        .iter()
        .find(|(name, code)| *name == t || *code == t)
    {
        return Ok(code.to_string());
    }
    let names: Vec<&str> = STATUS_NAMES.iter().map(|(n, _)| *n).collect();
    Err(SelectionError::Invalid(format!(
        "unknown entry status {s:?}; use one of {} (or their numbers)",
        names.join(", ")
    )))
}

fn media_type_code(s: &str) -> Result<i64, SelectionError> {
    let t = s.trim().to_lowercase();
    MEDIA_TYPE_NAMES
        .iter()
        .find(|(name, code)| *name == t || code.to_string() == t)
        .map(|(_, c)| *c)
        .ok_or_else(|| {
            SelectionError::Invalid(format!(
                "unknown media type {s:?}; use video, audio or image"
            ))
        })
}

impl Selection {
    /// Checks ranges and contradictions; every message says what to change.
    pub fn validate(&self) -> Result<(), SelectionError> {
        check_years("--created-within", self.created_within_years)?;
        check_years("--created-before", self.created_before_years)?;
        check_years("--played-within", self.played_within_years)?;
        check_years("--unplayed-for", self.unplayed_for_years)?;
        if let (Some(w), Some(b)) = (self.created_within_years, self.created_before_years) {
            if w <= b {
                return Err(SelectionError::Invalid(format!(
                    "--created-within {w} and --created-before {b} select nothing: within must be larger than before"
                )));
            }
        }
        if let (Some(w), Some(u)) = (self.played_within_years, self.unplayed_for_years) {
            if w <= u {
                return Err(SelectionError::Invalid(format!(
                    "--played-within {w} and --unplayed-for {u} select nothing: within must be larger than unplayed-for"
                )));
            }
        }
        if let Some(p) = self.plays_below {
            if p < 1 {
                return Err(SelectionError::Invalid(format!(
                    "--plays-below must be at least 1, got {p}"
                )));
            }
        }
        if self.max_entries == Some(0) {
            return Err(SelectionError::Invalid(
                "--max-entries must be at least 1".into(),
            ));
        }
        let tags: HashSet<String> = self.tags.iter().map(|t| t.trim().to_lowercase()).collect();
        if let Some(t) = self
            .without_tags
            .iter()
            .find(|t| tags.contains(&t.trim().to_lowercase()))
        {
            return Err(SelectionError::Invalid(format!(
                "tag {t:?} is both required and excluded (!{t}); keep one"
            )));
        }
        if self
            .tags
            .iter()
            .chain(&self.without_tags)
            .any(|t| t.trim().is_empty() || t.contains(','))
        {
            return Err(SelectionError::Invalid(
                "a tag filter is empty or contains a comma; give one tag per --tag".into(),
            ));
        }
        let numeric = self
            .categories
            .iter()
            .filter(|c| c.trim().parse::<i64>().is_ok())
            .count();
        if numeric != 0 && numeric != self.categories.len() {
            return Err(SelectionError::Invalid(
                "give categories either all by id or all by full name".into(),
            ));
        }
        for s in &self.statuses {
            status_code(s)?;
        }
        for m in &self.media_types {
            media_type_code(m)?;
        }
        Ok(())
    }

    /// The `media.list` filter of this selection (without the id list), ordered `+createdAt`,
    /// with absolute times computed from `now`.
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
            vec!["2".to_string()]
        } else {
            self.statuses
                .iter()
                .map(|s| status_code(s))
                .collect::<Result<_, _>>()?
        };
        let media_types: Vec<String> = self
            .media_types
            .iter()
            .map(|m| media_type_code(m).map(|c| c.to_string()))
            .collect::<Result<_, _>>()?;
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
            status_in: Some(statuses.join(",")),
            media_type_in: (!media_types.is_empty()).then(|| media_types.join(",")),
            created_at_greater_than_or_equal: self.created_within_years.map(|y| years_ago(now, y)),
            created_at_less_than_or_equal: self.created_before_years.map(|y| years_ago(now, y)),
            last_played_at_greater_than_or_equal: self
                .played_within_years
                .map(|y| years_ago(now, y)),
            last_played_at_less_than_or_equal_or_null: self
                .unplayed_for_years
                .map(|y| years_ago(now, y)),
            moderation_status_in: Some(ALL_MODERATION.into()),
            advanced_search,
            ..Default::default()
        })
    }
}

/// Which flavors come with each page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavors {
    /// None.
    None,
    /// The original (source) flavor of each entry: one call per page.
    Originals,
    /// Every flavor.
    All,
}

/// One page of selected entries.
#[derive(Debug, Clone, Default)]
pub struct Page {
    /// Entries, in `createdAt` order.
    pub entries: Vec<MediaEntry>,
    /// Flavors by entry (as asked for).
    pub flavors: HashMap<EntryId, Vec<FlavorAsset>>,
}

impl Page {
    /// The original flavor of an entry, if it has one.
    pub fn original(&self, id: &EntryId) -> Option<&FlavorAsset> {
        self.flavors
            .get(id)
            .and_then(|f| f.iter().find(|f| f.is_original))
    }
}

enum Mode {
    Ids(VecDeque<Vec<EntryId>>),
    Cursor(Option<(i64, Vec<EntryId>)>),
    Second {
        t: i64,
        page: u32,
        seen: HashSet<EntryId>,
    },
    Done,
}

/// Walks a selection page by page.
pub struct Walker {
    client: Client,
    base: MediaEntryFilter,
    flavors: Flavors,
    max: Option<u64>,
    yielded: u64,
    total: Option<u64>,
    mode: Mode,
}

impl Walker {
    /// Starts a walk of `selection` (validated here) as of `now`.
    pub fn new(
        client: Client,
        selection: &Selection,
        flavors: Flavors,
        now: i64,
    ) -> Result<Self, SelectionError> {
        let base = selection.filter(now)?;
        let mode = if selection.entry_ids.is_empty() {
            Mode::Cursor(None)
        } else {
            let mut unique = Vec::new();
            let mut seen = HashSet::new();
            for id in &selection.entry_ids {
                if seen.insert(id.clone()) {
                    unique.push(id.clone());
                }
            }
            Mode::Ids(
                unique
                    .chunks(MAX_PAGE_SIZE as usize)
                    .map(<[EntryId]>::to_vec)
                    .collect(),
            )
        };
        Ok(Walker {
            client,
            base,
            flavors,
            max: selection.max_entries,
            yielded: 0,
            total: None,
            mode,
        })
    }

    /// How many entries match, as the first page reported it (capped by `max_entries`).
    pub fn total(&self) -> Option<u64> {
        self.total.map(|t| self.max.map_or(t, |m| t.min(m)))
    }

    /// The next page, or `None` when the walk is over.
    pub async fn next_page(&mut self) -> Result<Option<Page>, SelectionError> {
        loop {
            let entries = match &mut self.mode {
                Mode::Done => return Ok(None),
                Mode::Ids(batches) => {
                    let Some(batch) = batches.pop_front() else {
                        self.mode = Mode::Done;
                        continue;
                    };
                    self.id_batch(batch).await?
                }
                Mode::Cursor(after) => {
                    let mut f = self.base.clone();
                    if let Some((t, ids)) = after {
                        f.created_at_greater_than_or_equal =
                            Some(f.created_at_greater_than_or_equal.map_or(*t, |g| g.max(*t)));
                        f.id_not_in = Some(
                            ids.iter()
                                .map(|i| i.0.as_str())
                                .collect::<Vec<_>>()
                                .join(","),
                        );
                    }
                    let r = self.client.list_media(&f, MAX_PAGE_SIZE, 1).await?;
                    if self.total.is_none() {
                        self.total = Some(r.total_count.max(0) as u64);
                    }
                    let entries = r.objects;
                    self.mode = if entries.len() < MAX_PAGE_SIZE as usize {
                        Mode::Done
                    } else {
                        next_cursor(after.take(), &entries)
                    };
                    entries
                }
                Mode::Second { t, page, seen } => {
                    let mut f = self.base.clone();
                    f.created_at_greater_than_or_equal = Some(*t);
                    f.created_at_less_than_or_equal = Some(*t);
                    let r = self.client.list_media(&f, MAX_PAGE_SIZE, *page).await?;
                    let full = r.objects.len() == MAX_PAGE_SIZE as usize;
                    let fresh: Vec<MediaEntry> = r
                        .objects
                        .into_iter()
                        .filter(|e| seen.insert(e.id.clone()))
                        .collect();
                    if full {
                        *page += 1;
                    } else {
                        self.mode = Mode::Cursor(Some((*t + 1, vec![])));
                    }
                    fresh
                }
            };
            if entries.is_empty() {
                continue;
            }
            return self.emit(entries).await.map(Some);
        }
    }

    async fn id_batch(&mut self, batch: Vec<EntryId>) -> Result<Vec<MediaEntry>, SelectionError> {
        let mut f = self.base.clone();
        f.id_in = Some(
            batch
                .iter()
                .map(|i| i.0.as_str())
                .collect::<Vec<_>>()
                .join(","),
        );
        let r = self.client.list_media(&f, MAX_PAGE_SIZE, 1).await?;
        let found: HashSet<&EntryId> = r.objects.iter().map(|e| &e.id).collect();
        for id in batch.iter().filter(|id| !found.contains(id)) {
            match self.client.get_media(id).await {
                Err(e) if e.code() == Some("ENTRY_ID_NOT_FOUND") => {
                    return Err(SelectionError::UnknownEntry(id.clone()))
                }
                Err(e) => return Err(e.into()),
                Ok(_) => {
                    tracing::info!(entry = %id, "entry exists but does not match the other filters; skipped")
                }
            }
        }
        self.total = Some(self.total.unwrap_or(0) + r.objects.len() as u64);
        Ok(r.objects)
    }

    async fn emit(&mut self, mut entries: Vec<MediaEntry>) -> Result<Page, SelectionError> {
        if let Some(max) = self.max {
            let room = max.saturating_sub(self.yielded) as usize;
            if entries.len() >= room {
                entries.truncate(room);
                self.mode = Mode::Done;
            }
        }
        self.yielded += entries.len() as u64;
        let ids: Vec<EntryId> = entries.iter().map(|e| e.id.clone()).collect();
        let mut flavors: HashMap<EntryId, Vec<FlavorAsset>> = HashMap::new();
        if self.flavors != Flavors::None && !ids.is_empty() {
            for f in self
                .client
                .flavors_of(&ids, self.flavors == Flavors::Originals)
                .await?
            {
                flavors.entry(f.entry_id.clone()).or_default().push(f);
            }
        }
        Ok(Page { entries, flavors })
    }
}

/// The cursor after a full page: the last creation second and the ids seen in it; when too many
/// entries share that second, page through the second itself.
fn next_cursor(prev: Option<(i64, Vec<EntryId>)>, page: &[MediaEntry]) -> Mode {
    let Some(last) = page.last().map(|e| e.created_at) else {
        return Mode::Done;
    };
    let mut at_last = match prev {
        Some((t, ids)) if t == last => ids,
        _ => vec![],
    };
    at_last.extend(
        page.iter()
            .filter(|e| e.created_at == last)
            .map(|e| e.id.clone()),
    );
    if at_last.len() > MAX_IDS_AT_CURSOR {
        Mode::Second {
            t: last,
            page: 1,
            seen: at_last.into_iter().collect(),
        }
    } else {
        Mode::Cursor(Some((last, at_last)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sel() -> Selection {
        Selection::default()
    }

    #[test]
    fn entry_ids_are_checked_for_shape() {
        assert!(parse_entry_id("1_abcd1234").is_ok());
        assert!(parse_entry_id("0_zz9").is_err());
        assert!(parse_entry_id("abc").is_err());
        assert!(parse_entry_id("1_ABCD1234").is_err());
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
                statuses: vec!["done".into()],
                ..sel()
            },
            Selection {
                media_types: vec!["movie".into()],
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
                matches!(s.validate(), Err(SelectionError::Invalid(_))),
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
            media_types: vec!["video".into()],
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
        assert_eq!(f.moderation_status_in.as_deref(), Some(ALL_MODERATION));
        let adv = f.advanced_search.unwrap();
        assert_eq!(adv["objectType"], "KalturaSearchOperator");
        assert_eq!(adv["items"].as_array().unwrap().len(), 2);
    }
}
