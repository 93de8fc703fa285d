//! What every transition works with: the Kaltura client, the store, the placeholder, the
//! settings of the run, the journal, and the one gate every change to Kaltura or the store
//! passes ([`Ctx::change`]): the only place that knows whether the run acts or plans.

use serde_json::{json, Value};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use kaltura::{Client, EntryId, MediaEntry};

use crate::error::Result;
use crate::journal::Journal;
use crate::placeholder::Placeholders;
use crate::store::{ArchiveStore, RestoreTier, StorageClass};

/// Settings of a run.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Entries worked on at once.
    pub jobs: usize,
    /// The policy's N: entries unplayed (and created) longer ago are archived and replaced;
    /// `replace` refuses younger or recently played entries.
    pub years: f64,
    /// Storage class of new copies.
    pub storage_class: StorageClass,
    /// Storage class of sidecars (metadata, captions, thumbnail): one read without a thaw.
    pub sidecar_class: StorageClass,
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
    /// Entries never archived or replaced (unless named by id: then the front end passes none).
    pub exemptions: crate::policy::Exemptions,
    /// Owner notices before archiving and after restoring; `None` = off (and for entries named
    /// by id).
    pub notices: Option<crate::notice::Notices>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            jobs: 4,
            years: 3.0,
            storage_class: StorageClass::Glacier,
            sidecar_class: StorageClass::StandardIa,
            restore_tier: RestoreTier::Bulk,
            restore_days: 7,
            wait: Duration::from_secs(600),
            poll_every: Duration::from_secs(2),
            shard: None,
            exemptions: crate::policy::Exemptions::default(),
            notices: None,
        }
    }
}

/// Whether a run changes anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Report what would be done; change nothing (the default).
    DryRun,
    /// Act (`--execute` / `DOIT=true`).
    Execute,
}

impl Mode {
    /// `Execute` when `execute`, else `DryRun`.
    pub fn from_execute(execute: bool) -> Mode {
        if execute {
            Mode::Execute
        } else {
            Mode::DryRun
        }
    }
}

/// What the gate did with a change.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub enum Gated<T> {
    /// A dry run: the change was recorded as planned, not made.
    Planned,
    /// The change was made; its result.
    Done(T),
}

/// The shared context of a run. Built only by [`Ctx::new`], which fixes the run's [`Mode`]
/// and derives the journal's from it.
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
    /// Caption assets (with their URLs) fetched ahead for a page of entries, used once each.
    pub captions: CaptionCache,
    /// Facts of each entry's work, for the rows machines read.
    pub facts: crate::outcome::FactSheet,
    mode: Mode,
}

/// The captions of a page's entries, listed in one call and their URLs in one multirequest per
/// 100, so a sidecar asks Kaltura nothing of its own.
#[derive(Debug, Default)]
pub struct CaptionCache(
    std::sync::Mutex<std::collections::HashMap<EntryId, Vec<(kaltura::CaptionAsset, String)>>>,
);

impl CaptionCache {
    /// Remembers the captions of entries (an entry without any gets an empty list).
    pub fn put(
        &self,
        captions: impl IntoIterator<Item = (EntryId, Vec<(kaltura::CaptionAsset, String)>)>,
    ) {
        self.0.lock().expect("caption cache").extend(captions);
    }

    /// Takes an entry's captions with their URLs, if they were fetched.
    pub fn take(&self, id: &EntryId) -> Option<Vec<(kaltura::CaptionAsset, String)>> {
        self.0.lock().expect("caption cache").remove(id)
    }
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
    /// The context of a run started now, with a journal named `command`.
    pub fn new(
        client: Client,
        store: Arc<dyn ArchiveStore>,
        placeholders: Placeholders,
        settings: Settings,
        mode: Mode,
        command: &str,
    ) -> Ctx {
        let now = crate::time::now();
        let journal = Journal::new(command, now, mode == Mode::DryRun);
        Ctx::with_journal(client, store, placeholders, settings, mode, journal)
    }

    /// The same run narrowed to one shard: same connection, store, placeholders, mode, run id
    /// and start time; a journal of its own.
    pub fn narrowed(&self, shard: crate::shard::Shard) -> Ctx {
        let settings = Settings {
            shard: Some(shard),
            ..self.settings.clone()
        };
        Ctx::with_journal(
            self.client.clone(),
            self.store.clone(),
            self.placeholders.clone(),
            settings,
            self.mode,
            self.journal.sibling(),
        )
    }

    fn with_journal(
        client: Client,
        store: Arc<dyn ArchiveStore>,
        placeholders: Placeholders,
        settings: Settings,
        mode: Mode,
        journal: Journal,
    ) -> Ctx {
        Ctx {
            client,
            store,
            placeholders,
            settings,
            now: journal.started(),
            journal,
            urls: UrlCache::default(),
            captions: CaptionCache::default(),
            facts: Default::default(),
            mode,
        }
    }

    /// The same context judging the policy at `now` (Unix seconds): the clock of the Kaltura
    /// whose dates it compares, rather than this machine's.
    pub fn judged_at(mut self, now: i64) -> Ctx {
        self.now = now;
        self
    }

    /// Whether the run acts or plans: for reports, and for skipping reads that only a change
    /// needs. Every change itself goes through [`Ctx::change`].
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// The one gate for every change to Kaltura or the store. In a dry run it records the
    /// planned action and returns [`Gated::Planned`] without running `act`; otherwise it runs
    /// `act`, records the result and returns it.
    pub async fn change<T, F>(
        &self,
        entry: &EntryId,
        action: &str,
        detail: Value,
        act: F,
    ) -> Result<Gated<T>>
    where
        F: Future<Output = Result<T>>,
    {
        if self.mode == Mode::DryRun {
            self.journal
                .record(&entry.0, action, json!({"planned": detail}));
            return Ok(Gated::Planned);
        }
        let r = act.await;
        let result = match &r {
            Ok(_) => json!({"ok": detail}),
            Err(e) => json!({"error": e.to_string(), "request": detail}),
        };
        self.journal.record(&entry.0, action, result);
        r.map(Gated::Done)
    }

    /// A failed outcome for `entry`, its error's kind noted among its facts.
    pub fn failed(&self, entry: &EntryId, e: &crate::error::Error) -> crate::outcome::Outcome {
        let kind = e.kind().name();
        self.facts.note(entry, |f| f.error_kind = Some(kind));
        crate::outcome::Outcome::Failed(e.to_string())
    }

    /// Sets or clears one tag, keeping the others (read from `entry`).
    pub async fn set_tag(&self, entry: &MediaEntry, tag: &str, on: bool) -> Result<Gated<()>> {
        let mut tags: Vec<String> = entry.tag_list().into_iter().filter(|t| t != tag).collect();
        if on {
            tags.push(tag.to_string());
        }
        let action = if on { "tag" } else { "untag" };
        self.change(&entry.id, action, json!({"tag": tag}), async {
            self.client.set_tags(&entry.id, &tags).await?;
            Ok(())
        })
        .await
    }

    /// Why the policy does not allow replacing an entry yet (too young or played recently);
    /// `None` when it does.
    pub fn too_recent(&self, entry: &MediaEntry) -> Option<String> {
        crate::policy::too_recent(entry, self.now, self.settings.years)
    }
}
