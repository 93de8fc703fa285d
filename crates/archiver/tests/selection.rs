//! Walking selections against the simulator: every matching entry exactly once, past the
//! 10,000-result cap, with few Kaltura calls.

use archiver::selection::{Flavors, Selection, SelectionError, Walker};
use kaltura::{Client, EntryId, RetryPolicy};
use kaltura_sim::model::entry_status;
use kaltura_sim::{SimConfig, SimServer};
use std::collections::HashSet;
use std::time::Duration;

async fn sim(entries: usize) -> SimServer {
    SimServer::start(SimConfig {
        partner_id: 55,
        admin_secret: "s".into(),
        entries,
        seed: 3,
        ..SimConfig::default()
    })
    .await
    .unwrap()
}

fn client(s: &SimServer) -> Client {
    let retry = RetryPolicy {
        base_delay: Duration::from_millis(2),
        max_delay: Duration::from_millis(10),
        ..RetryPolicy::default()
    };
    Client::builder()
        .with_service_url(s.base_url())
        .with_partner_id(55)
        .with_secret("s".to_string().into())
        .with_retry(retry)
        .build()
        .unwrap()
}

/// A walk of `sel` on the simulator, as of now.
fn walker(s: &SimServer, sel: &Selection, flavors: Flavors) -> Walker {
    Walker::new(client(s), sel, flavors, archiver::time::now()).unwrap()
}

/// Asserts that a walk listed every expected entry exactly once.
fn assert_each_once(ids: &[String], expected: &HashSet<String>) {
    let unique: HashSet<String> = ids.iter().cloned().collect();
    assert_eq!(unique.len(), ids.len(), "no duplicates");
    assert_eq!(&unique, expected, "no misses, nothing extra");
}

async fn walk_all(w: &mut Walker) -> (Vec<String>, usize) {
    let mut ids = Vec::new();
    let mut pages = 0;
    while let Some(p) = w.next_page().await.unwrap() {
        pages += 1;
        ids.extend(p.entries.iter().map(|e| e.id.0.clone()));
    }
    (ids, pages)
}

#[tokio::test]
async fn walks_past_10000_entries_exactly_once_including_a_bulk_import_second() {
    let s = sim(12_500).await;
    let mut w = walker(&s, &Selection::default(), Flavors::None);
    let (ids, _) = walk_all(&mut w).await;
    assert_each_once(&ids, &s.sim().ready_visible_ids());
    assert!(ids.len() > 10_000);
}

#[tokio::test]
async fn entries_created_during_the_walk_are_listed_too() {
    let s = sim(3000).await;
    let mut w = walker(&s, &Selection::default(), Flavors::None);
    let mut ids = Vec::new();
    let mut added = false;
    while let Some(p) = w.next_page().await.unwrap() {
        ids.extend(p.entries.iter().map(|e| e.id.0.clone()));
        if !added {
            let mut world = s.sim().world.lock().unwrap();
            kaltura_sim::generate::add_entries(&mut world, 700, 99, Some(archiver::time::now()));
            added = true;
        }
    }
    assert_each_once(&ids, &s.sim().ready_visible_ids());
}

#[tokio::test]
async fn a_page_of_500_with_originals_costs_two_calls() {
    let s = sim(5000).await;
    let c = client(&s);
    c.login().await.unwrap();
    s.sim().reset_counters();
    let mut w = Walker::new(
        c,
        &Selection {
            max_entries: Some(4000),
            ..Selection::default()
        },
        Flavors::Originals,
        archiver::time::now(),
    )
    .unwrap();
    let mut entries = 0;
    let mut with_original = 0;
    while let Some(p) = w.next_page().await.unwrap() {
        entries += p.entries.len();
        with_original += p
            .entries
            .iter()
            .filter(|e| p.original(&e.id).is_some())
            .count();
    }
    assert_eq!(entries, 4000);
    assert!(with_original > 3500);
    let calls = s.sim().counters()["http.api"];
    assert!(
        calls as f64 <= 2.0 * 4000.0 / 500.0,
        "{calls} calls for 4000 entries"
    );
}

#[tokio::test]
async fn id_selection_reports_an_unknown_id_and_skips_entries_filtered_out() {
    let s = sim(50).await;
    let some: Vec<EntryId> = s
        .sim()
        .ready_visible_ids()
        .into_iter()
        .take(3)
        .map(EntryId)
        .collect();
    let mut sel = Selection {
        entry_ids: some.clone(),
        ..Selection::default()
    };
    let mut w = walker(&s, &sel, Flavors::None);
    let (ids, _) = walk_all(&mut w).await;
    assert_eq!(ids.len(), 3);
    sel.entry_ids.push(EntryId::from("0_zzzzzzzz"));
    let mut w = walker(&s, &sel, Flavors::None);
    let err = loop {
        match w.next_page().await {
            Err(e) => break e,
            Ok(None) => panic!("the unknown id was not reported"),
            Ok(Some(_)) => {}
        }
    };
    assert!(
        matches!(err, SelectionError::UnknownEntry(ref id) if id.0 == "0_zzzzzzzz"),
        "{err}"
    );
}

#[tokio::test]
async fn filters_select_what_the_state_says() {
    let s = sim(2000).await;
    let now = s.sim().world.lock().unwrap().now();
    let sel = Selection {
        unplayed_for_years: Some(2.0),
        plays_below: Some(100),
        without_tags: vec!["lecture".into()],
        ..Selection::default()
    };
    let mut w = Walker::new(client(&s), &sel, Flavors::None, now).unwrap();
    let (ids, _) = walk_all(&mut w).await;
    let cutoff = archiver::time::years_ago(now, 2.0);
    let expected: HashSet<String> = {
        let w = s.sim().world.lock().unwrap();
        w.entries
            .iter()
            .filter(|e| e.status == entry_status::READY && e.display_in_search >= 0)
            .filter(|e| e.last_played_at.is_none_or(|t| t <= cutoff) && e.plays < 100)
            .filter(|e| !e.tag_list().iter().any(|t| t == "lecture"))
            .map(|e| e.id.clone())
            .collect()
    };
    assert!(!expected.is_empty());
    assert_eq!(ids.into_iter().collect::<HashSet<_>>(), expected);
}

#[tokio::test]
async fn more_entries_in_one_second_than_a_page_are_walked_through_that_second() {
    let s = sim(800).await;
    {
        let mut world = s.sim().world.lock().unwrap();
        kaltura_sim::generate::add_entries(&mut world, 1300, 7, Some(1_600_000_000));
    }
    let mut w = walker(&s, &Selection::default(), Flavors::None);
    let (ids, _) = walk_all(&mut w).await;
    assert_each_once(&ids, &s.sim().ready_visible_ids());
}
