//! Swapping an entry's content, which `replace` (the placeholder in) and `restore` (the copy
//! back) share: upload into a token, check that the original did not change, `updateContent`
//! (deleting the flavors first on partners without the replacement feature), approve when the
//! partner requires it; and later, once polled, how the swap went (cancelled when Kaltura failed
//! to convert). Every change here is called inside, or goes through, the gate.

use serde_json::json;

use kaltura::{EntryId, EntryStatus, FlavorAsset, MediaEntry, ReplacementStatus};

use crate::context::Ctx;
use crate::diagnose::Diagnosis;
use crate::error::{Context, Error, Result};
use crate::failpoint;
use crate::outcome::Outcome;

/// Uploads `body` into a new upload token; `stage` names the failpoint passed after it.
/// Called inside a gated change.
pub async fn upload(
    ctx: &Ctx,
    file_name: &str,
    len: u64,
    body: kaltura::ByteStream,
    stage: &str,
) -> Result<String> {
    let token = ctx.client.upload(file_name, len, body).await?;
    failpoint::hit(&format!("{stage}.after-upload"));
    Ok(token)
}

/// The entry's original is still the flavor version that was diagnosed (or still none): a
/// re-upload since then would otherwise be replaced without a copy. Checked immediately before
/// every call that replaces an entry's content.
pub async fn original_unchanged(ctx: &Ctx, d: &Diagnosis) -> Result<()> {
    let id = &d.entry.id;
    let now = ctx
        .client
        .flavors_of(std::slice::from_ref(id), true)
        .await
        .context("could not check the original again")?;
    let current = now.iter().find(|f| &f.entry_id == id && f.is_original);
    let name = |f: Option<&FlavorAsset>| {
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
    Err(Error::Refused(format!(
        "refused: the entry's original changed since it was checked (was {}, now {}); nothing was replaced; the next run looks again",
        name(d.original.as_ref()),
        name(current)
    )))
}

/// Starts replacing the entry's content with an uploaded token (approving the replacement when
/// the partner requires approval). `stage` names the failpoints passed on the way. Called inside
/// a gated change.
pub async fn swap_content(ctx: &Ctx, id: &EntryId, token: &str, stage: &str) -> Result<()> {
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
    }?;
    failpoint::hit(&format!("{stage}.after-update-content"));
    if e.replacement_status.awaits_approval() {
        ctx.client.approve_replace(id).await?;
    }
    Ok(())
}

/// Deletes every flavor of an entry (Kaltura then sets it to NO_CONTENT).
async fn delete_flavors(ctx: &Ctx, id: &EntryId) -> Result<()> {
    let flavors = ctx
        .client
        .flavors_of(std::slice::from_ref(id), false)
        .await?;
    for f in flavors.iter().filter(|f| &f.entry_id == id) {
        ctx.client
            .delete_flavor(&f.id)
            .await
            .with_context(|| format!("deleting flavor {} failed", f.id.0))?;
    }
    ctx.journal.record(
        &id.0,
        "delete-flavors",
        json!({"flavors": flavors.iter().map(|f| f.id.0.clone()).collect::<Vec<_>>(),
               "bytes": flavors.iter().map(|f| f.approx_bytes()).sum::<u64>()}),
    );
    Ok(())
}

/// How a swap started earlier stands, as polled.
#[derive(Debug)]
pub enum Progress {
    /// Kaltura is still converting (or was just asked to approve).
    Converting,
    /// The swap ended without the new content (with what happened).
    Failed(Outcome),
    /// The new content is the entry's READY original.
    Converted,
}

/// How the swap of a polled entry stands: a failed conversion is cancelled, a replacement that
/// waits for approval is approved (both through the gate).
pub async fn progress(ctx: &Ctx, e: &MediaEntry, original: Option<&FlavorAsset>) -> Progress {
    if e.replacement_status == ReplacementStatus::Failed {
        let cancelled = ctx
            .change(&e.id, "cancel-replace", json!({}), async {
                ctx.client.cancel_replace(&e.id).await?;
                Ok(())
            })
            .await;
        let why = match cancelled {
            Ok(_) => "Kaltura failed to convert the new content; the replacement was cancelled"
                .to_string(),
            Err(err) => format!(
                "Kaltura failed to convert the new content; cancelling the replacement failed too: {err}"
            ),
        };
        return Progress::Failed(Outcome::Failed(why));
    }
    if e.replacement_status.awaits_approval() {
        let approved = ctx
            .change(&e.id, "approve-replace", json!({}), async {
                ctx.client.approve_replace(&e.id).await?;
                Ok(())
            })
            .await;
        return match approved {
            Ok(_) => Progress::Converting,
            Err(err) => Progress::Failed(Outcome::Failed(err.to_string())),
        };
    }
    let converting = !e.replacing_entry_id.is_empty()
        || e.status != EntryStatus::Ready
        || !original.is_some_and(FlavorAsset::is_ready);
    if converting {
        Progress::Converting
    } else {
        Progress::Converted
    }
}
