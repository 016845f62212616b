//! Reading the 2021 segnatura.

use chrono::{FixedOffset, NaiveDate, NaiveTime};

use crate::error::{Error, ParseError};
use crate::impronta::Impronta;
use crate::model::*;
use crate::write::{NS_PEC, NS_PROTOCOLLO};
use crate::xml::{self, Element};

/// Namespace of XML-DSig.
pub const NS_DSIG: &str = "http://www.w3.org/2000/09/xmldsig#";

/// Options for reading a segnatura. The default is strict.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ParseOptions {
    /// Accept attributes written without the `prot:` prefix (the schema's
    /// `attributeFormDefault="qualified"` requires it; some producers omit it).
    pub accept_unqualified_attributes: bool,
    /// Skip a document type declaration that only names an external DTD
    /// (`<!DOCTYPE Segnatura SYSTEM "Segnatura.dtd">`, common in 2013-era files). The DTD is
    /// never loaded; a DOCTYPE with an internal subset is refused regardless.
    pub allow_external_doctype: bool,
    /// Read a 2013 `Segnatura` whose elements have no namespace (older DTD-based producers).
    pub accept_unnamespaced_2013: bool,
}

impl ParseOptions {
    /// Strict reading (the default).
    pub fn strict() -> Self {
        ParseOptions::default()
    }

    /// Skips a DOCTYPE naming an external DTD (see the field).
    #[must_use]
    pub fn allow_external_doctype(mut self) -> Self {
        self.allow_external_doctype = true;
        self
    }

    /// Reads 2013 segnature without namespace.
    #[must_use]
    pub fn accept_unnamespaced_2013(mut self) -> Self {
        self.accept_unnamespaced_2013 = true;
        self
    }

    /// Also accepts unprefixed attributes.
    #[must_use]
    pub fn accept_unqualified_attributes(mut self) -> Self {
        self.accept_unqualified_attributes = true;
        self
    }
}

/// Which root element a segnatura had.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RootNamespace {
    /// `{http://www.agid.gov.it/protocollo/}SegnaturaInformatica` (`segnatura_protocollo.xsd`).
    Protocollo,
    /// `{http://www.agid.gov.it/protocollo/pec/}SegnaturaInformatica` (`pec_message.xsd`).
    Pec,
}

pub(crate) struct Ctx {
    pub(crate) opts: ParseOptions,
}

impl Ctx {
    pub(crate) fn attr<'a>(&self, el: &'a Element, name: &str) -> Option<&'a str> {
        el.attr(Some(NS_PROTOCOLLO), name).or_else(|| {
            if self.opts.accept_unqualified_attributes {
                el.attr(None, name)
            } else {
                None
            }
        })
    }

    /// Attribute of an element declared in the pec schema.
    pub(crate) fn pec_attr<'a>(&self, el: &'a Element, name: &str) -> Option<&'a str> {
        el.attr(Some(NS_PEC), name).or_else(|| {
            if self.opts.accept_unqualified_attributes {
                el.attr(None, name)
            } else {
                None
            }
        })
    }
}

pub(crate) fn qname(e: &Element) -> String {
    match &e.ns {
        Some(ns) => format!("{{{ns}}}{}", e.name),
        None => e.name.clone(),
    }
}

/// Sequential reader over the child elements of one element.
pub(crate) struct Seq<'a> {
    pub(crate) path: String,
    ns: &'a str,
    items: Vec<&'a Element>,
    i: usize,
}

impl<'a> Seq<'a> {
    pub(crate) fn new(el: &'a Element, ns: &'a str, path: String) -> Result<Self, ParseError> {
        for n in &el.children {
            if let xml::Node::Text(t) = n
                && !t.trim().is_empty()
            {
                return Err(ParseError::Invalid {
                    path,
                    reason: "unexpected text content".into(),
                });
            }
        }
        Ok(Seq {
            path,
            ns,
            items: el.elements().collect(),
            i: 0,
        })
    }

    pub(crate) fn peek_is(&self, name: &str) -> bool {
        self.items.get(self.i).is_some_and(|e| e.is(self.ns, name))
    }

