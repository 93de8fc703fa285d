//! Test control endpoints under `/sim/` — not part of the real API:
//!
//! | route | does |
//! | --- | --- |
//! | `GET /sim/state` | dumps every entry (with all its flavors, deleted ones included), token and category as JSON |
//! | `POST /sim/reset` | regenerates the partner from its configuration |
//! | `POST /sim/play` `{"entryId", "at"?, "count"?}` | records plays (bumps `plays` and `lastPlayedAt`, at once or at the next refresh) |
//! | `POST /sim/analytics/refresh` | counts the recorded plays (when started with analytics lag) |
//! | `GET /sim/clock`, `POST /sim/clock/advance` `{"seconds"}` | reads / moves the simulated clock |
//! | `GET/POST/DELETE /sim/faults` `{"rules": ["media.list:error=0.1", …]}` | reads / replaces / clears fault rules |
//! | `GET /sim/counters`, `POST /sim/counters/reset` | per-action call counters (`media.list`, `http.api`, `serveflavor`, …) |
//! | `POST /sim/ks/expire` `{"ks"?}` | expires one KS, or all |
//! | `POST /sim/entries` `{"count", "createdAt"?}` | generates more entries; returns their ids |
//! | `POST /sim/owner` `{"userId", "entryId"?, "email"?}` | sets an entry's owner, a user's address (null: none) |
//! | `POST /sim/settings` `{"conversionDelayMs"?, "replacementEnabled"?, "approvalRequired"?, "analyticsLag"?, "gzip"?, "downloadMbps"?, "uploadMbps"?}` | changes server switches |

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};
use std::sync::Arc;

use crate::faults::FaultRule;
use crate::params::Obj;
use crate::Sim;

/// The control routes.
pub fn routes() -> Router<Arc<Sim>> {
    Router::new()
        .route("/sim/state", get(state))
        .route("/sim/reset", post(reset))
        .route("/sim/play", post(play))
        .route("/sim/analytics/refresh", post(refresh))
        .route("/sim/clock", get(clock))
        .route("/sim/clock/advance", post(advance_clock))
        .route(
            "/sim/faults",
            get(get_faults).post(set_faults).delete(clear_faults),
        )
        .route("/sim/counters", get(counters))
        .route("/sim/counters/reset", post(reset_counters))
        .route("/sim/ks/expire", post(expire_ks))
        .route("/sim/entries", post(add_entries))
        .route("/sim/settings", post(settings))
        .route("/sim/owner", post(owner))
}

fn bad_request(msg: String) -> Response {
    (StatusCode::BAD_REQUEST, Json(json!({"error": msg}))).into_response()
}

fn body_obj(body: &Option<Json<Value>>) -> serde_json::Map<String, Value> {
    body.as_ref()
        .and_then(|Json(v)| v.as_object().cloned())
        .unwrap_or_default()
}

/// The whole partner as JSON.
pub fn dump(sim: &Sim) -> Value {
    let mut w = sim.world.lock().expect("world lock");
    w.advance();
    let entries: Vec<Value> = (0..w.entries.len())
        .map(|i| {
            let mut e = w.render_entry(i);
            let flavors: Vec<Value> = w.entries[i]
                .flavors
                .iter()
                .map(|&f| w.render_flavor(f))
                .collect();
            e["flavors"] = Value::Array(flavors);
            e
        })
        .collect();
    let mut tokens: Vec<Value> = w
        .tokens
        .values()
        .map(|t| t.to_json(w.settings.partner_id, false))
        .collect();
    tokens.sort_by(|a, b| a["id"].as_str().cmp(&b["id"].as_str()));
    let categories: Vec<Value> = w
        .categories
        .iter()
        .map(|c| json!({"id": c.id, "fullName": c.full_name, "parentId": c.parent}))
        .collect();
    json!({"partnerId": w.settings.partner_id, "now": w.now(), "entries": entries,
           "uploadTokens": tokens, "categories": categories})
}

async fn state(State(sim): State<Arc<Sim>>) -> Json<Value> {
    Json(dump(&sim))
}

async fn reset(State(sim): State<Arc<Sim>>) -> Json<Value> {
    sim.reset();
    Json(json!({"ok": true}))
}

async fn play(State(sim): State<Arc<Sim>>, body: Option<Json<Value>>) -> Response {
    let b = body_obj(&body);
    let o = Obj(&b);
    let Some(id) = o.str("entryId") else {
        return bad_request("entryId is required".into());
    };
    let mut w = sim.world.lock().expect("world lock");
    let at = o.int("at").unwrap_or_else(|| w.now());
    for _ in 0..o.int("count").unwrap_or(1).max(1) {
        if let Err(e) = w.record_play(&id, at) {
            return bad_request(e.message);
        }
    }
    Json(json!({"ok": true, "pending": w.pending_plays.len()})).into_response()
}

/// Changes an entry's owner (`entryId`, `userId`) and/or a user's address (`userId`, `email`:
/// a string, or null for none).
async fn owner(State(sim): State<Arc<Sim>>, body: Option<Json<Value>>) -> Response {
    let b = body_obj(&body);
    let o = Obj(&b);
    let Some(user) = o.str("userId") else {
        return bad_request("userId is required".into());
    };
    let mut w = sim.world.lock().expect("world lock");
    if let Some(id) = o.str("entryId") {
        match w.entry_idx(&id) {
            Ok(i) => w.entries[i].user_id = user.clone(),
            Err(e) => return bad_request(e.message),
        }
    }
    // `"email": null` (present, null) takes the address away; absent leaves it.
    if let Some(email) = b.get("email") {
        w.user_emails
            .insert(user.clone(), email.as_str().map(str::to_string));
    }
    let email = crate::api::user::email(&w, &user);
    Json(json!({"userId": user, "email": email})).into_response()
}

