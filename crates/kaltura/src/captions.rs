//! Caption assets (the caption plugin) and the small files beside an entry: its captions and its
//! thumbnail, fetched whole.

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map};

use crate::client::{Client, Idempotence};
use crate::error::{Error, Result};
use crate::media::MAX_PAGE_SIZE;
use crate::models::{lenient, EntryId};

/// Largest caption file or thumbnail fetched (a sidecar, not a recording).
pub const MAX_SMALL_FILE: usize = 32 << 20;

/// A caption asset (the fields the archiver keeps).
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct CaptionAsset {
    /// Asset id.
    #[serde(deserialize_with = "lenient::string")]
    pub id: String,
    /// Its entry.
    #[serde(deserialize_with = "lenient::string")]
    pub entry_id: String,
    /// Language name (`English`).
    #[serde(default, deserialize_with = "lenient::string")]
    pub language: String,
    /// Language code (`en`).
    #[serde(default, deserialize_with = "lenient::string")]
    pub language_code: String,
    /// Label shown in players.
    #[serde(default, deserialize_with = "lenient::string")]
    pub label: String,
    /// Format (KalturaCaptionType, a string enum on the wire): 1 SRT, 2 DFXP, 3 WebVTT, 4 CAP,
    /// 5 SCC.
    #[serde(default, deserialize_with = "lenient::i64")]
    pub format: i64,
    /// File extension.
    #[serde(default, deserialize_with = "lenient::string")]
    pub file_ext: String,
    /// Status (2 = ready).
    #[serde(default, deserialize_with = "lenient::i64")]
    pub status: i64,
    /// Whether players show it by default (a KalturaNullableBoolean: 1 yes, 0 no, -1 unset).
    #[serde(default, deserialize_with = "lenient::i64")]
    pub is_default: i64,
}

impl Client {
    /// The caption assets of these entries, in one `caption_captionAsset.list` per 500 entries
    /// (and per 500 assets).
    pub async fn captions_of(&self, ids: &[EntryId]) -> Result<Vec<CaptionAsset>> {
        let mut out = Vec::new();
        for chunk in ids.chunks(MAX_PAGE_SIZE as usize) {
            let joined: Vec<&str> = chunk.iter().map(|i| i.0.as_str()).collect();
            let filter =
                json!({"objectType": "KalturaCaptionAssetFilter", "entryIdIn": joined.join(",")});
            out.extend(self.list_all("caption_captionAsset", filter).await?);
        }
        Ok(out)
    }

    /// `caption_captionAsset.getUrl`: where a caption file is served.
    pub async fn caption_url(&self, id: &str) -> Result<String> {
        let mut p = Map::new();
        p.insert("id".into(), json!(id));
        let v = self
            .call("caption_captionAsset", "getUrl", p, Idempotence::Safe)
            .await?;
        v.as_str().map(str::to_string).ok_or_else(|| Error::Decode {
            action: "caption_captionAsset.getUrl".into(),
            detail: "the URL is not a string".into(),
        })
    }

    /// A small file (a caption, a thumbnail) fetched whole from `url`, at most
    /// [`MAX_SMALL_FILE`] bytes.
    pub async fn fetch_small(&self, url: &str, what: &str) -> Result<Bytes> {
        let resp = self
            .http()
            .get(url)
            .send()
            .await
            .map_err(|e| Error::Transport {
                action: what.into(),
                url: self.service_url().to_string(),
                detail: crate::client::describe(&e),
            })?;
        let status = resp.status().as_u16();
        if status != 200 {
            return Err(Error::Http {
                action: what.into(),
                status,
            });
        }
        let bytes = resp.bytes().await.map_err(|e| Error::Transport {
            action: what.into(),
            url: self.service_url().to_string(),
            detail: crate::client::describe(&e),
        })?;
        if bytes.len() > MAX_SMALL_FILE {
            return Err(Error::Decode {
                action: what.into(),
                detail: format!("{} bytes, more than a sidecar may hold", bytes.len()),
            });
        }
        Ok(bytes)
    }
}
