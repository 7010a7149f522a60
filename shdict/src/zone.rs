//! A zone: one named, fixed-size shared dictionary with `ngx.shared.DICT`'s methods.
//!
//! Every method takes the zone lock for one short, synchronous critical section that never
//! calls out. If the lock is found dirty (its last holder died or panicked mid-operation), the
//! new holder first recovers: it runs the consistency check; if the structure is sound it only
//! drops the item that was being rewritten in place (if any); otherwise it rebuilds the
//! indexes from the blocks (see `salvage`), and only if the blocks themselves are broken does
//! it empty the zone.

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::sync::atomic::Ordering;

use crate::arena::Arena;
use crate::error::{Error, Inconsistency, ZoneError};
use crate::hash::hash;
use crate::layout::{regions, MIN_BLOCK, S_FREE_BYTES, S_ITEMS, S_NODES};
use crate::lock;
use crate::ops::StoreKind;
use crate::shm::{Header, Mapping, HEADER_SIZE, MAGIC, VERSION};
use crate::value::{OwnedValue, Value};

/// Smallest zone, as OpenResty's `lua_shared_dict` ("the hard-coded minimum size is 8KB").
pub const MIN_ZONE_SIZE: usize = 8 * 1024;
/// Largest zone: offsets inside a zone are 32-bit.
pub const MAX_ZONE_SIZE: usize = u32::MAX as usize;
/// Longest key, as OpenResty.
pub const MAX_KEY_LEN: usize = 65535;

/// A snapshot of a zone's counters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stats {
    pub items: usize,
    pub list_nodes: usize,
    pub free_space: usize,
    pub capacity: usize,
    /// Times an operation found the zone dirty (a holder died mid-operation) and recovered.
    pub recoveries: u64,
    /// Times recovery found the structure broken and rebuilt it from the blocks.
    pub rebuilds: u64,
    /// Times recovery found even the blocks broken and emptied the zone.
    pub resets: u64,
}

/// One shared dictionary zone, mapped in this process.
pub struct Zone {
    name: String,
    map: Mapping,
    nbuckets: u32,
    seed: u64,
}

impl std::fmt::Debug for Zone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Zone")
            .field("name", &self.name)
            .field("capacity", &self.capacity())
            .finish()
    }
}

fn io_error(name: &str) -> impl FnOnce(std::io::Error) -> ZoneError + '_ {
    move |source| ZoneError::Io {
        name: name.to_owned(),
        source,
    }
}

/// Buckets for a zone of `size` bytes: about one per 256 bytes, a power of two.
fn buckets_for(size: usize) -> u32 {
    (size / 256).next_power_of_two().clamp(8, 1 << 24) as u32
}

fn check_key(key: &[u8]) -> Result<(), Error> {
    if key.is_empty() {
        Err(Error::EmptyKey)
    } else if key.len() > MAX_KEY_LEN {
        Err(Error::KeyTooLong)
    } else {
        Ok(())
    }
}

/// Seconds (float) to milliseconds, as OpenResty's `exptime * 1000` truncated to an integer;
/// negative or NaN is `err`.
fn ttl_ms(ttl: f64, err: Error) -> Result<i64, Error> {
    if ttl >= 0.0 {
        Ok((ttl * 1000.0) as i64)
    } else {
        Err(err)
    }
}

impl Zone {
    /// Creates an empty zone of exactly `size` bytes (the master does this before forking;
    /// workers inherit the mapping).
    pub fn create(name: &str, size: usize) -> Result<Zone, ZoneError> {
        check_spec(name, size)?;
        let map = Mapping::create(name, size).map_err(io_error(name))?;
        let nbuckets = buckets_for(size);
        let seed = RandomState::new().hash_one(name);
        let header = map.header();
        header.version.store(VERSION, Ordering::Relaxed);
        header.nbuckets.store(nbuckets, Ordering::Relaxed);
        header.size.store(size as u64, Ordering::Relaxed);
        header.seed.store(seed, Ordering::Relaxed);
        let zone = Zone {
            name: name.to_owned(),
            map,
            nbuckets,
            seed,
        };
        let mut guard = zone.map.lock();
        Arena::new(guard.data(), nbuckets, &zone.map.header().wip).init();
        guard.finish();
        // Published last: a zone without the magic was never completely set up.
        zone.map.header().magic.store(MAGIC, Ordering::Release);
        Ok(zone)
    }

