//! The typed model of the segnatura informatica (AgID 2021, versione 3.0.0).
//!
//! Each type mirrors a complex type of `segnatura_protocollo.xsd`; element names are kept in
//! Italian so that the model reads like the schema.

use std::fmt;
use std::str::FromStr;

use chrono::{FixedOffset, NaiveDate, NaiveTime};
use serde::{Deserialize, Serialize};

use crate::error::ValueError;
use crate::impronta::Impronta;

macro_rules! string_newtype {
    ($(#[$m:meta])* $name:ident, $field:literal, $check:expr) => {
        $(#[$m])*
        #[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// The value as a string slice.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl FromStr for $name {
            type Err = ValueError;
            fn from_str(s: &str) -> Result<Self, ValueError> {
                let check: fn(&str) -> Result<(), ValueError> = $check;
                check(s)?;
                Ok($name(s.to_owned()))
            }
        }

        impl TryFrom<&str> for $name {
            type Error = ValueError;
            fn try_from(s: &str) -> Result<Self, ValueError> {
                s.parse()
            }
        }

        impl TryFrom<String> for $name {
            type Error = ValueError;
            fn try_from(s: String) -> Result<Self, ValueError> {
                let check: fn(&str) -> Result<(), ValueError> = $check;
                check(&s)?;
                Ok($name(s))
            }
        }

        impl From<$name> for String {
            fn from(v: $name) -> String {
                v.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({:?})", stringify!($name), self.0)
            }
        }
    };
}

fn digits(s: &str, n: usize) -> bool {
    s.len() == n && s.bytes().all(|b| b.is_ascii_digit())
}

string_newtype!(
    /// Registry code (`CodiceRegistro`): `[A-Za-z0-9_.-]{1,16}`.
    CodiceRegistro,
    "CodiceRegistro",
    |s| {
        if !s.is_empty()
            && s.len() <= 16
            && s
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
        {
            Ok(())
        } else {
            Err(ValueError::Pattern {
                field: "CodiceRegistro",
                expected: "[A-Za-z0-9_.-]{1,16}",
            })
        }
    }
);

string_newtype!(
    /// Postal code (`CAP`). Italian CAPs have 5 digits, while the schema's `CAPType` says
    /// `[0-9]{6}`: both forms are accepted here; see [`Cap::schema_form`].
    Cap,
    "CAP",
    |s| {
        if digits(s, 5) || digits(s, 6) {
            Ok(())
        } else {
            Err(ValueError::Pattern {
                field: "CAP",
                expected: "5 digits (or the schema's 6)",
            })
        }
    }
);

impl Cap {
    /// The 6-digit form the schema requires: a 5-digit CAP gets a leading `0`.
    pub fn schema_form(&self) -> String {
        if self.0.len() == 5 {
            format!("0{}", self.0)
        } else {
            self.0.clone()
        }
    }

    /// The 5-digit postal code: a 6-digit value with a leading `0` loses it.
    pub fn postal_form(&self) -> &str {
        if self.0.len() == 6 && self.0.starts_with('0') {
            &self.0[1..]
        } else {
            &self.0
        }
    }
}

string_newtype!(
    /// ISTAT code of a Comune (`CodiceISTATComune6Type`): 6 digits.
    CodiceIstat,
    "CodiceISTAT",
    |s| {
        if digits(s, 6) {
            Ok(())
        } else {
            Err(ValueError::Pattern {
                field: "CodiceISTAT",
                expected: "[0-9]{6}",
            })
        }
    }
);

string_newtype!(
    /// An 11-digit fiscal code or VAT number (`PartitaIVA` type of the schema, used by
    /// `CFAmministrazione` and `PIVAoCF`).
    PartitaIvaOCf,
    "PartitaIVA",
    |s| {
        if digits(s, 11) {
            Ok(())
        } else {
            Err(ValueError::Pattern {
                field: "PartitaIVA",
                expected: "[0-9]{11}",
            })
        }
    }
);

/// A personal fiscal code: the shared, validated type (check character included), so that the
/// citizen's code from SPID/CIE goes into the segnatura unchanged.
pub use pa_types::CodiceFiscale;

/// Protocol number (`NumeroRegistrazione`): at least 7 digits, zero-padded.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct NumeroRegistrazione(u64);

impl NumeroRegistrazione {
    /// Wraps a progressive number.
    pub const fn new(n: u64) -> Self {
        NumeroRegistrazione(n)
    }

    /// The number.
    pub const fn value(self) -> u64 {
        self.0
    }
}

impl fmt::Display for NumeroRegistrazione {
    /// Zero-padded to 7 digits, as the schema's `[0-9]{7,}` requires.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:07}", self.0)
    }
}

