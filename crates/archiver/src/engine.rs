//! The engine: runs one command over the selected entries with bounded concurrency, one outcome
//! per entry; replacements that Kaltura converts are polled together in batches (one
//! `media.list` and one `flavorAsset.list` per 500 pending entries) instead of one entry at a time.

use futures_util::StreamExt;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use kaltura::{EntryId, FlavorAsset, MediaEntry};

use crate::context::{Ctx, Mode};
use crate::diagnose::{diagnose, state_name, Anomaly, Diagnosis, State};
use crate::outcome::{Outcome, Pending, PendingKind, Step, Summary};
use crate::policy::NoticeState;
use crate::selection::{SelectionError, Walker};
use crate::{archive, notice, replace, restore};

/// The commands the engine runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    /// initial → archived.
    Archive,
    /// archived → replaced.
    Replace,
    /// replaced → thawing → archived.
    Restore,
    /// Report the state and anomalies; changes nothing.
    Health,
    /// Anomaly → nearest safe state.
    Repair,
}

impl Command {
    /// The command's name.
    pub fn name(self) -> &'static str {
        match self {
            Command::Archive => "archive",
            Command::Replace => "replace",
            Command::Restore => "restore",
            Command::Health => "health",
            Command::Repair => "repair",
        }
    }
}

/// One entry's result, as reported.
#[derive(Debug, Clone)]
pub struct Report {
    /// The command that produced it.
    pub command: Command,
    /// The entry.
    pub entry: EntryId,
    /// Its state before the command.
    pub state: String,
    /// What happened.
    pub outcome: Outcome,
    /// Its facts, for machines.
    pub facts: crate::outcome::Facts,
    /// Seconds from the start of its work to its outcome (conversions waited for included).
    pub seconds: f64,
}

/// Runs `command` over every entry `walker` yields; `report` sees each result as it comes.
pub async fn run(
    ctx: Arc<Ctx>,
    mut walker: Walker,
    command: Command,
    report: impl FnMut(&Report),
) -> Result<Summary, SelectionError> {
    let (tx, rx) = tokio::sync::mpsc::channel::<(MediaEntry, Option<FlavorAsset>)>(1000);
    // Pages are fetched while earlier entries are worked on.
    let shard = ctx.settings.shard;
    let prefetch =
        (command == Command::Archive && ctx.mode() == Mode::Execute).then(|| ctx.clone());
    let producer = tokio::spawn(async move {
        while let Some(page) = walker.next_page().await? {
            let mine: Vec<&MediaEntry> = page
                .entries
                .iter()
                .filter(|e| shard.is_none_or(|s| s.contains(&e.id.0)))
                .collect();
            if let Some(ctx) = &prefetch {
                prefetch_urls(ctx, &page, &mine).await;
            }
            for e in mine {
                let original = page.original(&e.id).cloned();
                if tx.send((e.clone(), original)).await.is_err() {
                    return Ok(());
                }
            }
        }
        Ok::<(), SelectionError>(())
    });
    let entries = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    });
    let jobs = ctx.settings.jobs.max(1);
    // When each entry's work began, for its row's seconds.
    let starts: Arc<std::sync::Mutex<HashMap<EntryId, Instant>>> = Arc::default();
    let results = entries
        .map(|(entry, original)| {
            let ctx = ctx.clone();
            let starts = starts.clone();
            async move {
                starts
                    .lock()
                    .expect("starts")
                    .insert(entry.id.clone(), Instant::now());
                let (state, step) = one(&ctx, command, &entry, original.as_ref()).await;
                // What was fetched ahead for an entry whose step did not use it (skipped,
                // exempt, waiting for its notice) goes now, not at the end of the run.
                ctx.captions.take(&entry.id);
                if let Some(o) = &original {
                    ctx.urls.take(&o.id);
                }
                (entry, state, step)
            }
        })
        .buffer_unordered(jobs);
    let mut results = std::pin::pin!(results);
    let mut out = Emit {
        ctx: &ctx,
        command,
        starts: &starts,
        summary: Summary::default(),
        report,
    };
    let mut pending = Vec::new();
    // Owners told after the walk, one notice each: who must hear before archiving, and whose
    // restore completed (with notices on).
    let mut to_tell = Vec::new();
    let tell_restored = command == Command::Restore && ctx.settings.notices.is_some();
    let mut converting: HashMap<EntryId, MediaEntry> = HashMap::new();
    let mut restored = Vec::new();
    while let Some((entry, state, step)) = results.next().await {
        match step {
            Step::Finished(o @ Outcome::Done(_)) if tell_restored => {
                restored.push((entry, state, o))
            }
            Step::Finished(outcome) => out.emit(entry.id, state, outcome),
            Step::Pending(p) => {
                if tell_restored {
                    converting.insert(entry.id.clone(), entry);
                }
                pending.push((p, state))
            }
            Step::Notice => to_tell.push((entry, state)),
        }
    }
    match producer.await {
        Ok(r) => r?,
        Err(e) => tracing::error!(error = %e, "the entry walk stopped"),
    }
    if !to_tell.is_empty() {
        for (entry, state, outcome) in notice::tell_owners(&ctx, to_tell).await {
            out.emit(entry, state, outcome);
        }
    }
    for (p, state, outcome) in settle(&ctx, pending).await {
        match converting.remove(&p.entry) {
            Some(e) if matches!(outcome, Outcome::Done(_)) => restored.push((e, state, outcome)),
            _ => out.emit(p.entry, state, outcome),
        }
    }
    if !restored.is_empty() {
        for (entry, state, outcome) in notice::tell_restored(&ctx, restored).await {
            out.emit(entry, state, outcome);
        }
    }
    Ok(out.summary)
}

