//! Messages from SIOPE+ and the treasurer: ACK, ricezione / rifiuto, esito applicativo,
//! giornale di cassa, disponibilità liquide. Parsed into typed values; codes that the platform
//! may extend are open enums.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{NaiveDate, NaiveDateTime};
use pa_types::Amount;

use crate::error::{Error, ParseError, ParseErrorKind};
use crate::model::{RawXml, Soggetto, Sospeso};
use crate::reader::{OpiAmount, XsDate, XsDateTime};
use crate::types::{CodiceA2a, CodiceAbi, CodiceEnte, CodiceIstat, SignedAmount};
use crate::xml::{Cursor, Ev, Node, XmlIn, XmlLimits};

/// `testata_messaggio`, common to the treasurer's messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestataMessaggio {
    /// `codice_ABI_BT`.
    pub codice_abi_bt: CodiceAbi,
    /// `data_ora_creazione_flusso`.
    pub data_ora_creazione_flusso: NaiveDateTime,
    /// `codice_ente`.
    pub codice_ente: CodiceEnte,
    /// `descrizione_ente`.
    pub descrizione_ente: String,
    /// `codice_istat_ente`.
    pub codice_istat_ente: CodiceIstat,
    /// `codice_fiscale_ente`.
    pub codice_fiscale_ente: String,
    /// `codice_tramite_ente`.
    pub codice_tramite_ente: CodiceA2a,
    /// `codice_tramite_BT`.
    pub codice_tramite_bt: CodiceA2a,
    /// `codice_ente_BT`.
    pub codice_ente_bt: String,
}

macro_rules! open_enum {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $var:ident = $s:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum $name {
            $($(#[$vm])* $var,)+
            /// A value not known to this version of the crate.
            Other(String),
        }

        impl $name {
            /// The spelling used in the XML.
            #[must_use]
            pub fn as_str(&self) -> &str {
                match self {
                    $($name::$var => $s,)+
                    $name::Other(s) => s,
                }
            }
        }

        impl std::str::FromStr for $name {
            type Err = std::convert::Infallible;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Ok(match s {
                    $($s => $name::$var,)+
                    other => $name::Other(other.to_owned()),
                })
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

open_enum!(
    /// `stato_flusso` of an ACK.
    StatoFlusso {
        /// Accepted.
        Ok = "OK",
        /// Refused.
        Ko = "KO",
        /// Accepted with warnings.
        Warning = "WARNING",
    }
);

/// An error or warning of an ACK.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErroreAck {
    /// `codice`.
    pub codice: u64,
    /// `descrizione`.
    pub descrizione: String,
    /// `elemento`: XPath of the element concerned.
    pub elemento: Option<String>,
}

/// `messaggio_ack_siope`: SIOPE+'s answer to an uploaded flow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AckSiope {
    /// `testata_messaggio`.
    pub testata: TestataMessaggio,
    /// `identificativo_flusso` of the ente's flow.
    pub identificativo_flusso: Option<String>,
    /// `identificativo_flusso_BT`.
    pub identificativo_flusso_bt: Option<String>,
    /// `esercizio`.
    pub esercizio: Option<u16>,
    /// `stato_flusso`.
    pub stato_flusso: StatoFlusso,
    /// `errore` entries.
    pub errori: Vec<ErroreAck>,
    /// `warning` entries.
    pub warning: Vec<ErroreAck>,
}

/// `messaggio_ricezione_flusso`: the treasurer received the flow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RicezioneFlusso {
    /// `testata_messaggio`.
    pub testata: TestataMessaggio,
    /// `identificativo_flusso`.
    pub identificativo_flusso: String,
    /// `identificativo_flusso_BT`.
    pub identificativo_flusso_bt: String,
    /// `esercizio`.
    pub esercizio: u16,
    /// Whether a `ds:Signature` is present (verification is separate).
    pub signed: bool,
}

/// An error of a refused flow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErroreRifiuto {
    /// `codice`.
    pub codice: Option<u64>,
    /// `descrizione`.
    pub descrizione: String,
}

/// `messaggio_rifiuto_flusso`: the treasurer refused the whole flow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RifiutoFlusso {
    /// `testata_messaggio`.
    pub testata: TestataMessaggio,
    /// `identificativo_flusso`.
    pub identificativo_flusso: String,
    /// `identificativo_flusso_BT`.
    pub identificativo_flusso_bt: String,
    /// `esercizio`.
    pub esercizio: u16,
    /// `errore` (1..n).
    pub errori: Vec<ErroreRifiuto>,
    /// Whether a `ds:Signature` is present.
    pub signed: bool,
}

open_enum!(
    /// `esito_operazione` of one order.
    EsitoOperazione {
        /// ACQUISITO
        Acquisito = "ACQUISITO",
        /// NON ACQUISITO
        NonAcquisito = "NON ACQUISITO",
        /// VARIATO
        Variato = "VARIATO",
        /// NON VARIATO
        NonVariato = "NON VARIATO",
        /// ANNULLATO
        Annullato = "ANNULLATO",
        /// NON ANNULLATO
        NonAnnullato = "NON ANNULLATO",
        /// SOSTITUITO
        Sostituito = "SOSTITUITO",
        /// NON SOSTITUITO
        NonSostituito = "NON SOSTITUITO",
        /// PAGATO (mandati)
        Pagato = "PAGATO",
        /// RISCOSSO (reversali)
        Riscosso = "RISCOSSO",
        /// STORNATO
        Stornato = "STORNATO",
        /// REGOLARIZZATO
        Regolarizzato = "REGOLARIZZATO",
        /// NON REGOLARIZZATO
        NonRegolarizzato = "NON REGOLARIZZATO",
        /// NON ESEGUIBILE
        NonEseguibile = "NON ESEGUIBILE",
    }
);

impl EsitoOperazione {
    /// Whether the outcome is a refusal (`NON ...`).
    #[must_use]
    pub fn is_negative(&self) -> bool {
        self.as_str().starts_with("NON ")
    }
}

/// Mandato or reversale.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TipoOrdinativo {
    /// `esito_mandati`.
    Mandato,
    /// `esito_reversali`.
    Reversale,
}

/// An error attached to an order's outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErroreEsito {
    /// `progressivo_beneficiario` / `progressivo_versante`.
    pub progressivo: Option<u64>,
    /// `codice_errore`.
    pub codice_errore: Option<u64>,
    /// `descrizione`.
    pub descrizione: String,
    /// `elemento`.
    pub elemento: Option<String>,
}

