//! Several threads of one process on one zone.

use std::sync::Arc;
use std::thread;

use super::{zone, Rng};
use crate::{OwnedValue, Value};

#[test]
fn incr_is_atomic_across_threads() {
    let z = Arc::new(zone(64 * 1024));
    let (threads, per_thread) = (4, 20_000);
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let z = z.clone();
            thread::spawn(move || {
                for _ in 0..per_thread {
                    z.incr(b"counter", 1.0, Some(0.0), 0.0).unwrap();
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    assert_eq!(
        z.get(b"counter"),
        Ok(Some((
            OwnedValue::Number(f64::from(threads * per_thread)),
            0
        )))
    );
}

#[test]
fn mixed_operations_from_threads_keep_the_zone_consistent() {
    let z = Arc::new(zone(32 * 1024));
    let handles: Vec<_> = (0..4)
        .map(|t| {
            let z = z.clone();
            thread::spawn(move || {
                let mut rng = Rng::new(t + 1);
                for _ in 0..20_000 {
                    let key = format!("k{}", rng.below(100)).into_bytes();
                    let value = vec![b'x'; rng.below(500) as usize];
                    let _ = match rng.below(5) {
                        0 => z.set(&key, Value::Str(&value), 0.0, 0).map(drop),
                        1 => z.incr(&key, 1.0, Some(0.0), 0.0).map(drop),
                        2 => z
                            .rpush(&key, Value::Str(&value[..10.min(value.len())]))
                            .map(drop),
                        3 => z.lpop(&key).map(drop),
                        _ => z.delete(&key),
                    };
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    z.check().unwrap();
    assert_eq!(z.stats().recoveries, 0);
}
