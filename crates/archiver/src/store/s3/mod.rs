//! The S3 store, on the official AWS SDK for Rust: the trait's reads, conditional writes and
//! Glacier restores (`x-amz-restore` parsed exactly; docs/reference/s3-glacier.md), errors that name the
//! bucket, key and what to do. [`builder`] builds the client (its retry and timeout policy is
//! written there); [`upload`] writes objects (multipart, streamed, with a full-object CRC64NVME).

use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::ByteStream as SdkBody;
use aws_sdk_s3::types::{ChecksumMode, GlacierJobParameters, RestoreRequest, Tier};
use bytes::Bytes;
use futures_util::StreamExt;
use std::collections::BTreeMap;

pub mod builder;
pub mod upload;

pub use builder::{Encryption, S3StoreBuilder};
pub use upload::{part_size, parts_in_flight, planned_part_size};

use super::checksum::{verify_stream, Crc64};
use super::{check_len, head_existing};
use super::{
    ArchiveMeta, ArchiveStore, ByteStream, Error, Features, ObjectInfo, ObjectKey, PutOptions,
    RestoreStatus, RestoreTier, Result, StorageClass,
};

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

    pub(super) fn full_key(&self, key: &ObjectKey) -> String {
        format!("{}{}", self.prefix, key.as_str())
    }

    /// Maps an SDK error of `op` on `key` to a store error that names bucket, key and what to do.
    pub(super) fn error<E: ProvideErrorMetadata + std::error::Error + 'static>(
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
                        let chain = error_chain(&e);
                        if chain.contains("credential") {
                            "no AWS credentials were found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY or AWS_PROFILE, or run with a role (ECS task role, instance profile)".to_string()
                        } else if chain.contains("not a valid URI") {
                            "the S3 endpoint is not a valid URL: check AWS_ENDPOINT_URL".to_string()
                        } else {
                            "cannot reach the S3 endpoint; check AWS_ENDPOINT_URL, AWS_REGION and the network".to_string()
                        }
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
        let (version, crc) = match opts.expected_len {
            Some(len) if len < part => self.put_streamed(&full, body, len, opts).await?,
            _ => {
                let mut crc = Crc64::default();
                let first = self.read_source(&mut body, part, &mut crc, &full).await?;
                let version = if (first.len() as u64) < part {
                    check_len(self, &full, opts.expected_len, crc.bytes())?;
                    self.put_small(&full, first, &crc, opts).await?
                } else {
                    self.put_multipart(&full, first, &mut body, part, &mut crc, opts)
                        .await?
                };
                (version, crc)
            }
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
}
