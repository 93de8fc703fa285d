//! Crash points for tests: when `KALTURA_ARCHIVER_FAILPOINT` names a step boundary, the process
//! aborts there (no cleanup, as a crash or a killed task would), so tests can prove that a re-run
//! converges and nothing is lost.

/// The environment variable that names the failpoint.
pub const VAR: &str = "KALTURA_ARCHIVER_FAILPOINT";

/// Every step boundary, in the order a transition passes them (`*.after-delete-flavors` only on
/// partners without the entry-replacement feature).
pub const ALL: &[&str] = &[
    "archive.after-put",
    "archive.after-record",
    "archive.after-tag",
    "replace.after-upload",
    "replace.after-proof",
    "replace.after-delete-flavors",
    "replace.after-update-content",
    "replace.after-tag",
    "restore.after-thaw-request",
    "restore.after-upload",
    "restore.after-delete-flavors",
    "restore.after-update-content",
    "restore.after-record",
    "restore.after-untag",
];

/// Boundaries of owner notices (checked by the notice tests, not the lifecycle's crash walk):
/// after a notice was sent, before its entries record it.
pub const NOTICE: &[&str] = &["notice.after-send"];

/// Aborts the process if `name` is the configured failpoint.
pub fn hit(name: &str) {
    debug_assert!(
        ALL.contains(&name) || NOTICE.contains(&name),
        "unknown failpoint {name}"
    );
    if std::env::var(VAR).is_ok_and(|v| v == name) {
        eprintln!("kaltura-archiver: failpoint {name} reached; aborting");
        std::process::abort();
    }
}
