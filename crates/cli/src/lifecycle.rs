//! The changing commands (archive, replace, restore, repair) and health, which run through the
//! engine; `explain` and `download`, which look at one entry.

use serde_json::json;
use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use archiver::context::{Ctx, Settings};
use archiver::diagnose::{diagnose, state_name, Diagnosis, State};
use archiver::engine::{self, Command, Report};
use archiver::journal::{self, Journal};
use archiver::outcome::Summary;
use archiver::placeholder::{Placeholder, Placeholders};
use archiver::proof::{Depth, Verdict};
use archiver::selection::{Flavors, Walker};
use archiver::shard::Shard;
use archiver::store::local::LocalStore;
use archiver::store::s3::{Encryption, S3StoreBuilder};
use archiver::store::{ArchiveStore, RestoreTier, StorageClass};
use archiver::tags::{ARCHIVED, REPLACED};
use archiver::time::{date, now};
use kaltura::EntryId;

use crate::args::{
    ChangeArgs, DownloadArgs, ExplainArgs, Format, KalturaArgs, RunArgs, SelectArgs, StoreArgs,
};
use crate::commands::{connect, selection, Kaltura};
use crate::exit;
use crate::failure::Failure;
use crate::output::RowWriter;

/// Opens the configured archive store.
pub async fn open_store(a: &StoreArgs) -> Result<Arc<dyn ArchiveStore>, Failure> {
    if let Some(dir) = &a.archive_dir {
        let store = LocalStore::new(dir.clone())?;
        // Temporary files of killed runs would otherwise stay for ever.
        let swept = store.sweep_stale_temp_files().await?;
        if swept > 0 {
            tracing::info!(swept, "removed temporary files left by killed runs");
        }
        return Ok(Arc::new(store));
    }
    let Some(bucket) = a.bucket.as_deref().filter(|b| !b.is_empty()) else {
        return Err(Failure::Usage(
            "no archive configured: set AWS_BUCKET (S3) or ARCHIVE_DIR (a local directory), or give --bucket / --archive-dir".into(),
        ));
    };
    let encryption = match a.sse.as_deref().map(str::trim) {
        None | Some("") => Encryption::BucketDefault,
        Some(s) if s.eq_ignore_ascii_case("AES256") => Encryption::Aes256,
        Some(key) => Encryption::Kms(key.to_string()),
    };
    let store = S3StoreBuilder::from_env()
        .with_bucket(bucket)
        .with_prefix(a.prefix.clone())
        .with_encryption(encryption)
        .build()
        .await?;
    store.check_bucket().await?;
    Ok(Arc::new(store))
}

/// The placeholder to write, recognising every placeholder recorded in the store.
pub(crate) async fn placeholders(
    p: Option<&std::path::Path>,
    store: &dyn ArchiveStore,
) -> Result<Placeholders, Failure> {
    let bytes = Placeholder::from_setting(p)
        .bytes()
        .map_err(Failure::Usage)?;
    let mut placeholders = Placeholders::new(bytes);
    placeholders
        .load_recorded(store)
        .await
        .map_err(Failure::Store)?;
    Ok(placeholders)
}

/// The selection a command uses when no filter is given: the scheduled policy for N years.
pub(crate) fn policy_selection(command: Command, years: f64) -> SelectArgs {
    let mut s = SelectArgs::default();
    match command {
        Command::Archive => {
            s.media_types = vec!["video".into(), "audio".into()];
            s.tags = vec![format!("!{REPLACED}")];
            s.unplayed_for = Some(years);
            s.created_before = Some(years);
        }
        Command::Replace => {
            // NO_CONTENT too: an entry whose flavors were deleted but the placeholder not yet added.
            s.statuses = vec!["ready".into(), "no_content".into()];
            s.media_types = vec!["video".into(), "audio".into()];
            s.tags = vec![ARCHIVED.to_string(), format!("!{REPLACED}")];
            s.unplayed_for = Some(years);
            s.created_before = Some(years);
        }
        Command::Restore => {
            s.statuses = vec!["ready".into(), "no_content".into()];
            s.tags = vec![REPLACED.to_string()];
            s.played_within = Some(years);
        }
        Command::Health | Command::Repair => {
            s.statuses = vec!["ready".into(), "no_content".into()];
        }
    }
    s
}

