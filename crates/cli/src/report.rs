//! `report`, and the page `run health` leaves in the store.

use std::io::Write;
use std::path::Path;

use archiver::report::{self, Prices, ReportData, ReportError, ASSUMED_KALTURA_PRICE};
use archiver::store::{ArchiveStore, StorageClass};

use crate::args::{KalturaArgs, PriceArgs, ReportArgs, ReportFormat};
use crate::commands::{connect, Kaltura};
use crate::exit;
use crate::failure::Failure;
use crate::open::{kaltura_now, open_store};
use crate::progress::Progress;

/// The prices given, checked (exit 2 before any network call).
pub(crate) fn prices(a: &PriceArgs) -> Result<Prices, Failure> {
    let classes = archiver::stats::prices(&a.prices)?;
    let kaltura = match a.kaltura_price {
        Some(p) if p.is_finite() && p >= 0.0 => p,
        Some(p) => {
            return Err(Failure::Usage(format!(
                "--kaltura-price (KALTURA_PRICE) must be a non-negative number of USD per GB-month, got {p}"
            )))
        }
        None => ASSUMED_KALTURA_PRICE,
    };
    Ok(Prices {
        kaltura,
        kaltura_assumed: a.kaltura_price.is_none(),
        classes,
    })
}

/// Walks Kaltura and reads the journals into the report's numbers, with progress on a terminal.
pub(crate) async fn gather(
    k: &Kaltura,
    store: &dyn ArchiveStore,
    prices: Prices,
    default_class: StorageClass,
    now: i64,
) -> Result<ReportData, Failure> {
    let progress = Progress::new("entries");
    let data = report::gather(
        &k.client,
        k.partner,
        store,
        prices,
        default_class.as_str(),
        now,
        |done, total| progress.update(done, total),
    )
    .await;
    progress.finish();
    data.map_err(|e| match e {
        ReportError::Kaltura(e) => Failure::selection(e, &k.url, k.partner),
        ReportError::Store(e) => e.into(),
    })
}

/// The page.
pub(crate) fn html(data: &ReportData) -> Result<String, Failure> {
    report::page::render(data).map_err(|e| Failure::Output(e.to_string()))
}

/// `report`.
pub async fn report(k: &KalturaArgs, a: &ReportArgs) -> Result<i32, Failure> {
    let prices = prices(&a.prices)?;
    let class = StorageClass::parse(&a.storage_class)?;
    let to_stdout = a.output == Path::new("-");
    if !to_stdout {
        let dir = a
            .output
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        if !dir.is_dir() {
            return Err(Failure::Usage(format!(
                "--output {}: the folder {} does not exist",
                a.output.display(),
                dir.display()
            )));
        }
    }
    let kaltura = connect(k)?;
    kaltura.client.login().await.map_err(|e| kaltura.fail(&e))?;
    let now = kaltura_now(&kaltura).await;
    let store = open_store(&a.store).await?;
    let data = gather(&kaltura, store.as_ref(), prices, class, now).await?;
    let text = match a.format {
        ReportFormat::Html => html(&data)?,
        ReportFormat::Json => {
            serde_json::to_string_pretty(&data).map_err(|e| Failure::Output(e.to_string()))? + "\n"
        }
    };
    if to_stdout {
        let mut out = std::io::stdout().lock();
        out.write_all(text.as_bytes())?;
        out.flush()?;
    } else {
        write_file(&a.output, text.as_bytes())?;
        crate::say::line(format!(
            "report: {} entries, {} archived, {} replaced, {:.2} USD saved a month; written to {}",
            data.library.total.entries,
            data.library.archived,
            data.library.replaced,
            data.now_monthly.saved_usd,
            a.output.display()
        ));
    }
    Ok(exit::SUCCESS)
}

/// Writes a file whole: a partial file beside it, renamed into place.
fn write_file(path: &Path, bytes: &[u8]) -> Result<(), Failure> {
    let name = path
        .file_name()
        .map_or("report".into(), |n| n.to_string_lossy().into_owned());
    let part = path.with_file_name(format!(".{name}.part-{}", std::process::id()));
    let r = std::fs::write(&part, bytes).and_then(|()| std::fs::rename(&part, path));
    if let Err(e) = r {
        let _ = std::fs::remove_file(&part);
        return Err(Failure::Output(format!(
            "cannot write {}: {e}",
            path.display()
        )));
    }
    Ok(())
}
