//! `cargo bench -p archiver --bench store`: the archive stores against the limits of the machine,
//! measured in one run.
//!
//! 1. Throughput: a put of a file's bytes into the local store (streamed in 1 MiB chunks, CRC64NVME
//!    computed, fsync, rename), and a put of the same bytes from memory (the store alone, as a
//!    download feeds it), against `cat FILE > COPY && sync COPY` (an in-kernel copy) and
//!    `cat FILE | cat > COPY && sync COPY` (a copy through user space) on the same disk; best of
//!    three each, interleaved. Reports the ratios.
//! 2. Memory: a generated stream of `STORE_BENCH_STREAM_MB` (default 2048) into the local store,
//!    and of `STORE_BENCH_S3_MB` (default 512) into S3 when `MOTO_ENDPOINT` (or `AWS_ENDPOINT_URL`
//!    with `AWS_BUCKET`) is set; reports the peak RSS of this process (VmHWM) after each.
//!
//! `STORE_BENCH_MB` (default 1024) sets the file size of part 1.

mod common;

use archiver::store::local::LocalStore;
use archiver::store::s3::S3StoreBuilder;
use archiver::store::{ArchiveMeta, ArchiveStore, ByteStream, ObjectKey, PutOptions, StorageClass};
use bytes::Bytes;
use common::{env_u64, peak_rss_mib};
use std::time::{Duration, Instant};

const MIB: u64 = 1 << 20;

fn opts(len: u64) -> PutOptions {
    PutOptions {
        meta: ArchiveMeta {
            entry_id: "0_bench000".into(),
            flavor_id: "0_benchfl0".into(),
            flavor_version: 1,
            file_ext: "mp4".into(),
            archived_at: 0,
            tool_version: env!("CARGO_PKG_VERSION").into(),
        },
        expected_len: Some(len),
        size_hint: None,
        storage_class: StorageClass::Standard,
    }
}

/// The 1 MiB block the source file repeats.
fn block() -> Vec<u8> {
    (0..MIB).map(|i| (i * 131 % 251) as u8).collect()
}

/// A stream of `len` bytes from memory in 1 MiB chunks — the same bytes as the source file, as
/// a network download hands them over (no file read in the way).
fn generated(len: u64) -> ByteStream {
    let chunk = Bytes::from(block());
    Box::pin(futures_util::stream::unfold(0u64, move |sent| {
        let chunk = chunk.clone();
        async move {
            if sent >= len {
                return None;
            }
            let n = (len - sent).min(MIB);
            Some((Ok(chunk.slice(..n as usize)), sent + n))
        }
    }))
}

/// A file read in 1 MiB chunks on a blocking thread (as `cat` reads it), ahead of the consumer.
fn file_stream(path: std::path::PathBuf) -> ByteStream {
    let (tx, rx) = tokio::sync::mpsc::channel::<std::io::Result<Bytes>>(4);
    tokio::task::spawn_blocking(move || {
        use std::io::Read;
        let mut f = match std::fs::File::open(&path) {
            Ok(f) => f,
            Err(e) => return drop(tx.blocking_send(Err(e))),
        };
        loop {
            // read_to_end fills spare capacity without zeroing it first.
            let mut buf = Vec::with_capacity(MIB as usize);
            match (&mut f).take(MIB).read_to_end(&mut buf) {
                Ok(0) => return,
                Ok(_) => {
                    if tx.blocking_send(Ok(Bytes::from(buf))).is_err() {
                        return;
                    }
                }
                Err(e) => return drop(tx.blocking_send(Err(e))),
            }
        }
    });
    Box::pin(futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|c| (c, rx))
    }))
}

fn mbps(bytes: u64, d: Duration) -> f64 {
    bytes as f64 / MIB as f64 / d.as_secs_f64()
}