/// `esito_mandati` / `esito_reversali`: the outcome of one order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EsitoOrdinativo {
    /// Which kind of order.
    pub tipo: TipoOrdinativo,
    /// `identificativo_flusso` of the ente's flow.
    pub identificativo_flusso: String,
    /// `esercizio`.
    pub esercizio: u16,
    /// `numero_mandato` / `numero_reversale`.
    pub numero: u64,
    /// `progressivo_beneficiario` / `progressivo_versante`.
    pub progressivo: Option<u64>,
    /// `data_mandato` / `data_reversale`.
    pub data: Option<NaiveDate>,
    /// `importo`.
    pub importo: Option<Amount>,
    /// `esito_operazione`.
    pub esito_operazione: EsitoOperazione,
    /// `data_ora_esito_operazione`.
    pub data_ora_esito_operazione: NaiveDateTime,
    /// `lista_errori`.
    pub errori: Vec<ErroreEsito>,
}

/// `messaggi_esito_applicativo`: outcomes of orders, from the treasurer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EsitoApplicativo {
    /// `testata_messaggio`.
    pub testata: TestataMessaggio,
    /// `identificativo_flusso_BT`.
    pub identificativo_flusso_bt: String,
    /// The outcomes in document order.
    pub esiti: Vec<EsitoOrdinativo>,
    /// Whether a `ds:Signature` is present.
    pub signed: bool,
}

open_enum!(
    /// `tipo_operazione` of a cash-book movement.
    TipoOperazioneMovimento {
        /// ESEGUITO
        Eseguito = "ESEGUITO",
        /// STORNATO
        Stornato = "STORNATO",
        /// REGOLARIZZATO
        Regolarizzato = "REGOLARIZZATO",
        /// RIPRISTINATO
        Ripristinato = "RIPRISTINATO",
    }
);

/// Entrata or uscita.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TipoMovimento {
    /// ENTRATA
    Entrata,
    /// USCITA
    Uscita,
}

impl std::str::FromStr for TipoMovimento {
    type Err = crate::types::InvalidValue;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "ENTRATA" => Ok(TipoMovimento::Entrata),
            "USCITA" => Ok(TipoMovimento::Uscita),
            _ => Err(crate::types::InvalidValue::new(
                "tipo_movimento",
                "ENTRATA or USCITA",
                s,
            )),
        }
    }
}

/// `sospeso_da_regolarizzare`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SospesoDaRegolarizzare {
    /// `data_effettiva_sospeso`.
    pub data_effettiva_sospeso: NaiveDate,
    /// `codice_gestionale_provvisorio`.
    pub codice_gestionale_provvisorio: String,
}

/// `movimento_conto_evidenza`: one movement of the cash book.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Movimento {
    /// `identificativo_flusso`.
    pub identificativo_flusso: String,
    /// `numero_movimento`.
    pub numero_movimento: u64,
    /// `tipo_movimento`.
    pub tipo_movimento: TipoMovimento,
    /// `tipo_documento` (REVERSALE, MANDATO, SOSPESO ENTRATA, ...).
    pub tipo_documento: String,
    /// `tipo_operazione`.
    pub tipo_operazione: TipoOperazioneMovimento,
    /// `numero_documento`.
    pub numero_documento: u64,
    /// `sospeso_da_regolarizzare`.
    pub sospeso_da_regolarizzare: Option<SospesoDaRegolarizzare>,
    /// `tipologia_pagamento_funzionario_delegato`.
    pub tipologia_pagamento_funzionario_delegato: Option<String>,
    /// `numero_pagamento_funzionario_delegato`.
    pub numero_pagamento_funzionario_delegato: Option<String>,
    /// `progressivo_documento`.
    pub progressivo_documento: u64,
    /// `importo`.
    pub importo: SignedAmount,
    /// `importo_ritenute`.
    pub importo_ritenute: Option<Amount>,
    /// `numero_bolletta_quietanza`.
    pub numero_bolletta_quietanza: Option<u64>,
    /// `numero_bolletta_quietanza_storno`.
    pub numero_bolletta_quietanza_storno: Option<u64>,
    /// `data_movimento`.
    pub data_movimento: NaiveDate,
    /// `data_movimento_siope`.
    pub data_movimento_siope: NaiveDate,
    /// `data_valuta_ente`.
    pub data_valuta_ente: Option<NaiveDate>,
    /// `tipo_esecuzione`.
    pub tipo_esecuzione: String,
    /// `coordinate`.
    pub coordinate: Option<String>,
    /// `codice_riferimento_operazione`.
    pub codice_riferimento_operazione: Option<String>,
    /// `end_to_end_id`.
    pub end_to_end_id: Option<String>,
    /// `codice_riferimento_interno`.
    pub codice_riferimento_interno: Option<String>,
    /// `tipo_contabilita`.
    pub tipo_contabilita: Option<String>,
    /// `destinazione`.
    pub destinazione: Option<String>,
    /// `assoggettamento_bollo`.
    pub assoggettamento_bollo: String,
    /// `importo_bollo`.
    pub importo_bollo: Option<Amount>,
    /// `assoggettamento_spese`.
    pub assoggettamento_spese: Option<String>,
    /// `importo_spese`.
    pub importo_spese: Option<Amount>,
    /// `assoggettamento_commissioni`.
    pub assoggettamento_commissioni: Option<String>,
    /// `importo_commissioni`.
    pub importo_commissioni: Option<Amount>,
    /// `cliente`.
    pub cliente: Soggetto,
    /// `delegato` (as a party; `partita_iva` is always empty).
    pub delegato: Option<Soggetto>,
    /// `creditore_effettivo`.
    pub creditore_effettivo: Option<Soggetto>,
    /// `causale`.
    pub causale: String,
    /// `sospeso`.
    pub sospeso: Vec<Sospeso>,
    /// `dati_a_disposizione_BT`.
    pub dati_a_disposizione_bt: Option<RawXml>,
}

/// `informazioni_conto_evidenza`: one account of the cash book.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContoEvidenza {
    /// `conto_evidenza`.
    pub conto_evidenza: String,
    /// `descrizione_conto_evidenza`.
    pub descrizione: Option<String>,
    /// `movimento_conto_evidenza`.
    pub movimenti: Vec<Movimento>,
    /// `saldo_precedente_conto_evidenza`.
    pub saldo_precedente: Option<SignedAmount>,
    /// `totale_entrate_conto_evidenza`.
    pub totale_entrate: Option<SignedAmount>,
    /// `totale_uscite_conto_evidenza`.
    pub totale_uscite: Option<SignedAmount>,
    /// `saldo_finale_conto_evidenza`.
    pub saldo_finale: Option<SignedAmount>,
}

