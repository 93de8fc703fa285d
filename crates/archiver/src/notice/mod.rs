//! Owner notices: before the policy archives a recording its owner hears, in one notice per
//! owner per run listing all of theirs, and the entry records it (the tag
//! `archive_notice_YYYYMMDD`); it is archived only after the notice period, and only if the
//! policy still selects it then. When a restore completes, the owner hears that it is back.
//!
//! The notice is sent first and recorded after: a crash between the two sends it again at the
//! next run, never not at all. A notice that cannot be sent (no address, an address refused, a
//! mail service that is down) leaves its entries unarchived; the run goes on.

pub mod mail;
pub mod template;

use futures_util::StreamExt;
use serde_json::json;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use kaltura::{EntryId, MediaEntry};

use crate::context::{Ctx, Gated};
use crate::error::Error;
use crate::outcome::Outcome;
use crate::policy::{notice_due, notice_tag, NOTICE_TAG_PREFIX};
use crate::time::date;
use mail::Mailer;
use template::{Kind, Templates, Values};

/// How owners are told.
#[derive(Debug, Clone)]
pub struct Notices {
    /// Days between the notice and the archiving.
    pub days: u32,
    /// The sender (`Media Team <media@example.edu>`).
    pub from: String,
    /// Where notices for owners without an address go; without it their entries wait.
    pub fallback: Option<String>,
    /// Whom owners ask to keep a recording (named in the notice).
    pub contact: String,
    /// The tag that keeps a recording (named in the notice).
    pub exempt_tag: String,
    /// The wording.
    pub templates: Templates,
    /// The mail service.
    pub mailer: Arc<dyn Mailer>,
}

/// An entry with its state before the command, and its outcome.
pub type Row = (EntryId, String, Outcome);

/// Tells the owners of `entries` (each with its state) that they will be archived: one notice
/// per owner, then the notice tag on each entry. Returns each entry's outcome.
pub async fn tell_owners(ctx: &Ctx, entries: Vec<(MediaEntry, String)>) -> Vec<Row> {
    let Some(n) = ctx.settings.notices.clone() else {
        return entries
            .into_iter()
            .map(|(e, s)| {
                (
                    e.id,
                    s,
                    Outcome::Failed("notices are not configured".into()),
                )
            })
            .collect();
    };
    let by_owner = group_by_owner(entries);
    let addresses = match addresses(ctx, by_owner.keys()).await {
        Ok(a) => a,
        Err(e) => {
            let why = format!("not archived yet: its owner could not be looked up in Kaltura ({e}); the next run tries again");
            return by_owner
                .into_values()
                .flatten()
                .map(|(e, s)| (e.id, s, Outcome::Failed(why.clone())))
                .collect();
        }
    };
    let sent_day = ctx.now - ctx.now.rem_euclid(86_400);
    let due = date(notice_due(sent_day, n.days));
    let tag = notice_tag(ctx.now);
    let n = &n;
    let (addresses, due, tag) = (&addresses, &due, &tag);
    futures_util::stream::iter(by_owner)
        .map(|(owner, entries)| async move {
            let to = addresses.get(&owner).cloned().or_else(|| n.fallback.clone());
            let Some(to) = to else {
                let why = format!("not archived: its owner {} has no e-mail address in Kaltura, so cannot be told (give them one, set NOTICE_FALLBACK to tell a team address, or exempt the entry)", shown(&owner));
                return entries
                    .into_iter()
                    .map(|(e, s)| (e, s, Outcome::Skipped(why.clone())))
                    .collect::<Vec<_>>();
            };
            let values = archive_values(ctx, n, &owner, due, &entries);
            tell(ctx, n, &owner, &to, Kind::Archive, &values, entries, |sent| match sent {
                Err(e) => Outcome::Failed(format!("not archived: the notice to {} <{to}> was not sent ({e}); the next run tries again", shown(&owner))),
                Ok(false) => Outcome::Planned(format!("would tell {} <{to}> in one notice with their other recordings; then archived on or after {due} if still unplayed", shown(&owner))),
                Ok(true) => Outcome::Waiting(format!("told {} <{to}>; archived on or after {due} if still unplayed", shown(&owner))),
            })
            .await
        })
        .buffer_unordered(ctx.settings.jobs.max(1))
        .flat_map(futures_util::stream::iter)
        .map(|(entry, state, outcome)| async move {
            let Outcome::Waiting(told) = outcome else {
                return (entry.id, state, outcome);
            };
            crate::failpoint::hit("notice.after-send");
            // The notice went out: record it on the entry, keeping every other tag.
            let mut tags: Vec<String> = entry
                .tag_list()
                .into_iter()
                .filter(|t| !t.starts_with(NOTICE_TAG_PREFIX))
                .collect();
            tags.push(tag.clone());
            let recorded = ctx
                .change(&entry.id, "tag", json!({"tag": tag}), async {
                    ctx.client.set_tags(&entry.id, &tags).await?;
                    Ok(())
                })
                .await;
            let outcome = match recorded {
                Ok(_) => Outcome::Waiting(told),
                Err(e) => Outcome::Failed(format!(
                    "{told}, but the notice could not be recorded on the entry ({e}); the next run tells them again"
                )),
            };
            (entry.id, state, outcome)
        })
        .buffer_unordered(ctx.settings.jobs.max(1))
        .collect()
        .await
}

