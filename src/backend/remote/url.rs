//! The little URL handling KV Connect needs, on strings a server may have
//! chosen: resolving an endpoint or a redirect's `Location` against the URL
//! it came from (absolute URLs, `//host/path`, absolute paths `/v2` and
//! relative paths `./v2`, `v2`), and comparing origins.

/// `scheme://authority` and the rest (path, query, fragment), or None if
/// `url` has no `://`.
fn split(url: &str) -> Option<(&str, &str)> {
    let scheme_end = url.find("://")?.checked_add(3)?;
    let rest = url.get(scheme_end..)?;
    let authority_end = rest.find(['/', '?', '#']).map_or(url.len(), |i| scheme_end + i);
    Some((url.get(..authority_end)?, url.get(authority_end..)?))
}

pub fn resolve(base: &str, reference: &str) -> Option<String> {
    let reference = reference.split('#').next().unwrap_or("");
    if has_scheme(reference) {
        return Some(reference.to_string());
    }
    let (origin, rest) = split(base)?;
    if let Some(network_path) = reference.strip_prefix("//") {
        let scheme = &origin[..origin.find("://")?];
        return Some(format!("{scheme}://{network_path}"));
    }
    if let Some(absolute) = reference.strip_prefix('/') {
        return Some(format!("{origin}/{absolute}"));
    }
    let path = rest.split(['?', '#']).next().unwrap_or("");
    let directory = path.rfind('/').map_or("", |i| &path[..i]);
    let mut segments: Vec<&str> = directory.split('/').filter(|s| !s.is_empty()).collect();
    let (reference_path, query) = match reference.find('?') {
        Some(i) => (&reference[..i], &reference[i..]),
        None => (reference, ""),
    };
    for segment in reference_path.split('/') {
        match segment {
            "." | "" => {}
            ".." => {
                segments.pop();
            }
            other => segments.push(other),
        }
    }
    Some(format!("{origin}/{}{query}", segments.join("/")))
}

/// Whether `reference` starts with a scheme (`http:`, `javascript:`): it is
/// then absolute, whatever follows.
fn has_scheme(reference: &str) -> bool {
    let Some((scheme, _)) = reference.split_once(':') else {
        return false;
    };
    let mut chars = scheme.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
}

/// An http(s) URL's origin: lowercase scheme and host, and the port (the
/// scheme's default when none is written). None for anything else.
pub fn origin(url: &str) -> Option<(String, String, u16)> {
    let (origin, _) = split(url)?;
    let (scheme, authority) = origin.split_once("://")?;
    let scheme = scheme.to_ascii_lowercase();
    let default_port = match scheme.as_str() {
        "http" => 80,
        "https" => 443,
        _ => return None,
    };
    let host_port = authority.rsplit('@').next().unwrap_or(authority);
    let (host, port) = match host_port.rfind(':') {
        Some(i) if !host_port[i..].contains(']') => {
            let port = &host_port[i + 1..];
            let port = if port.is_empty() {
                default_port
            } else {
                port.parse().ok()?
            };
            (&host_port[..i], port)
        }
        _ => (host_port, default_port),
    };
    if host.is_empty() {
        return None;
    }
    Some((scheme, host.to_ascii_lowercase(), port))
}

/// Whether `url` is an http: or https: URL with a host.
pub fn is_http(url: &str) -> bool {
    origin(url).is_some()
}

pub fn is_https(url: &str) -> bool {
    origin(url).is_some_and(|(scheme, _, _)| scheme == "https")
}

/// `http://host:port` becomes `http://host:port/`, as the URL standard (and
/// so Deno's messages) writes it.
pub fn normalize(url: &str) -> String {
    match split(url) {
        Some((origin, "")) => format!("{origin}/"),
        Some((origin, rest)) if rest.starts_with(['?', '#']) => format!("{origin}/{rest}"),
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_like_the_url_standard_for_the_forms_kv_connect_uses() {
        let base = "http://127.0.0.1:4512/kv/connect";
        assert_eq!(resolve(base, "/v2").as_deref(), Some("http://127.0.0.1:4512/v2"));
        assert_eq!(resolve(base, "./v2").as_deref(), Some("http://127.0.0.1:4512/kv/v2"));
        assert_eq!(resolve(base, "v2").as_deref(), Some("http://127.0.0.1:4512/kv/v2"));
        assert_eq!(resolve(base, "../v2").as_deref(), Some("http://127.0.0.1:4512/v2"));
        assert_eq!(
            resolve(base, "v2?a=1").as_deref(),
            Some("http://127.0.0.1:4512/kv/v2?a=1")
        );
        assert_eq!(resolve("http://h:1", "/v2").as_deref(), Some("http://h:1/v2"));
        assert_eq!(resolve("http://h:1", "v2").as_deref(), Some("http://h:1/v2"));
        assert_eq!(resolve("http://h:1?q", "v2").as_deref(), Some("http://h:1/v2"));
        assert_eq!(resolve(base, "//other:9/x").as_deref(), Some("http://other:9/x"));
        assert_eq!(resolve(base, "/v2#frag").as_deref(), Some("http://127.0.0.1:4512/v2"));
        assert_eq!(
            resolve(base, "https://data.example.com/v1").as_deref(),
            Some("https://data.example.com/v1")
        );
        assert_eq!(
            resolve(base, "/go?to=http://x/").as_deref(),
            Some("http://127.0.0.1:4512/go?to=http://x/")
        );
        assert_eq!(
            resolve(base, "javascript:alert(1)").as_deref(),
            Some("javascript:alert(1)")
        );
        assert_eq!(resolve("not a url", "/v2"), None);
    }

    #[test]
    fn origins() {
        let o = |url| origin(url).map(|(s, h, p)| format!("{s} {h} {p}"));
        assert_eq!(o("http://127.0.0.1:4512/x").as_deref(), Some("http 127.0.0.1 4512"));
        assert_eq!(o("HTTP://Example.COM/").as_deref(), Some("http example.com 80"));
        assert_eq!(o("https://example.com:443").as_deref(), Some("https example.com 443"));
        assert_eq!(
            o("https://u:p@example.com:8443?x").as_deref(),
            Some("https example.com 8443")
        );
        assert_eq!(o("http://[::1]:80/").as_deref(), Some("http [::1] 80"));
        assert_eq!(o("http://[::1]/").as_deref(), Some("http [::1] 80"));
        assert_eq!(o("http://h:99999/"), None);
        assert_eq!(o("javascript://x/"), None);
        assert_eq!(o("http:///x"), None);
        assert_eq!(o("/relative"), None);
    }

    #[test]
    fn normalizes_an_empty_path_to_a_slash() {
        assert_eq!(normalize("http://127.0.0.1:1"), "http://127.0.0.1:1/");
        assert_eq!(normalize("http://127.0.0.1:1/"), "http://127.0.0.1:1/");
        assert_eq!(normalize("http://h/db"), "http://h/db");
        assert_eq!(normalize("http://h?x"), "http://h/?x");
    }
}
