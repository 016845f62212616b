//! The creditor's logo (`ENTE.LOGO`): a PNG or JPEG image embedded in the PDF.
//!
//! The guide ("Intestazione", `ENTE.LOGO`, <https://docs.pagopa.it/avviso-pagamento/allegato-2/specifiche-tecniche/intestazione>)
//! reserves a 30 × 30 mm area for it and accepts, instead of a vector logo, "un file PNG
//! trasparente (o JPG con sfondo bianco)" at 300 dpi; a horizontal logo rests against the top
//! right corner of the area. A JPEG is embedded as it is (`DCTDecode`, only its header is read);
//! a PNG is decoded and embedded as deflated RGB with its transparency as a soft mask.

use std::io::Cursor;

/// Largest logo accepted, in bytes.
pub const MAX_LOGO_BYTES: usize = 4 * 1024 * 1024;
/// Largest logo side accepted, in pixels (30 mm at 300 dpi is 355 pixels).
pub const MAX_LOGO_PIXELS: u32 = 4000;

/// What is wrong with a logo image.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LogoProblem {
    /// Neither a PNG nor a JPEG signature.
    #[error("is neither a PNG nor a JPEG image")]
    UnknownFormat,
    /// The file is larger than [`MAX_LOGO_BYTES`].
    #[error("is {found} bytes long, at most {max} are accepted")]
    TooManyBytes {
        /// The limit.
        max: usize,
        /// The size found.
        found: usize,
    },
    /// A side is 0 or larger than [`MAX_LOGO_PIXELS`].
    #[error("is {width} × {height} pixels, each side must be 1 to {max}")]
    BadSize {
        /// Width found.
        width: u32,
        /// Height found.
        height: u32,
        /// The limit.
        max: u32,
    },
    /// The PNG could not be decoded.
    #[error("PNG: {0}")]
    Png(String),
    /// The JPEG header is damaged or truncated.
    #[error("JPEG: {0}")]
    Jpeg(&'static str),
    /// A JPEG that is not 8-bit greyscale or RGB (CMYK, 12-bit, ...).
    #[error("JPEG with {components} components of {bits} bits: only 8-bit greyscale or RGB")]
    JpegKind {
        /// Colour components.
        components: u8,
        /// Bits per component.
        bits: u8,
    },
}

/// The pixels of a logo, ready to embed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum LogoData {
    /// A JPEG file, embedded unchanged; `gray` when it has one component.
    Jpeg { bytes: Vec<u8>, gray: bool },
    /// Decoded RGB, 8 bits per component, and the alpha channel when not fully opaque.
    Rgb {
        rgb: Vec<u8>,
        alpha: Option<Vec<u8>>,
    },
}

/// A checked creditor logo (`ENTE.LOGO`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Logo {
    width: u32,
    height: u32,
    pub(crate) data: LogoData,
}

