//! The archive checksums: CRC64NVME, the full-object checksum S3 supports for multipart uploads,
//! written as base64 of the big-endian value (as S3 reports it); and SHA-256, the content
//! identity recorded for humans and as tamper evidence ([`Digests`]).

use base64::Engine;
use bytes::Bytes;
use futures_util::StreamExt;
use std::sync::{Arc, Mutex};

use super::ByteStream;

/// A running CRC64NVME.
#[derive(Clone)]
pub struct Crc64 {
    digest: crc_fast::Digest,
    bytes: u64,
}

impl Default for Crc64 {
    fn default() -> Self {
        Crc64 {
            digest: crc_fast::Digest::new(crc_fast::CrcAlgorithm::Crc64Nvme),
            bytes: 0,
        }
    }
}

impl std::fmt::Debug for Crc64 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Crc64({} bytes)", self.bytes)
    }
}

impl Crc64 {
    /// Adds bytes.
    pub fn update(&mut self, data: &[u8]) {
        self.digest.update(data);
        self.bytes += data.len() as u64;
    }

    /// Bytes seen.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// The checksum so far, base64 of the big-endian value.
    pub fn base64(&self) -> String {
        base64::engine::general_purpose::STANDARD.encode(self.digest.finalize().to_be_bytes())
    }
}

/// What the tool computes over a stream of bytes: the byte count, CRC64NVME and SHA-256.
#[derive(Clone, Default)]
pub struct Digests {
    crc: Crc64,
    sha: sha2::Sha256,
}

impl std::fmt::Debug for Digests {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Digests({} bytes)", self.crc.bytes())
    }
}

/// The digests of a whole stream, finished.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Digest {
    /// Byte count.
    pub bytes: u64,
    /// CRC64NVME, base64 of the big-endian value.
    pub crc64nvme: String,
    /// SHA-256, lower-case hex.
    pub sha256: String,
}

impl Digests {
    /// Adds bytes.
    pub fn update(&mut self, data: &[u8]) {
        use sha2::Digest as _;
        self.crc.update(data);
        self.sha.update(data);
    }

    /// The digests of everything added.
    pub fn finish(&self) -> Digest {
        use sha2::Digest as _;
        Digest {
            bytes: self.crc.bytes(),
            crc64nvme: self.crc.base64(),
            sha256: hex::encode(self.sha.clone().finalize()),
        }
    }

    /// The digests of one buffer.
    pub fn of(data: &[u8]) -> Digest {
        let mut d = Digests::default();
        d.update(data);
        d.finish()
    }
}

/// Batches waiting for the hashing thread of a [`tee`].
const TEE_QUEUE: usize = 4;
/// Bytes a [`tee`] hands to its hashing thread at once (network chunks are small; one wake-up per
/// chunk would cost more than the hashing).
const TEE_BATCH: usize = 1 << 20;

/// The digests of a [`tee`]d stream, ready once the stream has ended.
#[derive(Debug)]
pub struct TeeDigest(tokio::task::JoinHandle<Digests>);

impl TeeDigest {
    /// The digests of every byte that passed through the stream (complete once the stream was
    /// read to its end).
    pub async fn finish(self) -> std::io::Result<Digest> {
        self.0
            .await
            .map(|d| d.finish())
            .map_err(|e| std::io::Error::other(format!("the hashing thread failed: {e}")))
    }
}

struct Tee {
    body: ByteStream,
    batch: Vec<Bytes>,
    batched: usize,
    tx: Option<tokio::sync::mpsc::Sender<Vec<Bytes>>>,
}

impl Tee {
    async fn hand_over(&mut self) -> std::io::Result<()> {
        self.batched = 0;
        let batch = std::mem::take(&mut self.batch);
        match &self.tx {
            Some(tx) if !batch.is_empty() => tx
                .send(batch)
                .await
                .map_err(|_| std::io::Error::other("the hashing thread stopped")),
            _ => Ok(()),
        }
    }
}

