//! What every transition works with: the Kaltura client, the store, the placeholder, the
//! settings of the run, the journal, and the one dry-run gate every change passes.

use serde_json::{json, Value};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use kaltura::{Client, EntryId, MediaEntry};

use crate::journal::Journal;
use crate::placeholder::Placeholders;
use crate::store::{ArchiveStore, RestoreTier, StorageClass};

/// Settings of a run.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Act (`--execute` / `DOIT=true`); otherwise only report what would be done.
    pub execute: bool,
    /// Entries worked on at once.
    pub jobs: usize,
    /// The policy's N: entries unplayed (and created) longer ago are archived and replaced;
    /// `replace` refuses younger or recently played entries.
    pub years: f64,
    /// Storage class of new copies.
    pub storage_class: StorageClass,
    /// Tier of Glacier restores.
    pub restore_tier: RestoreTier,
    /// Days a restored copy stays readable.
    pub restore_days: u32,
    /// How long a run waits for Kaltura to finish replacements it started before it leaves
    /// them to the next run.
    pub wait: Duration,
    /// How often pending replacements are polled (all of them in one batch).
    pub poll_every: Duration,
    /// Only the entries of this shard.
    pub shard: Option<crate::shard::Shard>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            execute: false,
            jobs: 4,
            years: 3.0,
            storage_class: StorageClass::Glacier,
            restore_tier: RestoreTier::Bulk,
            restore_days: 7,
            wait: Duration::from_secs(600),
            poll_every: Duration::from_secs(2),
            shard: None,
        }
    }
}

/// The shared context of a run.
#[derive(Debug)]
pub struct Ctx {
    /// Kaltura.
    pub client: Client,
    /// The archive store.
    pub store: Arc<dyn ArchiveStore>,
    /// The placeholder and how to recognise it.
    pub placeholders: Placeholders,
    /// Settings.
    pub settings: Settings,
    /// The run's journal.
    pub journal: Journal,
    /// The time the run started (Unix seconds), for policy decisions.
    pub now: i64,
    /// Download URLs fetched ahead for a page of entries, used once each.
    pub urls: UrlCache,
}

/// Download URLs fetched in one batch per page, so archiving an entry needs no `getUrl` call.
#[derive(Debug, Default)]
pub struct UrlCache(std::sync::Mutex<std::collections::HashMap<kaltura::FlavorId, String>>);

impl UrlCache {
    /// Remembers URLs.
    pub fn put(&self, urls: Vec<(kaltura::FlavorId, String)>) {
        self.0.lock().expect("url cache").extend(urls);
    }

    /// Takes the URL of a flavor, if one was fetched.
    pub fn take(&self, id: &kaltura::FlavorId) -> Option<String> {
        self.0.lock().expect("url cache").remove(id)
    }
}

impl Ctx {
    /// The one gate for every change to Kaltura or the store. In a dry run it records the
    /// planned action and returns `None`; otherwise it runs `act`, records the result and
    /// returns it.
    pub async fn gate<T, F>(
        &self,
        entry: &EntryId,
        action: &str,
        detail: Value,
        act: F,
    ) -> Result<Option<T>, String>
    where
        F: Future<Output = Result<T, String>>,
    {
        if !self.settings.execute {
            self.journal
                .record(&entry.0, action, json!({"planned": detail}));
            return Ok(None);
        }
        let r = act.await;
        let result = match &r {
            Ok(_) => json!({"ok": detail}),
            Err(e) => json!({"error": e, "request": detail}),
        };
        self.journal.record(&entry.0, action, result);
        r.map(Some)
    }

    /// Sets or clears one tag, keeping the others (read from `entry`).
    pub async fn set_tag(&self, entry: &MediaEntry, tag: &str, on: bool) -> Result<(), String> {
        let mut tags: Vec<String> = entry.tag_list().into_iter().filter(|t| t != tag).collect();
        if on {
            tags.push(tag.to_string());
        }
        let action = if on { "tag" } else { "untag" };
        self.gate(&entry.id, action, json!({"tag": tag}), async {
            self.client
                .set_tags(&entry.id, &tags)
                .await
                .map(|_| ())
                .map_err(|e| e.to_string())
        })
        .await
        .map(|_| ())
    }

    /// Whether an entry is old and unplayed enough for the policy to replace it.
    pub fn replace_allowed(&self, entry: &MediaEntry) -> Result<(), String> {
        let cutoff = crate::time::years_ago(self.now, self.settings.years);
        let years = self.settings.years;
        if entry.created_at > cutoff {
            return Err(format!(
                "created {}, within the last {years} years",
                crate::time::date(entry.created_at)
            ));
        }
        match entry.last_played_at {
            Some(t) if t > cutoff => Err(format!(
                "played {}, within the last {years} years",
                crate::time::date(t)
            )),
            _ => Ok(()),
        }
    }
}
