//! The `createdAt` cursor of kaltura-api.md §4.3, as a client walks past the 10,000-result cap:
//! order by `+createdAt`, remember the last second seen and the ids seen in it, and ask for
//! `createdAtGreaterThanOrEqual = T` without those ids. Shared by the tests and the bench.

use serde_json::{json, Value};

/// Where a walk stands.
#[derive(Debug, Default)]
pub struct Cursor {
    last: Option<(i64, Vec<String>)>,
}

impl Cursor {
    /// Adds the cursor's bounds to a `KalturaMediaEntryFilter`.
    pub fn apply(&self, filter: &mut Value) {
        if let Some((t, ids)) = &self.last {
            filter["createdAtGreaterThanOrEqual"] = json!(t);
            filter["idNotIn"] = json!(ids.join(","));
        }
    }

    /// Moves past a page of entries (in `+createdAt` order).
    pub fn advance(&mut self, objects: &[Value]) {
        let Some(last) = objects.last().and_then(|e| e["createdAt"].as_i64()) else {
            return;
        };
        let mut at_last = match self.last.take() {
            Some((t, prev)) if t == last => prev,
            _ => vec![],
        };
        at_last.extend(
            objects
                .iter()
                .filter(|e| e["createdAt"] == last)
                .map(|e| e["id"].as_str().unwrap_or_default().to_string()),
        );
        self.last = Some((last, at_last));
    }
}
