//! The policy, in one place: which entries each scheduled job selects for N years, when an
//! entry is old and unplayed enough to be replaced, and what happens to an entry next.

use kaltura::{EntryStatus, MediaEntry, MediaType};

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

/// The selection a command uses: the filters given, or the policy's when none are.
pub fn selection_for(command: Command, given: &Selection, years: f64) -> Selection {
    if *given == Selection::default() {
        selection(command, years)
    } else {
        given.clone()
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
pub fn next_step(d: &Diagnosis, now: i64, years: f64) -> String {
    let n = years;
    let e = &d.entry;
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
