//! Opening what a command works with: the archive store (one way for every command), the
//! placeholders, and the run context with its journal.

use std::sync::Arc;
use std::time::Duration;

use archiver::context::{Ctx, Mode, Settings};
use archiver::notice::mail::{Mailer, SesMailer, SmtpMailer, SmtpSecurity};
use archiver::notice::template::Templates;
use archiver::notice::Notices;
use archiver::placeholder::{Placeholder, Placeholders};
use archiver::policy::Exemptions;
use archiver::shard::Shard;
use archiver::store::local::LocalStore;
use archiver::store::s3::{Encryption, S3StoreBuilder};
use archiver::store::{ArchiveStore, RestoreTier, StorageClass};

use crate::args::{ExemptArgs, KalturaArgs, MailVia, NoticeArgs, RunArgs, StoreArgs};
use crate::commands::{connect, Kaltura};
use crate::failure::Failure;

/// Opens the configured archive store.
pub async fn open_store(a: &StoreArgs) -> Result<Arc<dyn ArchiveStore>, Failure> {
    if let Some(dir) = &a.archive_dir {
        let store = LocalStore::new(dir.clone())?;
        // Temporary files of killed runs would otherwise stay for ever.
        let swept = store.sweep_stale_temp_files().await?;
        if swept > 0 {
            tracing::info!(swept, "removed temporary files left by killed runs");
        }
        return Ok(Arc::new(store));
    }
    let Some(bucket) = a.bucket.as_deref().filter(|b| !b.is_empty()) else {
        return Err(Failure::Usage(
            "no archive configured: set AWS_BUCKET (S3) or ARCHIVE_DIR (a local directory), or give --bucket / --archive-dir".into(),
        ));
    };
    let encryption = match a.sse.as_deref().map(str::trim) {
        None | Some("") => Encryption::BucketDefault,
        Some(s) if s.eq_ignore_ascii_case("AES256") => Encryption::Aes256,
        Some(key) => Encryption::Kms(key.to_string()),
    };
    let store = S3StoreBuilder::new(bucket)
        .with_prefix(a.prefix.clone())
        .with_encryption(encryption)
        .build()
        .await?;
    store.check_bucket().await?;
    Ok(Arc::new(store))
}

/// The placeholder to write, recognising every placeholder recorded in the store.
pub(crate) async fn placeholders(
    p: Option<&std::path::Path>,
    store: &dyn ArchiveStore,
) -> Result<Placeholders, Failure> {
    let bytes = Placeholder::from_setting(p).bytes()?;
    let mut placeholders = Placeholders::new(bytes);
    placeholders.load_recorded(store).await?;
    Ok(placeholders)
}

fn settings(r: &RunArgs) -> Result<Settings, Failure> {
    if !(r.years > 0.0 && r.years <= archiver::selection::MAX_YEARS) {
        return Err(Failure::Usage(format!(
            "--years (N_YEARS) must be above 0 and at most {}, got {}",
            archiver::selection::MAX_YEARS,
            r.years
        )));
    }
    if !(r.wait_minutes >= 0.0 && r.wait_minutes <= 24.0 * 60.0) {
        return Err(Failure::Usage(format!(
            "--wait-minutes (WAIT_MINUTES) must be between 0 and 1440, got {}",
            r.wait_minutes
        )));
    }
    Ok(Settings {
        jobs: usize::from(r.jobs),
        years: r.years,
        storage_class: StorageClass::parse(&r.storage_class)?,
        sidecar_class: match StorageClass::parse(&r.sidecar_class)? {
            c if c.needs_restore() => {
                return Err(Failure::Usage(format!(
                    "SIDECAR_STORAGE_CLASS / --sidecar-class {} needs a thaw to read; choose STANDARD, STANDARD_IA, GLACIER_IR or INTELLIGENT_TIERING",
                    c.as_str()
                )))
            }
            c => c,
        },
        restore_tier: RestoreTier::parse(&r.restore_tier)?,
        restore_days: r.restore_days,
        wait: Duration::from_secs_f64(r.wait_minutes * 60.0),
        ..Settings::default()
    })
}

