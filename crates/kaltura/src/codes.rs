//! Kaltura's code tables, each written once: entry status, flavor status, media type and entry
//! replacement status. Lenient on the wire (a number or a numeric string; a value the table does
//! not name is kept as sent in `Other`), and named by the lower-case names users type
//! (`no_content`, `video`) and the upper-case names Kaltura documents (`NO_CONTENT`).

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::models::lenient;

macro_rules! code_table {
    (
        $(#[$m:meta])*
        $name:ident ($human:literal): $raw:ty, read by $wire:path {
            $($variant:ident = $code:literal, $label:literal;)*
        }
    ) => {
        $(#[$m])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub enum $name {
            $(#[doc = concat!("`", $label, "` (", stringify!($code), ")")] $variant,)*
            /// A value this table does not name, kept as sent.
            Other($raw),
        }

        impl $name {
            /// Every value the table names, in table order.
            pub const NAMED: &'static [$name] = &[$($name::$variant),*];

            /// The value as Kaltura sends it.
            pub fn code(&self) -> $raw {
                match self {
                    $($name::$variant => $code.into(),)*
                    $name::Other(v) => v.clone(),
                }
            }

            /// The value for a wire code.
            pub fn from_code(code: $raw) -> Self {
                $(if code == $code { return $name::$variant; })*
                $name::Other(code)
            }

            /// Kaltura's upper-case name (`NO_CONTENT`), or the code as sent for an unnamed value.
            pub fn name(&self) -> String {
                match self {
                    $($name::$variant => $label.to_ascii_uppercase(),)*
                    $name::Other(v) => v.to_string(),
                }
            }

            /// The lower-case name users type (`no_content`); `None` for an unnamed value.
            pub fn label(&self) -> Option<&'static str> {
                match self {
                    $($name::$variant => Some($label),)*
                    $name::Other(_) => None,
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.name())
            }
        }

        impl std::str::FromStr for $name {
            type Err = UnknownCode;

            /// A name (either case) or a code the table names.
            #[allow(clippy::cmp_owned)]
            fn from_str(s: &str) -> Result<Self, UnknownCode> {
                let t = s.trim().to_ascii_lowercase();
                $name::NAMED
                    .iter()
                    .find(|v| v.label() == Some(t.as_str()) || v.code().to_string() == t)
                    .cloned()
                    .ok_or_else(|| UnknownCode {
                        table: $human,
                        given: s.to_string(),
                        names: $name::NAMED.iter().filter_map($name::label).collect(),
                    })
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                $wire(d).map($name::from_code)
            }
        }

        impl CodeTable for $name {
            fn wire(&self) -> String {
                self.code().to_string()
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                self.code().serialize(s)
            }
        }
    };
}

/// A name or code that a table does not hold.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {table} {given:?}; use one of {} (or their numbers)", names.join(", "))]
pub struct UnknownCode {
    /// The table.
    pub table: &'static str,
    /// What was given.
    pub given: String,
    /// The names the table accepts.
    pub names: Vec<&'static str>,
}

code_table! {
    /// `KalturaEntryStatus` (a string enum on the wire).
    EntryStatus ("entry status"): String, read by lenient::string {
        ErrorImporting = "-2", "error_importing"; ErrorConverting = "-1", "error_converting";
        Import = "0", "import"; Preconvert = "1", "preconvert"; Ready = "2", "ready";
        Deleted = "3", "deleted"; Pending = "4", "pending"; Moderate = "5", "moderate";
        Blocked = "6", "blocked"; NoContent = "7", "no_content";
    }
}

code_table! {
    /// `KalturaFlavorAssetStatus`.
    FlavorStatus ("flavor status"): i64, read by lenient::i64 {
        Error = -1, "error"; Queued = 0, "queued"; Converting = 1, "converting";
        Ready = 2, "ready"; Deleted = 3, "deleted"; NotApplicable = 4, "not_applicable";
        Temp = 5, "temp"; WaitForConvert = 6, "wait_for_convert"; Importing = 7, "importing";
        Validating = 8, "validating"; Exporting = 9, "exporting";
    }
}

code_table! {
    /// `KalturaMediaType`.
    MediaType ("media type"): i64, read by lenient::i64 {
        Video = 1, "video"; Image = 2, "image"; Audio = 5, "audio";
    }
}

code_table! {
    /// `KalturaEntryReplacementStatus` (a string enum on the wire).
    ReplacementStatus ("replacement status"): String, read by lenient::string {
        None = "0", "none"; ApprovedButNotReady = "1", "approved_but_not_ready";
        ReadyButNotApproved = "2", "ready_but_not_approved";
        NotReadyAndNotApproved = "3", "not_ready_and_not_approved"; Failed = "4", "failed";
    }
}

code_table! {
    /// `KalturaUploadTokenStatus`.
    UploadTokenStatus ("upload token status"): i64, read by lenient::i64 {
        Pending = 0, "pending"; PartialUpload = 1, "partial_upload"; FullUpload = 2, "full_upload";
        Closed = 3, "closed"; TimedOut = 4, "timed_out"; Deleted = 5, "deleted";
    }
}

code_table! {
    /// `KalturaEntryModerationStatus`.
    ModerationStatus ("moderation status"): i64, read by lenient::i64 {
        PendingModeration = 1, "pending_moderation"; Approved = 2, "approved";
        Rejected = 3, "rejected"; Deleted = 4, "deleted";
        FlaggedForReview = 5, "flagged_for_review"; AutoApproved = 6, "auto_approved";
    }
}

/// A `…In` filter value: the codes, comma-joined.
pub fn code_list<T: CodeTable>(values: &[T]) -> String {
    values
        .iter()
        .map(|v| v.wire())
        .collect::<Vec<_>>()
        .join(",")
}

/// What [`code_list`] needs of a code table.
pub trait CodeTable {
    /// The code as it goes into a filter.
    fn wire(&self) -> String;
}

impl EntryStatus {
    /// Every status an existing entry can have (all but DELETED), for lists that must see
    /// entries whatever their status.
    pub fn existing() -> Vec<EntryStatus> {
        EntryStatus::NAMED
            .iter()
            .filter(|s| **s != EntryStatus::Deleted)
            .cloned()
            .collect()
    }
}

impl Default for EntryStatus {
    fn default() -> Self {
        EntryStatus::Other(String::new())
    }
}

#[allow(clippy::derivable_impls)]
impl Default for FlavorStatus {
    fn default() -> Self {
        FlavorStatus::Queued
    }
}

impl Default for MediaType {
    fn default() -> Self {
        MediaType::Other(0)
    }
}

#[allow(clippy::derivable_impls)]
impl Default for ReplacementStatus {
    fn default() -> Self {
        ReplacementStatus::None
    }
}

impl ReplacementStatus {
    /// Whether Kaltura waits for `approveReplace` (partners that require approval).
    pub fn awaits_approval(&self) -> bool {
        matches!(
            self,
            ReplacementStatus::ReadyButNotApproved | ReplacementStatus::NotReadyAndNotApproved
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn codes_read_from_numbers_and_strings_and_unnamed_values_are_kept() {
        let s: EntryStatus = serde_json::from_value(json!(7)).unwrap();
        assert_eq!(s, EntryStatus::NoContent);
        let s: EntryStatus = serde_json::from_value(json!("virusScan.Infected")).unwrap();
        assert_eq!(s, EntryStatus::Other("virusScan.Infected".into()));
        assert_eq!(s.name(), "virusScan.Infected");
        let f: FlavorStatus = serde_json::from_value(json!("2")).unwrap();
        assert_eq!(f, FlavorStatus::Ready);
        let m: MediaType = serde_json::from_value(json!(201)).unwrap();
        assert_eq!(m, MediaType::Other(201));
        assert_eq!(
            serde_json::to_value(EntryStatus::Ready).unwrap(),
            json!("2")
        );
        assert_eq!(serde_json::to_value(MediaType::Audio).unwrap(), json!(5));
    }

    #[test]
    fn names_and_codes_parse_and_unknown_names_list_the_known_ones() {
        assert_eq!(
            "no_content".parse::<EntryStatus>(),
            Ok(EntryStatus::NoContent)
        );
        assert_eq!("READY".parse::<EntryStatus>(), Ok(EntryStatus::Ready));
        assert_eq!(
            "-1".parse::<EntryStatus>(),
            Ok(EntryStatus::ErrorConverting)
        );
        assert_eq!("5".parse::<MediaType>(), Ok(MediaType::Audio));
        let e = "movie".parse::<MediaType>().unwrap_err();
        assert!(e.to_string().contains("video, image, audio"), "{e}");
        assert_eq!(EntryStatus::NoContent.to_string(), "NO_CONTENT");
        assert_eq!(FlavorStatus::default(), FlavorStatus::Queued);
    }
}
