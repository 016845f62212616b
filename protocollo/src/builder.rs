//! Builder for the segnatura.

use crate::model::*;

/// Builds a [`SegnaturaInformatica`]. The parts the schema makes mandatory are arguments of
/// [`SegnaturaBuilder::new`], so a segnatura without them does not compile.
#[derive(Debug, Clone)]
#[must_use]
pub struct SegnaturaBuilder {
    s: SegnaturaInformatica,
}

impl SegnaturaBuilder {
    /// Starts with the mandatory parts: identifier, subject, classification, sender, first
    /// recipient and primary document.
    pub fn new(
        identificatore: Identificatore,
        oggetto: impl Into<String>,
        classifica: Classifica,
        mittente: Soggetto,
        destinatario: Destinatario,
        documento_primario: Documento,
    ) -> Self {
        SegnaturaBuilder {
            s: SegnaturaInformatica {
                intestazione: Intestazione {
                    identificatore,
                    prima_registrazione: None,
                    oggetto: oggetto.into(),
                    classifica,
                    fascicolo: None,
                    riservato: None,
                },
                riferimenti: None,
                descrizione: Descrizione {
                    mittente,
                    destinatari: vec![destinatario],
                    documento_primario,
                    allegati: Vec::new(),
                },
            },
        }
    }

    /// Adds a recipient.
    pub fn destinatario(mut self, d: Destinatario) -> Self {
        self.s.descrizione.destinatari.push(d);
        self
    }

    /// Adds an attachment.
    pub fn allegato(mut self, d: Documento) -> Self {
        self.s.descrizione.allegati.push(d);
        self
    }

    /// Sets the first registration (for a retransmitted document).
    pub fn prima_registrazione(mut self, id: Identificatore) -> Self {
        self.s.intestazione.prima_registrazione = Some(id);
        self
    }

    /// Sets the dossier.
    pub fn fascicolo(mut self, f: Fascicolo) -> Self {
        self.s.intestazione.fascicolo = Some(f);
        self
    }

    /// Marks the message confidential (or explicitly not).
    pub fn riservato(mut self, valore: bool, note: Option<String>) -> Self {
        self.s.intestazione.riservato = Some(Riservato { valore, note });
        self
    }

    /// Refers to the received message this one answers.
    pub fn riferimenti(mut self, r: Riferimenti) -> Self {
        self.s.riferimenti = Some(r);
        self
    }

    /// The segnatura.
    pub fn build(self) -> SegnaturaInformatica {
        self.s
    }
}
