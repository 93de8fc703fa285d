//! Library statistics: entries and bytes by year created and by year last played, what is
//! archived and replaced, and what a selection would free in Kaltura with its monthly storage cost
//! per S3 storage class.

use std::collections::BTreeMap;

use kaltura::EntryStatus;

use crate::selection::Page;
use crate::tags::{ARCHIVED, REPLACED};
use crate::time::civil;

/// Default storage prices in USD per GB-month (AWS S3 list prices, us-east-1; override them for
/// other regions or contracts).
pub const DEFAULT_PRICES: &[(&str, f64)] = &[
    ("STANDARD", 0.023),
    ("STANDARD_IA", 0.0125),
    ("GLACIER_IR", 0.004),
    ("GLACIER", 0.0036),
    ("DEEP_ARCHIVE", 0.00099),
];

/// Entries and bytes of one group.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Tally {
    /// Entries.
    pub entries: u64,
    /// Bytes of all their flavors in Kaltura.
    pub bytes: u64,
}

impl Tally {
    fn add(&mut self, bytes: u64) {
        self.entries += 1;
        self.bytes += bytes;
    }
}

/// The statistics of a selection.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Stats {
    /// All selected entries.
    pub total: Tally,
    /// By year created.
    pub by_year_created: BTreeMap<i64, Tally>,
    /// By year last played; `None` = never played.
    pub by_year_played: BTreeMap<String, Tally>,
    /// Entries tagged archived.
    pub archived: u64,
    /// Entries tagged replaced.
    pub replaced: u64,
    /// Entries whose flavors are still in Kaltura (not replaced, READY) and what they hold:
    /// what archiving and replacing the selection would free.
    pub would_free: Tally,
    /// Flavors whose exact size is unknown (old assets); their kilobyte size was used.
    pub approximate_flavors: u64,
}

impl Stats {
    /// Adds a page (fetched with all flavors).
    pub fn add(&mut self, page: &Page) {
        for e in &page.entries {
            let flavors = page.flavors.get(&e.id).map(Vec::as_slice).unwrap_or(&[]);
            let bytes: u64 = flavors.iter().map(|f| f.approx_bytes()).sum();
            self.approximate_flavors +=
                flavors.iter().filter(|f| f.exact_bytes().is_none()).count() as u64;
            self.total.add(bytes);
            self.by_year_created
                .entry(civil(e.created_at).0)
                .or_default()
                .add(bytes);
            let played = e
                .last_played_at
                .map_or("never".to_string(), |t| civil(t).0.to_string());
            self.by_year_played.entry(played).or_default().add(bytes);
            let (archived, replaced) = (e.has_tag(ARCHIVED), e.has_tag(REPLACED));
            self.archived += u64::from(archived);
            self.replaced += u64::from(replaced);
            if !replaced && e.status == EntryStatus::Ready {
                self.would_free.add(bytes);
            }
        }
    }
}

/// What the next `run archive` would do with a selection, as far as Kaltura can tell (tags,
/// originals, exemptions; the store is not read, so an entry tagged archived counts as archived).
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct PolicyPlan {
    /// Entries it would archive, and the bytes of their originals (what the archive stores).
    pub archive: Tally,
    /// Entries it would replace, and the bytes of all their flavors (what Kaltura frees).
    pub replace: Tally,
    /// Both, by year created.
    pub by_year_created: BTreeMap<i64, PlanYear>,
    /// Entries the policy selects that an exemption keeps.
    pub exempt: u64,
    /// Entries the policy selects whose original is missing or not READY (left alone).
    pub not_applicable: u64,
    /// The entries it would archive, by id (for checking and for scripts).
    pub archive_ids: Vec<String>,
}

/// One year of a [`PolicyPlan`].
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct PlanYear {
    /// Archived.
    pub archive: Tally,
    /// Replaced.
    pub replace: Tally,
}

