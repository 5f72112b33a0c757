//! Positions in the changes feed, as the opaque strings clients hold:
//! `d.{seq}.{hex path}` (listing folders after that path), `f.{seq}.{file id}`
//! (listing files after that id), `c.{seq}` (changes numbered after `seq`).
//! `seq` is where the changes phase starts once the listing is done.
use uuid::Uuid;

use crate::service::error::{Code, Error, Result};

/// Longest cursor accepted.
pub const MAX_CURSOR: usize = 8_192;

/// A position in the feed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Cursor {
    /// Listing folders after `after` (`None`: from the first).
    Folders { seq: i64, after: Option<String> },
    /// Listing files after `after` (`None`: from the first).
    Files { seq: i64, after: Option<Uuid> },
    /// Changes numbered after `seq`.
    Changes { seq: i64 },
}

impl Cursor {
    pub(super) fn encode(&self) -> String {
        match self {
            Self::Folders { seq, after } => {
                format!("d.{seq}.{}", hex::encode(after.as_deref().unwrap_or("")))
            }
            Self::Files { seq, after } => match after {
                Some(id) => format!("f.{seq}.{}", id.simple()),
                None => format!("f.{seq}."),
            },
            Self::Changes { seq } => format!("c.{seq}"),
        }
    }

    pub(super) fn decode(s: &str) -> Result<Self> {
        let bad = || Error::new(Code::InvalidInput, "cursor is not one this server gave out");
        if s.len() > MAX_CURSOR {
            return Err(bad());
        }
        let mut parts = s.splitn(3, '.');
        let (phase, seq, rest) = (parts.next(), parts.next(), parts.next());
        let seq: i64 = seq.and_then(|n| n.parse().ok()).ok_or_else(bad)?;
        if seq < 0 {
            return Err(bad());
        }
        match (phase, rest) {
            (Some("c"), None) => Ok(Self::Changes { seq }),
            (Some("d"), Some(hex_path)) => {
                let after = if hex_path.is_empty() {
                    None
                } else {
                    let bytes = hex::decode(hex_path).map_err(|_| bad())?;
                    Some(String::from_utf8(bytes).map_err(|_| bad())?)
                };
                Ok(Self::Folders { seq, after })
            }
            (Some("f"), Some("")) => Ok(Self::Files { seq, after: None }),
            (Some("f"), Some(id)) => Ok(Self::Files {
                seq,
                after: Some(Uuid::parse_str(id).map_err(|_| bad())?),
            }),
            _ => Err(bad()),
        }
    }

    pub(super) fn seq(&self) -> i64 {
        match self {
            Self::Folders { seq, .. } | Self::Files { seq, .. } | Self::Changes { seq } => *seq,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_junk_is_refused() {
        let cursors = [
            Cursor::Folders {
                seq: 7,
                after: None,
            },
            Cursor::Folders {
                seq: 7,
                after: Some("/Fotos/Ünïcode.d".into()),
            },
            Cursor::Files {
                seq: 0,
                after: None,
            },
            Cursor::Files {
                seq: 3,
                after: Some(Uuid::from_u128(42)),
            },
            Cursor::Changes { seq: 12_345 },
        ];
        for cursor in cursors {
            assert_eq!(Cursor::decode(&cursor.encode()).expect("decodes"), cursor);
        }
        for junk in [
            "",
            "c",
            "c.",
            "c.-1",
            "c.1.2",
            "x.1",
            "d.1.zz",
            "f.1.nope",
            "c.99999999999999999999",
        ] {
            assert!(Cursor::decode(junk).is_err(), "{junk:?} must be refused");
        }
        assert!(Cursor::decode(&"c".repeat(MAX_CURSOR + 1)).is_err());
    }
}
