//! `restore`: replaced → thawing → archived. A frozen copy gets a thaw request; a readable one is
//! streamed back into Kaltura through a chunked upload and replaces the placeholder. Once Kaltura
//! has converted it (the engine polls pending entries in batches and hands each back to
//! [`settle`]), the new original's exact byte count must equal the copy's; then a same-as record
//! is written and `flavors_deleted` removed. The copy stays.

use serde_json::json;

use kaltura::{FlavorAsset, MediaEntry};

use crate::context::{Ctx, Gated};
use crate::copies::{self, ArchiveCopy, SameAs};
use crate::diagnose::{Anomaly, Diagnosis, State};
use crate::failpoint;
use crate::outcome::{Outcome, Pending, PendingKind, Step};
use crate::proof;
use crate::store::{ObjectInfo, RestoreStatus};
use crate::swap::{self, original_unchanged, swap_content, Progress};
use crate::tags::REPLACED;

/// Runs `restore` for a diagnosed entry.
pub async fn restore(ctx: &Ctx, d: &Diagnosis) -> Step {
    match &d.state {
        State::Replaced | State::Thawing | State::Anomaly(Anomaly::NoOriginal) => {
            match &d.restore_from {
                Some(copy) => from_copy(ctx, d, copy).await,
                None => Outcome::Failed("no archive copy to restore from".into()).into(),
            }
        }
        State::Anomaly(Anomaly::ReplacedTagOnRealVideo) => untag_real(ctx, d).await.into(),
        State::Converting => {
            Outcome::Waiting("Kaltura is converting new content for it".into()).into()
        }
        State::Initial | State::Archived => {
            Outcome::DoneBefore("not replaced: the original is in Kaltura".into()).into()
        }
        State::NotApplicable(why) => Outcome::Skipped(why.clone()).into(),
        State::Anomaly(a) => Outcome::Skipped(format!("{}; run repair", a.describe())).into(),
    }
}

async fn from_copy(ctx: &Ctx, d: &Diagnosis, copy: &ArchiveCopy) -> Step {
    let id = &d.entry.id;
    let Some(info) = &copy.info else {
        return Outcome::Failed(format!("the copy {} is gone from the store", copy.key)).into();
    };
    let version = copy.record.as_ref().and_then(|r| r.version_id.clone());
    match &info.restore {
        RestoreStatus::Frozen => {
            let (tier, days) = (ctx.settings.restore_tier, ctx.settings.restore_days);
            let detail = json!({"key": copy.key.as_str(), "tier": tier.as_str(), "days": days,
                                "class": info.storage_class.as_str()});
            let r = ctx
                .change(id, "thaw", detail, async {
                    let store = ctx.store.as_ref();
                    Ok(store
                        .restore_version(&copy.key, version.as_deref(), tier, days)
                        .await?)
                })
                .await;
            match r {
                Ok(Gated::Planned) => Outcome::Planned(format!(
                    "request a {} thaw of {} ({}) for {days} days",
                    tier.as_str(),
                    copy.key,
                    info.storage_class.as_str()
                ))
                .into(),
                Ok(Gated::Done(_)) => {
                    failpoint::hit("restore.after-thaw-request");
                    Outcome::Waiting(format!(
                        "thaw of {} requested ({} tier: {}); a later run restores it",
                        copy.key,
                        tier.as_str(),
                        typical_wait(info, tier)
                    ))
                    .into()
                }
                Err(e) => Outcome::Failed(e.to_string()).into(),
            }
        }
        RestoreStatus::Thawing => Outcome::Waiting(format!(
            "{} is thawing ({} tier takes {}); a later run restores it",
            copy.key,
            ctx.settings.restore_tier.as_str(),
            typical_wait(info, ctx.settings.restore_tier)
        ))
        .into(),
        RestoreStatus::NotNeeded | RestoreStatus::Thawed { .. } => upload(ctx, d, copy).await,
    }
}

fn typical_wait(copy: &ObjectInfo, tier: crate::store::RestoreTier) -> &'static str {
    tier.typical_wait(copy.storage_class).0
}

