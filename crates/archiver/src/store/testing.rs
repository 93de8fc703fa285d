//! Test doubles of stores.

use bytes::Bytes;

use super::local::LocalStore;
use super::{ArchiveStore, ObjectKey, Result};

/// A store whose conditional writes succeed but answer "already there", as a retried S3
/// conditional put does when the answer to its first attempt was lost.
#[derive(Debug)]
pub(crate) struct LostAnswers(pub(crate) LocalStore);

impl std::fmt::Display for LostAnswers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

#[async_trait::async_trait]
impl ArchiveStore for LostAnswers {
    fn features(&self) -> super::Features {
        self.0.features()
    }
    async fn put(
        &self,
        key: &ObjectKey,
        body: super::ByteStream,
        opts: &super::PutOptions,
    ) -> Result<super::ObjectInfo> {
        self.0.put(key, body, opts).await
    }
    async fn head_version(
        &self,
        key: &ObjectKey,
        version: Option<&str>,
    ) -> Result<Option<super::ObjectInfo>> {
        self.0.head_version(key, version).await
    }
    async fn get_version(
        &self,
        key: &ObjectKey,
        version: Option<&str>,
    ) -> Result<super::ByteStream> {
        self.0.get_version(key, version).await
    }
    async fn restore_version(
        &self,
        key: &ObjectKey,
        version: Option<&str>,
        tier: super::RestoreTier,
        days: u32,
    ) -> Result<super::RestoreStatus> {
        self.0.restore_version(key, version, tier, days).await
    }
    async fn list(&self, prefix: &str) -> Result<Vec<ObjectKey>> {
        self.0.list(prefix).await
    }
    async fn create_if_absent(&self, key: &ObjectKey, body: Bytes) -> Result<bool> {
        self.0.create_if_absent(key, body).await?;
        Ok(false)
    }
}
