//! `cargo bench -p archiver --bench network`: what a user sees on a real network, not on
//! loopback. Kaltura is the simulator with every flavor download at `NET_DOWN_MBPS` (320 Mbit/s =
//! 40 MB/s, a CDN stream) and every upload call at `NET_UP_MBPS` (480), plus `NET_LATENCY_MS`
//! (20) on every API call; S3 is s3s-fs (Rust, so not the limit on 2 cores) behind a shaping
//! proxy with the same latency per request and `NET_S3_MBPS` (480 = 60 MB/s) per connection.
//! Side by side in one run, on the same entries and the same network:
//!
//! 1. archive of `NET_ENTRIES` (32) × `NET_MB` (8) MB: ours (`--jobs NET_JOBS`, 16); the
//!    reference tool's method (one entry at a time: its flavor lookup, an S3 HEAD, getUrl, the
//!    download to a temporary file, boto3's `upload_file` — 8 MB parts, 10 at once — and the tag);
//!    and the raw pipe (plain GET streamed into a plain PUT, same concurrency, no checks).
//! 2. replace of `NET_REPLACE` (200) entries with a conversion time of `NET_CONVERT_MS` (5000):
//!    ours; and the reference's method (its checks, delete every flavor, upload the placeholder,
//!    addContent, tag, then poll every 10 s until READY) on `NET_REF_REPLACE` (4) of them, as
//!    it is serial its time per entry is what matters.
//!
//! Each line gives seconds, and the CPU the process used meanwhile (cores busy on average), so
//! that what limits a ratio is measured, not guessed.

mod common;

use common::{env_u64, run_command, s3_client, sim_client};
use futures_util::StreamExt;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use archiver::context::{Ctx, Mode, Settings};
use archiver::engine::Command;
use archiver::placeholder::{Placeholders, DEFAULT};
use archiver::selection::{Flavors, Selection, Walker};
use archiver::store::s3::S3StoreBuilder;
use archiver::store::{ArchiveStore, StorageClass};
use aws_sdk_s3::primitives::ByteStream as SdkBody;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use kaltura::{Client, EntryId, FlavorAsset, MediaType};
use kaltura_sim::shaping::{bytes_per_sec, shaped_proxy};
use kaltura_sim::{SimConfig, SimServer};

const MB: u64 = 1_000_000;

/// The shaped network of one run.
struct Net {
    down_mbps: f64,
    up_mbps: f64,
    s3_mbps: f64,
    latency: Duration,
}

/// CPU time (user + system) of this process so far, in seconds.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit(')')
        .next()
        .unwrap_or("")
        .split_whitespace()
        .collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime and stime are fields 14 and 15 of /proc/PID/stat (11 and 12 after the command).
    (ticks(11) + ticks(12)) / 100.0
}

/// Runs `f`; returns its result, the seconds it took and the cores it kept busy on average.
async fn timed<T>(f: impl std::future::Future<Output = T>) -> (T, f64, f64) {
    let (wall, cpu) = (Instant::now(), cpu_seconds());
    let out = f.await;
    let secs = wall.elapsed().as_secs_f64();
    (out, secs, (cpu_seconds() - cpu) / secs.max(1e-9))
}

/// s3s-fs on a temporary directory, on a runtime of its own; returns its address.
fn s3_server(root: &std::path::Path) -> SocketAddr {
    use hyper_util::rt::{TokioExecutor, TokioIo};
    let fs = s3s_fs::FileSystem::new(root).expect("s3s-fs root");
    let mut builder = s3s::service::S3ServiceBuilder::new(fs);
    builder.set_auth(s3s::auth::SimpleAuth::from_single("bench", "bench"));
    let service = builder.build();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
                .await
                .unwrap();
            tx.send(listener.local_addr().unwrap()).unwrap();
            let http = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
            loop {
                let (socket, _) = listener.accept().await.unwrap();
                let conn = http.serve_connection(TokioIo::new(socket), service.clone());
                let conn = conn.into_owned();
                tokio::spawn(async move {
                    let _ = conn.await;
                });
            }
        });
    });
    rx.recv().expect("s3 server address")
}

