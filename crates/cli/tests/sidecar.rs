//! An archive you can leave Kaltura with: beside every copy, a sidecar whose metadata equals what
//! Kaltura says of the entry (read with the official Node client, not ours), whose captions and
//! thumbnail are Kaltura's bytes; `catalog`, `explain` and `download` that work with Kaltura out
//! of reach or the entry deleted; `repair` that writes the sidecars of copies made without one;
//! and `verify` that reports a sidecar whose bytes changed.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use common::*;
use kaltura::EntryId;
use kaltura_sim::SimServer;

/// What the official Node client reads of these entries (conformance/entry_facts.js), or `None`
/// (skip) when its packages are not installed outside CI.
fn node_facts(s: &SimServer, ids: &[String]) -> Option<serde_json::Value> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../conformance");
    if !root.join("node_modules/kaltura-client").exists() {
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("conformance/node_modules is missing under CI=true: .ci/run must npm ci first");
        }
        eprintln!("skipped: the official Node client is not installed (cd conformance && npm ci)");
        return None;
    }
    let out = std::process::Command::new("node")
        .arg(root.join("entry_facts.js"))
        .arg(s.base_url())
        .arg(PARTNER.to_string())
        .arg(SECRET)
        .args(ids)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(serde_json::from_slice(&out.stdout).unwrap())
}

fn root_of(a: &Archive) -> PathBuf {
    PathBuf::from(&a.env.iter().find(|(k, _)| k == "ARCHIVE_DIR").unwrap().1)
}

fn read_json(path: PathBuf) -> serde_json::Value {
    serde_json::from_slice(
        &std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())),
    )
    .unwrap()
}

fn sha256(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

fn split(s: &str) -> Vec<String> {
    s.split(',')
        .map(str::trim)
        .filter(|x| !x.is_empty())
        .map(str::to_string)
        .collect()
}

/// Checks each archived entry's sidecar against what the Node client read.
fn assert_sidecars_match(root: &std::path::Path, facts: &serde_json::Value, ids: &[String]) {
    for id in ids {
        let f = &facts[id];
        let dir = root.join("sidecars").join(id);
        let m = read_json(dir.join("metadata.json"));
        assert_eq!(m["id"], id.as_str());
        assert_eq!(m["name"], f["name"], "{id} name");
        assert_eq!(m["description"], f["description"], "{id} description");
        assert_eq!(m["owner"], f["userId"], "{id} owner");
        assert_eq!(m["creator"], f["creatorId"], "{id} creator");
        assert_eq!(m["created_at"], f["createdAt"], "{id} created");
        // Archiving tags the entry after its sidecar is written, which moves updatedAt on.
        assert!(
            m["updated_at"].as_i64() <= f["updatedAt"].as_i64(),
            "{id} updated"
        );
        assert_eq!(m["duration_ms"], f["msDuration"], "{id} duration");
        assert_eq!(m["plays"], f["plays"], "{id} plays");
        assert_eq!(m["last_played_at"], f["lastPlayedAt"], "{id} last played");
        assert_eq!(
            m["categories"],
            serde_json::json!(split(f["categories"].as_str().unwrap()))
        );
        assert_eq!(
            m["categories_ids"],
            serde_json::json!(split(f["categoriesIds"].as_str().unwrap()))
        );
        let tags: BTreeSet<String> = split(f["tags"].as_str().unwrap())
            .into_iter()
            .map(|t| t.to_lowercase())
            .filter(|t| !t.starts_with("archived_to_s3") && t != "flavors_deleted")
            .collect();
        let kept: BTreeSet<String> = m["tags"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t.as_str().unwrap().to_string())
            .filter(|t| t != "archived_to_s3" && t != "flavors_deleted")
            .collect();
        assert_eq!(kept, tags, "{id} tags");
        // Captions: every language Kaltura has, byte for byte.
        let theirs = f["captions"].as_array().unwrap();
        let ours = m["captions"].as_array().unwrap();
        assert_eq!(ours.len(), theirs.len(), "{id}: captions");
        for c in theirs {
            let mine = ours
                .iter()
                .find(|o| o["id"] == c["id"])
                .expect("caption kept");
            assert_eq!(mine["language"], c["language"]);
            assert_eq!(mine["language_code"], c["languageCode"]);
            assert_eq!(mine["format"], c["format"]);
            let bytes = std::fs::read(root.join(mine["key"].as_str().unwrap())).unwrap();
            assert_eq!(
                sha256(&bytes),
                c["sha256"].as_str().unwrap(),
                "{id}: caption bytes"
            );
        }
        let thumb = std::fs::read(root.join(m["thumbnail"].as_str().unwrap())).unwrap();
        assert_eq!(
            sha256(&thumb),
            f["thumbnail"]["sha256"].as_str().unwrap(),
            "{id}: thumbnail"
        );
        assert_eq!(&thumb[..2], &[0xFF, 0xD8], "a JPEG");
    }
}

/// The binary pointed at a Kaltura that does not answer.
fn kaltura_down() -> Vec<(&'static str, String)> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    vec![
        ("KALTURA_SERVICE_URL", format!("http://127.0.0.1:{port}")),
        ("KALTURA_MAX_RETRY_SECONDS", "1".into()),
    ]
}

