//! Logos of services and organizations (`Logo`: `{logo}`, a base64 PNG). The PNG is checked
//! before anything is sent: signature, an `IHDR` first chunk of 13 bytes with valid fields,
//! every chunk's CRC, at least one `IDAT`, `IEND` last with nothing after it, and the size
//! rules asked for ([`LogoRules`]; the API itself sets no size).

use base64::Engine;
use serde::Serialize;

use crate::error::LogoError;

const SIGNATURE: [u8; 8] = [0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A];

/// Limits a logo must meet beyond being a well-formed PNG.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogoRules {
    /// Largest file, in bytes (default 1 MiB).
    pub max_bytes: usize,
    /// Smallest width and height, in pixels (default 1).
    pub min_side: u32,
    /// Largest width and height, in pixels (default 4096).
    pub max_side: u32,
    /// Whether width must equal height (default false).
    pub square: bool,
}

impl Default for LogoRules {
    fn default() -> Self {
        Self {
            max_bytes: 1 << 20,
            min_side: 1,
            max_side: 4096,
            square: false,
        }
    }
}

/// A PNG logo checked as the module documentation says.
#[derive(Clone, PartialEq, Eq)]
pub struct Logo {
    bytes: Vec<u8>,
    width: u32,
    height: u32,
}

impl std::fmt::Debug for Logo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Logo")
            .field("bytes", &self.bytes.len())
            .field("width", &self.width)
            .field("height", &self.height)
            .finish()
    }
}

#[derive(Serialize)]
pub(crate) struct LogoPayload {
    logo: String,
}

impl Logo {
    /// Checks a PNG with the default [`LogoRules`].
    ///
    /// # Errors
    /// [`LogoError`] naming what is wrong.
    pub fn png(bytes: impl Into<Vec<u8>>) -> Result<Self, LogoError> {
        Self::png_with(bytes, &LogoRules::default())
    }

    /// Checks a PNG with `rules`.
    ///
    /// # Errors
    /// [`LogoError`] naming what is wrong.
    pub fn png_with(bytes: impl Into<Vec<u8>>, rules: &LogoRules) -> Result<Self, LogoError> {
        let bytes = bytes.into();
        if bytes.is_empty() {
            return Err(LogoError::Empty);
        }
        if bytes.len() > rules.max_bytes {
            return Err(LogoError::TooLarge {
                max: rules.max_bytes,
                found: bytes.len(),
            });
        }
        let (width, height) = check_png(&bytes)?;
        let dims = |rule: String| LogoError::Dimensions {
            width,
            height,
            rule,
        };
        if width < rules.min_side || height < rules.min_side {
            return Err(dims(format!("at least {} on each side", rules.min_side)));
        }
        if width > rules.max_side || height > rules.max_side {
            return Err(dims(format!("at most {} on each side", rules.max_side)));
        }
        if rules.square && width != height {
            return Err(dims("must be square".to_owned()));
        }
        Ok(Self {
            bytes,
            width,
            height,
        })
    }

    /// Width in pixels.
    pub fn width(&self) -> u32 {
        self.width
    }

    /// Height in pixels.
    pub fn height(&self) -> u32 {
        self.height
    }

    /// The PNG.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    pub(crate) fn payload(&self) -> LogoPayload {
        LogoPayload {
            logo: base64::engine::general_purpose::STANDARD.encode(&self.bytes),
        }
    }
}

fn be32(b: &[u8], at: usize) -> Result<u32, LogoError> {
    b.get(at..at + 4)
        .map(|s| u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
        .ok_or(LogoError::Truncated { offset: b.len() })
}

/// Walks the chunks; returns the IHDR size.
fn check_png(b: &[u8]) -> Result<(u32, u32), LogoError> {
    if b.len() < 8 || b[..8] != SIGNATURE {
        return Err(LogoError::NotPng);
    }
    let mut at = 8;
    let mut first = true;
    let mut size = (0, 0);
    let mut idat = false;
    loop {
        let len = be32(b, at)?;
        let ty = b
            .get(at + 4..at + 8)
            .ok_or(LogoError::Truncated { offset: b.len() })?;
        let name = String::from_utf8_lossy(ty).into_owned();
        if len > 0x7fff_ffff {
            return Err(LogoError::Truncated { offset: b.len() });
        }
        let data_end = at + 8 + len as usize;
        if data_end + 4 > b.len() {
            return Err(LogoError::Truncated { offset: b.len() });
        }
        let data = &b[at + 8..data_end];
        if first {
            if ty != b"IHDR" || len != 13 {
                return Err(LogoError::MissingIhdr {
                    found: name,
                    length: len,
                });
            }
        } else if ty == b"IHDR" {
            return Err(LogoError::BadIhdr {
                reason: "a second IHDR chunk".to_owned(),
            });
        }
        let crc = be32(b, data_end)?;
        if crc32(&b[at + 4..data_end]) != crc {
            return Err(LogoError::BadCrc {
                chunk: name,
                offset: at,
            });
        }
        if first {
            size = check_ihdr(data)?;
            first = false;
        }
        if ty == b"IDAT" {
            idat = true;
        }
        at = data_end + 4;
        if ty == b"IEND" {
            if !idat {
                return Err(LogoError::NoImageData);
            }
            if at != b.len() {
                return Err(LogoError::TrailingData {
                    extra: b.len() - at,
                });
            }
            return Ok(size);
        }
    }
}

fn check_ihdr(d: &[u8]) -> Result<(u32, u32), LogoError> {
    let w = u32::from_be_bytes([d[0], d[1], d[2], d[3]]);
    let h = u32::from_be_bytes([d[4], d[5], d[6], d[7]]);
    let bad = |reason: String| Err(LogoError::BadIhdr { reason });
    if w == 0 || h == 0 || w > 0x7fff_ffff || h > 0x7fff_ffff {
        return bad(format!(
            "width and height must be 1..=2^31-1, found {w}x{h}"
        ));
    }
    let (depth, color) = (d[8], d[9]);
    let depth_ok = match color {
        0 => matches!(depth, 1 | 2 | 4 | 8 | 16),
        3 => matches!(depth, 1 | 2 | 4 | 8),
        2 | 4 | 6 => matches!(depth, 8 | 16),
        _ => return bad(format!("unknown colour type {color}")),
    };
    if !depth_ok {
        return bad(format!(
            "bit depth {depth} not allowed for colour type {color}"
        ));
    }
    if d[10] != 0 || d[11] != 0 || d[12] > 1 {
        return bad(format!(
            "compression {}, filter {}, interlace {} (expected 0, 0, 0 or 1)",
            d[10], d[11], d[12]
        ));
    }
    Ok((w, h))
}

/// CRC-32 (ISO 3309, as PNG uses it).
fn crc32(data: &[u8]) -> u32 {
    let mut c = 0xffff_ffffu32;
    for &byte in data {
        c ^= u32::from(byte);
        for _ in 0..8 {
            c = if c & 1 != 0 {
                0xedb8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
        }
    }
    c ^ 0xffff_ffff
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc_of_iend_is_the_known_constant() {
        // Every PNG ends with 00 00 00 00 49 45 4E 44 AE 42 60 82 (PNG spec, IEND).
        assert_eq!(crc32(b"IEND"), 0xAE42_6082);
    }
}