fn settings(r: &RunArgs) -> Result<Settings, Failure> {
    if !(r.years > 0.0 && r.years <= archiver::selection::MAX_YEARS) {
        return Err(Failure::Usage(format!(
            "--years (N_YEARS) must be above 0 and at most {}, got {}",
            archiver::selection::MAX_YEARS,
            r.years
        )));
    }
    if !(r.wait_minutes >= 0.0 && r.wait_minutes <= 24.0 * 60.0) {
        return Err(Failure::Usage(format!(
            "--wait-minutes (WAIT_MINUTES) must be between 0 and 1440, got {}",
            r.wait_minutes
        )));
    }
    Ok(Settings {
        execute: r.execute,
        jobs: usize::from(r.jobs),
        years: r.years,
        storage_class: StorageClass::parse(&r.storage_class)?,
        restore_tier: RestoreTier::parse(&r.restore_tier)?,
        restore_days: r.restore_days,
        wait: Duration::from_secs_f64(r.wait_minutes * 60.0),
        ..Settings::default()
    })
}

/// A run, opened: Kaltura logged in, the store checked, the context built.
pub(crate) struct Opened {
    pub(crate) kaltura: Kaltura,
    pub(crate) store: Arc<dyn ArchiveStore>,
    pub(crate) ctx: Arc<Ctx>,
}

/// Opens a run from the command line's settings; the journal is named `journal_name`.
pub(crate) async fn open(
    k: &KalturaArgs,
    store: &StoreArgs,
    run: &RunArgs,
    journal_name: &str,
    shard: Option<Shard>,
) -> Result<Opened, Failure> {
    let mut settings = settings(run)?;
    settings.shard = shard;
    // The placeholder file is checked before any network call.
    Placeholder::from_setting(run.placeholder.as_deref())
        .bytes()
        .map_err(Failure::Usage)?;
    let kaltura = connect(k)?;
    kaltura.client.login().await.map_err(|e| kaltura.fail(&e))?;
    let store = open_store(store).await?;
    let placeholders = placeholders(run.placeholder.as_deref(), store.as_ref()).await?;
    Ok(opened(kaltura, store, placeholders, settings, journal_name))
}

/// Builds the context of a run over an open connection and store.
pub(crate) fn opened(
    kaltura: Kaltura,
    store: Arc<dyn ArchiveStore>,
    placeholders: Placeholders,
    settings: Settings,
    journal_name: &str,
) -> Opened {
    let started = now();
    let journal = Journal::new(journal_name, started, !settings.execute);
    opened_with(kaltura, store, placeholders, settings, journal)
}

/// The same run narrowed to one shard (claimed after the run was opened): same connection,
/// store, placeholders, run id and start time.
pub(crate) fn narrowed(o: &Opened, shard: Shard) -> Opened {
    let mut settings = o.ctx.settings.clone();
    settings.shard = Some(shard);
    let journal = o.ctx.journal.sibling();
    opened_with(
        o.kaltura.clone(),
        o.store.clone(),
        o.ctx.placeholders.clone(),
        settings,
        journal,
    )
}

fn opened_with(
    kaltura: Kaltura,
    store: Arc<dyn ArchiveStore>,
    placeholders: Placeholders,
    settings: Settings,
    journal: Journal,
) -> Opened {
    let started = journal.started();
    let ctx = Arc::new(Ctx {
        client: kaltura.client.clone(),
        store: store.clone(),
        placeholders,
        journal,
        settings,
        now: started,
        urls: Default::default(),
    });
    // An executed run's journal goes to the store in parts while it runs, so a killed run
    // leaves all but its last part.
    if ctx.settings.execute {
        let (ctx, store) = (ctx.clone(), store.clone());
        let every = std::env::var("JOURNAL_FLUSH_SECONDS")
            .ok()
            .and_then(|v| v.parse::<f64>().ok())
            .filter(|v| *v > 0.0)
            .unwrap_or(30.0);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs_f64(every));
            tick.tick().await;
            loop {
                tick.tick().await;
                if let Err(e) = ctx.journal.flush(store.as_ref()).await {
                    tracing::warn!(error = %e, "a journal part could not be written; it goes with the next");
                }
            }
        });
    }
    Opened {
        kaltura,
        store,
        ctx,
    }
}

/// The selection a command uses: the filters given, or the policy's when none are.
pub(crate) fn selection_for(command: Command, given: &SelectArgs, years: f64) -> SelectArgs {
    if *given == SelectArgs::default() {
        policy_selection(command, years)
    } else {
        given.clone()
    }
}

