//! A drawn 2D symbol (QR code or Data Matrix) and its SVG and PNG forms.

use std::fmt::Write as _;

use image::ImageEncoder as _;

use super::error::{PayloadError, RenderError};
use super::poste::PosteDataMatrix;
use super::qr::QrPayload;

/// Which symbology a [`Symbol`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Symbology {
    /// ISO/IEC 18004 QR code.
    Qr,
    /// ISO/IEC 16022 Data Matrix (ECC 200).
    DataMatrix,
}

/// The modules of a 2D symbol, ready to be drawn with its quiet zone.
#[derive(Debug, Clone, PartialEq)]
pub struct Symbol {
    symbology: Symbology,
    width: usize,
    height: usize,
    dark: Vec<bool>,
    quiet_zone: usize,
    module_mm: f64,
}

/// QR code version of payment notices (33 × 33 modules).
pub const QR_VERSION: i16 = 4;
/// Printed size of the QR code on payment notices, without quiet zone.
pub const QR_PRINT_SIZE_MM: f64 = 25.0;
/// QR quiet zone (ISO/IEC 18004: 4 modules).
pub const QR_QUIET_ZONE: usize = 4;
/// Data Matrix quiet zone used here (ISO/IEC 16022 requires at least 1 module).
pub const DATAMATRIX_QUIET_ZONE: usize = 2;
/// Default printed module size of the Data Matrix.
pub const DATAMATRIX_MODULE_MM: f64 = 0.5;

impl Symbol {
    /// The symbology.
    #[must_use]
    pub fn symbology(&self) -> Symbology {
        self.symbology
    }

    /// Width in modules, without quiet zone.
    #[must_use]
    pub fn width(&self) -> usize {
        self.width
    }

    /// Height in modules, without quiet zone.
    #[must_use]
    pub fn height(&self) -> usize {
        self.height
    }

    /// The quiet zone, in modules, added on each side when drawing.
    #[must_use]
    pub fn quiet_zone(&self) -> usize {
        self.quiet_zone
    }

    /// Whether the module at column `x`, row `y` (without quiet zone) is dark; `false` outside.
    #[must_use]
    pub fn is_dark(&self, x: usize, y: usize) -> bool {
        x < self.width && y < self.height && self.dark[y * self.width + x]
    }

    /// The modules row by row (`true` = dark), without quiet zone.
    #[must_use]
    pub fn modules(&self) -> &[bool] {
        &self.dark
    }

    /// The printed size of one module in millimetres (QR: 25 mm / 33).
    #[must_use]
    pub fn module_mm(&self) -> f64 {
        self.module_mm
    }

    /// Sets the printed size of one module in millimetres (used by [`Symbol::to_svg`]).
    #[must_use]
    pub fn with_module_mm(mut self, module_mm: f64) -> Self {
        if module_mm.is_finite() && module_mm > 0.0 {
            self.module_mm = module_mm;
        }
        self
    }

    /// An SVG document: black modules on white, quiet zone included, sized in millimetres.
    #[must_use]
    pub fn to_svg(&self) -> String {
        let q = self.quiet_zone;
        let (w, h) = (self.width + 2 * q, self.height + 2 * q);
        let mut out = String::with_capacity(256 + self.dark.len() * 4);
        let _ = write!(
            out,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\" \
             version=\"1.1\" viewBox=\"0 0 {w} {h}\" width=\"{:.2}mm\" height=\"{:.2}mm\" \
             shape-rendering=\"crispEdges\">\n<rect width=\"{w}\" height=\"{h}\" fill=\"#fff\"/>\n\
             <path fill=\"#000\" d=\"",
            w as f64 * self.module_mm,
            h as f64 * self.module_mm,
        );
        for y in 0..self.height {
            let mut x = 0;
            while x < self.width {
                if self.is_dark(x, y) {
                    let start = x;
                    while x < self.width && self.is_dark(x, y) {
                        x += 1;
                    }
                    let run = x - start;
                    let _ = write!(out, "M{} {}h{run}v1h-{run}z", start + q, y + q);
                } else {
                    x += 1;
                }
            }
        }
        out.push_str("\"/>\n</svg>\n");
        out
    }