impl fmt::Debug for NumeroRegistrazione {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NumeroRegistrazione({:07})", self.0)
    }
}

impl FromStr for NumeroRegistrazione {
    type Err = ValueError;
    /// Parses `[0-9]{7,}`.
    fn from_str(s: &str) -> Result<Self, ValueError> {
        if s.len() < 7 || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ValueError::Pattern {
                field: "NumeroRegistrazione",
                expected: "[0-9]{7,}",
            });
        }
        let trimmed = s.trim_start_matches('0');
        if trimmed.is_empty() {
            return Ok(NumeroRegistrazione(0));
        }
        trimmed
            .parse()
            .map(NumeroRegistrazione)
            .map_err(|_| ValueError::OutOfRange {
                field: "NumeroRegistrazione",
            })
    }
}

impl TryFrom<String> for NumeroRegistrazione {
    type Error = ValueError;
    fn try_from(s: String) -> Result<Self, ValueError> {
        s.parse()
    }
}

impl From<NumeroRegistrazione> for String {
    fn from(n: NumeroRegistrazione) -> String {
        n.to_string()
    }
}

/// A code (administration, AOO or UO in IPA) with an optional description
/// (`CodiceIPA` complex type).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CodiceIpa {
    /// The code.
    pub codice: String,
    /// The `descrizione` attribute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub descrizione: Option<String>,
}

impl CodiceIpa {
    /// A code without description.
    pub fn new(codice: impl Into<String>) -> Self {
        CodiceIpa {
            codice: codice.into(),
            descrizione: None,
        }
    }

    /// Whether the code has the form of a `Codice_uni_aoo`, the AOO code used from 2022
    /// (7 characters, starting with `A`).
    pub fn is_codice_uni_aoo(&self) -> bool {
        self.codice.len() == 7
            && self.codice.starts_with('A')
            && self.codice.bytes().all(|b| b.is_ascii_alphanumeric())
    }

    /// Adds the description.
    #[must_use]
    pub fn with_descrizione(mut self, d: impl Into<String>) -> Self {
        self.descrizione = Some(d.into());
        self
    }
}

/// Registration time (`OraRegistrazione`, `xs:time`), with the offset when one was given.
///
/// Text form (`Display`, `FromStr`, serde): `hh:mm:ss[.fff][Z|±hh:mm]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Ora {
    /// Local time.
    pub time: NaiveTime,
    /// UTC offset, if stated.
    pub offset: Option<FixedOffset>,
}

impl fmt::Display for Ora {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&crate::write::format_time(self))
    }
}

impl FromStr for Ora {
    type Err = ValueError;
    fn from_str(s: &str) -> Result<Self, ValueError> {
        crate::parse::parse_time("OraRegistrazione", s).map_err(|_| ValueError::Pattern {
            field: "OraRegistrazione",
            expected: "hh:mm:ss[.fff][Z|+hh:mm]",
        })
    }
}

impl TryFrom<String> for Ora {
    type Error = ValueError;
    fn try_from(s: String) -> Result<Self, ValueError> {
        s.parse()
    }
}

impl From<Ora> for String {
    fn from(o: Ora) -> String {
        o.to_string()
    }
}

impl Ora {
    /// A time without offset.
    pub fn new(time: NaiveTime) -> Self {
        Ora { time, offset: None }
    }
}

