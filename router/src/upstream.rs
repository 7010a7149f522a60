//! Kong's `get_upstream_uri_v0`: how the request path, the matched prefix and `service.path` make
//! the path sent upstream (route `path_handling = v0`, the only one the ATC routers support).

/// Kong's `sanitize_uri_postfix`: a postfix that starts with a dot segment loses it.
pub(crate) fn sanitize_uri_postfix(postfix: &str) -> &str {
    match postfix {
        "." | ".." => "",
        _ => postfix
            .strip_prefix("./")
            .or_else(|| postfix.strip_prefix("../"))
            .unwrap_or(postfix),
    }
}

/// Joins `upstream_base` (the service path, `/` when unset) with what is left of `request_path`:
/// with `strip_path` the `postfix` after the matched part, else the whole request path, adding or
/// dropping a `/` at the join and keeping a trailing slash the request had.
pub(crate) fn upstream_uri_v0(
    strip_path: bool,
    postfix: &str,
    request_path: &str,
    upstream_base: &str,
) -> String {
    if let Some(base_without_slash) = upstream_base.strip_suffix('/') {
        if !strip_path {
            return format!("{upstream_base}{}", request_path.get(1..).unwrap_or(""));
        }
        if postfix.is_empty() {
            if upstream_base == "/" {
                return "/".to_string();
            }
            if request_path.ends_with('/') {
                return upstream_base.to_string();
            }
            return base_without_slash.to_string();
        }
        if postfix.starts_with('/') {
            return format!("{base_without_slash}{postfix}");
        }
        return format!("{upstream_base}{postfix}");
    }
    if !strip_path {
        if request_path == "/" {
            return upstream_base.to_string();
        }
        return format!("{upstream_base}{request_path}");
    }
    if postfix.is_empty() {
        if request_path.len() > 1 && request_path.ends_with('/') {
            return format!("{upstream_base}/");
        }
        return upstream_base.to_string();
    }
    if postfix.starts_with('/') {
        return format!("{upstream_base}{postfix}");
    }
    format!("{upstream_base}/{postfix}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sanitizes_leading_dot_segments() {
        assert_eq!(sanitize_uri_postfix(""), "");
        assert_eq!(sanitize_uri_postfix("."), "");
        assert_eq!(sanitize_uri_postfix(".."), "");
        assert_eq!(sanitize_uri_postfix("./a"), "a");
        assert_eq!(sanitize_uri_postfix("../a"), "a");
        assert_eq!(sanitize_uri_postfix(".a"), ".a");
    }

    #[test]
    fn root_service_path_with_empty_postfix_is_root() {
        assert_eq!(upstream_uri_v0(true, "", "/route", "/"), "/");
        assert_eq!(upstream_uri_v0(true, "", "/route/", "/svc/"), "/svc/");
        assert_eq!(upstream_uri_v0(true, "", "/route", "/svc/"), "/svc");
        assert_eq!(upstream_uri_v0(false, "", "/", "/svc"), "/svc");
    }
}
