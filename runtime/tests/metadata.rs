//! The worker's chain client is generated at compile time from a checked-in copy of this
//! runtime's metadata (`worker/chain/metadata.scale`), so the worker builds without FRAME and
//! without a node. This test fails when that copy no longer matches the runtime;
//! `scripts/update-metadata` rewrites it (`UPDATE_METADATA=1`).

use attribution_runtime::Runtime;
use std::path::Path;

/// The metadata version the worker's subxt client reads.
const METADATA_VERSION: u32 = 16;

#[test]
fn worker_metadata_matches_the_runtime() {
    let metadata =
        Runtime::metadata_at_version(METADATA_VERSION).expect("the runtime serves metadata V16");
    let current: &[u8] = &metadata;
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../worker/chain/metadata.scale");
    if std::env::var_os("UPDATE_METADATA").is_some() {
        std::fs::write(&path, current).expect("writing worker/chain/metadata.scale");
        return;
    }
    let checked_in = std::fs::read(&path).unwrap_or_default();
    assert!(
        checked_in == current,
        "worker/chain/metadata.scale ({} bytes) differs from the runtime's metadata ({} bytes): \
         run scripts/update-metadata and commit the file",
        checked_in.len(),
        current.len()
    );
}
