//! One test per trap of kaltura-api.md's top list, against the simulator over real HTTP.

mod common;

use common::{config, error_code, ids, Sim};
use serde_json::{json, Value};

const YEAR: i64 = 365 * 86400;

#[tokio::test]
async fn trap1_missing_format_answers_xml() {
    let sim = Sim::start(config(5)).await;
    let url = format!("{}/api_v3/service/media/action/list", sim.base);
    let r = sim
        .http
        .post(&url)
        .json(&json!({"ks": sim.ks}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["content-type"], "text/xml");
    let body = r.text().await.unwrap();
    assert!(body.starts_with("<?xml version=\"1.0\" encoding=\"utf-8\"?><xml><result><objectType>KalturaMediaListResponse</objectType>"), "{body}");
    assert!(
        body.contains("<objects><item><objectType>KalturaMediaEntry</objectType>"),
        "{body}"
    );
}

#[tokio::test]
async fn trap2_json_body_with_charset_is_ignored_and_the_answer_is_an_xml_error() {
    let sim = Sim::start(config(5)).await;
    let url = format!("{}/api_v3/service/media/action/list", sim.base);
    let body = json!({"format": 1, "ks": sim.ks}).to_string();
    let r = sim
        .http
        .post(&url)
        .header("Content-Type", "application/json; charset=utf-8")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let text = r.text().await.unwrap();
    assert!(
        text.contains("<code>SERVICE_FORBIDDEN</code>"),
        "format and KS were lost with the body: {text}"
    );
}

#[tokio::test]
async fn trap3_types_follow_the_php_runtime_nulls_are_omitted_and_empty_args_are_an_array() {
    let sim = Sim::start(config(300)).await;
    let list = sim
        .list(
            json!({"objectType": "KalturaMediaEntryFilter"}),
            json!({"pageSize": 300}),
        )
        .await;
    let entries = list["objects"].as_array().unwrap();
    assert!(entries
        .iter()
        .all(|e| e["status"].is_number() && e["type"].is_number() && e["sourceType"].is_string()));
    let never = entries
        .iter()
        .find(|e| e["plays"] == 0)
        .expect("some entry was never played");
    assert!(
        never.get("lastPlayedAt").is_none(),
        "null lastPlayedAt is omitted: {never}"
    );
    assert!(entries
        .iter()
        .all(|e| e.as_object().unwrap().values().all(|v| !v.is_null())));
    let flavors = sim.flavors(entries[0]["id"].as_str().unwrap()).await;
    assert!(
        flavors.iter().all(|f| f["version"].is_string()),
        "flavor version is a string on read"
    );
    let err = sim
        .fails(
            "media",
            "list",
            json!({"pager": {"pageIndex": 100, "pageSize": 500}}),
            "QUERY_EXCEEDED_MAX_MATCHES_ALLOWED",
        )
        .await;
    assert_eq!(err["args"], json!([]), "no arguments ⇒ empty JSON array");
    let raw = sim
        .http
        .post(format!("{}/api_v3/service/media/action/get", sim.base))
        .json(&json!({"format": 1, "ks": sim.ks, "entryId": entries[0]["id"]}))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        raw.contains(r"http:\/\/"),
        "slashes escaped as PHP does: {raw}"
    );
}

#[tokio::test]
async fn trap4_errors_come_with_http_200_and_an_expired_ks_is_invalid_ks_expired() {
    let sim = Sim::start(config(3)).await;
    let e = sim
        .fails(
            "media",
            "get",
            json!({"entryId": "0_nope1234"}),
            "ENTRY_ID_NOT_FOUND",
        )
        .await;
    assert_eq!(e["args"]["ENTRY_ID"], "0_nope1234");
    assert_eq!(e["message"], "Entry id \"0_nope1234\" not found");
    // A day later the KS has expired.
    sim.control("/sim/clock/advance", json!({"seconds": 86401}))
        .await;
    let e = sim.fails("media", "list", json!({}), "INVALID_KS").await;
    assert_eq!(e["args"]["KSID"], "EXPIRED");
    assert_eq!(
        e["message"],
        "Invalid KS \"EXPIRED\", Error \"-1,INVALID_STR\""
    );
    let e = sim
        .fails("media", "list", json!({"ks": "garbage"}), "INVALID_KS")
        .await;
    assert_eq!(e["args"]["KSID"], "garbage");
}

