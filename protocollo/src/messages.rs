//! Messages between AOOs (`pec_message.xsd`): receipt confirmation, exception notice,
//! confirmation update and cancellation.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::{Error, ParseError, WriteError};
use crate::model::{Identificatore, SegnaturaInformatica};
use crate::parse::{
    Ctx, ParseOptions, ParsedSegnatura, Seq, identificatore, invalid, qname, segnatura_from_element,
};
use crate::write::{NS_PEC, NS_PROTOCOLLO, XML_DECL, write_identificatore};
use crate::xml::{self, Element, Writer};

/// The anomaly codes of AgID Allegato 6 that a recipient reports in a `NotificaEccezione`.
///
/// Codes are recognised by their three-digit prefix, so spelling variants of the names parse.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub enum CodiceAnomalia {
    /// `000_Irricevibile`: the message cannot be received at all.
    Irricevibile,
    /// `001_ValidazioneFirma`: the seal of the segnatura does not verify.
    ValidazioneFirma,
    /// `002_AnomaliaImpronta`: a document's digest differs from its `Impronta`.
    AnomaliaImpronta,
    /// `003_DocumentoAllegatiNonLeggibili`: a document or attachment cannot be read.
    DocumentoAllegatiNonLeggibili,
    /// `004_DocumentoAllegatiErrorreValidazioneFirma` (sic): a document's signature fails.
    DocumentoAllegatiErroreValidazioneFirma,
    /// `005_…MarcaTemporale`: a document's timestamp fails.
    DocumentoAllegatiErroreValidazioneMarcaTemporale,
    /// `006_…Sigillo`: a document's electronic seal fails.
    DocumentoAllegatiErroreValidazioneSigillo,
    /// `007_ErroreIdentificatoreNonTrovato`: the referenced registration does not exist.
    ErroreIdentificatoreNonTrovato,
    /// Any other code, as written.
    Other(String),
}

impl CodiceAnomalia {
    /// The code as written in messages.
    pub fn as_str(&self) -> &str {
        match self {
            CodiceAnomalia::Irricevibile => "000_Irricevibile",
            CodiceAnomalia::ValidazioneFirma => "001_ValidazioneFirma",
            CodiceAnomalia::AnomaliaImpronta => "002_AnomaliaImpronta",
            CodiceAnomalia::DocumentoAllegatiNonLeggibili => "003_DocumentoAllegatiNonLeggibili",
            CodiceAnomalia::DocumentoAllegatiErroreValidazioneFirma => {
                "004_DocumentoAllegatiErrorreValidazioneFirma"
            }
            CodiceAnomalia::DocumentoAllegatiErroreValidazioneMarcaTemporale => {
                "005_DocumentoAllegatiErrorreValidazioneMarcaTemporale"
            }
            CodiceAnomalia::DocumentoAllegatiErroreValidazioneSigillo => {
                "006_DocumentoAllegatiErrorreValidazioneSigillo"
            }
            CodiceAnomalia::ErroreIdentificatoreNonTrovato => "007_ErroreIdentificatoreNonTrovato",
            CodiceAnomalia::Other(s) => s,
        }
    }

    /// Reads a code by its numeric prefix (`002_...` is [`CodiceAnomalia::AnomaliaImpronta`]).
    pub fn parse(s: &str) -> Self {
        let s = s.trim();
        match s.get(..4) {
            Some("000_") => CodiceAnomalia::Irricevibile,
            Some("001_") => CodiceAnomalia::ValidazioneFirma,
            Some("002_") => CodiceAnomalia::AnomaliaImpronta,
            Some("003_") => CodiceAnomalia::DocumentoAllegatiNonLeggibili,
            Some("004_") => CodiceAnomalia::DocumentoAllegatiErroreValidazioneFirma,
            Some("005_") => CodiceAnomalia::DocumentoAllegatiErroreValidazioneMarcaTemporale,
            Some("006_") => CodiceAnomalia::DocumentoAllegatiErroreValidazioneSigillo,
            Some("007_") => CodiceAnomalia::ErroreIdentificatoreNonTrovato,
            _ => CodiceAnomalia::Other(s.to_owned()),
        }
    }
}

impl From<String> for CodiceAnomalia {
    fn from(s: String) -> Self {
        CodiceAnomalia::parse(&s)
    }
}

impl From<CodiceAnomalia> for String {
    fn from(c: CodiceAnomalia) -> String {
        c.as_str().to_owned()
    }
}