/// `totali_esercizio`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TotaliEsercizio {
    /// `fondo_di_cassa`.
    pub fondo_di_cassa: SignedAmount,
    /// `totale_reversali_riscosse`.
    pub totale_reversali_riscosse: SignedAmount,
    /// `totale_sospesi_entrata`.
    pub totale_sospesi_entrata: SignedAmount,
    /// `totale_entrate`.
    pub totale_entrate: SignedAmount,
    /// `deficit_di_cassa`.
    pub deficit_di_cassa: SignedAmount,
    /// `totale_mandati_pagati`.
    pub totale_mandati_pagati: SignedAmount,
    /// `totale_sospesi_uscita`.
    pub totale_sospesi_uscita: SignedAmount,
    /// `totale_uscite`.
    pub totale_uscite: SignedAmount,
    /// `saldo_esercizio`.
    pub saldo_esercizio: SignedAmount,
}

/// `totali_disponibilita_liquide`. Optional entries absent from the message are `None`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TotaliDisponibilita {
    /// Every entry by element name, in document order (`saldo_conti_correnti`, ...,
    /// `disponibilita`).
    pub voci: BTreeMap<String, SignedAmount>,
}

impl TotaliDisponibilita {
    /// `disponibilita`: the cash available.
    #[must_use]
    pub fn disponibilita(&self) -> SignedAmount {
        self.voci.get("disponibilita").copied().unwrap_or_default()
    }
}

/// `flusso_giornale_di_cassa`: one page of the treasurer's cash book.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GiornaleDiCassa {
    /// `testata_messaggio`.
    pub testata: TestataMessaggio,
    /// `identificativo_flusso_BT`.
    pub identificativo_flusso_bt: String,
    /// `pagina`.
    pub pagina: u32,
    /// `pagine_totali`.
    pub pagine_totali: u32,
    /// `riferimento_ente`.
    pub riferimento_ente: Option<String>,
    /// `esercizio`.
    pub esercizio: u16,
    /// `data_riferimento_GdC`.
    pub data_riferimento: NaiveDate,
    /// `informazioni_conto_evidenza` (1..n).
    pub conti: Vec<ContoEvidenza>,
    /// `saldo_complessivo_precedente`.
    pub saldo_complessivo_precedente: Option<SignedAmount>,
    /// `totale_complessivo_entrate`.
    pub totale_complessivo_entrate: Option<SignedAmount>,
    /// `totale_complessivo_uscite`.
    pub totale_complessivo_uscite: Option<SignedAmount>,
    /// `saldo_complessivo_finale`.
    pub saldo_complessivo_finale: Option<SignedAmount>,
    /// `totali_esercizio`.
    pub totali_esercizio: Option<TotaliEsercizio>,
    /// `totali_disponibilita_liquide`.
    pub totali_disponibilita_liquide: Option<TotaliDisponibilita>,
    /// Whether a `ds:Signature` is present.
    pub signed: bool,
}

/// The voci of a monthly report, in schema order.
pub const VOCI_DISPONIBILITA: [u16; 15] = [
    1100, 1200, 1300, 1400, 1450, 2100, 2200, 2300, 2400, 1500, 1600, 1700, 1800, 1850, 1900,
];

/// `segnalazione_mensile`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegnalazioneMensile {
    /// `codice_abi_originario`.
    pub codice_abi_originario: Option<CodiceAbi>,
    /// `anno_riferimento`.
    pub anno_riferimento: u16,
    /// `mese_riferimento`.
    pub mese_riferimento: u8,
    /// `codice_voce_NNNN` values by code (1100, 1200, ...).
    pub voci: BTreeMap<u16, SignedAmount>,
}

/// `flusso_disponibilita_liquide`: monthly liquidity report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisponibilitaLiquide {
    /// `testata_messaggio`.
    pub testata: TestataMessaggio,
    /// `identificativo_flusso_BT`.
    pub identificativo_flusso_bt: String,
    /// `segnalazione_mensile` (1..n).
    pub segnalazioni: Vec<SegnalazioneMensile>,
    /// Whether a `ds:Signature` is present.
    pub signed: bool,
}

/// Any message from SIOPE+ or the treasurer.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Messaggio {
    /// `messaggio_ack_siope`.
    Ack(AckSiope),
    /// `messaggio_ricezione_flusso`.
    Ricezione(RicezioneFlusso),
    /// `messaggio_rifiuto_flusso`.
    Rifiuto(RifiutoFlusso),
    /// `messaggi_esito_applicativo`.
    EsitoApplicativo(EsitoApplicativo),
    /// `flusso_giornale_di_cassa`.
    GiornaleDiCassa(Box<GiornaleDiCassa>),
    /// `flusso_disponibilita_liquide`.
    DisponibilitaLiquide(DisponibilitaLiquide),
}

/// Reads the whole document into a tree, refusing DTDs and bounding depth and size.
fn read_root(xml: &[u8], limits: XmlLimits) -> Result<Node, ParseError> {
    let mut x = XmlIn::new(xml, limits);
    loop {
        match x.next("/")? {
            Ev::Start(s) => {
                let name = s.local.clone();
                let node = x.read_node(&s, &name)?;
                loop {
                    match x.next(&name)? {
                        Ev::Eof => return Ok(node),
                        Ev::Text(t) if t.trim().is_empty() => {}
                        _ => {
                            return Err(x.err(
                                &name,
                                ParseErrorKind::Xml("content after the root element".into()),
                            ));
                        }
                    }
                }
            }
            Ev::Text(t) if t.trim().is_empty() => {}
            _ => return Err(x.err("/", ParseErrorKind::Xml("expected a root element".into()))),
        }
    }
}

/// Parses any known message, chosen by its root element.
///
/// # Errors
/// [`Error::Parse`] with the element path and byte position (also for an unknown root).
pub fn parse_message(xml: &[u8]) -> Result<Messaggio, Error> {
    let root = read_root(xml, XmlLimits::default())?;
    Ok(match root.name.as_str() {
        "messaggio_ack_siope" => Messaggio::Ack(ack(&root)?),
        "messaggio_ricezione_flusso" => Messaggio::Ricezione(ricezione(&root)?),
        "messaggio_rifiuto_flusso" => Messaggio::Rifiuto(rifiuto(&root)?),
        "messaggi_esito_applicativo" => Messaggio::EsitoApplicativo(esito(&root)?),
        "flusso_giornale_di_cassa" => Messaggio::GiornaleDiCassa(Box::new(giornale(&root)?)),
        "flusso_disponibilita_liquide" => Messaggio::DisponibilitaLiquide(disponibilita(&root)?),
        other => {
            return Err(ParseError {
                path: other.to_owned(),
                position: root.pos,
                kind: ParseErrorKind::WrongRoot {
                    expected: "a SIOPE+ message".into(),
                    found: other.to_owned(),
                },
            }
            .into());
        }
    })
}

