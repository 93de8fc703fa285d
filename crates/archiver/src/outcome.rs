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
