//! The metadata exchange: which protocol version, database and endpoints to
//! use, and the short-lived token for the data path.

use serde::Deserialize;

use super::url;
use crate::core::error::KvError;

pub const SUPPORTED_VERSIONS: &str = r#"{"supportedVersions":[1,2,3]}"#;

/// The JSON as sent (schema/kv-metadata-exchange-response.v*.json), read
/// into plain strings: denokv_proto's own type parses the date and UUID
/// through chrono and uuid, which cost the wasm tens of kilobytes.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawMetadata {
    version: u64,
    database_id: String,
    endpoints: Vec<RawEndpoint>,
    token: String,
    expires_at: String,
}

#[derive(Deserialize)]
struct RawEndpoint {
    url: String,
    consistency: String,
}

/// Never used: `parse` refuses metadata without a strong endpoint. It keeps
/// `endpoint` total without an index that could panic.
static FALLBACK: Endpoint = Endpoint {
    url: String::new(),
    strong: true,
};

#[derive(Debug, Clone)]
pub struct Endpoint {
    pub url: String,
    pub strong: bool,
}

#[derive(Debug, Clone)]
pub struct Metadata {
    pub version: u64,
    pub database_id: String,
    pub token: String,
    pub expires_at_ms: u64,
    pub endpoints: Vec<Endpoint>,
}

impl Metadata {
    /// Parses and checks a 200 response; `final_url` is the URL after
    /// redirects. Everything here came from the server, so every field is
    /// checked before use: a known version, http(s) endpoints (https ones
    /// when the metadata came over https), a strong one among them, a
    /// token and database id that fit in an HTTP header, a real date.
    pub fn parse(body: &[u8], final_url: &str) -> Result<Self, KvError> {
        let invalid = |why: String| KvError::type_error(format!("Invalid KV Connect metadata: {why}"));
        let raw: RawMetadata = serde_json::from_slice(body).map_err(|err| invalid(err.to_string()))?;
        if !(1..=3).contains(&raw.version) {
            return Err(invalid(format!("unsupported protocol version {}", raw.version)));
        }
        let mut endpoints = Vec::with_capacity(raw.endpoints.len().min(16));
        for endpoint in &raw.endpoints {
            let url = if raw.version >= 2 {
                url::resolve(final_url, &endpoint.url)
            } else {
                Some(endpoint.url.to_string())
            };
            let url = url
                .filter(|url| url::is_http(url) && !url.contains(['\r', '\n', '\0']))
                .ok_or_else(|| invalid(format!("bad endpoint URL {:?}", endpoint.url)))?;
            if url::is_https(final_url) && !url::is_https(&url) {
                return Err(invalid(format!(
                    "endpoint URL {:?} is not https, while the metadata came over https",
                    endpoint.url
                )));
            }
            endpoints.push(Endpoint {
                url: url.trim_end_matches('/').to_string(),
                strong: endpoint.consistency == "strong",
            });
        }
        if !endpoints.iter().any(|e| e.strong) {
            return Err(invalid("no strongly consistent endpoint".to_string()));
        }
        for (name, value) in [("token", &raw.token), ("databaseId", &raw.database_id)] {
            if !value.bytes().all(|b| (0x20..0x7f).contains(&b)) {
                return Err(invalid(format!("{name} is not printable ASCII")));
            }
        }
        let expires_at_ms =
            rfc3339_ms(&raw.expires_at).ok_or_else(|| invalid(format!("bad expiresAt {:?}", raw.expires_at)))?;
        Ok(Self {
            version: raw.version,
            database_id: raw.database_id,
            token: raw.token,
            expires_at_ms,
            endpoints,
        })
    }

    /// Whether to exchange again: shortly before expiry, as the protocol asks.
    pub fn needs_refresh(&self, now_ms: u64) -> bool {
        const MARGIN_MS: u64 = 60_000;
        now_ms.saturating_add(MARGIN_MS) >= self.expires_at_ms
    }