/// A run, opened: Kaltura logged in, the store checked, the context built.
pub(crate) struct Opened {
    pub(crate) kaltura: Kaltura,
    pub(crate) store: Arc<dyn ArchiveStore>,
    pub(crate) ctx: Arc<Ctx>,
}

/// Opens a run from the command line's settings; the journal is named `journal_name`.
pub(crate) async fn open(
    k: &KalturaArgs,
    store: &StoreArgs,
    run: &RunArgs,
    journal_name: &str,
    shard: Option<Shard>,
    named_by_id: bool,
) -> Result<Opened, Failure> {
    let mut settings = settings(run)?;
    settings.shard = shard;
    // Entries named by id are the user's explicit choice: no exemption or notice applies.
    if !named_by_id {
        settings.exemptions = exemptions(&run.exempt)?;
        settings.notices = notices(&run.notice, &settings.exemptions).await?;
    }
    // The placeholder file is checked before any network call.
    Placeholder::from_setting(run.placeholder.as_deref()).bytes()?;
    let kaltura = connect(k)?;
    kaltura.client.login().await.map_err(|e| kaltura.fail(&e))?;
    let now = kaltura_now(&kaltura).await;
    let store = open_store(store).await?;
    let placeholders = placeholders(run.placeholder.as_deref(), store.as_ref()).await?;
    let mode = Mode::from_execute(run.execute);
    Ok(opened(
        kaltura,
        store,
        placeholders,
        settings,
        mode,
        journal_name,
        now,
    ))
}

/// Kaltura's clock, which stamps the dates the policy compares (`system.getTime`); this
/// machine's when Kaltura does not tell.
pub(crate) async fn kaltura_now(k: &Kaltura) -> i64 {
    match k.client.server_time().await {
        Ok(t) => t,
        Err(e) => {
            tracing::warn!(error = %e, "Kaltura did not tell its time; the policy uses this machine's clock");
            archiver::time::now()
        }
    }
}

/// The owner notices configured, checked before any network call; `None` when off.
pub(crate) async fn notices(
    a: &NoticeArgs,
    exemptions: &Exemptions,
) -> Result<Option<Notices>, Failure> {
    let Some(days) = a.notice_days else {
        return Ok(None);
    };
    let from = a
        .notice_from
        .as_deref()
        .map(str::trim)
        .filter(|f| !f.is_empty())
        .ok_or_else(|| {
            Failure::Usage(
                "NOTICE_DAYS is set but NOTICE_FROM is not: set the sender of owner notices, e.g. NOTICE_FROM='Media Team <media@example.edu>'".into(),
            )
        })?;
    for (what, address) in [
        ("NOTICE_FROM", Some(from)),
        ("NOTICE_FALLBACK", a.notice_fallback.as_deref()),
    ] {
        if let Some(address) = address {
            archiver::notice::mail::check_address(address, what)
                .map_err(|e| Failure::Usage(e.to_string()))?;
        }
    }
    let templates = Templates::load(a.notice_templates.as_deref())
        .map_err(|e| Failure::Usage(format!("NOTICE_TEMPLATES: {e}")))?;
    let mailer: Arc<dyn Mailer> = match a.mail_via {
        MailVia::Ses => Arc::new(SesMailer::from_environment().await),
        MailVia::Smtp => {
            let host = a.smtp_host.as_deref().filter(|h| !h.trim().is_empty()).ok_or_else(|| {
                Failure::Usage("NOTICE_DAYS is set but no mail service is: set SMTP_HOST (and SMTP_PORT, SMTP_SECURITY, SMTP_USER, SMTP_PASSWORD), or MAIL_VIA=ses".into())
            })?;
            let security: SmtpSecurity = a
                .smtp_security
                .parse()
                .map_err(|e| Failure::Usage(format!("SMTP_SECURITY / --smtp-security: {e}")))?;
            let login = match (&a.smtp_user, &a.smtp_password) {
                (Some(u), Some(p)) => Some((u.clone(), kaltura::SecretString::from(p.clone()))),
                (None, None) => None,
                _ => {
                    return Err(Failure::Usage(
                        "SMTP_USER and SMTP_PASSWORD go together: set both, or neither".into(),
                    ))
                }
            };
            let port = a.smtp_port.unwrap_or(security.default_port());
            Arc::new(
                SmtpMailer::new(host.trim(), port, security, login)
                    .map_err(|e| Failure::Usage(format!("SMTP: {e}")))?,
            )
        }
    };
    Ok(Some(Notices {
        days,
        from: from.to_string(),
        fallback: a.notice_fallback.clone().filter(|f| !f.trim().is_empty()),
        contact: a
            .notice_contact
            .clone()
            .filter(|c| !c.trim().is_empty())
            .unwrap_or_else(|| from.to_string()),
        exempt_tag: exemptions
            .tags
            .first()
            .cloned()
            .unwrap_or_else(|| archiver::policy::DEFAULT_EXEMPT_TAG.into()),
        templates,
        mailer,
    }))
}