    pub(crate) fn peek_is_ns(&self, ns: &str, name: &str) -> bool {
        self.items.get(self.i).is_some_and(|e| e.is(ns, name))
    }

    pub(crate) fn opt(&mut self, name: &str) -> Option<&'a Element> {
        if self.peek_is(name) {
            self.i += 1;
            Some(self.items[self.i - 1])
        } else {
            None
        }
    }

    pub(crate) fn opt_ns(&mut self, ns: &str, name: &str) -> Option<&'a Element> {
        if self.peek_is_ns(ns, name) {
            self.i += 1;
            Some(self.items[self.i - 1])
        } else {
            None
        }
    }

    pub(crate) fn req(&mut self, name: &str) -> Result<&'a Element, ParseError> {
        self.opt(name).ok_or_else(|| match self.items.get(self.i) {
            Some(e) => ParseError::Unexpected {
                path: self.path.clone(),
                found: format!("{} (expected {name})", qname(e)),
            },
            None => ParseError::Missing {
                path: self.path.clone(),
                what: name.to_owned(),
            },
        })
    }

    pub(crate) fn many(&mut self, name: &str) -> Vec<&'a Element> {
        let mut v = Vec::new();
        while let Some(e) = self.opt(name) {
            v.push(e);
        }
        v
    }

    pub(crate) fn child_path(&self, name: &str) -> String {
        format!("{}/{name}", self.path)
    }

    pub(crate) fn end(self) -> Result<(), ParseError> {
        match self.items.get(self.i) {
            Some(e) => Err(ParseError::Unexpected {
                path: self.path,
                found: qname(e),
            }),
            None => Ok(()),
        }
    }
}

pub(crate) fn invalid(path: &str, reason: impl Into<String>) -> ParseError {
    ParseError::Invalid {
        path: path.to_owned(),
        reason: reason.into(),
    }
}

pub(crate) fn parse_bool(path: &str, s: &str) -> Result<bool, ParseError> {
    match s.trim() {
        "true" | "1" => Ok(true),
        "false" | "0" => Ok(false),
        other => Err(invalid(path, format!("`{other}` is not an xs:boolean"))),
    }
}

fn parse_offset(s: &str) -> Option<FixedOffset> {
    if s == "Z" {
        return FixedOffset::east_opt(0);
    }
    let (sign, rest) = match s.as_bytes().first()? {
        b'+' => (1, &s[1..]),
        b'-' => (-1, &s[1..]),
        _ => return None,
    };
    let (h, m) = rest.split_once(':')?;
    if h.len() != 2 || m.len() != 2 {
        return None;
    }
    let h: i32 = h.parse().ok()?;
    let m: i32 = m.parse().ok()?;
    if h > 14 || m > 59 {
        return None;
    }
    FixedOffset::east_opt(sign * (h * 3600 + m * 60))
}

/// Splits an xs:date / xs:time lexical value into value and optional timezone.
fn split_tz(s: &str, min_len: usize) -> (&str, Option<&str>) {
    if let Some(stripped) = s.strip_suffix('Z') {
        return (stripped, Some("Z"));
    }
    if s.len() > min_len
        && let Some(cut) = s.len().checked_sub(6)
        && let (Some(head), Some(tail)) = (s.get(..cut), s.get(cut..))
        && (tail.starts_with('+') || tail.starts_with('-'))
        && tail.as_bytes().get(3) == Some(&b':')
    {
        return (head, Some(tail));
    }
    (s, None)
}

pub(crate) fn parse_date(path: &str, s: &str) -> Result<NaiveDate, ParseError> {
    let s = s.trim();
    let (d, tz) = split_tz(s, 10);
    if let Some(tz) = tz
        && parse_offset(tz).is_none()
    {
        return Err(invalid(path, format!("`{s}` has an invalid timezone")));
    }
    if d.len() != 10 {
        return Err(invalid(
            path,
            format!("`{s}` is not an xs:date (YYYY-MM-DD)"),
        ));
    }
    NaiveDate::parse_from_str(d, "%Y-%m-%d")
        .map_err(|_| invalid(path, format!("`{s}` is not an xs:date (YYYY-MM-DD)")))
}

