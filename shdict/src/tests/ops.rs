//! Every operation, its return values and error strings, in one process.

use std::collections::HashMap;
use std::time::Duration;

use super::{wait_for, zone, Rng};
use crate::{Error, OwnedValue, Value};

fn s(v: &str) -> OwnedValue {
    OwnedValue::Str(v.as_bytes().to_vec())
}

#[test]
fn set_and_get_each_type_with_flags() {
    let z = zone(64 * 1024);
    assert_eq!(z.set(b"s", Value::Str(b"a\0b"), 0.0, 0), Ok(false));
    assert_eq!(z.set(b"n", Value::Number(-1.5), 0.0, 7), Ok(false));
    assert_eq!(z.set(b"t", Value::Bool(true), 0.0, 0), Ok(false));
    assert_eq!(z.set(b"f", false.into(), 0.0, u32::MAX), Ok(false));
    assert_eq!(z.set(b"e", "".into(), 0.0, 0), Ok(false));
    assert_eq!(
        z.get(b"s"),
        Ok(Some((OwnedValue::Str(b"a\0b".to_vec()), 0)))
    );
    assert_eq!(z.get(b"n"), Ok(Some((OwnedValue::Number(-1.5), 7))));
    assert_eq!(z.get(b"t"), Ok(Some((OwnedValue::Bool(true), 0))));
    assert_eq!(z.get(b"f"), Ok(Some((OwnedValue::Bool(false), u32::MAX))));
    assert_eq!(z.get(b"e"), Ok(Some((s(""), 0))));
    assert_eq!(z.get(b"missing"), Ok(None));
    // Overwrite with a different size and type.
    z.set(b"n", "longer string value".into(), 0.0, 1).unwrap();
    assert_eq!(z.get(b"n"), Ok(Some((s("longer string value"), 1))));
    // Same size: rewritten in place.
    z.set(b"n", "LONGER STRING VALUE".into(), 0.0, 2).unwrap();
    assert_eq!(z.get(b"n"), Ok(Some((s("LONGER STRING VALUE"), 2))));
    assert_eq!(z.stats().items, 5);
    z.check().unwrap();
}

#[test]
fn key_limits_and_errors() {
    let z = zone(1 << 20);
    let longest = vec![b'k'; 65535];
    let too_long = vec![b'k'; 65536];
    assert_eq!(z.set(&longest, "v".into(), 0.0, 0), Ok(false));
    assert_eq!(z.get(&longest), Ok(Some((s("v"), 0))));
    for key in [&b""[..], &too_long[..]] {
        let err = if key.is_empty() {
            Error::EmptyKey
        } else {
            Error::KeyTooLong
        };
        assert_eq!(z.get(key), Err(err));
        assert_eq!(z.get_stale(key), Err(err));
        assert_eq!(z.set(key, "v".into(), 0.0, 0), Err(err));
        assert_eq!(z.incr(key, 1.0, None, 0.0), Err(err));
        assert_eq!(z.lpush(key, "v".into()), Err(err));
        assert_eq!(z.rpop(key), Err(err));
        assert_eq!(z.llen(key), Err(err));
        assert_eq!(z.ttl(key), Err(err));
        assert_eq!(z.expire(key, 1.0), Err(err));
        assert_eq!(z.delete(key), Err(err));
    }
    assert_eq!(Error::EmptyKey.to_string(), "empty key");
    assert_eq!(Error::KeyTooLong.to_string(), "key too long");
}

#[test]
fn values_larger_than_the_zone_are_no_memory() {
    let z = zone(16 * 1024);
    z.set(b"keep", "x".into(), 0.0, 0).unwrap();
    let big = vec![0u8; 16 * 1024];
    assert_eq!(
        z.set(b"big", Value::Str(&big), 0.0, 0),
        Err(Error::NoMemory)
    );
    assert_eq!(
        z.safe_set(b"big", Value::Str(&big), 0.0, 0),
        Err(Error::NoMemory)
    );
    assert_eq!(z.lpush(b"list", Value::Str(&big)), Err(Error::NoMemory));
    // Nothing was evicted for a value that could never fit, and no empty list was left.
    assert_eq!(z.get(b"keep"), Ok(Some((s("x"), 0))));
    assert_eq!(z.llen(b"list"), Ok(0));
    z.check().unwrap();
}

