//! The consistency check: walks every structure of a locked zone and reports the first broken
//! invariant. Every walk is bounded by a count taken from the physical block walk, so a
//! corrupted link can make the check fail but never loop or read out of bounds.

use crate::arena::{bin_of, Arena};
use crate::error::Inconsistency;
use crate::hash::hash;
use crate::items::tag;
use crate::layout::{
    FB_NEXT, FB_PREV, F_FREE, F_NODE, F_PREV_FREE, I_DATA, I_HASH, I_HNEXT, I_KLEN, I_NEXT, I_PREV,
    I_TYPE, I_VLEN, LIST_AREA, MIN_BLOCK, NBINS, N_DATA, N_NEXT, N_PREV, N_TYPE, N_VLEN, S_BINS,
    S_BITMAP, S_FREE_BYTES, S_ITEMS, S_LRU_HEAD, S_LRU_TAIL, S_NODES, T_BOOLEAN, T_LIST, T_NUMBER,
    T_STRING,
};

/// One bit per 8-byte unit of the arena.
struct Marks(Vec<u64>);

impl Marks {
    fn new(arena: &Arena<'_>) -> Marks {
        Marks(vec![
            0;
            ((arena.end - arena.start) as usize / 8).div_ceil(64)
        ])
    }
    fn index(arena: &Arena<'_>, b: u32) -> usize {
        ((b - arena.start) / 8) as usize
    }
    fn get(&self, arena: &Arena<'_>, b: u32) -> bool {
        let i = Self::index(arena, b);
        self.0[i / 64] & (1 << (i % 64)) != 0
    }
    fn set(&mut self, arena: &Arena<'_>, b: u32) {
        let i = Self::index(arena, b);
        self.0[i / 64] |= 1 << (i % 64);
    }
}

/// What the physical walk counted.
struct Blocks {
    starts: Marks,
    free: usize,
    items: usize,
    nodes: usize,
}

macro_rules! ensure {
    ($cond:expr, $($msg:tt)+) => {
        if !$cond {
            return Err(Inconsistency(format!($($msg)+)));
        }
    };
}