macro_rules! typed_parser {
    ($ty:ident, $root:literal, $f:ident) => {
        impl $ty {
            #[doc = concat!("Parses a `", $root, "` document.")]
            ///
            /// # Errors
            /// [`Error::Parse`] with the element path and byte position.
            pub fn from_xml(xml: &[u8]) -> Result<Self, Error> {
                let root = read_root(xml, XmlLimits::default())?;
                if root.name != $root {
                    return Err(ParseError {
                        path: root.name.clone(),
                        position: root.pos,
                        kind: ParseErrorKind::WrongRoot {
                            expected: $root.into(),
                            found: root.name.clone(),
                        },
                    }
                    .into());
                }
                Ok($f(&root)?)
            }
        }
    };
}

typed_parser!(AckSiope, "messaggio_ack_siope", ack);
typed_parser!(RicezioneFlusso, "messaggio_ricezione_flusso", ricezione);
typed_parser!(RifiutoFlusso, "messaggio_rifiuto_flusso", rifiuto);
typed_parser!(EsitoApplicativo, "messaggi_esito_applicativo", esito);
typed_parser!(GiornaleDiCassa, "flusso_giornale_di_cassa", giornale);
typed_parser!(
    DisponibilitaLiquide,
    "flusso_disponibilita_liquide",
    disponibilita
);

/// Skips `ds:Signature` children at the current position; true when at least one was there.
fn skip_signatures(c: &mut Cursor<'_>) -> bool {
    let mut any = false;
    while c.opt("Signature").is_some() {
        any = true;
    }
    any
}

pub(crate) fn testata(c: &mut Cursor<'_>) -> Result<TestataMessaggio, ParseError> {
    c.with("testata_messaggio", |c| {
        Ok(TestataMessaggio {
            codice_abi_bt: c.parse("codice_ABI_BT")?,
            data_ora_creazione_flusso: c.parse::<XsDateTime>("data_ora_creazione_flusso")?.0,
            codice_ente: c.parse("codice_ente")?,
            descrizione_ente: c.string("descrizione_ente")?,
            codice_istat_ente: c.parse("codice_istat_ente")?,
            codice_fiscale_ente: c.string("codice_fiscale_ente")?,
            codice_tramite_ente: c.parse("codice_tramite_ente")?,
            codice_tramite_bt: c.parse("codice_tramite_BT")?,
            codice_ente_bt: c.string("codice_ente_BT")?,
        })
    })
}

fn errore_ack(c: &mut Cursor<'_>) -> Result<ErroreAck, ParseError> {
    Ok(ErroreAck {
        codice: c.parse("codice")?,
        descrizione: c.string("descrizione")?,
        elemento: c.opt_text("elemento"),
    })
}

fn ack(root: &Node) -> Result<AckSiope, ParseError> {
    let mut c = Cursor::new(root, root.name.clone());
    let a = AckSiope {
        testata: testata(&mut c)?,
        identificativo_flusso: c.opt_text("identificativo_flusso"),
        identificativo_flusso_bt: c.opt_text("identificativo_flusso_BT"),
        esercizio: c.opt_parse("esercizio")?,
        stato_flusso: c.parse("stato_flusso")?,
        errori: c.many_with("errore", errore_ack)?,
        warning: c.many_with("warning", errore_ack)?,
    };
    c.end()?;
    Ok(a)
}

fn ricezione(root: &Node) -> Result<RicezioneFlusso, ParseError> {
    let mut c = Cursor::new(root, root.name.clone());
    let lead = skip_signatures(&mut c);
    let mut r = RicezioneFlusso {
        testata: testata(&mut c)?,
        identificativo_flusso: c.string("identificativo_flusso")?,
        identificativo_flusso_bt: c.string("identificativo_flusso_BT")?,
        esercizio: c.parse("esercizio")?,
        signed: lead,
    };
    r.signed |= skip_signatures(&mut c);
    c.end()?;
    Ok(r)
}

fn rifiuto(root: &Node) -> Result<RifiutoFlusso, ParseError> {
    let mut c = Cursor::new(root, root.name.clone());
    let lead = skip_signatures(&mut c);
    let mut r = RifiutoFlusso {
        testata: testata(&mut c)?,
        identificativo_flusso: c.string("identificativo_flusso")?,
        identificativo_flusso_bt: c.string("identificativo_flusso_BT")?,
        esercizio: c.parse("esercizio")?,
        errori: c.many_with("errore", |c| {
            Ok(ErroreRifiuto {
                codice: c.opt_parse("codice")?,
                descrizione: c.string("descrizione")?,
            })
        })?,
        signed: lead,
    };
    if r.errori.is_empty() {
        c.req("errore")?;
    }
    r.signed |= skip_signatures(&mut c);
    c.end()?;
    Ok(r)
}

fn esito_ordinativo(
    c: &mut Cursor<'_>,
    tipo: TipoOrdinativo,
) -> Result<EsitoOrdinativo, ParseError> {
    let (num, prog, data) = match tipo {
        TipoOrdinativo::Mandato => ("numero_mandato", "progressivo_beneficiario", "data_mandato"),
        TipoOrdinativo::Reversale => ("numero_reversale", "progressivo_versante", "data_reversale"),
    };
    Ok(EsitoOrdinativo {
        tipo,
        identificativo_flusso: c.string("identificativo_flusso")?,
        esercizio: c.parse("esercizio")?,
        numero: c.parse(num)?,
        progressivo: c.opt_parse(prog)?,
        data: c.opt_parse::<XsDate>(data)?.map(|d| d.0),
        importo: c.opt_parse::<OpiAmount>("importo")?.map(|a| a.0),
        esito_operazione: c.parse("esito_operazione")?,
        data_ora_esito_operazione: c.parse::<XsDateTime>("data_ora_esito_operazione")?.0,
        errori: c.many_with("lista_errori", |c| {
            Ok(ErroreEsito {
                progressivo: c.opt_parse(prog)?,
                codice_errore: c.opt_parse("codice_errore")?,
                descrizione: c.string("descrizione")?,
                elemento: c.opt_text("elemento"),
            })
        })?,
    })
}

fn esito(root: &Node) -> Result<EsitoApplicativo, ParseError> {
    let mut c = Cursor::new(root, root.name.clone());
    let lead = skip_signatures(&mut c);
    let testata = testata(&mut c)?;
    let identificativo_flusso_bt = c.string("identificativo_flusso_BT")?;
    let mut esiti = Vec::new();
    let mut i = 0;
    loop {
        let tipo = match c.peek() {
            Some("esito_mandati") => TipoOrdinativo::Mandato,
            Some("esito_reversali") => TipoOrdinativo::Reversale,
            _ => break,
        };
        i += 1;
        let name = if tipo == TipoOrdinativo::Mandato {
            "esito_mandati"
        } else {
            "esito_reversali"
        };
        let n = c.req(name)?;
        let mut cc = Cursor::new(n, format!("{}/{}[{}]", c.path, name, i));
        esiti.push(esito_ordinativo(&mut cc, tipo)?);
        cc.end()?;
    }
    if esiti.is_empty() {
        c.req("esito_mandati")?;
    }
    let signed = lead | skip_signatures(&mut c);
    c.end()?;
    Ok(EsitoApplicativo {
        testata,
        identificativo_flusso_bt,
        esiti,
        signed,
    })
}