impl PolicyPlan {
    /// Adds a page of the policy's archive selection (fetched with all flavors).
    pub fn add(&mut self, page: &Page, exemptions: &crate::policy::Exemptions) {
        for e in &page.entries {
            if exemptions.holds(e).is_some() {
                self.exempt += 1;
                continue;
            }
            let flavors = page.flavors.get(&e.id).map(Vec::as_slice).unwrap_or(&[]);
            let Some(original) = flavors.iter().find(|f| f.is_original && f.is_ready()) else {
                self.not_applicable += 1;
                continue;
            };
            let year = self
                .by_year_created
                .entry(civil(e.created_at).0)
                .or_default();
            if !e.has_tag(ARCHIVED) {
                self.archive.add(original.approx_bytes());
                year.archive.add(original.approx_bytes());
                self.archive_ids.push(e.id.0.clone());
            }
            // Everything the selection holds is old and unplayed enough to replace once archived.
            let all: u64 = flavors.iter().map(|f| f.approx_bytes()).sum();
            self.replace.add(all);
            year.replace.add(all);
        }
    }
}

/// USD per GB to restore from a class, by tier (AWS list prices, us-east-1): Bulk, Standard,
/// Expedited; `None` where the tier does not exist for the class.
pub const RESTORE_PRICES: &[(&str, [Option<f64>; 3])] = &[
    ("GLACIER", [Some(0.0), Some(0.01), Some(0.03)]),
    ("DEEP_ARCHIVE", [Some(0.0025), Some(0.02), None]),
];

/// Parses price overrides `CLASS=USD` on top of the defaults.
pub fn prices(overrides: &[String]) -> crate::error::Result<BTreeMap<String, f64>> {
    use crate::error::Error;
    let mut table: BTreeMap<String, f64> = DEFAULT_PRICES
        .iter()
        .map(|(c, p)| (c.to_string(), *p))
        .collect();
    for o in overrides {
        let (class, price) = o.split_once('=').ok_or_else(|| {
            Error::Invalid(format!(
                "price {o:?} is not CLASS=USD_PER_GB_MONTH, e.g. DEEP_ARCHIVE=0.002"
            ))
        })?;
        let price: f64 = price
            .trim()
            .parse()
            .ok()
            .filter(|p: &f64| p.is_finite() && *p >= 0.0)
            .ok_or_else(|| {
                Error::Invalid(format!(
                    "price {o:?}: {price:?} is not a non-negative number of USD per GB-month"
                ))
            })?;
        table.insert(class.trim().to_uppercase(), price);
    }
    Ok(table)
}

/// Bytes for a person, in powers of 1000 as storage is billed: 1500000 → "1.5 MB".
pub fn human_bytes(b: u64) -> String {
    let units = ["B", "KB", "MB", "GB", "TB", "PB"];
    let mut v = b as f64;
    let mut i = 0;
    while v >= 1000.0 && i + 1 < units.len() {
        v /= 1000.0;
        i += 1;
    }
    format!("{v:.1} {}", units[i])
}

/// Monthly cost in USD of storing `bytes` at `usd_per_gb_month` (GB = 10^9 bytes, as AWS bills).
pub fn monthly_cost(bytes: u64, usd_per_gb_month: f64) -> f64 {
    bytes as f64 / 1e9 * usd_per_gb_month
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn price_overrides_replace_defaults_and_bad_ones_are_refused() {
        let t = prices(&["deep_archive=0.002".into(), "KALTURA=0.1".into()]).unwrap();
        assert_eq!(t["DEEP_ARCHIVE"], 0.002);
        assert_eq!(t["KALTURA"], 0.1);
        assert_eq!(t["STANDARD"], 0.023);
        assert!(prices(&["GLACIER".into()]).is_err());
        assert!(prices(&["GLACIER=-1".into()]).is_err());
        assert!((monthly_cost(2_000_000_000_000, 0.00099) - 1.98).abs() < 1e-9);
    }
}
