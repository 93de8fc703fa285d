//! `catalog`: everything in the archive, from the sidecars alone — no Kaltura needed. One row
//! per copy (entry id, name, owner, dates, categories, size, captions), filtered, streamed with
//! bounded concurrency; the total on stderr.

use futures_util::StreamExt;
use serde_json::json;

use archiver::sidecar::{self, Metadata};
use archiver::time::{date, midnight};

use crate::args::CatalogArgs;
use crate::commands::human_bytes;
use crate::exit;
use crate::failure::Failure;
use crate::open::open_store;
use crate::output::RowWriter;

/// The filters of a catalog, checked.
struct Filter {
    owners: Vec<String>,
    categories: Vec<String>,
    name: Option<String>,
    from: Option<i64>,
    to: Option<i64>,
}

fn day(v: &Option<String>, flag: &str) -> Result<Option<i64>, Failure> {
    let Some(v) = v else { return Ok(None) };
    let parts: Vec<&str> = v.trim().split('-').collect();
    let parsed = match parts.as_slice() {
        [y, m, d] => match (y.parse(), m.parse(), d.parse()) {
            (Ok(y), Ok(m), Ok(d)) => midnight(y, m, d),
            _ => None,
        },
        _ => None,
    };
    parsed.map(Some).ok_or_else(|| {
        Failure::Usage(format!(
            "{flag} {v:?} is not a date: write YYYY-MM-DD, e.g. 2019-09-01"
        ))
    })
}

impl Filter {
    fn new(a: &CatalogArgs) -> Result<Filter, Failure> {
        Ok(Filter {
            owners: a.owner.clone(),
            categories: a.category.clone(),
            name: a.name_contains.as_ref().map(|n| n.to_lowercase()),
            from: day(&a.created_from, "--created-from")?,
            to: day(&a.created_to, "--created-to")?,
        })
    }

    fn keeps(&self, m: &Metadata) -> bool {
        (self.owners.is_empty() || self.owners.contains(&m.owner))
            && (self.categories.is_empty()
                || self.categories.iter().any(|c| {
                    m.categories.iter().any(|n| {
                        n == c
                            || n.strip_prefix(c.as_str())
                                .is_some_and(|r| r.starts_with('>'))
                    })
                }))
            && self
                .name
                .as_ref()
                .is_none_or(|n| m.name.to_lowercase().contains(n))
            && self.from.is_none_or(|f| m.created_at >= f)
            && self.to.is_none_or(|t| m.created_at < t)
    }
}

const COLUMNS: &[&str] = &[
    "entry_id",
    "name",
    "owner",
    "created",
    "last_played",
    "categories",
    "duration_s",
    "bytes",
    "storage_class",
    "copy_key",
    "captions",
    "thumbnail",
];

fn row(m: &Metadata) -> Vec<(&'static str, serde_json::Value)> {
    let langs: Vec<&str> = m
        .captions
        .iter()
        .map(|c| c.language_code.as_str())
        .collect();
    vec![
        ("entry_id", json!(m.id)),
        ("name", json!(m.name)),
        ("owner", json!(m.owner)),
        ("created", json!(date(m.created_at))),
        ("last_played", json!(m.last_played_at.map(date))),
        ("categories", json!(m.categories.join(";"))),
        ("duration_s", json!(m.duration_ms / 1000)),
        ("bytes", json!(m.original.bytes)),
        ("storage_class", json!(m.copy.storage_class)),
        ("copy_key", json!(m.copy.key)),
        ("captions", json!(langs.join(","))),
        ("thumbnail", json!(m.thumbnail.is_some())),
    ]
}

/// Runs `catalog`.
pub async fn catalog(a: &CatalogArgs) -> Result<i32, Failure> {
    let filter = Filter::new(a)?;
    let store = open_store(&a.store).await?;
    let keys = sidecar::metadata_keys(store.as_ref()).await?;
    let out = std::io::BufWriter::new(std::io::stdout().lock());
    let mut rows = RowWriter::new(out, a.format, COLUMNS)?;
    let (mut copies, mut bytes, mut unreadable) = (0u64, 0u64, 0u64);
    let mut entries = std::collections::HashSet::new();
    let mut all = std::pin::pin!(sidecar::all_metadata(
        store.clone(),
        keys,
        usize::from(a.jobs)
    ));
    while let Some((key, m)) = all.next().await {
        match m {
            Ok(m) if filter.keeps(&m) => {
                rows.row(&row(&m))?;
                copies += 1;
                bytes += m.original.bytes;
                entries.insert(m.id);
            }
            Ok(_) => {}
            Err(e) => {
                unreadable += 1;
                eprintln!("catalog: {key} cannot be read: {e}");
            }
        }
    }
    rows.finish()?;
    eprintln!(
        "catalog: {copies} copies of {} entries, {} ({bytes} bytes){}",
        entries.len(),
        human_bytes(bytes),
        if unreadable > 0 {
            format!("; {unreadable} sidecars could not be read")
        } else {
            String::new()
        }
    );
    Ok(if unreadable > 0 {
        exit::ENTRY_FAILURES
    } else {
        exit::SUCCESS
    })
}
