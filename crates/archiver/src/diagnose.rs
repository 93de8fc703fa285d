//! The state of an entry (docs/architecture.md), derived from its tags, its original flavor and its archive
//! copies — never stored — and the anomalies a crash or a human can leave behind.

use futures_util::TryStreamExt;
use kaltura::{FlavorAsset, MediaEntry, MediaType};

use crate::context::Ctx;
use crate::copies::{ArchiveCopy, Copies};
use crate::error::Result;
use crate::proof::Depth;
use crate::store::RestoreStatus;
use crate::tags::{ARCHIVED, REPLACED};

/// Where an entry stands.
#[derive(Debug, Clone, PartialEq)]
pub enum State {
    /// The real video in Kaltura, no archive copy, no tags.
    Initial,
    /// The real video in Kaltura and a verified copy of it; tagged archived.
    Archived,
    /// The placeholder in Kaltura, a verified copy of the real video; both tags.
    Replaced,
    /// Replaced, and a Glacier restore of the copy is in progress.
    Thawing,
    /// Kaltura is converting new content for the entry (a replacement or restore under way).
    Converting,
    /// Nothing to archive: an image, or an entry that is not READY.
    NotApplicable(String),
    /// Something a crash or a human left behind; see the anomaly.
    Anomaly(Anomaly),
}

/// Inconsistent combinations, each with a repair.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Anomaly {
    /// A verified copy of the current original exists but the entry is not tagged archived.
    CopyWithoutTag,
    /// Tagged archived, but no copy exists at all.
    TagWithoutCopy,
    /// Tagged archived, but the copies hold another flavor or version (re-uploaded after
    /// archiving).
    CopyNotCurrent,
    /// Only a copy written by another tool (no metadata, no checksum) exists.
    LegacyCopyOnly,
    /// The placeholder is in Kaltura and a verified copy exists, but a tag is missing.
    PlaceholderWithoutTag,
    /// Tagged replaced, but Kaltura holds a real video (an interrupted restore, or a new upload).
    ReplacedTagOnRealVideo,
    /// The placeholder (or nothing) is in Kaltura and no verified copy exists: the video may be
    /// lost; needs a human.
    NoVerifiedCopy,
    /// Tagged archived, and the copy of the current original fails its proof (its bytes changed
    /// in the store, or it is gone): archive again while Kaltura still has the original.
    CopyFailsProof,
    /// The placeholder (or nothing) is in Kaltura and every archive copy fails its proof: the
    /// recording is at risk.
    AtRisk,
    /// The entry has no original flavor, but a verified copy exists (restore it).
    NoOriginal,
}

impl Anomaly {
    /// What is wrong, in words.
    pub fn describe(&self) -> &'static str {
        match self {
            Anomaly::CopyWithoutTag => {
                "a verified copy exists but the entry is not tagged archived_to_s3"
            }
            Anomaly::TagWithoutCopy => "tagged archived_to_s3 but there is no archive copy",
            Anomaly::CopyNotCurrent => {
                "the archive copy is of an older flavor or version (re-uploaded after archiving)"
            }
            Anomaly::LegacyCopyOnly => {
                "only a legacy copy exists (no metadata or checksum): unverified"
            }
            Anomaly::PlaceholderWithoutTag => "the placeholder is in Kaltura but a tag is missing",
            Anomaly::ReplacedTagOnRealVideo => {
                "tagged flavors_deleted but Kaltura holds a real video"
            }
            Anomaly::NoVerifiedCopy => {
                "the placeholder (or nothing) is in Kaltura and there is no verified archive copy"
            }
            Anomaly::NoOriginal => {
                "the entry has no original flavor but a verified archive copy exists"
            }
            Anomaly::CopyFailsProof => {
                "the archive copy of the current original does not hold the archived bytes"
            }
            Anomaly::AtRisk => {
                "AT RISK: the placeholder (or nothing) is in Kaltura and no archive copy holds the archived bytes"
            }
        }
    }

    /// What `repair` does about it.
    pub fn repair(&self) -> &'static str {
        match self {
            Anomaly::CopyWithoutTag => "tag archived_to_s3",
            Anomaly::TagWithoutCopy
            | Anomaly::CopyNotCurrent
            | Anomaly::LegacyCopyOnly
            | Anomaly::CopyFailsProof => {
                "archive the current original again (a new verified copy; old copies stay)"
            }
            Anomaly::PlaceholderWithoutTag => "add the missing tags",
            Anomaly::ReplacedTagOnRealVideo => {
                "untag flavors_deleted (recording that the copy matches when it does)"
            }
            Anomaly::NoVerifiedCopy => "nothing automatic: find the video (older bucket versions, backups) and re-upload it",
            Anomaly::NoOriginal => "restore the copy into Kaltura",
            Anomaly::AtRisk => "nothing automatic: keep the bad copy; on a versioned bucket an older object version may hold the bytes (`verify` lists them); otherwise find the recording in backups or with its owner and re-upload it",
        }
    }
}