/// Identifies a protocol registration (`IdentificatoreType`, DPR 445/2000 art. 55).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identificatore {
    /// IPA code of the administration.
    pub codice_amministrazione: CodiceIpa,
    /// IPA code of the AOO (from 2022 the 7-character `Codice_uni_aoo`).
    pub codice_aoo: CodiceIpa,
    /// Registry code.
    pub codice_registro: CodiceRegistro,
    /// Progressive number.
    pub numero_registrazione: NumeroRegistrazione,
    /// Registration date.
    pub data_registrazione: NaiveDate,
    /// Registration time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ora_registrazione: Option<Ora>,
}

impl Identificatore {
    /// An identifier without time.
    pub fn new(
        codice_amministrazione: impl Into<String>,
        codice_aoo: impl Into<String>,
        codice_registro: CodiceRegistro,
        numero_registrazione: NumeroRegistrazione,
        data_registrazione: NaiveDate,
    ) -> Self {
        Identificatore {
            codice_amministrazione: CodiceIpa::new(codice_amministrazione),
            codice_aoo: CodiceIpa::new(codice_aoo),
            codice_registro,
            numero_registrazione,
            data_registrazione,
            ora_registrazione: None,
        }
    }
}

/// One level of a classification path (`LivelloType`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Livello {
    /// The level's code.
    pub valore: String,
    /// Its description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub descrizione: Option<String>,
    /// The next level down.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub_livello: Option<Box<Livello>>,
}

/// The classification code, flat or as a path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CodiceClassifica {
    /// `CodiceFlat`, e.g. `6.3`.
    Flat(String),
    /// `CodicePath`.
    Path(Livello),
}

/// Classification in the filing plan (`ClassificaType`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Classifica {
    /// Description.
    pub denominazione: String,
    /// Code.
    pub codice: CodiceClassifica,
}

impl Classifica {
    /// A flat classification.
    pub fn flat(denominazione: impl Into<String>, codice: impl Into<String>) -> Self {
        Classifica {
            denominazione: denominazione.into(),
            codice: CodiceClassifica::Flat(codice.into()),
        }
    }
}

/// The dossier (`FascicoloType`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fascicolo {
    /// Description.
    pub denominazione: String,
    /// Dossier code.
    pub codice_fascicolo: String,
}

/// Confidentiality flag (`RiservatoType`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Riservato {
    /// Whether the message is confidential.
    pub valore: bool,
    /// The `note` attribute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// Header of the segnatura (`IntestazioneType`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Intestazione {
    /// This registration.
    pub identificatore: Identificatore,
    /// First registration of a retransmitted document.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prima_registrazione: Option<Identificatore>,
    /// Subject.
    pub oggetto: String,
    /// Classification.
    pub classifica: Classifica,
    /// Dossier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fascicolo: Option<Fascicolo>,
    /// Confidentiality.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub riservato: Option<Riservato>,
}

/// Reference to the received message this one answers (`RiferimentiType`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Riferimenti {
    /// The referenced registration.
    pub identificatore: Identificatore,
    /// Its first registration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prima_registrazione: Option<Identificatore>,
    /// Its subject.
    pub oggetto: String,
    /// Its classification.
    pub classifica: Classifica,
    /// Its dossier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fascicolo: Option<Fascicolo>,
}

/// Kind of an electronic address.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TipoIndirizzo {
    /// E-mail / PEC (the default).
    #[default]
    Smtp,
    /// Service endpoint.
    Url,
    /// Anything else.
    Other,
}

impl TipoIndirizzo {
    /// The schema token.
    pub fn as_str(self) -> &'static str {
        match self {
            TipoIndirizzo::Smtp => "smtp",
            TipoIndirizzo::Url => "url",
            TipoIndirizzo::Other => "other",
        }
    }
}