fn signed(c: &mut Cursor<'_>, name: &str) -> Result<SignedAmount, ParseError> {
    c.parse(name)
}

fn opt_signed(c: &mut Cursor<'_>, name: &str) -> Result<Option<SignedAmount>, ParseError> {
    c.opt_parse(name)
}

fn opt_amount(c: &mut Cursor<'_>, name: &str) -> Result<Option<Amount>, ParseError> {
    c.opt_parse::<OpiAmount>(name).map(|a| a.map(|a| a.0))
}

fn party(c: &mut Cursor<'_>, sfx: &str, piva: bool) -> Result<Soggetto, ParseError> {
    Ok(Soggetto {
        anagrafica: c.string(&format!("anagrafica_{sfx}"))?,
        indirizzo: c.opt_text(&format!("indirizzo_{sfx}")),
        cap: c.opt_text(&format!("cap_{sfx}")),
        localita: c.opt_text(&format!("localita_{sfx}")),
        provincia: c.opt_text(&format!("provincia_{sfx}")),
        stato: c.opt_text(&format!("stato_{sfx}")),
        partita_iva: if piva {
            c.opt_text(&format!("partita_iva_{sfx}"))
        } else {
            None
        },
        codice_fiscale: c.opt_text(&format!("codice_fiscale_{sfx}")),
    })
}

fn movimento(c: &mut Cursor<'_>) -> Result<Movimento, ParseError> {
    Ok(Movimento {
        identificativo_flusso: c.string("identificativo_flusso")?,
        numero_movimento: c.parse("numero_movimento")?,
        tipo_movimento: c.parse("tipo_movimento")?,
        tipo_documento: c.string("tipo_documento")?,
        tipo_operazione: c.parse("tipo_operazione")?,
        numero_documento: c.parse("numero_documento")?,
        sospeso_da_regolarizzare: c.opt_with("sospeso_da_regolarizzare", |c| {
            Ok(SospesoDaRegolarizzare {
                data_effettiva_sospeso: c.parse::<XsDate>("data_effettiva_sospeso")?.0,
                codice_gestionale_provvisorio: c.string("codice_gestionale_provvisorio")?,
            })
        })?,
        tipologia_pagamento_funzionario_delegato: c
            .opt_text("tipologia_pagamento_funzionario_delegato"),
        numero_pagamento_funzionario_delegato: c.opt_text("numero_pagamento_funzionario_delegato"),
        progressivo_documento: c.parse("progressivo_documento")?,
        importo: signed(c, "importo")?,
        importo_ritenute: opt_amount(c, "importo_ritenute")?,
        numero_bolletta_quietanza: c.opt_parse("numero_bolletta_quietanza")?,
        numero_bolletta_quietanza_storno: c.opt_parse("numero_bolletta_quietanza_storno")?,
        data_movimento: c.parse::<XsDate>("data_movimento")?.0,
        data_movimento_siope: c.parse::<XsDate>("data_movimento_siope")?.0,
        data_valuta_ente: c.opt_parse::<XsDate>("data_valuta_ente")?.map(|d| d.0),
        tipo_esecuzione: c.string("tipo_esecuzione")?,
        coordinate: c.opt_text("coordinate"),
        codice_riferimento_operazione: c.opt_text("codice_riferimento_operazione"),
        end_to_end_id: c.opt_text("end_to_end_id"),
        codice_riferimento_interno: c.opt_text("codice_riferimento_interno"),
        tipo_contabilita: c.opt_text("tipo_contabilita"),
        destinazione: c.opt_text("destinazione"),
        assoggettamento_bollo: c.string("assoggettamento_bollo")?,
        importo_bollo: opt_amount(c, "importo_bollo")?,
        assoggettamento_spese: c.opt_text("assoggettamento_spese"),
        importo_spese: opt_amount(c, "importo_spese")?,
        assoggettamento_commissioni: c.opt_text("assoggettamento_commissioni"),
        importo_commissioni: opt_amount(c, "importo_commissioni")?,
        cliente: c.with("cliente", |c| party(c, "cliente", true))?,
        delegato: c.opt_with("delegato", |c| party(c, "delegato", false))?,
        creditore_effettivo: c.opt_with("creditore_effettivo", |c| {
            party(c, "creditore_effettivo", true)
        })?,
        causale: c.string("causale")?,
        sospeso: c.many_with("sospeso", |c| {
            Ok(Sospeso {
                numero_provvisorio: c.parse("numero_provvisorio")?,
                importo_provvisorio: c.parse::<OpiAmount>("importo_provvisorio")?.0,
            })
        })?,
        dati_a_disposizione_bt: c
            .opt("dati_a_disposizione_BT")
            .map(|n| RawXml::from_trusted(n.text.clone())),
    })
}

const TOTALI_DISPONIBILITA: [(&str, bool); 13] = [
    ("saldo_conti_correnti", true),
    ("saldo_conti_BI", false),
    ("totale_conti", false),
    ("vincoli_conti_correnti", false),
    ("vincoli_conti_BI", false),
    ("totale_vincoli", false),
    ("svincoli_conti_correnti", false),
    ("svincoli_conti_BI", false),
    ("totale_svincoli", false),
    ("anticipazione_accordata", true),
    ("anticipazione_utilizzata", true),
    ("totale_somme_bloccate_riservate", false),
    ("disponibilita", true),
];

