//! The policy, in one place: which entries each scheduled job selects for N years, when an
//! entry is old and unplayed enough to be replaced, which entries are exempt, and what happens to
//! an entry next.

use std::collections::HashSet;

use kaltura::{EntryId, EntryStatus, MediaEntry, MediaType};

use crate::diagnose::{Diagnosis, State};
use crate::engine::Command;
use crate::selection::Selection;
use crate::tags::{ARCHIVED, REPLACED};
use crate::time::{date, years_ago};

/// The entries a command works on when no filter is given, for the policy's N years.
pub fn selection(command: Command, years: f64) -> Selection {
    // NO_CONTENT too: an entry whose flavors were deleted but the placeholder not yet added.
    let with_no_content = vec![EntryStatus::Ready, EntryStatus::NoContent];
    // Recordings created and last played more than N years ago, not replaced yet.
    let old_recordings = Selection {
        media_types: vec![MediaType::Video, MediaType::Audio],
        without_tags: vec![REPLACED.into()],
        unplayed_for_years: Some(years),
        created_before_years: Some(years),
        ..Selection::default()
    };
    match command {
        Command::Archive => old_recordings,
        Command::Replace => Selection {
            statuses: with_no_content,
            tags: vec![ARCHIVED.into()],
            ..old_recordings
        },
        Command::Restore => Selection {
            statuses: with_no_content,
            tags: vec![REPLACED.into()],
            played_within_years: Some(years),
            ..Selection::default()
        },
        Command::Health | Command::Repair => Selection {
            statuses: with_no_content,
            ..Selection::default()
        },
    }
}

/// The selection a command uses: entries named by id as they are (the user's explicit choice);
/// otherwise the policy's, narrowed by whatever filters are given.
pub fn selection_for(command: Command, given: &Selection, years: f64) -> Selection {
    if given.entry_ids.is_empty() {
        selection(command, years).narrowed_by(given)
    } else {
        given.clone()
    }
}

/// The tag that exempts an entry by default.
pub const DEFAULT_EXEMPT_TAG: &str = "archive_exempt";

/// Entries that are never archived or replaced unless named by id: by tag, by category (with its
/// subcategories), by owner, or listed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Exemptions {
    /// Tags (lower case).
    pub tags: Vec<String>,
    /// Category full names (`Courses>PHY101`, subcategories included) or ids (that category).
    pub categories: Vec<String>,
    /// Owners (the entry's `userId`).
    pub owners: Vec<String>,
    /// Entries listed one by one (an exemption file).
    pub ids: HashSet<EntryId>,
}

impl Exemptions {
    /// Which exemption holds for `entry`, in words; `None` when none does.
    pub fn holds(&self, entry: &MediaEntry) -> Option<String> {
        if self.ids.contains(&entry.id) {
            return Some("listed in the exemption file".into());
        }
        if let Some(t) = self.tags.iter().find(|t| entry.has_tag(t)) {
            return Some(format!("tagged {t}"));
        }
        let names = entry.categories.split(',').map(str::trim);
        let ids: Vec<&str> = entry.categories_ids.split(',').map(str::trim).collect();
        for c in &self.categories {
            let c = c.trim();
            let by_name = names
                .clone()
                .any(|n| n == c || n.strip_prefix(c).is_some_and(|r| r.starts_with('>')));
            if by_name || ids.contains(&c) {
                return Some(format!("in category {c}"));
            }
        }
        if self.owners.contains(&entry.user_id) {
            return Some(format!("owned by {}", entry.user_id));
        }
        None
    }
}

/// Why the policy does not allow replacing `entry` yet — created or played within the last
/// `years` as of `now` — or `None` when it does.
pub fn too_recent(entry: &MediaEntry, now: i64, years: f64) -> Option<String> {
    let cutoff = years_ago(now, years);
    if entry.created_at > cutoff {
        return Some(format!(
            "created {}, within the last {years} years",
            date(entry.created_at)
        ));
    }
    match entry.last_played_at {
        Some(t) if t > cutoff => Some(format!("played {}, within the last {years} years", date(t))),
        _ => None,
    }
}

/// What the scheduled jobs will do with a diagnosed entry next, and why (`explain`'s "next").
pub fn next_step(d: &Diagnosis, now: i64, years: f64, exemptions: &Exemptions) -> String {
    let n = years;
    let e = &d.entry;
    if let Some(why) = exemptions.holds(e) {
        if matches!(d.state, State::Initial | State::Archived) {
            return format!(
                "nothing: exempt ({why}); it is never archived or replaced unless named by --id"
            );
        }
    }
    let too_recent = too_recent(e, now, years);
    let played_recently = e.last_played_at.is_some_and(|t| t > years_ago(now, years));
    match &d.state {
        State::Initial => match too_recent {
            None => format!("archive copies it (created and unplayed for over {n} years), then replace swaps in the placeholder"),
            Some(why) => format!("nothing yet: {why}; it qualifies once it is {n} years old and unplayed for {n} years"),
        },
        State::Archived => match too_recent {
            None => "replace swaps in the placeholder (a verified copy of the current original exists)".into(),
            Some(why) => format!("nothing: archived, but {why}"),
        },
        State::Replaced if played_recently => format!(
            "restore: played {} (within {n} years) — it requests a thaw, and a later run uploads the copy",
            e.last_played_at.map(date).unwrap_or_default()
        ),
        State::Replaced => format!("nothing until someone plays it; then restore brings it back (it restores entries played within {n} years)"),
        State::Thawing => "restore waits for the thaw, then uploads the copy".into(),
        State::Converting => "nothing until Kaltura finishes converting the new content".into(),
        State::NotApplicable(why) => format!("nothing: {why}"),
        State::Anomaly(a) => format!("repair: {}", a.repair()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exemptions_hold_by_tag_category_with_subcategories_owner_and_list() {
        let entry = |tags: &str, cats: &str, owner: &str| -> MediaEntry {
            serde_json::from_value(serde_json::json!({"id": "0_abcd1234", "status": 2,
                "tags": tags, "categories": cats, "categoriesIds": "12,34", "userId": owner}))
            .unwrap()
        };
        let ex = Exemptions {
            tags: vec![DEFAULT_EXEMPT_TAG.into()],
            categories: vec!["Events>Graduation".into(), "99".into()],
            owners: vec!["dean".into()],
            ids: HashSet::new(),
        };
        assert!(ex
            .holds(&entry("lecture, archive_exempt", "", "x"))
            .is_some());
        assert!(ex
            .holds(&entry("", "Events>Graduation>2019", "x"))
            .is_some());
        assert!(
            ex.holds(&entry("", "Events>Graduations", "x")).is_none(),
            "a prefix is not a parent"
        );
        assert!(ex.holds(&entry("", "", "dean")).is_some());
        assert!(ex.holds(&entry("lecture", "Courses>PHY101", "x")).is_none());
        let listed = Exemptions {
            ids: [EntryId("0_abcd1234".into())].into(),
            ..Exemptions::default()
        };
        assert_eq!(
            listed.holds(&entry("", "", "x")).as_deref(),
            Some("listed in the exemption file")
        );
    }

    #[test]
    fn every_job_selection_is_valid_and_archive_never_touches_replaced_entries() {
        for c in [
            Command::Archive,
            Command::Replace,
            Command::Restore,
            Command::Health,
            Command::Repair,
        ] {
            selection(c, 3.0).validate().unwrap();
        }
        let a = selection(Command::Archive, 3.0);
        assert_eq!(a.without_tags, vec![REPLACED.to_string()]);
        assert_eq!(a.media_types, vec![MediaType::Video, MediaType::Audio]);
    }
}