async fn refresh(State(sim): State<Arc<Sim>>) -> Json<Value> {
    let n = sim.world.lock().expect("world lock").refresh_analytics();
    Json(json!({"counted": n}))
}

async fn clock(State(sim): State<Arc<Sim>>) -> Json<Value> {
    let w = sim.world.lock().expect("world lock");
    Json(json!({"now": w.now(), "nowMs": w.now_ms(), "offsetMs": w.clock_offset_ms}))
}

async fn advance_clock(State(sim): State<Arc<Sim>>, body: Option<Json<Value>>) -> Response {
    let b = body_obj(&body);
    let Some(secs) = Obj(&b).float("seconds") else {
        return bad_request("seconds is required".into());
    };
    let mut w = sim.world.lock().expect("world lock");
    w.clock_offset_ms += (secs * 1000.0) as i64;
    w.advance();
    Json(json!({"now": w.now()})).into_response()
}

fn rules_json(sim: &Sim) -> Value {
    json!({"rules": sim.faults.rules().iter().map(|r| format!("{r:?}")).collect::<Vec<_>>()})
}

async fn get_faults(State(sim): State<Arc<Sim>>) -> Json<Value> {
    Json(rules_json(&sim))
}

async fn set_faults(State(sim): State<Arc<Sim>>, body: Option<Json<Value>>) -> Response {
    let b = body_obj(&body);
    let specs = Obj(&b).list("rules");
    let mut rules = Vec::new();
    for s in specs {
        match s.as_str().map(str::parse::<FaultRule>) {
            Some(Ok(r)) => rules.push(r),
            Some(Err(e)) => return bad_request(e),
            None => {
                return bad_request("rules must be strings like \"media.list:error=0.1\"".into())
            }
        }
    }
    sim.faults.set(rules);
    Json(rules_json(&sim)).into_response()
}

async fn clear_faults(State(sim): State<Arc<Sim>>) -> Json<Value> {
    sim.faults.set(vec![]);
    Json(rules_json(&sim))
}

async fn counters(State(sim): State<Arc<Sim>>) -> Json<Value> {
    Json(json!(sim.counters()))
}

async fn reset_counters(State(sim): State<Arc<Sim>>) -> Json<Value> {
    sim.reset_counters();
    Json(json!({"ok": true}))
}

async fn expire_ks(State(sim): State<Arc<Sim>>, body: Option<Json<Value>>) -> Json<Value> {
    let b = body_obj(&body);
    let only = Obj(&b).str("ks");
    let mut w = sim.world.lock().expect("world lock");
    let mut n = 0;
    for (ks, s) in w.sessions.iter_mut() {
        if only.as_ref().is_none_or(|o| o == ks) {
            s.revoked = Some("EXPIRED");
            n += 1;
        }
    }
    Json(json!({"expired": n}))
}

async fn add_entries(State(sim): State<Arc<Sim>>, body: Option<Json<Value>>) -> Json<Value> {
    let b = body_obj(&body);
    let o = Obj(&b);
    let count = o.int("count").unwrap_or(1).max(0) as usize;
    let mut w = sim.world.lock().expect("world lock");
    let salt = w.entries.len() as u64 + 1;
    let ids = crate::generate::add_entries(&mut w, count, salt, o.int("createdAt"));
    Json(json!({"ids": ids}))
}

async fn settings(State(sim): State<Arc<Sim>>, body: Option<Json<Value>>) -> Json<Value> {
    let b = body_obj(&body);
    let o = Obj(&b);
    let mut w = sim.world.lock().expect("world lock");
    let s = &mut w.settings;
    if let Some(v) = o.int("conversionDelayMs") {
        s.conversion_delay_ms = v.max(0) as u64;
    }
    if o.get("replacementEnabled").is_some() {
        s.replacement_enabled = o.bool_or("replacementEnabled", true);
    }
    if o.get("approvalRequired").is_some() {
        s.approval_required = o.bool_or("approvalRequired", false);
    }
    if o.get("analyticsLag").is_some() {
        s.analytics_lag = o.bool_or("analyticsLag", false);
    }
    if o.get("gzip").is_some() {
        s.gzip = o.bool_or("gzip", false);
    }
    // A number shapes the link, 0 or null takes the shaping off.
    if let Some(v) = o.get("downloadMbps") {
        s.download_mbps = v.as_f64().filter(|m| *m > 0.0);
    }
    if let Some(v) = o.get("uploadMbps") {
        s.upload_mbps = v.as_f64().filter(|m| *m > 0.0);
    }
    Json(json!({
        "conversionDelayMs": s.conversion_delay_ms, "replacementEnabled": s.replacement_enabled,
        "approvalRequired": s.approval_required, "analyticsLag": s.analytics_lag, "gzip": s.gzip,
        "downloadMbps": s.download_mbps, "uploadMbps": s.upload_mbps
    }))
}
