//! The tags the archiver writes on entries; the same names as the reference tool, so existing
//! archives keep working.

/// Set once a verified archive copy exists.
pub const ARCHIVED: &str = "archived_to_s3";
/// Set once the flavors were replaced by the placeholder.
pub const REPLACED: &str = "flavors_deleted";
