//! Checksums a client may send with a piece of an appended upload: SHA-1 (which
//! tus requires of every server supporting checksums), SHA-256 and MD5.
use sha2::Digest;

use crate::service::Code;
use crate::service::error::{Error, Result};

/// A checksum algorithm Ferry verifies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Algorithm {
    Sha1,
    Sha256,
    Md5,
}

impl Algorithm {
    /// Every algorithm, in the order servers advertise them.
    pub const ALL: [Algorithm; 3] = [Algorithm::Sha1, Algorithm::Sha256, Algorithm::Md5];

    /// The algorithm's name as tus spells it.
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Sha1 => "sha1",
            Algorithm::Sha256 => "sha256",
            Algorithm::Md5 => "md5",
        }
    }

    /// The algorithm called `name` (case-insensitive); unknown is `unsupported_checksum`.
    pub fn parse(name: &str) -> Result<Self> {
        Self::ALL
            .into_iter()
            .find(|a| a.name().eq_ignore_ascii_case(name))
            .ok_or_else(|| {
                Error::new(
                    Code::UnsupportedChecksum,
                    format!(
                        "checksum algorithm {name:?} is not supported: use sha1, sha256 or md5"
                    ),
                )
            })
    }

    fn digest_len(self) -> usize {
        match self {
            Algorithm::Sha1 => 20,
            Algorithm::Sha256 => 32,
            Algorithm::Md5 => 16,
        }
    }
}

/// The digest a client claims for the bytes of one request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checksum {
    pub algorithm: Algorithm,
    pub digest: Vec<u8>,
}

impl Checksum {
    /// A claimed digest, checked for the algorithm's length.
    pub fn new(algorithm: Algorithm, digest: Vec<u8>) -> Result<Self> {
        if digest.len() != algorithm.digest_len() {
            return Err(Error::new(
                Code::InvalidInput,
                format!(
                    "a {} checksum is {} bytes, not {}",
                    algorithm.name(),
                    algorithm.digest_len(),
                    digest.len()
                ),
            ));
        }
        Ok(Self { algorithm, digest })
    }
}

/// A running digest of one algorithm.
#[derive(Clone, Debug)]
pub(crate) enum Running {
    Sha1(sha1::Sha1),
    Sha256(sha2::Sha256),
    Md5(md5::Md5),
}

impl Running {
    pub(crate) fn new(algorithm: Algorithm) -> Self {
        match algorithm {
            Algorithm::Sha1 => Running::Sha1(sha1::Sha1::new()),
            Algorithm::Sha256 => Running::Sha256(sha2::Sha256::new()),
            Algorithm::Md5 => Running::Md5(md5::Md5::new()),
        }
    }

    pub(crate) fn update(&mut self, data: &[u8]) {
        match self {
            Running::Sha1(h) => h.update(data),
            Running::Sha256(h) => h.update(data),
            Running::Md5(h) => h.update(data),
        }
    }

    pub(crate) fn finish(self) -> Vec<u8> {
        match self {
            Running::Sha1(h) => h.finalize().to_vec(),
            Running::Sha256(h) => h.finalize().to_vec(),
            Running::Md5(h) => h.finalize().to_vec(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_match_known_values() {
        let known = [
            (Algorithm::Sha1, "a9993e364706816aba3e25717850c26c9cd0d89d"),
            (
                Algorithm::Sha256,
                "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
            ),
            (Algorithm::Md5, "900150983cd24fb0d6963f7d28e17f72"),
        ];
        for (algorithm, hex_digest) in known {
            let mut running = Running::new(algorithm);
            running.update(b"ab");
            running.update(b"c");
            assert_eq!(hex::encode(running.finish()), hex_digest, "{algorithm:?}");
        }
    }

    #[test]
    fn names_parse_and_lengths_are_checked() {
        assert_eq!(Algorithm::parse("SHA1").unwrap(), Algorithm::Sha1);
        assert_eq!(
            Algorithm::parse("crc32").unwrap_err().code(),
            Code::UnsupportedChecksum
        );
        assert!(Checksum::new(Algorithm::Md5, vec![0; 16]).is_ok());
        assert_eq!(
            Checksum::new(Algorithm::Md5, vec![0; 20])
                .unwrap_err()
                .code(),
            Code::InvalidInput
        );
    }
}
