//! Where a call's arguments land in the guest: a bump arena instead of `malloc`.
//!
//! The host copies a chunk into a rule through the canonical ABI, which asks the
//! guest for memory once per string and per list (`cabi_realloc`): ~16 strings an
//! interaction, thousands a call. With the default allocator each one is a
//! `malloc` now and a `free` when the rule drops the chunk, and that bookkeeping
//! was most of what a rule paid for a chunk it barely read (docs/BENCHMARKS.md,
//! "the boundary"). Arguments live exactly as long as the call (or as long as a
//! rule keeps a piece of them), so they are bump-allocated into a few large
//! blocks instead; a block is reused as soon as everything in it has been freed.
//!
//! Only the host's copies of a call's arguments go to the arena: [`export_rule!`]
//! makes the component's `cabi_realloc` use it between calls, and every export
//! of the SDK's adapter switches it off while the rule's own code runs ([`Call`]). Inside a call, memory the host hands back (results of imports, of
//! WASI calls that the C library may free itself) comes from the ordinary
//! allocator. The global allocator frees arena memory wherever Rust frees it.
//!
//! A rule that keeps a string of its arguments (moves an id into its state) pins
//! that string's block; blocks are few ([`SLOTS`]), and when every one is pinned
//! the arguments go to the ordinary allocator, as without the arena.
//!
//! [`export_rule!`]: crate::export_rule

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::UnsafeCell;

/// Bytes per block: a chunk of 256 whole interactions is ~600 KB.
pub const BLOCK: usize = 1 << 20;
/// Blocks at most; past them (all pinned) arguments go to the ordinary allocator.
pub const SLOTS: usize = 8;
/// A single allocation larger than this skips the arena (a chunk's list itself
/// is ~60 KB; a huge one would waste most of a block when pinned).
const LARGEST: usize = BLOCK / 4;

#[derive(Clone, Copy)]
struct Block {
    start: usize,
    end: usize,
    /// The next free byte.
    next: usize,
    /// Allocations in this block not yet freed.
    live: usize,
}

/// The arena's blocks, and whether a call is running. Plain data, so that its
/// logic is tested natively.
pub struct Blocks {
    blocks: [Option<Block>; SLOTS],
    /// The block allocations go to now.
    current: Option<usize>,
    /// True between calls: `cabi_realloc` is then the host copying arguments.
    between_calls: bool,
}

impl Default for Blocks {
    fn default() -> Self {
        Self::new()
    }
}

impl Blocks {
    pub const fn new() -> Self {
        Blocks {
            blocks: [None; SLOTS],
            current: None,
            // A component's first call (`create`) gets its arguments from the
            // ordinary allocator: nothing is known about what ran before it.
            between_calls: false,
        }
    }

    /// Memory for an argument, or `None` when the ordinary allocator should
    /// serve it (inside a call, too large, or every block pinned).
    ///
    /// # Safety
    /// `grow` must return `BLOCK` bytes aligned to 16, or null.
    pub unsafe fn alloc(
        &mut self,
        layout: Layout,
        grow: impl FnOnce() -> *mut u8,
    ) -> Option<*mut u8> {
        if !self.between_calls || layout.size() > LARGEST || layout.align() > 16 {
            return None;
        }
        if let Some(at) = self.current
            && let Some(ptr) = self.bump(at, layout)
        {
            return Some(ptr);
        }
        // The current block is full: take an emptied one, or a new one.
        let at = match self
            .blocks
            .iter()
            .position(|b| matches!(b, Some(b) if b.live == 0))
        {
            Some(at) => at,
            None => {
                let at = self.blocks.iter().position(Option::is_none)?;
                let start = grow();
                if start.is_null() {
                    return None;
                }
                let start = start as usize;
                self.blocks[at] = Some(Block {
                    start,
                    end: start + BLOCK,
                    next: start,
                    live: 0,
                });
                at
            }
        };
        if let Some(b) = &mut self.blocks[at] {
            b.next = b.start;
        }
        self.current = Some(at);
        self.bump(at, layout)
    }

