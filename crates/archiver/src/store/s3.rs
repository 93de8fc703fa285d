//! The S3 store, on the official AWS SDK for Rust: the standard credential chain and
//! `AWS_ENDPOINT_URL` (path-style addressing when an endpoint is set, for emulators), a storage
//! class per put, server-side encryption, multipart uploads streamed part by part with the part
//! size scaled to the object, a full-object CRC64NVME sent to S3 and checked by the store itself,
//! abort on any failure, Glacier restores with `x-amz-restore` parsed exactly
//! (shared/s3-glacier.md).

use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::ByteStream as SdkBody;
use aws_sdk_s3::types::{
    ChecksumAlgorithm, ChecksumMode, ChecksumType, CompletedMultipartUpload, CompletedPart,
    GlacierJobParameters, RestoreRequest, ServerSideEncryption, Tier,
};
use bytes::{Bytes, BytesMut};
use futures_util::StreamExt;
use std::collections::BTreeMap;

use super::checksum::{verify_stream, Crc64};
use super::{check_len, head_existing};
use super::{
    ArchiveMeta, ArchiveStore, ByteStream, Error, Features, ObjectInfo, ObjectKey, PutOptions,
    RestoreStatus, RestoreTier, Result, StorageClass,
};

/// Smallest part (S3 minimum is 5 MiB; 8 MiB keeps the part count low for small objects).
const MIN_PART: u64 = 8 << 20;
/// Largest part S3 accepts.
const MAX_PART: u64 = 5 << 30;
/// Most parts S3 accepts.
const MAX_PARTS: u64 = 10_000;
/// Part size when the object size is not known in advance (objects up to 640 GiB).
const UNKNOWN_SIZE_PART: u64 = 64 << 20;

/// Server-side encryption of written objects.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Encryption {
    /// The bucket's default.
    #[default]
    BucketDefault,
    /// SSE-S3 (AES256).
    Aes256,
    /// SSE-KMS with this key id or ARN.
    Kms(String),
}

/// Settings of an [`S3Store`].
#[derive(Debug, Clone, Default)]
pub struct S3StoreBuilder {
    bucket: String,
    prefix: String,
    endpoint: Option<String>,
    region: Option<String>,
    encryption: Encryption,
}

impl S3StoreBuilder {
    /// Settings from the environment: `AWS_BUCKET`, `AWS_ENDPOINT_URL` (or `AWS_ENDPOINT_URL_S3`),
    /// `AWS_REGION`; credentials come from the standard AWS chain when the store is built.
    pub fn from_env() -> Self {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        S3StoreBuilder {
            bucket: var("AWS_BUCKET").unwrap_or_default(),
            prefix: String::new(),
            endpoint: var("AWS_ENDPOINT_URL_S3").or_else(|| var("AWS_ENDPOINT_URL")),
            region: var("AWS_REGION").or_else(|| var("AWS_DEFAULT_REGION")),
            encryption: Encryption::BucketDefault,
        }
    }
    /// Bucket.
    pub fn with_bucket(mut self, bucket: impl Into<String>) -> Self {
        self.bucket = bucket.into();
        self
    }
    /// Key prefix (e.g. `archive/`); empty = the bare entry id, as the reference tool wrote.
    pub fn with_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }
    /// Endpoint of an S3-compatible server; implies path-style addressing.
    pub fn with_endpoint(mut self, endpoint: impl Into<String>) -> Self {
        self.endpoint = Some(endpoint.into());
        self
    }
    /// Region.
    pub fn with_region(mut self, region: impl Into<String>) -> Self {
        self.region = Some(region.into());
        self
    }
    /// Server-side encryption.
    pub fn with_encryption(mut self, e: Encryption) -> Self {
        self.encryption = e;
        self
    }

    /// Validates the settings and builds the client (credentials from the standard chain).
    pub async fn build(self) -> Result<S3Store> {
        let bucket = self.bucket.trim().to_string();
        let valid = (3..=63).contains(&bucket.len())
            && bucket
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.');
        if !valid {
            return Err(Error::Invalid(format!(
                "bucket name {bucket:?} is not a valid S3 bucket name (3–63 lower-case letters, digits, '-' or '.'); set AWS_BUCKET"
            )));
        }
        let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
        if let Some(r) = &self.region {
            loader = loader.region(aws_config::Region::new(r.clone()));
        }
        if let Some(e) = &self.endpoint {
            loader = loader.endpoint_url(e.clone());
        }
        let shared = loader.load().await;
        let mut conf = aws_sdk_s3::config::Builder::from(&shared);
        if shared.region().is_none() {
            conf = conf.region(aws_config::Region::new("us-east-1"));
        }
        // Emulators live at one host name; virtual-host addressing would need DNS per bucket.
        if self.endpoint.is_some() {
            conf = conf.force_path_style(true);
        }
        Ok(S3Store {
            client: aws_sdk_s3::Client::from_conf(conf.build()),
            bucket,
            prefix: self.prefix,
            encryption: self.encryption,
        })
    }
}