    /// An eventual read may use any endpoint; everything else the strong one.
    pub fn endpoint(&self, strong: bool) -> &Endpoint {
        let preferred = self.endpoints.iter().find(|e| e.strong == strong);
        preferred.unwrap_or_else(|| self.strong_endpoint())
    }

    fn strong_endpoint(&self) -> &Endpoint {
        // `parse` guarantees one exists, so `endpoints` is never empty.
        self.endpoints
            .iter()
            .find(|e| e.strong)
            .or(self.endpoints.first())
            .unwrap_or(&FALLBACK)
    }
}

/// Milliseconds since the epoch of an RFC 3339 date-time
/// (`2024-01-02T03:04:05.678Z`, `...+02:00`); None if malformed or before 1970.
fn rfc3339_ms(text: &str) -> Option<u64> {
    let bytes = text.as_bytes();
    let number = |range: std::ops::Range<usize>| -> Option<i64> {
        let digits = text.get(range)?;
        digits
            .bytes()
            .all(|b| b.is_ascii_digit())
            .then(|| digits.parse().ok())?
    };
    if bytes.len() < 20 || bytes[4] != b'-' || bytes[7] != b'-' || !matches!(bytes[10], b'T' | b't' | b' ') {
        return None;
    }
    let (year, month, day) = (number(0..4)?, number(5..7)?, number(8..10)?);
    let (hour, minute, second) = (number(11..13)?, number(14..16)?, number(17..19)?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let mut rest = &text[19..];
    let mut millis = 0i64;
    if let Some(fraction) = rest.strip_prefix('.') {
        let digits = fraction.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        let first_three = format!("{:0<3}", &fraction[..digits.min(3)]);
        millis = first_three.parse().ok()?;
        rest = &fraction[digits..];
    }
    let offset_minutes = match rest.as_bytes() {
        [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] if [h1, h2, m1, m2].iter().all(|b| b.is_ascii_digit()) => {
            let hours = i64::from((h1 - b'0') * 10 + (h2 - b'0'));
            let minutes = i64::from((m1 - b'0') * 10 + (m2 - b'0'));
            let total = hours * 60 + minutes;
            if *sign == b'+' {
                total
            } else {
                -total
            }
        }
        _ => return None,
    };
    // Days from the civil date (Howard Hinnant's algorithm).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let year_of_era = y - era * 400;
    let day_of_year = (153 * (month + if month > 2 { -3 } else { 9 }) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    let days = era * 146_097 + day_of_era - 719_468;
    let seconds = days * 86_400 + hour * 3_600 + minute * 60 + second - offset_minutes * 60;
    u64::try_from(seconds * 1_000 + millis).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const V2: &str = r#"{"version":2,"databaseId":"8d5fa0e0-6b3a-4a0e-8a7b-3f1f0d7f5a10",
        "endpoints":[{"url":"/v2","consistency":"strong"},{"url":"https://replica.example/v2","consistency":"eventual"}],
        "token":"t0k3n","expiresAt":"2030-01-01T00:00:00Z"}"#;

    #[test]
    fn parses_v2_metadata_and_resolves_endpoints_against_the_final_url() {
        let metadata = Metadata::parse(V2.as_bytes(), "http://127.0.0.1:4512/").expect("valid");
        assert_eq!(metadata.version, 2);
        assert_eq!(metadata.token, "t0k3n");
        assert_eq!(metadata.endpoint(true).url, "http://127.0.0.1:4512/v2");
        assert_eq!(metadata.endpoint(false).url, "https://replica.example/v2");
        assert!(!metadata.needs_refresh(0));
        assert!(metadata.needs_refresh(metadata.expires_at_ms - 1_000));
    }

    #[test]
    fn reads_rfc3339_date_times() {
        assert_eq!(rfc3339_ms("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(rfc3339_ms("2030-01-01T00:00:00Z"), Some(1_893_456_000_000));
        assert_eq!(rfc3339_ms("2024-02-29T12:34:56.789Z"), Some(1_709_210_096_789));
        assert_eq!(rfc3339_ms("2024-02-29T14:34:56.7891234+02:00"), Some(1_709_210_096_789));
        assert_eq!(rfc3339_ms("2024-02-29T12:34:56"), None);
        assert_eq!(rfc3339_ms("2024-13-01T00:00:00Z"), None);
        assert_eq!(rfc3339_ms("1969-12-31T23:59:59Z"), None);
    }

    #[test]
    fn rejects_metadata_without_a_strong_endpoint_or_with_an_unknown_version() {
        let no_strong = V2.replace(r#""consistency":"strong""#, r#""consistency":"eventual""#);
        assert!(Metadata::parse(no_strong.as_bytes(), "http://h/").is_err());
        let v9 = V2.replace(r#""version":2"#, r#""version":9"#);
        assert!(Metadata::parse(v9.as_bytes(), "http://h/").is_err());
        assert!(Metadata::parse(b"not json", "http://h/").is_err());
    }

    #[test]
    fn rejects_what_a_hostile_server_could_put_in_metadata() {
        let cases: Vec<(String, &str)> = vec![
            (V2.replace(r#""/v2""#, r#""javascript:alert(1)""#), "endpoint URL"),
            (V2.replace(r#""/v2""#, r#""file:///etc/passwd""#), "endpoint URL"),
            (V2.replace(r#""version":2"#, r#""version":18446744073709551616"#), "u64"),
            (V2.replace(r#""version":2"#, r#""version":-1"#), "u64"),
            (V2.replace(r#""version":2"#, r#""version":1e400"#), "out of range"),
            (V2.replace(r#""version":2"#, r#""version":"2""#), "u64"),
            (V2.replace("t0k3n", "t0k3n\\r\\nx-evil: 1"), "token"),
            (V2.replace("t0k3n", "t\\u0000"), "token"),
            (V2.replace("8d5fa0e0", "8d5fa0e0\\n"), "databaseId"),
            (V2.replace("2030-01-01T00:00:00Z", "yesterday"), "expiresAt"),
            (V2.replace("2030-01-01T00:00:00Z", "99999-01-01T00:00:00Z"), "expiresAt"),
            (
                V2.replace(
                    r#""endpoints":["#,
                    r#""endpoints":[{"url":"/a","consistency":"eventual"},"#,
                )
                .replace(r#""consistency":"strong""#, r#""consistency":"Strong""#),
                "strong",
            ),
            (r#"{"version":2}"#.to_string(), "missing field"),
            (format!(r#"{{"extra":{}"#, "[".repeat(10_000)), "EOF"),
            (format!(r#"{{"endpoints":{}"#, "[".repeat(10_000)), "expected a string"),
            (String::new(), "EOF"),
        ];
        for (body, why) in cases {
            let err = Metadata::parse(body.as_bytes(), "http://h/").expect_err(&body[..body.len().min(80)]);
            assert!(err.message.contains(why), "{why}: {}", err.message);
        }
        assert!(Metadata::parse(&[0xff, 0xfe, b'{'], "http://h/").is_err(), "not UTF-8");
        // Nesting in a field that is skipped, as deep as the 256 KiB cap
        // allows: serde_json skips it without recursing.
        let deep = format!(r#"{{"extra":{}{}}}"#, "[".repeat(130_000), "]".repeat(130_000));
        assert!(Metadata::parse(deep.as_bytes(), "http://h/").is_err(), "no other field");
        let downgrade = V2.replace(r#""/v2""#, r#""http://h/v2""#);
        let err = Metadata::parse(downgrade.as_bytes(), "https://h/").expect_err("downgrade");
        assert!(err.message.contains("not https"), "{}", err.message);
        assert!(
            Metadata::parse(downgrade.as_bytes(), "http://h/").is_ok(),
            "http from http is fine"
        );
    }
}