fn giornale(root: &Node) -> Result<GiornaleDiCassa, ParseError> {
    let mut c = Cursor::new(root, root.name.clone());
    let lead = skip_signatures(&mut c);
    let mut g = GiornaleDiCassa {
        testata: testata(&mut c)?,
        identificativo_flusso_bt: c.string("identificativo_flusso_BT")?,
        pagina: c.parse("pagina")?,
        pagine_totali: c.parse("pagine_totali")?,
        riferimento_ente: c.opt_text("riferimento_ente"),
        esercizio: c.parse("esercizio")?,
        data_riferimento: c.parse::<XsDate>("data_riferimento_GdC")?.0,
        conti: c.many_with("informazioni_conto_evidenza", |c| {
            Ok(ContoEvidenza {
                conto_evidenza: c.string("conto_evidenza")?,
                descrizione: c.opt_text("descrizione_conto_evidenza"),
                movimenti: c.many_with("movimento_conto_evidenza", movimento)?,
                saldo_precedente: opt_signed(c, "saldo_precedente_conto_evidenza")?,
                totale_entrate: opt_signed(c, "totale_entrate_conto_evidenza")?,
                totale_uscite: opt_signed(c, "totale_uscite_conto_evidenza")?,
                saldo_finale: opt_signed(c, "saldo_finale_conto_evidenza")?,
            })
        })?,
        saldo_complessivo_precedente: None,
        totale_complessivo_entrate: None,
        totale_complessivo_uscite: None,
        saldo_complessivo_finale: None,
        totali_esercizio: None,
        totali_disponibilita_liquide: None,
        signed: lead,
    };
    if g.conti.is_empty() {
        c.req("informazioni_conto_evidenza")?;
    }
    g.saldo_complessivo_precedente = opt_signed(&mut c, "saldo_complessivo_precedente")?;
    g.totale_complessivo_entrate = opt_signed(&mut c, "totale_complessivo_entrate")?;
    g.totale_complessivo_uscite = opt_signed(&mut c, "totale_complessivo_uscite")?;
    g.saldo_complessivo_finale = opt_signed(&mut c, "saldo_complessivo_finale")?;
    g.totali_esercizio = c.opt_with("totali_esercizio", |c| {
        Ok(TotaliEsercizio {
            fondo_di_cassa: signed(c, "fondo_di_cassa")?,
            totale_reversali_riscosse: signed(c, "totale_reversali_riscosse")?,
            totale_sospesi_entrata: signed(c, "totale_sospesi_entrata")?,
            totale_entrate: signed(c, "totale_entrate")?,
            deficit_di_cassa: signed(c, "deficit_di_cassa")?,
            totale_mandati_pagati: signed(c, "totale_mandati_pagati")?,
            totale_sospesi_uscita: signed(c, "totale_sospesi_uscita")?,
            totale_uscite: signed(c, "totale_uscite")?,
            saldo_esercizio: signed(c, "saldo_esercizio")?,
        })
    })?;
    g.totali_disponibilita_liquide = c.opt_with("totali_disponibilita_liquide", |c| {
        let mut voci = BTreeMap::new();
        for (name, required) in TOTALI_DISPONIBILITA {
            let v = if required {
                Some(signed(c, name)?)
            } else {
                opt_signed(c, name)?
            };
            if let Some(v) = v {
                voci.insert(name.to_owned(), v);
            }
        }
        Ok(TotaliDisponibilita { voci })
    })?;
    g.signed |= skip_signatures(&mut c);
    c.end()?;
    Ok(g)
}

fn disponibilita(root: &Node) -> Result<DisponibilitaLiquide, ParseError> {
    let mut c = Cursor::new(root, root.name.clone());
    let lead = skip_signatures(&mut c);
    let testata = testata(&mut c)?;
    let identificativo_flusso_bt = c.string("identificativo_flusso_BT")?;
    let segnalazioni = c.many_with("segnalazione_mensile", |c| {
        let codice_abi_originario = c.opt_parse("codice_abi_originario")?;
        let anno_riferimento = c.parse("anno_riferimento")?;
        let mese_riferimento = c.parse("mese_riferimento")?;
        let mut voci = BTreeMap::new();
        for code in VOCI_DISPONIBILITA {
            voci.insert(code, signed(c, &format!("codice_voce_{code}"))?);
        }
        Ok(SegnalazioneMensile {
            codice_abi_originario,
            anno_riferimento,
            mese_riferimento,
            voci,
        })
    })?;
    if segnalazioni.is_empty() {
        c.req("segnalazione_mensile")?;
    }
    let signed = lead | skip_signatures(&mut c);
    c.end()?;
    Ok(DisponibilitaLiquide {
        testata,
        identificativo_flusso_bt,
        segnalazioni,
        signed,
    })
}

// ---- writing (for the simulator and tests) ------------------------------------------------

fn esc(s: &str) -> std::borrow::Cow<'_, str> {
    quick_xml::escape::escape(s)
}

fn write_testata(out: &mut String, t: &TestataMessaggio) {
    use std::fmt::Write as _;
    let _ = write!(
        out,
        "<testata_messaggio><codice_ABI_BT>{}</codice_ABI_BT><data_ora_creazione_flusso>{}</data_ora_creazione_flusso>\
<codice_ente>{}</codice_ente><descrizione_ente>{}</descrizione_ente><codice_istat_ente>{}</codice_istat_ente>\
<codice_fiscale_ente>{}</codice_fiscale_ente><codice_tramite_ente>{}</codice_tramite_ente>\
<codice_tramite_BT>{}</codice_tramite_BT><codice_ente_BT>{}</codice_ente_BT></testata_messaggio>",
        t.codice_abi_bt,
        t.data_ora_creazione_flusso.format("%Y-%m-%dT%H:%M:%S"),
        t.codice_ente,
        esc(&t.descrizione_ente),
        t.codice_istat_ente,
        esc(&t.codice_fiscale_ente),
        t.codice_tramite_ente,
        t.codice_tramite_bt,
        esc(&t.codice_ente_bt),
    );
}

impl AckSiope {
    /// Writes the ACK as XML (`OPI_MSG_ACK_SIOPE_V_1_6_1.xsd`).
    #[must_use]
    pub fn to_xml(&self) -> String {
        use std::fmt::Write as _;
        let mut s = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?><messaggio_ack_siope>");
        write_testata(&mut s, &self.testata);
        if let Some(i) = &self.identificativo_flusso {
            let _ = write!(
                s,
                "<identificativo_flusso>{}</identificativo_flusso>",
                esc(i)
            );
        }
        if let Some(i) = &self.identificativo_flusso_bt {
            let _ = write!(
                s,
                "<identificativo_flusso_BT>{}</identificativo_flusso_BT>",
                esc(i)
            );
        }
        if let Some(e) = self.esercizio {
            let _ = write!(s, "<esercizio>{e}</esercizio>");
        }
        let _ = write!(
            s,
            "<stato_flusso>{}</stato_flusso>",
            esc(self.stato_flusso.as_str())
        );
        for (tag, list) in [("errore", &self.errori), ("warning", &self.warning)] {
            for e in list {
                let _ = write!(
                    s,
                    "<{tag}><codice>{}</codice><descrizione>{}</descrizione>",
                    e.codice,
                    esc(&e.descrizione)
                );
                if let Some(el) = &e.elemento {
                    let _ = write!(s, "<elemento>{}</elemento>", esc(el));
                }
                let _ = write!(s, "</{tag}>");
            }
        }
        s.push_str("</messaggio_ack_siope>");
        s
    }
}

