//! Treasury reconciliation: the provvisori di entrata in the treasurer's giornale di cassa ↔ the
//! pagoPA reporting flows (FdR) ↔ the receipts the ente stored.
//!
//! How the three meet, per the rules this module follows:
//!
//! * **FdR ↔ transfer.** A PSP settles what it collected for a creditor in one SEPA Credit
//!   Transfer per operating day and collection IBAN, for the amount of all and only the payments
//!   in one reporting flow; the SCT's Remittance Information (AT-05) carries
//!   `/PUR/LGPE-RIVERSAMENTO/URI/<identificativoFlusso>`, and the flow's
//!   `importoTotalePagamenti` must equal the SCT's Amount (AT-04). Sources: AgID/PagoPA
//!   *Specifiche attuative dei codici identificativi di versamento, riversamento e
//!   rendicontazione* (SACI), sections "Operazione di trasferimento fondi" (table 3, SCT
//!   attributes) and "Riconciliazione del flusso di riversamento"
//!   (<https://docs.pagopa.it/saci/>). Older SACI versions write
//!   `/PUR/LGPE-RIVERSAMENTO/TXT/<prog>/URI/<identificativoFlusso>`; both are read. The flow's
//!   `identificativoUnivocoRegolamento` is the SCT's reference: when the causale was cut (the
//!   treasurer keeps 140 characters) it is looked for in the movement's
//!   `codice_riferimento_operazione`, `end_to_end_id` and causale.
//! * **Transfer ↔ provvisorio.** Money the treasurer collects without an order is booked as a
//!   *sospeso* (provvisorio) di entrata: in the giornale di cassa (`OPI_GIORNALE_DI_CASSA_V_1_7_1`)
//!   a `movimento_conto_evidenza` with `tipo_movimento` ENTRATA, `tipo_documento`
//!   `SOSPESO ENTRATA` and `numero_documento` the provvisorio's number; its `causale` is the
//!   transfer's remittance text. A later movement of the same provvisorio with
//!   `tipo_operazione` STORNATO cancels it, REGOLARIZZATO closes it, and a REVERSALE movement
//!   listing it in `sospeso/numero_provvisorio` has covered it.
//! * **Provvisorio ↔ reversale.** The ente regularises a provvisorio with a reversale "a
//!   copertura": `tipo_riscossione` REGOLARIZZAZIONE and the provvisorio's number and amount in
//!   `sospeso` (`numero_provvisorio`, `importo_provvisorio`), in the provvisorio's esercizio
//!   (AgID/Banca d'Italia *Regole tecniche OPI* and *Linee guida OPI*, "regolarizzazione dei
//!   sospesi").
//! * **FdR ↔ receipts.** Payments are matched on IUV, IUR (the receipt id) and transfer index
//!   with [`pagopa::reporting::reconcile`]. The PSP reports by D+2 (SACI, "Flusso di
//!   Rendicontazione"): a receipt not reported after [`Options::late_after_days`] is late.
//!
//! [`reconcile`] is a pure function of what it is given: feed it every giornale page, flow and
//! receipt known so far, and run it again as more arrive (a flow that comes days after its
//! transfer turns an unmatched provvisorio into a matched one).

use std::collections::BTreeMap;

use chrono::NaiveDate;
use pa_types::{Amount, OrganizationFiscalCode};
use pagopa::node::{Outcome, Receipt};
use pagopa::reporting::{
    FlowError, FlowHeader, FlowPayment, Mismatch, PaymentKey, ReceivedPayment, ReportedPayment,
    flow_id_from_causale,
};
use serde::Serialize;

use crate::messages::{GiornaleDiCassa, TipoMovimento, TipoOperazioneMovimento};

/// The `tipo_documento` of a provvisorio di entrata in the giornale di cassa.
pub const SOSPESO_ENTRATA: &str = "SOSPESO ENTRATA";

