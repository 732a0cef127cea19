//! Datanets as everyone outside pallet-datanets sees them: the records it stores, what its runtime
//! API answers, and the [`DatanetsApi`] declaration itself.
//!
//! The node's content store uses [`DatanetsApi::announced`] to accept only bytes a contribution
//! pays for, signed for by its contributor ([`UploadAuthorization`]) and measured as declared
//! ([`measure`]), [`DatanetsApi::is_announced`] to delete blobs nothing announces any more, and
//! [`DatanetsApi::version_manifest`] to serve a version's manifest; the worker fetches the
//! manifest's blobs and checks them against its Merkle root with [`crate::merkle`].

use crate::{
    signing::{signing_message, verify_bare_or_wrapped, CONTRIBUTION_UPLOAD_DOMAIN},
    AccountId, Balance, BlockNumber, ContributionId, DatanetId, Hash, Signature, VersionIndex,
};
use alloc::vec::Vec;
use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use scale_info::TypeInfo;
use sp_core::ConstU32;
use sp_runtime::BoundedVec;

/// One mebibyte.
pub const MIB: u64 = 1024 * 1024;
/// Default largest contribution: 5 MiB.
pub const DEFAULT_MAX_CONTRIBUTION_BYTES: u64 = 5 * MIB;
/// Default bytes one account may announce to one datanet per day: 10 MiB.
pub const DEFAULT_DAILY_BYTES: u64 = 10 * MIB;
/// Default contributions one account may announce to one datanet per day.
pub const DEFAULT_DAILY_FILES: u32 = 20;

/// Longest datanet name, in bytes (UTF-8).
pub const MAX_NAME_LEN: u32 = 64;
/// Longest datanet description, in bytes (UTF-8).
pub const MAX_DESCRIPTION_LEN: u32 = 1024;
/// Longest license tag (an SPDX identifier such as `CC-BY-4.0`), in bytes.
pub const MAX_LICENSE_LEN: u32 = 64;
/// Longest contribution metadata, in bytes (free-form, e.g. a small JSON object).
pub const MAX_METADATA_LEN: u32 = 256;
/// Most curators a datanet may have besides its owner.
pub const MAX_CURATORS: u32 = 16;
pub use crate::paging::MAX_PAGE_LEN;

pub type DatanetName = BoundedVec<u8, ConstU32<MAX_NAME_LEN>>;
pub type DatanetDescription = BoundedVec<u8, ConstU32<MAX_DESCRIPTION_LEN>>;
pub type LicenseTag = BoundedVec<u8, ConstU32<MAX_LICENSE_LEN>>;
pub type ContributionMetadata = BoundedVec<u8, ConstU32<MAX_METADATA_LEN>>;
pub type Curators<AccountId> = BoundedVec<AccountId, ConstU32<MAX_CURATORS>>;

/// What a datanet's contributions hold.
#[derive(
    Clone,
    Copy,
    PartialEq,
    Eq,
    Debug,
    Encode,
    Decode,
    DecodeWithMemTracking,
    TypeInfo,
    MaxEncodedLen,
)]
#[cfg_attr(feature = "std", derive(serde::Serialize, serde::Deserialize))]
pub enum DataKind {
    /// UTF-8 JSONL: every non-empty line an object with string `prompt` and `completion`, or a
    /// string `text`. The node's content store checks every row on upload.
    Text,
    /// Images (declared; the content store checks only hash and size).
    Image,
    /// Audio (declared; the content store checks only hash and size).
    Audio,
}

/// The rules a datanet's contributions follow, fixed when it is created.
#[derive(
    Clone,
    Copy,
    PartialEq,
    Eq,
    Debug,
    Encode,
    Decode,
    DecodeWithMemTracking,
    TypeInfo,
    MaxEncodedLen,
)]
#[cfg_attr(feature = "std", derive(serde::Serialize, serde::Deserialize))]
pub struct DatanetRules<Balance> {
    /// Largest contribution, in bytes.
    pub max_contribution_bytes: u64,
    /// Bytes one account may announce per day.
    pub daily_bytes: u64,
    /// Contributions one account may announce per day.
    pub daily_files: u32,
    /// OPEN held from the contributor while a contribution is pending.
    pub bond: Balance,
}

