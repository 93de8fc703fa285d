//! Keeps overlapping runs of the same job and shard apart with objects written by
//! create-if-absent (an S3 conditional put), without ever deleting anything (the task role has
//! no delete permission).
//!
//! Each run of a job takes the next generation `locks/<job>/<gen>.json` — only one of several
//! runs that race for the same generation can create it — unless the newest generation is held:
//! written less than the lock's lifetime ago and not released (`<gen>.released`). A crashed
//! run's lock thus lapses after its lifetime.

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use crate::store::{read_json, ArchiveStore, Error, ObjectKey, Result};

/// What a lock object records.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct LockInfo {
    /// The run holding it.
    pub run_id: String,
    /// When it was taken (Unix seconds).
    pub taken_at: i64,
    /// When it lapses if never released.
    pub expires_at: i64,
}

/// A lock that is held.
#[derive(Debug)]
pub struct RunLock {
    key: ObjectKey,
    /// What it records.
    pub info: LockInfo,
}

/// The result of trying to take a lock.
#[derive(Debug)]
pub enum Acquired {
    /// Taken; release it when done.
    Held(RunLock),
    /// Another run holds it.
    Busy(LockInfo),
}

fn prefix(job: &str) -> String {
    format!("locks/{job}/")
}

/// Tries to take the lock of `job` (e.g. `archive-shard-0-of-4`) for `lifetime_secs`.
pub async fn acquire(
    store: &dyn ArchiveStore,
    job: &str,
    run_id: &str,
    now: i64,
    lifetime_secs: i64,
) -> Result<Acquired> {
    let keys = store.list(&prefix(job)).await?;
    let newest = keys
        .iter()
        .filter_map(|k| {
            let name = k.as_str().strip_prefix(&prefix(job))?;
            name.strip_suffix(".json")?.parse::<u64>().ok()
        })
        .max();
    if let Some(gen) = newest {
        let key = ObjectKey::new(format!("{}{gen:010}.json", prefix(job)))?;
        let released = ObjectKey::new(format!("{}{gen:010}.released", prefix(job)))?;
        let info = read_json::<LockInfo>(store, &key).await?;
        if info.expires_at > now && store.head(&released).await?.is_none() {
            return Ok(Acquired::Busy(info));
        }
    }
    let gen = newest.map_or(1, |g| g + 1);
    let key = ObjectKey::new(format!("{}{gen:010}.json", prefix(job)))?;
    let info = LockInfo {
        run_id: run_id.to_string(),
        taken_at: now,
        expires_at: now + lifetime_secs,
    };
    let body = serde_json::to_vec(&info).map_err(|e| Error::Invalid(e.to_string()))?;
    if store.create_if_absent(&key, Bytes::from(body)).await? {
        Ok(Acquired::Held(RunLock { key, info }))
    } else {
        // Another run took this generation first.
        Ok(Acquired::Busy(read_json::<LockInfo>(store, &key).await?))
    }
}

impl RunLock {
    /// Releases the lock (writes its `.released` marker).
    pub async fn release(self, store: &dyn ArchiveStore) -> Result<()> {
        let released = self.key.as_str().replace(".json", ".released");
        store
            .create_if_absent(&ObjectKey::new(released)?, Bytes::from_static(b"{}"))
            .await
            .map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::local::LocalStore;

    #[tokio::test]
    async fn one_of_two_runs_holds_the_lock_until_it_is_released_or_lapses() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalStore::new(dir.path()).unwrap();
        let Acquired::Held(a) = acquire(&store, "archive", "run-a", 1000, 60).await.unwrap() else {
            panic!("the first run takes the lock");
        };
        match acquire(&store, "archive", "run-b", 1010, 60).await.unwrap() {
            Acquired::Busy(info) => assert_eq!(info.run_id, "run-a"),
            Acquired::Held(_) => panic!("a second run must not take a held lock"),
        }
        assert!(
            matches!(
                acquire(&store, "restore", "run-c", 1010, 60).await.unwrap(),
                Acquired::Held(_)
            ),
            "other jobs are independent"
        );
        a.release(&store).await.unwrap();
        let Acquired::Held(b) = acquire(&store, "archive", "run-b", 1020, 60).await.unwrap() else {
            panic!("released locks can be taken");
        };
        assert_eq!(b.info.run_id, "run-b");
        // b crashes (never releases): the lock lapses after its lifetime.
        assert!(matches!(
            acquire(&store, "archive", "run-c", 1079, 60).await.unwrap(),
            Acquired::Busy(_)
        ));
        assert!(matches!(
            acquire(&store, "archive", "run-c", 1081, 60).await.unwrap(),
            Acquired::Held(_)
        ));
    }
}
