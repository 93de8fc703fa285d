//! `session.start/get/end` and the KS check every other action passes (kaltura-api.md §3).

use base64::Engine;
use serde_json::{json, Value};

use crate::content::mix64;
use crate::error::{codes, ApiResult};
use crate::model::Session;
use crate::params::Obj;
use crate::world::World;

/// `session.start`: checks partner, secret and type; caps the lifetime; mints a `djJ8…` KS.
pub fn start(w: &mut World, p: Obj<'_>) -> ApiResult<Value> {
    let secret = p.required_str("secret")?;
    let pid = p.int("partnerId").unwrap_or(-1);
    let session_type = p.int("type").unwrap_or(0);
    let s = &w.settings;
    let secret_ok = match session_type {
        2 => secret == s.admin_secret,
        0 => secret == s.admin_secret || secret == s.user_secret,
        _ => false,
    };
    if pid != s.partner_id || !secret_ok {
        return Err(codes::start_session_error(&pid.to_string()));
    }
    let requested = p.int("expiry").filter(|e| *e > 0).unwrap_or(86400);
    let lifetime = requested.min(s.ks_max_expiry_secs);
    let n = w.sessions.len() as u64;
    let mut raw = format!("v2|{pid}|").into_bytes();
    let salt = mix64(w.settings.seed ^ mix64(n ^ w.now_ms()));
    for i in 0..5u64 {
        raw.extend_from_slice(&mix64(salt ^ i).to_le_bytes());
    }
    let ks = base64::engine::general_purpose::URL_SAFE.encode(raw);
    let session = Session {
        partner_id: pid,
        user_id: p.str("userId").unwrap_or_default(),
        session_type,
        expires_at: w.now() + lifetime,
        privileges: p.str("privileges").unwrap_or_default(),
        calls: 0,
        revoked: None,
    };
    w.sessions.insert(ks.clone(), session);
    Ok(Value::String(ks))
}

/// Checks the KS of a call: none ⇒ `SERVICE_FORBIDDEN`; unknown ⇒ `INVALID_KS` naming it;
/// expired, over its call budget or ended ⇒ `INVALID_KS` with `EXPIRED` / `LOGOUT`.
pub fn check(
    w: &mut World,
    ks: Option<&str>,
    service: &str,
    action: &str,
    call_limit: Option<u64>,
) -> ApiResult<Session> {
    let ks = match ks {
        Some(k) if !k.is_empty() => k,
        _ => return Err(codes::service_forbidden(service, action)),
    };
    let now = w.now();
    let Some(s) = w.sessions.get_mut(ks) else {
        return Err(codes::invalid_ks(ks));
    };
    if let Some(reason) = s.revoked {
        return Err(codes::invalid_ks(reason));
    }
    if now >= s.expires_at {
        return Err(codes::invalid_ks("EXPIRED"));
    }
    s.calls += 1;
    if call_limit.is_some_and(|n| s.calls > n) {
        s.revoked = Some("EXPIRED");
        return Err(codes::invalid_ks("EXPIRED"));
    }
    Ok(s.clone())
}

/// `session.get`: the `KalturaSessionInfo` of a KS (the given one, or the caller's).
pub fn get(w: &World, p: Obj<'_>, own_ks: &str) -> ApiResult<Value> {
    let ks = p.str("session").unwrap_or_else(|| own_ks.to_string());
    let s = w.sessions.get(&ks).ok_or_else(|| codes::invalid_ks(&ks))?;
    Ok(json!({
        "ks": ks, "sessionType": s.session_type, "partnerId": s.partner_id, "userId": s.user_id,
        "expiry": s.expires_at, "privileges": s.privileges, "objectType": "KalturaSessionInfo"
    }))
}

/// `session.end`: the KS becomes invalid (`LOGOUT`).
pub fn end(w: &mut World, own_ks: &str) -> ApiResult<Value> {
    if let Some(s) = w.sessions.get_mut(own_ks) {
        s.revoked = Some("LOGOUT");
    }
    Ok(Value::Null)
}
