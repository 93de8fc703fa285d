//! `explain ENTRY_ID`: one entry's state, copies, proofs, what happens next and what the
//! journals say about it.

use std::io::Write;

use archiver::context::Ctx;
use archiver::diagnose::{diagnose, state_name, Diagnosis, State};
use archiver::journal;
use archiver::policy;
use archiver::proof::{Depth, Verdict};
use archiver::time::date;
use kaltura::EntryId;

use crate::args::{ExplainArgs, KalturaArgs};
use crate::commands::{connect, Kaltura};
use crate::exit;
use crate::failure::Failure;
use crate::open::{looking, open_store, placeholders};

/// Looks up one entry with its original flavor and diagnoses it.
pub(crate) async fn diagnose_one(
    kaltura: &Kaltura,
    ctx: &Ctx,
    id: &EntryId,
) -> Result<Diagnosis, Failure> {
    let fail = |e: kaltura::Error| kaltura.fail(&e);
    let entries = kaltura
        .client
        .entries_by_id(std::slice::from_ref(id))
        .await
        .map_err(fail)?;
    let Some(entry) = entries.into_iter().find(|e| &e.id == id) else {
        return Err(Failure::NotFound(format!(
            "entry {} does not exist in partner {} (deleted, or a typo in the id?)",
            id.0, kaltura.partner
        )));
    };
    let flavors = kaltura
        .client
        .flavors_of(std::slice::from_ref(id), true)
        .await
        .map_err(fail)?;
    let original = flavors.into_iter().find(|f| f.is_original);
    diagnose(ctx, &entry, original.as_ref(), Depth::Prove)
        .await
        .map_err(|e| Failure::domain(e, &kaltura.url, kaltura.partner))
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

/// `explain` without Kaltura: the entry as its sidecars describe it, and its copies.
async fn from_archive(ctx: &Ctx, id: &EntryId, why: &str) -> Result<i32, Failure> {
    let store = ctx.store.as_ref();
    let metadata = archiver::sidecar::of_entry(store, id).await?;
    let copies =
        archiver::copies::Copies::load(store, &id.0, Depth::Prove, &ctx.placeholders).await?;
    if metadata.is_empty() && copies.is_empty() {
        return Err(Failure::NotFound(format!(
            "{why}; and the archive {store} has nothing of entry {}",
            id.0
        )));
    }
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    writeln!(
        out,
        "kaltura     {why}: what follows is from the archive alone"
    )?;
    match metadata.last() {
        Some(m) => {
            writeln!(out, "entry       {} — {:?}", m.id, m.name)?;
            writeln!(
                out,
                "created     {}   last played {}   plays {}   owner {}",
                date(m.created_at),
                m.last_played_at.map_or("never".into(), date),
                m.plays,
                m.owner
            )?;
            writeln!(out, "categories  {}", m.categories.join(", "))?;
            let langs: Vec<&str> = m.captions.iter().map(|c| c.language.as_str()).collect();
            writeln!(
                out,
                "captions    {}",
                if langs.is_empty() {
                    "none".into()
                } else {
                    langs.join(", ")
                }
            )?;
        }
        None => writeln!(
            out,
            "entry       {} — no sidecar (repair writes one while Kaltura has the entry)",
            id.0
        )?,
    }
    for c in &copies.list {
        writeln!(out, "archive     {} in {store}: {}", c.key, copy_line(c))?;
    }
    out.flush()?;
    Ok(exit::SUCCESS)
}

/// The explanation as one JSON object: the same facts as the text, typed (`null` where none).
fn as_json(
    d: &Diagnosis,
    exempt: Option<String>,
    notice: Option<String>,
    next: &str,
    journal: &[String],
) -> serde_json::Value {
    use serde_json::json;
    let e = &d.entry;
    let original = d.original.as_ref().map(|o| {
        json!({"flavor_id": o.id.0, "version": o.version, "bytes": o.approx_bytes(),
               "bytes_exact": o.exact_bytes().is_some(), "status": o.status.name(),
               "file_ext": o.file_ext, "placeholder": d.placeholder})
    });
    let copies: Vec<serde_json::Value> = d
        .copies
        .list
        .iter()
        .map(|c| {
            let f = archiver::outcome::Facts::of_copy(c);
            json!({"key": f.key, "bytes": f.bytes, "flavor_id": f.flavor_id,
                   "flavor_version": f.flavor_version, "storage_class": f.storage_class,
                   "recorded": c.record.is_some(), "good": c.good(), "problem": c.problem(),
                   "holds_current_original": d.matching.as_ref().is_some_and(|m| m.key == c.key)})
        })
        .collect();
    let anomaly = match &d.state {
        State::Anomaly(a) => json!({"what": a.describe(), "repair": a.repair()}),
        _ => serde_json::Value::Null,
    };
    json!({
        "entry_id": e.id.0, "name": e.name, "media_type": e.media_type.label(),
        "created_at": e.created_at, "last_played_at": e.last_played_at, "plays": e.plays,
        "tags": e.tag_list(), "original": original, "copies": copies,
        "state": state_name(&d.state), "anomaly": anomaly, "exempt": exempt,
        "notice": notice, "next": next, "journal": journal,
    })
}

/// `explain ENTRY_ID`.
pub async fn explain(k: &KalturaArgs, a: &ExplainArgs) -> Result<i32, Failure> {
    let kaltura = connect(k)?;
    let store = open_store(&a.store).await?;
    let placeholders = placeholders(a.placeholder.as_deref(), store.as_ref()).await?;
    let now = crate::open::kaltura_now(&kaltura).await;
    let o = looking(&kaltura, store.clone(), placeholders, a.years, now);
    let ctx = &o.ctx;
    let exemptions = crate::open::exemptions(&a.exempt)?;
    let d = match diagnose_one(&kaltura, ctx, &a.entry_id).await {
        Ok(d) => d,
        // Kaltura is down, or the entry was deleted there: what the archive alone knows.
        Err(f @ (Failure::Kaltura(_) | Failure::NotFound(_))) => {
            return from_archive(ctx, &a.entry_id, f.message()).await
        }
        Err(e) => return Err(e),
    };
    let e = &d.entry;
    let next = policy::next_step(&d, ctx.now, ctx.settings.years, &exemptions, a.notice_days);
    let notice = a
        .notice_days
        .map(|days| policy::notice_state(e, ctx.now, days).describe());
    if a.format == crate::args::Format::Json {
        let lines = journal::lines_about(store.as_ref(), &e.id.0, 200).await?;
        let v = as_json(&d, exemptions.holds(e), notice, &next, &lines);
        println!("{v}");
        return Ok(exit::SUCCESS);
    }
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let kind = e.media_type.label().unwrap_or("other");
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
    match exemptions.holds(e) {
        Some(why) => writeln!(
            out,
            "exempt      yes: {why} (never archived or replaced unless named by --id)"
        )?,
        None => writeln!(out, "exempt      no")?,
    }
    match (&notice, a.notice_days) {
        (Some(n), Some(days)) => writeln!(out, "notice      {n} (NOTICE_DAYS={days})")?,
        _ => writeln!(out, "notice      owner notices off (NOTICE_DAYS not set)")?,
    }
    writeln!(out, "next        {next}")?;
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
