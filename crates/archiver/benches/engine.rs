//! `cargo bench -p archiver --bench engine`: the engine's concurrency, measured in one run.
//!
//! A simulated partner of `ENGINE_BENCH_ENTRIES` (default 100) entries whose originals are all
//! `ENGINE_BENCH_MIB` MiB (default 20), with `ENGINE_BENCH_LATENCY_MS` (default 20) ms injected
//! into every Kaltura API call, is archived into a fresh local store once with `--jobs 1` and
//! once with `--jobs 8` (override with `ENGINE_BENCH_JOBS`, e.g. `1,4,8`). Reports entries/s,
//! MiB/s and the speed-up over one job.

mod common;

use common::env_u64;
use std::sync::Arc;
use std::time::Instant;

use archiver::context::{Ctx, Mode, Settings};
use archiver::engine::{self, Command};
use archiver::placeholder::{Placeholders, DEFAULT};
use archiver::selection::{Flavors, Selection, Walker};
use archiver::store::local::LocalStore;
use archiver::store::StorageClass;
use kaltura_sim::{SimConfig, SimServer};

/// Archives every READY entry with `jobs` at once; returns (seconds, entries archived, bytes).
async fn archive_all(sim: &SimServer, jobs: usize) -> (f64, u64, u64) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Arc::new(LocalStore::new(dir.path().join("archive")).expect("store"));
    let client = kaltura::Client::builder()
        .with_service_url(sim.base_url())
        .with_partner_id(100)
        .with_secret("sim-admin-secret".to_string().into())
        .build()
        .expect("client");
    let ctx = Arc::new(Ctx::new(
        client.clone(),
        store,
        Placeholders::new(DEFAULT.to_vec()),
        Settings {
            jobs,
            storage_class: StorageClass::Standard,
            ..Settings::default()
        },
        Mode::Execute,
        "archive",
    ));
    let now = ctx.now;
    let walker =
        Walker::new(client, &Selection::default(), Flavors::Originals, now).expect("walker");
    let started = Instant::now();
    let mut archived = 0u64;
    let summary = engine::run(ctx, walker, Command::Archive, |r| {
        if r.outcome.name() == "done" {
            archived += 1;
        } else if r.outcome.is_failure() {
            panic!("{}: {:?}", r.entry.0, r.outcome);
        }
    })
    .await
    .expect("run");
    let secs = started.elapsed().as_secs_f64();
    let bytes = archived * env_u64("ENGINE_BENCH_MIB", 20) * (1 << 20);
    eprintln!("  jobs {jobs}: {summary}");
    (secs, archived, bytes)
}

#[tokio::main]
async fn main() {
    let entries = env_u64("ENGINE_BENCH_ENTRIES", 100) as usize;
    let mib = env_u64("ENGINE_BENCH_MIB", 20);
    let latency = env_u64("ENGINE_BENCH_LATENCY_MS", 20);
    let jobs: Vec<usize> = std::env::var("ENGINE_BENCH_JOBS")
        .unwrap_or_else(|_| "1,8".into())
        .split(',')
        .filter_map(|j| j.trim().parse().ok())
        .collect();
    let fault = format!("latency={latency}ms").parse().expect("fault rule");
    let sim = SimServer::start(SimConfig {
        entries,
        seed: 3,
        flavor_bytes: (mib << 20, mib << 20),
        faults: vec![fault],
        ..SimConfig::default()
    })
    .await
    .expect("simulator");
    println!(
        "archive of {entries} generated entries (originals {mib} MiB, {latency} ms per Kaltura call) into a local store"
    );
    println!(
        "| jobs | seconds | entries archived | entries/s | MiB/s | speed-up vs jobs {} |",
        jobs[0]
    );
    println!("| ---: | ---: | ---: | ---: | ---: | ---: |");
    let mut first = None;
    for j in jobs {
        let (secs, n, bytes) = archive_all(&sim, j).await;
        let base = *first.get_or_insert(secs);
        println!(
            "| {j} | {secs:.2} | {n} | {:.1} | {:.0} | {:.2} |",
            n as f64 / secs,
            bytes as f64 / (1 << 20) as f64 / secs,
            base / secs
        );
    }
    sim.stop().await;
}