pub(crate) fn parse_time(path: &str, s: &str) -> Result<Ora, ParseError> {
    let s = s.trim();
    let (t, tz) = split_tz(s, 8);
    let offset = match tz {
        Some(tz) => Some(
            parse_offset(tz)
                .ok_or_else(|| invalid(path, format!("`{s}` has an invalid timezone")))?,
        ),
        None => None,
    };
    let time = NaiveTime::parse_from_str(t, "%H:%M:%S%.f")
        .map_err(|_| invalid(path, format!("`{s}` is not an xs:time (hh:mm:ss)")))?;
    Ok(Ora { time, offset })
}

fn value<T: std::str::FromStr<Err = crate::error::ValueError>>(
    path: &str,
    s: &str,
) -> Result<T, ParseError> {
    s.trim()
        .parse()
        .map_err(|e: crate::error::ValueError| invalid(path, e.to_string()))
}

fn codice(ctx: &Ctx, el: &Element, path: &str) -> Result<CodiceIpa, ParseError> {
    let codice = el.text().trim().to_owned();
    if codice.is_empty() {
        return Err(invalid(path, "empty code"));
    }
    Ok(CodiceIpa {
        codice,
        descrizione: ctx.attr(el, "descrizione").map(str::to_owned),
    })
}

/// Reads an `IdentificatoreType` element (children in the `prot` namespace).
pub(crate) fn identificatore(
    ctx: &Ctx,
    el: &Element,
    path: String,
) -> Result<Identificatore, ParseError> {
    let mut s = Seq::new(el, NS_PROTOCOLLO, path)?;
    let ca = s.req("CodiceAmministrazione")?;
    let codice_amministrazione = codice(ctx, ca, &s.child_path("CodiceAmministrazione"))?;
    let aoo = s.req("CodiceAOO")?;
    let codice_aoo = codice(ctx, aoo, &s.child_path("CodiceAOO"))?;
    let reg = s.req("CodiceRegistro")?;
    let codice_registro = value(&s.child_path("CodiceRegistro"), &reg.text())?;
    let num = s.req("NumeroRegistrazione")?;
    let numero_registrazione = value(&s.child_path("NumeroRegistrazione"), &num.text())?;
    let data = s.req("DataRegistrazione")?;
    let data_registrazione = parse_date(&s.child_path("DataRegistrazione"), &data.text())?;
    let ora_registrazione = match s.opt("OraRegistrazione") {
        Some(o) => Some(parse_time(&s.child_path("OraRegistrazione"), &o.text())?),
        None => None,
    };
    s.end()?;
    Ok(Identificatore {
        codice_amministrazione,
        codice_aoo,
        codice_registro,
        numero_registrazione,
        data_registrazione,
        ora_registrazione,
    })
}

fn text_leaf(s: &mut Seq<'_>, name: &str) -> Result<String, ParseError> {
    Ok(s.req(name)?.text())
}

fn opt_text(s: &mut Seq<'_>, name: &str) -> Option<String> {
    s.opt(name).map(Element::text)
}

fn livello(ctx: &Ctx, el: &Element, path: String) -> Result<Livello, ParseError> {
    let mut s = Seq::new(el, NS_PROTOCOLLO, path)?;
    let l = s.req("Livello")?;
    let sub = match s.opt("SubLivello") {
        Some(e) => Some(Box::new(livello(ctx, e, s.child_path("SubLivello"))?)),
        None => None,
    };
    s.end()?;
    Ok(Livello {
        valore: l.text(),
        descrizione: ctx.attr(l, "descrizione").map(str::to_owned),
        sub_livello: sub,
    })
}

fn classifica(ctx: &Ctx, el: &Element, path: String) -> Result<Classifica, ParseError> {
    let mut s = Seq::new(el, NS_PROTOCOLLO, path)?;
    let denominazione = text_leaf(&mut s, "Denominazione")?;
    let codice = if let Some(f) = s.opt("CodiceFlat") {
        CodiceClassifica::Flat(f.text())
    } else if let Some(p) = s.opt("CodicePath") {
        CodiceClassifica::Path(livello(ctx, p, s.child_path("CodicePath"))?)
    } else {
        return Err(ParseError::Missing {
            path: s.path,
            what: "CodiceFlat or CodicePath".into(),
        });
    };
    s.end()?;
    Ok(Classifica {
        denominazione,
        codice,
    })
}