#[test]
fn add_replace_delete() {
    let z = zone(64 * 1024);
    assert_eq!(z.replace(b"k", "v".into(), 0.0, 0), Err(Error::NotFound));
    assert_eq!(z.add(b"k", "v".into(), 0.0, 0), Ok(false));
    assert_eq!(z.add(b"k", "w".into(), 0.0, 0), Err(Error::Exists));
    assert_eq!(z.safe_add(b"k", "w".into(), 0.0, 0), Err(Error::Exists));
    assert_eq!(z.replace(b"k", "w".into(), 0.0, 3), Ok(false));
    assert_eq!(z.get(b"k"), Ok(Some((s("w"), 3))));
    assert_eq!(z.add(b"k", Value::Nil, 0.0, 0), Err(Error::NilValue));
    assert_eq!(z.replace(b"k", Value::Nil, 0.0, 0), Err(Error::NilValue));
    assert_eq!(
        Error::NilValue.to_string(),
        "attempt to add or replace nil values"
    );
    assert_eq!(z.set(b"k", Value::Nil, 0.0, 0), Ok(false));
    assert_eq!(z.get(b"k"), Ok(None));
    assert_eq!(z.delete(b"k"), Ok(()));
    z.set(b"k", "v".into(), 0.0, 0).unwrap();
    z.delete(b"k").unwrap();
    assert_eq!(z.get(b"k"), Ok(None));
    assert_eq!(z.stats().items, 0);
}

#[test]
fn add_and_replace_see_expired_keys_as_missing() {
    let z = zone(64 * 1024);
    z.set(b"k", "v".into(), 0.001, 0).unwrap();
    assert!(wait_for(Duration::from_secs(2), || z.ttl(b"k").unwrap() < 0.0));
    assert_eq!(z.replace(b"k", "w".into(), 0.0, 0), Err(Error::NotFound));
    assert_eq!(z.add(b"k", "w".into(), 0.0, 0), Ok(false));
    assert_eq!(z.get(b"k"), Ok(Some((s("w"), 0))));
    assert_eq!(z.ttl(b"k"), Ok(0.0));
}

#[test]
fn incr() {
    let z = zone(64 * 1024);
    assert_eq!(z.incr(b"c", 1.0, None, 0.0), Err(Error::NotFound));
    assert_eq!(z.incr(b"c", 2.0, Some(10.0), 0.0), Ok((12.0, false)));
    assert_eq!(z.incr(b"c", -0.5, Some(100.0), 0.0), Ok((11.5, false)));
    assert_eq!(z.incr(b"c", 0.5, None, 0.0), Ok((12.0, false)));
    assert_eq!(z.get(b"c"), Ok(Some((OwnedValue::Number(12.0), 0))));
    z.set(b"s", "1".into(), 0.0, 0).unwrap();
    assert_eq!(z.incr(b"s", 1.0, Some(0.0), 0.0), Err(Error::NotANumber));
    z.set(b"b", true.into(), 0.0, 0).unwrap();
    assert_eq!(z.incr(b"b", 1.0, None, 0.0), Err(Error::NotANumber));
    assert_eq!(z.incr(b"c", 1.0, None, 5.0), Err(Error::InitTtlWithoutInit));
    assert_eq!(
        Error::InitTtlWithoutInit.to_string(),
        r#"must provide "init" when providing "init_ttl""#
    );
    assert_eq!(z.incr(b"c", 1.0, Some(0.0), -1.0), Err(Error::BadInitTtl));
    assert_eq!(
        z.incr(b"c", 1.0, Some(0.0), f64::NAN),
        Err(Error::BadInitTtl)
    );
    // init_ttl applies only when the key is created.
    assert_eq!(z.incr(b"t", 1.0, Some(0.0), 100.0), Ok((1.0, false)));
    let ttl = z.ttl(b"t").unwrap();
    assert!(ttl > 99.0 && ttl <= 100.0, "{ttl}");
    assert_eq!(z.incr(b"c", 1.0, Some(0.0), 100.0), Ok((13.0, false)));
    assert_eq!(z.ttl(b"c"), Ok(0.0));
    // An existing counter keeps its TTL and flags.
    z.set(b"f", Value::Number(1.0), 50.0, 9).unwrap();
    z.incr(b"f", 1.0, None, 0.0).unwrap();
    assert_eq!(z.get(b"f"), Ok(Some((OwnedValue::Number(2.0), 9))));
    assert!(z.ttl(b"f").unwrap() > 49.0);
    z.check().unwrap();
}