/// Runs one command of the engine over a selection; `each` sees every entry's report.
pub(crate) async fn execute(
    o: &Opened,
    command: Command,
    select: &SelectArgs,
    each: impl FnMut(&Report),
) -> Result<Summary, Failure> {
    let s = selection(select)?;
    let k = &o.kaltura;
    let walker = Walker::new(k.client.clone(), &s, Flavors::Originals, o.ctx.now)
        .map_err(|e| Failure::selection(e, &k.url, k.partner))?;
    engine::run(o.ctx.clone(), walker, command, each)
        .await
        .map_err(|e| Failure::selection(e, &k.url, k.partner))
}

/// Resolves when the process is asked to stop (SIGTERM, as ECS sends before it kills a task, or
/// Ctrl-C).
async fn stop_requested() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = term.recv() => return,
                _ = tokio::signal::ctrl_c() => return,
            }
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

/// Runs [`execute`] until it ends or the process is asked to stop; `None` when stopped (the
/// journal records it). Work in flight is abandoned at whatever step it reached: every step is
/// safe to interrupt, and the next run finishes it.
pub(crate) async fn execute_until_stopped(
    o: &Opened,
    command: Command,
    select: &SelectArgs,
    each: impl FnMut(&Report),
) -> Result<Option<Summary>, Failure> {
    tokio::select! {
        r = execute(o, command, select, each) => r.map(Some),
        _ = stop_requested() => {
            o.ctx.journal.record("-", "interrupted", json!({"command": command.name()}));
            eprintln!("{}: stopped by a signal; entries in flight are finished by the next run", command.name());
            Ok(None)
        }
    }
}

/// Writes the journal and says where it went (stderr).
pub(crate) async fn finish_journal(o: &Opened) {
    match o.ctx.journal.finish(o.store.as_ref()).await {
        Ok(at) => eprintln!("journal: {at}"),
        Err(e) => eprintln!("journal could not be written: {e}"),
    }
}

/// The per-entry report on stdout.
pub(crate) fn report_writer(
    format: Format,
) -> Result<RowWriter<std::io::BufWriter<std::io::StdoutLock<'static>>>, Failure> {
    let out = std::io::BufWriter::new(std::io::stdout().lock());
    Ok(RowWriter::new(
        out,
        format,
        &["entry_id", "state", "outcome", "detail"],
    )?)
}

