//! Building the router from routes, and finding the route for a request.

use crate::error::RouterError;
use crate::host::split_host_port;
use crate::matcher::{Conditions, Matcher, Request};
use crate::path::{is_regex, PathMatcher};
use crate::priority::Priority;
use crate::route_match::RouteMatch;
use crate::spec::{RequestInfo, RouteSpec};
use crate::uri::normalize;
use http::HeaderName;
use std::collections::{HashMap, HashSet};
use uuid::Uuid;

/// Namespace Kong uses for the ids of a route's path groups (`kong/router/transform.lua`).
const SPLIT_ROUTE_NAMESPACE: Uuid = Uuid::from_u128(0x7f145bf9_0dce_4f91_98eb_debbce4b9f6b);

/// Protocols served by Kong's HTTP subsystem; routes with none of them are stream routes.
const HTTP_PROTOCOLS: [&str; 6] = ["http", "https", "grpc", "grpcs", "ws", "wss"];

/// Kong's `traditional_compatible` HTTP router.
///
/// Matchers are kept sorted by Kong's priority, and exact hosts are indexed so a request only
/// visits the matchers its `Host` can satisfy (plus those without exact hosts), in priority order.
///
/// Deliberate differences from Kong 3.x:
/// - Kong computes part of the priority with 32-bit LuaJIT shifts (`lshift_uint64` is handed
///   plain Lua numbers), so in Kong the plain-hosts and regex bits can outrank the number of
///   matched fields, and a negative `regex_priority` sorts first. This router uses the documented
///   order: fields, plain hosts, header count, regex, `regex_priority` (signed), prefix length.
/// - Kong gives the plain-hosts bit to a route whose `hosts` is an empty list; here an empty list
///   is the same as no hosts.
/// - Kong logs and drops a route whose regex the Rust `regex` crate rejects; here
///   [`Router::new`] fails with an error naming the route.
/// - A request path that decodes to bytes that are not UTF-8 matches no route; Kong refuses it
///   only when some route has paths.
#[derive(Debug, Clone)]
pub struct Router {
    /// Highest priority first.
    matchers: Vec<Matcher>,
    /// Exact host (without port) to the positions in `matchers` of those whose hosts are all
    /// exact and include it, ascending.
    by_host: HashMap<Box<str>, Vec<usize>>,
    /// Positions of the matchers without hosts or with a wildcard host, ascending.
    other_hosts: Vec<usize>,
    /// Every header name a matcher reads: Kong refuses a request whose values for those are
    /// not UTF-8.
    header_names: Vec<HeaderName>,
}

