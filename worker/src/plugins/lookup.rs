//! Which instance of a plugin applies to a request: Kong's precedence, most specific first, with
//! consumer groups (Kong Enterprise's 12 levels), ignoring the dimensions a plugin's schema forbids.

use std::collections::HashMap;

use super::{Handler, Instance};

/// What is known about the request when a plugin is resolved; ids borrowed from the gateway.
#[derive(Debug, Default, Clone)]
pub struct Scope<'a> {
    pub route: Option<&'a str>,
    pub service: Option<&'a str>,
    pub consumer: Option<String>,
    /// The consumer's groups, by group name (when several match, the first name wins).
    pub groups: &'a [String],
}

type Key = (
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
);

/// One plugin's instances, by `(route, service, consumer, consumer_group)`, and the set of key
/// shapes (which of the four are given) in use: a precedence level whose shape no instance has
/// is skipped without building its key. The global instance is kept aside, so a global plugin
/// costs no lookup at all.
#[derive(Default)]
pub struct Lookup {
    instances: HashMap<Key, usize>,
    shapes: u16,
    global: Option<usize>,
}

/// The bit of a key shape in [`Lookup::shapes`].
fn shape(r: bool, s: bool, c: bool, g: bool) -> u16 {
    1 << (usize::from(r) | usize::from(s) << 1 | usize::from(c) << 2 | usize::from(g) << 3)
}

impl Lookup {
    pub fn build(handlers: &[Handler], instances: &[Instance]) -> Vec<Lookup> {
        let mut lookups: Vec<Lookup> = handlers.iter().map(|_| Lookup::default()).collect();
        for (i, inst) in instances.iter().enumerate() {
            let key = (
                inst.route.clone(),
                inst.service.clone(),
                inst.consumer.clone(),
                inst.consumer_group.clone(),
            );
            let lookup = &mut lookups[inst.handler];
            lookup.shapes |= shape(
                key.0.is_some(),
                key.1.is_some(),
                key.2.is_some(),
                key.3.is_some(),
            );
            let first = *lookup.instances.entry(key.clone()).or_insert(i);
            if key == Key::default() {
                lookup.global = Some(first);
            }
        }
        lookups
    }

    pub fn resolve<'a>(&self, handler: &Handler, scope: &'a Scope) -> Option<usize> {
        if self.instances.is_empty() {
            return None;
        }
        let pick = |on: bool, v: Option<&'a str>| if on { v } else { None };
        let r = pick(!handler.no_route, scope.route);
        let s = pick(!handler.no_service, scope.service);
        let c = pick(!handler.no_consumer, scope.consumer.as_deref());
        let groups: &[String] = if handler.no_consumer_group {
            &[]
        } else {
            scope.groups
        };
        type Part<'a> = Option<&'a str>;
        let get = |r: Part, s: Part, c: Part, g: Part| {
            if self.shapes & shape(r.is_some(), s.is_some(), c.is_some(), g.is_some()) == 0 {
                return None;
            }
            if (r, s, c, g) == (None, None, None, None) {
                return self.global;
            }
            let owned = |p: Part| p.map(str::to_owned);
            let key = (owned(r), owned(s), owned(c), owned(g));
            self.instances.get(&key).copied()
        };
        let group = |r: Part, s: Part| {
            groups
                .iter()
                .find_map(|g| get(r, s, None, Some(g.as_str())))
        };
        // Kong's order: consumer+route+service, group+route+service, consumer+route,
        // consumer+service, group+route, group+service, route+service, consumer, group, route,
        // service, global. A level applies only when all its parts are known.
        let levels: [&dyn Fn() -> Option<usize>; 12] = [
            &|| {
                (c.is_some() && r.is_some() && s.is_some())
                    .then(|| get(r, s, c, None))
                    .flatten()
            },
            &|| (r.is_some() && s.is_some()).then(|| group(r, s)).flatten(),
            &|| {
                (c.is_some() && r.is_some())
                    .then(|| get(r, None, c, None))
                    .flatten()
            },
            &|| {
                (c.is_some() && s.is_some())
                    .then(|| get(None, s, c, None))
                    .flatten()
            },
            &|| r.is_some().then(|| group(r, None)).flatten(),
            &|| s.is_some().then(|| group(None, s)).flatten(),
            &|| {
                (r.is_some() && s.is_some())
                    .then(|| get(r, s, None, None))
                    .flatten()
            },
            &|| c.is_some().then(|| get(None, None, c, None)).flatten(),
            &|| group(None, None),
            &|| r.is_some().then(|| get(r, None, None, None)).flatten(),
            &|| s.is_some().then(|| get(None, s, None, None)).flatten(),
            &|| get(None, None, None, None),
        ];
        levels.iter().find_map(|level| level())
    }
}
