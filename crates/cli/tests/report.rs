//! The report page, judged in a real browser (Debian's headless Chromium driven by
//! tools/browser_check.js): the page `run health` leaves in the bucket loads with no console
//! error and no outside request, every chart is drawn, and its numbers are the test partner's —
//! counted here from the simulator's own state and the bucket's objects, not from the tool.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use common::*;
use serde_json::Value;

/// Headless Chromium, or `None` (skip) outside CI when it is not installed.
fn browser_installed() -> bool {
    let there = ["/usr/bin/chromium-headless-shell", "/usr/bin/chromium"]
        .iter()
        .any(|p| Path::new(p).exists())
        || std::env::var("CHROMIUM").is_ok();
    if !there {
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!(
                "no Chromium under CI=true: .ci/run must apt-get install chromium-headless-shell"
            );
        }
        eprintln!("skipped: no Chromium (apt-get install chromium-headless-shell)");
    }
    there
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// What a reader of `page` gets, as tools/browser_check.js reports it; a screenshot to `shot`.
fn open_in_browser(page: &Path, shot: Option<&Path>) -> Value {
    let mut c = std::process::Command::new("node");
    c.arg(root().join("tools/browser_check.js")).arg(page);
    if let Some(s) = shot {
        c.arg(s);
    }
    let out = c.output().unwrap();
    assert!(
        out.status.success(),
        "browser check: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// An S3 client of moto's bucket, apart from the tool's.
fn bucket_client(endpoint: &str) -> aws_sdk_s3::Client {
    use aws_sdk_s3::config::{Credentials, Region};
    let config = aws_sdk_s3::Config::builder()
        .behavior_version_latest()
        .region(Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .force_path_style(true)
        .credentials_provider(Credentials::new("test", "test", None, None, "test"))
        .build();
    aws_sdk_s3::Client::from_conf(config)
}

/// A link that reads `key` from the bucket for ten minutes without further credentials.
async fn presigned_read(endpoint: &str, bucket: &str, key: &str) -> String {
    let expires =
        aws_sdk_s3::presigning::PresigningConfig::expires_in(std::time::Duration::from_secs(600))
            .unwrap();
    bucket_client(endpoint)
        .get_object()
        .bucket(bucket)
        .key(key)
        .presigned(expires)
        .await
        .unwrap()
        .uri()
        .to_string()
}

async fn set_faults(s: &kaltura_sim::SimServer, rules: &[&str]) {
    s.sim()
        .faults
        .set(rules.iter().map(|r| r.parse().unwrap()).collect());
}

fn year(t: i64) -> String {
    archiver::time::civil(t).0.to_string()
}

/// Rows of one of the page's tables.
fn table<'a>(page: &'a Value, id: &str) -> Vec<Vec<&'a str>> {
    page["tables"][id]
        .as_array()
        .unwrap_or_else(|| panic!("no table {id}: {page}"))
        .iter()
        .map(|r| {
            r.as_array()
                .unwrap()
                .iter()
                .map(|c| c.as_str().unwrap())
                .collect()
        })
        .collect()
}

#[test]
fn the_browser_check_catches_a_page_that_reaches_outside_or_throws() {
    if !browser_installed() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("bad.html");
    std::fs::write(
        &page,
        "<!DOCTYPE html><html><head><meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; script-src 'unsafe-inline'\"></head>\
         <body><img src=\"https://cdn.example.invalid/chart.png\"><script>undefinedFunction()</script></body></html>",
    )
    .unwrap();
    let seen = open_in_browser(&page, None);
    let errors: Vec<&str> = seen["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e.as_str().unwrap())
        .collect();
    assert!(
        errors.iter().any(|e| e.contains("cdn.example.invalid")),
        "{errors:?}"
    );
    assert!(
        errors.iter().any(|e| e.contains("undefinedFunction")),
        "{errors:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_report_in_the_bucket_shows_the_partners_numbers_in_a_real_browser() {
    let Some(endpoint) = moto() else { return };
    if !browser_installed() {
        return;
    }
    let s = sim(40, 83).await;
    let a = s3_archive(&endpoint, "report", "GLACIER").await;
    let prices = [("KALTURA_PRICE", "1000"), ("N_YEARS", "3")];

    // Run 1: every conversion fails, so every replace fails (the copies are made).
    set_faults(&s, &["convert_error=1"]).await;
    let first = cli(&s, &a, &["run", "archive", "--execute"], &[]).await;
    assert_eq!(
        first.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let failed_first: BTreeSet<String> = with_outcome(
        &parse_report(&String::from_utf8_lossy(&first.stdout)),
        "failed",
    )
    .into_iter()
    .collect();
    assert!(!failed_first.is_empty());
    set_faults(&s, &[]).await;
    // Runs are ordered by their start, to the second.
    let next_second = || tokio::time::sleep(std::time::Duration::from_millis(1100));
    next_second().await;
    // Run 2: the replaces succeed.
    let second = cli(&s, &a, &["run", "archive", "--execute"], &[]).await;
    assert!(
        second.status.success(),
        "{}",
        String::from_utf8_lossy(&second.stderr)
    );
    // Two replaced entries are played; run 3 asks for their thaws (GLACIER): they wait.
    let state = sim_state(&s).await;
    let replaced_ids: Vec<String> = state["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["tags"].as_str().unwrap_or("").contains("flavors_deleted"))
        .map(|e| e["id"].as_str().unwrap().to_string())
        .collect();
    assert!(replaced_ids.len() >= 4, "{replaced_ids:?}");
    let played: BTreeSet<String> = replaced_ids[..2].iter().cloned().collect();
    for id in &played {
        play(&s, id).await;
    }
    next_second().await;
    let asked = archiver::time::now();
    let third = cli(&s, &a, &["run", "restore", "--execute"], &[]).await;
    assert!(
        third.status.success(),
        "{}",
        String::from_utf8_lossy(&third.stderr)
    );
    // Run 4: health, which writes the report into the bucket.
    let health = cli(&s, &a, &["run", "health", "--execute"], &prices).await;
    let said = String::from_utf8_lossy(&health.stderr);
    assert!(said.contains("reports/latest.html"), "{said}");

    // The page as it is in the bucket, and its dated copy.
    let keys: Vec<String> = a
        .store
        .list("reports/")
        .await
        .unwrap()
        .into_iter()
        .map(|k| k.to_string())
        .collect();
    assert_eq!(keys.len(), 2, "{keys:?}");
    let latest = archiver::store::ObjectKey::new("reports/latest.html").unwrap();
    let html = archiver::store::read_all(a.store.as_ref(), &latest)
        .await
        .unwrap();
    let dated = keys
        .iter()
        .find(|k| k.as_str() != "reports/latest.html")
        .unwrap();
    let dated = archiver::store::read_all(
        a.store.as_ref(),
        &archiver::store::ObjectKey::new(dated.clone()).unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(html, dated, "the dated copy is the latest page");
    // Opened as the bucket serves it, by a presigned link as the S3 console makes one: as a
    // page, not as a download.
    let env = |k: &str| a.env.iter().find(|(n, _)| n == k).unwrap().1.clone();
    let url = presigned_read(
        &env("AWS_ENDPOINT_URL"),
        &env("AWS_BUCKET"),
        "reports/latest.html",
    )
    .await;
    let shot = root().join("target/report-screenshot.png");
    let page = open_in_browser(Path::new(&url), Some(&shot));
    assert_eq!(page["status"], 200, "{page}");
    assert_eq!(page["contentType"], "text/html", "{page}");
    assert!(
        std::fs::metadata(&shot).unwrap().len() > 10_000,
        "no screenshot"
    );

    // Loads clean, fetches nothing, draws every chart.
    assert_eq!(page["errors"], serde_json::json!([]), "{}", page["errors"]);
    assert_eq!(page["external"], serde_json::json!([]));
    let figures = page["figures"].as_array().unwrap();
    let ids: Vec<&str> = figures.iter().map(|f| f["id"].as_str().unwrap()).collect();
    assert_eq!(
        ids,
        [
            "chart-created-entries",
            "chart-created-bytes",
            "chart-played-entries",
            "chart-played-bytes",
            "chart-over-time",
            "chart-savings",
            "chart-runs"
        ]
    );
    for f in figures {
        assert!(
            f["svg"] == true && f["width"].as_f64().unwrap() > 300.0,
            "{f}"
        );
        assert!(f["shapes"].as_u64().unwrap() > 5, "{f}");
    }

    // The partner's numbers, from the simulator's state: READY entries, their live flavors.
    let state = sim_state(&s).await;
    let ready: Vec<&Value> = state["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["status"] == 2)
        .collect();
    let bytes_of = |e: &Value| -> u64 {
        e["flavors"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["status"] != 3)
            .map(|f| {
                f["sizeInBytes"]
                    .as_u64()
                    .unwrap_or(f["size"].as_u64().unwrap_or(0) * 1024)
            })
            .sum()
    };
    let mut created: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    let mut last_played: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    for e in &ready {
        let b = bytes_of(e);
        let c = created
            .entry(year(e["createdAt"].as_i64().unwrap()))
            .or_default();
        *c = (c.0 + 1, c.1 + b);
        let p = e["lastPlayedAt"].as_i64().map_or("never".into(), year);
        let p = last_played.entry(p).or_default();
        *p = (p.0 + 1, p.1 + b);
    }
    let rows = |m: &BTreeMap<String, (u64, u64)>| -> Vec<Vec<String>> {
        let mut r: Vec<Vec<String>> = m
            .iter()
            .filter(|(y, _)| *y != "never")
            .map(|(y, (n, b))| vec![y.clone(), n.to_string(), b.to_string()])
            .collect();
        if let Some((n, b)) = m.get("never") {
            r.push(vec!["never".into(), n.to_string(), b.to_string()]);
        }
        r
    };
    let shown = |id: &str| -> Vec<Vec<String>> {
        table(&page, id)
            .into_iter()
            .map(|r| r.into_iter().map(str::to_string).collect())
            .collect()
    };
    assert_eq!(shown("chart-created-entries"), rows(&created));
    assert_eq!(shown("chart-created-bytes"), rows(&created));
    assert_eq!(shown("chart-played-entries"), rows(&last_played));
    let tagged = |t: &str| {
        ready
            .iter()
            .filter(|e| e["tags"].as_str().unwrap_or("").split(", ").any(|x| x == t))
            .count()
    };
    let (archived, replaced) = (tagged("archived_to_s3"), tagged("flavors_deleted"));
    assert_eq!(page["tiles"]["tile-entries"], ready.len().to_string());
    assert_eq!(page["tiles"]["tile-archived"], archived.to_string());
    assert_eq!(page["tiles"]["tile-replaced"], replaced.to_string());
    // Today's point of the history is Kaltura's.
    let over_time = table(&page, "chart-over-time");
    let today = over_time.last().unwrap();
    assert_eq!(
        today[1..],
        [
            (ready.len() - replaced).to_string(),
            archived.to_string(),
            replaced.to_string()
        ]
    );

    // Money: the replaced entries' copies in the bucket (their sizes read from the bucket), at
    // 1000 USD per GB-month in Kaltura and GLACIER's 0.0036 in the archive.
    let replaced_now: Vec<String> = ready
        .iter()
        .filter(|e| e["tags"].as_str().unwrap_or("").contains("flavors_deleted"))
        .map(|e| e["id"].as_str().unwrap().to_string())
        .collect();
    let mut copy_bytes = 0u64;
    for id in &replaced_now {
        let key = archiver::store::ObjectKey::new(id.clone()).unwrap();
        let info = a.store.head(&key).await.unwrap().expect("the copy");
        assert_eq!(info.storage_class.as_str(), "GLACIER");
        copy_bytes += info.size;
    }
    // A copy downloaded from the bucket is a video to whoever opens it.
    let head = bucket_client(&env("AWS_ENDPOINT_URL"))
        .head_object()
        .bucket(env("AWS_BUCKET"))
        .key(&replaced_now[0])
        .send()
        .await
        .unwrap();
    assert_eq!(head.content_type(), Some("video/mp4"));
    let savings = table(&page, "chart-savings");
    let this_month = savings.last().unwrap();
    assert_eq!(this_month[1], "GLACIER");
    assert_eq!(this_month[2], replaced_now.len().to_string());
    assert_eq!(this_month[3], copy_bytes.to_string());
    let saved = copy_bytes as f64 / 1e9 * (1000.0 - 0.0036);
    assert_eq!(this_month[6], format!("{saved:.2}"));
    assert_eq!(page["tiles"]["tile-saving"], format!("{saved:.2}"));

    // The two played entries wait for their thaws, expected within the 12 hours of GLACIER's
    // Bulk tier (RESTORE_TIER's default).
    let waiting = table(&page, "waiting");
    let waiting_ids: BTreeSet<String> = waiting.iter().map(|r| r[0].to_string()).collect();
    assert_eq!(waiting_ids, played);
    for r in &waiting {
        assert_eq!((r[2], r[3]), ("GLACIER", "Bulk"), "{r:?}");
        let by = archiver::time::date_time(asked + 12 * 3600);
        // To the minute (the run took seconds).
        let shown_minute = &r[4][..16];
        let later = archiver::time::date_time(asked + 12 * 3600 + 60);
        assert!(
            shown_minute == &by[..16] || shown_minute == &later[..16],
            "{r:?} vs {by}"
        );
    }
    assert_eq!(page["tiles"]["tile-waiting"], "2");

    // The last runs: health is not among them; run 1's failures are listed.
    let runs = table(&page, "chart-runs");
    let commands: Vec<&str> = runs.iter().map(|r| r[1]).collect();
    assert_eq!(commands, ["run-archive", "run-archive", "run-restore"]);
    // Each run's bar has a label of its own, though the three started within seconds.
    let runs_figure = figures.iter().find(|f| f["id"] == "chart-runs").unwrap();
    let run_labels: BTreeSet<&str> = runs_figure["texts"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|t| t.as_str())
        .filter(|t| t.len() >= 11 && t.as_bytes()[2] == b'-' && t.as_bytes()[5] == b' ')
        .collect();
    assert_eq!(run_labels.len(), 3, "{run_labels:?}");
    assert_eq!(runs[0][3], failed_first.len().to_string(), "{runs:?}");
    assert_eq!(runs[1][3], "0");
    let failures: BTreeSet<String> = table(&page, "failures")
        .iter()
        .map(|r| r[2].to_string())
        .collect();
    assert_eq!(failures, failed_first);

    // The same numbers as JSON, with its schema.
    let out = cli(&s, &a, &["report", "--format", "json", "-o", "-"], &prices).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let j: Value = serde_json::from_slice(&out.stdout).unwrap();
    for (key, kind) in [
        ("generated_at", "number"),
        ("partner", "number"),
        ("store", "string"),
        ("library", "object"),
        ("history", "object"),
        ("prices", "object"),
        ("now_monthly", "object"),
    ] {
        let v = &j[key];
        let ok = match kind {
            "number" => v.is_i64(),
            "string" => v.is_string(),
            _ => v.is_object(),
        };
        assert!(ok, "{key} is not a {kind}: {v}");
    }
    assert_eq!(j["library"]["total"]["entries"], ready.len());
    assert_eq!(j["prices"]["kaltura"], 1000.0);
    assert_eq!(j["prices"]["kaltura_assumed"], false);
    assert_eq!(j["history"]["waiting"].as_array().unwrap().len(), 2);
    assert!(j["history"]["waiting"][0]["expected_by"].is_i64());
    assert_eq!(j["now_monthly"]["by_class"]["GLACIER"]["bytes"], copy_bytes);
}
