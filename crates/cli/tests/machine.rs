//! For machines and for people acting on errors: every `--format json` output parses and has its
//! fields with their types; per-entry rows carry typed facts; `LOG_FORMAT=json` makes every
//! stderr line a JSON object; a bad placeholder, a missing archive directory and a bad
//! `LOG_FORMAT` are one-line errors with exit 2, even with Kaltura out of reach; so are clap's
//! own, naming the environment variable a bad value came from.

mod common;

use common::*;
use serde_json::Value;

fn json_of(out: &std::process::Output) -> Value {
    assert!(
        out.status.success(),
        "exit {:?}: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)))
}

/// Asserts that `v` has each field with the JSON type named (`"null"` allowed where listed).
fn has(v: &Value, fields: &[(&str, &[&str])]) {
    for (name, types) in fields {
        let f = &v[*name];
        let t = match f {
            Value::Null => "null",
            Value::Bool(_) => "bool",
            Value::Number(n) if n.is_u64() || n.is_i64() => "int",
            Value::Number(_) => "number",
            Value::String(_) => "string",
            Value::Array(_) => "array",
            Value::Object(_) => "object",
        };
        let ok = types.contains(&t) || (t == "int" && types.contains(&"number"));
        assert!(ok, "{name}: {t} is not one of {types:?} in {v}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn every_json_output_parses_and_its_fields_have_their_types() {
    let s = sim(40, 71).await;
    let a = local_archive();
    let v = json_of(&cli(&s, &a, &["count", "--format", "json"], &[]).await);
    has(&v, &[("count", &["int"])]);
    let count = v["count"].as_u64().unwrap() as usize;
    let v = json_of(&cli(&s, &a, &["check", "--format", "json"], &[]).await);
    has(&v["kaltura"], &[("ok", &["bool"]), ("partner", &["int"])]);
    has(
        &v["archive"],
        &[("writable", &["bool"]), ("store", &["string"])],
    );
    has(
        &v["placeholder"],
        &[("bytes", &["int"]), ("source", &["string"])],
    );
    let v = json_of(&cli(&s, &a, &["list", "--format", "json"], &[]).await);
    let rows = v.as_array().unwrap();
    assert_eq!(rows.len(), count);
    for r in rows {
        has(r, &[("plays", &["int"]), ("archived", &["bool"])]);
        assert_ne!(
            r["last_played"], "never",
            "never-played is null, not a word"
        );
    }
    assert!(rows.iter().any(|r| r["last_played"].is_null()));
    let v = json_of(&cli(&s, &a, &["stats", "--format", "json"], &[]).await);
    assert!(v.is_object());

    let id = policy_set(&s).into_iter().min().unwrap();
    let out = cli(
        &s,
        &a,
        &["archive", "--execute", "--id", &id, "--format", "json"],
        &[],
    )
    .await;
    let rows = json_of(&out);
    let r = &rows.as_array().unwrap()[0];
    assert_eq!(r["outcome"], "done", "{r}");
    assert_eq!(r["command"], "archive");
    has(
        r,
        &[
            ("entry_id", &["string"]),
            ("seconds", &["number"]),
            ("key", &["string"]),
            ("bytes", &["int"]),
            ("flavor_id", &["string"]),
            ("flavor_version", &["int"]),
            ("storage_class", &["string"]),
            ("error_kind", &["null"]),
        ],
    );
    assert_eq!(r["key"], id.as_str());
    let v = json_of(&cli(&s, &a, &["explain", &id, "--format", "json"], &[]).await);
    has(
        &v,
        &[
            ("entry_id", &["string"]),
            ("state", &["string"]),
            ("copies", &["array"]),
            ("next", &["string"]),
            ("exempt", &["null", "string"]),
            ("notice", &["null"]),
            ("last_played_at", &["null", "int"]),
            ("journal", &["array"]),
        ],
    );
    assert_eq!(v["state"], "archived");
    has(
        &v["copies"][0],
        &[
            ("key", &["string"]),
            ("good", &["bool"]),
            ("bytes", &["int"]),
        ],
    );
    let v = json_of(&cli(&s, &a, &["verify", "--format", "json"], &[]).await);
    assert!(
        v.as_array()
            .unwrap()
            .iter()
            .any(|r| r["status"].as_str().is_some_and(|s| s.starts_with("good"))),
        "{v}"
    );
    let v = json_of(&cli(&s, &a, &["catalog", "--format", "json"], &[]).await);
    has(
        &v[0],
        &[
            ("entry_id", &["string"]),
            ("bytes", &["int"]),
            ("thumbnail", &["bool"]),
        ],
    );

    // A failed entry says what kind of error failed it: every download of an original fails.
    let r = reqwest::Client::new()
        .post(format!("{}/sim/faults", s.base_url()))
        .json(&serde_json::json!({"rules": ["serveflavor:http5xx=1"]}))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    let other = policy_set(&s)
        .into_iter()
        .filter(|i| *i != id)
        .min()
        .unwrap();
    let quick = [("KALTURA_MAX_RETRY_SECONDS", "1")];
    let out = cli(
        &s,
        &a,
        &["archive", "--execute", "--id", &other, "--format", "json"],
        &quick,
    )
    .await;
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows: Value = serde_json::from_slice(&out.stdout).unwrap();
    let r = &rows[0];
    assert_eq!(r["outcome"], "failed", "{r}");
    assert_eq!(r["error_kind"], "kaltura", "{r}");
    assert_eq!(r["key"], Value::Null, "no copy was written: {r}");
}

#[tokio::test(flavor = "multi_thread")]
async fn with_log_format_json_every_stderr_line_is_a_json_object() {
    let s = sim(30, 73).await;
    let a = local_archive();
    let json_logs = [("LOG_FORMAT", "json"), ("DOIT", "true")];
    let out = cli(
        &s,
        &a,
        &["-v", "run", "archive", "--max-entries", "3"],
        &json_logs,
    )
    .await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = stderr.lines().collect();
    assert!(lines.len() >= 3, "{stderr}");
    for l in &lines {
        let v: Value = serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"));
        has(&v, &[("level", &["string"]), ("timestamp", &["string"])]);
    }
    assert!(
        lines.iter().any(|l| l.contains("\"kind\":\"summary\"")),
        "{stderr}"
    );
    // A fatal error is a JSON line too, with its exit code.
    let dead = [
        ("LOG_FORMAT", "json"),
        ("KALTURA_SERVICE_URL", "http://127.0.0.1:9"),
        ("KALTURA_MAX_RETRY_SECONDS", "1"),
    ];
    let out = cli(&s, &a, &["count"], &dead).await;
    assert_eq!(out.status.code(), Some(3));
    for l in String::from_utf8_lossy(&out.stderr).lines() {
        let v: Value = serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"));
        if v["level"] == "ERROR" {
            assert_eq!(v["exit_code"], 3, "{v}");
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_settings_are_one_line_errors_with_exit_2_before_any_network_call() {
    let s = sim(10, 79).await;
    let a = local_archive();
    let dir = tempfile::tempdir().unwrap();
    let slide = dir.path().join("slide.jpg");
    std::fs::write(
        &slide,
        [0xFF, 0xD8, 0xFF, 0xE0, 0, 16, b'J', b'F', b'I', b'F', 0, 1],
    )
    .unwrap();
    let slide_s = slide.display().to_string();
    let missing = dir.path().join("no-such-dir").display().to_string();
    let dead = ("KALTURA_SERVICE_URL", "http://127.0.0.1:9");
    type Case<'a> = (Vec<&'a str>, Vec<(&'a str, &'a str)>, &'a str);
    let cases: Vec<Case> = vec![
        (
            vec!["archive"],
            vec![("PLACEHOLDER_VIDEO", &slide_s), dead],
            "is not a video",
        ),
        (
            vec!["check"],
            vec![("PLACEHOLDER_VIDEO", &slide_s), dead],
            "is not a video",
        ),
        (
            vec!["check"],
            vec![("ARCHIVE_DIR", &missing)],
            "does not exist",
        ),
        (
            vec!["count"],
            vec![("LOG_FORMAT", "xml"), dead],
            "LOG_FORMAT",
        ),
        (
            vec!["catalog", "--created-from", "2019-13-01"],
            vec![],
            "is not a date",
        ),
        (
            vec!["archive"],
            vec![("SIDECAR_STORAGE_CLASS", "GLACIER"), dead],
            "needs a thaw",
        ),
        (
            vec!["archive"],
            vec![("NOTICE_DAYS", "7"), dead],
            "NOTICE_FROM",
        ),
        // clap's own errors: one line, naming the variable when the value came from it.
        (
            vec!["archive"],
            vec![("DOIT", "maybe"), dead],
            "DOIT (from the environment): invalid value 'maybe' for '--execute': value was not a boolean; use true or false",
        ),
        (
            vec!["archive"],
            vec![("JOBS", "500"), dead],
            "JOBS (from the environment): invalid value '500' for '--jobs <JOBS>'",
        ),
        (
            vec!["archive", "--jobs", "0"],
            vec![dead],
            "invalid value '0' for '--jobs <JOBS>': 0 is not in 1..=64 (see --help)",
        ),
        (
            vec!["list", "--format", "xml"],
            vec![dead],
            "use one of: tsv, csv, json",
        ),
        (
            vec!["archive", "--bukket", "b"],
            vec![dead],
            "did you mean --bucket?",
        ),
        (
            vec!["report", "--kaltura-price=-1"],
            vec![dead],
            "--kaltura-price (KALTURA_PRICE) must be a non-negative number",
        ),
    ];
    for (args, env, says) in cases {
        let out = cli(&s, &a, &args, &env).await;
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?} {env:?}: {err}");
        assert!(err.contains(says), "{args:?}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn completions_man_page_and_help_come_from_the_same_definitions() {
    let s = sim(5, 83).await;
    let a = local_archive();
    for shell in ["bash", "zsh", "fish"] {
        let out = cli(&s, &a, &["completions", shell], &[]).await;
        assert!(out.status.success(), "{shell}");
        let script = String::from_utf8_lossy(&out.stdout);
        assert!(
            script.contains("catalog") && script.contains("notice-days"),
            "{shell}"
        );
    }
    let out = cli(&s, &a, &["man"], &[]).await;
    let man = String::from_utf8_lossy(&out.stdout);
    assert!(
        man.contains(".TH kaltura-archiver 1") && man.contains("catalog"),
        "{man}"
    );
    let out = cli(&s, &a, &["archive", "--help"], &[]).await;
    let help = String::from_utf8_lossy(&out.stdout);
    let headings: Vec<&str> = help
        .lines()
        .filter(|l| l.ends_with(':') && !l.starts_with(' '))
        .collect();
    for h in [
        "Selection:",
        "Archive store:",
        "Run:",
        "Exemptions:",
        "Owner notices:",
        "Kaltura:",
    ] {
        assert!(headings.contains(&h), "{h} in {headings:?}");
    }
}

/// Runs the binary under a pseudo-terminal (`script`), returning when the first row and the
/// first progress line appeared and when the command ended (seconds from its start).
fn under_a_terminal(
    s: &kaltura_sim::SimServer,
    a: &Archive,
    args: &str,
    extra: &[(&str, &str)],
) -> (Option<f64>, Option<f64>, f64, String) {
    use std::io::Read;
    let bin = env!("CARGO_BIN_EXE_kaltura-archiver");
    let mut child = std::process::Command::new("script")
        .args([
            "-q",
            "-e",
            "-f",
            "-c",
            &format!("{bin} {args}"),
            "/dev/null",
        ])
        .env_clear()
        .env("KALTURA_PARTNERID", PARTNER.to_string())
        .env("KALTURA_SECRET", SECRET)
        .env("KALTURA_SERVICE_URL", s.base_url())
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("TERM", "xterm")
        .env("COLUMNS", "160")
        .envs(a.env.iter().cloned())
        .envs(extra.iter().copied())
        .stdout(std::process::Stdio::piped())
        .stdin(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    let mut out = child.stdout.take().unwrap();
    let (mut row_at, mut bar_at, mut seen) = (None, None, String::new());
    let mut buf = [0u8; 4096];
    loop {
        let n = out.read(&mut buf).unwrap_or(0);
        if n == 0 {
            break;
        }
        seen.push_str(&String::from_utf8_lossy(&buf[..n]));
        let t = started.elapsed().as_secs_f64();
        if row_at.is_none() && seen.contains("\tdone\t") {
            row_at = Some(t);
        }
        if bar_at.is_none() && seen.contains(" entries, ") && seen.contains("ETA") {
            bar_at = Some(t);
        }
    }
    child.wait().unwrap();
    (row_at, bar_at, started.elapsed().as_secs_f64(), seen)
}

#[tokio::test(flavor = "multi_thread")]
async fn on_a_terminal_progress_and_rows_show_while_the_command_runs_and_never_when_redirected() {
    let s = sim(40, 89).await;
    let a = local_archive();
    // Slow downloads (1 Mbit/s, originals of 20-600 kB), one at a time: the run takes seconds.
    let r = reqwest::Client::new()
        .post(format!("{}/sim/settings", s.base_url()))
        .json(&serde_json::json!({"downloadMbps": 1.0}))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    let (s2, a2) = (&s, &a);
    let (row_at, bar_at, ended, seen) = tokio::task::block_in_place(|| {
        under_a_terminal(s2, a2, "archive --execute --max-entries 6 --jobs 1", &[])
    });
    assert!(
        ended > 2.0,
        "the run was too quick to watch ({ended:.1} s): {seen}"
    );
    let row_at = row_at.unwrap_or_else(|| panic!("no row: {seen}"));
    let bar_at = bar_at.unwrap_or_else(|| panic!("no progress: {seen}"));
    assert!(
        row_at < ended - 1.0,
        "the first row came at {row_at:.1} s of {ended:.1} s"
    );
    assert!(
        bar_at < ended - 1.0,
        "progress came at {bar_at:.1} s of {ended:.1} s"
    );
    // A Kaltura that does not answer: each retry is said, with its wait and count.
    let (_, _, _, seen) = tokio::task::block_in_place(|| {
        under_a_terminal(
            s2,
            a2,
            "count",
            &[
                ("KALTURA_SERVICE_URL", "http://127.0.0.1:9"),
                ("KALTURA_MAX_RETRY_SECONDS", "2"),
            ],
        )
    });
    assert!(
        seen.contains("Kaltura did not answer") && seen.contains("retrying in"),
        "{seen}"
    );
    assert!(seen.contains(" of 8"), "{seen}");
    // Redirected: the rows, and not a trace of a bar.
    let out = cli(
        &s,
        &a,
        &["archive", "--execute", "--max-entries", "2", "--jobs", "1"],
        &[],
    )
    .await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        !stderr.contains("ETA") && !stderr.contains('\r'),
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unknown_category_is_an_error_not_an_empty_selection() {
    let s = sim(30, 97).await;
    let a = local_archive();
    for args in [
        vec!["count", "--category", "Courses>PHY999"],
        vec!["list", "--category", "Courses>PHY101,Courses>Nope"],
        vec!["run", "archive", "--category", "courses>phy101"],
        vec!["archive", "--category", "424242"],
    ] {
        let out = cli(&s, &a, &args, &[]).await;
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(
            err.contains("no category") && err.contains("--category"),
            "{args:?}: {err}"
        );
    }
    let out = cli(&s, &a, &["count", "--category", "Courses>PHY101"], &[]).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = cli(&s, &a, &["count", "--category", "101"], &[]).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_kaltura_behind_a_private_ca_is_named_as_a_tls_failure_and_reached_with_its_bundle() {
    let python = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../target/moto-venv/bin/python");
    if !python.exists() {
        assert_ne!(
            std::env::var("CI").as_deref(),
            Ok("true"),
            "tools/start-moto.sh makes the venv"
        );
        eprintln!("skipped: no venv with cryptography (run tools/start-moto.sh once)");
        return;
    }
    let s = sim(20, 101).await;
    let a = local_archive();
    let sim_port = s.base_url().rsplit(':').next().unwrap().to_string();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("private-ca.pem");
    let script =
        std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tools/tls_front.py");
    let mut front = std::process::Command::new(&python)
        .arg(script)
        .args([
            "--port",
            &port.to_string(),
            "--backend-port",
            &sim_port,
            "--ca-out",
        ])
        .arg(&ca)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(front.stdout.take().unwrap()),
        &mut line,
    )
    .unwrap();
    assert_eq!(line.trim(), "ready");
    let url = format!("https://localhost:{port}");
    let quick = ("KALTURA_MAX_RETRY_SECONDS", "1");
    let out = cli(&s, &a, &["count"], &[("KALTURA_SERVICE_URL", &url), quick]).await;
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    let ca_s = ca.display().to_string();
    let with_ca = [
        ("KALTURA_SERVICE_URL", url.as_str()),
        ("KALTURA_CA_BUNDLE", ca_s.as_str()),
        quick,
    ];
    let good = cli(&s, &a, &["count"], &with_ca).await;
    let bad_bundle = cli(
        &s,
        &a,
        &["count"],
        &[
            ("KALTURA_SERVICE_URL", &url),
            ("KALTURA_CA_BUNDLE", "/etc/hostname"),
        ],
    )
    .await;
    let _ = front.kill();
    let _ = front.wait();
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(
        err.contains(&format!("TLS with localhost:{port} failed"))
            && err.contains("KALTURA_CA_BUNDLE")
            && !err.contains("connection refused"),
        "{err}"
    );
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(
        good.status.success(),
        "{}",
        String::from_utf8_lossy(&good.stderr)
    );
    let direct = cli(&s, &a, &["count"], &[]).await;
    assert_eq!(
        good.stdout, direct.stdout,
        "the same count through the TLS front"
    );
    assert_eq!(bad_bundle.status.code(), Some(2));
}
