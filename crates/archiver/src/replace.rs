//! `replace`: archived → replaced. Only when a proven copy matches the CURRENT original and the
//! entry is old and unplayed enough: uploads the placeholder; then, immediately before the
//! destructive call, checks again that the original is the same flavor version and proves the
//! copy's bytes; only then replaces the content (`media.updateContent`). Once Kaltura has
//! converted it (the engine polls pending entries in batches and hands each back to [`settle`])
//! it checks that the new original is the placeholder, tags `flavors_deleted` and sets a
//! thumbnail.

use serde_json::json;

use kaltura::{FlavorAsset, MediaEntry};

use crate::context::{Ctx, Gated};
use crate::copies::ArchiveCopy;
use crate::diagnose::{Anomaly, Diagnosis, State};
use crate::error::{Error, Result};
use crate::failpoint;
use crate::outcome::{Outcome, Pending, PendingKind, Step};
use crate::proof::{self, Depth, Verdict};
use crate::swap::{self, original_unchanged, swap_content, Progress};
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
        State::Archived => match ctx.too_recent(&d.entry) {
            Some(why) => Outcome::Skipped(format!("too recent to replace: {why}")).into(),
            None => match (&d.original, &d.matching) {
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
    let started = ctx.change(id, "replace-content", detail, async {
        // Every placeholder ever used is recorded before it goes into Kaltura, so that it is
        // recognised after PLACEHOLDER_VIDEO changes.
        ctx.placeholders
            .record_current(ctx.store.as_ref(), ctx.now)
            .await?;
        // The copy is proven before anything goes to Kaltura; the original is checked again
        // immediately before the destructive call.
        prove_copy(ctx, copy).await?;
        let token = swap::upload(ctx, &name, len, body, "replace").await?;
        original_unchanged(ctx, d).await?;
        failpoint::hit("replace.after-proof");
        swap_content(ctx, id, &token, "replace").await
    });
    match started.await {
        Ok(Gated::Planned) => Outcome::Planned(format!(
            "replace {what} with the placeholder (verified copy {})",
            copy.key
        ))
        .into(),
        Ok(Gated::Done(())) => {
            let facts = crate::outcome::Facts::of_copy(copy);
            ctx.facts.note(id, |f| *f = facts);
            Step::Pending(Pending {
                entry: id.clone(),
                kind: PendingKind::Placeholder,
            })
        }
        Err(e) => ctx.failed(id, &e).into(),
    }
}

/// The copy that is about to become the only one holds, now, exactly its recorded bytes.
async fn prove_copy(ctx: &Ctx, copy: &ArchiveCopy) -> Result<()> {
    let key = &copy.key;
    let Some(rec) = &copy.record else {
        return Err(Error::Refused(format!(
            "refused: the copy {key} has no record; nothing was replaced"
        )));
    };
    let verdict = match proof::check(ctx.store.as_ref(), rec, Depth::Prove).await {
        Ok((verdict, _)) => verdict,
        Err(e) => {
            return Err(Error::from(e).context(format!(
                "refused: could not prove the copy {key} (nothing was replaced)"
            )))
        }
    };
    match verdict {
        Verdict::Good { .. } => Ok(()),
        Verdict::Missing => Err(Error::Refused(format!(
            "refused: the copy {key} is gone from the store; nothing was replaced; run repair to archive it again"
        ))),
        Verdict::Bad(why) => Err(Error::Refused(format!(
            "refused: the copy {key} {why}; nothing was replaced; run repair to archive it again"
        ))),
    }
}

/// A replacement started earlier, polled: once converted, the new original must be the
/// placeholder; then the entry is tagged. `None` while Kaltura is still converting.
pub async fn settle(ctx: &Ctx, e: &MediaEntry, original: Option<&FlavorAsset>) -> Option<Outcome> {
    let Some(o) = (match swap::progress(ctx, e, original).await {
        Progress::Converting => return None,
        Progress::Failed(outcome) => return Some(outcome),
        Progress::Converted => original,
    }) else {
        return Some(Outcome::Failed(
            "after the replacement the entry has no original".into(),
        ));
    };
    Some(match crate::diagnose::is_placeholder(ctx, o).await {
        Ok(true) => finish_tags(ctx, e, "replaced with the placeholder").await,
        Ok(false) => Outcome::Failed(
            "after the replacement the original is not the placeholder; left untagged".into(),
        ),
        Err(err) => Outcome::Failed(format!("checking the new original failed: {err}")),
    })
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
        .change(&e.id, "tag", json!({"tags": [ARCHIVED, REPLACED]}), async {
            ctx.client.set_tags(&e.id, &tags).await?;
            Ok(())
        })
        .await;
    match r {
        Ok(Gated::Planned) => Outcome::Planned(format!("{what}: tag {ARCHIVED}, {REPLACED}")),
        Ok(Gated::Done(())) => {
            failpoint::hit("replace.after-tag");
            // A thumbnail from the placeholder; Kaltura may refuse while files settle, which
            // changes nothing that matters.
            let thumbnail = ctx
                .change(&e.id, "thumbnail", json!({"offset_seconds": 1}), async {
                    ctx.client.update_thumbnail(&e.id, 1).await?;
                    Ok(())
                })
                .await;
            if let Err(err) = thumbnail {
                tracing::info!(entry = %e.id.0, error = %err, "thumbnail not updated");
            }
            Outcome::Done(what.to_string())
        }
        Err(err) => Outcome::Failed(format!("{what}, but tagging failed: {err}")),
    }
}