async fn partner(entries: usize, mb: u64, net: &Net, convert_ms: u64) -> SimServer {
    SimServer::start(SimConfig {
        entries,
        seed: 29,
        flavor_bytes: (mb * MB, mb * MB),
        conversion_delay_ms: convert_ms,
        download_mbps: Some(net.down_mbps),
        upload_mbps: Some(net.up_mbps),
        faults: vec![format!("latency={}ms", net.latency.as_millis())
            .parse()
            .expect("rule")],
        ..SimConfig::default()
    })
    .await
    .expect("simulator")
}

/// The READY video and audio originals of the partner.
async fn originals(sim: &SimServer) -> Vec<FlavorAsset> {
    let c = sim_client(sim);
    let mut w =
        Walker::new(c, &recordings(), Flavors::Originals, archiver::time::now()).expect("walker");
    let mut out = Vec::new();
    while let Some(page) = w.next_page().await.expect("page") {
        out.extend(
            page.entries
                .iter()
                .filter_map(|e| page.original(&e.id).cloned()),
        );
    }
    out.retain(FlavorAsset::is_ready);
    out
}

fn recordings() -> Selection {
    Selection {
        media_types: vec![MediaType::Video, MediaType::Audio],
        ..Selection::default()
    }
}

fn ctx(sim: &SimServer, store: Arc<dyn ArchiveStore>, jobs: usize) -> Arc<Ctx> {
    Arc::new(Ctx::new(
        sim_client(sim),
        store,
        Placeholders::new(DEFAULT.to_vec()),
        Settings {
            jobs,
            storage_class: StorageClass::Standard,
            poll_every: Duration::from_millis(500),
            wait: Duration::from_secs(600),
            // Every generated entry is old enough to replace.
            years: 1e-6,
            ..Settings::default()
        },
        Mode::Execute,
        "bench",
    ))
}

/// Ours: the engine over the selection; returns the entries done.
async fn ours(ctx: Arc<Ctx>, command: Command, selection: &Selection) -> u64 {
    run_command(ctx, command, selection).await.1
}

/// The reference tool's archive of one entry, step by step as it made them.
async fn reference_archive(c: &Client, s3: &aws_sdk_s3::Client, bucket: &str, o: &FlavorAsset) {
    let id = &o.entry_id;
    c.flavors_of(std::slice::from_ref(id), false).await.unwrap();
    let exists = s3.head_object().bucket(bucket).key(&id.0).send().await;
    assert!(exists.is_err(), "not archived yet");
    let url = c
        .flavor_urls(std::slice::from_ref(&o.id))
        .await
        .unwrap()
        .remove(0)
        .1;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(&id.0);
    let mut file = tokio::fs::File::create(&path).await.unwrap();
    let mut body = reqwest::get(&url).await.unwrap().bytes_stream();
    while let Some(chunk) = body.next().await {
        tokio::io::AsyncWriteExt::write_all(&mut file, &chunk.unwrap())
            .await
            .unwrap();
    }
    drop(file);
    upload_file(s3, bucket, &id.0, &path).await;
    let tags = vec!["archived_to_s3".to_string()];
    c.set_tags(id, &tags).await.unwrap();
}

/// boto3's `upload_file` with its defaults: one PUT below 8 MB, else 8 MB parts, 10 at once.
async fn upload_file(s3: &aws_sdk_s3::Client, bucket: &str, key: &str, path: &std::path::Path) {
    const PART: u64 = 8 << 20;
    let data = bytes::Bytes::from(tokio::fs::read(path).await.unwrap());
    if (data.len() as u64) < PART {
        s3.put_object()
            .bucket(bucket)
            .key(key)
            .body(SdkBody::from(data))
            .send()
            .await
            .unwrap();
        return;
    }
    let up = s3
        .create_multipart_upload()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .unwrap();
    let upload_id = up.upload_id().unwrap().to_string();
    let parts: Vec<CompletedPart> =
        futures_util::stream::iter(data.chunks(PART as usize).enumerate())
            .map(|(i, chunk)| {
                let req = s3
                    .upload_part()
                    .bucket(bucket)
                    .key(key)
                    .upload_id(&upload_id)
                    .part_number(i as i32 + 1)
                    .body(SdkBody::from(data.slice_ref(chunk)));
                async move {
                    let r = req.send().await.unwrap();
                    CompletedPart::builder()
                        .part_number(i as i32 + 1)
                        .set_e_tag(r.e_tag().map(str::to_string))
                        .build()
                }
            })
            .buffered(10)
            .collect()
            .await;
    s3.complete_multipart_upload()
        .bucket(bucket)
        .key(key)
        .upload_id(&upload_id)
        .multipart_upload(
            CompletedMultipartUpload::builder()
                .set_parts(Some(parts))
                .build(),
        )
        .send()
        .await
        .unwrap();
}