/// A stream that computes [`Digests`] of the bytes passing through it. The hashing runs on a
/// thread of its own, fed through a short queue in batches of about 1 MiB (the chunks are
/// shared, not copied), so it overlaps the download and the store's writes instead of stalling
/// the runtime; memory stays at a few batches. Read the digests with [`TeeDigest::finish`] once
/// the stream has ended.
pub fn tee(body: ByteStream) -> (ByteStream, TeeDigest) {
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Vec<Bytes>>(TEE_QUEUE);
    let hasher = tokio::task::spawn_blocking(move || {
        let mut d = Digests::default();
        while let Some(batch) = rx.blocking_recv() {
            for chunk in batch {
                d.update(&chunk);
            }
        }
        d
    });
    let state = Tee {
        body,
        batch: Vec::new(),
        batched: 0,
        tx: Some(tx),
    };
    let stream = futures_util::stream::unfold(state, |mut t| async move {
        match t.body.next().await {
            Some(Ok(chunk)) => {
                t.batched += chunk.len();
                t.batch.push(chunk.clone());
                let handed = if t.batched >= TEE_BATCH {
                    t.hand_over().await
                } else {
                    Ok(())
                };
                Some((handed.map(|()| chunk), t))
            }
            Some(Err(e)) => Some((Err(e), t)),
            None => {
                let last = t.hand_over().await;
                t.tx = None; // the hashing thread finishes
                last.err().map(|e| (Err(e), t))
            }
        }
    });
    (Box::pin(stream), TeeDigest(hasher))
}

/// Reads a stream to its end and returns its digests; memory stays at one chunk.
pub async fn digest_stream(mut body: ByteStream) -> std::io::Result<Digest> {
    let mut d = Digests::default();
    while let Some(chunk) = body.next().await {
        d.update(&chunk?);
    }
    Ok(d.finish())
}

/// Wraps a stream so that, when it ends, its bytes are compared with `expected` (count and
/// checksum); a difference ends the stream with an error instead of a clean end.
pub fn verify_stream(
    body: ByteStream,
    expected_size: u64,
    expected_checksum: Option<String>,
    what: String,
) -> ByteStream {
    let state = Arc::new(Mutex::new(Crc64::default()));
    let tail_state = state.clone();
    let checked = body.map(move |chunk: std::io::Result<Bytes>| {
        if let Ok(c) = &chunk {
            state.lock().expect("crc lock").update(c);
        }
        chunk
    });
    let tail = futures_util::stream::once(async move {
        let crc = tail_state.lock().expect("crc lock").clone();
        if crc.bytes() != expected_size {
            return Err(std::io::Error::other(format!(
                "{what}: read {} bytes, expected {expected_size}",
                crc.bytes()
            )));
        }
        match expected_checksum {
            Some(e) if e != crc.base64() => Err(std::io::Error::other(format!(
                "{what}: checksum mismatch: recorded CRC64NVME {e}, read {}",
                crc.base64()
            ))),
            _ => Ok(Bytes::new()),
        }
    });
    Box::pin(
        checked
            .chain(tail)
            .filter(|c| futures_util::future::ready(!matches!(c, Ok(b) if b.is_empty()))),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc64nvme_matches_the_reference_check_value() {
        // Check value of CRC-64/NVME for "123456789".
        let mut c = Crc64::default();
        c.update(b"1234");
        c.update(b"56789");
        let v = u64::from_be_bytes(
            base64::engine::general_purpose::STANDARD
                .decode(c.base64())
                .unwrap()
                .try_into()
                .unwrap(),
        );
        assert_eq!(v, 0xAE8B_1486_0A79_9888);
    }

    #[test]
    fn sha256_matches_the_reference_value_of_abc() {
        let d = Digests::of(b"abc");
        assert_eq!(
            d.sha256,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(d.bytes, 3);
    }
}