/// The rules a creator may set; `None` takes the default.
#[derive(
    Clone,
    Copy,
    PartialEq,
    Eq,
    Debug,
    Default,
    Encode,
    Decode,
    DecodeWithMemTracking,
    TypeInfo,
    MaxEncodedLen,
)]
pub struct RuleOverrides<Balance> {
    /// Largest contribution in bytes; default [`DEFAULT_MAX_CONTRIBUTION_BYTES`].
    pub max_contribution_bytes: Option<u64>,
    /// Bytes per account per day; default [`DEFAULT_DAILY_BYTES`].
    pub daily_bytes: Option<u64>,
    /// Contributions per account per day; default [`DEFAULT_DAILY_FILES`].
    pub daily_files: Option<u32>,
    /// Bond per contribution; default pallet-datanets' `MinContributionBond`.
    pub bond: Option<Balance>,
}

/// A datanet.
#[derive(
    Clone, PartialEq, Eq, Debug, Encode, Decode, DecodeWithMemTracking, TypeInfo, MaxEncodedLen,
)]
pub struct DatanetInfo<AccountId, Balance, BlockNumber> {
    /// Who created it: manages curators, curates and publishes versions.
    pub owner: AccountId,
    /// Human-readable name (UTF-8).
    pub name: DatanetName,
    /// What it is for (UTF-8).
    pub description: DatanetDescription,
    /// What its contributions hold.
    pub kind: DataKind,
    /// Its contribution rules.
    pub rules: DatanetRules<Balance>,
    /// Accounts besides the owner that may approve and reject.
    pub curators: Curators<AccountId>,
    /// OPEN held from the owner for as long as the datanet exists.
    pub deposit: Balance,
    /// Block in which it was created.
    pub created_at: BlockNumber,
    /// Contributions ever announced to it; also the position the next one gets.
    pub announced: u32,
    /// Contributions announced and not yet curated.
    pub pending: u32,
    /// Approved contributions waiting for the next version.
    pub approved_unpublished: u32,
    /// Versions published so far; the latest is number `versions` (versions count from 1).
    pub versions: VersionIndex,
    /// Bytes of the pending contributions: bounded by pallet-datanets' `MaxPendingBytesPerDatanet`.
    pub pending_bytes: u64,
    /// Summed weights of the approved contributions waiting for the next version.
    pub unpublished_weight: u128,
    /// The part of `unpublished_weight` contributed by the owner: at most pallet-datanets'
    /// `MaxOwnerShare` of it.
    pub owner_unpublished_weight: u128,
    /// Closed by its owner ([`ContributionStatus`]es stay; no new contribution is accepted) and its
    /// deposit returned.
    pub closed: bool,
}

/// Where a contribution is in its life. A rejected, withdrawn or expired contribution is
/// removed (its storage deposit returned, nodes delete its blob), so its hash may be announced
/// again.
///
/// ```text
/// Pending ──approve──▶ Approved ──publish_version──▶ Published(N)
///    ├──reject──▶ (removed; bond released, or slashed when spam)
///    ├──withdraw (contributor)──▶ (removed; bond released)
///    └──expire (anyone, after PendingTimeout)──▶ (removed; bond released)
/// ```
#[derive(
    Clone,
    Copy,
    PartialEq,
    Eq,
    Debug,
    Encode,
    Decode,
    DecodeWithMemTracking,
    TypeInfo,
    MaxEncodedLen,
)]
#[cfg_attr(feature = "std", derive(serde::Serialize, serde::Deserialize))]
pub enum ContributionStatus {
    /// Announced; its bond is held.
    Pending,
    /// Approved; it will be part of the datanet's next version.
    Approved,
    /// Part of this published version, for good.
    Published(VersionIndex),
}

