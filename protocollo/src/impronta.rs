//! Document digests (`Impronta`).

use std::fmt;
use std::io::Read;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};

use crate::error::ImprontaError;

/// Digest algorithm of an `Impronta`.
///
/// The 2021 schema's default is `SHA-256`; the SHA-2 family members ring implements are
/// supported. Anything else (including SHA-1 and MD5, refused as weak) is kept as
/// [`DigestAlgorithm::Other`] so that a received segnatura still parses, and fails the check.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub enum DigestAlgorithm {
    /// SHA-256 (schema default).
    Sha256,
    /// SHA-384.
    Sha384,
    /// SHA-512.
    Sha512,
    /// An unsupported or refused algorithm, as written.
    Other(String),
}

impl DigestAlgorithm {
    /// Reads an algorithm name: `SHA-256`, `SHA256`, `sha-256` and the XML-DSig / XML-Enc URIs
    /// are all understood.
    pub fn from_name(s: &str) -> Self {
        let norm: String = s
            .trim()
            .rsplit(['#', '/'])
            .next()
            .unwrap_or("")
            .chars()
            .filter(|c| *c != '-' && *c != '_')
            .collect::<String>()
            .to_ascii_lowercase();
        match norm.as_str() {
            "sha256" => DigestAlgorithm::Sha256,
            "sha384" => DigestAlgorithm::Sha384,
            "sha512" => DigestAlgorithm::Sha512,
            _ => DigestAlgorithm::Other(s.to_owned()),
        }
    }

    /// The name written in `algoritmo`.
    pub fn name(&self) -> &str {
        match self {
            DigestAlgorithm::Sha256 => "SHA-256",
            DigestAlgorithm::Sha384 => "SHA-384",
            DigestAlgorithm::Sha512 => "SHA-512",
            DigestAlgorithm::Other(s) => s,
        }
    }

    fn ring(&self) -> Result<&'static ring::digest::Algorithm, ImprontaError> {
        match self {
            DigestAlgorithm::Sha256 => Ok(&ring::digest::SHA256),
            DigestAlgorithm::Sha384 => Ok(&ring::digest::SHA384),
            DigestAlgorithm::Sha512 => Ok(&ring::digest::SHA512),
            DigestAlgorithm::Other(s) => Err(ImprontaError::UnsupportedAlgorithm(s.clone())),
        }
    }

    /// Digest length in bytes, when supported.
    pub fn output_len(&self) -> Option<usize> {
        self.ring().ok().map(|a| a.output_len())
    }
}

impl From<String> for DigestAlgorithm {
    fn from(s: String) -> Self {
        DigestAlgorithm::from_name(&s)
    }
}

impl From<DigestAlgorithm> for String {
    fn from(a: DigestAlgorithm) -> String {
        a.name().to_owned()
    }
}

impl fmt::Display for DigestAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The digest of a document (`ImprontaType`): algorithm and value.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Impronta {
    /// Algorithm.
    pub algoritmo: DigestAlgorithm,
    /// Digest bytes (base64 in XML and JSON).
    #[serde(with = "b64")]
    pub valore: Vec<u8>,
}

mod b64 {
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD;
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&STANDARD.encode(v))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let s = String::deserialize(d)?;
        super::decode_b64(&s).map_err(serde::de::Error::custom)
    }
}

/// Decodes base64 ignoring XML whitespace.
pub(crate) fn decode_b64(s: &str) -> Result<Vec<u8>, ImprontaError> {
    let clean: String = s.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    STANDARD.decode(clean).map_err(|_| ImprontaError::Base64)
}

impl fmt::Debug for Impronta {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Impronta({}:{})", self.algoritmo, self.to_base64())
    }
}

impl Impronta {
    /// SHA-256 digest of `data`.
    pub fn sha256(data: &[u8]) -> Self {
        Impronta {
            algoritmo: DigestAlgorithm::Sha256,
            valore: ring::digest::digest(&ring::digest::SHA256, data)
                .as_ref()
                .to_vec(),
        }
    }

    /// Digest of `data` with `algoritmo`.
    ///
    /// # Errors
    /// [`ImprontaError::UnsupportedAlgorithm`] for algorithms other than SHA-256/384/512.
    pub fn compute(algoritmo: DigestAlgorithm, data: &[u8]) -> Result<Self, ImprontaError> {
        let a = algoritmo.ring()?;
        Ok(Impronta {
            valore: ring::digest::digest(a, data).as_ref().to_vec(),
            algoritmo,
        })
    }