/// A provvisorio di entrata (sospeso) as the treasurer booked it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Provvisorio {
    /// `esercizio` of the giornale page.
    pub esercizio: u16,
    /// `numero_documento`: the provvisorio's number.
    pub numero: u64,
    /// `importo`.
    pub importo: Amount,
    /// `data_movimento`.
    pub data_movimento: NaiveDate,
    /// `conto_evidenza` it was booked on.
    pub conto_evidenza: String,
    /// `causale` (the transfer's remittance text).
    pub causale: String,
    /// `cliente/anagrafica_cliente` (the PSP that sent the transfer).
    pub cliente: String,
    /// `codice_riferimento_operazione`.
    pub codice_riferimento_operazione: Option<String>,
    /// `end_to_end_id`.
    pub end_to_end_id: Option<String>,
}

impl Provvisorio {
    /// The reporting flow identifiers its causale names (none when it is not a pagoPA
    /// settlement transfer).
    #[must_use]
    pub fn flow_ids(&self) -> Vec<String> {
        flow_ids_in_causale(&self.causale)
    }
}

/// The flow identifiers in a settlement transfer's remittance text: every `/URI/<id>` after
/// `/PUR/LGPE-RIVERSAMENTO` (case of the marker ignored; `/TXT/<prog>` segments skipped), in
/// order, without repeats. An identifier ends at `/` or white space.
#[must_use]
pub fn flow_ids_in_causale(causale: &str) -> Vec<String> {
    if let Some(id) = flow_id_from_causale(causale).filter(|id| !id.contains(['/', ' '])) {
        return vec![id.to_owned()];
    }
    const MARK: &str = "/PUR/LGPE-RIVERSAMENTO";
    let upper = causale.to_ascii_uppercase();
    let Some(at) = upper.find(MARK) else {
        return Vec::new();
    };
    let rest = &causale[at + MARK.len()..];
    let mut out: Vec<String> = Vec::new();
    let mut parts = rest.split('/').skip(1);
    while let Some(key) = parts.next() {
        let key = key.trim();
        let Some(value) = parts.next() else { break };
        if key.eq_ignore_ascii_case("URI") {
            let id: String = value
                .split_whitespace()
                .next()
                .unwrap_or_default()
                .to_owned();
            if !id.is_empty() && !out.contains(&id) {
                out.push(id);
            }
        }
    }
    out
}

/// What the giornale di cassa says about provvisori, page after page.
#[derive(Debug, Clone, Default)]
pub struct ProvvisoriBook {
    open: BTreeMap<(u16, u64), Provvisorio>,
    /// Closed provvisori, with their data when the book saw them open.
    closed: BTreeMap<(u16, u64), Option<Provvisorio>>,
    conflicts: Vec<Duplicate>,
}

impl ProvvisoriBook {
    /// An empty book.
    #[must_use]
    pub fn new() -> Self {
        ProvvisoriBook::default()
    }

    /// Reads one giornale page: new provvisori di entrata are opened; STORNATO and
    /// REGOLARIZZATO movements of a provvisorio and REVERSALE movements that name it in
    /// `sospeso` close it. The same provvisorio booked again identically (a page sent twice) is
    /// ignored; booked again differently it is a [`Duplicate::Provvisorio`].
    pub fn add(&mut self, g: &GiornaleDiCassa) {
        for c in &g.conti {
            for m in &c.movimenti {
                if m.tipo_movimento != TipoMovimento::Entrata {
                    continue;
                }
                if m.tipo_documento == SOSPESO_ENTRATA {
                    let key = (g.esercizio, m.numero_documento);
                    match m.tipo_operazione {
                        TipoOperazioneMovimento::Eseguito => {
                            let p = Provvisorio {
                                esercizio: g.esercizio,
                                numero: m.numero_documento,
                                importo: Amount::from_cents(
                                    u64::try_from(m.importo.cents()).unwrap_or(0),
                                ),
                                data_movimento: m.data_movimento,
                                conto_evidenza: c.conto_evidenza.clone(),
                                causale: m.causale.clone(),
                                cliente: m.cliente.anagrafica.clone(),
                                codice_riferimento_operazione: m
                                    .codice_riferimento_operazione
                                    .clone(),
                                end_to_end_id: m.end_to_end_id.clone(),
                            };
                            match self.open.get(&key) {
                                Some(old) if *old == p => {}
                                Some(_) => self.conflicts.push(Duplicate::Provvisorio {
                                    esercizio: g.esercizio,
                                    numero: m.numero_documento,
                                }),
                                None if self.closed.contains_key(&key) => {}
                                None => {
                                    self.open.insert(key, p);
                                }
                            }
                        }
                        TipoOperazioneMovimento::Stornato => {
                            self.open.remove(&key);
                            self.closed.insert(key, None);
                        }
                        TipoOperazioneMovimento::Regolarizzato => self.close(key),
                        _ => {}
                    }
                } else if m.tipo_documento == "REVERSALE" {
                    for s in &m.sospeso {
                        self.close((g.esercizio, s.numero_provvisorio));
                    }
                }
            }
        }
    }

