//! The paForNode host side of positions with several payment options.

use std::sync::{Mutex, MutexGuard, PoisonError};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use pa_types::OrganizationFiscalCode;

use super::Position;
use crate::NoticeNumber;
use crate::gpd::{DebtorType, Destination, PositionStatus, ValidationError};
use crate::node::{
    AmountOption, EntityType, Fault, FaultCode, GetPaymentRequest, MapEntry, NoticeDescription,
    Operation, PaForNodeHost, PaymentData, PaymentOptionDescription, Receipt, StampRequest,
    Subject, Transfer, TransferTarget, TransferType, VerifyPaymentNoticeRequest,
};

/// Where one installment is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum InstallmentState {
    /// Payable.
    Unpaid,
    /// Paid: an `OK` receipt was stored.
    Paid,
    /// Not payable any more: another option of the position was chosen (paid first).
    Closed,
}

/// What [`PositionBook::apply_receipt`] did with a receipt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReceiptEffect {
    /// The installment is now paid; `closed` are the notices of the other options, closed by
    /// this first payment of its option (empty after the first).
    Paid {
        /// The position.
        iupd: String,
        /// Index of the option paid.
        option: usize,
        /// Index of the installment in the option.
        installment: usize,
        /// Notices closed by this payment.
        closed: Vec<NoticeNumber>,
        /// Whether the installment had been closed (a payment that raced another option's):
        /// the money arrived anyway, so it counts, and needs a refund decision.
        was_closed: bool,
    },
    /// The installment was already paid (another receipt for it).
    AlreadyPaid,
    /// A receipt whose outcome is `KO`: nothing was paid, nothing changes.
    NotPaid,
    /// No position has this notice.
    Unknown,
}

#[derive(Debug)]
struct Entry {
    position: Position,
    state: Vec<Vec<InstallmentState>>,
}

impl Entry {
    fn find(&self, creditor: &str, notice: &NoticeNumber) -> Option<(usize, usize)> {
        if self.position.creditor.as_str() != creditor {
            return None;
        }
        self.position.find(notice)
    }
}

/// Positions with several payment options, answering the node for them (a
/// [`PaForNodeHost`] to put in a [`crate::node::PaForNodeService`]): each installment verifies
/// and pays on its own, and the first payment chooses its option and closes the others (see the
/// [module documentation](super)). Receipts with outcome `KO` change nothing.
///
/// Kept in memory; a creditor with its own database uses [`Position`] and the same rules through
/// [`PositionBook::apply_receipt`] and [`PositionBook::state`] on a book loaded from it.
#[derive(Debug)]
pub struct PositionBook {
    entries: Mutex<Vec<Entry>>,
    clock: fn() -> DateTime<Utc>,
}

impl Default for PositionBook {
    fn default() -> Self {
        PositionBook::new()
    }
}

fn unknown() -> Fault {
    Fault::new(FaultCode::PagamentoSconosciuto)
}

impl PositionBook {
    /// An empty book.
    #[must_use]
    pub fn new() -> PositionBook {
        PositionBook {
            entries: Mutex::new(Vec::new()),
            clock: Utc::now,
        }
    }

    /// Uses another clock (for expiry; tests).
    #[must_use]
    pub fn with_clock(mut self, clock: fn() -> DateTime<Utc>) -> PositionBook {
        self.clock = clock;
        self
    }

