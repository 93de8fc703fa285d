//! Typed results, parsed leniently: the service sends numbers as strings and string enums as
//! numbers, and omits null fields (kaltura-api.md §2.2), so every field accepts both forms.

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use crate::codes::{EntryStatus, FlavorStatus, MediaType, ReplacementStatus};

/// Lenient field parsers.
pub mod lenient {
    use super::*;

    fn as_i64(v: &Value) -> Option<i64> {
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

    /// An integer sent as a number or a numeric string; absent, null or empty reads as 0.
    pub fn i64<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
        let v = Value::deserialize(d)?;
        match v {
            Value::Null => Ok(0),
            Value::String(ref s) if s.is_empty() => Ok(0),
            _ => as_i64(&v)
                .ok_or_else(|| serde::de::Error::custom(format!("expected an integer, got {v}"))),
        }
    }

    /// An optional integer: null, absent or empty reads as `None`.
    pub fn opt_i64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
        let v = Value::deserialize(d)?;
        match v {
            Value::Null => Ok(None),
            Value::String(ref s) if s.is_empty() => Ok(None),
            _ => as_i64(&v)
                .map(Some)
                .ok_or_else(|| serde::de::Error::custom(format!("expected an integer, got {v}"))),
        }
    }

    /// A string sent as a string or a number (string enums arrive as numbers).
    pub fn string<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
        Ok(match Value::deserialize(d)? {
            Value::String(s) => s,
            Value::Null => String::new(),
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => if b { "1" } else { "0" }.to_string(),
            other => {
                return Err(serde::de::Error::custom(format!(
                    "expected a string, got {other}"
                )))
            }
        })
    }

    /// A boolean sent as `true`/`false`, `1`/`0` or their strings.
    pub fn bool<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
        Ok(match Value::deserialize(d)? {
            Value::Bool(b) => b,
            Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
            Value::String(s) => !(s.is_empty() || s == "0" || s.eq_ignore_ascii_case("false")),
            _ => false,
        })
    }
}

macro_rules! id_type {
    ($(#[$m:meta])* $name:ident) => {
        $(#[$m])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub String);

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                $name(s.to_string())
            }
        }
    };
}

id_type!(
    /// An entry id, e.g. `1_abcd1234`.
    EntryId
);
id_type!(
    /// A flavor asset id.
    FlavorId
);

impl EntryId {
    /// Parses an entry id (`<partition>_<8 lower-case alphanumerics>`, e.g. `1_abcd1234`),
    /// trimming surrounding blanks.
    pub fn parse(s: &str) -> Result<EntryId, InvalidEntryId> {
        let s = s.trim();
        let ok = s.split_once('_').is_some_and(|(p, rest)| {
            !p.is_empty()
                && p.bytes().all(|b| b.is_ascii_digit())
                && rest.len() == 8
                && rest
                    .bytes()
                    .all(|b| b.is_ascii_digit() || b.is_ascii_lowercase())
        });
        if ok {
            Ok(EntryId(s.to_string()))
        } else {
            Err(InvalidEntryId(s.to_string()))
        }
    }
}

impl std::str::FromStr for EntryId {
    type Err = InvalidEntryId;

    fn from_str(s: &str) -> Result<Self, InvalidEntryId> {
        EntryId::parse(s)
    }
}

/// A string that is not an entry id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a Kaltura entry id (they look like 1_abcd1234)")]
pub struct InvalidEntryId(pub String);

/// A media entry (the fields the archiver reads).
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct MediaEntry {
    /// Entry id.
    pub id: EntryId,
    /// Name.
    #[serde(default, deserialize_with = "lenient::string")]
    pub name: String,
    /// Description.
    #[serde(default, deserialize_with = "lenient::string")]
    pub description: String,
    /// Where Kaltura serves the default thumbnail.
    #[serde(default, deserialize_with = "lenient::string")]
    pub thumbnail_url: String,
    /// Status.
    pub status: EntryStatus,
    /// Video, audio, image, …
    #[serde(default)]
    pub media_type: MediaType,
    /// Created at (Unix seconds).
    #[serde(default, deserialize_with = "lenient::i64")]
    pub created_at: i64,
    /// Updated at.
    #[serde(default, deserialize_with = "lenient::i64")]
    pub updated_at: i64,
    /// Last played at; `None` when never played.
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub last_played_at: Option<i64>,
    /// Plays.
    #[serde(default, deserialize_with = "lenient::i64")]
    pub plays: i64,
    /// Tags, `", "`-joined, lower case.
    #[serde(default, deserialize_with = "lenient::string")]
    pub tags: String,
    /// Category full names, comma-separated.
    #[serde(default, deserialize_with = "lenient::string")]
    pub categories: String,
    /// Category ids, comma-separated.
    #[serde(default, deserialize_with = "lenient::string")]
    pub categories_ids: String,
    /// Owner.
    #[serde(default, deserialize_with = "lenient::string")]
    pub user_id: String,
    /// Creator.
    #[serde(default, deserialize_with = "lenient::string")]
    pub creator_id: String,
    /// Duration in milliseconds.
    #[serde(default, deserialize_with = "lenient::i64")]
    pub ms_duration: i64,
    /// Params ids of READY flavors, comma-separated.
    #[serde(default, deserialize_with = "lenient::string")]
    pub flavor_params_ids: String,
    /// Replacement in progress.
    #[serde(default)]
    pub replacement_status: ReplacementStatus,
    /// Id of the temporary entry of a replacement in progress.
    #[serde(default, deserialize_with = "lenient::string")]
    pub replacing_entry_id: String,
    /// Lists a response profile nested in the entry, by the related profile's name.
    #[serde(default, skip_serializing)]
    pub related_objects: std::collections::BTreeMap<String, ListResponse<FlavorAsset>>,
}

