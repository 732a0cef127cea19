//! Content identifiers: the CIDv1 under which a content store (or IPFS) serves a blob, derived
//! from the blob's blake2-256 hash alone, so the node and the worker name the same bytes the
//! same way.

use crate::Hash;
use alloc::string::String;
use alloc::vec::Vec;

/// Multicodec of raw bytes.
const RAW_CODEC: u8 = 0x55;
/// Multihash code of blake2b-256 (0xb220) as an unsigned varint.
const BLAKE2B_256_VARINT: [u8; 3] = [0xa0, 0xe4, 0x02];
/// RFC 4648 base32, lower case, as multibase `b` uses it (no padding).
const BASE32: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";

/// The CIDv1 of a blob with this blake2-256 `hash`: raw codec, blake2b-256 multihash, base32
/// lower (`bafk2bza…`).
pub fn cid_v1(hash: &Hash) -> String {
    let mut bytes = Vec::with_capacity(2 + BLAKE2B_256_VARINT.len() + 1 + 32);
    bytes.extend_from_slice(&[1, RAW_CODEC]);
    bytes.extend_from_slice(&BLAKE2B_256_VARINT);
    bytes.push(32);
    bytes.extend_from_slice(hash.as_bytes());
    let mut text = String::with_capacity(1 + (bytes.len() * 8).div_ceil(5));
    text.push('b');
    let (mut buffer, mut bits) = (0u16, 0u32);
    for byte in bytes {
        buffer = (buffer << 8) | u16::from(byte);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            text.push(char::from(BASE32[usize::from((buffer >> bits) & 0x1f)]));
        }
    }
    if bits > 0 {
        text.push(char::from(
            BASE32[usize::from((buffer << (5 - bits)) & 0x1f)],
        ));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_blake2b_256_raw_cid_has_its_known_prefix_and_length() {
        let cid = cid_v1(&Hash::repeat_byte(0));
        // 1 + 38 bytes → 'b' + ceil(38·8/5) = 62 characters.
        assert_eq!(cid.len(), 62);
        assert!(cid.starts_with("bafk2bzac"), "{cid}");
        assert_ne!(cid, cid_v1(&Hash::repeat_byte(1)));
    }

    #[test]
    fn matches_the_cid_crates_encoding() {
        use sp_runtime::traits::{BlakeTwo256, Hash as _};
        // From the `cid` crate: Cid::new_v1(0x55, Multihash::wrap(0xb220, blake2b-256(b""))).
        let empty = BlakeTwo256::hash(b"");
        assert_eq!(
            cid_v1(&empty),
            "bafk2bzaceahfouoae3suhmxivmxlayez3kq5dzo7i53y654h7kvultprf7r2q"
        );
        let hello = BlakeTwo256::hash(b"hello world");
        assert_eq!(
            cid_v1(&hello),
            "bafk2bzaceaswza5ss4iu2ia3galz6pyo6dfm5f4dmiw2lf2de22dmf4k533ba"
        );
    }
}
