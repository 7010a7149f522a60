//! Route selection as Kong's router spec (`spec/01-unit/08-router_spec.lua`) describes it for the
//! `traditional_compatible` flavor, plus the upstream path table of
//! `spec/fixtures/router_path_handling_tests.lua` (path handling v0).

use super::*;
use crate::spec::IpPort;
use http::{HeaderMap, HeaderName, HeaderValue};
use std::net::SocketAddr;

fn id(n: u16) -> String {
    format!("e8fb37f1-102d-461e-9c51-6608a6bb{n:04x}")
}

fn strings(values: &[&str]) -> Vec<String> {
    values.iter().map(|v| v.to_string()).collect()
}

fn route(n: u16) -> RouteSpec {
    RouteSpec {
        id: id(n),
        ..RouteSpec::default()
    }
}

fn header(name: &str, values: &[&str]) -> (String, Vec<String>) {
    (name.to_string(), strings(values))
}

fn router(routes: &[RouteSpec]) -> Router {
    Router::new(routes).unwrap_or_else(|err| panic!("{err}"))
}

/// An owned request that lends itself as a [`RequestInfo`].
struct Req {
    method: String,
    uri: String,
    host: Option<String>,
    scheme: String,
    sni: Option<String>,
    headers: HeaderMap,
    client: SocketAddr,
    local: SocketAddr,
}

impl Req {
    fn new(method: &str, uri: &str, host: Option<&str>) -> Req {
        Req {
            method: method.to_string(),
            uri: uri.to_string(),
            host: host.map(str::to_string),
            scheme: "http".to_string(),
            sni: None,
            headers: HeaderMap::new(),
            client: "10.0.0.1:50000".parse().unwrap(),
            local: "10.0.0.2:8000".parse().unwrap(),
        }
    }

    fn header(mut self, name: &str, value: &str) -> Req {
        self.headers.append(
            HeaderName::from_bytes(name.as_bytes()).unwrap(),
            HeaderValue::from_str(value).unwrap(),
        );
        self
    }

    fn https(mut self, sni: Option<&str>) -> Req {
        self.scheme = "https".to_string();
        self.sni = sni.map(str::to_string);
        self
    }

    fn client(mut self, addr: &str) -> Req {
        self.client = addr.parse().unwrap();
        self
    }

    fn local(mut self, addr: &str) -> Req {
        self.local = addr.parse().unwrap();
        self
    }

    fn info(&self) -> RequestInfo<'_> {
        RequestInfo {
            method: &self.method,
            uri: &self.uri,
            host: self.host.as_deref(),
            scheme: &self.scheme,
            sni: self.sni.as_deref(),
            headers: &self.headers,
            client: self.client,
            local: self.local,
        }
    }
}

fn get(uri: &str, host: &str) -> Req {
    Req::new("GET", uri, Some(host))
}

/// The index of the route chosen for the request.
fn pick(router: &Router, req: &Req) -> Option<usize> {
    router.find(&req.info()).map(|m| m.route())
}

/// Kong's main `select()` use case, routes 1 to 15 (index 0 to 14).
fn kong_use_case() -> Vec<RouteSpec> {
    let d12 = strings(&["domain-1.org", "domain-2.org"]);
    let ppp = strings(&["POST", "PUT", "PATCH"]);
    vec![
        RouteSpec {
            hosts: d12.clone(),
            ..route(0x8101)
        },
        RouteSpec {
            methods: strings(&["TRACE"]),
            ..route(0x8102)
        },
        RouteSpec {
            paths: strings(&["/my-route"]),
            ..route(0x8103)
        },
        RouteSpec {
            paths: strings(&["/route-4"]),
            hosts: d12.clone(),
            ..route(0x8104)
        },
        RouteSpec {
            hosts: d12.clone(),
            methods: ppp.clone(),
            ..route(0x8105)
        },
        RouteSpec {
            methods: ppp.clone(),
            paths: strings(&["/route-6"]),
            ..route(0x8106)
        },
        RouteSpec {
            hosts: strings(&["domain-with-uri-1.org", "domain-with-uri-2.org"]),
            methods: ppp.clone(),
            paths: strings(&["/my-route-uri"]),
            ..route(0x8107)
        },
        RouteSpec {
            paths: strings(&["/serviceless"]),
            ..route(0x8108)
        },
        RouteSpec {
            headers: vec![header("location", &["my-location-1", "my-location-2"])],
            ..route(0x8109)
        },
        RouteSpec {
            headers: vec![
                header("location", &["my-location-1"]),
                header("version", &["v1", "v2"]),
            ],
            ..route(0x8110)
        },
        RouteSpec {
            headers: vec![header("location", &["my-location-1", "my-location-2"])],
            paths: strings(&["/headers-uri"]),
            ..route(0x8111)
        },
        RouteSpec {
            hosts: strings(&["domain-with-headers-1.org", "domain-with-headers-2.org"]),
            headers: vec![header("location", &["my-location-1", "my-location-2"])],
            methods: ppp,
            paths: strings(&["/headers-host-uri-method"]),
            ..route(0x8112)
        },
        RouteSpec {
            hosts: strings(&["domain-1.org:321", "domain-2.org"]),
            ..route(0x8113)
        },
        RouteSpec {
            hosts: strings(&["domain-3.org:321"]),
            ..route(0x8114)
        },
        RouteSpec {
            headers: vec![header(
                "user_agent",
                &[r"~*windows|linux|os\s+x\s*[\d\._]+|solaris|bsd"],
            )],
            ..route(0x8115)
        },
    ]
}

