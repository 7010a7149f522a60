//! The `ngx.shared.DICT` operations on a locked arena, following `ngx_http_lua_shdict.c` case
//! by case: each starts by dropping up to two expired items from the LRU tail, a lookup marks
//! the key most recently used, expired-but-present items are reused or replaced, and only a
//! plain (non-`safe`) store or `incr` evicts live items to make room.

use std::sync::atomic::{compiler_fence, AtomicU32, Ordering};

use crate::arena::Arena;
use crate::error::Error;
use crate::items::ItemHead;
use crate::layout::{
    EXPIRED_LONG_AGO, I_DATA, I_EXPIRES, I_FLAGS, I_NEXT, I_PREV, I_TYPE, I_VLEN, LIST_AREA,
    N_DATA, N_NEXT, N_PREV, N_TYPE, N_VLEN, S_LRU_HEAD, S_LRU_TAIL, S_NODES, T_BOOLEAN, T_LIST,
    T_NUMBER, T_STRING,
};
use crate::value::{OwnedValue, Value};

/// Which store operation (`set`, `add`, `replace`), and whether it may evict live items.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum StoreKind {
    Set,
    Add,
    Replace,
}

enum Found {
    Missing,
    Live(u32),
    Expired(u32),
}

/// A value as stored: type and bytes (numbers and booleans encoded in `buf`).
struct Encoded<'v> {
    vtype: u8,
    bytes: &'v [u8],
}

fn encode<'v>(value: &Value<'v>, buf: &'v mut [u8; 8]) -> Option<Encoded<'v>> {
    match *value {
        Value::Nil => None,
        Value::Bool(b) => {
            buf[0] = u8::from(b);
            Some(Encoded {
                vtype: T_BOOLEAN,
                bytes: &buf[..1],
            })
        }
        Value::Number(n) => {
            *buf = n.to_ne_bytes();
            Some(Encoded {
                vtype: T_NUMBER,
                bytes: &buf[..],
            })
        }
        Value::Str(s) => Some(Encoded {
            vtype: T_STRING,
            bytes: s,
        }),
    }
}

fn decode(vtype: u8, bytes: &[u8]) -> OwnedValue {
    match vtype {
        T_BOOLEAN => OwnedValue::Bool(bytes.first().is_some_and(|b| *b != 0)),
        T_NUMBER => {
            let mut n = [0; 8];
            n.copy_from_slice(&bytes[..8]);
            OwnedValue::Number(f64::from_ne_bytes(n))
        }
        _ => OwnedValue::Str(bytes.to_vec()),
    }
}

/// An in-place rewrite of one item's payload. While it runs the item is recorded in the
/// header's `wip` word, so if this process dies halfway, recovery drops that item instead of
/// serving a torn value.
struct InPlace<'w>(&'w AtomicU32);

impl<'w> InPlace<'w> {
    fn begin(wip: &'w AtomicU32, it: u32) -> InPlace<'w> {
        wip.store(it, Ordering::Relaxed);
        compiler_fence(Ordering::SeqCst);
        InPlace(wip)
    }
}

impl Drop for InPlace<'_> {
    fn drop(&mut self) {
        compiler_fence(Ordering::SeqCst);
        self.0.store(0, Ordering::Relaxed);
    }
}

