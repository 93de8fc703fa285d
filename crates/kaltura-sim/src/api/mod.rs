//! Action dispatch: one handler module per Kaltura service, the KS gate, injected API faults, and
//! multirequest (kaltura-api.md §2.5).

pub mod caption;
pub mod category;
pub mod esearch;
pub mod flavor;
pub mod media;
pub mod related;
pub mod session;
pub mod upload;
pub mod user;

use serde_json::{Map, Value};
use std::sync::Arc;

use crate::error::codes;
use crate::params::{Obj, Params};
use crate::render::Outcome;
use crate::Sim;

/// The actions of each service the simulator implements (lower case).
const ACTIONS: &[(&str, &[&str])] = &[
    ("session", &["start", "get", "end"]),
    (
        "media",
        &[
            "get",
            "list",
            "count",
            "update",
            "add",
            "delete",
            "addcontent",
            "updatecontent",
            "approvereplace",
            "cancelreplace",
            "updatethumbnail",
        ],
    ),
    ("baseentry", &["get", "list", "count", "update", "delete"]),
    (
        "flavorasset",
        &[
            "list",
            "get",
            "getflavorassetswithparams",
            "geturl",
            "delete",
        ],
    ),
    ("uploadtoken", &["add", "upload", "get", "list", "delete"]),
    ("user", &["get", "list"]),
    ("caption_captionasset", &["list", "get", "geturl"]),
    ("category", &["list"]),
    ("elasticsearch_esearch", &["searchentry"]),
    ("system", &["ping", "gettime"]),
];

/// Runs one action with its parameters and returns its outcome.
pub async fn execute(sim: &Arc<Sim>, service: &str, action: &str, params: Params) -> Outcome {
    let svc = service.to_lowercase();
    let act = action.to_lowercase();
    sim.count(&format!("{svc}.{act}"));
    let Some((_, actions)) = ACTIONS.iter().find(|(s, _)| *s == svc) else {
        return Err(codes::service_does_not_exist(service));
    };
    if !actions.contains(&act.as_str()) {
        return Err(codes::action_does_not_exist(action, service));
    }
    let p = Obj(&params.tree);
    let ks = p.str("ks").unwrap_or_default();
    let needs_ks = !matches!(
        (svc.as_str(), act.as_str()),
        ("session", "start") | ("system", "ping" | "gettime")
    );
    // One lock for the session check and the clock the fault dice need.
    let (user, now_ms) = {
        let mut w = sim.world.lock().expect("world lock");
        let user = if needs_ks {
            session::check(&mut w, Some(&ks), &svc, &act, sim.faults.ks_call_limit())?.user_id
        } else {
            String::new()
        };
        (user, w.now_ms())
    };
    if let Some(e) = sim.faults.api_fault(&svc, &act, now_ms) {
        return Err(e);
    }
    if (svc.as_str(), act.as_str()) == ("uploadtoken", "upload") {
        return upload::upload(sim, &params).await;
    }
    let mut w = sim.world.lock().expect("world lock");
    w.index_lag_ms = sim.faults.index_lag().as_millis() as u64;
    w.advance();
    match (svc.as_str(), act.as_str()) {
        ("session", "start") => session::start(&mut w, p),
        ("session", "get") => session::get(&w, p, &ks),
        ("session", "end") => session::end(&mut w, &ks),
        ("system", "ping") => Ok(Value::Bool(true)),
        ("system", "gettime") => Ok(Value::from(w.now())),
        ("caption_captionasset", "list") => caption::list(&w, p),
        ("category", "list") => category::list(&w, p),
        ("caption_captionasset", "get") => caption::get(&w, p),
        ("caption_captionasset", "geturl") => caption::get_url(&w, p),
        ("media" | "baseentry", "get") => media::get(&w, p),
        ("media" | "baseentry", "list") => media::list(&w, p).and_then(|mut v| {
            if let Some(Value::Object(profile)) = p.get("responseProfile") {
                related::attach(&w, Obj(profile), &mut v)?;
            }
            Ok(v)
        }),
        ("media" | "baseentry", "count") => media::count(&w, p),
        ("media" | "baseentry", "update") => media::update(&mut w, p),
        ("media" | "baseentry", "delete") => media::delete(&mut w, p),
        ("media", "add") => media::add(&mut w, p, &user),
        ("media", "addcontent") => media::add_content(&mut w, p, &sim.faults),
        ("media", "updatecontent") => media::update_content(&mut w, p, &sim.faults),
        ("media", "approvereplace") => media::approve_replace(&mut w, p),
        ("media", "cancelreplace") => media::cancel_replace(&mut w, p),
        ("media", "updatethumbnail") => media::update_thumbnail(&mut w, p),
        ("flavorasset", "list") => flavor::list(&w, p),
        ("flavorasset", "get") => flavor::get(&w, p),
        ("flavorasset", "getflavorassetswithparams") => flavor::with_params(&w, p),
        ("flavorasset", "geturl") => flavor::get_url(&w, p),
        ("flavorasset", "delete") => flavor::delete(&mut w, p),
        ("uploadtoken", "add") => upload::add(&mut w, p, &user),
        ("uploadtoken", "get") => upload::get(&w, p),
        ("uploadtoken", "list") => upload::list(&w, p),
        ("uploadtoken", "delete") => upload::delete(&mut w, p),
        ("user", "get") => user::get(&w, p),
        ("user", "list") => user::list(&w, p),
        ("elasticsearch_esearch", "searchentry") => esearch::search_entry(&w, p),
        _ => Err(codes::action_does_not_exist(action, service)),
    }
}

