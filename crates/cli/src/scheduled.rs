//! `run archive|restore|health`: what the reference's archive.rc, restore.rc and health.rc did,
//! as one scheduled task — counts before, the work, counts after — sharded by entry id and kept
//! from overlapping with itself by a lock in the store.

use serde_json::json;
use std::collections::BTreeMap;
use std::time::Instant;

use archiver::context::Mode;
use archiver::engine::Command;
use archiver::lock::{self, Acquired};
use archiver::policy;
use archiver::selection::Selection;
use archiver::shard::Shard;
use archiver::tags::ARCHIVED;

use crate::args::{KalturaArgs, ScheduledArgs, ScheduledJob};
use crate::commands::{count_selection, selection};
use crate::exit;
use crate::failure::Failure;
use crate::open::{narrowed, open, Opened};
use crate::run::{execute_until_stopped, finish_journal, report_row, report_writer};

/// The policy's selection for `command`, narrowed by the filters given to `run`.
fn job_selection(command: Command, years: f64, given: &Selection) -> Selection {
    policy::selection(command, years).narrowed_by(given)
}

/// Counts the entries of this run's shard that a selection matches.
async fn count(o: &Opened, select: &Selection) -> Result<u64, Failure> {
    count_selection(&o.kaltura, select, o.ctx.settings.shard).await
}

/// What is still to do for a job, by name.
async fn to_do(
    o: &Opened,
    job: ScheduledJob,
    given: &Selection,
) -> Result<BTreeMap<&'static str, u64>, Failure> {
    let years = o.ctx.settings.years;
    let mut out = BTreeMap::new();
    match job {
        ScheduledJob::Archive => {
            let mut archive = job_selection(Command::Archive, years, given);
            archive.without_tags.push(ARCHIVED.into());
            out.insert("to_archive", count(o, &archive).await?);
            let replace = job_selection(Command::Replace, years, given);
            out.insert("to_replace", count(o, &replace).await?);
        }
        ScheduledJob::Restore => {
            let restore = job_selection(Command::Restore, years, given);
            out.insert("to_restore", count(o, &restore).await?);
        }
        ScheduledJob::Health => {
            let all = job_selection(Command::Health, years, given);
            out.insert("entries", count(o, &all).await?);
        }
    }
    Ok(out)
}

/// How many shards a run claims one of: `SHARD_COUNT` (above 1) when no shard index is given.
fn claim_count() -> Result<Option<u32>, Failure> {
    let Some(n) = std::env::var("SHARD_COUNT")
        .ok()
        .filter(|v| !v.trim().is_empty())
    else {
        return Ok(None);
    };
    match n.trim().parse::<u32>() {
        Ok(1) => Ok(None),
        Ok(n) if (2..=1000).contains(&n) => Ok(Some(n)),
        _ => Err(Failure::Usage(format!(
            "SHARD_COUNT must be a number from 1 to 1000, got {n:?}"
        ))),
    }
}

fn shard_of(a: &ScheduledArgs) -> Result<Option<Shard>, Failure> {
    match a.shard.as_deref().filter(|s| !s.is_empty()) {
        Some(s) => Shard::parse(s)
            .map(Some)
            .map_err(|e| Failure::Usage(format!("--shard (SHARD): {e}"))),
        None => Ok(Shard::from_env(|k| std::env::var(k).ok())?),
    }
}

/// What a run reports in its summary line, filled in as it goes.
#[derive(Default)]
struct RunSummary {
    before: Option<BTreeMap<&'static str, u64>>,
    after: Option<BTreeMap<&'static str, u64>>,
    outcomes: BTreeMap<String, BTreeMap<String, u64>>,
    failed: u64,
    executed: bool,
    /// The shard worked on, once known (claimed shards are known only after the lock).
    shard: Option<String>,
}