#[test]
fn selects_by_host_method_and_uri() {
    let r = router(&kong_use_case());
    assert_eq!(pick(&r, &get("/", "domain-1.org")), Some(0));
    assert_eq!(
        pick(&r, &get("/", "domain-1.org:80")),
        Some(0),
        "a port does not hide a port-less route"
    );
    assert_eq!(
        pick(&r, &get("/", "domain-1.org:321")),
        Some(12),
        "port-specific route, higher uuid"
    );
    assert_eq!(pick(&r, &get("/", "domain-3.org:321")), Some(13));
    assert_eq!(pick(&r, &get("/", "domain-3.org:123")), None);
    assert_eq!(pick(&r, &get("/my-route", "domain.org")), Some(2));
    assert_eq!(
        pick(&r, &get("/my-route-uri", "")),
        Some(2),
        "uri match with an empty Host"
    );
    assert_eq!(
        pick(&r, &Req::new("TRACE", "/", Some("domain.org"))),
        Some(1)
    );
    assert_eq!(pick(&r, &get("/route-4", "domain-1.org")), Some(3));
    assert_eq!(
        pick(&r, &Req::new("POST", "/", Some("domain-1.org"))),
        Some(4)
    );
    assert_eq!(
        pick(&r, &Req::new("PUT", "/route-6", Some("domain.org"))),
        Some(5)
    );
    assert_eq!(
        pick(
            &r,
            &Req::new("PUT", "/my-route-uri", Some("domain-with-uri-2.org"))
        ),
        Some(6)
    );
    assert_eq!(pick(&r, &Req::new("GET", "/serviceless", None)), Some(7));
}

#[test]
fn selects_by_headers() {
    let r = router(&kong_use_case());
    let no_host = |headers: &[(&str, &str)]| {
        headers
            .iter()
            .fold(Req::new("GET", "/", None), |req, (name, value)| {
                req.header(name, value)
            })
    };
    assert_eq!(
        pick(&r, &no_host(&[("location", "my-location-1")])),
        Some(8)
    );
    assert_eq!(
        pick(&r, &no_host(&[("location", "my-location-2")])),
        Some(8)
    );
    assert_eq!(
        pick(
            &r,
            &no_host(&[("location", "my-location-3"), ("location", "my-location-2")])
        ),
        Some(8)
    );
    assert_eq!(pick(&r, &no_host(&[("location", "my-location-3")])), None);
    assert_eq!(
        pick(
            &r,
            &no_host(&[("location", "my-location-3"), ("location", "foo")])
        ),
        None
    );
    let chrome = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/83.0.4103.116";
    assert_eq!(
        pick(&r, &no_host(&[("user-agent", chrome)])),
        Some(14),
        "~* regex header value"
    );

    // more headers first, and a fallback to fewer when a value is missing
    assert_eq!(
        pick(
            &r,
            &no_host(&[("location", "my-location-1"), ("version", "v1")])
        ),
        Some(9)
    );
    assert_eq!(
        pick(
            &r,
            &no_host(&[("location", "my-location-1"), ("version", "v2")])
        ),
        Some(9)
    );
    let both = &[
        ("location", "my-location-3"),
        ("location", "my-location-1"),
        ("version", "v2"),
    ];
    assert_eq!(pick(&r, &no_host(both)), Some(9));
    let fallback = &[
        ("location", "my-location-3"),
        ("location", "my-location-2"),
        ("version", "v2"),
    ];
    assert_eq!(pick(&r, &no_host(fallback)), Some(8));

    let headers_uri = Req::new("GET", "/headers-uri", None).header("location", "my-location-2");
    assert_eq!(pick(&r, &headers_uri), Some(10));
    let all = Req::new(
        "PUT",
        "/headers-host-uri-method",
        Some("domain-with-headers-1.org"),
    )
    .header("location", "my-location-2");
    assert_eq!(pick(&r, &all), Some(11));
}

#[test]
fn misses() {
    let r = router(&kong_use_case());
    assert_eq!(pick(&r, &get("/", "domain-3.org")), None);
    assert_eq!(pick(&r, &get("/route-4", "domain-3.org")), None);
    assert_eq!(
        pick(&r, &get("/some-uri", "domain-with-uri-2.org")),
        None,
        "method mismatch"
    );
    assert_eq!(
        pick(
            &r,
            &Req::new("PUT", "/some-uri-foo", Some("domain-with-uri-2.org"))
        ),
        None
    );
    assert_eq!(
        pick(&r, &get("/some-other-prefix/my-route", "domain.org")),
        None
    );
    assert_eq!(
        pick(
            &r,
            &Req::new("GET", "/", None).header("location", "invalid-location")
        ),
        None
    );
    let put =
        Req::new("PUT", "/headers-host-uri-method", None).header("location", "invalid-location");
    assert_eq!(pick(&r, &put), None);
    assert_eq!(pick(&router(&[]), &get("/", "a.com")), None);
}

#[test]
fn longest_prefix_wins_whatever_else_is_set() {
    let cases: [(&[&str], &[&str]); 3] = [
        (&[], &[]),
        (&["POST", "PUT", "GET"], &[]),
        (&[], &["domain.org"]),
    ];
    for (methods, hosts) in cases {
        let r = router(&[
            RouteSpec {
                methods: strings(methods),
                hosts: strings(hosts),
                paths: strings(&["/my-route"]),
                ..route(0x8101)
            },
            RouteSpec {
                methods: strings(methods),
                hosts: strings(hosts),
                paths: strings(&["/my-route/hello"]),
                ..route(0x8102)
            },
        ]);
        assert_eq!(pick(&r, &get("/my-route/hello", "domain.org")), Some(1));
        assert_eq!(
            pick(&r, &get("/my-route/hello/world", "domain.org")),
            Some(1)
        );
        assert_eq!(pick(&r, &get("/my-route", "domain.org")), Some(0));
        assert_eq!(pick(&r, &get("/my-route/world", "domain.org")), Some(0));
    }
}

#[test]
fn a_longer_prefix_of_another_host_does_not_interfere() {
    let r = router(&[
        RouteSpec {
            hosts: strings(&["example.com"]),
            paths: strings(&["/my-route"]),
            ..route(0x8101)
        },
        RouteSpec {
            hosts: strings(&["example.com"]),
            paths: strings(&["/my-route/hello"]),
            ..route(0x8102)
        },
        RouteSpec {
            hosts: strings(&["example.net"]),
            paths: strings(&["/my-route/hello/world"]),
            ..route(0x8103)
        },
    ]);
    assert_eq!(
        pick(&r, &get("/my-route/hello/world", "example.com")),
        Some(1)
    );
    assert_eq!(
        pick(
            &r,
            &get("/my-route/hello/world/and/goodnight", "example.com")
        ),
        Some(1)
    );
}

