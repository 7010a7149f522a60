//! Shared-memory dictionaries with OpenResty's `ngx.shared.DICT` semantics.
//!
//! The master creates every zone (`lua_shared_dict = name size, ...`) before forking; workers
//! inherit the `MAP_SHARED` memfd mappings, so all of them see the same items, and the master
//! keeps the zones while workers crash and restart. Inside a zone everything is linked by
//! offsets (a hash table with chained items, an LRU list, and a boundary-tag block allocator),
//! so a zone can also be mapped at another address from an inherited fd ([`Zone::from_fd`]).
//!
//! One lock per zone, holding the owner's pid: the master force-unlocks a reaped worker's pid,
//! a waiter steals the lock from a holder that no longer exists, and a dirty word makes the
//! next holder check (and if needed rebuild from the blocks) what a dead holder left half
//! done. [`Zone::check`] runs the same consistency check on demand.
//!
//! Only the `lock` and `shm` modules contain `unsafe` code.
#![deny(unsafe_code)]

mod arena;
mod check;
mod clock;
mod error;
mod hash;
mod items;
mod layout;
mod lock;
mod ops;
mod salvage;
mod shm;
mod value;
mod zone;
mod zoneset;

#[cfg(test)]
mod tests;

pub use error::{Error, Inconsistency, ZoneError};
pub use value::{OwnedValue, Value};
pub use zone::{Stats, Zone, MAX_KEY_LEN, MAX_ZONE_SIZE, MIN_ZONE_SIZE};
pub use zoneset::{Reconciled, ZoneSet};
