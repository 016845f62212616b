//! The textual segnatura: the stamp printed on a protocolled document.
//!
//! There is no canonical layout (TUDA art. 55 fixes the content: progressive number, date,
//! administration/AOO), so the layout is a template. Placeholders:
//!
//! | placeholder | value |
//! | --- | --- |
//! | `{numero}` / `{numero:N}` | protocol number, zero-padded to 7 (or N) digits |
//! | `{data}` / `{data:FMT}` | registration date, `dd/mm/yyyy` or a chrono format such as `%d-%m-%Y` |
//! | `{anno}` | year of the registration date |
//! | `{amministrazione}`, `{aoo}`, `{registro}`, `{ufficio}`, `{fascicolo}` | free text |
//! | `{verso}` / `{verso:XY}` | direction: `A`/`P` (arrivo/partenza) or the two letters given |
//!
//! `{{` and `}}` are literal braces. Two placeholders must be separated by literal text, so
//! that every stamp a template formats can be parsed back.

use std::fmt::Write as _;

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::error::TextualError;
use crate::model::NumeroRegistrazione;

/// Direction of a registration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Verso {
    /// Incoming (arrivo / entrata).
    Arrivo,
    /// Outgoing (partenza / uscita).
    Partenza,
}

/// The values a textual segnatura shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SegnaturaTestuale {
    /// Protocol number.
    pub numero: NumeroRegistrazione,
    /// Registration date.
    pub data: NaiveDate,
    /// Administration (IPA code or name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amministrazione: Option<String>,
    /// AOO.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aoo: Option<String>,
    /// Registry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registro: Option<String>,
    /// Office.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ufficio: Option<String>,
    /// Direction.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verso: Option<Verso>,
    /// Dossier / classification reference.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fascicolo: Option<String>,
}

