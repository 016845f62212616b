//! paForNode fault codes (`PAA_*`) and the fault bean.

use std::fmt;

/// A `PAA_*` fault code a creditor answers the node with.
///
/// Open: codes this crate does not know are kept in [`FaultCode::Other`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FaultCode {
    /// `PAA_PAGAMENTO_SCONOSCIUTO`: no position for the notice number.
    PagamentoSconosciuto,
    /// `PAA_PAGAMENTO_DUPLICATO`: the notice is already paid.
    PagamentoDuplicato,
    /// `PAA_PAGAMENTO_IN_CORSO`: a payment for the notice is in progress.
    PagamentoInCorso,
    /// `PAA_PAGAMENTO_SCADUTO`: the notice is expired.
    PagamentoScaduto,
    /// `PAA_PAGAMENTO_ANNULLATO`: the notice was cancelled.
    PagamentoAnnullato,
    /// `PAA_SEMANTICA`: the request is well-formed but semantically wrong.
    Semantica,
    /// `PAA_SYSTEM_ERROR`: the creditor could not process the request (the node retries).
    SystemError,
    /// `PAA_ID_DOMINIO_ERRATO`: `idPA` (or the creditor fiscal code) is not ours.
    IdDominioErrato,
    /// `PAA_ID_INTERMEDIARIO_ERRATO`: `idBrokerPA` is not ours.
    IdIntermediarioErrato,
    /// `PAA_STAZIONE_INT_ERRATA`: `idStation` is not ours.
    StazioneIntErrata,
    /// `PAA_SINTASSI_EXTRAXSD`: the request does not follow the schema.
    SintassiExtraxsd,
    /// `PAA_RECEIPT_DUPLICATA`: the receipt was already received.
    ReceiptDuplicata,
    /// Any other code, kept verbatim.
    Other(String),
}

impl FaultCode {
    /// The code as it appears on the wire, e.g. `PAA_SYSTEM_ERROR`.
    #[must_use]
    pub fn as_str(&self) -> &str {
        match self {
            FaultCode::PagamentoSconosciuto => "PAA_PAGAMENTO_SCONOSCIUTO",
            FaultCode::PagamentoDuplicato => "PAA_PAGAMENTO_DUPLICATO",
            FaultCode::PagamentoInCorso => "PAA_PAGAMENTO_IN_CORSO",
            FaultCode::PagamentoScaduto => "PAA_PAGAMENTO_SCADUTO",
            FaultCode::PagamentoAnnullato => "PAA_PAGAMENTO_ANNULLATO",
            FaultCode::Semantica => "PAA_SEMANTICA",
            FaultCode::SystemError => "PAA_SYSTEM_ERROR",
            FaultCode::IdDominioErrato => "PAA_ID_DOMINIO_ERRATO",
            FaultCode::IdIntermediarioErrato => "PAA_ID_INTERMEDIARIO_ERRATO",
            FaultCode::StazioneIntErrata => "PAA_STAZIONE_INT_ERRATA",
            FaultCode::SintassiExtraxsd => "PAA_SINTASSI_EXTRAXSD",
            FaultCode::ReceiptDuplicata => "PAA_RECEIPT_DUPLICATA",
            FaultCode::Other(s) => s,
        }
    }

