//! Writing an object: one PUT for a small one, else a multipart upload streamed part by part
//! (part size scaled to the object, up to four parts in flight within 64 MiB), a full-object
//! CRC64NVME sent with it, and an abort on any failure.

use aws_sdk_s3::primitives::ByteStream as SdkBody;
use aws_sdk_s3::types::{
    ChecksumAlgorithm, ChecksumType, CompletedMultipartUpload, CompletedPart, ServerSideEncryption,
};
use bytes::{Bytes, BytesMut};
use futures_util::StreamExt;

use super::builder::Encryption;
use super::S3Store;
use crate::store::check_len;
use crate::store::checksum::Crc64;
use crate::store::media_type;
use crate::store::{ByteStream, Error, PutOptions, Result};

/// Smallest part (S3 minimum is 5 MiB; 8 MiB keeps the part count low for small objects).
const MIN_PART: u64 = 8 << 20;
/// Largest part S3 accepts.
const MAX_PART: u64 = 5 << 30;
/// Most parts S3 accepts.
const MAX_PARTS: u64 = 10_000;
/// Part size when the object size is not known in advance (objects up to 640 GiB).
const UNKNOWN_SIZE_PART: u64 = 64 << 20;

/// The part size for an object of `size` bytes: at least 8 MiB, large enough for 10,000 parts.
pub fn part_size(size: Option<u64>) -> u64 {
    match size {
        None => UNKNOWN_SIZE_PART,
        Some(n) => {
            let needed = n.div_ceil(MAX_PARTS);
            let mib = needed.div_ceil(1 << 20) << 20;
            mib.clamp(MIN_PART, MAX_PART)
        }
    }
}

/// The part size of a put: planned on the exact size, else on twice the approximate one (room
/// for error), else for the largest object.
pub fn planned_part_size(opts: &PutOptions) -> u64 {
    part_size(
        opts.expected_len
            .or(opts.size_hint.map(|h| h.saturating_mul(2))),
    )
}

/// How many parts may be uploading at once: up to 4, within 64 MiB of part buffers.
pub fn parts_in_flight(part: u64) -> usize {
    ((64 << 20) / part.max(1)).clamp(1, 4) as usize
}

/// Reads up to `part` bytes from the stream into one buffer, updating the checksum.
async fn read_part(body: &mut ByteStream, part: u64, crc: &mut Crc64) -> std::io::Result<Bytes> {
    let mut buf = BytesMut::with_capacity(part as usize);
    while (buf.len() as u64) < part {
        match body.next().await {
            Some(chunk) => {
                let chunk = chunk?;
                crc.update(&chunk);
                buf.extend_from_slice(&chunk);
            }
            None => break,
        }
    }
    // A source chunk may overshoot the part size; S3 accepts parts of any size above 5 MiB.
    Ok(buf.freeze())
}

impl S3Store {
    /// One PUT that streams the source as it arrives, for an object whose exact size is known
    /// and under one part: the upload overlaps the download instead of following it. The SDK
    /// sends the CRC64NVME of the bytes as a trailer that S3 checks; the same checksum is computed
    /// here on the way and returned, with the version written. The bytes are kept as they pass
    /// (at most one part, the bound the buffered path had): a PUT that S3 refuses or that
    /// loses its connection — which the SDK cannot retry, the body being a stream — is sent
    /// again from them through the retrying path.
    pub(super) async fn put_streamed(
        &self,
        key: &str,
        body: ByteStream,
        len: u64,
        opts: &PutOptions,
    ) -> Result<(Option<String>, Crc64)> {
        let source = std::sync::Arc::new(std::sync::Mutex::new(Source::new(body)));
        let (sse, kms_key) = self.sse();
        let sent = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_length(len as i64)
            .checksum_algorithm(ChecksumAlgorithm::Crc64Nvme)
            .storage_class(aws_sdk_s3::types::StorageClass::from(
                opts.storage_class.as_str(),
            ))
            .set_metadata(Some(opts.meta.to_map().into_iter().collect()))
            .content_type(media_type::of(key, &opts.meta))
            .set_server_side_encryption(sse)
            .set_ssekms_key_id(kms_key)
            .body(SdkBody::from_body_1_x(SyncBody(source.clone())))
            .send()
            .await;
        let mut rest = std::mem::replace(&mut *source.lock().expect("source"), Source::done());
        let failed = match sent {
            Ok(r) => {
                rest.check(self, key, len)?;
                return Ok((r.version_id().map(str::to_string), rest.crc));
            }
            Err(e) => self.error("put", key, e),
        };
        // The PUT failed: read what the SDK left of the source; a failed or short source is
        // what went wrong, not S3; else send the bytes again.
        while let Some(chunk) = rest.stream.next().await {
            match chunk {
                Ok(c) => rest.keep(c),
                Err(e) => rest.error = Some(e.to_string()),
            }
        }
        rest.check(self, key, len)?;
        tracing::info!(key, error = %failed, "the streamed PUT failed; sending the kept bytes again");
        let data: Bytes = rest.kept.concat().into();
        let version = self.put_small(key, data, &rest.crc, opts).await?;
        Ok((version, rest.crc))
    }

