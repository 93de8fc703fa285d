//! Owner notices, end to end through the binary against a real SMTP server (aiosmtpd, started by
//! each test) and SES on moto: one notice per owner per run with exactly their recordings;
//! nothing archived before the notice period has passed on Kaltura's clock, nor what the owner
//! played meanwhile; a dead mail server archives nothing and the next run recovers; a refused
//! address keeps its owner's recordings; the restore notice arrives; a second run sends nothing
//! new. Checked by the mails received, Kaltura's tags and the bytes in the store.

mod common;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;
use std::process::{Child, Stdio};

use base64::Engine;
use common::*;
use kaltura::{EntryId, MediaEntry};
use kaltura_sim::SimServer;

/// The Python of the venv that tools/start-moto.sh makes (aiosmtpd and moto), or `None` (skip)
/// outside CI.
fn smtp_python() -> Option<PathBuf> {
    let python =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/moto-venv/bin/python");
    let ok = std::process::Command::new(&python)
        .args(["-c", "import aiosmtpd"])
        .output()
        .is_ok_and(|o| o.status.success());
    match ok {
        true => Some(python),
        false if std::env::var("CI").as_deref() == Ok("true") => {
            panic!("aiosmtpd is not installed under CI=true: .ci/run must run tools/start-moto.sh")
        }
        false => {
            eprintln!("skipped: aiosmtpd is not installed (run tools/start-moto.sh once)");
            None
        }
    }
}

/// A real SMTP server on 127.0.0.1 that keeps what it receives; refuses `refuse*@` addresses.
struct Smtp {
    child: Child,
    port: u16,
    mailbox: PathBuf,
    _dir: tempfile::TempDir,
}

impl Smtp {
    fn start(python: &PathBuf, port: u16) -> Smtp {
        let dir = tempfile::tempdir().unwrap();
        let mailbox = dir.path().join("mailbox.jsonl");
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tools/smtp_sink.py");
        let mut child = std::process::Command::new(python)
            .arg(script)
            .args(["--port", &port.to_string(), "--mailbox"])
            .arg(&mailbox)
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        std::io::BufRead::read_line(
            &mut std::io::BufReader::new(child.stdout.take().unwrap()),
            &mut line,
        )
        .unwrap();
        assert_eq!(line.trim(), "ready", "the SMTP server did not start");
        Smtp {
            child,
            port,
            mailbox,
            _dir: dir,
        }
    }

    fn mails(&self) -> Vec<Mail> {
        std::fs::read_to_string(&self.mailbox)
            .unwrap_or_default()
            .lines()
            .map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).unwrap();
                let to = v["to"].as_array().unwrap()[0].as_str().unwrap().to_string();
                Mail::parse(to, v["data"].as_str().unwrap())
            })
            .collect()
    }
}

impl Drop for Smtp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A moto server started by one test, stopped when dropped.
struct OwnMoto {
    child: Child,
    endpoint: String,
}

impl OwnMoto {
    fn start(python: &std::path::Path) -> OwnMoto {
        let port = free_port();
        let child = std::process::Command::new(python.with_file_name("moto_server"))
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let endpoint = format!("http://127.0.0.1:{port}");
        for _ in 0..150 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return OwnMoto { child, endpoint };
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        let mut moto = OwnMoto { child, endpoint };
        let _ = moto.child.kill();
        let _ = moto.child.wait();
        panic!("moto did not start on {}", moto.endpoint);
    }
}

impl Drop for OwnMoto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A received notice, its parts decoded.
#[derive(Debug)]
struct Mail {
    to: String,
    subject: String,
    text: String,
    html: String,
}

impl Mail {
    fn parse(to: String, raw: &str) -> Mail {
        let raw = raw.replace("\r\n", "\n");
        let subject = raw
            .lines()
            .find_map(|l| l.strip_prefix("Subject: "))
            .unwrap_or_default()
            .to_string();
        let part = |kind: &str| -> String {
            let at = raw.find(&format!("Content-Type: {kind}")).expect(kind);
            let body = &raw[at..];
            let body = &body[body.find("\n\n").unwrap() + 2..];
            let body: String = body.lines().take_while(|l| !l.starts_with("--")).collect();
            String::from_utf8(
                base64::engine::general_purpose::STANDARD
                    .decode(body.trim())
                    .unwrap(),
            )
            .unwrap()
        };
        Mail {
            to,
            subject,
            text: part("text/plain"),
            html: part("text/html"),
        }
    }