    fn close(&mut self, key: (u16, u64)) {
        let was = self.open.remove(&key);
        let e = self.closed.entry(key).or_insert(None);
        if was.is_some() {
            *e = was;
        }
    }

    /// Regularised provvisori the book saw open: the flows they covered stay claimed by
    /// them, so that a second booking of the same transfer is reported, not matched.
    fn regularised(&self) -> impl Iterator<Item = &Provvisorio> {
        self.closed.values().flatten()
    }

    /// The provvisori still open (not cancelled, not regularised), by esercizio and number.
    pub fn open(&self) -> impl Iterator<Item = &Provvisorio> {
        self.open.values()
    }

    /// The provvisori cancelled or regularised (esercizio, number), in order.
    pub fn closed(&self) -> impl Iterator<Item = (u16, u64)> + '_ {
        self.closed.keys().copied()
    }

    /// Whether a provvisorio was cancelled or regularised.
    #[must_use]
    pub fn is_closed(&self, esercizio: u16, numero: u64) -> bool {
        self.closed.contains_key(&(esercizio, numero))
    }
}

/// A reporting flow with its payments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flow {
    /// The header.
    pub header: FlowHeader,
    /// The payments.
    pub payments: Vec<FlowPayment>,
}

impl Flow {
    /// Reads a `FlussoRiversamento` document (its totals checked).
    ///
    /// # Errors
    /// [`FlowError`] with the position.
    pub fn from_xml(xml: &[u8]) -> Result<Flow, FlowError> {
        let (header, payments) = pagopa::reporting::parse_flow(xml)?;
        Ok(Flow { header, payments })
    }
}

/// One transfer of a stored receipt, with what classifies it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReceiptLine {
    /// IUV, receipt id, transfer index.
    pub key: PaymentKey,
    /// The transfer's amount.
    pub amount: Amount,
    /// When it was paid.
    pub paid_on: Option<NaiveDate>,
    /// The service: the transfer's taxonomy code (`transferCategory`), which the classification
    /// rules of [`crate::coverage`] are keyed on.
    pub service: String,
}

impl ReceiptLine {
    /// The transfers of a successful receipt credited to `creditor` (a `KO` receipt gives none).
    #[must_use]
    pub fn from_receipt(creditor: &OrganizationFiscalCode, r: &Receipt) -> Vec<ReceiptLine> {
        if r.outcome != Outcome::Ok {
            return Vec::new();
        }
        let paid_on = r.payment_date();
        r.transfers
            .iter()
            .filter(|t| &t.fiscal_code_pa == creditor)
            .map(|t| ReceiptLine {
                key: PaymentKey {
                    iuv: r.creditor_reference_id.clone(),
                    iur: r.receipt_id.clone(),
                    transfer_index: t.id_transfer,
                },
                amount: t.amount,
                paid_on,
                service: t.transfer_category.clone(),
            })
            .collect()
    }
}

