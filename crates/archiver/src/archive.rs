//! `archive`: initial → archived. Streams the READY original into the store with its metadata,
//! verifies the copy (exact bytes, checksum, metadata) and only then tags the entry.

use serde_json::json;

use kaltura::FlavorAsset;

use crate::context::Ctx;
use crate::copies;
use crate::diagnose::{state_name, Anomaly, Diagnosis, State};
use crate::failpoint;
use crate::outcome::Outcome;
use crate::store::{ArchiveMeta, PutOptions};
use crate::tags::ARCHIVED;

/// Runs `archive` for a diagnosed entry.
pub async fn archive(ctx: &Ctx, d: &Diagnosis) -> Outcome {
    match &d.state {
        State::Archived => {
            Outcome::DoneBefore("a verified copy of the current original exists".into())
        }
        State::Initial
        | State::Anomaly(
            Anomaly::TagWithoutCopy | Anomaly::CopyNotCurrent | Anomaly::LegacyCopyOnly,
        ) => copy_and_tag(ctx, d).await,
        State::Anomaly(Anomaly::CopyWithoutTag) => {
            match ctx.set_tag(&d.entry, ARCHIVED, true).await {
                Ok(()) if ctx.settings.execute => {
                    Outcome::Done("tagged: a verified copy already existed".into())
                }
                Ok(()) => Outcome::Planned("tag archived_to_s3 (a verified copy exists)".into()),
                Err(e) => Outcome::Failed(e),
            }
        }
        State::Replaced | State::Thawing => Outcome::DoneBefore(format!(
            "{}: the original is archived and replaced",
            state_name(&d.state)
        )),
        State::Converting => Outcome::Skipped("Kaltura is converting new content for it".into()),
        State::NotApplicable(why) => Outcome::Skipped(why.clone()),
        State::Anomaly(a) => Outcome::Skipped(format!("{}; run repair", a.describe())),
    }
}

/// Copies the current original to a new key (never over an existing copy), verifies, tags.
async fn copy_and_tag(ctx: &Ctx, d: &Diagnosis) -> Outcome {
    let Some(original) = d.original.as_ref() else {
        return Outcome::Skipped("no original flavor".into());
    };
    match put_verified(ctx, d, original).await {
        Ok(None) => Outcome::Planned(format!(
            "archive flavor {} v{} ({} bytes) to {}",
            original.id.0,
            original.version,
            original.approx_bytes(),
            ctx.store
        )),
        Ok(Some(key)) => {
            failpoint::hit("archive.after-put");
            if let Err(e) = ctx.set_tag(&d.entry, ARCHIVED, true).await {
                return Outcome::Failed(format!("copied to {key} but tagging failed: {e}"));
            }
            failpoint::hit("archive.after-tag");
            Outcome::Done(format!("archived to {key}"))
        }
        Err(e) => Outcome::Failed(e),
    }
}

/// Streams the original into the store and checks the result; `None` in a dry run.
async fn put_verified(
    ctx: &Ctx,
    d: &Diagnosis,
    original: &FlavorAsset,
) -> Result<Option<String>, String> {
    let store = ctx.store.as_ref();
    let id = &d.entry.id;
    let key = copies::key_for_new_copy(store, &id.0, original)
        .await
        .map_err(|e| e.to_string())?;
    let exact = original.exact_bytes();
    let meta = ArchiveMeta {
        entry_id: id.0.clone(),
        flavor_id: original.id.0.clone(),
        flavor_version: original.version,
        file_ext: original.file_ext.clone(),
        archived_at: crate::time::now(),
        tool_version: env!("CARGO_PKG_VERSION").to_string(),
    };
    let opts = PutOptions {
        meta: meta.clone(),
        expected_len: exact,
        size_hint: Some(original.approx_bytes()).filter(|_| exact.is_none()),
        storage_class: ctx.settings.storage_class,
    };
    let detail = json!({"key": key.as_str(), "flavor": original.id.0, "version": original.version,
                        "bytes": exact, "class": ctx.settings.storage_class.as_str()});
    let put = ctx.gate(id, "put", detail, async {
        let url = ctx.urls.take(&original.id);
        let body = ctx
            .client
            .download_flavor_from(original, exact, url)
            .await
            .map_err(|e| e.to_string())?;
        store
            .put(&key, body, &opts)
            .await
            .map_err(|e| e.to_string())
    });
    // The store returns what it reads back after the write; verify that.
    let Some(info) = put.await? else {
        return Ok(None);
    };
    let ok = info.checksum.is_some()
        && info.meta.as_ref() == Some(&meta)
        && copies::holds(&info, original);
    if !ok {
        return Err(format!(
            "the copy at {key} does not verify ({} bytes, checksum {:?}) against flavor {} v{} ({:?} bytes); the entry stays untagged",
            info.size, info.checksum, original.id.0, original.version, exact
        ));
    }
    ctx.journal.record(
        &id.0,
        "verified",
        json!({"key": key.as_str(), "bytes": info.size, "checksum": info.checksum}),
    );
    Ok(Some(key.to_string()))
}
