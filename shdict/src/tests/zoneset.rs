//! The master's zone set: creation and reconciliation on reload.

use crate::{OwnedValue, ZoneError, ZoneSet};

#[test]
fn create_validates_declarations() {
    assert!(matches!(
        ZoneSet::create(&[("a", 8 * 1024), ("a", 16 * 1024)]),
        Err(ZoneError::Duplicate { .. })
    ));
    let small = ZoneSet::create(&[("a", 4096)]).unwrap_err();
    assert!(matches!(small, ZoneError::TooSmall { .. }));
    assert_eq!(
        small.to_string(),
        "lua_shared_dict \"a\" is too small (4096 bytes, the minimum is 8k)"
    );
    assert!(matches!(
        ZoneSet::create(&[("", 8192)]),
        Err(ZoneError::BadName { .. })
    ));
    assert!(matches!(
        ZoneSet::create(&[("a", 1usize << 33)]),
        Err(ZoneError::TooLarge { .. })
    ));
    let set = ZoneSet::create(&[("kong", 64 * 1024), ("kong_locks", 8 * 1024)]).unwrap();
    assert_eq!(
        set.iter().map(|z| z.name()).collect::<Vec<_>>(),
        ["kong", "kong_locks"]
    );
    assert_eq!(set.get("kong_locks").unwrap().capacity(), 8 * 1024);
}

#[test]
fn reconcile_keeps_unchanged_zones_only() {
    let mut set =
        ZoneSet::create(&[("same", 16 * 1024), ("resized", 16 * 1024), ("gone", 8192)]).unwrap();
    for zone in set.iter() {
        zone.set(b"k", "v".into(), 0.0, 0).unwrap();
    }
    let kept = set.get("same").unwrap().clone();
    let report = set
        .reconcile(&[("same", 16 * 1024), ("resized", 32 * 1024), ("new", 8192)])
        .unwrap();
    assert_eq!(report.kept, ["same"]);
    assert_eq!(report.created, ["resized", "new"]);
    assert_eq!(report.dropped, ["gone"]);
    let v = Some((OwnedValue::Str(b"v".to_vec()), 0));
    assert_eq!(set.get("same").unwrap().get(b"k"), Ok(v.clone()));
    assert!(std::sync::Arc::ptr_eq(set.get("same").unwrap(), &kept));
    assert_eq!(set.get("resized").unwrap().get(b"k"), Ok(None));
    assert_eq!(set.get("new").unwrap().get(b"k"), Ok(None));
    assert!(set.get("gone").is_none());
    // A failed reconcile changes nothing.
    assert!(set.reconcile(&[("same", 16 * 1024), ("bad", 10)]).is_err());
    assert_eq!(set.iter().count(), 3);
    assert_eq!(set.get("same").unwrap().get(b"k"), Ok(v));
}

#[test]
fn force_unlock_counts_held_locks() {
    let set = ZoneSet::create(&[("a", 8192), ("b", 8192)]).unwrap();
    // No zone is held by a process that does not exist.
    assert_eq!(set.force_unlock(1 << 23), 0);
}

#[test]
fn from_fd_rejects_files_that_are_not_zones() {
    use std::os::fd::OwnedFd;
    let path = std::env::temp_dir().join(format!("sluice-shdict-notazone-{}", std::process::id()));
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(&path)
        .unwrap();
    std::fs::remove_file(&path).unwrap();
    file.set_len(16 * 1024).unwrap();
    let fd = OwnedFd::from(file.try_clone().unwrap());
    let err = crate::Zone::from_fd("x", fd).unwrap_err();
    assert!(
        matches!(
            err,
            ZoneError::NotAZone {
                reason: "bad magic",
                ..
            }
        ),
        "{err}"
    );
    file.set_len(10).unwrap();
    let err = crate::Zone::from_fd("x", OwnedFd::from(file)).unwrap_err();
    assert!(matches!(err, ZoneError::Io { .. }), "{err}");
}

#[test]
fn from_fd_maps_the_same_zone() {
    let set = ZoneSet::create(&[("a", 16 * 1024)]).unwrap();
    let zone = set.get("a").unwrap();
    zone.set(b"k", "v".into(), 0.0, 0).unwrap();
    let again = crate::Zone::from_fd("a", zone.inheritable_fd().unwrap()).unwrap();
    assert_eq!(
        again.get(b"k"),
        Ok(Some((OwnedValue::Str(b"v".to_vec()), 0)))
    );
    again.set(b"k2", "w".into(), 0.0, 0).unwrap();
    assert_eq!(
        zone.get(b"k2"),
        Ok(Some((OwnedValue::Str(b"w".to_vec()), 0)))
    );
    assert_eq!(again.capacity(), zone.capacity());
}