    /// The entry ids of `among` that the notice names, in text and in HTML alike.
    fn names(&self, among: &BTreeSet<String>) -> BTreeSet<String> {
        let in_text: BTreeSet<String> = among
            .iter()
            .filter(|id| self.text.contains(id.as_str()))
            .cloned()
            .collect();
        let in_html: BTreeSet<String> = among
            .iter()
            .filter(|id| self.html.contains(id.as_str()))
            .cloned()
            .collect();
        assert_eq!(
            in_text, in_html,
            "the text and HTML parts list the same recordings"
        );
        in_text
    }
}

async fn set_owner_email(s: &SimServer, user: &str, email: Option<&str>) {
    let r = reqwest::Client::new()
        .post(format!("{}/sim/owner", s.base_url()))
        .json(&serde_json::json!({"userId": user, "email": email}))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.text().await.unwrap());
}

async fn advance_days(s: &SimServer, days: f64) {
    let r = reqwest::Client::new()
        .post(format!("{}/sim/clock/advance", s.base_url()))
        .json(&serde_json::json!({"seconds": days * 86_400.0}))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
}

/// Owners' addresses as Kaltura has them (user.list), for the entries given.
async fn addresses(s: &SimServer, info: &HashMap<String, MediaEntry>) -> HashMap<String, String> {
    let mut owners: Vec<String> = info.values().map(|e| e.user_id.clone()).collect();
    owners.sort();
    owners.dedup();
    client(s)
        .users_by_id(&owners)
        .await
        .unwrap()
        .into_iter()
        .filter_map(|u| Some((u.id.clone(), u.address()?.to_string())))
        .collect()
}

fn notice_env<'a>(from: &'a str, port: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("NOTICE_DAYS", "14"),
        ("NOTICE_FROM", from),
        ("SMTP_HOST", "127.0.0.1"),
        ("SMTP_PORT", port),
        ("SMTP_SECURITY", "none"),
    ]
}

async fn run(
    s: &SimServer,
    a: &Archive,
    args: &[&str],
    env: &[(&str, &str)],
) -> (
    Option<i32>,
    BTreeMap<String, (String, String, String)>,
    String,
) {
    let out = cli(s, a, args, env).await;
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    (
        out.status.code(),
        parse_report(&String::from_utf8_lossy(&out.stdout)),
        stderr,
    )
}