impl EsitoApplicativo {
    /// Writes the message as XML, unsigned (sign it to meet
    /// `OPI_MSG_ESITO_APPLICATIVO_V_1_6_1.xsd`, which requires a signature).
    #[must_use]
    pub fn to_xml(&self) -> String {
        use std::fmt::Write as _;
        let mut s =
            String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?><messaggi_esito_applicativo>");
        write_testata(&mut s, &self.testata);
        let _ = write!(
            s,
            "<identificativo_flusso_BT>{}</identificativo_flusso_BT>",
            esc(&self.identificativo_flusso_bt)
        );
        for e in &self.esiti {
            let (tag, num, prog, data) = match e.tipo {
                TipoOrdinativo::Mandato => (
                    "esito_mandati",
                    "numero_mandato",
                    "progressivo_beneficiario",
                    "data_mandato",
                ),
                TipoOrdinativo::Reversale => (
                    "esito_reversali",
                    "numero_reversale",
                    "progressivo_versante",
                    "data_reversale",
                ),
            };
            let _ = write!(
                s,
                "<{tag}><identificativo_flusso>{}</identificativo_flusso><esercizio>{}</esercizio><{num}>{}</{num}>",
                esc(&e.identificativo_flusso),
                e.esercizio,
                e.numero
            );
            if let Some(p) = e.progressivo {
                let _ = write!(s, "<{prog}>{p}</{prog}>");
            }
            if let Some(d) = e.data {
                let _ = write!(s, "<{data}>{}</{data}>", d.format("%Y-%m-%d"));
            }
            if let Some(i) = e.importo {
                let _ = write!(s, "<importo>{}</importo>", i.to_decimal_string());
            }
            let _ = write!(
                s,
                "<esito_operazione>{}</esito_operazione><data_ora_esito_operazione>{}</data_ora_esito_operazione>",
                esc(e.esito_operazione.as_str()),
                e.data_ora_esito_operazione.format("%Y-%m-%dT%H:%M:%S")
            );
            for er in &e.errori {
                s.push_str("<lista_errori>");
                if let Some(p) = er.progressivo {
                    let _ = write!(s, "<{prog}>{p}</{prog}>");
                }
                if let Some(c) = er.codice_errore {
                    let _ = write!(s, "<codice_errore>{c}</codice_errore>");
                }
                let _ = write!(s, "<descrizione>{}</descrizione>", esc(&er.descrizione));
                if let Some(el) = &er.elemento {
                    let _ = write!(s, "<elemento>{}</elemento>", esc(el));
                }
                s.push_str("</lista_errori>");
            }
            let _ = write!(s, "</{tag}>");
        }
        s.push_str("</messaggi_esito_applicativo>");
        s
    }
}

impl fmt::Display for EsitoOrdinativo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let k = match self.tipo {
            TipoOrdinativo::Mandato => "mandato",
            TipoOrdinativo::Reversale => "reversale",
        };
        write!(
            f,
            "{k} {}/{}: {}",
            self.numero, self.esercizio, self.esito_operazione
        )
    }
}

fn write_party(out: &mut String, sfx: &str, p: &Soggetto, piva: bool) {
    use std::fmt::Write as _;
    let _ = write!(
        out,
        "<anagrafica_{sfx}>{}</anagrafica_{sfx}>",
        esc(&p.anagrafica)
    );
    let mut opt = |name: &str, v: &Option<String>| {
        if let Some(v) = v {
            let _ = write!(out, "<{name}_{sfx}>{}</{name}_{sfx}>", esc(v));
        }
    };
    opt("indirizzo", &p.indirizzo);
    opt("cap", &p.cap);
    opt("localita", &p.localita);
    opt("provincia", &p.provincia);
    opt("stato", &p.stato);
    if piva {
        opt("partita_iva", &p.partita_iva);
    }
    opt("codice_fiscale", &p.codice_fiscale);
}

fn write_movimento(s: &mut String, m: &Movimento) {
    use std::fmt::Write as _;
    let day = |d: NaiveDate| d.format("%Y-%m-%d").to_string();
    let text = |s: &mut String, name: &str, v: &Option<String>| {
        if let Some(v) = v {
            let _ = write!(s, "<{name}>{}</{name}>", esc(v));
        }
    };
    let amount = |s: &mut String, name: &str, v: Option<Amount>| {
        if let Some(v) = v {
            let _ = write!(s, "<{name}>{}</{name}>", v.to_decimal_string());
        }
    };
    let _ = write!(
        s,
        "<movimento_conto_evidenza><identificativo_flusso>{}</identificativo_flusso>\
<numero_movimento>{}</numero_movimento><tipo_movimento>{}</tipo_movimento>\
<tipo_documento>{}</tipo_documento><tipo_operazione>{}</tipo_operazione>\
<numero_documento>{}</numero_documento>",
        esc(&m.identificativo_flusso),
        m.numero_movimento,
        match m.tipo_movimento {
            TipoMovimento::Entrata => "ENTRATA",
            TipoMovimento::Uscita => "USCITA",
        },
        esc(&m.tipo_documento),
        esc(m.tipo_operazione.as_str()),
        m.numero_documento,
    );
    if let Some(sr) = &m.sospeso_da_regolarizzare {
        let _ = write!(
            s,
            "<sospeso_da_regolarizzare><data_effettiva_sospeso>{}</data_effettiva_sospeso>\
<codice_gestionale_provvisorio>{}</codice_gestionale_provvisorio></sospeso_da_regolarizzare>",
            day(sr.data_effettiva_sospeso),
            esc(&sr.codice_gestionale_provvisorio)
        );
    }
    text(
        s,
        "tipologia_pagamento_funzionario_delegato",
        &m.tipologia_pagamento_funzionario_delegato,
    );
    text(
        s,
        "numero_pagamento_funzionario_delegato",
        &m.numero_pagamento_funzionario_delegato,
    );
    let _ = write!(
        s,
        "<progressivo_documento>{}</progressivo_documento><importo>{}</importo>",
        m.progressivo_documento, m.importo
    );
    amount(s, "importo_ritenute", m.importo_ritenute);
    if let Some(n) = m.numero_bolletta_quietanza {
        let _ = write!(
            s,
            "<numero_bolletta_quietanza>{n}</numero_bolletta_quietanza>"
        );
    }
    if let Some(n) = m.numero_bolletta_quietanza_storno {
        let _ = write!(
            s,
            "<numero_bolletta_quietanza_storno>{n}</numero_bolletta_quietanza_storno>"
        );
    }
    let _ = write!(
        s,
        "<data_movimento>{}</data_movimento><data_movimento_siope>{}</data_movimento_siope>",
        day(m.data_movimento),
        day(m.data_movimento_siope)
    );
    if let Some(d) = m.data_valuta_ente {
        let _ = write!(s, "<data_valuta_ente>{}</data_valuta_ente>", day(d));
    }
    let _ = write!(
        s,
        "<tipo_esecuzione>{}</tipo_esecuzione>",
        esc(&m.tipo_esecuzione)
    );
    text(s, "coordinate", &m.coordinate);
    text(
        s,
        "codice_riferimento_operazione",
        &m.codice_riferimento_operazione,
    );
    text(s, "end_to_end_id", &m.end_to_end_id);
    text(
        s,
        "codice_riferimento_interno",
        &m.codice_riferimento_interno,
    );
    text(s, "tipo_contabilita", &m.tipo_contabilita);
    text(s, "destinazione", &m.destinazione);
    let _ = write!(
        s,
        "<assoggettamento_bollo>{}</assoggettamento_bollo>",
        esc(&m.assoggettamento_bollo)
    );
    amount(s, "importo_bollo", m.importo_bollo);
    text(s, "assoggettamento_spese", &m.assoggettamento_spese);
    amount(s, "importo_spese", m.importo_spese);
    text(
        s,
        "assoggettamento_commissioni",
        &m.assoggettamento_commissioni,
    );
    amount(s, "importo_commissioni", m.importo_commissioni);
    s.push_str("<cliente>");
    write_party(s, "cliente", &m.cliente, true);
    s.push_str("</cliente>");
    if let Some(d) = &m.delegato {
        s.push_str("<delegato>");
        write_party(s, "delegato", d, false);
        s.push_str("</delegato>");
    }
    if let Some(c) = &m.creditore_effettivo {
        s.push_str("<creditore_effettivo>");
        write_party(s, "creditore_effettivo", c, true);
        s.push_str("</creditore_effettivo>");
    }
    let _ = write!(s, "<causale>{}</causale>", esc(&m.causale));
    for so in &m.sospeso {
        let _ = write!(
            s,
            "<sospeso><numero_provvisorio>{}</numero_provvisorio><importo_provvisorio>{}</importo_provvisorio></sospeso>",
            so.numero_provvisorio,
            so.importo_provvisorio.to_decimal_string()
        );
    }
    if let Some(raw) = &m.dati_a_disposizione_bt {
        let _ = write!(
            s,
            "<dati_a_disposizione_BT>{}</dati_a_disposizione_BT>",
            raw.as_str()
        );
    }
    s.push_str("</movimento_conto_evidenza>");
}

