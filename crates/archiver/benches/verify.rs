//! `cargo bench -p archiver --bench verify`: `verify --read-data` over a local archive against
//! `cat` of the same files, in one run.
//!
//! Builds an archive of `VERIFY_BENCH_FILES` (16) copies of `VERIFY_BENCH_MIB` / files MiB
//! (1024 MiB in all), each with its record, then measures, best of three, interleaved:
//! - cold: the page cache dropped before each run (`/proc/sys/vm/drop_caches`, as root) — the
//!   case of a real archive, far larger than memory: `cat FILES > /dev/null` against the
//!   archiver's verify reading every copy and hashing it (CRC64NVME and SHA-256) with
//!   `VERIFY_BENCH_JOBS` (4) at once;
//! - warm: the files in the page cache, where the hashing is the limit.
//!
//! Also reports the peak RSS of the process (VmHWM) before and after the verify runs.

mod common;

use common::{env_u64, peak_rss_mib};
use std::sync::Arc;
use std::time::{Duration, Instant};

use archiver::placeholder::{Placeholders, DEFAULT};
use archiver::record::{self, CopyRecord};
use archiver::store::checksum::Digests;
use archiver::store::local::LocalStore;
use archiver::store::{ArchiveMeta, ArchiveStore, ObjectKey, PutOptions, StorageClass};
use archiver::verify;
use bytes::Bytes;

const MIB: u64 = 1 << 20;

/// Drops the page cache; `false` when this process may not (not root).
fn drop_caches() -> bool {
    let _ = std::process::Command::new("sync").status();
    std::fs::write("/proc/sys/vm/drop_caches", "3").is_ok()
}

