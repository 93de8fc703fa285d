//! What the run journals in the store tell: when entries were archived, replaced and restored,
//! what the replaced ones save each month, which restores are waiting, and how the last runs
//! went. Health runs' journals are not read: they change nothing and are the largest.

use std::collections::{BTreeMap, HashMap};

use serde::Deserialize;
use serde_json::Value;

use super::Prices;
use crate::journal::PREFIX;
use crate::store::{ArchiveStore, RestoreTier, StorageClass};
use crate::tags::REPLACED;
use crate::time::civil;

/// How many of the most recent runs the report shows.
pub const RECENT_RUNS: usize = 10;
/// How many failed entries of one run the report lists (all are counted).
pub const FAILURES_LISTED: usize = 20;

/// The library on one day, as the journals tell it.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct HistoryPoint {
    /// The day (UTC midnight, Unix seconds).
    pub day: i64,
    /// Entries with a verified copy.
    pub archived: u64,
    /// Entries whose video in Kaltura is the placeholder.
    pub replaced: u64,
}

/// The copies of one storage class among the replaced entries.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct ClassMonth {
    /// Replaced entries whose copy is in this class.
    pub entries: u64,
    /// Bytes of their copies (the originals that left Kaltura).
    pub bytes: u64,
    /// What those bytes would cost a month in Kaltura.
    pub kaltura_usd: f64,
    /// What they cost a month in the store.
    pub store_usd: f64,
    /// The difference: what replacing them saves a month.
    pub saved_usd: f64,
}

/// The monthly saving in effect at the end of one month, by storage class.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct MonthSavings {
    /// `YYYY-MM`.
    pub month: String,
    /// By class.
    pub by_class: BTreeMap<String, ClassMonth>,
    /// Saved a month, all classes.
    pub saved_usd: f64,
}

/// A restore waiting for a thaw or for Kaltura.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct WaitingRestore {
    /// Entry id.
    pub entry: String,
    /// When a run first found it waiting (Unix seconds).
    pub since: i64,
    /// The copy's class, when a thaw was requested.
    pub class: Option<String>,
    /// The thaw's tier.
    pub tier: Option<String>,
    /// When the thaw was requested.
    pub thaw_requested_at: Option<i64>,
    /// When the copy should be readable at the latest (AWS's typical time for the class and
    /// tier); a run after that restores it.
    pub expected_by: Option<i64>,
    /// What the last run said.
    pub detail: String,
}

/// One failed entry of a run.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct FailedEntry {
    /// Entry id.
    pub entry: String,
    /// Why.
    pub detail: String,
}

/// How one run went.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct RunTally {
    /// Run id.
    pub run: String,
    /// The command (`archive`, `run-restore`, …).
    pub command: String,
    /// When its first line was written.
    pub started: i64,
    /// Entries by outcome (`done`, `failed`, `waiting`, …).
    pub outcomes: BTreeMap<String, u64>,
    /// Failed entries.
    pub failed: u64,
    /// The first [`FAILURES_LISTED`] of them.
    pub failures: Vec<FailedEntry>,
}

/// What the journals tell.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct History {
    /// Journal objects read.
    pub journals_read: u64,
    /// The library at the end of each day something happened.
    pub days: Vec<HistoryPoint>,
    /// Every month from the first replacement to now.
    pub savings: Vec<MonthSavings>,
    /// Restores waiting.
    pub waiting: Vec<WaitingRestore>,
    /// The last [`RECENT_RUNS`] runs, oldest first.
    pub runs: Vec<RunTally>,
}

/// One journal line.
#[derive(Deserialize)]
struct Line {
    at: i64,
    run: String,
    command: String,
    entry: String,
    event: String,
    #[serde(default)]
    detail: Value,
}

/// A change to an entry's place, as replayed.
enum Change {
    Archived { bytes: u64, class: Option<String> },
    Replaced,
    Restored,
    Thaw { class: String, tier: String },
    Waiting(String),
    Settled,
}

/// Whether a journal key is a health run's (`…-health.jsonl`, `…-run-health.part-0002.jsonl`).
fn is_health(key: &str) -> bool {
    let stem = key.strip_suffix(".jsonl").unwrap_or(key);
    let stem = match stem.rsplit_once(".part-") {
        Some((s, n)) if n.bytes().all(|b| b.is_ascii_digit()) => s,
        _ => stem,
    };
    stem.ends_with("-health")
}