#[tokio::test]
async fn trap4_ks_lifetime_is_capped_at_the_partner_maximum() {
    let sim = Sim::start(config(1)).await;
    let ks = sim.call_without_ks("session", "start", json!({"secret": common::SECRET, "partnerId": common::PARTNER, "type": 2, "expiry": 10 * 86400})).await;
    let info = sim.ok("session", "get", json!({"session": ks})).await;
    let now = sim.state().await["now"].as_i64().unwrap();
    assert!(
        (info["expiry"].as_i64().unwrap() - now - 86400).abs() <= 2,
        "{info}"
    );
}

#[tokio::test]
async fn trap5_media_list_returns_only_ready_entries_without_a_status_filter() {
    let sim = Sim::start(config(1000)).await;
    let state = sim.state().await;
    let all = state["entries"].as_array().unwrap();
    let visible = |e: &&Value| {
        e["displayInSearch"].as_i64().unwrap() >= 0
            && ![1, 3].contains(&e["moderationStatus"].as_i64().unwrap())
    };
    let ready = all
        .iter()
        .filter(visible)
        .filter(|e| e["status"] == 2)
        .count();
    let ready_or_no_content = all
        .iter()
        .filter(visible)
        .filter(|e| e["status"] == 2 || e["status"] == 7)
        .count();
    assert!(
        ready_or_no_content > ready,
        "the generated partner has NO_CONTENT entries"
    );
    let default = sim
        .list(
            json!({"objectType": "KalturaMediaEntryFilter"}),
            json!({"pageSize": 1}),
        )
        .await;
    assert_eq!(default["totalCount"], ready);
    let with_status = sim
        .list(
            json!({"objectType": "KalturaMediaEntryFilter", "statusIn": "2,7"}),
            json!({"pageSize": 1}),
        )
        .await;
    assert_eq!(with_status["totalCount"], ready_or_no_content);
}

#[tokio::test]
async fn trap6_lists_stop_at_10000_pages_clamp_at_500_and_a_created_at_cursor_walks_past() {
    let sim = Sim::start(config(10_600)).await;
    let filter = json!({"objectType": "KalturaMediaEntryFilter", "statusIn": "-2,-1,0,1,2,4,7", "moderationStatusIn": "1,2,3,6", "orderBy": "+createdAt"});
    let p = sim
        .list(filter.clone(), json!({"pageSize": 2000, "pageIndex": 1}))
        .await;
    assert_eq!(
        p["objects"].as_array().unwrap().len(),
        500,
        "pageSize silently clamped to 500"
    );
    let total = p["totalCount"].as_u64().unwrap();
    assert!(total > 10_000, "totalCount is the true count: {total}");
    let straddle = sim
        .list(filter.clone(), json!({"pageSize": 300, "pageIndex": 34}))
        .await;
    assert_eq!(
        straddle["objects"].as_array().unwrap().len(),
        100,
        "the page straddling 10,000 is cut at 10,000"
    );
    sim.fails(
        "media",
        "list",
        json!({"filter": filter, "pager": {"pageSize": 500, "pageIndex": 21}}),
        "QUERY_EXCEEDED_MAX_MATCHES_ALLOWED",
    )
    .await;
    let search = json!({"objectType": "KalturaESearchEntryParams", "searchOperator": {"objectType": "KalturaESearchEntryOperator", "operator": 1,
        "searchItems": [{"objectType": "KalturaESearchEntryItem", "fieldName": "created_at", "itemType": 5, "range": {"objectType": "KalturaESearchRange", "greaterThanOrEqual": 0}}]}});
    sim.fails(
        "elasticsearch_esearch",
        "searchEntry",
        json!({"searchParams": search, "pager": {"pageSize": 500, "pageIndex": 21}}),
        "CRITERIA EXCEEDED MAX MATCHES ALLOWED",
    )
    .await;

    // The cursor recipe of §4.3: +createdAt, remember the last second and the ids seen in it.
    let mut seen = std::collections::HashSet::new();
    let mut cursor = common::cursor::Cursor::default();
    loop {
        let mut f = filter.clone();
        cursor.apply(&mut f);
        let page = sim.list(f, json!({"pageSize": 500, "pageIndex": 1})).await;
        let objects = page["objects"].as_array().unwrap();
        for e in objects {
            assert!(
                seen.insert(e["id"].as_str().unwrap().to_string()),
                "no duplicates"
            );
        }
        if objects.len() < 500 {
            break;
        }
        cursor.advance(objects);
    }
    assert_eq!(
        seen.len() as u64,
        total,
        "the cursor walk sees every entry exactly once"
    );
}

