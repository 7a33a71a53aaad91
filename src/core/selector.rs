//! List selectors and cursors, as Deno's `op_kv_snapshot_read` and
//! `op_kv_encode_cursor` define them. A cursor is the base64url (padded) of the
//! last key's bytes with the selector's common prefix removed.

use base64::engine::general_purpose::URL_SAFE;
use base64::Engine as _;

use super::error::KvError;
use super::key::successor;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selector {
    Prefixed {
        prefix: Vec<u8>,
        start: Option<Vec<u8>>,
        end: Option<Vec<u8>>,
    },
    Range {
        start: Vec<u8>,
        end: Vec<u8>,
    },
}

impl Selector {
    /// Builds a selector from encoded keys, rejecting the combinations Deno rejects.
    pub fn new(prefix: Option<Vec<u8>>, start: Option<Vec<u8>>, end: Option<Vec<u8>>) -> Result<Self, KvError> {
        match (prefix, start, end) {
            (Some(prefix), None, None) => Ok(Self::Prefixed {
                prefix,
                start: None,
                end: None,
            }),
            (Some(prefix), Some(start), None) => {
                if !start.starts_with(&prefix) || start.len() == prefix.len() {
                    return Err(KvError::type_error(
                        "Start key is not in the keyspace defined by prefix",
                    ));
                }
                Ok(Self::Prefixed {
                    prefix,
                    start: Some(start),
                    end: None,
                })
            }
            (Some(prefix), None, Some(end)) => {
                if !end.starts_with(&prefix) || end.len() == prefix.len() {
                    return Err(KvError::type_error("End key is not in the keyspace defined by prefix"));
                }
                Ok(Self::Prefixed {
                    prefix,
                    start: None,
                    end: Some(end),
                })
            }
            (None, Some(start), Some(end)) => {
                if start > end {
                    return Err(KvError::type_error("Start key is greater than end key"));
                }
                Ok(Self::Range { start, end })
            }
            (None, Some(start), None) => {
                let end = successor(&start);
                Ok(Self::Range { start, end })
            }
            _ => Err(KvError::type_error("Invalid range")),
        }
    }

    fn start(&self) -> Option<&[u8]> {
        match self {
            Self::Prefixed { start, .. } => start.as_deref(),
            Self::Range { start, .. } => Some(start),
        }
    }

    fn end(&self) -> Option<&[u8]> {
        match self {
            Self::Prefixed { end, .. } => end.as_deref(),
            Self::Range { end, .. } => Some(end),
        }
    }

    pub fn common_prefix(&self) -> &[u8] {
        match self {
            Self::Prefixed { prefix, .. } => prefix,
            Self::Range { start, end } => {
                let shared = start.iter().zip(end).take_while(|(a, b)| a == b).count();
                &start[..shared]
            }
        }
    }

    fn range_start(&self) -> Vec<u8> {
        match self {
            Self::Prefixed { start: Some(start), .. } => start.clone(),
            Self::Range { start, .. } => start.clone(),
            Self::Prefixed { prefix, .. } => successor(prefix),
        }
    }

    fn range_end(&self) -> Vec<u8> {
        match self {
            Self::Prefixed { end: Some(end), .. } => end.clone(),
            Self::Range { end, .. } => end.clone(),
            Self::Prefixed { prefix, .. } => {
                let mut end = prefix.clone();
                end.push(0xff);
                end
            }
        }
    }

    /// The `[start, end)` byte range to read, resumed after `cursor` if given.
    pub fn bounds(&self, reverse: bool, cursor: Option<&str>) -> Result<(Vec<u8>, Vec<u8>), KvError> {
        let Some(cursor) = cursor else {
            return Ok((self.range_start(), self.range_end()));
        };
        let cursor = URL_SAFE
            .decode(cursor)
            .map_err(|_| KvError::type_error("invalid cursor"))?;
        let mut boundary = self.common_prefix().to_vec();
        boundary.extend_from_slice(&cursor);

        let (first, last) = if reverse {
            (self.range_start(), boundary)
        } else {
            (successor(&boundary), self.range_end())
        };
        if self.start().is_some_and(|start| first.as_slice() < start)
            || self.end().is_some_and(|end| last.as_slice() > end)
        {
            return Err(KvError::type_error("cursor out of bounds"));
        }
        Ok((first, last))
    }

    pub fn cursor_for(&self, boundary_key: &[u8]) -> Result<String, KvError> {
        let prefix = self.common_prefix();
        let rest = boundary_key
            .strip_prefix(prefix)
            .ok_or_else(|| KvError::type_error("Invalid boundary key"))?;
        Ok(URL_SAFE.encode(rest))
    }
}

/// The range a point read covers: the key itself and nothing after it.
pub fn point_range(key: Vec<u8>) -> denokv_proto::ReadRange {
    let end = successor(&key);
    denokv_proto::ReadRange {
        start: key,
        end,
        limit: std::num::NonZeroU32::MIN,
        reverse: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_excludes_the_prefix_itself() {
        let selector = Selector::new(Some(vec![2, b'a', 0]), None, None).expect("valid");
        let (start, end) = selector.bounds(false, None).expect("bounds");
        assert_eq!(start, vec![2, b'a', 0, 0]);
        assert_eq!(end, vec![2, b'a', 0, 0xff]);
    }

    #[test]
    fn cursor_resumes_after_boundary_forward_and_before_it_in_reverse() {
        let selector = Selector::new(Some(vec![2, b'a', 0]), None, None).expect("valid");
        let key = vec![2, b'a', 0, 2, b'k', 0];
        let cursor = selector.cursor_for(&key).expect("cursor");
        let (start, _) = selector.bounds(false, Some(&cursor)).expect("forward");
        assert_eq!(start, successor(&key));
        let (_, end) = selector.bounds(true, Some(&cursor)).expect("reverse");
        assert_eq!(end, key);
    }

    #[test]
    fn rejects_bad_cursors_and_selectors() {
        let selector = Selector::new(None, Some(vec![2, b'b', 0]), Some(vec![2, b'd', 0])).expect("valid");
        assert_eq!(
            selector.bounds(false, Some("!!")).unwrap_err().message,
            "invalid cursor"
        );
        let outside = URL_SAFE.encode([b'a', 0]);
        // common prefix of start and end is [2], so this cursor points at "a": before start.
        assert_eq!(
            selector.bounds(false, Some(&outside)).unwrap_err().message,
            "cursor out of bounds"
        );
        assert!(Selector::new(Some(vec![2, b'a', 0]), Some(vec![2, b'a', 0]), None).is_err());
        assert!(Selector::new(None, Some(vec![3]), Some(vec![2])).is_err());
    }
}
