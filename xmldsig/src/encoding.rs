//! The declared-encoding rule shared by [`crate::Document`] and [`crate::stream::Reader`]:
//! UTF-8 (the default; a byte-order mark is allowed), US-ASCII, ISO-8859-1 and windows-1252 are
//! decoded as the XML declaration says; anything else (UTF-16 included) is refused with an error
//! that names it.

use crate::error::ParseErrorKind;

/// The encodings a document may declare.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Encoding {
    Utf8,
    Ascii,
    Latin1,
    Windows1252,
}

impl Encoding {
    /// The encoding's canonical name.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Encoding::Utf8 => "UTF-8",
            Encoding::Ascii => "US-ASCII",
            Encoding::Latin1 => "ISO-8859-1",
            Encoding::Windows1252 => "windows-1252",
        }
    }

    /// The encoding an `encoding="..."` label names (IANA names and aliases, any case).
    pub(crate) fn from_label(label: &[u8]) -> Result<Encoding, ParseErrorKind> {
        let l = String::from_utf8_lossy(label).to_ascii_lowercase();
        Ok(match l.as_str() {
            "utf-8" | "utf8" => Encoding::Utf8,
            "us-ascii" | "ascii" | "iso646-us" | "ansi_x3.4-1968" => Encoding::Ascii,
            "iso-8859-1" | "iso8859-1" | "iso_8859-1" | "latin1" | "latin-1" | "l1"
            | "iso-ir-100" | "cp819" | "ibm819" | "csisolatin1" => Encoding::Latin1,
            "windows-1252" | "cp1252" | "cswindows1252" => Encoding::Windows1252,
            _ => {
                return Err(ParseErrorKind::UnsupportedEncoding(
                    String::from_utf8_lossy(label).into_owned(),
                ));
            }
        })
    }

    /// Appends the UTF-8 form of `bytes` to `out`. On a byte the encoding does not define,
    /// returns its index in `bytes`.
    pub(crate) fn decode_into(self, bytes: &[u8], out: &mut Vec<u8>) -> Result<(), usize> {
        out.reserve(bytes.len() + bytes.len() / 8);
        let mut run = 0;
        for (i, &b) in bytes.iter().enumerate() {
            if b < 0x80 {
                continue;
            }
            out.extend_from_slice(&bytes[run..i]);
            run = i + 1;
            let c = match self {
                Encoding::Utf8 | Encoding::Ascii => return Err(i),
                Encoding::Latin1 => char::from(b),
                Encoding::Windows1252 => match b {
                    0x80..=0x9F => match WINDOWS_1252[usize::from(b - 0x80)] {
                        0 => return Err(i),
                        u => char::from_u32(u32::from(u)).ok_or(i)?,
                    },
                    _ => char::from(b),
                },
            };
            let mut tmp = [0u8; 4];
            out.extend_from_slice(c.encode_utf8(&mut tmp).as_bytes());
        }
        out.extend_from_slice(&bytes[run..]);
        Ok(())
    }
}

/// windows-1252 bytes 0x80 to 0x9F (Unicode's `CP1252.TXT` mapping; 0 = undefined: 0x81,
/// 0x8D, 0x8F, 0x90, 0x9D). The other bytes are the Latin-1 characters of the same value.
const WINDOWS_1252: [u16; 32] = [
    0x20AC, 0, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160, 0x2039,
    0x0152, 0, 0x017D, 0, 0, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014, 0x02DC,
    0x2122, 0x0161, 0x203A, 0x0153, 0, 0x017E, 0x0178,
];

/// What the start of a document says about its encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Sniffed {
    pub(crate) encoding: Encoding,
    /// Length of a UTF-8 byte-order mark to skip (0 or 3).
    pub(crate) bom: usize,
}

