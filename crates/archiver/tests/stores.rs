//! One conformance suite that every store passes (local directory; S3 on moto's server), plus
//! S3-only tests of the Glacier flow. S3 tests need `MOTO_ENDPOINT` (set by `.ci/run`); without
//! it they are skipped locally and fail under `CI=true`.

use archiver::store::local::LocalStore;
use archiver::store::s3::{S3Store, S3StoreBuilder};
use archiver::store::{
    ArchiveMeta, ArchiveStore, ByteStream, Error, ObjectKey, PutOptions, RestoreStatus,
    RestoreTier, StorageClass,
};
use bytes::Bytes;
use futures_util::StreamExt;
use std::sync::Arc;

/// Deterministic bytes in chunks of `chunk`.
fn source(len: usize, chunk: usize, seed: u8) -> (Vec<u8>, ByteStream) {
    let data: Vec<u8> = (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect();
    let chunks: Vec<std::io::Result<Bytes>> = data
        .chunks(chunk.max(1))
        .map(|c| Ok(Bytes::copy_from_slice(c)))
        .collect();
    (data, Box::pin(futures_util::stream::iter(chunks)))
}

/// Like [`source`], but the stream panics when polled after its end, as `stream::unfold` does:
/// stores must not read a source again once it has ended.
fn strict_source(len: usize, chunk: usize, seed: u8) -> (Vec<u8>, ByteStream) {
    let (data, _) = source(len, chunk, seed);
    let chunks: std::collections::VecDeque<Bytes> = data
        .chunks(chunk.max(1))
        .map(Bytes::copy_from_slice)
        .collect();
    let stream = futures_util::stream::unfold(chunks, |mut rest| async move {
        rest.pop_front().map(|c| (Ok(c), rest))
    });
    (data, Box::pin(stream))
}

fn opts(len: Option<u64>, class: StorageClass) -> PutOptions {
    PutOptions {
        meta: ArchiveMeta {
            entry_id: "0_abcd1234".into(),
            flavor_id: "0_flav1234".into(),
            flavor_version: 3,
            file_ext: "mp4".into(),
            archived_at: 1_800_000_000,
            tool_version: "test".into(),
        },
        expected_len: len,
        size_hint: None,
        storage_class: class,
    }
}

async fn read_all(mut s: ByteStream) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::new();
    while let Some(c) = s.next().await {
        out.extend_from_slice(&c?);
    }
    Ok(out)
}

fn key(k: &str) -> ObjectKey {
    ObjectKey::new(k).unwrap()
}