impl Arena<'_> {
    /// `ngx_http_lua_shdict_lookup`: finds the key, marks it most recently used, and says
    /// whether it has expired.
    fn find(&mut self, key: &[u8], h: u64) -> Found {
        let Some(it) = self.lookup(key, h) else {
            return Found::Missing;
        };
        self.touch(it);
        let expires = self.r64(it, I_EXPIRES);
        if expires != 0 && expires < self.now() {
            Found::Expired(it)
        } else {
            Found::Live(it)
        }
    }

    /// Absolute expiry for a TTL in milliseconds (0 or less: never).
    fn expiry(&mut self, ttl_ms: i64) -> u64 {
        if ttl_ms > 0 {
            self.now().saturating_add(ttl_ms as u64)
        } else {
            0
        }
    }

    fn is_live(&mut self, it: u32) -> bool {
        let expires = self.r64(it, I_EXPIRES);
        expires == 0 || expires > self.now()
    }

    /// `set`/`add`/`replace` and their `safe_` variants; `Nil` with `Set` deletes. Returns
    /// `forcible`.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn store(
        &mut self,
        kind: StoreKind,
        safe: bool,
        key: &[u8],
        h: u64,
        value: &Value<'_>,
        ttl_ms: i64,
        flags: u32,
    ) -> Result<bool, Error> {
        let mut buf = [0; 8];
        let encoded = encode(value, &mut buf);
        self.expire_lru(false);
        let found = self.find(key, h);
        let existing = match (kind, found) {
            (StoreKind::Replace, Found::Live(it)) => Some(it),
            (StoreKind::Replace, _) => return Err(Error::NotFound),
            (StoreKind::Add, Found::Live(_)) => return Err(Error::Exists),
            (_, Found::Live(it) | Found::Expired(it)) => Some(it),
            (_, Found::Missing) => None,
        };
        let Some(new) = encoded else {
            if let Some(it) = existing {
                self.remove_item(it);
            }
            return Ok(false);
        };
        let expires = self.expiry(ttl_ms);
        if let Some(it) = existing {
            if self.r8(it, I_TYPE) != T_LIST && self.r32(it, I_VLEN) as usize == new.bytes.len() {
                let _wip = InPlace::begin(self.wip, it);
                self.w64(it, I_EXPIRES, expires);
                self.w32(it, I_FLAGS, flags);
                self.w8(it, I_TYPE, new.vtype);
                let at = it as usize + self.value_field(it) as usize;
                self.buf[at..at + new.bytes.len()].copy_from_slice(new.bytes);
                return Ok(false);
            }
            self.remove_item(it);
        }
        let vlen = u32::try_from(new.bytes.len()).map_err(|_| Error::NoMemory)?;
        let need = I_DATA as usize + key.len() + new.bytes.len();
        let (it, forcible) = self.alloc_item(need, safe)?;
        let head = ItemHead {
            vtype: new.vtype,
            expires,
            flags,
            vlen,
        };
        self.link_new(it, key, h, &head, new.bytes);
        Ok(forcible)
    }

    /// `get` and `get_stale`: the value, its user flags, and whether it has expired.
    pub(crate) fn get(
        &mut self,
        key: &[u8],
        h: u64,
        stale: bool,
    ) -> Result<Option<(OwnedValue, u32, bool)>, Error> {
        if !stale {
            self.expire_lru(false);
        }
        let (it, expired) = match self.find(key, h) {
            Found::Missing => return Ok(None),
            Found::Expired(_) if !stale => return Ok(None),
            Found::Expired(it) => (it, true),
            Found::Live(it) => (it, false),
        };
        let vtype = self.r8(it, I_TYPE);
        if vtype == T_LIST {
            return Err(Error::ValueIsList);
        }
        let value = decode(vtype, self.value(it));
        Ok(Some((value, self.r32(it, I_FLAGS), expired)))
    }

    /// `incr`: adds `by` to a number; a missing or expired key is created as `init + by` with
    /// `init_ttl` when `init` is given. Returns the new value and `forcible`.
    pub(crate) fn incr(
        &mut self,
        key: &[u8],
        h: u64,
        by: f64,
        init: Option<f64>,
        init_ttl_ms: i64,
    ) -> Result<(f64, bool), Error> {
        self.expire_lru(false);
        let found = self.find(key, h);
        if let Found::Live(it) = found {
            if self.r8(it, I_TYPE) != T_NUMBER || self.r32(it, I_VLEN) != 8 {
                return Err(Error::NotANumber);
            }
            let at = it as usize + self.value_field(it) as usize;
            let mut n = [0; 8];
            n.copy_from_slice(&self.buf[at..at + 8]);
            let sum = f64::from_ne_bytes(n) + by;
            let _wip = InPlace::begin(self.wip, it);
            self.buf[at..at + 8].copy_from_slice(&sum.to_ne_bytes());
            return Ok((sum, false));
        }
        let Some(init) = init else {
            return Err(Error::NotFound);
        };
        let sum = by + init;
        let expires = self.expiry(init_ttl_ms);
        if let Found::Expired(it) = found {
            if self.r8(it, I_TYPE) != T_LIST && self.r32(it, I_VLEN) == 8 {
                let _wip = InPlace::begin(self.wip, it);
                self.w32(it, I_FLAGS, 0);
                self.w64(it, I_EXPIRES, expires);
                self.w8(it, I_TYPE, T_NUMBER);
                let at = it as usize + self.value_field(it) as usize;
                self.buf[at..at + 8].copy_from_slice(&sum.to_ne_bytes());
                return Ok((sum, false));
            }
            self.remove_item(it);
        }
        let (it, forcible) = self.alloc_item(I_DATA as usize + key.len() + 8, false)?;
        let head = ItemHead {
            vtype: T_NUMBER,
            expires,
            flags: 0,
            vlen: 8,
        };
        self.link_new(it, key, h, &head, &sum.to_ne_bytes());
        Ok((sum, forcible))
    }

    /// `lpush`/`rpush`: returns the new length. Lists never evict other items.
    pub(crate) fn push(
        &mut self,
        key: &[u8],
        h: u64,
        value: &Value<'_>,
        left: bool,
    ) -> Result<usize, Error> {
        let mut buf = [0; 8];
        let new = match encode(value, &mut buf) {
            Some(e) if e.vtype != T_BOOLEAN => e,
            _ => return Err(Error::BadValueType),
        };
        let vlen = u32::try_from(new.bytes.len()).map_err(|_| Error::NoMemory)?;
        self.expire_lru(false);
        let list = match self.find(key, h) {
            Found::Live(it) if self.r8(it, I_TYPE) != T_LIST => return Err(Error::ValueNotList),
            Found::Live(it) => Some(it),
            Found::Expired(it) if self.r8(it, I_TYPE) == T_LIST => {
                // An expired list is emptied and reused, and no longer expires.
                self.free_list_nodes(it);
                let area = self.value_field(it);
                self.w32(it, area, 0);
                self.w32(it, area + 4, 0);
                self.w32(it, I_VLEN, 0);
                self.w64(it, I_EXPIRES, 0);
                Some(it)
            }
            Found::Expired(it) => {
                self.remove_item(it);
                None
            }
            Found::Missing => None,
        };
        let it = match list {
            Some(it) => it,
            None => {
                let need = I_DATA as usize + key.len() + LIST_AREA as usize;
                let it = self.alloc(need, false).ok_or(Error::NoMemory)?;
                let head = ItemHead {
                    vtype: T_LIST,
                    expires: 0,
                    flags: 0,
                    vlen: 0,
                };
                self.link_new(it, key, h, &head, &[0; LIST_AREA as usize]);
                it
            }
        };
        let Some(node) = self.alloc(N_DATA as usize + new.bytes.len(), true) else {
            if self.r32(it, I_VLEN) == 0 {
                self.remove_item(it);
            }
            return Err(Error::NoMemory);
        };
        self.w32(node, N_VLEN, vlen);
        self.w8(node, N_TYPE, new.vtype);
        let at = node as usize + N_DATA as usize;
        self.buf[at..at + new.bytes.len()].copy_from_slice(new.bytes);
        let area = self.value_field(it);
        let (head_f, tail_f) = if left {
            (area, area + 4)
        } else {
            (area + 4, area)
        };
        // Pushing at the tail is pushing at the head of the reversed list.
        let (toward_end, away) = if left {
            (N_NEXT, N_PREV)
        } else {
            (N_PREV, N_NEXT)
        };
        let old = self.r32(it, head_f);
        self.w32(node, away, 0);
        self.w32(node, toward_end, old);
        if old != 0 {
            self.w32(old, away, node);
        } else {
            self.w32(it, tail_f, node);
        }
        self.w32(it, head_f, node);
        let len = self.r32(it, I_VLEN) + 1;
        self.w32(it, I_VLEN, len);
        let nodes = self.st(S_NODES) + 1;
        self.set_st(S_NODES, nodes);
        Ok(len as usize)
    }

    /// `lpop`/`rpop`: `None` when the key is missing or expired.
    pub(crate) fn pop(
        &mut self,
        key: &[u8],
        h: u64,
        left: bool,
    ) -> Result<Option<OwnedValue>, Error> {
        self.expire_lru(false);
        let it = match self.find(key, h) {
            Found::Live(it) => it,
            _ => return Ok(None),
        };
        if self.r8(it, I_TYPE) != T_LIST {
            return Err(Error::ValueNotList);
        }
        let area = self.value_field(it);
        let (end_f, other_f, inward, outward) = if left {
            (area, area + 4, N_NEXT, N_PREV)
        } else {
            (area + 4, area, N_PREV, N_NEXT)
        };
        let node = self.r32(it, end_f);
        if node == 0 {
            return Ok(None);
        }
        let start = node as usize + N_DATA as usize;
        let len = self.r32(node, N_VLEN) as usize;
        let value = decode(self.r8(node, N_TYPE), &self.buf[start..start + len]);
        let len = self.r32(it, I_VLEN);
        if len <= 1 {
            self.remove_item(it);
            return Ok(Some(value));
        }
        let next = self.r32(node, inward);
        self.w32(it, end_f, next);
        if next != 0 {
            self.w32(next, outward, 0);
        } else {
            self.w32(it, other_f, 0);
        }
        self.free(node);
        self.w32(it, I_VLEN, len - 1);
        let nodes = self.st(S_NODES) - 1;
        self.set_st(S_NODES, nodes);
        Ok(Some(value))
    }

    /// `llen`: 0 when the key is missing or expired.
    pub(crate) fn llen(&mut self, key: &[u8], h: u64) -> Result<usize, Error> {
        self.expire_lru(false);
        match self.find(key, h) {
            Found::Live(it) if self.r8(it, I_TYPE) != T_LIST => Err(Error::ValueNotList),
            Found::Live(it) => Ok(self.r32(it, I_VLEN) as usize),
            _ => Ok(0),
        }
    }

    /// `ttl`: remaining milliseconds (0 = never expires). Like OpenResty it peeks without
    /// the expiry check, so an expired item not yet removed reports a negative TTL (which
    /// lua-resty-mlcache relies on to tell stale values).
    pub(crate) fn ttl(&mut self, key: &[u8], h: u64) -> Result<i64, Error> {
        let it = self.lookup(key, h).ok_or(Error::NotFound)?;
        let expires = self.r64(it, I_EXPIRES);
        if expires == 0 {
            return Ok(0);
        }
        Ok(expires as i64 - self.now() as i64)
    }

    /// `expire`: sets a new TTL (0 = never) on a present key, expired or not (OpenResty
    /// peeks here too).
    pub(crate) fn set_expire(&mut self, key: &[u8], h: u64, ttl_ms: i64) -> Result<(), Error> {
        let it = self.lookup(key, h).ok_or(Error::NotFound)?;
        let expires = self.expiry(ttl_ms);
        let _wip = InPlace::begin(self.wip, it);
        self.w64(it, I_EXPIRES, expires);
        Ok(())
    }

    /// `flush_all`: marks every item expired (`get_stale` still sees them) and frees only a
    /// few; later stores reclaim the rest, as in OpenResty.
    pub(crate) fn flush_all(&mut self) {
        let mut it = self.st(S_LRU_HEAD);
        while it != 0 {
            self.w64(it, I_EXPIRES, EXPIRED_LONG_AGO);
            it = self.r32(it, I_NEXT);
        }
        self.expire_lru(true);
    }

    /// `flush_expired`: frees expired items from the LRU tail up, at most `max` (0 = all).
    pub(crate) fn flush_expired(&mut self, max: usize) -> usize {
        let now = self.now();
        let mut freed = 0;
        let mut it = self.st(S_LRU_TAIL);
        while it != 0 {
            let prev = self.r32(it, I_PREV);
            let expires = self.r64(it, I_EXPIRES);
            if expires != 0 && expires <= now {
                self.remove_item(it);
                freed += 1;
                if freed == max {
                    break;
                }
            }
            it = prev;
        }
        freed
    }

    /// `get_keys`: live keys from the least recently used up, at most `max` (0 = all).
    pub(crate) fn get_keys(&mut self, max: usize) -> Vec<Vec<u8>> {
        let mut keys = Vec::new();
        let mut it = self.st(S_LRU_TAIL);
        while it != 0 {
            if self.is_live(it) {
                keys.push(self.key(it).to_vec());
                if keys.len() == max {
                    break;
                }
            }
            it = self.r32(it, I_PREV);
        }
        keys
    }
}
