//! The shared mapping of one zone: a sealed memfd mapped `MAP_SHARED` (never `map_anon`, which
//! is private after fork), a small header of atomics at offset 0, and the data region behind
//! it, which is only handed out while the zone lock is held.
#![allow(unsafe_code)]

use std::ffi::CString;
use std::fs::File;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::sync::atomic::{compiler_fence, AtomicU32, AtomicU64, Ordering};

use memmap2::{MmapOptions, MmapRaw};
use nix::fcntl::{fcntl, FcntlArg, SealFlag};
use nix::sys::memfd::{memfd_create, MFdFlags};

use crate::lock;

/// Bytes reserved at the start of the zone for [`Header`].
pub(crate) const HEADER_SIZE: usize = 128;

/// "SLUICESD" — a zone whose header does not carry it was never (fully) initialised.
pub(crate) const MAGIC: u64 = u64::from_be_bytes(*b"SLUICESD");
/// Bumped whenever the layout of the zone changes.
pub(crate) const VERSION: u32 = 1;

/// The zone header. Every field is atomic because other processes read it concurrently; the
/// layout fields are written once, before `magic`, and never change afterwards.
#[repr(C)]
pub(crate) struct Header {
    pub magic: AtomicU64,
    pub version: AtomicU32,
    pub nbuckets: AtomicU32,
    pub size: AtomicU64,
    pub seed: AtomicU64,
    _layout_pad: [u64; 4],
    /// The lock word: holder's pid or 0.
    pub lock: AtomicU32,
    /// How many processes sleep on the lock word (the unlocker skips the futex wake if none).
    pub waiters: AtomicU32,
    /// Set while the lock is held and a mutation may be in progress; a holder that finds it
    /// set knows the previous one died mid-operation.
    pub dirty: AtomicU32,
    /// The item whose payload is being rewritten in place (0 = none): after a crash it may be
    /// half-written, so recovery drops it.
    pub wip: AtomicU32,
    /// Times a holder found `dirty` set.
    pub recoveries: AtomicU64,
    /// Times recovery found the structure broken and rebuilt it from the blocks.
    pub rebuilds: AtomicU64,
    /// Times recovery found even the blocks broken and emptied the zone.
    pub resets: AtomicU64,
}

const _: () = assert!(std::mem::size_of::<Header>() <= HEADER_SIZE);
const _: () = assert!(std::mem::align_of::<Header>() <= 4096);

/// One mapped zone.
pub(crate) struct Mapping {
    map: MmapRaw,
    file: File,
}

impl Mapping {
    /// Creates a memfd of exactly `size` bytes, seals its size, and maps it shared. The
    /// contents are zero; the caller initialises the header.
    pub(crate) fn create(name: &str, size: usize) -> std::io::Result<Mapping> {
        let cname = CString::new(format!("sluice-shdict:{name}"))
            .map_err(|_| std::io::Error::other("zone name contains a NUL byte"))?;
        let fd = memfd_create(
            cname.as_c_str(),
            MFdFlags::MFD_CLOEXEC | MFdFlags::MFD_ALLOW_SEALING,
        )?;
        let file = File::from(fd);
        file.set_len(size as u64)?;
        // Nobody may resize the zone under the mappings of other processes (SIGBUS).
        fcntl(
            &file,
            FcntlArg::F_ADD_SEALS(
                SealFlag::F_SEAL_SHRINK | SealFlag::F_SEAL_GROW | SealFlag::F_SEAL_SEAL,
            ),
        )?;
        Self::map(file, size)
    }

    /// Maps an inherited zone fd (its size is the file size).
    pub(crate) fn open(fd: OwnedFd) -> std::io::Result<Mapping> {
        let file = File::from(fd);
        let size = usize::try_from(file.metadata()?.len())
            .map_err(|_| std::io::Error::other("zone file too large"))?;
        if size < HEADER_SIZE {
            return Err(std::io::Error::other("file is smaller than a zone header"));
        }
        Self::map(file, size)
    }

    fn map(file: File, size: usize) -> std::io::Result<Mapping> {
        // map_raw maps MAP_SHARED: writes are visible to every process mapping the file.
        let map = MmapOptions::new().len(size).map_raw(&file)?;
        Ok(Mapping { map, file })
    }

    pub(crate) fn len(&self) -> usize {
        self.map.len()
    }

    pub(crate) fn fd(&self) -> BorrowedFd<'_> {
        self.file.as_fd()
    }

    pub(crate) fn header(&self) -> &Header {
        // SAFETY: the mapping is page-aligned and at least HEADER_SIZE bytes (checked in
        // `open`, and zones are created larger), so it holds a suitably aligned Header. Every
        // field is an atomic or padding, valid for any bit pattern, and shared access to
        // atomics from many threads/processes is what they are for. The mapping lives as long
        // as `self`.
        unsafe { &*(self.map.as_ptr() as *const Header) }
    }

    /// Takes the zone lock and returns the guard that exposes the data region.
    pub(crate) fn lock(&self) -> Locked<'_> {
        let header = self.header();
        lock::acquire(&header.lock, &header.waiters);
        let was_dirty = header.dirty.load(Ordering::Relaxed) != 0;
        header.dirty.store(1, Ordering::Relaxed);
        // Keep the compiler from sinking the dirty store below the mutations that follow: a
        // process killed mid-operation must leave `dirty` set.
        compiler_fence(Ordering::SeqCst);
        Locked {
            map: self,
            was_dirty,
        }
    }
}

/// Proof that this thread holds the zone lock. Dropping it unlocks; only [`Locked::finish`]
/// clears the dirty word, so an operation that panics leaves the zone marked for recovery.
pub(crate) struct Locked<'a> {
    map: &'a Mapping,
    was_dirty: bool,
}

impl Locked<'_> {
    pub(crate) fn header(&self) -> &Header {
        self.map.header()
    }

    /// Whether the previous holder died (or panicked) before finishing its operation.
    pub(crate) fn was_dirty(&self) -> bool {
        self.was_dirty
    }

    /// The data region (everything after the header).
    pub(crate) fn data(&mut self) -> &mut [u8] {
        let len = self.map.len() - HEADER_SIZE;
        // SAFETY: the region [HEADER_SIZE, len) is inside the live mapping and disjoint from the
        // header atomics. Every process and thread touches it only while holding the zone lock,
        // which this guard proves we hold, and the returned borrow is tied to `&mut self`, so
        // no second reference exists in this process while it lives.
        unsafe { std::slice::from_raw_parts_mut(self.map.map.as_mut_ptr().add(HEADER_SIZE), len) }
    }

    /// Marks the operation complete (clears `dirty`) and unlocks.
    pub(crate) fn finish(self) {
        compiler_fence(Ordering::SeqCst);
        self.header().dirty.store(0, Ordering::Relaxed);
    }
}

impl Drop for Locked<'_> {
    fn drop(&mut self) {
        let header = self.map.header();
        lock::release(&header.lock, &header.waiters);
    }
}
