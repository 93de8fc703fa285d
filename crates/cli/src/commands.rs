//! One short function per command; the logic lives in the `archiver` and `kaltura` crates.

use serde_json::{json, Value};
use std::io::Write;

use archiver::selection::{read_id_file, Flavors, Page, Selection, Walker};
use archiver::shard::Shard;
use archiver::stats::{monthly_cost, prices, Stats};
use archiver::tags::{ARCHIVED, REPLACED};
use archiver::time::{date, now};
use kaltura::{Client, RetryPolicy, SecretString};
use std::time::Duration;

use crate::args::{CheckArgs, CountArgs, Format, KalturaArgs, ListArgs, SelectArgs, StatsArgs};
use crate::exit;
use crate::failure::Failure;
use crate::output::RowWriter;
use crate::progress::Progress;

/// A validated connection: the client plus what error messages name.
#[derive(Clone)]
pub(crate) struct Kaltura {
    pub(crate) client: Client,
    pub(crate) url: String,
    pub(crate) partner: i64,
}

impl Kaltura {
    pub(crate) fn fail(&self, e: &kaltura::Error) -> Failure {
        Failure::kaltura(e, &self.url, self.partner)
    }
}

pub(crate) fn connect(k: &KalturaArgs) -> Result<Kaltura, Failure> {
    let partner = match k.partner_id.as_deref().map(str::trim) {
        None | Some("") => {
            return Err(Failure::Usage(
                "the Kaltura partner id is missing: set KALTURA_PARTNERID or give --partner-id".into(),
            ))
        }
        Some(p) => p.parse::<i64>().ok().filter(|p| *p > 0).ok_or_else(|| {
            Failure::Usage(format!("the Kaltura partner id must be a positive number, got {p:?} (KALTURA_PARTNERID or --partner-id)"))
        })?,
    };
    let secret = match k.secret.as_deref() {
        None | Some("") => {
            return Err(Failure::Usage(
                "the Kaltura admin secret is missing: set KALTURA_SECRET (or give --secret)".into(),
            ))
        }
        Some(s) => SecretString::from(s.to_string()),
    };
    let mut builder = Client::builder();
    if let Some(path) = &k.ca_bundle {
        let pem = std::fs::read(path).map_err(|e| {
            Failure::Usage(format!(
                "KALTURA_CA_BUNDLE {} cannot be read: {e}",
                path.display()
            ))
        })?;
        if !pem.windows(27).any(|w| w == b"-----BEGIN CERTIFICATE-----") {
            return Err(Failure::Usage(format!(
                "KALTURA_CA_BUNDLE {} holds no PEM certificate (-----BEGIN CERTIFICATE-----)",
                path.display()
            )));
        }
        builder = builder.with_ca_bundle(pem);
    }
    let client = builder
        .with_service_url(k.service_url.clone())
        .with_partner_id(partner)
        .with_secret(secret)
        .with_user_id(k.user_id.clone())
        .with_retry(RetryPolicy {
            max_elapsed: Duration::from_secs(k.max_retry_seconds),
            ..RetryPolicy::default()
        })
        .build()
        .map_err(|e| Failure::Usage(format!("{e} (KALTURA_SERVICE_URL or --service-url)")))?;
    Ok(Kaltura {
        url: client.service_url().to_string(),
        client,
        partner,
    })
}

pub(crate) fn selection(a: &SelectArgs) -> Result<Selection, Failure> {
    let mut ids = a.ids.clone();
    if let Some(path) = &a.id_file {
        ids.extend(read_id_file(path).map_err(|e| Failure::selection(e, "", 0))?);
        if ids.is_empty() {
            return Err(Failure::Usage(format!(
                "the id file {} holds no entry ids",
                path.display()
            )));
        }
    }
    let (without, with): (Vec<String>, Vec<String>) =
        a.tags.iter().cloned().partition(|t| t.starts_with('!'));
    let s = Selection {
        entry_ids: ids,
        tags: with,
        without_tags: without.into_iter().map(|t| t[1..].to_string()).collect(),
        categories: a.categories.clone(),
        plays_below: a.plays_below,
        statuses: a.statuses.clone(),
        media_types: a.media_types.clone(),
        created_within_years: a.created_within,
        created_before_years: a.created_before,
        played_within_years: a.played_within,
        unplayed_for_years: a.unplayed_for,
        max_entries: a.max_entries,
    };
    s.validate().map_err(|e| Failure::selection(e, "", 0))?;
    Ok(s)
}