fn fascicolo(el: &Element, path: String) -> Result<Fascicolo, ParseError> {
    let mut s = Seq::new(el, NS_PROTOCOLLO, path)?;
    let denominazione = text_leaf(&mut s, "Denominazione")?;
    let codice_fascicolo = text_leaf(&mut s, "CodiceFascicolo")?;
    s.end()?;
    Ok(Fascicolo {
        denominazione,
        codice_fascicolo,
    })
}

fn intestazione(ctx: &Ctx, el: &Element, path: String) -> Result<Intestazione, ParseError> {
    let mut s = Seq::new(el, NS_PROTOCOLLO, path)?;
    let id = s.req("Identificatore")?;
    let identificatore = identificatore(ctx, id, s.child_path("Identificatore"))?;
    let prima_registrazione = match s.opt("PrimaRegistrazione") {
        Some(e) => Some(identificatore_at(ctx, e, &s, "PrimaRegistrazione")?),
        None => None,
    };
    let oggetto = text_leaf(&mut s, "Oggetto")?;
    let c = s.req("Classifica")?;
    let classifica = classifica(ctx, c, s.child_path("Classifica"))?;
    let fascicolo = match s.opt("Fascicolo") {
        Some(e) => Some(fascicolo(e, s.child_path("Fascicolo"))?),
        None => None,
    };
    let riservato = match s.opt("Riservato") {
        Some(e) => Some(Riservato {
            valore: parse_bool(&s.child_path("Riservato"), &e.text())?,
            note: ctx.attr(e, "note").map(str::to_owned),
        }),
        None => None,
    };
    s.end()?;
    Ok(Intestazione {
        identificatore,
        prima_registrazione,
        oggetto,
        classifica,
        fascicolo,
        riservato,
    })
}

fn identificatore_at(
    ctx: &Ctx,
    e: &Element,
    s: &Seq<'_>,
    name: &str,
) -> Result<Identificatore, ParseError> {
    identificatore(ctx, e, s.child_path(name))
}

fn riferimenti(ctx: &Ctx, el: &Element, path: String) -> Result<Riferimenti, ParseError> {
    let mut s = Seq::new(el, NS_PROTOCOLLO, path)?;
    let id = s.req("Identificatore")?;
    let identificatore = identificatore(ctx, id, s.child_path("Identificatore"))?;
    let prima_registrazione = match s.opt("PrimaRegistrazione") {
        Some(e) => Some(identificatore_at(ctx, e, &s, "PrimaRegistrazione")?),
        None => None,
    };
    let oggetto = text_leaf(&mut s, "Oggetto")?;
    let c = s.req("Classifica")?;
    let classifica = classifica(ctx, c, s.child_path("Classifica"))?;
    let fascicolo = match s.opt("Fascicolo") {
        Some(e) => Some(fascicolo(e, s.child_path("Fascicolo"))?),
        None => None,
    };
    s.end()?;
    Ok(Riferimenti {
        identificatore,
        prima_registrazione,
        oggetto,
        classifica,
        fascicolo,
    })
}

