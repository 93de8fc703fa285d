//! The policy, in one place: which entries each scheduled job selects for N years, when an
//! entry is old and unplayed enough to be replaced, which entries are exempt, and what happens to
//! an entry next.

use std::collections::HashSet;

use kaltura::{EntryId, EntryStatus, MediaEntry, MediaType};

use crate::diagnose::{Diagnosis, State};
use crate::engine::Command;
use crate::selection::Selection;
use crate::tags::{ARCHIVED, REPLACED};
use crate::time::{date, midnight, years_ago};

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

/// The start of the tag that records an owner notice: `archive_notice_YYYYMMDD`, the UTC day it
/// was sent (so Kaltura shows it beside the entry).
pub const NOTICE_TAG_PREFIX: &str = "archive_notice_";

/// Days past its date that a notice stays good for; an entry not archived by then (the tool
/// was paused, the entry was exempt for a while) is noticed again.
pub const NOTICE_KEEPS_DAYS: i64 = 90;

const DAY: i64 = 86_400;

/// The notice tag for a notice sent at `now`.
pub fn notice_tag(now: i64) -> String {
    let (y, m, d) = crate::time::civil(now);
    format!("{NOTICE_TAG_PREFIX}{y:04}{m:02}{d:02}")
}

/// The day (midnight UTC) of the entry's latest notice, from its tags.
pub fn notice_sent(entry: &MediaEntry) -> Option<i64> {
    entry
        .tag_list()
        .iter()
        .filter_map(|t| {
            let d = t.strip_prefix(NOTICE_TAG_PREFIX)?;
            if d.len() != 8 || !d.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            midnight(
                d[..4].parse().ok()?,
                d[4..6].parse().ok()?,
                d[6..].parse().ok()?,
            )
        })
        .max()
}

/// Where an entry stands with its owner's notice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoticeState {
    /// No notice yet: the owner is told first.
    Unsent,
    /// A notice that no longer counts (why, in words): the owner is told again.
    Stale(String),
    /// Told on `sent`; not before `due`.
    Waiting {
        /// Day the notice went out (midnight UTC).
        sent: i64,
        /// First moment it may be archived.
        due: i64,
    },
    /// Told on `sent`, and the notice period is over.
    Due {
        /// Day the notice went out (midnight UTC).
        sent: i64,
    },
}

impl NoticeState {
    /// The state in words, for rows and `explain`.
    pub fn describe(&self) -> String {
        match self {
            NoticeState::Unsent => "owner not told yet".into(),
            NoticeState::Stale(why) => why.clone(),
            NoticeState::Waiting { sent, due } => format!(
                "owner told on {}; archived on or after {} if still unplayed",
                date(*sent),
                date(*due)
            ),
            NoticeState::Due { sent } => {
                format!("owner told on {}; notice period over", date(*sent))
            }
        }
    }
}

/// The first moment an entry noticed on `sent_day` (midnight UTC) may be archived: `days` full
/// days after the notice, whatever its time of day.
pub fn notice_due(sent_day: i64, days: u32) -> i64 {
    sent_day + (i64::from(days) + 1) * DAY
}

/// Where `entry` stands with a notice period of `days` as of `now`. A notice counts for at least
/// `days` full days (the tag keeps only the day, so it is due `days + 1` days after its date),
/// only while the entry stays unplayed since, and for [`NOTICE_KEEPS_DAYS`] past its due date.
pub fn notice_state(entry: &MediaEntry, now: i64, days: u32) -> NoticeState {
    let Some(sent) = notice_sent(entry) else {
        return NoticeState::Unsent;
    };
    let due = notice_due(sent, days);
    if let Some(played) = entry.last_played_at.filter(|p| *p >= sent) {
        return NoticeState::Stale(format!(
            "played on {}, after its owner was told on {}",
            date(played),
            date(sent)
        ));
    }
    if now >= due + NOTICE_KEEPS_DAYS * DAY {
        return NoticeState::Stale(format!(
            "its owner was told on {}, over {NOTICE_KEEPS_DAYS} days before it could be archived",
            date(sent)
        ));
    }
    if now < due {
        NoticeState::Waiting { sent, due }
    } else {
        NoticeState::Due { sent }
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

/// What the scheduled jobs will do with a diagnosed entry next, and why (`explain`'s "next"),
/// with owner notices of `notice_days` when they are on.
pub fn next_step(
    d: &Diagnosis,
    now: i64,
    years: f64,
    exemptions: &Exemptions,
    notice_days: Option<u32>,
) -> String {
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
    if let (Some(days), None, State::Initial | State::Archived) =
        (notice_days, &too_recent, &d.state)
    {
        match notice_state(e, now, days) {
            NoticeState::Due { .. } => {}
            waiting @ NoticeState::Waiting { .. } => {
                return format!("nothing yet: {}; then archive and replace", waiting.describe())
            }
            untold => {
                return format!(
                    "archive tells its owner first ({}), then archives and replaces it {} days later if it is still unplayed",
                    untold.describe(),
                    days + 1
                )
            }
        }
    }
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
    fn a_notice_is_due_after_n_full_days_and_stale_once_played_or_too_old() {
        let day = 86_400;
        let sent = midnight(2026, 12, 1).unwrap();
        let entry = |tags: &str, played: Option<i64>| -> MediaEntry {
            serde_json::from_value(serde_json::json!({"id": "0_abcd1234", "status": 2,
                "tags": tags, "lastPlayedAt": played}))
            .unwrap()
        };
        let told = entry(
            "lecture, archive_notice_20261201, archive_notice_2026",
            None,
        );
        assert_eq!(notice_sent(&told), Some(sent));
        assert_eq!(notice_tag(sent + 23 * 3600), "archive_notice_20261201");
        // Sent late on the 1st: 14 full days have passed only on the 16th.
        let waiting = notice_state(&told, sent + 15 * day - 1, 14);
        assert_eq!(
            waiting,
            NoticeState::Waiting {
                sent,
                due: sent + 15 * day
            }
        );
        assert_eq!(
            notice_state(&told, sent + 15 * day, 14),
            NoticeState::Due { sent }
        );
        let played = entry("archive_notice_20261201", Some(sent + 3 * day));
        assert!(matches!(
            notice_state(&played, sent + 20 * day, 14),
            NoticeState::Stale(_)
        ));
        assert!(matches!(
            notice_state(&told, sent + (15 + NOTICE_KEEPS_DAYS) * day, 14),
            NoticeState::Stale(_)
        ));
        assert_eq!(
            notice_state(&entry("lecture", None), sent, 14),
            NoticeState::Unsent
        );
        assert_eq!(notice_sent(&entry("archive_notice_20260230", None)), None);
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
