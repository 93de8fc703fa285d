//! Exemptions that last: entries tagged `archive_exempt` (or another tag), in an exempt category or
//! below it, owned by an exempt user, or listed in an exemption file are never archived or replaced
//! by `run archive`, `archive`, `replace` or `repair` unless named by `--id`; `explain` says which
//! exemption holds; and a filter given to `run` narrows the policy instead of replacing it.
//! Checked by what the store holds and what Kaltura's tags say, not by the tool's rows alone.

mod common;

use std::collections::BTreeSet;

use common::*;
use kaltura::EntryId;

#[tokio::test(flavor = "multi_thread")]
async fn every_exemption_kind_holds_across_commands_unless_the_entry_is_named_by_id() {
    let s = sim(80, 41).await;
    let a = local_archive();
    let mut policy: Vec<String> = policy_set(&s).into_iter().collect();
    policy.sort();
    let info = entries(&s, &policy).await;
    // One entry per kind: a tag, a parent category of its category, its owner, a list.
    let tagged = policy[0].clone();
    client(&s)
        .set_tags(
            &EntryId(tagged.clone()),
            &["lecture".into(), "archive_exempt".into()],
        )
        .await
        .unwrap();
    let in_category = policy
        .iter()
        .find(|id| *id != &tagged && info[*id].categories.contains('>'))
        .unwrap()
        .clone();
    let parent = info[&in_category].categories.split(',').next().unwrap();
    let parent = parent.rsplit_once('>').unwrap().0.to_string();
    let in_parent = |id: &String| {
        info[id]
            .categories
            .split(',')
            .any(|c| c == parent || c.starts_with(&format!("{parent}>")))
    };
    let owned = policy
        .iter()
        .find(|id| ![&tagged, &in_category].contains(id) && !in_parent(id))
        .unwrap()
        .clone();
    let owner = info[&owned].user_id.clone();
    let listed = policy
        .iter()
        .find(|id| {
            ![&tagged, &in_category, &owned].contains(id)
                && !in_parent(id)
                && info[*id].user_id != owner
        })
        .unwrap()
        .clone();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("keep.txt");
    std::fs::write(&file, format!("# commencement\n{listed}\n")).unwrap();
    let file = file.to_str().unwrap().to_string();
    let env = [
        ("EXEMPT_CATEGORIES", parent.as_str()),
        ("EXEMPT_OWNERS", owner.as_str()),
        ("EXEMPT_FILE", file.as_str()),
    ];
    let exempt: BTreeSet<String> = policy
        .iter()
        .filter(|id| {
            let e = &info[*id];
            *id == &tagged
                || *id == &listed
                || e.user_id == owner
                || e.categories
                    .split(',')
                    .any(|c| c == parent || c.starts_with(&format!("{parent}>")))
        })
        .cloned()
        .collect();
    assert!(
        exempt.len() >= 4 && exempt.len() < policy.len(),
        "{exempt:?}"
    );

    // The scheduled job, then each command by hand: the exempt entries stay as they were.
    let run = cli(&s, &a, &["run", "archive", "--execute"], &env).await;
    assert!(run.status.success(), "{run:?}");
    let copies = archived(&a).await;
    assert!(
        copies.is_disjoint(&exempt),
        "{:?}",
        copies.intersection(&exempt).collect::<Vec<_>>()
    );
    let others: BTreeSet<String> = policy
        .iter()
        .filter(|id| !exempt.contains(*id))
        .cloned()
        .collect();
    assert_eq!(copies, others, "every other policy entry archived");
    for command in ["archive", "replace", "repair"] {
        let out = cli(&s, &a, &[command, "--execute"], &env).await;
        let rows = parse_report(&String::from_utf8_lossy(&out.stdout));
        for id in &exempt {
            if let Some((_, outcome, detail)) = rows.get(id) {
                // Skipped as exempt; or, for repair, nothing to repair at all.
                let left_alone = (outcome == "skipped" && detail.starts_with("exempt ("))
                    || (command == "repair" && outcome == "done-before");
                assert!(left_alone, "{command} {id}: {outcome} {detail}");
            }
        }
    }
    assert!(archived(&a).await.is_disjoint(&exempt));
    let now = entries(&s, &exempt.iter().cloned().collect::<Vec<_>>()).await;
    assert!(
        now.values()
            .all(|e| !e.has_tag("archived_to_s3") && !e.has_tag("flavors_deleted")),
        "no exempt entry was tagged"
    );

    // explain names the exemption that holds.
    for (id, says) in [
        (&tagged, "tagged archive_exempt".to_string()),
        (&in_category, format!("in category {parent}")),
        (&owned, format!("owned by {owner}")),
        (&listed, "listed in the exemption file".to_string()),
    ] {
        let out = cli(&s, &a, &["explain", id], &env).await;
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.contains(&format!("exempt      yes: {says}")),
            "{id}: {text}"
        );
        assert!(text.contains("next        nothing: exempt"), "{id}: {text}");
    }

    // Named by id, an exempt entry is the user's explicit choice.
    let out = report(&s, &a, &["archive", "--execute", "--id", &tagged]).await;
    assert_eq!(out[&tagged].1, "done", "{out:?}");
    assert!(archived(&a).await.contains(&tagged));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_filter_given_to_run_narrows_the_policy_instead_of_replacing_it() {
    let s = sim(80, 43).await;
    let a = local_archive();
    let policy: Vec<String> = policy_set(&s).into_iter().collect();
    let info = entries(&s, &policy).await;
    let category = info
        .values()
        .flat_map(|e| {
            e.categories
                .split(',')
                .filter(|c| !c.is_empty())
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .next()
        .unwrap();
    let expected: BTreeSet<String> = policy
        .iter()
        .filter(|id| info[*id].categories.split(',').any(|c| c == category))
        .cloned()
        .collect();
    assert!(!expected.is_empty() && expected.len() < policy.len());
    let out = cli(
        &s,
        &a,
        &["run", "archive", "--execute", "--category", &category],
        &[],
    )
    .await;
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        archived(&a).await,
        expected,
        "only the policy's entries in {category}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn stats_policy_says_exactly_what_run_archive_then_does() {
    let s = sim(80, 47).await;
    let a = local_archive();
    let mut policy: Vec<String> = policy_set(&s).into_iter().collect();
    policy.sort();
    client(&s)
        .set_tags(&EntryId(policy[0].clone()), &["archive_exempt".into()])
        .await
        .unwrap();
    let out = cli(&s, &a, &["stats", "--policy", "--json"], &[]).await;
    assert!(out.status.success(), "{out:?}");
    let plan: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let planned: BTreeSet<String> = plan["archive_ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    assert_eq!(plan["exempt"], 1, "{plan}");

    let run = cli(&s, &a, &["run", "archive", "--execute"], &[]).await;
    assert!(run.status.success(), "{run:?}");
    let summary: serde_json::Value = String::from_utf8_lossy(&run.stderr)
        .lines()
        .find_map(|l| {
            serde_json::from_str(l)
                .ok()
                .filter(|v: &serde_json::Value| v["kind"] == "summary")
        })
        .unwrap();
    let copies = archived(&a).await;
    assert_eq!(planned, copies, "the same entries");
    assert_eq!(
        plan["archive"]["entries"],
        summary["outcomes"]["archive"]["done"]
    );
    assert_eq!(
        plan["replace"]["entries"],
        summary["outcomes"]["replace"]["done"]
    );
    let stored: u64 = store_dump(a.store.as_ref())
        .await
        .into_iter()
        .filter(|(k, _, _)| copies.contains(k))
        .map(|(_, size, _)| size)
        .sum();
    // Old assets report only kilobytes: each may be off by less than 1 KiB.
    let planned_bytes = plan["archive"]["bytes"].as_u64().unwrap();
    assert!(
        planned_bytes.abs_diff(stored) < 1024 * copies.len() as u64,
        "the same bytes: planned {planned_bytes}, stored {stored}"
    );
}