/// An electronic address (`IndirizzoTelematicoType`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndirizzoTelematico {
    /// The address.
    pub valore: String,
    /// Its kind.
    #[serde(default)]
    pub tipo: TipoIndirizzo,
    /// The `note` attribute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// A postal address (`IndirizzoPostaleType`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndirizzoPostale {
    /// `Toponimo/dug`: street kind (via, piazza, ...).
    pub dug: String,
    /// `Toponimo/duf`: street name.
    pub duf: String,
    /// House number.
    pub civico: String,
    /// Postal code.
    pub cap: Cap,
    /// Comune name.
    pub comune: String,
    /// Comune ISTAT code.
    pub codice_istat: CodiceIstat,
    /// Country name (schema default `Italia`).
    pub nazione: String,
    /// ISO 3166-1 alpha-3 code (schema default `ITA`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub codice3166: Option<String>,
}

/// Contacts (`ContattiType`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contatti {
    /// Postal addresses.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub indirizzi_postali: Vec<IndirizzoPostale>,
    /// Electronic addresses.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub indirizzi_telematici: Vec<IndirizzoTelematico>,
    /// Phone numbers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub telefoni: Vec<String>,
}

impl Contatti {
    /// Contacts made of one e-mail / PEC address.
    pub fn pec(address: impl Into<String>) -> Self {
        Contatti {
            indirizzi_telematici: vec![IndirizzoTelematico {
                valore: address.into(),
                tipo: TipoIndirizzo::Smtp,
                note: None,
            }],
            ..Contatti::default()
        }
    }
}

/// A natural person (`PersonaFisicaType`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PersonaFisica {
    /// Given name.
    pub nome: String,
    /// Family name.
    pub cognome: String,
    /// Title (Sig., Dott., ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub titolo: Option<String>,
    /// Fiscal code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub codice_fiscale: Option<CodiceFiscale>,
    /// Contacts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contatti: Option<Contatti>,
}

/// An Italian public administration (`AmministrazioneType`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Amministrazione {
    /// Name.
    pub denominazione: String,
    /// Fiscal code (11 digits).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cf: Option<PartitaIvaOCf>,
    /// IPA code.
    pub codice_ipa: CodiceIpa,
    /// Administration contacts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contatti: Option<Contatti>,
    /// AOO code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub codice_ipa_aoo: Option<CodiceIpa>,
    /// AOO contacts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contatti_aoo: Option<Contatti>,
    /// UO code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub codice_ipa_uo: Option<CodiceIpa>,
    /// UO contacts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contatti_uo: Option<Contatti>,
    /// People inside the administration.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub persone: Vec<PersonaFisica>,
}

impl Amministrazione {
    /// An administration with its name and IPA code only.
    pub fn new(denominazione: impl Into<String>, codice_ipa: impl Into<String>) -> Self {
        Amministrazione {
            denominazione: denominazione.into(),
            cf: None,
            codice_ipa: CodiceIpa::new(codice_ipa),
            contatti: None,
            codice_ipa_aoo: None,
            contatti_aoo: None,
            codice_ipa_uo: None,
            contatti_uo: None,
            persone: Vec::new(),
        }
    }
}

/// A legal person (`PersonaGiuridicaType`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PersonaGiuridica {
    /// Name.
    pub denominazione: String,
    /// VAT number or fiscal code (11 digits).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub piva_o_cf: Option<PartitaIvaOCf>,
    /// Contacts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contatti: Option<Contatti>,
    /// People of reference.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub persone: Vec<PersonaFisica>,
}

/// A foreign administration (`AmministrazioneEsteraType`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AmministrazioneEstera {
    /// Name.
    pub denominazione: String,
    /// Office.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub denominazione_ufficio: Option<String>,
    /// Contacts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contatti: Option<Contatti>,
}

/// A correspondent (`SoggettoType`): one of the four kinds.
// A plain data model read once per message: boxing would only make it harder to use.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Soggetto {
    /// Italian public administration.
    Amministrazione(Amministrazione),
    /// Legal person.
    PersonaGiuridica(PersonaGiuridica),
    /// Natural person.
    PersonaFisica(PersonaFisica),
    /// Foreign administration.
    AmministrazioneEstera(AmministrazioneEstera),
}

fn yes() -> bool {
    true
}

/// A recipient (`DestinatarioType`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Destinatario {
    /// Who.
    pub soggetto: Soggetto,
    /// Whether the sender asks for a `ConfermaRicezione` (schema default `true`).
    #[serde(default = "yes")]
    pub conferma_ricezione: bool,
    /// Whether the recipient is in copy (schema default `false`).
    #[serde(default)]
    pub per_conoscenza: bool,
}

