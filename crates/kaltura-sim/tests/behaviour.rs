//! The simulator's behaviour beyond the trap list: request forms, bad requests, conversion over
//! time, replacement, plays, filters, eSearch, multirequest, downloads, the generator.

mod common;

use common::{config, error_code, ids, Sim};
use serde_json::{json, Value};

#[tokio::test]
async fn bad_requests_get_kaltura_error_envelopes_never_html() {
    let sim = Sim::start(config(2)).await;
    let e = sim.call_without_ks("media", "list", json!({})).await;
    assert_eq!(error_code(&e), Some("SERVICE_FORBIDDEN"));
    assert_eq!(e["args"]["SERVICE"], "media->list");
    let e = sim
        .fails("nosuch", "list", json!({}), "SERVICE_DOES_NOT_EXISTS")
        .await;
    assert_eq!(e["args"]["SRV_NAME"], "nosuch");
    let e = sim
        .fails("media", "explode", json!({}), "ACTION_DOES_NOT_EXISTS")
        .await;
    assert_eq!(e["args"]["ACTION_NAME"], "explode");
    let e = sim
        .fails("media", "get", json!({}), "MISSING_MANDATORY_PARAMETER")
        .await;
    assert_eq!(e["args"]["PARAM_NAME"], "entryId");
    sim.fails(
        "media",
        "get",
        json!({"entryId": "0_zzzzzzzz"}),
        "ENTRY_ID_NOT_FOUND",
    )
    .await;
    sim.fails(
        "media",
        "addContent",
        json!({"entryId": "0_zzzzzzzz", "resource": {"token": "x"}}),
        "ENTRY_ID_NOT_FOUND",
    )
    .await;
    let e = sim
        .call_without_ks(
            "session",
            "start",
            json!({"secret": "wrong", "partnerId": common::PARTNER, "type": 2}),
        )
        .await;
    assert_eq!(error_code(&e), Some("START_SESSION_ERROR"));
    // Garbage bodies and unknown formats do not crash the server.
    let url = format!("{}/api_v3/service/media/action/list", sim.base);
    let r = sim
        .http
        .post(&url)
        .header("Content-Type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("SERVICE_FORBIDDEN"));
    let r = sim
        .http
        .post(&url)
        .json(&json!({"format": 7, "ks": sim.ks}))
        .send()
        .await
        .unwrap();
    assert!(r
        .text()
        .await
        .unwrap()
        .starts_with("UNKNOWN_RESPONSE_FORMAT"));
}

#[tokio::test]
async fn form_fields_query_strings_path_pairs_and_any_case_reach_the_same_action() {
    let sim = Sim::start(config(3)).await;
    let id = sim.state().await["entries"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let form = [
        ("format", "1"),
        ("ks", sim.ks.as_str()),
        ("filter:objectType", "KalturaMediaEntryFilter"),
        ("filter[idIn]", id.as_str()),
    ];
    let r: Value = sim
        .http
        .post(format!("{}/api_v3/service/MEDIA/action/List", sim.base))
        .form(&form)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ids(&r), vec![id.clone()]);
    let r: Value = sim
        .http
        .get(format!(
            "{}/api_v3/service/media/action/get/entryId/{id}?format=1&ks={}",
            sim.base, sim.ks
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(r["id"], id.as_str());
    let r: Value = sim
        .http
        .get(format!(
            "{}/api_v3/?service=media&action=get&entryId={id}&format=1&ks={}",
            sim.base, sim.ks
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(r["id"], id.as_str());
}

#[tokio::test]
async fn conversion_passes_through_intermediate_statuses_and_ends_ready_with_derived_flavors() {
    let mut cfg = config(0);
    cfg.conversion_delay_ms = 60_000;
    let sim = Sim::start(cfg).await;
    let e = sim
        .ok(
            "media",
            "add",
            json!({"entry": {"objectType": "KalturaMediaEntry", "mediaType": 1, "name": "n"}}),
        )
        .await;
    let id = e["id"].as_str().unwrap().to_string();
    let token = sim.ok("uploadToken", "add", json!({})).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    // Attached before the upload: the entry waits in IMPORT, and no flavor has a file yet.
    let e = sim.ok("media", "addContent", json!({"entryId": id, "resource": {"objectType": "KalturaUploadedFileTokenResource", "token": token}})).await;
    assert_eq!(e["status"], 0);
    sim.fails(
        "media",
        "updateThumbnail",
        json!({"entryId": id, "timeOffset": 1}),
        "INTERNAL_SERVERL_ERROR",
    )
    .await;
    let t = sim
        .upload_chunk(&token, &[1u8; 1000], false, true, -1, Some("v.mp4"))
        .await;
    assert_eq!(
        t["status"], 3,
        "the upload that completes an attached token returns it CLOSED: the entry consumed it"
    );
    let e = sim.ok("media", "get", json!({"entryId": id})).await;
    assert_eq!(e["status"], 1, "PRECONVERT once the upload completed");
    // The uploaded file is the new original's from that request on: a frame can be grabbed
    // while the entry converts (kaltura-api.md §5.5).
    sim.ok(
        "media",
        "updateThumbnail",
        json!({"entryId": id, "timeOffset": 1}),
    )
    .await;
    sim.control("/sim/clock/advance", json!({"seconds": 31}))
        .await;
    let flavors = sim.flavors(&id).await;
    assert!(flavors
        .iter()
        .any(|f| f["isOriginal"] == true && f["status"] == 2));
    assert!(
        flavors
            .iter()
            .any(|f| f["isOriginal"] == false && f["status"] == 1),
        "derived flavors converting"
    );
    sim.control("/sim/clock/advance", json!({"seconds": 30}))
        .await;
    let e = sim.ok("media", "get", json!({"entryId": id})).await;
    assert_eq!(e["status"], 2);
    assert_eq!(e["flavorParamsIds"], "0,2,4,7");
    sim.ok(
        "media",
        "updateThumbnail",
        json!({"entryId": id, "timeOffset": 1}),
    )
    .await;
    assert_eq!(
        sim.ok("uploadToken", "get", json!({"uploadTokenId": token}))
            .await["status"],
        3
    );
}

#[tokio::test]
async fn injected_conversion_failure_ends_in_error_converting() {
    let mut cfg = config(0);
    cfg.faults = vec!["convert_error=1".parse().unwrap()];
    let sim = Sim::start(cfg).await;
    let id = sim
        .ok(
            "media",
            "add",
            json!({"entry": {"objectType": "KalturaMediaEntry", "mediaType": 1}}),
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let token = sim.upload(b"x", 1).await;
    let e = sim.ok("media", "addContent", json!({"entryId": id, "resource": {"objectType": "KalturaUploadedFileTokenResource", "token": token}})).await;
    assert_eq!(e["status"], -1);
}

#[tokio::test]
async fn replacement_needs_the_feature_and_can_be_cancelled() {
    let mut cfg = config(20);
    cfg.replacement_enabled = false;
    let sim = Sim::start(cfg).await;
    let id = sim
        .list(
            json!({"objectType": "KalturaMediaEntryFilter", "mediaTypeEqual": 1}),
            json!({}),
        )
        .await["objects"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let token = sim.upload(b"new", 1).await;
    let resource = json!({"objectType": "KalturaUploadedFileTokenResource", "token": token});
    let e = sim
        .fails(
            "media",
            "updateContent",
            json!({"entryId": id, "resource": resource}),
            "FEATURE_FORBIDDEN",
        )
        .await;
    assert!(e["message"].as_str().unwrap().contains("forbidden"));
    sim.control(
        "/sim/settings",
        json!({"replacementEnabled": true, "approvalRequired": true}),
    )
    .await;
    let e = sim
        .ok(
            "media",
            "updateContent",
            json!({"entryId": id, "resource": resource}),
        )
        .await;
    assert_eq!(
        e["replacementStatus"], 2,
        "converted at once, waiting for approval"
    );
    let temp = e["replacingEntryId"].as_str().unwrap().to_string();
    let hidden = sim
        .list(
            json!({"objectType": "KalturaMediaEntryFilter", "idEqual": temp}),
            json!({}),
        )
        .await;
    assert_eq!(hidden["totalCount"], 1, "idEqual sees the temporary entry");
    let default = sim
        .list(
            json!({"objectType": "KalturaMediaEntryFilter", "replacedEntryIdEqual": id}),
            json!({}),
        )
        .await;
    assert_eq!(
        default["totalCount"], 0,
        "default lists hide the temporary (SYSTEM) entry"
    );
    let e = sim
        .ok("media", "cancelReplace", json!({"entryId": id}))
        .await;
    assert_eq!(e["replacementStatus"], 0);
    assert!(e.get("replacingEntryId").is_none());
    sim.fails(
        "media",
        "get",
        json!({"entryId": temp}),
        "ENTRY_ID_NOT_FOUND",
    )
    .await;
    sim.fails(
        "media",
        "approveReplace",
        json!({"entryId": id}),
        "ENTRY_ID_NOT_REPLACED",
    )
    .await;
}

#[tokio::test]
async fn plays_bump_plays_and_last_played_at_after_the_analytics_refresh() {
    let mut cfg = config(30);
    cfg.analytics_lag = true;
    let sim = Sim::start(cfg).await;
    let never = sim.list(json!({"objectType": "KalturaMediaEntryFilter", "advancedSearch": {"objectType": "KalturaMediaEntryCompareAttributeCondition", "attribute": "plays", "comparison": "1", "value": "0"}}), json!({})).await;
    let e = &never["objects"][0];
    let id = e["id"].as_str().unwrap().to_string();
    assert!(e.get("lastPlayedAt").is_none());
    sim.control("/sim/play", json!({"entryId": id, "count": 2}))
        .await;
    assert_eq!(
        sim.ok("media", "get", json!({"entryId": id})).await["plays"],
        0,
        "not counted before the refresh"
    );
    sim.control("/sim/analytics/refresh", json!({})).await;
    let e = sim.ok("media", "get", json!({"entryId": id})).await;
    assert_eq!(e["plays"], 2);
    let now = sim.state().await["now"].as_i64().unwrap();
    assert!((e["lastPlayedAt"].as_i64().unwrap() - now).abs() <= 2);
}

#[tokio::test]
async fn list_filters_combine_categories_negated_tags_plays_and_never_played() {
    let sim = Sim::start(config(800)).await;
    let state = sim.state().await;
    let entries: Vec<&Value> = state["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["status"] == 2 && e["moderationStatus"] != 1 && e["moderationStatus"] != 3)
        .collect();
    let s = &sim;
    let count = |f: Value| async move {
        s.list(f, json!({"pageSize": 1})).await["totalCount"]
            .as_u64()
            .unwrap()
    };
    // Category ancestor 107 (Departments) covers 108, 109, 110.
    let want = entries
        .iter()
        .filter(|e| {
            e["categoriesIds"]
                .as_str()
                .unwrap()
                .split(',')
                .any(|c| ["108", "109", "110"].contains(&c))
        })
        .count() as u64;
    assert!(want > 0);
    assert_eq!(
        count(json!({"objectType": "KalturaMediaEntryFilter", "categoryAncestorIdIn": "107"}))
            .await,
        want
    );
    let with_lecture = entries
        .iter()
        .filter(|e| {
            e["tags"]
                .as_str()
                .unwrap()
                .split(", ")
                .any(|t| t == "lecture")
        })
        .count() as u64;
    let not_lecture = count(json!({"objectType": "KalturaMediaEntryFilter", "advancedSearch": {"objectType": "KalturaMediaEntryMatchAttributeCondition", "attribute": "tags", "value": "lecture", "not": true}})).await;
    assert_eq!(not_lecture + with_lecture, entries.len() as u64);
    let below5 = entries
        .iter()
        .filter(|e| e["plays"].as_i64().unwrap() < 5)
        .count() as u64;
    assert_eq!(count(json!({"objectType": "KalturaMediaEntryFilter", "advancedSearch": {"objectType": "KalturaMediaEntryCompareAttributeCondition", "attribute": "plays", "comparison": "4", "value": "5"}})).await, below5);
    let t = state["now"].as_i64().unwrap() - 2 * 365 * 86400;
    let unplayed = entries
        .iter()
        .filter(|e| {
            e.get("lastPlayedAt")
                .is_none_or(|p| p.as_i64().unwrap() <= t)
        })
        .count() as u64;
    let played_before = entries
        .iter()
        .filter(|e| {
            e.get("lastPlayedAt")
                .is_some_and(|p| p.as_i64().unwrap() <= t)
        })
        .count() as u64;
    assert!(unplayed > played_before, "never-played entries exist");
    assert_eq!(
        count(
            json!({"objectType": "KalturaMediaEntryFilter", "lastPlayedAtLessThanOrEqualOrNull": t})
        )
        .await,
        unplayed
    );
    assert_eq!(
        count(json!({"objectType": "KalturaMediaEntryFilter", "lastPlayedAtLessThanOrEqual": t}))
            .await,
        played_before
    );
    let e = sim.fails("media", "list", json!({"filter": {"objectType": "KalturaMediaEntryFilter", "advancedSearch": {"attribute": "plays"}}}), "OBJECT_TYPE_ABSTRACT").await;
    assert_eq!(e["args"]["OBJ_TYPE"], "KalturaSearchItem");
}

#[tokio::test]
async fn esearch_supports_nested_operators_exists_and_field_rules() {
    let sim = Sim::start(config(300)).await;
    let item = |field: &str, t: i64, term: &str| json!({"objectType": "KalturaESearchEntryItem", "fieldName": field, "itemType": t, "searchTerm": term});
    let op = |o: i64, items: Vec<Value>| json!({"objectType": "KalturaESearchEntryOperator", "operator": o, "searchItems": items});
    let search = |root: Value| {
        let s = &sim;
        async move {
            s.ok("elasticsearch_esearch", "searchEntry", json!({"searchParams": {"objectType": "KalturaESearchEntryParams", "searchOperator": root}, "pager": {"pageSize": 500}})).await["totalCount"].as_u64().unwrap()
        }
    };
    let physics = search(op(1, vec![item("tags", 1, "physics")])).await;
    let math = search(op(1, vec![item("tags", 1, "math")])).await;
    let both = search(op(
        1,
        vec![item("tags", 1, "physics"), item("tags", 1, "math")],
    ))
    .await;
    let either = search(op(
        2,
        vec![item("tags", 1, "physics"), item("tags", 1, "math")],
    ))
    .await;
    assert_eq!(either, physics + math - both);
    let all = search(op(1, vec![json!({"objectType": "KalturaESearchEntryItem", "fieldName": "created_at", "itemType": 5, "range": {"objectType": "KalturaESearchRange", "greaterThan": 0}})])).await;
    let played = search(op(1, vec![json!({"objectType": "KalturaESearchEntryItem", "fieldName": "last_played_at", "itemType": 4})])).await;
    let not_played = search(op(1, vec![op(3, vec![json!({"objectType": "KalturaESearchEntryItem", "fieldName": "last_played_at", "itemType": 4})])])).await;
    assert_eq!(played + not_played, all);
    sim.fails("elasticsearch_esearch", "searchEntry", json!({"searchParams": {"objectType": "KalturaESearchEntryParams", "searchOperator": op(1, vec![item("tags", 1, "")])}}), "EMPTY SEARCH TERM IS NOT ALLOWED").await;
    sim.fails("elasticsearch_esearch", "searchEntry", json!({"searchParams": {"objectType": "KalturaESearchEntryParams", "searchOperator": op(1, vec![])}}), "EMPTY SEARCH ITEMS ARE NOT ALLOWED").await;
}

#[tokio::test]
async fn multirequest_runs_in_order_inherits_ks_substitutes_results_and_stops_at_a_gap() {
    let sim = Sim::start(config(5)).await;
    let id = sim.state().await["entries"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let body = json!({"format": 1, "ks": sim.ks,
        "1": {"service": "media", "action": "get", "entryId": id},
        "2": {"service": "flavorAsset", "action": "list", "filter": {"objectType": "KalturaFlavorAssetFilter", "entryIdEqual": "{1:result:id}"}},
        "3": {"service": "media", "action": "get", "entryId": "0_missing1"},
        "4": {"service": "media", "action": "get", "entryId": "prefix-{1:result:id}"},
        "6": {"service": "media", "action": "get", "entryId": id}});
    let r: Value = sim
        .http
        .post(format!("{}/api_v3/service/multirequest", sim.base))
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let r = r.as_array().unwrap();
    assert_eq!(r.len(), 4, "stops at the gap before key 6");
    assert_eq!(r[0]["id"], id.as_str());
    assert!(r[1]["objects"]
        .as_array()
        .unwrap()
        .iter()
        .all(|f| f["entryId"] == id.as_str()));
    assert_eq!(error_code(&r[2]), Some("ENTRY_ID_NOT_FOUND"));
    assert_eq!(
        r[3]["args"]["ENTRY_ID"],
        format!("prefix-{id}"),
        "embedded reference replaced"
    );
    // A file for member 0 travels as "0:fileData".
    let token = sim.ok("uploadToken", "add", json!({})).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let json_part = json!({"format": 1, "ks": sim.ks, "0": {"service": "uploadToken", "action": "upload", "uploadTokenId": token}, "1": {"service": "uploadToken", "action": "get", "uploadTokenId": "{1:result:id}"}});
    let form = reqwest::multipart::Form::new()
        .text("json", json_part.to_string())
        .part(
            "0:fileData",
            reqwest::multipart::Part::bytes(vec![5u8; 10]).file_name("f.mp4"),
        );
    let r: Value = sim
        .http
        .post(format!("{}/api_v3/service/multirequest", sim.base))
        .multipart(form)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(r[1]["status"], 2, "{r}");
    assert_eq!(r[1]["uploadedFileSize"], "10");
}

#[tokio::test]
async fn downloads_are_deterministic_support_ranges_and_serve_uploaded_bytes() {
    let sim = Sim::start(config(20)).await;
    let state = sim.state().await;
    let flavor = state["entries"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|e| e["flavors"].as_array().unwrap().clone())
        .filter(|f| f["status"] == 2)
        .min_by_key(|f| f["size"].as_u64().unwrap())
        .unwrap();
    let fid = flavor["id"].as_str().unwrap();
    let whole = sim.download(fid).await;
    assert_eq!(whole, sim.download(fid).await, "same bytes every time");
    let url = sim.ok("flavorAsset", "getUrl", json!({"id": fid})).await;
    let url = url.as_str().unwrap();
    assert!(url.contains(&format!("/flavorId/{fid}/")));
    let r = sim
        .http
        .get(url)
        .header("Range", "bytes=1000-1999")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 206);
    assert_eq!(
        r.headers()["content-range"],
        format!("bytes 1000-1999/{}", whole.len())
    );
    assert_eq!(
        r.bytes().await.unwrap().to_vec(),
        whole[1000..2000].to_vec()
    );
    let r = sim
        .http
        .get(url)
        .header("Range", format!("bytes={}-", whole.len()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 416);
    sim.ok("flavorAsset", "delete", json!({"id": fid})).await;
    assert_eq!(
        sim.http.get(url).send().await.unwrap().status(),
        404,
        "deleted flavors are gone"
    );
}

#[tokio::test]
async fn generated_partner_is_realistic_and_reproducible_from_its_seed() {
    let sim = Sim::start(config(3000)).await;
    let state = sim.state().await;
    let entries = state["entries"].as_array().unwrap();
    let now = state["now"].as_i64().unwrap();
    let n = entries.len() as f64;
    let never = entries
        .iter()
        .filter(|e| e.get("lastPlayedAt").is_none())
        .count() as f64;
    assert!(
        (0.2..0.45).contains(&(never / n)),
        "a share never played: {}",
        never / n
    );
    let oldest = entries
        .iter()
        .map(|e| e["createdAt"].as_i64().unwrap())
        .min()
        .unwrap();
    assert!(
        now - oldest > 10 * 365 * 86400,
        "creation dates spread over many years"
    );
    let played: Vec<i64> = entries
        .iter()
        .filter_map(|e| e["lastPlayedAt"].as_i64())
        .collect();
    assert!(
        played.iter().any(|t| now - t > 5 * 365 * 86400)
            && played.iter().any(|t| now - t < 365 * 86400)
    );
    let originals: Vec<u64> = entries
        .iter()
        .flat_map(|e| e["flavors"].as_array().unwrap())
        .filter(|f| f["isOriginal"] == true)
        .map(|f| f["size"].as_u64().unwrap() * 1024)
        .collect();
    assert!(
        originals.iter().any(|s| *s < 10_000_000) && originals.iter().any(|s| *s > 2_000_000_000),
        "a few MB to several GB"
    );
    let video_without_original = entries
        .iter()
        .filter(|e| {
            e["mediaType"] == 1
                && e["status"] == 2
                && !e["flavors"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|f| f["isOriginal"] == true)
        })
        .count();
    assert!(video_without_original > 0, "some entries lack an original");
    assert!(
        entries.iter().any(|e| e["status"] != 2),
        "some entries are not READY"
    );
    assert!(
        entries
            .iter()
            .any(|e| !e["categories"].as_str().unwrap().is_empty())
            && entries
                .iter()
                .any(|e| !e["tags"].as_str().unwrap().is_empty())
    );
    let same_second = entries
        .iter()
        .filter(|e| e["createdAt"] == entries[1000]["createdAt"])
        .count();
    assert!(
        same_second >= 200,
        "a bulk import shares one creation second: {same_second}"
    );
    let again = Sim::start(config(3000)).await.state().await;
    let key = |v: &Value| {
        v["entries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| (e["id"].clone(), e["plays"].clone(), e["tags"].clone()))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        key(&state),
        key(&again),
        "the same seed gives the same partner"
    );
}

#[tokio::test]
async fn reset_regenerates_the_partner_and_entries_can_be_added_during_a_walk() {
    let sim = Sim::start(config(10)).await;
    let r = sim
        .control(
            "/sim/entries",
            json!({"count": 5, "createdAt": 1_600_000_000}),
        )
        .await;
    assert_eq!(r["ids"].as_array().unwrap().len(), 5);
    assert_eq!(sim.state().await["entries"].as_array().unwrap().len(), 15);
    sim.control("/sim/reset", json!({})).await;
    assert_eq!(sim.state().await["entries"].as_array().unwrap().len(), 10);
}

#[tokio::test]
async fn auto_finalize_completes_a_token_at_file_size_and_tokens_list_and_delete() {
    let sim = Sim::start(config(0)).await;
    let t = sim
        .ok("uploadToken", "add", json!({"uploadToken": {"objectType": "KalturaUploadToken", "fileSize": 8, "autoFinalize": 1}}))
        .await;
    let id = t["id"].as_str().unwrap().to_string();
    assert_eq!(
        sim.upload_chunk(&id, b"abcd", false, false, 0, Some("a.mp4"))
            .await["status"],
        1
    );
    let done = sim
        .upload_chunk(&id, b"efgh", true, false, 4, Some("a.mp4"))
        .await;
    assert_eq!(
        done["status"], 2,
        "complete without a final chunk once fileSize bytes arrived"
    );
    let other = sim.ok("uploadToken", "add", json!({})).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let listed = sim
        .ok(
            "uploadToken",
            "list",
            json!({"filter": {"objectType": "KalturaUploadTokenFilter", "statusEqual": 2}}),
        )
        .await;
    assert_eq!(ids(&listed), vec![id.clone()]);
    assert_eq!(
        sim.ok("uploadToken", "delete", json!({"uploadTokenId": other}))
            .await,
        Value::Null
    );
    assert_eq!(
        sim.ok("uploadToken", "get", json!({"uploadTokenId": other}))
            .await["status"],
        5
    );
    sim.fails(
        "uploadToken",
        "get",
        json!({"uploadTokenId": "0_00000000000000000000000000000000"}),
        "UPLOAD_TOKEN_NOT_FOUND",
    )
    .await;
}

#[tokio::test]
async fn gzip_switch_compresses_api_responses_for_clients_that_accept_it() {
    let sim = Sim::start(config(3)).await;
    let url = format!("{}/api_v3/service/media/action/list", sim.base);
    let body = json!({"format": 1, "ks": sim.ks}).to_string();
    // A client that leaves decompression to the test (reqwest may be built with gzip support).
    let http = reqwest::Client::builder().no_gzip().build().unwrap();
    let send = || {
        http.post(&url)
            .header("Content-Type", "application/json")
            .header("Accept-Encoding", "gzip")
            .body(body.clone())
            .send()
    };
    assert!(
        send()
            .await
            .unwrap()
            .headers()
            .get("content-encoding")
            .is_none(),
        "off by default"
    );
    sim.control("/sim/settings", json!({"gzip": true})).await;
    let r = send().await.unwrap();
    assert_eq!(r.headers()["content-encoding"], "gzip");
    let bytes = r.bytes().await.unwrap();
    let mut text = String::new();
    std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&bytes[..]), &mut text)
        .unwrap();
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["objectType"], "KalturaMediaListResponse");
}

#[tokio::test]
async fn a_broken_multipart_body_fails_as_upload_error_not_as_a_partial_file() {
    let sim = Sim::start(config(0)).await;
    let url = format!("{}/api_v3/service/uploadtoken/action/upload", sim.base);
    let body = "--XYZ\r\nContent-Disposition: form-data; name=\"json\"\r\n\r\n{}\r\n--XYZ\r\nContent-Disposition: form-data; name=\"fileData\"; filename=\"a\"\r\n\r\nabc";
    let r = sim
        .http
        .post(url)
        .header("Content-Type", "multipart/form-data; boundary=XYZ")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("<code>UPLOAD_ERROR</code>"));
}

#[tokio::test]
async fn a_shaped_link_moves_downloads_and_uploads_at_its_rate_per_connection() {
    let mut cfg = config(0);
    cfg.flavor_bytes = (1_000_000, 1_000_000);
    let sim = Sim::start(cfg).await;
    sim.control("/sim/entries", json!({"count": 1})).await;
    let entry = sim.list(json!({}), json!({})).await;
    let id = ids(&entry)[0].clone();
    let original = sim
        .flavors(&id)
        .await
        .into_iter()
        .find(|f| f["isOriginal"] == true)
        .unwrap();
    let flavor = original["id"].as_str().unwrap().to_string();
    let size = original["sizeInBytes"].as_u64().unwrap() as f64;
    let timed = |started: std::time::Instant| started.elapsed().as_secs_f64();

    let started = std::time::Instant::now();
    sim.download(&flavor).await;
    assert!(timed(started) < 0.5, "unshaped: {}", timed(started));

    // 16 Mbit/s = 2 MB/s each way.
    sim.control(
        "/sim/settings",
        json!({"downloadMbps": 16, "uploadMbps": 16}),
    )
    .await;
    let started = std::time::Instant::now();
    let bytes = sim.download(&flavor).await;
    let expected = size / 2_000_000.0;
    assert_eq!(bytes.len() as f64, size);
    assert!(
        (expected * 0.95..expected + 0.5).contains(&timed(started)),
        "a {size}-byte download at 2 MB/s took {} s",
        timed(started)
    );
    // Two downloads at once take as long as one: the rate is per connection.
    let started = std::time::Instant::now();
    tokio::join!(sim.download(&flavor), sim.download(&flavor));
    assert!(timed(started) < expected * 1.5 + 0.5, "{}", timed(started));
    let started = std::time::Instant::now();
    sim.upload(&vec![7u8; 1_000_000], 1).await;
    assert!(
        (0.475..1.0).contains(&timed(started)),
        "a 1 MB upload at 2 MB/s took {} s",
        timed(started)
    );
}
