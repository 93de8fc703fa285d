//! The journal of a run: one JSON line per action (executed or only planned in a dry run) and
//! per entry outcome. An executed run writes it to the store under
//! `log/YYYY/MM/DD/<run-id>-<command>.jsonl`, where operators look for run logs — in parts while it
//! runs ([`Journal::flush`]: `….part-0002.jsonl`, `….part-0003.jsonl`, …), so a killed run loses
//! at most its last part; a dry run writes it to a local file instead, so a dry run leaves the
//! store untouched.

use bytes::Bytes;
use serde_json::{json, Value};
use std::sync::Mutex;

use crate::store::{ArchiveStore, ObjectKey};
use crate::time::civil;

/// Prefix of journal objects in the store.
pub const PREFIX: &str = "log/";

/// Lines of one run, kept until [`Journal::finish`].
#[derive(Debug)]
pub struct Journal {
    run_id: String,
    command: String,
    started: i64,
    dry_run: bool,
    lines: Mutex<Vec<String>>,
    /// Lines already written to the store, and the parts written; one writer at a time.
    written: tokio::sync::Mutex<(usize, u32)>,
}

/// What makes a run id unique: a random part, and the task, job or pod the run is in when the
/// environment names one (containers all run as pid 1, so a pid says nothing).
fn unique_suffix() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    h.write_u32(std::process::id());
    let random = format!("{:08x}", h.finish() as u32);
    let place = ["ECS_TASK_ID", "AWS_BATCH_JOB_ID", "HOSTNAME"]
        .iter()
        .find_map(|k| std::env::var(k).ok().filter(|v| !v.is_empty()))
        .map(|v| {
            v.chars()
                .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
                .take(40)
                .collect::<String>()
        })
        .filter(|v| !v.is_empty());
    match place {
        Some(p) => format!("{p}-{random}"),
        None => random,
    }
}

impl Journal {
    /// A journal for `command` started at `started` (Unix seconds).
    pub fn new(command: &str, started: i64, dry_run: bool) -> Self {
        let (y, m, d) = civil(started);
        let secs = started.rem_euclid(86_400);
        let run_id = format!(
            "{y:04}{m:02}{d:02}T{:02}{:02}{:02}Z-{}",
            secs / 3600,
            secs / 60 % 60,
            secs % 60,
            unique_suffix()
        );
        Journal {
            run_id,
            command: command.to_string(),
            started,
            dry_run,
            lines: Mutex::new(Vec::new()),
            written: tokio::sync::Mutex::new((0, 0)),
        }
    }

    /// An empty journal of the same run (same run id, command, start and mode), for a context
    /// rebuilt after the run started; the caller writes only one of the two.
    pub fn sibling(&self) -> Journal {
        Journal {
            run_id: self.run_id.clone(),
            command: self.command.clone(),
            started: self.started,
            dry_run: self.dry_run,
            lines: Mutex::new(Vec::new()),
            written: tokio::sync::Mutex::new((0, 0)),
        }
    }

    /// When the run started (Unix seconds).
    pub fn started(&self) -> i64 {
        self.started
    }

    /// The run id: the start time, the task or pod when known, and a random part.
    pub fn run_id(&self) -> &str {
        &self.run_id
    }

    /// Records one event about an entry: `kind` (e.g. `put`, `tag`, `outcome`) and details.
    pub fn record(&self, entry: &str, kind: &str, detail: Value) {
        let line = json!({
            "at": crate::time::now(),
            "run": self.run_id,
            "command": self.command,
            "dry_run": self.dry_run,
            "entry": entry,
            "event": kind,
            "detail": detail,
        });
        self.lines
            .lock()
            .expect("journal lock")
            .push(line.to_string());
    }

    /// Where the journal goes in the store (its first part).
    pub fn key(&self) -> String {
        self.part_key(1)
    }

    fn part_key(&self, part: u32) -> String {
        let (y, m, d) = civil(self.started);
        let stem = format!(
            "{PREFIX}{y:04}/{m:02}/{d:02}/{}-{}",
            self.run_id, self.command
        );
        match part {
            0 | 1 => format!("{stem}.jsonl"),
            n => format!("{stem}.part-{n:04}.jsonl"),
        }
    }

    fn body(lines: &[String]) -> Bytes {
        let mut out = String::with_capacity(lines.iter().map(|l| l.len() + 1).sum());
        for l in lines {
            out.push_str(l);
            out.push('\n');
        }
        Bytes::from(out)
    }