    fn lock(&self) -> MutexGuard<'_, Vec<Entry>> {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Adds a position, all installments unpaid. Its rules are checked (except that due dates
    /// may be past: a position can be loaded after its GPD creation).
    ///
    /// # Errors
    /// A broken rule, or an IUPD or notice number the book already has for the creditor.
    pub fn insert(&self, position: Position) -> Result<(), ValidationError> {
        position.validate(DateTime::<Utc>::MIN_UTC)?;
        let mut entries = self.lock();
        for e in entries.iter() {
            if e.position.creditor != position.creditor {
                continue;
            }
            if e.position.iupd == position.iupd {
                return Err(ValidationError {
                    path: "iupd".into(),
                    problem: format!("position {} already exists", position.iupd),
                });
            }
            for o in &position.options {
                for i in &o.installments {
                    if let Some(n) = i.notice_number()
                        && e.position.find(&n).is_some()
                    {
                        return Err(ValidationError {
                            path: "paymentOption".into(),
                            problem: format!(
                                "notice {n} already belongs to position {}",
                                e.position.iupd
                            ),
                        });
                    }
                }
            }
        }
        let state = position
            .options
            .iter()
            .map(|o| vec![InstallmentState::Unpaid; o.installments.len()])
            .collect();
        entries.push(Entry { position, state });
        Ok(())
    }

    /// The state of the installment with this notice.
    #[must_use]
    pub fn state(
        &self,
        creditor: &OrganizationFiscalCode,
        notice: &NoticeNumber,
    ) -> Option<InstallmentState> {
        let entries = self.lock();
        entries.iter().find_map(|e| {
            e.find(creditor.as_str(), notice)
                .map(|(i, j)| e.state[i][j])
        })
    }

    /// A position and the state of each installment (`[option][installment]`).
    #[must_use]
    pub fn position(
        &self,
        creditor: &OrganizationFiscalCode,
        iupd: &str,
    ) -> Option<(Position, Vec<Vec<InstallmentState>>)> {
        let entries = self.lock();
        entries
            .iter()
            .find(|e| &e.position.creditor == creditor && e.position.iupd == iupd)
            .map(|e| (e.position.clone(), e.state.clone()))
    }

    /// Whether every installment of one option is paid (the position is settled).
    #[must_use]
    pub fn is_settled(&self, creditor: &OrganizationFiscalCode, iupd: &str) -> bool {
        self.position(creditor, iupd).is_some_and(|(_, s)| {
            s.iter()
                .any(|o| o.iter().all(|&x| x == InstallmentState::Paid))
        })
    }

    /// The position's status as GPD v3 names it: `PAID` when one option is paid in full,
    /// `PARTIALLY_PAID` when some installment is paid, `VALID` otherwise; `None` for an unknown
    /// position.
    #[must_use]
    pub fn status(&self, creditor: &OrganizationFiscalCode, iupd: &str) -> Option<PositionStatus> {
        let (_, s) = self.position(creditor, iupd)?;
        let paid = |o: &Vec<InstallmentState>| o.iter().all(|&x| x == InstallmentState::Paid);
        Some(if s.iter().any(paid) {
            PositionStatus::Paid
        } else if s.iter().flatten().any(|&x| x == InstallmentState::Paid) {
            PositionStatus::PartiallyPaid
        } else {
            PositionStatus::Valid
        })
    }

    /// Applies a stored receipt: an `OK` receipt pays its installment and, when it is the first
    /// payment of its option, closes every other option. A `KO` receipt changes nothing.
    pub fn apply_receipt(&self, receipt: &Receipt) -> ReceiptEffect {
        if !receipt.is_paid() {
            return ReceiptEffect::NotPaid;
        }
        let mut entries = self.lock();
        let creditor = receipt.fiscal_code.as_str();
        let Some((e, (i, j))) = entries.iter_mut().find_map(|e| {
            let at = e.find(creditor, &receipt.notice_number)?;
            Some((e, at))
        }) else {
            return ReceiptEffect::Unknown;
        };
        let before = e.state[i][j];
        if before == InstallmentState::Paid {
            return ReceiptEffect::AlreadyPaid;
        }
        e.state[i][j] = InstallmentState::Paid;
        let mut closed = Vec::new();
        for (k, opt) in e.position.options.iter().enumerate() {
            if k == i {
                continue;
            }
            for (q, inst) in opt.installments.iter().enumerate() {
                if e.state[k][q] == InstallmentState::Unpaid {
                    e.state[k][q] = InstallmentState::Closed;
                    closed.extend(inst.notice_number());
                }
            }
        }
        ReceiptEffect::Paid {
            iupd: e.position.iupd.clone(),
            option: i,
            installment: j,
            closed,
            was_closed: before == InstallmentState::Closed,
        }
    }