impl fmt::Display for CodiceAnomalia {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The received message a reply refers to (`MessaggioRicevutoType`).
// A plain data model read once per message: boxing would only make it harder to use.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MessaggioRicevuto {
    /// By its registration.
    Identificatore {
        /// The sender's registration.
        identificatore: Identificatore,
        /// Its first registration.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        prima_registrazione: Option<Identificatore>,
    },
    /// By a description (when the message had no readable registration).
    DescrizioneMessaggio(String),
}

impl MessaggioRicevuto {
    /// Refers to a received segnatura.
    pub fn of(s: &SegnaturaInformatica) -> Self {
        MessaggioRicevuto::Identificatore {
            identificatore: s.intestazione.identificatore.clone(),
            prima_registrazione: s.intestazione.prima_registrazione.clone(),
        }
    }
}

/// `ConfermaRicezione` (and, with the same content, `AggiornamentoConferma`): the recipient's
/// registration of a received message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Conferma {
    /// The recipient's own registration.
    pub identificatore: Identificatore,
    /// The message received.
    pub messaggio_ricevuto: MessaggioRicevuto,
}

/// `NotificaEccezione`: the recipient reports an anomaly.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotificaEccezione {
    /// The recipient's registration, if it registered the message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identificatore: Option<Identificatore>,
    /// The message received.
    pub messaggio_ricevuto: MessaggioRicevuto,
    /// The reason; starts with the anomaly code when built by [`NotificaEccezione::anomalia`].
    pub motivo: String,
}

impl NotificaEccezione {
    /// A notice for `codice` with a human-readable detail: `Motivo` is `"<code> - <detail>"`.
    pub fn anomalia(
        messaggio_ricevuto: MessaggioRicevuto,
        codice: &CodiceAnomalia,
        dettaglio: &str,
    ) -> Self {
        let motivo = if dettaglio.is_empty() {
            codice.as_str().to_owned()
        } else {
            format!("{} - {dettaglio}", codice.as_str())
        };
        NotificaEccezione {
            identificatore: None,
            messaggio_ricevuto,
            motivo,
        }
    }

    /// The anomaly code at the start of `Motivo`, if there is one.
    pub fn codice_anomalia(&self) -> Option<CodiceAnomalia> {
        let first = self
            .motivo
            .trim()
            .split(|c: char| c.is_whitespace() || c == ':')
            .next()?;
        match CodiceAnomalia::parse(first) {
            CodiceAnomalia::Other(_) => None,
            c => Some(c),
        }
    }
}

/// `AnnullamentoProtocollazione`: the sender cancels a registration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnnullamentoProtocollazione {
    /// The cancelled registration.
    pub identificatore: Identificatore,
    /// Why.
    pub motivo: String,
    /// The measure authorising the cancellation.
    pub provvedimento: String,
}

/// Any message between AOOs.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum MessaggioAoo {
    /// A segnatura (either root namespace).
    Segnatura(Box<ParsedSegnatura>),
    /// `ConfermaRicezione`.
    ConfermaRicezione(Conferma),
    /// `AggiornamentoConferma`.
    AggiornamentoConferma(Conferma),
    /// `NotificaEccezione`.
    NotificaEccezione(NotificaEccezione),
    /// `AnnullamentoProtocollazione`.
    AnnullamentoProtocollazione(AnnullamentoProtocollazione),
}

fn root_attrs() -> [(&'static str, &'static str); 4] {
    [
        ("xmlns:pec", NS_PEC),
        ("xmlns:prot", NS_PROTOCOLLO),
        ("pec:versione", "3.0.0"),
        ("pec:lang", "it"),
    ]
}

fn write_messaggio_ricevuto(w: &mut Writer, m: &MessaggioRicevuto) {
    w.open("pec:MessaggioRicevuto", &[]);
    match m {
        MessaggioRicevuto::Identificatore {
            identificatore,
            prima_registrazione,
        } => {
            write_identificatore(w, "pec:Identificatore", identificatore);
            if let Some(p) = prima_registrazione {
                write_identificatore(w, "pec:PrimaRegistrazione", p);
            }
        }
        MessaggioRicevuto::DescrizioneMessaggio(d) => w.leaf("pec:DescrizioneMessaggio", &[], d),
    }
    w.close("pec:MessaggioRicevuto");
}

