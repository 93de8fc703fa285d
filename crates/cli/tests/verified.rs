//! "Verified" means the bytes: through the binary, copies that changed in the store (a same-size
//! bit flip in a local file; an S3 object overwritten with the same metadata and a valid checksum
//! of other bytes) are caught by `health`, `verify` and `replace`, and `repair` archives again; a
//! versioned bucket's pinned version survives an overwrite; a placeholder switch still restores
//! the recording; bad copies never block a new one; a full disk and killed runs leave nothing
//! half-written. THE invariant is checked by hashing the bytes Kaltura serves and the store holds.

mod common;

use std::collections::HashSet;
use std::path::Path;

use archiver::store::checksum::Crc64;
use archiver::store::{ArchiveMeta, ObjectKey, PutOptions, StorageClass};
use common::*;
use kaltura::EntryId;

/// Flips 16 bytes at offset 5000 of a file, keeping its size.
fn flip_bytes(path: &Path) {
    let mut data = std::fs::read(path).unwrap();
    assert!(
        data.len() > 5016,
        "{}: {} bytes",
        path.display(),
        data.len()
    );
    for b in &mut data[5000..5016] {
        *b ^= 0xA5;
    }
    std::fs::write(path, data).unwrap();
}

/// The CRC64NVME of a flavor as Kaltura serves it now.
async fn kaltura_original(s: &kaltura_sim::SimServer, id: &str) -> Option<(u64, String)> {
    let c = client(s);
    let f = originals(&c, &[EntryId(id.to_string())])
        .await
        .remove(&EntryId(id.to_string()))?;
    Some(checksum_of(&c, &f).await)
}