/// An entry with everything known about it.
#[derive(Debug, Clone)]
pub struct Diagnosis {
    /// The entry.
    pub entry: MediaEntry,
    /// Its original flavor, if it has one.
    pub original: Option<FlavorAsset>,
    /// Whether the original is a placeholder we wrote.
    pub placeholder: bool,
    /// The proven copy that holds the current original (real video), if any.
    pub matching: Option<ArchiveCopy>,
    /// The copy to restore from (placeholder or no original), if any.
    pub restore_from: Option<ArchiveCopy>,
    /// Every copy, checked.
    pub copies: Copies,
    /// The state.
    pub state: State,
}

impl Diagnosis {
    /// Whether the copy to restore from is a legacy one (no metadata or checksum).
    pub fn legacy(&self) -> bool {
        self.restore_from
            .as_ref()
            .is_some_and(ArchiveCopy::unrecorded)
    }
}

/// Whether an original flavor is a placeholder: same size as a known one, then same bytes.
pub async fn is_placeholder(ctx: &Ctx, flavor: &FlavorAsset) -> Result<bool> {
    let Some(len) = flavor.exact_bytes() else {
        return Ok(false);
    };
    if !ctx.placeholders.size_matches(len) {
        return Ok(false);
    }
    let stream = ctx.client.download_flavor(flavor, Some(len)).await?;
    let parts: Vec<bytes::Bytes> = stream.try_collect().await?;
    Ok(ctx.placeholders.matches(&parts.concat()))
}

/// Diagnoses one entry, given its original flavor as listed with the page; its copies are
/// checked to `depth`.
pub async fn diagnose(
    ctx: &Ctx,
    entry: &MediaEntry,
    original: Option<&FlavorAsset>,
    depth: Depth,
) -> Result<Diagnosis> {
    let store = ctx.store.as_ref();
    let id = &entry.id.0;
    let (archived, replaced) = (entry.has_tag(ARCHIVED), entry.has_tag(REPLACED));
    let mut d = Diagnosis {
        entry: entry.clone(),
        original: original.cloned(),
        placeholder: false,
        matching: None,
        restore_from: None,
        copies: Copies::default(),
        state: State::Initial,
    };
    if entry.media_type == MediaType::Image {
        d.state = State::NotApplicable("an image: nothing to archive".into());
        return Ok(d);
    }
    if !entry.replacing_entry_id.is_empty() {
        d.state = State::Converting;
        return Ok(d);
    }
    let ready = original.filter(|o| o.is_ready());
    let real = match ready {
        Some(o) => {
            d.placeholder = is_placeholder(ctx, o).await?;
            (!d.placeholder).then_some(o)
        }
        None => None,
    };
    if real.is_none() && !d.placeholder && original.is_some() && ready.is_none() {
        d.state = State::NotApplicable("the original flavor is not READY".into());
        return Ok(d);
    }
    d.copies = Copies::load(store, id, depth, &ctx.placeholders).await?;
    if let Some(o) = real {
        d.matching = d.copies.matching(store, id, o).await?.cloned();
        let copies = &d.copies;
        d.state = match (archived, replaced, &d.matching) {
            (_, true, _) => State::Anomaly(Anomaly::ReplacedTagOnRealVideo),
            (true, false, Some(_)) => State::Archived,
            (false, false, Some(_)) => State::Anomaly(Anomaly::CopyWithoutTag),
            (false, false, None) => State::Initial,
            (true, false, None) if !copies.bad_of(o).is_empty() => {
                State::Anomaly(Anomaly::CopyFailsProof)
            }
            (true, false, None) if copies.is_empty() => State::Anomaly(Anomaly::TagWithoutCopy),
            (true, false, None) if copies.list.iter().all(ArchiveCopy::unrecorded) => {
                State::Anomaly(Anomaly::LegacyCopyOnly)
            }
            (true, false, None) => State::Anomaly(Anomaly::CopyNotCurrent),
        };
        return Ok(d);
    }
    // The placeholder, or no original: restore from the newest proven copy; a legacy copy (the
    // reference tool's) is still the video when no proven one exists — health flags it.
    d.restore_from = d.copies.restore_source().cloned();
    let some_copies = !d.copies.is_empty();
    d.state = match (&d.restore_from, d.placeholder) {
        (None, _) if some_copies => State::Anomaly(Anomaly::AtRisk),
        (None, true) => State::Anomaly(Anomaly::NoVerifiedCopy),
        (None, false) if archived || replaced => State::Anomaly(Anomaly::NoVerifiedCopy),
        (None, false) => State::NotApplicable("no original flavor and no archive copy".into()),
        (Some(_), false) => State::Anomaly(Anomaly::NoOriginal),
        (Some(c), true) if archived && replaced => {
            let thawing = c
                .info
                .as_ref()
                .is_some_and(|i| i.restore == RestoreStatus::Thawing);
            if thawing {
                State::Thawing
            } else {
                State::Replaced
            }
        }
        (Some(_), true) => State::Anomaly(Anomaly::PlaceholderWithoutTag),
    };
    Ok(d)
}

/// The state in a word, for reports.
pub fn state_name(s: &State) -> String {
    match s {
        State::Initial => "initial".into(),
        State::Archived => "archived".into(),
        State::Replaced => "replaced".into(),
        State::Thawing => "thawing".into(),
        State::Converting => "converting".into(),
        State::NotApplicable(_) => "not-applicable".into(),
        State::Anomaly(_) => "anomaly".into(),
    }
}
