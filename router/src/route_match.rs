//! What [`Router::find`](crate::Router::find) returns: the route and what the match means for
//! the upstream request.

use crate::upstream::{sanitize_uri_postfix, upstream_uri_v0};
use crate::uri::escape;
use regex::{Captures, Regex};
use std::borrow::Cow;

/// Regex captures of the matched path, as `kong.request.get_uri_captures()` exposes them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UriCaptures {
    /// By group number, named groups included; index 0 is the whole match. `None` for a group
    /// that did not take part in the match.
    pub unnamed: Vec<Option<String>>,
    /// Named groups that took part, in pattern order.
    pub named: Vec<(String, String)>,
}

impl UriCaptures {
    /// `None` unless some group besides the whole match took part, as Kong's `has_capture`.
    pub(crate) fn from_regex(regex: &Regex, found: &Captures<'_>) -> Option<Self> {
        let unnamed: Vec<Option<String>> = found
            .iter()
            .map(|group| group.map(|group| group.as_str().to_string()))
            .collect();
        if unnamed.iter().skip(1).all(Option::is_none) {
            return None;
        }
        let named = regex
            .capture_names()
            .flatten()
            .filter_map(|name| {
                found
                    .name(name)
                    .map(|group| (name.to_string(), group.as_str().to_string()))
            })
            .collect();
        Some(UriCaptures { unnamed, named })
    }
}

/// A matched route and the request facts Kong derives from the match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteMatch<'a> {
    pub(crate) route: usize,
    pub(crate) path: Cow<'a, str>,
    pub(crate) matched_len: Option<usize>,
    pub(crate) strip_path: bool,
    pub(crate) captures: Option<UriCaptures>,
    pub(crate) query: Option<&'a str>,
}

impl<'a> RouteMatch<'a> {
    /// Index of the matched route in the slice given to [`Router::new`](crate::Router::new).
    pub fn route(&self) -> usize {
        self.route
    }

    /// The normalised request path (no query string) the route was matched against.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The part of the path the route's path matched: the prefix, or the text the regex
    /// matched. `None` when the route has no paths.
    pub fn matched_path(&self) -> Option<&str> {
        self.matched_len.and_then(|len| self.path.get(..len))
    }

    /// Kong's `match_t.prefix` (used for `X-Forwarded-Prefix`): the matched path when the route
    /// strips it.
    pub fn prefix(&self) -> Option<&str> {
        self.matched_path().filter(|_| self.strip_path)
    }

    /// Regex captures for `kong.request.get_uri_captures()`.
    pub fn uri_captures(&self) -> Option<&UriCaptures> {
        self.captures.as_ref()
    }

    /// The raw query string: `Some("")` for a bare `?`, `None` when the request had no `?`.
    pub fn query(&self) -> Option<&'a str> {
        self.query
    }

    /// The path to send upstream, escaped, without the query: Kong's `get_upstream_uri_v0` on the
    /// normalised path, then `kong.tools.uri.escape`. `service_path` is the service's `path`.
    pub fn upstream_path(&self, service_path: Option<&str>) -> String {
        let stripped_len = match self.prefix() {
            Some(prefix) => prefix.len(),
            None => 1,
        };
        let postfix = sanitize_uri_postfix(self.path.get(stripped_len..).unwrap_or(""));
        let joined = upstream_uri_v0(
            self.strip_path,
            postfix,
            &self.path,
            service_path.unwrap_or("/"),
        );
        match escape(&joined) {
            Cow::Borrowed(_) => joined,
            Cow::Owned(escaped) => escaped,
        }
    }

    /// [`upstream_path`](Self::upstream_path) with the request's query string re-appended,
    /// including a bare trailing `?`, as Kong's runloop does.
    pub fn upstream_uri(&self, service_path: Option<&str>) -> String {
        let mut uri = self.upstream_path(service_path);
        if let Some(query) = self.query {
            uri.push('?');
            uri.push_str(query);
        }
        uri
    }
}