/// Walks a selection, handing each page to `each`, with progress on a terminal.
async fn walk(
    k: &Kaltura,
    s: &Selection,
    flavors: Flavors,
    mut each: impl FnMut(&Page) -> Result<(), Failure>,
) -> Result<u64, Failure> {
    let mut walker = Walker::new(k.client.clone(), s, flavors, now())
        .map_err(|e| Failure::selection(e, &k.url, k.partner))?;
    let progress = Progress::new("entries");
    let mut done = 0u64;
    while let Some(page) = walker
        .next_page()
        .await
        .map_err(|e| Failure::selection(e, &k.url, k.partner))?
    {
        done += page.entries.len() as u64;
        each(&page)?;
        progress.update(done, walker.total());
    }
    progress.finish();
    Ok(done)
}

/// `check`: Kaltura's login, the archive (a bucket reachable, or a directory that exists and
/// takes a file), and the placeholder (readable, a video). Each line says ok or what to fix.
pub async fn check(k: &KalturaArgs, a: &CheckArgs) -> Result<i32, Failure> {
    // The placeholder first: it needs no network.
    let placeholder = archiver::placeholder::Placeholder::from_setting(a.placeholder.as_deref());
    let bytes = placeholder.bytes()?;
    let kaltura = connect(k)?;
    kaltura.client.login().await.map_err(|e| kaltura.fail(&e))?;
    let mut report = serde_json::Map::new();
    report.insert(
        "kaltura".into(),
        json!({"ok": true, "partner": kaltura.partner, "service_url": kaltura.url}),
    );
    let mut lines = vec![format!(
        "kaltura: ok (partner {} at {})",
        kaltura.partner, kaltura.url
    )];
    if let Some(dir) = &a.store.archive_dir {
        writable(dir)?;
        let store = crate::open::open_store(&a.store).await?;
        lines.push(format!("archive: ok ({store}, writable)"));
        report.insert(
            "archive".into(),
            json!({"ok": true, "store": store.to_string(), "writable": true}),
        );
    } else if a.store.bucket.as_deref().is_some_and(|b| !b.is_empty()) {
        let store = crate::open::open_store(&a.store).await?;
        lines.push(format!("bucket: ok ({store})"));
        report.insert(
            "archive".into(),
            json!({"ok": true, "store": store.to_string()}),
        );
    } else {
        lines.push("bucket: none configured (AWS_BUCKET or ARCHIVE_DIR)".into());
        report.insert("archive".into(), Value::Null);
    }
    lines.push(format!(
        "placeholder: ok ({placeholder}, {} bytes, a video)",
        bytes.len()
    ));
    report.insert(
        "placeholder".into(),
        json!({"ok": true, "source": placeholder.to_string(), "bytes": bytes.len()}),
    );
    match a.format {
        Format::Json => println!("{}", Value::Object(report)),
        Format::Tsv | Format::Csv => lines.iter().for_each(|l| println!("{l}")),
    }
    Ok(exit::SUCCESS)
}

/// Checks that the archive directory exists and takes a file (one made and removed at once).
fn writable(dir: &std::path::Path) -> Result<(), Failure> {
    if !dir.is_dir() {
        return Err(Failure::Usage(format!(
            "the archive directory {} does not exist: create it, or fix ARCHIVE_DIR",
            dir.display()
        )));
    }
    let probe = dir.join(format!(".check-{}", std::process::id()));
    std::fs::write(&probe, b"check")
        .and_then(|_| std::fs::remove_file(&probe))
        .map_err(|e| {
            Failure::Store(format!(
                "the archive directory {} does not take a file ({e}): fix its permissions or ARCHIVE_DIR",
                dir.display()
            ))
        })
}