/// A contribution: a blob announced on chain, whose bytes live in content stores.
#[derive(
    Clone, PartialEq, Eq, Debug, Encode, Decode, DecodeWithMemTracking, TypeInfo, MaxEncodedLen,
)]
pub struct ContributionInfo<AccountId, Balance, BlockNumber> {
    /// The datanet it belongs to.
    pub datanet: DatanetId,
    /// Its position among the datanet's announcements (paging key of [`DatanetsApi::contributions`]).
    pub position: u32,
    /// Who announced it (and is paid for it).
    pub contributor: AccountId,
    /// blake2-256 of its bytes.
    pub content_hash: Hash,
    /// Its length in bytes.
    pub size: u64,
    /// Its [`measure::weight`], declared by the contributor and checked by every node against the
    /// bytes at upload: what it counts for in its version's reward pool.
    pub weight: u64,
    /// Its license (an SPDX identifier).
    pub license: LicenseTag,
    /// Small free-form metadata.
    pub metadata: ContributionMetadata,
    /// OPEN held while pending; zero once curated.
    pub bond: Balance,
    /// OPEN held per stored byte for as long as it exists (its blob is kept): returned when it is
    /// rejected, withdrawn or expires.
    pub deposit: Balance,
    /// Where it is.
    pub status: ContributionStatus,
    /// Block in which it was announced.
    pub announced_at: BlockNumber,
}

impl<AccountId, Balance, BlockNumber> ContributionInfo<AccountId, Balance, BlockNumber> {
    /// Its weight in a version's reward pool: its measured [`measure::weight`].
    pub fn weight(&self) -> u128 {
        u128::from(self.weight)
    }
}

/// A published, immutable version of a datanet.
#[derive(
    Clone, PartialEq, Eq, Debug, Encode, Decode, DecodeWithMemTracking, TypeInfo, MaxEncodedLen,
)]
#[cfg_attr(feature = "std", derive(serde::Serialize, serde::Deserialize))]
pub struct VersionInfo<BlockNumber> {
    /// [`crate::merkle::root`] over the content hashes of its contributions, in manifest order.
    pub merkle_root: Hash,
    /// Number of contributions.
    pub contributions: u32,
    /// Sum of their weights: the points of the version's reward pool.
    pub total_weight: u128,
    /// The part of `total_weight` contributed by the datanet's owner (at most pallet-datanets'
    /// `MaxOwnerShare` of it).
    pub owner_weight: u128,
    /// Sum of their sizes, in bytes.
    pub total_bytes: u64,
    /// Block in which it was published.
    pub published_at: BlockNumber,
}

/// One contribution of a version's manifest. Its position in the manifest is its leaf index.
#[derive(
    Clone, PartialEq, Eq, Debug, Encode, Decode, DecodeWithMemTracking, TypeInfo, MaxEncodedLen,
)]
#[cfg_attr(feature = "std", derive(serde::Serialize, serde::Deserialize))]
pub struct ManifestEntry {
    /// The contribution.
    pub contribution: ContributionId,
    /// blake2-256 of its bytes: the Merkle leaf.
    pub content_hash: Hash,
    /// Its length in bytes.
    pub size: u64,
}

/// A page of a version's manifest: entries `start .. start + entries.len()` of `total`.
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode, TypeInfo)]
#[cfg_attr(feature = "std", derive(serde::Serialize, serde::Deserialize))]
pub struct ManifestPage {
    /// The version's Merkle root.
    pub merkle_root: Hash,
    /// Number of entries in the whole manifest.
    pub total: u32,
    /// Leaf index of the first entry of this page.
    pub start: u32,
    /// The entries, in leaf order.
    pub entries: Vec<ManifestEntry>,
}

/// A page of a datanet's contributions in announcement order.
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode, TypeInfo)]
pub struct ContributionsPage<AccountId, Balance, BlockNumber> {
    /// The contributions at positions `start .. next` that still exist (rejected ones are gone).
    pub contributions: Vec<(
        ContributionId,
        ContributionInfo<AccountId, Balance, BlockNumber>,
    )>,
    /// The position to ask for next, `None` when this page reached the last announcement.
    pub next: Option<u32>,
}

/// What one account has contributed, over all datanets.
#[derive(
    Clone,
    Copy,
    PartialEq,
    Eq,
    Debug,
    Default,
    Encode,
    Decode,
    DecodeWithMemTracking,
    TypeInfo,
    MaxEncodedLen,
)]
#[cfg_attr(feature = "std", derive(serde::Serialize, serde::Deserialize))]
pub struct ContributorStats<Balance> {
    /// Contributions announced and not yet curated.
    pub pending: u32,
    /// Contributions approved (published or not).
    pub approved: u32,
    /// Contributions rejected without a slash.
    pub rejected: u32,
    /// Contributions rejected as spam, their bond slashed.
    pub slashed: u32,
    /// Contributions withdrawn by the contributor while pending.
    pub withdrawn: u32,
    /// Contributions that timed out while pending.
    pub expired: u32,
    /// Bytes of the approved contributions: the account's total weight.
    pub approved_bytes: u64,
    /// Bytes of the pending contributions: bounded by pallet-datanets'
    /// `MaxPendingBytesPerAccount`.
    pub pending_bytes: u64,
    /// OPEN held now for pending contributions.
    pub bond_held: Balance,
    /// OPEN held now as storage deposits of existing (pending, approved, published) contributions.
    pub deposit_held: Balance,
    /// OPEN slashed so far.
    pub bond_slashed: Balance,
}