    /// Writes the lines recorded since the last part as the next part (executed runs only; a dry
    /// run's journal is written whole by [`Journal::finish`]). Returns where it went, if anywhere.
    pub async fn flush(&self, store: &dyn ArchiveStore) -> crate::error::Result<Option<String>> {
        if self.dry_run {
            return Ok(None);
        }
        let mut written = self.written.lock().await;
        let new: Vec<String> = self.lines.lock().expect("journal lock")[written.0..].to_vec();
        if new.is_empty() {
            return Ok(None);
        }
        let key = ObjectKey::new(self.part_key(written.1 + 1))?;
        // A lost answer to an earlier attempt would otherwise block every later part.
        match crate::store::create_or_confirm(store, &key, Self::body(&new)).await {
            Ok(true) => {
                *written = (written.0 + new.len(), written.1 + 1);
                Ok(Some(format!("{store}: {key}")))
            }
            Ok(false) => Err(crate::error::Error::Inconsistent(format!(
                "{store}: {key} already exists"
            ))),
            Err(e) => Err(e.into()),
        }
    }

    /// Writes the journal: the rest of it to the store for an executed run (its parts together
    /// are the journal), else the whole of it to a file under the system's temporary directory.
    /// Returns where it went.
    pub async fn finish(&self, store: &dyn ArchiveStore) -> crate::error::Result<String> {
        use crate::error::Context;
        if self.dry_run {
            let lines = self.lines.lock().expect("journal lock").clone();
            if lines.is_empty() {
                return Ok("(empty, not written)".into());
            }
            let path = std::env::temp_dir()
                .join("kaltura-archiver")
                .join(self.key().replace('/', "-"));
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir).context(dir.display().to_string())?;
            }
            std::fs::write(&path, Self::body(&lines)).context(path.display().to_string())?;
            return Ok(path.display().to_string());
        }
        match self.flush(store).await? {
            Some(at) => Ok(at),
            None if self.written.lock().await.1 == 0 => Ok("(empty, not written)".into()),
            None => Ok(format!("{store}: {} and its parts", self.key())),
        }
    }
}

/// Reads the journal lines in the store that mention `entry`, newest journals last, from at most
/// `max_files` of the most recent journals.
pub async fn lines_about(
    store: &dyn ArchiveStore,
    entry: &str,
    max_files: usize,
) -> Result<Vec<String>, crate::store::Error> {
    let mut keys = store.list(PREFIX).await?;
    keys.sort_by(|a, b| a.as_str().cmp(b.as_str()));
    let skip = keys.len().saturating_sub(max_files);
    let needle = format!("\"entry\":\"{entry}\"");
    let mut out = Vec::new();
    for key in keys.into_iter().skip(skip) {
        let body = crate::store::read_all(store, &key).await?;
        let text = String::from_utf8_lossy(&body).into_owned();
        out.extend(
            text.lines()
                .filter(|l| l.contains(&needle))
                .map(str::to_string),
        );
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::local::LocalStore;
    use crate::store::testing::LostAnswers;

    #[tokio::test]
    async fn a_lost_answer_to_a_journal_part_does_not_block_the_parts_after_it() {
        let dir = tempfile::tempdir().unwrap();
        let store = LostAnswers(LocalStore::new(dir.path()).unwrap());
        let j = Journal::new("archive", 1_700_000_000, false);
        j.record("0_a", "put", json!({}));
        assert!(j.flush(&store).await.unwrap().is_some());
        j.record("0_b", "put", json!({}));
        assert!(j.flush(&store).await.unwrap().is_some(), "the second part");
        j.record("0_c", "put", json!({}));
        j.finish(&store).await.unwrap();
        let parts = store.list(PREFIX).await.unwrap();
        assert_eq!(parts.len(), 3, "{parts:?}");
        let mut text = String::new();
        for p in &parts {
            text.push_str(&String::from_utf8_lossy(
                &crate::store::read_all(&store, p).await.unwrap(),
            ));
        }
        for e in ["0_a", "0_b", "0_c"] {
            assert_eq!(
                text.matches(&format!("\"entry\":\"{e}\"")).count(),
                1,
                "{text}"
            );
        }
    }

    #[test]
    fn journals_of_one_process_started_in_the_same_second_have_their_own_run_ids() {
        let (a, b) = (
            Journal::new("x", 1_700_000_000, false),
            Journal::new("x", 1_700_000_000, false),
        );
        assert_ne!(a.run_id(), b.run_id());
        assert!(
            a.run_id().starts_with("20231114T221320Z-"),
            "{}",
            a.run_id()
        );
    }
}