/// The raw pipe: a plain GET streamed into a plain PUT, `jobs` at once, URLs given.
async fn raw_pipe(s3: &aws_sdk_s3::Client, bucket: &str, urls: &[String], jobs: usize) {
    futures_util::stream::iter(urls.iter().enumerate())
        .for_each_concurrent(jobs, |(i, url)| async move {
            let resp = reqwest::get(url).await.unwrap();
            let len = resp.content_length().expect("Content-Length");
            let body = http_body_util::StreamBody::new(
                resp.bytes_stream()
                    .map(|c| c.map(http_body::Frame::data).map_err(std::io::Error::other)),
            );
            s3.put_object()
                .bucket(bucket)
                .key(format!("raw-{i}"))
                .content_length(len as i64)
                .body(SdkBody::from_body_1_x(body))
                .send()
                .await
                .unwrap();
        })
        .await;
}

/// The reference tool's replace of one entry, step by step, with its 10 s polls.
async fn reference_replace(c: &Client, s3: &aws_sdk_s3::Client, bucket: &str, id: &EntryId) {
    c.flavors_of(std::slice::from_ref(id), true).await.unwrap();
    for _ in 0..2 {
        // s3_exists, then s3_size: two HEADs.
        let _ = s3.head_object().bucket(bucket).key(&id.0).send().await;
    }
    let flavors = c.flavors_of(std::slice::from_ref(id), false).await.unwrap();
    for f in &flavors {
        c.delete_flavor(&f.id).await.unwrap();
    }
    let placeholder = bytes::Bytes::from_static(DEFAULT);
    let len = placeholder.len() as u64;
    let body: kaltura::ByteStream =
        Box::pin(futures_util::stream::once(async move { Ok(placeholder) }));
    let token = c.upload("placeholder_video.mp4", len, body).await.unwrap();
    // On an entry without content updateContent is addContent (kaltura-api.md §5.3).
    c.update_content(id, &token).await.unwrap();
    c.set_tags(id, &["archived_to_s3".into(), "flavors_deleted".into()])
        .await
        .unwrap();
    loop {
        let now = c.flavors_of(std::slice::from_ref(id), true).await.unwrap();
        if now.iter().any(|f| f.is_original && f.is_ready()) {
            break;
        }
        tokio::time::sleep(Duration::from_secs(10)).await;
    }
}

fn line(what: &str, secs: f64, cores: f64, n: u64) {
    println!(
        "  {what:<54} {secs:>7.2} s  {:>6.2} entries/s  CPU {cores:.2} cores",
        n as f64 / secs
    );
}

