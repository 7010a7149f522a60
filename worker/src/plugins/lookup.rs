//! Which instance of a plugin applies to a request: Kong's precedence, most specific first, with
//! consumer groups (Kong Enterprise's 12 levels), ignoring the dimensions a plugin's schema forbids.

use std::collections::HashMap;

use super::{Handler, Instance};

/// What is known about the request when a plugin is resolved.
#[derive(Debug, Default, Clone)]
pub struct Scope {
    pub route: Option<String>,
    pub service: Option<String>,
    pub consumer: Option<String>,
    /// The consumer's groups, by group name (when several match, the first name wins).
    pub groups: Vec<String>,
}

type Key = (
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
);

/// One plugin's instances, by `(route, service, consumer, consumer_group)`.
#[derive(Default)]
pub struct Lookup(HashMap<Key, usize>);

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
            lookups[inst.handler].0.entry(key).or_insert(i);
        }
        lookups
    }

    pub fn resolve(&self, handler: &Handler, scope: &Scope) -> Option<usize> {
        if self.0.is_empty() {
            return None;
        }
        let pick = |on: bool, v: &Option<String>| if on { v.clone() } else { None };
        let r = pick(!handler.no_route, &scope.route);
        let s = pick(!handler.no_service, &scope.service);
        let c = pick(!handler.no_consumer, &scope.consumer);
        let groups: &[String] = if handler.no_consumer_group {
            &[]
        } else {
            &scope.groups
        };
        let get =
            |r: &Option<String>, s: &Option<String>, c: &Option<String>, g: Option<&String>| {
                let key = (r.clone(), s.clone(), c.clone(), g.cloned());
                self.0.get(&key).copied()
            };
        let group = |r: &Option<String>, s: &Option<String>| {
            groups.iter().find_map(|g| get(r, s, &None, Some(g)))
        };
        let some = |x: &Option<String>| x.is_some();
        let none = None;
        // Kong's order: consumer+route+service, group+route+service, consumer+route,
        // consumer+service, group+route, group+service, route+service, consumer, group, route,
        // service, global. A level applies only when all its parts are known.
        let levels: [&dyn Fn() -> Option<usize>; 12] = [
            &|| {
                (some(&c) && some(&r) && some(&s))
                    .then(|| get(&r, &s, &c, None))
                    .flatten()
            },
            &|| (some(&r) && some(&s)).then(|| group(&r, &s)).flatten(),
            &|| {
                (some(&c) && some(&r))
                    .then(|| get(&r, &none, &c, None))
                    .flatten()
            },
            &|| {
                (some(&c) && some(&s))
                    .then(|| get(&none, &s, &c, None))
                    .flatten()
            },
            &|| some(&r).then(|| group(&r, &none)).flatten(),
            &|| some(&s).then(|| group(&none, &s)).flatten(),
            &|| {
                (some(&r) && some(&s))
                    .then(|| get(&r, &s, &none, None))
                    .flatten()
            },
            &|| some(&c).then(|| get(&none, &none, &c, None)).flatten(),
            &|| group(&none, &none),
            &|| some(&r).then(|| get(&r, &none, &none, None)).flatten(),
            &|| some(&s).then(|| get(&none, &s, &none, None)).flatten(),
            &|| get(&none, &none, &none, None),
        ];
        levels.iter().find_map(|level| level())
    }
}
