//! Reading the 2013 segnatura (Circolare AgID 60/2013, namespace
//! `http://www.digitPa.gov.it/protocollo/`, root `Segnatura`). Only reading: new segnature are
//! written in the 2021 format.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::error::{Error, ParseError};
use crate::impronta::Impronta;
use crate::model::{CodiceIpa, CodiceRegistro, Identificatore, NumeroRegistrazione};
use crate::parse::{ParseOptions, invalid, parse_date, qname};
use crate::write::NS_PROTOCOLLO_2013;
use crate::xml::{self, Element};

/// `Identificatore` of a 2013 segnatura (values kept as written).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identificatore2013 {
    /// Administration code.
    pub codice_amministrazione: String,
    /// AOO code.
    pub codice_aoo: String,
    /// Registry code.
    pub codice_registro: String,
    /// Protocol number, as written.
    pub numero_registrazione: String,
    /// Registration date.
    pub data_registrazione: NaiveDate,
}

impl Identificatore2013 {
    /// The 2021 identifier, when the values satisfy the 2021 formats.
    ///
    /// # Errors
    /// [`crate::ValueError`] for a registry code or number the 2021 schema does not allow.
    pub fn to_2021(&self) -> Result<Identificatore, crate::error::ValueError> {
        Ok(Identificatore {
            codice_amministrazione: CodiceIpa::new(self.codice_amministrazione.clone()),
            codice_aoo: CodiceIpa::new(self.codice_aoo.clone()),
            codice_registro: self.codice_registro.parse::<CodiceRegistro>()?,
            numero_registrazione: self.numero_registrazione.parse::<NumeroRegistrazione>()?,
            data_registrazione: self.data_registrazione,
            ora_registrazione: None,
        })
    }
}

/// A correspondent of a 2013 segnatura, reduced to names and codes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Corrispondente2013 {
    /// Administration or organisation name (`Amministrazione/Denominazione` or `Denominazione`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub denominazione: Option<String>,
    /// Administration code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub codice_amministrazione: Option<String>,
    /// AOO name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aoo: Option<String>,
    /// AOO code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub codice_aoo: Option<String>,
    /// People (`Nome Cognome`, or the person's `Denominazione`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub persone: Vec<String>,
}

/// `Destinazione` / `PerConoscenza` of a 2013 segnatura.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Destinazione2013 {
    /// Electronic address.
    pub indirizzo_telematico: String,
    /// Whether a receipt confirmation is asked (`confermaRicezione="si"`).
    pub conferma_ricezione: bool,
    /// Recipients at that address.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub destinatari: Vec<Corrispondente2013>,
}

/// A document of a 2013 segnatura.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Documento2013 {
    /// `nome` attribute (file name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nome: Option<String>,
    /// `tipoMIME` attribute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tipo_mime: Option<String>,
    /// Title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub titolo: Option<String>,
    /// Digest (SHA-256, base64), when present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub impronta: Option<Impronta>,
}

/// A 2013 segnatura: the parts that matter for registering a received message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Segnatura2013 {
    /// Sender's registration.
    pub identificatore: Identificatore2013,
    /// First registration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prima_registrazione: Option<Identificatore2013>,
    /// Registration time as written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ora_registrazione: Option<String>,
    /// Sender's electronic address (`Origine/IndirizzoTelematico`).
    pub origine_indirizzo: String,
    /// Sender (`Origine/Mittente`).
    pub mittente: Corrispondente2013,
    /// Recipients.
    pub destinazioni: Vec<Destinazione2013>,
    /// Recipients in copy.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub per_conoscenza: Vec<Destinazione2013>,
    /// Subject.
    pub oggetto: String,
    /// Classification levels, each as the list of its `Livello` values.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub classifiche: Vec<Vec<String>>,
    /// Primary document (absent when the message is the e-mail text, `TestoDelMessaggio`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub documento: Option<Documento2013>,
    /// Attachments (documents only, also those inside `Fascicolo`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allegati: Vec<Documento2013>,
}

fn kids<'a>(el: &'a Element, name: &'a str) -> impl Iterator<Item = &'a Element> + 'a {
    el.elements()
        .filter(move |e| e.is(NS_PROTOCOLLO_2013, name))
}

fn kid<'a>(el: &'a Element, name: &str) -> Option<&'a Element> {
    el.elements().find(|e| e.is(NS_PROTOCOLLO_2013, name))
}

