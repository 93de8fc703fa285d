//! The lifecycle end to end — archive, replace, plays, restore, health, repair — through the
//! `kaltura-archiver` binary against the simulator and a store (moto's S3 server, or a local
//! directory), with THE invariant of docs/architecture.md checked after every step: every entry's real
//! original exists in Kaltura or as a verified archive copy.

mod common;

use std::collections::HashSet;
use std::process::Command;

use archiver::store::checksum::Crc64;
use common::*;
use kaltura::EntryId;
use kaltura_sim::{SimConfig, SimServer};

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
        // Created as any file is: the same permissions as one this process creates.
        use std::os::unix::fs::PermissionsExt;
        let plain = out_dir.path().join("plain");
        std::fs::write(&plain, b"x").unwrap();
        let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&file), mode(&plain), "{id}");
        // `-o -`: the same bytes on stdout, no file named "-".
        let piped = cli(&s, &a, &["download", "--id", id, "-o", "-"], &[]).await;
        assert!(piped.status.success(), "{piped:?}");
        assert_eq!(piped.stdout, data, "{id} on stdout");
    }
    assert!(!std::path::Path::new("-").exists());
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
    // Per entry only its tag update; per page a list (the originals nested), one multirequest
    // of download URLs, one caption list and one multirequest of caption URLs (for the
    // sidecars); one session and one read of Kaltura's clock.
    assert!(
        api <= done + 6,
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
    let child = binary(&s, &a, &[])
        .args(["archive", "--execute", "--jobs", "2"])
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
