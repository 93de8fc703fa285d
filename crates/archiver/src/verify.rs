//! `verify`: walks every copy in the store and proves it against its record — the stored
//! checksum of the pinned version, or with `read_data` a full re-read wherever the bytes can be
//! read now — with bounded concurrency and memory (one chunk per copy in flight). Reports copies
//! that are corrupt, missing, unrecorded or placeholders, and the entries left without any good
//! copy.

use futures_util::StreamExt;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use crate::placeholder::Placeholders;
use crate::proof::{self, Depth, Verdict};
use crate::record;
use crate::store::{ArchiveStore, ObjectKey, Result};

/// What verifying one copy found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Holds its recorded bytes (`read`: read and hashed; else the stored checksum proved it).
    Good {
        /// Whether the bytes were read.
        read: bool,
    },
    /// Its bytes differ from the record (or cannot be read).
    Corrupt,
    /// Recorded, but the object (or its pinned version) is gone.
    Missing,
    /// An object without a record: the reference tool's copy or an interrupted archive; it
    /// restores, but nothing proves it.
    Unrecorded,
    /// Recorded bytes that are a known placeholder, not a recording.
    Placeholder,
    /// A sidecar (metadata, captions, thumbnail) whose files all hold their recorded bytes.
    SidecarGood,
    /// A sidecar with a file changed, gone or unreadable.
    SidecarChanged,
}

impl Status {
    /// The status in a word, for reports.
    pub fn name(self) -> &'static str {
        match self {
            Status::Good { read: true } => "good-read",
            Status::Good { read: false } => "good",
            Status::Corrupt => "corrupt",
            Status::Missing => "missing",
            Status::Unrecorded => "unrecorded",
            Status::Placeholder => "placeholder",
            Status::SidecarGood => "sidecar-good",
            Status::SidecarChanged => "sidecar-changed",
        }
    }

    /// Whether this makes `verify` fail.
    pub fn is_problem(self) -> bool {
        matches!(
            self,
            Status::Corrupt | Status::Missing | Status::Placeholder | Status::SidecarChanged
        )
    }
}

/// One copy's result.
#[derive(Debug, Clone)]
pub struct Finding {
    /// The entry the copy belongs to.
    pub entry: String,
    /// The copy's key.
    pub key: String,
    /// What was found.
    pub status: Status,
    /// Recorded (or stored, when unrecorded) byte count.
    pub bytes: u64,
    /// Details in words.
    pub detail: String,
}

/// Counts of a verify run.
#[derive(Debug, Clone, Default)]
pub struct Totals {
    /// Copies by status name.
    pub by_status: BTreeMap<&'static str, u64>,
    /// Entries with at least one bad copy and no good one.
    pub without_good_copy: Vec<String>,
}

impl Totals {
    /// Copies with a problem.
    pub fn problems(&self) -> u64 {
        ["corrupt", "missing", "placeholder", "sidecar-changed"]
            .iter()
            .map(|k| self.by_status.get(k).copied().unwrap_or(0))
            .sum()
    }
}

/// Progress of a verify run, readable while it runs.
#[derive(Debug, Default)]
pub struct Progress {
    /// Copies to check.
    pub total: AtomicU64,
    /// Copies checked.
    pub done: AtomicU64,
    /// Bytes proven (read, or by stored checksum).
    pub bytes: AtomicU64,
}

/// The sidecars to check: the copy key of each sidecar record.
fn sidecars(keys: &[ObjectKey]) -> Vec<String> {
    keys.iter()
        .filter_map(crate::sidecar::copy_of_record)
        .map(str::to_string)
        .collect()
}

/// What to check in the store, from one listing: records and the copies they name, and objects
/// that have none.
fn plan(keys: Vec<ObjectKey>) -> (Vec<ObjectKey>, Vec<ObjectKey>) {
    // Copies live at the top level of the store (entry ids have no '/'); records, same-as and
    // other small objects end in `.json`; locks, journals and placeholder records are in folders.
    let top: Vec<ObjectKey> = keys
        .into_iter()
        .filter(|k| !k.as_str().contains('/'))
        .collect();
    let records: Vec<ObjectKey> = top
        .iter()
        .filter(|k| k.as_str().ends_with(record::SUFFIX))
        .cloned()
        .collect();
    let recorded: std::collections::HashSet<ObjectKey> =
        records.iter().filter_map(record::copy_of).collect();
    let unrecorded = top
        .into_iter()
        .filter(|k| !k.as_str().ends_with(".json") && !recorded.contains(k))
        .collect();
    (records, unrecorded)
}

fn entry_of(key: &str) -> String {
    key.split('.').next().unwrap_or(key).to_string()
}

