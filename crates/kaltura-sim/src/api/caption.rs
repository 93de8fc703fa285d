//! The caption plugin (`caption_captionasset`: `list`, `get`, `getUrl`) and the files it serves,
//! and the entries' thumbnails. A generated entry's captions follow from the seed and its id:
//! about a quarter have none, others one to three languages, in SRT, WebVTT or DFXP as
//! Kaltura stores them. Each caption file and each thumbnail (a real JPEG naming its entry) is
//! a pure function of the entry, so the same bytes come back every time.

use serde_json::{json, Value};

use super::media::paged;
use crate::content::mix64;
use crate::error::{codes, ApiResult};
use crate::model::{entry_status, media_type};
use crate::params::Obj;
use crate::world::World;

/// One caption asset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caption {
    /// Asset id.
    pub id: String,
    /// Its entry.
    pub entry_id: String,
    /// Language name, as Kaltura writes it (`English`).
    pub language: &'static str,
    /// Language code (`en`).
    pub code: &'static str,
    /// KalturaCaptionType: 1 SRT, 2 DFXP, 3 WEBVTT.
    pub format: i32,
    /// File extension.
    pub ext: &'static str,
    /// Created (Unix seconds).
    pub created_at: i64,
}

const LANGUAGES: &[(&str, &str, i32, &str)] = &[
    ("English", "en", 1, "srt"),
    ("Spanish", "es", 3, "vtt"),
    ("French", "fr", 3, "vtt"),
    ("German", "de", 2, "xml"),
];

fn hash(w: &World, s: &str, salt: u64) -> u64 {
    s.bytes()
        .fold(w.settings.seed ^ salt, |h, b| mix64(h ^ u64::from(b)))
}

/// The captions of entry `i`, in language order.
pub fn of_entry(w: &World, i: usize) -> Vec<Caption> {
    let e = &w.entries[i];
    let has_media = matches!(e.media_type, media_type::VIDEO | media_type::AUDIO);
    if !has_media || e.status == entry_status::DELETED {
        return Vec::new();
    }
    let h = hash(w, &e.id, 0xCA97);
    let count = match h % 4 {
        0 => 0,
        1 => 1,
        2 => 2,
        _ => 3,
    };
    LANGUAGES
        .iter()
        .take(count)
        .enumerate()
        .map(|(n, (language, code, format, ext))| {
            let id_hash = hash(w, &format!("{}/{code}", e.id), 0x1D);
            Caption {
                id: format!("1_{}", base36(id_hash, 8)),
                entry_id: e.id.clone(),
                language,
                code,
                format: *format,
                ext,
                created_at: e.created_at + 3600 * (n as i64 + 1),
            }
        })
        .collect()
}

fn base36(mut v: u64, len: usize) -> String {
    const DIGITS: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    (0..len)
        .map(|_| {
            let d = DIGITS[(v % 36) as usize] as char;
            v /= 36;
            d
        })
        .collect()
}

/// The caption asset with this id.
pub fn find(w: &World, id: &str) -> Option<Caption> {
    (0..w.entries.len())
        .flat_map(|i| of_entry(w, i))
        .find(|c| c.id == id)
}