#[test]
fn incr_restarts_an_expired_counter() {
    let z = zone(64 * 1024);
    z.incr(b"c", 5.0, Some(0.0), 0.001).unwrap();
    z.set(b"s", "abcdefgh".into(), 0.001, 4).unwrap();
    assert!(wait_for(Duration::from_secs(2), || {
        z.ttl(b"c").unwrap() < 0.0 && z.ttl(b"s").unwrap() < 0.0
    }));
    assert_eq!(z.incr(b"c", 1.0, None, 0.0), Err(Error::NotFound));
    assert_eq!(z.incr(b"c", 1.0, Some(10.0), 0.0), Ok((11.0, false)));
    assert_eq!(z.ttl(b"c"), Ok(0.0));
    // An expired 8-byte string is reused as a number, flags reset.
    assert_eq!(z.incr(b"s", 1.0, Some(1.0), 0.0), Ok((2.0, false)));
    assert_eq!(z.get(b"s"), Ok(Some((OwnedValue::Number(2.0), 0))));
    z.check().unwrap();
}

#[test]
fn ttl_and_expire() {
    let z = zone(64 * 1024);
    assert_eq!(z.ttl(b"k"), Err(Error::NotFound));
    assert_eq!(z.expire(b"k", 1.0), Err(Error::NotFound));
    z.set(b"k", "v".into(), 0.0, 0).unwrap();
    assert_eq!(z.ttl(b"k"), Ok(0.0));
    z.expire(b"k", 10.0).unwrap();
    let ttl = z.ttl(b"k").unwrap();
    assert!(ttl > 9.0 && ttl <= 10.0, "{ttl}");
    z.expire(b"k", 0.0).unwrap();
    assert_eq!(z.ttl(b"k"), Ok(0.0));
    assert_eq!(z.set(b"k", "v".into(), -1.0, 0), Err(Error::BadExptime));
    assert_eq!(z.set(b"k", "v".into(), f64::NAN, 0), Err(Error::BadExptime));
    // A TTL under a millisecond truncates to 0: never expires (OpenResty's `exptime * 1000`).
    z.set(b"k", "v".into(), 0.0004, 0).unwrap();
    assert_eq!(z.ttl(b"k"), Ok(0.0));
}

#[test]
fn expiry_and_get_stale() {
    let z = zone(64 * 1024);
    z.set(b"k", "v".into(), 0.03, 5).unwrap();
    z.set(b"live", "v".into(), 0.0, 0).unwrap();
    assert_eq!(z.get(b"k"), Ok(Some((s("v"), 5))));
    assert_eq!(z.get_stale(b"k"), Ok(Some((s("v"), 5, false))));
    assert!(wait_for(Duration::from_secs(2), || z.ttl(b"k").unwrap() < 0.0));
    // "live" is the LRU tail now, so the expired item is still there for get_stale.
    z.get(b"k").unwrap();
    assert_eq!(z.get_stale(b"k"), Ok(Some((s("v"), 5, true))));
    assert_eq!(z.get(b"k"), Ok(None));
    assert_eq!(z.get_keys(0), vec![b"live".to_vec()]);
    assert_eq!(z.flush_expired(0), 1);
    assert_eq!(z.get_stale(b"k"), Ok(None));
}

#[test]
fn lru_eviction_reports_forcible() {
    let z = zone(8 * 1024);
    let value = [b'x'; 200];
    let mut first_forcible = None;
    for i in 0..100 {
        let key = format!("key{i}");
        let forcible = z.set(key.as_bytes(), Value::Str(&value), 0.0, 0).unwrap();
        if i > 0 {
            // Keep key0 recently used: it must survive the evictions.
            assert!(z.get(b"key0").unwrap().is_some(), "key0 evicted at {i}");
        }
        if forcible && first_forcible.is_none() {
            first_forcible = Some(i);
        }
    }
    let first = first_forcible.expect("a full zone must evict");
    assert!(first > 10, "evicted too early: {first}");
    assert_eq!(
        z.get(b"key1"),
        Ok(None),
        "the least recently used goes first"
    );
    assert!(z.get(b"key99").unwrap().is_some());
    assert!(z.stats().items < 40);
    z.check().unwrap();
}

