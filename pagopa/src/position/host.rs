//! The paForNode host side of positions with several payment options.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use pa_types::OrganizationFiscalCode;

use super::Position;
use super::store::{MemoryPositions, Phase, PositionError, PositionStore, StoredPosition};
use crate::NoticeNumber;
use crate::gpd::{DebtorType, Destination, PositionStatus};
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

/// Positions with several payment options, answering the node for them (a
/// [`PaForNodeHost`] to put in a [`crate::node::PaForNodeService`]): each installment verifies
/// and pays on its own, and the first payment chooses its option and closes the others (see the
/// [module documentation](super)). Receipts with outcome `KO` change nothing.
///
/// The positions live in a [`PositionStore`]: [`MemoryPositions`] (the default, one process),
/// [`SqlitePositions`](super::SqlitePositions) (a file several processes may share) or
/// [`PgPositions`](super::PgPositions) (several instances on one PostgreSQL). Whatever the
/// store, a receipt is applied in one transaction holding its position, so that receipts of
/// the single option and of a rate applied at once by two instances leave exactly one of them
/// choosing the option.
///
/// Answers to the node for a notice that cannot be paid, after pagoPA's own paForNode over
/// GPD (`pagopa-gpd-payments`, its check of the debt position status): unknown notice, a
/// `DRAFT` position or an option before its validity date → `PAA_PAGAMENTO_SCONOSCIUTO`; an
/// `INVALID` (cancelled) position → `PAA_PAGAMENTO_ANNULLATO`; an installment past its due
/// date in an option with `switchToExpired` → `PAA_PAGAMENTO_SCADUTO`; an installment paid, or
/// closed because another option of the position was paid (the position is then
/// `PARTIALLY_PAID`, `PAID` or `REPORTED`) → `PAA_PAGAMENTO_DUPLICATO`.
#[derive(Debug)]
pub struct PositionBook<S = MemoryPositions> {
    store: S,
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

fn system(e: &PositionError) -> Fault {
    tracing::error!(error = %e, "position store");
    Fault::new(FaultCode::SystemError).with_description("the debt positions cannot be read now")
}

impl PositionBook {
    /// An empty book in memory.
    #[must_use]
    pub fn new() -> PositionBook {
        PositionBook::with_store(MemoryPositions::new())
    }
}

impl<S: PositionStore> PositionBook<S> {
    /// A book on `store`.
    #[must_use]
    pub fn with_store(store: S) -> PositionBook<S> {
        PositionBook {
            store,
            clock: Utc::now,
        }
    }

    /// Uses another clock (for expiry; tests).
    #[must_use]
    pub fn with_clock(mut self, clock: fn() -> DateTime<Utc>) -> PositionBook<S> {
        self.clock = clock;
        self
    }

    /// The store.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// Adds a published position, all installments unpaid. Its rules are checked (except that
    /// due dates may be past: a position can be loaded after its GPD creation).
    ///
    /// # Errors
    /// [`PositionError::Invalid`] for a broken rule, or an IUPD or notice number the book
    /// already has for the creditor; [`PositionError::Backend`].
    pub async fn insert(&self, position: Position) -> Result<(), PositionError> {
        self.insert_in(position, Phase::Published).await
    }

    /// Adds a position in `phase` (e.g. [`Phase::Draft`], to [`PositionBook::publish`] later).
    ///
    /// # Errors
    /// As [`PositionBook::insert`].
    pub async fn insert_in(&self, position: Position, phase: Phase) -> Result<(), PositionError> {
        position.validate(DateTime::<Utc>::MIN_UTC)?;
        self.store
            .insert(&StoredPosition::new(position, phase))
            .await
    }

    /// Publishes a draft: its notices become payable.
    ///
    /// # Errors
    /// [`PositionError::UnknownPosition`], [`PositionError::Transition`],
    /// [`PositionError::Backend`].
    pub async fn publish(
        &self,
        creditor: &OrganizationFiscalCode,
        iupd: &str,
    ) -> Result<(), PositionError> {
        self.store.set_phase(creditor, iupd, Phase::Published).await
    }

    /// Cancels a position nothing of which is paid: the node gets `PAA_PAGAMENTO_ANNULLATO`.
    ///
    /// # Errors
    /// As [`PositionBook::publish`]; a position with a paid installment cannot be cancelled.
    pub async fn invalidate(
        &self,
        creditor: &OrganizationFiscalCode,
        iupd: &str,
    ) -> Result<(), PositionError> {
        self.store.set_phase(creditor, iupd, Phase::Invalid).await
    }

    /// Marks a paid position as reconciled with its reporting flow (`REPORTED`).
    ///
    /// # Errors
    /// As [`PositionBook::publish`]; only a position with an option paid in full.
    pub async fn mark_reported(
        &self,
        creditor: &OrganizationFiscalCode,
        iupd: &str,
    ) -> Result<(), PositionError> {
        self.store.set_phase(creditor, iupd, Phase::Reported).await
    }