fn need<'a>(el: &'a Element, name: &str, path: &str) -> Result<&'a Element, ParseError> {
    kid(el, name).ok_or_else(|| ParseError::Missing {
        path: path.to_owned(),
        what: name.to_owned(),
    })
}

fn trimmed(el: &Element) -> String {
    el.text().trim().to_owned()
}

fn identificatore(el: &Element, path: &str) -> Result<Identificatore2013, ParseError> {
    let t = |n: &str| need(el, n, path).map(trimmed);
    Ok(Identificatore2013 {
        codice_amministrazione: t("CodiceAmministrazione")?,
        codice_aoo: t("CodiceAOO")?,
        codice_registro: kid(el, "CodiceRegistro").map(trimmed).unwrap_or_default(),
        numero_registrazione: t("NumeroRegistrazione")?,
        data_registrazione: parse_date(
            &format!("{path}/DataRegistrazione"),
            &t("DataRegistrazione")?,
        )?,
    })
}

fn persona(p: &Element) -> String {
    if let Some(d) = kid(p, "Denominazione") {
        return trimmed(d);
    }
    let nome = kid(p, "Nome").map(trimmed).unwrap_or_default();
    let cognome = kid(p, "Cognome").map(trimmed).unwrap_or_default();
    format!("{nome} {cognome}").trim().to_owned()
}

fn amministrazione(a: &Element, c: &mut Corrispondente2013) {
    c.denominazione = kid(a, "Denominazione").map(trimmed);
    c.codice_amministrazione = kid(a, "CodiceAmministrazione").map(trimmed);
    let mut stack = vec![a];
    while let Some(e) = stack.pop() {
        c.persone.extend(kids(e, "Persona").map(persona));
        for r in kids(e, "Ruolo") {
            c.persone.extend(kids(r, "Persona").map(persona));
        }
        stack.extend(kids(e, "UnitaOrganizzativa"));
    }
}

fn corrispondente(el: &Element) -> Corrispondente2013 {
    let mut c = Corrispondente2013::default();
    if let Some(a) = kid(el, "Amministrazione") {
        amministrazione(a, &mut c);
    } else if let Some(d) = kid(el, "Denominazione") {
        c.denominazione = Some(trimmed(d));
        c.persone.extend(kids(el, "Persona").map(persona));
    } else {
        c.persone.extend(kids(el, "Persona").map(persona));
    }
    if let Some(aoo) = kid(el, "AOO") {
        c.aoo = kid(aoo, "Denominazione").map(trimmed);
        c.codice_aoo = kid(aoo, "CodiceAOO").map(trimmed);
    }
    c
}

fn destinazione(el: &Element, path: &str) -> Result<Destinazione2013, ParseError> {
    let conferma_ricezione = match el
        .attr(None, "confermaRicezione")
        .or_else(|| el.attr(Some(NS_PROTOCOLLO_2013), "confermaRicezione"))
        .map(str::trim)
    {
        None | Some("no") => false,
        Some("si") => true,
        Some(other) => {
            return Err(invalid(
                &format!("{path}/@confermaRicezione"),
                format!("`{other}` is neither si nor no"),
            ));
        }
    };
    Ok(Destinazione2013 {
        indirizzo_telematico: trimmed(need(el, "IndirizzoTelematico", path)?),
        conferma_ricezione,
        destinatari: kids(el, "Destinatario").map(corrispondente).collect(),
    })
}

fn attr<'a>(el: &'a Element, name: &str) -> Option<&'a str> {
    el.attr(None, name)
        .or_else(|| el.attr(Some(NS_PROTOCOLLO_2013), name))
}

fn documento(el: &Element, path: &str) -> Result<Documento2013, ParseError> {
    let impronta = match kid(el, "Impronta") {
        Some(i) => Some(
            Impronta::from_base64(attr(i, "algoritmo"), &i.text())
                .map_err(|e| invalid(&format!("{path}/Impronta"), e.to_string()))?,
        ),
        None => None,
    };
    Ok(Documento2013 {
        nome: attr(el, "nome").map(str::to_owned),
        tipo_mime: attr(el, "tipoMIME").map(str::to_owned),
        titolo: kid(el, "TitoloDocumento").map(trimmed),
        impronta,
    })
}