/// The bytes of a caption file.
pub fn content(c: &Caption) -> String {
    let lines: Vec<String> = (1..=3)
        .map(|n| format!("[{}] {} — part {n}", c.code, c.entry_id))
        .collect();
    match c.format {
        1 => lines
            .iter()
            .enumerate()
            .map(|(n, l)| {
                format!(
                    "{}\n00:00:{:02},000 --> 00:00:{:02},000\n{l}\n",
                    n + 1,
                    n * 4,
                    n * 4 + 3
                )
            })
            .collect::<Vec<_>>()
            .join("\n"),
        3 => {
            let cues: Vec<String> = lines
                .iter()
                .enumerate()
                .map(|(n, l)| {
                    format!(
                        "00:00:{:02}.000 --> 00:00:{:02}.000\n{l}\n",
                        n * 4,
                        n * 4 + 3
                    )
                })
                .collect();
            format!("WEBVTT\n\n{}", cues.join("\n"))
        }
        _ => {
            let ps: Vec<String> = lines
                .iter()
                .enumerate()
                .map(|(n, l)| {
                    format!(
                        "      <p begin=\"00:00:{:02}.000\" end=\"00:00:{:02}.000\">{l}</p>",
                        n * 4,
                        n * 4 + 3
                    )
                })
                .collect();
            format!(
                "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<tt xmlns=\"http://www.w3.org/ns/ttml\" xml:lang=\"{}\">\n  <body>\n    <div>\n{}\n    </div>\n  </body>\n</tt>\n",
                c.code,
                ps.join("\n")
            )
        }
    }
}

fn render(w: &World, c: &Caption) -> Value {
    let size = content(c).len();
    json!({
        "id": c.id, "entryId": c.entry_id, "partnerId": w.settings.partner_id,
        "version": "1", "size": size.div_ceil(1024), "tags": "", "fileExt": c.ext,
        "createdAt": c.created_at, "updatedAt": c.created_at, "description": "",
        "sizeInBytes": size, "status": 2, "language": c.language, "languageCode": c.code,
        "isDefault": i32::from(c.code == "en"), "label": c.language, "format": c.format.to_string(),
        "accuracy": 99, "displayOnPlayer": true, "objectType": "KalturaCaptionAsset"
    })
}

/// `caption_captionasset.list`: by `entryIdEqual` or `entryIdIn`, paged.
pub fn list(w: &World, p: Obj<'_>) -> ApiResult<Value> {
    let f = p.obj_or_empty("filter");
    let ids: Vec<String> = match (f.str("entryIdEqual"), f.str("entryIdIn")) {
        (Some(id), _) => vec![id],
        (None, Some(list)) => list.split(',').map(|s| s.trim().to_string()).collect(),
        (None, None) => w.entries.iter().map(|e| e.id.clone()).collect(),
    };
    let all: Vec<Value> = ids
        .iter()
        .filter_map(|id| w.entry_index.get(id))
        .flat_map(|&i| of_entry(w, i))
        .map(|c| render(w, &c))
        .collect();
    Ok(paged(all, p, "KalturaCaptionAssetListResponse"))
}

/// `caption_captionasset.get`.
pub fn get(w: &World, p: Obj<'_>) -> ApiResult<Value> {
    let id = p.required_str("captionAssetId")?;
    find(w, &id)
        .map(|c| render(w, &c))
        .ok_or_else(|| codes::caption_asset_id_not_found(&id))
}

/// `caption_captionasset.getUrl`: where the file is served.
pub fn get_url(w: &World, p: Obj<'_>) -> ApiResult<Value> {
    let id = p.required_str("id")?;
    let c = find(w, &id).ok_or_else(|| codes::caption_asset_id_not_found(&id))?;
    let pid = w.settings.partner_id;
    Ok(json!(format!(
        "{}/p/{pid}/sp/{pid}00/serveCaption/captionAssetId/{}/a.{}",
        w.base_url, c.id, c.ext
    )))
}

/// A small real JPEG (8×8 grey) with the entry id in a comment segment, so each entry's
/// thumbnail differs and still decodes.
pub fn thumbnail(entry_id: &str) -> Vec<u8> {
    const BODY: &[u8] = include_bytes!("thumbnail.jpg");
    let comment = format!("kaltura-sim thumbnail of {entry_id}");
    let len = (comment.len() + 2) as u16;
    let mut out = Vec::with_capacity(BODY.len() + comment.len() + 4);
    out.extend_from_slice(&BODY[..2]); // SOI
    out.extend_from_slice(&[0xFF, 0xFE]);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(comment.as_bytes());
    out.extend_from_slice(&BODY[2..]);
    out
}