impl MediaEntry {
    /// The entry's tags, lower case.
    pub fn tag_list(&self) -> Vec<String> {
        self.tags
            .split(',')
            .map(|t| t.trim().to_lowercase())
            .filter(|t| !t.is_empty())
            .collect()
    }

    /// Whether the entry carries a tag (case-insensitive, whole tag).
    pub fn has_tag(&self, tag: &str) -> bool {
        let tag = tag.trim().to_lowercase();
        self.tag_list().contains(&tag)
    }
}

/// A flavor asset (the fields the archiver reads).
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct FlavorAsset {
    /// Flavor id.
    pub id: FlavorId,
    /// Owning entry.
    pub entry_id: EntryId,
    /// Params id (`0` = source).
    #[serde(default, deserialize_with = "lenient::i64")]
    pub flavor_params_id: i64,
    /// Content version (bumped when the content changes).
    #[serde(default, deserialize_with = "lenient::i64")]
    pub version: i64,
    /// Size in **kilobytes**, approximate.
    #[serde(default, deserialize_with = "lenient::i64")]
    pub size: i64,
    /// Exact size in bytes; `None` (or 0) on old assets.
    #[serde(default, deserialize_with = "lenient::opt_i64")]
    pub size_in_bytes: Option<i64>,
    /// Status.
    #[serde(default)]
    pub status: FlavorStatus,
    /// The original (source) flavor.
    #[serde(default, deserialize_with = "lenient::bool")]
    pub is_original: bool,
    /// File extension.
    #[serde(default, deserialize_with = "lenient::string")]
    pub file_ext: String,
    /// Tags.
    #[serde(default, deserialize_with = "lenient::string")]
    pub tags: String,
    /// Created at.
    #[serde(default, deserialize_with = "lenient::i64")]
    pub created_at: i64,
}

impl FlavorAsset {
    /// Exact bytes when known (`sizeInBytes` > 0), else `None` — never the kilobyte estimate.
    pub fn exact_bytes(&self) -> Option<u64> {
        self.size_in_bytes.filter(|b| *b > 0).map(|b| b as u64)
    }

    /// Whether the flavor is READY (playable and downloadable).
    pub fn is_ready(&self) -> bool {
        self.status == FlavorStatus::Ready
    }

    /// Bytes for reporting: exact when known, else the kilobyte size × 1024.
    pub fn approx_bytes(&self) -> u64 {
        self.exact_bytes()
            .unwrap_or((self.size.max(0) as u64) * 1024)
    }
}

/// A page of a list call.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ListResponse<T> {
    /// The objects of this page.
    #[serde(default = "Vec::new")]
    pub objects: Vec<T>,
    /// The true number of matches.
    #[serde(default, deserialize_with = "lenient::i64")]
    pub total_count: i64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn entries_parse_with_numbers_as_strings_enums_as_numbers_and_missing_nulls() {
        let e: MediaEntry = serde_json::from_value(json!({
            "id": "0_abc", "status": 2, "mediaType": "1", "createdAt": "1500000000", "plays": "4",
            "tags": "a, b", "objectType": "KalturaMediaEntry"
        }))
        .unwrap();
        assert_eq!(e.status, EntryStatus::Ready);
        assert_eq!(e.media_type, MediaType::Video);
        assert_eq!(e.created_at, 1_500_000_000);
        assert_eq!(e.last_played_at, None);
        assert!(e.has_tag("B"));
        let e: MediaEntry =
            serde_json::from_value(json!({"id": "0_x", "status": "virusScan.Infected"})).unwrap();
        assert_eq!(e.status, EntryStatus::Other("virusScan.Infected".into()));
    }

    #[test]
    fn flavor_size_in_bytes_is_exact_and_kilobytes_are_never_taken_for_bytes() {
        let f: FlavorAsset = serde_json::from_value(json!({
            "id": "0_f", "entryId": "0_e", "version": "2", "size": 17612, "sizeInBytes": 18034560,
            "isOriginal": true, "status": 2
        }))
        .unwrap();
        assert_eq!((f.version, f.exact_bytes()), (2, Some(18_034_560)));
        let old: FlavorAsset = serde_json::from_value(
            json!({"id": "0_f", "entryId": "0_e", "size": 10, "sizeInBytes": 0}),
        )
        .unwrap();
        assert_eq!(old.exact_bytes(), None);
        assert_eq!(old.approx_bytes(), 10 * 1024);
    }

    #[test]
    fn entry_ids_parse_on_the_type_and_malformed_ones_are_refused() {
        assert_eq!(
            EntryId::parse(" 0_abcd1234 "),
            Ok(EntryId("0_abcd1234".into()))
        );
        for bad in [
            "",
            "abcd1234",
            "0_ABCD1234",
            "0_abc",
            "x_abcd1234",
            "0_abcd12345",
        ] {
            assert!(EntryId::parse(bad).is_err(), "{bad}");
        }
    }
}