/// Options of [`reconcile`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    /// The day the report is made for (waiting times are counted to it).
    pub as_of: NaiveDate,
    /// Days after payment (receipts) or settlement (flows) after which what is still unmatched
    /// is late. Default 2: a PSP reports by D+2 (SACI).
    pub late_after_days: u32,
}

impl Options {
    /// Options as of `as_of`, late after 2 days.
    #[must_use]
    pub fn as_of(as_of: NaiveDate) -> Options {
        Options {
            as_of,
            late_after_days: 2,
        }
    }
}

/// A provvisorio covered exactly by its flows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MatchedProvvisorio {
    /// The provvisorio.
    pub provvisorio: Provvisorio,
    /// The flows its transfer settled (one, or several settled together).
    pub flow_ids: Vec<String>,
    /// Payments in those flows.
    pub payments: usize,
    /// Amount per service (taxonomy code of the receipt); payments with no stored receipt are
    /// under `None`.
    pub by_service: BTreeMap<Option<String>, Amount>,
}

impl MatchedProvvisorio {
    /// Whether every payment in its flows has a stored receipt (so that every euro is
    /// classified by service).
    #[must_use]
    pub fn fully_receipted(&self) -> bool {
        !self.by_service.contains_key(&None)
    }
}

/// Why a provvisorio is not matched.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum UnmatchedReason {
    /// The causale names no reporting flow and no flow's settlement reference is in the
    /// movement: not a pagoPA settlement (to be handled by hand).
    NotPagoPa,
    /// The causale names flows that have not arrived (yet: flows may come days later).
    FlowsMissing(Vec<String>),
}

/// A provvisorio with no flows to match it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UnmatchedProvvisorio {
    /// The provvisorio.
    pub provvisorio: Provvisorio,
    /// Why.
    pub reason: UnmatchedReason,
}

/// A flow no provvisorio covers (its transfer is not booked yet, or was booked without the
/// standard causale).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UnmatchedFlow {
    /// `identificativoFlusso`.
    pub flow_id: String,
    /// `identificativoUnivocoRegolamento`.
    pub settlement_id: String,
    /// `dataRegolamento`.
    pub settlement_date: NaiveDate,
    /// `importoTotalePagamenti`.
    pub amount: Amount,
    /// Days from the settlement date to [`Options::as_of`].
    pub days_waiting: i64,
    /// More than [`Options::late_after_days`].
    pub late: bool,
}

/// A provvisorio whose amount differs from its flows'.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AmountDifference {
    /// The provvisorio.
    pub provvisorio: Provvisorio,
    /// Its flows.
    pub flow_ids: Vec<String>,
    /// Σ `importoTotalePagamenti` of the flows.
    pub flows_amount: Amount,
    /// Σ of the flows' payments (differs from `flows_amount` only for a flow whose declared
    /// total is wrong).
    pub payments_amount: Amount,
}

/// Something that appears twice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Duplicate {
    /// The same flow identifier was given more than once (the first copy is used).
    Flow {
        /// The flow.
        flow_id: String,
        /// Whether the copies are identical.
        identical: bool,
    },
    /// Two provvisori claim the same flow (a transfer booked twice, or a flow reported twice
    /// to the treasurer): the first (by esercizio and number) is matched, the others not.
    FlowInTwoProvvisori {
        /// The flow.
        flow_id: String,
        /// The provvisori (esercizio, number), the matched one first.
        provvisori: Vec<(u16, u64)>,
    },
    /// The same provvisorio number was booked again with different data.
    Provvisorio {
        /// Esercizio.
        esercizio: u16,
        /// Number.
        numero: u64,
    },
    /// A payment (IUV, IUR, index) reported again, by this flow.
    Payment(ReportedPayment),
}

/// A stored receipt not yet in any flow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PendingReceipt {
    /// The receipt's transfer.
    pub line: ReceiptLine,
    /// Days since payment (`None` without a payment date).
    pub days_waiting: Option<i64>,
    /// More than [`Options::late_after_days`] since payment.
    pub late: bool,
}