    /// Maps a zone from an inherited fd (see [`Zone::inheritable_fd`]); the contents are kept.
    pub fn from_fd(name: &str, fd: OwnedFd) -> Result<Zone, ZoneError> {
        let not_a_zone = |reason| ZoneError::NotAZone {
            name: name.to_owned(),
            reason,
        };
        let map = Mapping::open(fd).map_err(io_error(name))?;
        let header = map.header();
        if header.magic.load(Ordering::Acquire) != MAGIC {
            return Err(not_a_zone("bad magic"));
        }
        if header.version.load(Ordering::Relaxed) != VERSION {
            return Err(not_a_zone("layout version differs"));
        }
        if header.size.load(Ordering::Relaxed) != map.len() as u64 {
            return Err(not_a_zone("size differs from the file size"));
        }
        let nbuckets = header.nbuckets.load(Ordering::Relaxed);
        let data_len = map.len() - HEADER_SIZE;
        if !nbuckets.is_power_of_two() || {
            let (_, start, end) = regions(data_len, nbuckets);
            start + MIN_BLOCK as usize > end
        } {
            return Err(not_a_zone("bad bucket count"));
        }
        let seed = header.seed.load(Ordering::Relaxed);
        Ok(Zone {
            name: name.to_owned(),
            map,
            nbuckets,
            seed,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The zone's memfd (close-on-exec).
    pub fn fd(&self) -> BorrowedFd<'_> {
        self.map.fd()
    }

    /// A duplicate of the zone's memfd without close-on-exec, for a child that will `exec`
    /// and call [`Zone::from_fd`].
    pub fn inheritable_fd(&self) -> std::io::Result<OwnedFd> {
        Ok(nix::unistd::dup(self.map.fd().as_fd())?)
    }

    /// Runs one operation under the zone lock, recovering first if the lock was dirty.
    fn with<R>(&self, op: impl FnOnce(&mut Arena<'_>) -> R) -> R {
        let mut guard = self.map.lock();
        let header = self.map.header();
        let was_dirty = guard.was_dirty();
        let mut arena = Arena::new(guard.data(), self.nbuckets, &header.wip);
        if was_dirty {
            self.recover(&mut arena, header);
        }
        let result = op(&mut arena);
        guard.finish();
        result
    }

    fn recover(&self, arena: &mut Arena<'_>, header: &Header) {
        header.recoveries.fetch_add(1, Ordering::Relaxed);
        let wip = header.wip.load(Ordering::Relaxed);
        if arena.verify(self.seed).is_ok() {
            if wip != 0 && arena.has_item(wip) {
                arena.remove_item(wip);
            }
        } else {
            header.rebuilds.fetch_add(1, Ordering::Relaxed);
            if arena.salvage(self.seed, wip).is_err() {
                header.resets.fetch_add(1, Ordering::Relaxed);
                arena.init();
            }
        }
        header.wip.store(0, Ordering::Relaxed);
    }

    /// `get`: the value and its user flags, or `None` if missing or expired.
    pub fn get(&self, key: &[u8]) -> Result<Option<(OwnedValue, u32)>, Error> {
        check_key(key)?;
        let h = hash(self.seed, key);
        let found = self.with(|a| a.get(key, h, false))?;
        Ok(found.map(|(value, flags, _)| (value, flags)))
    }

    /// `get_stale`: like `get`, but also returns expired items still present, with
    /// `stale = true`.
    pub fn get_stale(&self, key: &[u8]) -> Result<Option<(OwnedValue, u32, bool)>, Error> {
        check_key(key)?;
        let h = hash(self.seed, key);
        self.with(|a| a.get(key, h, true))
    }

    fn store(
        &self,
        kind: StoreKind,
        safe: bool,
        key: &[u8],
        value: Value<'_>,
        ttl: f64,
        flags: u32,
    ) -> Result<bool, Error> {
        check_key(key)?;
        if value == Value::Nil && kind != StoreKind::Set {
            return Err(Error::NilValue);
        }
        let ttl = ttl_ms(ttl, Error::BadExptime)?;
        let h = hash(self.seed, key);
        self.with(|a| a.store(kind, safe, key, h, &value, ttl, flags))
    }

    /// `set`: stores unconditionally, evicting least recently used items if needed. `ttl` is
    /// in seconds (0 = never expires); `Value::Nil` deletes. Returns `forcible`: whether live
    /// items were evicted.
    pub fn set(&self, key: &[u8], value: Value<'_>, ttl: f64, flags: u32) -> Result<bool, Error> {
        self.store(StoreKind::Set, false, key, value, ttl, flags)
    }

    /// `safe_set`: like `set`, but fails with "no memory" instead of evicting live items.
    pub fn safe_set(
        &self,
        key: &[u8],
        value: Value<'_>,
        ttl: f64,
        flags: u32,
    ) -> Result<bool, Error> {
        self.store(StoreKind::Set, true, key, value, ttl, flags)
    }

    /// `add`: stores only if the key is missing or expired ("exists" otherwise).
    pub fn add(&self, key: &[u8], value: Value<'_>, ttl: f64, flags: u32) -> Result<bool, Error> {
        self.store(StoreKind::Add, false, key, value, ttl, flags)
    }

    /// `safe_add`: `add` without evicting live items.
    pub fn safe_add(
        &self,
        key: &[u8],
        value: Value<'_>,
        ttl: f64,
        flags: u32,
    ) -> Result<bool, Error> {
        self.store(StoreKind::Add, true, key, value, ttl, flags)
    }

    /// `replace`: stores only if the key is present and live ("not found" otherwise).
    pub fn replace(
        &self,
        key: &[u8],
        value: Value<'_>,
        ttl: f64,
        flags: u32,
    ) -> Result<bool, Error> {
        self.store(StoreKind::Replace, false, key, value, ttl, flags)
    }

    /// `delete`: removes the key (no error if missing).
    pub fn delete(&self, key: &[u8]) -> Result<(), Error> {
        self.set(key, Value::Nil, 0.0, 0).map(drop)
    }

    /// `incr(key, by, init, init_ttl)`: adds `by` to a number. A missing or expired key is
    /// "not found" unless `init` is given, then it becomes `init + by` with `init_ttl` seconds
    /// to live (0 = never). Returns the new value and `forcible`.
    pub fn incr(
        &self,
        key: &[u8],
        by: f64,
        init: Option<f64>,
        init_ttl: f64,
    ) -> Result<(f64, bool), Error> {
        check_key(key)?;
        let init_ttl = ttl_ms(init_ttl, Error::BadInitTtl)?;
        if init.is_none() && init_ttl != 0 {
            return Err(Error::InitTtlWithoutInit);
        }
        let h = hash(self.seed, key);
        self.with(|a| a.incr(key, h, by, init, init_ttl))
    }

    /// `lpush`: inserts at the head of the list at `key` (created if missing); returns the
    /// new length. Only strings and numbers can be list elements.
    pub fn lpush(&self, key: &[u8], value: Value<'_>) -> Result<usize, Error> {
        self.push(key, value, true)
    }

    /// `rpush`: inserts at the tail.
    pub fn rpush(&self, key: &[u8], value: Value<'_>) -> Result<usize, Error> {
        self.push(key, value, false)
    }

    fn push(&self, key: &[u8], value: Value<'_>, left: bool) -> Result<usize, Error> {
        check_key(key)?;
        let h = hash(self.seed, key);
        self.with(|a| a.push(key, h, &value, left))
    }

    /// `lpop`: removes and returns the head element (`None` if the list is missing).
    pub fn lpop(&self, key: &[u8]) -> Result<Option<OwnedValue>, Error> {
        self.pop(key, true)
    }

    /// `rpop`: removes and returns the tail element.
    pub fn rpop(&self, key: &[u8]) -> Result<Option<OwnedValue>, Error> {
        self.pop(key, false)
    }

    fn pop(&self, key: &[u8], left: bool) -> Result<Option<OwnedValue>, Error> {
        check_key(key)?;
        let h = hash(self.seed, key);
        self.with(|a| a.pop(key, h, left))
    }

    /// `llen`: the list's length (0 if missing).
    pub fn llen(&self, key: &[u8]) -> Result<usize, Error> {
        check_key(key)?;
        let h = hash(self.seed, key);
        self.with(|a| a.llen(key, h))
    }

    /// `ttl`: remaining seconds (0 = never expires; negative for an expired item not yet
    /// removed), or "not found".
    pub fn ttl(&self, key: &[u8]) -> Result<f64, Error> {
        check_key(key)?;
        let h = hash(self.seed, key);
        let ms = self.with(|a| a.ttl(key, h))?;
        Ok(ms as f64 / 1000.0)
    }

    /// `expire`: sets the key's TTL in seconds (0 or less = never expires), or "not found".
    pub fn expire(&self, key: &[u8], ttl: f64) -> Result<(), Error> {
        check_key(key)?;
        let h = hash(self.seed, key);
        let ms = (ttl * 1000.0) as i64;
        self.with(|a| a.set_expire(key, h, ms))
    }

    /// `flush_all`: expires every item (memory is reclaimed lazily; see `flush_expired`).
    pub fn flush_all(&self) {
        self.with(|a| a.flush_all());
    }

    /// `flush_expired`: frees up to `max_count` expired items (0 = all); returns how many.
    pub fn flush_expired(&self, max_count: usize) -> usize {
        self.with(|a| a.flush_expired(max_count))
    }

    /// `get_keys`: up to `max_count` live keys (0 = all; OpenResty's Lua default is 1024),
    /// least recently used first.
    pub fn get_keys(&self, max_count: usize) -> Vec<Vec<u8>> {
        self.with(|a| a.get_keys(max_count))
    }

    /// `capacity`: the zone's size in bytes.
    pub fn capacity(&self) -> usize {
        self.map.len()
    }

    /// `free_space`: bytes in free blocks (fragmented free space counts too, so an item of this
    /// size may still not fit).
    pub fn free_space(&self) -> usize {
        self.with(|a| a.st64(S_FREE_BYTES) as usize)
    }

    pub fn stats(&self) -> Stats {
        let (items, list_nodes, free) =
            self.with(|a| (a.st(S_ITEMS), a.st(S_NODES), a.st64(S_FREE_BYTES)));
        let header = self.map.header();
        Stats {
            items: items as usize,
            list_nodes: list_nodes as usize,
            free_space: free as usize,
            capacity: self.capacity(),
            recoveries: header.recoveries.load(Ordering::Relaxed),
            rebuilds: header.rebuilds.load(Ordering::Relaxed),
            resets: header.resets.load(Ordering::Relaxed),
        }
    }

    /// Frees the zone lock if the (dead) process `pid` holds it; the master calls this for
    /// every worker it reaps (nginx's `ngx_shmtx_force_unlock`). The next operation repairs
    /// whatever that worker left half done.
    pub fn force_unlock(&self, pid: u32) -> bool {
        lock::force_unlock(&self.map.header().lock, pid)
    }

    /// The internal consistency check (after recovering a dirty zone, as any operation
    /// would): walks blocks, free lists, hash chains, the LRU list and lists.
    pub fn check(&self) -> Result<(), Inconsistency> {
        self.with(|a| a.verify(self.seed))
    }

    /// Test hook: runs `damage` under the lock and unlocks without clearing the dirty word,
    /// as a process that died there and was force-unlocked would leave the zone.
    #[cfg(test)]
    pub(crate) fn leave_dirty(&self, damage: impl FnOnce(&mut Arena<'_>)) {
        let mut guard = self.map.lock();
        damage(&mut Arena::new(
            guard.data(),
            self.nbuckets,
            &self.map.header().wip,
        ));
    }

    /// Test hook: takes the lock as an operation would, optionally breaks the structure the
    /// way a half-done operation could, and never returns (the test kills this process).
    #[cfg(test)]
    pub(crate) fn hold_lock_forever(&self, corrupt: bool) -> ! {
        let mut guard = self.map.lock();
        if corrupt {
            let mut arena = Arena::new(guard.data(), self.nbuckets, &self.map.header().wip);
            let items = arena.st(S_ITEMS);
            arena.set_st(S_ITEMS, items + 1);
        }
        loop {
            std::thread::park();
        }
    }

    /// Test hook: the pid holding the lock (0 = free).
    #[cfg(test)]
    pub(crate) fn lock_holder(&self) -> u32 {
        self.map.header().lock.load(Ordering::SeqCst)
    }

    #[cfg(test)]
    pub(crate) fn with_arena<R>(&self, op: impl FnOnce(&mut Arena<'_>) -> R) -> R {
        self.with(op)
    }
}

/// Validates a zone declaration.
pub(crate) fn check_spec(name: &str, size: usize) -> Result<(), ZoneError> {
    if name.is_empty() || name.contains('\0') {
        return Err(ZoneError::BadName {
            name: name.to_owned(),
        });
    }
    if size < MIN_ZONE_SIZE {
        return Err(ZoneError::TooSmall {
            name: name.to_owned(),
            size,
        });
    }
    if size > MAX_ZONE_SIZE {
        return Err(ZoneError::TooLarge {
            name: name.to_owned(),
            size,
        });
    }
    Ok(())
}
