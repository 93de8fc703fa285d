//! Moving content and changing entries: flavor download (a stream that resumes with `Range`
//! after a broken connection), chunked upload through an upload token, content replacement
//! (`media.updateContent`, approve/cancel), thumbnails, tags, and entries by id in batches.

use bytes::{Bytes, BytesMut};
use futures_util::{Stream, StreamExt};
use serde_json::{json, Map, Value};
use std::pin::Pin;
use std::time::Duration;

use serde::Deserialize;

use crate::client::{describe, Client, Idempotence};
use crate::codes::{code_list, EntryStatus, ModerationStatus, UploadTokenStatus};
use crate::error::{Error, Result};
use crate::media::{decode, MAX_PAGE_SIZE};
use crate::models::{EntryId, FlavorAsset, FlavorId, ListResponse, MediaEntry};

/// A stream of bytes, as downloads yield and uploads take.
pub type ByteStream = Pin<Box<dyn Stream<Item = std::io::Result<Bytes>> + Send>>;

/// Size of one upload chunk.
pub const UPLOAD_CHUNK: usize = 8 << 20;

/// How often a download reconnects after a broken connection before it fails.
const DOWNLOAD_RESUMES: u32 = 5;

fn params(pairs: Value) -> Map<String, Value> {
    match pairs {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

impl Client {
    /// `flavorAsset.getUrl`: the download URL of a flavor (opaque).
    pub async fn flavor_url(&self, id: &FlavorId) -> Result<String> {
        let v = self
            .call(
                "flavorAsset",
                "getUrl",
                params(json!({"id": id.0})),
                Idempotence::Safe,
            )
            .await?;
        v.as_str().map(str::to_string).ok_or_else(|| Error::Decode {
            action: "flavorAsset.getUrl".into(),
            detail: "the URL is not a string".into(),
        })
    }

    /// Download URLs of many flavors in one `multirequest` per 100 flavors; flavors whose URL
    /// could not be had are left out (their download asks again).
    pub async fn flavor_urls(&self, ids: &[FlavorId]) -> Result<Vec<(FlavorId, String)>> {
        let raw: Vec<&str> = ids.iter().map(|i| i.0.as_str()).collect();
        let urls = self.asset_urls("flavorAsset", &raw).await?;
        Ok(urls
            .into_iter()
            .map(|(id, url)| (FlavorId(id), url))
            .collect())
    }

    /// `getUrl` of many assets of one service (`flavorAsset`, `caption_captionAsset`) in one
    /// `multirequest` per 100; assets whose URL could not be had are left out.
    pub async fn asset_urls(&self, service: &str, ids: &[&str]) -> Result<Vec<(String, String)>> {
        let mut out = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(100) {
            let mut p = Map::new();
            for (i, id) in chunk.iter().enumerate() {
                p.insert(
                    i.to_string(),
                    json!({"service": service, "action": "getUrl", "id": id}),
                );
            }
            let v = self.call("multirequest", "", p, Idempotence::Safe).await?;
            let results = v.as_array().cloned().unwrap_or_default();
            for (id, r) in chunk.iter().zip(results) {
                if let Some(url) = r.as_str() {
                    out.push((id.to_string(), url.to_string()));
                }
            }
        }
        Ok(out)
    }

    /// The bytes of a flavor as a stream. A connection that breaks is reopened with `Range` at
    /// the byte reached (up to a few times); the stream fails if the byte count differs from
    /// `expected_len` when that is known.
    pub async fn download_flavor(
        &self,
        flavor: &FlavorAsset,
        expected_len: Option<u64>,
    ) -> Result<ByteStream> {
        self.download_flavor_from(flavor, expected_len, None).await
    }

    /// As [`Client::download_flavor`], starting from a download URL fetched earlier (see
    /// [`Client::flavor_urls`]); when that URL is refused (an expired token), a fresh one is asked.
    pub async fn download_flavor_from(
        &self,
        flavor: &FlavorAsset,
        expected_len: Option<u64>,
        known_url: Option<String>,
    ) -> Result<ByteStream> {
        let url = match known_url {
            Some(u) => match self.open_download(&u, 0).await {
                Ok(first) => return Ok(self.resumable(u, first, expected_len)),
                Err(e) => {
                    tracing::debug!(error = %e, "prefetched download URL refused; asking again");
                    self.flavor_url(&flavor.id).await?
                }
            },
            None => self.flavor_url(&flavor.id).await?,
        };
        let first = self.open_retrying(&url, 0, &mut 0).await?;
        Ok(self.resumable(url, first, expected_len))
    }

    /// Opens a download at `offset`, retrying transient failures with a growing pause while
    /// `attempts` (shared by all reopenings of one download) stays below the limit.
    async fn open_retrying(
        &self,
        url: &str,
        offset: u64,
        attempts: &mut u32,
    ) -> Result<reqwest::Response> {
        loop {
            match self.open_download(url, offset).await {
                Err(e) if e.is_transient() && *attempts < DOWNLOAD_RESUMES => {
                    *attempts += 1;
                    tracing::info!(offset, attempt = *attempts, error = %e, "retrying flavor download");
                    tokio::time::sleep(Duration::from_millis(200 * u64::from(*attempts))).await;
                }
                other => return other,
            }
        }
    }

    fn resumable(
        &self,
        url: String,
        first: reqwest::Response,
        expected_len: Option<u64>,
    ) -> ByteStream {
        let state = Download {
            client: self.clone(),
            url,
            offset: 0,
            expected: expected_len,
            body: Some(first),
            resumes: 0,
        };
        // Fused: readers may poll again after the end.
        Box::pin(futures_util::stream::unfold(state, Download::next).fuse())
    }

    async fn open_download(&self, url: &str, offset: u64) -> Result<reqwest::Response> {
        let action = "flavor download";
        let mut req = self.http().get(url);
        if offset > 0 {
            req = req.header(reqwest::header::RANGE, format!("bytes={offset}-"));
        }
        let resp = req.send().await.map_err(|e| Error::Transport {
            action: action.into(),
            url: self.service_url().to_string(),
            detail: describe(&e),
        })?;
        let status = resp.status().as_u16();
        let ok = if offset > 0 {
            status == 206
        } else {
            status == 200
        };
        if !ok {
            return Err(Error::Http {
                action: action.into(),
                status,
            });
        }
        Ok(resp)
    }

    /// Sets an entry's whole tag list (`media.update`); tags are written lower case and
    /// `", "`-joined as the service stores them.
    pub async fn set_tags(&self, id: &EntryId, tags: &[String]) -> Result<MediaEntry> {
        let joined = tags.join(", ");
        let p = params(json!({
            "entryId": id.0,
            "mediaEntry": {"objectType": "KalturaMediaEntry", "tags": joined},
        }));
        decode(
            "media.update",
            self.call("media", "update", p, Idempotence::Safe).await?,
        )
    }

    /// Uploads a stream through a new upload token in chunks and returns the token id once the
    /// token is complete (FULL_UPLOAD). The next chunk is read while the current one is sent.
    pub async fn upload(&self, file_name: &str, len: u64, body: ByteStream) -> Result<String> {
        let p = params(json!({"uploadToken": {
            "objectType": "KalturaUploadToken", "fileName": file_name, "fileSize": len,
        }}));
        // Repeating an add whose answer was lost leaves at most an unused token behind.
        let token = self
            .call("uploadToken", "add", p, Idempotence::Safe)
            .await?;
        let token_id = token
            .get("id")
            .and_then(Value::as_str)
            .ok_or_else(|| Error::Decode {
                action: "uploadToken.add".into(),
                detail: "the token has no id".into(),
            })?
            .to_string();
        let mut source = Chunker {
            body,
            leftover: Bytes::new(),
        };
        let mut offset = 0u64;
        let mut chunk = source.read(UPLOAD_CHUNK).await?;
        loop {
            let last = offset + chunk.len() as u64 >= len;
            let send = self.upload_chunk(&token_id, file_name, offset, chunk.clone(), last);
            let (sent, next) = if last {
                (send.await, Ok(Bytes::new()))
            } else {
                tokio::join!(send, source.read(UPLOAD_CHUNK))
            };
            sent?;
            offset += chunk.len() as u64;
            if last {
                break;
            }
            chunk = next?;
            if chunk.is_empty() {
                return Err(Error::Decode {
                    action: "uploadToken.upload".into(),
                    detail: format!("the source ended after {offset} of {len} bytes"),
                });
            }
        }
        // The source must hold exactly `len` bytes.
        if source.read(1).await?.is_empty() {
            Ok(token_id)
        } else {
            Err(Error::Decode {
                action: "uploadToken.upload".into(),
                detail: format!("the source holds more than the {len} bytes announced"),
            })
        }
    }

    async fn upload_chunk(
        &self,
        token: &str,
        file_name: &str,
        offset: u64,
        data: Bytes,
        last: bool,
    ) -> Result<()> {
        let p = params(json!({
            "uploadTokenId": token,
            "resume": offset > 0,
            "finalChunk": last,
            "resumeAt": offset,
        }));
        let v = self
            .call_file(
                "uploadToken",
                "upload",
                p,
                file_name,
                data,
                Idempotence::Safe,
            )
            .await?;
        if last && token_status(&v) != UploadTokenStatus::FullUpload {
            return Err(Error::Decode {
                action: "uploadToken.upload".into(),
                detail: format!(
                    "the token is not complete after the last chunk (status {})",
                    v.get("status").unwrap_or(&Value::Null)
                ),
            });
        }
        Ok(())
    }

    /// `media.updateContent` with an uploaded token: starts replacing the entry's content.
    /// When the answer is lost (a transient failure), the token tells whether the call took
    /// effect: a consumed (CLOSED) token means it did; otherwise the call is sent again. A
    /// consumed token is never sent twice (the entry would wait for an upload that never comes).
    pub async fn update_content(&self, id: &EntryId, token_id: &str) -> Result<MediaEntry> {
        let p = params(json!({
            "entryId": id.0,
            "resource": {"objectType": "KalturaUploadedFileTokenResource", "token": token_id},
        }));
        let mut attempt = 0;
        loop {
            let err = match self
                .call("media", "updateContent", p.clone(), Idempotence::Unsafe)
                .await
            {
                Ok(v) => return decode("media.updateContent", v),
                Err(e) if e.is_transient() && attempt < 3 => e,
                Err(e) => return Err(e),
            };
            attempt += 1;
            tracing::info!(entry = %id.0, error = %err, "media.updateContent answer lost; checking the token");
            tokio::time::sleep(Duration::from_millis(500 * attempt)).await;
            let token = self
                .call(
                    "uploadToken",
                    "get",
                    params(json!({"uploadTokenId": token_id})),
                    Idempotence::Safe,
                )
                .await?;
            if token_status(&token) == UploadTokenStatus::Closed {
                return self.get_media(id).await;
            }
        }
    }

    /// `flavorAsset.delete`; a flavor already gone counts as deleted.
    pub async fn delete_flavor(&self, id: &FlavorId) -> Result<()> {
        let p = params(json!({"id": id.0}));
        match self
            .call("flavorAsset", "delete", p, Idempotence::Safe)
            .await
        {
            Err(e) if e.code() == Some("FLAVOR_ASSET_ID_NOT_FOUND") => Ok(()),
            other => other.map(|_| ()),
        }
    }

    /// `media.approveReplace`.
    pub async fn approve_replace(&self, id: &EntryId) -> Result<MediaEntry> {
        let p = params(json!({"entryId": id.0}));
        decode(
            "media.approveReplace",
            self.call("media", "approveReplace", p, Idempotence::Safe)
                .await?,
        )
    }

    /// `media.cancelReplace`.
    pub async fn cancel_replace(&self, id: &EntryId) -> Result<MediaEntry> {
        let p = params(json!({"entryId": id.0}));
        decode(
            "media.cancelReplace",
            self.call("media", "cancelReplace", p, Idempotence::Safe)
                .await?,
        )
    }

    /// `media.updateThumbnail` from a frame at `seconds`.
    pub async fn update_thumbnail(&self, id: &EntryId, seconds: i64) -> Result<()> {
        let p = params(json!({"entryId": id.0, "timeOffset": seconds}));
        self.call("media", "updateThumbnail", p, Idempotence::Safe)
            .await
            .map(|_| ())
    }

    /// The entries with these ids, whatever their status, in one `media.list` per 500.
    pub async fn entries_by_id(&self, ids: &[EntryId]) -> Result<Vec<MediaEntry>> {
        let mut out = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(MAX_PAGE_SIZE as usize) {
            let joined: Vec<&str> = chunk.iter().map(|e| e.0.as_str()).collect();
            let p = params(json!({
                "filter": {"objectType": "KalturaMediaEntryFilter", "idIn": joined.join(","),
                           "statusIn": code_list(&EntryStatus::existing()),
                           "moderationStatusIn": code_list(ModerationStatus::NAMED)},
                "pager": {"objectType": "KalturaFilterPager", "pageSize": MAX_PAGE_SIZE, "pageIndex": 1},
            }));
            let r: ListResponse<MediaEntry> = decode(
                "media.list",
                self.call("media", "list", p, Idempotence::Safe).await?,
            )?;
            out.extend(r.objects);
        }
        Ok(out)
    }
}

/// Cuts a byte stream into chunks of an exact size (the last may be shorter).
struct Chunker {
    body: ByteStream,
    leftover: Bytes,
}

impl Chunker {
    /// Reads up to `size` bytes (fewer only at the end of the stream).
    async fn read(&mut self, size: usize) -> Result<Bytes> {
        let mut buf = BytesMut::with_capacity(size.min(UPLOAD_CHUNK));
        loop {
            if !self.leftover.is_empty() {
                let take = (size - buf.len()).min(self.leftover.len());
                buf.extend_from_slice(&self.leftover.split_to(take));
            }
            if buf.len() >= size {
                return Ok(buf.freeze());
            }
            match self.body.next().await {
                None => return Ok(buf.freeze()),
                Some(Ok(b)) => self.leftover = b,
                Some(Err(e)) => {
                    return Err(Error::Decode {
                        action: "uploadToken.upload".into(),
                        detail: format!("reading the source failed: {e}"),
                    })
                }
            }
        }
    }
}

/// State of a resumable download.
struct Download {
    client: Client,
    url: String,
    offset: u64,
    expected: Option<u64>,
    body: Option<reqwest::Response>,
    resumes: u32,
}

impl Download {
    async fn next(mut self) -> Option<(std::io::Result<Bytes>, Self)> {
        loop {
            let resp = self.body.as_mut()?;
            match resp.chunk().await {
                Ok(Some(b)) => {
                    self.offset += b.len() as u64;
                    if let Some(n) = self.expected.filter(|n| self.offset > *n) {
                        let msg =
                            format!("the download is longer than the {n} bytes Kaltura reports");
                        return self.fail(msg);
                    }
                    return Some((Ok(b), self));
                }
                Ok(None) => match self.expected {
                    Some(n) if self.offset < n => {
                        let why = format!("the connection closed at byte {}", self.offset);
                        if let Err(msg) = self.resume(why).await {
                            return self.fail(msg);
                        }
                    }
                    _ => {
                        self.body = None;
                        return None;
                    }
                },
                Err(e) => {
                    if let Err(msg) = self.resume(describe(&e)).await {
                        return self.fail(msg);
                    }
                }
            }
        }
    }

    /// Reopens at the current offset after `why`, or says why it gives up.
    async fn resume(&mut self, why: String) -> std::result::Result<(), String> {
        if self.resumes >= DOWNLOAD_RESUMES {
            return Err(format!(
                "flavor download failed at byte {} after {} reconnects: {why}",
                self.offset, self.resumes
            ));
        }
        self.resumes += 1;
        tracing::info!(offset = self.offset, attempt = self.resumes, reason = %why, "resuming flavor download");
        tokio::time::sleep(Duration::from_millis(200 * u64::from(self.resumes))).await;
        let url = self.url.clone();
        match self
            .client
            .open_retrying(&url, self.offset, &mut self.resumes)
            .await
        {
            Ok(r) => {
                self.body = Some(r);
                Ok(())
            }
            Err(e) => Err(format!(
                "flavor download failed at byte {} after {} reconnects: {e}",
                self.offset, self.resumes
            )),
        }
    }

    fn fail(mut self, msg: String) -> Option<(std::io::Result<Bytes>, Self)> {
        self.body = None;
        Some((Err(std::io::Error::other(msg)), self))
    }
}

/// An upload token's status, as the service sent it.
fn token_status(token: &Value) -> UploadTokenStatus {
    UploadTokenStatus::deserialize(token.get("status").unwrap_or(&Value::Null))
        .unwrap_or(UploadTokenStatus::Other(-1))
}