    /// The next part of the source, as a store error naming the key when the source fails.
    pub(super) async fn read_source(
        &self,
        body: &mut ByteStream,
        part: u64,
        crc: &mut Crc64,
        key: &str,
    ) -> Result<Bytes> {
        read_part(body, part, crc)
            .await
            .map_err(|e| self.backend("read source for", key, e))
    }

    fn backend(&self, op: &'static str, key: &str, e: impl std::fmt::Display) -> Error {
        Error::Backend {
            store: self.to_string(),
            op,
            key: key.to_string(),
            detail: e.to_string(),
        }
    }

    /// The server-side encryption headers of every write (objects, records, locks, journals).
    pub(super) fn sse(&self) -> (Option<ServerSideEncryption>, Option<String>) {
        match &self.encryption {
            Encryption::BucketDefault => (None, None),
            Encryption::Aes256 => (Some(ServerSideEncryption::Aes256), None),
            Encryption::Kms(k) => (Some(ServerSideEncryption::AwsKms), Some(k.clone())),
        }
    }

    pub(super) async fn put_small(
        &self,
        key: &str,
        data: Bytes,
        crc: &Crc64,
        opts: &PutOptions,
    ) -> Result<Option<String>> {
        let (sse, kms_key) = self.sse();
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_length(data.len() as i64)
            .checksum_algorithm(ChecksumAlgorithm::Crc64Nvme)
            .checksum_crc64_nvme(crc.base64())
            .storage_class(aws_sdk_s3::types::StorageClass::from(
                opts.storage_class.as_str(),
            ))
            .set_metadata(Some(opts.meta.to_map().into_iter().collect()))
            .content_type(media_type::of(key, &opts.meta))
            .set_server_side_encryption(sse)
            .set_ssekms_key_id(kms_key)
            .body(SdkBody::from(data))
            .send()
            .await
            .map(|r| r.version_id().map(str::to_string))
            .map_err(|e| self.error("put", key, e))
    }

    pub(super) async fn put_multipart(
        &self,
        key: &str,
        first: Bytes,
        body: &mut ByteStream,
        part: u64,
        crc: &mut Crc64,
        opts: &PutOptions,
    ) -> Result<Option<String>> {
        let (sse, kms_key) = self.sse();
        let create = self
            .client
            .create_multipart_upload()
            .bucket(&self.bucket)
            .key(key)
            .storage_class(aws_sdk_s3::types::StorageClass::from(
                opts.storage_class.as_str(),
            ))
            .set_metadata(Some(opts.meta.to_map().into_iter().collect()))
            .content_type(media_type::of(key, &opts.meta))
            .checksum_algorithm(ChecksumAlgorithm::Crc64Nvme)
            .checksum_type(ChecksumType::FullObject)
            .set_server_side_encryption(sse)
            .set_ssekms_key_id(kms_key);
        let upload = create
            .send()
            .await
            .map_err(|e| self.error("start multipart upload of", key, e))?;
        let upload_id = upload.upload_id().unwrap_or_default().to_string();
        let result: Result<Option<String>> = async {
            let parts = self
                .upload_parts(key, &upload_id, first, body, part, crc)
                .await?;
            check_len(self, key, opts.expected_len, crc.bytes())?;
            let done = self
                .client
                .complete_multipart_upload()
                .bucket(&self.bucket)
                .key(key)
                .upload_id(&upload_id)
                .multipart_upload(
                    CompletedMultipartUpload::builder()
                        .set_parts(Some(parts))
                        .build(),
                )
                .checksum_crc64_nvme(crc.base64())
                .checksum_type(ChecksumType::FullObject)
                .send()
                .await
                .map_err(|e| self.error("complete multipart upload of", key, e))?;
            Ok(done.version_id().map(str::to_string))
        }
        .await;
        if result.is_err() {
            // Abort so no invisible parts keep costing money (a bucket lifecycle rule that aborts
            // incomplete uploads is still needed for crashes: abort cannot run then).
            let _ = self
                .client
                .abort_multipart_upload()
                .bucket(&self.bucket)
                .key(key)
                .upload_id(&upload_id)
                .send()
                .await;
        }
        result
    }

