//! Binary Merkle trees over 32-byte leaves (content hashes, checkpoint hashes) with blake2-256.
//!
//! The runtime computes roots with it (a datanet version's root over its contributions' content
//! hashes); the worker computes the same roots and builds and checks inclusion proofs. It needs
//! nothing but blake2-256 (`sp_runtime`'s `BlakeTwo256`, a host call in the runtime), so it builds the same in `no_std` and in the worker.
//!
//! # The exact rule
//!
//! ```text
//! leaf node   = blake2_256(0x00 || leaf)                  -- 33 bytes hashed
//! inner node  = blake2_256(0x01 || left || right)         -- 65 bytes hashed
//! level 0     = [leaf node of each leaf, in order]
//! level k+1   = pair up level k left to right; a pair becomes its inner node; when level k has an
//!               odd number of nodes, its LAST node has no sibling and is carried up unchanged
//!               (it is neither hashed again nor duplicated)
//! root        = the single node of the first level that has one node
//! empty tree  = H256::zero() (no leaf can ever prove membership in it)
//! ```
//!
//! The distinct prefixes make a leaf node and an inner node hash different byte strings, so an
//! inner node can never be passed off as a leaf (the second-preimage attack on plain Merkle trees).
//! Carrying the odd node up instead of duplicating it means `[a, b, c]` and `[a, b, c, c]` have
//! different roots.
//!
//! A [`MerkleProof`] names the leaf's index and the number of leaves; from those two the verifier
//! knows at every level whether the node is a left child, a right child or carried up, so the
//! proof holds only the siblings, bottom first, and must hold exactly as many as the path needs.

use crate::Hash;
use alloc::vec::Vec;
use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use scale_info::TypeInfo;
use sp_core::ConstU32;
use sp_runtime::{
    traits::{BlakeTwo256, Hash as _},
    BoundedVec,
};

/// Prefix of a leaf node's pre-image.
pub const LEAF_PREFIX: u8 = 0x00;
/// Prefix of an inner node's pre-image.
pub const NODE_PREFIX: u8 = 0x01;
/// The deepest a tree of at most `u32::MAX` leaves can be: the most siblings a proof can hold.
pub const MAX_DEPTH: u32 = 32;

/// The siblings on a leaf's path to the root, bottom first.
pub type Siblings = BoundedVec<Hash, ConstU32<MAX_DEPTH>>;

/// Proof that a leaf is the `leaf_index`-th of `leaf_count` leaves under some root.
#[derive(
    Clone, PartialEq, Eq, Debug, Encode, Decode, DecodeWithMemTracking, TypeInfo, MaxEncodedLen,
)]
#[cfg_attr(feature = "std", derive(serde::Serialize, serde::Deserialize))]
pub struct MerkleProof {
    /// Position of the leaf, from 0.
    pub leaf_index: u32,
    /// Number of leaves in the tree.
    pub leaf_count: u32,
    /// Sibling nodes from the leaf's level up to just below the root.
    pub siblings: Siblings,
}

/// The leaf node of `leaf`: `blake2_256(0x00 || leaf)`.
pub fn leaf_node(leaf: &Hash) -> Hash {
    let mut preimage = [0u8; 33];
    preimage[0] = LEAF_PREFIX;
    preimage[1..].copy_from_slice(leaf.as_bytes());
    BlakeTwo256::hash(&preimage)
}

/// The inner node over two children: `blake2_256(0x01 || left || right)`.
pub fn inner_node(left: &Hash, right: &Hash) -> Hash {
    let mut preimage = [0u8; 65];
    preimage[0] = NODE_PREFIX;
    preimage[1..33].copy_from_slice(left.as_bytes());
    preimage[33..].copy_from_slice(right.as_bytes());
    BlakeTwo256::hash(&preimage)
}

/// One level up: pairs become inner nodes, an odd last node is carried up unchanged.
fn next_level(level: &[Hash]) -> Vec<Hash> {
    level
        .chunks(2)
        .filter_map(|pair| match pair {
            [left, right] => Some(inner_node(left, right)),
            [single] => Some(*single),
            _ => None, // `chunks(2)` never yields another shape.
        })
        .collect()
}

