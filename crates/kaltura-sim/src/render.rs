//! Response rendering: JSON (`format=1`) exactly as the PHP serializer produces it, and the XML
//! envelope (`format=2` or no format) that the official Python client needs (kaltura-api.md §2).

use serde_json::Value;

use crate::error::ApiError;

/// The response format a request asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `format=1`.
    Json,
    /// `format=2`, and the default when `format` is missing: every declared field written.
    Xml,
    /// XML with `ignoreNull=1`: null fields left out, as JSON does.
    XmlIgnoreNull,
}

/// The outcome of one action: a result value or an API error.
pub type Outcome = Result<Value, ApiError>;

/// Renders one outcome as a complete response body; returns (content type, body).
pub fn render(format: Format, outcome: &Outcome) -> (&'static str, String) {
    match format {
        Format::Json => ("application/json", outcome_text(outcome)),
        Format::Xml | Format::XmlIgnoreNull => (
            "text/xml",
            xml_envelope(&outcome_xml(outcome, format == Format::Xml)),
        ),
    }
}

/// Renders the results of a multirequest (a JSON array / a list of XML items).
pub fn render_multi(format: Format, outcomes: &[Outcome]) -> (&'static str, String) {
    match format {
        Format::Json => {
            let items: Vec<String> = outcomes.iter().map(outcome_text).collect();
            ("application/json", format!("[{}]", items.join(",")))
        }
        Format::Xml | Format::XmlIgnoreNull => {
            let mut inner = String::new();
            for o in outcomes {
                inner.push_str("<item>");
                inner.push_str(&outcome_xml(o, format == Format::Xml));
                inner.push_str("</item>");
            }
            ("text/xml", xml_envelope(&inner))
        }
    }
}

/// The JSON text of an outcome (errors as `KalturaAPIException` objects), without copying it.
fn outcome_text(outcome: &Outcome) -> String {
    match outcome {
        Ok(v) => json_text(v),
        Err(e) => json_text(&e.to_json()),
    }
}

/// Serializes JSON the way PHP's `json_encode` does by default: `/` is escaped as `\/`.
/// (A `/` can only occur inside JSON strings, so the replacement is safe.)
pub fn json_text(v: &Value) -> String {
    serde_json::to_string(v)
        .expect("JSON values serialize")
        .replace('/', "\\/")
}

fn xml_envelope(inner: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?><xml><result>{inner}</result><executionTime>0.001</executionTime></xml>"
    )
}

fn outcome_xml(outcome: &Outcome, all_fields: bool) -> String {
    match outcome {
        Ok(v) => value_xml(v, all_fields),
        Err(e) => {
            let mut s = format!(
                "<error><code>{}</code><message>{}</message><objectType>KalturaAPIException</objectType><args>",
                escape(&e.code),
                escape(&e.message)
            );
            for (k, v) in &e.args {
                s.push_str(&format!(
                    "<item><objectType>KalturaApiExceptionArg</objectType><name>{}</name><value>{}</value></item>",
                    escape(k),
                    escape(v)
                ));
            }
            s.push_str("</args></error>");
            s
        }
    }
}

/// The XML content of a value: objects as child elements with `objectType` first and every
/// declared field after it, arrays as `<item>` lists, booleans as 1/0, null as nothing.
fn value_xml(v: &Value, all_fields: bool) -> String {
    match v {
        Value::Null => String::new(),
        Value::Bool(b) => if *b { "1" } else { "0" }.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => escape(s),
        Value::Array(a) => a
            .iter()
            .map(|i| format!("<item>{}</item>", value_xml(i, all_fields)))
            .collect(),
        // A map (`relatedObjects`): no objectType, objects as values ⇒ `<item><itemKey>`.
        Value::Object(o)
            if !o.is_empty()
                && !o.contains_key("objectType")
                && o.values().all(Value::is_object) =>
        {
            o.iter()
                .map(|(k, v)| {
                    format!(
                        "<item><itemKey>{}</itemKey>{}</item>",
                        escape(k),
                        value_xml(v, all_fields)
                    )
                })
                .collect()
        }
        Value::Object(o) => {
            let mut s = String::new();
            let object_type = o.get("objectType").and_then(Value::as_str);
            if let Some(t) = o.get("objectType") {
                s.push_str(&format!(
                    "<objectType>{}</objectType>",
                    value_xml(t, all_fields)
                ));
            }
            // Every declared field of the class, empty when null or absent (kaltura-api.md §2.4),
            // then whatever else the object carries.
            let declared = object_type
                .and_then(crate::declared::fields)
                .filter(|_| all_fields)
                .unwrap_or(&[]);
            for k in declared {
                let text = o
                    .get(*k)
                    .map(|v| value_xml(v, all_fields))
                    .unwrap_or_default();
                s.push_str(&format!("<{k}>{text}</{k}>"));
            }
            for (k, val) in o {
                if k == "objectType" || declared.contains(&k.as_str()) {
                    continue;
                }
                if val.is_null() && !all_fields {
                    continue;
                }
                s.push_str(&format!("<{k}>{}</{k}>", value_xml(val, all_fields)));
            }
            s
        }
    }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::codes;
    use serde_json::json;

    #[test]
    fn json_errors_without_args_have_an_empty_array() {
        let (_, body) = render(Format::Json, &Err(codes::query_exceeded_max_matches()));
        let v: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["args"], json!([]));
        assert_eq!(v["objectType"], "KalturaAPIException");
    }

    #[test]
    fn json_escapes_slashes_like_php() {
        assert_eq!(json_text(&json!("http://x/y")), "\"http:\\/\\/x\\/y\"");
    }

    #[test]
    fn xml_writes_every_declared_field_empty_when_null_and_json_omits_them() {
        let entry = json!({"id": "0_a", "lastPlayedAt": null, "objectType": "KalturaMediaEntry"});
        let (_, xml) = render(Format::Xml, &Ok(entry.clone()));
        assert!(xml.contains("<lastPlayedAt></lastPlayedAt>"), "{xml}");
        assert!(xml.contains("<description></description>"), "{xml}");
        assert!(
            xml.contains("<replacingEntryId></replacingEntryId>"),
            "{xml}"
        );
        assert!(xml.find("<id>") < xml.find("<name>"), "schema order: {xml}");
        let (_, json) = render(
            Format::Json,
            &Ok(json!({"id": "0_a", "objectType": "KalturaMediaEntry"})),
        );
        assert!(!json.contains("description"), "{json}");
    }

    #[test]
    fn xml_writes_maps_as_items_with_their_keys() {
        let entry = json!({"id": "0_a", "objectType": "KalturaMediaEntry", "relatedObjects":
            {"flavors": {"objects": [], "totalCount": 0, "objectType": "KalturaFlavorAssetListResponse"}}});
        let (_, xml) = render(Format::Xml, &Ok(entry));
        assert!(
            xml.contains("<relatedObjects><item><itemKey>flavors</itemKey><objectType>KalturaFlavorAssetListResponse</objectType>"),
            "{xml}"
        );
    }

    #[test]
    fn xml_puts_object_type_first_and_wraps_result() {
        let (_, body) = render(
            Format::Xml,
            &Ok(json!({"id": "0_a", "ok": true, "objectType": "T"})),
        );
        assert!(body.contains("<result><objectType>T</objectType><id>0_a</id><ok>1</ok></result>"));
    }
}
