//! Splitting the work of one job over several tasks with no coordinator: shard `K/N` takes the
//! entries whose id hashes (FNV-1a, stable across versions and machines) to `K` modulo `N`.

/// One shard of `count`, numbered from 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// This shard, `0..count`.
    pub index: u32,
    /// How many shards there are.
    pub count: u32,
}

impl Shard {
    /// Parses `K/N` (0 ≤ K < N).
    pub fn parse(s: &str) -> crate::error::Result<Self> {
        let bad = || {
            crate::error::Error::Invalid(format!(
                "shard {s:?} must be K/N with 0 <= K < N, e.g. 0/4"
            ))
        };
        let (k, n) = s.trim().split_once('/').ok_or_else(bad)?;
        let (index, count) = (
            k.trim().parse::<u32>().map_err(|_| bad())?,
            n.trim().parse::<u32>().map_err(|_| bad())?,
        );
        if count == 0 || index >= count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }

    /// The shard of an array job from its environment: the index from
    /// `AWS_BATCH_JOB_ARRAY_INDEX` (AWS Batch) or `JOB_COMPLETION_INDEX` (Kubernetes indexed
    /// Jobs), the count from `SHARD_COUNT`. `None` when no index is set.
    pub fn from_env(var: impl Fn(&str) -> Option<String>) -> crate::error::Result<Option<Self>> {
        let index = ["AWS_BATCH_JOB_ARRAY_INDEX", "JOB_COMPLETION_INDEX"]
            .iter()
            .find_map(|k| var(k).filter(|v| !v.trim().is_empty()).map(|v| (*k, v)));
        let Some((name, index)) = index else {
            return Ok(None);
        };
        let count = var("SHARD_COUNT").ok_or_else(|| {
            crate::error::Error::Invalid(format!("{name} is set ({index}) but SHARD_COUNT is not: set SHARD_COUNT to the number of tasks"))
        })?;
        Shard::parse(&format!("{index}/{count}")).map(Some)
    }

    /// Whether an entry belongs to this shard.
    pub fn contains(&self, entry_id: &str) -> bool {
        fnv1a(entry_id.as_bytes()) % u64::from(self.count) == u64::from(self.index)
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

fn fnv1a(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_entry_is_in_exactly_one_shard_and_the_split_is_even() {
        let shards: Vec<Shard> = (0..4)
            .map(|i| Shard::parse(&format!("{i}/4")).unwrap())
            .collect();
        let mut sizes = [0u32; 4];
        for n in 0..4000 {
            let id = format!("0_{n:08x}");
            let owners: Vec<usize> = (0..4).filter(|i| shards[*i].contains(&id)).collect();
            assert_eq!(owners.len(), 1, "{id}");
            sizes[owners[0]] += 1;
        }
        assert!(sizes.iter().all(|s| (850..1150).contains(s)), "{sizes:?}");
        assert_eq!(fnv1a(b"0_abc"), fnv1a(b"0_abc"), "stable");
    }

    #[test]
    fn shards_come_from_the_array_job_environment_or_a_clear_error() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| v.to_string())
            }
        };
        assert_eq!(Shard::from_env(env(&[])).unwrap(), None);
        assert_eq!(
            Shard::from_env(env(&[("JOB_COMPLETION_INDEX", "2"), ("SHARD_COUNT", "3")])).unwrap(),
            Some(Shard { index: 2, count: 3 })
        );
        let e = Shard::from_env(env(&[("AWS_BATCH_JOB_ARRAY_INDEX", "1")])).unwrap_err();
        assert!(e.to_string().contains("SHARD_COUNT"), "{e}");
        assert!(
            Shard::parse("4/4").is_err()
                && Shard::parse("x").is_err()
                && Shard::parse("0/0").is_err()
        );
    }
}
