//! Reversali "a copertura": the collection orders that regularise matched provvisori di
//! entrata.
//!
//! Money the treasurer booked as a provvisorio (sospeso) di entrata is regularised by a reversale
//! whose payer has `tipo_riscossione` REGOLARIZZAZIONE and lists the provvisorio in `sospeso`
//! (`numero_provvisorio`, `importo_provvisorio`); the reversale belongs to the provvisorio's
//! esercizio (`OPI_FLUSSO_ORDINATIVI_V_1_7_1.xsd`, `informazioni_versante/sospeso`; AgID / Banca
//! d'Italia *Linee guida per l'emissione degli OPI*, "regolarizzazione dei sospesi"). The
//! treasurer then reports the provvisorio REGOLARIZZATO, or a REVERSALE movement naming it, in
//! the giornale di cassa, which closes it in [`crate::reconcile::ProvvisoriBook`].
//!
//! Each reversale here has one payer (the PSP that sent the transfer) for the provvisorio's
//! whole amount, classified by service: one `classificazione` per service of the receipts in
//! the flows, with the CGE code and SIOPE data that [`CoverageRules`] configures for it.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use pa_types::{Amount, Cup};

use crate::model::{
    ClassificazioneEntrata, DatiSiopeEntrate, InformazioniVersante, Reversale, Soggetto, Sospeso,
    TipoRiscossione,
};
use crate::reconcile::MatchedProvvisorio;
use crate::types::CodiceGestionale;

/// How the collections of one service are classified in the reversale.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClassificationRule {
    /// `codice_cge`.
    pub codice_cge: CodiceGestionale,
    /// `codice_cup`.
    pub codice_cup: Option<Cup>,
    /// `classificazione_dati_siope_entrate`.
    pub dati_siope: DatiSiopeEntrate,
}

/// The classification rules of one ente: by service (the pagoPA taxonomy code of the
/// receipt's transfer, `transferCategory`), with an optional rule for payments of services
/// without one, or without a stored receipt.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CoverageRules {
    /// Rules by service.
    pub by_service: BTreeMap<String, ClassificationRule>,
    /// The rule for everything else; without it such payments are an error.
    pub fallback: Option<ClassificationRule>,
    /// `conto_evidenza` written in the reversali (the account the provvisori were booked on
    /// when `None`).
    pub conto_evidenza: Option<String>,
}

impl CoverageRules {
    /// Adds a rule for `service`.
    #[must_use]
    pub fn with(mut self, service: impl Into<String>, rule: ClassificationRule) -> Self {
        self.by_service.insert(service.into(), rule);
        self
    }

    fn rule(&self, service: Option<&str>) -> Option<&ClassificationRule> {
        service
            .and_then(|s| self.by_service.get(s))
            .or(self.fallback.as_ref())
    }
}

/// Why no reversale could be made for a provvisorio.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CoverageError {
    /// A service has no rule and there is no fallback.
    #[error("provvisorio {numero}/{esercizio}: no classification rule for service {service:?}")]
    NoRule {
        /// Esercizio.
        esercizio: u16,
        /// Provvisorio number.
        numero: u64,
        /// The service (`None`: payments without a stored receipt).
        service: Option<String>,
    },
    /// The provvisorio belongs to another esercizio than the flow's.
    #[error("provvisorio {numero}/{esercizio} cannot be covered in esercizio {flow_esercizio}")]
    OtherEsercizio {
        /// The provvisorio's esercizio.
        esercizio: u16,
        /// Provvisorio number.
        numero: u64,
        /// The flow's.
        flow_esercizio: u16,
    },
    /// The amounts by service do not add up to the provvisorio (a report not made by
    /// [`crate::reconcile::reconcile`]).
    #[error(
        "provvisorio {numero}/{esercizio}: amounts by service add up to {found}, not {expected}"
    )]
    Amounts {
        /// Esercizio.
        esercizio: u16,
        /// Provvisorio number.
        numero: u64,
        /// The provvisorio's amount.
        expected: Amount,
        /// Σ by service.
        found: Amount,
    },
    /// Order numbers would exceed 9,999,999.
    #[error("reversale numbers from {0} run out of range")]
    Numbering(u32),
}

