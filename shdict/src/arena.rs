//! The locked view of a zone's data region, and its block allocator: boundary-tagged blocks,
//! merged with free neighbours on free, kept in size-class bins (exact 8-byte classes below
//! 256 bytes, then 8 sub-classes per power of two) with a bitmap of the non-empty bins, so an
//! allocation is a bitmap scan plus a list pop, and evicting neighbours grows free space.

use std::sync::atomic::{compiler_fence, AtomicU32, Ordering};

use crate::clock;
use crate::layout::{
    rd16, rd32, rd64, regions, wr16, wr32, wr64, BITMAP_WORDS, FB_NEXT, FB_PREV, FLAG_MASK, F_FREE,
    F_NODE, F_PREV_FREE, I_TYPE, MIN_BLOCK, S_BINS, S_BITMAP, S_FREE_BYTES,
};

/// The data region of a zone, borrowed while the zone lock is held.
pub(crate) struct Arena<'a> {
    pub(crate) buf: &'a mut [u8],
    /// Bucket count − 1 (a power of two).
    pub(crate) mask: u32,
    pub(crate) buckets: usize,
    /// First block.
    pub(crate) start: u32,
    /// End of the last block.
    pub(crate) end: u32,
    /// The header's `wip` word: the item being rewritten in place (see `ops::InPlace`).
    pub(crate) wip: &'a AtomicU32,
    /// Monotonic milliseconds, read at most once per operation (0 = not read yet).
    now: u64,
}

