//! The request parameter tree and lenient accessors (kaltura-api.md §1.2–§1.4).
//!
//! Every request form (JSON body, multipart with a `json` part, flat form fields with `:` or `[]`
//! nesting, query string, path pairs) is turned into one JSON object. Scalars may arrive as strings
//! or native JSON values; the accessors cast them the way the PHP server does.

use bytes::Bytes;
use serde_json::{Map, Value};
use std::collections::HashMap;

use crate::error::{codes, ApiResult};

/// A file part of a multipart request.
#[derive(Debug, Clone)]
pub struct FilePart {
    /// Base name of the part's `filename`.
    pub file_name: String,
    /// The bytes of the part.
    pub data: Bytes,
}

/// Parameters of one request (or one multirequest member) plus its file parts.
#[derive(Debug, Clone, Default)]
pub struct Params {
    /// The parameter tree.
    pub tree: Map<String, Value>,
    /// File parts by parameter name (`fileData`, or `<i>:fileData` in a multirequest).
    pub files: HashMap<String, FilePart>,
}

/// Inserts a flat form key (`a:b:c`, `a[b][c]`) with its value into a tree.
pub fn insert_flat(tree: &mut Map<String, Value>, key: &str, value: &str) {
    let normalized = key.replace("][", ":").replace('[', ":").replace(']', "");
    let parts: Vec<&str> = normalized.split(':').filter(|p| !p.is_empty()).collect();
    if parts.is_empty() {
        return;
    }
    // `name:-` with an empty value means "empty array".
    if parts.len() >= 2 && parts[parts.len() - 1] == "-" {
        let mut node = tree;
        for p in &parts[..parts.len() - 2] {
            node = child_object(node, p);
        }
        node.insert(parts[parts.len() - 2].to_string(), Value::Array(vec![]));
        return;
    }
    let mut node = tree;
    for p in &parts[..parts.len() - 1] {
        node = child_object(node, p);
    }
    node.insert(
        parts[parts.len() - 1].to_string(),
        Value::String(value.to_string()),
    );
}

fn child_object<'a>(node: &'a mut Map<String, Value>, key: &str) -> &'a mut Map<String, Value> {
    let slot = node
        .entry(key.to_string())
        .or_insert_with(|| Value::Object(Map::new()));
    if !slot.is_object() {
        *slot = Value::Object(Map::new());
    }
    slot.as_object_mut().expect("just made an object")
}

/// Casts a scalar to an integer as the server does (strings are parsed, booleans are 0/1).
pub fn to_i64(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)),
        Value::String(s) => {
            let t = s.trim();
            t.parse::<i64>()
                .ok()
                .or_else(|| t.parse::<f64>().ok().map(|f| f as i64))
        }
        Value::Bool(b) => Some(i64::from(*b)),
        _ => None,
    }
}

/// Casts a scalar to a float.
pub fn to_f64(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok(),
        Value::Bool(b) => Some(if *b { 1.0 } else { 0.0 }),
        _ => None,
    }
}

/// Casts a scalar to a boolean: `"false"` in any case is false, otherwise PHP truthiness.
pub fn to_bool(v: &Value) -> bool {
    match v {
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().map(|f| f != 0.0).unwrap_or(false),
        Value::String(s) => {
            let t = s.trim();
            !(t.is_empty() || t == "0" || t.eq_ignore_ascii_case("false"))
        }
        Value::Null => false,
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
    }
}

/// Casts a scalar to a string (numbers and booleans as PHP prints them).
pub fn to_string(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(if *b { "1".into() } else { String::new() }),
        _ => None,
    }
}

/// Lenient read access to one object of the parameter tree.
#[derive(Debug, Clone, Copy)]
pub struct Obj<'a>(pub &'a Map<String, Value>);

static EMPTY: std::sync::OnceLock<Map<String, Value>> = std::sync::OnceLock::new();