/// `run JOB`: every way it ends — success, failed entries, bad input, Kaltura or the store
/// unreachable, a stop by signal — prints one JSON summary line with its exit code (and the
/// error, when the run failed as a whole), so that metrics and alarms see every run.
pub async fn run(k: &KalturaArgs, a: &ScheduledArgs) -> Result<i32, Failure> {
    let started = Instant::now();
    let mut summary = RunSummary::default();
    let result = run_job(k, a, &mut summary).await;
    let shard_text = summary
        .shard
        .clone()
        .or_else(|| a.shard.clone())
        .unwrap_or_else(|| "all".into());
    let (code, error) = match &result {
        Ok(code) => (*code, None),
        Err(f) => (f.exit_code(), Some(f.message().to_string())),
    };
    crate::say::object(
        json!({"kind": "summary", "job": a.job.name(), "shard": shard_text,
               "executed": summary.executed, "before": summary.before, "after": summary.after,
               "outcomes": summary.outcomes, "failed": summary.failed,
               "seconds": started.elapsed().as_secs(), "exit": code, "error": error}),
    );
    result
}

async fn run_job(
    k: &KalturaArgs,
    a: &ScheduledArgs,
    summary: &mut RunSummary,
) -> Result<i32, Failure> {
    let shard = shard_of(a)?;
    // Filters and prices are checked before any network call.
    selection(&a.select)?;
    crate::report::prices(&a.prices)?;
    if !(a.lock_lease_minutes >= 0.05 && a.lock_lease_minutes <= 24.0 * 60.0) {
        return Err(Failure::Usage(format!(
            "--lock-lease-minutes (LOCK_LEASE_MINUTES) must be between 0.05 and 1440, got {}",
            a.lock_lease_minutes
        )));
    }
    let claim = match shard {
        Some(_) => None,
        None => claim_count()?,
    };
    let job = a.job;
    let name = format!("run-{}", job.name());
    let o = open(k, &a.store, &a.run, &name, shard, false).await?;
    summary.executed = o.ctx.mode() == Mode::Execute;
    // Only an executing run takes the lock: a dry run changes nothing, in the store neither.
    if !summary.executed || job == ScheduledJob::Health {
        let shard_text = shard.map_or("all".to_string(), |s| s.to_string());
        return work(&o, a, job, &shard_text, summary).await;
    }
    let lease_secs = ((a.lock_lease_minutes * 60.0) as i64).max(1);
    let run_id = o.ctx.journal.run_id().to_string();
    // The shards to try: the one given, or — N identical tasks started together with
    // SHARD_COUNT=N and no index — the first of the N whose lock is free.
    let candidates: Vec<Option<Shard>> = match claim {
        Some(n) => (0..n)
            .map(|index| Some(Shard { index, count: n }))
            .collect(),
        None => vec![shard],
    };
    let mut busy = Vec::new();
    let mut held = None;
    for candidate in candidates {
        let lock_name = match candidate {
            Some(s) => format!("{}-shard-{}-of-{}", job.name(), s.index, s.count),
            None => job.name().to_string(),
        };
        match lock::acquire(o.store.as_ref(), &lock_name, &run_id, o.ctx.now, lease_secs).await? {
            Acquired::Held(l) => {
                held = Some((candidate, l.keep_alive(o.store.clone(), lease_secs)));
                break;
            }
            Acquired::Busy(info) => busy.push((candidate, info)),
        }
    }
    let Some((shard, lease)) = held else {
        for (candidate, info) in busy {
            crate::say::line(format!(
                "run {} (shard {}): another run ({}) holds the lock since {} until {} unless it renews it; nothing to do",
                job.name(),
                candidate.map_or("all".to_string(), |s| s.to_string()),
                info.run_id,
                archiver::time::date_time(info.taken_at),
                archiver::time::date_time(info.expires_at),
            ));
        }
        return Ok(exit::SUCCESS);
    };
    let shard_text = shard.map_or("all".to_string(), |s| s.to_string());
    summary.shard = Some(shard_text.clone());
    // A claimed shard narrows the run: the same connection, store and run id, this shard's
    // entries.
    let claimed;
    let o = match shard.filter(|_| claim.is_some()) {
        Some(s) => {
            claimed = narrowed(&o, s);
            &claimed
        }
        None => &o,
    };
    // The one place the lock is released, whatever way the work ended; if this process dies,
    // the lease stops being renewed and lapses.
    let result = work(o, a, job, &shard_text, summary).await;
    if let Err(e) = lease.release(o.store.as_ref()).await {
        crate::say::line(format!(
            "the lock could not be released (its lease lapses by itself): {e}"
        ));
    }
    result
}