fn env<'a>(v: &'a [(&'static str, String)]) -> Vec<(&'a str, &'a str)> {
    v.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn sidecars_equal_what_kaltura_says_and_the_archive_is_usable_without_kaltura() {
    let s = sim(60, 47).await;
    let a = local_archive();
    let root = root_of(&a);
    let c = client(&s);
    let mut ids: Vec<String> = policy_set(&s).into_iter().collect();
    ids.sort();
    let ids: Vec<String> = ids.into_iter().take(16).collect();
    let eids: Vec<EntryId> = ids.iter().map(|i| EntryId(i.clone())).collect();
    let originals = originals(&c, &eids).await;
    let mut sums = BTreeMap::new();
    for (id, f) in &originals {
        sums.insert(id.0.clone(), checksum_of(&c, f).await);
    }
    let mut args = vec!["archive", "--execute"];
    for id in &ids {
        args.extend(["--id", id.as_str()]);
    }
    let r = report(&s, &a, &args).await;
    assert!(ids.iter().all(|id| r[id].1 == "done"), "{r:?}");
    let Some(facts) = node_facts(&s, &ids) else {
        return;
    };
    let counts: Vec<usize> = ids
        .iter()
        .map(|id| facts[id]["captions"].as_array().unwrap().len())
        .collect();
    assert!(
        counts.iter().any(|n| *n > 1) && counts.contains(&0),
        "the test entries have several captions and none: {counts:?}"
    );
    assert_sidecars_match(&root, &facts, &ids);

    // One entry is deleted in Kaltura; then Kaltura stops answering altogether.
    let deleted = ids[0].clone();
    c.call(
        "media",
        "delete",
        serde_json::json!({"entryId": deleted})
            .as_object()
            .unwrap()
            .clone(),
        kaltura::Idempotence::Safe,
    )
    .await
    .unwrap();
    let down = kaltura_down();
    let out = cli(&s, &a, &["catalog", "--format", "json"], &env(&down)).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    let listed: BTreeSet<String> = rows
        .iter()
        .map(|r| r["entry_id"].as_str().unwrap().into())
        .collect();
    assert_eq!(
        listed,
        ids.iter().cloned().collect::<BTreeSet<_>>(),
        "every archived entry"
    );
    for r in &rows {
        let f = &facts[r["entry_id"].as_str().unwrap()];
        assert_eq!(r["name"], f["name"]);
        assert_eq!(r["owner"], f["userId"]);
    }
    let total = String::from_utf8_lossy(&out.stderr);
    assert!(
        total.contains(&format!("{} copies of {} entries", ids.len(), ids.len())),
        "{total}"
    );
    // Filters narrow it: by owner.
    let owner = facts[&ids[1]]["userId"].as_str().unwrap();
    let out = cli(&s, &a, &["catalog", "--owner", owner], &env(&down)).await;
    let tsv = String::from_utf8_lossy(&out.stdout);
    assert!(
        tsv.lines()
            .skip(1)
            .all(|l| l.split('\t').nth(2) == Some(owner)),
        "{tsv}"
    );
    assert!(tsv.contains(&ids[1]));

    // download and explain from the archive alone: Kaltura down, and the deleted entry.
    for (id, extra) in [(&ids[1], env(&down)), (&deleted, vec![])] {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("out.mp4");
        let file_s = file.display().to_string();
        let mut e = extra.clone();
        e.push(("KALTURA_MAX_RETRY_SECONDS", "1"));
        let out = cli(&s, &a, &["download", "--id", id, "-o", &file_s], &e).await;
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let bytes = std::fs::read(&file).unwrap();
        let (size, crc) = &sums[id];
        assert_eq!(bytes.len() as u64, *size);
        let mut c64 = archiver::store::checksum::Crc64::default();
        c64.update(&bytes);
        assert_eq!(&c64.base64(), crc, "{id}: the original's bytes");
        let out = cli(&s, &a, &["explain", id], &e).await;
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{text}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(text.contains("from the archive alone"), "{text}");
        assert!(
            text.contains(facts[id.as_str()]["name"].as_str().unwrap()),
            "{text}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn repair_writes_the_sidecars_of_copies_made_without_one_and_verify_reports_altered_ones() {
    let s = sim(60, 53).await;
    let a = local_archive();
    let root = root_of(&a);
    let mut ids: Vec<String> = policy_set(&s).into_iter().collect();
    ids.sort();
    let ids: Vec<String> = ids.into_iter().take(6).collect();
    let mut args = vec!["archive", "--execute"];
    for id in &ids {
        args.extend(["--id", id.as_str()]);
    }
    report(&s, &a, &args).await;
    // Half of them replaced too, as copies of an earlier version would be.
    let mut args = vec!["replace", "--execute"];
    for id in &ids[..3] {
        args.extend(["--id", id.as_str()]);
    }
    let r = report(&s, &a, &args).await;
    assert!(ids[..3].iter().all(|id| r[id].1 == "done"), "{r:?}");
    // Copies made before sidecars existed: none of them has one.
    std::fs::remove_dir_all(root.join("sidecars")).unwrap();
    let r = report(&s, &a, &["repair"]).await;
    assert!(
        ids.iter().all(|id| r[id].1 == "planned"),
        "a dry run plans: {r:?}"
    );
    assert!(!root.join("sidecars").exists(), "a dry run wrote sidecars");
    let r = report(&s, &a, &["repair", "--execute"]).await;
    for id in &ids {
        assert_eq!(r[id].1, "done", "{id}: {:?}", r[id]);
    }
    if let Some(facts) = node_facts(&s, &ids) {
        assert_sidecars_match(&root, &facts, &ids);
    }
    let r = report(&s, &a, &["repair", "--execute"]).await;
    assert!(
        ids.iter().all(|id| r[id].1 == "done-before"),
        "a second repair: {r:?}"
    );

    // verify reads every sidecar file: all good, then one caption altered in place.
    let out = cli(&s, &a, &["verify"], &[]).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let with_caption = ids
        .iter()
        .find_map(|id| {
            let m = read_json(root.join("sidecars").join(id).join("metadata.json"));
            m["captions"]
                .as_array()
                .unwrap()
                .first()
                .map(|c| c["key"].as_str().unwrap().to_string())
        })
        .expect("an entry with captions");
    let path = root.join(&with_caption);
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[0] ^= 0x20; // same size, one bit
    std::fs::write(&path, &bytes).unwrap();
    let out = cli(&s, &a, &["verify"], &[]).await;
    assert_eq!(out.status.code(), Some(1));
    let rows = String::from_utf8_lossy(&out.stdout);
    let bad: Vec<&str> = rows
        .lines()
        .filter(|l| l.contains("sidecar-changed"))
        .collect();
    assert_eq!(bad.len(), 1, "{rows}");
    assert!(bad[0].contains(&with_caption), "{}", bad[0]);
}

#[tokio::test(flavor = "multi_thread")]
async fn without_kaltura_download_names_a_frozen_copy_and_requests_its_thaw() {
    let Some(endpoint) = moto() else { return };
    let s = sim(30, 59).await;
    let a = s3_archive(&endpoint, "sidecar-thaw", "GLACIER").await;
    let id = policy_set(&s).into_iter().min().unwrap();
    let r = report(&s, &a, &["archive", "--execute", "--id", &id]).await;
    assert_eq!(r[&id].1, "done", "{r:?}");
    // The sidecar is readable at once (STANDARD_IA), so the catalog needs no thaw.
    let down = kaltura_down();
    let out = cli(&s, &a, &["catalog"], &env(&down)).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains(&id));
    let meta = archiver::store::ObjectKey::new(format!("sidecars/{id}/metadata.json")).unwrap();
    let info = a.store.head(&meta).await.unwrap().unwrap();
    assert_eq!(info.storage_class.as_str(), "STANDARD_IA");

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("out.mp4").display().to_string();
    let out = cli(&s, &a, &["download", "--id", &id, "-o", &file], &env(&down)).await;
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("needs a thaw first") && err.contains("--request-thaw"),
        "{err}"
    );
    let copy = archiver::store::ObjectKey::new(id.clone()).unwrap();
    let before = a.store.head(&copy).await.unwrap().unwrap();
    assert_eq!(before.restore, archiver::store::RestoreStatus::Frozen);

    let out = cli(
        &s,
        &a,
        &["download", "--id", &id, "-o", &file, "--request-thaw"],
        &env(&down),
    )
    .await;
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("requested a thaw"), "{err}");
    let after = a.store.head(&copy).await.unwrap().unwrap();
    assert_ne!(
        after.restore,
        archiver::store::RestoreStatus::Frozen,
        "no thaw was requested"
    );
    assert!(!std::path::Path::new(&file).exists());
}
