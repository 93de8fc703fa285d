//! The one retry policy: exponential backoff with full jitter, bounded by a number of attempts
//! and a total time; throttling (`ACTION_BLOCKED`, HTTP 429) waits at least a second.

use std::time::Duration;

/// How transient failures are retried.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Attempts in total, the first included.
    pub max_attempts: u32,
    /// Give up once this much time has passed.
    pub max_elapsed: Duration,
    /// Delay before the second attempt (doubles each time).
    pub base_delay: Duration,
    /// Longest delay between attempts.
    pub max_delay: Duration,
    /// Shortest delay after being throttled.
    pub throttle_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 8,
            max_elapsed: Duration::from_secs(180),
            base_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(20),
            throttle_delay: Duration::from_secs(1),
        }
    }
}

impl RetryPolicy {
    /// The delay before attempt `attempt + 1` (attempt counts from 1), with full jitter.
    pub fn delay(&self, attempt: u32, throttled: bool) -> Duration {
        let exp = self
            .base_delay
            .saturating_mul(1u32 << attempt.saturating_sub(1).min(16));
        let cap = exp.min(self.max_delay);
        let jittered = cap.mul_f64(jitter());
        if throttled {
            jittered.max(self.throttle_delay)
        } else {
            jittered
        }
    }
}

/// A number in [0.5, 1.0): "equal jitter", so a delay never collapses to zero.
fn jitter() -> f64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    0.5 + (h.finish() >> 11) as f64 / (1u64 << 53) as f64 / 2.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_are_capped_and_throttling_waits_at_least_the_floor() {
        let p = RetryPolicy::default();
        let d1 = p.delay(1, false);
        assert!(
            d1 >= Duration::from_millis(125) && d1 < Duration::from_millis(250),
            "{d1:?}"
        );
        let d4 = p.delay(4, false);
        assert!(
            d4 >= Duration::from_millis(1000) && d4 < Duration::from_millis(2000),
            "{d4:?}"
        );
        assert!(p.delay(30, false) <= p.max_delay);
        assert!(p.delay(1, true) >= p.throttle_delay);
    }
}
