//! `run archive|restore|health`: what the reference's archive.rc, restore.rc and health.rc did,
//! as one scheduled task — counts before, the work, counts after — sharded by entry id and kept
//! from overlapping with itself by a lock in the store.

use serde_json::json;
use std::collections::BTreeMap;
use std::time::Instant;

use archiver::engine::Command;
use archiver::lock::{self, Acquired};
use archiver::shard::Shard;
use archiver::tags::ARCHIVED;

use crate::args::{KalturaArgs, ScheduledArgs, ScheduledJob, SelectArgs};
use crate::commands::{count_selection, selection};
use crate::exit;
use crate::failure::Failure;
use crate::lifecycle::{
    execute_until_stopped, finish_journal, open, policy_selection, report_row, report_writer,
    Opened,
};

/// Counts the entries of this run's shard that a selection matches.
async fn count(o: &Opened, select: &SelectArgs) -> Result<u64, Failure> {
    count_selection(&o.kaltura, &selection(select)?, o.ctx.settings.shard).await
}

/// What is still to do for a job, by name.
async fn to_do(o: &Opened, job: ScheduledJob) -> Result<BTreeMap<&'static str, u64>, Failure> {
    let years = o.ctx.settings.years;
    let mut out = BTreeMap::new();
    match job {
        ScheduledJob::Archive => {
            let mut archive = policy_selection(Command::Archive, years);
            archive.tags.push(format!("!{ARCHIVED}"));
            out.insert("to_archive", count(o, &archive).await?);
            let replace = policy_selection(Command::Replace, years);
            out.insert("to_replace", count(o, &replace).await?);
        }
        ScheduledJob::Restore => {
            let restore = policy_selection(Command::Restore, years);
            out.insert("to_restore", count(o, &restore).await?);
        }
        ScheduledJob::Health => {
            let all = policy_selection(Command::Health, years);
            out.insert("entries", count(o, &all).await?);
        }
    }
    Ok(out)
}

fn shard_of(a: &ScheduledArgs) -> Result<Option<Shard>, Failure> {
    match a.shard.as_deref().filter(|s| !s.is_empty()) {
        Some(s) => Shard::parse(s)
            .map(Some)
            .map_err(|e| Failure::Usage(format!("--shard (SHARD): {e}"))),
        None => Shard::from_env(|k| std::env::var(k).ok()).map_err(Failure::Usage),
    }
}

/// `run JOB`.
pub async fn run(k: &KalturaArgs, a: &ScheduledArgs) -> Result<i32, Failure> {
    let started = Instant::now();
    let shard = shard_of(a)?;
    if !(a.lock_hours > 0.0 && a.lock_hours <= 24.0 * 14.0) {
        return Err(Failure::Usage(format!(
            "--lock-hours (LOCK_HOURS) must be above 0 and at most 336, got {}",
            a.lock_hours
        )));
    }
    let job = a.job;
    let name = format!("run-{}", job.name());
    let o = open(k, &a.store, &a.run, &name, shard).await?;
    let execute_mode = o.ctx.settings.execute;
    let shard_text = shard.map_or("all".to_string(), |s| s.to_string());
    // Only an executing run takes the lock: a dry run changes nothing, in the store neither.
    let lock_name = match shard {
        Some(s) => format!("{}-shard-{}-of-{}", job.name(), s.index, s.count),
        None => job.name().to_string(),
    };
    let held = if execute_mode && job != ScheduledJob::Health {
        let lifetime = (a.lock_hours * 3600.0) as i64;
        let run_id = o.ctx.journal.run_id().to_string();
        match lock::acquire(o.store.as_ref(), &lock_name, &run_id, o.ctx.now, lifetime).await? {
            Acquired::Held(l) => Some(l),
            Acquired::Busy(info) => {
                eprintln!(
                    "run {} (shard {shard_text}): another run ({}) holds the lock since {} until {} at the latest; nothing to do",
                    job.name(),
                    info.run_id,
                    archiver::time::date(info.taken_at),
                    archiver::time::date(info.expires_at),
                );
                return Ok(exit::SUCCESS);
            }
        }
    } else {
        None
    };
    let before = to_do(&o, job).await?;
    eprintln!("run {} (shard {shard_text}): before {before:?}", job.name());
    let commands: &[Command] = match job {
        ScheduledJob::Archive => &[Command::Archive, Command::Replace],
        ScheduledJob::Restore => &[Command::Restore],
        ScheduledJob::Health => &[Command::Health],
    };
    let mut writer = report_writer(a.run.format)?;
    let mut outcomes: BTreeMap<String, BTreeMap<String, u64>> = BTreeMap::new();
    let mut failed = 0;
    for command in commands {
        let select = policy_selection(*command, o.ctx.settings.years);
        let mut write_error = None;
        let summary = execute_until_stopped(&o, *command, &select, |r| {
            if let Err(e) = writer.row(&report_row(r)) {
                write_error.get_or_insert(e);
            }
        })
        .await?;
        if let Some(e) = write_error {
            return Err(e.into());
        }
        let Some(summary) = summary else {
            writer.finish()?;
            finish_journal(&o).await;
            if let Some(l) = held {
                let _ = l.release(o.store.as_ref()).await;
            }
            return Ok(exit::INTERRUPTED);
        };
        eprintln!("{}: {summary}", command.name());
        failed += summary.failures();
        outcomes.insert(command.name().to_string(), summary.outcomes);
    }
    writer.finish()?;
    let after = to_do(&o, job).await?;
    finish_journal(&o).await;
    if let Some(l) = held {
        if let Err(e) = l.release(o.store.as_ref()).await {
            eprintln!("the lock could not be released (it lapses by itself): {e}");
        }
    }
    // One JSON line for log metric filters and dashboards.
    eprintln!(
        "{}",
        json!({"kind": "summary", "job": job.name(), "shard": shard_text, "executed": execute_mode,
               "before": before, "after": after, "outcomes": outcomes, "failed": failed,
               "seconds": started.elapsed().as_secs()})
    );
    if !execute_mode {
        eprintln!("nothing was changed; add --execute (or DOIT=true) to act");
    }
    Ok(if failed > 0 {
        exit::ENTRY_FAILURES
    } else {
        exit::SUCCESS
    })
}
