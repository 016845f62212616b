//! A small drawing surface on `pdf-writer`: A4 pages in millimetres from the top-left corner,
//! text in two embedded, subset TrueType fonts (Type 0 / CIDFontType2, Identity-H, with a
//! ToUnicode map so that text can be extracted and searched), and filled rectangles.

use std::collections::BTreeMap;

use pdf_writer::types::{CidFontType, FontFlags, SystemInfo, UnicodeCmap};
use pdf_writer::{Content, Filter, Finish, Name, Pdf, Rect, Ref, Str};

use super::error::{AvvisoError, TextProblem};
use super::logo::{Logo, LogoData};

/// A4 width in millimetres.
pub(crate) const PAGE_W: f32 = 210.0;
/// A4 height in millimetres.
pub(crate) const PAGE_H: f32 = 297.0;
const PT_PER_MM: f32 = 72.0 / 25.4;

/// An RGB colour, components 0..=1.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Rgb(pub(crate) f32, pub(crate) f32, pub(crate) f32);

/// Which embedded face.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Face {
    Regular,
    Bold,
}

struct FontState {
    data: &'static [u8],
    face: ttf_parser::Face<'static>,
    /// Original glyph id → the character it was first used for (for ToUnicode).
    used: BTreeMap<u16, char>,
    ps_name: &'static str,
}

impl FontState {
    fn new(data: &'static [u8], ps_name: &'static str) -> Result<Self, AvvisoError> {
        let face =
            ttf_parser::Face::parse(data, 0).map_err(|e| AvvisoError::Font(e.to_string()))?;
        Ok(Self {
            data,
            face,
            used: BTreeMap::new(),
            ps_name,
        })
    }

    fn units(&self) -> f32 {
        f32::from(self.face.units_per_em())
    }

    fn advance(&self, gid: u16) -> f32 {
        f32::from(
            self.face
                .glyph_hor_advance(ttf_parser::GlyphId(gid))
                .unwrap_or(0),
        )
    }
}

enum Op {
    /// Image `index` of [`Canvas::images`] in the box whose top-left corner is (`x`, `y`).
    Image {
        index: usize,
        x: f32,
        y: f32,
        w: f32,
        h: f32,
    },
    Text {
        face: Face,
        size: f32,
        x: f32,
        y: f32,
        color: Rgb,
        glyphs: Vec<u16>,
    },
    Rect {
        x: f32,
        y: f32,
        w: f32,
        h: f32,
        color: Rgb,
    },
    Stroke {
        x1: f32,
        y1: f32,
        x2: f32,
        y2: f32,
        width: f32,
        color: Rgb,
    },
}

/// Pages being drawn. Coordinates in millimetres, `y` down from the top edge; text `y` is the
/// baseline.
pub(crate) struct Canvas {
    regular: FontState,
    bold: FontState,
    pages: Vec<Vec<Op>>,
    images: Vec<Logo>,
}

impl Canvas {
    pub(crate) fn new() -> Result<Self, AvvisoError> {
        Ok(Self {
            regular: FontState::new(notosans::REGULAR_TTF, "NotoSans-Regular")?,
            bold: FontState::new(notosans::BOLD_TTF, "NotoSans-Bold")?,
            pages: Vec::new(),
            images: Vec::new(),
        })
    }

    pub(crate) fn new_page(&mut self) {
        self.pages.push(Vec::new());
    }

    fn font(&self, face: Face) -> &FontState {
        match face {
            Face::Regular => &self.regular,
            Face::Bold => &self.bold,
        }
    }

    fn push(&mut self, op: Op) {
        if self.pages.is_empty() {
            self.pages.push(Vec::new());
        }
        if let Some(p) = self.pages.last_mut() {
            p.push(op);
        }
    }