/// The contract every store keeps.
async fn conformance(store: Arc<dyn ArchiveStore>) {
    // Streamed put of more than one S3 part, exact read-back, metadata and checksum.
    let (data, body) = source(20 << 20, 1 << 16, 7);
    let info = store
        .put(
            &key("0_abcd1234"),
            body,
            &opts(Some(data.len() as u64), StorageClass::Standard),
        )
        .await
        .unwrap();
    assert_eq!(info.size, data.len() as u64);
    assert!(info.verified(), "{info:?}");
    assert_eq!(info.meta.as_ref().unwrap().flavor_version, 3);
    assert_eq!(
        store.head(&key("0_abcd1234")).await.unwrap().as_ref(),
        Some(&info)
    );
    assert_eq!(
        read_all(store.get(&key("0_abcd1234")).await.unwrap())
            .await
            .unwrap(),
        data
    );
    // A source whose length is an exact multiple of the S3 part size, ended only once.
    let (exact, body) = strict_source(32 << 20, (1 << 16) + 7, 5);
    let info = store
        .put(
            &key("0_exact016"),
            body,
            &opts(Some(exact.len() as u64), StorageClass::Standard),
        )
        .await
        .unwrap();
    assert_eq!(info.size, exact.len() as u64);
    // A small object and an empty one.
    let (small, body) = source(1000, 100, 1);
    store
        .put(&key("dir/small"), body, &opts(None, StorageClass::Standard))
        .await
        .unwrap();
    assert_eq!(
        read_all(store.get(&key("dir/small")).await.unwrap())
            .await
            .unwrap(),
        small
    );
    let (_, body) = source(0, 1, 0);
    assert_eq!(
        store
            .put(
                &key("dir/empty"),
                body,
                &opts(Some(0), StorageClass::Standard)
            )
            .await
            .unwrap()
            .size,
        0
    );
    // A source that gives fewer bytes than announced leaves nothing behind.
    let (_, body) = source(10_000, 1000, 2);
    let e = store
        .put(
            &key("short"),
            body,
            &opts(Some(10_001), StorageClass::Standard),
        )
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Mismatch { .. }), "{e}");
    assert_eq!(store.head(&key("short")).await.unwrap(), None);
    // Missing objects.
    assert_eq!(store.head(&key("nope")).await.unwrap(), None);
    assert!(matches!(
        store.get(&key("nope")).await.err().unwrap(),
        Error::NotFound { .. }
    ));
    // Listing by prefix.
    let listed = store.list("dir/").await.unwrap();
    assert_eq!(listed, vec![key("dir/empty"), key("dir/small")]);
    // create-if-absent: exactly one of several concurrent writers wins.
    let mut tasks = Vec::new();
    for i in 0..8 {
        let s = store.clone();
        tasks.push(tokio::spawn(async move {
            s.create_if_absent(&key("locks/job"), Bytes::from(format!("writer {i}")))
                .await
                .unwrap()
        }));
    }
    let mut wins = 0;
    for t in tasks {
        wins += usize::from(t.await.unwrap());
    }
    assert_eq!(wins, 1);
    assert!(!store
        .create_if_absent(&key("locks/job"), Bytes::from_static(b"late"))
        .await
        .unwrap());
    // An object without our metadata is legacy: readable, never verified.
    assert!(store
        .create_if_absent(&key("1_legacy00"), Bytes::from_static(b"old archive"))
        .await
        .unwrap());
    let legacy = store.head(&key("1_legacy00")).await.unwrap().unwrap();
    assert!(legacy.meta.is_none() && !legacy.verified(), "{legacy:?}");
    assert_eq!(
        read_all(store.get(&key("1_legacy00")).await.unwrap())
            .await
            .unwrap(),
        b"old archive"
    );
}

#[tokio::test]
async fn local_store_passes_the_conformance_suite() {
    let dir = tempfile::tempdir().unwrap();
    conformance(Arc::new(LocalStore::new(dir.path()).unwrap())).await;
}

#[tokio::test]
async fn local_store_detects_changed_bytes_when_reading() {
    let dir = tempfile::tempdir().unwrap();
    let store = LocalStore::new(dir.path()).unwrap();
    let (_, body) = source(5000, 500, 3);
    store
        .put(
            &key("0_abcd1234"),
            body,
            &opts(Some(5000), StorageClass::Standard),
        )
        .await
        .unwrap();
    let path = dir.path().join("0_abcd1234");
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[100] ^= 1;
    std::fs::write(&path, bytes).unwrap();
    let e = read_all(store.get(&key("0_abcd1234")).await.unwrap())
        .await
        .unwrap_err();
    assert!(e.to_string().contains("checksum mismatch"), "{e}");
}

/// moto's endpoint, or `None` (skip) outside CI.
fn moto() -> Option<String> {
    match std::env::var("MOTO_ENDPOINT") {
        Ok(e) if !e.is_empty() => Some(e),
        _ if std::env::var("CI").as_deref() == Ok("true") => {
            panic!("MOTO_ENDPOINT is not set under CI=true: .ci/run must start moto")
        }
        _ => {
            eprintln!("skipped: MOTO_ENDPOINT is not set (start moto: see README)");
            None
        }
    }
}

fn set_moto_env() {
    // Test-only credentials for moto (any value works there); .ci/run exports them already.
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        if std::env::var("AWS_ACCESS_KEY_ID").is_err() {
            std::env::set_var("AWS_ACCESS_KEY_ID", "test");
            std::env::set_var("AWS_SECRET_ACCESS_KEY", "test");
        }
    });
}

async fn s3_store(endpoint: &str, name: &str) -> S3Store {
    set_moto_env();
    let bucket = format!("{name}-{}", std::process::id());
    let store = S3StoreBuilder::default()
        .with_bucket(&bucket)
        .with_endpoint(endpoint)
        .with_region("us-east-1")
        .build()
        .await
        .unwrap();
    let _ = raw_client(endpoint)
        .create_bucket()
        .bucket(&bucket)
        .send()
        .await;
    store
}

