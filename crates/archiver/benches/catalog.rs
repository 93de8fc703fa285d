//! `cargo bench -p archiver --bench catalog`: what `catalog` does over an archive of
//! `CATALOG_ENTRIES` (100,000) sidecars in a local store — one listing of `sidecars/`, then
//! every `metadata.json` read through the store (checked against its stored checksum) and
//! parsed, 16 at a time — against a baseline in the same run: the same files read with plain
//! `std::fs` and parsed, one at a time, with no store in between.
//!
//! Each side runs in a child process of its own (this binary again), so the peak RSS it reports
//! (VmHWM) is the catalog's alone. The archive is built once under `CATALOG_DIR` (default
//! `target/catalog-bench`) through the store's own `put`, and reused by later runs.

mod common;

use common::{env_u64, peak_rss_mib};
use futures_util::StreamExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use archiver::sidecar::{self, CopyLocation, Metadata, OriginalFile};
use archiver::store::local::LocalStore;
use archiver::store::{ArchiveMeta, ArchiveStore, ObjectKey, PutOptions, StorageClass};
use bytes::Bytes;

fn metadata(n: u64) -> Metadata {
    let id = format!("0_{n:08x}");
    Metadata {
        id: id.clone(),
        name: format!("Lecture {n} — Physics of waves, session {}", n % 40),
        description: "Recorded in the main lecture hall.".into(),
        tags: vec!["lecture".into(), "physics".into()],
        categories: vec!["Courses>PHY101".into()],
        categories_ids: vec!["102".into()],
        owner: format!("lecturer{}", n % 500),
        creator: format!("lecturer{}", n % 500),
        created_at: 1_400_000_000 + (n as i64) * 3000,
        updated_at: 1_500_000_000,
        duration_ms: 3_000_000,
        plays: (n % 97) as i64,
        last_played_at: Some(1_550_000_000),
        original: OriginalFile {
            flavor_id: Some(format!("0_f{n:07x}")),
            flavor_version: Some(1),
            file_ext: Some("mp4".into()),
            bytes: 500_000_000 + n,
            crc64nvme: Some("AAAAAAAAAAA=".into()),
            sha256: Some("0".repeat(64)),
        },
        copy: CopyLocation {
            key: id.clone(),
            version_id: None,
            storage_class: "DEEP_ARCHIVE".into(),
            archived_at: Some(1_700_000_000),
        },
        captions: Vec::new(),
        thumbnail: Some(format!("sidecars/{id}/thumbnail.jpg")),
        tool_version: "bench".into(),
    }
}

/// Builds the archive's sidecars once (a marker file says it is complete).
async fn build(dir: &Path, entries: u64) {
    let done = dir.join(format!(".built-{entries}"));
    if done.exists() {
        return;
    }
    let _ = std::fs::remove_dir_all(dir);
    let store = Arc::new(LocalStore::new(dir).unwrap());
    let started = Instant::now();
    futures_util::stream::iter(0..entries)
        .map(|n| {
            let store = store.clone();
            async move {
                let m = metadata(n);
                let body = Bytes::from(serde_json::to_vec_pretty(&m).unwrap());
                let key = ObjectKey::new(format!("sidecars/{}/metadata.json", m.id)).unwrap();
                let opts = PutOptions {
                    meta: ArchiveMeta {
                        entry_id: m.id.clone(),
                        flavor_id: String::new(),
                        flavor_version: 0,
                        file_ext: "sidecar".into(),
                        archived_at: 0,
                        tool_version: "bench".into(),
                    },
                    expected_len: Some(body.len() as u64),
                    size_hint: None,
                    storage_class: StorageClass::StandardIa,
                };
                let stream: archiver::store::ByteStream =
                    Box::pin(futures_util::stream::once(async move { Ok(body) }));
                store.put(&key, stream, &opts).await.unwrap();
            }
        })
        .buffer_unordered(64)
        .collect::<()>()
        .await;
    std::fs::write(&done, b"").unwrap();
    eprintln!(
        "built {entries} sidecars in {:.0} s",
        started.elapsed().as_secs_f64()
    );
}

/// The catalog's work: list, read through the store, parse; returns (entries, bytes total).
async fn ours(dir: &Path) -> (u64, u64) {
    let store: Arc<dyn ArchiveStore> = Arc::new(LocalStore::new(dir).unwrap());
    let keys = sidecar::metadata_keys(store.as_ref()).await.unwrap();
    let mut all = std::pin::pin!(sidecar::all_metadata(store, keys, 16));
    let (mut n, mut bytes) = (0, 0);
    while let Some((_, m)) = all.next().await {
        let m = m.unwrap();
        n += 1;
        bytes += m.original.bytes;
    }
    (n, bytes)
}

/// The floor: the same files found and read with `std::fs`, parsed, one at a time.
fn baseline(dir: &Path) -> (u64, u64) {
    let (mut n, mut bytes) = (0, 0);
    for e in std::fs::read_dir(dir.join("sidecars")).unwrap() {
        let path = e.unwrap().path().join("metadata.json");
        let m: Metadata = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        n += 1;
        bytes += m.original.bytes;
    }
    (n, bytes)
}

fn child(which: &str, dir: &Path) {
    let started = Instant::now();
    let (n, bytes) = match which {
        "ours" => tokio::runtime::Runtime::new().unwrap().block_on(ours(dir)),
        _ => baseline(dir),
    };
    let secs = started.elapsed().as_secs_f64();
    println!("{n} {bytes} {secs} {}", peak_rss_mib());
}

fn run_child(which: &str, dir: &Path) -> (u64, f64, f64) {
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--catalog-child", which])
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
        f[2].parse().unwrap(),
        f[3].parse().unwrap(),
    )
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--catalog-child") {
        child(&args[i + 1], Path::new(&args[i + 2]));
        return;
    }
    let entries = env_u64("CATALOG_ENTRIES", 100_000);
    let dir = std::env::var("CATALOG_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/catalog-bench")
        });
    tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(build(&dir, entries));
    // Warm the page cache once, then best of three, interleaved.
    run_child("baseline", &dir);
    let (mut best_ours, mut best_base) = ((0, f64::MAX, 0.0), (0, f64::MAX, 0.0));
    for _ in 0..3 {
        let o = run_child("ours", &dir);
        let b = run_child("baseline", &dir);
        if o.1 < best_ours.1 {
            best_ours = o;
        }
        if b.1 < best_base.1 {
            best_base = b;
        }
    }
    assert_eq!(best_ours.0, entries, "the catalog listed every entry");
    assert_eq!(best_base.0, entries);
    let rate = |e: u64, s: f64| e as f64 / s;
    println!("catalog of {entries} sidecars (local store, warm page cache), best of 3:");
    println!(
        "  ours (list + read through the store + parse, 16 at once): {:.2} s, {:.0} entries/s, peak RSS {:.0} MiB",
        best_ours.1,
        rate(entries, best_ours.1),
        best_ours.2
    );
    println!(
        "  baseline (std::fs read + parse, one at a time):           {:.2} s, {:.0} entries/s, peak RSS {:.0} MiB",
        best_base.1,
        rate(entries, best_base.1),
        best_base.2
    );
    println!(
        "  ours / baseline throughput: {:.2}x",
        best_base.1 / best_ours.1
    );
}