    fn bump(&mut self, at: usize, layout: Layout) -> Option<*mut u8> {
        let b = self.blocks[at].as_mut()?;
        let ptr = b.next.checked_add(layout.align() - 1)? & !(layout.align() - 1);
        let end = ptr.checked_add(layout.size())?;
        if end > b.end {
            return None;
        }
        b.next = end;
        b.live += 1;
        Some(ptr as *mut u8)
    }

    /// Free `ptr` if it is arena memory; false if it is not (the ordinary
    /// allocator's).
    pub fn free(&mut self, ptr: *mut u8) -> bool {
        let addr = ptr as usize;
        for (at, slot) in self.blocks.iter_mut().enumerate() {
            if let Some(b) = slot
                && (b.start..b.end).contains(&addr)
            {
                b.live = b.live.saturating_sub(1);
                if b.live == 0 && self.current == Some(at) {
                    b.next = b.start;
                }
                return true;
            }
        }
        false
    }

    /// The rule's own code starts (or ends) running.
    pub fn set_between_calls(&mut self, between: bool) {
        self.between_calls = between;
    }

    /// Blocks taken so far.
    pub fn blocks(&self) -> usize {
        self.blocks.iter().flatten().count()
    }
}

/// The arena of the component (one per component: it is single-threaded).
struct Shared(UnsafeCell<Blocks>);

// SAFETY: a wasm32 component runs one thread, and natively nothing but the
// component's allocator (never installed natively) touches the arena.
unsafe impl Sync for Shared {}

static ARENA: Shared = Shared(UnsafeCell::new(Blocks::new()));

#[allow(clippy::mut_from_ref)]
fn arena() -> &'static mut Blocks {
    // SAFETY: single-threaded (see `Sync` above), and no caller holds the
    // reference across another call into the allocator.
    unsafe { &mut *ARENA.0.get() }
}

/// The component's global allocator: the arena's memory is freed here, the rest
/// is the system allocator's. Installed by [`export_rule!`](crate::export_rule)
/// on wasm32 only.
pub struct Allocator;

/// The component's `cabi_realloc`, the canonical ABI's only way to ask the guest
/// for memory (exported by [`export_rule!`](crate::export_rule)).
///
/// # Safety
/// The canonical ABI's contract for `cabi_realloc`; only with [`Allocator`] as
/// the global allocator.
pub unsafe fn cabi_realloc(old: *mut u8, old_len: usize, align: usize, new_len: usize) -> *mut u8 {
    // SAFETY: the canonical ABI passes a power-of-two alignment.
    let layout = unsafe { Layout::from_size_align_unchecked(new_len.max(1), align) };
    let ptr = if old.is_null() || old_len == 0 {
        if new_len == 0 {
            return align as *mut u8;
        }
        // SAFETY: BLOCK bytes at alignment 16 from the system allocator.
        let block = || unsafe { System.alloc(Layout::from_size_align_unchecked(BLOCK, 16)) };
        // SAFETY: `block` keeps `Blocks::alloc`'s contract; the size is not zero.
        unsafe { arena().alloc(layout, block) }.unwrap_or_else(|| unsafe { System.alloc(layout) })
    } else {
        // SAFETY: `old` came from this allocator with this size and alignment.
        unsafe {
            Allocator.realloc(
                old,
                Layout::from_size_align_unchecked(old_len, align),
                new_len,
            )
        }
    };
    if ptr.is_null() {
        std::process::abort();
    }
    ptr
}

