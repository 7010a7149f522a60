//! Recovery of a zone whose last lock holder died mid-operation (simulated in-process by
//! unlocking without clearing the dirty word, after leaving the state such a death leaves).

use std::sync::atomic::Ordering;

use super::zone;
use crate::layout::{I_DATA, I_HASH, I_NEXT, I_PREV, I_TYPE, N_PREV, S_ITEMS, S_LRU_HEAD, T_LIST};
use crate::{OwnedValue, Stats, Value, Zone};

fn counts(z: &Zone) -> (u64, u64, u64) {
    let Stats {
        recoveries,
        rebuilds,
        resets,
        ..
    } = z.stats();
    (recoveries, rebuilds, resets)
}

fn filled() -> Zone {
    let z = zone(64 * 1024);
    for i in 0..10 {
        z.set(format!("k{i}").as_bytes(), Value::Number(i.into()), 0.0, 0)
            .unwrap();
    }
    z.rpush(b"list", "a".into()).unwrap();
    z.rpush(b"list", "b".into()).unwrap();
    z
}

fn number(n: f64) -> Option<(OwnedValue, u32)> {
    Some((OwnedValue::Number(n), 0))
}

#[test]
fn a_clean_dirty_zone_keeps_everything() {
    let z = filled();
    z.leave_dirty(|_| {});
    assert_eq!(z.get(b"k1"), Ok(number(1.0)));
    assert_eq!(counts(&z), (1, 0, 0));
    z.check().unwrap();
}

#[test]
fn a_half_rewritten_item_is_dropped() {
    let z = zone(64 * 1024);
    z.set(b"a", "aaaa".into(), 0.0, 0).unwrap();
    z.set(b"b", "bbbb".into(), 0.0, 0).unwrap();
    z.leave_dirty(|arena| {
        // "b" is the LRU head; die halfway through rewriting its value in place.
        let it = arena.st(S_LRU_HEAD);
        assert_eq!(arena.key(it), b"b");
        arena.wip.store(it, Ordering::Relaxed);
        arena.w8(it, I_DATA + 1, b'X');
    });
    assert_eq!(z.get(b"b"), Ok(None));
    assert_eq!(
        z.get(b"a"),
        Ok(Some((OwnedValue::Str(b"aaaa".to_vec()), 0)))
    );
    assert_eq!(z.stats().items, 1);
    assert_eq!(counts(&z), (1, 0, 0));
    z.check().unwrap();
}

#[test]
fn broken_indexes_are_rebuilt_from_the_blocks() {
    let z = filled();
    z.leave_dirty(|arena| {
        let items = arena.st(S_ITEMS);
        arena.set_st(S_ITEMS, items + 5);
        // And a half-done LRU unlink of the head.
        let head = arena.st(S_LRU_HEAD);
        let next = arena.r32(head, I_NEXT);
        arena.w32(next, I_PREV, 0);
    });
    for i in 0..10 {
        assert_eq!(z.get(format!("k{i}").as_bytes()), Ok(number(i.into())));
    }
    assert_eq!(z.llen(b"list"), Ok(2));
    assert_eq!(counts(&z), (1, 1, 0));
    z.check().unwrap();
}

#[test]
fn an_item_allocated_but_not_written_is_freed() {
    let z = filled();
    let free = z.free_space();
    z.leave_dirty(|arena| {
        let it = arena.alloc_item(I_DATA as usize + 100, true).unwrap().0;
        // Key bytes written, type not yet: not an item.
        arena.w8(it, I_DATA, b'x');
    });
    assert_eq!(z.free_space(), free);
    assert_eq!(z.get(b"k3"), Ok(number(3.0)));
    assert_eq!(counts(&z), (1, 1, 0));
    z.check().unwrap();
}

#[test]
fn a_list_with_a_half_linked_node_is_dropped() {
    let z = filled();
    z.leave_dirty(|arena| {
        // The list was pushed last, so it is the LRU head.
        let list = arena.st(S_LRU_HEAD);
        assert_eq!(arena.r8(list, I_TYPE), T_LIST);
        let area = arena.value_field(list);
        let tail = arena.r32(list, area + 4);
        // A node whose back link was written before the tail update: the chain disagrees.
        arena.w32(tail, N_PREV, tail);
    });
    assert_eq!(z.llen(b"list"), Ok(0));
    assert_eq!(z.get(b"k9"), Ok(number(9.0)));
    assert_eq!(z.stats().list_nodes, 0);
    assert_eq!(counts(&z), (1, 1, 0));
    z.check().unwrap();
}

#[test]
fn a_broken_block_chain_empties_the_zone() {
    let z = filled();
    let empty = zone(64 * 1024).free_space();
    z.leave_dirty(|arena| {
        let head = arena.st(S_LRU_HEAD);
        // Garbage in a block header: the blocks no longer chain.
        arena.w32(head, 4, 3);
        arena.w32(head, I_HASH, 0);
    });
    assert_eq!(z.get(b"k1"), Ok(None));
    assert_eq!(z.free_space(), empty);
    assert_eq!(counts(&z), (1, 1, 1));
    z.set(b"k1", "again".into(), 0.0, 0).unwrap();
    z.check().unwrap();
}

#[test]
fn an_invalid_item_block_is_dropped() {
    let z = filled();
    z.leave_dirty(|arena| {
        let head = arena.st(S_LRU_HEAD);
        let next = arena.r32(head, I_NEXT);
        arena.w8(next, I_TYPE, 99);
        let items = arena.st(S_ITEMS);
        arena.set_st(S_ITEMS, items - 1);
    });
    assert_eq!(z.stats().items, 10);
    assert_eq!(counts(&z), (1, 1, 0));
    z.check().unwrap();
}

#[test]
fn a_panic_inside_an_operation_leaves_the_zone_for_recovery() {
    let z = filled();
    let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        z.with_arena(|_| panic!("boom"));
    }));
    assert!(caught.is_err());
    // The lock was released by unwinding, and the next operation recovers.
    assert_eq!(z.lock_holder(), 0);
    assert_eq!(z.get(b"k1"), Ok(number(1.0)));
    assert_eq!(counts(&z), (1, 0, 0));
}