    /// The installment for a request, if payable now.
    fn payable(
        &self,
        creditor: &str,
        notice: &NoticeNumber,
    ) -> Result<(Position, usize, usize), Fault> {
        let entries = self.lock();
        let (e, (i, j)) = entries
            .iter()
            .find_map(|e| e.find(creditor, notice).map(|at| (e, at)))
            .ok_or_else(unknown)?;
        match e.state[i][j] {
            InstallmentState::Paid => {
                return Err(Fault::new(FaultCode::PagamentoDuplicato)
                    .with_description(format!("notice {notice} is already paid")));
            }
            InstallmentState::Closed => {
                return Err(
                    Fault::new(FaultCode::PagamentoAnnullato).with_description(format!(
                        "another payment option of position {} was chosen",
                        e.position.iupd
                    )),
                );
            }
            InstallmentState::Unpaid => {}
        }
        let opt = &e.position.options[i];
        let inst = &opt.installments[j];
        let now = (self.clock)();
        if opt.switch_to_expired && inst.due_date < now {
            return Err(Fault::new(FaultCode::PagamentoScaduto)
                .with_description(format!("notice {notice} expired on {}", inst.due_date)));
        }
        if opt.validity_date.is_some_and(|v| v > now) {
            return Err(Fault::new(FaultCode::PagamentoSconosciuto)
                .with_description(format!("notice {notice} is not payable yet")));
        }
        Ok((e.position.clone(), i, j))
    }
}

fn subject(d: &crate::gpd::Debtor) -> Subject {
    let mut s = Subject::new(
        match d.kind {
            DebtorType::F => EntityType::F,
            DebtorType::G => EntityType::G,
        },
        d.fiscal_code.clone(),
        d.full_name.clone(),
    );
    s.street_name.clone_from(&d.street_name);
    s.civic_number.clone_from(&d.civic_number);
    s.postal_code.clone_from(&d.postal_code);
    s.city.clone_from(&d.city);
    s.state_province_region.clone_from(&d.province);
    s.country.clone_from(&d.country);
    s.email.clone_from(&d.email);
    s
}

/// The payment data of an installment, as `paGetPayment(V2)` returns it. The postal account is
/// used when the PSP asks for `POSTAL` and the transfer has one.
///
/// # Errors
/// `PAA_SEMANTICA` for a stamp asked through `paGetPayment` (V1 cannot carry one).
pub(crate) fn payment_data(
    position: &Position,
    option: usize,
    installment: usize,
    operation: Operation,
    transfer_type: Option<TransferType>,
) -> Result<PaymentData, Fault> {
    let opt = &position.options[option];
    let inst = &opt.installments[installment];
    let postal = transfer_type == Some(TransferType::Postal);
    let mut transfers = Vec::with_capacity(inst.transfers.len());
    for t in &inst.transfers {
        let target = match &t.destination {
            Destination::Iban { iban, postal_iban } => TransferTarget::Iban(
                match (postal, postal_iban) {
                    (true, Some(p)) => p,
                    _ => iban,
                }
                .clone(),
            ),
            Destination::Stamp(s) => {
                if operation != Operation::GetPaymentV2 {
                    return Err(Fault::new(FaultCode::Semantica).with_description(
                        "this installment includes a digital stamp: use paGetPaymentV2",
                    ));
                }
                TransferTarget::Stamp(StampRequest {
                    hash_documento: s.hash_document.clone(),
                    tipo_bollo: s.stamp_type.clone(),
                    provincia_residenza: s.provincial_residence.clone(),
                })
            }
        };
        transfers.push(Transfer {
            id_transfer: t.id_transfer,
            amount: t.amount,
            fiscal_code_pa: t
                .organization_fiscal_code
                .clone()
                .unwrap_or_else(|| position.creditor.clone()),
            company_name: t
                .company_name
                .clone()
                .or_else(|| Some(position.company_name.clone())),
            target,
            remittance_information: t.remittance_information.clone(),
            transfer_category: t.category.as_str().to_owned(),
            metadata: t
                .metadata
                .iter()
                .map(|m| MapEntry {
                    key: m.key.clone(),
                    value: m.value.clone(),
                })
                .collect(),
        });
    }
    Ok(PaymentData {
        creditor_reference_id: inst.iuv.as_str().to_owned(),
        payment_amount: inst.amount,
        due_date: inst.due_date.date_naive(),
        retention_date: opt.retention_date.map(|r| r.naive_utc()),
        last_payment: Some(installment + 1 == opt.installments.len()),
        description: inst.description.clone(),
        company_name: Some(position.company_name.clone()),
        office_name: position.office_name.clone(),
        debtor: subject(&opt.debtor),
        transfers,
        metadata: inst
            .metadata
            .iter()
            .map(|m| MapEntry {
                key: m.key.clone(),
                value: m.value.clone(),
            })
            .collect(),
    })
}