#[tokio::test]
async fn trap7_small_time_values_are_relative_to_now() {
    let sim = Sim::start(config(400)).await;
    let base = json!({"objectType": "KalturaMediaEntryFilter"});
    let mut since_now = base.clone();
    since_now["createdAtGreaterThanOrEqual"] = json!(0);
    assert_eq!(
        sim.list(since_now, json!({})).await["totalCount"],
        0,
        "0 means now, not 1970"
    );
    let now = sim.state().await["now"].as_i64().unwrap();
    let mut rel = base.clone();
    rel["lastPlayedAtLessThanOrEqual"] = json!(-3 * YEAR);
    let mut abs = base.clone();
    abs["lastPlayedAtLessThanOrEqual"] = json!(now - 3 * YEAR);
    let (r, a) = (
        sim.list(rel, json!({"pageSize": 500})).await,
        sim.list(abs, json!({"pageSize": 500})).await,
    );
    assert!(r["totalCount"].as_u64().unwrap() > 0);
    assert_eq!(ids(&r), ids(&a));
}

#[tokio::test]
async fn trap8_tags_are_lowercased_deduplicated_and_joined_with_comma_space() {
    let sim = Sim::start(config(1)).await;
    let id = sim.state().await["entries"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let e = sim.ok("media", "update", json!({"entryId": id, "mediaEntry": {"objectType": "KalturaMediaEntry", "tags": " Lecture,PHY,x, lecture ,Archived_To_S3"}})).await;
    assert_eq!(e["tags"], "lecture, phy, archived_to_s3");
    let found = sim
        .list(
            json!({"objectType": "KalturaMediaEntryFilter", "tagsLike": "ARCHIVED_TO_S3"}),
            json!({}),
        )
        .await;
    assert_eq!(ids(&found), vec![id]);
}

#[tokio::test]
async fn trap9_flavor_list_needs_an_entry_id_and_pages_by_30() {
    let sim = Sim::start(config(60)).await;
    let e = sim
        .fails(
            "flavorAsset",
            "list",
            json!({"filter": {"objectType": "KalturaFlavorAssetFilter"}}),
            "PROPERTY_VALIDATION_CANNOT_BE_NULL",
        )
        .await;
    assert_eq!(
        e["args"]["PROP_NAME"],
        "KalturaFlavorAssetFilter::entryIdEqual/KalturaFlavorAssetFilter::entryIdIn"
    );
    let all: Vec<String> = sim.state().await["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_string())
        .collect();
    let filter = json!({"objectType": "KalturaFlavorAssetFilter", "entryIdIn": all.join(",")});
    let page = sim
        .ok("flavorAsset", "list", json!({"filter": filter}))
        .await;
    let total = page["totalCount"].as_u64().unwrap();
    assert!(total > 30);
    assert_eq!(
        page["objects"].as_array().unwrap().len(),
        30,
        "default page of 30"
    );
    let big = sim
        .ok(
            "flavorAsset",
            "list",
            json!({"filter": filter, "pager": {"pageSize": 500}}),
        )
        .await;
    assert_eq!(
        big["objects"].as_array().unwrap().len() as u64,
        total.min(500)
    );
}

#[tokio::test]
async fn trap10_flavor_size_is_kilobytes_and_size_in_bytes_is_exact_or_absent_on_old_assets() {
    let sim = Sim::start(config(400)).await;
    let state = sim.state().await;
    let flavors: Vec<&Value> = state["entries"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|e| e["flavors"].as_array().unwrap())
        .collect();
    let exact = flavors
        .iter()
        .find(|f| f.get("sizeInBytes").is_some() && f["isOriginal"] == true)
        .unwrap();
    let bytes = exact["sizeInBytes"].as_u64().unwrap();
    assert_eq!(
        exact["size"].as_u64().unwrap(),
        (bytes as f64 / 1024.0).round() as u64
    );
    assert!(
        flavors.iter().any(|f| f.get("sizeInBytes").is_none()),
        "old assets report only size"
    );
    let downloaded = sim.download(exact["id"].as_str().unwrap()).await;
    assert_eq!(
        downloaded.len() as u64,
        bytes,
        "the download has exactly sizeInBytes bytes"
    );
}

#[tokio::test]
async fn trap11_deleting_every_flavor_gives_no_content_and_only_then_add_content_works() {
    let sim = Sim::start(config(40)).await;
    let list = sim
        .list(
            json!({"objectType": "KalturaMediaEntryFilter", "mediaTypeEqual": 1}),
            json!({}),
        )
        .await;
    let id = list["objects"][0]["id"].as_str().unwrap().to_string();
    let token = sim.upload(b"placeholder video bytes", 1).await;
    let resource = json!({"objectType": "KalturaUploadedFileTokenResource", "token": token});
    sim.fails(
        "media",
        "addContent",
        json!({"entryId": id, "resource": resource}),
        "ENTRY_ALREADY_WITH_CONTENT",
    )
    .await;
    for f in sim.flavors(&id).await {
        sim.ok("flavorAsset", "delete", json!({"id": f["id"]}))
            .await;
    }
    let e = sim.ok("media", "get", json!({"entryId": id})).await;
    assert_eq!(e["status"], 7);
    assert_eq!(e["flavorParamsIds"], "");
    let e = sim
        .ok(
            "media",
            "addContent",
            json!({"entryId": id, "resource": resource}),
        )
        .await;
    assert_eq!(e["status"], 2, "conversion delay 0: READY at once");
    let flavors = sim.flavors(&id).await;
    let original = flavors.iter().find(|f| f["isOriginal"] == true).unwrap();
    assert_eq!(original["sizeInBytes"], 23);
    assert_eq!(
        sim.download(original["id"].as_str().unwrap()).await,
        b"placeholder video bytes"
    );
}

#[tokio::test]
async fn trap11_update_content_keeps_flavor_ids_and_bumps_versions() {
    let sim = Sim::start(config(40)).await;
    let list = sim
        .list(
            json!({"objectType": "KalturaMediaEntryFilter", "mediaTypeEqual": 1}),
            json!({}),
        )
        .await;
    let entry = list["objects"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["flavorParamsIds"].as_str().unwrap().starts_with("0,"))
        .unwrap();
    let id = entry["id"].as_str().unwrap();
    let before = sim.flavors(id).await;
    let token = sim.upload(&vec![7u8; 5000], 2).await;
    let e = sim.ok("media", "updateContent", json!({"entryId": id, "resource": {"objectType": "KalturaUploadedFileTokenResource", "token": token}})).await;
    assert_eq!(
        e["replacementStatus"], 0,
        "no approval required and instant conversion: replaced at once"
    );
    let after = sim.flavors(id).await;
    for f in &before {
        let same = after
            .iter()
            .find(|a| a["id"] == f["id"])
            .expect("flavor id kept");
        let v: i64 = f["version"].as_str().unwrap().parse().unwrap();
        assert_eq!(same["version"], json!((v + 1).to_string()));
    }
    let original = after.iter().find(|f| f["isOriginal"] == true).unwrap();
    assert_eq!(original["sizeInBytes"], 5000);
}

#[tokio::test]
async fn trap12_uploads_need_a_filename_and_chunks_are_placed_by_resume_at() {
    let mut cfg = config(0);
    cfg.final_chunk_wait_ms = 300;
    let sim = Sim::start(cfg).await;
    let add = || {
        sim.ok(
            "uploadToken",
            "add",
            json!({"uploadToken": {"objectType": "KalturaUploadToken"}}),
        )
    };
    let t = add().await["id"].as_str().unwrap().to_string();
    let r = sim.upload_chunk(&t, b"abc", false, true, -1, None).await;
    assert_eq!(
        error_code(&r),
        Some("UPLOAD_ERROR"),
        "a file part without filename fails"
    );
    let r = sim
        .upload_chunk(&t, b"abc", true, false, 3, Some("x.mp4"))
        .await;
    assert_eq!(
        error_code(&r),
        Some("UPLOAD_TOKEN_CANNOT_RESUME"),
        "resume before any data"
    );
    // Out of order: first chunk, then the third (parked), then the second fills the gap.
    let data: Vec<u8> = (0..30u8).collect();
    assert_eq!(
        sim.upload_chunk(
            &t,
            &data[0..10],
            false,
            false,
            0,
            Some("/home/u/lecture.mov")
        )
        .await["status"],
        1
    );
    assert_eq!(
        sim.upload_chunk(&t, &data[20..25], true, false, 20, Some("c"))
            .await["uploadedFileSize"],
        10,
        "parked"
    );
    assert_eq!(
        sim.upload_chunk(&t, &data[10..20], true, false, 10, Some("c"))
            .await["uploadedFileSize"],
        25,
        "gap filled, parked chunk appended"
    );
    // A final chunk that arrives before the rest fails with CANNOT_MATCH_EXPECTED_SIZE.
    let t2 = add().await["id"].as_str().unwrap().to_string();
    sim.upload_chunk(&t2, &data[0..10], false, false, 0, Some("a"))
        .await;
    let r = sim
        .upload_chunk(&t2, &data[20..30], true, true, 20, Some("a"))
        .await;
    assert_eq!(
        error_code(&r),
        Some("UPLOAD_TOKEN_CANNOT_MATCH_EXPECTED_SIZE")
    );
    // Finish the first token with an empty final chunk; the file name came from the first part.
    let done = sim
        .upload_chunk(&t, &data[25..30], true, false, 25, Some("c"))
        .await;
    assert_eq!(done["uploadedFileSize"], 30);
    let done = sim.upload_chunk(&t, b"", true, true, 30, Some("c")).await;
    assert_eq!(done["status"], 2, "{done}");
    let got = sim
        .ok("uploadToken", "get", json!({"uploadTokenId": t}))
        .await;
    assert_eq!(
        got["fileName"], "lecture.mov",
        "base name of the first part's filename"
    );
    assert_eq!(
        got["uploadedFileSize"], "30",
        "read path returns a numeric string"
    );
    let r = sim
        .upload_chunk(&t, b"more", true, false, 30, Some("c"))
        .await;
    assert_eq!(
        error_code(&r),
        Some("UPLOAD_TOKEN_INVALID_STATUS_FOR_UPLOAD")
    );
}

#[tokio::test]
async fn trap13_xml_envelope_carries_errors_and_lists_as_the_python_client_expects() {
    let sim = Sim::start(config(2)).await;
    let url = format!("{}/api_v3/service/media/action/get", sim.base);
    let body = json!({"format": "2", "ks": sim.ks, "entryId": "0_nope1234"}).to_string();
    let text = sim
        .http
        .post(&url)
        .header("Content-Type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(text.contains("<result><error><code>ENTRY_ID_NOT_FOUND</code><message>Entry id &quot;0_nope1234&quot; not found</message><objectType>KalturaAPIException</objectType><args><item><objectType>KalturaApiExceptionArg</objectType><name>ENTRY_ID</name><value>0_nope1234</value></item></args></error></result>"), "{text}");
}