/// `count`.
pub async fn count(k: &KalturaArgs, a: &CountArgs) -> Result<i32, Failure> {
    let s = selection(&a.select)?;
    let kaltura = connect(k)?;
    let n = count_selection(&kaltura, &s, None).await?;
    match a.format {
        Format::Json => println!("{}", json!({"count": n})),
        Format::Tsv | Format::Csv => println!("{n}"),
    }
    Ok(exit::SUCCESS)
}

/// How many entries a selection matches (in one shard, when given): one `media.count` when
/// Kaltura can count them, else a walk (one call per 500 entries).
pub(crate) async fn count_selection(
    kaltura: &Kaltura,
    s: &Selection,
    shard: Option<Shard>,
) -> Result<u64, Failure> {
    archiver::selection::check_categories(&kaltura.client, s)
        .await
        .map_err(|e| Failure::selection(e, &kaltura.url, kaltura.partner))?;
    if s.entry_ids.is_empty() && shard.is_none() {
        let filter = s
            .filter(now())
            .map_err(|e| Failure::selection(e, &kaltura.url, kaltura.partner))?;
        let n = kaltura
            .client
            .count_media(&filter)
            .await
            .map_err(|e| kaltura.fail(&e))?;
        return Ok(s.max_entries.map_or(n, |m| n.min(m)));
    }
    let mut n = 0u64;
    walk(kaltura, s, Flavors::None, |page| {
        n += page
            .entries
            .iter()
            .filter(|e| shard.is_none_or(|sh| sh.contains(&e.id.0)))
            .count() as u64;
        Ok(())
    })
    .await?;
    Ok(n)
}

const ENTRY_COLUMNS: &[&str] = &[
    "last_played",
    "plays",
    "id",
    "status",
    "archived",
    "replaced",
    "created",
    "creator",
    "categories",
    "original_flavor_id",
    "original_bytes",
    "original_bytes_exact",
    "original_status",
];
const FLAVOR_COLUMNS: &[&str] = &[
    "entry_id",
    "flavor_id",
    "flavor_params_id",
    "original",
    "status",
    "version",
    "bytes",
    "bytes_exact",
    "ext",
    "created",
];

fn entry_rows(page: &Page) -> Vec<Vec<(&'static str, Value)>> {
    page.entries
        .iter()
        .map(|e| {
            let o = page.original(&e.id);
            let values = vec![
                json!(e.last_played_at.map(date)),
                json!(e.plays),
                json!(e.id.0),
                json!(e.status.name()),
                json!(e.has_tag(ARCHIVED)),
                json!(e.has_tag(REPLACED)),
                json!(date(e.created_at)),
                json!(e.creator_id),
                json!(e.categories),
                o.map_or(Value::Null, |f| json!(f.id.0)),
                o.map_or(Value::Null, |f| json!(f.approx_bytes())),
                o.map_or(Value::Null, |f| json!(f.exact_bytes().is_some())),
                o.map_or(Value::Null, |f| json!(f.status.name())),
            ];
            ENTRY_COLUMNS.iter().copied().zip(values).collect()
        })
        .collect()
}

fn flavor_rows(page: &Page) -> Vec<Vec<(&'static str, Value)>> {
    let mut rows = Vec::new();
    for e in &page.entries {
        let Some(flavors) = page.flavors.get(&e.id) else {
            continue;
        };
        for f in flavors {
            let values = vec![
                json!(e.id.0),
                json!(f.id.0),
                json!(f.flavor_params_id),
                json!(f.is_original),
                json!(f.status.name()),
                json!(f.version),
                json!(f.approx_bytes()),
                json!(f.exact_bytes().is_some()),
                json!(f.file_ext),
                json!(date(f.created_at)),
            ];
            rows.push(FLAVOR_COLUMNS.iter().copied().zip(values).collect());
        }
    }
    rows
}

