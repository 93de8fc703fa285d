//! `cargo bench -p archiver --bench report`: the report's read of the run journals — every
//! journal in a local store listed, read through the store, each line parsed and replayed into
//! days, monthly savings, waiting restores and run tallies — over the journals of
//! `REPORT_ENTRIES` (100,000) entries archived and replaced over 100 days (one `run-archive`
//! journal a day, four lines per entry) with 5% of them restored (one `run-restore` journal a
//! day), against a baseline in the same run: the same files read with `std::fs` and every line
//! parsed as JSON, nothing replayed.
//!
//! Each side runs in a child process of its own (this binary again), so the peak RSS it reports
//! is its own. The journals are built once under `REPORT_DIR` (default `target/report-bench`).

mod common;

use common::{env_u64, peak_rss_mib};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use archiver::report::{history, Prices};
use archiver::store::local::LocalStore;
use archiver::store::{ArchiveStore, ObjectKey};
use serde_json::json;

const DAYS: u64 = 100;
const T0: i64 = 1_735_689_600; // 2025-01-01

fn line(
    at: i64,
    run: &str,
    command: &str,
    entry: &str,
    event: &str,
    detail: serde_json::Value,
) -> String {
    json!({"at": at, "run": run, "command": command, "dry_run": false, "entry": entry,
           "event": event, "detail": detail})
    .to_string()
        + "\n"
}

/// Writes the journals once (a marker file says they are complete).
async fn build(dir: &Path, entries: u64) {
    let done = dir.join(format!(".built-{entries}"));
    if done.exists() {
        return;
    }
    let _ = std::fs::remove_dir_all(dir);
    let store = LocalStore::new(dir).unwrap();
    let per_day = entries.div_ceil(DAYS);
    for day in 0..DAYS {
        let at = T0 + day as i64 * 86_400;
        let (y, m, d) = archiver::time::civil(at);
        let run = format!("{y:04}{m:02}{d:02}T020000Z-bench");
        let (mut archive, mut restore) = (String::new(), String::new());
        for n in day * per_day..((day + 1) * per_day).min(entries) {
            let id = format!("0_{n:08x}");
            let bytes = 400_000_000 + n * 1000;
            archive += &line(
                at,
                &run,
                "run-archive",
                &id,
                "verified",
                json!({"key": id, "bytes": bytes, "storage_class": "DEEP_ARCHIVE", "crc64nvme": "AAAAAAAAAAA="}),
            );
            archive += &line(
                at,
                &run,
                "run-archive",
                &id,
                "outcome",
                json!({"command": "archive", "state": "archived", "outcome": "done", "detail": "archived"}),
            );
            archive += &line(
                at + 60,
                &run,
                "run-archive",
                &id,
                "tag",
                json!({"ok": {"tags": ["archived_to_s3", "flavors_deleted"]}}),
            );
            archive += &line(
                at + 60,
                &run,
                "run-archive",
                &id,
                "outcome",
                json!({"command": "replace", "state": "replaced", "outcome": "done", "detail": "replaced"}),
            );
            if n % 20 == 0 {
                let later = at + 43_200;
                restore += &line(
                    later,
                    &format!("{run}-r"),
                    "run-restore",
                    &id,
                    "thaw",
                    json!({"ok": {"key": id, "tier": "Bulk", "days": 7, "class": "DEEP_ARCHIVE"}}),
                );
                restore += &line(
                    later,
                    &format!("{run}-r"),
                    "run-restore",
                    &id,
                    "outcome",
                    json!({"command": "restore", "outcome": "waiting", "detail": "thawing"}),
                );
                if n % 40 == 0 {
                    restore += &line(
                        later + 3600,
                        &format!("{run}-r"),
                        "run-restore",
                        &id,
                        "untag",
                        json!({"ok": {"tag": "flavors_deleted"}}),
                    );
                }
            }
        }
        for (name, body) in [("run-archive", archive), ("run-restore", restore)] {
            let key =
                ObjectKey::new(format!("log/{y:04}/{m:02}/{d:02}/{run}-{name}.jsonl")).unwrap();
            store.create_if_absent(&key, body.into()).await.unwrap();
        }
    }
    std::fs::write(&done, b"").unwrap();
}