/// Fetches the download URLs of the page's originals that are not archived yet, in one
/// multirequest per 100, so that archiving each needs no `getUrl` call of its own.
async fn prefetch_urls(ctx: &Ctx, page: &crate::selection::Page, entries: &[&MediaEntry]) {
    let ids: Vec<kaltura::FlavorId> = entries
        .iter()
        .filter(|e| !e.has_tag(crate::tags::ARCHIVED) && !e.has_tag(crate::tags::REPLACED))
        .filter_map(|e| page.original(&e.id))
        .filter(|o| {
            o.is_ready()
                && !o
                    .exact_bytes()
                    .is_some_and(|n| ctx.placeholders.size_matches(n))
        })
        .map(|o| o.id.clone())
        .collect();
    if ids.is_empty() {
        return;
    }
    match ctx.client.flavor_urls(&ids).await {
        Ok(urls) => ctx.urls.put(urls),
        Err(e) => {
            tracing::info!(error = %e, "could not fetch download URLs ahead; each download asks")
        }
    }
    let archiving: Vec<EntryId> = entries
        .iter()
        .filter(|e| !e.has_tag(crate::tags::ARCHIVED) && !e.has_tag(crate::tags::REPLACED))
        .map(|e| e.id.clone())
        .collect();
    match crate::sidecar::captions_with_urls(&ctx.client, &archiving).await {
        Ok(captions) => ctx.captions.put(captions),
        Err(e) => tracing::info!(error = %e, "could not list captions ahead; each sidecar asks"),
    }
}

/// Where finished entries go: the journal, the summary and the caller's report.
struct Emit<'a, R: FnMut(&Report)> {
    ctx: &'a Ctx,
    command: Command,
    starts: &'a std::sync::Mutex<HashMap<EntryId, Instant>>,
    summary: Summary,
    report: R,
}

impl<R: FnMut(&Report)> Emit<'_, R> {
    fn emit(&mut self, entry: EntryId, state: String, outcome: Outcome) {
        self.ctx.journal.record(
            &entry.0,
            "outcome",
            serde_json::json!({"command": self.command.name(), "state": state,
                               "outcome": outcome.name(), "detail": outcome.detail()}),
        );
        self.summary.add(&outcome);
        let seconds = self
            .starts
            .lock()
            .expect("starts")
            .remove(&entry)
            .map_or(0.0, |t| t.elapsed().as_secs_f64());
        let facts = self.ctx.facts.take(&entry);
        (self.report)(&Report {
            command: self.command,
            entry,
            state,
            outcome,
            facts,
            seconds,
        });
    }
}

/// Diagnoses one entry and runs the command on it; returns its state before and the step.
async fn one(
    ctx: &Ctx,
    command: Command,
    entry: &MediaEntry,
    original: Option<&FlavorAsset>,
) -> (String, Step) {
    // Commands that judge copies prove them (a local copy is read again): health, repair, and
    // archive, whose "done before" must not rest on a copy that rotted (under the policy few
    // archived entries wait unreplaced). Replace proves right before its destructive step;
    // restore reads the copy against its record as it uploads.
    let depth = match command {
        Command::Archive | Command::Health | Command::Repair => crate::proof::Depth::Prove,
        Command::Replace | Command::Restore => crate::proof::Depth::Quick,
    };
    let d = match diagnose(ctx, entry, original, depth).await {
        Ok(d) => d,
        Err(e) => {
            let step = Outcome::Failed(format!("could not read its state: {e}")).into();
            return ("unknown".into(), step);
        }
    };
    let state = state_name(&d.state);
    if let Some(why) = exempt(ctx, command, &d) {
        return (state, Outcome::Skipped(why).into());
    }
    if let Some(step) = notice_first(ctx, command, &d) {
        return (state, step);
    }
    let step = match command {
        Command::Archive => archive::archive(ctx, &d).await.into(),
        Command::Replace => replace::replace(ctx, &d).await,
        Command::Restore => restore::restore(ctx, &d).await,
        Command::Health => health(&d).into(),
        Command::Repair => repair(ctx, &d).await,
    };
    (state, step)
}