/// Streams the copy into an upload token and starts replacing the placeholder with it. A
/// recorded copy is read in its pinned version and must be exactly the recorded bytes, or the
/// upload fails before anything in Kaltura changes.
async fn upload(ctx: &Ctx, d: &Diagnosis, copy: &ArchiveCopy) -> Step {
    let id = &d.entry.id;
    let ext = copy
        .record
        .as_ref()
        .map(|r| r.file_ext.clone())
        .or_else(|| {
            copy.info
                .as_ref()?
                .meta
                .as_ref()
                .map(|m| m.file_ext.clone())
        })
        .filter(|e| !e.is_empty())
        .unwrap_or_else(|| "mp4".into());
    let bytes = copy.bytes();
    let detail = json!({"key": copy.key.as_str(), "bytes": bytes});
    let r = ctx
        .change(id, "restore-content", detail, async {
            let body = match &copy.record {
                Some(rec) => proof::read(ctx.store.as_ref(), rec).await,
                None => ctx.store.get(&copy.key).await,
            }?;
            let name = format!("{}.{ext}", id.0);
            let token = swap::upload(ctx, &name, bytes, body, "restore").await?;
            // An upload by the owner since the diagnosis is not overwritten.
            original_unchanged(ctx, d).await?;
            swap_content(ctx, id, &token, "restore").await
        })
        .await;
    match r {
        Ok(Gated::Planned) => {
            Outcome::Planned(format!("restore {} ({bytes} bytes) into Kaltura", copy.key)).into()
        }
        Ok(Gated::Done(())) => {
            let facts = crate::outcome::Facts::of_copy(copy);
            ctx.facts.note(id, |f| *f = facts);
            Step::Pending(Pending {
                entry: id.clone(),
                kind: PendingKind::Restore {
                    copy: Box::new(copy.clone()),
                },
            })
        }
        Err(e) => ctx.failed(id, &e).into(),
    }
}

/// A restore started earlier, polled: once Kaltura converted the restored content, check the
/// bytes, record, untag. `None` while Kaltura is still converting.
pub async fn settle(
    ctx: &Ctx,
    e: &MediaEntry,
    original: Option<&FlavorAsset>,
    copy: &ArchiveCopy,
) -> Option<Outcome> {
    match swap::progress(ctx, e, original).await {
        Progress::Converting => None,
        Progress::Failed(outcome) => Some(outcome),
        Progress::Converted => Some(finish(ctx, e, original, copy).await),
    }
}

async fn finish(
    ctx: &Ctx,
    e: &MediaEntry,
    original: Option<&FlavorAsset>,
    copy: &ArchiveCopy,
) -> Outcome {
    let Some(o) = original else {
        return Outcome::Failed("after the restore the entry has no original flavor".into());
    };
    if o.exact_bytes() != Some(copy.bytes()) {
        return Outcome::Failed(format!(
            "after the restore Kaltura reports {:?} bytes for the original, the copy {} has {}; left tagged {REPLACED}",
            o.exact_bytes(),
            copy.key,
            copy.bytes()
        ));
    }
    record_and_untag(ctx, e, o, copy, "restored").await
}

/// Tagged replaced but a real video is in Kaltura: untag (recording the match when it is one).
async fn untag_real(ctx: &Ctx, d: &Diagnosis) -> Outcome {
    let Some(o) = &d.original else {
        return Outcome::Skipped("no original flavor".into());
    };
    let newest = d.copies.list.iter().rev().find(|c| c.good());
    match newest.filter(|c| o.exact_bytes() == Some(c.bytes())) {
        Some(c) => record_and_untag(ctx, &d.entry, o, c, "finished an interrupted restore").await,
        None => match ctx.set_tag(&d.entry, REPLACED, false).await {
            Ok(Gated::Done(())) => Outcome::Done(
                "untagged flavors_deleted: Kaltura holds a new original (archive it again)".into(),
            ),
            Ok(Gated::Planned) => {
                Outcome::Planned("untag flavors_deleted (Kaltura holds a new original)".into())
            }
            Err(e) => Outcome::Failed(e.to_string()),
        },
    }
}

async fn record_and_untag(
    ctx: &Ctx,
    e: &MediaEntry,
    o: &FlavorAsset,
    copy: &ArchiveCopy,
    what: &str,
) -> Outcome {
    if let Some(rec) = copy.record.as_ref().filter(|_| copy.good()) {
        let same = SameAs {
            copy: copy.key.to_string(),
            bytes: rec.bytes,
            checksum: rec.crc64nvme.clone(),
            restored_at: crate::time::now(),
        };
        let detail = json!({"flavor": o.id.0, "version": o.version, "copy": copy.key.as_str()});
        let r = ctx
            .change(&e.id, "record-same-as", detail, async {
                let store = ctx.store.as_ref();
                Ok(copies::record_same_as(store, &e.id.0, o, &same).await?)
            })
            .await;
        match r {
            Err(err) => {
                return Outcome::Failed(format!("{what}, but recording the copy failed: {err}"))
            }
            Ok(Gated::Done(_)) => failpoint::hit("restore.after-record"),
            Ok(Gated::Planned) => {}
        }
    }
    match ctx.set_tag(e, REPLACED, false).await {
        Ok(Gated::Done(())) => {
            failpoint::hit("restore.after-untag");
            Outcome::Done(format!("{what} from {}", copy.key))
        }
        Ok(Gated::Planned) => Outcome::Planned(format!("{what}: untag {REPLACED}")),
        Err(err) => Outcome::Failed(format!("{what}, but untagging failed: {err}")),
    }
}