impl Logo {
    /// Reads a PNG or JPEG image (recognised by its signature).
    ///
    /// # Errors
    /// A [`LogoProblem`] naming what is wrong: unknown format, too large, damaged.
    pub fn parse(bytes: &[u8]) -> Result<Self, LogoProblem> {
        if bytes.len() > MAX_LOGO_BYTES {
            return Err(LogoProblem::TooManyBytes {
                max: MAX_LOGO_BYTES,
                found: bytes.len(),
            });
        }
        if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
            Self::png(bytes)
        } else if bytes.starts_with(&[0xFF, 0xD8]) {
            Self::jpeg(bytes)
        } else {
            Err(LogoProblem::UnknownFormat)
        }
    }

    /// Width in pixels.
    #[must_use]
    pub fn width(&self) -> u32 {
        self.width
    }

    /// Height in pixels.
    #[must_use]
    pub fn height(&self) -> u32 {
        self.height
    }

    /// Whether the image is embedded as a JPEG (else as deflated RGB).
    #[must_use]
    pub fn is_jpeg(&self) -> bool {
        matches!(self.data, LogoData::Jpeg { .. })
    }

    fn check_size(width: u32, height: u32) -> Result<(), LogoProblem> {
        if width == 0 || height == 0 || width > MAX_LOGO_PIXELS || height > MAX_LOGO_PIXELS {
            return Err(LogoProblem::BadSize {
                width,
                height,
                max: MAX_LOGO_PIXELS,
            });
        }
        Ok(())
    }

    fn png(bytes: &[u8]) -> Result<Self, LogoProblem> {
        let png = |e: image::ImageError| LogoProblem::Png(e.to_string());
        let reader = image::ImageReader::with_format(Cursor::new(bytes), image::ImageFormat::Png);
        let (width, height) = reader.into_dimensions().map_err(png)?;
        Self::check_size(width, height)?;
        let mut reader =
            image::ImageReader::with_format(Cursor::new(bytes), image::ImageFormat::Png);
        let mut limits = image::Limits::default();
        limits.max_image_width = Some(MAX_LOGO_PIXELS);
        limits.max_image_height = Some(MAX_LOGO_PIXELS);
        limits.max_alloc = Some(128 * 1024 * 1024);
        reader.limits(limits);
        let rgba = reader.decode().map_err(png)?.to_rgba8();
        let mut rgb = Vec::with_capacity(rgba.len() / 4 * 3);
        let mut alpha = Vec::with_capacity(rgba.len() / 4);
        for p in rgba.pixels() {
            rgb.extend_from_slice(&p.0[..3]);
            alpha.push(p.0[3]);
        }
        let alpha = alpha.iter().any(|&a| a != 255).then_some(alpha);
        Ok(Self {
            width,
            height,
            data: LogoData::Rgb { rgb, alpha },
        })
    }

    /// Walks the JPEG markers up to the frame header (SOFn) for size, precision, components.
    fn jpeg(bytes: &[u8]) -> Result<Self, LogoProblem> {
        let mut i = 2;
        loop {
            // Markers may be preceded by fill bytes 0xFF.
            while bytes.get(i) == Some(&0xFF) && bytes.get(i + 1) == Some(&0xFF) {
                i += 1;
            }
            let (Some(&0xFF), Some(&marker)) = (bytes.get(i), bytes.get(i + 1)) else {
                return Err(LogoProblem::Jpeg("no frame header before the end"));
            };
            i += 2;
            if marker == 0xD9 || marker == 0xDA {
                return Err(LogoProblem::Jpeg("no frame header before the scan"));
            }
            if (0xD0..=0xD7).contains(&marker) || marker == 0x01 {
                continue;
            }
            let (Some(&hi), Some(&lo)) = (bytes.get(i), bytes.get(i + 1)) else {
                return Err(LogoProblem::Jpeg("truncated segment"));
            };
            let len = usize::from(u16::from_be_bytes([hi, lo]));
            if len < 2 || i + len > bytes.len() {
                return Err(LogoProblem::Jpeg("segment length out of the file"));
            }
            let is_sof = matches!(marker, 0xC0..=0xCF) && !matches!(marker, 0xC4 | 0xC8 | 0xCC);
            if is_sof {
                let seg = &bytes[i + 2..i + len];
                if seg.len() < 6 {
                    return Err(LogoProblem::Jpeg("frame header too short"));
                }
                let bits = seg[0];
                let height = u32::from(u16::from_be_bytes([seg[1], seg[2]]));
                let width = u32::from(u16::from_be_bytes([seg[3], seg[4]]));
                let components = seg[5];
                if bits != 8 || !(components == 1 || components == 3) {
                    return Err(LogoProblem::JpegKind { components, bits });
                }
                Self::check_size(width, height)?;
                return Ok(Self {
                    width,
                    height,
                    data: LogoData::Jpeg {
                        bytes: bytes.to_vec(),
                        gray: components == 1,
                    },
                });
            }
            i += len;
        }
    }
}