impl SegnaturaTestuale {
    /// Values with number and date only.
    pub fn new(numero: NumeroRegistrazione, data: NaiveDate) -> Self {
        SegnaturaTestuale {
            numero,
            data,
            amministrazione: None,
            aoo: None,
            registro: None,
            ufficio: None,
            verso: None,
            fascicolo: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Field {
    Numero(usize),
    Data(String),
    Anno,
    Amministrazione,
    Aoo,
    Registro,
    Ufficio,
    Verso(char, char),
    Fascicolo,
}

impl Field {
    fn name(&self) -> &'static str {
        match self {
            Field::Numero(_) => "numero",
            Field::Data(_) => "data",
            Field::Anno => "anno",
            Field::Amministrazione => "amministrazione",
            Field::Aoo => "aoo",
            Field::Registro => "registro",
            Field::Ufficio => "ufficio",
            Field::Verso(..) => "verso",
            Field::Fascicolo => "fascicolo",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Literal(String),
    Field(Field),
}

/// A textual segnatura layout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextualTemplate {
    source: String,
    parts: Vec<Part>,
}

impl TextualTemplate {
    /// The pipe-separated layout seen in regional systems:
    /// `0341944|30/03/2021|R_MARCHE|GRM|IPC|A|360.90/2021/IPC/145`
    /// (number | date | administration | registry | office | A/P | dossier).
    pub fn pipe_regionale() -> Self {
        Self::compile("{numero}|{data}|{amministrazione}|{registro}|{ufficio}|{verso}|{fascicolo}")
    }

    /// The dotted ministerial layout: `m_pi.AOODGPER.REGISTRO UFFICIALE(U).0050487.11-12-2019`
    /// (administration . AOO . registry (E/U) . number . date).
    pub fn ministeriale() -> Self {
        Self::compile("{amministrazione}.{aoo}.{registro}({verso:EU}).{numero}.{data:%d-%m-%Y}")
    }

    fn compile(s: &str) -> Self {
        match Self::new(s) {
            Ok(t) => t,
            // The presets are constants checked by tests.
            Err(_) => TextualTemplate {
                source: String::new(),
                parts: Vec::new(),
            },
        }
    }

    /// Compiles a template.
    ///
    /// # Errors
    /// [`TextualError::Template`] for an unknown placeholder, an unclosed brace, or two
    /// placeholders without literal text between them.
    pub fn new(template: &str) -> Result<Self, TextualError> {
        let mut parts = Vec::new();
        let mut lit = String::new();
        let mut chars = template.char_indices().peekable();
        while let Some((i, c)) = chars.next() {
            match c {
                '{' if chars.peek().map(|x| x.1) == Some('{') => {
                    chars.next();
                    lit.push('{');
                }
                '}' if chars.peek().map(|x| x.1) == Some('}') => {
                    chars.next();
                    lit.push('}');
                }
                '{' => {
                    let rest = &template[i + 1..];
                    let end = rest.find('}').ok_or(TextualError::Template {
                        position: i,
                        reason: "unclosed `{`".into(),
                    })?;
                    let spec = &rest[..end];
                    for _ in 0..spec.chars().count() + 1 {
                        chars.next();
                    }
                    let field = parse_field(spec).map_err(|reason| TextualError::Template {
                        position: i,
                        reason,
                    })?;
                    if !lit.is_empty() {
                        parts.push(Part::Literal(std::mem::take(&mut lit)));
                    } else if matches!(parts.last(), Some(Part::Field(_))) {
                        return Err(TextualError::Template {
                            position: i,
                            reason: "two placeholders need literal text between them".into(),
                        });
                    }
                    parts.push(Part::Field(field));
                }
                '}' => {
                    return Err(TextualError::Template {
                        position: i,
                        reason: "unmatched `}` (write `}}` for a literal brace)".into(),
                    });
                }
                c => lit.push(c),
            }
        }
        if !lit.is_empty() {
            parts.push(Part::Literal(lit));
        }
        Ok(TextualTemplate {
            source: template.to_owned(),
            parts,
        })
    }

    /// The template text.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// Formats the stamp.
    ///
    /// # Errors
    /// [`TextualError::MissingField`] when the template shows a value that is not set;
    /// [`TextualError::Field`] when a value contains the text that follows it in the
    /// template (the stamp could not be read back).
    pub fn format(&self, v: &SegnaturaTestuale) -> Result<String, TextualError> {
        let mut out = String::new();
        for (idx, p) in self.parts.iter().enumerate() {
            match p {
                Part::Literal(l) => out.push_str(l),
                Part::Field(f) => {
                    let s = match f {
                        Field::Numero(w) => format!("{:0w$}", v.numero.value(), w = *w),
                        Field::Data(fmt) => {
                            let mut s = String::new();
                            write!(s, "{}", v.data.format(fmt)).map_err(|_| {
                                TextualError::Field {
                                    field: "data",
                                    reason: format!("bad date format `{fmt}`"),
                                }
                            })?;
                            s
                        }
                        Field::Anno => v.data.year().to_string(),
                        Field::Amministrazione => req(&v.amministrazione, "amministrazione")?,
                        Field::Aoo => req(&v.aoo, "aoo")?,
                        Field::Registro => req(&v.registro, "registro")?,
                        Field::Ufficio => req(&v.ufficio, "ufficio")?,
                        Field::Fascicolo => req(&v.fascicolo, "fascicolo")?,
                        Field::Verso(a, p) => match v.verso {
                            Some(Verso::Arrivo) => a.to_string(),
                            Some(Verso::Partenza) => p.to_string(),
                            None => return Err(TextualError::MissingField("verso")),
                        },
                    };
                    if let Some(Part::Literal(next)) = self.parts.get(idx + 1)
                        && s.contains(next.as_str())
                    {
                        return Err(TextualError::Field {
                            field: f.name(),
                            reason: format!("the value contains the separator `{next}`"),
                        });
                    }
                    out.push_str(&s);
                }
            }
        }
        Ok(out)
    }

    /// Reads a stamp back.
    ///
    /// # Errors
    /// [`TextualError::Mismatch`] when the text does not follow the template,
    /// [`TextualError::Field`] for an invalid number or date, [`TextualError::MissingField`]
    /// when the template has no number or no date.
    pub fn parse(&self, text: &str) -> Result<SegnaturaTestuale, TextualError> {
        let mut pos = 0usize;
        let mut numero = None;
        let mut data = None;
        let mut anno = None;
        let mut out = SegnaturaTestuale::new(NumeroRegistrazione::new(0), NaiveDate::MIN);
        for (idx, p) in self.parts.iter().enumerate() {
            match p {
                Part::Literal(l) => {
                    if !text[pos..].starts_with(l.as_str()) {
                        return Err(TextualError::Mismatch {
                            position: pos,
                            expected: format!("`{l}`"),
                        });
                    }
                    pos += l.len();
                }
                Part::Field(f) => {
                    let end = match self.parts.get(idx + 1) {
                        Some(Part::Literal(next)) => {
                            pos + text[pos..].find(next.as_str()).ok_or_else(|| {
                                TextualError::Mismatch {
                                    position: pos,
                                    expected: format!("{} followed by `{next}`", f.name()),
                                }
                            })?
                        }
                        _ => text.len(),
                    };
                    let s = &text[pos..end];
                    if s.is_empty() {
                        return Err(TextualError::Mismatch {
                            position: pos,
                            expected: format!("a value for {}", f.name()),
                        });
                    }
                    match f {
                        Field::Numero(_) => {
                            if !s.bytes().all(|b| b.is_ascii_digit()) {
                                return Err(TextualError::Field {
                                    field: "numero",
                                    reason: format!("`{s}` is not a number"),
                                });
                            }
                            numero = Some(s.parse::<u64>().map_err(|_| TextualError::Field {
                                field: "numero",
                                reason: format!("`{s}` is out of range"),
                            })?);
                        }
                        Field::Data(fmt) => {
                            data = Some(NaiveDate::parse_from_str(s, fmt).map_err(|_| {
                                TextualError::Field {
                                    field: "data",
                                    reason: format!("`{s}` does not match `{fmt}`"),
                                }
                            })?);
                        }
                        Field::Anno => {
                            anno = Some(s.parse::<i32>().map_err(|_| TextualError::Field {
                                field: "anno",
                                reason: format!("`{s}` is not a year"),
                            })?);
                        }
                        Field::Amministrazione => out.amministrazione = Some(s.to_owned()),
                        Field::Aoo => out.aoo = Some(s.to_owned()),
                        Field::Registro => out.registro = Some(s.to_owned()),
                        Field::Ufficio => out.ufficio = Some(s.to_owned()),
                        Field::Fascicolo => out.fascicolo = Some(s.to_owned()),
                        Field::Verso(a, p) => {
                            let mut it = s.chars();
                            out.verso = match (it.next(), it.next()) {
                                (Some(c), None) if c == *a => Some(Verso::Arrivo),
                                (Some(c), None) if c == *p => Some(Verso::Partenza),
                                _ => {
                                    return Err(TextualError::Field {
                                        field: "verso",
                                        reason: format!("`{s}` is neither `{a}` nor `{p}`"),
                                    });
                                }
                            };
                        }
                    }
                    pos = end;
                }
            }
        }
        if pos != text.len() {
            return Err(TextualError::Mismatch {
                position: pos,
                expected: "end of text".into(),
            });
        }
        out.numero = NumeroRegistrazione::new(numero.ok_or(TextualError::MissingField("numero"))?);
        out.data = data.ok_or(TextualError::MissingField("data"))?;
        if let Some(y) = anno
            && y != out.data.year()
        {
            return Err(TextualError::Field {
                field: "anno",
                reason: format!("{y} differs from the date's year"),
            });
        }
        Ok(out)
    }
}

fn req(v: &Option<String>, name: &'static str) -> Result<String, TextualError> {
    v.clone().ok_or(TextualError::MissingField(name))
}

fn parse_field(spec: &str) -> Result<Field, String> {
    let (name, arg) = match spec.split_once(':') {
        Some((n, a)) => (n, Some(a)),
        None => (spec, None),
    };
    Ok(match (name, arg) {
        ("numero", None) => Field::Numero(7),
        ("numero", Some(w)) => Field::Numero(
            w.parse()
                .ok()
                .filter(|w| (1..=20).contains(w))
                .ok_or_else(|| format!("`{w}` is not a width 1..=20"))?,
        ),
        ("data", None) => Field::Data("%d/%m/%Y".into()),
        ("data", Some(f)) => {
            if !f.contains("%d") || !f.contains("%m") || !(f.contains("%Y") || f.contains("%y")) {
                return Err(format!("date format `{f}` needs %d, %m and %Y"));
            }
            Field::Data(f.to_owned())
        }
        ("anno", None) => Field::Anno,
        ("amministrazione", None) => Field::Amministrazione,
        ("aoo", None) => Field::Aoo,
        ("registro", None) => Field::Registro,
        ("ufficio", None) => Field::Ufficio,
        ("fascicolo", None) => Field::Fascicolo,
        ("verso", None) => Field::Verso('A', 'P'),
        ("verso", Some(l)) => {
            let mut it = l.chars();
            match (it.next(), it.next(), it.next()) {
                (Some(a), Some(p), None) if a != p => Field::Verso(a, p),
                _ => {
                    return Err(format!(
                        "`{l}` must be two different letters (arrivo, partenza)"
                    ));
                }
            }
        }
        _ => return Err(format!("unknown placeholder `{{{spec}}}`")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_compile() {
        assert!(!TextualTemplate::pipe_regionale().parts.is_empty());
        assert!(!TextualTemplate::ministeriale().parts.is_empty());
    }

    #[test]
    fn template_errors() {
        assert!(TextualTemplate::new("{numero}{data}").is_err());
        assert!(TextualTemplate::new("{numero").is_err());
        assert!(TextualTemplate::new("{nope}").is_err());
        assert!(TextualTemplate::new("x}").is_err());
        assert!(TextualTemplate::new("{verso:AA}-{numero}").is_err());
        let t = TextualTemplate::new("{{{numero}}}/{data}").unwrap();
        let v = SegnaturaTestuale::new(
            NumeroRegistrazione::new(3),
            NaiveDate::from_ymd_opt(2024, 1, 2).unwrap(),
        );
        assert_eq!(t.format(&v).unwrap(), "{0000003}/02/01/2024");
        assert_eq!(t.parse("{0000003}/02/01/2024").unwrap(), v);
    }
}