/// The root over `leaves` in order; [`Hash::zero`] for no leaves.
pub fn root(leaves: &[Hash]) -> Hash {
    root_of_nodes(leaves.iter().map(leaf_node).collect())
}

fn root_of_nodes(mut level: Vec<Hash>) -> Hash {
    while level.len() > 1 {
        level = next_level(&level);
    }
    level.first().copied().unwrap_or_else(Hash::zero)
}

/// The proof that `leaves[index]` is under [`root`]`(leaves)`; `None` if `index` is out of range
/// or there are more than `u32::MAX` leaves.
pub fn proof(leaves: &[Hash], index: u32) -> Option<MerkleProof> {
    let leaf_count = u32::try_from(leaves.len()).ok()?;
    if index >= leaf_count {
        return None;
    }
    let mut level: Vec<Hash> = leaves.iter().map(leaf_node).collect();
    let mut position = index as usize;
    let mut siblings = Siblings::default();
    while level.len() > 1 {
        let sibling = if position % 2 == 1 {
            level.get(position - 1)
        } else {
            level.get(position + 1)
        };
        if let Some(sibling) = sibling {
            // At most 32 levels for u32 leaves, the bound of `Siblings`.
            siblings.try_push(*sibling).ok()?;
        }
        level = next_level(&level);
        position /= 2;
    }
    Some(MerkleProof {
        leaf_index: index,
        leaf_count,
        siblings,
    })
}