    /// Digest of everything `reader` yields, in 64 KiB chunks.
    ///
    /// # Errors
    /// Unsupported algorithm, or the reader's error (reported with `nome_file`).
    pub fn compute_reader(
        algoritmo: DigestAlgorithm,
        nome_file: &str,
        mut reader: impl Read,
    ) -> Result<Self, ImprontaError> {
        let mut ctx = ring::digest::Context::new(algoritmo.ring()?);
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = reader.read(&mut buf).map_err(|e| ImprontaError::Io {
                nome_file: nome_file.to_owned(),
                message: e.to_string(),
            })?;
            if n == 0 {
                break;
            }
            ctx.update(&buf[..n]);
        }
        Ok(Impronta {
            valore: ctx.finish().as_ref().to_vec(),
            algoritmo,
        })
    }

    /// Reads `algoritmo` (None = schema default SHA-256) and the base64 value.
    ///
    /// # Errors
    /// [`ImprontaError::Base64`] when the value is not base64.
    pub fn from_base64(algoritmo: Option<&str>, value: &str) -> Result<Self, ImprontaError> {
        Ok(Impronta {
            algoritmo: algoritmo.map_or(DigestAlgorithm::Sha256, DigestAlgorithm::from_name),
            valore: decode_b64(value)?,
        })
    }

    /// The value in base64.
    pub fn to_base64(&self) -> String {
        STANDARD.encode(&self.valore)
    }

    /// Checks that `data` has this digest (constant-time comparison).
    ///
    /// # Errors
    /// Unsupported algorithm, wrong length, or [`ImprontaError::Mismatch`].
    pub fn check(&self, nome_file: &str, data: &[u8]) -> Result<(), ImprontaError> {
        let actual = Impronta::compute(self.algoritmo.clone(), data)?;
        self.compare(nome_file, &actual)
    }

    /// Checks the digest of everything `reader` yields.
    ///
    /// # Errors
    /// As [`Impronta::check`], plus read errors.
    pub fn check_reader(&self, nome_file: &str, reader: impl Read) -> Result<(), ImprontaError> {
        let actual = Impronta::compute_reader(self.algoritmo.clone(), nome_file, reader)?;
        self.compare(nome_file, &actual)
    }

    fn compare(&self, nome_file: &str, actual: &Impronta) -> Result<(), ImprontaError> {
        if self.valore.len() != actual.valore.len() {
            return Err(ImprontaError::Length {
                algorithm: match actual.algoritmo {
                    DigestAlgorithm::Sha384 => "SHA-384",
                    DigestAlgorithm::Sha512 => "SHA-512",
                    _ => "SHA-256",
                },
                expected: actual.valore.len(),
                found: self.valore.len(),
            });
        }
        let diff = self
            .valore
            .iter()
            .zip(&actual.valore)
            .fold(0u8, |acc, (a, b)| acc | (a ^ b));
        if diff == 0 {
            Ok(())
        } else {
            Err(ImprontaError::Mismatch {
                nome_file: nome_file.to_owned(),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_known_vector() {
        // SHA-256("abc")
        let i = Impronta::sha256(b"abc");
        assert_eq!(
            i.to_base64(),
            "ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0="
        );
        i.check("a", b"abc").unwrap();
        assert!(matches!(
            i.check("a", b"abd"),
            Err(ImprontaError::Mismatch { .. })
        ));
    }

    #[test]
    fn names() {
        assert_eq!(
            DigestAlgorithm::from_name("SHA256"),
            DigestAlgorithm::Sha256
        );
        assert_eq!(
            DigestAlgorithm::from_name("http://www.w3.org/2001/04/xmlenc#sha512"),
            DigestAlgorithm::Sha512
        );
        assert_eq!(
            DigestAlgorithm::from_name("sha-384"),
            DigestAlgorithm::Sha384
        );
        assert!(matches!(
            DigestAlgorithm::from_name("SHA-1"),
            DigestAlgorithm::Other(_)
        ));
    }

    #[test]
    fn sha1_refused() {
        let i = Impronta::from_base64(Some("SHA-1"), "qZk+NkcGgWq6PiVxeFDCbJzQ2J0=").unwrap();
        assert!(matches!(
            i.check("x", b"abc"),
            Err(ImprontaError::UnsupportedAlgorithm(_))
        ));
    }

    #[test]
    fn streaming_equals_oneshot() {
        let data = vec![7u8; 200_000];
        let a = Impronta::compute(DigestAlgorithm::Sha512, &data).unwrap();
        let b = Impronta::compute_reader(DigestAlgorithm::Sha512, "x", &data[..]).unwrap();
        assert_eq!(a, b);
    }
}
