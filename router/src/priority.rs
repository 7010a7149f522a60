//! The order in which Kong's `traditional_compatible` router tries matchers.
//!
//! Kong packs these fields into one 64-bit number (`get_priority` in `kong/router/transform.lua`:
//! weight in bits 61-63, plain hosts bit 60, header count bits 52-59, regex bit 51, regex priority
//! bits 19-50, prefix length bits 0-18) and atc-router breaks ties by the higher UUID. Comparing the
//! fields in that order is the same ordering, and keeps a negative `regex_priority` below zero
//! instead of wrapping around.

use crate::path::is_regex;
use crate::spec::RouteSpec;
use uuid::Uuid;

/// Kong caps the header count at 255 when it sorts.
const MAX_HEADER_COUNT: usize = 255;

/// Compared field by field; the greatest priority is tried first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Priority {
    /// How many of sources, destinations, methods, hosts, headers, snis and paths are set.
    match_weight: u8,
    /// The route has hosts and none of them is a wildcard.
    plain_hosts_only: bool,
    headers_count: u8,
    /// The path group is made of regexes.
    regex_url: bool,
    /// `regex_priority`, counted only for regex paths.
    regex_priority: i64,
    /// Length of the group's prefix paths (all of one length), masked to Kong's 19 bits.
    prefix_length: u32,
    id: Uuid,
}

impl Priority {
    /// `paths` is one group of the route's paths: all regexes, or all prefixes of one length.
    pub(crate) fn new(route: &RouteSpec, paths: &[String], id: Uuid) -> Self {
        let set = [
            !route.sources.is_empty(),
            !route.destinations.is_empty(),
            !route.methods.is_empty(),
            !route.hosts.is_empty(),
            !route.headers.is_empty(),
            !route.snis.is_empty(),
            !paths.is_empty(),
        ];
        let regex_url = paths.first().is_some_and(|path| is_regex(path));
        let prefix_length = match paths.first() {
            Some(path) if !regex_url => path.len() as u32 & 0x7FFFF,
            _ => 0,
        };
        Priority {
            match_weight: set.iter().filter(|&&set| set).count() as u8,
            plain_hosts_only: !route.hosts.is_empty()
                && !route.hosts.iter().any(|host| host.contains('*')),
            headers_count: route.headers.len().min(MAX_HEADER_COUNT) as u8,
            regex_url,
            regex_priority: if regex_url { route.regex_priority } else { 0 },
            prefix_length,
            id,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn priority(route: RouteSpec) -> Priority {
        Priority::new(&route, &route.paths, Uuid::nil())
    }

    fn strings(values: &[&str]) -> Vec<String> {
        values.iter().map(|v| v.to_string()).collect()
    }

    #[test]
    fn more_fields_beat_everything_below() {
        let host_and_path = priority(RouteSpec {
            hosts: strings(&["*.a.com"]),
            paths: strings(&["/"]),
            ..RouteSpec::default()
        });
        let path_only = priority(RouteSpec {
            paths: strings(&["~/long/regex"]),
            regex_priority: 100,
            headers: vec![],
            ..RouteSpec::default()
        });
        assert!(host_and_path > path_only);
    }

    #[test]
    fn plain_hosts_then_headers_then_regex_then_length() {
        let plain = priority(RouteSpec {
            hosts: strings(&["a.com"]),
            ..RouteSpec::default()
        });
        let wildcard = priority(RouteSpec {
            hosts: strings(&["*.a.com"]),
            ..RouteSpec::default()
        });
        assert!(plain > wildcard);

        let two_headers = RouteSpec {
            headers: vec![("a".into(), strings(&["1"])), ("b".into(), strings(&["1"]))],
            paths: strings(&["/a"]),
            ..RouteSpec::default()
        };
        let one_header = RouteSpec {
            headers: vec![("a".into(), strings(&["1"]))],
            paths: strings(&["~/a"]),
            ..RouteSpec::default()
        };
        assert!(priority(two_headers) > priority(one_header));

        let regex = priority(RouteSpec {
            paths: strings(&["~/a"]),
            ..RouteSpec::default()
        });
        let long_prefix = priority(RouteSpec {
            paths: strings(&["/a/very/long/prefix"]),
            ..RouteSpec::default()
        });
        assert!(regex > long_prefix);
        let short_prefix = priority(RouteSpec {
            paths: strings(&["/a"]),
            ..RouteSpec::default()
        });
        assert!(long_prefix > short_prefix);
    }

    #[test]
    fn regex_priority_counts_only_for_regexes() {
        let low = priority(RouteSpec {
            paths: strings(&["~/a"]),
            regex_priority: -5,
            ..RouteSpec::default()
        });
        let high = priority(RouteSpec {
            paths: strings(&["~/a"]),
            regex_priority: 5,
            ..RouteSpec::default()
        });
        assert!(high > low);
        let prefix = priority(RouteSpec {
            paths: strings(&["/a"]),
            regex_priority: 5,
            ..RouteSpec::default()
        });
        assert_eq!(
            prefix,
            priority(RouteSpec {
                paths: strings(&["/a"]),
                ..RouteSpec::default()
            })
        );
    }

    #[test]
    fn ties_go_to_the_higher_uuid() {
        let route = RouteSpec {
            paths: strings(&["/a"]),
            ..RouteSpec::default()
        };
        let low = Priority::new(&route, &route.paths, Uuid::from_u128(1));
        let high = Priority::new(&route, &route.paths, Uuid::from_u128(2));
        assert!(high > low);
    }
}
