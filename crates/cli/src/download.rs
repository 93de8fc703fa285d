//! `download --id`: the original, from Kaltura while it is there, else from its archive copy
//! (read against its record) — also when Kaltura cannot be reached or no longer has the entry.
//! A copy that needs a thaw is named, and with `--request-thaw` one is requested.

use std::io::Write;

use archiver::copies::ArchiveCopy;
use archiver::store::{ArchiveStore, RestoreStatus, RestoreTier};
use kaltura::EntryId;

use crate::args::{DownloadArgs, KalturaArgs};
use crate::commands::connect;
use crate::exit;
use crate::explain::diagnose_one;
use crate::failure::Failure;
use crate::open::{looking, open_store, placeholders};

/// `download --id`.
pub async fn download(k: &KalturaArgs, a: &DownloadArgs) -> Result<i32, Failure> {
    let kaltura = connect(k)?;
    let store = open_store(&a.store).await?;
    let placeholders = placeholders(a.placeholder.as_deref(), store.as_ref()).await?;
    let o = looking(
        &kaltura,
        store.clone(),
        placeholders,
        3.0,
        archiver::time::now(),
    );
    let id: &EntryId = &a.entry_id;
    let d = match diagnose_one(&kaltura, &o.ctx, id).await {
        Ok(d) => Some(d),
        // Kaltura is down, or the entry was deleted there: the archive alone answers.
        Err(f @ (Failure::Kaltura(_) | Failure::NotFound(_))) => {
            eprintln!("{}; looking in the archive alone", f.message());
            None
        }
        Err(e) => return Err(e),
    };
    let real = d.as_ref().and_then(|d| {
        d.original
            .as_ref()
            .filter(|o| o.is_ready() && !d.placeholder)
    });
    let (mut body, ext, source): (kaltura::ByteStream, String, String) = match (real, &d) {
        (Some(o), _) => (
            kaltura
                .client
                .download_flavor(o, o.exact_bytes())
                .await
                .map_err(|e| kaltura.fail(&e))?,
            o.file_ext.clone(),
            format!("Kaltura flavor {} v{}", o.id.0, o.version),
        ),
        (None, Some(d)) => from_archive(store.as_ref(), id, d.restore_from.as_ref(), a).await?,
        (None, None) => {
            let copies = archiver::copies::Copies::load(
                store.as_ref(),
                &id.0,
                archiver::proof::Depth::Quick,
                &o.ctx.placeholders,
            )
            .await?;
            from_archive(store.as_ref(), id, copies.restore_source(), a).await?
        }
    };
    let ext = if ext.is_empty() {
        "mp4".to_string()
    } else {
        ext
    };
    // `-o -`: the bytes on stdout, for a pipe.
    if a.output.as_deref() == Some(std::path::Path::new("-")) {
        let mut out = std::io::stdout().lock();
        let n = copy(&mut body, &mut out, &source).await?;
        out.flush()?;
        eprintln!("wrote {n} bytes to stdout from {source}");
        return Ok(exit::SUCCESS);
    }
    let path = a
        .output
        .clone()
        .unwrap_or_else(|| format!("{}.{ext}", id.0).into());
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    // A partial file beside the target, created as any file is (the usual permissions, under the
    // umask), renamed into place once complete.
    let name = path
        .file_name()
        .map_or("download".into(), |n| n.to_string_lossy().into_owned());
    let part = dir.join(format!(".{name}.part-{}", std::process::id()));
    let written: Result<u64, Failure> = async {
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&part)
            .map_err(|e| {
                Failure::Output(format!("cannot create a file in {}: {e}", dir.display()))
            })?;
        let n = copy(&mut body, &mut file, &source).await?;
        file.sync_all()?;
        std::fs::rename(&part, &path)
            .map_err(|e| Failure::Output(format!("cannot write {}: {e}", path.display())))?;
        Ok(n)
    }
    .await;
    let n = match written {
        Ok(n) => n,
        Err(e) => {
            let _ = std::fs::remove_file(&part);
            return Err(e);
        }
    };
    eprintln!("wrote {} ({n} bytes) from {source}", path.display());
    Ok(exit::SUCCESS)
}

/// The bytes of an archive copy (read against its record), its extension and its name; a copy
/// that needs a thaw is an error that says so (and requests one with `--request-thaw`).
async fn from_archive(
    store: &dyn ArchiveStore,
    id: &EntryId,
    copy: Option<&ArchiveCopy>,
    a: &DownloadArgs,
) -> Result<(kaltura::ByteStream, String, String), Failure> {
    let Some(c) = copy else {
        return Err(Failure::NotFound(format!(
            "entry {} has no original in Kaltura and no archive copy in {store}",
            id.0
        )));
    };
    if let Some(info) = c
        .info
        .as_ref()
        .filter(|i| matches!(i.restore, RestoreStatus::Frozen | RestoreStatus::Thawing))
    {
        let class = info.storage_class.as_str();
        if info.restore == RestoreStatus::Thawing {
            return Err(Failure::Failed(format!(
                "the copy {} ({class}) is being thawed; run download again once it is readable",
                c.key
            )));
        }
        if !a.request_thaw {
            return Err(Failure::Failed(format!(
                "the copy {} is in {class} and needs a thaw first: run again with --request-thaw (then again once it is readable)",
                c.key
            )));
        }
        let tier = RestoreTier::parse(&a.restore_tier)?;
        store.restore(&c.key, tier, 7).await?;
        return Err(Failure::Failed(format!(
            "requested a thaw of {} ({class}, tier {}); run download again once it is readable",
            c.key,
            tier.as_str()
        )));
    }
    let body = match &c.record {
        Some(rec) => archiver::proof::read(store, rec).await?,
        None => store.get(&c.key).await?,
    };
    let ext = c
        .record
        .as_ref()
        .map(|r| r.file_ext.clone())
        .unwrap_or_default();
    Ok((body, ext, format!("archive copy {} in {store}", c.key)))
}

/// Copies the source to `out`; returns the bytes copied.
async fn copy(
    body: &mut kaltura::ByteStream,
    out: &mut impl Write,
    source: &str,
) -> Result<u64, Failure> {
    use futures_util::StreamExt;
    let mut n = 0u64;
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| Failure::Store(format!("reading {source} failed: {e}")))?;
        out.write_all(&chunk)?;
        n += chunk.len() as u64;
    }
    Ok(n)
}