/// A contribution that announces some bytes: what the content store needs to accept them.
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode, TypeInfo)]
#[cfg_attr(feature = "std", derive(serde::Serialize, serde::Deserialize))]
pub struct Announcement<AccountId> {
    /// The announcing contribution.
    pub contribution: ContributionId,
    /// Its datanet.
    pub datanet: DatanetId,
    /// Who announced it: only their [`UploadAuthorization`] signature lets the bytes in.
    pub contributor: AccountId,
    /// The datanet's data kind: text is validated row by row.
    pub kind: DataKind,
    /// The datanet's largest contribution.
    pub max_contribution_bytes: u64,
    /// The size the contribution announces.
    pub size: u64,
    /// The [`measure::weight`] the contribution declares.
    pub weight: u64,
    /// Pending, approved or published.
    pub status: ContributionStatus,
}

/// What a contributor signs to have a node store the bytes of their contribution: the datanet and
/// the content hash, under [`CONTRIBUTION_UPLOAD_DOMAIN`] and the chain's genesis hash.
///
/// A node stores bytes for an announced hash only with the signature of the account that
/// announced it, so announcing someone else's hash first (front-running) gets the announcer
/// nothing: the victim's upload does not count for the announcer's contribution, whose blob no
/// node then holds, and a curator cannot approve what nobody can fetch.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Encode, Decode, TypeInfo)]
pub struct UploadAuthorization {
    /// The datanet the contribution was announced to.
    pub datanet: DatanetId,
    /// blake2-256 of the bytes.
    pub content_hash: Hash,
}

impl UploadAuthorization {
    /// The exact bytes a contributor signs for this authorization on the chain whose genesis
    /// block hash is `genesis` (a browser extension signs them wrapped in `<Bytes>`…`</Bytes>`).
    pub fn message(&self, genesis: &Hash) -> Vec<u8> {
        signing_message(CONTRIBUTION_UPLOAD_DOMAIN, genesis, self)
    }

    /// Whether `signature` is `contributor`'s over this authorization on the chain whose genesis
    /// block hash is `genesis`, signed bare (a key held by a program) or wrapped as a polkadot.js
    /// extension's `signRaw` signs it ([`verify_bare_or_wrapped`]): contributors with browser
    /// accounts upload too.
    pub fn verify(&self, genesis: &Hash, signature: &Signature, contributor: &AccountId) -> bool {
        verify_bare_or_wrapped(signature, &self.message(genesis), contributor)
    }

    /// The contributor's signature with `pair` for the chain whose genesis block hash is
    /// `genesis`.
    #[cfg(feature = "std")]
    pub fn sign(&self, genesis: &Hash, pair: &sp_core::sr25519::Pair) -> Signature {
        use sp_core::Pair as _;
        pair.sign(&self.message(genesis)).into()
    }
}

/// A datanet as the runtime API returns it.
pub type Datanet = DatanetInfo<AccountId, Balance, BlockNumber>;
/// A contribution as the runtime API returns it.
pub type Contribution = ContributionInfo<AccountId, Balance, BlockNumber>;