impl Arena<'_> {
    /// Verifies blocks, free lists, hash chains, the LRU list, lists and counters.
    pub(crate) fn verify(&self, seed: u64) -> Result<(), Inconsistency> {
        let blocks = self.verify_blocks()?;
        self.verify_free_lists(&blocks)?;
        let items = self.verify_chains(&blocks, seed)?;
        self.verify_lru(&items, blocks.items)?;
        self.verify_lists(&blocks)
    }

    fn is_block(&self, blocks: &Blocks, b: u32) -> bool {
        b >= self.start && b < self.end && b % 8 == self.start % 8 && blocks.starts.get(self, b)
    }

    fn verify_blocks(&self) -> Result<Blocks, Inconsistency> {
        let mut blocks = Blocks {
            starts: Marks::new(self),
            free: 0,
            items: 0,
            nodes: 0,
        };
        let (mut b, mut prev_free, mut prev_size, mut free_bytes) = (self.start, false, 0, 0u64);
        while b < self.end {
            let word = self.block_word(b);
            let size = self.block_size(b);
            ensure!(
                size >= MIN_BLOCK && size <= self.end - b,
                "block {b}: size {size} out of range"
            );
            ensure!(
                (word & F_PREV_FREE != 0) == prev_free,
                "block {b}: PREV_FREE flag is wrong"
            );
            ensure!(
                !prev_free || self.r32(b, 0) == prev_size,
                "block {b}: prev_size {} but the previous block has {prev_size}",
                self.r32(b, 0)
            );
            let free = word & F_FREE != 0;
            ensure!(!(free && prev_free), "block {b}: two adjacent free blocks");
            if free {
                blocks.free += 1;
                free_bytes += u64::from(size);
            } else if word & F_NODE != 0 {
                blocks.nodes += 1;
            } else {
                blocks.items += 1;
            }
            blocks.starts.set(self, b);
            (prev_free, prev_size) = (free, size);
            b += size;
        }
        ensure!(
            b == self.end,
            "blocks end at {b}, the arena at {}",
            self.end
        );
        let counted = self.st64(S_FREE_BYTES);
        ensure!(
            counted == free_bytes,
            "free byte counter {counted}, free blocks hold {free_bytes}"
        );
        Ok(blocks)
    }

    fn verify_free_lists(&self, blocks: &Blocks) -> Result<(), Inconsistency> {
        let mut seen = 0;
        for bin in 0..NBINS {
            let head = self.st(S_BINS + bin * 4);
            let bit = self.st64(S_BITMAP + bin / 64 * 8) & (1 << (bin % 64)) != 0;
            ensure!(
                bit == (head != 0),
                "bin {bin}: bitmap bit disagrees with its list"
            );
            let (mut prev, mut f) = (0, head);
            while f != 0 {
                seen += 1;
                ensure!(
                    seen <= blocks.free,
                    "free lists hold more entries than free blocks"
                );
                ensure!(self.is_block(blocks, f), "bin {bin}: {f} is not a block");
                ensure!(
                    self.block_word(f) & F_FREE != 0,
                    "bin {bin}: block {f} is not free"
                );
                ensure!(
                    bin_of(self.block_size(f)) == bin,
                    "bin {bin}: block {f} of size {} is in the wrong bin",
                    self.block_size(f)
                );
                ensure!(
                    self.r32(f, FB_PREV) == prev,
                    "bin {bin}: block {f}: bad prev link"
                );
                prev = f;
                f = self.r32(f, FB_NEXT);
            }
        }
        ensure!(
            seen == blocks.free,
            "free lists hold {seen} blocks, the arena {}",
            blocks.free
        );
        Ok(())
    }

    /// Checks every hash chain; returns the set of items found.
    fn verify_chains(&self, blocks: &Blocks, seed: u64) -> Result<Marks, Inconsistency> {
        let mut items = Marks::new(self);
        let mut count = 0;
        for bucket in 0..=self.mask {
            let mut it = self.st(self.buckets + bucket as usize * 4);
            while it != 0 {
                count += 1;
                ensure!(
                    count <= blocks.items,
                    "hash chains hold more entries than item blocks"
                );
                ensure!(
                    self.is_block(blocks, it),
                    "bucket {bucket}: {it} is not a block"
                );
                ensure!(
                    self.block_word(it) & (F_FREE | F_NODE) == 0,
                    "bucket {bucket}: block {it} is not a used item"
                );
                ensure!(!items.get(self, it), "item {it} is chained twice");
                items.set(self, it);
                self.verify_item(it)?;
                let stored = self.r32(it, I_HASH);
                ensure!(
                    stored == tag(hash(seed, self.key(it))),
                    "item {it}: wrong hash"
                );
                ensure!(
                    self.bucket_slot(stored) == self.buckets + bucket as usize * 4,
                    "item {it} is in the wrong bucket"
                );
                it = self.r32(it, I_HNEXT);
            }
        }
        ensure!(
            count == blocks.items,
            "{} item blocks but {count} are reachable from the buckets",
            blocks.items
        );
        let counted = self.st(S_ITEMS) as usize;
        ensure!(counted == count, "item counter {counted}, {count} items");
        Ok(items)
    }

    /// A list node's own fields (type, length within its block).
    pub(crate) fn verify_node(&self, node: u32) -> Result<(), Inconsistency> {
        let (vtype, vlen) = (self.r8(node, N_TYPE), self.r32(node, N_VLEN));
        ensure!(
            vtype == T_STRING || (vtype == T_NUMBER && vlen == 8),
            "node {node}: bad value type {vtype} or length {vlen}"
        );
        ensure!(
            u64::from(N_DATA) + u64::from(vlen) <= u64::from(self.block_size(node)),
            "node {node}: value overflows the block"
        );
        Ok(())
    }

    /// An item's own fields (key, type, lengths within its block).
    pub(crate) fn verify_item(&self, it: u32) -> Result<(), Inconsistency> {
        let klen = u32::from(self.r16(it, I_KLEN));
        let vtype = self.r8(it, I_TYPE);
        let vlen = self.r32(it, I_VLEN);
        ensure!(klen > 0, "item {it}: empty key");
        let value_bytes = match vtype {
            T_BOOLEAN => {
                ensure!(vlen == 1, "item {it}: boolean of {vlen} bytes");
                1
            }
            T_NUMBER => {
                ensure!(vlen == 8, "item {it}: number of {vlen} bytes");
                8
            }
            T_STRING => u64::from(vlen),
            T_LIST => u64::from(LIST_AREA),
            _ => return Err(Inconsistency(format!("item {it}: bad value type {vtype}"))),
        };
        let need = u64::from(I_DATA) + u64::from(klen) + value_bytes;
        ensure!(
            need <= u64::from(self.block_size(it)),
            "item {it}: key and value overflow the block"
        );
        Ok(())
    }

    fn verify_lru(&self, items: &Marks, count: usize) -> Result<(), Inconsistency> {
        let (mut prev, mut it, mut n) = (0, self.st(S_LRU_HEAD), 0);
        while it != 0 {
            n += 1;
            ensure!(n <= count, "LRU list longer than the item count");
            ensure!(
                it >= self.start && it < self.end && items.get(self, it),
                "LRU entry {it} is not a chained item"
            );
            ensure!(
                self.r32(it, I_PREV) == prev,
                "LRU entry {it}: bad prev link"
            );
            prev = it;
            it = self.r32(it, I_NEXT);
        }
        ensure!(n == count, "LRU list holds {n} of {count} items");
        let tail = self.st(S_LRU_TAIL);
        ensure!(tail == prev, "LRU tail is {tail}, the last entry {prev}");
        Ok(())
    }

    /// Walks the lists of the list items (the LRU walk already proved it reaches every item).
    fn verify_lists(&self, blocks: &Blocks) -> Result<(), Inconsistency> {
        let mut nodes = Marks::new(self);
        let mut total = 0;
        let mut it = self.st(S_LRU_HEAD);
        while it != 0 {
            if self.r8(it, I_TYPE) == T_LIST {
                let area = self.value_field(it);
                let (head, tail) = (self.r32(it, area), self.r32(it, area + 4));
                let (mut prev, mut node, mut len) = (0, head, 0);
                while node != 0 {
                    total += 1;
                    len += 1;
                    ensure!(
                        total <= blocks.nodes,
                        "lists hold more nodes than node blocks"
                    );
                    ensure!(
                        self.is_block(blocks, node),
                        "list {it}: {node} is not a block"
                    );
                    ensure!(
                        self.block_word(node) & (F_FREE | F_NODE) == F_NODE,
                        "list {it}: block {node} is not a used node"
                    );
                    ensure!(!nodes.get(self, node), "node {node} is linked twice");
                    nodes.set(self, node);
                    ensure!(
                        self.r32(node, N_PREV) == prev,
                        "list {it}: node {node}: bad prev link"
                    );
                    self.verify_node(node)?;
                    prev = node;
                    node = self.r32(node, N_NEXT);
                }
                ensure!(
                    tail == prev,
                    "list {it}: tail is {tail}, the last node {prev}"
                );
                let counted = self.r32(it, I_VLEN);
                ensure!(
                    len > 0 && counted == len,
                    "list {it}: length {counted}, {len} nodes"
                );
            }
            it = self.r32(it, I_NEXT);
        }
        ensure!(
            total == blocks.nodes,
            "{} node blocks but {total} are in lists",
            blocks.nodes
        );
        let counted = self.st(S_NODES) as usize;
        ensure!(counted == total, "node counter {counted}, {total} nodes");
        Ok(())
    }

    /// Whether `it` is an item currently on the LRU list (used by recovery, after `verify`
    /// passed, to check the `wip` word before acting on it).
    pub(crate) fn has_item(&self, it: u32) -> bool {
        let mut cur = self.st(S_LRU_HEAD);
        while cur != 0 {
            if cur == it {
                return true;
            }
            cur = self.r32(cur, I_NEXT);
        }
        false
    }
}
