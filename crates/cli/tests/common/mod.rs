//! Helpers of the binary tests: a simulator, a store (a local directory or moto), runs of the
//! binary, and THE invariant of docs/architecture.md checked by hashing bytes.
#![allow(dead_code)] // each test file uses its own part

use std::collections::{BTreeMap, HashMap, HashSet};
use std::process::{Command, Output};
use std::sync::Arc;

use archiver::store::checksum::Crc64;
use archiver::store::local::LocalStore;
use archiver::store::s3::S3StoreBuilder;
use archiver::store::ArchiveStore;
use futures_util::TryStreamExt;
use kaltura::{Client, EntryId, FlavorAsset};
use kaltura_sim::model::{entry_status, flavor_status, media_type};
use kaltura_sim::{SimConfig, SimServer};

pub const SECRET: &str = "lifecycle-test-secret-77a1";
pub const PARTNER: i64 = 4321;
pub const YEAR: f64 = 365.25 * 86400.0;

pub async fn sim(entries: usize, seed: u64) -> SimServer {
    sim_with(entries, seed, true).await
}

/// A simulator whose partner has (or lacks) the entry-replacement feature.
pub async fn sim_with(entries: usize, seed: u64, replacement_enabled: bool) -> SimServer {
    SimServer::start(SimConfig {
        replacement_enabled,
        partner_id: PARTNER,
        admin_secret: SECRET.into(),
        entries,
        seed,
        history_years: 8,
        flavor_bytes: (20_000, 600_000),
        ..SimConfig::default()
    })
    .await
    .unwrap()
}

pub fn client(s: &SimServer) -> Client {
    Client::builder()
        .with_service_url(s.base_url())
        .with_partner_id(PARTNER)
        .with_secret(SECRET.to_string().into())
        .build()
        .unwrap()
}

/// Where the archive of a test lives, and how the binary is pointed at it.
pub struct Archive {
    pub store: Arc<dyn ArchiveStore>,
    pub env: Vec<(String, String)>,
    pub _dir: Option<tempfile::TempDir>,
}

pub fn local_archive() -> Archive {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("archive");
    Archive {
        store: Arc::new(LocalStore::new(root.clone()).unwrap()),
        env: vec![("ARCHIVE_DIR".into(), root.display().to_string())],
        _dir: Some(dir),
    }
}

/// moto's endpoint, or `None` (skip) outside CI.
pub fn moto() -> Option<String> {
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

pub async fn s3_archive(endpoint: &str, name: &str, class: &str) -> Archive {
    let bucket = format!("{name}-{}", std::process::id());
    let creds = [
        ("AWS_ACCESS_KEY_ID", "test"),
        ("AWS_SECRET_ACCESS_KEY", "test"),
    ];
    for (k, v) in creds {
        if std::env::var(k).is_err() {
            std::env::set_var(k, v);
        }
    }
    let r = reqwest::Client::new()
        .put(format!("{endpoint}/{bucket}"))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "create bucket: {}", r.status());
    let store = S3StoreBuilder::default()
        .with_bucket(&bucket)
        .with_endpoint(endpoint)
        .with_region("us-east-1")
        .build()
        .await
        .unwrap();
    Archive {
        store: Arc::new(store),
        env: vec![
            ("AWS_BUCKET".into(), bucket),
            ("AWS_ENDPOINT_URL".into(), endpoint.into()),
            ("AWS_REGION".into(), "us-east-1".into()),
            ("AWS_ACCESS_KEY_ID".into(), "test".into()),
            ("AWS_SECRET_ACCESS_KEY".into(), "test".into()),
            ("STORAGE_CLASS".into(), class.into()),
        ],
        _dir: None,
    }
}

/// The binary, with only the environment a test gives it: the simulator, the archive, `extra`.
pub fn binary(s: &SimServer, a: &Archive, extra: &[(&str, &str)]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_kaltura-archiver"));
    command
        .env_clear()
        .env("KALTURA_PARTNERID", PARTNER.to_string())
        .env("KALTURA_SECRET", SECRET)
        .env("KALTURA_SERVICE_URL", s.base_url())
        .env("N_YEARS", "3")
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(a.env.iter().cloned())
        .envs(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    command
}

/// One run of the binary; the secret and the KS never show.
pub async fn cli(s: &SimServer, a: &Archive, args: &[&str], extra: &[(&str, &str)]) -> Output {
    let mut command = binary(s, a, extra);
    command.args(args);
    let out = tokio::task::spawn_blocking(move || command.output().unwrap())
        .await
        .unwrap();
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        !all.contains(SECRET) && !all.contains("djJ8"),
        "a secret leaked: {all}"
    );
    out
}