/// Whether `proof` shows `leaf` under `root`. Rejects proofs with too few or too many siblings.
pub fn verify(root: &Hash, leaf: &Hash, proof: &MerkleProof) -> bool {
    if proof.leaf_index >= proof.leaf_count {
        return false;
    }
    let mut node = leaf_node(leaf);
    let mut position = proof.leaf_index;
    let mut width = proof.leaf_count;
    let mut siblings = proof.siblings.iter();
    while width > 1 {
        if position % 2 == 1 {
            let Some(left) = siblings.next() else {
                return false;
            };
            node = inner_node(left, &node);
        } else if position + 1 < width {
            let Some(right) = siblings.next() else {
                return false;
            };
            node = inner_node(&node, right);
        }
        // else: the odd last node, carried up unchanged.
        position /= 2;
        width = width.div_ceil(2);
    }
    siblings.next().is_none() && node == *root
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaves(n: u8) -> Vec<Hash> {
        (0..n).map(|i| Hash::repeat_byte(i + 1)).collect()
    }

    #[test]
    fn empty_tree_has_zero_root_and_no_proofs() {
        assert_eq!(root(&[]), Hash::zero());
        assert_eq!(proof(&[], 0), None);
    }

    #[test]
    fn single_leaf_root_is_its_leaf_node_with_an_empty_proof() {
        let leaf = Hash::repeat_byte(7);
        assert_eq!(root(&[leaf]), leaf_node(&leaf));
        assert_ne!(root(&[leaf]), leaf, "a leaf is hashed even when alone");
        let proof = proof(&[leaf], 0).unwrap();
        assert!(proof.siblings.is_empty());
        assert!(verify(&root(&[leaf]), &leaf, &proof));
    }

    #[test]
    fn roots_follow_the_documented_rule() {
        let [a, b, c]: [Hash; 3] = leaves(3).try_into().unwrap();
        let (la, lb, lc) = (leaf_node(&a), leaf_node(&b), leaf_node(&c));
        assert_eq!(root(&[a, b]), inner_node(&la, &lb));
        // The odd last node is carried up, not duplicated.
        assert_eq!(root(&[a, b, c]), inner_node(&inner_node(&la, &lb), &lc));
        assert_ne!(root(&[a, b, c]), root(&[a, b, c, c]));
    }

    #[test]
    fn roots_match_an_independent_implementation() {
        // Python: H = blake2b(digest_size=32); leaf = H(0x00 || x); node = H(0x01 || l || r).
        let hex = |h: Hash| {
            h.as_bytes()
                .iter()
                .map(|b| alloc::format!("{b:02x}"))
                .collect::<alloc::string::String>()
        };
        let [a, b, c]: [Hash; 3] = leaves(3).try_into().unwrap();
        assert_eq!(
            hex(root(&[a])),
            "6bf22d230bc6f17e2dc9bdce220e8696630a067ab5029fb66d91e6ecd74c7c54"
        );
        assert_eq!(
            hex(root(&[a, b, c])),
            "a7346514f635523b73d3adb12bf49a26cf1a8063afc422025e203cde74e5ecbe"
        );
    }

    #[test]
    fn leaf_and_inner_prefixes_differ() {
        let (x, y) = (Hash::repeat_byte(1), Hash::repeat_byte(2));
        let mut concatenated = [0u8; 64];
        concatenated[..32].copy_from_slice(x.as_bytes());
        concatenated[32..].copy_from_slice(y.as_bytes());
        assert_ne!(inner_node(&x, &y), BlakeTwo256::hash(&concatenated));
        assert_ne!(leaf_node(&x), BlakeTwo256::hash(x.as_bytes()));
    }

    #[test]
    fn every_leaf_of_trees_of_one_to_nine_leaves_verifies() {
        for n in 1..=9u8 {
            let leaves = leaves(n);
            let root = root(&leaves);
            for (index, leaf) in leaves.iter().enumerate() {
                let proof = proof(&leaves, index as u32).unwrap();
                assert_eq!(proof.leaf_count, u32::from(n));
                assert!(verify(&root, leaf, &proof), "leaf {index} of {n}");
            }
            assert_eq!(proof(&leaves, u32::from(n)), None, "index past the end");
        }
    }

    #[test]
    fn proofs_of_the_wrong_leaf_root_or_position_fail() {
        for n in 2..=9u8 {
            let leaves = leaves(n);
            let root = root(&leaves);
            for index in 0..u32::from(n) {
                let good = proof(&leaves, index).unwrap();
                let leaf = leaves[index as usize];
                assert!(
                    !verify(&root, &Hash::repeat_byte(0xee), &good),
                    "foreign leaf"
                );
                assert!(
                    !verify(&Hash::repeat_byte(0xee), &leaf, &good),
                    "foreign root"
                );
                let moved = MerkleProof {
                    leaf_index: (index + 1) % u32::from(n),
                    ..good.clone()
                };
                assert!(
                    !verify(&root, &leaf, &moved),
                    "leaf {index} of {n} at another index"
                );
                let past_end = MerkleProof {
                    leaf_index: u32::from(n),
                    ..good.clone()
                };
                assert!(!verify(&root, &leaf, &past_end));
            }
        }
    }

    #[test]
    fn proofs_with_missing_extra_or_altered_siblings_fail() {
        let leaves = leaves(7);
        let root = root(&leaves);
        for index in 0..7u32 {
            let good = proof(&leaves, index).unwrap();
            let leaf = leaves[index as usize];

            let mut short = good.clone();
            short.siblings.pop();
            assert!(!verify(&root, &leaf, &short), "missing sibling");

            let mut long = good.clone();
            long.siblings.try_push(Hash::zero()).unwrap();
            assert!(!verify(&root, &leaf, &long), "extra sibling");

            let mut altered = good.clone();
            altered.siblings[0] = Hash::repeat_byte(0xee);
            assert!(!verify(&root, &leaf, &altered), "altered sibling");
        }
    }

    #[test]
    fn an_inner_node_cannot_be_proven_as_a_leaf() {
        let leaves = leaves(4);
        let root = root(&leaves);
        let left = inner_node(&leaf_node(&leaves[0]), &leaf_node(&leaves[1]));
        let right = inner_node(&leaf_node(&leaves[2]), &leaf_node(&leaves[3]));
        let forged = MerkleProof {
            leaf_index: 0,
            leaf_count: 2,
            siblings: alloc::vec![right].try_into().unwrap(),
        };
        assert!(!verify(&root, &left, &forged));
    }

    #[test]
    fn order_matters() {
        let leaves = leaves(3);
        let reversed: Vec<Hash> = leaves.iter().rev().copied().collect();
        assert_ne!(root(&leaves), root(&reversed));
    }
}
