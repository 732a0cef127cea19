//! A cap on the uploads one node handles at once (review L4).
//!
//! An upload holds its hex request, the decoded blob (up to 5 MiB for a datanet contribution,
//! 64 MiB for an adapter) and a file write flushed to disk; the RPC server admits up to
//! `--rpc-max-connections` requests at once (100 by default). [`UploadSlots`] lets at most
//! [`MAX_CONCURRENT_UPLOADS`] of `datanets_upload` and `artifacts_upload` together do that work;
//! the rest are refused at once with [`codes::BUSY`](crate::rpc::codes::BUSY), to be retried,
//! rather than queued on the RPC server's blocking pool.

use crate::rpc::{codes, error};
use jsonrpsee::core::RpcResult;
use std::sync::{
    atomic::{AtomicUsize, Ordering},
    Arc,
};

/// Uploads handled at once per node.
pub const MAX_CONCURRENT_UPLOADS: usize = 4;

/// The uploads in progress on one node, shared by every upload method.
#[derive(Clone, Debug)]
pub struct UploadSlots {
    in_use: Arc<AtomicUsize>,
    max: usize,
}

impl Default for UploadSlots {
    fn default() -> Self {
        Self::new(MAX_CONCURRENT_UPLOADS)
    }
}

/// One upload in progress; its slot is free again when it is dropped.
#[derive(Debug)]
pub struct UploadSlot {
    in_use: Arc<AtomicUsize>,
}

impl Drop for UploadSlot {
    fn drop(&mut self) {
        self.in_use.fetch_sub(1, Ordering::AcqRel);
    }
}

impl UploadSlots {
    /// At most `max` uploads at once.
    pub fn new(max: usize) -> Self {
        Self {
            in_use: Arc::new(AtomicUsize::new(0)),
            max,
        }
    }

    /// A slot for one upload, or [`codes::BUSY`] when all are taken.
    pub fn take(&self) -> RpcResult<UploadSlot> {
        self.in_use
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |used| {
                (used < self.max).then_some(used + 1)
            })
            .map_err(|used| {
                error(
                    codes::BUSY,
                    format!("{used} uploads are in progress on this node; retry shortly"),
                )
            })?;
        Ok(UploadSlot {
            in_use: self.in_use.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_most_max_uploads_at_once_and_slots_come_back() {
        let slots = UploadSlots::new(2);
        let first = slots.take().unwrap();
        let shared = slots.clone();
        let second = shared.take().unwrap();
        let refused = slots.take().unwrap_err();
        assert_eq!(refused.code(), codes::BUSY);
        assert!(refused.message().contains("2 uploads"));
        drop(first);
        let third = slots.take().unwrap();
        assert_eq!(shared.take().unwrap_err().code(), codes::BUSY);
        drop((second, third));
        let again: Vec<_> = (0..2).map(|_| slots.take().unwrap()).collect();
        assert_eq!(again.len(), 2);
    }
}