/// A payment whose reported amount differs from its receipt's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PaymentAmountDifference {
    /// The payment.
    pub key: PaymentKey,
    /// In the flow.
    pub reported: Amount,
    /// In the receipt.
    pub received: Amount,
    /// The flow.
    pub flow_id: String,
}

/// Sums for the operator.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Totals {
    /// Open provvisori.
    pub provvisori: Amount,
    /// Matched provvisori.
    pub matched: Amount,
    /// Provvisori not matched (unmatched or with an amount difference).
    pub unmatched_provvisori: Amount,
    /// Flows (distinct).
    pub flows: Amount,
    /// Flows no provvisorio covers.
    pub unmatched_flows: Amount,
    /// Stored receipts (their transfers to the ente).
    pub receipts: Amount,
    /// Receipts not yet reported.
    pub receipts_not_reported: Amount,
}

/// The result of [`reconcile`]. Every list is in a deterministic order (provvisori by
/// esercizio and number, flows by identifier, payments by key).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    /// The day it was made for.
    pub as_of: NaiveDate,
    /// Provvisori covered exactly by their flows: ready for a reversale a copertura.
    pub matched: Vec<MatchedProvvisorio>,
    /// Provvisori without flows.
    pub unmatched_provvisori: Vec<UnmatchedProvvisorio>,
    /// Flows without a provvisorio.
    pub unmatched_flows: Vec<UnmatchedFlow>,
    /// Provvisori whose amount is not their flows'.
    pub amount_differences: Vec<AmountDifference>,
    /// Duplicates of every kind.
    pub duplicates: Vec<Duplicate>,
    /// Reported payments with no stored receipt (a lost receipt).
    pub payments_without_receipt: Vec<ReportedPayment>,
    /// Stored receipts not yet reported.
    pub receipts_not_reported: Vec<PendingReceipt>,
    /// Payments reported with another amount than their receipt's.
    pub payment_amount_differences: Vec<PaymentAmountDifference>,
    /// Sums.
    pub totals: Totals,
}

impl Report {
    /// Whether everything matched: no unmatched item, no difference, no duplicate.
    #[must_use]
    pub fn is_clean(&self) -> bool {
        self.unmatched_provvisori.is_empty()
            && self.unmatched_flows.is_empty()
            && self.amount_differences.is_empty()
            && self.duplicates.is_empty()
            && self.payments_without_receipt.is_empty()
            && self.receipts_not_reported.is_empty()
            && self.payment_amount_differences.is_empty()
    }
}

fn sum(it: impl IntoIterator<Item = Amount>) -> Amount {
    Amount::from_cents(
        it.into_iter()
            .map(Amount::cents)
            .fold(0u64, u64::saturating_add),
    )
}

fn contains_token(hay: Option<&str>, needle: &str) -> bool {
    !needle.is_empty() && hay.is_some_and(|h| h.contains(needle))
}