/// The change a line makes, if any. Changes through the gate carry `{"ok": …}` when done.
fn change_of(line: &Line) -> Option<Change> {
    let ok = line.detail.get("ok");
    let text = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_string);
    match line.event.as_str() {
        "verified" => Some(Change::Archived {
            bytes: line.detail.get("bytes")?.as_u64()?,
            class: text(line.detail.get("storage_class")),
        }),
        "tag" => {
            let ok = ok?;
            let one = ok.get("tag").and_then(Value::as_str) == Some(REPLACED);
            let many = ok
                .get("tags")
                .and_then(Value::as_array)
                .is_some_and(|t| t.iter().any(|t| t.as_str() == Some(REPLACED)));
            (one || many).then_some(Change::Replaced)
        }
        "untag" => {
            (ok?.get("tag").and_then(Value::as_str) == Some(REPLACED)).then_some(Change::Restored)
        }
        "thaw" => Some(Change::Thaw {
            class: text(ok?.get("class")).unwrap_or_default(),
            tier: text(ok?.get("tier")).unwrap_or_default(),
        }),
        "outcome" => {
            let command = text(line.detail.get("command")).unwrap_or_else(|| line.command.clone());
            if !command.ends_with("restore") {
                return None;
            }
            match line.detail.get("outcome").and_then(Value::as_str)? {
                "waiting" => Some(Change::Waiting(
                    text(line.detail.get("detail")).unwrap_or_default(),
                )),
                "done" | "failed" | "done-before" => Some(Change::Settled),
                _ => None,
            }
        }
        _ => None,
    }
}

/// Counts an outcome line into its run.
fn tally(runs: &mut BTreeMap<String, RunTally>, line: &Line) {
    let run = runs.entry(line.run.clone()).or_insert_with(|| RunTally {
        run: line.run.clone(),
        command: line.command.clone(),
        started: line.at,
        ..RunTally::default()
    });
    run.started = run.started.min(line.at);
    if line.event != "outcome" {
        return;
    }
    let outcome = line
        .detail
        .get("outcome")
        .and_then(Value::as_str)
        .unwrap_or("unknown");
    *run.outcomes.entry(outcome.to_string()).or_default() += 1;
    if outcome == "failed" {
        run.failed += 1;
        if run.failures.len() < FAILURES_LISTED {
            run.failures.push(FailedEntry {
                entry: line.entry.clone(),
                detail: line
                    .detail
                    .get("detail")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string(),
            });
        }
    }
}

/// Reads every journal in the store (health runs' aside) and replays it.
pub async fn read(
    store: &dyn ArchiveStore,
    prices: &Prices,
    default_class: &str,
    now: i64,
) -> Result<History, crate::store::Error> {
    let mut keys = store.list(PREFIX).await?;
    keys.retain(|k| k.as_str().ends_with(".jsonl") && !is_health(k.as_str()));
    keys.sort_by(|a, b| a.as_str().cmp(b.as_str()));
    let mut changes: Vec<(i64, String, Change)> = Vec::new();
    let mut runs: BTreeMap<String, RunTally> = BTreeMap::new();
    for key in &keys {
        let body = crate::store::read_all(store, key).await?;
        for text in String::from_utf8_lossy(&body).lines() {
            let Ok(line) = serde_json::from_str::<Line>(text) else {
                tracing::debug!(journal = %key, "a line that is not a journal line; skipped");
                continue;
            };
            tally(&mut runs, &line);
            if let Some(c) = change_of(&line) {
                changes.push((line.at, line.entry, c));
            }
        }
    }
    // Lines of concurrent runs interleave; the replay is in time order.
    changes.sort_by_key(|(at, _, _)| *at);
    let mut history = replay(changes, prices, default_class, now);
    history.journals_read = keys.len() as u64;
    // Run ids begin with their second; runs started in the same second go by their first line.
    let mut runs: Vec<RunTally> = runs.into_values().collect();
    runs.sort_by(|a, b| (a.started, &a.run).cmp(&(b.started, &b.run)));
    let skip = runs.len().saturating_sub(RECENT_RUNS);
    history.runs = runs.into_iter().skip(skip).collect();
    Ok(history)
}

/// An entry as the replay goes.
#[derive(Default)]
struct EntryPlace {
    archived: Option<(u64, String)>,
    /// The copy counted for it while replaced.
    replaced: Option<(u64, String)>,
    thaw: Option<(i64, String, String)>,
    waiting: Option<(i64, String)>,
}

fn month_index(at: i64) -> i64 {
    let (y, m, _) = civil(at);
    y * 12 + i64::from(m) - 1
}

fn month_name(index: i64) -> String {
    format!(
        "{:04}-{:02}",
        index.div_euclid(12),
        index.rem_euclid(12) + 1
    )
}

