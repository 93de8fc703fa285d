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

/// A TCP proxy in front of `upstream` that shapes each connection the same way: every byte in
/// each direction at no more than `rate` bytes per second, and `latency` before each answer (the
/// first bytes back after the client sent something), as a real link to a remote server does.
/// Returns the address to connect to; the proxy runs until the runtime stops.
pub async fn shaped_proxy(
    upstream: std::net::SocketAddr,
    rate: Option<f64>,
    latency: Duration,
) -> std::io::Result<std::net::SocketAddr> {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            tokio::spawn(async move {
                let Ok(server) = tokio::net::TcpStream::connect(upstream).await else {
                    return;
                };
                let _ = client.set_nodelay(true);
                let _ = server.set_nodelay(true);
                let (client_read, client_write) = client.into_split();
                let (server_read, server_write) = server.into_split();
                let asked = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
                let up = relay(client_read, server_write, rate, None, asked.clone());
                let down = relay(server_read, client_write, rate, Some(latency), asked);
                let _ = tokio::join!(up, down);
            });
        }
    });
    Ok(addr)
}

/// Copies one direction of a proxied connection, paced. The direction towards the server marks
/// `asked` when it forwards bytes; the direction back waits `latency` before the first bytes of
/// each answer. A direction idle for a while starts a new paced transfer.
async fn relay(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    rate: Option<f64>,
    latency: Option<Duration>,
    asked: std::sync::Arc<std::sync::atomic::AtomicBool>,
) {
    use std::sync::atomic::Ordering;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut buf = vec![0u8; 64 * 1024];
    let (mut since, mut moved, mut last) = (Instant::now(), 0u64, Instant::now());
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        if last.elapsed() > Duration::from_millis(50) {
            (since, moved) = (Instant::now(), 0);
        }
        match latency {
            Some(l) if asked.swap(false, Ordering::SeqCst) => {
                tokio::time::sleep(l).await;
                (since, moved) = (Instant::now(), 0);
            }
            Some(_) => {}
            None => asked.store(true, Ordering::SeqCst),
        }
        moved += n as u64;
        pace(moved, rate, since).await;
        if to.write_all(&buf[..n]).await.is_err() {
            break;
        }
        last = Instant::now();
    }
    let _ = to.shutdown().await;
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

    #[tokio::test]
    async fn the_proxy_shapes_each_connection_and_adds_latency_to_each_answer() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        // An upstream that answers each 1-byte request with 500 kB.
        let upstream = tokio::net::TcpListener::bind(("127.0.0.1", 0))
            .await
            .unwrap();
        let up_addr = upstream.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((mut s, _)) = upstream.accept().await {
                tokio::spawn(async move {
                    let mut b = [0u8; 1];
                    while s.read_exact(&mut b).await.is_ok() {
                        if s.write_all(&vec![1u8; 500_000]).await.is_err() {
                            break;
                        }
                    }
                });
            }
        });
        // 8 Mbit/s = 1 MB/s, 100 ms per answer.
        let proxy = shaped_proxy(
            up_addr,
            bytes_per_sec(Some(8.0)),
            Duration::from_millis(100),
        )
        .await
        .unwrap();
        let fetch = || async move {
            let mut c = tokio::net::TcpStream::connect(proxy).await.unwrap();
            let started = Instant::now();
            c.write_all(&[0]).await.unwrap();
            let mut got = vec![0u8; 500_000];
            c.read_exact(&mut got).await.unwrap();
            started.elapsed().as_secs_f64()
        };
        let one = fetch().await;
        assert!(
            (0.55..1.0).contains(&one),
            "500 kB at 1 MB/s + 100 ms: {one}"
        );
        let (a, b) = tokio::join!(fetch(), fetch());
        assert!(a < 1.0 && b < 1.0, "per connection, not shared: {a} {b}");
    }
}