/// One report as a row.
pub(crate) fn report_row(r: &Report) -> [(&'static str, serde_json::Value); 4] {
    [
        ("entry_id", json!(r.entry.0)),
        ("state", json!(r.state)),
        ("outcome", json!(r.outcome.name())),
        ("detail", json!(r.outcome.detail())),
    ]
}

/// Runs a command through the engine: per-entry rows on stdout, the summary on stderr.
pub async fn run(k: &KalturaArgs, command: Command, a: &ChangeArgs) -> Result<i32, Failure> {
    let o = open(k, &a.store, &a.run, command.name(), None).await?;
    let select = selection_for(command, &a.select, o.ctx.settings.years);
    let mut writer = report_writer(a.run.format)?;
    let mut write_error = None;
    let summary = execute_until_stopped(&o, command, &select, |r| {
        if let Err(e) = writer.row(&report_row(r)) {
            write_error.get_or_insert(e);
        }
    })
    .await?;
    writer.finish()?;
    let Some(summary) = summary else {
        finish_journal(&o).await;
        return Ok(exit::INTERRUPTED);
    };
    if let Some(e) = write_error {
        return Err(e.into());
    }
    let dry = !o.ctx.settings.execute;
    let mode = if dry { "dry run" } else { "executed" };
    eprintln!("{} ({mode}): {summary}", command.name());
    finish_journal(&o).await;
    if dry && command != Command::Health {
        eprintln!("nothing was changed; add --execute (or DOIT=true) to act");
    }
    Ok(if summary.failures() > 0 {
        exit::ENTRY_FAILURES
    } else {
        exit::SUCCESS
    })
}

/// Looks up one entry with its original flavor and diagnoses it.
async fn diagnose_one(kaltura: &Kaltura, ctx: &Ctx, id: &str) -> Result<Diagnosis, Failure> {
    let id = archiver::selection::parse_entry_id(id).map_err(Failure::Usage)?;
    let fail = |e: kaltura::Error| kaltura.fail(&e);
    let entries = kaltura
        .client
        .entries_by_id(std::slice::from_ref(&id))
        .await
        .map_err(fail)?;
    let Some(entry) = entries.into_iter().find(|e| e.id == id) else {
        return Err(Failure::NotFound(format!(
            "entry {} does not exist in partner {} (deleted, or a typo in the id?)",
            id.0, kaltura.partner
        )));
    };
    let flavors = kaltura
        .client
        .flavors_of(std::slice::from_ref(&id), true)
        .await
        .map_err(fail)?;
    let original = flavors.into_iter().find(|f| f.is_original);
    diagnose(ctx, &entry, original.as_ref(), Depth::Prove)
        .await
        .map_err(Failure::Store)
}

/// The context of a command that only looks (`explain`, `download`): a dry run with the policy's N.
fn looking(kaltura: &Kaltura, store: Arc<dyn ArchiveStore>, p: Placeholders, years: f64) -> Opened {
    let settings = Settings {
        years,
        ..Settings::default()
    };
    opened(kaltura.clone(), store, p, settings, "explain")
}

/// What the scheduled jobs will do with an entry next, and why.
fn next_step(ctx: &Ctx, d: &Diagnosis) -> String {
    let n = ctx.settings.years;
    let e = &d.entry;
    let cutoff = archiver::time::years_ago(ctx.now, n);
    let old = ctx.replace_allowed(e);
    let played_recently = e.last_played_at.is_some_and(|t| t > cutoff);
    match &d.state {
        State::Initial => match old {
            Ok(()) => format!("archive copies it (created and unplayed for over {n} years), then replace swaps in the placeholder"),
            Err(why) => format!("nothing yet: {why}; it qualifies once it is {n} years old and unplayed for {n} years"),
        },
        State::Archived => match old {
            Ok(()) => "replace swaps in the placeholder (a verified copy of the current original exists)".into(),
            Err(why) => format!("nothing: archived, but {why}"),
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

/// One copy in words: size, class, whether it can be read, what it holds and what its proof
/// found.
fn copy_line(c: &archiver::copies::ArchiveCopy) -> String {
    use archiver::store::RestoreStatus;
    let Some(info) = &c.info else {
        let why = c.problem().unwrap_or_default();
        return format!("MISSING ({why})");
    };
    let readable = match &info.restore {
        RestoreStatus::NotNeeded => "readable".to_string(),
        RestoreStatus::Frozen => "frozen (needs a thaw)".to_string(),
        RestoreStatus::Thawing => "thaw in progress".to_string(),
        RestoreStatus::Thawed { until } => {
            format!("thawed until {}", until.as_deref().unwrap_or("?"))
        }
    };
    let what = match &c.record {
        Some(r) => format!(
            "flavor {} v{}, archived {}, SHA-256 {}",
            r.flavor_id,
            r.flavor_version,
            date(r.archived_at),
            r.sha256
        ),
        None => "no record (a legacy or interrupted copy)".into(),
    };
    let proof = match (&c.verdict, c.placeholder) {
        (_, true) => "a PLACEHOLDER, not a recording".to_string(),
        (None, false) => "UNVERIFIED".to_string(),
        (Some(Verdict::Good { read: true }), false) => "proven (read and hashed)".to_string(),
        (Some(Verdict::Good { read: false }), false) => {
            "proven (the store's checksum of the pinned version)".to_string()
        }
        (Some(Verdict::Missing), false) => "MISSING".to_string(),
        (Some(Verdict::Bad(why)), false) => format!("FAILS ITS PROOF: {why}"),
    };
    format!(
        "{} bytes, {}, {readable}, {what}, {proof}",
        c.bytes(),
        info.storage_class.as_str()
    )
}

/// `explain ENTRY_ID`.
pub async fn explain(k: &KalturaArgs, a: &ExplainArgs) -> Result<i32, Failure> {
    let kaltura = connect(k)?;
    let store = open_store(&a.store).await?;
    let placeholders = placeholders(a.placeholder.as_deref(), store.as_ref()).await?;
    let o = looking(&kaltura, store.clone(), placeholders, a.years);
    let ctx = &o.ctx;
    let d = diagnose_one(&kaltura, ctx, &a.entry_id).await?;
    let e = &d.entry;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let kind = match e.media_type {
        1 => "video",
        2 => "image",
        5 => "audio",
        _ => "other",
    };
    writeln!(out, "entry       {} — {:?} ({kind})", e.id.0, e.name)?;
    writeln!(
        out,
        "created     {}   last played {}   plays {}",
        date(e.created_at),
        e.last_played_at.map_or("never".into(), date),
        e.plays
    )?;
    writeln!(
        out,
        "tags        {}",
        if e.tags.is_empty() { "(none)" } else { &e.tags }
    )?;
    match &d.original {
        Some(o) => writeln!(
            out,
            "original    flavor {} v{}, {} bytes{}, status {}, .{}{}",
            o.id.0,
            o.version,
            o.approx_bytes(),
            if o.exact_bytes().is_some() {
                ""
            } else {
                " (approximate)"
            },
            o.status,
            o.file_ext,
            if d.placeholder {
                " — the placeholder"
            } else {
                ""
            }
        )?,
        None => writeln!(out, "original    none")?,
    }
    if d.copies.is_empty() {
        writeln!(out, "archive     no copy in {store}")?;
    }
    for c in &d.copies.list {
        writeln!(out, "archive     {} in {store}: {}", c.key, copy_line(c))?;
        if d.matching.as_ref().is_some_and(|m| m.key == c.key) {
            writeln!(out, "            ↳ holds the current original")?;
        }
    }
    writeln!(out, "state       {}", state_name(&d.state))?;
    match &d.state {
        State::Anomaly(a) => {
            writeln!(out, "anomaly     {} (repair: {})", a.describe(), a.repair())?
        }
        State::NotApplicable(why) => writeln!(out, "note        {why}")?,
        _ => writeln!(out, "anomaly     none")?,
    }
    writeln!(out, "next        {}", next_step(ctx, &d))?;
    let lines = journal::lines_about(store.as_ref(), &e.id.0, 200).await?;
    if lines.is_empty() {
        writeln!(
            out,
            "journal     no run has touched it (newest 200 journals)"
        )?;
    } else {
        writeln!(out, "journal     {} lines (newest last):", lines.len())?;
        for l in lines.iter().rev().take(20).rev() {
            writeln!(out, "  {l}")?;
        }
    }
    out.flush()?;
    Ok(exit::SUCCESS)
}

/// `download --id`.
pub async fn download(k: &KalturaArgs, a: &DownloadArgs) -> Result<i32, Failure> {
    use futures_util::StreamExt;
    let kaltura = connect(k)?;
    let store = open_store(&a.store).await?;
    let placeholders = placeholders(a.placeholder.as_deref(), store.as_ref()).await?;
    let o = looking(&kaltura, store.clone(), placeholders, 3.0);
    let d = diagnose_one(&kaltura, &o.ctx, &a.entry_id).await?;
    let id: &EntryId = &d.entry.id;
    let real = d
        .original
        .as_ref()
        .filter(|o| o.status == 2 && !d.placeholder);
    let (mut body, ext, source): (kaltura::ByteStream, String, String) =
        match (real, &d.restore_from) {
            (Some(o), _) => (
                kaltura
                    .client
                    .download_flavor(o, o.exact_bytes())
                    .await
                    .map_err(|e| kaltura.fail(&e))?,
                o.file_ext.clone(),
                format!("Kaltura flavor {} v{}", o.id.0, o.version),
            ),
            (None, Some(c)) => (
                match &c.record {
                    Some(rec) => archiver::proof::read(store.as_ref(), rec).await?,
                    None => store.get(&c.key).await?,
                },
                c.record
                    .as_ref()
                    .map(|r| r.file_ext.clone())
                    .unwrap_or_default(),
                format!("archive copy {} in {store}", c.key),
            ),
            (None, None) => {
                return Err(Failure::NotFound(format!(
                    "entry {} has no original in Kaltura and no archive copy",
                    id.0
                )))
            }
        };
    let ext = if ext.is_empty() {
        "mp4".to_string()
    } else {
        ext
    };
    let path = a
        .output
        .clone()
        .unwrap_or_else(|| format!("{}.{ext}", id.0).into());
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir)
        .map_err(|e| Failure::Output(format!("cannot create a file in {}: {e}", dir.display())))?;
    let mut n = 0u64;
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| Failure::Store(format!("reading {source} failed: {e}")))?;
        tmp.write_all(&chunk)?;
        n += chunk.len() as u64;
    }
    tmp.as_file().sync_all()?;
    tmp.persist(&path)
        .map_err(|e| Failure::Output(format!("cannot write {}: {e}", path.display())))?;
    eprintln!("wrote {} ({n} bytes) from {source}", path.display());
    Ok(exit::SUCCESS)
}
