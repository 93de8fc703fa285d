//! Scheduled runs that never fail silently, through the binary: a run that fails as a whole
//! releases its lock and says so in its summary line; a killed run blocks its job only until its
//! lease lapses; a live run keeps its lock past the lease length; runs started together have
//! their own run ids and journals.

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use kaltura_sim::SimServer;

/// The JSON summary line of a run's stderr.
fn summary_line(stderr: &str) -> serde_json::Value {
    let line = stderr
        .lines()
        .rev()
        .find(|l| l.starts_with("{\"kind\":\"summary\""))
        .unwrap_or_else(|| panic!("no summary line in:\n{stderr}"));
    serde_json::from_str(line).unwrap()
}

async fn run_archive(s: &SimServer, a: &Archive, extra: &[(&str, &str)]) -> (Option<i32>, String) {
    let out = cli(s, a, &["run", "archive", "--execute"], extra).await;
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

async fn a_failed_run_releases_its_lock(a: Archive) {
    let s = sim(40, 81).await;
    s.sim().faults.set(vec![
        "media.list:http5xx=1".parse().unwrap(),
        "media.count:http5xx=1".parse().unwrap(),
    ]);
    let (code, stderr) = run_archive(&s, &a, &[("KALTURA_MAX_RETRY_SECONDS", "1")]).await;
    assert_eq!(code, Some(3), "{stderr}");
    let summary = summary_line(&stderr);
    assert_eq!(summary["exit"], 3, "{summary}");
    assert!(
        summary["error"]
            .as_str()
            .is_some_and(|e| e.contains("Kaltura")),
        "{summary}"
    );
    s.sim().faults.set(vec![]);
    let (code, stderr) = run_archive(&s, &a, &[]).await;
    assert_eq!(code, Some(0), "{stderr}");
    assert!(!stderr.contains("holds the lock"), "{stderr}");
    let summary = summary_line(&stderr);
    assert_eq!(summary["exit"], 0, "{summary}");
    assert!(summary["error"].is_null(), "{summary}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_run_that_fails_as_a_whole_releases_its_lock_and_its_summary_says_why() {
    a_failed_run_releases_its_lock(local_archive()).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn on_s3_a_run_that_fails_as_a_whole_releases_its_lock_and_its_summary_says_why() {
    let Some(ep) = moto() else { return };
    a_failed_run_releases_its_lock(s3_archive(&ep, "failedrun", "GLACIER").await).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_input_still_prints_a_summary_line_with_its_exit_code() {
    let s = sim(10, 83).await;
    let a = local_archive();
    let (code, stderr) = run_archive(&s, &a, &[("LOCK_LEASE_MINUTES", "-1")]).await;
    assert_eq!(code, Some(2), "{stderr}");
    let summary = summary_line(&stderr);
    assert_eq!(summary["exit"], 2, "{summary}");
    assert!(
        summary["error"]
            .as_str()
            .is_some_and(|e| e.contains("LOCK_LEASE_MINUTES")),
        "{summary}"
    );
}

/// Starts `run archive --execute` in the background with a short lease.
fn spawn_run(s: &SimServer, a: &Archive, lease_minutes: &str) -> std::process::Child {
    spawn_run_with(s, a, lease_minutes, &[])
}

fn spawn_run_with(
    s: &SimServer,
    a: &Archive,
    lease_minutes: &str,
    extra: &[(&str, &str)],
) -> std::process::Child {
    let mut extra = extra.to_vec();
    extra.push(("LOCK_LEASE_MINUTES", lease_minutes));
    binary(s, a, &extra)
        .args(["run", "archive", "--execute", "--jobs", "1"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Waits until a run holds the archive lock.
async fn wait_for_lock(a: &Archive) {
    for _ in 0..200 {
        if !a.store.list("locks/archive/").await.unwrap().is_empty() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no run took the lock");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_killed_run_blocks_its_job_only_until_its_lease_lapses() {
    a_killed_run_blocks_only_until_its_lease_lapses(local_archive()).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn on_s3_a_killed_run_blocks_its_job_only_until_its_lease_lapses() {
    let Some(ep) = moto() else { return };
    a_killed_run_blocks_only_until_its_lease_lapses(s3_archive(&ep, "killedrun", "GLACIER").await)
        .await;
}

async fn a_killed_run_blocks_only_until_its_lease_lapses(a: Archive) {
    let s = sim(60, 85).await;
    s.sim().faults.set(vec!["latency=80ms".parse().unwrap()]);
    let mut child = spawn_run(&s, &a, "0.05"); // a 3-second lease
    wait_for_lock(&a).await;
    child.kill().unwrap(); // SIGKILL: no cleanup at all
    let killed_at = Instant::now();
    child.wait().unwrap();
    s.sim().faults.set(vec![]);
    let (code, stderr) = run_archive(&s, &a, &[("LOCK_LEASE_MINUTES", "0.05")]).await;
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stderr.contains("holds the lock") || killed_at.elapsed() >= Duration::from_secs(3),
        "the dead run's lease had not lapsed, yet the lock was taken: {stderr}"
    );
    let wait = Duration::from_millis(3_500).saturating_sub(killed_at.elapsed());
    tokio::time::sleep(wait).await;
    let (code, stderr) = run_archive(&s, &a, &[("LOCK_LEASE_MINUTES", "0.05")]).await;
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        !stderr.contains("holds the lock"),
        "a lapsed lease still blocks: {stderr}"
    );
    assert_eq!(summary_line(&stderr)["exit"], 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_live_run_keeps_its_lock_past_the_lease_length() {
    a_live_run_keeps_its_lock(local_archive()).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn on_s3_a_live_run_keeps_its_lock_past_the_lease_length() {
    let Some(ep) = moto() else { return };
    a_live_run_keeps_its_lock(s3_archive(&ep, "liverun", "GLACIER").await).await;
}

async fn a_live_run_keeps_its_lock(a: Archive) {
    let s = sim(60, 87).await;
    s.sim().faults.set(vec!["latency=100ms".parse().unwrap()]);
    let mut child = spawn_run(&s, &a, "0.05"); // a 3-second lease, renewed every second
    wait_for_lock(&a).await;
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert!(
        child.try_wait().unwrap().is_none(),
        "the first run must still be running for this test"
    );
    let (code, stderr) = run_archive(&s, &a, &[("LOCK_LEASE_MINUTES", "0.05")]).await;
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stderr.contains("holds the lock"),
        "a live run's lock was taken over after its lease length: {stderr}"
    );
    child.kill().unwrap();
    child.wait().unwrap();
}

/// Whether this machine can start processes in a PID namespace of their own (root can).
fn pid_namespaces() -> bool {
    let ok = Command::new("unshare")
        .args(["--pid", "--fork", "true"])
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        ok || std::env::var("CI").as_deref() != Ok("true"),
        "unshare --pid is needed under CI=true (CI runs as root)"
    );
    ok
}

#[tokio::test(flavor = "multi_thread")]
async fn two_runs_started_in_the_same_second_as_pid_1_have_their_own_run_ids_and_journals() {
    if !pid_namespaces() {
        eprintln!("skipped: unshare --pid needs root");
        return;
    }
    let s = sim(20, 89).await;
    let a = local_archive();
    // Both run as pid 1, as every container's entrypoint does.
    let start = || {
        let template = binary(&s, &a, &[]);
        let mut c = Command::new("unshare");
        c.args(["--pid", "--fork"])
            .arg(template.get_program())
            .args(["health", "--execute"])
            .env_clear()
            .envs(template.get_envs().filter_map(|(k, v)| Some((k, v?))))
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        c.spawn().unwrap()
    };
    let (one, two) = (start(), start());
    let (one, two) = (
        one.wait_with_output().unwrap(),
        two.wait_with_output().unwrap(),
    );
    let said = format!(
        "{}\n{}",
        String::from_utf8_lossy(&one.stderr),
        String::from_utf8_lossy(&two.stderr)
    );
    assert!(
        one.status.code().is_some() && two.status.code().is_some(),
        "{said}"
    );
    let journals = a.store.list("log/").await.unwrap();
    assert_eq!(journals.len(), 2, "{journals:?}\n{said}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_killed_run_leaves_its_journal_parts_and_explain_reads_them() {
    let s = sim(60, 91).await;
    s.sim().faults.set(vec!["latency=60ms".parse().unwrap()]);
    let a = local_archive();
    let mut child = spawn_run_with(&s, &a, "15", &[("JOURNAL_FLUSH_SECONDS", "0.5")]);
    // Kill it once it has archived a few entries and a part or two was written.
    for _ in 0..200 {
        let tagged = s.sim().counters().get("media.update").copied().unwrap_or(0);
        if tagged >= 3 && a.store.list("log/").await.unwrap().len() >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let parts = a.store.list("log/").await.unwrap();
    assert!(parts.len() >= 2, "journal parts: {parts:?}");
    let mut text = String::new();
    for p in &parts {
        text.push_str(&String::from_utf8_lossy(
            &archiver::store::read_all(a.store.as_ref(), p)
                .await
                .unwrap(),
        ));
    }
    let done: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("\"event\":\"outcome\"") && l.contains("\"outcome\":\"done\""))
        .collect();
    assert!(!done.is_empty(), "no outcome survived the kill:\n{text}");
    // explain shows the lines of every part.
    let entry: serde_json::Value = serde_json::from_str(done[0]).unwrap();
    let id = entry["entry"].as_str().unwrap();
    s.sim().faults.set(vec![]);
    let out = cli(&s, &a, &["explain", id], &[]).await;
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(shown.contains("\"event\":\"outcome\""), "{shown}");
}

#[tokio::test(flavor = "multi_thread")]
async fn identical_tasks_with_a_shard_count_each_claim_a_shard_and_do_the_work_once() {
    let s = sim(80, 93).await;
    s.sim().faults.set(vec!["latency=30ms".parse().unwrap()]);
    let a = local_archive();
    let policy = policy_set(&s);
    let args = ["run", "archive", "--execute"];
    let env = [("SHARD_COUNT", "2")];
    let (one, two) = tokio::join!(cli(&s, &a, &args, &env), cli(&s, &a, &args, &env));
    let mut shards = Vec::new();
    let mut done = 0;
    for o in [&one, &two] {
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(0), "{stderr}");
        assert!(
            !stderr.contains("nothing to do"),
            "both tasks work: {stderr}"
        );
        shards.push(summary_line(&stderr)["shard"].clone());
        done += String::from_utf8_lossy(&o.stdout)
            .lines()
            .filter(|l| l.split('\t').nth(2) == Some("done"))
            .count();
    }
    assert_ne!(shards[0], shards[1], "{shards:?}");
    // Each policy entry archived and replaced exactly once, by one of the two.
    assert_eq!(done, 2 * policy.len());
    // A later task claims a free shard and finds nothing left to archive.
    let (code, stderr) = run_archive(&s, &a, &env).await;
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stderr.contains("\"to_archive\":0"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread")]
async fn of_a_sharded_health_run_only_shard_0_writes_the_report_page() {
    let s = sim(20, 97).await;
    let a = local_archive();
    // Shard 1 leaves the page to shard 0; shard 0 writes the latest and a dated copy.
    for (shard, reports, says) in [
        ("1/2", 0, "report: written by shard 0 of 2"),
        ("0/2", 2, ""),
    ] {
        let out = cli(
            &s,
            &a,
            &["run", "health", "--execute", "--shard", shard],
            &[],
        )
        .await;
        let said = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{said}");
        assert!(said.contains(says), "{said}");
        assert_eq!(
            a.store.list("reports/").await.unwrap().len(),
            reports,
            "{said}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn on_s3_a_run_that_cannot_reach_its_bucket_exits_5_with_a_summary_and_the_next_run_proceeds()
{
    let Some(ep) = moto() else { return };
    let s = sim(30, 95).await;
    let a = s3_archive(&ep, "exit5", "GLACIER").await;
    let (code, stderr) = run_archive(&s, &a, &[("AWS_BUCKET", "no-such-bucket-exit5")]).await;
    assert_eq!(code, Some(5), "{stderr}");
    let summary = summary_line(&stderr);
    assert_eq!(summary["exit"], 5, "{summary}");
    assert!(
        summary["error"]
            .as_str()
            .is_some_and(|e| e.contains("no-such-bucket-exit5")),
        "{summary}"
    );
    let (code, stderr) = run_archive(&s, &a, &[]).await;
    assert_eq!(code, Some(0), "{stderr}");
    assert!(!stderr.contains("holds the lock"), "{stderr}");
    assert_eq!(summary_line(&stderr)["exit"], 0);
}