/// Reads the encoding from the first bytes of a document (the byte-order mark and the XML
/// declaration; `prefix` must hold the whole declaration when there is one, which
/// [`PREFIX_LEN`] bytes always do for a declaration the rules accept).
///
/// # Errors
/// [`ParseErrorKind::UnsupportedEncoding`] for UTF-16/UTF-32 (by byte-order mark or by the
/// pattern of `<?` in them) and for any encoding name not decoded here; a malformed declaration
/// is [`ParseErrorKind::Syntax`].
pub(crate) fn sniff(prefix: &[u8]) -> Result<Sniffed, ParseErrorKind> {
    let utf16 = |name: &str| Err(ParseErrorKind::UnsupportedEncoding(name.to_owned()));
    if prefix.starts_with(&[0xFE, 0xFF]) || prefix.starts_with(&[0x00, 0x3C, 0x00, 0x3F]) {
        return utf16("UTF-16BE");
    }
    if prefix.starts_with(&[0xFF, 0xFE]) || prefix.starts_with(&[0x3C, 0x00, 0x3F, 0x00]) {
        return utf16("UTF-16LE");
    }
    let bom = if prefix.starts_with(&[0xEF, 0xBB, 0xBF]) {
        3
    } else {
        0
    };
    let rest = &prefix[bom..];
    let mut encoding = Encoding::Utf8;
    if let Some(decl) = rest.strip_prefix(b"<?xml")
        && decl
            .first()
            .is_some_and(|&b| matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
    {
        let Some(end) = memchr::memmem::find(decl, b"?>") else {
            return Err(ParseErrorKind::Syntax(
                "unterminated XML declaration".into(),
            ));
        };
        if let Some(label) = crate::wf::xml_decl(&decl[..end]).map_err(ParseErrorKind::Syntax)? {
            encoding = Encoding::from_label(label)?;
            if bom == 3 && encoding != Encoding::Utf8 {
                return Err(ParseErrorKind::UnsupportedEncoding(format!(
                    "{} declared after a UTF-8 byte-order mark",
                    String::from_utf8_lossy(label)
                )));
            }
        }
    }
    Ok(Sniffed { encoding, bom })
}

/// Bytes enough to hold any XML declaration [`sniff`] accepts with reasonable white space.
pub(crate) const PREFIX_LEN: usize = 1024;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_and_tables() {
        assert_eq!(Encoding::from_label(b"ISO-8859-1"), Ok(Encoding::Latin1));
        assert_eq!(Encoding::from_label(b"Latin1"), Ok(Encoding::Latin1));
        assert_eq!(
            Encoding::from_label(b"Windows-1252"),
            Ok(Encoding::Windows1252)
        );
        assert_eq!(Encoding::from_label(b"utf-8"), Ok(Encoding::Utf8));
        assert_eq!(
            Encoding::from_label(b"KOI8-R"),
            Err(ParseErrorKind::UnsupportedEncoding("KOI8-R".into()))
        );
        let mut out = Vec::new();
        Encoding::Windows1252
            .decode_into(b"\x80 \xe0 \x9f", &mut out)
            .expect("defined");
        assert_eq!(
            String::from_utf8(out).expect("utf8"),
            "\u{20ac} \u{e0} \u{178}"
        );
        let mut out = Vec::new();
        assert_eq!(
            Encoding::Windows1252.decode_into(b"ab\x81", &mut out),
            Err(2)
        );
        let mut out = Vec::new();
        Encoding::Latin1
            .decode_into(b"\x80\xff", &mut out)
            .expect("latin1");
        assert_eq!(String::from_utf8(out).expect("utf8"), "\u{80}\u{ff}");
        assert_eq!(
            Encoding::Ascii.decode_into(b"a\xe9", &mut Vec::new()),
            Err(1)
        );
    }

    #[test]
    fn sniffing() {
        let s = |x: &[u8]| sniff(x).map(|s| s.encoding);
        assert_eq!(s(b"<a/>"), Ok(Encoding::Utf8));
        assert_eq!(
            s(b"<?xml version='1.0' encoding='iso-8859-1'?><a/>"),
            Ok(Encoding::Latin1)
        );
        assert_eq!(sniff(b"\xEF\xBB\xBF<a/>").map(|s| s.bom), Ok(3));
        assert!(matches!(
            s(b"\xFF\xFE<\0a\0/\0>\0"),
            Err(ParseErrorKind::UnsupportedEncoding(n)) if n == "UTF-16LE"
        ));
        assert!(matches!(
            s(b"<?xml version='1.0' encoding='EBCDIC-IT'?><a/>"),
            Err(ParseErrorKind::UnsupportedEncoding(n)) if n == "EBCDIC-IT"
        ));
        assert!(s(b"\xEF\xBB\xBF<?xml version='1.0' encoding='latin1'?><a/>").is_err());
        // A processing instruction whose target only starts with "xml" is not a declaration.
        assert_eq!(s(b"<?xml-stylesheet href='a'?><a/>"), Ok(Encoding::Utf8));
    }
}
