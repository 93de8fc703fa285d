//! What a run says on stderr beside its logs (summaries, where the journal went): a plain line,
//! or with `LOG_FORMAT=json` one JSON object like every log line, so that a machine reading
//! stderr (CloudWatch Logs Insights) parses every line.

use std::sync::atomic::{AtomicBool, Ordering};

static JSON: AtomicBool = AtomicBool::new(false);

/// Sets whether stderr is JSON lines (once, at start).
pub fn set_json(on: bool) {
    JSON.store(on, Ordering::Relaxed);
}

/// Whether stderr is JSON lines.
pub fn json() -> bool {
    JSON.load(Ordering::Relaxed)
}

fn stamped(mut v: serde_json::Map<String, serde_json::Value>) -> serde_json::Value {
    v.insert(
        "timestamp".into(),
        serde_json::json!(archiver::time::date_time(archiver::time::now())),
    );
    v.insert("level".into(), serde_json::json!("INFO"));
    serde_json::Value::Object(v)
}

/// One line for the person or machine reading stderr.
pub fn line(message: impl std::fmt::Display) {
    if json() {
        let mut v = serde_json::Map::new();
        v.insert("message".into(), serde_json::json!(message.to_string()));
        eprintln!("{}", stamped(v));
    } else {
        eprintln!("{message}");
    }
}

/// A JSON object on stderr (a run's summary): as it is, or with `LOG_FORMAT=json` stamped like
/// a log line.
pub fn object(v: serde_json::Value) {
    match v {
        serde_json::Value::Object(m) if json() => eprintln!("{}", stamped(m)),
        v => eprintln!("{v}"),
    }
}
