//! Keys are encoded with the denokv tuple codec, so that the byte order of
//! encoded keys is Deno KV's key order and encoded keys can cross the wire to
//! a denokv server unchanged.

use denokv_proto::{Key, KeyPart};

use super::error::KvError;

pub fn encode(parts: Vec<KeyPart>) -> Result<Vec<u8>, KvError> {
    denokv_proto::encode_key(&Key(parts)).map_err(|err| KvError::type_error(err.to_string()))
}

pub fn decode(bytes: &[u8]) -> Result<Vec<KeyPart>, KvError> {
    denokv_proto::decode_key(bytes)
        .map(|key| key.0)
        .map_err(|err| KvError::type_error(format!("invalid key in database: {err}")))
}

/// The first key after `key` and all of its extensions.
pub fn successor(key: &[u8]) -> Vec<u8> {
    let mut next = Vec::with_capacity(key.len() + 1);
    next.extend_from_slice(key);
    next.push(0);
    next
}

#[cfg(test)]
mod tests {
    use super::*;
    use num_bigint::BigInt;

    fn enc(parts: Vec<KeyPart>) -> Vec<u8> {
        encode(parts).expect("encodable")
    }

    #[test]
    fn type_order_matches_deno() {
        let ordered = [
            enc(vec![KeyPart::Bytes(vec![0xff])]),
            enc(vec![KeyPart::String(String::new())]),
            enc(vec![KeyPart::Int(BigInt::from(-1))]),
            enc(vec![KeyPart::Int(BigInt::from(1))]),
            enc(vec![KeyPart::Float(f64::NEG_INFINITY)]),
            enc(vec![KeyPart::Float(-0.0)]),
            enc(vec![KeyPart::Float(0.0)]),
            enc(vec![KeyPart::Float(f64::INFINITY)]),
            enc(vec![KeyPart::False]),
            enc(vec![KeyPart::True]),
        ];
        for pair in ordered.windows(2) {
            assert!(pair[0] < pair[1], "{:?} !< {:?}", pair[0], pair[1]);
        }
    }

    #[test]
    fn shorter_key_sorts_before_its_extensions() {
        let short = enc(vec![KeyPart::String("a".into())]);
        let long = enc(vec![KeyPart::String("a".into()), KeyPart::False]);
        assert!(short < long);
        let prefix_end: Vec<u8> = short.iter().copied().chain([0xff]).collect();
        assert!(successor(&short) <= long && long < prefix_end);
    }

    #[test]
    fn round_trips_every_part_type() {
        let parts = vec![
            KeyPart::Bytes(vec![0, 1, 0xff, 0]),
            KeyPart::String("a\0b\u{1F600}".into()),
            KeyPart::Int(BigInt::parse_bytes(b"-123456789012345678901234567890", 10).unwrap_or_default()),
            KeyPart::Float(-1.5),
            KeyPart::False,
            KeyPart::True,
        ];
        let decoded = decode(&enc(parts.clone())).expect("decodes");
        assert_eq!(decoded, parts);
    }
}
