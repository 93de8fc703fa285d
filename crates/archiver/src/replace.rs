//! `replace`: archived → replaced. Only when a proven copy matches the CURRENT original and the
//! entry is old and unplayed enough: uploads the placeholder; then, immediately before the
//! destructive call, checks again that the original is the same flavor version and proves the
//! copy's bytes; only then replaces the content (`media.updateContent`). Once Kaltura has
//! converted it (polled in batches by the engine) it tags `flavors_deleted` and sets a thumbnail.

use serde_json::json;

use kaltura::content::replacement_status;
use kaltura::MediaEntry;

use crate::context::Ctx;
use crate::copies::ArchiveCopy;
use crate::diagnose::{Anomaly, Diagnosis, State};
use crate::failpoint;
use crate::outcome::{Outcome, Pending, PendingKind, Step};
use crate::proof::{self, Depth, Verdict};
use crate::tags::{ARCHIVED, REPLACED};

/// Runs `replace` for a diagnosed entry.
pub async fn replace(ctx: &Ctx, d: &Diagnosis) -> Step {
    match &d.state {
        State::Replaced | State::Thawing => {
            Outcome::DoneBefore("the placeholder is in place".into()).into()
        }
        State::Anomaly(Anomaly::PlaceholderWithoutTag) => {
            finish_tags(ctx, &d.entry, "finished an interrupted replacement")
                .await
                .into()
        }
        State::Archived => match ctx.replace_allowed(&d.entry) {
            Err(why) => Outcome::Skipped(format!("too recent to replace: {why}")).into(),
            Ok(()) => match (&d.original, &d.matching) {
                (Some(o), Some(copy)) => {
                    let what = format!("flavor {} v{}", o.id.0, o.version);
                    start(ctx, d, copy, what).await
                }
                _ => Outcome::Failed("internal: archived without a matching copy".into()).into(),
            },
        },
        // Flavors deleted (a partner without the replacement feature) but the placeholder never
        // added: a verified copy holds the video, so the replacement is finished.
        State::Anomaly(a @ Anomaly::NoOriginal) => match emptied_but_archived(d) {
            Some(copy) => start(ctx, d, copy, "an entry without content".into()).await,
            None => Outcome::Skipped(format!("{}; run repair", a.describe())).into(),
        },
        State::Initial => Outcome::Skipped("not archived yet: run archive first".into()).into(),
        // The one copy that would be left fails its proof: refuse loudly.
        State::Anomaly(a @ Anomaly::CopyFailsProof) => Outcome::Failed(format!(
            "refused: {} ({}); nothing was changed in Kaltura; run repair to archive it again",
            a.describe(),
            d.copies.problems().join("; ")
        ))
        .into(),
        State::Anomaly(
            a @ (Anomaly::CopyNotCurrent | Anomaly::TagWithoutCopy | Anomaly::LegacyCopyOnly),
        ) => Outcome::Skipped(format!(
            "no verified copy of the current original ({}); run archive first",
            a.describe()
        ))
        .into(),
        State::Converting => {
            Outcome::Skipped("Kaltura is converting new content for it".into()).into()
        }
        State::NotApplicable(why) => Outcome::Skipped(why.clone()).into(),
        State::Anomaly(a) => Outcome::Skipped(format!("{}; run repair", a.describe())).into(),
    }
}

/// The proven copy of an entry tagged archived whose content is gone, if that is the case.
fn emptied_but_archived(d: &Diagnosis) -> Option<&ArchiveCopy> {
    d.restore_from
        .as_ref()
        .filter(|c| c.good() && d.entry.has_tag(ARCHIVED))
}

/// Uploads the placeholder and starts replacing `what` with it; `copy` is the proven copy.
async fn start(ctx: &Ctx, d: &Diagnosis, copy: &ArchiveCopy, what: String) -> Step {
    let id = &d.entry.id;
    let bytes = ctx.placeholders.bytes();
    let placeholder = ctx.placeholders.digest();
    let detail = json!({"copy": copy.key.as_str(), "replacing": what,
                        "placeholder_bytes": bytes.len(), "placeholder_sha256": placeholder.sha256});
    let name = format!("{}-placeholder.mp4", id.0);
    let len = bytes.len() as u64;
    let body: kaltura::ByteStream = Box::pin(futures_util::stream::once(async move { Ok(bytes) }));
    let started = ctx.gate(id, "replace-content", detail, async {
        // Every placeholder ever used is recorded before it goes into Kaltura, so that it is
        // recognised after PLACEHOLDER_VIDEO changes.
        ctx.placeholders
            .record_current(ctx.store.as_ref(), ctx.now)
            .await?;
        // The copy is proven before anything goes to Kaltura; the original is checked again
        // immediately before the destructive call.
        prove_copy(ctx, copy).await?;
        let token = upload(ctx, &name, len, body, "replace").await?;
        original_unchanged(ctx, d).await?;
        failpoint::hit("replace.after-proof");
        swap_content(ctx, id, &token, "replace").await
    });
    match started.await {
        Ok(None) => Outcome::Planned(format!(
            "replace {what} with the placeholder (verified copy {})",
            copy.key
        ))
        .into(),
        Ok(Some(())) => Step::Pending(Pending {
            entry: id.clone(),
            kind: PendingKind::Placeholder,
        }),
        Err(e) => Outcome::Failed(e).into(),
    }
}