#[test]
fn safe_variants_refuse_instead_of_evicting() {
    let z = zone(8 * 1024);
    let value = [b'x'; 200];
    let mut stored = 0;
    loop {
        let key = format!("key{stored}");
        match z.safe_set(key.as_bytes(), Value::Str(&value), 0.0, 0) {
            Ok(forcible) => assert!(!forcible),
            Err(e) => {
                assert_eq!(e, Error::NoMemory);
                assert_eq!(e.to_string(), "no memory");
                break;
            }
        }
        stored += 1;
    }
    assert!(stored > 10);
    assert_eq!(
        z.safe_add(b"another", Value::Str(&value), 0.0, 0),
        Err(Error::NoMemory)
    );
    for i in 0..stored {
        assert!(z.get(format!("key{i}").as_bytes()).unwrap().is_some());
    }
    // A plain set evicts and says so.
    assert_eq!(z.set(b"another", Value::Str(&value), 0.0, 0), Ok(true));
    assert_eq!(
        z.incr(b"counter", 1.0, Some(0.0), 0.0).map(|r| r.0),
        Ok(1.0)
    );
    z.check().unwrap();
}

#[test]
fn expired_items_at_the_tail_go_before_live_ones() {
    let z = zone(8 * 1024);
    let value = [b'x'; 200];
    let mut n = 0;
    while z
        .safe_set(format!("old{n}").as_bytes(), Value::Str(&value), 0.05, 0)
        .is_ok()
    {
        n += 1;
    }
    let last = format!("old{}", n - 1);
    assert!(wait_for(Duration::from_secs(2), || z
        .ttl(last.as_bytes())
        .unwrap()
        < 0.0));
    // Each store drops up to two expired items from the tail first: no live item is evicted.
    for i in 0..n / 2 {
        assert_eq!(
            z.set(format!("new{i}").as_bytes(), Value::Str(&value), 0.0, 0),
            Ok(false)
        );
    }
    z.check().unwrap();
}

#[test]
fn lists() {
    let z = zone(64 * 1024);
    assert_eq!(z.llen(b"l"), Ok(0));
    assert_eq!(z.lpop(b"l"), Ok(None));
    assert_eq!(z.rpush(b"l", "b".into()), Ok(1));
    assert_eq!(z.lpush(b"l", "a".into()), Ok(2));
    assert_eq!(z.rpush(b"l", Value::Number(3.0)), Ok(3));
    assert_eq!(z.llen(b"l"), Ok(3));
    assert_eq!(z.get(b"l"), Err(Error::ValueIsList));
    assert_eq!(z.get_stale(b"l"), Err(Error::ValueIsList));
    assert_eq!(Error::ValueIsList.to_string(), "value is a list");
    assert_eq!(z.incr(b"l", 1.0, None, 0.0), Err(Error::NotANumber));
    assert_eq!(z.lpush(b"l", true.into()), Err(Error::BadValueType));
    assert_eq!(z.lpush(b"l", Value::Nil), Err(Error::BadValueType));
    assert_eq!(Error::BadValueType.to_string(), "bad value type");
    z.check().unwrap();
    assert_eq!(z.rpop(b"l"), Ok(Some(OwnedValue::Number(3.0))));
    assert_eq!(z.lpop(b"l"), Ok(Some(s("a"))));
    assert_eq!(z.rpop(b"l"), Ok(Some(s("b"))));
    // The emptied list is gone.
    assert_eq!(z.rpop(b"l"), Ok(None));
    assert_eq!(z.stats().items, 0);
    assert_eq!(z.stats().list_nodes, 0);
    // Mixing lists and plain values.
    z.set(b"s", "v".into(), 0.0, 0).unwrap();
    assert_eq!(z.lpush(b"s", "x".into()), Err(Error::ValueNotList));
    assert_eq!(z.rpop(b"s"), Err(Error::ValueNotList));
    assert_eq!(z.llen(b"s"), Err(Error::ValueNotList));
    assert_eq!(Error::ValueNotList.to_string(), "value not a list");
    // A store over a list replaces it.
    z.rpush(b"l", "x".into()).unwrap();
    z.rpush(b"l", "y".into()).unwrap();
    z.set(b"l", "plain".into(), 0.0, 0).unwrap();
    assert_eq!(z.get(b"l"), Ok(Some((s("plain"), 0))));
    assert_eq!(z.stats().list_nodes, 0);
    z.check().unwrap();
}