/// The causale of a reversale a copertura (the provvisorio's number and year, and its flows).
#[must_use]
pub fn causale(m: &MatchedProvvisorio) -> String {
    format!(
        "Regolarizzazione provvisorio n. {}/{} - riversamento pagoPA flussi {}",
        m.provvisorio.numero,
        m.provvisorio.esercizio,
        m.flow_ids.join(" ")
    )
}

/// One reversale a copertura per matched provvisorio, numbered from `first_number`, dated
/// `data`, for the flow's `esercizio`.
///
/// # Errors
/// [`CoverageError`] for the first provvisorio that cannot be covered (nothing is returned
/// then: a flow is made of all of them or none).
pub fn reversali_a_copertura(
    matched: &[MatchedProvvisorio],
    rules: &CoverageRules,
    esercizio: u16,
    first_number: u32,
    data: NaiveDate,
) -> Result<Vec<Reversale>, CoverageError> {
    let mut out = Vec::with_capacity(matched.len());
    for (i, m) in matched.iter().enumerate() {
        let p = &m.provvisorio;
        if p.esercizio != esercizio {
            return Err(CoverageError::OtherEsercizio {
                esercizio: p.esercizio,
                numero: p.numero,
                flow_esercizio: esercizio,
            });
        }
        let numero = u32::try_from(i)
            .ok()
            .and_then(|i| first_number.checked_add(i))
            .filter(|n| *n <= 9_999_999)
            .ok_or(CoverageError::Numbering(first_number))?;
        // Services with the same rule are classified together.
        let mut by_rule: Vec<(&ClassificationRule, u64)> = Vec::new();
        let mut total = 0u64;
        for (service, amount) in &m.by_service {
            let rule = rules
                .rule(service.as_deref())
                .ok_or_else(|| CoverageError::NoRule {
                    esercizio: p.esercizio,
                    numero: p.numero,
                    service: service.clone(),
                })?;
            total = total.saturating_add(amount.cents());
            match by_rule.iter_mut().find(|(r, _)| *r == rule) {
                Some((_, c)) => *c = c.saturating_add(amount.cents()),
                None => by_rule.push((rule, amount.cents())),
            }
        }
        if total != p.importo.cents() {
            return Err(CoverageError::Amounts {
                esercizio: p.esercizio,
                numero: p.numero,
                expected: p.importo,
                found: Amount::from_cents(total),
            });
        }
        let mut versante = InformazioniVersante::new(
            1,
            p.importo,
            TipoRiscossione::Regolarizzazione,
            Soggetto::new(if p.cliente.trim().is_empty() {
                "PSP pagoPA"
            } else {
                p.cliente.as_str()
            }),
            causale(m),
        );
        versante.classificazione = by_rule
            .into_iter()
            .map(|(r, cents)| {
                let mut dati_siope = r.dati_siope.clone();
                if let Some(a) = &mut dati_siope.arconet {
                    a.importo_codice_economico = Amount::from_cents(cents);
                }
                ClassificazioneEntrata {
                    codice_cge: r.codice_cge.clone(),
                    codice_cup: r.codice_cup.clone(),
                    importo: Amount::from_cents(cents),
                    dati_siope,
                }
            })
            .collect();
        versante.sospeso = vec![Sospeso {
            numero_provvisorio: p.numero,
            importo_provvisorio: p.importo,
        }];
        let mut r = Reversale::new(numero, data, vec![versante]);
        r.conto_evidenza = rules
            .conto_evidenza
            .clone()
            .or_else(|| Some(p.conto_evidenza.clone()).filter(|c| !c.is_empty()));
        out.push(r);
    }
    Ok(out)
}