async fn transition(endpoint: &str, t: serde_json::Value) {
    let body = serde_json::json!({"model_name": "s3::keyrestore", "transition": t});
    let r = reqwest::Client::new()
        .post(format!("{endpoint}/moto-api/state-manager/set-transition"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
}

#[tokio::test]
async fn s3_store_on_moto_passes_the_conformance_suite() {
    let Some(ep) = moto() else { return };
    conformance(Arc::new(s3_store(&ep, "conformance").await)).await;
}

#[tokio::test]
async fn s3_glacier_and_deep_archive_objects_restore_then_stream_the_exact_bytes() {
    let Some(ep) = moto() else { return };
    let store = s3_store(&ep, "glacier").await;
    for (class, name) in [
        (StorageClass::Glacier, "0_glacier1"),
        (StorageClass::DeepArchive, "0_deeparc1"),
    ] {
        let (data, body) = source(9 << 20, 1 << 16, 9);
        let info = store
            .put(&key(name), body, &opts(Some(data.len() as u64), class))
            .await
            .unwrap();
        assert_eq!(info.storage_class, class);
        assert_eq!(info.restore, RestoreStatus::Frozen);
        let e = store.get(&key(name)).await.err().unwrap();
        assert!(matches!(e, Error::RestoreFirst { .. }), "{e}");
        assert!(e.to_string().contains("restored first"), "{e}");
        if class == StorageClass::DeepArchive {
            let e = store
                .restore(&key(name), RestoreTier::Expedited, 1)
                .await
                .unwrap_err();
            assert!(e.to_string().contains("no Expedited"), "{e}");
        }
        // The first lookup after the request sees "in progress"; then freeze it there.
        transition(
            &ep,
            serde_json::json!({"progression": "manual", "times": 1}),
        )
        .await;
        assert_eq!(
            store
                .restore(&key(name), RestoreTier::Bulk, 2)
                .await
                .unwrap(),
            RestoreStatus::Thawing
        );
        transition(
            &ep,
            serde_json::json!({"progression": "manual", "times": 1_000_000}),
        )
        .await;
        assert_eq!(
            store
                .restore(&key(name), RestoreTier::Bulk, 2)
                .await
                .unwrap(),
            RestoreStatus::Thawing,
            "a second request is not an error"
        );
        assert!(matches!(
            store.get(&key(name)).await.err().unwrap(),
            Error::RestoreFirst { .. }
        ));
        transition(&ep, serde_json::json!({"progression": "immediate"})).await;
        let thawed = store.head(&key(name)).await.unwrap().unwrap().restore;
        assert!(
            matches!(thawed, RestoreStatus::Thawed { until: Some(_) }),
            "{thawed:?}"
        );
        assert_eq!(
            read_all(store.get(&key(name)).await.unwrap())
                .await
                .unwrap(),
            data
        );
    }
}

#[tokio::test]
async fn s3_store_detects_an_object_whose_bytes_do_not_match_its_checksum() {
    let Some(ep) = moto() else { return };
    let store = s3_store(&ep, "mismatch").await;
    let (_, body) = source(4000, 1000, 4);
    let info = store
        .put(
            &key("0_abcd1234"),
            body,
            &opts(Some(4000), StorageClass::Standard),
        )
        .await
        .unwrap();
    // Overwrite the bytes behind the store's back, keeping metadata and the old checksum (moto
    // accepts any checksum value, as real S3 would not).
    raw_client(&ep)
        .put_object()
        .bucket(store.bucket())
        .key("0_abcd1234")
        .set_metadata(Some(info.meta.unwrap().to_map().into_iter().collect()))
        .checksum_algorithm(aws_sdk_s3::types::ChecksumAlgorithm::Crc64Nvme)
        .checksum_crc64_nvme(info.checksum.unwrap())
        .body(aws_sdk_s3::primitives::ByteStream::from(vec![0u8; 4000]))
        .send()
        .await
        .unwrap();
    let read = match store.get(&key("0_abcd1234")).await {
        Ok(s) => read_all(s).await,
        Err(e) => Err(std::io::Error::other(e.to_string())),
    };
    let err = read.expect_err("changed bytes must not read back as good");
    assert!(
        err.to_string().contains("checksum"),
        "the failure names the checksum: {err}"
    );
}

#[tokio::test]
async fn s3_errors_name_the_bucket_and_what_to_do() {
    let Some(ep) = moto() else { return };
    set_moto_env();
    let missing = S3StoreBuilder::default()
        .with_bucket("no-such-bucket-here")
        .with_endpoint(&ep)
        .build()
        .await
        .unwrap();
    let e = missing.check_bucket().await.unwrap_err();
    assert!(
        matches!(e, Error::NoSuchBucket { .. }) && e.to_string().contains("no-such-bucket-here"),
        "{e}"
    );
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", l.local_addr().unwrap())
    };
    let unreachable = S3StoreBuilder::default()
        .with_bucket("some-bucket")
        .with_endpoint(closed)
        .build()
        .await
        .unwrap();
    let e = unreachable.head(&key("x")).await.unwrap_err();
    assert!(
        e.to_string().contains("cannot reach the S3 endpoint"),
        "{e}"
    );
    assert!(
        !e.to_string().contains("test"),
        "no credentials in errors: {e}"
    );
    let e = S3StoreBuilder::default()
        .with_bucket("Bad_Bucket")
        .build()
        .await
        .unwrap_err();
    assert!(e.to_string().contains("AWS_BUCKET"), "{e}");
}

#[tokio::test]
async fn s3_multipart_upload_is_aborted_when_the_source_fails_midway() {
    let Some(ep) = moto() else { return };
    let store = s3_store(&ep, "abort").await;
    let good: Vec<std::io::Result<Bytes>> = (0..20)
        .map(|_| Ok(Bytes::from(vec![1u8; 1 << 20])))
        .collect();
    let broken = futures_util::stream::iter(good).chain(futures_util::stream::once(async {
        Err(std::io::Error::other("download cut"))
    }));
    let e = store
        .put(
            &key("0_abcd1234"),
            Box::pin(broken),
            &opts(None, StorageClass::Glacier),
        )
        .await
        .unwrap_err();
    assert!(e.to_string().contains("download cut"), "{e}");
    assert_eq!(
        store.head(&key("0_abcd1234")).await.unwrap(),
        None,
        "nothing visible was written"
    );
    let pending = raw_client(&ep)
        .list_multipart_uploads()
        .bucket(store.bucket())
        .send()
        .await
        .unwrap();
    assert!(
        pending.uploads().is_empty(),
        "the multipart upload was aborted: {:?}",
        pending.uploads()
    );
}

#[tokio::test]
async fn s3_objects_carry_their_media_type_on_every_upload_path() {
    let Some(ep) = moto() else { return };
    let store = s3_store(&ep, "media-type").await;
    let small = 64 << 10;
    let large = (9 << 20) + 5;
    // (key, size, announced size, file extension, media type): a streamed put (size known and
    // under a part), a single put (size unknown, under a part), a multipart put (over a part).
    let cases = [
        ("0_streamed", small, Some(small as u64), "mp4", "video/mp4"),
        ("0_single", small, None, "mov", "video/quicktime"),
        ("0_multipart", large, Some(large as u64), "mp4", "video/mp4"),
        (
            "reports/latest.html",
            small,
            None,
            "html",
            "text/html; charset=utf-8",
        ),
    ];
    for (k, len, announced, ext, media_type) in cases {
        let (_, body) = source(len, 1 << 20, 7);
        let mut o = opts(announced, StorageClass::Standard);
        o.meta.file_ext = ext.into();
        store.put(&key(k), body, &o).await.unwrap();
        let head = raw_client(&ep)
            .head_object()
            .bucket(store.bucket())
            .key(k)
            .send()
            .await
            .unwrap();
        assert_eq!(head.content_type(), Some(media_type), "{k}");
    }
}

/// A plain SDK client on moto, for what the store must not do (tampering, inspection, buckets).
fn raw_client(endpoint: &str) -> aws_sdk_s3::Client {
    let conf = aws_sdk_s3::config::Builder::new()
        .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
        .region(aws_sdk_s3::config::Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .force_path_style(true)
        .credentials_provider(aws_sdk_s3::config::Credentials::new(
            "test", "test", None, None, "moto",
        ))
        .build();
    aws_sdk_s3::Client::from_conf(conf)
}

/// A second moto server that checks credentials (`INITIAL_NO_AUTH_ACTION_COUNT=0`), from the venv
/// `tools/start-moto.sh` installs; `None` (skip) outside CI when it is not installed.
fn strict_moto() -> Option<(std::process::Child, String)> {
    let bin = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../target/moto-venv/bin/moto_server");
    if !bin.exists() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "{} is missing under CI=true: .ci/run must install moto",
            bin.display()
        );
        eprintln!(
            "skipped: {} is not installed (tools/start-moto.sh)",
            bin.display()
        );
        return None;
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = std::process::Command::new(bin)
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .env("INITIAL_NO_AUTH_ACTION_COUNT", "0")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let endpoint = format!("http://127.0.0.1:{port}");
    for _ in 0..150 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Some((child, endpoint));
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("moto with authentication did not start");
}

#[tokio::test]
async fn s3_refused_credentials_give_access_denied_naming_bucket_key_and_what_to_do() {
    let Some((mut server, ep)) = strict_moto() else {
        return;
    };
    set_moto_env();
    let store = S3StoreBuilder::default()
        .with_bucket("denied-bucket")
        .with_endpoint(&ep)
        .with_region("us-east-1")
        .build()
        .await
        .unwrap();
    let (_, body) = source(1000, 100, 3);
    let put = store
        .put(
            &key("0_denied01"),
            body,
            &opts(Some(1000), StorageClass::Glacier),
        )
        .await
        .unwrap_err();
    let head = store.head(&key("0_denied01")).await.unwrap_err();
    let check = store.check_bucket().await.unwrap_err();
    let _ = server.kill();
    let _ = server.wait();
    for e in [&put, &head] {
        let text = e.to_string();
        assert!(matches!(e, Error::PermissionDenied { .. }), "{e:?}");
        assert!(
            text.contains("denied-bucket")
                && text.contains("0_denied01")
                && text.contains("check the credentials"),
            "{text}"
        );
        assert!(!text.contains("test"), "no credentials in errors: {text}");
    }
    assert_eq!(
        check.to_string(),
        "s3://denied-bucket/: access denied to the bucket: check the credentials and the bucket policy"
    );
}

/// A TCP front for `upstream` whose first connection is answered `503 Slow Down` after the
/// request's first bytes, before the body is read; every later connection passes through.
async fn refusing_once(upstream: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let upstream: std::net::SocketAddr = upstream.trim_start_matches("http://").parse().unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let mut first = true;
        while let Ok((mut client, _)) = listener.accept().await {
            if std::mem::take(&mut first) {
                let mut head = [0u8; 512];
                let _ = client.read(&mut head).await;
                let body = "<Error><Code>SlowDown</Code><Message>Reduce your request rate.</Message></Error>";
                let answer = format!(
                    "HTTP/1.1 503 Slow Down\r\nContent-Type: application/xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = client.write_all(answer.as_bytes()).await;
                continue;
            }
            tokio::spawn(async move {
                let Ok(mut server) = tokio::net::TcpStream::connect(upstream).await else {
                    return;
                };
                let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
            });
        }
    });
    format!("http://{addr}")
}

#[tokio::test]
async fn s3_a_streamed_put_that_s3_refuses_is_sent_again_from_the_bytes_kept() {
    let Some(ep) = moto() else { return };
    let direct = s3_store(&ep, "refused").await;
    let store = S3StoreBuilder::default()
        .with_bucket(direct.bucket())
        .with_endpoint(refusing_once(&ep).await)
        .with_region("us-east-1")
        .build()
        .await
        .unwrap();
    // Known size under one part: the streamed PUT, which the SDK cannot retry itself.
    let (data, body) = source(3 << 20, 64 << 10, 9);
    let info = store
        .put(
            &key("0_refused0"),
            body,
            &opts(Some(data.len() as u64), StorageClass::Standard),
        )
        .await
        .unwrap();
    assert_eq!(info.size, data.len() as u64);
    let back = read_all(direct.get(&key("0_refused0")).await.unwrap())
        .await
        .unwrap();
    assert!(back == data, "the bytes in S3 are the bytes sent");
}