#[test]
fn prefixes_are_anchored() {
    let r = router(&[
        RouteSpec {
            paths: strings(&["/something/my-route"]),
            ..route(0x8101)
        },
        RouteSpec {
            hosts: strings(&["example.com"]),
            paths: strings(&["/my-route"]),
            ..route(0x8102)
        },
    ]);
    assert_eq!(
        pick(&r, &get("/something/my-route", "example.com")),
        Some(0)
    );
}

#[test]
fn regex_paths() {
    let r = router(&[RouteSpec {
        paths: strings(&[r"~/users/\d+/profile"]),
        ..route(0x8101)
    }]);
    assert_eq!(pick(&r, &get("/users/123/profile", "domain.org")), Some(0));
    assert_eq!(pick(&r, &get("/users/abc/profile", "domain.org")), None);

    let r = router(&[
        RouteSpec {
            paths: strings(&[r"~/route/persons/\d{3}"]),
            ..route(0x8101)
        },
        RouteSpec {
            paths: strings(&[r"~/route/persons/\d{3}/following"]),
            ..route(0x8102)
        },
        RouteSpec {
            paths: strings(&[r"~/route/persons/\d{3}/[a-z]+"]),
            ..route(0x8103)
        },
    ]);
    assert_eq!(pick(&r, &get("/route/persons/456", "domain.org")), Some(0));

    let r = router(&[RouteSpec {
        paths: strings(&[r"~/prefix/[0-9]+"]),
        ..route(0x8101)
    }]);
    assert_eq!(pick(&r, &get("/prefix/123", "domain.org")), Some(0));
    assert_eq!(
        pick(&r, &get("/extra/prefix/123", "domain.org")),
        None,
        "anchored at the start"
    );
}

#[test]
fn regex_beats_prefix_even_on_an_exact_prefix_match() {
    let r = router(&[
        RouteSpec {
            paths: strings(&["/route/persons"]),
            ..route(0x8101)
        },
        RouteSpec {
            paths: strings(&[r"~/route/persons/\d+/profile"]),
            ..route(0x8102)
        },
    ]);
    assert_eq!(
        pick(&r, &get("/route/persons/123/profile", "domain.org")),
        Some(1)
    );

    let r = router(&[
        RouteSpec {
            paths: strings(&["/route/fixture"]),
            ..route(0x8101)
        },
        RouteSpec {
            paths: strings(&["~/route/(fixture)"]),
            ..route(0x8102)
        },
    ]);
    assert_eq!(pick(&r, &get("/route/fixture", "domain.org")), Some(1));

    let host = strings(&["route.com"]);
    let r = router(&[
        RouteSpec {
            hosts: host.clone(),
            paths: strings(&["/pat"]),
            ..route(0x8101)
        },
        RouteSpec {
            hosts: host.clone(),
            paths: strings(&["/path"]),
            methods: strings(&["POST"]),
            ..route(0x8102)
        },
        RouteSpec {
            hosts: host,
            paths: strings(&["~/(path)"]),
            ..route(0x8103)
        },
    ]);
    assert_eq!(pick(&r, &get("/path", "route.com")), Some(2));
}

#[test]
fn regex_priority_orders_regexes_only() {
    let r = router(&[
        RouteSpec {
            paths: strings(&["~/api/.*"]),
            regex_priority: 10,
            ..route(0x8101)
        },
        RouteSpec {
            paths: strings(&["~/api/v1/.*"]),
            ..route(0x8102)
        },
        RouteSpec {
            paths: strings(&["~/api/v1/login"]),
            regex_priority: -1,
            ..route(0x8103)
        },
    ]);
    assert_eq!(
        pick(&r, &get("/api/v1/login", "a.com")),
        Some(0),
        "highest regex_priority first"
    );

    let r = router(&[
        RouteSpec {
            paths: strings(&["~/api/.*"]),
            regex_priority: -1,
            ..route(0x8101)
        },
        RouteSpec {
            paths: strings(&["~/api/v1/login"]),
            ..route(0x8102)
        },
    ]);
    assert_eq!(
        pick(&r, &get("/api/v1/login", "a.com")),
        Some(1),
        "a negative priority sorts below 0"
    );

    // Kong's "[prefix matching ignore regex_priority]"
    let r = router(&[
        RouteSpec {
            paths: strings(&["/.*"]),
            hosts: strings(&["domain-1.org"]),
            ..route(0x8101)
        },
        RouteSpec {
            paths: strings(&["/"]),
            hosts: strings(&["domain-2.org"]),
            regex_priority: 5,
            ..route(0x8102)
        },
        RouteSpec {
            paths: strings(&["/v1"]),
            hosts: strings(&["domain-2.org"]),
            ..route(0x8103)
        },
    ]);
    assert_eq!(pick(&r, &get("/v1", "domain-2.org")), Some(2));
}

#[test]
fn wildcard_hosts() {
    let use_case = vec![
        RouteSpec {
            hosts: strings(&["*.route.com"]),
            ..route(0x8101)
        },
        RouteSpec {
            hosts: strings(&["route.*"]),
            ..route(0x8102)
        },
    ];
    let r = router(&use_case);
    assert_eq!(pick(&r, &get("/", "foo.route.com")), Some(0));
    assert_eq!(pick(&r, &get("/", "route.org")), Some(1));
    assert_eq!(
        pick(&r, &get("/", "route.org:123")),
        Some(1),
        "any port in the request"
    );
    assert_eq!(pick(&r, &get("/", "foo.route.com:123")), Some(0));

    let mut with_port = use_case.clone();
    with_port.push(RouteSpec {
        hosts: strings(&["*.route.net:123"]),
        ..route(0x8103)
    });
    let r = router(&with_port);
    assert_eq!(pick(&r, &get("/", "foo.route.net:123")), Some(2));
    assert_eq!(pick(&r, &get("/", "foo.route.net:456")), None);

    let mut plain = use_case;
    plain.insert(
        0,
        RouteSpec {
            hosts: strings(&["plain.route.com"]),
            ..route(0x8103)
        },
    );
    plain.push(RouteSpec {
        hosts: strings(&["route.com"]),
        ..route(0x8104)
    });
    let r = router(&plain);
    assert_eq!(
        pick(&r, &get("/", "route.com")),
        Some(3),
        "plain host beats route.*"
    );
    assert_eq!(pick(&r, &get("/", "route.org")), Some(2));
    assert_eq!(
        pick(&r, &get("/", "plain.route.com")),
        Some(0),
        "plain host beats *.route.com"
    );
    assert_eq!(pick(&r, &get("/", "foo.route.com")), Some(1));
}