impl<'a> Arena<'a> {
    pub(crate) fn new(buf: &'a mut [u8], nbuckets: u32, wip: &'a AtomicU32) -> Arena<'a> {
        let (buckets, start, end) = regions(buf.len(), nbuckets);
        Arena {
            buf,
            mask: nbuckets - 1,
            buckets,
            start: start as u32,
            end: end as u32,
            wip,
            now: 0,
        }
    }

    /// Empties the zone: no items, one free block spanning the arena.
    pub(crate) fn init(&mut self) {
        self.buf[..self.start as usize].fill(0);
        let size = self.end - self.start;
        self.set_header(self.start, size, F_FREE);
        self.bin_insert(self.start);
        self.set_st64(S_FREE_BYTES, u64::from(size));
    }

    pub(crate) fn now(&mut self) -> u64 {
        if self.now == 0 {
            self.now = clock::now_ms();
        }
        self.now
    }

    // --- field access by (block, field offset) ---

    pub(crate) fn r8(&self, b: u32, f: u32) -> u8 {
        self.buf[b as usize + f as usize]
    }
    pub(crate) fn w8(&mut self, b: u32, f: u32, v: u8) {
        self.buf[b as usize + f as usize] = v;
    }
    pub(crate) fn r16(&self, b: u32, f: u32) -> u16 {
        rd16(self.buf, b as usize + f as usize)
    }
    pub(crate) fn w16(&mut self, b: u32, f: u32, v: u16) {
        wr16(self.buf, b as usize + f as usize, v)
    }
    pub(crate) fn r32(&self, b: u32, f: u32) -> u32 {
        rd32(self.buf, b as usize + f as usize)
    }
    pub(crate) fn w32(&mut self, b: u32, f: u32, v: u32) {
        wr32(self.buf, b as usize + f as usize, v)
    }
    pub(crate) fn r64(&self, b: u32, f: u32) -> u64 {
        rd64(self.buf, b as usize + f as usize)
    }
    pub(crate) fn w64(&mut self, b: u32, f: u32, v: u64) {
        wr64(self.buf, b as usize + f as usize, v)
    }
    pub(crate) fn st(&self, off: usize) -> u32 {
        rd32(self.buf, off)
    }
    pub(crate) fn set_st(&mut self, off: usize, v: u32) {
        wr32(self.buf, off, v)
    }
    pub(crate) fn st64(&self, off: usize) -> u64 {
        rd64(self.buf, off)
    }
    pub(crate) fn set_st64(&mut self, off: usize, v: u64) {
        wr64(self.buf, off, v)
    }

    // --- blocks ---

    pub(crate) fn block_word(&self, b: u32) -> u32 {
        self.r32(b, 4)
    }
    pub(crate) fn block_size(&self, b: u32) -> u32 {
        self.block_word(b) & !FLAG_MASK
    }
    pub(crate) fn set_header(&mut self, b: u32, size: u32, flags: u32) {
        self.w32(b, 4, size | flags);
    }
    pub(crate) fn set_flag(&mut self, b: u32, flag: u32, on: bool) {
        let w = self.block_word(b);
        self.w32(b, 4, if on { w | flag } else { w & !flag });
    }

    /// Allocates a block of at least `need` bytes (header included) for an item or a list
    /// node; `None` when no free block is large enough.
    pub(crate) fn alloc(&mut self, need: usize, node: bool) -> Option<u32> {
        let size = block_size_for(need)?;
        let b = self.find_free(size)?;
        self.bin_remove(b);
        let have = self.block_size(b);
        let kind = if node { F_NODE } else { 0 };
        if !node {
            // Before the block turns "used": an item block whose type byte is still 0 was never
            // completed, so recovery can tell it from an item (items are at least I_DATA long).
            self.w8(b, I_TYPE, 0);
        }
        // The block was free, so its physical predecessor is used (free blocks never touch).
        if have - size >= MIN_BLOCK {
            // The remainder's header first: the chain of block sizes stays walkable at every
            // step, which is what recovery relies on if this process dies here.
            let rest = b + size;
            self.set_header(rest, have - size, F_FREE);
            compiler_fence(Ordering::SeqCst);
            self.set_header(b, size, kind);
            self.bin_insert(rest);
            self.set_next_prev_free(rest, have - size);
        } else {
            self.set_header(b, have, kind);
            let next = b + have;
            if next < self.end {
                self.set_flag(next, F_PREV_FREE, false);
            }
        }
        let taken = self.block_size(b);
        let free = self.st64(S_FREE_BYTES) - u64::from(taken);
        self.set_st64(S_FREE_BYTES, free);
        Some(b)
    }

    /// Frees a used block, merging it with free neighbours.
    pub(crate) fn free(&mut self, b: u32) {
        let size = self.block_size(b);
        let freed = self.st64(S_FREE_BYTES) + u64::from(size);
        self.set_st64(S_FREE_BYTES, freed);
        let (mut start, mut total) = (b, size);
        let next = b + size;
        if next < self.end && self.block_word(next) & F_FREE != 0 {
            self.bin_remove(next);
            total += self.block_size(next);
        }
        if self.block_word(b) & F_PREV_FREE != 0 {
            let prev_size = self.r32(b, 0);
            start = b - prev_size;
            self.bin_remove(start);
            total += prev_size;
        }
        self.set_header(start, total, F_FREE);
        self.bin_insert(start);
        self.set_next_prev_free(start, total);
    }

    /// Tells the block after the free block `b` that its predecessor is free and how big.
    pub(crate) fn set_next_prev_free(&mut self, b: u32, size: u32) {
        let next = b + size;
        if next < self.end {
            self.w32(next, 0, size);
            self.set_flag(next, F_PREV_FREE, true);
        }
    }

    fn find_free(&self, size: u32) -> Option<u32> {
        let bin = bin_of(size);
        // Every block in a bin above `bin`, or in `bin` itself when it is exact, fits.
        let exact = size < 256 || size == bin_floor(bin);
        let first = if exact { bin } else { bin + 1 };
        if let Some(found) = self.first_nonempty_bin(first) {
            return Some(self.st(S_BINS + found * 4));
        }
        if exact {
            return None;
        }
        let mut b = self.st(S_BINS + bin * 4);
        while b != 0 {
            if self.block_size(b) >= size {
                return Some(b);
            }
            b = self.r32(b, FB_NEXT);
        }
        None
    }

    fn first_nonempty_bin(&self, from: usize) -> Option<usize> {
        let mut word = from / 64;
        if word >= BITMAP_WORDS {
            return None;
        }
        let mut bits = self.st64(S_BITMAP + word * 8) & (!0u64 << (from % 64));
        loop {
            if bits != 0 {
                return Some(word * 64 + bits.trailing_zeros() as usize);
            }
            word += 1;
            if word == BITMAP_WORDS {
                return None;
            }
            bits = self.st64(S_BITMAP + word * 8);
        }
    }

    pub(crate) fn bin_insert(&mut self, b: u32) {
        let bin = bin_of(self.block_size(b));
        let head = self.st(S_BINS + bin * 4);
        self.w32(b, FB_NEXT, head);
        self.w32(b, FB_PREV, 0);
        if head != 0 {
            self.w32(head, FB_PREV, b);
        }
        self.set_st(S_BINS + bin * 4, b);
        let word = S_BITMAP + bin / 64 * 8;
        let bits = self.st64(word) | 1 << (bin % 64);
        self.set_st64(word, bits);
    }

    fn bin_remove(&mut self, b: u32) {
        let bin = bin_of(self.block_size(b));
        let (next, prev) = (self.r32(b, FB_NEXT), self.r32(b, FB_PREV));
        if next != 0 {
            self.w32(next, FB_PREV, prev);
        }
        if prev != 0 {
            self.w32(prev, FB_NEXT, next);
        } else {
            self.set_st(S_BINS + bin * 4, next);
            if next == 0 {
                let word = S_BITMAP + bin / 64 * 8;
                let bits = self.st64(word) & !(1 << (bin % 64));
                self.set_st64(word, bits);
            }
        }
    }
}

