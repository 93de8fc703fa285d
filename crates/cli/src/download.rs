//! `download --id`: the original, from Kaltura while it is there, else from its archive copy
//! (read against its record).

use std::io::Write;

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
    let d = diagnose_one(&kaltura, &o.ctx, &a.entry_id).await?;
    let id: &EntryId = &d.entry.id;
    let real = d
        .original
        .as_ref()
        .filter(|o| o.is_ready() && !d.placeholder);
    let (mut body, ext, source): (kaltura::ByteStream, String, String) =
        match (real, &d.restore_from) {
            (Some(o), _) => (
                kaltura
                    .client
                    .download_flavor(o, o.exact_bytes())
                    .await
                    .map_err(|e| kaltura.fail(&e))?,
                o.file_ext.clone(),
                format!("Kaltura flavor {} v{}", o.id.0, o.version),
            ),
            (None, Some(c)) => (
                match &c.record {
                    Some(rec) => archiver::proof::read(store.as_ref(), rec).await?,
                    None => store.get(&c.key).await?,
                },
                c.record
                    .as_ref()
                    .map(|r| r.file_ext.clone())
                    .unwrap_or_default(),
                format!("archive copy {} in {store}", c.key),
            ),
            (None, None) => {
                return Err(Failure::NotFound(format!(
                    "entry {} has no original in Kaltura and no archive copy",
                    id.0
                )))
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