impl Router {
    /// Validates and compiles `routes`; [`RouteMatch::route`] indexes into this slice.
    pub fn new(routes: &[RouteSpec]) -> Result<Router, RouterError> {
        let mut matchers = Vec::new();
        let mut ids = HashSet::new();
        for (index, route) in routes.iter().enumerate() {
            if !serves_http(route) {
                continue;
            }
            let fail =
                |field, message| RouterError::new(route.name.as_deref(), &route.id, field, message);
            let id = Uuid::parse_str(&route.id)
                .map_err(|_| fail(Some("id"), "expected a UUID".to_string()))?;
            if !ids.insert(id) {
                return Err(fail(Some("id"), "duplicate route id".to_string()));
            }
            if !has_http_condition(route) {
                return Err(fail(
                    None,
                    "must set one of 'methods', 'hosts', 'headers', 'paths', 'snis', 'sources', \
                     'destinations' when 'protocols' is 'http' or 'https'"
                        .to_string(),
                ));
            }
            let conditions = Conditions::compile(route)
                .map_err(|(field, message)| fail(Some(field), message))?;
            let groups = path_groups(&route.paths);
            for (group_index, group) in groups.iter().enumerate() {
                let paths = group
                    .iter()
                    .map(|path| PathMatcher::compile(path))
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|message| fail(Some("paths"), message))?;
                let matcher_id = if groups.len() > 1 {
                    let name = format!("{}#{}", route.id, group_index + 1);
                    Uuid::new_v5(&SPLIT_ROUTE_NAMESPACE, name.as_bytes())
                } else {
                    id
                };
                matchers.push(Matcher {
                    route: index,
                    priority: Priority::new(route, group, matcher_id),
                    strip_path: route.strip_path,
                    conditions: conditions.clone(),
                    paths,
                });
            }
        }
        matchers.sort_by_key(|matcher| std::cmp::Reverse(matcher.priority));
        Ok(Router::index(matchers))
    }

    fn index(matchers: Vec<Matcher>) -> Router {
        let mut by_host: HashMap<Box<str>, Vec<usize>> = HashMap::new();
        let mut other_hosts = Vec::new();
        let mut header_names = Vec::new();
        for (position, matcher) in matchers.iter().enumerate() {
            let hosts = &matcher.conditions.hosts;
            if hosts.is_empty() || hosts.iter().any(|host| host.is_wildcard()) {
                other_hosts.push(position);
            } else {
                for host in hosts.iter().filter_map(|host| host.exact_host()) {
                    let positions = by_host.entry(host.into()).or_default();
                    if positions.last() != Some(&position) {
                        positions.push(position);
                    }
                }
            }
            for header in &matcher.conditions.headers {
                if !header_names.contains(header.name()) {
                    header_names.push(header.name().clone());
                }
            }
        }
        Router {
            matchers,
            by_host,
            other_hosts,
            header_names,
        }
    }

    /// The route Kong would pick for this request, or `None` (Kong answers 404 "no Route matched
    /// with those values").
    pub fn find<'a>(&self, info: &RequestInfo<'a>) -> Option<RouteMatch<'a>> {
        // Kong looks for the `?` from the second character on (`strip_uri_args`).
        let query_mark = info
            .uri
            .get(1..)
            .and_then(|rest| rest.find('?'))
            .map(|at| at + 1);
        let (raw_path, query) = match query_mark {
            Some(at) => (&info.uri[..at], Some(&info.uri[at + 1..])),
            None => (info.uri, None),
        };
        let path = normalize(raw_path, true)?;
        if !self.header_values_are_utf8(info) {
            return None;
        }
        let (host, host_port) = match info.host {
            Some(host) => {
                let (host, port) = split_host_port(host);
                (Some(host), port)
            }
            None => (None, None),
        };
        let req = Request {
            method: info.method,
            host,
            dst_port: host_port.unwrap_or(u64::from(info.local.port())),
            path: &path,
            scheme: info.scheme,
            sni: info.sni,
            headers: info.headers,
            client: info.client,
            local: info.local,
        };
        let exact = host
            .and_then(|host| self.by_host.get(host))
            .map_or(&[][..], Vec::as_slice);
        let (matcher, hit) = merged(exact, &self.other_hosts)
            .map(|position| &self.matchers[position])
            .find_map(|matcher| matcher.check(&req).map(|hit| (matcher, hit)))?;
        let (matched_len, captures) = match hit.path {
            Some(path_hit) => (Some(path_hit.len), path_hit.captures),
            None => (None, None),
        };
        Some(RouteMatch {
            route: matcher.route,
            path,
            matched_len,
            strip_path: matcher.strip_path,
            captures,
            query,
        })
    }

    fn header_values_are_utf8(&self, info: &RequestInfo<'_>) -> bool {
        self.header_names.iter().all(|name| {
            info.headers
                .get_all(name)
                .iter()
                .all(|value| std::str::from_utf8(value.as_bytes()).is_ok())
        })
    }
}

fn serves_http(route: &RouteSpec) -> bool {
    route.protocols.is_empty()
        || route
            .protocols
            .iter()
            .any(|p| HTTP_PROTOCOLS.contains(&p.as_str()))
}

fn has_http_condition(route: &RouteSpec) -> bool {
    !(route.methods.is_empty()
        && route.hosts.is_empty()
        && route.headers.is_empty()
        && route.paths.is_empty()
        && route.snis.is_empty()
        && route.sources.is_empty()
        && route.destinations.is_empty())
}

/// Kong's `split_routes_and_services_by_path`: regex paths form one group, prefixes one group
/// per length, in order of first appearance. A route without paths has one empty group.
fn path_groups(paths: &[String]) -> Vec<Vec<String>> {
    let mut keys: Vec<Option<usize>> = Vec::new();
    let mut groups: Vec<Vec<String>> = Vec::new();
    for path in paths {
        let key = (!is_regex(path)).then_some(path.len());
        match keys.iter().position(|k| *k == key) {
            Some(at) => groups[at].push(path.clone()),
            None => {
                keys.push(key);
                groups.push(vec![path.clone()]);
            }
        }
    }
    if groups.is_empty() {
        groups.push(Vec::new());
    }
    groups
}

/// Two ascending position lists walked as one, ascending (so in priority order).
fn merged<'s>(a: &'s [usize], b: &'s [usize]) -> impl Iterator<Item = usize> + 's {
    let (mut i, mut j) = (0, 0);
    std::iter::from_fn(move || match (a.get(i), b.get(j)) {
        (Some(&x), Some(&y)) if x < y => {
            i += 1;
            Some(x)
        }
        (_, Some(&y)) => {
            j += 1;
            Some(y)
        }
        (Some(&x), None) => {
            i += 1;
            Some(x)
        }
        (None, None) => None,
    })
}

#[cfg(test)]
mod tests;
