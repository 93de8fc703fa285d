//! Keeps overlapping runs of the same job and shard apart with leases written by create-if-absent
//! (an S3 conditional put), without ever deleting anything (the task role has no delete
//! permission).
//!
//! Each run of a job takes the next generation `locks/<job>/<gen>.json` — only one of several
//! runs that race for the same generation can create it — unless the newest generation is held:
//! its lease has not run out and it is not released (`<gen>.released`). A running process renews
//! its lease (a [`Lease`] heartbeat writes `<gen>.lease-<expires>` markers), so a live run keeps
//! its lock however long it runs and a dead one's lock lapses within one lease length.

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::Duration;

use crate::store::{create_or_confirm, read_json, ArchiveStore, Error, ObjectKey, Result};

/// What a lock object records.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct LockInfo {
    /// The run holding it.
    pub run_id: String,
    /// When it was taken (Unix seconds).
    pub taken_at: i64,
    /// When it lapses unless renewed (the newest renewal, when read by [`acquire`]).
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
    /// Taken; keep it alive with [`RunLock::keep_alive`] and release it when done.
    Held(RunLock),
    /// Another run holds it.
    Busy(LockInfo),
}

fn prefix(job: &str) -> String {
    format!("locks/{job}/")
}

fn lock_key(job: &str, gen: u64) -> Result<ObjectKey> {
    ObjectKey::new(format!("{}{gen:010}.json", prefix(job)))
}

/// Tries to take the lock of `job` (e.g. `archive-shard-0-of-4`) with a lease of `lease_secs`.
pub async fn acquire(
    store: &dyn ArchiveStore,
    job: &str,
    run_id: &str,
    now: i64,
    lease_secs: i64,
) -> Result<Acquired> {
    let keys = store.list(&prefix(job)).await?;
    let names: Vec<&str> = keys
        .iter()
        .filter_map(|k| k.as_str().strip_prefix(&prefix(job)))
        .collect();
    let newest = names
        .iter()
        .filter_map(|n| n.strip_suffix(".json")?.parse::<u64>().ok())
        .max();
    if let Some(gen) = newest {
        let mut info = read_json::<LockInfo>(store, &lock_key(job, gen)?).await?;
        let stem = format!("{gen:010}.");
        let renewed = names
            .iter()
            .filter_map(|n| {
                n.strip_prefix(&stem)?
                    .strip_prefix("lease-")?
                    .parse::<i64>()
                    .ok()
            })
            .max();
        info.expires_at = info.expires_at.max(renewed.unwrap_or(0));
        let released = names.contains(&format!("{gen:010}.released").as_str());
        if info.expires_at > now && !released {
            return Ok(Acquired::Busy(info));
        }
    }
    let gen = newest.map_or(1, |g| g + 1);
    let key = lock_key(job, gen)?;
    let info = LockInfo {
        run_id: run_id.to_string(),
        taken_at: now,
        expires_at: now + lease_secs,
    };
    let body = serde_json::to_vec(&info).map_err(|e| Error::Invalid(e.to_string()))?;
    // A lost answer to this run's own write counts as taken (`create_or_confirm`).
    if create_or_confirm(store, &key, Bytes::from(body)).await? {
        Ok(Acquired::Held(RunLock { key, info }))
    } else {
        // Another run took this generation first.
        Ok(Acquired::Busy(read_json::<LockInfo>(store, &key).await?))
    }
}

impl RunLock {
    fn marker(&self, suffix: &str) -> Result<ObjectKey> {
        ObjectKey::new(self.key.as_str().replace(".json", suffix))
    }