fn write_conferma(root: &str, c: &Conferma) -> String {
    let mut w = Writer::new();
    w.out.push_str(XML_DECL);
    w.open(root, &root_attrs());
    write_identificatore(&mut w, "pec:Identificatore", &c.identificatore);
    write_messaggio_ricevuto(&mut w, &c.messaggio_ricevuto);
    w.close(root);
    w.out.push('\n');
    w.out
}

impl Conferma {
    /// Writes it as a `ConfermaRicezione`.
    pub fn to_conferma_ricezione_xml(&self) -> String {
        write_conferma("pec:ConfermaRicezione", self)
    }

    /// Writes it as an `AggiornamentoConferma`.
    pub fn to_aggiornamento_conferma_xml(&self) -> String {
        write_conferma("pec:AggiornamentoConferma", self)
    }
}

impl NotificaEccezione {
    /// Writes the `NotificaEccezione`.
    pub fn to_xml(&self) -> String {
        let mut w = Writer::new();
        w.out.push_str(XML_DECL);
        w.open("pec:NotificaEccezione", &root_attrs());
        if let Some(id) = &self.identificatore {
            write_identificatore(&mut w, "pec:Identificatore", id);
        }
        write_messaggio_ricevuto(&mut w, &self.messaggio_ricevuto);
        w.leaf("pec:Motivo", &[], &self.motivo);
        w.close("pec:NotificaEccezione");
        w.out.push('\n');
        w.out
    }
}

impl AnnullamentoProtocollazione {
    /// Writes the `AnnullamentoProtocollazione`.
    pub fn to_xml(&self) -> String {
        let mut w = Writer::new();
        w.out.push_str(XML_DECL);
        w.open("pec:AnnullamentoProtocollazione", &root_attrs());
        write_identificatore(&mut w, "pec:Identificatore", &self.identificatore);
        w.leaf("pec:Motivo", &[], &self.motivo);
        w.leaf("pec:Provvedimento", &[], &self.provvedimento);
        w.close("pec:AnnullamentoProtocollazione");
        w.out.push('\n');
        w.out
    }
}

impl MessaggioAoo {
    /// Writes the message. A segnatura is written unsigned (seal it with
    /// [`crate::seal_segnatura`]).
    ///
    /// # Errors
    /// [`WriteError`] for a segnatura that breaks a schema rule.
    pub fn to_xml(&self) -> Result<String, WriteError> {
        Ok(match self {
            MessaggioAoo::Segnatura(s) => s.segnatura.to_xml()?,
            MessaggioAoo::ConfermaRicezione(c) => c.to_conferma_ricezione_xml(),
            MessaggioAoo::AggiornamentoConferma(c) => c.to_aggiornamento_conferma_xml(),
            MessaggioAoo::NotificaEccezione(n) => n.to_xml(),
            MessaggioAoo::AnnullamentoProtocollazione(a) => a.to_xml(),
        })
    }

    /// Reads any message between AOOs, dispatching on the root element.
    ///
    /// # Errors
    /// [`Error::Xml`] for malformed XML, [`Error::Parse`] for an unknown root or a message
    /// that does not follow `pec_message.xsd`.
    pub fn from_xml(xml: &str) -> Result<Self, Error> {
        Self::parse_with(xml, ParseOptions::strict())
    }