/// `list`.
pub async fn list(k: &KalturaArgs, a: &ListArgs) -> Result<i32, Failure> {
    let s = selection(&a.select)?;
    let kaltura = connect(k)?;
    let stdout = std::io::stdout();
    let out = std::io::BufWriter::new(stdout.lock());
    let (columns, flavors): (&[&str], Flavors) = if a.flavors {
        (FLAVOR_COLUMNS, Flavors::All)
    } else {
        (ENTRY_COLUMNS, Flavors::Originals)
    };
    let mut writer = RowWriter::new(out, a.format, columns)?;
    walk(&kaltura, &s, flavors, |page| {
        let rows = if a.flavors {
            flavor_rows(page)
        } else {
            entry_rows(page)
        };
        for r in rows {
            writer.row(&r)?;
        }
        Ok(())
    })
    .await?;
    writer.finish()?;
    Ok(exit::SUCCESS)
}

pub(crate) use archiver::stats::human_bytes;

/// Writes a JSON document, pretty-printed, on stdout's writer.
fn write_json(out: &mut impl Write, v: &Value) -> Result<(), Failure> {
    let text = serde_json::to_string_pretty(v).map_err(|e| Failure::Output(e.to_string()))?;
    writeln!(out, "{text}")?;
    Ok(())
}

/// `stats --policy`: what the next `run archive` would do, and what it would cost.
async fn policy_stats(k: &KalturaArgs, a: &StatsArgs) -> Result<i32, Failure> {
    use archiver::engine::Command;
    use archiver::stats::{PolicyPlan, RESTORE_PRICES};
    let given = selection(&a.select)?;
    let table = prices(&a.prices)?;
    let exemptions = crate::open::exemptions(&a.exempt)?;
    let s = archiver::policy::selection(Command::Archive, a.years).narrowed_by(&given);
    let kaltura = connect(k)?;
    let mut plan = PolicyPlan::default();
    walk(&kaltura, &s, Flavors::All, |page| {
        plan.add(page, &exemptions);
        Ok(())
    })
    .await?;
    let gb = |b: u64| b as f64 / 1e9;
    let storage: Vec<(String, f64)> = table
        .iter()
        .map(|(c, p)| (c.clone(), monthly_cost(plan.archive.bytes, *p)))
        .collect();
    let restore: Vec<(String, [Option<f64>; 3])> = RESTORE_PRICES
        .iter()
        .map(|(c, tiers)| {
            (
                c.to_string(),
                tiers.map(|t| t.map(|p| p * gb(plan.archive.bytes))),
            )
        })
        .collect();
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    if a.json || a.format == Format::Json {
        let mut v = serde_json::to_value(&plan).map_err(|e| Failure::Output(e.to_string()))?;
        v["years"] = json!(a.years);
        v["usd_per_month_to_store_the_archive"] = json!(storage
            .iter()
            .map(|(c, m)| (c.clone(), json!(m)))
            .collect::<serde_json::Map<_, _>>());
        v["usd_to_restore_all"] = json!(restore
            .iter()
            .map(|(c, t)| (
                c.clone(),
                json!({"bulk": t[0], "standard": t[1], "expedited": t[2]})
            ))
            .collect::<serde_json::Map<_, _>>());
        write_json(&mut out, &v)?;
    } else {
        writeln!(
            out,
            "the next `run archive` (N = {} years)\tentries\tbytes",
            a.years
        )?;
        writeln!(
            out,
            "archives (their originals)\t{}\t{}",
            plan.archive.entries,
            human_bytes(plan.archive.bytes)
        )?;
        writeln!(
            out,
            "replaces (Kaltura frees all their flavors)\t{}\t{}",
            plan.replace.entries,
            human_bytes(plan.replace.bytes)
        )?;
        writeln!(out, "left alone: exempt\t{}", plan.exempt)?;
        writeln!(
            out,
            "left alone: no READY original\t{}",
            plan.not_applicable
        )?;
        writeln!(
            out,
            "\nyear created\tarchived\tbytes\treplaced\tfreed in Kaltura"
        )?;
        for (y, t) in &plan.by_year_created {
            writeln!(
                out,
                "{y}\t{}\t{}\t{}\t{}",
                t.archive.entries,
                human_bytes(t.archive.bytes),
                t.replace.entries,
                human_bytes(t.replace.bytes)
            )?;
        }
        writeln!(
            out,
            "\nstoring the archived originals, by S3 class\tUSD/month"
        )?;
        for (c, m) in &storage {
            writeln!(out, "{c}\t{m:.2}")?;
        }
        writeln!(
            out,
            "\nrestoring all of them, by class and tier\tbulk\tstandard\texpedited"
        )?;
        let usd = |v: Option<f64>| v.map_or("—".to_string(), |v| format!("{v:.2}"));
        for (c, t) in &restore {
            writeln!(out, "{c}\t{}\t{}\t{}", usd(t[0]), usd(t[1]), usd(t[2]))?;
        }
    }
    out.flush()?;
    Ok(exit::SUCCESS)
}