#[test]
fn expired_lists_are_restarted_by_push() {
    let z = zone(64 * 1024);
    z.rpush(b"l", "old".into()).unwrap();
    z.rpush(b"l", "older".into()).unwrap();
    z.expire(b"l", 0.001).unwrap();
    assert!(wait_for(Duration::from_secs(2), || z.ttl(b"l").unwrap() < 0.0));
    assert_eq!(z.llen(b"l"), Ok(0));
    assert_eq!(z.rpush(b"l", "new".into()), Ok(1));
    assert_eq!(z.ttl(b"l"), Ok(0.0));
    assert_eq!(z.lpop(b"l"), Ok(Some(s("new"))));
    // An expired plain value is replaced by a list.
    z.set(b"p", "v".into(), 0.001, 0).unwrap();
    assert!(wait_for(Duration::from_secs(2), || z.ttl(b"p").unwrap() < 0.0));
    assert_eq!(z.lpush(b"p", "x".into()), Ok(1));
    z.check().unwrap();
}

#[test]
fn get_keys_flush_all_flush_expired() {
    let z = zone(64 * 1024);
    let keys: Vec<Vec<u8>> = (0..10).map(|i| format!("k{i}").into_bytes()).collect();
    for k in &keys {
        z.set(k, "v".into(), 0.0, 0).unwrap();
    }
    z.get(b"k0").unwrap();
    // Least recently used first.
    let mut lru_order = keys[1..].to_vec();
    lru_order.push(keys[0].clone());
    assert_eq!(z.get_keys(0), lru_order);
    assert_eq!(z.get_keys(2), lru_order[..2]);
    let used = z.capacity() - z.free_space();
    z.flush_all();
    assert!(z.get_keys(0).is_empty());
    assert_eq!(z.get(b"k5"), Ok(None));
    // flush_all frees only a few items; the rest stay until flushed or overwritten.
    assert_eq!(z.get_stale(b"k0"), Ok(Some((s("v"), 0, true))));
    assert!(z.capacity() - z.free_space() < used);
    let left = z.stats().items;
    assert!(left > 0);
    assert_eq!(z.flush_expired(1), 1);
    assert_eq!(z.flush_expired(0), left - 1);
    assert_eq!(z.flush_expired(0), 0);
    assert_eq!(z.stats().items, 0);
    z.check().unwrap();
}

#[test]
fn capacity_and_free_space() {
    let z = zone(32 * 1024);
    assert_eq!(z.capacity(), 32 * 1024);
    let empty = z.free_space();
    assert!(empty > 28 * 1024 && empty < 32 * 1024, "{empty}");
    z.set(b"k", Value::Str(&[1; 1000]), 0.0, 0).unwrap();
    let after = z.free_space();
    assert!(
        empty - after >= 1000 && empty - after < 1100,
        "{}",
        empty - after
    );
    z.delete(b"k").unwrap();
    assert_eq!(z.free_space(), empty);
}

#[test]
fn check_reports_damage() {
    let z = zone(64 * 1024);
    for i in 0..20 {
        z.set(format!("k{i}").as_bytes(), "v".into(), 0.0, 0)
            .unwrap();
    }
    z.check().unwrap();
    // Break an LRU back link behind the zone's back (without marking it dirty).
    z.with_arena(|a| {
        let head = a.st(crate::layout::S_LRU_HEAD);
        let second = a.r32(head, crate::layout::I_NEXT);
        a.w32(second, crate::layout::I_PREV, 0);
    });
    let err = z.check().unwrap_err();
    assert!(err.to_string().contains("bad prev link"), "{err}");
}

/// What the model holds for a key.
enum Entry {
    Plain(OwnedValue, u32),
    List(Vec<OwnedValue>),
}