fn contatti(ctx: &Ctx, el: &Element, path: String) -> Result<Contatti, ParseError> {
    let mut s = Seq::new(el, NS_PROTOCOLLO, path)?;
    let mut c = Contatti::default();
    for a in s.many("IndirizzoPostale") {
        let p = s.child_path("IndirizzoPostale");
        let mut q = Seq::new(a, NS_PROTOCOLLO, p)?;
        let top = q.req("Toponimo")?;
        let mut t = Seq::new(top, NS_PROTOCOLLO, q.child_path("Toponimo"))?;
        let dug = text_leaf(&mut t, "dug")?;
        let duf = text_leaf(&mut t, "duf")?;
        t.end()?;
        let civico = text_leaf(&mut q, "Civico")?;
        let cap_el = q.req("CAP")?;
        let cap = value(&q.child_path("CAP"), &cap_el.text())?;
        let comune_el = q.req("Comune")?;
        let comune_path = q.child_path("Comune");
        let istat = ctx
            .attr(comune_el, "CodiceISTAT")
            .ok_or(ParseError::Missing {
                path: comune_path.clone(),
                what: "@CodiceISTAT".into(),
            })?;
        let codice_istat = value(&comune_path, istat)?;
        let naz = q.req("Nazione")?;
        q.end()?;
        c.indirizzi_postali.push(IndirizzoPostale {
            dug,
            duf,
            civico,
            cap,
            comune: comune_el.text(),
            codice_istat,
            nazione: naz.text(),
            codice3166: ctx.attr(naz, "codice3166").map(str::to_owned),
        });
    }
    for t in s.many("IndirizzoTelematico") {
        let tipo = match ctx.attr(t, "tipo").map(str::trim) {
            None | Some("smtp") => TipoIndirizzo::Smtp,
            Some("url") => TipoIndirizzo::Url,
            Some("other") => TipoIndirizzo::Other,
            Some(other) => {
                return Err(invalid(
                    &s.child_path("IndirizzoTelematico/@tipo"),
                    format!("`{other}` is not smtp, url or other"),
                ));
            }
        };
        c.indirizzi_telematici.push(IndirizzoTelematico {
            valore: t.text(),
            tipo,
            note: ctx.attr(t, "note").map(str::to_owned),
        });
    }
    for t in s.many("Telefono") {
        c.telefoni.push(t.text());
    }
    s.end()?;
    Ok(c)
}

fn opt_contatti(ctx: &Ctx, s: &mut Seq<'_>, name: &str) -> Result<Option<Contatti>, ParseError> {
    match s.opt(name) {
        Some(e) => Ok(Some(contatti(ctx, e, s.child_path(name))?)),
        None => Ok(None),
    }
}

fn opt_codice(ctx: &Ctx, s: &mut Seq<'_>, name: &str) -> Result<Option<CodiceIpa>, ParseError> {
    match s.opt(name) {
        Some(e) => Ok(Some(codice(ctx, e, &s.child_path(name))?)),
        None => Ok(None),
    }
}

fn persona(ctx: &Ctx, el: &Element, path: String) -> Result<PersonaFisica, ParseError> {
    let mut s = Seq::new(el, NS_PROTOCOLLO, path)?;
    let nome = text_leaf(&mut s, "Nome")?;
    let cognome = text_leaf(&mut s, "Cognome")?;
    let titolo = opt_text(&mut s, "Titolo");
    let codice_fiscale = match s.opt("CodiceFiscale") {
        Some(e) => Some(
            e.text()
                .trim()
                .parse::<crate::model::CodiceFiscale>()
                .map_err(|err| invalid(&s.child_path("CodiceFiscale"), err.to_string()))?,
        ),
        None => None,
    };
    let contatti = opt_contatti(ctx, &mut s, "Contatti")?;
    s.end()?;
    Ok(PersonaFisica {
        nome,
        cognome,
        titolo,
        codice_fiscale,
        contatti,
    })
}

fn persone(ctx: &Ctx, s: &mut Seq<'_>) -> Result<Vec<PersonaFisica>, ParseError> {
    let path = s.child_path("PersonaFisica");
    s.many("PersonaFisica")
        .into_iter()
        .map(|e| persona(ctx, e, path.clone()))
        .collect()
}