/// `stats`.
pub async fn stats(k: &KalturaArgs, a: &StatsArgs) -> Result<i32, Failure> {
    if a.policy {
        return policy_stats(k, a).await;
    }
    let s = selection(&a.select)?;
    let table = prices(&a.prices)?;
    let kaltura = connect(k)?;
    let mut stats = Stats::default();
    walk(&kaltura, &s, Flavors::All, |page| {
        stats.add(page);
        Ok(())
    })
    .await?;
    let costs: Vec<(String, f64, f64)> = table
        .iter()
        .map(|(class, p)| (class.clone(), *p, monthly_cost(stats.would_free.bytes, *p)))
        .collect();
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    if a.json || a.format == Format::Json {
        let costs: serde_json::Map<String, Value> = costs
            .iter()
            .map(|(c, p, m)| {
                (
                    c.clone(),
                    json!({"usd_per_gb_month": p, "usd_per_month": m}),
                )
            })
            .collect();
        let mut v = serde_json::to_value(&stats).map_err(|e| Failure::Output(e.to_string()))?;
        v["monthly_cost_of_would_free"] = Value::Object(costs);
        write_json(&mut out, &v)?;
    } else {
        writeln!(
            out,
            "entries\t{}\t{}",
            stats.total.entries,
            human_bytes(stats.total.bytes)
        )?;
        writeln!(out, "archived ({ARCHIVED})\t{}", stats.archived)?;
        writeln!(out, "replaced ({REPLACED})\t{}", stats.replaced)?;
        writeln!(out, "\nyear created\tentries\tbytes")?;
        for (y, t) in &stats.by_year_created {
            writeln!(out, "{y}\t{}\t{}", t.entries, human_bytes(t.bytes))?;
        }
        writeln!(out, "\nyear last played\tentries\tbytes")?;
        for (y, t) in &stats.by_year_played {
            writeln!(out, "{y}\t{}\t{}", t.entries, human_bytes(t.bytes))?;
        }
        writeln!(
            out,
            "\nstill in Kaltura, freed by archiving and replacing this selection\t{} entries\t{}",
            stats.would_free.entries,
            human_bytes(stats.would_free.bytes)
        )?;
        writeln!(
            out,
            "\nmonthly cost of those bytes by S3 class\tUSD/GB-month\tUSD/month"
        )?;
        for (class, p, m) in &costs {
            writeln!(out, "{class}\t{p}\t{m:.2}")?;
        }
        if stats.approximate_flavors > 0 {
            writeln!(
                out,
                "\n({} flavors report only a kilobyte size; their bytes are approximate)",
                stats.approximate_flavors
            )?;
        }
    }
    out.flush()?;
    Ok(exit::SUCCESS)
}