    /// Parses a wire code; unknown codes become [`FaultCode::Other`].
    #[must_use]
    pub fn parse(s: &str) -> FaultCode {
        match s {
            "PAA_PAGAMENTO_SCONOSCIUTO" => FaultCode::PagamentoSconosciuto,
            "PAA_PAGAMENTO_DUPLICATO" => FaultCode::PagamentoDuplicato,
            "PAA_PAGAMENTO_IN_CORSO" => FaultCode::PagamentoInCorso,
            "PAA_PAGAMENTO_SCADUTO" => FaultCode::PagamentoScaduto,
            "PAA_PAGAMENTO_ANNULLATO" => FaultCode::PagamentoAnnullato,
            "PAA_SEMANTICA" => FaultCode::Semantica,
            "PAA_SYSTEM_ERROR" => FaultCode::SystemError,
            "PAA_ID_DOMINIO_ERRATO" => FaultCode::IdDominioErrato,
            "PAA_ID_INTERMEDIARIO_ERRATO" => FaultCode::IdIntermediarioErrato,
            "PAA_STAZIONE_INT_ERRATA" => FaultCode::StazioneIntErrata,
            "PAA_SINTASSI_EXTRAXSD" => FaultCode::SintassiExtraxsd,
            "PAA_RECEIPT_DUPLICATA" => FaultCode::ReceiptDuplicata,
            other => FaultCode::Other(other.to_owned()),
        }
    }

    /// The standard `faultString` for the code.
    #[must_use]
    pub fn default_string(&self) -> &'static str {
        match self {
            FaultCode::PagamentoSconosciuto => {
                "Pagamento in attesa risulta sconosciuto all'Ente Creditore"
            }
            FaultCode::PagamentoDuplicato => {
                "Pagamento in attesa risulta concluso all'Ente Creditore"
            }
            FaultCode::PagamentoInCorso => {
                "Pagamento in attesa risulta in corso all'Ente Creditore"
            }
            FaultCode::PagamentoScaduto => "Pagamento in attesa risulta scaduto all'Ente Creditore",
            FaultCode::PagamentoAnnullato => {
                "Pagamento in attesa risulta annullato all'Ente Creditore"
            }
            FaultCode::Semantica => "Errore semantico",
            FaultCode::SystemError => "Errore generico",
            FaultCode::IdDominioErrato => "La PAA non corrisponde al Dominio indicato",
            FaultCode::IdIntermediarioErrato => "Identificativo intermediario non corrispondente",
            FaultCode::StazioneIntErrata => "Stazione intermediario non corrispondente",
            FaultCode::SintassiExtraxsd => "Errore di sintassi extra XSD",
            FaultCode::ReceiptDuplicata => "La ricevuta risulta già acquisita",
            FaultCode::Other(_) => "Errore",
        }
    }
}

impl fmt::Display for FaultCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A fault (`ctFaultBean`) returned with outcome `KO`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {string}{}", description.as_deref().map(|d| format!(" ({d})")).unwrap_or_default())]
pub struct Fault {
    /// The fault code.
    pub code: FaultCode,
    /// A short text for the code.
    pub string: String,
    /// Who raised the fault: the creditor's `idPA`.
    pub id: String,
    /// Details, for people.
    pub description: Option<String>,
}

impl Fault {
    /// A fault with the code's standard text; `id` is filled in by the service.
    #[must_use]
    pub fn new(code: FaultCode) -> Fault {
        Fault {
            string: code.default_string().to_owned(),
            code,
            id: String::new(),
            description: None,
        }
    }

    /// Adds a description.
    #[must_use]
    pub fn with_description(mut self, description: impl Into<String>) -> Fault {
        self.description = Some(description.into());
        self
    }
}

impl From<FaultCode> for Fault {
    fn from(code: FaultCode) -> Fault {
        Fault::new(code)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip() {
        for c in [
            FaultCode::PagamentoSconosciuto,
            FaultCode::PagamentoDuplicato,
            FaultCode::PagamentoInCorso,
            FaultCode::PagamentoScaduto,
            FaultCode::PagamentoAnnullato,
            FaultCode::Semantica,
            FaultCode::SystemError,
            FaultCode::IdDominioErrato,
            FaultCode::IdIntermediarioErrato,
            FaultCode::StazioneIntErrata,
            FaultCode::SintassiExtraxsd,
            FaultCode::ReceiptDuplicata,
        ] {
            assert_eq!(FaultCode::parse(c.as_str()), c);
        }
        assert_eq!(
            FaultCode::parse("PAA_NEW_THING"),
            FaultCode::Other("PAA_NEW_THING".into())
        );
    }
}
