//! Pages of the runtime APIs that list what a pallet stores: every answer is bounded, however
//! much is stored, since anyone may call a runtime API through the public `state_call` RPC
//! (security review L3).
//!
//! A listing by id takes a start id and a limit and reads at most [`MAX_PAGE_SCAN`] ids; it
//! answers at most [`MAX_PAGE_LEN`] items and the id to continue from, so a caller walks the
//! whole range page by page (a page may be empty when the ids it scanned hold nothing wanted,
//! and still name where to continue).

use alloc::vec::Vec;
use sp_runtime::traits::AtLeast32BitUnsigned;

/// Most entries one page of a runtime API answer holds; larger requests are cut to this.
pub const MAX_PAGE_LEN: u32 = 256;
/// Most ids one page reads: what bounds a listing whose ids are mostly gone or unwanted.
pub const MAX_PAGE_SCAN: u32 = 1024;

/// What `item` answers for the ids `from..end`, in id order: at most `min(limit, MAX_PAGE_LEN)`
/// items, reading at most [`MAX_PAGE_SCAN`] ids; with the first id not read, `None` when the
/// scan reached `end`.
pub fn scan_ids<Id, Item>(
    from: Id,
    end: Id,
    limit: u32,
    mut item: impl FnMut(Id) -> Option<Item>,
) -> (Vec<Item>, Option<Id>)
where
    Id: AtLeast32BitUnsigned + Copy,
{
    let limit = limit.min(MAX_PAGE_LEN) as usize;
    let mut items = Vec::new();
    let mut id = from;
    let mut scanned: u32 = 0;
    while id < end {
        if items.len() >= limit || scanned >= MAX_PAGE_SCAN {
            return (items, Some(id));
        }
        if let Some(found) = item(id) {
            items.push(found);
        }
        // Below `end`, so one more is at most `end`.
        id += Id::one();
        scanned += 1;
    }
    (items, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The even ids below 10,000 stand for what a listing wants.
    fn even(id: u64) -> Option<u64> {
        id.is_multiple_of(2).then_some(id)
    }

    #[test]
    fn a_page_holds_at_most_the_limit_and_says_where_to_continue() {
        assert_eq!(scan_ids(0u64, 10_000, 3, even), (vec![0, 2, 4], Some(5)));
        assert_eq!(scan_ids(5u64, 10_000, 3, even), (vec![6, 8, 10], Some(11)));
        assert_eq!(
            scan_ids(9_995u64, 10_000, 10, even),
            (vec![9_996, 9_998], None)
        );
    }

    #[test]
    fn a_huge_limit_is_cut_to_the_page_length() {
        let (items, next) = scan_ids(0u64, 10_000, u32::MAX, even);
        assert_eq!(items.len(), MAX_PAGE_LEN as usize);
        assert_eq!(next, Some(2 * u64::from(MAX_PAGE_LEN) - 1));
    }

    #[test]
    fn a_page_reads_a_bounded_number_of_ids_even_when_it_finds_nothing() {
        let mut read = 0;
        let (items, next) = scan_ids(0u32, u32::MAX, 10, |_| {
            read += 1;
            None::<u32>
        });
        assert!(items.is_empty());
        assert_eq!((read, next), (MAX_PAGE_SCAN, Some(MAX_PAGE_SCAN)));
    }

    #[test]
    fn walking_the_pages_finds_every_item_once() {
        let (mut from, mut found) = (Some(0u64), Vec::new());
        while let Some(start) = from {
            let (items, next) = scan_ids(start, 10_000, 100, even);
            found.extend(items);
            from = next;
        }
        assert_eq!(found, (0..10_000).step_by(2).collect::<Vec<_>>());
    }

    #[test]
    fn a_start_at_or_past_the_end_is_an_empty_last_page() {
        assert_eq!(scan_ids(10_000u64, 10_000, 10, even), (vec![], None));
        assert_eq!(scan_ids(u64::MAX, 10_000, 10, even), (vec![], None));
        assert_eq!(scan_ids(0u64, 0, 10, even), (vec![], None));
    }
}