/// With notices on, an entry that archive or replace would act on waits for its owner to be
/// told and for the notice period to pass; archive tells them (the engine sends the notices).
fn notice_first(ctx: &Ctx, command: Command, d: &Diagnosis) -> Option<Step> {
    let n = ctx.settings.notices.as_ref()?;
    let acts = match command {
        Command::Archive => matches!(d.state, State::Initial | State::Archived),
        Command::Replace => matches!(d.state, State::Archived),
        Command::Restore | Command::Health | Command::Repair => false,
    };
    if !acts {
        return None;
    }
    match crate::policy::notice_state(&d.entry, ctx.now, n.days) {
        NoticeState::Due { .. } => None,
        waiting @ NoticeState::Waiting { .. } => Some(Outcome::Waiting(waiting.describe()).into()),
        _ if command == Command::Archive => Some(Step::Notice),
        untold => Some(
            Outcome::Skipped(format!(
                "{}: `archive` tells the owner first",
                untold.describe()
            ))
            .into(),
        ),
    }
}

/// Why an exempt entry is left alone by `command`, when it is: archive and replace never touch
/// it, and repair does not archive it (repairs that bring a recording back still run).
fn exempt(ctx: &Ctx, command: Command, d: &Diagnosis) -> Option<String> {
    let touches = match command {
        Command::Archive | Command::Replace => true,
        Command::Repair => matches!(
            d.state,
            State::Anomaly(
                Anomaly::CopyWithoutTag
                    | Anomaly::TagWithoutCopy
                    | Anomaly::CopyNotCurrent
                    | Anomaly::LegacyCopyOnly
                    | Anomaly::CopyFailsProof
            )
        ),
        Command::Restore | Command::Health => false,
    };
    let why = ctx
        .settings
        .exemptions
        .holds(&d.entry)
        .filter(|_| touches)?;
    Some(format!(
        "exempt ({why}): never archived or replaced unless named by --id"
    ))
}

/// Health: the state, or the anomaly with what repair would do.
pub fn health(d: &Diagnosis) -> Outcome {
    match &d.state {
        State::Anomaly(a) => {
            let problems = d.copies.problems();
            let seen = if problems.is_empty() {
                String::new()
            } else {
                format!(": {}", problems.join("; "))
            };
            Outcome::Anomaly(format!("{}{seen} (repair: {})", a.describe(), a.repair()))
        }
        _ if d.legacy() => Outcome::Anomaly(
            "the only copy is a legacy one (no metadata or checksum); it restores, but is unverified"
                .into(),
        ),
        State::NotApplicable(why) => Outcome::Healthy(why.clone()),
        s => Outcome::Healthy(state_name(s)),
    }
}

/// Repair: moves an anomaly to the nearest safe state by reusing the transitions.
async fn repair(ctx: &Ctx, d: &Diagnosis) -> Step {
    let State::Anomaly(a) = &d.state else {
        return backfill_sidecar(ctx, d)
            .await
            .unwrap_or_else(|| Outcome::DoneBefore(format!("healthy ({})", state_name(&d.state))))
            .into();
    };
    match a {
        Anomaly::CopyWithoutTag
        | Anomaly::TagWithoutCopy
        | Anomaly::CopyNotCurrent
        | Anomaly::LegacyCopyOnly
        | Anomaly::CopyFailsProof => archive::archive(ctx, d).await.into(),
        Anomaly::PlaceholderWithoutTag => {
            replace::finish_tags(ctx, &d.entry, "added the missing tags")
                .await
                .into()
        }
        Anomaly::ReplacedTagOnRealVideo | Anomaly::NoOriginal => restore::restore(ctx, d).await,
        Anomaly::NoVerifiedCopy | Anomaly::AtRisk => {
            Outcome::Failed(format!("{}: {}", a.describe(), a.repair())).into()
        }
    }
}