    /// Uploads the parts: reading the next part from the source overlaps the uploads of the
    /// previous ones, with at most `parts_in_flight(part)` parts in memory.
    async fn upload_parts(
        &self,
        key: &str,
        upload_id: &str,
        first: Bytes,
        body: &mut ByteStream,
        part: u64,
        crc: &mut Crc64,
    ) -> Result<Vec<CompletedPart>> {
        let limit = parts_in_flight(part);
        let mut in_flight = std::collections::VecDeque::new();
        let mut parts = Vec::new();
        let mut next = Some(first);
        let mut number = 1i32;
        let result: Result<()> = async {
            loop {
                if let Some(data) = next.take() {
                    let request = self
                        .client
                        .upload_part()
                        .bucket(&self.bucket)
                        .key(key)
                        .upload_id(upload_id)
                        .part_number(number)
                        .content_length(data.len() as i64)
                        .checksum_algorithm(ChecksumAlgorithm::Crc64Nvme)
                        .body(SdkBody::from(data));
                    in_flight.push_back((number, tokio::spawn(request.send())));
                    number += 1;
                    let chunk = self.read_source(body, part, crc, key).await?;
                    next = (!chunk.is_empty()).then_some(chunk);
                }
                if next.is_some() && in_flight.len() < limit {
                    continue;
                }
                let Some((n, task)) = in_flight.pop_front() else {
                    return Ok(());
                };
                let r = task
                    .await
                    .map_err(|e| self.backend("upload part of", key, e))?
                    .map_err(|e| self.error("upload part of", key, e))?;
                parts.push(
                    CompletedPart::builder()
                        .part_number(n)
                        .set_e_tag(r.e_tag().map(str::to_string))
                        .set_checksum_crc64_nvme(r.checksum_crc64_nvme().map(str::to_string))
                        .build(),
                );
            }
        }
        .await;
        if result.is_err() {
            for (_, task) in in_flight {
                task.abort();
            }
        }
        result.map(|()| parts)
    }
}

/// The source of a streamed PUT, shared between the SDK's request body and the store: what
/// passed (kept, and its checksum), and the source's error if it failed.
struct Source {
    stream: ByteStream,
    kept: Vec<Bytes>,
    crc: Crc64,
    error: Option<String>,
}

impl Source {
    fn new(stream: ByteStream) -> Source {
        Source {
            stream,
            kept: Vec::new(),
            crc: Crc64::default(),
            error: None,
        }
    }

    fn done() -> Source {
        Source::new(Box::pin(futures_util::stream::empty()))
    }

    fn keep(&mut self, chunk: Bytes) {
        self.crc.update(&chunk);
        self.kept.push(chunk);
    }

    /// A failed source, or one that gave other than `len` bytes, as the error it is.
    fn check(&self, store: &S3Store, key: &str, len: u64) -> Result<()> {
        if let Some(e) = &self.error {
            return Err(store.backend("read source for", key, e));
        }
        check_len(store, key, Some(len), self.crc.bytes())
    }
}

/// A streaming request body the SDK can hold across threads: the shared source, polled under
/// its (uncontended) lock.
struct SyncBody(std::sync::Arc<std::sync::Mutex<Source>>);

impl http_body::Body for SyncBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<std::io::Result<http_body::Frame<Bytes>>>> {
        use std::task::Poll;
        let Ok(mut source) = self.0.lock() else {
            return Poll::Ready(Some(Err(std::io::Error::other("body poisoned"))));
        };
        match source.stream.as_mut().poll_next(cx) {
            Poll::Ready(Some(Ok(chunk))) => {
                source.keep(chunk.clone());
                Poll::Ready(Some(Ok(http_body::Frame::data(chunk))))
            }
            Poll::Ready(Some(Err(e))) => {
                source.error = Some(e.to_string());
                Poll::Ready(Some(Err(e)))
            }
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{ArchiveMeta, StorageClass};

    #[test]
    fn parts_of_old_assets_are_planned_on_their_approximate_size() {
        let opts = |expected_len, size_hint| PutOptions {
            meta: ArchiveMeta {
                entry_id: "0_a".into(),
                flavor_id: "0_f".into(),
                flavor_version: 1,
                file_ext: "mp4".into(),
                archived_at: 0,
                tool_version: "t".into(),
            },
            expected_len,
            size_hint,
            storage_class: StorageClass::Glacier,
        };
        assert_eq!(planned_part_size(&opts(Some(3 << 30), None)), MIN_PART);
        assert_eq!(
            planned_part_size(&opts(None, Some(3 << 30))),
            MIN_PART,
            "8 MiB parts, not 64"
        );
        assert_eq!(planned_part_size(&opts(None, None)), UNKNOWN_SIZE_PART);
    }

    #[test]
    fn part_size_keeps_within_10000_parts_and_s3_limits() {
        assert_eq!(part_size(Some(1)), MIN_PART);
        assert_eq!(part_size(None), UNKNOWN_SIZE_PART);
        let big = 40u64 << 40; // 40 TiB
        let p = part_size(Some(big));
        assert!(big.div_ceil(p) <= MAX_PARTS && p <= MAX_PART && p % (1 << 20) == 0);
        assert_eq!(part_size(Some(u64::MAX / 2)), MAX_PART);
    }
}