/// The report page of a health run: into the store when executing (`reports/latest.html` and a
/// dated copy), planned in a dry run. The page covers the whole partner, so of a sharded health
/// run only shard 0 writes it.
async fn publish_report(o: &Opened, a: &ScheduledArgs) -> Result<(), Failure> {
    if let Some(shard) = o.ctx.settings.shard.filter(|s| s.index != 0) {
        crate::say::line(format!(
            "report: written by shard 0 of {} (the page covers every shard)",
            shard.count
        ));
        return Ok(());
    }
    let prices = crate::report::prices(&a.prices)?;
    let class = archiver::store::StorageClass::parse(&a.run.storage_class)?;
    let data =
        crate::report::gather(&o.kaltura, o.store.as_ref(), prices, class, o.ctx.now).await?;
    let page = crate::report::html(&data)?;
    if o.ctx.mode() == Mode::DryRun {
        crate::say::line(format!(
            "report: would write {} ({} bytes) into {}",
            archiver::report::LATEST_KEY,
            page.len(),
            o.store
        ));
        return Ok(());
    }
    let keys = archiver::report::publish(o.store.as_ref(), page, o.ctx.now, o.ctx.journal.run_id())
        .await?;
    crate::say::line(format!(
        "report: written to {}: {}",
        o.store,
        keys.join(", ")
    ));
    Ok(())
}

/// The work of a job: counts before, the commands, counts after, the journal.
async fn work(
    o: &Opened,
    a: &ScheduledArgs,
    job: ScheduledJob,
    shard_text: &str,
    summary: &mut RunSummary,
) -> Result<i32, Failure> {
    let given = selection(&a.select)?;
    let before = to_do(o, job, &given).await?;
    crate::say::line(format!(
        "run {} (shard {shard_text}): before {before:?}",
        job.name()
    ));
    summary.before = Some(before);
    let commands: &[Command] = match job {
        ScheduledJob::Archive => &[Command::Archive, Command::Replace],
        ScheduledJob::Restore => &[Command::Restore],
        ScheduledJob::Health => &[Command::Health],
    };
    let mut writer = report_writer(a.run.format)?;
    for command in commands {
        let select = job_selection(*command, o.ctx.settings.years, &given);
        let mut write_error = None;
        let mut progress =
            crate::progress::RunProgress::new(command.name(), crate::run::total(o, &select).await);
        let done = execute_until_stopped(o, *command, &select, |r| {
            progress.entry(r);
            if let Err(e) = progress.suspend(|| writer.row(&report_row(r))) {
                write_error.get_or_insert(e);
            }
        })
        .await;
        progress.finish();
        let done = match done {
            Ok(d) => d,
            Err(f) => {
                finish_journal(o).await;
                return Err(f);
            }
        };
        if let Some(e) = write_error {
            finish_journal(o).await;
            return Err(e.into());
        }
        let Some(s) = done else {
            writer.finish()?;
            finish_journal(o).await;
            return Ok(exit::INTERRUPTED);
        };
        crate::say::line(format!("{}: {s}", command.name()));
        summary.failed += s.failures();
        summary
            .outcomes
            .insert(command.name().to_string(), s.outcomes);
    }
    writer.finish()?;
    summary.after = Some(to_do(o, job, &given).await?);
    let published = match job {
        ScheduledJob::Health => publish_report(o, a).await,
        _ => Ok(()),
    };
    finish_journal(o).await;
    published?;
    if o.ctx.mode() == Mode::DryRun {
        crate::say::line("nothing was changed; add --execute (or DOIT=true) to act");
    }
    Ok(if summary.failed > 0 {
        exit::ENTRY_FAILURES
    } else {
        exit::SUCCESS
    })
}
