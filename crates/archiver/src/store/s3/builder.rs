//! Building an [`S3Store`]: the bucket, prefix, endpoint, region and encryption, and the S3
//! client's retry, timeout and connection policy, set here and nowhere else.

use std::time::Duration;

use super::S3Store;
use crate::store::{Error, Result};

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

/// The S3 client's policy, in one place. Retries: the SDK's standard mode (exponential backoff
/// with jitter, throttling and transient errors), `MAX_ATTEMPTS` attempts per request — a part
/// upload is retried alone, not the object. Timeouts: `CONNECT_TIMEOUT` to connect; no read or
/// operation timeout, because the SDK's read timeout spans sending a whole part (up to 5 GiB on a
/// slow link), and a stuck stream is bounded by the run's lease and the task's stop timeout
/// instead. Connections: the SDK's pooled client; how many requests run at once is bounded by
/// the run (`--jobs` entries × up to four parts in flight each).
pub mod policy {
    use super::Duration;

    /// Attempts per request, the first included.
    pub const MAX_ATTEMPTS: u32 = 5;
    /// First backoff between attempts (doubling, with jitter).
    pub const INITIAL_BACKOFF: Duration = Duration::from_secs(1);
    /// Longest backoff between attempts.
    pub const MAX_BACKOFF: Duration = Duration::from_secs(20);
    /// Time to establish a connection.
    pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
}

impl S3StoreBuilder {
    /// A builder for `bucket`. Region, endpoint (`AWS_ENDPOINT_URL`, path-style addressing when
    /// set, for emulators) and credentials come from the standard AWS configuration when the
    /// store is built, unless set here.
    pub fn new(bucket: impl Into<String>) -> Self {
        S3StoreBuilder {
            bucket: bucket.into(),
            ..S3StoreBuilder::default()
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
        let retry = aws_config::retry::RetryConfig::standard()
            .with_max_attempts(policy::MAX_ATTEMPTS)
            .with_initial_backoff(policy::INITIAL_BACKOFF)
            .with_max_backoff(policy::MAX_BACKOFF);
        let timeouts = aws_config::timeout::TimeoutConfig::builder()
            .connect_timeout(policy::CONNECT_TIMEOUT)
            .build();
        let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .retry_config(retry)
            .timeout_config(timeouts);
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
        if self.endpoint.is_some() || shared.endpoint_url().is_some() {
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