fn collect_docs(el: &Element, path: &str, out: &mut Vec<Documento2013>) -> Result<(), ParseError> {
    for c in el.elements() {
        if c.is(NS_PROTOCOLLO_2013, "Documento") {
            out.push(documento(c, path)?);
        } else if c.is(NS_PROTOCOLLO_2013, "Fascicolo") {
            collect_docs(c, &format!("{path}/Fascicolo"), out)?;
        }
    }
    Ok(())
}

fn into_2013_namespace(e: &mut Element) {
    if e.ns.is_none() {
        e.ns = Some(NS_PROTOCOLLO_2013.to_owned());
    }
    for c in &mut e.children {
        if let xml::Node::Element(el) = c {
            into_2013_namespace(el);
        }
    }
}

impl Segnatura2013 {
    /// Reads a 2013 `Segnatura` strictly (namespace required, DTDs refused).
    ///
    /// # Errors
    /// [`Error::Xml`] for malformed XML, [`Error::Parse`] for a document without the parts
    /// the 2013 schema makes mandatory.
    pub fn from_xml(xml: &str) -> Result<Self, Error> {
        Self::from_xml_with(xml, ParseOptions::strict())
    }

    /// Reads a 2013 `Segnatura` with options: [`ParseOptions::allow_external_doctype`] and
    /// [`ParseOptions::accept_unnamespaced_2013`] accept older producers.
    ///
    /// # Errors
    /// As [`Segnatura2013::from_xml`].
    pub fn from_xml_with(xml: &str, opts: ParseOptions) -> Result<Self, Error> {
        let mut root = xml::parse_with(xml, opts.allow_external_doctype)?;
        if opts.accept_unnamespaced_2013 && root.ns.is_none() {
            into_2013_namespace(&mut root);
        }
        if !root.is(NS_PROTOCOLLO_2013, "Segnatura") {
            return Err(ParseError::UnexpectedRoot {
                found: qname(&root),
                expected: "Segnatura in the http://www.digitPa.gov.it/protocollo/ namespace",
            }
            .into());
        }
        let p = "Segnatura/Intestazione";
        let int = need(&root, "Intestazione", "Segnatura")?;
        let identificatore = identificatore(
            need(int, "Identificatore", p)?,
            "Segnatura/Intestazione/Identificatore",
        )?;
        let prima_registrazione = match kid(int, "PrimaRegistrazione") {
            Some(pr) => Some(identificatore_in(pr)?),
            None => None,
        };
        let origine = need(int, "Origine", p)?;
        let op = "Segnatura/Intestazione/Origine";
        let origine_indirizzo = trimmed(need(origine, "IndirizzoTelematico", op)?);
        let mittente = corrispondente(need(origine, "Mittente", op)?);
        let dp = "Segnatura/Intestazione/Destinazione";
        let destinazioni = kids(int, "Destinazione")
            .map(|d| destinazione(d, dp))
            .collect::<Result<Vec<_>, _>>()?;
        if destinazioni.is_empty() {
            return Err(ParseError::Missing {
                path: p.into(),
                what: "Destinazione".into(),
            }
            .into());
        }
        let per_conoscenza = kids(int, "PerConoscenza")
            .map(|d| destinazione(d, "Segnatura/Intestazione/PerConoscenza"))
            .collect::<Result<Vec<_>, _>>()?;
        let oggetto = need(int, "Oggetto", p)?.text();
        let classifiche = kids(int, "Classifica")
            .map(|c| kids(c, "Livello").map(trimmed).collect())
            .collect();
        let desc = need(&root, "Descrizione", "Segnatura")?;
        let documento = match kid(desc, "Documento") {
            Some(d) => Some(documento(d, "Segnatura/Descrizione/Documento")?),
            None => None,
        };
        let mut allegati = Vec::new();
        if let Some(a) = kid(desc, "Allegati") {
            collect_docs(a, "Segnatura/Descrizione/Allegati", &mut allegati)?;
        }
        Ok(Segnatura2013 {
            identificatore,
            prima_registrazione,
            ora_registrazione: kid(int, "OraRegistrazione").map(trimmed),
            origine_indirizzo,
            mittente,
            destinazioni,
            per_conoscenza,
            oggetto,
            classifiche,
            documento,
            allegati,
        })
    }
}

fn identificatore_in(pr: &Element) -> Result<Identificatore2013, ParseError> {
    let path = "Segnatura/Intestazione/PrimaRegistrazione";
    identificatore(need(pr, "Identificatore", path)?, path)
}