fn notice_tags(e: &MediaEntry) -> Vec<String> {
    e.tag_list()
        .into_iter()
        .filter(|t| t.starts_with("archive_notice_"))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn each_owner_hears_once_and_recordings_go_only_after_the_period_unless_played() {
    let Some(python) = smtp_python() else { return };
    let smtp = Smtp::start(&python, free_port());
    let s = sim(60, 17).await;
    let a = local_archive();
    let policy: BTreeSet<String> = policy_set(&s).into_iter().collect();
    let info = entries(&s, &policy).await;
    // One owner has no address in Kaltura: their recordings cannot be announced, so they stay.
    let silent_owner = info[policy.iter().next().unwrap()].user_id.clone();
    set_owner_email(&s, &silent_owner, None).await;
    let address = addresses(&s, &info).await;
    assert!(!address.contains_key(&silent_owner));
    // (The simulator also leaves about one owner in eight without an address, by seed.)
    let announced: BTreeSet<String> = policy
        .iter()
        .filter(|id| address.contains_key(&info[*id].user_id))
        .cloned()
        .collect();
    assert!(announced.len() >= 3 && announced.len() < policy.len());
    let port = smtp.port.to_string();
    let env = notice_env("Media Team <media@example.edu>", &port);
    let mut doit = env.clone();
    doit.push(("DOIT", "true"));

    // A dry run sends nothing, tags nothing, and lists what it would send.
    let before = sim_state(&s).await;
    let (code, rows, _) = run(&s, &a, &["run", "archive"], &env).await;
    assert_eq!(code, Some(0));
    assert!(smtp.mails().is_empty(), "a dry run sent mail");
    assert_eq!(sim_state(&s).await, before, "a dry run changed Kaltura");
    for id in &announced {
        let (_, outcome, detail) = &rows[id];
        assert_eq!(outcome, "planned", "{id}: {detail}");
        assert!(
            detail.contains("would tell") && detail.contains(&address[&info[id].user_id]),
            "{detail}"
        );
    }

    // The first run tells every owner once, with exactly their recordings, and archives nothing.
    let (code, rows, stderr) = run(&s, &a, &["run", "archive"], &doit).await;
    assert_eq!(code, Some(0), "{stderr}");
    let mails = smtp.mails();
    let mut expected: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for id in &announced {
        expected
            .entry(address[&info[id].user_id].clone())
            .or_default()
            .insert(id.clone());
    }
    let mut got: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for m in &mails {
        assert!(
            got.insert(m.to.clone(), m.names(&policy)).is_none(),
            "two notices to {}",
            m.to
        );
        assert!(m.subject.contains("will be archived on"), "{}", m.subject);
        assert!(
            m.text.contains("archive_exempt"),
            "the notice says how to keep one"
        );
    }
    assert_eq!(
        got, expected,
        "one notice per owner, naming exactly their recordings"
    );
    assert!(
        archived(&a).await.is_empty(),
        "archived before the notice period"
    );
    let tagged = entries(&s, &policy).await;
    for id in &policy {
        let tags = notice_tags(&tagged[id]);
        if announced.contains(id) {
            assert_eq!(tags.len(), 1, "{id}: {tags:?}");
            assert_eq!(rows[id].1, "waiting", "{id}: {:?}", rows[id]);
        } else {
            assert!(tags.is_empty(), "{id} was tagged without a notice");
            assert_eq!(rows[id].1, "skipped");
            assert!(rows[id].2.contains("no e-mail address"), "{:?}", rows[id]);
        }
    }
    // explain shows where an entry stands with its notice.
    let first = announced.iter().next().unwrap();
    let out = cli(&s, &a, &["explain", first], &[("NOTICE_DAYS", "14")]).await;
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("notice      owner told on"), "{text}");
    assert!(text.contains("archived on or after"), "{text}");

    // A second run sends nothing new and archives nothing.
    let (code, _, _) = run(&s, &a, &["run", "archive"], &doit).await;
    assert_eq!(code, Some(0));
    assert_eq!(
        smtp.mails().len(),
        mails.len(),
        "a second run sent notices again"
    );
    assert!(archived(&a).await.is_empty());

    // The owner plays one meanwhile; 14 days later (Kaltura's clock) nothing is archived yet: a
    // notice sent late on its day has not had 14 full days.
    let played = announced.iter().nth(1).unwrap().clone();
    play(&s, &played).await;
    advance_days(&s, 14.0).await;
    let (code, _, stderr) = run(&s, &a, &["run", "archive"], &doit).await;
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        archived(&a).await.is_empty(),
        "archived before 14 full days"
    );

    // One more day: everything announced and still unplayed is archived and replaced, the
    // bytes in the store being Kaltura's originals; the played recording stays.
    advance_days(&s, 1.0).await;
    let expect: BTreeSet<String> = announced
        .iter()
        .filter(|id| **id != played)
        .cloned()
        .collect();
    let c = client(&s);
    let ids: Vec<EntryId> = expect.iter().map(|i| EntryId(i.clone())).collect();
    let originals = originals(&c, &ids).await;
    let mut sums = HashMap::new();
    for (id, f) in &originals {
        sums.insert(id.0.clone(), checksum_of(&c, f).await);
    }
    let mails_before = smtp.mails().len();
    let (code, rows, stderr) = run(&s, &a, &["run", "archive"], &doit).await;
    assert_eq!(code, Some(0), "{stderr}");
    let now_archived = archived(&a).await;
    assert_eq!(
        now_archived
            .intersection(&policy)
            .cloned()
            .collect::<BTreeSet<_>>(),
        expect,
        "archived = announced minus played"
    );
    for id in &expect {
        let (size, crc) = &sums[id];
        assert!(
            store_holds(a.store.as_ref(), id, *size, crc).await,
            "{id}: the copy is not Kaltura's bytes"
        );
    }
    assert!(!rows.contains_key(&played) || rows[&played].1 != "done");
    // New notices, if any, are for recordings that only now fell under the policy.
    for m in &smtp.mails()[mails_before..] {
        assert!(
            m.names(&announced).is_empty(),
            "an owner was told twice: {m:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_dead_mail_server_archives_nothing_the_next_run_recovers_and_a_refused_address_waits() {
    let Some(python) = smtp_python() else { return };
    let port = free_port();
    let s = sim(40, 23).await;
    let a = local_archive();
    let policy: BTreeSet<String> = policy_set(&s).into_iter().collect();
    let info = entries(&s, &policy).await;
    let port_s = port.to_string();
    let mut env = notice_env("media@example.edu", &port_s);
    env.push(("DOIT", "true"));

    // Nothing listens: every notice fails, nothing is tagged or archived, the run says so.
    let (code, rows, stderr) = run(&s, &a, &["run", "archive"], &env).await;
    assert_ne!(
        code,
        Some(0),
        "a run whose notices all failed exits non-zero"
    );
    let told: Vec<&String> = policy.iter().filter(|id| rows[*id].1 == "failed").collect();
    assert!(!told.is_empty(), "{stderr}");
    for id in &told {
        assert!(
            rows[*id].2.contains("mail service is unavailable"),
            "{:?}",
            rows[*id]
        );
    }
    let after = entries(&s, &policy).await;
    assert!(
        policy.iter().all(|id| notice_tags(&after[id]).is_empty()),
        "tagged without a notice"
    );
    assert!(archived(&a).await.is_empty());

    // The server is back, and one owner's address is refused: the others are told and tagged;
    // the refused owner's recordings are neither tagged nor archived.
    let refused_owner = info[told[0].as_str()].user_id.clone();
    set_owner_email(&s, &refused_owner, Some("refuse-me@example.edu")).await;
    let smtp = Smtp::start(&python, port);
    let (code, rows, _) = run(&s, &a, &["run", "archive"], &env).await;
    assert_ne!(code, Some(0), "a refused notice is a failure to see");
    let after = entries(&s, &policy).await;
    for id in &told {
        let refused = info[id.as_str()].user_id == refused_owner;
        let (_, outcome, detail) = &rows[*id];
        if refused {
            assert_eq!(outcome, "failed");
            assert!(detail.contains("refused"), "{detail}");
            assert!(notice_tags(&after[*id]).is_empty());
        } else {
            assert_eq!(outcome, "waiting", "{detail}");
            assert_eq!(notice_tags(&after[*id]).len(), 1);
        }
    }
    let recipients: BTreeSet<String> = smtp.mails().into_iter().map(|m| m.to).collect();
    assert!(!recipients.contains("refuse-me@example.edu"));
    assert!(!recipients.is_empty());
    assert!(archived(&a).await.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn the_owner_hears_when_a_restore_completes() {
    let Some(python) = smtp_python() else { return };
    let smtp = Smtp::start(&python, free_port());
    let s = sim(30, 29).await;
    let a = local_archive();
    let id = policy_set(&s).into_iter().next().unwrap();
    // Archived and replaced by hand (named by id: no notice), then played.
    for cmd in ["archive", "replace"] {
        let r = report(&s, &a, &[cmd, "--id", &id, "--execute"]).await;
        assert_eq!(r[&id].1, "done", "{cmd}: {:?}", r[&id]);
    }
    assert!(smtp.mails().is_empty());
    play(&s, &id).await;
    let owner = entries(&s, [&id]).await[&id].user_id.clone();
    set_owner_email(&s, &owner, Some("owner-back@example.edu")).await;
    let port = smtp.port.to_string();
    let mut env = notice_env("media@example.edu", &port);
    env.push(("DOIT", "true"));
    let mut restored = None;
    for _ in 0..5 {
        let (code, rows, stderr) = run(&s, &a, &["restore"], &env).await;
        assert_eq!(code, Some(0), "{stderr}");
        if rows.get(&id).is_some_and(|r| r.1 == "done") {
            restored = Some(rows[&id].2.clone());
            break;
        }
    }
    let detail = restored.expect("the restore did not complete");
    assert!(detail.contains("told it is back"), "{detail}");
    let mails = smtp.mails();
    assert_eq!(mails.len(), 1, "{mails:?}");
    assert_eq!(mails[0].to, "owner-back@example.edu");
    assert!(mails[0].subject.contains("back"), "{}", mails[0].subject);
    assert!(mails[0].names(&[id.clone()].into()).contains(&id));
}

#[tokio::test(flavor = "multi_thread")]
async fn notices_are_delivered_through_ses_on_moto() {
    // A moto server of its own: its state dump (where sent mail shows) then holds only SES.
    let Some(python) = smtp_python() else { return };
    let moto = OwnMoto::start(&python);
    let endpoint = moto.endpoint.clone();
    let s = sim(40, 31).await;
    let a = local_archive();
    let from = format!("media-{}@example.edu", std::process::id());
    // SES sends only from a verified identity (moto verifies at once).
    let r = reqwest::Client::new()
        .post(format!("{endpoint}/v2/email/identities"))
        .header(
            "Authorization",
            "AWS4-HMAC-SHA256 Credential=test/20261201/us-east-1/ses/aws4_request, SignedHeaders=host, Signature=0",
        )
        .json(&serde_json::json!({"EmailIdentity": from}))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.text().await.unwrap());
    let policy: BTreeSet<String> = policy_set(&s).into_iter().collect();
    let info = entries(&s, &policy).await;
    let address = addresses(&s, &info).await;
    let env = [
        ("NOTICE_DAYS", "7"),
        ("NOTICE_FROM", from.as_str()),
        ("MAIL_VIA", "ses"),
        ("AWS_ENDPOINT_URL", endpoint.as_str()),
        ("AWS_REGION", "us-east-1"),
        ("AWS_ACCESS_KEY_ID", "test"),
        ("AWS_SECRET_ACCESS_KEY", "test"),
        ("DOIT", "true"),
    ];
    let (code, rows, stderr) = run(&s, &a, &["run", "archive"], &env).await;
    assert_eq!(code, Some(0), "{stderr}");
    let data: serde_json::Value = reqwest::get(format!("{endpoint}/moto-api/data.json"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut got: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for m in data["ses"]["RawMessage"].as_array().unwrap() {
        if m["source"].as_str() != Some(from.as_str()) {
            continue;
        }
        let to = m["destinations"][0].as_str().unwrap().to_string();
        let mail = Mail::parse(to.clone(), m["raw_data"].as_str().unwrap());
        assert!(
            got.insert(to, mail.names(&policy)).is_none(),
            "two notices to one owner"
        );
    }
    let mut expected: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for id in &policy {
        if let Some(to) = address.get(&info[id].user_id) {
            expected.entry(to.clone()).or_default().insert(id.clone());
            assert_eq!(rows[id].1, "waiting", "{:?}", rows[id]);
        }
    }
    assert!(!expected.is_empty());
    assert_eq!(got, expected);
    assert!(archived(&a).await.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_crash_between_sending_and_recording_sends_the_notice_again_never_zero_times() {
    let Some(python) = smtp_python() else { return };
    let smtp = Smtp::start(&python, free_port());
    let s = sim(40, 37).await;
    let a = local_archive();
    let policy: BTreeSet<String> = policy_set(&s).into_iter().collect();
    let port = smtp.port.to_string();
    let mut env = notice_env("media@example.edu", &port);
    env.push(("DOIT", "true"));
    // `archive`, not `run archive`: a crashed scheduled run's lock holds off the next run until
    // its lease lapses, which is beside the point here.
    let mut crashing = env.clone();
    crashing.push(("KALTURA_ARCHIVER_FAILPOINT", "notice.after-send"));
    let out = cli(&s, &a, &["archive"], &crashing).await;
    assert!(!out.status.success(), "the run did not crash");
    let first = smtp.mails();
    assert!(!first.is_empty(), "the notices went out before the crash");
    let after = entries(&s, &policy).await;
    assert!(
        policy.iter().all(|id| notice_tags(&after[id]).is_empty()),
        "nothing was recorded before the crash"
    );
    assert!(archived(&a).await.is_empty());
    // The next run sends them again (twice, never zero times) and records them.
    let (code, _, stderr) = run(&s, &a, &["archive"], &env).await;
    assert_eq!(code, Some(0), "{stderr}");
    let all = smtp.mails();
    let again: BTreeSet<String> = all[first.len()..].iter().map(|m| m.to.clone()).collect();
    let before: BTreeSet<String> = first.iter().map(|m| m.to.clone()).collect();
    // The crash came while other owners' notices were still going out: those are told now.
    assert!(
        before.is_subset(&again),
        "every owner told before the crash is told again: {before:?} {again:?}"
    );
    let after = entries(&s, &policy).await;
    let told: Vec<&String> = policy
        .iter()
        .filter(|id| notice_tags(&after[*id]).len() == 1)
        .collect();
    assert!(!told.is_empty());
    // A third run sends nothing more.
    run(&s, &a, &["archive"], &env).await;
    assert_eq!(smtp.mails().len(), all.len());
    assert!(archived(&a).await.is_empty());
}
