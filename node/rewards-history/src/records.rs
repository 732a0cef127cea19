//! Reading a block's `System::Events` record by record.
//!
//! SCALE has no per-record framing: a record the node cannot decode (an event whose layout a
//! runtime upgrade changed, from a block the running node's runtime types do not describe) has no
//! known length, so nothing after it can be read. [`decode_each`] keeps the records before it
//! and says how many were lost, so one changed event costs the index the rest of one block, not
//! every block from there on.

use codec::{Compact, Decode, Input};

/// The records of a SCALE `Vec<R>` that decode, in order, and how many of the declared records
/// did not (all of them if the length prefix itself is undecodable).
pub fn decode_each<R: Decode>(bytes: &[u8]) -> (Vec<R>, u32) {
    let mut input = bytes;
    let Ok(Compact(declared)) = Compact::<u32>::decode(&mut input) else {
        return (Vec::new(), 1);
    };
    // The prefix is not trusted for an allocation: each record takes at least one byte.
    let capacity = usize::try_from(declared)
        .unwrap_or(usize::MAX)
        .min(input.remaining_len().ok().flatten().unwrap_or(0));
    let mut records = Vec::with_capacity(capacity);
    for _ in 0..declared {
        match R::decode(&mut input) {
            Ok(record) => records.push(record),
            Err(_) => break,
        }
    }
    let lost = declared.saturating_sub(records.len() as u32);
    (records, lost)
}

#[cfg(test)]
mod tests {
    use super::*;
    use codec::Encode;

    /// An event type before and after an upgrade that added a field to its second variant.
    #[derive(Encode, Decode, Debug, PartialEq)]
    enum Old {
        Credited(u32),
        Claimed(u8),
    }

    #[derive(Encode, Decode, Debug, PartialEq)]
    enum New {
        Credited(u32),
        Claimed(u8, u64),
        Added,
    }

    #[test]
    fn decodes_every_record_of_a_block_it_understands() {
        let bytes = vec![Old::Credited(5), Old::Claimed(1)].encode();
        assert_eq!(
            decode_each::<Old>(&bytes),
            (vec![Old::Credited(5), Old::Claimed(1)], 0)
        );
    }

    #[test]
    fn keeps_the_records_before_one_it_cannot_decode() {
        // Written by the new runtime, read with the old types: the third record is unknown.
        let bytes = vec![
            New::Credited(5),
            New::Credited(6),
            New::Added,
            New::Credited(7),
        ]
        .encode();
        assert_eq!(
            decode_each::<Old>(&bytes),
            (vec![Old::Credited(5), Old::Credited(6)], 2)
        );
    }

    #[test]
    fn an_undecodable_prefix_or_truncated_bytes_lose_only_what_they_must() {
        assert_eq!(decode_each::<Old>(&[]), (vec![], 1));
        let mut bytes = vec![Old::Credited(5), Old::Credited(6)].encode();
        bytes.truncate(bytes.len() - 2);
        assert_eq!(decode_each::<Old>(&bytes), (vec![Old::Credited(5)], 1));
        // A prefix claiming a billion records with none behind it allocates nothing big.
        let mut lying = Vec::new();
        Compact(1_000_000_000u32).encode_to(&mut lying);
        assert_eq!(decode_each::<Old>(&lying), (vec![], 1_000_000_000));
    }
}
