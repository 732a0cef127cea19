//! The node's content store, as its clients see it: the JSON-RPC error codes of its
//! `datanets_*` and `artifacts_*` methods. The node answers with them and the worker matches on
//! them (to wait for an artifact its prover has not uploaded yet, or for a free upload slot), so
//! they are defined once, here.

/// JSON-RPC error codes of the `datanets_*` and `artifacts_*` methods.
pub mod codes {
    /// The blob is not `0x`-prefixed hex.
    pub const INVALID_ENCODING: i32 = 7001;
    /// The blob is larger than any contribution may be, or than its datanet allows (for
    /// `artifacts_upload`: larger than the largest adapter, or a hyper-parameters file over its
    /// limit).
    pub const OVERSIZE: i32 = 7002;
    /// No pending, approved or published contribution announces the blob's hash (for
    /// `artifacts_upload`: no live job's hyper-parameters and no proven adapter have it).
    pub const UNANNOUNCED: i32 = 7003;
    /// The blob's hash is announced, with another size (for `artifacts_upload`: a proven adapter's
    /// size).
    pub const WRONG_SIZE: i32 = 7004;
    /// A text blob is not valid JSONL rows; `data` holds `{ "line": n }` when a line is at fault.
    pub const MALFORMED_JSONL: i32 = 7005;
    /// The blob is not stored on this node. For an artifact the chain announced (a proven
    /// adapter), its prover may not have uploaded it yet: the node stores only what the chain
    /// announced, so a prover uploads after its proof is included.
    pub const NOT_FOUND: i32 = 7006;
    /// The datanet version is not published.
    pub const UNKNOWN_VERSION: i32 = 7007;
    /// The chain could not be queried.
    pub const CHAIN: i32 = 7008;
    /// The store could not read or write.
    pub const STORAGE: i32 = 7009;
    /// The signature is not a SCALE `MultiSignature` in `0x`-prefixed hex.
    pub const INVALID_SIGNATURE: i32 = 7010;
    /// The signature is not the announcing contributor's over the upload authorization: the
    /// bytes are announced by another account (or for another datanet or chain).
    pub const NOT_ANNOUNCER: i32 = 7011;
    /// The bytes' measured weight differs from the weight the contribution declares.
    pub const WRONG_WEIGHT: i32 = 7012;
    /// The node is handling as many uploads as it allows at once (its content store's
    /// `MAX_CONCURRENT_UPLOADS`): retry shortly.
    pub const BUSY: i32 = 7013;
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    /// The codes a source file defines: `pub const NAME: i32 = CODE;` in Rust, `  CODE: '…',`
    /// in the studio's table of the content store's codes (`studio/src/errors.ts`).
    fn codes(text: &str, line: impl Fn(&str) -> Option<&str>) -> BTreeSet<i32> {
        text.lines()
            .filter_map(|l| line(l.trim())?.parse().ok())
            .collect()
    }

    #[test]
    fn the_studio_words_every_code_and_no_other() {
        let rust = codes(include_str!("content_store.rs"), |l| {
            l.strip_prefix("pub const ")?
                .split_once(": i32 = ")?
                .1
                .strip_suffix(';')
        });
        let studio = include_str!("../../../studio/src/errors.ts");
        let table = studio
            .split("const CONTENT_STORE_CODES")
            .nth(1)
            .and_then(|rest| rest.split("};").next())
            .expect("the studio's table of the content store's codes");
        let worded: BTreeSet<i32> = codes(table, |l| l.split_once(':').map(|(code, _)| code))
            .into_iter()
            .filter(|code| (7000..8000).contains(code))
            .collect();
        assert_eq!(rust.len(), 13, "{rust:?}");
        assert_eq!(worded, rust, "studio/src/errors.ts against the codes here");
    }
}