/// Writes the sidecar of the copy a healthy entry would restore from, when it has none (copies
/// made before sidecars, the reference tool's copies), while Kaltura still has the entry.
async fn backfill_sidecar(ctx: &Ctx, d: &Diagnosis) -> Option<Outcome> {
    let copy = d.copies.restore_source()?;
    let key = copy.key.as_str();
    match crate::sidecar::exists(ctx.store.as_ref(), key).await {
        Ok(true) => return None,
        Ok(false) => {}
        Err(e) => {
            return Some(Outcome::Failed(format!(
                "could not look for the sidecar of {key}: {e}"
            )))
        }
    }
    let subject = crate::sidecar::Subject {
        copy_key: key,
        record: copy.record.as_ref(),
        stored: copy.info.as_ref().map(|i| (i.size, i.storage_class)),
    };
    let written = ctx
        .change(
            &d.entry.id,
            "sidecar",
            serde_json::json!({"copy": key}),
            async { crate::sidecar::write(ctx, &d.entry, &subject).await },
        )
        .await;
    Some(match written {
        Ok(crate::context::Gated::Done(r)) => Outcome::Done(format!(
            "wrote the sidecar of {key} ({} files: metadata, captions, thumbnail)",
            r.files.len()
        )),
        Ok(crate::context::Gated::Planned) => Outcome::Planned(format!(
            "write the sidecar of {key} (metadata, captions, thumbnail)"
        )),
        Err(e) => Outcome::Failed(format!("the sidecar of {key} could not be written: {e}")),
    })
}

/// Polls pending replacements in batches until each finished or the wait is over.
async fn settle(ctx: &Ctx, pending: Vec<(Pending, String)>) -> Vec<(Pending, String, Outcome)> {
    let mut open: Vec<(Pending, String)> = pending;
    let mut done = Vec::new();
    let started = Instant::now();
    while !open.is_empty() {
        let ids: Vec<EntryId> = open.iter().map(|(p, _)| p.entry.clone()).collect();
        let polled = poll(ctx, &ids).await;
        // Entries that finished are settled concurrently (tags, checks of the new original):
        // one at a time, 200 of them took longer than their conversion.
        let polled = &polled;
        let checked: Vec<_> = futures_util::stream::iter(open)
            .map(|(p, state)| async move {
                let outcome = match polled {
                    // Kaltura did not answer even after the client's retries: try again at the
                    // next poll; the wait limit still applies (the entries then end as waiting).
                    Err(_) => None,
                    Ok((entries, originals)) => match entries.get(&p.entry) {
                        None => Some(Outcome::Failed("the entry disappeared".into())),
                        Some(e) => settle_one(ctx, &p, e, originals.get(&p.entry)).await,
                    },
                };
                (p, state, outcome)
            })
            .buffer_unordered(ctx.settings.jobs.max(1))
            .collect()
            .await;
        if let Err(e) = polled {
            tracing::warn!(error = %e, "polling pending replacements failed; polling again");
        }
        let mut still = Vec::new();
        for (p, state, outcome) in checked {
            match outcome {
                Some(o) => done.push((p, state, o)),
                None => still.push((p, state)),
            }
        }
        open = still;
        if open.is_empty() {
            break;
        }
        if started.elapsed() >= ctx.settings.wait {
            for (p, state) in open {
                let o = Outcome::Waiting(format!(
                    "Kaltura is still converting after {} s; the next run finishes it",
                    started.elapsed().as_secs()
                ));
                done.push((p, state, o));
            }
            break;
        }
        tokio::time::sleep(ctx.settings.poll_every).await;
    }
    done
}

type Polled = (HashMap<EntryId, MediaEntry>, HashMap<EntryId, FlavorAsset>);

async fn poll(ctx: &Ctx, ids: &[EntryId]) -> Result<Polled, kaltura::Error> {
    let entries = ctx.client.entries_by_id(ids).await?;
    let flavors = ctx.client.flavors_of(ids, true).await?;
    let entries = entries.into_iter().map(|e| (e.id.clone(), e)).collect();
    let originals = flavors
        .into_iter()
        .filter(|f| f.is_original)
        .map(|f| (f.entry_id.clone(), f))
        .collect();
    Ok((entries, originals))
}

/// Hands a polled pending entry back to the transition that started it; `None` = still
/// converting.
async fn settle_one(
    ctx: &Ctx,
    p: &Pending,
    e: &MediaEntry,
    original: Option<&FlavorAsset>,
) -> Option<Outcome> {
    match &p.kind {
        PendingKind::Placeholder => replace::settle(ctx, e, original).await,
        PendingKind::Restore { copy } => restore::settle(ctx, e, original, copy).await,
    }
}