#[async_trait]
impl PaForNodeHost for PositionBook {
    async fn verify_payment_notice(
        &self,
        request: &VerifyPaymentNoticeRequest,
    ) -> Result<NoticeDescription, Fault> {
        let qr = &request.qr_code;
        let (p, i, j) = self.payable(qr.fiscal_code.as_str(), &qr.notice_number)?;
        let opt = &p.options[i];
        let inst = &opt.installments[j];
        let detail = if opt.is_single() {
            opt.description.clone()
        } else {
            Some(format!(
                "Rata {} di {}{}",
                j + 1,
                opt.installments.len(),
                opt.description
                    .as_deref()
                    .map(|d| format!(" - {d}"))
                    .unwrap_or_default()
            ))
        };
        Ok(NoticeDescription {
            payment_option: PaymentOptionDescription {
                amount: inst.amount,
                options: AmountOption::Eq,
                due_date: Some(inst.due_date.date_naive()),
                detail_description: detail.map(|d| d.chars().take(140).collect()),
                all_ccp: inst.all_postal(),
            },
            payment_description: inst.description.clone(),
            fiscal_code_pa: p.creditor.clone(),
            company_name: p.company_name.clone(),
            office_name: p.office_name.clone(),
        })
    }

    async fn get_payment(
        &self,
        operation: Operation,
        request: &GetPaymentRequest,
    ) -> Result<PaymentData, Fault> {
        let qr = &request.qr_code;
        let (p, i, j) = self.payable(qr.fiscal_code.as_str(), &qr.notice_number)?;
        let inst = &p.options[i].installments[j];
        if let Some(a) = request.amount
            && a != inst.amount
        {
            return Err(Fault::new(FaultCode::Semantica).with_description(format!(
                "amount {a} differs from the installment amount {}",
                inst.amount
            )));
        }
        payment_data(&p, i, j, operation, request.transfer_type)
    }

    async fn receipt_stored(&self, receipt: &Receipt) {
        match self.apply_receipt(receipt) {
            ReceiptEffect::Paid {
                iupd,
                closed,
                was_closed,
                ..
            } => {
                if was_closed {
                    tracing::warn!(%iupd, notice = %receipt.notice_number, "paid an installment of an option already closed");
                }
                tracing::info!(%iupd, notice = %receipt.notice_number, closed = closed.len(), "installment paid");
            }
            ReceiptEffect::NotPaid => {
                tracing::info!(notice = %receipt.notice_number, "KO receipt: nothing paid");
            }
            ReceiptEffect::AlreadyPaid | ReceiptEffect::Unknown => {}
        }
    }
}
