//! `cargo bench -p kaltura-sim`: is the simulator fast enough never to be a benchmark's bottleneck?
//!
//! With a generated partner of 100,000 entries it measures, in one run:
//! - `media.list` pages of 500 while walking every entry with a `createdAt` cursor, against the
//!   round trip of `system.ping` (the per-call floor of HTTP + JSON on this machine);
//! - the download of a generated flavor over loopback, against a plain TCP transfer of the same
//!   number of bytes on loopback (the pipe limit).
//!
//! Environment: `SIM_BENCH_ENTRIES` (default 100000), `SIM_BENCH_DOWNLOAD_MB` (default 2048).

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[path = "../tests/common/cursor.rs"]
mod cursor;

use futures_util::StreamExt;
use kaltura_sim::{SimConfig, SimServer};
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

async fn call(
    http: &reqwest::Client,
    base: &str,
    service: &str,
    action: &str,
    params: Value,
) -> Value {
    let url = format!("{base}/api_v3/service/{service}/action/{action}");
    http.post(url)
        .json(&params)
        .send()
        .await
        .expect("call")
        .json()
        .await
        .expect("json")
}

/// Plain loopback TCP: one side writes `bytes` from a 1 MiB buffer, the other reads and discards.
async fn raw_tcp(bytes: u64) -> Duration {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let writer = tokio::spawn(async move {
        let (mut s, _) = listener.accept().await.unwrap();
        let buf = vec![7u8; 1 << 20];
        let mut left = bytes;
        while left > 0 {
            let n = left.min(buf.len() as u64) as usize;
            s.write_all(&buf[..n]).await.unwrap();
            left -= n as u64;
        }
    });
    let start = Instant::now();
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut buf = vec![0u8; 1 << 20];
    let mut got = 0u64;
    while got < bytes {
        let n = s.read(&mut buf).await.unwrap();
        assert!(n > 0, "raw transfer ended early");
        got += n as u64;
    }
    let t = start.elapsed();
    writer.await.unwrap();
    t
}

#[tokio::main]
async fn main() {
    let entries = env_num("SIM_BENCH_ENTRIES", 100_000) as usize;
    let download_mb = env_num("SIM_BENCH_DOWNLOAD_MB", 2048);
    let t = Instant::now();
    let server = SimServer::start(SimConfig {
        entries,
        ..SimConfig::default()
    })
    .await
    .unwrap();
    println!(
        "generated {entries} entries in {:.2} s",
        t.elapsed().as_secs_f64()
    );
    let base = server.base_url();
    let http = reqwest::Client::new();
    let c = SimConfig::default();
    let ks = call(
        &http,
        &base,
        "session",
        "start",
        json!({"format": 1, "secret": c.admin_secret, "partnerId": c.partner_id, "type": 2}),
    )
    .await;
    let ks = ks.as_str().unwrap().to_string();

    // Per-call floor.
    let pings = 200;
    let t = Instant::now();
    for _ in 0..pings {
        call(&http, &base, "system", "ping", json!({"format": 1})).await;
    }
    let ping = t.elapsed() / pings;

    // Cursor walk over every entry in pages of 500.
    let filter = json!({"objectType": "KalturaMediaEntryFilter", "statusIn": "-2,-1,0,1,2,4,7", "moderationStatusIn": "1,2,3,6", "orderBy": "+createdAt"});
    let mut cursor = cursor::Cursor::default();
    let mut seen = 0usize;
    let mut pages = Vec::new();
    loop {
        let mut f = filter.clone();
        cursor.apply(&mut f);
        // Timed: the request and the whole response body; parsing it is the client's cost.
        let t = Instant::now();
        let body = http
            .post(format!("{base}/api_v3/service/media/action/list"))
            .json(&json!({"format": 1, "ks": ks, "filter": f, "pager": {"pageSize": 500}}))
            .send()
            .await
            .expect("list call")
            .bytes()
            .await
            .expect("list body");
        pages.push(t.elapsed());
        let page: Value = serde_json::from_slice(&body).expect("JSON");
        let objects = page["objects"].as_array().expect("a list");
        seen += objects.len();
        if objects.len() < 500 {
            break;
        }
        cursor.advance(objects);
    }
    pages.sort();
    let mean = pages.iter().sum::<Duration>() / pages.len() as u32;
    let p95 = pages[pages.len() * 95 / 100];
    println!(
        "media.list cursor walk: {seen} entries in {} pages of 500",
        pages.len()
    );
    println!("  page latency mean {:.1} ms, p95 {:.1} ms, max {:.1} ms; system.ping {:.3} ms; mean page / ping = {:.1}",
        mean.as_secs_f64() * 1e3, p95.as_secs_f64() * 1e3, pages.last().unwrap().as_secs_f64() * 1e3,
        ping.as_secs_f64() * 1e3, mean.as_secs_f64() / ping.as_secs_f64());

    // Download of a generated flavor of the requested size.
    let bytes = download_mb << 20;
    let entry = {
        let w = server.sim().world.lock().unwrap();
        w.entries
            .iter()
            .position(|e| e.media_type == 1 && e.status == 2 && !e.flavors.is_empty())
            .unwrap()
    };
    let flavor_id = {
        let mut w = server.sim().world.lock().unwrap();
        let f = w.entries[entry].flavors[0];
        w.flavors[f].size_bytes = bytes;
        w.flavors[f].id.clone()
    };
    let url = call(
        &http,
        &base,
        "flavorAsset",
        "getUrl",
        json!({"format": 1, "ks": ks, "id": flavor_id}),
    )
    .await;
    let t = Instant::now();
    let mut stream = http
        .get(url.as_str().unwrap())
        .send()
        .await
        .unwrap()
        .bytes_stream();
    let mut got = 0u64;
    while let Some(chunk) = stream.next().await {
        got += chunk.unwrap().len() as u64;
    }
    let dl = t.elapsed();
    assert_eq!(got, bytes);
    let raw = raw_tcp(bytes).await;
    let gbps = |d: Duration| bytes as f64 / d.as_secs_f64() / 1e9;
    println!("flavor download of {download_mb} MiB: {:.2} GB/s; plain loopback TCP {:.2} GB/s; ratio {:.2}",
        gbps(dl), gbps(raw), raw.as_secs_f64() / dl.as_secs_f64());
    server.stop().await;
}