fn soggetto(ctx: &Ctx, el: &Element, path: String) -> Result<Soggetto, ParseError> {
    let mut s = Seq::new(el, NS_PROTOCOLLO, path)?;
    let out = if let Some(a) = s.opt("Amministrazione") {
        let mut q = Seq::new(a, NS_PROTOCOLLO, s.child_path("Amministrazione"))?;
        let denominazione = text_leaf(&mut q, "DenominazioneAmministrazione")?;
        let cf = match q.opt("CFAmministrazione") {
            Some(e) => Some(value(&q.child_path("CFAmministrazione"), &e.text())?),
            None => None,
        };
        let ipa = q.req("CodiceIPAAmministrazione")?;
        let codice_ipa = codice(ctx, ipa, &q.child_path("CodiceIPAAmministrazione"))?;
        let contatti = opt_contatti(ctx, &mut q, "ContattiAmministrazione")?;
        let codice_ipa_aoo = opt_codice(ctx, &mut q, "CodiceIPAAOO")?;
        let contatti_aoo = opt_contatti(ctx, &mut q, "ContattiAOO")?;
        let codice_ipa_uo = opt_codice(ctx, &mut q, "CodiceIPAUO")?;
        let contatti_uo = opt_contatti(ctx, &mut q, "ContattiUO")?;
        let persone = persone(ctx, &mut q)?;
        q.end()?;
        Soggetto::Amministrazione(Amministrazione {
            denominazione,
            cf,
            codice_ipa,
            contatti,
            codice_ipa_aoo,
            contatti_aoo,
            codice_ipa_uo,
            contatti_uo,
            persone,
        })
    } else if let Some(g) = s.opt("PersonaGiuridica") {
        let mut q = Seq::new(g, NS_PROTOCOLLO, s.child_path("PersonaGiuridica"))?;
        let denominazione = text_leaf(&mut q, "Denominazione")?;
        let piva_o_cf = match q.opt("PIVAoCF") {
            Some(e) => Some(value(&q.child_path("PIVAoCF"), &e.text())?),
            None => None,
        };
        let contatti = opt_contatti(ctx, &mut q, "ContattiPersonaGiuridica")?;
        let persone = persone(ctx, &mut q)?;
        q.end()?;
        Soggetto::PersonaGiuridica(PersonaGiuridica {
            denominazione,
            piva_o_cf,
            contatti,
            persone,
        })
    } else if let Some(p) = s.opt("PersonaFisica") {
        Soggetto::PersonaFisica(persona(ctx, p, s.child_path("PersonaFisica"))?)
    } else if let Some(e) = s.opt("AmministrazioneEstera") {
        let mut q = Seq::new(e, NS_PROTOCOLLO, s.child_path("AmministrazioneEstera"))?;
        let denominazione = text_leaf(&mut q, "DenominazioneAmministrazione")?;
        let denominazione_ufficio = opt_text(&mut q, "DenominazioneUfficio");
        let contatti = opt_contatti(ctx, &mut q, "ContattiAmministrazione")?;
        q.end()?;
        Soggetto::AmministrazioneEstera(AmministrazioneEstera {
            denominazione,
            denominazione_ufficio,
            contatti,
        })
    } else {
        return Err(ParseError::Missing {
            path: s.path,
            what: "Amministrazione, PersonaGiuridica, PersonaFisica or AmministrazioneEstera"
                .into(),
        });
    };
    s.end()?;
    Ok(out)
}

fn firma(ctx: &Ctx, el: &Element, path: String) -> Result<Firma, ParseError> {
    let mut s = Seq::new(el, NS_PROTOCOLLO, path)?;
    let out = if let Some(u) = s.opt("UnDetached") {
        if !parse_bool(&s.child_path("UnDetached"), &u.text())? {
            return Err(invalid(
                &s.child_path("UnDetached"),
                "fixed value is `true`",
            ));
        }
        Firma::UnDetached
    } else {
        let p = s.child_path("Detached");
        let list = s.many("Detached");
        if list.is_empty() {
            return Err(ParseError::Missing {
                path: s.path,
                what: "UnDetached or Detached".into(),
            });
        }
        let mut v = Vec::new();
        for d in list {
            let nome_file = ctx.attr(d, "nomeFile").ok_or(ParseError::Missing {
                path: p.clone(),
                what: "@nomeFile".into(),
            })?;
            let order = ctx.attr(d, "order").ok_or(ParseError::Missing {
                path: p.clone(),
                what: "@order".into(),
            })?;
            let order = order
                .trim()
                .parse()
                .map_err(|_| invalid(&p, format!("@order `{order}` is not an integer")))?;
            v.push(Detached {
                nome_file: nome_file.to_owned(),
                mime_type: ctx.attr(d, "mimeType").map(str::to_owned),
                order,
            });
        }
        Firma::Detached(v)
    };
    s.end()?;
    Ok(out)
}

