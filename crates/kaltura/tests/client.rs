//! The client against the simulator over real HTTP: sessions, renewal, retries, errors.

use kaltura::{Client, EntryId, Error, MediaEntryFilter, RetryPolicy};
use kaltura_sim::{SimConfig, SimServer};
use std::time::Duration;

const SECRET: &str = "client-test-secret";

async fn sim(entries: usize, faults: &[&str]) -> SimServer {
    SimServer::start(SimConfig {
        partner_id: 77,
        admin_secret: SECRET.into(),
        entries,
        seed: 5,
        faults: faults.iter().map(|f| f.parse().unwrap()).collect(),
        ..SimConfig::default()
    })
    .await
    .unwrap()
}

fn fast_retries() -> RetryPolicy {
    RetryPolicy {
        base_delay: Duration::from_millis(2),
        max_delay: Duration::from_millis(20),
        throttle_delay: Duration::from_millis(20),
        ..RetryPolicy::default()
    }
}

fn client(url: &str, secret: &str) -> Client {
    Client::builder()
        .with_service_url(url)
        .with_partner_id(77)
        .with_secret(secret.to_string().into())
        .with_retry(fast_retries())
        .build()
        .unwrap()
}

#[tokio::test]
async fn lists_counts_and_gets_entries_with_their_original_flavors() {
    let s = sim(300, &[]).await;
    let c = client(&s.base_url(), SECRET);
    let f = MediaEntryFilter {
        order_by: Some("+createdAt".into()),
        ..Default::default()
    };
    let page = c.list_media(&f, 500, 1).await.unwrap();
    assert_eq!(page.total_count as u64, c.count_media(&f).await.unwrap());
    assert!(page
        .objects
        .windows(2)
        .all(|w| w[0].created_at <= w[1].created_at));
    let ids: Vec<EntryId> = page.objects.iter().map(|e| e.id.clone()).collect();
    let originals = c.flavors_of(&ids, true).await.unwrap();
    assert!(originals
        .iter()
        .all(|f| f.is_original && f.flavor_params_id == 0));
    assert!(originals.len() > ids.len() / 2);
    let all = c.flavors_of(&ids, false).await.unwrap();
    assert!(
        all.len() > 500,
        "more than one page of flavors is walked: {}",
        all.len()
    );
    let e = c.get_media(&ids[0]).await.unwrap();
    assert_eq!(e.id, ids[0]);
    let missing = c.get_media(&EntryId::from("0_nope1234")).await.unwrap_err();
    assert_eq!(missing.code(), Some("ENTRY_ID_NOT_FOUND"));
}

#[tokio::test]
async fn wrong_secret_is_a_final_start_session_error_without_the_secret_in_it() {
    let s = sim(1, &[]).await;
    let c = client(&s.base_url(), "not-the-secret-xyz");
    let e = c.login().await.unwrap_err();
    assert_eq!(e.code(), Some("START_SESSION_ERROR"));
    let text = format!("{e} {e:?} {c:?}");
    assert!(!text.contains("not-the-secret-xyz"), "{text}");
}

#[tokio::test]
async fn unreachable_service_is_a_transport_error_after_retries() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let c = client(&url, SECRET);
    let e = c.login().await.unwrap_err();
    assert!(matches!(e, Error::RetriesExhausted { .. }), "{e}");
    assert!(e.to_string().contains("could not reach"), "{e}");
}

#[tokio::test]
async fn transient_faults_and_throttling_are_retried_and_the_results_are_unchanged() {
    let clean = sim(400, &[]).await;
    let faulty = sim(
        400,
        &[
            "error=0.1",
            "http5xx=0.05",
            "drop=0.05",
            "lock=0.05",
            "rate=40",
            "ks_calls=7",
        ],
    )
    .await;
    let f = MediaEntryFilter {
        order_by: Some("+createdAt".into()),
        status_in: Some("2,7".into()),
        ..Default::default()
    };
    let mut lists = Vec::new();
    for s in [&clean, &faulty] {
        let c = client(&s.base_url(), SECRET);
        let mut ids = Vec::new();
        for page in 1..=8 {
            let r = c.list_media(&f, 50, page).await.unwrap();
            ids.extend(r.objects.into_iter().map(|e| e.id));
        }
        lists.push(ids);
    }
    assert_eq!(lists[0], lists[1]);
    let counters = faulty.sim().counters();
    assert!(
        counters["http.api"] > 9,
        "faults forced retries: {counters:?}"
    );
}

