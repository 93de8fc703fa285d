//! The `user` service (`get`, `list` by id): the partner's users are the owners of its entries
//! (and any user a test names), each with an e-mail address unless the seed says otherwise —
//! about one in eight has none, as accounts made by integrations often lack one. A test changes
//! an owner or an address with `POST /sim/owner`.

use serde_json::{json, Value};

use super::media::{list_response, pager};
use crate::content::mix64;
use crate::error::{codes, ApiResult};
use crate::params::Obj;
use crate::world::World;

/// A user's address: the one a test set, else one derived from the id and the seed.
pub fn email(w: &World, user_id: &str) -> Option<String> {
    if let Some(set) = w.user_emails.get(user_id) {
        return set.clone();
    }
    let h = user_id
        .bytes()
        .fold(w.settings.seed ^ 0x5eed, |h, b| mix64(h ^ u64::from(b)));
    (h % 8 != 0).then(|| format!("{user_id}@example.edu"))
}

/// Whether the partner has this user: an entry's owner or creator, or one a test named.
fn exists(w: &World, user_id: &str) -> bool {
    !user_id.is_empty()
        && (w.user_emails.contains_key(user_id)
            || w.entries
                .iter()
                .any(|e| e.user_id == user_id || e.creator_id == user_id))
}

fn render(w: &World, user_id: &str) -> Value {
    let mut u = json!({
        "id": user_id, "partnerId": w.settings.partner_id, "screenName": user_id,
        "fullName": user_id, "status": 1, "isAdmin": false, "createdAt": 1262304000,
        "updatedAt": 1262304000, "objectType": "KalturaUser"
    });
    if let Some(e) = email(w, user_id) {
        u["email"] = json!(e);
    }
    u
}

/// `user.get`.
pub fn get(w: &World, p: Obj<'_>) -> ApiResult<Value> {
    let id = p.required_str("userId")?;
    if !exists(w, &id) {
        return Err(codes::invalid_user_id());
    }
    Ok(render(w, &id))
}

/// `user.list`: by `idIn`/`idEqual` (what the archiver asks), paged.
pub fn list(w: &World, p: Obj<'_>) -> ApiResult<Value> {
    let f = p.obj_or_empty("filter");
    let ids: Vec<String> = f
        .str("idEqual")
        .map(|i| vec![i])
        .or_else(|| f.csv("idIn"))
        .unwrap_or_default();
    let found: Vec<String> = ids.into_iter().filter(|i| exists(w, i)).collect();
    let (size, index) = pager(p.obj_or_empty("pager"));
    let objects = found
        .iter()
        .skip((index - 1) * size)
        .take(size)
        .map(|i| render(w, i))
        .collect();
    Ok(list_response(
        objects,
        found.len(),
        "KalturaUserListResponse",
    ))
}