#[test]
fn wildcard_and_plain_hosts_with_paths() {
    let r = router(&[
        RouteSpec {
            hosts: strings(&["*.route.com"]),
            paths: strings(&["/path1"]),
            ..route(0x8101)
        },
        RouteSpec {
            hosts: strings(&["plain.route.com"]),
            paths: strings(&["/path2"]),
            ..route(0x8102)
        },
    ]);
    assert_eq!(pick(&r, &get("/path1", "plain.route.com")), Some(0));
    assert_eq!(pick(&r, &get("/path2", "plain.route.com")), Some(1));

    let r = router(&[RouteSpec {
        hosts: strings(&["*.domain.com", "example.com"]),
        paths: strings(&["/path"]),
        methods: strings(&["GET", "TRACE"]),
        ..route(0x8101)
    }]);
    assert_eq!(
        pick(&r, &Req::new("POST", "/path", Some("foo.domain.com"))),
        None
    );
    assert_eq!(pick(&r, &get("/path", "foo.domain.com")), Some(0));
    assert_eq!(
        pick(&r, &Req::new("TRACE", "/path", Some("example.com"))),
        Some(0)
    );

    let r = router(&[
        RouteSpec {
            hosts: strings(&["*.example.com"]),
            paths: strings(&[r"~/users/\d+/profile"]),
            ..route(0x8101)
        },
        RouteSpec {
            hosts: strings(&["*.example.com"]),
            paths: strings(&["/users"]),
            ..route(0x8102)
        },
    ]);
    assert_eq!(
        pick(&r, &get("/users/123/profile", "test.example.com")),
        Some(0)
    );
    assert_eq!(pick(&r, &get("/users", "test.example.com")), Some(1));
}

#[test]
fn host_with_port_uses_the_host_header_port_else_the_local_port() {
    let r = router(&[RouteSpec {
        hosts: strings(&["a.com:8080"]),
        ..route(0x8101)
    }]);
    assert_eq!(pick(&r, &get("/", "a.com:8080")), Some(0));
    assert_eq!(pick(&r, &get("/", "a.com:8081")), None);
    assert_eq!(pick(&r, &get("/", "a.com").local("10.0.0.2:8080")), Some(0));
    assert_eq!(pick(&r, &get("/", "a.com").local("10.0.0.2:8000")), None);
    assert_eq!(
        pick(&r, &Req::new("GET", "/", None).local("10.0.0.2:8080")),
        None,
        "no Host, no host match"
    );
}

#[test]
fn hosts_are_case_sensitive_as_in_kong() {
    let r = router(&[RouteSpec {
        hosts: strings(&["example.com"]),
        ..route(0x8101)
    }]);
    assert_eq!(pick(&r, &get("/", "Example.com")), None);
}

#[test]
fn header_rules() {
    let r = router(&[
        RouteSpec {
            headers: vec![
                header("version", &["v1", "v2"]),
                header("user_agent", &["foo", "bar"]),
            ],
            ..route(0x8101)
        },
        RouteSpec {
            headers: vec![
                header("version", &["v1", "v2"]),
                header("user_agent", &["foo", "bar"]),
                header("location", &["east", "west"]),
            ],
            ..route(0x8102)
        },
    ]);
    let req = Req::new("GET", "/", None)
        .header("version", "v1")
        .header("user-agent", "foo")
        .header("location", "north")
        .header("location", "west");
    assert_eq!(pick(&r, &req), Some(1), "more headers first");

    let r = router(&[
        RouteSpec {
            headers: vec![header("USER_AGENT", &["foo", "bar"])],
            ..route(0x8101)
        },
        RouteSpec {
            headers: vec![header("user-agent", &["BAZ"])],
            ..route(0x8102)
        },
    ]);
    assert_eq!(
        pick(&r, &Req::new("GET", "/", None).header("User-Agent", "FOO")),
        Some(0)
    );
    assert_eq!(
        pick(&r, &Req::new("GET", "/", None).header("user-agent", "baz")),
        Some(1)
    );
}

#[test]
fn more_headers_beat_a_longer_path() {
    let r = router(&[
        RouteSpec {
            headers: vec![header("version", &["v1"])],
            paths: strings(&["/my-route/hello"]),
            ..route(0x8101)
        },
        RouteSpec {
            headers: vec![header("version", &["v1"]), header("location", &["us-east"])],
            paths: strings(&["/my-route"]),
            ..route(0x8102)
        },
    ]);
    let req = get("/my-route/hello", "domain.org")
        .header("version", "v1")
        .header("location", "us-east");
    assert_eq!(pick(&r, &req), Some(1));
}

#[test]
fn header_values_that_are_not_utf8_fail_the_lookup() {
    let r = router(&[
        RouteSpec {
            headers: vec![header("x-a", &["1"])],
            ..route(0x8101)
        },
        RouteSpec {
            paths: strings(&["/"]),
            ..route(0x8102)
        },
    ]);
    let mut req = get("/", "a.com");
    req.headers
        .insert("x-a", HeaderValue::from_bytes(b"\xff").unwrap());
    assert_eq!(pick(&r, &req), None);
}