/// Random operations against a model (large zone: no eviction, no TTLs) with a check now
/// and then.
#[test]
fn random_operations_match_a_model() {
    let z = zone(4 << 20);
    let mut model: HashMap<Vec<u8>, Entry> = HashMap::new();
    let mut rng = Rng::new(0x5eed);
    for step in 0..60_000 {
        let key = format!("key{}", rng.below(300)).into_bytes();
        let len = rng.below(300) as usize;
        let text = vec![b'a' + (step % 26) as u8; len];
        match rng.below(8) {
            0 | 1 => {
                let flags = rng.below(3) as u32;
                let v = if len.is_multiple_of(3) {
                    OwnedValue::Number(len as f64)
                } else {
                    OwnedValue::Str(text.clone())
                };
                assert_eq!(z.set(&key, v.as_value(), 0.0, flags), Ok(false));
                model.insert(key, Entry::Plain(v, flags));
            }
            2 => {
                let got = z.get(&key);
                match model.get(&key) {
                    None => assert_eq!(got, Ok(None)),
                    Some(Entry::Plain(v, f)) => assert_eq!(got, Ok(Some((v.clone(), *f)))),
                    Some(Entry::List(_)) => assert_eq!(got, Err(Error::ValueIsList)),
                }
            }
            3 => {
                let got = z.incr(&key, 1.0, Some(0.0), 0.0);
                match model.get_mut(&key) {
                    None => {
                        assert_eq!(got, Ok((1.0, false)));
                        model.insert(key, Entry::Plain(OwnedValue::Number(1.0), 0));
                    }
                    Some(Entry::Plain(OwnedValue::Number(n), _)) => {
                        *n += 1.0;
                        assert_eq!(got, Ok((*n, false)));
                    }
                    Some(_) => assert_eq!(got, Err(Error::NotANumber)),
                }
            }
            4 => {
                z.delete(&key).unwrap();
                model.remove(&key);
            }
            5 | 6 => {
                let left = rng.below(2) == 0;
                let v = OwnedValue::Str(text.clone());
                let got = if left {
                    z.lpush(&key, v.as_value())
                } else {
                    z.rpush(&key, v.as_value())
                };
                match model.entry(key).or_insert_with(|| Entry::List(Vec::new())) {
                    Entry::List(list) => {
                        if left {
                            list.insert(0, v);
                        } else {
                            list.push(v);
                        }
                        assert_eq!(got, Ok(list.len()));
                    }
                    Entry::Plain(..) => assert_eq!(got, Err(Error::ValueNotList)),
                }
            }
            _ => {
                let left = rng.below(2) == 0;
                let got = if left { z.lpop(&key) } else { z.rpop(&key) };
                match model.get_mut(&key) {
                    None => assert_eq!(got, Ok(None)),
                    Some(Entry::Plain(..)) => assert_eq!(got, Err(Error::ValueNotList)),
                    Some(Entry::List(list)) => {
                        let v = if left {
                            list.remove(0)
                        } else {
                            list.pop().unwrap()
                        };
                        assert_eq!(got, Ok(Some(v)));
                        if list.is_empty() {
                            model.remove(&key);
                        }
                    }
                }
            }
        }
        if step % 5_000 == 0 {
            z.check().unwrap();
            assert_eq!(z.stats().items, model.len());
        }
    }
    z.check().unwrap();
    let mut keys = z.get_keys(0);
    keys.sort();
    let mut expected: Vec<_> = model.keys().cloned().collect();
    expected.sort();
    assert_eq!(keys, expected);
}

/// Random operations on a small zone, with TTLs and evictions, checked often.
#[test]
fn random_operations_under_memory_pressure_stay_consistent() {
    let z = zone(16 * 1024);
    let mut rng = Rng::new(77);
    let mut refused = 0;
    for step in 0..40_000 {
        let key = format!("k{}", rng.below(200)).into_bytes();
        let value = vec![b'v'; rng.below(700) as usize];
        let ttl = if rng.below(4) == 0 { 0.001 } else { 0.0 };
        let result = match rng.below(9) {
            0 | 1 => z.set(&key, Value::Str(&value), ttl, 0).map(drop),
            2 => z.safe_set(&key, Value::Str(&value), ttl, 0).map(drop),
            3 => z.incr(&key, 1.0, Some(0.0), ttl).map(drop),
            4 => z
                .rpush(&key, Value::Str(&value[..value.len() / 4]))
                .map(drop),
            5 => z.lpop(&key).map(drop),
            6 => z.get(&key).map(drop),
            7 => z.add(&key, Value::Number(1.0), ttl, 0).map(drop),
            _ => {
                z.flush_expired(3);
                Ok(())
            }
        };
        match result {
            Ok(()) => {}
            Err(Error::NoMemory) => refused += 1,
            Err(Error::NotANumber | Error::ValueNotList | Error::ValueIsList | Error::Exists) => {}
            Err(e) => panic!("unexpected {e}"),
        }
        if step % 500 == 0 {
            z.check().unwrap_or_else(|e| panic!("step {step}: {e}"));
        }
    }
    z.check().unwrap();
    assert!(refused > 0, "the zone never filled up");
}