/// Runs a multirequest: members in key order from the smallest (0 or 1), stopping at the first
/// gap or member without `service`/`action`; top-level `ks`, `clientTag` and `partnerId` are
/// inherited; `{N:result[:path]}` references (N from 1) are replaced; a failing member does not
/// stop the rest. File parts for member *i* arrive as `<i>:fileData`.
pub async fn execute_multi(sim: &Arc<Sim>, params: Params) -> Vec<Outcome> {
    let top = &params.tree;
    let mut keys: Vec<i64> = top.keys().filter_map(|k| k.parse::<i64>().ok()).collect();
    keys.sort_unstable();
    let mut outcomes: Vec<Outcome> = Vec::new();
    let Some(&first) = keys.first() else {
        return outcomes;
    };
    let mut i = first;
    while let Some(Value::Object(member)) = top.get(&i.to_string()) {
        let m = Obj(member);
        let (Some(service), Some(action)) = (m.str("service"), m.str("action")) else {
            break;
        };
        let mut tree: Map<String, Value> = member.clone();
        tree.remove("service");
        tree.remove("action");
        tree.remove("format");
        for inherited in ["ks", "clientTag", "partnerId"] {
            if !tree.contains_key(inherited) {
                if let Some(v) = top.get(inherited) {
                    tree.insert(inherited.to_string(), v.clone());
                }
            }
        }
        let mut tree_value = Value::Object(tree);
        substitute(&mut tree_value, &outcomes);
        let Value::Object(tree) = tree_value else {
            unreachable!("substitution keeps objects")
        };
        let mut files = std::collections::HashMap::new();
        for (name, part) in &params.files {
            if let Some((idx, field)) = name.split_once(':') {
                if idx == i.to_string() {
                    files.insert(field.to_string(), part.clone());
                }
            }
        }
        let outcome = Box::pin(execute(sim, &service, &action, Params { tree, files })).await;
        outcomes.push(outcome);
        i += 1;
    }
    outcomes
}

/// Replaces `{N:result[:a:b]}` references in every string of `v` by the values they point at.
fn substitute(v: &mut Value, outcomes: &[Outcome]) {
    match v {
        Value::String(s) if s.contains(":result") => *s = substitute_str(s, outcomes),
        Value::Array(a) => a.iter_mut().for_each(|x| substitute(x, outcomes)),
        Value::Object(o) => o.values_mut().for_each(|x| substitute(x, outcomes)),
        _ => {}
    }
}

fn substitute_str(s: &str, outcomes: &[Outcome]) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(start) = rest.find('{') {
        let Some(len) = rest[start..].find('}') else {
            break;
        };
        let inner = &rest[start + 1..start + len];
        let mut parts = inner.split(':');
        let n = parts.next().and_then(|n| n.parse::<usize>().ok());
        if let (Some(n), Some("result")) = (n, parts.next()) {
            out.push_str(&rest[..start]);
            let mut cur = outcomes
                .get(n.wrapping_sub(1))
                .and_then(|o| o.as_ref().ok());
            for seg in parts {
                cur = cur.and_then(|c| match c {
                    Value::Object(o) => o.get(seg),
                    Value::Array(a) => seg.parse::<usize>().ok().and_then(|i| a.get(i)),
                    _ => None,
                });
            }
            let text = match cur {
                Some(Value::String(s)) => s.clone(),
                Some(Value::Number(n)) => n.to_string(),
                Some(Value::Bool(b)) => {
                    if *b {
                        "1".into()
                    } else {
                        String::new()
                    }
                }
                _ => String::new(),
            };
            out.push_str(&text);
        } else {
            out.push_str(&rest[..start + len + 1]);
        }
        rest = &rest[start + len + 1..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn result_references_count_from_one_and_follow_paths() {
        let outcomes: Vec<Outcome> = vec![
            Ok(json!({"id": "0_abc", "objects": [{"id": "0_f1"}]})),
            Err(codes::entry_not_found("x")),
        ];
        assert_eq!(substitute_str("{1:result:id}", &outcomes), "0_abc");
        assert_eq!(
            substitute_str("x-{1:result:objects:0:id}-y", &outcomes),
            "x-0_f1-y"
        );
        assert_eq!(substitute_str("{2:result:id}", &outcomes), "");
        assert_eq!(substitute_str("{1:result:nope}", &outcomes), "");
        assert_eq!(substitute_str("{plain}", &outcomes), "{plain}");
    }
}