impl Destinatario {
    /// A main recipient asked for a receipt confirmation.
    pub fn new(soggetto: Soggetto) -> Self {
        Destinatario {
            soggetto,
            conferma_ricezione: true,
            per_conoscenza: false,
        }
    }
}

/// Where a document can be downloaded (`CollocazioneTelematicaType`).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CollocazioneTelematica {
    /// Server.
    pub host: String,
    /// Path of the resource.
    pub path: String,
    /// Availability in milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_to_live: Option<i64>,
    /// Basic-auth user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    /// Basic-auth password (printed as `[redacted]` by `Debug`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
}

impl fmt::Debug for CollocazioneTelematica {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CollocazioneTelematica")
            .field("host", &self.host)
            .field("path", &self.path)
            .field("time_to_live", &self.time_to_live)
            .field("user_id", &self.user_id)
            .field("password", &self.password.as_ref().map(|_| "[redacted]"))
            .finish()
    }
}

/// A detached signature, seal or timestamp file (`DetachedType`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Detached {
    /// File name.
    pub nome_file: String,
    /// MIME type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mime_type: Option<String>,
    /// Order.
    pub order: i64,
}

/// How a document is signed, sealed or timestamped (`SignType`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Firma {
    /// Enveloping/enveloped (`UnDetached`).
    UnDetached,
    /// In separate files (at least one).
    Detached(Vec<Detached>),
}

/// A document of the message (`DocumentoType`): primary document or attachment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Documento {
    /// File name.
    pub nome_file: String,
    /// MIME type.
    pub mime_type: String,
    /// Description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub descrizione: Option<String>,
    /// Digest.
    pub impronta: Impronta,
    /// Where to download it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub collocazione_telematica: Option<CollocazioneTelematica>,
    /// Digitally signed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub firmato_digitalmente: Option<Firma>,
    /// Electronically sealed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sigillato_elettronicamente: Option<Firma>,
    /// Timestamped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub marcatura_temporale: Option<Firma>,
}

impl Documento {
    /// A document with its name, MIME type and SHA-256 digest of `content`.
    pub fn from_content(
        nome_file: impl Into<String>,
        mime_type: impl Into<String>,
        content: &[u8],
    ) -> Self {
        Documento::new(nome_file, mime_type, Impronta::sha256(content))
    }

    /// A document with a given digest.
    pub fn new(
        nome_file: impl Into<String>,
        mime_type: impl Into<String>,
        impronta: Impronta,
    ) -> Self {
        Documento {
            nome_file: nome_file.into(),
            mime_type: mime_type.into(),
            descrizione: None,
            impronta,
            collocazione_telematica: None,
            firmato_digitalmente: None,
            sigillato_elettronicamente: None,
            marcatura_temporale: None,
        }
    }
}

/// Body of the segnatura (`DescrizioneType`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Descrizione {
    /// Sender.
    pub mittente: Soggetto,
    /// Recipients (at least one).
    pub destinatari: Vec<Destinatario>,
    /// Primary document.
    pub documento_primario: Documento,
    /// Attachments.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allegati: Vec<Documento>,
}

impl Descrizione {
    /// The primary document followed by the attachments.
    pub fn documenti(&self) -> impl Iterator<Item = &Documento> {
        std::iter::once(&self.documento_primario).chain(self.allegati.iter())
    }
}

/// The segnatura informatica (`SegnaturaInformaticaType`, versione 3.0.0) without its seal.
///
/// Build one with [`crate::SegnaturaBuilder`], write it with [`SegnaturaInformatica::to_xml`]
/// (unsigned, for sealing), read one with [`SegnaturaInformatica::from_xml`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SegnaturaInformatica {
    /// Header.
    pub intestazione: Intestazione,
    /// Reference to the message this one answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub riferimenti: Option<Riferimenti>,
    /// Body.
    pub descrizione: Descrizione,
}