/// Deterministic, incompressible-looking bytes: a different 1 MiB block per (file, block).
fn block(file: u64, n: u64) -> Bytes {
    let mut x = (file << 32 | n).wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut out = Vec::with_capacity(MIB as usize);
    while out.len() < MIB as usize {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    Bytes::from(out)
}

async fn build(store: &LocalStore, files: u64, mib_each: u64) -> Vec<std::path::PathBuf> {
    let mut paths = Vec::new();
    for f in 0..files {
        let entry = format!("0_bench{f:03}");
        let key = ObjectKey::new(entry.clone()).unwrap();
        // The bytes are generated twice (digests, then the put) so memory stays at one block.
        let mut digests = Digests::default();
        for n in 0..mib_each {
            digests.update(&block(f, n));
        }
        let d = digests.finish();
        let body: archiver::store::ByteStream = Box::pin(futures_util::stream::iter(
            (0..mib_each).map(move |n| Ok(block(f, n))),
        ));
        let meta = ArchiveMeta {
            entry_id: entry.clone(),
            flavor_id: "0_flavor".into(),
            flavor_version: 1,
            file_ext: "mp4".into(),
            archived_at: 0,
            tool_version: env!("CARGO_PKG_VERSION").into(),
        };
        let opts = PutOptions {
            meta,
            expected_len: Some(d.bytes),
            size_hint: None,
            storage_class: StorageClass::Standard,
        };
        store.put(&key, body, &opts).await.unwrap();
        let rec = CopyRecord {
            key: entry.clone(),
            version_id: None,
            entry_id: entry.clone(),
            flavor_id: "0_flavor".into(),
            flavor_version: 1,
            file_ext: "mp4".into(),
            bytes: d.bytes,
            crc64nvme: d.crc64nvme,
            sha256: d.sha256,
            storage_class: "STANDARD".into(),
            archived_at: 0,
            tool_version: env!("CARGO_PKG_VERSION").into(),
        };
        record::write(store, &rec).await.unwrap();
        paths.push(entry.into());
    }
    paths
}

fn cat(root: &std::path::Path, files: &[std::path::PathBuf]) -> Duration {
    let t = Instant::now();
    let ok = std::process::Command::new("cat")
        .args(files)
        .current_dir(root)
        .stdout(std::process::Stdio::null())
        .status()
        .unwrap()
        .success();
    assert!(ok, "cat failed");
    t.elapsed()
}

async fn verify_all(store: Arc<dyn ArchiveStore>, jobs: usize) -> Duration {
    let placeholders = Placeholders::new(DEFAULT.to_vec());
    let progress = verify::Progress::default();
    let t = Instant::now();
    let totals = verify::run(store, &placeholders, true, jobs, &progress, |_| {})
        .await
        .unwrap();
    let d = t.elapsed();
    assert_eq!(totals.problems(), 0, "{totals:?}");
    assert!(totals.by_status.get("good-read").copied().unwrap_or(0) > 0);
    d
}

/// The best of three interleaved runs of `cat` and of verify, each after dropping the page
/// cache when `cold`.
async fn best_of_three(
    root: &std::path::Path,
    paths: &[std::path::PathBuf],
    store: &Arc<dyn ArchiveStore>,
    jobs: usize,
    cold: bool,
) -> (Duration, Duration) {
    let (mut c, mut v) = (Duration::MAX, Duration::MAX);
    for _ in 0..3 {
        if cold {
            drop_caches();
        }
        c = c.min(cat(root, paths));
        if cold {
            drop_caches();
        }
        v = v.min(verify_all(store.clone(), jobs).await);
    }
    (c, v)
}

/// SHA-256 and CRC64NVME alone over `mib` MiB in memory, on one core: the ceiling of a hash.
fn hash_alone(mib: u64) -> (f64, f64) {
    let data = vec![7u8; (mib * MIB) as usize];
    let t = Instant::now();
    let d = Digests::of(&data);
    let both = t.elapsed();
    let t = Instant::now();
    let mut crc = archiver::store::checksum::Crc64::default();
    crc.update(&data);
    let crc_only = t.elapsed();
    assert_eq!(d.crc64nvme, crc.base64());
    (rate(mib * MIB, both), rate(mib * MIB, crc_only))
}

fn rate(bytes: u64, d: Duration) -> f64 {
    bytes as f64 / MIB as f64 / d.as_secs_f64()
}

#[tokio::main]
async fn main() {
    let files = env_u64("VERIFY_BENCH_FILES", 16);
    let total_mib = env_u64("VERIFY_BENCH_MIB", 1024);
    let jobs = env_u64("VERIFY_BENCH_JOBS", 4) as usize;
    let mib_each = (total_mib / files).max(1);
    let bytes = files * mib_each * MIB;
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("temp dir");
    let root = dir.path().join("archive");
    let local = LocalStore::new(&root).unwrap();
    let paths = build(&local, files, mib_each).await;
    let store: Arc<dyn ArchiveStore> = Arc::new(local);
    println!(
        "archive: {files} copies × {mib_each} MiB = {} MiB, verify with {jobs} at once",
        bytes / MIB
    );
    let cold = drop_caches();
    if cold {
        let (c, v) = best_of_three(&root, &paths, &store, jobs, true).await;
        println!(
            "cold cache: cat {:.0} MiB/s, verify --read-data {:.0} MiB/s: {:.2} × cat",
            rate(bytes, c),
            rate(bytes, v),
            c.as_secs_f64() / v.as_secs_f64()
        );
    } else {
        println!("cold cache: skipped (dropping the page cache needs root)");
    }
    cat(&root, &paths);
    let rss_before = peak_rss_mib();
    let (c, v) = best_of_three(&root, &paths, &store, jobs, false).await;
    println!(
        "warm cache: cat {:.0} MiB/s, verify --read-data {:.0} MiB/s: {:.2} × cat (the hashing is the limit)",
        rate(bytes, c),
        rate(bytes, v),
        c.as_secs_f64() / v.as_secs_f64()
    );
    println!(
        "peak RSS: {rss_before:.1} MiB before the verify runs, {:.1} MiB after ({} MiB read per run)",
        peak_rss_mib(),
        bytes / MIB
    );
    // Last: its 512 MiB buffer must not count in the peak RSS above.
    let (both, crc) = hash_alone(512);
    println!(
        "one core, in memory: CRC64NVME + SHA-256 {both:.0} MiB/s, CRC64NVME alone {crc:.0} MiB/s"
    );
}