    /// Checks that every character of `text` has a glyph in both faces.
    pub(crate) fn check_glyphs(&self, field: &str, text: &str) -> Result<(), AvvisoError> {
        for (i, c) in text.chars().enumerate() {
            let has = |f: &FontState| f.face.glyph_index(c).is_some();
            let drawable = c.is_whitespace() || (has(&self.regular) && has(&self.bold));
            if !drawable {
                return Err(AvvisoError::Text {
                    field: field.to_owned(),
                    problem: TextProblem::NoGlyph {
                        found: c,
                        position: i + 1,
                    },
                });
            }
        }
        Ok(())
    }

    /// Width of `text` in millimetres at `size` points.
    pub(crate) fn width(&self, face: Face, size: f32, text: &str) -> f32 {
        let f = self.font(face);
        let units: f32 = text
            .chars()
            .map(|c| f.face.glyph_index(c).map_or(0.0, |g| f.advance(g.0)))
            .sum();
        units / f.units() * size / PT_PER_MM
    }

    /// Draws `text` with its baseline at `y`, starting at `x`.
    pub(crate) fn text(&mut self, face: Face, size: f32, x: f32, y: f32, color: Rgb, text: &str) {
        let font = match face {
            Face::Regular => &mut self.regular,
            Face::Bold => &mut self.bold,
        };
        let mut glyphs = Vec::with_capacity(text.len());
        for c in text.chars() {
            let gid = font.face.glyph_index(c).map_or(0, |g| g.0);
            font.used.entry(gid).or_insert(c);
            glyphs.push(gid);
        }
        self.push(Op::Text {
            face,
            size,
            x,
            y,
            color,
            glyphs,
        });
    }

    /// Draws `text` ending at `x_right`.
    pub(crate) fn text_right(
        &mut self,
        face: Face,
        size: f32,
        x_right: f32,
        y: f32,
        color: Rgb,
        text: &str,
    ) {
        let w = self.width(face, size, text);
        self.text(face, size, x_right - w, y, color, text);
    }

    /// Breaks `text` into lines no wider than `max_w` millimetres (words longer than a line
    /// stay whole).
    pub(crate) fn wrap(&self, face: Face, size: f32, max_w: f32, text: &str) -> Vec<String> {
        let mut lines = Vec::new();
        let mut line = String::new();
        for word in text.split_whitespace() {
            let candidate = if line.is_empty() {
                word.to_owned()
            } else {
                format!("{line} {word}")
            };
            if !line.is_empty() && self.width(face, size, &candidate) > max_w {
                lines.push(std::mem::replace(&mut line, word.to_owned()));
            } else {
                line = candidate;
            }
        }
        if !line.is_empty() {
            lines.push(line);
        }
        lines
    }