#[tokio::test]
async fn an_expired_session_is_renewed_once_transparently() {
    let s = sim(5, &[]).await;
    let c = client(&s.base_url(), SECRET);
    c.count_media(&MediaEntryFilter::default()).await.unwrap();
    for session in s.sim().world.lock().unwrap().sessions.values_mut() {
        session.revoked = Some("EXPIRED");
    }
    c.count_media(&MediaEntryFilter::default()).await.unwrap();
    assert_eq!(s.sim().counters()["session.start"], 2);
}

#[test]
fn settings_are_validated_before_any_call() {
    let e = Client::builder()
        .with_service_url("www.kaltura.com")
        .with_partner_id(1)
        .with_secret("s".to_string().into())
        .build()
        .unwrap_err();
    assert!(e.to_string().contains("must start with http"), "{e}");
    let e = Client::builder()
        .with_service_url("https://x/api_v3")
        .with_partner_id(1)
        .with_secret("s".to_string().into())
        .build()
        .unwrap_err();
    assert!(e.to_string().contains("/api_v3"), "{e}");
    let e = Client::builder()
        .with_secret("s".to_string().into())
        .build()
        .unwrap_err();
    assert!(e.to_string().contains("partner id"), "{e}");
}

#[tokio::test]
async fn gzip_compressed_answers_are_accepted() {
    let s = SimServer::start(SimConfig {
        partner_id: 77,
        admin_secret: SECRET.into(),
        entries: 20,
        gzip: true,
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let c = client(&s.base_url(), SECRET);
    let page = c
        .list_media(&MediaEntryFilter::default(), 500, 1)
        .await
        .unwrap();
    assert!(!page.objects.is_empty());
}

#[tokio::test]
async fn owners_are_looked_up_in_one_call_with_their_addresses_and_unknown_ids_are_left_out() {
    let s = sim(60, &[]).await;
    let c = client(&s.base_url(), SECRET);
    let page = c
        .list_media(&MediaEntryFilter::default(), 500, 1)
        .await
        .unwrap();
    let mut owners: Vec<String> = page.objects.iter().map(|e| e.user_id.clone()).collect();
    owners.sort();
    owners.dedup();
    // One owner loses the address, as an account made by an integration may.
    reqwest::Client::new()
        .post(format!("{}/sim/owner", s.base_url()))
        .json(&serde_json::json!({"userId": owners[0], "email": null}))
        .send()
        .await
        .unwrap();
    s.sim().reset_counters();
    let mut asked = owners.clone();
    asked.push("nobody_here".into());
    let users = c.users_by_id(&asked).await.unwrap();
    assert_eq!(s.sim().counters().get("user.list"), Some(&1));
    let mut found: Vec<String> = users.iter().map(|u| u.id.clone()).collect();
    found.sort();
    assert_eq!(found, owners, "the owners, not the unknown id");
    let first = users.iter().find(|u| u.id == owners[0]).unwrap();
    assert_eq!(first.address(), None);
    assert!(users.iter().filter(|u| u.address().is_some()).count() > owners.len() / 2);
}

#[tokio::test]
async fn the_server_clock_is_read_from_kaltura_and_follows_the_simulated_clock() {
    let s = sim(1, &[]).await;
    let c = client(&s.base_url(), SECRET);
    let before = c.server_time().await.unwrap();
    reqwest::Client::new()
        .post(format!("{}/sim/clock/advance", s.base_url()))
        .json(&serde_json::json!({"seconds": 10 * 86_400}))
        .send()
        .await
        .unwrap();
    let after = c.server_time().await.unwrap();
    let moved = after - before;
    assert!(
        (10 * 86_400..10 * 86_400 + 60).contains(&moved),
        "moved {moved} s"
    );
}
