//! `cargo bench -p archiver --bench pipeline`: the archiver against the limits of this machine and
//! against what a simple script does, each pair measured side by side in one run.
//!
//! 1. One `PIPE_BIG_MIB` (4096) MiB flavor archived: peak RSS of the process and peak bytes in the
//!    temporary directory meanwhile (first, so that the peak is not an earlier part's heap).
//! 2. Archive throughput of `PIPE_ENTRIES` (64) entries × `PIPE_MIB` (32) MiB with `PIPE_JOBS`
//!    (8) at once into a local store, against the raw pipe on the same bytes with the same
//!    concurrency: plain HTTP GETs of the flavors from the simulator written to files (fsync), and
//!    plain GETs alone.
//! 3. A script-like baseline on the same entries — one entry at a time: a flavor lookup, the
//!    download URL, the download to a temporary file, a copy of it into the store, a tag — with 0
//!    and 20 ms injected into every Kaltura call; reported as our speed / baseline speed.
//! 4. Restore throughput: the archived entries replaced, then restored from the store back into
//!    the simulator.
//! 5. Kaltura calls per 500 entries for `list` and `health` of `PIPE_CALL_ENTRIES` (10,000).

mod common;

use common::{env_u64, run_command, s3_client, sim_client};
use futures_util::{StreamExt, TryStreamExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use archiver::context::{Ctx, Mode, Settings};
use archiver::engine::Command;
use archiver::placeholder::{Placeholders, DEFAULT};
use archiver::selection::{Flavors, Selection, Walker};
use archiver::store::local::LocalStore;
use archiver::store::{ArchiveStore, StorageClass};
use kaltura::{EntryId, FlavorAsset};
use kaltura_sim::{SimConfig, SimServer};
use tokio::io::AsyncWriteExt;

const MIB: u64 = 1 << 20;

async fn start(entries: usize, mib: u64, seed: u64) -> SimServer {
    SimServer::start(SimConfig {
        entries,
        seed,
        flavor_bytes: (mib * MIB, mib * MIB),
        ..SimConfig::default()
    })
    .await
    .expect("simulator")
}

fn set_latency(sim: &SimServer, ms: u64) {
    let rules = if ms == 0 {
        vec![]
    } else {
        vec![format!("latency={ms}ms").parse().expect("rule")]
    };
    sim.sim().faults.set(rules);
}

fn ctx(sim: &SimServer, store: Arc<dyn ArchiveStore>, jobs: usize, execute: bool) -> Arc<Ctx> {
    Arc::new(Ctx::new(
        sim_client(sim),
        store,
        Placeholders::new(DEFAULT.to_vec()),
        Settings {
            jobs,
            storage_class: StorageClass::Standard,
            poll_every: Duration::from_millis(200),
            // Every generated entry is old enough to replace (they are at least an hour old).
            years: 1e-6,
            ..Settings::default()
        },
        Mode::from_execute(execute),
        "bench",
    ))
}

/// Runs a command over a selection; returns (seconds, entries done).
/// The READY originals of the partner's READY entries (what `archive` selects).
async fn originals(sim: &SimServer) -> Vec<FlavorAsset> {
    let ready = sim.sim().ready_visible_ids();
    let ids: Vec<EntryId> = ready.iter().map(|id| EntryId(id.clone())).collect();
    let c = sim_client(sim);
    let mut out = Vec::new();
    for chunk in ids.chunks(500) {
        out.extend(
            c.flavors_of(chunk, true)
                .await
                .expect("flavors")
                .into_iter()
                .filter(|f| f.is_original && f.is_ready()),
        );
    }
    out
}

/// Plain GETs of `urls`, `jobs` at once, each written to a file in `dir` (or dropped); bytes.
async fn raw_pipe(urls: &[String], jobs: usize, dir: Option<&Path>) -> (f64, u64) {
    let http = reqwest::Client::new();
    let started = Instant::now();
    let bytes: u64 = futures_util::stream::iter(urls.iter().enumerate())
        .map(|(i, url)| {
            let http = http.clone();
            let path = dir.map(|d| d.join(format!("raw-{i}")));
            async move {
                let resp = http.get(url).send().await.expect("get");
                let mut body = resp.bytes_stream();
                let mut file = match &path {
                    Some(p) => Some(tokio::io::BufWriter::with_capacity(
                        1 << 20,
                        tokio::fs::File::create(p).await.expect("create"),
                    )),
                    None => None,
                };
                let mut n = 0u64;
                while let Some(chunk) = body.try_next().await.expect("body") {
                    n += chunk.len() as u64;
                    if let Some(f) = file.as_mut() {
                        f.write_all(&chunk).await.expect("write");
                    }
                }
                if let Some(f) = file.as_mut() {
                    f.flush().await.expect("flush");
                    f.get_ref().sync_all().await.expect("fsync");
                }
                n
            }
        })
        .buffer_unordered(jobs)
        .fold(0u64, |a, b| async move { a + b })
        .await;
    (started.elapsed().as_secs_f64(), bytes)
}

/// What a simple script does, one entry at a time; returns seconds.
async fn baseline(sim: &SimServer, flavors: &[FlavorAsset], store_dir: &Path) -> f64 {
    let c = sim_client(sim);
    let http = reqwest::Client::new();
    std::fs::create_dir_all(store_dir).expect("dir");
    let started = Instant::now();
    for f in flavors {
        let found = c
            .flavors_of(std::slice::from_ref(&f.entry_id), true)
            .await
            .expect("lookup");
        let original = found.into_iter().find(|x| x.is_original).expect("original");
        let url = c.flavor_url(&original.id).await.expect("url");
        let mut tmp = tempfile::NamedTempFile::new().expect("temp file");
        let mut body = http.get(&url).send().await.expect("get").bytes_stream();
        while let Some(chunk) = body.try_next().await.expect("body") {
            std::io::Write::write_all(&mut tmp, &chunk).expect("write");
        }
        tmp.as_file().sync_all().expect("fsync");
        let dest = store_dir.join(&f.entry_id.0);
        std::fs::copy(tmp.path(), &dest).expect("copy");
        std::fs::File::open(&dest)
            .and_then(|d| d.sync_all())
            .expect("fsync");
        c.set_tags(&f.entry_id, &["archived_by_script".to_string()])
            .await
            .expect("tag");
    }
    started.elapsed().as_secs_f64()
}

/// The same archive into S3 (moto's server) against plain PUTs of the same bytes.
async fn s3_round(sim: &SimServer, urls: &[String], total: u64, jobs: usize, endpoint: &str) {
    for (k, v) in [
        ("AWS_ACCESS_KEY_ID", "test"),
        ("AWS_SECRET_ACCESS_KEY", "test"),
    ] {
        if std::env::var(k).is_err() {
            std::env::set_var(k, v);
        }
    }
    let raw = s3_client(endpoint, "test");
    let bucket = format!("pipeline-{}", std::process::id());
    raw.create_bucket()
        .bucket(&bucket)
        .send()
        .await
        .expect("bucket");
    let http = reqwest::Client::new();
    let started = Instant::now();
    futures_util::stream::iter(urls.iter().enumerate())
        .map(|(i, url)| {
            let (http, raw, bucket) = (http.clone(), raw.clone(), bucket.clone());
            async move {
                let body = http
                    .get(url)
                    .send()
                    .await
                    .expect("get")
                    .bytes()
                    .await
                    .expect("body");
                raw.put_object()
                    .bucket(&bucket)
                    .key(format!("raw/{i}"))
                    .body(body.into())
                    .send()
                    .await
                    .expect("put");
            }
        })
        .buffer_unordered(jobs)
        .collect::<Vec<()>>()
        .await;
    let raw_s = started.elapsed().as_secs_f64();
    let store = archiver::store::s3::S3StoreBuilder::default()
        .with_bucket(&bucket)
        .with_prefix("ours")
        .with_endpoint(endpoint)
        .with_region("us-east-1")
        .build()
        .await
        .expect("store");
    let (s, _) = run_command(
        ctx(sim, Arc::new(store), jobs, true),
        Command::Archive,
        &Selection::default(),
    )
    .await;
    println!(
        "| S3 on moto: plain GET then PUT of each flavor ({jobs} at once) | {raw_s:.2} | {:.0} | 1.00 |",
        mibs(total, raw_s)
    );
    println!(
        "| S3 on moto: archive (streamed multipart, CRC64NVME, verified) | {s:.2} | {:.0} | {:.2} of plain PUTs |",
        mibs(total, s),
        raw_s / s
    );
}

fn vm_hwm_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

fn dir_bytes(dir: &Path) -> u64 {
    let mut total = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        if let Ok(rd) = std::fs::read_dir(&d) {
            for e in rd.flatten() {
                match e.metadata() {
                    Ok(m) if m.is_dir() => stack.push(e.path()),
                    Ok(m) => total += m.len(),
                    Err(_) => {}
                }
            }
        }
    }
    total
}

