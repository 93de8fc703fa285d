//! The report: what the archiver did, for the people who pay for Kaltura's storage. The facts
//! come from Kaltura (one walk of every entry, with flavors: [`crate::stats::Stats`]) and from
//! the run journals in the store ([`history`]); [`page`] renders them as one self-contained HTML
//! page with charts drawn by plotters to inline SVG ([`charts`]).

pub mod charts;
pub mod history;
pub mod page;

use std::collections::BTreeMap;

use kaltura::Client;

use crate::selection::{Flavors, Selection, SelectionError, Walker};
use crate::stats::{monthly_cost, Stats};
use crate::store::ArchiveStore;
use crate::time::civil;

pub use history::{History, MonthSavings, RunTally, WaitingRestore};

/// Where the report of `run health` goes in the store: the latest, and a dated copy per run.
pub const LATEST_KEY: &str = "reports/latest.html";

/// The dated key of a report made by run `run_id` at `at`.
pub fn dated_key(at: i64, run_id: &str) -> String {
    let (y, m, d) = civil(at);
    format!("reports/{y:04}/{m:02}/{d:02}/{run_id}.html")
}

/// Prices the report computes money with, in USD per GB-month.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Prices {
    /// What Kaltura charges for a GB stored a month (the partner's contract).
    pub kaltura: f64,
    /// Whether `kaltura` is the built-in assumption rather than a price the operator gave.
    pub kaltura_assumed: bool,
    /// The store's price per S3 class.
    pub classes: BTreeMap<String, f64>,
}

impl Prices {
    /// The price of a class; an unknown class is priced as STANDARD (the dearest).
    pub fn class(&self, class: &str) -> f64 {
        self.classes
            .get(class)
            .or_else(|| self.classes.get("STANDARD"))
            .copied()
            .unwrap_or(0.0)
    }
}

/// The assumed Kaltura storage price when the operator gives none (USD per GB-month). It is
/// not a Kaltura list price: contracts differ, so the page says it was assumed.
pub const ASSUMED_KALTURA_PRICE: f64 = 0.10;

/// Everything the page shows.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ReportData {
    /// When it was made (Unix seconds).
    pub generated_at: i64,
    /// The Kaltura partner.
    pub partner: i64,
    /// The store, as named in messages.
    pub store: String,
    /// The library as Kaltura lists it now.
    pub library: Stats,
    /// Entries created per day (UTC midnight), for "in Kaltura over time".
    #[serde(skip)]
    pub created_per_day: BTreeMap<i64, u64>,
    /// What the journals tell.
    pub history: History,
    /// The prices used.
    pub prices: Prices,
    /// What the copies of replaced entries cost per month in the store, and what keeping their
    /// originals in Kaltura would cost, now.
    pub now_monthly: MonthSavings,
}

/// Why a report could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// Kaltura could not be walked.
    #[error(transparent)]
    Kaltura(#[from] SelectionError),
    /// The journals could not be read.
    #[error("reading the run journals: {0}")]
    Store(#[from] crate::store::Error),
}

/// Gathers the report: one walk of every entry in Kaltura (with all flavors, as `stats`), and
/// one read of the run journals in the store. `default_class` is the class of copies whose
/// journal line predates classes being journaled.
pub async fn gather(
    client: &Client,
    partner: i64,
    store: &dyn ArchiveStore,
    prices: Prices,
    default_class: &str,
    now: i64,
    mut on_page: impl FnMut(u64, Option<u64>),
) -> Result<ReportData, ReportError> {
    let mut library = Stats::default();
    let mut created_per_day: BTreeMap<i64, u64> = BTreeMap::new();
    let mut walker = Walker::new(client.clone(), &Selection::default(), Flavors::All, now)?;
    let mut done = 0u64;
    while let Some(page) = walker.next_page().await? {
        library.add(&page);
        for e in &page.entries {
            *created_per_day
                .entry(e.created_at.div_euclid(86_400) * 86_400)
                .or_default() += 1;
        }
        done += page.entries.len() as u64;
        on_page(done, walker.total());
    }
    let history = history::read(store, &prices, default_class, now).await?;
    let now_monthly = history.savings.last().cloned().unwrap_or_default();
    Ok(ReportData {
        generated_at: now,
        partner,
        store: store.to_string(),
        library,
        created_per_day,
        history,
        prices,
        now_monthly,
    })
}

/// USD a month for `bytes` at `usd_per_gb_month` (re-exported for the page's tables).
pub fn usd_per_month(bytes: u64, usd_per_gb_month: f64) -> f64 {
    monthly_cost(bytes, usd_per_gb_month)
}

/// Writes the page into the store, in STANDARD (a page is read at once, in a browser):
/// `reports/YYYY/MM/DD/<run-id>.html`, then `reports/latest.html` over the last one. Returns the
/// keys written.
pub async fn publish(
    store: &dyn ArchiveStore,
    page: String,
    at: i64,
    run_id: &str,
) -> crate::error::Result<Vec<String>> {
    use crate::store::{ArchiveMeta, ObjectKey, PutOptions, StorageClass};
    let body = bytes::Bytes::from(page);
    let opts = PutOptions {
        meta: ArchiveMeta {
            entry_id: String::new(),
            flavor_id: String::new(),
            flavor_version: 0,
            file_ext: "html".into(),
            archived_at: at,
            tool_version: env!("CARGO_PKG_VERSION").to_string(),
        },
        expected_len: Some(body.len() as u64),
        size_hint: None,
        storage_class: StorageClass::Standard,
    };
    let mut written = Vec::new();
    for key in [dated_key(at, run_id), LATEST_KEY.to_string()] {
        let key = ObjectKey::new(key)?;
        let bytes = body.clone();
        let stream: kaltura::ByteStream =
            Box::pin(futures_util::stream::once(async move { Ok(bytes) }));
        store.put(&key, stream, &opts).await?;
        written.push(key.to_string());
    }
    Ok(written)
}
