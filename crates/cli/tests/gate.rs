//! The dry-run gate holds for every command: with Kaltura counting every call and the store's
//! contents compared byte for byte, no command run without `--execute` writes anything — with
//! entries in every state the lifecycle leaves them in: not archived, archived, replaced,
//! replaced and played, anomalies, and replacements still converting and waiting for approval.

mod common;

use std::collections::BTreeMap;

use common::*;
use kaltura::EntryId;
use kaltura_sim::SimServer;

/// Whether a counted call (`service.action`) changes the partner.
fn is_write(call: &str) -> bool {
    let Some((service, action)) = call.split_once('.') else {
        return false; // http.*, multirequest, serveflavor: transport
    };
    let reads = [
        "list",
        "get",
        "count",
        "getflavorassetswithparams",
        "geturl",
        "searchentry",
        "ping",
        "gettime",
    ];
    service != "session" && service != "http" && !reads.contains(&action)
}

fn writes(s: &SimServer) -> BTreeMap<String, u64> {
    s.sim()
        .counters()
        .into_iter()
        .filter(|(k, _)| is_write(k))
        .collect()
}

async fn set_sim(s: &SimServer, settings: serde_json::Value) {
    let r = reqwest::Client::new()
        .post(format!("{}/sim/settings", s.base_url()))
        .json(&settings)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
}

fn id_args(ids: &[String]) -> Vec<&str> {
    ids.iter().flat_map(|i| ["--id", i.as_str()]).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn no_command_writes_to_kaltura_or_the_store_without_execute() {
    let s = sim(80, 23).await;
    let a = local_archive();
    let mut policy: Vec<String> = policy_set(&s).into_iter().collect();
    policy.sort();
    assert!(
        policy.len() >= 16,
        "a policy worth testing: {}",
        policy.len()
    );
    let (archived, fresh) = policy.split_at(policy.len() / 2);
    let (replaced, archived_only) = archived.split_at(archived.len() / 2);

    // Every state: half the policy archived, half of that replaced, some of those played.
    let mut args = vec!["archive", "--execute"];
    args.extend(id_args(archived));
    report(&s, &a, &args).await;
    let mut args = vec!["replace", "--execute"];
    args.extend(id_args(replaced));
    let r = report(&s, &a, &args).await;
    assert_eq!(with_outcome(&r, "done").len(), replaced.len(), "{r:?}");
    for id in &replaced[..3] {
        play(&s, id).await;
    }
    // Anomalies: a replaced entry without its tags, a real video tagged replaced.
    let c = client(&s);
    c.set_tags(&EntryId(replaced[3].clone()), &[])
        .await
        .unwrap();
    c.set_tags(&EntryId(fresh[0].clone()), &["flavors_deleted".into()])
        .await
        .unwrap();
    // Replacements that Kaltura is still converting and that wait for approval.
    set_sim(
        &s,
        serde_json::json!({"conversionDelayMs": 1_000_000_000i64, "approvalRequired": true}),
    )
    .await;
    let mut args = vec!["replace", "--execute", "--wait-minutes", "0"];
    args.extend(id_args(&archived_only[..2]));
    let r = report(&s, &a, &args).await;
    assert_eq!(with_outcome(&r, "waiting").len(), 2, "{r:?}");

    let (writes0, state0) = (writes(&s), sim_state(&s).await);
    let store0 = store_dump(a.store.as_ref()).await;
    let waiting = &archived_only[0];
    let mut planned = BTreeMap::new();
    for command in ["archive", "replace", "restore", "repair", "health"] {
        let out = cli(&s, &a, &[command], &[]).await;
        let rows = parse_report(&String::from_utf8_lossy(&out.stdout));
        planned.insert(command, with_outcome(&rows, "planned").len());
    }
    for job in ["archive", "restore", "health"] {
        let out = cli(&s, &a, &["run", job], &[]).await;
        assert!(
            out.status.code().is_some_and(|c| c <= 1),
            "run {job}: {out:?}"
        );
    }
    for args in [
        vec!["verify"],
        vec!["check"],
        vec!["explain", waiting.as_str()],
        vec!["explain", replaced[0].as_str()],
        vec!["replace", "--id", waiting.as_str()],
        vec!["restore", "--id", replaced[0].as_str()],
    ] {
        cli(&s, &a, &args, &[]).await;
    }

    assert!(planned["archive"] >= fresh.len() - 1, "{planned:?}");
    assert!(planned["replace"] >= 1, "{planned:?}");
    assert_eq!(planned["restore"], 3, "{planned:?}");
    assert_eq!(planned["repair"], 2, "{planned:?}");
    assert_eq!(writes(&s), writes0, "a dry run wrote to Kaltura");
    assert_eq!(sim_state(&s).await, state0, "a dry run changed Kaltura");
    assert_eq!(
        store_dump(a.store.as_ref()).await,
        store0,
        "a dry run changed the store"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn doit_accepts_the_usual_true_and_false_words() {
    let s = sim(40, 29).await;
    let a = local_archive();
    let ids: Vec<String> = policy_set(&s).into_iter().take(2).collect();
    for (value, acts) in [("off", false), ("0", false), ("no", false), ("yes", true)] {
        let out = cli(&s, &a, &["archive", "--id", &ids[0]], &[("DOIT", value)]).await;
        assert!(out.status.success(), "DOIT={value}: {out:?}");
        let rows = parse_report(&String::from_utf8_lossy(&out.stdout));
        let outcome = rows[&ids[0]].1.as_str();
        assert_eq!(
            outcome,
            if acts { "done" } else { "planned" },
            "DOIT={value}"
        );
    }
    let out = cli(&s, &a, &["archive", "--id", &ids[1]], &[("DOIT", "1")]).await;
    assert_eq!(
        parse_report(&String::from_utf8_lossy(&out.stdout))[&ids[1]].1,
        "done"
    );
}