impl<'a> Obj<'a> {
    /// An empty object (for absent optional parameters).
    pub fn empty() -> Obj<'static> {
        Obj(EMPTY.get_or_init(Map::new))
    }
    /// The raw value of a field; `__null` markers and JSON nulls read as absent.
    pub fn get(&self, key: &str) -> Option<&'a Value> {
        self.0.get(key).filter(|v| !v.is_null())
    }
    /// Whether the object asks for `key` to be cleared (`key__null`).
    pub fn is_nulled(&self, key: &str) -> bool {
        self.0.contains_key(&format!("{key}__null"))
    }
    /// A non-empty string field.
    pub fn str(&self, key: &str) -> Option<String> {
        self.get(key).and_then(to_string).filter(|s| !s.is_empty())
    }
    /// A string field, possibly empty.
    pub fn str_or_empty(&self, key: &str) -> Option<String> {
        self.get(key).and_then(to_string)
    }
    /// A mandatory non-empty string parameter.
    pub fn required_str(&self, key: &str) -> ApiResult<String> {
        self.str(key).ok_or_else(|| codes::missing_parameter(key))
    }
    /// An integer field (empty strings read as absent).
    pub fn int(&self, key: &str) -> Option<i64> {
        self.get(key)
            .filter(|v| v.as_str() != Some(""))
            .and_then(to_i64)
    }
    /// A float field.
    pub fn float(&self, key: &str) -> Option<f64> {
        self.get(key)
            .filter(|v| v.as_str() != Some(""))
            .and_then(to_f64)
    }
    /// A boolean field with a default.
    pub fn bool_or(&self, key: &str, default: bool) -> bool {
        self.get(key).map(to_bool).unwrap_or(default)
    }
    /// A nested object.
    pub fn obj(&self, key: &str) -> Option<Obj<'a>> {
        self.get(key).and_then(Value::as_object).map(Obj)
    }
    /// A nested object or the empty object.
    pub fn obj_or_empty(&self, key: &str) -> Obj<'a> {
        self.obj(key).unwrap_or(Obj(EMPTY.get_or_init(Map::new)))
    }
    /// A list field: a JSON array, or an object with numeric keys (form encoding) in key order.
    pub fn list(&self, key: &str) -> Vec<&'a Value> {
        match self.get(key) {
            Some(Value::Array(a)) => a.iter().collect(),
            Some(Value::Object(o)) => {
                let mut items: Vec<(i64, &Value)> = o
                    .iter()
                    .filter_map(|(k, v)| k.parse::<i64>().ok().map(|i| (i, v)))
                    .collect();
                items.sort_by_key(|(i, _)| *i);
                items.into_iter().map(|(_, v)| v).collect()
            }
            _ => vec![],
        }
    }
    /// A comma-separated list field, trimmed, empty items dropped.
    pub fn csv(&self, key: &str) -> Option<Vec<String>> {
        self.str(key).map(|s| {
            s.split(',')
                .map(|p| p.trim().to_string())
                .filter(|p| !p.is_empty())
                .collect()
        })
    }
    /// The `objectType` of the object, if any.
    pub fn object_type(&self) -> Option<String> {
        self.str("objectType")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn flat_keys_nest_with_colons_and_brackets() {
        let mut t = Map::new();
        insert_flat(&mut t, "filter:objectType", "KalturaMediaEntryFilter");
        insert_flat(&mut t, "filter[statusIn]", "2,7");
        insert_flat(&mut t, "searchItems:0:value", "x");
        insert_flat(&mut t, "tags:-", "");
        assert_eq!(
            Value::Object(t),
            json!({"filter": {"objectType": "KalturaMediaEntryFilter", "statusIn": "2,7"},
                   "searchItems": {"0": {"value": "x"}}, "tags": []})
        );
    }

    #[test]
    fn booleans_follow_php_truthiness_with_false_string() {
        for (v, want) in [
            (json!("False"), false),
            (json!("false"), false),
            (json!("0"), false),
            (json!(""), false),
            (json!(0), false),
            (json!("True"), true),
            (json!("1"), true),
            (json!(true), true),
            (json!("yes"), true),
        ] {
            assert_eq!(to_bool(&v), want, "{v}");
        }
    }

    #[test]
    fn numbers_arrive_as_strings_or_numbers() {
        assert_eq!(to_i64(&json!("500")), Some(500));
        assert_eq!(to_i64(&json!(500)), Some(500));
        assert_eq!(to_i64(&json!(" 7 ")), Some(7));
        assert_eq!(to_i64(&json!("1.5")), Some(1));
    }
}