    /// As [`MessaggioAoo::from_xml`], with options.
    ///
    /// # Errors
    /// As [`MessaggioAoo::from_xml`].
    pub fn parse_with(xml: &str, opts: ParseOptions) -> Result<Self, Error> {
        let root = xml::parse_with(xml, opts.allow_external_doctype)?;
        let ctx = Ctx { opts };
        if root.name == "SegnaturaInformatica" {
            let (segnatura, root, has_signature) = segnatura_from_element(&ctx, &root)?;
            return Ok(MessaggioAoo::Segnatura(Box::new(ParsedSegnatura {
                segnatura,
                root,
                has_signature,
            })));
        }
        if root.ns.as_deref() != Some(NS_PEC) {
            return Err(unexpected_root(&root).into());
        }
        check_version(&ctx, &root)?;
        let path = root.name.clone();
        let mut s = Seq::new(&root, NS_PEC, path)?;
        let msg = match root.name.as_str() {
            "ConfermaRicezione" | "AggiornamentoConferma" => {
                let id = s.req("Identificatore")?;
                let identificatore = identificatore(&ctx, id, s.child_path("Identificatore"))?;
                let m = s.req("MessaggioRicevuto")?;
                let messaggio_ricevuto =
                    messaggio_ricevuto(&ctx, m, s.child_path("MessaggioRicevuto"))?;
                let c = Conferma {
                    identificatore,
                    messaggio_ricevuto,
                };
                if root.name == "ConfermaRicezione" {
                    MessaggioAoo::ConfermaRicezione(c)
                } else {
                    MessaggioAoo::AggiornamentoConferma(c)
                }
            }
            "NotificaEccezione" => {
                let identificatore = match s.opt("Identificatore") {
                    Some(id) => Some(identificatore(&ctx, id, s.child_path("Identificatore"))?),
                    None => None,
                };
                let m = s.req("MessaggioRicevuto")?;
                let messaggio_ricevuto =
                    messaggio_ricevuto(&ctx, m, s.child_path("MessaggioRicevuto"))?;
                let motivo = s.req("Motivo")?.text();
                MessaggioAoo::NotificaEccezione(NotificaEccezione {
                    identificatore,
                    messaggio_ricevuto,
                    motivo,
                })
            }
            "AnnullamentoProtocollazione" => {
                let id = s.req("Identificatore")?;
                let identificatore = identificatore(&ctx, id, s.child_path("Identificatore"))?;
                let motivo = s.req("Motivo")?.text();
                let provvedimento = s.req("Provvedimento")?.text();
                MessaggioAoo::AnnullamentoProtocollazione(AnnullamentoProtocollazione {
                    identificatore,
                    motivo,
                    provvedimento,
                })
            }
            _ => return Err(unexpected_root(&root).into()),
        };
        s.end()?;
        Ok(msg)
    }
}

fn unexpected_root(root: &Element) -> ParseError {
    ParseError::UnexpectedRoot {
        found: qname(root),
        expected: "SegnaturaInformatica, ConfermaRicezione, AggiornamentoConferma, \
                   NotificaEccezione or AnnullamentoProtocollazione",
    }
}

fn check_version(ctx: &Ctx, root: &Element) -> Result<(), ParseError> {
    let path = root.name.clone();
    match ctx.pec_attr(root, "versione") {
        Some("3.0.0") => {}
        Some(v) => return Err(invalid(&path, format!("versione is `{v}`, expected 3.0.0"))),
        None => {
            return Err(ParseError::Missing {
                path,
                what: "@versione".into(),
            });
        }
    }
    match ctx.pec_attr(root, "lang") {
        Some("it") => Ok(()),
        Some(v) => Err(invalid(&path, format!("lang is `{v}`, expected it"))),
        None => Err(ParseError::Missing {
            path,
            what: "@lang".into(),
        }),
    }
}

fn messaggio_ricevuto(
    ctx: &Ctx,
    el: &Element,
    path: String,
) -> Result<MessaggioRicevuto, ParseError> {
    let mut s = Seq::new(el, NS_PEC, path)?;
    let out = if let Some(d) = s.opt("DescrizioneMessaggio") {
        MessaggioRicevuto::DescrizioneMessaggio(d.text())
    } else {
        let id = s.req("Identificatore")?;
        let ident = identificatore(ctx, id, s.child_path("Identificatore"))?;
        let prima = match s.opt("PrimaRegistrazione") {
            Some(p) => Some(identificatore(ctx, p, s.child_path("PrimaRegistrazione"))?),
            None => None,
        };
        MessaggioRicevuto::Identificatore {
            identificatore: ident,
            prima_registrazione: prima,
        }
    };
    s.end()?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anomaly_codes_by_prefix() {
        assert_eq!(
            CodiceAnomalia::parse("002_AnomaliaImpronta"),
            CodiceAnomalia::AnomaliaImpronta
        );
        assert_eq!(
            CodiceAnomalia::parse("004_DocumentoAllegatiErroreValidazioneFirma"),
            CodiceAnomalia::DocumentoAllegatiErroreValidazioneFirma
        );
        assert!(matches!(
            CodiceAnomalia::parse("999_X"),
            CodiceAnomalia::Other(_)
        ));
        for c in [
            CodiceAnomalia::Irricevibile,
            CodiceAnomalia::ValidazioneFirma,
            CodiceAnomalia::ErroreIdentificatoreNonTrovato,
        ] {
            assert_eq!(CodiceAnomalia::parse(c.as_str()), c);
        }
    }
}
