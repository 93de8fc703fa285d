//! Injected faults: each kind does what it says, only where it is scoped, deterministically.

mod common;

use common::{config, error_code, ids, Sim};
use serde_json::json;

async fn entry_id(sim: &Sim) -> String {
    sim.state().await["entries"][0]["id"]
        .as_str()
        .unwrap()
        .to_string()
}

async fn set(sim: &Sim, rules: &[&str]) {
    sim.control("/sim/faults", json!({"rules": rules})).await;
}

#[tokio::test]
async fn http5xx_answers_503_without_a_kaltura_body_only_for_the_scoped_action() {
    let sim = Sim::start(config(3)).await;
    let id = entry_id(&sim).await;
    set(&sim, &["media.get:http5xx=1"]).await;
    let r = sim
        .http
        .post(format!("{}/api_v3/service/media/action/get", sim.base))
        .json(&json!({"format": 1, "ks": sim.ks, "entryId": id}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 503);
    assert!(!r.text().await.unwrap().contains("KalturaAPIException"));
    sim.ok("media", "list", json!({})).await;
}

#[tokio::test]
async fn drop_cuts_the_connection() {
    let sim = Sim::start(config(3)).await;
    set(&sim, &["media.list:drop=1"]).await;
    let r = sim
        .http
        .post(format!("{}/api_v3/service/media/action/list", sim.base))
        .json(&json!({"format": 1, "ks": sim.ks}))
        .send()
        .await;
    let failed = match r {
        Err(_) => true,
        Ok(resp) => resp.bytes().await.is_err(),
    };
    assert!(failed, "the client sees a broken response");
}

#[tokio::test]
async fn error_envelopes_are_internal_serverl_error_and_lock_timed_out() {
    let sim = Sim::start(config(3)).await;
    let id = entry_id(&sim).await;
    set(&sim, &["media.get:error=1"]).await;
    sim.fails(
        "media",
        "get",
        json!({"entryId": id}),
        "INTERNAL_SERVERL_ERROR",
    )
    .await;
    set(&sim, &["lock=1"]).await;
    sim.fails("media", "get", json!({"entryId": id}), "LOCK_TIMED_OUT")
        .await;
    sim.fails("media", "list", json!({}), "LOCK_TIMED_OUT")
        .await;
}

#[tokio::test]
async fn rate_limit_blocks_calls_above_the_rate_with_action_blocked() {
    let sim = Sim::start(config(3)).await;
    let id = entry_id(&sim).await;
    set(&sim, &["media.get:rate=3"]).await;
    let mut codes = Vec::new();
    for _ in 0..10 {
        let v = sim.call("media", "get", json!({"entryId": id})).await;
        codes.push(error_code(&v).map(str::to_string));
    }
    assert!(codes[0].is_none(), "the first call of a second passes");
    let blocked = codes
        .iter()
        .filter(|c| c.as_deref() == Some("ACTION_BLOCKED"))
        .count();
    assert!(blocked >= 3, "{codes:?}");
}

#[tokio::test]
async fn ks_expires_after_n_calls() {
    let sim = Sim::start(config(3)).await;
    set(&sim, &["ks_calls=3"]).await;
    let ks = sim.new_ks().await;
    for _ in 0..3 {
        sim.ok("media", "list", json!({"ks": ks})).await;
    }
    let e = sim
        .fails("media", "list", json!({"ks": ks}), "INVALID_KS")
        .await;
    assert_eq!(e["args"]["KSID"], "EXPIRED");
    let fresh = sim.new_ks().await;
    sim.ok("media", "list", json!({"ks": fresh})).await;
}

#[tokio::test]
async fn latency_delays_the_scoped_action() {
    let sim = Sim::start(config(3)).await;
    set(&sim, &["media.count:latency=300ms"]).await;
    let t = std::time::Instant::now();
    sim.ok("media", "count", json!({})).await;
    assert!(t.elapsed() >= std::time::Duration::from_millis(300));
}

#[tokio::test]
async fn index_lag_hides_fresh_writes_from_lists_until_it_passes() {
    let sim = Sim::start(config(3)).await;
    let id = entry_id(&sim).await;
    set(&sim, &["index_lag=5s"]).await;
    sim.ok("media", "update", json!({"entryId": id, "mediaEntry": {"objectType": "KalturaMediaEntry", "tags": "zzfresh"}})).await;
    let filter = json!({"objectType": "KalturaMediaEntryFilter", "tagsLike": "zzfresh"});
    assert_eq!(
        sim.list(filter.clone(), json!({})).await["totalCount"],
        0,
        "the index has not seen the write"
    );
    assert_eq!(
        sim.ok("media", "get", json!({"entryId": id})).await["tags"],
        "zzfresh",
        "get reads the database"
    );
    sim.control("/sim/clock/advance", json!({"seconds": 6}))
        .await;
    assert_eq!(ids(&sim.list(filter, json!({})).await), vec![id]);
}

#[tokio::test]
async fn fault_dice_are_deterministic_for_the_same_rules_and_calls() {
    let sim = Sim::start(config(3)).await;
    let id = entry_id(&sim).await;
    let mut runs = Vec::new();
    for _ in 0..2 {
        set(&sim, &["media.get:error=0.4"]).await;
        let mut outcome = Vec::new();
        for _ in 0..40 {
            outcome.push(
                error_code(&sim.call("media", "get", json!({"entryId": id})).await).is_some(),
            );
        }
        runs.push(outcome);
    }
    assert_eq!(runs[0], runs[1]);
    assert!(runs[0].iter().any(|x| *x) && runs[0].iter().any(|x| !*x));
}

#[tokio::test]
async fn downloads_can_fail_with_503_or_be_cut_off_midway() {
    let sim = Sim::start(config(5)).await;
    let state = sim.state().await;
    let f = state["entries"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|e| e["flavors"].as_array().unwrap().clone())
        .find(|f| f["status"] == 2)
        .unwrap();
    let url = sim
        .ok("flavorAsset", "getUrl", json!({"id": f["id"]}))
        .await
        .as_str()
        .unwrap()
        .to_string();
    set(&sim, &["serveflavor:http5xx=1"]).await;
    assert_eq!(sim.http.get(&url).send().await.unwrap().status(), 503);
    set(&sim, &["serveflavor:drop=1"]).await;
    let r = sim.http.get(&url).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(
        r.bytes().await.is_err(),
        "the body is cut before its Content-Length"
    );
}
