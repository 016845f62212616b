//! Matching reported payments against stored receipts.

use std::collections::BTreeMap;

use pa_types::{Amount, OrganizationFiscalCode};
use serde::{Deserialize, Serialize};

use super::flow::{FlowPayment, OutcomeCode};
use crate::node::{Outcome, Receipt};

/// The key a payment is matched on: IUV, IUR and transfer index.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct PaymentKey {
    /// IUV (`creditorReferenceId`).
    pub iuv: String,
    /// IUR (`identificativoUnivocoRiscossione`; for receipts, the `receiptId`).
    pub iur: String,
    /// Transfer index 1..5.
    pub transfer_index: u8,
}

/// A payment as reported by a PSP in a flow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportedPayment {
    /// Match key.
    pub key: PaymentKey,
    /// Amount reported.
    pub amount: Amount,
    /// Outcome reported.
    pub outcome: OutcomeCode,
    /// The flow that reported it.
    pub flow_id: String,
}

impl ReportedPayment {
    /// From a flow entry.
    #[must_use]
    pub fn from_flow(flow_id: &str, p: &FlowPayment) -> ReportedPayment {
        ReportedPayment {
            key: PaymentKey {
                iuv: p.iuv.clone(),
                iur: p.iur.clone(),
                transfer_index: p.transfer_index,
            },
            amount: p.amount,
            outcome: p.outcome,
            flow_id: flow_id.to_owned(),
        }
    }
}

/// A payment as received in a receipt (one per transfer).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceivedPayment {
    /// Match key.
    pub key: PaymentKey,
    /// Amount of the transfer.
    pub amount: Amount,
}

impl ReceivedPayment {
    /// The transfers of a successful receipt credited to `creditor`, keyed by IUV
    /// (`creditorReferenceId`), IUR (`receiptId`, as the node reports it in the new model) and
    /// `idTransfer`. A `KO` receipt yields nothing.
    #[must_use]
    pub fn from_receipt(creditor: &OrganizationFiscalCode, r: &Receipt) -> Vec<ReceivedPayment> {
        if r.outcome != Outcome::Ok {
            return Vec::new();
        }
        r.transfers
            .iter()
            .filter(|t| &t.fiscal_code_pa == creditor)
            .map(|t| ReceivedPayment {
                key: PaymentKey {
                    iuv: r.creditor_reference_id.clone(),
                    iur: r.receipt_id.clone(),
                    transfer_index: t.id_transfer,
                },
                amount: t.amount,
            })
            .collect()
    }
}

/// One difference between what was reported and what was received.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Mismatch {
    /// Reported in a flow, but no receipt has it (a lost receipt, or a payment without RPT).
    ReportedNotReceived(ReportedPayment),
    /// In a receipt, but in no flow (not yet reported, or the PSP left it out).
    ReceivedNotReported(ReceivedPayment),
    /// Both sides have it with different amounts.
    AmountDiffers {
        /// The payment.
        key: PaymentKey,
        /// Amount in the flow.
        reported: Amount,
        /// Amount in the receipt.
        received: Amount,
        /// The flow.
        flow_id: String,
    },
    /// The same key is reported more than once (the later entries are listed).
    ReportedTwice(ReportedPayment),
}

/// The result of [`reconcile`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reconciliation {
    /// Payments found on both sides with the same amount.
    pub matched: usize,
    /// Reported revocations (outcome 3) that match a receipt: money to be returned.
    pub revoked: Vec<ReportedPayment>,
    /// Differences, sorted by key.
    pub mismatches: Vec<Mismatch>,
}

impl Reconciliation {
    /// Whether both sides agree completely.
    #[must_use]
    pub fn is_clean(&self) -> bool {
        self.mismatches.is_empty()
    }
}

/// Matches reported payments against received ones on (IUV, IUR, transfer index) and lists
/// every difference: reported but not received, received but not reported, amounts that
/// differ, keys reported twice. Output order is deterministic (by key).
pub fn reconcile(
    reported: impl IntoIterator<Item = ReportedPayment>,
    received: impl IntoIterator<Item = ReceivedPayment>,
) -> Reconciliation {
    let mut out = Reconciliation::default();
    let mut rec: BTreeMap<PaymentKey, ReceivedPayment> = BTreeMap::new();
    let mut keyed: Vec<(PaymentKey, Mismatch)> = Vec::new();
    for r in received {
        rec.insert(r.key.clone(), r);
    }
    let mut seen: BTreeMap<PaymentKey, ()> = BTreeMap::new();
    for p in reported {
        if seen.insert(p.key.clone(), ()).is_some() {
            keyed.push((p.key.clone(), Mismatch::ReportedTwice(p)));
            continue;
        }
        match rec.remove(&p.key) {
            None => keyed.push((p.key.clone(), Mismatch::ReportedNotReceived(p))),
            Some(r) if r.amount != p.amount => keyed.push((
                p.key.clone(),
                Mismatch::AmountDiffers {
                    key: p.key.clone(),
                    reported: p.amount,
                    received: r.amount,
                    flow_id: p.flow_id,
                },
            )),
            Some(_) if p.outcome == OutcomeCode::Revoked => out.revoked.push(p),
            Some(_) => out.matched += 1,
        }
    }
    for (k, r) in rec {
        keyed.push((k, Mismatch::ReceivedNotReported(r)));
    }
    keyed.sort_by(|a, b| a.0.cmp(&b.0));
    out.mismatches = keyed.into_iter().map(|(_, m)| m).collect();
    out
}
