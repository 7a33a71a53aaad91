//! A versionstamp is 10 bytes: the commit's version as a big-endian u64 and
//! two zero bytes, the layout denokv's SQLite backend uses.

pub use denokv_proto::Versionstamp;

pub fn from_version(version: u64) -> Versionstamp {
    let mut stamp = [0u8; 10];
    stamp[..8].copy_from_slice(&version.to_be_bytes());
    stamp
}

/// The version a stamp holds, if its batch index is zero and a double
/// represents the version exactly (below 2^53).
pub fn exact_version(stamp: &Versionstamp) -> Option<u64> {
    let (version, index) = stamp.split_at(8);
    let version = u64::from_be_bytes(version.try_into().ok()?);
    (index == [0, 0] && version < 1 << 53).then_some(version)
}

const HEX: &[u8; 16] = b"0123456789abcdef";

pub fn to_hex(stamp: &Versionstamp) -> String {
    let mut out = String::with_capacity(20);
    for byte in stamp {
        out.push(HEX[(byte >> 4) as usize] as char);
        out.push(HEX[(byte & 0xf) as usize] as char);
    }
    out
}

/// Parses the 20-hex-digit form; `None` for anything else.
pub fn parse_hex(text: &str) -> Option<Versionstamp> {
    let bytes = text.as_bytes();
    if bytes.len() != 20 {
        return None;
    }
    let mut stamp = [0u8; 10];
    for (i, pair) in bytes.chunks_exact(2).enumerate() {
        let high = (pair[0] as char).to_digit(16)?;
        let low = (pair[1] as char).to_digit(16)?;
        stamp[i] = (high * 16 + low) as u8;
    }
    Some(stamp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_versions() {
        assert_eq!(exact_version(&from_version(0)), Some(0));
        assert_eq!(exact_version(&from_version((1 << 53) - 1)), Some((1 << 53) - 1));
        assert_eq!(exact_version(&from_version(1 << 53)), None);
        let mut batched = from_version(7);
        batched[9] = 1;
        assert_eq!(exact_version(&batched), None);
    }

    #[test]
    fn hex_round_trip() {
        let stamp = from_version(0x0102_0304_0506_0708);
        let hex = to_hex(&stamp);
        assert_eq!(hex, "01020304050607080000");
        assert_eq!(parse_hex(&hex), Some(stamp));
        assert_eq!(parse_hex(&hex.to_uppercase()), Some(stamp));
    }

    #[test]
    fn rejects_bad_hex() {
        assert_eq!(parse_hex("0102"), None);
        assert_eq!(parse_hex("zz020304050607080000"), None);
        assert_eq!(parse_hex("é1020304050607080000"), None);
    }
}
