//! The lifecycle end to end — archive, replace, plays, restore, health, repair — through the
//! `kaltura-archiver` binary against the simulator and a store (moto's S3 server, or a local
//! directory), with THE invariant of DESIGN.md checked after every step: every entry's real
//! original exists in Kaltura or as a verified archive copy.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::process::{Command, Output};
use std::sync::Arc;

use archiver::store::checksum::Crc64;
use archiver::store::local::LocalStore;
use archiver::store::s3::S3StoreBuilder;
use archiver::store::ArchiveStore;
use futures_util::TryStreamExt;
use kaltura::{Client, EntryId, FlavorAsset};
use kaltura_sim::{SimConfig, SimServer};

const SECRET: &str = "lifecycle-test-secret-77a1";
const PARTNER: i64 = 4321;
const YEAR: f64 = 365.25 * 86400.0;

async fn sim(entries: usize, seed: u64) -> SimServer {
    sim_with(entries, seed, true).await
}

/// A simulator whose partner has (or lacks) the entry-replacement feature.
async fn sim_with(entries: usize, seed: u64, replacement_enabled: bool) -> SimServer {
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

fn client(s: &SimServer) -> Client {
    Client::builder()
        .with_service_url(s.base_url())
        .with_partner_id(PARTNER)
        .with_secret(SECRET.to_string().into())
        .build()
        .unwrap()
}

/// Where the archive of a test lives, and how the binary is pointed at it.
struct Archive {
    store: Arc<dyn ArchiveStore>,
    env: Vec<(String, String)>,
    _dir: Option<tempfile::TempDir>,
}

fn local_archive() -> Archive {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("archive");
    Archive {
        store: Arc::new(LocalStore::new(root.clone()).unwrap()),
        env: vec![("ARCHIVE_DIR".into(), root.display().to_string())],
        _dir: Some(dir),
    }
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

async fn s3_archive(endpoint: &str, name: &str, class: &str) -> Archive {
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

/// One run of the binary; the secret and the KS never show.
async fn cli(s: &SimServer, a: &Archive, args: &[&str], extra: &[(&str, &str)]) -> Output {
    let mut env: Vec<(String, String)> = vec![
        ("KALTURA_PARTNERID".into(), PARTNER.to_string()),
        ("KALTURA_SECRET".into(), SECRET.into()),
        ("KALTURA_SERVICE_URL".into(), s.base_url()),
        ("N_YEARS".into(), "3".into()),
        ("PATH".into(), std::env::var("PATH").unwrap_or_default()),
    ];
    env.extend(a.env.iter().cloned());
    env.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    let out = tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_kaltura-archiver"))
            .args(&args)
            .env_clear()
            .envs(env)
            .output()
            .unwrap()
    })
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
async fn report(
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

fn parse_report(tsv: &str) -> BTreeMap<String, (String, String, String)> {
    tsv.lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.splitn(4, '\t').collect();
            (f[0].into(), (f[1].into(), f[2].into(), f[3].into()))
        })
        .collect()
}

fn with_outcome(r: &BTreeMap<String, (String, String, String)>, outcome: &str) -> HashSet<String> {
    r.iter()
        .filter(|(_, (_, o, _))| o == outcome)
        .map(|(id, _)| id.clone())
        .collect()
}

/// The real original of each entry at the start: flavor id, version, size and checksum.
type Baseline = HashMap<EntryId, (String, i64, u64, String)>;

async fn originals(c: &Client, ids: &[EntryId]) -> HashMap<EntryId, FlavorAsset> {
    let mut out = HashMap::new();
    for chunk in ids.chunks(500) {
        for f in c.flavors_of(chunk, true).await.unwrap() {
            if f.is_original && f.status == 2 {
                out.insert(f.entry_id.clone(), f);
            }
        }
    }
    out
}

async fn checksum_of(c: &Client, f: &FlavorAsset) -> (u64, String) {
    let mut crc = Crc64::default();
    let mut n = 0u64;
    let mut s = c.download_flavor(f, f.exact_bytes()).await.unwrap();
    while let Some(b) = s.try_next().await.unwrap() {
        crc.update(&b);
        n += b.len() as u64;
    }
    (n, crc.base64())
}

fn all_ids(s: &SimServer) -> Vec<EntryId> {
    let w = s.sim().world.lock().unwrap();
    w.entries.iter().map(|e| EntryId(e.id.clone())).collect()
}

async fn baseline(s: &SimServer) -> Baseline {
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
async fn assert_invariant(s: &SimServer, store: &dyn ArchiveStore, base: &Baseline, step: &str) {
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
async fn store_holds(store: &dyn ArchiveStore, entry: &str, size: u64, crc: &str) -> bool {
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
async fn copies_of(store: &dyn ArchiveStore, id: &str) -> Vec<archiver::copies::Copy> {
    let p = archiver::placeholder::Placeholders::new(archiver::placeholder::DEFAULT.to_vec());
    archiver::copies::Copies::load(store, id, archiver::proof::Depth::Quick, &p)
        .await
        .unwrap()
        .list
}

/// Entries the policy selects for archive and replace (N = 3), from the simulator's own state.
fn policy_set(s: &SimServer) -> HashSet<String> {
    let w = s.sim().world.lock().unwrap();
    let cutoff = w.now() - (3.0 * YEAR).round() as i64;
    w.entries
        .iter()
        .filter(|e| {
            e.status == 2
                && e.display_in_search >= 0
                && e.media_type != 2
                && e.created_at < cutoff
                && e.last_played_at.is_none_or(|t| t < cutoff)
                && w.flavors.iter().any(|f| {
                    f.entry_id == e.id && f.is_original && f.status == 2 && f.deleted_at.is_none()
                })
        })
        .map(|e| e.id.clone())
        .collect()
}

/// The simulator's state dump without its clock.
async fn sim_state(s: &SimServer) -> serde_json::Value {
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
async fn store_dump(store: &dyn ArchiveStore) -> Vec<(String, u64, Option<String>)> {
    let mut out = Vec::new();
    for k in store.list("").await.unwrap() {
        if let Some(i) = store.head(&k).await.unwrap() {
            out.push((k.to_string(), i.size, i.checksum));
        }
    }
    out.sort();
    out
}

async fn play(s: &SimServer, id: &str) {
    let r = reqwest::Client::new()
        .post(format!("{}/sim/play", s.base_url()))
        .json(&serde_json::json!({"entryId": id}))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
}

#[tokio::test(flavor = "multi_thread")]
async fn lifecycle_on_moto_deep_archive_300_entries_over_8_years_loses_nothing() {
    let Some(ep) = moto() else { return };
    let s = sim(300, 5).await;
    let a = s3_archive(&ep, "lifecycle", "DEEP_ARCHIVE").await;
    let base = baseline(&s).await;
    let policy = policy_set(&s);
    assert!(
        policy.len() > 60,
        "a policy worth testing: {}",
        policy.len()
    );

    // Dry runs change nothing, in Kaltura or in the bucket.
    let (state0, bucket0) = (sim_state(&s).await, store_dump(a.store.as_ref()).await);
    let dry = report(&s, &a, &["archive"]).await;
    assert_eq!(with_outcome(&dry, "planned"), policy);
    report(&s, &a, &["replace"]).await;
    assert_eq!(sim_state(&s).await, state0, "a dry run changed Kaltura");
    assert_eq!(
        store_dump(a.store.as_ref()).await,
        bucket0,
        "a dry run changed the bucket"
    );

    let archived = report(&s, &a, &["archive", "--execute", "--jobs", "8"]).await;
    assert_eq!(
        with_outcome(&archived, "done"),
        policy,
        "archive touched exactly the policy"
    );
    assert_invariant(&s, a.store.as_ref(), &base, "archive").await;
    let replaced = report(&s, &a, &["replace", "--execute", "--jobs", "8"]).await;
    assert_eq!(
        with_outcome(&replaced, "done"),
        policy,
        "replace touched exactly the policy"
    );
    assert_invariant(&s, a.store.as_ref(), &base, "replace").await;

    // 30 placeholders are played: the first restore asks for thaws, a later one restores.
    let played: Vec<String> = policy.iter().take(30).cloned().collect();
    for id in &played {
        play(&s, id).await;
    }
    let played: HashSet<String> = played.into_iter().collect();
    let first = report(&s, &a, &["restore", "--execute"]).await;
    assert_eq!(with_outcome(&first, "waiting"), played, "{first:?}");
    assert_invariant(&s, a.store.as_ref(), &base, "restore (thaw requests)").await;
    let second = report(&s, &a, &["restore", "--execute"]).await;
    assert_eq!(with_outcome(&second, "done"), played, "{second:?}");
    assert_invariant(&s, a.store.as_ref(), &base, "restore").await;

    // Every restored original equals the archived bytes.
    let c = client(&s);
    let ids: Vec<EntryId> = played.iter().map(|i| EntryId(i.clone())).collect();
    for (id, f) in originals(&c, &ids).await {
        let (_, _, size, crc) = &base[&id];
        assert_eq!(checksum_of(&c, &f).await, (*size, crc.clone()), "{}", id.0);
    }

    let health = report(&s, &a, &["health"]).await;
    assert!(
        health.values().all(|(_, o, _)| o == "healthy"),
        "{health:?}"
    );
    assert_eq!(
        health
            .values()
            .filter(|(st, _, _)| st == "replaced")
            .count(),
        policy.len() - 30
    );

    // Second runs: nothing left to do.
    let unplayed: HashSet<String> = policy.difference(&played).cloned().collect();
    for (cmd, ids) in [
        ("archive", &policy),
        ("replace", &unplayed),
        ("restore", &played),
    ] {
        let mut args = vec![cmd.to_string(), "--execute".to_string()];
        args.extend(ids.iter().flat_map(|i| ["--id".to_string(), i.clone()]));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let again = report(&s, &a, &args).await;
        assert_eq!(
            &with_outcome(&again, "done-before"),
            ids,
            "{cmd}: {again:?}"
        );
    }
}

/// States of the policy's entries after a full cycle: the played ones archived, the rest replaced.
async fn assert_converged(
    s: &SimServer,
    a: &Archive,
    policy: &HashSet<String>,
    played: &HashSet<String>,
) {
    let health = report(s, a, &["health"]).await;
    let anomalies: Vec<_> = health
        .iter()
        .filter(|(_, (_, o, _))| o != "healthy")
        .collect();
    assert!(anomalies.is_empty(), "not converged: {anomalies:?}");
    for id in policy {
        let want = if played.contains(id) {
            "archived"
        } else {
            "replaced"
        };
        assert_eq!(health[id].0, want, "{id}: {:?}", health[id]);
    }
}

/// Runs `cmd --execute` with a failpoint that must be reached, and checks the process died there.
async fn crash_at(s: &SimServer, a: &Archive, cmd: &str, failpoint: &str) {
    let out = cli(
        s,
        a,
        &[cmd, "--execute", "--jobs", "4"],
        &[("KALTURA_ARCHIVER_FAILPOINT", failpoint)],
    )
    .await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && stderr.contains(&format!("failpoint {failpoint} reached")),
        "{failpoint} was not reached: exit {:?}\n{stderr}",
        out.status.code()
    );
}

/// Runs `cmd --execute` until no entry is waiting (thaws) — at most three times.
async fn run_until_settled(s: &SimServer, a: &Archive, cmd: &str) {
    for _ in 0..3 {
        let r = report(s, a, &[cmd, "--execute"]).await;
        if with_outcome(&r, "waiting").is_empty() {
            return;
        }
    }
    panic!("{cmd} still waiting after three runs");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_crash_at_every_step_boundary_loses_nothing_and_a_rerun_converges() {
    let Some(ep) = moto() else { return };
    for (n, failpoint) in archiver::failpoint::ALL.iter().enumerate() {
        // Flavors are deleted only on partners without the entry-replacement feature.
        let replacement = !failpoint.contains("delete-flavors");
        let s = sim_with(60, 100 + n as u64, replacement).await;
        let a = s3_archive(&ep, &format!("crash{n}"), "GLACIER").await;
        let base = baseline(&s).await;
        let policy = policy_set(&s);
        let played: HashSet<String> = policy.iter().take(5).cloned().collect();
        let (stage, _) = failpoint.split_once('.').unwrap();
        if stage != "archive" {
            report(&s, &a, &["archive", "--execute"]).await;
        }
        if stage == "restore" {
            report(&s, &a, &["replace", "--execute"]).await;
            for id in &played {
                play(&s, id).await;
            }
            if *failpoint != "restore.after-thaw-request" {
                // The copies are in GLACIER: the first run only asks for thaws.
                report(&s, &a, &["restore", "--execute"]).await;
            }
        }
        crash_at(&s, &a, stage, failpoint).await;
        assert_invariant(
            &s,
            a.store.as_ref(),
            &base,
            &format!("a crash at {failpoint}"),
        )
        .await;
        // Re-run from the crashed stage to the end of the cycle.
        let stages = ["archive", "replace", "restore"];
        let from = stages.iter().position(|x| *x == stage).unwrap();
        for st in &stages[from..] {
            if *st == "restore" && stage != "restore" {
                for id in &played {
                    play(&s, id).await;
                }
            }
            run_until_settled(&s, &a, st).await;
            assert_invariant(
                &s,
                a.store.as_ref(),
                &base,
                &format!("{failpoint}, then {st}"),
            )
            .await;
        }
        assert_converged(&s, &a, &policy, &played).await;
        eprintln!("boundary {failpoint}: crashed, 0 lost, converged");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_flavor_reuploaded_after_archiving_is_not_replaced_until_archived_again() {
    let s = sim(40, 7).await;
    let a = local_archive();
    let policy = policy_set(&s);
    report(&s, &a, &["archive", "--execute"]).await;
    let id = policy.iter().next().unwrap().clone();
    // The owner uploads new content for the entry after it was archived.
    let c = client(&s);
    let data = bytes::Bytes::from(vec![7u8; 150_000]);
    let body: kaltura::ByteStream = Box::pin(futures_util::stream::once(async move { Ok(data) }));
    let token = c.upload("new.mp4", 150_000, body).await.unwrap();
    c.update_content(&EntryId(id.clone()), &token)
        .await
        .unwrap();
    let _ = sim_state(&s).await; // let the simulator finish the conversion

    let r = report(&s, &a, &["replace", "--execute", "--id", &id]).await;
    assert_eq!(r[&id].1, "skipped", "{r:?}");
    assert!(r[&id].2.contains("run archive first"), "{r:?}");
    let explain = cli(&s, &a, &["explain", &id], &[]).await;
    let text = String::from_utf8_lossy(&explain.stdout);
    assert!(explain.status.success(), "{text}");
    assert!(
        text.contains("anomaly     the archive copy is of an older flavor or version"),
        "{text}"
    );
    let r = report(&s, &a, &["archive", "--execute", "--id", &id]).await;
    assert_eq!(r[&id].1, "done", "{r:?}");
    assert!(
        r[&id].2.contains(&format!("{id}.")),
        "a versioned key, the old copy kept: {r:?}"
    );
    let r = report(&s, &a, &["replace", "--execute", "--id", &id]).await;
    assert_eq!(r[&id].1, "done", "{r:?}");
    // Both copies are kept; the one restore would use is the new one.
    let copies = copies_of(a.store.as_ref(), &id).await;
    assert_eq!(copies.len(), 2);
    assert_eq!(copies.last().unwrap().bytes(), 150_000);
}

#[tokio::test(flavor = "multi_thread")]
async fn health_reports_what_a_human_or_crash_left_and_repair_fixes_it() {
    let s = sim(40, 9).await;
    let a = local_archive();
    let base = baseline(&s).await;
    let policy: Vec<String> = policy_set(&s).into_iter().collect();
    report(&s, &a, &["archive", "--execute"]).await;
    report(&s, &a, &["replace", "--execute"]).await;
    let c = client(&s);
    let tags_of = |id: &str| {
        let w = s.sim().world.lock().unwrap();
        w.entries.iter().find(|e| e.id == id).unwrap().tags.clone()
    };
    // A human removes the tags of one replaced entry, and adds flavors_deleted to an entry that
    // holds its real video.
    let stripped = &policy[0];
    let before = report(&s, &a, &["health"]).await;
    c.set_tags(&EntryId(stripped.clone()), &[]).await.unwrap();
    let real = before
        .iter()
        .find(|(_, (st, _, _))| st == "initial")
        .map(|(id, _)| id.clone())
        .unwrap();
    c.set_tags(&EntryId(real.clone()), &["flavors_deleted".to_string()])
        .await
        .unwrap();

    let out = cli(&s, &a, &["health"], &[]).await;
    assert_eq!(out.status.code(), Some(1), "anomalies fail the health run");
    let h = parse_report(&String::from_utf8_lossy(&out.stdout));
    assert_eq!(h[stripped].1, "anomaly");
    assert!(
        h[stripped]
            .2
            .contains("placeholder is in Kaltura but a tag is missing"),
        "{h:?}"
    );
    assert_eq!(h[&real].1, "anomaly");
    assert!(h[&real].2.contains("Kaltura holds a real video"), "{h:?}");
    assert_eq!(with_outcome(&h, "anomaly").len(), 2, "{h:?}");

    let dry = report(&s, &a, &["repair"]).await;
    assert_eq!(with_outcome(&dry, "planned").len(), 2, "{dry:?}");
    report(&s, &a, &["repair", "--execute"]).await;
    let h = report(&s, &a, &["health"]).await;
    assert!(h.values().all(|(_, o, _)| o == "healthy"), "{h:?}");
    assert!(tags_of(stripped).contains("flavors_deleted"));
    assert!(!tags_of(&real).contains("flavors_deleted"));
    assert_invariant(&s, a.store.as_ref(), &base, "repair").await;
}

/// Runs `cmd --execute` until no entry fails or waits (at most four runs); returns how many runs
/// it took.
async fn run_until_clean(s: &SimServer, a: &Archive, cmd: &str) -> usize {
    for n in 1..=4 {
        let out = cli(s, a, &[cmd, "--execute", "--jobs", "6"], &[]).await;
        let r = parse_report(&String::from_utf8_lossy(&out.stdout));
        let open = with_outcome(&r, "failed").len() + with_outcome(&r, "waiting").len();
        if open == 0 && out.status.success() {
            return n;
        }
        for (id, (_, o, d)) in &r {
            if o == "failed" || o == "waiting" {
                eprintln!("{cmd} run {n}: {id} {o}: {d}");
            }
        }
    }
    panic!("{cmd} did not finish cleanly in four runs");
}

#[tokio::test(flavor = "multi_thread")]
async fn under_injected_faults_nothing_is_lost_and_runs_finish_the_work() {
    let faults = [
        "error=0.05",
        "http5xx=0.03",
        "drop=0.03",
        "lock=0.02",
        "serveflavor:drop=0.3",
        "uploadtoken.upload:http5xx=0.2",
    ];
    let s = SimServer::start(SimConfig {
        partner_id: PARTNER,
        admin_secret: SECRET.into(),
        entries: 60,
        seed: 31,
        history_years: 8,
        flavor_bytes: (200_000, 3_000_000),
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let a = local_archive();
    let base = baseline(&s).await;
    let policy = policy_set(&s);
    let played: HashSet<String> = policy.iter().take(6).cloned().collect();
    s.sim()
        .faults
        .set(faults.iter().map(|f| f.parse().unwrap()).collect());
    let mut runs = Vec::new();
    for cmd in ["archive", "replace", "restore"] {
        if cmd == "restore" {
            for id in &played {
                play(&s, id).await;
            }
        }
        runs.push((cmd, run_until_clean(&s, &a, cmd).await));
        assert_invariant(&s, a.store.as_ref(), &base, &format!("{cmd} under faults")).await;
    }
    eprintln!("runs needed under faults: {runs:?}");
    // Retries and resumed downloads absorb almost every fault within the run itself.
    assert!(runs.iter().all(|(_, n)| *n <= 2), "{runs:?}");
    s.sim().faults.set(vec![]);
    assert_converged(&s, &a, &policy, &played).await;
    let counters = s.sim().counters();
    assert!(counters.get("serveflavor").copied().unwrap_or(0) > 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn two_scheduled_runs_of_the_same_shard_started_together_do_the_work_once() {
    one_of_two_runs_works(local_archive()).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn two_scheduled_runs_on_s3_started_together_do_the_work_once() {
    let Some(ep) = moto() else { return };
    one_of_two_runs_works(s3_archive(&ep, "lock", "GLACIER").await).await;
}

async fn one_of_two_runs_works(a: Archive) {
    let s = sim(80, 13).await;
    // Slow Kaltura calls keep the first run busy while the second starts.
    s.sim().faults.set(vec!["latency=40ms".parse().unwrap()]);
    let policy = policy_set(&s);
    let args = ["run", "archive", "--execute", "--shard", "0/1"];
    let (one, two) = tokio::join!(cli(&s, &a, &args, &[]), cli(&s, &a, &args, &[]));
    let outputs = [one, two];
    for o in &outputs {
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    let busy: Vec<bool> = outputs
        .iter()
        .map(|o| String::from_utf8_lossy(&o.stderr).contains("holds the lock"))
        .collect();
    assert_eq!(
        busy.iter().filter(|b| **b).count(),
        1,
        "exactly one run backs off: {busy:?}"
    );
    let worker = outputs.iter().zip(&busy).find(|(_, b)| !**b).unwrap().0;
    // The report holds the archive rows, then the replace rows: each policy entry is done twice
    // (archived, then replaced) by the one run.
    let stdout = String::from_utf8_lossy(&worker.stdout);
    let done = stdout
        .lines()
        .filter(|l| l.split('\t').nth(2) == Some("done"))
        .count();
    assert_eq!(done, 2 * policy.len(), "{stdout}");
    // A later run finds the lock released and nothing left to do.
    let again = cli(&s, &a, &args, &[]).await;
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert!(
        again.status.success() && !stderr.contains("holds the lock"),
        "{stderr}"
    );
    assert!(stderr.contains("\"to_archive\":0"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_demo_runs_the_whole_story_and_ends_healthy() {
    let out = tokio::task::spawn_blocking(|| {
        Command::new(env!("CARGO_BIN_EXE_kaltura-archiver"))
            .args(["demo", "--entries", "80"])
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for step in [
        "archive, dry run",
        "archive --execute",
        "replace --execute",
        "10 viewers play",
        "restore --execute",
        "health",
    ] {
        assert!(text.contains(step), "missing {step:?}: {text}");
    }
    assert!(
        text.contains("10 restored after a play") && text.contains(" 0 anomalies"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn download_writes_the_original_from_kaltura_or_from_the_archive_and_explain_names_unknown_ids(
) {
    let s = sim(40, 17).await;
    let a = local_archive();
    let base = baseline(&s).await;
    let policy: Vec<String> = policy_set(&s).into_iter().collect();
    report(&s, &a, &["archive", "--execute"]).await;
    report(&s, &a, &["replace", "--execute", "--id", &policy[0]]).await;
    let out_dir = tempfile::tempdir().unwrap();
    // policy[0] is replaced: its bytes come from the archive; policy[1] is still in Kaltura.
    for (id, source) in [(&policy[0], "archive copy"), (&policy[1], "Kaltura flavor")] {
        let file = out_dir.path().join(format!("{id}.bin"));
        let out = cli(
            &s,
            &a,
            &["download", "--id", id, "-o", file.to_str().unwrap()],
            &[],
        )
        .await;
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success() && stderr.contains(source), "{stderr}");
        let data = std::fs::read(&file).unwrap();
        let mut crc = Crc64::default();
        crc.update(&data);
        let (_, _, size, want) = &base[&EntryId(id.clone())];
        assert_eq!(
            (data.len() as u64, crc.base64()),
            (*size, want.clone()),
            "{id}"
        );
    }
    let missing = cli(&s, &a, &["explain", "0_nosuch00"], &[]).await;
    assert_eq!(missing.status.code(), Some(4));
    let stderr = String::from_utf8_lossy(&missing.stderr);
    assert!(
        stderr.contains("0_nosuch00") && stderr.contains("does not exist"),
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn archive_asks_kaltura_once_per_entry_plus_a_few_calls_per_page() {
    let s = sim(120, 23).await;
    let a = local_archive();
    s.sim().reset_counters();
    let r = report(&s, &a, &["archive", "--execute"]).await;
    let done = with_outcome(&r, "done").len() as u64;
    assert!(done > 20, "{r:?}");
    let calls = s.sim().counters();
    eprintln!("calls for {done} archived entries: {calls:?}");
    let api = calls.get("http.api").copied().unwrap_or(0);
    // Per entry only its tag update; per page a list, the originals and one multirequest of
    // download URLs; one session.
    assert!(
        api <= done + 5,
        "{api} HTTP API calls for {done} entries: {calls:?}"
    );
    assert_eq!(calls.get("media.update").copied(), Some(done));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_partner_without_entry_replacement_is_replaced_and_restored_by_deleting_flavors() {
    let s = sim_with(50, 29, false).await;
    let a = local_archive();
    let base = baseline(&s).await;
    let policy = policy_set(&s);
    let played: HashSet<String> = policy.iter().take(4).cloned().collect();
    report(&s, &a, &["archive", "--execute"]).await;
    let replaced = report(&s, &a, &["replace", "--execute"]).await;
    assert_eq!(with_outcome(&replaced, "done"), policy, "{replaced:?}");
    assert_invariant(&s, a.store.as_ref(), &base, "replace by deleting flavors").await;
    for id in &played {
        play(&s, id).await;
    }
    let restored = report(&s, &a, &["restore", "--execute"]).await;
    assert_eq!(with_outcome(&restored, "done"), played, "{restored:?}");
    assert_invariant(&s, a.store.as_ref(), &base, "restore by deleting flavors").await;
    assert_converged(&s, &a, &policy, &played).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_run_stopped_by_sigterm_writes_its_journal_and_the_next_run_finishes() {
    let s = sim(60, 41).await;
    s.sim().faults.set(vec!["latency=60ms".parse().unwrap()]);
    let a = local_archive();
    let base = baseline(&s).await;
    let policy = policy_set(&s);
    let mut env: Vec<(String, String)> = vec![
        ("KALTURA_PARTNERID".into(), PARTNER.to_string()),
        ("KALTURA_SECRET".into(), SECRET.into()),
        ("KALTURA_SERVICE_URL".into(), s.base_url()),
    ];
    env.extend(a.env.iter().cloned());
    let child = Command::new(env!("CARGO_BIN_EXE_kaltura-archiver"))
        .args(["archive", "--execute", "--jobs", "2"])
        .env_clear()
        .envs(env)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Stop it once it has archived something, as ECS stops a task.
    for _ in 0..200 {
        let calls = s.sim().counters().get("media.update").copied().unwrap_or(0);
        if calls >= 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let pid = child.id().to_string();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    let out = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(6), "{stderr}");
    assert!(
        stderr.contains("stopped by a signal") && stderr.contains("journal: local store"),
        "{stderr}"
    );
    let journals = a.store.list("log/").await.unwrap();
    assert_eq!(journals.len(), 1, "{journals:?}");
    let text = archiver::store::read_all(a.store.as_ref(), &journals[0])
        .await
        .unwrap();
    assert!(String::from_utf8_lossy(&text).contains("\"event\":\"interrupted\""));
    assert_invariant(&s, a.store.as_ref(), &base, "a stop by SIGTERM").await;
    s.sim().faults.set(vec![]);
    let rest = report(&s, &a, &["archive", "--execute"]).await;
    let archived: HashSet<String> = rest
        .iter()
        .filter(|(_, (_, o, _))| o == "done" || o == "done-before")
        .map(|(id, _)| id.clone())
        .collect();
    assert_eq!(archived, policy);
    assert!(
        !with_outcome(&rest, "done-before").is_empty(),
        "the first run did some: {rest:?}"
    );
}