    /// The state of the installment with this notice.
    ///
    /// # Errors
    /// [`PositionError::Backend`] / [`PositionError::Corrupt`].
    pub async fn state(
        &self,
        creditor: &OrganizationFiscalCode,
        notice: &NoticeNumber,
    ) -> Result<Option<InstallmentState>, PositionError> {
        Ok(self
            .store
            .by_notice(creditor, notice)
            .await?
            .and_then(|e| e.find(notice).map(|(i, j)| e.state[i][j])))
    }

    /// A position with its phase and the state of each installment.
    ///
    /// # Errors
    /// [`PositionError::Backend`] / [`PositionError::Corrupt`].
    pub async fn position(
        &self,
        creditor: &OrganizationFiscalCode,
        iupd: &str,
    ) -> Result<Option<StoredPosition>, PositionError> {
        self.store.by_iupd(creditor, iupd).await
    }

    /// Whether every installment of one option is paid (the position is settled).
    ///
    /// # Errors
    /// [`PositionError::Backend`] / [`PositionError::Corrupt`].
    pub async fn is_settled(
        &self,
        creditor: &OrganizationFiscalCode,
        iupd: &str,
    ) -> Result<bool, PositionError> {
        Ok(self
            .position(creditor, iupd)
            .await?
            .is_some_and(|s| s.is_settled()))
    }

    /// The position's status as GPD v3 names it ([`StoredPosition::status`] now); `None` for
    /// an unknown position.
    ///
    /// # Errors
    /// [`PositionError::Backend`] / [`PositionError::Corrupt`].
    pub async fn status(
        &self,
        creditor: &OrganizationFiscalCode,
        iupd: &str,
    ) -> Result<Option<PositionStatus>, PositionError> {
        let now = (self.clock)();
        Ok(self.position(creditor, iupd).await?.map(|s| s.status(now)))
    }

    /// Applies a stored receipt: an `OK` receipt pays its installment and, when it is the first
    /// payment of the position, closes every other option. A `KO` receipt changes nothing.
    /// Applying the same receipt again answers [`ReceiptEffect::AlreadyPaid`].
    ///
    /// # Errors
    /// [`PositionError::Backend`] / [`PositionError::Corrupt`]: nothing changed; apply it again.
    pub async fn apply_receipt(&self, receipt: &Receipt) -> Result<ReceiptEffect, PositionError> {
        if !receipt.is_paid() {
            return Ok(ReceiptEffect::NotPaid);
        }
        self.store
            .apply_paid(&receipt.fiscal_code, &receipt.notice_number)
            .await
    }

    /// The installment for a request, if payable now.
    async fn payable(
        &self,
        creditor: &OrganizationFiscalCode,
        notice: &NoticeNumber,
    ) -> Result<(Position, usize, usize), Fault> {
        let e = self
            .store
            .by_notice(creditor, notice)
            .await
            .map_err(|e| system(&e))?
            .ok_or_else(unknown)?;
        let (i, j) = e.find(notice).ok_or_else(unknown)?;
        let iupd = &e.position.iupd;
        match e.phase {
            Phase::Draft => {
                return Err(Fault::new(FaultCode::PagamentoSconosciuto)
                    .with_description(format!("position {iupd} is not published")));
            }
            Phase::Invalid => {
                return Err(Fault::new(FaultCode::PagamentoAnnullato)
                    .with_description(format!("position {iupd} was cancelled")));
            }
            Phase::Published | Phase::Reported => {}
        }
        match e.state[i][j] {
            InstallmentState::Paid => {
                return Err(Fault::new(FaultCode::PagamentoDuplicato)
                    .with_description(format!("notice {notice} is already paid")));
            }
            InstallmentState::Closed => {
                return Err(
                    Fault::new(FaultCode::PagamentoDuplicato).with_description(format!(
                        "another payment option of position {iupd} was paid"
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
        Ok((e.position, i, j))
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
impl<S: PositionStore + 'static> PaForNodeHost for PositionBook<S> {
    async fn verify_payment_notice(
        &self,
        request: &VerifyPaymentNoticeRequest,
    ) -> Result<NoticeDescription, Fault> {
        let qr = &request.qr_code;
        let (p, i, j) = self.payable(&qr.fiscal_code, &qr.notice_number).await?;
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
        let (p, i, j) = self.payable(&qr.fiscal_code, &qr.notice_number).await?;
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
        match self.apply_receipt(receipt).await {
            Ok(ReceiptEffect::Paid {
                iupd,
                closed,
                was_closed,
                ..
            }) => {
                if was_closed {
                    tracing::warn!(%iupd, notice = %receipt.notice_number, "paid an installment of an option already closed");
                }
                tracing::info!(%iupd, notice = %receipt.notice_number, closed = closed.len(), "installment paid");
            }
            Ok(ReceiptEffect::NotPaid) => {
                tracing::info!(notice = %receipt.notice_number, "KO receipt: nothing paid");
            }
            Ok(ReceiptEffect::AlreadyPaid | ReceiptEffect::Unknown) => {}
            Err(e) => {
                // The receipt is stored: apply it again from the receipt store's listing.
                tracing::error!(notice = %receipt.notice_number, error = %e, "receipt not applied to its position");
            }
        }
    }
}