#[test]
fn field_count_decides_first() {
    let r = router(&kong_use_case()[..7]);
    assert_eq!(
        pick(&r, &Req::new("TRACE", "/", Some("domain-2.org"))),
        Some(0),
        "[host] beats [method]"
    );
    assert_eq!(
        pick(&r, &Req::new("TRACE", "/my-route", Some("domain.org"))),
        Some(2),
        "[uri] beats [method]"
    );

    let r = router(&[
        RouteSpec {
            hosts: strings(&["host1.com"]),
            paths: strings(&["/v1/path"]),
            ..route(0x8101)
        },
        RouteSpec {
            hosts: strings(&["host2.com"]),
            paths: strings(&["/"]),
            ..route(0x8102)
        },
    ]);
    assert_eq!(pick(&r, &get("/v1/path", "host1.com")), Some(0));
    assert_eq!(pick(&r, &get("/v1/path", "host2.com")), Some(1));

    let r = router(&[
        RouteSpec {
            hosts: strings(&["host.*"]),
            methods: strings(&["GET"]),
            ..route(0x8101)
        },
        RouteSpec {
            hosts: strings(&["host.*"]),
            methods: strings(&["POST"]),
            ..route(0x8102)
        },
    ]);
    assert_eq!(pick(&r, &get("/", "host.com")), Some(0));
    assert_eq!(pick(&r, &Req::new("POST", "/", Some("host.com"))), Some(1));

    let r = router(&[
        RouteSpec {
            methods: strings(&["GET"]),
            paths: strings(&[r"~/users/\d+/profile"]),
            ..route(0x8101)
        },
        RouteSpec {
            methods: strings(&["POST"]),
            paths: strings(&[r"~/users/\d*/profile"]),
            ..route(0x8102)
        },
    ]);
    assert_eq!(pick(&r, &get("/users/123/profile", "domain.org")), Some(0));
    assert_eq!(
        pick(
            &r,
            &Req::new("POST", "/users/123/profile", Some("domain.org"))
        ),
        Some(1)
    );

    let r = router(&[
        RouteSpec {
            methods: strings(&["GET"]),
            ..route(0x8101)
        },
        RouteSpec {
            paths: strings(&["/example"]),
            ..route(0x8102)
        },
    ]);
    assert_eq!(
        pick(&r, &get("/example/status/200", "domain.org")),
        Some(1),
        "[method] does not supersede [uri]"
    );

    let r = router(&[
        RouteSpec {
            methods: strings(&["GET"]),
            ..route(0x8101)
        },
        RouteSpec {
            hosts: strings(&["domain.*"]),
            ..route(0x8102)
        },
    ]);
    assert_eq!(pick(&r, &get("/", "nothing.com")), Some(0));
    assert_eq!(
        pick(&r, &get("/", "domain.com")),
        Some(1),
        "[method] does not supersede [wildcard host]"
    );
}

#[test]
fn host_and_path_beat_path_only_across_the_host_index() {
    let r = router(&[
        RouteSpec {
            paths: strings(&["/a/very/long/prefix"]),
            ..route(0x8101)
        },
        RouteSpec {
            hosts: strings(&["a.com"]),
            paths: strings(&["/a"]),
            ..route(0x8102)
        },
        RouteSpec {
            hosts: strings(&["*.a.com"]),
            paths: strings(&["/a"]),
            methods: strings(&["GET"]),
            ..route(0x8103)
        },
    ]);
    assert_eq!(pick(&r, &get("/a/very/long/prefix", "a.com")), Some(1));
    assert_eq!(pick(&r, &get("/a/very/long/prefix", "b.com")), Some(0));
    assert_eq!(
        pick(&r, &get("/a/very/long/prefix", "x.a.com")),
        Some(2),
        "wildcard with more fields first"
    );
}

#[test]
fn root_prefix_is_a_catch_all_that_does_not_supersede() {
    let mut routes = kong_use_case()[..7].to_vec();
    routes.insert(
        0,
        RouteSpec {
            paths: strings(&["/"]),
            ..route(0x810f)
        },
    );
    let r = router(&routes);
    assert_eq!(pick(&r, &get("/", "domain.org")), Some(0));
    assert_eq!(
        pick(&r, &get("/my-route/hello/world", "domain.org")),
        Some(3)
    );
    assert_eq!(pick(&r, &get("/foobar/baz", "domain.org")), Some(0));
}

#[test]
fn ties_go_to_the_higher_uuid() {
    let same = |n| RouteSpec {
        hosts: strings(&["domain.org"]),
        paths: strings(&["/my-uri"]),
        ..route(n)
    };
    let r = router(&[same(0x8111), same(0x8115), same(0x8112)]);
    assert_eq!(pick(&r, &get("/my-uri", "domain.org")), Some(1));
}

#[test]
fn paths_of_different_kinds_are_split_into_groups() {
    let host = strings(&["domain-1.org"]);
    let r = router(&[
        RouteSpec {
            paths: strings(&["~/some/thing/else", "/foo"]),
            hosts: host.clone(),
            ..route(0x8101)
        },
        RouteSpec {
            paths: strings(&["/foo/bar"]),
            hosts: host.clone(),
            ..route(0x8102)
        },
    ]);
    assert_eq!(pick(&r, &get("/some/thing/else", "domain-1.org")), Some(0));
    assert_eq!(
        pick(&r, &get("/foo/bar", "domain-1.org")),
        Some(1),
        "the /foo group has its own priority"
    );
    assert_eq!(pick(&r, &get("/foo", "domain-1.org")), Some(0));

    let r = router(&[
        RouteSpec {
            paths: strings(&["/foo", "/foo/bar/baz"]),
            hosts: host.clone(),
            ..route(0x8101)
        },
        RouteSpec {
            paths: strings(&["/foo/bar"]),
            hosts: host,
            ..route(0x8102)
        },
    ]);
    assert_eq!(pick(&r, &get("/foo", "domain-1.org")), Some(0));
    assert_eq!(pick(&r, &get("/foo/bar", "domain-1.org")), Some(1));
    assert_eq!(pick(&r, &get("/foo/bar/baz/x", "domain-1.org")), Some(0));

    let r = router(&[
        RouteSpec {
            paths: strings(&["/a", "/bbbbbbb"]),
            ..route(0x8101)
        },
        RouteSpec {
            paths: strings(&["/a/bb"]),
            ..route(0x8102)
        },
    ]);
    assert_eq!(pick(&r, &get("/a/bb/foobar", "domain.org")), Some(1));
}