/// Matches the open provvisori of `book` with `flows` and the flows' payments with
/// `receipts`.
///
/// A provvisorio is matched when the flows it names (or whose settlement reference it carries)
/// have all arrived and their declared totals add up to its amount (SACI: the flow's
/// `importoTotalePagamenti` equals the transfer's amount); several flows settled by one
/// transfer are matched together.
#[must_use]
pub fn reconcile(
    book: &ProvvisoriBook,
    flows: &[Flow],
    receipts: &[ReceiptLine],
    opts: &Options,
) -> Report {
    let mut duplicates: Vec<Duplicate> = book.conflicts.clone();
    // Distinct flows, first copy wins.
    let mut by_id: BTreeMap<&str, &Flow> = BTreeMap::new();
    for f in flows {
        match by_id.get(f.header.flow_id.as_str()) {
            Some(first) => {
                let d = Duplicate::Flow {
                    flow_id: f.header.flow_id.clone(),
                    identical: *first == f,
                };
                if !duplicates.contains(&d) {
                    duplicates.push(d);
                }
            }
            None => {
                by_id.insert(f.header.flow_id.as_str(), f);
            }
        }
    }
    let receipts_by_key: BTreeMap<&PaymentKey, &ReceiptLine> =
        receipts.iter().map(|r| (&r.key, r)).collect();

    let mut claimed: BTreeMap<String, (u16, u64)> = BTreeMap::new();
    let mut matched = Vec::new();
    let mut unmatched_provvisori = Vec::new();
    let mut amount_differences = Vec::new();
    let mut two: BTreeMap<String, Vec<(u16, u64)>> = BTreeMap::new();
    let regularised: Vec<(u16, u64)> = book
        .regularised()
        .map(|p| (p.esercizio, p.numero))
        .collect();
    let mut all: Vec<&Provvisorio> = book.regularised().chain(book.open()).collect();
    all.sort_by_key(|p| (p.esercizio, p.numero));
    for p in all {
        let is_regularised = regularised.contains(&(p.esercizio, p.numero));
        let named = p.flow_ids();
        let mut ids: Vec<String> = named.clone();
        // The settlement reference, for a causale that was cut or written another way.
        for f in by_id.values() {
            let sid = f.header.settlement_id.as_str();
            let hit = contains_token(p.codice_riferimento_operazione.as_deref(), sid)
                || contains_token(p.end_to_end_id.as_deref(), sid)
                || contains_token(Some(&p.causale), sid);
            if hit && !ids.contains(&f.header.flow_id) {
                ids.push(f.header.flow_id.clone());
            }
        }
        if is_regularised {
            // Already covered by a reversale: its flows are taken, nothing to report.
            for id in ids {
                claimed.entry(id).or_insert((p.esercizio, p.numero));
            }
            continue;
        }
        if ids.is_empty() {
            unmatched_provvisori.push(UnmatchedProvvisorio {
                provvisorio: p.clone(),
                reason: UnmatchedReason::NotPagoPa,
            });
            continue;
        }
        let missing: Vec<String> = ids
            .iter()
            .filter(|id| !by_id.contains_key(id.as_str()))
            .cloned()
            .collect();
        if !missing.is_empty() {
            unmatched_provvisori.push(UnmatchedProvvisorio {
                provvisorio: p.clone(),
                reason: UnmatchedReason::FlowsMissing(missing),
            });
            continue;
        }
        let key = (p.esercizio, p.numero);
        let taken: Vec<&String> = ids.iter().filter(|id| claimed.contains_key(*id)).collect();
        if !taken.is_empty() {
            for id in taken {
                let e = two.entry(id.clone()).or_insert_with(|| vec![claimed[id]]);
                e.push(key);
            }
            continue;
        }
        ids.sort();
        let fl: Vec<&Flow> = ids
            .iter()
            .filter_map(|id| by_id.get(id.as_str()))
            .copied()
            .collect();
        let flows_amount = sum(fl.iter().map(|f| f.header.total_amount));
        let payments_amount = sum(fl.iter().flat_map(|f| f.payments.iter().map(|x| x.amount)));
        for id in &ids {
            claimed.insert(id.clone(), key);
        }
        if flows_amount != p.importo || payments_amount != p.importo {
            amount_differences.push(AmountDifference {
                provvisorio: p.clone(),
                flow_ids: ids,
                flows_amount,
                payments_amount,
            });
            continue;
        }
        let mut by_service: BTreeMap<Option<String>, Amount> = BTreeMap::new();
        let mut n = 0;
        for f in &fl {
            for x in &f.payments {
                n += 1;
                let k = PaymentKey {
                    iuv: x.iuv.clone(),
                    iur: x.iur.clone(),
                    transfer_index: x.transfer_index,
                };
                let service = receipts_by_key.get(&k).map(|r| r.service.clone());
                let e = by_service.entry(service).or_insert(Amount::ZERO);
                *e = sum([*e, x.amount]);
            }
        }
        matched.push(MatchedProvvisorio {
            provvisorio: p.clone(),
            flow_ids: ids,
            payments: n,
            by_service,
        });
    }
    for (flow_id, provvisori) in two {
        duplicates.push(Duplicate::FlowInTwoProvvisori {
            flow_id,
            provvisori,
        });
    }

    let late = i64::from(opts.late_after_days);
    let unmatched_flows: Vec<UnmatchedFlow> = by_id
        .values()
        .filter(|f| !claimed.contains_key(&f.header.flow_id))
        .map(|f| {
            let days = (opts.as_of - f.header.settlement_date).num_days();
            UnmatchedFlow {
                flow_id: f.header.flow_id.clone(),
                settlement_id: f.header.settlement_id.clone(),
                settlement_date: f.header.settlement_date,
                amount: f.header.total_amount,
                days_waiting: days,
                late: days > late,
            }
        })
        .collect();

    // Payments ↔ receipts, over the distinct flows.
    let reported = by_id.values().flat_map(|f| {
        f.payments
            .iter()
            .map(|x| ReportedPayment::from_flow(&f.header.flow_id, x))
    });
    let received = receipts.iter().map(|r| ReceivedPayment {
        key: r.key.clone(),
        amount: r.amount,
    });
    let pr = pagopa::reporting::reconcile(reported, received);
    let mut payments_without_receipt = Vec::new();
    let mut receipts_not_reported = Vec::new();
    let mut payment_amount_differences = Vec::new();
    for m in pr.mismatches {
        match m {
            Mismatch::ReportedNotReceived(p) => payments_without_receipt.push(p),
            Mismatch::ReceivedNotReported(r) => {
                let Some(line) = receipts_by_key.get(&r.key) else {
                    continue;
                };
                let days = line.paid_on.map(|d| (opts.as_of - d).num_days());
                receipts_not_reported.push(PendingReceipt {
                    line: (*line).clone(),
                    days_waiting: days,
                    late: days.is_some_and(|d| d > late),
                });
            }
            Mismatch::AmountDiffers {
                key,
                reported,
                received,
                flow_id,
            } => payment_amount_differences.push(PaymentAmountDifference {
                key,
                reported,
                received,
                flow_id,
            }),
            Mismatch::ReportedTwice(p) => duplicates.push(Duplicate::Payment(p)),
        }
    }

    let totals = Totals {
        provvisori: sum(book.open().map(|p| p.importo)),
        matched: sum(matched.iter().map(|m| m.provvisorio.importo)),
        unmatched_provvisori: sum(unmatched_provvisori
            .iter()
            .map(|u| u.provvisorio.importo)
            .chain(amount_differences.iter().map(|a| a.provvisorio.importo))),
        flows: sum(by_id.values().map(|f| f.header.total_amount)),
        unmatched_flows: sum(unmatched_flows.iter().map(|f| f.amount)),
        receipts: sum(receipts.iter().map(|r| r.amount)),
        receipts_not_reported: sum(receipts_not_reported.iter().map(|r| r.line.amount)),
    };
    Report {
        as_of: opts.as_of,
        matched,
        unmatched_provvisori,
        unmatched_flows,
        amount_differences,
        duplicates,
        payments_without_receipt,
        receipts_not_reported,
        payment_amount_differences,
        totals,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn causale_forms() {
        assert_eq!(
            flow_ids_in_causale("/PUR/LGPE-RIVERSAMENTO/URI/2026-03-02BCITITMM-S001"),
            vec!["2026-03-02BCITITMM-S001"]
        );
        assert_eq!(
            flow_ids_in_causale("ACCR. BONIFICO /PUR/LGPE-RIVERSAMENTO/TXT/12/URI/F1 ord. PSP"),
            vec!["F1"]
        );
        assert_eq!(
            flow_ids_in_causale("/pur/lgpe-riversamento/URI/F1/URI/F2/URI/F1"),
            vec!["F1", "F2"]
        );
        assert!(flow_ids_in_causale("Rimborso spese di notifica").is_empty());
        assert!(flow_ids_in_causale("/PUR/LGPE-RIVERSAMENTO/URI/").is_empty());
    }
}