/// An archive store in an S3 bucket.
#[derive(Debug, Clone)]
pub struct S3Store {
    client: aws_sdk_s3::Client,
    bucket: String,
    prefix: String,
    encryption: Encryption,
}

impl std::fmt::Display for S3Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "s3://{}/{}", self.bucket, self.prefix)
    }
}

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

/// Parses `x-amz-restore`: `ongoing-request="true"` ⇒ thawing;
/// `ongoing-request="false", expiry-date="…"` ⇒ thawed until that date.
pub fn parse_restore_header(h: &str) -> Option<RestoreStatus> {
    let field = |name: &str| {
        let start = h.find(&format!("{name}=\""))? + name.len() + 2;
        let end = h[start..].find('"')? + start;
        Some(h[start..end].to_string())
    };
    match field("ongoing-request")?.as_str() {
        "true" => Some(RestoreStatus::Thawing),
        "false" => Some(RestoreStatus::Thawed {
            until: field("expiry-date"),
        }),
        _ => None,
    }
}

fn class_of(c: Option<&aws_sdk_s3::types::StorageClass>) -> StorageClass {
    c.and_then(|c| StorageClass::parse(c.as_str()).ok())
        .unwrap_or(StorageClass::Standard)
}

impl S3Store {
    /// The bucket.
    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    fn full_key(&self, key: &ObjectKey) -> String {
        format!("{}{}", self.prefix, key.as_str())
    }