#[tokio::main]
async fn main() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file_mb = env_u64("STORE_BENCH_MB", 1024);
    let bytes = file_mb * MIB;
    let src = dir.path().join("source.bin");
    {
        use std::io::Write;
        let mut f = std::fs::File::create(&src).unwrap();
        let block = block();
        for _ in 0..file_mb {
            f.write_all(&block).unwrap();
        }
        f.sync_all().unwrap();
    }
    let store = LocalStore::new(dir.path().join("store")).unwrap();
    // Baselines: `cat` copies in the kernel (copy_file_range); through a pipe it copies through
    // user space, as any streaming source (an HTTP download) must.
    let shell = |cmd: String| {
        let t = Instant::now();
        assert!(
            std::process::Command::new("sh")
                .arg("-c")
                .arg(&cmd)
                .status()
                .unwrap()
                .success(),
            "{cmd}"
        );
        t.elapsed()
    };
    let (mut best_cat, mut best_pipe, mut best_put) = (Duration::MAX, Duration::MAX, Duration::MAX);
    let mut best_mem = Duration::MAX;
    for round in 0..3 {
        let copy = dir.path().join(format!("copy{round}"));
        let (s, c) = (src.display(), copy.display());
        best_cat = best_cat.min(shell(format!("cat '{s}' > '{c}' && sync '{c}'")));
        std::fs::remove_file(&copy).unwrap();
        best_pipe = best_pipe.min(shell(format!("cat '{s}' | cat > '{c}' && sync '{c}'")));
        std::fs::remove_file(&copy).unwrap();
        let key = ObjectKey::new(format!("put{round}")).unwrap();
        let t = Instant::now();
        store
            .put(&key, file_stream(src.clone()), &opts(bytes))
            .await
            .unwrap();
        best_put = best_put.min(t.elapsed());
        std::fs::remove_file(dir.path().join("store").join(key.as_str())).unwrap();
        let t = Instant::now();
        store
            .put(&key, generated(bytes), &opts(bytes))
            .await
            .unwrap();
        best_mem = best_mem.min(t.elapsed());
        std::fs::remove_file(dir.path().join("store").join(key.as_str())).unwrap();
    }
    println!(
        "local put of a {file_mb} MiB file: {:.0} MiB/s; `cat f > g && sync g`: {:.0} MiB/s (ratio {:.2}); `cat f | cat > g && sync g`: {:.0} MiB/s (ratio {:.2})",
        mbps(bytes, best_put),
        mbps(bytes, best_cat),
        best_cat.as_secs_f64() / best_put.as_secs_f64(),
        mbps(bytes, best_pipe),
        best_pipe.as_secs_f64() / best_put.as_secs_f64()
    );
    println!(
        "local put of the same {file_mb} MiB from memory (the store alone, as a download feeds it): {:.0} MiB/s; ratio to `cat f > g && sync g`: {:.2}",
        mbps(bytes, best_mem),
        best_cat.as_secs_f64() / best_mem.as_secs_f64()
    );
    std::fs::remove_file(&src).unwrap();

    let stream_mb = env_u64("STORE_BENCH_STREAM_MB", 2048);
    let t = Instant::now();
    store
        .put(
            &ObjectKey::new("stream").unwrap(),
            generated(stream_mb * MIB),
            &opts(stream_mb * MIB),
        )
        .await
        .unwrap();
    println!(
        "local put of a generated {stream_mb} MiB stream: {:.0} MiB/s; peak RSS so far {:.1} MiB",
        mbps(stream_mb * MIB, t.elapsed()),
        peak_rss_mib()
    );
    drop(dir);

    let endpoint = std::env::var("MOTO_ENDPOINT")
        .ok()
        .or_else(|| std::env::var("AWS_ENDPOINT_URL").ok());
    let Some(endpoint) = endpoint else {
        println!("S3: skipped (set MOTO_ENDPOINT to a running moto server)");
        return;
    };
    let bucket = std::env::var("AWS_BUCKET")
        .unwrap_or_else(|_| format!("store-bench-{}", std::process::id()));
    let s3 = S3StoreBuilder::new(&bucket)
        .with_endpoint(&endpoint)
        .build()
        .await
        .unwrap();
    if s3.check_bucket().await.is_err() {
        let shared = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new("us-east-1"))
            .endpoint_url(&endpoint)
            .load()
            .await;
        let conf = aws_sdk_s3::config::Builder::from(&shared)
            .force_path_style(true)
            .build();
        aws_sdk_s3::Client::from_conf(conf)
            .create_bucket()
            .bucket(&bucket)
            .send()
            .await
            .unwrap();
    }
    let s3_mb = env_u64("STORE_BENCH_S3_MB", 512);
    let t = Instant::now();
    s3.put(
        &ObjectKey::new("stream").unwrap(),
        generated(s3_mb * MIB),
        &opts(s3_mb * MIB),
    )
    .await
    .unwrap();
    println!(
        "S3 put (multipart, {} MiB parts) of a generated {s3_mb} MiB stream to {endpoint}: {:.0} MiB/s; peak RSS so far {:.1} MiB",
        archiver::store::s3::part_size(Some(s3_mb * MIB)) / MIB,
        mbps(s3_mb * MIB, t.elapsed()),
        peak_rss_mib()
    );
}