/// Runs a command that must succeed and returns its report: entry id → (state, outcome).
pub async fn report(
    s: &SimServer,
    a: &Archive,
    args: &[&str],
) -> BTreeMap<String, (String, String, String)> {
    let out = cli(s, a, args, &[]).await;
    assert!(
        out.status.success(),
        "{args:?} exit {:?}\n{}\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    parse_report(&String::from_utf8_lossy(&out.stdout))
}

pub fn parse_report(tsv: &str) -> BTreeMap<String, (String, String, String)> {
    tsv.lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.splitn(4, '\t').collect();
            (f[0].into(), (f[1].into(), f[2].into(), f[3].into()))
        })
        .collect()
}

pub fn with_outcome(
    r: &BTreeMap<String, (String, String, String)>,
    outcome: &str,
) -> HashSet<String> {
    r.iter()
        .filter(|(_, (_, o, _))| o == outcome)
        .map(|(id, _)| id.clone())
        .collect()
}

/// The real original of each entry at the start: flavor id, version, size and checksum.
pub type Baseline = HashMap<EntryId, (String, i64, u64, String)>;

pub async fn originals(c: &Client, ids: &[EntryId]) -> HashMap<EntryId, FlavorAsset> {
    let mut out = HashMap::new();
    for chunk in ids.chunks(500) {
        for f in c.flavors_of(chunk, true).await.unwrap() {
            if f.is_original && f.is_ready() {
                out.insert(f.entry_id.clone(), f);
            }
        }
    }
    out
}

pub async fn checksum_of(c: &Client, f: &FlavorAsset) -> (u64, String) {
    let mut crc = Crc64::default();
    let mut n = 0u64;
    let mut s = c.download_flavor(f, f.exact_bytes()).await.unwrap();
    while let Some(b) = s.try_next().await.unwrap() {
        crc.update(&b);
        n += b.len() as u64;
    }
    (n, crc.base64())
}

pub fn all_ids(s: &SimServer) -> Vec<EntryId> {
    let w = s.sim().world.lock().unwrap();
    w.entries.iter().map(|e| EntryId(e.id.clone())).collect()
}

pub async fn baseline(s: &SimServer) -> Baseline {
    let c = client(s);
    let mut out = Baseline::new();
    for (id, f) in originals(&c, &all_ids(s)).await {
        let (n, crc) = checksum_of(&c, &f).await;
        out.insert(id, (f.id.0.clone(), f.version, n, crc));
    }
    out
}

/// THE invariant, by bytes: each entry's real original is in Kaltura (same flavor version, or
/// the same bytes downloaded and hashed) or in the store: an object read and hashed to the same
/// bytes, or — frozen in Glacier, where nothing can be read — whose stored checksum S3 keeps
/// for it equals the original's. The tool's own records are never trusted: they only point at
/// object versions, whose bytes are then hashed.
pub async fn assert_invariant(
    s: &SimServer,
    store: &dyn ArchiveStore,
    base: &Baseline,
    step: &str,
) {
    let c = client(s);
    let ids: Vec<EntryId> = base.keys().cloned().collect();
    let now = originals(&c, &ids).await;
    let mut lost = Vec::new();
    for (id, (flavor, version, size, crc)) in base {
        if let Some(f) = now.get(id) {
            if &f.id.0 == flavor && f.version == *version {
                continue;
            }
            if f.exact_bytes() == Some(*size) && checksum_of(&c, f).await == (*size, crc.clone()) {
                continue;
            }
        }
        if !store_holds(store, &id.0, *size, crc).await {
            lost.push(id.0.clone());
        }
    }
    assert!(
        lost.is_empty(),
        "after {step}: videos only in no place: {lost:?}"
    );
    eprintln!("invariant holds after {step} ({} entries)", base.len());
}