impl GiornaleDiCassa {
    /// Writes the page as XML, unsigned (sign it to meet `OPI_GIORNALE_DI_CASSA_V_1_7_1.xsd`,
    /// which requires a signature): the treasurer's side, for the simulator and tests.
    /// [`GiornaleDiCassa::from_xml`] reads it back.
    #[must_use]
    pub fn to_xml(&self) -> String {
        use std::fmt::Write as _;
        let mut s =
            String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?><flusso_giornale_di_cassa>");
        write_testata(&mut s, &self.testata);
        let _ = write!(
            s,
            "<identificativo_flusso_BT>{}</identificativo_flusso_BT><pagina>{}</pagina><pagine_totali>{}</pagine_totali>",
            esc(&self.identificativo_flusso_bt),
            self.pagina,
            self.pagine_totali
        );
        if let Some(r) = &self.riferimento_ente {
            let _ = write!(s, "<riferimento_ente>{}</riferimento_ente>", esc(r));
        }
        let _ = write!(
            s,
            "<esercizio>{}</esercizio><data_riferimento_GdC>{}</data_riferimento_GdC>",
            self.esercizio,
            self.data_riferimento.format("%Y-%m-%d")
        );
        let signed = |s: &mut String, name: &str, v: Option<SignedAmount>| {
            if let Some(v) = v {
                let _ = write!(s, "<{name}>{v}</{name}>");
            }
        };
        for c in &self.conti {
            let _ = write!(
                s,
                "<informazioni_conto_evidenza><conto_evidenza>{}</conto_evidenza>",
                esc(&c.conto_evidenza)
            );
            if let Some(d) = &c.descrizione {
                let _ = write!(
                    s,
                    "<descrizione_conto_evidenza>{}</descrizione_conto_evidenza>",
                    esc(d)
                );
            }
            for m in &c.movimenti {
                write_movimento(&mut s, m);
            }
            signed(
                &mut s,
                "saldo_precedente_conto_evidenza",
                c.saldo_precedente,
            );
            signed(&mut s, "totale_entrate_conto_evidenza", c.totale_entrate);
            signed(&mut s, "totale_uscite_conto_evidenza", c.totale_uscite);
            signed(&mut s, "saldo_finale_conto_evidenza", c.saldo_finale);
            s.push_str("</informazioni_conto_evidenza>");
        }
        signed(
            &mut s,
            "saldo_complessivo_precedente",
            self.saldo_complessivo_precedente,
        );
        signed(
            &mut s,
            "totale_complessivo_entrate",
            self.totale_complessivo_entrate,
        );
        signed(
            &mut s,
            "totale_complessivo_uscite",
            self.totale_complessivo_uscite,
        );
        signed(
            &mut s,
            "saldo_complessivo_finale",
            self.saldo_complessivo_finale,
        );
        if let Some(t) = &self.totali_esercizio {
            let _ = write!(
                s,
                "<totali_esercizio><fondo_di_cassa>{}</fondo_di_cassa><totale_reversali_riscosse>{}</totale_reversali_riscosse>\
<totale_sospesi_entrata>{}</totale_sospesi_entrata><totale_entrate>{}</totale_entrate>\
<deficit_di_cassa>{}</deficit_di_cassa><totale_mandati_pagati>{}</totale_mandati_pagati>\
<totale_sospesi_uscita>{}</totale_sospesi_uscita><totale_uscite>{}</totale_uscite>\
<saldo_esercizio>{}</saldo_esercizio></totali_esercizio>",
                t.fondo_di_cassa,
                t.totale_reversali_riscosse,
                t.totale_sospesi_entrata,
                t.totale_entrate,
                t.deficit_di_cassa,
                t.totale_mandati_pagati,
                t.totale_sospesi_uscita,
                t.totale_uscite,
                t.saldo_esercizio
            );
        }
        if let Some(t) = &self.totali_disponibilita_liquide {
            s.push_str("<totali_disponibilita_liquide>");
            for (name, _) in TOTALI_DISPONIBILITA {
                signed(&mut s, name, t.voci.get(name).copied());
            }
            s.push_str("</totali_disponibilita_liquide>");
        }
        s.push_str("</flusso_giornale_di_cassa>");
        s
    }
}