#[test]
fn split_groups_get_kongs_uuid5_ids() {
    // Groups of route 8101: "/aa" is #1 (086b6591-...), "/b" is #2 (f3f66107-...). Each ties
    // with a rival of the same priority whose id sits between the group's id and 8101's own.
    let r = router(&[
        RouteSpec {
            paths: strings(&["/aa", "/b"]),
            ..route(0x8101)
        },
        RouteSpec {
            id: "10000000-0000-4000-8000-000000000000".into(),
            paths: strings(&["/aa"]),
            ..RouteSpec::default()
        },
        RouteSpec {
            id: "80000000-0000-4000-8000-000000000000".into(),
            paths: strings(&["/b"]),
            ..RouteSpec::default()
        },
    ]);
    assert_eq!(
        pick(&r, &get("/aa", "a.com")),
        Some(1),
        "086b6591-... loses to 10000000-..."
    );
    assert_eq!(
        pick(&r, &get("/b", "a.com")),
        Some(0),
        "f3f66107-... beats 80000000-..."
    );
}

#[test]
fn sni_is_checked_for_https_only() {
    let r = router(&[RouteSpec {
        snis: strings(&["www.example.org."]),
        paths: strings(&["/"]),
        ..route(0x8101)
    }]);
    assert_eq!(
        pick(&r, &get("/", "x").https(Some("www.example.org"))),
        Some(0)
    );
    assert_eq!(pick(&r, &get("/", "x").https(Some("other.org"))), None);
    assert_eq!(pick(&r, &get("/", "x").https(None)), None);
    assert_eq!(pick(&r, &get("/", "x")), Some(0), "plain http ignores snis");
}

#[test]
fn sources_and_destinations() {
    let r = router(&[
        RouteSpec {
            sources: vec![IpPort {
                ip: Some("192.168.0.0/16".into()),
                port: None,
            }],
            ..route(0x8101)
        },
        RouteSpec {
            destinations: vec![IpPort {
                ip: None,
                port: Some(8443),
            }],
            ..route(0x8102)
        },
    ]);
    assert_eq!(
        pick(&r, &get("/", "a.com").client("192.168.10.1:4000")),
        Some(0)
    );
    assert_eq!(
        pick(&r, &get("/", "a.com").client("[::ffff:192.168.10.1]:4000")),
        Some(0)
    );
    assert_eq!(pick(&r, &get("/", "a.com").local("10.0.0.2:8443")), Some(1));
    assert_eq!(
        pick(&r, &get("/", "a.com:8443")),
        Some(1),
        "the Host port is net.dst.port"
    );
    assert_eq!(pick(&r, &get("/", "a.com")), None);
}

#[test]
fn stream_routes_are_left_out_and_indexes_stay_put() {
    let r = router(&[
        RouteSpec {
            protocols: strings(&["tcp"]),
            sources: vec![IpPort {
                ip: None,
                port: Some(1),
            }],
            ..route(0x8101)
        },
        RouteSpec {
            protocols: strings(&["grpc"]),
            paths: strings(&["/"]),
            ..route(0x8102)
        },
    ]);
    assert_eq!(pick(&r, &get("/", "a.com").client("10.0.0.1:1")), Some(1));
}

#[test]
fn the_request_path_is_normalised_before_matching() {
    let r = router(&[
        RouteSpec {
            paths: strings(&["/hello"]),
            ..route(0x8101)
        },
        RouteSpec {
            paths: strings(&["/endel%2Fst"]),
            ..route(0x8102)
        },
    ]);
    for uri in [
        "/hello",
        "/%68ello",
        "/x/../hello",
        "//hello",
        "/./hello",
        "/hello?q=/x",
        "/a/%2e%2e/hello",
    ] {
        assert_eq!(pick(&r, &get(uri, "a.com")), Some(0), "{uri}");
    }
    assert_eq!(
        pick(&r, &get("/x?/hello", "a.com")),
        None,
        "the query is not part of the path"
    );
    assert_eq!(
        pick(&r, &get("/endel%2fst", "a.com")),
        Some(1),
        "reserved escapes stay encoded"
    );
    assert_eq!(pick(&r, &get("/endel/st", "a.com")), None);
    assert_eq!(
        pick(&r, &get("/hello%FF", "a.com")),
        None,
        "a path that is not UTF-8 matches nothing"
    );
    let req = get("/a/../hello/./world?x=1", "a.com");
    let found = r.find(&req.info()).unwrap();
    assert_eq!(found.path(), "/hello/world");
}

#[test]
fn uri_captures() {
    let r = router(&[RouteSpec {
        paths: strings(&[r"~/users/(?P<user_id>\d+)/profile/?(?P<scope>[a-z]*)"]),
        ..route(0x8101)
    }]);
    let req = get("/users/1984/profile", "domain.org");
    let found = r.find(&req.info()).unwrap();
    let captures = found.uri_captures().unwrap();
    let some = |s: &str| Some(s.to_string());
    assert_eq!(
        captures.unnamed,
        vec![some("/users/1984/profile"), some("1984"), some("")]
    );
    assert_eq!(
        captures.named,
        vec![
            ("user_id".into(), "1984".into()),
            ("scope".into(), "".into())
        ]
    );

    let req = get("/users/1984/profile/email", "domain.org");
    let found = r.find(&req.info()).unwrap();
    assert_eq!(
        found.uri_captures().unwrap().named[1],
        ("scope".into(), "email".into())
    );

    let r = router(&[RouteSpec {
        // Kong's spec has `%` in the class too, which its route schema would reject.
        paths: strings(&[r"~/users/(?P<fullname>[a-zA-Z\s\d]+)/profile/?(?P<scope>[a-z]*)"]),
        ..route(0x8101)
    }]);
    let req = get("/users/%6aohn%20doe/profile", "domain.org");
    let found = r.find(&req.info()).unwrap();
    assert_eq!(
        found.uri_captures().unwrap().named[0],
        ("fullname".into(), "john doe".into()),
        "captured after normalising"
    );

    let r = router(&[
        RouteSpec {
            paths: strings(&[r"~/users/\d+/profile"]),
            ..route(0x8101)
        },
        RouteSpec {
            paths: strings(&["/hello"]),
            ..route(0x8102)
        },
        RouteSpec {
            paths: strings(&[r"~/opt(/x)?"]),
            ..route(0x8103)
        },
    ]);
    for uri in ["/users/1984/profile", "/hello/world", "/opt"] {
        let req = get(uri, "a.com");
        assert_eq!(r.find(&req.info()).unwrap().uri_captures(), None, "{uri}");
    }
}

