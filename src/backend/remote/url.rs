//! Resolving a KV Connect endpoint URL against the metadata URL: absolute
//! URLs, absolute paths (`/v2`) and relative paths (`./v2`, `v2`), which is
//! what the protocol's schema allows.

pub fn resolve(base: &str, reference: &str) -> Option<String> {
    if reference.contains("://") {
        return Some(reference.to_string());
    }
    let scheme_end = base.find("://")? + 3;
    let authority_end = base[scheme_end..].find('/').map_or(base.len(), |i| scheme_end + i);
    let origin = &base[..authority_end];
    let path = base[authority_end..].split(['?', '#']).next().unwrap_or("");
    if let Some(absolute) = reference.strip_prefix('/') {
        return Some(format!("{origin}/{absolute}"));
    }
    let directory = path.rfind('/').map_or("", |i| &path[..i]);
    let mut segments: Vec<&str> = directory.split('/').filter(|s| !s.is_empty()).collect();
    for segment in reference.split('/') {
        match segment {
            "." | "" => {}
            ".." => {
                segments.pop();
            }
            other => segments.push(other),
        }
    }
    Some(format!("{origin}/{}", segments.join("/")))
}

#[cfg(test)]
mod tests {
    use super::resolve;

    #[test]
    fn resolves_like_the_url_standard_for_the_forms_kv_connect_uses() {
        let base = "http://127.0.0.1:4512/kv/connect";
        assert_eq!(resolve(base, "/v2").as_deref(), Some("http://127.0.0.1:4512/v2"));
        assert_eq!(resolve(base, "./v2").as_deref(), Some("http://127.0.0.1:4512/kv/v2"));
        assert_eq!(resolve(base, "v2").as_deref(), Some("http://127.0.0.1:4512/kv/v2"));
        assert_eq!(resolve(base, "../v2").as_deref(), Some("http://127.0.0.1:4512/v2"));
        assert_eq!(resolve("http://h:1", "/v2").as_deref(), Some("http://h:1/v2"));
        assert_eq!(resolve("http://h:1", "v2").as_deref(), Some("http://h:1/v2"));
        assert_eq!(
            resolve(base, "https://data.example.com/v1").as_deref(),
            Some("https://data.example.com/v1")
        );
        assert_eq!(resolve("not a url", "/v2"), None);
    }
}