/// Block size (header included, multiple of 8, at least MIN_BLOCK) for `need` bytes; `None`
/// when it cannot be represented (larger than any zone).
pub(crate) fn block_size_for(need: usize) -> Option<u32> {
    let size = u32::try_from(need.checked_add(7)? & !7).ok()?;
    Some(size.max(MIN_BLOCK))
}

pub(crate) fn bin_of(size: u32) -> usize {
    if size < 256 {
        (size >> 3) as usize
    } else {
        let fl = 31 - size.leading_zeros();
        let sl = (size >> (fl - 3)) & 7;
        32 + (fl as usize - 8) * 8 + sl as usize
    }
}

/// The smallest size that falls in `bin`.
fn bin_floor(bin: usize) -> u32 {
    if bin < 32 {
        bin as u32 * 8
    } else {
        let fl = 8 + (bin - 32) / 8;
        let sl = (bin - 32) % 8;
        (1 << fl) + ((sl as u32) << (fl - 3))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layout::NBINS;

    static WIP: AtomicU32 = AtomicU32::new(0);

    fn arena(buf: &mut [u8]) -> Arena<'_> {
        let mut a = Arena::new(buf, 16, &WIP);
        a.init();
        a
    }

    #[test]
    fn bins_are_monotonic_and_floors_match() {
        let mut last = 0;
        for size in (16..1 << 20).step_by(8) {
            let bin = bin_of(size);
            assert!(bin >= last && bin < NBINS);
            assert!(bin_floor(bin) <= size, "size {size} bin {bin}");
            if bin > last {
                assert_eq!(bin_floor(bin), size);
            }
            last = bin;
        }
        assert_eq!(bin_of(!7), NBINS - 1);
    }

    #[test]
    fn alloc_splits_and_free_merges_back() {
        let mut buf = vec![0u8; 64 * 1024];
        let mut a = arena(&mut buf);
        let total = a.st64(S_FREE_BYTES);
        let blocks: Vec<u32> = (0..100)
            .map(|i| a.alloc(20 + i * 9, false).unwrap())
            .collect();
        assert!(a.st64(S_FREE_BYTES) < total);
        // Free in an interleaved order so both-sided merges happen.
        for b in blocks.iter().step_by(2) {
            a.free(*b);
        }
        for b in blocks.iter().skip(1).step_by(2) {
            a.free(*b);
        }
        assert_eq!(a.st64(S_FREE_BYTES), total);
        assert_eq!(a.block_size(a.start), a.end - a.start);
    }

    #[test]
    fn reports_exhaustion() {
        let mut buf = vec![0u8; 8 * 1024];
        let mut a = arena(&mut buf);
        let whole = (a.end - a.start) as usize;
        assert!(a.alloc(whole + 1, false).is_none());
        let b = a.alloc(whole, false).unwrap();
        assert_eq!(a.st64(S_FREE_BYTES), 0);
        assert!(a.alloc(16, true).is_none());
        a.free(b);
        assert!(a.alloc(whole, true).is_some());
    }

    #[test]
    fn sizes() {
        assert_eq!(block_size_for(1), Some(16));
        assert_eq!(block_size_for(17), Some(24));
        assert_eq!(block_size_for(usize::MAX), None);
    }
}