fn prices() -> Prices {
    Prices {
        kaltura: 0.1,
        kaltura_assumed: false,
        classes: BTreeMap::from([("DEEP_ARCHIVE".to_string(), 0.00099)]),
    }
}

/// The report's work; returns (lines' entries replaced now, waiting restores).
async fn ours(dir: &Path) -> (u64, u64) {
    let store = LocalStore::new(dir).unwrap();
    let h = history::read(&store, &prices(), "GLACIER", T0 + 120 * 86_400)
        .await
        .unwrap();
    (h.days.last().unwrap().replaced, h.waiting.len() as u64)
}

/// The floor: the same files read with `std::fs`, every line parsed; returns (lines, 0).
fn baseline(dir: &Path) -> (u64, u64) {
    fn walk(dir: &Path, lines: &mut u64) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(&p, lines);
            } else if p.extension().is_some_and(|x| x == "jsonl") {
                for l in std::fs::read_to_string(&p).unwrap().lines() {
                    let _: serde_json::Value = serde_json::from_str(l).unwrap();
                    *lines += 1;
                }
            }
        }
    }
    let mut lines = 0;
    walk(&dir.join("log"), &mut lines);
    (lines, 0)
}

fn child(which: &str, dir: &Path) {
    let started = Instant::now();
    let (a, b) = match which {
        "ours" => tokio::runtime::Runtime::new().unwrap().block_on(ours(dir)),
        _ => baseline(dir),
    };
    println!(
        "{a} {b} {} {}",
        started.elapsed().as_secs_f64(),
        peak_rss_mib()
    );
}

fn run_child(which: &str, dir: &Path) -> (u64, u64, f64, f64) {
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--report-child", which])
        .arg(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let f: Vec<&str> = text.split_whitespace().collect();
    (
        f[0].parse().unwrap(),
        f[1].parse().unwrap(),
        f[2].parse().unwrap(),
        f[3].parse().unwrap(),
    )
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--report-child") {
        child(&args[i + 1], Path::new(&args[i + 2]));
        return;
    }
    let entries = env_u64("REPORT_ENTRIES", 100_000);
    let dir = std::env::var("REPORT_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/report-bench")
        });
    tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(build(&dir, entries));
    // Warm the page cache once, then best of three, interleaved.
    let warm = run_child("baseline", &dir);
    let (mut o_best, mut b_best) = ((0, 0, f64::MAX, 0.0), (0, 0, f64::MAX, 0.0));
    for _ in 0..3 {
        let o = run_child("ours", &dir);
        let b = run_child("baseline", &dir);
        if o.2 < o_best.2 {
            o_best = o;
        }
        if b.2 < b_best.2 {
            b_best = b;
        }
    }
    // Every entry replaced, one in 40 restored; one in 20 asked for a thaw, half of them still wait.
    let restored = entries.div_ceil(40);
    assert_eq!(o_best.0, entries - restored, "replaced at the end");
    assert_eq!(
        o_best.1,
        entries.div_ceil(20) - restored,
        "restores waiting"
    );
    let lines = warm.0;
    println!("report journals of {entries} entries ({lines} lines, {DAYS} days; local store, warm page cache), best of 3:");
    println!(
        "  ours (list + read through the store + parse + replay): {:.2} s, {:.0} lines/s, peak RSS {:.0} MiB",
        o_best.2,
        lines as f64 / o_best.2,
        o_best.3
    );
    println!(
        "  baseline (std::fs read + parse each line as JSON):      {:.2} s, {:.0} lines/s, peak RSS {:.0} MiB",
        b_best.2,
        lines as f64 / b_best.2,
        b_best.3
    );
    println!(
        "  ratio ours/baseline: {:.2}× the time",
        o_best.2 / b_best.2
    );
}