#[test]
fn strip_path_removes_the_prefix_or_the_regex_match() {
    let r = router(&[
        RouteSpec {
            paths: strings(&["/my-route", "/xx-route"]),
            ..route(0x8101)
        },
        RouteSpec {
            methods: strings(&["POST"]),
            paths: strings(&["/my-route", "/xx-route"]),
            strip_path: false,
            ..route(0x8102)
        },
    ]);
    let found = |req: Req| {
        let m = r.find(&req.info()).unwrap();
        (
            m.route(),
            m.prefix().map(str::to_string),
            m.upstream_uri(None),
        )
    };
    assert_eq!(
        found(get("/my-route/hello/world", "d.org")),
        (0, Some("/my-route".into()), "/hello/world".into())
    );
    assert_eq!(
        found(get("/my-route", "d.org")),
        (0, Some("/my-route".into()), "/".into())
    );
    assert_eq!(
        found(get("/xx-route", "d.org")),
        (0, Some("/xx-route".into()), "/".into())
    );
    let post = Req::new("POST", "/my-route/hello/world", Some("d.org"));
    assert_eq!(found(post), (1, None, "/my-route/hello/world".into()));

    let r = router(&[RouteSpec {
        paths: strings(&["/"]),
        ..route(0x8101)
    }]);
    let req = get("/my-route/hello/world", "d.org");
    let m = r.find(&req.info()).unwrap();
    assert_eq!(
        (m.prefix(), m.upstream_uri(None).as_str()),
        (Some("/"), "/my-route/hello/world")
    );

    let r = router(&[RouteSpec {
        paths: strings(&["/endel%2Fst"]),
        ..route(0x8101)
    }]);
    let req = get("/endel%2Fst", "d.org");
    assert_eq!(r.find(&req.info()).unwrap().upstream_uri(None), "/");

    for path in [r"~/users/\d+/profile", r"~/users/(\d+)/profile"] {
        let r = router(&[RouteSpec {
            paths: strings(&[path]),
            ..route(0x8101)
        }]);
        let req = get("/users/123/profile/hello/world", "d.org");
        let m = r.find(&req.info()).unwrap();
        assert_eq!(m.prefix(), Some("/users/123/profile"));
        assert_eq!(m.matched_path(), Some("/users/123/profile"));
        assert_eq!(m.upstream_uri(None), "/hello/world");
    }
}

#[test]
fn query_is_re_appended_and_the_path_escaped() {
    let r = router(&[RouteSpec {
        paths: strings(&["/api"]),
        ..route(0x8101)
    }]);
    let upstream = |uri: &str| {
        r.find(&get(uri, "a.com").info())
            .unwrap()
            .upstream_uri(Some("/base"))
    };
    assert_eq!(upstream("/api/x?a=1&b=2"), "/base/x?a=1&b=2");
    assert_eq!(upstream("/api/x?"), "/base/x?", "a bare ? is kept");
    assert_eq!(upstream("/api/x"), "/base/x");
    assert_eq!(
        upstream("/api/john%20doe"),
        "/base/john%20doe",
        "decoded for matching, escaped upstream"
    );
    assert_eq!(upstream(r"/api/\d"), "/base/%5Cd");
    let req = get("/api/x?a=1", "a.com");
    let m = r.find(&req.info()).unwrap();
    assert_eq!(
        (m.query(), m.upstream_path(Some("/base")).as_str()),
        (Some("a=1"), "/base/x")
    );
}

/// (service path, route path or `None` to match on host, strip_path values, request, expected).
type PathHandlingRow = (
    &'static str,
    Option<&'static str>,
    &'static [bool],
    &'static str,
    &'static str,
);