sp_api::decl_runtime_apis! {
    /// Queries of datanets, contributions and versions. Pages are cut to [`MAX_PAGE_LEN`] entries.
    pub trait DatanetsApi {
        /// The datanet, `None` if there is none with this id.
        fn datanet(id: DatanetId) -> Option<Datanet>;
        /// A published version, `None` if it is not published.
        fn version(datanet: DatanetId, version: VersionIndex) -> Option<VersionInfo<BlockNumber>>;
        /// The datanet's contributions at positions `start .. start + limit`, in announcement order.
        fn contributions(
            datanet: DatanetId,
            start: u32,
            limit: u32,
        ) -> ContributionsPage<AccountId, Balance, BlockNumber>;
        /// What `who` has contributed over all datanets.
        fn contributor_stats(who: AccountId) -> ContributorStats<Balance>;
        /// The pending, approved or published contribution announcing this hash to `datanet`,
        /// `None` if there is none.
        fn announced(content_hash: Hash, datanet: DatanetId) -> Option<Announcement<AccountId>>;
        /// Whether any contribution of any datanet announces this hash: a node deletes a blob
        /// once nothing announces it.
        fn is_announced(content_hash: Hash) -> bool;
        /// The largest contribution any datanet may accept, in bytes: a content store refuses
        /// larger uploads before decoding them.
        fn max_contribution_bytes() -> u64;
        /// Entries `start .. start + limit` of a published version's manifest, `None` if the version
        /// is not published.
        fn version_manifest(
            datanet: DatanetId,
            version: VersionIndex,
            start: u32,
            limit: u32,
        ) -> Option<ManifestPage>;
    }
}

#[cfg(test)]
mod upload_authorization_tests {
    use super::*;
    use sp_core::{sr25519, Pair};

    /// Alice signs for her bytes; the signature lets them in for her announcement only: not
    /// for Eve's announcement of the same hash, another datanet, another chain or other bytes.
    #[test]
    fn binds_the_bytes_to_the_announcer_datanet_and_chain() {
        let alice = sr25519::Pair::from_string("//Alice", None).expect("dev key");
        let eve = sr25519::Pair::from_string("//Eve", None).expect("dev key");
        let genesis = Hash::repeat_byte(7);
        let authorization = UploadAuthorization {
            datanet: 3,
            content_hash: Hash::repeat_byte(1),
        };
        let signature = authorization.sign(&genesis, &alice);
        let alice_id = AccountId::from(alice.public());
        let eve_id = AccountId::from(eve.public());
        assert!(authorization.verify(&genesis, &signature, &alice_id));
        assert!(!authorization.verify(&genesis, &signature, &eve_id));
        assert!(!authorization.verify(&Hash::repeat_byte(8), &signature, &alice_id));
        let other_datanet = UploadAuthorization {
            datanet: 4,
            ..authorization
        };
        assert!(!other_datanet.verify(&genesis, &signature, &alice_id));
        let other_bytes = UploadAuthorization {
            content_hash: Hash::repeat_byte(2),
            ..authorization
        };
        assert!(!other_bytes.verify(&genesis, &signature, &alice_id));
        // Eve's own signature verifies for Eve: she can upload bytes she holds, nothing more.
        assert!(authorization.verify(&genesis, &authorization.sign(&genesis, &eve), &eve_id));
    }
}

/// The weight of a contribution: what it counts for in its version's reward pool, measured from
/// its bytes so that padding cannot inflate it.
///
/// ```text
/// rows(bytes)   = the lines of `bytes` (split on `\n`), each with ASCII whitespace trimmed at both
///                 ends (so `\r\n` endings and indentation do not count); empty lines dropped
/// distinct rows = rows with equal bytes counted once, wherever they are in the blob
/// row_weight(r) = min(ROW_WEIGHT_CAP, number of distinct 3-byte windows of r)
/// weight(bytes) = Σ row_weight(r) over distinct rows r
/// ```
///
/// Why this measure:
/// * **Repeated rows count once**: duplicating a row, or the whole file, adds nothing.
/// * **Repetition inside a row counts once**: a run of one character (`aaaa…`), of whitespace,
///   or a phrase repeated many times adds only the few windows it creates at its edges, since
///   every window inside it was already seen. Natural text has nearly as many distinct windows as
///   bytes, so an honest row weighs about its length.
/// * **Long rows are capped** at [`ROW_WEIGHT_CAP`]: one enormous row of random bytes cannot
///   outweigh hundreds of real rows.
/// * Deterministic, integer only and `no_std`: the contributor declares it with the announcement,
///   and every node recomputes it from the bytes at upload and refuses a wrong declaration, the
///   same way it refuses a wrong size.
///
/// What it does not catch: rows that differ by a character each are distinct rows, and random
/// junk is "distinct". Those are the curators' to reject (as spam, which slashes the bond).
/// The same measure is applied to every data kind: for binary blobs the "rows" are the spans
/// between `\n` bytes.
pub mod measure {
    use alloc::{collections::BTreeSet, vec::Vec};