    /// Starts renewing the lease every third of its length, for as long as the returned
    /// [`Lease`] lives.
    pub fn keep_alive(self, store: Arc<dyn ArchiveStore>, lease_secs: i64) -> Lease {
        let every = Duration::from_secs_f64((lease_secs as f64 / 3.0).max(0.2));
        let key = self.key.clone();
        let renewing = store.clone();
        let heartbeat = tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.tick().await;
            loop {
                tick.tick().await;
                let expires = crate::time::now() + lease_secs;
                let marker = key.as_str().replace(".json", &format!(".lease-{expires}"));
                let renewed = match ObjectKey::new(marker) {
                    Ok(k) => renewing
                        .create_if_absent(&k, Bytes::from_static(b"{}"))
                        .await
                        .map(|_| ()),
                    Err(e) => Err(e),
                };
                if let Err(e) = renewed {
                    tracing::warn!(error = %e, "the run lock's lease could not be renewed; retrying");
                }
            }
        });
        Lease {
            lock: Some(self),
            heartbeat,
        }
    }

    /// Releases the lock (writes its `.released` marker).
    pub async fn release(self, store: &dyn ArchiveStore) -> Result<()> {
        store
            .create_if_absent(&self.marker(".released")?, Bytes::from_static(b"{}"))
            .await
            .map(|_| ())
    }
}

/// A held lock whose lease is being renewed. Dropping it stops the renewals (the lease then
/// lapses); [`Lease::release`] also frees the lock at once.
#[derive(Debug)]
pub struct Lease {
    lock: Option<RunLock>,
    heartbeat: tokio::task::JoinHandle<()>,
}

impl Lease {
    /// Stops renewing and releases the lock.
    pub async fn release(mut self, store: &dyn ArchiveStore) -> Result<()> {
        self.heartbeat.abort();
        match self.lock.take() {
            Some(lock) => lock.release(store).await,
            None => Ok(()),
        }
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        self.heartbeat.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::local::LocalStore;
    use crate::store::testing::LostAnswers;

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
        // b crashes (never releases, never renews): the lock lapses after its lease.
        assert!(matches!(
            acquire(&store, "archive", "run-c", 1079, 60).await.unwrap(),
            Acquired::Busy(_)
        ));
        assert!(matches!(
            acquire(&store, "archive", "run-c", 1081, 60).await.unwrap(),
            Acquired::Held(_)
        ));
    }

    #[tokio::test]
    async fn a_renewed_lease_keeps_the_lock_until_its_newest_renewal_runs_out() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalStore::new(dir.path()).unwrap();
        let Acquired::Held(_a) = acquire(&store, "restore", "run-a", 1000, 60).await.unwrap()
        else {
            panic!("the first run takes the lock");
        };
        // A renewal marker as the heartbeat writes it: held until 1200.
        store
            .create_if_absent(
                &ObjectKey::new("locks/restore/0000000001.lease-1200").unwrap(),
                Bytes::from_static(b"{}"),
            )
            .await
            .unwrap();
        match acquire(&store, "restore", "run-b", 1100, 60).await.unwrap() {
            Acquired::Busy(info) => {
                assert_eq!((info.run_id.as_str(), info.expires_at), ("run-a", 1200))
            }
            Acquired::Held(_) => panic!("a renewed lease must not be taken over"),
        }
        assert!(matches!(
            acquire(&store, "restore", "run-b", 1201, 60).await.unwrap(),
            Acquired::Held(_)
        ));
    }

    #[tokio::test]
    async fn a_run_whose_lock_write_answer_was_lost_recognises_its_own_lock() {
        let dir = tempfile::tempdir().unwrap();
        let store = LostAnswers(LocalStore::new(dir.path()).unwrap());
        // Every conditional write goes through and then answers "exists".
        match acquire(&store, "archive", "run-a", 1000, 60).await.unwrap() {
            Acquired::Held(l) => assert_eq!(l.info.run_id, "run-a"),
            Acquired::Busy(info) => panic!("its own lock read as someone else's: {info:?}"),
        }
        match acquire(&store, "archive", "run-b", 1010, 60).await.unwrap() {
            Acquired::Busy(info) => assert_eq!(info.run_id, "run-a"),
            Acquired::Held(_) => panic!("run-b must not take run-a's lock"),
        }
    }
}
