//! A per-connection network model: each flavor download and each upload call moves its bytes no
//! faster than a set rate, as a CDN download or an upload over a real link does (the per-call
//! latency is a fault rule, `latency=20ms`). Rates are megabits per second, as links are sold.

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use std::time::{Duration, Instant};

/// Bytes per second of a rate in megabits per second; `None` when unshaped.
pub fn bytes_per_sec(mbps: Option<f64>) -> Option<f64> {
    mbps.filter(|m| *m > 0.0).map(|m| m * 1_000_000.0 / 8.0)
}

/// How long `bytes` take at `rate` bytes per second, less what has passed since `since`.
fn owed(bytes: u64, rate: f64, since: Instant) -> Duration {
    Duration::from_secs_f64(bytes as f64 / rate).saturating_sub(since.elapsed())
}

/// The stream, paced so that its bytes arrive no faster than `rate` bytes per second.
pub fn throttle<S>(
    body: S,
    rate: Option<f64>,
) -> impl Stream<Item = std::io::Result<Bytes>> + Send + 'static
where
    S: Stream<Item = std::io::Result<Bytes>> + Send + 'static,
{
    let started = Instant::now();
    let mut sent = 0u64;
    body.then(move |chunk| {
        if let Ok(c) = &chunk {
            sent += c.len() as u64;
        }
        let wait = rate.map_or(Duration::ZERO, |r| owed(sent, r, started));
        async move {
            if !wait.is_zero() {
                tokio::time::sleep(wait).await;
            }
            chunk
        }
    })
}

/// Waits until `bytes` received since `since` would have taken at `rate` bytes per second.
pub async fn pace(bytes: u64, rate: Option<f64>, since: Instant) {
    if let Some(rate) = rate {
        let wait = owed(bytes, rate, since);
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_throttled_stream_takes_its_bytes_over_rate_time() {
        let chunks: Vec<std::io::Result<Bytes>> = (0..10)
            .map(|_| Ok(Bytes::from(vec![0u8; 100_000])))
            .collect();
        let started = Instant::now();
        // 1 MB at 8 Mbit/s = 1 MB/s: one second.
        let n: usize = throttle(futures_util::stream::iter(chunks), bytes_per_sec(Some(8.0)))
            .map(|c| c.unwrap().len())
            .fold(0, |a, b| async move { a + b })
            .await;
        let took = started.elapsed().as_secs_f64();
        assert_eq!(n, 1_000_000);
        assert!((0.95..1.5).contains(&took), "{took}");
    }
}