/// The saving of what is replaced, by class.
fn savings_of(sums: &BTreeMap<String, (u64, u64)>, prices: &Prices, month: String) -> MonthSavings {
    let mut out = MonthSavings {
        month,
        ..MonthSavings::default()
    };
    for (class, (entries, bytes)) in sums.iter().filter(|(_, (n, _))| *n > 0) {
        let kaltura_usd = super::usd_per_month(*bytes, prices.kaltura);
        let store_usd = super::usd_per_month(*bytes, prices.class(class));
        let c = ClassMonth {
            entries: *entries,
            bytes: *bytes,
            kaltura_usd,
            store_usd,
            saved_usd: kaltura_usd - store_usd,
        };
        out.saved_usd += c.saved_usd;
        out.by_class.insert(class.clone(), c);
    }
    out
}

fn replay(
    changes: Vec<(i64, String, Change)>,
    prices: &Prices,
    default_class: &str,
    now: i64,
) -> History {
    let mut places: HashMap<String, EntryPlace> = HashMap::new();
    let (mut archived, mut replaced) = (0u64, 0u64);
    // Replaced entries' copies by class: (entries, bytes).
    let mut sums: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    let mut days: Vec<HistoryPoint> = Vec::new();
    let mut months: BTreeMap<i64, BTreeMap<String, (u64, u64)>> = BTreeMap::new();
    for (at, entry, change) in changes {
        let place = places.entry(entry).or_default();
        match change {
            Change::Archived { bytes, class } => {
                archived += u64::from(place.archived.is_none());
                place.archived = Some((bytes, class.unwrap_or_else(|| default_class.into())));
            }
            Change::Replaced if place.replaced.is_none() => {
                let copy = place
                    .archived
                    .clone()
                    .unwrap_or_else(|| (0, default_class.into()));
                let s = sums.entry(copy.1.clone()).or_default();
                *s = (s.0 + 1, s.1 + copy.0);
                place.replaced = Some(copy);
                replaced += 1;
            }
            Change::Replaced => {}
            Change::Restored => {
                if let Some((bytes, class)) = place.replaced.take() {
                    let s = sums.entry(class).or_default();
                    *s = (s.0.saturating_sub(1), s.1.saturating_sub(bytes));
                    replaced -= 1;
                }
                (place.thaw, place.waiting) = (None, None);
            }
            Change::Thaw { class, tier } => place.thaw = Some((at, class, tier)),
            Change::Waiting(detail) => {
                let since = place.waiting.as_ref().map_or(at, |w| w.0);
                place.waiting = Some((since, detail));
            }
            Change::Settled => (place.thaw, place.waiting) = (None, None),
        }
        let day = at.div_euclid(86_400) * 86_400;
        let point = HistoryPoint {
            day,
            archived,
            replaced,
        };
        match days.last_mut() {
            Some(last) if last.day == day => *last = point,
            _ => days.push(point),
        }
        months.insert(month_index(at), sums.clone());
    }
    let mut savings = Vec::new();
    if let Some((&first, _)) = months.iter().find(|(_, s)| s.values().any(|v| v.0 > 0)) {
        let mut current = BTreeMap::new();
        for m in first..=month_index(now).max(first) {
            if let Some(s) = months.get(&m) {
                current = s.clone();
            }
            savings.push(savings_of(&current, prices, month_name(m)));
        }
    }
    let mut waiting: Vec<WaitingRestore> = places
        .into_iter()
        .filter_map(|(entry, p)| {
            let (since, detail) = p.waiting?;
            let thaw = p.thaw;
            let expected_by = thaw.as_ref().and_then(|(at, class, tier)| {
                let class = StorageClass::parse(class).ok()?;
                Some(at + RestoreTier::parse(tier).ok()?.typical_wait(class).1)
            });
            Some(WaitingRestore {
                entry,
                since,
                class: thaw.as_ref().map(|t| t.1.clone()),
                tier: thaw.as_ref().map(|t| t.2.clone()),
                thaw_requested_at: thaw.as_ref().map(|t| t.0),
                expected_by,
                detail,
            })
        })
        .collect();
    waiting.sort_by(|a, b| (a.expected_by, &a.entry).cmp(&(b.expected_by, &b.entry)));
    History {
        journals_read: 0,
        days,
        savings,
        waiting,
        runs: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::Journal;
    use crate::store::local::LocalStore;
    use serde_json::json;

    fn prices() -> Prices {
        Prices {
            kaltura: 0.1,
            kaltura_assumed: false,
            classes: BTreeMap::from([("STANDARD".into(), 0.023), ("DEEP_ARCHIVE".into(), 0.001)]),
        }
    }

    #[test]
    fn health_journals_are_told_apart_by_their_command() {
        assert!(is_health(
            "log/2026/01/02/20260102T000000Z-ab-run-health.jsonl"
        ));
        assert!(is_health("log/2026/01/02/x-health.part-0002.jsonl"));
        assert!(!is_health("log/2026/01/02/x-run-archive.jsonl"));
        assert!(!is_health("log/2026/01/02/x-restore.part-0002.jsonl"));
    }

    #[tokio::test]
    async fn the_journals_replay_into_days_savings_waiting_restores_and_failures() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalStore::new(dir.path()).unwrap();
        let day = 86_400;
        let t0 = 1_767_225_600; // 2026-01-01
        let j = Journal::new("run-archive", t0, false);
        for (e, bytes) in [("0_a", 2_000_000_000u64), ("0_b", 1_000_000_000)] {
            j.record(
                e,
                "verified",
                json!({"bytes": bytes, "storage_class": "DEEP_ARCHIVE"}),
            );
            j.record(
                e,
                "tag",
                json!({"ok": {"tags": ["archived_to_s3", REPLACED]}}),
            );
            j.record(
                e,
                "outcome",
                json!({"command": "replace", "outcome": "done"}),
            );
        }
        j.record(
            "0_c",
            "outcome",
            json!({"command": "archive", "outcome": "failed", "detail": "boom"}),
        );
        j.finish(&store).await.unwrap();
        let lines = store.list(PREFIX).await.unwrap();
        assert_eq!(lines.len(), 1);
        // Journal lines carry the writer's clock; rewrite them to fixed days.
        let body = crate::store::read_all(&store, &lines[0]).await.unwrap();
        let text = String::from_utf8_lossy(&body)
            .lines()
            .map(|l| {
                let mut v: Value = serde_json::from_str(l).unwrap();
                v["at"] = json!(t0);
                v.to_string() + "\n"
            })
            .collect::<String>();
        std::fs::write(dir.path().join(lines[0].as_str()), text).unwrap();
        let r = Journal::new("run-restore", t0 + 40 * day, false);
        r.record(
            "0_a",
            "thaw",
            json!({"ok": {"tier": "Bulk", "class": "DEEP_ARCHIVE"}}),
        );
        r.record(
            "0_a",
            "outcome",
            json!({"command": "restore", "outcome": "waiting", "detail": "thawing"}),
        );
        r.record("0_b", "untag", json!({"ok": {"tag": REPLACED}}));
        r.record(
            "0_b",
            "outcome",
            json!({"command": "restore", "outcome": "done"}),
        );
        r.finish(&store).await.unwrap();
        let key = store.list(PREFIX).await.unwrap();
        let restore_key = key
            .iter()
            .find(|k| k.as_str().contains("run-restore"))
            .unwrap();
        let body = crate::store::read_all(&store, restore_key).await.unwrap();
        let text = String::from_utf8_lossy(&body)
            .lines()
            .map(|l| {
                let mut v: Value = serde_json::from_str(l).unwrap();
                v["at"] = json!(t0 + 40 * day);
                v.to_string() + "\n"
            })
            .collect::<String>();
        std::fs::write(dir.path().join(restore_key.as_str()), text).unwrap();

        let h = read(&store, &prices(), "STANDARD", t0 + 70 * day)
            .await
            .unwrap();
        assert_eq!(h.journals_read, 2);
        assert_eq!(
            h.days,
            vec![
                HistoryPoint {
                    day: t0,
                    archived: 2,
                    replaced: 2
                },
                HistoryPoint {
                    day: t0 + 40 * day,
                    archived: 2,
                    replaced: 1
                },
            ]
        );
        let months: Vec<(&str, u64)> = h
            .savings
            .iter()
            .map(|m| (m.month.as_str(), m.by_class["DEEP_ARCHIVE"].bytes))
            .collect();
        assert_eq!(
            months,
            vec![
                ("2026-01", 3_000_000_000),
                ("2026-02", 2_000_000_000),
                ("2026-03", 2_000_000_000)
            ]
        );
        // 3 GB at 0.1 in Kaltura less 3 GB at 0.001 in the store.
        assert!(
            (h.savings[0].saved_usd - 0.297).abs() < 1e-9,
            "{:?}",
            h.savings[0]
        );
        assert_eq!(h.waiting.len(), 1);
        assert_eq!(h.waiting[0].entry, "0_a");
        assert_eq!(h.waiting[0].expected_by, Some(t0 + 40 * day + 48 * 3600));
        assert_eq!(h.runs.len(), 2);
        assert_eq!(h.runs[0].failed, 1);
        assert_eq!(h.runs[0].failures[0].detail, "boom");
        assert_eq!(h.runs[1].outcomes["done"], 1);
    }
}
