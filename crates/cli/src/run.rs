//! The changing commands (archive, replace, restore, repair) and health: one engine run over a
//! selection, per-entry rows on stdout, the summary and the journal's place on stderr.

use serde_json::json;

use archiver::context::Mode;
use archiver::engine::{self, Command, Report};
use archiver::outcome::Summary;
use archiver::policy;
use archiver::selection::{Flavors, Selection, Walker};

use crate::args::{ChangeArgs, Format, KalturaArgs};
use crate::commands::selection;
use crate::exit;
use crate::failure::Failure;
use crate::open::{open, Opened};
use crate::output::RowWriter;

/// Runs one command of the engine over a selection; `each` sees every entry's report.
pub(crate) async fn execute(
    o: &Opened,
    command: Command,
    select: &Selection,
    each: impl FnMut(&Report),
) -> Result<Summary, Failure> {
    let k = &o.kaltura;
    let walker = Walker::new(k.client.clone(), select, Flavors::Originals, o.ctx.now)
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
    select: &Selection,
    each: impl FnMut(&Report),
) -> Result<Option<Summary>, Failure> {
    tokio::select! {
        r = execute(o, command, select, each) => r.map(Some),
        _ = stop_requested() => {
            o.ctx.journal.record("-", "interrupted", json!({"command": command.name()}));
            crate::say::line(format!("{}: stopped by a signal; entries in flight are finished by the next run", command.name()));
            Ok(None)
        }
    }
}

/// Writes the journal and says where it went (stderr).
pub(crate) async fn finish_journal(o: &Opened) {
    match o.ctx.journal.finish(o.store.as_ref()).await {
        Ok(at) => crate::say::line(format!("journal: {at}")),
        Err(e) => crate::say::line(format!("journal could not be written: {e}")),
    }
}

/// The per-entry report on stdout: four columns in TSV and CSV; in JSON also the command, the
/// seconds and the typed facts (key, bytes, flavor, class, error kind; `null` where none).
/// Flushed row by row on a terminal.
pub(crate) fn report_writer(
    format: Format,
) -> Result<RowWriter<std::io::BufWriter<std::io::StdoutLock<'static>>>, Failure> {
    use std::io::IsTerminal;
    let terminal = std::io::stdout().is_terminal();
    let out = std::io::BufWriter::new(std::io::stdout().lock());
    Ok(
        RowWriter::new(out, format, &["entry_id", "state", "outcome", "detail"])?
            .flushing_each_row(terminal),
    )
}

/// One report as a row.
pub(crate) fn report_row(r: &Report) -> Vec<(&'static str, serde_json::Value)> {
    let f = &r.facts;
    vec![
        ("entry_id", json!(r.entry.0)),
        ("state", json!(r.state)),
        ("outcome", json!(r.outcome.name())),
        ("detail", json!(r.outcome.detail())),
        ("command", json!(r.command.name())),
        ("seconds", json!((r.seconds * 1000.0).round() / 1000.0)),
        ("key", json!(f.key)),
        ("bytes", json!(f.bytes)),
        ("flavor_id", json!(f.flavor_id)),
        ("flavor_version", json!(f.flavor_version)),
        ("storage_class", json!(f.storage_class)),
        ("error_kind", json!(f.error_kind)),
    ]
}

/// How many entries a run will see, for the progress bar: asked only when a person watches
/// (stderr is a terminal), one count call.
pub(crate) async fn total(o: &Opened, select: &Selection) -> Option<u64> {
    use std::io::IsTerminal;
    if !std::io::stderr().is_terminal() {
        return None;
    }
    crate::commands::count_selection(&o.kaltura, select, None)
        .await
        .ok()
}

/// Runs a command through the engine: per-entry rows on stdout, the summary on stderr.
pub async fn run(k: &KalturaArgs, command: Command, a: &ChangeArgs) -> Result<i32, Failure> {
    // Filters and the placeholder are checked before any network call.
    let given = selection(&a.select)?;
    let named = !given.entry_ids.is_empty();
    let o = open(k, &a.store, &a.run, command.name(), None, named).await?;
    let select = policy::selection_for(command, &given, o.ctx.settings.years);
    let mut writer = report_writer(a.run.format)?;
    let mut write_error = None;
    let mut progress = crate::progress::RunProgress::new(command.name(), total(&o, &select).await);
    let summary = execute_until_stopped(&o, command, &select, |r| {
        progress.entry(r);
        if let Err(e) = progress.suspend(|| writer.row(&report_row(r))) {
            write_error.get_or_insert(e);
        }
    })
    .await?;
    progress.finish();
    writer.finish()?;
    let Some(summary) = summary else {
        finish_journal(&o).await;
        return Ok(exit::INTERRUPTED);
    };
    if let Some(e) = write_error {
        return Err(e.into());
    }
    let dry = o.ctx.mode() == Mode::DryRun;
    let mode = if dry { "dry run" } else { "executed" };
    crate::say::line(format!("{} ({mode}): {summary}", command.name()));
    finish_journal(&o).await;
    if dry && command != Command::Health {
        crate::say::line("nothing was changed; add --execute (or DOIT=true) to act");
    }
    Ok(if summary.failures() > 0 {
        exit::ENTRY_FAILURES
    } else {
        exit::SUCCESS
    })
}
