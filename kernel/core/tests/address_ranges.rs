// SPDX-License-Identifier: MIT OR Apache-2.0
//! The user half's range allocator against a model: any sequence of
//! allocations and frees hands out disjoint, guarded ranges inside the
//! space, refuses a second free of a range, and gives the whole space
//! back once everything is freed.

use kernel_core::AddressRanges;
use proptest::prelude::*;

const PAGE: u64 = 4096;
const START: u64 = 0x40_0000;
const END: u64 = 0x40_0000 + 256 * PAGE;

#[derive(Clone, Debug)]
enum Step {
    /// Allocate this many bytes.
    Allocate(u64),
    /// Free the live range at this index (modulo the count).
    Free(usize),
}

fn steps() -> impl Strategy<Value = Vec<Step>> {
    prop::collection::vec(
        prop_oneof![
            (0u64..40 * PAGE).prop_map(Step::Allocate),
            any::<usize>().prop_map(Step::Free),
        ],
        1..120,
    )
}

proptest! {
    #[test]
    fn ranges_never_overlap_and_all_come_back(steps in steps()) {
        let mut ranges = AddressRanges::new(START, END, PAGE, PAGE);
        // Live ranges: (start, size asked, footprint end).
        let mut live: Vec<(u64, u64, u64)> = Vec::new();
        for step in steps {
            match step {
                Step::Allocate(size) => {
                    let footprint = size.div_ceil(PAGE) * PAGE + PAGE;
                    match ranges.allocate(size) {
                        Some(start) => {
                            let end = start + footprint;
                            prop_assert!(start >= START && end <= END, "{start:#x}..{end:#x} outside");
                            prop_assert_eq!(start % PAGE, 0);
                            for &(other, _, other_end) in &live {
                                prop_assert!(end <= other || start >= other_end, "overlap");
                            }
                            live.push((start, size, end));
                        }
                        None => {
                            // Refused only when no free range is large enough.
                            prop_assert!(ranges
                                .free_ranges()
                                .iter()
                                .all(|(start, end)| end - start < footprint));
                        }
                    }
                }
                Step::Free(index) if !live.is_empty() => {
                    let (start, size, _) = live.swap_remove(index % live.len());
                    prop_assert!(ranges.free(start, size).is_ok());
                    prop_assert!(ranges.free(start, size).is_err(), "double free accepted");
                }
                _ => {}
            }
            // The free list stays sorted, disjoint and merged.
            for pair in ranges.free_ranges().windows(2) {
                prop_assert!(pair[0].1 < pair[1].0);
            }
        }
        for (start, size, _) in live {
            prop_assert!(ranges.free(start, size).is_ok());
        }
        prop_assert_eq!(ranges.free_ranges(), &[(START, END)][..]);
    }
}
