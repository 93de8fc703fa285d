//! Deterministic flavor content: the bytes of a generated flavor are a pure function of a 64-bit
//! key (derived from seed, flavor id and version) and the byte offset, so multi-GB flavors cost no
//! memory and any byte range can be produced directly.

/// Mixes a 64-bit value (splitmix64 finaliser); the building block of all simulator randomness.
pub fn mix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Hashes a string into a 64-bit value (FNV-1a followed by [`mix64`]).
pub fn hash_str(s: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    mix64(h)
}

/// The content key of a generated flavor.
pub fn content_key(seed: u64, flavor_id: &str, version: i64) -> u64 {
    mix64(seed ^ hash_str(flavor_id) ^ mix64(version as u64))
}

/// Fills `buf` with the bytes of the generated content `key` starting at byte `offset`.
///
/// Each aligned 8-byte word `w` of the content is `mix64(key ^ w)` in little-endian order.
pub fn fill(key: u64, offset: u64, buf: &mut [u8]) {
    let mut pos = 0usize;
    let mut off = offset;
    // Leading unaligned bytes.
    while pos < buf.len() && off % 8 != 0 {
        let word = mix64(key ^ (off / 8)).to_le_bytes();
        buf[pos] = word[(off % 8) as usize];
        pos += 1;
        off += 1;
    }
    // Aligned words.
    let mut chunks = buf[pos..].chunks_exact_mut(8);
    let mut w = off / 8;
    for chunk in &mut chunks {
        chunk.copy_from_slice(&mix64(key ^ w).to_le_bytes());
        w += 1;
    }
    let rest = chunks.into_remainder();
    if !rest.is_empty() {
        let word = mix64(key ^ w).to_le_bytes();
        rest.copy_from_slice(&word[..rest.len()]);
    }
}

/// Returns `len` bytes of content `key` starting at `offset` (convenience for tests).
pub fn bytes(key: u64, offset: u64, len: usize) -> Vec<u8> {
    let mut v = vec![0u8; len];
    fill(key, offset, &mut v);
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_range_equals_the_same_slice_of_the_whole() {
        let whole = bytes(42, 0, 1000);
        for (start, len) in [(0, 1000), (1, 7), (3, 100), (8, 8), (13, 987), (999, 1)] {
            assert_eq!(bytes(42, start as u64, len), whole[start..start + len]);
        }
    }

    #[test]
    fn different_keys_give_different_content() {
        assert_ne!(bytes(1, 0, 64), bytes(2, 0, 64));
        assert_ne!(content_key(1, "0_abc", 1), content_key(1, "0_abc", 2));
    }
}