    /// Most weight one row can carry.
    pub const ROW_WEIGHT_CAP: u64 = 8192;

    /// The rows of `bytes`: lines with ASCII whitespace trimmed, empty ones dropped.
    pub fn rows(bytes: &[u8]) -> impl Iterator<Item = &[u8]> {
        bytes
            .split(|&b| b == b'\n')
            .map(<[u8]>::trim_ascii)
            .filter(|row| !row.is_empty())
    }

    /// The number of distinct 3-byte windows of `row`, capped at [`ROW_WEIGHT_CAP`].
    pub fn row_weight(row: &[u8]) -> u64 {
        let mut windows: Vec<u32> = row
            .windows(3)
            .map(|w| u32::from(w[0]) << 16 | u32::from(w[1]) << 8 | u32::from(w[2]))
            .collect();
        windows.sort_unstable();
        windows.dedup();
        (windows.len() as u64).min(ROW_WEIGHT_CAP)
    }

    /// The weight of a blob: the summed [`row_weight`] of its distinct [`rows`].
    pub fn weight(bytes: &[u8]) -> u64 {
        let distinct: BTreeSet<&[u8]> = rows(bytes).collect();
        distinct.into_iter().map(row_weight).sum()
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        const ROWS: &[u8] = b"{\"prompt\":\"What is the capital of France?\",\"completion\":\"Paris.\"}\n{\"text\":\"The Seine flows through Paris.\"}\n";

        #[test]
        fn natural_rows_weigh_about_their_length() {
            let weight = weight(ROWS);
            let bytes = rows(ROWS).map(<[u8]>::len).sum::<usize>() as u64;
            // Every window but a few repeated ones (`":"`, `"co`…) is distinct.
            assert_eq!(bytes, 106);
            assert!(
                weight <= bytes && weight >= bytes * 8 / 10,
                "{weight} of {bytes}"
            );
            assert_eq!(row_weight(b"abcdef"), 4);
            assert_eq!(row_weight(b"ab"), 0);
        }

        #[test]
        fn duplicated_rows_and_files_add_nothing() {
            let twice = [ROWS, ROWS].concat();
            assert_eq!(weight(&twice), weight(ROWS));
            let shuffled = b"{\"text\":\"The Seine flows through Paris.\"}\r\n\n   {\"prompt\":\"What is the capital of France?\",\"completion\":\"Paris.\"}   ";
            assert_eq!(
                weight(shuffled),
                weight(ROWS),
                "order, blank lines, CRLF, indentation"
            );
        }

        #[test]
        fn padding_a_row_adds_at_most_its_edge_windows() {
            let plain = b"{\"text\":\"The Seine flows through Paris.\"}";
            let padded_chars = format!(
                "{{\"text\":\"The Seine flows through Paris.{}\"}}",
                "a".repeat(10_000)
            );
            let padded_spaces = format!(
                "{{\"text\":\"The Seine flows {} through Paris.\"}}",
                " ".repeat(10_000)
            );
            let repeated_phrase = format!(
                "{{\"text\":\"{}\"}}",
                "The Seine flows through Paris. ".repeat(300)
            );
            let base = row_weight(plain);
            assert_eq!(
                base,
                plain.len() as u64 - 2,
                "every window of the plain row is distinct"
            );
            assert!(row_weight(padded_chars.as_bytes()) <= base + 3);
            assert!(row_weight(padded_spaces.as_bytes()) <= base + 3);
            assert!(row_weight(repeated_phrase.as_bytes()) <= base + 3);
            // By bytes, each padded row would have weighed over 200 times more.
            assert!(padded_chars.len() as u64 > 200 * base);
        }

        #[test]
        fn a_huge_row_is_capped() {
            // A de Bruijn-like walk over 3-byte windows: every window distinct.
            let row: Vec<u8> = (0u32..40_000)
                .flat_map(|i| [(i >> 8) as u8 | 0x80, i as u8])
                .collect();
            assert_eq!(row_weight(&row), ROW_WEIGHT_CAP);
            assert_eq!(weight(b""), 0);
            assert_eq!(weight(b"\n \r\n"), 0);
        }
    }
}
