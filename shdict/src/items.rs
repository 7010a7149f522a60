//! Items: the hash table (offset-linked chains), the LRU list, and the expiry/eviction rules of
//! `ngx_http_lua_shdict_expire`.

use std::sync::atomic::{compiler_fence, Ordering};

use crate::arena::Arena;
use crate::error::Error;
use crate::layout::{
    I_DATA, I_EXPIRES, I_FLAGS, I_HASH, I_HNEXT, I_KLEN, I_NEXT, I_PREV, I_TYPE, I_VLEN, N_NEXT,
    S_ITEMS, S_LRU_HEAD, S_LRU_TAIL, S_NODES, T_LIST,
};

/// Allocation attempts after evicting (OpenResty's `for (i = 0; i < 30; i++)`).
const EVICTION_ROUNDS: usize = 30;

/// The part of the hash kept in an item to skip most key comparisons.
pub(crate) fn tag(h: u64) -> u32 {
    (h >> 32) as u32
}

/// A new item's header fields.
pub(crate) struct ItemHead {
    pub vtype: u8,
    pub expires: u64,
    pub flags: u32,
    /// Value length, or element count for a list.
    pub vlen: u32,
}

impl Arena<'_> {
    /// The bucket of an item with hash tag `tag` (the tag's low bits pick the bucket, so an
    /// item's bucket can be found again from the tag it stores).
    pub(crate) fn bucket_slot(&self, tag: u32) -> usize {
        self.buckets + (tag & self.mask) as usize * 4
    }

    pub(crate) fn key(&self, it: u32) -> &[u8] {
        let start = it as usize + I_DATA as usize;
        &self.buf[start..start + self.r16(it, I_KLEN) as usize]
    }

    /// Offset (from the block) of the value bytes.
    pub(crate) fn value_field(&self, it: u32) -> u32 {
        I_DATA + u32::from(self.r16(it, I_KLEN))
    }

    pub(crate) fn value(&self, it: u32) -> &[u8] {
        let start = it as usize + self.value_field(it) as usize;
        &self.buf[start..start + self.r32(it, I_VLEN) as usize]
    }

    pub(crate) fn lookup(&self, key: &[u8], h: u64) -> Option<u32> {
        let tag = tag(h);
        let mut it = self.st(self.bucket_slot(tag));
        while it != 0 {
            if self.r32(it, I_HASH) == tag && self.key(it) == key {
                return Some(it);
            }
            it = self.r32(it, I_HNEXT);
        }
        None
    }

    /// Allocates a block for an item of `need` bytes. Unless `safe`, evicts from the LRU tail
    /// (expired items first, then the oldest) until it fits; the bool says whether live items
    /// may have been evicted (OpenResty's `forcible`).
    pub(crate) fn alloc_item(&mut self, need: usize, safe: bool) -> Result<(u32, bool), Error> {
        if let Some(it) = self.alloc(need, false) {
            return Ok((it, false));
        }
        // Evicting cannot make room for something larger than the whole arena.
        if safe || need > (self.end - self.start) as usize {
            return Err(Error::NoMemory);
        }
        for _ in 0..EVICTION_ROUNDS {
            if self.expire_lru(true) == 0 {
                break;
            }
            if let Some(it) = self.alloc(need, false) {
                return Ok((it, true));
            }
        }
        Err(Error::NoMemory)
    }

    /// Fills in a freshly allocated item (header, key, value bytes) and links it into its
    /// bucket and at the LRU head. The type byte is written last: until then the block is
    /// not a valid item, so recovery never resurrects a half-written one.
    pub(crate) fn link_new(&mut self, it: u32, key: &[u8], h: u64, head: &ItemHead, value: &[u8]) {
        self.w32(it, I_HASH, tag(h));
        self.w64(it, I_EXPIRES, head.expires);
        self.w32(it, I_FLAGS, head.flags);
        self.w32(it, I_VLEN, head.vlen);
        self.w16(it, I_KLEN, key.len() as u16);
        let k = it as usize + I_DATA as usize;
        self.buf[k..k + key.len()].copy_from_slice(key);
        self.buf[k + key.len()..k + key.len() + value.len()].copy_from_slice(value);
        compiler_fence(Ordering::SeqCst);
        self.w8(it, I_TYPE, head.vtype);
        compiler_fence(Ordering::SeqCst);
        self.link(it);
    }

    /// Puts a complete item at the head of its bucket chain and of the LRU list.
    pub(crate) fn link(&mut self, it: u32) {
        let slot = self.bucket_slot(self.r32(it, I_HASH));
        let first = self.st(slot);
        self.w32(it, I_HNEXT, first);
        self.set_st(slot, it);
        self.lru_push_head(it);
        let items = self.st(S_ITEMS) + 1;
        self.set_st(S_ITEMS, items);
    }

    /// Unlinks and frees an item, with its list nodes.
    pub(crate) fn remove_item(&mut self, it: u32) {
        if self.r8(it, I_TYPE) == T_LIST {
            self.free_list_nodes(it);
        }
        self.hash_unlink(it);
        self.lru_unlink(it);
        self.free(it);
        let items = self.st(S_ITEMS) - 1;
        self.set_st(S_ITEMS, items);
    }

    /// Frees every node of a list item (the item's head/tail/count are left to the caller).
    pub(crate) fn free_list_nodes(&mut self, it: u32) {
        let area = self.value_field(it);
        let mut node = self.r32(it, area);
        let mut count = 0;
        while node != 0 {
            let next = self.r32(node, N_NEXT);
            self.free(node);
            count += 1;
            node = next;
        }
        let nodes = self.st(S_NODES) - count;
        self.set_st(S_NODES, nodes);
    }

    fn hash_unlink(&mut self, it: u32) {
        let slot = self.bucket_slot(self.r32(it, I_HASH));
        let next = self.r32(it, I_HNEXT);
        let mut cur = self.st(slot);
        if cur == it {
            self.set_st(slot, next);
            return;
        }
        while cur != 0 {
            let after = self.r32(cur, I_HNEXT);
            if after == it {
                self.w32(cur, I_HNEXT, next);
                return;
            }
            cur = after;
        }
    }

    fn lru_unlink(&mut self, it: u32) {
        let (prev, next) = (self.r32(it, I_PREV), self.r32(it, I_NEXT));
        if prev != 0 {
            self.w32(prev, I_NEXT, next);
        } else {
            self.set_st(S_LRU_HEAD, next);
        }
        if next != 0 {
            self.w32(next, I_PREV, prev);
        } else {
            self.set_st(S_LRU_TAIL, prev);
        }
    }

    fn lru_push_head(&mut self, it: u32) {
        let head = self.st(S_LRU_HEAD);
        self.w32(it, I_PREV, 0);
        self.w32(it, I_NEXT, head);
        if head != 0 {
            self.w32(head, I_PREV, it);
        } else {
            self.set_st(S_LRU_TAIL, it);
        }
        self.set_st(S_LRU_HEAD, it);
    }

    /// Marks an item most recently used.
    pub(crate) fn touch(&mut self, it: u32) {
        if self.st(S_LRU_HEAD) != it {
            self.lru_unlink(it);
            self.lru_push_head(it);
        }
    }

    /// `ngx_http_lua_shdict_expire`: from the LRU tail, removes up to two expired items, or,
    /// when `force`, the tail item whatever its expiry plus up to two expired ones. Returns
    /// how many were removed.
    pub(crate) fn expire_lru(&mut self, force: bool) -> usize {
        let mut n = usize::from(!force);
        let mut freed = 0;
        while n < 3 {
            let tail = self.st(S_LRU_TAIL);
            if tail == 0 {
                break;
            }
            if n != 0 {
                let expires = self.r64(tail, I_EXPIRES);
                if expires == 0 || expires > self.now() {
                    break;
                }
            }
            n += 1;
            self.remove_item(tail);
            freed += 1;
        }
        freed
    }
}