fn documento(ctx: &Ctx, el: &Element, path: String) -> Result<Documento, ParseError> {
    let nome_file = ctx.attr(el, "nomeFile").ok_or(ParseError::Missing {
        path: path.clone(),
        what: "@nomeFile".into(),
    })?;
    let mime_type = ctx.attr(el, "mimeType").ok_or(ParseError::Missing {
        path: path.clone(),
        what: "@mimeType".into(),
    })?;
    let mut s = Seq::new(el, NS_PROTOCOLLO, path)?;
    let descrizione = opt_text(&mut s, "Descrizione");
    let imp = s.req("Impronta")?;
    let impronta = Impronta::from_base64(ctx.attr(imp, "algoritmo"), &imp.text())
        .map_err(|e| invalid(&s.child_path("Impronta"), e.to_string()))?;
    let collocazione_telematica = match s.opt("CollocazioneTelematica") {
        Some(c) => {
            let p = s.child_path("CollocazioneTelematica");
            let mut q = Seq::new(c, NS_PROTOCOLLO, p.clone())?;
            let host = text_leaf(&mut q, "HostValue")?;
            let path_v = text_leaf(&mut q, "PathValue")?;
            q.end()?;
            let time_to_live =
                match ctx.attr(c, "timeToLive") {
                    Some(t) => Some(t.trim().parse().map_err(|_| {
                        invalid(&p, format!("@timeToLive `{t}` is not an integer"))
                    })?),
                    None => None,
                };
            Some(CollocazioneTelematica {
                host: host.trim().to_owned(),
                path: path_v.trim().to_owned(),
                time_to_live,
                user_id: ctx.attr(c, "userId").map(str::to_owned),
                password: ctx.attr(c, "password").map(str::to_owned),
            })
        }
        None => None,
    };
    let mut f = |name: &str| -> Result<Option<Firma>, ParseError> {
        match s.opt(name) {
            Some(e) => Ok(Some(firma(ctx, e, s.child_path(name))?)),
            None => Ok(None),
        }
    };
    let firmato_digitalmente = f("firmatoDigitalmente")?;
    let sigillato_elettronicamente = f("sigillatoElettronicamente")?;
    let marcatura_temporale = f("marcaturaTemporale")?;
    s.end()?;
    Ok(Documento {
        nome_file: nome_file.to_owned(),
        mime_type: mime_type.to_owned(),
        descrizione,
        impronta,
        collocazione_telematica,
        firmato_digitalmente,
        sigillato_elettronicamente,
        marcatura_temporale,
    })
}

fn descrizione(ctx: &Ctx, el: &Element, path: String) -> Result<Descrizione, ParseError> {
    let mut s = Seq::new(el, NS_PROTOCOLLO, path)?;
    let m = s.req("Mittente")?;
    let mittente = soggetto(ctx, m, s.child_path("Mittente"))?;
    let mut destinatari = Vec::new();
    let dp = s.child_path("Destinatario");
    for d in s.many("Destinatario") {
        let conferma_ricezione = match ctx.attr(d, "confermaRicezione") {
            Some(v) => parse_bool(&format!("{dp}/@confermaRicezione"), v)?,
            None => true,
        };
        let per_conoscenza = match ctx.attr(d, "perConoscenza") {
            Some(v) => parse_bool(&format!("{dp}/@perConoscenza"), v)?,
            None => false,
        };
        destinatari.push(Destinatario {
            soggetto: soggetto(ctx, d, dp.clone())?,
            conferma_ricezione,
            per_conoscenza,
        });
    }
    if destinatari.is_empty() {
        return Err(ParseError::Missing {
            path: s.path,
            what: "Destinatario".into(),
        });
    }
    let p = s.req("DocumentoPrimario")?;
    let documento_primario = documento(ctx, p, s.child_path("DocumentoPrimario"))?;
    let ap = s.child_path("Allegato");
    let allegati = s
        .many("Allegato")
        .into_iter()
        .map(|a| documento(ctx, a, ap.clone()))
        .collect::<Result<Vec<_>, _>>()?;
    s.end()?;
    Ok(Descrizione {
        mittente,
        destinatari,
        documento_primario,
        allegati,
    })
}