/// Verifies every copy in the store, `jobs` at a time; `each` sees every finding as it comes.
pub async fn run(
    store: Arc<dyn ArchiveStore>,
    placeholders: &Placeholders,
    read_data: bool,
    jobs: usize,
    progress: &Progress,
    mut each: impl FnMut(&Finding),
) -> Result<Totals> {
    let keys = store.list("").await?;
    let sidecars = sidecars(&keys);
    let (records, unrecorded) = plan(keys);
    progress.total.store(
        (records.len() + unrecorded.len() + sidecars.len()) as u64,
        Ordering::Relaxed,
    );
    let depth = if read_data {
        Depth::ReadData
    } else {
        Depth::Prove
    };
    let recorded = futures_util::stream::iter(records).map(|key| {
        let store = store.clone();
        async move { check_recorded(store.as_ref(), &key, depth, placeholders, progress).await }
    });
    let others = futures_util::stream::iter(unrecorded).map(|key| {
        let store = store.clone();
        async move { check_unrecorded(store.as_ref(), &key, placeholders).await }
    });
    let sidecar_checks = futures_util::stream::iter(sidecars).map(|copy| {
        let store = store.clone();
        async move { Ok(check_sidecar(store.as_ref(), &copy).await) }
    });
    use futures_util::future::Either;
    let mut results = std::pin::pin!(recorded
        .map(|f| Either::Left(Either::Left(f)))
        .chain(others.map(|f| Either::Left(Either::Right(f))))
        .chain(sidecar_checks.map(Either::Right))
        .buffer_unordered(jobs.max(1)));
    let mut totals = Totals::default();
    let mut good: BTreeMap<String, bool> = BTreeMap::new();
    while let Some(finding) = results.next().await {
        let f = finding?;
        progress.done.fetch_add(1, Ordering::Relaxed);
        *totals.by_status.entry(f.status.name()).or_default() += 1;
        if !matches!(f.status, Status::SidecarGood | Status::SidecarChanged) {
            let ok = matches!(f.status, Status::Good { .. } | Status::Unrecorded);
            *good.entry(f.entry.clone()).or_insert(false) |= ok;
        }
        each(&f);
    }
    totals.without_good_copy = good
        .into_iter()
        .filter(|(_, ok)| !ok)
        .map(|(e, _)| e)
        .collect();
    Ok(totals)
}

/// Reads every file of one sidecar against its record.
async fn check_sidecar(store: &dyn ArchiveStore, copy: &str) -> Finding {
    let dir = crate::sidecar::dir(copy);
    let (status, detail) = match crate::sidecar::check(store, copy).await {
        Ok(Some(problems)) if problems.is_empty() => (
            Status::SidecarGood,
            "every file holds its recorded bytes".into(),
        ),
        Ok(Some(problems)) => (Status::SidecarChanged, problems.join("; ")),
        Ok(None) => (Status::SidecarChanged, "its record is gone".into()),
        Err(e) => (Status::SidecarChanged, format!("cannot be checked: {e}")),
    };
    Finding {
        entry: entry_of(copy),
        key: dir,
        status,
        bytes: 0,
        detail,
    }
}

async fn check_recorded(
    store: &dyn ArchiveStore,
    record_key: &ObjectKey,
    depth: Depth,
    placeholders: &Placeholders,
    progress: &Progress,
) -> Result<Finding> {
    let rec = record::read(store, record_key).await?;
    let (verdict, _) = proof::check(store, &rec, depth).await?;
    let version = rec
        .version_id
        .as_deref()
        .map_or(String::new(), |v| format!(", version {v}"));
    let what = format!(
        "flavor {} v{}{version}, SHA-256 {}",
        rec.flavor_id, rec.flavor_version, rec.sha256
    );
    let (status, detail) = match verdict {
        _ if placeholders.is_known(rec.bytes, &rec.crc64nvme) => (
            Status::Placeholder,
            format!("{what}: these bytes are a placeholder, not a recording"),
        ),
        Verdict::Good { read } => {
            progress.bytes.fetch_add(rec.bytes, Ordering::Relaxed);
            let how = if read {
                "read and hashed"
            } else {
                "the store's checksum of the pinned version"
            };
            (Status::Good { read }, format!("{what}: proven ({how})"))
        }
        Verdict::Missing => (Status::Missing, format!("{what}: the object is gone")),
        Verdict::Bad(why) => (Status::Corrupt, format!("{what}: {why}")),
    };
    Ok(Finding {
        entry: rec.entry_id.clone(),
        key: rec.key.clone(),
        status,
        bytes: rec.bytes,
        detail,
    })
}

async fn check_unrecorded(
    store: &dyn ArchiveStore,
    key: &ObjectKey,
    placeholders: &Placeholders,
) -> Result<Finding> {
    let info = store.head(key).await?;
    let size = info.as_ref().map_or(0, |i| i.size);
    let placeholder = info.as_ref().is_some_and(|i| {
        i.checksum
            .as_deref()
            .is_some_and(|c| placeholders.is_known(i.size, c))
    });
    let (status, detail) = if placeholder {
        (
            Status::Placeholder,
            "no record, and its bytes are a placeholder, not a recording".to_string(),
        )
    } else {
        (
            Status::Unrecorded,
            "no record (the reference tool's copy, or an archive interrupted before its record): it restores, but nothing proves it; while Kaltura has the original, repair archives a proven copy".to_string(),
        )
    };
    Ok(Finding {
        entry: entry_of(key.as_str()),
        key: key.to_string(),
        status,
        bytes: size,
        detail,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_plan_checks_records_and_copies_without_one_and_skips_folders() {
        let keys = [
            "0_a",
            "0_a.record.json",
            "0_a.1_f.v2",
            "0_b",
            "0_b.1_f.v1.same-as.json",
            "0_c.1_f.v1.record.json",
            "log/2026/11/30/x.jsonl",
            "locks/archive/0000000001.json",
            "placeholders/ab.json",
        ]
        .map(|k| ObjectKey::new(k).unwrap());
        let (records, unrecorded) = plan(keys.to_vec());
        let names = |v: &[ObjectKey]| v.iter().map(|k| k.to_string()).collect::<Vec<_>>();
        assert_eq!(
            names(&records),
            ["0_a.record.json", "0_c.1_f.v1.record.json"]
        );
        assert_eq!(names(&unrecorded), ["0_a.1_f.v2", "0_b"]);
        assert_eq!(entry_of("0_a.1_f.v2"), "0_a");
    }
}