    /// Draws wrapped text from baseline `y` with `leading` millimetres between lines; returns
    /// the baseline after the last line.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn paragraph(
        &mut self,
        face: Face,
        size: f32,
        x: f32,
        y: f32,
        max_w: f32,
        leading: f32,
        color: Rgb,
        text: &str,
    ) -> f32 {
        let mut y = y;
        for line in self.wrap(face, size, max_w, text) {
            self.text(face, size, x, y, color, &line);
            y += leading;
        }
        y
    }

    /// Draws `text` in at most `max_lines` lines of `max_w` millimetres, lowering the size
    /// from `size` in steps of half a point (down to 5 points) until it fits; the leading is
    /// `size × 0.45` millimetres. Returns the baseline after the last line.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn fit(
        &mut self,
        face: Face,
        size: f32,
        x: f32,
        y: f32,
        max_w: f32,
        max_lines: usize,
        color: Rgb,
        text: &str,
    ) -> f32 {
        let mut size = size;
        loop {
            let lines = self.wrap(face, size, max_w, text);
            let widest = lines
                .iter()
                .map(|l| self.width(face, size, l))
                .fold(0.0, f32::max);
            if size <= 5.0 || (lines.len() <= max_lines && widest <= max_w) {
                let leading = size * 0.45;
                let mut y = y;
                for line in lines {
                    self.text(face, size, x, y, color, &line);
                    y += leading;
                }
                return y;
            }
            size -= 0.5;
        }
    }

    /// Draws an image inside the box whose top-left corner is (`x`, `y`), `w` × `h` mm,
    /// keeping its proportions and resting against the box's top right corner (the guide's
    /// rule for a horizontal creditor logo).
    pub(crate) fn image(&mut self, logo: &Logo, x: f32, y: f32, w: f32, h: f32) {
        self.place(logo, x, y, w, h, true);
    }

    /// As [`Canvas::image`], resting against the box's top left corner.
    pub(crate) fn image_left(&mut self, logo: &Logo, x: f32, y: f32, w: f32, h: f32) {
        self.place(logo, x, y, w, h, false);
    }

    fn place(&mut self, logo: &Logo, x: f32, y: f32, w: f32, h: f32, right: bool) {
        #[allow(clippy::cast_precision_loss)]
        let ratio = logo.width() as f32 / logo.height() as f32;
        let (iw, ih) = if ratio >= w / h {
            (w, w / ratio)
        } else {
            (h * ratio, h)
        };
        let index = match self.images.iter().position(|l| l == logo) {
            Some(i) => i,
            None => {
                self.images.push(logo.clone());
                self.images.len() - 1
            }
        };
        self.push(Op::Image {
            index,
            x: if right { x + w - iw } else { x },
            y,
            w: iw,
            h: ih,
        });
    }

    /// Fills a rectangle whose top-left corner is at (`x`, `y`).
    pub(crate) fn rect(&mut self, x: f32, y: f32, w: f32, h: f32, color: Rgb) {
        self.push(Op::Rect { x, y, w, h, color });
    }

    /// Draws a straight line.
    pub(crate) fn line(&mut self, x1: f32, y1: f32, x2: f32, y2: f32, width: f32, color: Rgb) {
        self.push(Op::Stroke {
            x1,
            y1,
            x2,
            y2,
            width,
            color,
        });
    }

    /// Writes the document; `keywords` (when not empty) go to the document information.
    pub(crate) fn finish(self, title: &str, keywords: &str) -> Result<Vec<u8>, AvvisoError> {
        let mut next = Ref::new(1);
        let mut alloc = || next.bump();
        let catalog_id = alloc();
        let tree_id = alloc();
        let info_id = alloc();
        let page_ids: Vec<(Ref, Ref)> = self.pages.iter().map(|_| (alloc(), alloc())).collect();

        let mut pdf = Pdf::new();
        pdf.set_version(1, 7);
        pdf.catalog(catalog_id).pages(tree_id);
        pdf.pages(tree_id)
            .kids(page_ids.iter().map(|(p, _)| *p))
            .count(i32::try_from(page_ids.len()).unwrap_or(i32::MAX));
        let mut info = pdf.document_info(info_id);
        info.title(pdf_writer::TextStr(title))
            .producer(pdf_writer::TextStr("pagopa (pa-rs)"));
        if !keywords.is_empty() {
            info.keywords(pdf_writer::TextStr(keywords));
        }
        info.finish();

        // Fonts: subset each face to the glyphs used, renumbered from 1 (0 is .notdef).
        let mut remaps = Vec::new();
        let mut font_ids = Vec::new();
        for (font, res) in [(&self.regular, "F0"), (&self.bold, "F1")] {
            let gids: Vec<u16> = font.used.keys().copied().collect();
            let remapper = subsetter::GlyphRemapper::new_from_glyphs_sorted(&gids);
            let subset = subsetter::subset(font.data, 0, &remapper)
                .map_err(|e| AvvisoError::Font(e.to_string()))?;
            let type0 = alloc();
            let cid = alloc();
            let descriptor = alloc();
            let file = alloc();
            let cmap_id = alloc();
            let base = format!(
                "{}+{}",
                if res == "F0" { "PAVVSR" } else { "PAVVSB" },
                font.ps_name
            );
            let scale = 1000.0 / font.units();

            pdf.type0_font(type0)
                .base_font(Name(base.as_bytes()))
                .encoding_predefined(Name(b"Identity-H"))
                .descendant_font(cid)
                .to_unicode(cmap_id);

            let mut widths: Vec<(u16, f32)> = Vec::new();
            for &old in &gids {
                if let Some(new) = remapper.get(old) {
                    widths.push((new, font.advance(old) * scale));
                }
            }
            widths.sort_by_key(|(g, _)| *g);
            let mut cid_font = pdf.cid_font(cid);
            cid_font
                .subtype(CidFontType::Type2)
                .base_font(Name(base.as_bytes()))
                .system_info(SystemInfo {
                    registry: Str(b"Adobe"),
                    ordering: Str(b"Identity"),
                    supplement: 0,
                })
                .font_descriptor(descriptor)
                .default_width(0.0)
                .cid_to_gid_map_predefined(Name(b"Identity"));
            {
                let mut w = cid_font.widths();
                for (g, width) in &widths {
                    w.consecutive(*g, [*width]);
                }
            }
            cid_font.finish();

            let f = &font.face;
            let bbox = f.global_bounding_box();
            let cap = f.capital_height().unwrap_or(f.ascender());
            let weight = f32::from(f.weight().to_number());
            pdf.font_descriptor(descriptor)
                .name(Name(base.as_bytes()))
                .flags(FontFlags::SYMBOLIC)
                .bbox(Rect::new(
                    f32::from(bbox.x_min) * scale,
                    f32::from(bbox.y_min) * scale,
                    f32::from(bbox.x_max) * scale,
                    f32::from(bbox.y_max) * scale,
                ))
                .italic_angle(0.0)
                .ascent(f32::from(f.ascender()) * scale)
                .descent(f32::from(f.descender()) * scale)
                .cap_height(f32::from(cap) * scale)
                .stem_v(10.0 + 0.244 * (weight - 50.0))
                .font_file2(file);

            let packed = deflate(&subset);
            pdf.stream(file, &packed).filter(Filter::FlateDecode).pair(
                Name(b"Length1"),
                i32::try_from(subset.len()).unwrap_or(i32::MAX),
            );

            let mut cmap = UnicodeCmap::new(
                Name(b"Custom"),
                SystemInfo {
                    registry: Str(b"Adobe"),
                    ordering: Str(b"UCS"),
                    supplement: 0,
                },
            );
            for (&old, &c) in &font.used {
                if let (Some(new), true) = (remapper.get(old), old != 0) {
                    cmap.pair(new, c);
                }
            }
            let cmap = cmap.finish();
            pdf.cmap(cmap_id, &cmap);

            remaps.push(remapper);
            font_ids.push(type0);
        }

        let mut image_ids = Vec::new();
        for logo in &self.images {
            let id = alloc();
            let (w, h) = (
                i32::try_from(logo.width()).unwrap_or(i32::MAX),
                i32::try_from(logo.height()).unwrap_or(i32::MAX),
            );
            match &logo.data {
                LogoData::Jpeg { bytes, gray } => {
                    let mut x = pdf.image_xobject(id, bytes);
                    x.filter(Filter::DctDecode);
                    x.width(w).height(h).bits_per_component(8);
                    if *gray {
                        x.color_space().device_gray();
                    } else {
                        x.color_space().device_rgb();
                    }
                }
                LogoData::Rgb { rgb, alpha } => {
                    let mask = alpha.as_ref().map(|a| (alloc(), deflate(a)));
                    let data = deflate(rgb);
                    let mut x = pdf.image_xobject(id, &data);
                    x.filter(Filter::FlateDecode);
                    x.width(w).height(h).bits_per_component(8);
                    x.color_space().device_rgb();
                    if let Some((mask_id, _)) = &mask {
                        x.s_mask(*mask_id);
                    }
                    x.finish();
                    if let Some((mask_id, data)) = &mask {
                        let mut m = pdf.image_xobject(*mask_id, data);
                        m.filter(Filter::FlateDecode);
                        m.width(w).height(h).bits_per_component(8);
                        m.color_space().device_gray();
                    }
                }
            }
            image_ids.push(id);
        }

        for (ops, (page_id, content_id)) in self.pages.iter().zip(&page_ids) {
            let mut content = Content::new();
            for op in ops {
                match op {
                    Op::Image { index, x, y, w, h } => {
                        let name = format!("Im{index}");
                        content.save_state();
                        content.transform([
                            w * PT_PER_MM,
                            0.0,
                            0.0,
                            h * PT_PER_MM,
                            x * PT_PER_MM,
                            (PAGE_H - y - h) * PT_PER_MM,
                        ]);
                        content.x_object(Name(name.as_bytes()));
                        content.restore_state();
                    }
                    Op::Rect { x, y, w, h, color } => {
                        content.set_fill_rgb(color.0, color.1, color.2);
                        content.rect(
                            x * PT_PER_MM,
                            (PAGE_H - y - h) * PT_PER_MM,
                            w * PT_PER_MM,
                            h * PT_PER_MM,
                        );
                        content.fill_nonzero();
                    }
                    Op::Stroke {
                        x1,
                        y1,
                        x2,
                        y2,
                        width,
                        color,
                    } => {
                        content.set_stroke_rgb(color.0, color.1, color.2);
                        content.set_line_width(width * PT_PER_MM);
                        content.move_to(x1 * PT_PER_MM, (PAGE_H - y1) * PT_PER_MM);
                        content.line_to(x2 * PT_PER_MM, (PAGE_H - y2) * PT_PER_MM);
                        content.stroke();
                    }
                    Op::Text {
                        face,
                        size,
                        x,
                        y,
                        color,
                        glyphs,
                    } => {
                        let (name, remap) = match face {
                            Face::Regular => (Name(b"F0"), &remaps[0]),
                            Face::Bold => (Name(b"F1"), &remaps[1]),
                        };
                        let mut bytes = Vec::with_capacity(glyphs.len() * 2);
                        for g in glyphs {
                            let new = remap.get(*g).unwrap_or(0);
                            bytes.extend_from_slice(&new.to_be_bytes());
                        }
                        content.set_fill_rgb(color.0, color.1, color.2);
                        content.begin_text();
                        content.set_font(name, *size);
                        content.next_line(x * PT_PER_MM, (PAGE_H - y) * PT_PER_MM);
                        content.show(Str(&bytes));
                        content.end_text();
                    }
                }
            }
            let data = deflate(&content.finish());
            pdf.stream(*content_id, &data).filter(Filter::FlateDecode);
            let mut page = pdf.page(*page_id);
            page.parent(tree_id)
                .media_box(Rect::new(0.0, 0.0, PAGE_W * PT_PER_MM, PAGE_H * PT_PER_MM))
                .contents(*content_id);
            let mut resources = page.resources();
            let mut fonts = resources.fonts();
            fonts.pair(Name(b"F0"), font_ids[0]);
            fonts.pair(Name(b"F1"), font_ids[1]);
            fonts.finish();
            if !image_ids.is_empty() {
                let mut xs = resources.x_objects();
                for (i, id) in image_ids.iter().enumerate() {
                    let name = format!("Im{i}");
                    xs.pair(Name(name.as_bytes()), *id);
                }
            }
        }
        Ok(pdf.finish())
    }
}

fn deflate(data: &[u8]) -> Vec<u8> {
    use std::io::Write as _;
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    // Writing to a Vec cannot fail.
    let _ = z.write_all(data);
    z.finish().unwrap_or_default()
}