/// Reads a `SegnaturaInformatica` root element; returns the model and whether a `ds:Signature`
/// was present as last child.
pub(crate) fn segnatura_from_element(
    ctx: &Ctx,
    root: &Element,
) -> Result<(SegnaturaInformatica, RootNamespace, bool), ParseError> {
    let kind = if root.is(NS_PROTOCOLLO, "SegnaturaInformatica") {
        RootNamespace::Protocollo
    } else if root.is(NS_PEC, "SegnaturaInformatica") {
        RootNamespace::Pec
    } else {
        return Err(ParseError::UnexpectedRoot {
            found: qname(root),
            expected: "SegnaturaInformatica in the protocollo or protocollo/pec namespace",
        });
    };
    let path = "SegnaturaInformatica".to_owned();
    match ctx.attr(root, "versione") {
        Some("3.0.0") => {}
        Some(v) => return Err(invalid(&path, format!("versione is `{v}`, expected 3.0.0"))),
        None => {
            return Err(ParseError::Missing {
                path,
                what: "@versione".into(),
            });
        }
    }
    match ctx.attr(root, "lang") {
        Some("it") => {}
        Some(v) => return Err(invalid(&path, format!("lang is `{v}`, expected it"))),
        None => {
            return Err(ParseError::Missing {
                path,
                what: "@lang".into(),
            });
        }
    }
    let mut s = Seq::new(root, NS_PROTOCOLLO, path)?;
    let i = s.req("Intestazione")?;
    let intestazione = intestazione(ctx, i, s.child_path("Intestazione"))?;
    let riferimenti = match s.opt("Riferimenti") {
        Some(r) => Some(riferimenti(ctx, r, s.child_path("Riferimenti"))?),
        None => None,
    };
    let d = s.req("Descrizione")?;
    let descrizione = descrizione(ctx, d, s.child_path("Descrizione"))?;
    let signed = s.opt_ns(NS_DSIG, "Signature").is_some();
    s.end()?;
    Ok((
        SegnaturaInformatica {
            intestazione,
            riferimenti,
            descrizione,
        },
        kind,
        signed,
    ))
}

/// A segnatura read from XML, with what the reader saw around the model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedSegnatura {
    /// The model.
    pub segnatura: SegnaturaInformatica,
    /// Which root namespace the document used.
    pub root: RootNamespace,
    /// Whether a `ds:Signature` was present (it is *not* verified by parsing; see
    /// [`crate::verify_segnatura`]).
    pub has_signature: bool,
}

impl SegnaturaInformatica {
    /// Reads a segnatura (either root namespace, signed or not), strictly. The signature, if
    /// any, is not verified: use [`crate::verify_segnatura`] for a received segnatura.
    ///
    /// # Errors
    /// [`Error::Xml`] for malformed or refused XML, [`Error::Parse`] with the element path for
    /// a document that does not follow the schema.
    pub fn from_xml(xml: &str) -> Result<Self, Error> {
        Ok(Self::parse_with(xml, ParseOptions::strict())?.segnatura)
    }

    /// Reads a segnatura with options, reporting the root namespace and signature presence.
    ///
    /// # Errors
    /// As [`SegnaturaInformatica::from_xml`].
    pub fn parse_with(xml: &str, opts: ParseOptions) -> Result<ParsedSegnatura, Error> {
        let root = xml::parse_with(xml, opts.allow_external_doctype)?;
        let ctx = Ctx { opts };
        let (segnatura, root, has_signature) = segnatura_from_element(&ctx, &root)?;
        Ok(ParsedSegnatura {
            segnatura,
            root,
            has_signature,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_times() {
        assert!(parse_date("x", "2021-03-30").is_ok());
        assert!(parse_date("x", "2021-03-30+01:00").is_ok());
        assert!(parse_date("x", "2021-3-30").is_err());
        assert!(parse_date("x", "2021-02-30").is_err());
        let t = parse_time("x", "10:15:30.5Z").unwrap();
        assert_eq!(t.offset, FixedOffset::east_opt(0));
        let t = parse_time("x", "10:15:30-05:00").unwrap();
        assert_eq!(t.offset, FixedOffset::east_opt(-5 * 3600));
        assert!(parse_time("x", "25:00:00").is_err());
        // Multi-byte input never splits inside a character.
        assert!(parse_date("x", "2021-03-30\u{20ac}\u{20ac}a").is_err());
        assert!(parse_time("x", "10:00:00\u{20ac}\u{20ac}a").is_err());
    }
}