/// The entry's original is still the flavor version that was diagnosed (or still none): a
/// re-upload since then would otherwise be replaced without a copy. Checked immediately before
/// every call that replaces an entry's content.
pub(crate) async fn original_unchanged(ctx: &Ctx, d: &Diagnosis) -> Result<(), String> {
    let id = &d.entry.id;
    let now = ctx
        .client
        .flavors_of(std::slice::from_ref(id), true)
        .await
        .map_err(|e| format!("could not check the original again: {e}"))?;
    let current = now.iter().find(|f| &f.entry_id == id && f.is_original);
    let name = |f: Option<&kaltura::FlavorAsset>| {
        f.map_or("none".to_string(), |f| {
            format!("flavor {} v{}", f.id.0, f.version)
        })
    };
    let same = match (&d.original, current) {
        (Some(was), Some(now)) => was.id == now.id && was.version == now.version,
        (None, None) => true,
        _ => false,
    };
    if same {
        return Ok(());
    }
    Err(format!(
        "refused: the entry's original changed since it was checked (was {}, now {}); nothing was replaced; the next run looks again",
        name(d.original.as_ref()),
        name(current)
    ))
}

/// The copy that is about to become the only one holds, now, exactly its recorded bytes.
async fn prove_copy(ctx: &Ctx, copy: &ArchiveCopy) -> Result<(), String> {
    let Some(rec) = &copy.record else {
        return Err(format!(
            "refused: the copy {} has no record; nothing was replaced",
            copy.key
        ));
    };
    let (verdict, _) = proof::check(ctx.store.as_ref(), rec, Depth::Prove)
        .await
        .map_err(|e| {
            format!(
                "refused: could not prove the copy {}: {e}; nothing was replaced",
                copy.key
            )
        })?;
    match verdict {
        Verdict::Good { .. } => Ok(()),
        Verdict::Missing => Err(format!(
            "refused: the copy {} is gone from the store; nothing was replaced; run repair to archive it again",
            copy.key
        )),
        Verdict::Bad(why) => Err(format!(
            "refused: the copy {} {why}; nothing was replaced; run repair to archive it again",
            copy.key
        )),
    }
}

/// Uploads `body` into a new upload token; `stage` names the failpoint passed after it.
pub async fn upload(
    ctx: &Ctx,
    file_name: &str,
    len: u64,
    body: kaltura::ByteStream,
    stage: &str,
) -> Result<String, String> {
    let token = ctx
        .client
        .upload(file_name, len, body)
        .await
        .map_err(|e| e.to_string())?;
    failpoint::hit(&format!("{stage}.after-upload"));
    Ok(token)
}

/// Starts replacing the entry's content with an uploaded token (approving the replacement when
/// the partner requires approval). `stage` names the failpoints passed on the way.
pub async fn swap_content(
    ctx: &Ctx,
    id: &kaltura::EntryId,
    token: &str,
    stage: &str,
) -> Result<(), String> {
    let e = match ctx.client.update_content(id, token).await {
        // A partner without the entry-replacement feature: as the reference tool did, delete the
        // entry's flavors (it becomes NO_CONTENT), then add the content. Only reached after the
        // archive copy was verified (replace) or is the source (restore).
        Err(e) if e.code() == Some("FEATURE_FORBIDDEN") => {
            delete_flavors(ctx, id).await?;
            failpoint::hit(&format!("{stage}.after-delete-flavors"));
            ctx.client.update_content(id, token).await
        }
        other => other,
    }
    .map_err(|e| e.to_string())?;
    failpoint::hit(&format!("{stage}.after-update-content"));
    approve_if_needed(ctx, &e).await
}

/// Deletes every flavor of an entry (Kaltura then sets it to NO_CONTENT).
async fn delete_flavors(ctx: &Ctx, id: &kaltura::EntryId) -> Result<(), String> {
    let flavors = ctx
        .client
        .flavors_of(std::slice::from_ref(id), false)
        .await
        .map_err(|e| e.to_string())?;
    for f in flavors.iter().filter(|f| &f.entry_id == id) {
        ctx.client
            .delete_flavor(&f.id)
            .await
            .map_err(|e| format!("deleting flavor {} failed: {e}", f.id.0))?;
    }
    ctx.journal.record(
        &id.0,
        "delete-flavors",
        json!({"flavors": flavors.iter().map(|f| f.id.0.clone()).collect::<Vec<_>>()}),
    );
    Ok(())
}

/// Approves a replacement that waits for approval (partners that require it).
pub async fn approve_if_needed(ctx: &Ctx, e: &MediaEntry) -> Result<(), String> {
    let waits = [
        replacement_status::READY_BUT_NOT_APPROVED,
        replacement_status::NOT_READY_AND_NOT_APPROVED,
    ];
    if waits.contains(&e.replacement_status.as_str()) {
        ctx.client
            .approve_replace(&e.id)
            .await
            .map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// Adds the tags of the replaced state and sets a thumbnail from the placeholder.
pub async fn finish_tags(ctx: &Ctx, e: &MediaEntry, what: &str) -> Outcome {
    let mut tags: Vec<String> = e.tag_list();
    for t in [ARCHIVED, REPLACED] {
        if !tags.iter().any(|x| x == t) {
            tags.push(t.to_string());
        }
    }
    let r = ctx
        .gate(&e.id, "tag", json!({"tags": [ARCHIVED, REPLACED]}), async {
            ctx.client
                .set_tags(&e.id, &tags)
                .await
                .map_err(|e| e.to_string())
        })
        .await;
    match r {
        Ok(None) => Outcome::Planned(format!("{what}: tag {ARCHIVED}, {REPLACED}")),
        Ok(Some(_)) => {
            failpoint::hit("replace.after-tag");
            // A thumbnail from the placeholder; Kaltura may refuse while files settle, which
            // changes nothing that matters.
            if let Err(err) = ctx.client.update_thumbnail(&e.id, 1).await {
                tracing::info!(entry = %e.id.0, error = %err, "thumbnail not updated");
            }
            Outcome::Done(what.to_string())
        }
        Err(err) => Outcome::Failed(format!("{what}, but tagging failed: {err}")),
    }
}