fn mibs(bytes: u64, secs: f64) -> f64 {
    bytes as f64 / MIB as f64 / secs
}

#[tokio::main]
async fn main() {
    let entries = env_u64("PIPE_ENTRIES", 64) as usize;
    let mib = env_u64("PIPE_MIB", 32);
    let jobs = env_u64("PIPE_JOBS", 8) as usize;
    let big_mib = env_u64("PIPE_BIG_MIB", 4096);
    let call_entries = env_u64("PIPE_CALL_ENTRIES", 10_000) as usize;
    // Everything temporary goes under one directory, watched for part 4.
    let scratch = tempfile::tempdir().expect("scratch");
    let tmp_dir = scratch.path().join("tmp");
    std::fs::create_dir_all(&tmp_dir).expect("tmp");
    std::env::set_var("TMPDIR", &tmp_dir);
    let stores = scratch.path().join("stores");
    let fresh = |name: &str| -> PathBuf { stores.join(name) };

    println!(
        "## 1. one {big_mib} MiB original archived into a local store (first: a fresh heap)\n"
    );
    let sim = start(12, big_mib, 5).await;
    let big = originals(&sim)
        .await
        .into_iter()
        .next()
        .expect("an original");
    let store: Arc<dyn ArchiveStore> = Arc::new(LocalStore::new(fresh("big")).expect("store"));
    let _ = std::fs::write("/proc/self/clear_refs", "5"); // reset the peak RSS
    let before = vm_hwm_kib();
    let stop = Arc::new(AtomicBool::new(false));
    let peak_tmp = Arc::new(AtomicU64::new(0));
    let watcher = {
        let (stop, peak, dir) = (stop.clone(), peak_tmp.clone(), tmp_dir.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                peak.fetch_max(dir_bytes(&dir), Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(50));
            }
        })
    };
    let one = Selection {
        entry_ids: vec![big.entry_id.clone()],
        ..Selection::default()
    };
    let (s, done) = run_command(ctx(&sim, store, 1, true), Command::Archive, &one).await;
    stop.store(true, Ordering::Relaxed);
    watcher.join().expect("watcher");
    assert_eq!(done, 1);
    println!("| measure | result |");
    println!("| --- | --- |");
    println!(
        "| time, throughput | {s:.1} s, {:.0} MiB/s |",
        mibs(big_mib * MIB, s)
    );
    println!(
        "| peak RSS of the process (simulator included) | {:.1} MiB (before: {:.1} MiB) |",
        vm_hwm_kib() as f64 / 1024.0,
        before as f64 / 1024.0
    );
    println!(
        "| peak bytes in the temporary directory | {} |",
        peak_tmp.load(Ordering::Relaxed)
    );
    let _ = std::fs::remove_dir_all(fresh("big"));
    sim.stop().await;

    println!(
        "\n## 2–4. {entries} generated entries × {mib} MiB originals, {jobs} at once, local store\n"
    );
    let sim = start(entries, mib, 11).await;
    let flavors = originals(&sim).await;
    let n = flavors.len() as u64;
    let total = n * mib * MIB;
    let c = sim_client(&sim);
    let mut urls = Vec::new();
    for f in &flavors {
        urls.push(c.flavor_url(&f.id).await.expect("url"));
    }
    let (get_s, got) = raw_pipe(&urls, jobs, None).await;
    assert_eq!(got, total);
    let raw_dir = fresh("raw");
    std::fs::create_dir_all(&raw_dir).expect("raw dir");
    let (pipe_s, _) = raw_pipe(&urls, jobs, Some(&raw_dir)).await;
    let _ = std::fs::remove_dir_all(&raw_dir);
    println!("| measure | seconds | MiB/s | ratio |");
    println!("| --- | ---: | ---: | ---: |");
    println!(
        "| plain HTTP GETs ({n} flavors, {jobs} at once) | {get_s:.2} | {:.0} | |",
        mibs(total, get_s)
    );
    println!("| raw pipe: plain GETs written to files (1 MiB buffers) + fsync ({jobs} at once) | {pipe_s:.2} | {:.0} | 1.00 |", mibs(total, pipe_s));
    let mut ours = Vec::new();
    for latency in [0, 20] {
        set_latency(&sim, latency);
        let store = Arc::new(LocalStore::new(fresh(&format!("ours-{latency}"))).expect("store"));
        let (s, done) = run_command(
            ctx(&sim, store, jobs, true),
            Command::Archive,
            &Selection::default(),
        )
        .await;
        assert_eq!(done, n, "every original archived");
        let _ = std::fs::remove_dir_all(fresh(&format!("ours-{latency}")));
        ours.push((latency, s));
        println!(
            "| archive, {latency} ms per Kaltura call | {s:.2} | {:.0} | {:.2} of the raw pipe |",
            mibs(total, s),
            pipe_s / s
        );
    }
    for (latency, our_s) in &ours {
        set_latency(&sim, *latency);
        let s = baseline(&sim, &flavors, &fresh(&format!("script-{latency}"))).await;
        let _ = std::fs::remove_dir_all(fresh(&format!("script-{latency}")));
        println!(
            "| script baseline (one at a time, temp file, copy), {latency} ms per call | {s:.2} | {:.0} | ours is {:.1} × faster |",
            mibs(total, s),
            s / our_s
        );
    }
    set_latency(&sim, 0);
    if let Ok(endpoint) = std::env::var("MOTO_ENDPOINT") {
        s3_round(&sim, &urls, total, jobs, &endpoint).await;
    }
    // 3. Restore: archive, replace, then restore every entry from the store.
    let store: Arc<dyn ArchiveStore> = Arc::new(LocalStore::new(fresh("restore")).expect("store"));
    run_command(
        ctx(&sim, store.clone(), jobs, true),
        Command::Archive,
        &Selection::default(),
    )
    .await;
    run_command(
        ctx(&sim, store.clone(), jobs, true),
        Command::Replace,
        &Selection::default(),
    )
    .await;
    let replaced = Selection {
        tags: vec!["flavors_deleted".into()],
        ..Selection::default()
    };
    let (s, done) = run_command(
        ctx(&sim, store.clone(), jobs, true),
        Command::Restore,
        &replaced,
    )
    .await;
    assert_eq!(done, n, "every entry restored");
    println!(
        "| restore from the local store into Kaltura (chunked upload, replacement, check) | {s:.2} | {:.0} | |",
        mibs(total, s)
    );
    drop(store);
    let _ = std::fs::remove_dir_all(fresh("restore"));
    sim.stop().await;

    println!("\n## 5. Kaltura calls for {call_entries} entries\n");
    let sim = start(call_entries, 1, 9).await;
    let store: Arc<dyn ArchiveStore> = Arc::new(LocalStore::new(fresh("calls")).expect("store"));
    let counted = |sim: &SimServer| -> u64 {
        let c = sim.sim().counters();
        c.get("http.api").copied().unwrap_or(0)
    };
    sim.sim().reset_counters();
    let mut walker = Walker::new(
        sim_client(&sim),
        &Selection::default(),
        Flavors::Originals,
        archiver::time::now(),
    )
    .expect("walker");
    let mut listed = 0u64;
    while let Some(page) = walker.next_page().await.expect("page") {
        listed += page.entries.len() as u64;
    }
    let list_calls = counted(&sim);
    sim.sim().reset_counters();
    let (_, _) = run_command(
        ctx(&sim, store, 8, false),
        Command::Health,
        &Selection::default(),
    )
    .await;
    let health_calls = counted(&sim);
    println!("| command | entries | Kaltura calls | per 500 entries |");
    println!("| --- | ---: | ---: | ---: |");
    for (name, calls) in [("list", list_calls), ("health", health_calls)] {
        println!(
            "| {name} | {listed} | {calls} | {:.2} |",
            calls as f64 * 500.0 / listed as f64
        );
    }
    sim.stop().await;
}