/// Runs the binary and returns (exit code, report rows, stderr).
async fn run(
    s: &kaltura_sim::SimServer,
    a: &Archive,
    args: &[&str],
    extra: &[(&str, &str)],
) -> (
    Option<i32>,
    std::collections::BTreeMap<String, (String, String, String)>,
    String,
) {
    let out = cli(s, a, args, extra).await;
    (
        out.status.code(),
        parse_report(&String::from_utf8_lossy(&out.stdout)),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

/// `verify` rows: key → (status, detail); and the exit code.
async fn verify(
    s: &kaltura_sim::SimServer,
    a: &Archive,
    extra: &[&str],
) -> (
    Option<i32>,
    std::collections::BTreeMap<String, (String, String)>,
    String,
) {
    let mut args = vec!["verify"];
    args.extend_from_slice(extra);
    let out = cli(s, a, &args, &[]).await;
    let rows = String::from_utf8_lossy(&out.stdout)
        .lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.splitn(5, '\t').collect();
            (f[1].to_string(), (f[2].to_string(), f[4].to_string()))
        })
        // The copies' rows; sidecars have their own test (sidecar.rs).
        .filter(|(key, _): &(String, _)| !key.starts_with("sidecars/"))
        .collect();
    (
        out.status.code(),
        rows,
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

/// One archived entry of the policy, with a flavor large enough to flip bytes in.
async fn archived_entry(s: &kaltura_sim::SimServer, a: &Archive) -> String {
    let archived = report(s, a, &["archive", "--execute"]).await;
    let done = with_outcome(&archived, "done");
    let mut ids: Vec<String> = done.into_iter().collect();
    ids.sort();
    for id in ids {
        if kaltura_original(s, &id)
            .await
            .is_some_and(|(n, _)| n > 20_000)
        {
            return id;
        }
    }
    panic!("no archived entry: {archived:?}");
}

/// The same-size corruption is caught everywhere and repaired; returns nothing, asserts all.
async fn corruption_is_caught_and_repaired(
    s: &kaltura_sim::SimServer,
    a: &Archive,
    corrupt: impl std::future::Future<Output = ()>,
    id: &str,
) {
    let base = baseline(s).await;
    corrupt.await;

    let (code, h, _) = run(s, a, &["health", "--id", id], &[]).await;
    assert_eq!(code, Some(1), "health fails on the bad copy: {h:?}");
    assert_eq!(h[id].1, "anomaly", "{h:?}");
    assert!(
        h[id].2.contains("does not hold the archived bytes"),
        "{h:?}"
    );

    let (code, rows, _) = verify(s, a, &["--read-data"]).await;
    assert_eq!(code, Some(1), "verify fails on the bad copy: {rows:?}");
    assert_eq!(rows[id].0, "corrupt", "{rows:?}");

    let before = sim_state(s).await;
    let (code, r, _) = run(s, a, &["replace", "--execute", "--id", id], &[]).await;
    assert_eq!(code, Some(1), "replace refuses: {r:?}");
    assert_eq!(r[id].1, "failed", "{r:?}");
    assert!(r[id].2.contains("refused"), "{r:?}");
    assert_eq!(sim_state(s).await, before, "replace changed Kaltura");
    assert_invariant(s, a.store.as_ref(), &base, "a refused replace").await;

    let r = report(s, a, &["repair", "--execute", "--id", id]).await;
    assert_eq!(r[id].1, "done", "repair archives again: {r:?}");
    assert!(r[id].2.contains(&format!("{id}.")), "a new key: {r:?}");
    let h = report(s, a, &["health", "--id", id]).await;
    assert_eq!(h[id].1, "healthy", "{h:?}");
    let r = report(s, a, &["replace", "--execute", "--id", id]).await;
    assert_eq!(r[id].1, "done", "{r:?}");
    assert_invariant(s, a.store.as_ref(), &base, "replace after repair").await;
    // The bad copy is kept for a human; verify still reports it.
    let (code, rows, _) = verify(s, a, &[]).await;
    assert_eq!(code, Some(1));
    assert_eq!(rows[id].0, "corrupt", "{rows:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_same_size_bit_flip_in_a_local_copy_is_caught_by_health_verify_and_replace_and_repaired()
{
    let s = sim(40, 51).await;
    let a = local_archive();
    let id = archived_entry(&s, &a).await;
    let file = Path::new(&a.env[0].1).join(&id);
    corruption_is_caught_and_repaired(&s, &a, async { flip_bytes(&file) }, &id).await;
}

/// Overwrites an S3 copy with other bytes of the same size, the same user metadata and a valid
/// CRC64NVME of the new bytes — what a tamperer or a buggy tool would leave.
async fn overwrite_in_s3(a: &Archive, id: &str) {
    let key = ObjectKey::new(id).unwrap();
    let info = a.store.head(&key).await.unwrap().unwrap();
    let mut data: Vec<u8> = archiver::store::read_all(a.store.as_ref(), &key)
        .await
        .unwrap()
        .to_vec();
    for b in &mut data[5000..5016] {
        *b ^= 0xA5;
    }
    let meta: ArchiveMeta = info.meta.clone().unwrap();
    let len = data.len() as u64;
    let body: archiver::store::ByteStream = Box::pin(futures_util::stream::once(async move {
        Ok(bytes::Bytes::from(data))
    }));
    let opts = PutOptions {
        meta,
        expected_len: Some(len),
        size_hint: None,
        storage_class: StorageClass::Standard,
    };
    let after = a.store.put(&key, body, &opts).await.unwrap();
    assert_eq!(after.size, info.size);
    assert_eq!(after.meta, info.meta, "the same metadata");
    assert_ne!(
        after.checksum, info.checksum,
        "a valid checksum of other bytes"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_s3_copy_overwritten_with_the_same_metadata_and_a_valid_checksum_is_caught_and_repaired()
{
    let Some(ep) = moto() else { return };
    let s = sim(40, 53).await;
    let a = s3_archive(&ep, "tamper", "STANDARD").await;
    let id = archived_entry(&s, &a).await;
    corruption_is_caught_and_repaired(&s, &a, overwrite_in_s3(&a, &id), &id).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn on_a_versioned_bucket_the_pinned_version_survives_an_overwrite_and_restores_the_recording()
{
    let Some(ep) = moto() else { return };
    let s = sim(40, 55).await;
    let a = s3_archive(&ep, "versioned", "STANDARD").await;
    let bucket = &a.env[0].1;
    let r = reqwest::Client::new()
        .put(format!("{ep}/{bucket}?versioning"))
        .body(r#"<VersioningConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Status>Enabled</Status></VersioningConfiguration>"#)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.status());
    let base = baseline(&s).await;
    let id = archived_entry(&s, &a).await;
    let want = kaltura_original(&s, &id).await.unwrap();
    let r = report(&s, &a, &["replace", "--execute", "--id", &id]).await;
    assert_eq!(r[&id].1, "done", "{r:?}");
    overwrite_in_s3(&a, &id).await;
    // The pinned version still holds the recording: health and verify say so.
    let h = report(&s, &a, &["health", "--id", &id]).await;
    assert_eq!(h[&id].1, "healthy", "{h:?}");
    let (code, rows, _) = verify(&s, &a, &["--read-data"]).await;
    assert_eq!(code, Some(0), "{rows:?}");
    assert_eq!(rows[&id].0, "good-read", "{rows:?}");
    assert_invariant(
        &s,
        a.store.as_ref(),
        &base,
        "an overwrite of the current version",
    )
    .await;
    play(&s, &id).await;
    let r = report(&s, &a, &["restore", "--execute", "--id", &id]).await;
    assert_eq!(r[&id].1, "done", "{r:?}");
    assert_eq!(
        kaltura_original(&s, &id).await.unwrap(),
        want,
        "Kaltura holds the recording again, not the overwritten bytes"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn changing_the_placeholder_video_between_runs_still_restores_the_real_recording() {
    let s = sim(40, 57).await;
    let a = local_archive();
    let dir = tempfile::tempdir().unwrap();
    let (pa, pb) = (dir.path().join("a.mp4"), dir.path().join("b.mp4"));
    let mut a_bytes = archiver::placeholder::DEFAULT.to_vec();
    a_bytes.extend_from_slice(&[1u8; 4096]);
    let mut b_bytes = archiver::placeholder::DEFAULT.to_vec();
    b_bytes.extend_from_slice(&[2u8; 8192]);
    std::fs::write(&pa, &a_bytes).unwrap();
    std::fs::write(&pb, &b_bytes).unwrap();
    let (pa, pb) = (pa.to_str().unwrap(), pb.to_str().unwrap());
    let base = baseline(&s).await;
    let id = archived_entry(&s, &a).await;
    let want = kaltura_original(&s, &id).await.unwrap();

    let (code, r, _) = run(
        &s,
        &a,
        &["replace", "--execute", "--id", &id],
        &[("PLACEHOLDER_VIDEO", pa)],
    )
    .await;
    assert_eq!((code, r[&id].1.as_str()), (Some(0), "done"), "{r:?}");
    // From now on the operator uses placeholder B. Nothing archives A as a recording.
    let with_b = [("PLACEHOLDER_VIDEO", pb)];
    for cmd in ["health", "archive", "repair"] {
        let (code, r, _) = run(&s, &a, &[cmd, "--execute", "--id", &id], &with_b).await;
        assert_eq!(code, Some(0), "{cmd}: {r:?}");
        assert!(
            ["healthy", "done-before"].contains(&r[&id].1.as_str()),
            "{cmd}: {r:?}"
        );
        assert_eq!(r[&id].0, "replaced", "{cmd}: {r:?}");
    }
    let copies = a.store.list(&id).await.unwrap();
    assert!(
        copies
            .iter()
            .all(|k| k.as_str().ends_with(".json") || k.as_str() == id),
        "no copy of the placeholder was made: {copies:?}"
    );
    play(&s, &id).await;
    let (code, r, _) = run(&s, &a, &["restore", "--execute", "--id", &id], &with_b).await;
    assert_eq!((code, r[&id].1.as_str()), (Some(0), "done"), "{r:?}");
    assert_eq!(
        kaltura_original(&s, &id).await.unwrap(),
        want,
        "the recording is back, not placeholder A"
    );
    assert_invariant(&s, a.store.as_ref(), &base, "a placeholder switch").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_entry_whose_two_copies_fail_their_proof_is_archived_on_the_next_run() {
    let s = sim(40, 59).await;
    let a = local_archive();
    let base = baseline(&s).await;
    let id = archived_entry(&s, &a).await;
    let root = Path::new(&a.env[0].1).to_path_buf();
    flip_bytes(&root.join(&id));
    let r = report(&s, &a, &["repair", "--execute", "--id", &id]).await;
    assert_eq!(r[&id].1, "done", "{r:?}");
    let second: Vec<String> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .filter(|n| n.starts_with(&format!("{id}.")) && !n.ends_with(".json"))
        .collect();
    assert_eq!(second.len(), 1, "{second:?}");
    flip_bytes(&root.join(&second[0]));
    // Both keys hold bad copies: the next policy run archives a third copy.
    let r = report(&s, &a, &["archive", "--execute"]).await;
    assert_eq!(r[&id].1, "done", "{r:?}");
    assert!(r[&id].2.contains(".2"), "a third key: {r:?}");
    let h = report(&s, &a, &["health", "--id", &id]).await;
    assert_eq!(h[&id].1, "healthy", "{h:?}");
    report(&s, &a, &["replace", "--execute", "--id", &id]).await;
    assert_invariant(&s, a.store.as_ref(), &base, "two bad copies, then a third").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn temporary_files_of_killed_runs_are_swept_by_the_next_run() {
    let s = sim(30, 61).await;
    let a = local_archive();
    let root = Path::new(&a.env[0].1).to_path_buf();
    std::fs::create_dir_all(root.join("log")).unwrap();
    // What a killed run leaves: temporary files named after a process that is gone.
    let mut gone = std::process::Command::new("true").spawn().unwrap();
    let pid = gone.id();
    gone.wait().unwrap();
    for dir in [root.clone(), root.join("log")] {
        std::fs::write(dir.join(format!(".tmp-{pid}-0")), vec![0u8; 100_000]).unwrap();
    }
    report(&s, &a, &["archive", "--execute"]).await;
    let mut left = Vec::new();
    for dir in [root.clone(), root.join("log")] {
        for e in std::fs::read_dir(dir).unwrap() {
            let n = e.unwrap().file_name().to_string_lossy().to_string();
            if n.starts_with(".tmp-") {
                left.push(n);
            }
        }
    }
    assert!(left.is_empty(), "temporary files left: {left:?}");
}

/// A tmpfs of `bytes` mounted for the test (needs root, as CI runs); `None` elsewhere.
struct SmallDisk {
    path: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

impl SmallDisk {
    fn mount(bytes: u64) -> Option<SmallDisk> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("disk");
        std::fs::create_dir_all(&path).unwrap();
        let ok = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={bytes}"), "tmpfs"])
            .arg(&path)
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "cannot mount a tmpfs under CI=true (CI runs as root)"
            );
            eprintln!("skipped: cannot mount a tmpfs (not root)");
            return None;
        }
        Some(SmallDisk { path, _dir: dir })
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg(&self.path)
            .status();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_full_archive_disk_gives_a_clear_error_and_leaves_no_half_written_copy_or_record() {
    let Some(disk) = SmallDisk::mount(1 << 20) else {
        return;
    };
    let s = sim(40, 63).await;
    let root = disk.path.join("archive");
    let a = Archive {
        store: std::sync::Arc::new(archiver::store::local::LocalStore::new(root.clone()).unwrap()),
        env: vec![("ARCHIVE_DIR".into(), root.display().to_string())],
        _dir: None,
    };
    let base = baseline(&s).await;
    let (code, r, stderr) = run(&s, &a, &["archive", "--execute"], &[]).await;
    let failed = with_outcome(&r, "failed");
    assert_eq!(code, Some(1), "{r:?}\n{stderr}");
    assert!(
        !failed.is_empty() && !with_outcome(&r, "done").is_empty(),
        "{r:?}"
    );
    for id in &failed {
        assert!(
            r[id].2.contains("the archive disk is full"),
            "a clear error: {:?}",
            r[id]
        );
    }
    // Nothing half-written: no temporary files, no record of a failed entry (a copy whose
    // record could not be written stays unrecorded: never trusted, reported by verify), and
    // every record that exists describes bytes the disk holds.
    let names: Vec<String> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .collect();
    assert!(!names.iter().any(|n| n.starts_with(".tmp-")), "{names:?}");
    for id in &failed {
        assert!(
            !names
                .iter()
                .any(|n| n.starts_with(id.as_str()) && n.ends_with(".record.json")),
            "{id} left a record: {names:?}"
        );
    }
    let (code, rows, _) = verify(&s, &a, &["--read-data"]).await;
    assert_eq!(code, Some(0), "{rows:?}");
    assert!(
        rows.values()
            .all(|(st, _)| st == "good-read" || st == "unrecorded"),
        "{rows:?}"
    );
    assert!(rows.values().any(|(st, _)| st == "good-read"), "{rows:?}");
    assert_invariant(&s, a.store.as_ref(), &base, "a full disk").await;
    let tagged: HashSet<String> = {
        let w = s.sim().world.lock().unwrap();
        w.entries
            .iter()
            .filter(|e| e.tags.contains("archived_to_s3"))
            .map(|e| e.id.clone())
            .collect()
    };
    assert!(failed.is_disjoint(&tagged), "a failed entry was tagged");
}

#[tokio::test(flavor = "multi_thread")]
async fn verify_reads_every_copy_and_names_an_entry_at_risk() {
    let s = sim(40, 65).await;
    let a = local_archive();
    let id = archived_entry(&s, &a).await;
    let r = report(&s, &a, &["replace", "--execute", "--id", &id]).await;
    assert_eq!(r[&id].1, "done", "{r:?}");
    let (code, rows, stderr) = verify(&s, &a, &["--read-data"]).await;
    assert_eq!(code, Some(0), "{rows:?}\n{stderr}");
    assert!(rows.values().all(|(st, _)| st == "good-read"), "{rows:?}");
    // Hash every copy ourselves: verify read exactly what is there.
    let root = Path::new(&a.env[0].1).to_path_buf();
    for key in rows.keys() {
        let mut crc = Crc64::default();
        crc.update(&std::fs::read(root.join(key)).unwrap());
        let rec: serde_json::Value = serde_json::from_slice(
            &std::fs::read(root.join(format!("{key}.record.json"))).unwrap(),
        )
        .unwrap();
        assert_eq!(rec["crc64nvme"], crc.base64(), "{key}");
    }
    // The only copy of the replaced entry rots: it is at risk, and said so loudly.
    flip_bytes(&root.join(&id));
    let (code, rows, stderr) = verify(&s, &a, &[]).await;
    assert_eq!(code, Some(1));
    assert_eq!(rows[&id].0, "corrupt", "{rows:?}");
    assert!(stderr.contains(&format!("AT RISK: {id}")), "{stderr}");
    let (code, h, _) = run(&s, &a, &["health", "--id", &id], &[]).await;
    assert_eq!(code, Some(1));
    assert!(h[&id].2.contains("AT RISK"), "{h:?}");
    let out = cli(&s, &a, &["explain", &id], &[]).await;
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("FAILS ITS PROOF"), "{text}");
    // Restore never puts the bad bytes into Kaltura: the upload fails on them, loudly.
    let placeholder = kaltura_original(&s, &id).await;
    play(&s, &id).await;
    let (code, r, _) = run(&s, &a, &["restore", "--execute", "--id", &id], &[]).await;
    assert_eq!(code, Some(1), "{r:?}");
    assert_eq!(r[&id].1, "failed", "{r:?}");
    assert!(r[&id].2.contains("checksum mismatch"), "{r:?}");
    assert_eq!(kaltura_original(&s, &id).await, placeholder);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_run_killed_mid_transfer_loses_nothing_and_the_next_run_leaves_no_temporary_file() {
    let s = kaltura_sim::SimServer::start(kaltura_sim::SimConfig {
        partner_id: PARTNER,
        admin_secret: SECRET.into(),
        entries: 30,
        seed: 67,
        history_years: 8,
        flavor_bytes: (8_000_000, 24_000_000),
        ..kaltura_sim::SimConfig::default()
    })
    .await
    .unwrap();
    let a = local_archive();
    let root = Path::new(&a.env[0].1).to_path_buf();
    let base = baseline(&s).await;
    let temp_files = |root: &Path| -> Vec<String> {
        std::fs::read_dir(root)
            .map(|d| {
                d.map(|e| e.unwrap().file_name().to_string_lossy().to_string())
                    .filter(|n| n.starts_with(".tmp-"))
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut child = binary(&s, &a, &[])
        .args(["archive", "--execute", "--jobs", "2"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // SIGKILL while a copy is being written: its temporary file is there.
    let mut mid_transfer = false;
    for _ in 0..400 {
        if !temp_files(&root).is_empty() {
            mid_transfer = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(mid_transfer, "the run never wrote a copy");
    assert_invariant(&s, a.store.as_ref(), &base, "a SIGKILL mid-transfer").await;
    let r = report(&s, &a, &["archive", "--execute"]).await;
    assert!(with_outcome(&r, "failed").is_empty(), "{r:?}");
    assert_eq!(temp_files(&root), Vec::<String>::new());
    assert_invariant(&s, a.store.as_ref(), &base, "the run after the kill").await;
    let h = report(&s, &a, &["health"]).await;
    assert!(h.values().all(|(_, o, _)| o == "healthy"), "{h:?}");
}