    /// Greyscale pixels (0 = black, 255 = white) with quiet zone, `scale` pixels per module
    /// (at least 1), and the image side lengths.
    #[must_use]
    pub fn to_pixels(&self, scale: u32) -> (Vec<u8>, u32, u32) {
        let scale = scale.max(1) as usize;
        let q = self.quiet_zone;
        let (w, h) = ((self.width + 2 * q) * scale, (self.height + 2 * q) * scale);
        let mut px = vec![255u8; w * h];
        for y in 0..h {
            for x in 0..w {
                let (mx, my) = (x / scale, y / scale);
                if mx >= q && my >= q && self.is_dark(mx - q, my - q) {
                    px[y * w + x] = 0;
                }
            }
        }
        (
            px,
            u32::try_from(w).unwrap_or(u32::MAX),
            u32::try_from(h).unwrap_or(u32::MAX),
        )
    }

    /// A greyscale PNG with quiet zone, `scale` pixels per module.
    ///
    /// # Errors
    /// [`RenderError::Png`] if encoding fails.
    pub fn to_png(&self, scale: u32) -> Result<Vec<u8>, RenderError> {
        let (px, w, h) = self.to_pixels(scale);
        let mut out = Vec::new();
        image::codecs::png::PngEncoder::new(&mut out)
            .write_image(&px, w, h, image::ExtendedColorType::L8)
            .map_err(|e| RenderError::Png(e.to_string()))?;
        Ok(out)
    }
}

impl QrPayload {
    /// The QR code of this payload: version 4 (33 × 33), error correction level M, byte mode,
    /// 4-module quiet zone, printed 25 × 25 mm.
    ///
    /// # Errors
    /// [`RenderError::Capacity`] (cannot happen for a valid payload: 53 bytes at most fit
    /// version 4-M's 62).
    pub fn to_symbol(&self) -> Result<Symbol, RenderError> {
        let code = qrcode::QrCode::with_version(
            self.to_string().as_bytes(),
            qrcode::Version::Normal(QR_VERSION),
            qrcode::EcLevel::M,
        )
        .map_err(|e| RenderError::Capacity(e.to_string()))?;
        let width = code.width();
        let dark = code
            .to_colors()
            .into_iter()
            .map(|c| c == qrcode::Color::Dark)
            .collect();
        Ok(Symbol {
            symbology: Symbology::Qr,
            width,
            height: width,
            dark,
            quiet_zone: QR_QUIET_ZONE,
            module_mm: QR_PRINT_SIZE_MM / width as f64,
        })
    }
}

/// Why a Data Matrix could not be read back.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The modules are not a readable Data Matrix.
    #[error("not a readable Data Matrix: {0}")]
    Symbol(String),
    /// The Data Matrix text is not a valid Poste payload.
    #[error(transparent)]
    Payload(#[from] PayloadError),
}

impl PosteDataMatrix {
    /// The Data Matrix (ECC 200, smallest square symbol that fits, 2-module quiet zone).
    ///
    /// # Errors
    /// [`RenderError::Capacity`] (cannot happen for a valid payload of 256 ASCII characters).
    pub fn to_symbol(&self) -> Result<Symbol, RenderError> {
        let dm = datamatrix::DataMatrix::encode(
            self.to_payload().as_bytes(),
            datamatrix::SymbolList::default().enforce_square(),
        )
        .map_err(|e| RenderError::Capacity(format!("{e:?}")))?;
        let bitmap = dm.bitmap();
        let (width, height) = (bitmap.width(), bitmap.height());
        let mut dark = vec![false; width * height];
        for (x, y) in bitmap.pixels() {
            if let Some(m) = dark.get_mut(y * width + x) {
                *m = true;
            }
        }
        Ok(Symbol {
            symbology: Symbology::DataMatrix,
            width,
            height,
            dark,
            quiet_zone: DATAMATRIX_QUIET_ZONE,
            module_mm: DATAMATRIX_MODULE_MM,
        })
    }

    /// Reads a payload back from Data Matrix modules (row by row, `true` = dark, finder
    /// pattern included, no quiet zone), e.g. [`Symbol::modules`].
    ///
    /// # Errors
    /// [`DecodeError::Symbol`] if the modules do not decode; [`DecodeError::Payload`].
    pub fn decode_modules(modules: &[bool], width: usize) -> Result<Self, DecodeError> {
        if width == 0 || !modules.len().is_multiple_of(width) {
            return Err(DecodeError::Symbol(
                "module count is not a multiple of the width".into(),
            ));
        }
        let bytes = datamatrix::DataMatrix::decode(modules, width)
            .map_err(|e| DecodeError::Symbol(format!("{e:?}")))?;
        let text = String::from_utf8(bytes)
            .map_err(|_| DecodeError::Symbol("decoded bytes are not text".into()))?;
        Ok(Self::parse(&text)?)
    }
}
