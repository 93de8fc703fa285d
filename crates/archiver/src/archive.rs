//! `archive`: initial → archived. Streams the READY original into the store with its metadata,
//! computing the tool's own checksums (CRC64NVME, SHA-256) of the bytes Kaltura sent; the store's
//! read-back must match them; then the copy's record is written once, and only then is the entry
//! tagged.

use serde_json::json;

use kaltura::FlavorAsset;

use crate::context::{Ctx, Gated};
use crate::copies;
use crate::diagnose::{state_name, Anomaly, Diagnosis, State};
use crate::error::{Context, Error, Result};
use crate::failpoint;
use crate::outcome::Outcome;
use crate::record::{self, CopyRecord};
use crate::sidecar;
use crate::store::checksum;
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
            Anomaly::TagWithoutCopy
            | Anomaly::CopyNotCurrent
            | Anomaly::LegacyCopyOnly
            | Anomaly::CopyFailsProof,
        ) => copy_and_tag(ctx, d).await,
        State::Anomaly(Anomaly::CopyWithoutTag) => {
            match ctx.set_tag(&d.entry, ARCHIVED, true).await {
                Ok(Gated::Done(())) => {
                    Outcome::Done("tagged: a verified copy already existed".into())
                }
                Ok(Gated::Planned) => {
                    Outcome::Planned("tag archived_to_s3 (a verified copy exists)".into())
                }
                Err(e) => Outcome::Failed(e.to_string()),
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
        Ok(Gated::Planned) => Outcome::Planned(format!(
            "archive flavor {} v{} ({} bytes) to {}",
            original.id.0,
            original.version,
            original.approx_bytes(),
            ctx.store
        )),
        Ok(Gated::Done((key, sidecar))) => {
            if let Err(e) = ctx.set_tag(&d.entry, ARCHIVED, true).await {
                return Outcome::Failed(format!("copied to {key} but tagging failed: {e}"));
            }
            failpoint::hit("archive.after-tag");
            Outcome::Done(format!("archived to {key}; {sidecar}"))
        }
        Err(e) => ctx.failed(&d.entry.id, &e),
    }
}

/// Streams the original into the store, checks the store's copy against the bytes received and
/// records them, then writes its sidecar, all as one gated change; returns the copy's key and
/// what became of the sidecar, in words. A sidecar that could not be written does not hold the
/// copy back: `repair` writes it later.
async fn put_verified(
    ctx: &Ctx,
    d: &Diagnosis,
    original: &FlavorAsset,
) -> Result<Gated<(String, String)>> {
    let key = d.copies.key_for_new_copy(&d.entry.id.0, original)?;
    let exact = original.exact_bytes();
    let detail = json!({"key": key.as_str(), "flavor": original.id.0, "version": original.version,
                        "bytes": exact, "class": ctx.settings.storage_class.as_str()});
    ctx.change(&d.entry.id, "put", detail, async {
        let record = put_and_record(ctx, d, original, &key).await?;
        let subject = sidecar::Subject {
            copy_key: key.as_str(),
            record: Some(&record),
            stored: None,
        };
        let said = match sidecar::write(ctx, &d.entry, &subject).await {
            Ok(s) => format!("sidecar of {} files", s.files.len()),
            Err(e) => {
                tracing::warn!(entry = %d.entry.id.0, error = %e, "the sidecar could not be written; repair writes it");
                format!("the sidecar could not be written ({e}); repair writes it")
            }
        };
        Ok((key.to_string(), said))
    })
    .await
}

async fn put_and_record(
    ctx: &Ctx,
    d: &Diagnosis,
    original: &FlavorAsset,
    key: &crate::store::ObjectKey,
) -> Result<CopyRecord> {
    let store = ctx.store.as_ref();
    let id = &d.entry.id;
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
    let url = ctx.urls.take(&original.id);
    let body = ctx
        .client
        .download_flavor_from(original, exact, url)
        .await?;
    let (body, digests) = checksum::tee(body);
    let info = store.put(key, body, &opts).await?;
    let received = digests.finish().await?;
    if ctx
        .placeholders
        .is_known(received.bytes, &received.crc64nvme)
    {
        return Err(Error::Inconsistent(format!(
            "Kaltura served a placeholder as the original of flavor {} v{}; it was not recorded as a recording (the copy at {key} is not used)",
            original.id.0, original.version
        )));
    }
    let record = CopyRecord {
        key: key.to_string(),
        version_id: info.version_id.clone(),
        entry_id: id.0.clone(),
        flavor_id: original.id.0.clone(),
        flavor_version: original.version,
        file_ext: original.file_ext.clone(),
        bytes: received.bytes,
        crc64nvme: received.crc64nvme.clone(),
        sha256: received.sha256.clone(),
        storage_class: info.storage_class.as_str().to_string(),
        archived_at: meta.archived_at,
        tool_version: meta.tool_version.clone(),
    };
    // The store's read-back must hold exactly the bytes received: S3's stored checksum of the
    // version written; a local directory's checksum of what its writer wrote (reading the file
    // again right now would only read the page cache back; the proofs before destructive steps
    // re-read it).
    let readback_agrees = info.size == received.bytes
        && info.checksum.as_deref() == Some(received.crc64nvme.as_str())
        && copies::size_agrees(received.bytes, original);
    if !readback_agrees {
        return Err(Error::Inconsistent(format!(
            "the copy at {key} does not verify ({} bytes, checksum {:?}) against the {} bytes received for flavor {} v{} ({:?} bytes); the entry stays untagged",
            info.size, info.checksum, received.bytes, original.id.0, original.version, exact
        )));
    }
    failpoint::hit("archive.after-put");
    record::write(store, &record).await.with_context(|| {
        format!("copied to {key}, but its record could not be written (the entry stays untagged)")
    })?;
    failpoint::hit("archive.after-record");
    ctx.facts.note(id, |f| {
        f.key = Some(record.key.clone());
        f.bytes = Some(record.bytes);
        f.flavor_id = Some(record.flavor_id.clone());
        f.flavor_version = Some(record.flavor_version);
        f.storage_class = Some(record.storage_class.clone());
    });
    ctx.journal.record(
        &id.0,
        "verified",
        json!({"key": key.as_str(), "version_id": record.version_id, "bytes": record.bytes,
               "storage_class": record.storage_class, "crc64nvme": record.crc64nvme,
               "sha256": record.sha256}),
    );
    Ok(record)
}
