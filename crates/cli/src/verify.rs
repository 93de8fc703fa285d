//! `verify`: every copy in the store proven against its record, one row per copy on stdout, a
//! progress line on a terminal, and the entries left without a good copy — asked of Kaltura
//! whether they are replaced, which makes them AT RISK.

use serde_json::json;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use archiver::tags::REPLACED;
use archiver::verify::{self, Progress};
use kaltura::EntryId;

use crate::args::{KalturaArgs, VerifyArgs};
use crate::commands::{connect, human_bytes};
use crate::exit;
use crate::failure::Failure;
use crate::open::{open_store, placeholders};
use crate::output::RowWriter;

/// Runs `verify`.
pub async fn verify(k: &KalturaArgs, a: &VerifyArgs) -> Result<i32, Failure> {
    let store = open_store(&a.store).await?;
    let placeholders = placeholders(a.placeholder.as_deref(), store.as_ref()).await?;
    let out = std::io::BufWriter::new(std::io::stdout().lock());
    let mut rows = RowWriter::new(
        out,
        a.format,
        &["entry_id", "key", "status", "bytes", "detail"],
    )?;
    let mut write_error = None;
    let progress = Progress::default();
    let started = Instant::now();
    let walk = verify::run(
        store.clone(),
        &placeholders,
        a.read_data,
        usize::from(a.jobs),
        &progress,
        |f| {
            let row = [
                ("entry_id", json!(f.entry)),
                ("key", json!(f.key)),
                ("status", json!(f.status.name())),
                ("bytes", json!(f.bytes)),
                ("detail", json!(f.detail)),
            ];
            if let Err(e) = rows.row(&row) {
                write_error.get_or_insert(e);
            }
        },
    );
    let totals = show_progress(walk, &progress, started).await?;
    rows.finish()?;
    if let Some(e) = write_error {
        return Err(e.into());
    }
    let secs = started.elapsed().as_secs_f64();
    let bytes = progress.bytes.load(Ordering::Relaxed);
    let counts: Vec<String> = totals
        .by_status
        .iter()
        .map(|(k, v)| format!("{v} {k}"))
        .collect();
    eprintln!(
        "verify: {} copies in {store} ({}); {} proven in {secs:.1} s ({:.0} MiB/s)",
        progress.done.load(Ordering::Relaxed),
        if counts.is_empty() {
            "none".to_string()
        } else {
            counts.join(", ")
        },
        human_bytes(bytes),
        bytes as f64 / (1 << 20) as f64 / secs.max(1e-3)
    );
    if !totals.without_good_copy.is_empty() {
        report_at_risk(k, &totals.without_good_copy).await;
    }
    Ok(if totals.problems() > 0 {
        exit::ENTRY_FAILURES
    } else {
        exit::SUCCESS
    })
}

/// Waits for the walk, printing a progress line every second when stderr is a terminal.
async fn show_progress<T>(
    walk: impl std::future::Future<Output = archiver::store::Result<T>>,
    progress: &Progress,
    started: Instant,
) -> Result<T, Failure> {
    use std::io::{IsTerminal, Write};
    let tty = std::io::stderr().is_terminal();
    let mut walk = std::pin::pin!(walk);
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tokio::select! {
            r = &mut walk => {
                if tty {
                    eprint!("\r\x1b[2K");
                }
                return r.map_err(Failure::from);
            }
            _ = tick.tick(), if tty => {
                let bytes = progress.bytes.load(Ordering::Relaxed);
                let rate = bytes as f64 / (1 << 20) as f64 / started.elapsed().as_secs_f64().max(1e-3);
                eprint!(
                    "\rverified {} of {} copies, {} proven, {rate:.0} MiB/s ",
                    progress.done.load(Ordering::Relaxed),
                    progress.total.load(Ordering::Relaxed),
                    human_bytes(bytes)
                );
                let _ = std::io::stderr().flush();
            }
        }
    }
}

/// Says, loudly, which entries without a good copy Kaltura holds only as placeholders.
async fn report_at_risk(k: &KalturaArgs, entries: &[String]) {
    let ids: Vec<EntryId> = entries.iter().map(|e| EntryId(e.clone())).collect();
    let asked = match connect(k) {
        Ok(kaltura) => kaltura
            .client
            .entries_by_id(&ids)
            .await
            .map_err(|e| kaltura.fail(&e)),
        Err(e) => Err(e),
    };
    match asked {
        Ok(found) => {
            for e in found.iter().filter(|e| e.has_tag(REPLACED)) {
                eprintln!(
                    "AT RISK: {} is replaced in Kaltura and no archive copy holds its recording. Do not delete anything. What can still be done: on a versioned bucket an older version of its copy may hold the bytes (aws s3api list-object-versions --prefix {}); its owner or a backup may have the file (re-upload it to the entry); `kaltura-archiver explain {}` shows every copy.",
                    e.id.0, e.id.0, e.id.0
                );
            }
            let replaced = found.iter().filter(|e| e.has_tag(REPLACED)).count();
            eprintln!(
                "{} entries have no good copy: {replaced} AT RISK (replaced in Kaltura); the rest still have their original in Kaltura — `kaltura-archiver repair` archives them again",
                entries.len()
            );
        }
        Err(e) => eprintln!(
            "{} entries have no good copy ({}); Kaltura could not be asked which are replaced and so AT RISK: {}",
            entries.len(),
            entries.join(", "),
            e.message()
        ),
    }
}