/// `spec/fixtures/router_path_handling_tests.lua`, the `v0` rows.
const PATH_HANDLING: &[PathHandlingRow] = &[
    ("/", Some("/"), &[false, true], "/", "/"),
    ("/", Some("/"), &[false, true], "/route", "/route"),
    ("/", Some("/"), &[false, true], "/route/", "/route/"),
    ("/", Some("/"), &[false, true], "/routereq", "/routereq"),
    ("/", Some("/"), &[false, true], "/route/req", "/route/req"),
    ("/", Some("/route"), &[false], "/route", "/route"),
    ("/", Some("/route"), &[false], "/route/", "/route/"),
    ("/", Some("/route"), &[false], "/routereq", "/routereq"),
    ("/", Some("/route"), &[true], "/route", "/"),
    ("/", Some("/route"), &[true], "/route/", "/"),
    ("/", Some("/route"), &[true], "/routereq", "/req"),
    ("/", Some("/route/"), &[false], "/route/", "/route/"),
    ("/", Some("/route/"), &[false], "/route/req", "/route/req"),
    ("/", Some("/route/"), &[true], "/route/", "/"),
    ("/", Some("/route/"), &[true], "/route/req", "/req"),
    ("/srv", Some("/rou"), &[false], "/roureq", "/srv/roureq"),
    ("/srv", Some("/rou"), &[true], "/roureq", "/srv/req"),
    ("/srv/", Some("/rou"), &[false], "/rou", "/srv/rou"),
    ("/srv/", Some("/rou"), &[true], "/rou", "/srv"),
    ("/service", Some("/"), &[false, true], "/", "/service"),
    (
        "/service",
        Some("/"),
        &[false, true],
        "/route",
        "/service/route",
    ),
    (
        "/service",
        Some("/"),
        &[false, true],
        "/route/",
        "/service/route/",
    ),
    (
        "/service",
        Some("/"),
        &[false, true],
        "/routereq",
        "/service/routereq",
    ),
    (
        "/service",
        Some("/"),
        &[false, true],
        "/route/req",
        "/service/route/req",
    ),
    (
        "/service",
        Some("/route"),
        &[false],
        "/route",
        "/service/route",
    ),
    (
        "/service",
        Some("/route"),
        &[false],
        "/route/",
        "/service/route/",
    ),
    (
        "/service",
        Some("/route"),
        &[false],
        "/routereq",
        "/service/routereq",
    ),
    ("/service", Some("/route"), &[true], "/route", "/service"),
    ("/service", Some("/route"), &[true], "/route/", "/service/"),
    (
        "/service",
        Some("/route"),
        &[true],
        "/routereq",
        "/service/req",
    ),
    (
        "/service",
        Some("/route/"),
        &[false],
        "/route/",
        "/service/route/",
    ),
    (
        "/service",
        Some("/route/"),
        &[false],
        "/route/req",
        "/service/route/req",
    ),
    ("/service", Some("/route/"), &[true], "/route/", "/service/"),
    (
        "/service",
        Some("/route/"),
        &[true],
        "/route/req",
        "/service/req",
    ),
    (
        "/service/",
        Some("/"),
        &[false, true],
        "/route/",
        "/service/route/",
    ),
    ("/service/", Some("/"), &[false, true], "/", "/service/"),
    (
        "/service/",
        Some("/"),
        &[false, true],
        "/route",
        "/service/route",
    ),
    (
        "/service/",
        Some("/"),
        &[false, true],
        "/routereq",
        "/service/routereq",
    ),
    (
        "/service/",
        Some("/"),
        &[false, true],
        "/route/req",
        "/service/route/req",
    ),
    (
        "/service/",
        Some("/route"),
        &[false],
        "/route",
        "/service/route",
    ),
    (
        "/service/",
        Some("/route"),
        &[false],
        "/route/",
        "/service/route/",
    ),
    (
        "/service/",
        Some("/route"),
        &[false],
        "/routereq",
        "/service/routereq",
    ),
    ("/service/", Some("/route"), &[true], "/route", "/service"),
    ("/service/", Some("/route"), &[true], "/route/", "/service/"),
    (
        "/service/",
        Some("/route"),
        &[true],
        "/routereq",
        "/service/req",
    ),
    (
        "/service/",
        Some("/route/"),
        &[false],
        "/route/",
        "/service/route/",
    ),
    (
        "/service/",
        Some("/route/"),
        &[false],
        "/route/req",
        "/service/route/req",
    ),
    (
        "/service/",
        Some("/route/"),
        &[true],
        "/route/",
        "/service/",
    ),
    (
        "/service/",
        Some("/route/"),
        &[true],
        "/route/req",
        "/service/req",
    ),
    ("/", None, &[false, true], "/", "/"),
    ("/", None, &[false, true], "/route", "/route"),
    ("/", None, &[false, true], "/route/", "/route/"),
    ("/service", None, &[false, true], "/", "/service"),
    ("/service", None, &[false, true], "/route", "/service/route"),
    (
        "/service",
        None,
        &[false, true],
        "/route/",
        "/service/route/",
    ),
    ("/service/", None, &[false, true], "/", "/service/"),
    (
        "/service/",
        None,
        &[false, true],
        "/route",
        "/service/route",
    ),
    (
        "/service/",
        None,
        &[false, true],
        "/route/",
        "/service/route/",
    ),
];

#[test]
fn upstream_path_joining_as_kongs_path_handling_table() {
    for &(service_path, route_path, strips, request, expected) in PATH_HANDLING {
        // Kong runs each path row a second time as the regex "~/[0]?<path>", which matches the same text.
        let as_regex = route_path.map(|path| format!("~/[0]?{}", &path[1..]));
        for paths in [route_path.map(str::to_string), as_regex] {
            for &strip_path in strips {
                let spec = RouteSpec {
                    hosts: strings(&["localbin.com"]),
                    paths: paths.iter().cloned().collect(),
                    strip_path,
                    ..route(0x8101)
                };
                let r = router(&[spec]);
                let req = get(request, "localbin.com");
                let got = r
                    .find(&req.info())
                    .map(|m| m.upstream_uri(Some(service_path)));
                assert_eq!(
                    got.as_deref(),
                    Some(expected),
                    "service {service_path}, route {paths:?}, strip {strip_path}, request {request}"
                );
            }
        }
    }
}

#[test]
fn errors_name_the_route_and_the_problem() {
    let err = |spec: RouteSpec| Router::new(&[spec]).unwrap_err().to_string();
    let named = RouteSpec {
        name: Some("users".into()),
        paths: strings(&["~/users/(?=x)"]),
        ..route(0x8101)
    };
    let message = err(named);
    assert!(
        message.starts_with("route 'users (e8fb37f1-102d-461e-9c51-6608a6bb8101)': paths: invalid regex: '/users/(?=x)' ("),
        "{message}"
    );
    assert!(err(RouteSpec {
        hosts: strings(&["a.*.com"]),
        ..route(0x8101)
    })
    .contains("hosts: invalid wildcard"));
    assert!(err(RouteSpec {
        hosts: strings(&["*.*.com"]),
        ..route(0x8101)
    })
    .contains("at most one wildcard"));
    assert!(err(RouteSpec {
        paths: strings(&["api"]),
        ..route(0x8101)
    })
    .contains("paths: should start with: / (fixed path) or ~/ (regex path)"));
    assert!(err(RouteSpec {
        paths: strings(&["/a/./b"]),
        ..route(0x8101)
    })
    .contains("consider use '/a/b' instead"));
    assert!(err(RouteSpec {
        headers: vec![header("Host", &["a"])],
        ..route(0x8101)
    })
    .contains("headers: cannot contain 'host' header"));
    assert!(err(RouteSpec {
        methods: strings(&["get"]),
        ..route(0x8101)
    })
    .contains("methods: invalid value 'get'"));
    let not_uuid = RouteSpec {
        id: "my-route".into(),
        paths: strings(&["/"]),
        ..RouteSpec::default()
    };
    assert_eq!(err(not_uuid), "route 'my-route': id: expected a UUID");
    assert!(err(route(0x8101)).contains("must set one of 'methods', 'hosts'"));
    let twice = RouteSpec {
        paths: strings(&["/"]),
        ..route(0x8101)
    };
    let message = Router::new(&[twice.clone(), twice])
        .unwrap_err()
        .to_string();
    assert!(message.contains("duplicate route id"), "{message}");
}