/// The exemptions configured by flags and environment, the file read and checked.
pub(crate) fn exemptions(a: &ExemptArgs) -> Result<Exemptions, Failure> {
    let clean = |v: &[String]| -> Vec<String> {
        v.iter()
            .map(|x| x.trim().to_string())
            .filter(|x| !x.is_empty())
            .collect()
    };
    let ids = match &a.exempt_file {
        Some(path) => archiver::selection::read_id_file(path)
            .map_err(|e| Failure::Usage(format!("EXEMPT_FILE / --exempt-file: {e}")))?
            .into_iter()
            .collect(),
        None => Default::default(),
    };
    Ok(Exemptions {
        tags: clean(&a.exempt_tags)
            .into_iter()
            .map(|t| t.to_lowercase())
            .collect(),
        categories: clean(&a.exempt_categories),
        owners: clean(&a.exempt_owners),
        ids,
    })
}

/// Builds the context of a run over an open connection and store.
pub(crate) fn opened(
    kaltura: Kaltura,
    store: Arc<dyn ArchiveStore>,
    placeholders: Placeholders,
    settings: Settings,
    mode: Mode,
    journal_name: &str,
    now: i64,
) -> Opened {
    let ctx = Ctx::new(
        kaltura.client.clone(),
        store.clone(),
        placeholders,
        settings,
        mode,
        journal_name,
    )
    .judged_at(now);
    with_journal_flusher(kaltura, store, ctx)
}

/// The same run narrowed to one shard (claimed after the run was opened): same connection,
/// store, placeholders, run id and start time.
pub(crate) fn narrowed(o: &Opened, shard: Shard) -> Opened {
    let ctx = o.ctx.narrowed(shard);
    with_journal_flusher(o.kaltura.clone(), o.store.clone(), ctx)
}

fn with_journal_flusher(kaltura: Kaltura, store: Arc<dyn ArchiveStore>, ctx: Ctx) -> Opened {
    let ctx = Arc::new(ctx);
    // An executed run's journal goes to the store in parts while it runs, so a killed run
    // leaves all but its last part.
    if ctx.mode() == Mode::Execute {
        let (ctx, store) = (ctx.clone(), store.clone());
        let every = std::env::var("JOURNAL_FLUSH_SECONDS")
            .ok()
            .and_then(|v| v.parse::<f64>().ok())
            .filter(|v| *v > 0.0)
            .unwrap_or(30.0);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs_f64(every));
            tick.tick().await;
            loop {
                tick.tick().await;
                if let Err(e) = ctx.journal.flush(store.as_ref()).await {
                    tracing::warn!(error = %e, "a journal part could not be written; it goes with the next");
                }
            }
        });
    }
    Opened {
        kaltura,
        store,
        ctx,
    }
}

/// The context of a command that only looks (`explain`, `download`): a dry run with the policy's N.
pub(crate) fn looking(
    kaltura: &Kaltura,
    store: Arc<dyn ArchiveStore>,
    p: Placeholders,
    years: f64,
    now: i64,
) -> Opened {
    let settings = Settings {
        years,
        ..Settings::default()
    };
    opened(
        kaltura.clone(),
        store,
        p,
        settings,
        Mode::DryRun,
        "explain",
        now,
    )
}