/// Tells the owners of entries whose restore completed that they are back, one notice per
/// owner; each outcome's detail says whether the owner was told. Restores stand either way.
pub async fn tell_restored(ctx: &Ctx, done: Vec<(MediaEntry, String, Outcome)>) -> Vec<Row> {
    let Some(n) = ctx.settings.notices.clone() else {
        return done.into_iter().map(|(e, s, o)| (e.id, s, o)).collect();
    };
    let entries = done.into_iter().map(|(e, s, o)| (e, (s, o))).collect();
    let by_owner = group_by_owner(entries);
    let addresses = addresses(ctx, by_owner.keys()).await;
    let n = &n;
    let addresses = &addresses;
    let told: Vec<(MediaEntry, (String, Outcome), String)> = futures_util::stream::iter(by_owner)
        .map(|(owner, entries)| async move {
            let to = match addresses {
                Ok(a) => a.get(&owner).cloned().or_else(|| n.fallback.clone()),
                Err(_) => None,
            };
            let Some(to) = to else {
                let why = match addresses {
                    Err(e) => format!("its owner could not be looked up to be told ({e})"),
                    Ok(_) => format!(
                        "its owner {} has no e-mail address to be told",
                        shown(&owner)
                    ),
                };
                return entries
                    .into_iter()
                    .map(|(e, s)| (e, s, why.clone()))
                    .collect::<Vec<_>>();
            };
            let values = Values {
                fields: vec![
                    ("owner", owner.clone()),
                    ("count", entries.len().to_string()),
                    (
                        "is_are",
                        if entries.len() == 1 { "is" } else { "are" }.into(),
                    ),
                ],
                entries: entries
                    .iter()
                    .map(|(e, _)| vec![("name", e.name.clone()), ("id", e.id.0.clone())])
                    .collect(),
            };
            tell(
                ctx,
                n,
                &owner,
                &to,
                Kind::Restored,
                &values,
                entries,
                |sent| match sent {
                    Ok(_) => format!("{} <{to}> told it is back", shown(&owner)),
                    Err(e) => format!("the notice to {} <{to}> was not sent ({e})", shown(&owner)),
                },
            )
            .await
        })
        .buffer_unordered(ctx.settings.jobs.max(1))
        .flat_map(futures_util::stream::iter)
        .collect()
        .await;
    told.into_iter()
        .map(|(e, (state, outcome), note)| {
            let outcome = match outcome {
                Outcome::Done(d) => Outcome::Done(format!("{d}; {note}")),
                other => other,
            };
            (e.id, state, outcome)
        })
        .collect()
}

/// Sends one notice of `kind` to `to` about `entries` through the gate, and words each entry's
/// result with `word` (`Ok(true)` sent, `Ok(false)` planned in a dry run).
#[allow(clippy::too_many_arguments)]
async fn tell<S, T>(
    ctx: &Ctx,
    n: &Notices,
    owner: &str,
    to: &str,
    kind: Kind,
    values: &Values,
    entries: Vec<(MediaEntry, S)>,
    word: impl Fn(Result<bool, &Error>) -> T,
) -> Vec<(MediaEntry, S, T)> {
    let rendered = n.templates.render(kind, values);
    let ids: Vec<&str> = entries.iter().map(|(e, _)| e.id.0.as_str()).collect();
    let action = match kind {
        Kind::Archive => "notice",
        Kind::Restored => "restore-notice",
    };
    let sent = match mail::message(&n.from, to, &rendered) {
        Err(e) => Err(Error::from(e)),
        Ok(message) => ctx
            .change(
                &EntryId(format!("owner:{owner}")),
                action,
                json!({"to": to, "subject": rendered.subject, "entries": ids}),
                async { Ok(n.mailer.send(message).await?) },
            )
            .await
            .map(|g| matches!(g, Gated::Done(()))),
    };
    entries
        .into_iter()
        .map(|(e, s)| {
            let w = word(sent.as_ref().map(|b| *b));
            (e, s, w)
        })
        .collect()
}

fn archive_values(
    ctx: &Ctx,
    n: &Notices,
    owner: &str,
    due: &str,
    entries: &[(MediaEntry, String)],
) -> Values {
    Values {
        fields: vec![
            ("owner", owner.to_string()),
            ("count", entries.len().to_string()),
            ("date", due.to_string()),
            ("days", n.days.to_string()),
            ("years", ctx.settings.years.to_string()),
            ("contact", n.contact.clone()),
            ("tag", n.exempt_tag.clone()),
        ],
        entries: entries
            .iter()
            .map(|(e, _)| {
                vec![
                    ("name", e.name.clone()),
                    ("id", e.id.0.clone()),
                    ("created", date(e.created_at)),
                    (
                        "last_played",
                        e.last_played_at.map(date).unwrap_or_else(|| "never".into()),
                    ),
                    ("plays", e.plays.to_string()),
                ]
            })
            .collect(),
    }
}

fn group_by_owner<S>(entries: Vec<(MediaEntry, S)>) -> BTreeMap<String, Vec<(MediaEntry, S)>> {
    let mut by_owner: BTreeMap<String, Vec<(MediaEntry, S)>> = BTreeMap::new();
    for (e, s) in entries {
        by_owner
            .entry(e.user_id.trim().to_string())
            .or_default()
            .push((e, s));
    }
    by_owner
}

/// The addresses of these owners, in one `user.list` per 500.
async fn addresses(
    ctx: &Ctx,
    owners: impl Iterator<Item = &String>,
) -> Result<HashMap<String, String>, kaltura::Error> {
    let ids: Vec<String> = owners.filter(|o| !o.is_empty()).cloned().collect();
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let users = ctx.client.users_by_id(&ids).await?;
    Ok(users
        .into_iter()
        .filter_map(|u| Some((u.id.clone(), u.address()?.to_string())))
        .collect())
}

fn shown(owner: &str) -> &str {
    if owner.is_empty() {
        "(no owner)"
    } else {
        owner
    }
}