/// Whether some object (or pinned object version) of the entry holds exactly these bytes.
pub async fn store_holds(store: &dyn ArchiveStore, entry: &str, size: u64, crc: &str) -> bool {
    let dotted = format!("{entry}.");
    let keys = store.list(entry).await.unwrap();
    let mut candidates: Vec<(archiver::store::ObjectKey, Option<String>)> = Vec::new();
    for k in keys {
        let name = k.as_str();
        if name != entry && !name.starts_with(&dotted) {
            continue;
        }
        if let Some(copy) = name.strip_suffix(".record.json") {
            // Only a pointer: the version it names is hashed below like any object.
            let rec: serde_json::Value =
                serde_json::from_slice(&archiver::store::read_all(store, &k).await.unwrap())
                    .unwrap();
            let version = rec["version_id"].as_str().map(str::to_string);
            candidates.push((archiver::store::ObjectKey::new(copy).unwrap(), version));
        } else if !name.ends_with(".json") {
            candidates.push((k, None));
        }
    }
    for (key, version) in candidates {
        let Some(info) = store.head_version(&key, version.as_deref()).await.unwrap() else {
            continue;
        };
        if info.size != size {
            continue;
        }
        if !info.restore.readable() {
            if info.checksum.as_deref() == Some(crc) {
                return true;
            }
            continue;
        }
        let Ok(mut body) = store.get_version(&key, version.as_deref()).await else {
            continue;
        };
        let mut sum = Crc64::default();
        let mut ok = true;
        while let Some(chunk) = body.try_next().await.transpose() {
            match chunk {
                Ok(b) => sum.update(&b),
                Err(_) => {
                    ok = false;
                    break;
                }
            }
        }
        if ok && sum.bytes() == size && sum.base64() == crc {
            return true;
        }
    }
    false
}

/// An entry's copies, as the tool sees them.
pub async fn copies_of(store: &dyn ArchiveStore, id: &str) -> Vec<archiver::copies::ArchiveCopy> {
    let p = archiver::placeholder::Placeholders::new(archiver::placeholder::DEFAULT.to_vec());
    archiver::copies::Copies::load(store, id, archiver::proof::Depth::Quick, &p)
        .await
        .unwrap()
        .list
}

/// Entries the policy selects for archive and replace (N = 3), from the simulator's own state.
pub fn policy_set(s: &SimServer) -> HashSet<String> {
    let w = s.sim().world.lock().unwrap();
    let cutoff = w.now() - (3.0 * YEAR).round() as i64;
    w.entries
        .iter()
        .filter(|e| {
            e.status == entry_status::READY
                && e.display_in_search >= 0
                && e.media_type != media_type::IMAGE
                && e.created_at < cutoff
                && e.last_played_at.is_none_or(|t| t < cutoff)
                && w.flavors.iter().any(|f| {
                    f.entry_id == e.id
                        && f.is_original
                        && f.status == flavor_status::READY
                        && f.deleted_at.is_none()
                })
        })
        .map(|e| e.id.clone())
        .collect()
}

/// The simulator's state dump without its clock.
pub async fn sim_state(s: &SimServer) -> serde_json::Value {
    let mut v: serde_json::Value = reqwest::get(format!("{}/sim/state", s.base_url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    v.as_object_mut().unwrap().remove("now");
    v
}

/// Every object in the store with its size and checksum.
pub async fn store_dump(store: &dyn ArchiveStore) -> Vec<(String, u64, Option<String>)> {
    let mut out = Vec::new();
    for k in store.list("").await.unwrap() {
        if let Some(i) = store.head(&k).await.unwrap() {
            out.push((k.to_string(), i.size, i.checksum));
        }
    }
    out.sort();
    out
}

pub async fn play(s: &SimServer, id: &str) {
    let r = reqwest::Client::new()
        .post(format!("{}/sim/play", s.base_url()))
        .json(&serde_json::json!({"entryId": id}))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
}

/// The entries with these ids, as Kaltura returns them, by id.
pub async fn entries<'a>(
    s: &SimServer,
    ids: impl IntoIterator<Item = &'a String>,
) -> HashMap<String, kaltura::MediaEntry> {
    let ids: Vec<EntryId> = ids.into_iter().map(|i| EntryId(i.clone())).collect();
    client(s)
        .entries_by_id(&ids)
        .await
        .unwrap()
        .into_iter()
        .map(|e| (e.id.0.clone(), e))
        .collect()
}

/// The entries with a copy in the store.
pub async fn archived(a: &Archive) -> std::collections::BTreeSet<String> {
    store_dump(a.store.as_ref())
        .await
        .into_iter()
        .map(|(k, _, _)| k)
        .filter(|k| !k.contains('/') && !k.ends_with(".json"))
        .collect()
}
