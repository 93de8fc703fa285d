//! The report as one self-contained HTML page: inline CSS and SVG, no script, and a content
//! security policy that forbids loading anything, so it reads the same offline, from a mail or
//! from the bucket. Every chart has a table of its numbers beside it.

use std::fmt::Write;

use super::charts::{self, Bar, ChartError};
use super::history::{HistoryPoint, RunTally};
use super::ReportData;
use crate::notice::template::escape_html as esc;
use crate::stats::{human_bytes, Tally};
use crate::time::{date, date_time};

const STYLE: &str = "
body{font-family:system-ui,sans-serif;margin:1.5rem auto;max-width:1100px;color:#1a1a1a;padding:0 1rem}
h1{font-size:1.5rem;margin-bottom:.2rem} h2{font-size:1.15rem;margin-top:2rem;border-bottom:1px solid #ddd}
.meta{color:#555;margin-top:0}
.tiles{display:flex;flex-wrap:wrap;gap:.8rem;margin:1rem 0}
.tile{border:1px solid #ddd;border-radius:6px;padding:.6rem .9rem;min-width:9rem}
.tile b{display:block;font-size:1.4rem}
figure{margin:1rem 0} figure svg{max-width:100%;height:auto;border:1px solid #eee}
.pair{display:flex;flex-wrap:wrap;gap:1rem}
.pair figure{flex:1 1 480px}
table{border-collapse:collapse;font-size:.9rem;margin:.5rem 0}
th,td{border:1px solid #ddd;padding:.2rem .5rem;text-align:right}
th:first-child,td:first-child{text-align:left}
details summary{cursor:pointer;color:#0050a0}
#waiting td,#failures td{text-align:left}
.note{color:#555;font-size:.9rem}
.bad{color:#b00020}
";

fn gb(bytes: u64) -> f64 {
    bytes as f64 / 1e9
}

fn usd(v: f64) -> String {
    format!("{v:.2}")
}

/// A chart with its table: `<figure id=…>` holding the SVG and, folded, the numbers.
fn figure(id: &str, svg: &str, head: &[&str], rows: &[Vec<String>]) -> String {
    let mut t = String::new();
    let _ = write!(t, "<table class=\"numbers\" data-chart=\"{id}\"><tr>");
    for h in head {
        let _ = write!(t, "<th>{}</th>", esc(h));
    }
    t.push_str("</tr>");
    for r in rows {
        t.push_str("<tr>");
        for c in r {
            let _ = write!(t, "<td>{}</td>", esc(c));
        }
        t.push_str("</tr>");
    }
    t.push_str("</table>");
    format!(
        "<figure id=\"{id}\" class=\"chart\">{svg}<details><summary>the numbers</summary>{t}</details></figure>"
    )
}

/// Entries and bytes per group (a year, or "never"), as two charts side by side.
fn by_group(id: &str, what: &str, groups: &[(String, Tally)]) -> Result<String, ChartError> {
    let entries: Vec<Bar> = groups
        .iter()
        .map(|(g, t)| Bar {
            label: g.clone(),
            values: vec![t.entries as f64],
        })
        .collect();
    let bytes: Vec<Bar> = groups
        .iter()
        .map(|(g, t)| Bar {
            label: g.clone(),
            values: vec![gb(t.bytes)],
        })
        .collect();
    let head = [what, "entries", "bytes"];
    let rows: Vec<Vec<String>> = groups
        .iter()
        .map(|(g, t)| vec![g.clone(), t.entries.to_string(), t.bytes.to_string()])
        .collect();
    let a = charts::bars(
        "entries by year",
        &format!("Entries by {what}"),
        "entries",
        &["entries".into()],
        &entries,
    )?;
    let b = charts::bars(
        "bytes by year",
        &format!("GB in Kaltura by {what}"),
        "GB",
        &["GB".into()],
        &bytes,
    )?;
    Ok(format!(
        "<div class=\"pair\">{}{}</div>",
        figure(&format!("{id}-entries"), &a, &head, &rows),
        figure(&format!("{id}-bytes"), &b, &head, &rows)
    ))
}

/// The library over time: the journals' days, ending with today as Kaltura lists it.
fn over_time(r: &ReportData) -> Vec<(i64, [u64; 3])> {
    let mut created = 0u64;
    let mut created_days = r.created_per_day.iter().peekable();
    let mut points: Vec<(i64, [u64; 3])> = Vec::new();
    let today = r.generated_at.div_euclid(86_400) * 86_400;
    let library = HistoryPoint {
        day: today,
        archived: r.library.archived,
        replaced: r.library.replaced,
    };
    let mut days: Vec<&HistoryPoint> = r.history.days.iter().filter(|d| d.day < today).collect();
    days.push(&library);
    for d in days {
        while let Some((_, n)) = created_days.next_if(|(day, _)| **day <= d.day) {
            created += n;
        }
        let in_kaltura = if d.day == today {
            r.library.total.entries
        } else {
            created
        };
        points.push((
            d.day,
            [
                in_kaltura.saturating_sub(d.replaced),
                d.archived,
                d.replaced,
            ],
        ));
    }
    points
}

/// Renders the page.
pub fn render(r: &ReportData) -> Result<String, ChartError> {
    let mut body = String::new();
    let lib = &r.library;
    let saving_now = r.now_monthly.saved_usd;
    let waiting = r.history.waiting.len();
    let failed: u64 = r.history.runs.iter().map(|x| x.failed).sum();
    let _ = write!(
        body,
        "<h1>Kaltura archive report</h1><p class=\"meta\">Partner {} · archive {} · made {} · from Kaltura's listing and {} run journals</p>",
        r.partner,
        esc(&r.store),
        date_time(r.generated_at),
        r.history.journals_read
    );
    let tiles = [
        (
            "tile-entries",
            "entries in Kaltura",
            lib.total.entries.to_string(),
        ),
        (
            "tile-bytes",
            "bytes in Kaltura",
            human_bytes(lib.total.bytes),
        ),
        ("tile-archived", "archived", lib.archived.to_string()),
        (
            "tile-replaced",
            "replaced by the placeholder",
            lib.replaced.to_string(),
        ),
        ("tile-saving", "saved per month (USD)", usd(saving_now)),
        ("tile-waiting", "restores waiting", waiting.to_string()),
        (
            "tile-failed",
            "failed entries, last runs",
            failed.to_string(),
        ),
    ];
    body.push_str("<div class=\"tiles\">");
    for (id, label, value) in tiles {
        let _ = write!(
            body,
            "<div class=\"tile\" id=\"{id}\"><b>{}</b>{}</div>",
            esc(&value),
            esc(label)
        );
    }
    body.push_str("</div>");

    body.push_str("<h2>The library</h2>");
    let created: Vec<(String, Tally)> = lib
        .by_year_created
        .iter()
        .map(|(y, t)| (y.to_string(), *t))
        .collect();
    body.push_str(&by_group("chart-created", "year created", &created)?);
    // Years in order, never-played last.
    let mut played: Vec<(String, Tally)> = lib
        .by_year_played
        .iter()
        .filter(|(y, _)| *y != "never")
        .map(|(y, t)| (y.clone(), *t))
        .collect();
    if let Some(t) = lib.by_year_played.get("never") {
        played.push(("never".into(), *t));
    }
    body.push_str(&by_group("chart-played", "year last played", &played)?);

    body.push_str("<h2>Over time</h2>");
    let points = over_time(r);
    let series = [
        "holding their video in Kaltura".to_string(),
        "archived".into(),
        "replaced by the placeholder".into(),
    ];
    let svg = charts::lines(
        "over time",
        "Entries in Kaltura, archived and replaced",
        "entries",
        &series,
        &points
            .iter()
            .map(|(d, v)| (*d, v.iter().map(|x| *x as f64).collect()))
            .collect::<Vec<_>>(),
    )?;
    let rows: Vec<Vec<String>> = points
        .iter()
        .map(|(d, v)| {
            vec![
                date(*d),
                v[0].to_string(),
                v[1].to_string(),
                v[2].to_string(),
            ]
        })
        .collect();
    body.push_str(&figure(
        "chart-over-time",
        &svg,
        &["day", "in Kaltura", "archived", "replaced"],
        &rows,
    ));
    body.push_str("<p class=\"note\">Days from the run journals; the last point is today as Kaltura lists it.</p>");

    body.push_str("<h2>Storage money saved per month</h2>");
    let classes: Vec<String> = {
        let mut c: Vec<String> = r
            .history
            .savings
            .iter()
            .flat_map(|m| m.by_class.keys().cloned())
            .collect();
        c.sort();
        c.dedup();
        c
    };
    let bars: Vec<Bar> = r
        .history
        .savings
        .iter()
        .map(|m| Bar {
            label: m.month.clone(),
            values: classes
                .iter()
                .map(|c| m.by_class.get(c).map_or(0.0, |x| x.saved_usd))
                .collect(),
        })
        .collect();
    let svg = charts::bars(
        "savings",
        "Saved per month by the replaced entries, by storage class",
        "USD / month",
        &classes,
        &bars,
    )?;
    let rows: Vec<Vec<String>> = r
        .history
        .savings
        .iter()
        .flat_map(|m| {
            m.by_class.iter().map(|(c, x)| {
                vec![
                    m.month.clone(),
                    c.clone(),
                    x.entries.to_string(),
                    x.bytes.to_string(),
                    usd(x.kaltura_usd),
                    usd(x.store_usd),
                    usd(x.saved_usd),
                ]
            })
        })
        .collect();
    body.push_str(&figure(
        "chart-savings",
        &svg,
        &[
            "month",
            "class",
            "entries",
            "bytes",
            "in Kaltura USD",
            "in the archive USD",
            "saved USD",
        ],
        &rows,
    ));
    let assumed = if r.prices.kaltura_assumed {
        " (assumed: set KALTURA_PRICE or --kaltura-price to your contract's price)"
    } else {
        ""
    };
    let _ = write!(
        body,
        "<p class=\"note\">Kaltura storage at {} USD per GB-month{}; the archive at AWS list prices per class, or the --price given. The bytes are the archived originals; the transcoded flavors Kaltura also freed are not counted, so the saving is a floor.</p>",
        r.prices.kaltura,
        esc(assumed)
    );

    body.push_str("<h2>Restores waiting</h2>");
    if r.history.waiting.is_empty() {
        body.push_str("<p id=\"waiting-none\">None: every restore that was asked for is done.</p>");
    } else {
        body.push_str("<table id=\"waiting\" class=\"numbers\"><tr><th>entry</th><th>waiting since</th><th>class</th><th>tier</th><th>expected by</th><th>last said</th></tr>");
        for w in &r.history.waiting {
            let _ = write!(
                body,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&w.entry),
                date_time(w.since),
                esc(w.class.as_deref().unwrap_or("—")),
                esc(w.tier.as_deref().unwrap_or("—")),
                w.expected_by
                    .map_or("when Kaltura has converted it".to_string(), date_time),
                esc(&w.detail)
            );
        }
        body.push_str("</table><p class=\"note\">Expected by: when the thaw was asked for plus AWS's typical time for the class and tier; the next restore run after that brings the entry back.</p>");
    }

    body.push_str("<h2>The last runs</h2>");
    let kinds = ["done", "failed", "waiting", "other"];
    // MM-DD HH:MM tells runs of one day apart; to the second when two share a minute.
    let label = |run: &RunTally, end: usize| date_time(run.started)[5..end].to_string();
    let runs = &r.history.runs;
    let share_a_minute = runs
        .windows(2)
        .any(|w| label(&w[0], 16) == label(&w[1], 16));
    let label_end = if share_a_minute { 19 } else { 16 };
    let bars: Vec<Bar> = runs
        .iter()
        .map(|run| {
            let get = |k: &str| run.outcomes.get(k).copied().unwrap_or(0);
            let other: u64 =
                run.outcomes.values().sum::<u64>() - get("done") - get("failed") - get("waiting");
            Bar {
                label: label(run, label_end),
                values: vec![
                    get("done") as f64,
                    get("failed") as f64,
                    get("waiting") as f64,
                    other as f64,
                ],
            }
        })
        .collect();
    let svg = charts::bars(
        "runs",
        "Entries per run, by outcome",
        "entries",
        &kinds.map(String::from),
        &bars,
    )?;
    let rows: Vec<Vec<String>> = r
        .history
        .runs
        .iter()
        .zip(&bars)
        .map(|(run, bar)| {
            let mut row = vec![run.run.clone(), run.command.clone()];
            row.extend(bar.values.iter().map(|v| (*v as u64).to_string()));
            row
        })
        .collect();
    body.push_str(&figure(
        "chart-runs",
        &svg,
        &["run", "command", "done", "failed", "waiting", "other"],
        &rows,
    ));
    let failures: Vec<_> = r
        .history
        .runs
        .iter()
        .rev()
        .flat_map(|run| run.failures.iter().map(move |f| (run, f)))
        .collect();
    if failures.is_empty() {
        body.push_str("<p id=\"failures-none\">No failed entries in these runs.</p>");
    } else {
        body.push_str("<table id=\"failures\" class=\"numbers\"><tr><th>run</th><th>command</th><th>entry</th><th>why</th></tr>");
        for (run, f) in failures {
            let _ = write!(
                body,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"bad\">{}</td></tr>",
                esc(&run.run),
                esc(&run.command),
                esc(&f.entry),
                esc(&f.detail)
            );
        }
        body.push_str("</table><p class=\"note\">Up to 20 per run; <code>kaltura-archiver explain ENTRY_ID</code> tells the whole story of one.</p>");
    }
    Ok(format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<title>Kaltura archive report — partner {} — {}</title><style>{STYLE}</style></head><body>{body}</body></html>\n",
        r.partner,
        date(r.generated_at)
    ))
}