#[tokio::main]
async fn main() {
    let net = Net {
        down_mbps: env_u64("NET_DOWN_MBPS", 320) as f64,
        up_mbps: env_u64("NET_UP_MBPS", 480) as f64,
        s3_mbps: env_u64("NET_S3_MBPS", 480) as f64,
        latency: Duration::from_millis(env_u64("NET_LATENCY_MS", 20)),
    };
    let (entries, mb, jobs) = (
        env_u64("NET_ENTRIES", 32) as usize,
        env_u64("NET_MB", 8),
        env_u64("NET_JOBS", 16) as usize,
    );
    println!(
        "network: Kaltura downloads {} Mbit/s and uploads {} Mbit/s per connection, S3 {} Mbit/s per connection, {} ms per call; S3 = s3s-fs behind the shaping proxy; {} cores",
        net.down_mbps,
        net.up_mbps,
        net.s3_mbps,
        net.latency.as_millis(),
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    let s3_root = tempfile::tempdir().unwrap();
    let s3_addr = s3_server(s3_root.path());
    let proxy = shaped_proxy(s3_addr, bytes_per_sec(Some(net.s3_mbps)), net.latency)
        .await
        .expect("proxy");
    let endpoint = format!("http://{proxy}");
    let s3 = s3_client(&endpoint, "bench");
    for b in ["ours", "reference", "raw"] {
        s3.create_bucket().bucket(b).send().await.expect("bucket");
    }
    // SAFETY of the environment: set once, before the store reads it, in a single-threaded
    // start-up of this benchmark.
    std::env::set_var("AWS_ACCESS_KEY_ID", "bench");
    std::env::set_var("AWS_SECRET_ACCESS_KEY", "bench");
    let store: Arc<dyn ArchiveStore> = Arc::new(
        S3StoreBuilder::new("ours")
            .with_endpoint(&endpoint)
            .with_region("us-east-1")
            .build()
            .await
            .expect("store"),
    );

    println!("\n1. archive, {entries} entries × {mb} MB, ours with --jobs {jobs}");
    let sim = partner(entries, mb, &net, 0).await;
    let flavors = originals(&sim).await;
    let n = flavors.len() as u64;
    let (done, ours_s, ours_cpu) = timed(ours(
        ctx(&sim, store.clone(), jobs),
        Command::Archive,
        &recordings(),
    ))
    .await;
    assert_eq!(done, n, "ours archived every recording");
    line("ours (stream, verify, record, tag)", ours_s, ours_cpu, n);
    let c = sim_client(&sim);
    let urls: Vec<String> = c
        .flavor_urls(&flavors.iter().map(|f| f.id.clone()).collect::<Vec<_>>())
        .await
        .unwrap()
        .into_iter()
        .map(|(_, u)| u)
        .collect();
    let ((), raw_s, raw_cpu) = timed(raw_pipe(&s3, "raw", &urls, jobs)).await;
    line("raw pipe (GET → PUT, same concurrency)", raw_s, raw_cpu, n);
    let fresh = partner(entries, mb, &net, 0).await;
    let fresh_flavors = originals(&fresh).await;
    let fc = sim_client(&fresh);
    let ((), ref_s, ref_cpu) = timed(async {
        for o in &fresh_flavors {
            reference_archive(&fc, &s3, "reference", o).await;
        }
    })
    .await;
    line(
        "reference method (one at a time, temp file)",
        ref_s,
        ref_cpu,
        n,
    );
    println!(
        "  ours / reference = {:.1}×   ours / raw pipe = {:.2}×",
        ref_s / ours_s,
        raw_s / ours_s
    );

    let replace_n = env_u64("NET_REPLACE", 200) as usize;
    let convert_ms = env_u64("NET_CONVERT_MS", 5000);
    let ref_n = env_u64("NET_REF_REPLACE", 4) as usize;
    println!(
        "\n2. replace, {replace_n} entries, conversion {:.1} s; the reference method on {ref_n} of them",
        convert_ms as f64 / 1000.0
    );
    let sim = partner(replace_n, 1, &net, convert_ms).await;
    let archived = ours(
        ctx(&sim, store.clone(), jobs),
        Command::Archive,
        &recordings(),
    )
    .await;
    let (replaced, ours_s, ours_cpu) = timed(ours(
        ctx(&sim, store.clone(), jobs),
        Command::Replace,
        &recordings(),
    ))
    .await;
    assert_eq!(replaced, archived, "ours replaced every archived entry");
    line(
        "ours (prove, upload, swap, batched polls, tag)",
        ours_s,
        ours_cpu,
        replaced,
    );
    println!(
        "  ours = conversion + {:.1} s",
        ours_s - convert_ms as f64 / 1000.0
    );
    let fresh = partner(replace_n, 1, &net, convert_ms).await;
    let some: Vec<EntryId> = originals(&fresh)
        .await
        .into_iter()
        .take(ref_n)
        .map(|f| f.entry_id)
        .collect();
    let fc = sim_client(&fresh);
    let ((), ref_s, ref_cpu) = timed(async {
        for id in &some {
            reference_replace(&fc, &s3, "reference", id).await;
        }
    })
    .await;
    line(
        "reference method (serial, 10 s polls)",
        ref_s,
        ref_cpu,
        some.len() as u64,
    );
    let per_entry = ref_s / some.len() as f64;
    println!(
        "  reference per entry {per_entry:.1} s, so {replaced} entries ≈ {:.0} s; ours / reference = {:.0}×",
        per_entry * replaced as f64,
        per_entry * replaced as f64 / ours_s
    );
}
