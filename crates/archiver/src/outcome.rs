//! What happened to each entry, and the counts of a run.

use serde::Serialize;
use std::collections::BTreeMap;

use crate::copies::ArchiveCopy;
use kaltura::EntryId;

/// The result of a transition for one entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", content = "detail", rename_all = "kebab-case")]
pub enum Outcome {
    /// The change was made.
    Done(String),
    /// Nothing to do: an earlier run did it.
    DoneBefore(String),
    /// A dry run: what would be done.
    Planned(String),
    /// Not for this command (with the reason).
    Skipped(String),
    /// Started; finishes in a later run (a thaw, a slow conversion).
    Waiting(String),
    /// Health: consistent.
    Healthy(String),
    /// Health: an anomaly (what, and what repair does).
    Anomaly(String),
    /// Failed (with the reason); the run's exit code is non-zero.
    Failed(String),
}

impl Outcome {
    /// The outcome's name, as in reports.
    pub fn name(&self) -> &'static str {
        match self {
            Outcome::Done(_) => "done",
            Outcome::DoneBefore(_) => "done-before",
            Outcome::Planned(_) => "planned",
            Outcome::Skipped(_) => "skipped",
            Outcome::Waiting(_) => "waiting",
            Outcome::Healthy(_) => "healthy",
            Outcome::Anomaly(_) => "anomaly",
            Outcome::Failed(_) => "failed",
        }
    }

    /// The detail text.
    pub fn detail(&self) -> &str {
        match self {
            Outcome::Done(s)
            | Outcome::DoneBefore(s)
            | Outcome::Planned(s)
            | Outcome::Skipped(s)
            | Outcome::Waiting(s)
            | Outcome::Healthy(s)
            | Outcome::Anomaly(s)
            | Outcome::Failed(s) => s,
        }
    }

    /// Whether this outcome makes the run fail.
    pub fn is_failure(&self) -> bool {
        matches!(self, Outcome::Failed(_) | Outcome::Anomaly(_))
    }
}

/// The facts of one entry's work, for machines (`--format json`): set where they become
/// known, `None` where they do not apply.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Facts {
    /// Key of the archive copy written, proven or restored from.
    pub key: Option<String>,
    /// Its byte count.
    pub bytes: Option<u64>,
    /// Flavor id of the original it holds.
    pub flavor_id: Option<String>,
    /// That flavor's version.
    pub flavor_version: Option<i64>,
    /// Storage class of the copy.
    pub storage_class: Option<String>,
    /// What kind of error failed the entry (`kaltura`, `store`, `transfer`, `refused`,
    /// `inconsistent`, `invalid`, `not-found`, `mail`).
    pub error_kind: Option<&'static str>,
}

impl Facts {
    /// The facts of a copy: its key, size, flavor and class, from its record when it has one.
    pub fn of_copy(copy: &ArchiveCopy) -> Facts {
        let r = copy.record.as_ref();
        Facts {
            key: Some(copy.key.to_string()),
            bytes: Some(copy.bytes()),
            flavor_id: r.map(|r| r.flavor_id.clone()),
            flavor_version: r.map(|r| r.flavor_version),
            storage_class: r.map(|r| r.storage_class.clone()).or_else(|| {
                copy.info
                    .as_ref()
                    .map(|i| i.storage_class.as_str().to_string())
            }),
            error_kind: None,
        }
    }
}

/// Facts noted per entry while a run works, taken when its row is written.
#[derive(Debug, Default)]
pub struct FactSheet(std::sync::Mutex<std::collections::HashMap<EntryId, Facts>>);

impl FactSheet {
    /// Notes facts of an entry (merged into what was noted before).
    pub fn note(&self, entry: &EntryId, f: impl FnOnce(&mut Facts)) {
        f(self
            .0
            .lock()
            .expect("facts")
            .entry(entry.clone())
            .or_default());
    }

    /// Takes an entry's facts.
    pub fn take(&self, entry: &EntryId) -> Facts {
        self.0
            .lock()
            .expect("facts")
            .remove(entry)
            .unwrap_or_default()
    }
}

/// Work handed to Kaltura that finishes later (a content replacement converting).
#[derive(Debug, Clone)]
pub struct Pending {
    /// The entry.
    pub entry: EntryId,
    /// What finishes it.
    pub kind: PendingKind,
}

/// What a pending entry waits for.
#[derive(Debug, Clone)]
pub enum PendingKind {
    /// The placeholder replacing the original.
    Placeholder,
    /// The archive copy replacing the placeholder.
    Restore {
        /// The copy that was uploaded.
        copy: Box<ArchiveCopy>,
    },
}

/// A transition's answer for one entry: final, or waiting on Kaltura.
#[derive(Debug, Clone)]
pub enum Step {
    /// Final outcome.
    Finished(Outcome),
    /// Kaltura is converting; the engine polls it with the other pending entries.
    Pending(Pending),
    /// Its owner must be told first; the engine sends one notice per owner after the walk.
    Notice,
}

impl From<Outcome> for Step {
    fn from(o: Outcome) -> Self {
        Step::Finished(o)
    }
}

/// Counts of a run by outcome.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Summary {
    /// Entries by outcome name.
    pub outcomes: BTreeMap<String, u64>,
}

impl Summary {
    /// Counts one outcome.
    pub fn add(&mut self, o: &Outcome) {
        *self.outcomes.entry(o.name().to_string()).or_default() += 1;
    }

    /// Entries that failed (or, for health, are anomalies).
    pub fn failures(&self) -> u64 {
        ["failed", "anomaly"]
            .iter()
            .map(|k| self.outcomes.get(*k).copied().unwrap_or(0))
            .sum()
    }

    /// Entries seen.
    pub fn total(&self) -> u64 {
        self.outcomes.values().sum()
    }
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} entries", self.total())?;
        for (k, v) in &self.outcomes {
            write!(f, ", {v} {k}")?;
        }
        Ok(())
    }
}