// SAFETY: arena memory is handed out only by `cabi_realloc` and freed here; the
// rest is the system allocator's, unchanged.
unsafe impl GlobalAlloc for Allocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if !arena().free(ptr) {
            unsafe { System.dealloc(ptr, layout) }
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if !arena().free(ptr) {
            return unsafe { System.realloc(ptr, layout, new_size) };
        }
        // An argument the rule grows (pushes onto a list it was given): move it
        // out of the arena. The bytes stay readable: a freed block is only
        // reused by the next call's arguments.
        // SAFETY: `new_size` and the alignment come from a valid layout.
        let moved =
            unsafe { System.alloc(Layout::from_size_align_unchecked(new_size, layout.align())) };
        if !moved.is_null() {
            // SAFETY: both regions are valid for the smaller size and do not overlap.
            unsafe { std::ptr::copy_nonoverlapping(ptr, moved, layout.size().min(new_size)) };
        }
        moved
    }
}

/// The rule's own code runs while this lives: the SDK's adapter makes one at the
/// top of every export (on wasm32). The next call's arguments go to the arena.
pub struct Call(());

impl Call {
    pub fn enter() -> Self {
        arena().set_between_calls(false);
        Call(())
    }
}

impl Drop for Call {
    fn drop(&mut self) {
        arena().set_between_calls(true);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Heap(Vec<Vec<u128>>);

    impl Heap {
        fn block(&mut self) -> *mut u8 {
            self.0.push(vec![0u128; BLOCK / 16]);
            self.0
                .last_mut()
                .map_or(std::ptr::null_mut(), |b| b.as_mut_ptr().cast())
        }
    }

    fn layout(size: usize) -> Layout {
        Layout::from_size_align(size, 1).expect("layout")
    }

    #[test]
    fn arguments_share_a_block_that_is_reused_once_freed() {
        let mut heap = Heap(Vec::new());
        let mut arena = Blocks::new();
        // Inside a call (and before the first), the ordinary allocator serves.
        assert!(unsafe { arena.alloc(layout(10), || heap.block()) }.is_none());

        arena.set_between_calls(true);
        let a = unsafe { arena.alloc(layout(10), || heap.block()) }.expect("arena");
        let b = unsafe { arena.alloc(layout(10), || heap.block()) }.expect("arena");
        assert_eq!(b as usize, a as usize + 10, "bump-allocated");
        assert_eq!(arena.blocks(), 1);

        // The call drops its arguments: the block starts over.
        assert!(arena.free(a) && arena.free(b));
        let c = unsafe { arena.alloc(layout(10), || heap.block()) }.expect("arena");
        assert_eq!(c, a, "an emptied block is reused");
        assert!(
            !arena.free(std::ptr::null_mut::<u8>().wrapping_add(8)),
            "not arena memory"
        );
    }

    #[test]
    fn a_kept_argument_pins_its_block_and_then_the_ordinary_allocator_serves() {
        let mut heap = Heap(Vec::new());
        let mut arena = Blocks::new();
        arena.set_between_calls(true);
        // Each call's arguments fill a block, and the rule keeps one string of each.
        for _ in 0..SLOTS {
            let args: Vec<*mut u8> = (0..BLOCK / LARGEST)
                .map(|_| unsafe { arena.alloc(layout(LARGEST), || heap.block()) }.expect("arena"))
                .collect();
            for p in &args[1..] {
                assert!(arena.free(*p));
            }
        }
        assert_eq!(arena.blocks(), SLOTS);
        assert!(
            unsafe { arena.alloc(layout(LARGEST), || heap.block()) }.is_none(),
            "every block pinned: the ordinary allocator serves"
        );
    }

    #[test]
    fn large_or_overaligned_arguments_skip_the_arena() {
        let mut heap = Heap(Vec::new());
        let mut arena = Blocks::new();
        arena.set_between_calls(true);
        assert!(unsafe { arena.alloc(layout(LARGEST + 1), || heap.block()) }.is_none());
        let wide = Layout::from_size_align(64, 64).expect("layout");
        assert!(unsafe { arena.alloc(wide, || heap.block()) }.is_none());
        let aligned = Layout::from_size_align(24, 8).expect("layout");
        let p = unsafe { arena.alloc(aligned, || heap.block()) }.expect("arena");
        assert_eq!(p as usize % 8, 0);
    }
}