    /// Maps an SDK error of `op` on `key` to a store error that names bucket, key and what to do.
    fn error<E: ProvideErrorMetadata + std::error::Error + 'static>(
        &self,
        op: &'static str,
        key: &str,
        e: SdkError<E>,
    ) -> Error {
        let status = e.raw_response().map(|r| r.status().as_u16());
        let code = e.code().map(str::to_string);
        match (code.as_deref(), status) {
            (Some("NoSuchKey") | Some("NotFound"), _) | (_, Some(404))
                if code.as_deref() != Some("NoSuchBucket") =>
            {
                Error::NotFound {
                    store: self.to_string(),
                    key: key.to_string(),
                }
            }
            (Some("NoSuchBucket"), _) => Error::NoSuchBucket {
                bucket: self.bucket.clone(),
            },
            (Some("InvalidObjectState"), _) => Error::RestoreFirst {
                store: self.to_string(),
                key: key.to_string(),
                class: "an archival storage class".into(),
            },
            (Some("AccessDenied"), _) | (_, Some(403)) => Error::PermissionDenied {
                store: self.to_string(),
                key: key.to_string(),
            },
            _ => {
                let detail = match &e {
                    SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) => {
                        "cannot reach the S3 endpoint; check AWS_ENDPOINT_URL, AWS_REGION and the network".to_string()
                    }
                    _ => format!("{}", aws_sdk_s3::error::DisplayErrorContext(&e)),
                };
                Error::Backend {
                    store: self.to_string(),
                    op,
                    key: key.to_string(),
                    detail,
                }
            }
        }
    }

    /// Checks that the bucket exists and is reachable with these credentials.
    pub async fn check_bucket(&self) -> Result<()> {
        self.client
            .head_bucket()
            .bucket(&self.bucket)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| match self.error("head bucket", "the bucket", e) {
                Error::NotFound { .. } => Error::NoSuchBucket {
                    bucket: self.bucket.clone(),
                },
                other => other,
            })
    }

    /// The server-side encryption headers of every write (objects, records, locks, journals).
    fn sse(&self) -> (Option<ServerSideEncryption>, Option<String>) {
        match &self.encryption {
            Encryption::BucketDefault => (None, None),
            Encryption::Aes256 => (Some(ServerSideEncryption::Aes256), None),
            Encryption::Kms(k) => (Some(ServerSideEncryption::AwsKms), Some(k.clone())),
        }
    }

    async fn put_small(
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
            .set_server_side_encryption(sse)
            .set_ssekms_key_id(kms_key)
            .body(SdkBody::from(data))
            .send()
            .await
            .map(|r| r.version_id().map(str::to_string))
            .map_err(|e| self.error("put", key, e))
    }

    async fn put_multipart(
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
                    let chunk = read_part(body, part, crc)
                        .await
                        .map_err(|e| Error::Backend {
                            store: self.to_string(),
                            op: "read source for",
                            key: key.to_string(),
                            detail: e.to_string(),
                        })?;
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
                    .map_err(|e| Error::Backend {
                        store: self.to_string(),
                        op: "upload part of",
                        key: key.to_string(),
                        detail: e.to_string(),
                    })?
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

/// How many parts may be uploading at once: up to 4, within 64 MiB of part buffers.
pub fn parts_in_flight(part: u64) -> usize {
    ((64 << 20) / part.max(1)).clamp(1, 4) as usize
}

/// An error with its causes (the SDK's "streaming error" says why only in its source, e.g. "body
/// checksum mismatch").
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
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

#[async_trait::async_trait]
impl ArchiveStore for S3Store {
    fn features(&self) -> Features {
        Features {
            storage_classes: true,
            restore: true,
            stored_checksums: true,
        }
    }

    async fn put(
        &self,
        key: &ObjectKey,
        body: ByteStream,
        opts: &PutOptions,
    ) -> Result<ObjectInfo> {
        // Parts are read until the source ends; a fused source may be asked again after that.
        let mut body: ByteStream = Box::pin(body.fuse());
        let full = self.full_key(key);
        let part = planned_part_size(opts);
        let mut crc = Crc64::default();
        let first = read_part(&mut body, part, &mut crc)
            .await
            .map_err(|e| Error::Backend {
                store: self.to_string(),
                op: "read source for",
                key: full.clone(),
                detail: e.to_string(),
            })?;
        let version = if (first.len() as u64) < part {
            check_len(self, &full, opts.expected_len, crc.bytes())?;
            self.put_small(&full, first, &crc, opts).await?
        } else {
            self.put_multipart(&full, first, &mut body, part, &mut crc, opts)
                .await?
        };
        // Verify what S3 now holds, in the version this put wrote: byte count and the
        // full-object checksum.
        let version = version.filter(|v| !v.is_empty() && v != "null");
        let info = head_existing(self, key, &full, version.as_deref()).await?;
        if info.size != crc.bytes() || info.checksum.as_deref() != Some(crc.base64().as_str()) {
            return Err(Error::Mismatch {
                store: self.to_string(),
                key: full,
                what: format!(
                    "S3 holds {} bytes with CRC64NVME {:?}, {} bytes with {} were sent",
                    info.size,
                    info.checksum,
                    crc.bytes(),
                    crc.base64()
                ),
            });
        }
        Ok(info)
    }

    async fn head_version(
        &self,
        key: &ObjectKey,
        version: Option<&str>,
    ) -> Result<Option<ObjectInfo>> {
        let full = self.full_key(key);
        let r = match self
            .client
            .head_object()
            .bucket(&self.bucket)
            .key(&full)
            .set_version_id(version.map(str::to_string))
            .checksum_mode(ChecksumMode::Enabled)
            .send()
            .await
        {
            Ok(r) => r,
            Err(e) => {
                return match self.error("head", &full, e) {
                    Error::NotFound { .. } => Ok(None),
                    other => Err(other),
                }
            }
        };
        let class = class_of(r.storage_class());
        let restore = match r.restore().and_then(parse_restore_header) {
            Some(s) => s,
            None if class.needs_restore() => RestoreStatus::Frozen,
            None => RestoreStatus::NotNeeded,
        };
        let user: BTreeMap<String, String> = r
            .metadata()
            .map(|m| {
                m.iter()
                    .map(|(k, v)| (k.to_lowercase(), v.clone()))
                    .collect()
            })
            .unwrap_or_default();
        let meta = ArchiveMeta::from_map(&user);
        // A composite checksum (`…-N`) is a checksum of part checksums, not of the bytes.
        let checksum = r
            .checksum_crc64_nvme()
            .filter(|c| !c.contains('-'))
            .map(str::to_string);
        Ok(Some(ObjectInfo {
            key: key.clone(),
            size: r.content_length().unwrap_or(0).max(0) as u64,
            checksum: meta.as_ref().and(checksum),
            meta,
            storage_class: class,
            restore,
            // An unversioned bucket answers no version, or "null".
            version_id: r
                .version_id()
                .filter(|v| !v.is_empty() && *v != "null")
                .map(str::to_string),
        }))
    }

    async fn get_version(&self, key: &ObjectKey, version: Option<&str>) -> Result<ByteStream> {
        let full = self.full_key(key);
        let info = head_existing(self, key, &full, version).await?;
        if !info.restore.readable() {
            return Err(Error::RestoreFirst {
                store: self.to_string(),
                key: full,
                class: info.storage_class.as_str().into(),
            });
        }
        let r = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(&full)
            .set_version_id(version.map(str::to_string))
            .send()
            .await
            .map_err(|e| self.error("get", &full, e))?;
        let stream = futures_util::stream::unfold(r.body, |mut b| async move {
            b.next()
                .await
                .map(|chunk| (chunk.map_err(|e| std::io::Error::other(error_chain(&e))), b))
        });
        Ok(verify_stream(
            Box::pin(stream),
            info.size,
            info.checksum,
            format!("{self}: {full}"),
        ))
    }

    async fn restore_version(
        &self,
        key: &ObjectKey,
        version: Option<&str>,
        tier: RestoreTier,
        days: u32,
    ) -> Result<RestoreStatus> {
        let full = self.full_key(key);
        let info = head_existing(self, key, &full, version).await?;
        match info.restore {
            RestoreStatus::NotNeeded | RestoreStatus::Thawing | RestoreStatus::Thawed { .. } => {
                return Ok(info.restore)
            }
            RestoreStatus::Frozen => {}
        }
        if tier == RestoreTier::Expedited && info.storage_class == StorageClass::DeepArchive {
            return Err(Error::Invalid(format!(
                "{self}: {full} is in DEEP_ARCHIVE, which has no Expedited restores; use Standard (≤ 12 h) or Bulk (≤ 48 h)"
            )));
        }
        let job = GlacierJobParameters::builder()
            .tier(Tier::from(tier.as_str()))
            .build()
            .map_err(|e| Error::Invalid(e.to_string()))?;
        let request = RestoreRequest::builder()
            .days(days.max(1) as i32)
            .glacier_job_parameters(job)
            .build();
        match self
            .client
            .restore_object()
            .bucket(&self.bucket)
            .key(&full)
            .set_version_id(version.map(str::to_string))
            .restore_request(request)
            .send()
            .await
        {
            Ok(_) => {}
            // Another restore already running is not an error.
            Err(e) if e.code() == Some("RestoreAlreadyInProgress") => {
                return Ok(RestoreStatus::Thawing)
            }
            Err(e) => return Err(self.error("restore", &full, e)),
        }
        Ok(self
            .head_version(key, version)
            .await?
            .map(|i| i.restore)
            .unwrap_or(RestoreStatus::Thawing))
    }

    async fn list(&self, prefix: &str) -> Result<Vec<ObjectKey>> {
        let full_prefix = format!("{}{prefix}", self.prefix);
        let mut pages = self
            .client
            .list_objects_v2()
            .bucket(&self.bucket)
            .prefix(&full_prefix)
            .into_paginator()
            .send();
        let mut out = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| self.error("list", &full_prefix, e))?;
            for o in page.contents() {
                if let Some(k) = o.key().and_then(|k| k.strip_prefix(self.prefix.as_str())) {
                    if let Ok(k) = ObjectKey::new(k) {
                        out.push(k);
                    }
                }
            }
        }
        Ok(out)
    }

    async fn create_if_absent(&self, key: &ObjectKey, body: Bytes) -> Result<bool> {
        let full = self.full_key(key);
        let (sse, kms_key) = self.sse();
        let r = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(&full)
            .if_none_match("*")
            .set_server_side_encryption(sse)
            .set_ssekms_key_id(kms_key)
            .content_length(body.len() as i64)
            .body(SdkBody::from(body))
            .send()
            .await;
        match r {
            Ok(_) => Ok(true),
            Err(e)
                if e.code() == Some("PreconditionFailed")
                    || e.raw_response().map(|r| r.status().as_u16()) == Some(412) =>
            {
                Ok(false)
            }
            // A concurrent conditional write in flight answers 409 on AWS: the other writer wins.
            Err(e) if e.code() == Some("ConditionalRequestConflict") => Ok(false),
            Err(e) => Err(self.error("create", &full, e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restore_header_is_parsed_exactly() {
        assert_eq!(
            parse_restore_header(r#"ongoing-request="true""#),
            Some(RestoreStatus::Thawing)
        );
        assert_eq!(
            parse_restore_header(
                r#"ongoing-request="false", expiry-date="Fri, 21 Dec 2012 00:00:00 GMT""#
            ),
            Some(RestoreStatus::Thawed {
                until: Some("Fri, 21 Dec 2012 00:00:00 GMT".into())
            })
        );
        assert_eq!(parse_restore_header("garbage"), None);
    }

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
