//! Rebuilding a zone after a lock holder died in the middle of changing its structure.
//!
//! The blocks themselves are the ground truth: if the chain of block sizes is intact, every
//! used item block that holds a complete item (its type byte is written last, see
//! `Arena::link_new`) is linked again, lists are kept when their node chain is intact, and
//! everything else becomes free space. So a crash loses at most the items that operation was
//! touching. Only a broken block chain empties the zone.

use crate::arena::Arena;
use crate::error::Inconsistency;
use crate::hash::hash;
use crate::items::tag;
use crate::layout::{
    F_FREE, F_NODE, F_PREV_FREE, I_HASH, I_TYPE, I_VLEN, MIN_BLOCK, N_NEXT, N_PREV, S_FREE_BYTES,
    S_NODES, T_LIST,
};

/// A block found by the physical walk.
struct Block {
    at: u32,
    size: u32,
    keep: bool,
}

impl Arena<'_> {
    /// Rebuilds the free lists, hash table, LRU list and counters from the blocks, dropping the
    /// item in `wip` (it may be half-written). Fails if the block chain itself is broken.
    pub(crate) fn salvage(&mut self, seed: u64, wip: u32) -> Result<(), Inconsistency> {
        let mut blocks = self.walk_blocks()?;
        self.buf[..self.start as usize].fill(0);
        let mut nodes = 0;
        for i in 0..blocks.len() {
            let it = blocks[i].at;
            if it == wip || self.block_word(it) & (F_FREE | F_NODE) != 0 {
                continue;
            }
            if self.verify_item(it).is_err() {
                continue;
            }
            let h = hash(seed, self.key(it));
            if self.r32(it, I_HASH) != tag(h) || self.lookup(self.key(it), h).is_some() {
                continue;
            }
            if self.r8(it, I_TYPE) == T_LIST {
                let Some(list) = self.list_nodes(it, &blocks) else {
                    continue;
                };
                nodes += list.len() as u32;
                for n in list {
                    blocks[n].keep = true;
                }
            }
            blocks[i].keep = true;
            self.link(it);
        }
        self.set_st(S_NODES, nodes);
        self.rebuild_free_space(&blocks);
        self.verify(seed)
    }

    /// The blocks in address order, if their sizes chain exactly from start to end.
    fn walk_blocks(&self) -> Result<Vec<Block>, Inconsistency> {
        let mut blocks = Vec::new();
        let mut b = self.start;
        while b < self.end {
            let size = self.block_size(b);
            if size < MIN_BLOCK || size > self.end - b {
                return Err(Inconsistency(format!(
                    "block {b}: size {size} out of range"
                )));
            }
            blocks.push(Block {
                at: b,
                size,
                keep: false,
            });
            b += size;
        }
        Ok(blocks)
    }

    /// Indexes (into `blocks`) of the nodes of list item `it`, if its chain is intact: every
    /// node an unclaimed used node block with valid fields and matching back links, the tail
    /// and the length as recorded.
    fn list_nodes(&self, it: u32, blocks: &[Block]) -> Option<Vec<usize>> {
        let area = self.value_field(it);
        let (mut node, tail) = (self.r32(it, area), self.r32(it, area + 4));
        let (mut prev, mut found) = (0, Vec::new());
        while node != 0 {
            let i = blocks.binary_search_by_key(&node, |b| b.at).ok()?;
            let word = self.block_word(node);
            if blocks[i].keep
                || found.len() >= blocks.len()
                || word & (F_FREE | F_NODE) != F_NODE
                || self.verify_node(node).is_err()
                || self.r32(node, N_PREV) != prev
            {
                return None;
            }
            found.push(i);
            prev = node;
            node = self.r32(node, N_NEXT);
        }
        let complete =
            prev == tail && !found.is_empty() && found.len() == self.r32(it, I_VLEN) as usize;
        complete.then_some(found)
    }

    /// Turns every run of blocks not kept into one free block, and fixes the neighbour flags.
    fn rebuild_free_space(&mut self, blocks: &[Block]) {
        let mut free_bytes = 0u64;
        let mut run: Option<(u32, u32)> = None;
        for block in blocks {
            if !block.keep {
                run = Some(match run {
                    Some((start, size)) => (start, size + block.size),
                    None => (block.at, block.size),
                });
                continue;
            }
            match run.take() {
                Some((start, size)) => {
                    self.make_free(start, size);
                    free_bytes += u64::from(size);
                }
                None => self.set_flag(block.at, F_PREV_FREE, false),
            }
        }
        if let Some((start, size)) = run {
            self.make_free(start, size);
            free_bytes += u64::from(size);
        }
        self.set_st64(S_FREE_BYTES, free_bytes);
    }

    /// Makes `[start, start + size)` one free block (its predecessor is used).
    fn make_free(&mut self, start: u32, size: u32) {
        self.set_header(start, size, F_FREE);
        self.bin_insert(start);
        self.set_next_prev_free(start, size);
    }
}
