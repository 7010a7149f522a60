//! Where things live in the data region. Everything is addressed by `u32` byte offsets from the
//! start of the data region (never pointers: processes map the zone at different addresses),
//! and 0 means "none" because offset 0 is the state block, never an item.
//!
//! ```text
//! state block | bucket array (nbuckets × u32) | arena of blocks ...
//! ```
//! A block is `[prev_size: u32][size | flags: u32][payload]`; `prev_size` is only meaningful
//! when the PREV_FREE flag is set (boundary tags, so freeing can merge with both neighbours).

/// Offset of the most recently used item (LRU head).
pub(crate) const S_LRU_HEAD: usize = 0;
/// Offset of the least recently used item (LRU tail).
pub(crate) const S_LRU_TAIL: usize = 4;
/// Number of items (keys).
pub(crate) const S_ITEMS: usize = 8;
/// Number of list nodes.
pub(crate) const S_NODES: usize = 12;
/// Total size of all free blocks.
pub(crate) const S_FREE_BYTES: usize = 16;
/// Bitmap of non-empty free-list bins.
pub(crate) const S_BITMAP: usize = 24;
/// Free-list heads, one `u32` per bin.
pub(crate) const S_BINS: usize = S_BITMAP + BITMAP_WORDS * 8;
/// Size of the state block.
pub(crate) const STATE_SIZE: usize = round8(S_BINS + NBINS * 4);

/// Free-list bins: 32 exact bins of 8-byte steps below 256, then 8 sub-bins per power of two.
pub(crate) const NBINS: usize = 32 + 24 * 8;
pub(crate) const BITMAP_WORDS: usize = NBINS.div_ceil(64);

/// Smallest block: the 8-byte header plus the two free-list links.
pub(crate) const MIN_BLOCK: u32 = 16;
pub(crate) const F_FREE: u32 = 1;
pub(crate) const F_PREV_FREE: u32 = 2;
/// The block is a list node (otherwise, when used, an item).
pub(crate) const F_NODE: u32 = 4;
pub(crate) const FLAG_MASK: u32 = 7;

/// Free block: next/prev in its bin.
pub(crate) const FB_NEXT: u32 = 8;
pub(crate) const FB_PREV: u32 = 12;

/// Item: hash-chain next, LRU prev/next (prev = towards the head), hash, expiry (monotonic ms,
/// 0 = never), user flags, value length (element count for lists), key length, value type,
/// then the key bytes and the value bytes.
pub(crate) const I_HNEXT: u32 = 8;
pub(crate) const I_PREV: u32 = 12;
pub(crate) const I_NEXT: u32 = 16;
pub(crate) const I_HASH: u32 = 20;
pub(crate) const I_EXPIRES: u32 = 24;
pub(crate) const I_FLAGS: u32 = 32;
pub(crate) const I_VLEN: u32 = 36;
pub(crate) const I_KLEN: u32 = 40;
pub(crate) const I_TYPE: u32 = 42;
pub(crate) const I_DATA: u32 = 44;
/// A list item's value area: head and tail node offsets.
pub(crate) const LIST_AREA: u32 = 8;

/// List node: prev/next node, value length, value type, value bytes.
pub(crate) const N_PREV: u32 = 8;
pub(crate) const N_NEXT: u32 = 12;
pub(crate) const N_VLEN: u32 = 16;
pub(crate) const N_TYPE: u32 = 20;
pub(crate) const N_DATA: u32 = 24;

/// Value types, numbered like Lua's (OpenResty stores `lua_type()`).
pub(crate) const T_BOOLEAN: u8 = 1;
pub(crate) const T_NUMBER: u8 = 3;
pub(crate) const T_STRING: u8 = 4;
pub(crate) const T_LIST: u8 = 5;

/// Expiry meaning "already expired" (`flush_all` sets it, like OpenResty's `expires = 1`).
pub(crate) const EXPIRED_LONG_AGO: u64 = 1;

pub(crate) const fn round8(n: usize) -> usize {
    (n + 7) & !7
}

/// Where the buckets and the arena start, and where the arena ends, in a data region of
/// `data_len` bytes with `nbuckets` buckets.
pub(crate) fn regions(data_len: usize, nbuckets: u32) -> (usize, usize, usize) {
    let buckets = STATE_SIZE;
    let arena = round8(buckets + nbuckets as usize * 4);
    let end = data_len & !7;
    (buckets, arena, end)
}

pub(crate) fn rd16(b: &[u8], off: usize) -> u16 {
    let mut a = [0; 2];
    a.copy_from_slice(&b[off..off + 2]);
    u16::from_ne_bytes(a)
}

pub(crate) fn rd32(b: &[u8], off: usize) -> u32 {
    let mut a = [0; 4];
    a.copy_from_slice(&b[off..off + 4]);
    u32::from_ne_bytes(a)
}

pub(crate) fn rd64(b: &[u8], off: usize) -> u64 {
    let mut a = [0; 8];
    a.copy_from_slice(&b[off..off + 8]);
    u64::from_ne_bytes(a)
}

pub(crate) fn wr16(b: &mut [u8], off: usize, v: u16) {
    b[off..off + 2].copy_from_slice(&v.to_ne_bytes());
}

pub(crate) fn wr32(b: &mut [u8], off: usize, v: u32) {
    b[off..off + 4].copy_from_slice(&v.to_ne_bytes());
}

pub(crate) fn wr64(b: &mut [u8], off: usize, v: u64) {
    b[off..off + 8].copy_from_slice(&v.to_ne_bytes());
}
