//! Where a [`PositionBook`](super::PositionBook) keeps its positions: in memory
//! ([`MemoryPositions`]), in a SQLite file ([`SqlitePositions`](super::SqlitePositions),
//! feature `sqlite`) or in PostgreSQL ([`PgPositions`](super::PgPositions), feature
//! `postgres`). The rules (what a receipt pays and closes, which phase may follow which, the GPD
//! status) are the functions of this module; every store applies them inside one transaction
//! that holds the position, so that two instances applying receipts of the same position at
//! once are serialised and exactly one of them chooses the option.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use pa_types::OrganizationFiscalCode;

use super::Position;
use super::host::{InstallmentState, ReceiptEffect};
use crate::NoticeNumber;
use crate::gpd::{PositionStatus, ValidationError};

/// Where a position is in its life (the stored part of its GPD status; the rest is derived
/// from the installments and the dates, see [`StoredPosition::status`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Phase {
    /// Created, not published: the node gets `PAA_PAGAMENTO_SCONOSCIUTO` (GPD `DRAFT`).
    Draft,
    /// Published: payable from each option's validity date (GPD `PUBLISHED` / `VALID` /
    /// `PARTIALLY_PAID` / `PAID` / `EXPIRED`, by its installments and dates).
    Published,
    /// Cancelled by the creditor: the node gets `PAA_PAGAMENTO_ANNULLATO` (GPD `INVALID`).
    Invalid,
    /// Paid and reconciled with the reporting flow (GPD `REPORTED`).
    Reported,
}

impl Phase {
    /// The stored name.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Draft => "DRAFT",
            Phase::Published => "PUBLISHED",
            Phase::Invalid => "INVALID",
            Phase::Reported => "REPORTED",
        }
    }

    /// Reads a stored name.
    #[must_use]
    pub fn parse(s: &str) -> Option<Phase> {
        Some(match s {
            "DRAFT" => Phase::Draft,
            "PUBLISHED" => Phase::Published,
            "INVALID" => Phase::Invalid,
            "REPORTED" => Phase::Reported,
            _ => return None,
        })
    }
}

impl InstallmentState {
    /// The stored name.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            InstallmentState::Unpaid => "UNPAID",
            InstallmentState::Paid => "PAID",
            InstallmentState::Closed => "CLOSED",
        }
    }

    /// Reads a stored name.
    #[must_use]
    pub fn parse(s: &str) -> Option<InstallmentState> {
        Some(match s {
            "UNPAID" => InstallmentState::Unpaid,
            "PAID" => InstallmentState::Paid,
            "CLOSED" => InstallmentState::Closed,
            _ => return None,
        })
    }
}

/// Why a position could not be stored, read or changed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PositionError {
    /// The position breaks a GPD rule, or its IUPD or one of its notices is already in the
    /// book for the creditor.
    #[error("{0}")]
    Invalid(#[from] ValidationError),
    /// No position with this IUPD for the creditor.
    #[error("no position {iupd}")]
    UnknownPosition {
        /// The IUPD asked for.
        iupd: String,
    },
    /// The change of phase is not allowed (e.g. cancelling a position already paid).
    #[error("position {iupd}: cannot go from {from:?} to {to:?}: {reason}")]
    Transition {
        /// The position.
        iupd: String,
        /// Its phase.
        from: Phase,
        /// The phase asked for.
        to: Phase,
        /// Why not.
        reason: &'static str,
    },
    /// The database failed or cannot be reached (the node then gets `PAA_SYSTEM_ERROR`).
    #[error("position store: {0}")]
    Backend(String),
    /// A stored row cannot be read back (a bug or a database edited by hand).
    #[error("position store: corrupt row: {0}")]
    Corrupt(String),
}

/// A position as stored: the position, its phase and the state of every installment
/// (`state[option][installment]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredPosition {
    /// The position.
    pub position: Position,
    /// Its phase.
    pub phase: Phase,
    /// The state of each installment, `[option][installment]`.
    pub state: Vec<Vec<InstallmentState>>,
}

impl StoredPosition {
    /// A new position in `phase`, every installment unpaid.
    #[must_use]
    pub fn new(position: Position, phase: Phase) -> StoredPosition {
        let state = position
            .options
            .iter()
            .map(|o| vec![InstallmentState::Unpaid; o.installments.len()])
            .collect();
        StoredPosition {
            position,
            phase,
            state,
        }
    }

    fn any_paid(&self) -> bool {
        self.state
            .iter()
            .flatten()
            .any(|&s| s == InstallmentState::Paid)
    }

    /// Whether every installment of some option is paid.
    #[must_use]
    pub fn is_settled(&self) -> bool {
        self.state
            .iter()
            .any(|o| o.iter().all(|&s| s == InstallmentState::Paid))
    }

    /// The status as GPD v3 names it (`gpd_v3.json`, `PaymentPositionModelResponseV3.status`),
    /// at `now`: `INVALID`, `DRAFT` and `REPORTED` from the phase; then `PAID` when an option is
    /// paid in full, `PARTIALLY_PAID` when some installment is paid; `PUBLISHED` while no
    /// option has reached its validity date; `EXPIRED` when every option expires after its due
    /// dates (`switchToExpired`) and they are all past; `VALID` otherwise.
    #[must_use]
    pub fn status(&self, now: DateTime<Utc>) -> PositionStatus {
        match self.phase {
            Phase::Invalid => return PositionStatus::Invalid,
            Phase::Draft => return PositionStatus::Draft,
            Phase::Reported => return PositionStatus::Reported,
            Phase::Published => {}
        }
        if self.is_settled() {
            return PositionStatus::Paid;
        }
        if self.any_paid() {
            return PositionStatus::PartiallyPaid;
        }
        let options = &self.position.options;
        if options
            .iter()
            .all(|o| o.validity_date.is_some_and(|v| v > now))
        {
            return PositionStatus::Published;
        }
        if options
            .iter()
            .all(|o| o.switch_to_expired && o.installments.iter().all(|i| i.due_date < now))
        {
            return PositionStatus::Expired;
        }
        PositionStatus::Valid
    }

    /// Where the installment with this notice is: (option, installment).
    #[must_use]
    pub fn find(&self, notice: &NoticeNumber) -> Option<(usize, usize)> {
        self.position.find(notice)
    }

    /// Pays installment (`option`, `installment`) — the rule of the
    /// [module documentation](super): the first payment of an option closes every unpaid
    /// installment of the other options; a payment of an installment already closed (it raced
    /// the payment of another option) is counted, closes nothing and is reported with
    /// `was_closed`. Returns the effect and the cells changed.
    pub fn pay(
        &mut self,
        option: usize,
        installment: usize,
    ) -> (ReceiptEffect, Vec<(usize, usize)>) {
        let before = self.state[option][installment];
        if before == InstallmentState::Paid {
            return (ReceiptEffect::AlreadyPaid, Vec::new());
        }
        self.state[option][installment] = InstallmentState::Paid;
        let mut changed = vec![(option, installment)];
        let mut closed = Vec::new();
        if before == InstallmentState::Unpaid {
            for (k, opt) in self.position.options.iter().enumerate() {
                if k == option {
                    continue;
                }
                for (q, inst) in opt.installments.iter().enumerate() {
                    if self.state[k][q] == InstallmentState::Unpaid {
                        self.state[k][q] = InstallmentState::Closed;
                        changed.push((k, q));
                        closed.extend(inst.notice_number());
                    }
                }
            }
        }
        (
            ReceiptEffect::Paid {
                iupd: self.position.iupd.clone(),
                option,
                installment,
                closed,
                was_closed: before == InstallmentState::Closed,
            },
            changed,
        )
    }

    /// Checks a change of phase: publish a draft (`Draft` → `Published`), cancel a position
    /// nothing of which is paid (`Draft`/`Published` → `Invalid`), report a paid one
    /// (`Published` with an option paid in full → `Reported`). Asking for the phase it is in
    /// is allowed (nothing changes).
    ///
    /// # Errors
    /// [`PositionError::Transition`] naming the rule.
    pub fn check_phase(&self, to: Phase) -> Result<(), PositionError> {
        let from = self.phase;
        let deny = |reason| {
            Err(PositionError::Transition {
                iupd: self.position.iupd.clone(),
                from,
                to,
                reason,
            })
        };
        match (from, to) {
            _ if from == to => Ok(()),
            (Phase::Draft, Phase::Published) => Ok(()),
            (Phase::Draft | Phase::Published, Phase::Invalid) if self.any_paid() => {
                deny("an installment is paid")
            }
            (Phase::Draft | Phase::Published, Phase::Invalid) => Ok(()),
            (Phase::Published, Phase::Reported) if self.is_settled() => Ok(()),
            (_, Phase::Reported) => deny("no option is paid in full"),
            (Phase::Invalid | Phase::Reported, _) => deny("the phase is final"),
            _ => deny("not a step of the position's life"),
        }
    }
}

/// Where positions are kept. Every method is one transaction; `apply_paid` and `set_phase`
/// hold the position while they read and write it, so concurrent calls (several tasks or
/// processes on one database) are serialised per position.
#[async_trait]
pub trait PositionStore: Send + Sync {
    /// Stores a new position (already validated).
    ///
    /// # Errors
    /// [`PositionError::Invalid`] when the creditor already has a position with this IUPD, or
    /// one of its notices belongs to another position; [`PositionError::Backend`].
    async fn insert(&self, stored: &StoredPosition) -> Result<(), PositionError>;

    /// The position holding this notice.
    ///
    /// # Errors
    /// [`PositionError::Backend`] / [`PositionError::Corrupt`].
    async fn by_notice(
        &self,
        creditor: &OrganizationFiscalCode,
        notice: &NoticeNumber,
    ) -> Result<Option<StoredPosition>, PositionError>;

    /// The position with this IUPD.
    ///
    /// # Errors
    /// [`PositionError::Backend`] / [`PositionError::Corrupt`].
    async fn by_iupd(
        &self,
        creditor: &OrganizationFiscalCode,
        iupd: &str,
    ) -> Result<Option<StoredPosition>, PositionError>;

    /// Pays the installment with this notice ([`StoredPosition::pay`]) atomically.
    ///
    /// # Errors
    /// [`PositionError::Backend`] / [`PositionError::Corrupt`]; nothing is changed then.
    async fn apply_paid(
        &self,
        creditor: &OrganizationFiscalCode,
        notice: &NoticeNumber,
    ) -> Result<ReceiptEffect, PositionError>;

    /// Changes the phase ([`StoredPosition::check_phase`]) atomically.
    ///
    /// # Errors
    /// [`PositionError::UnknownPosition`], [`PositionError::Transition`],
    /// [`PositionError::Backend`].
    async fn set_phase(
        &self,
        creditor: &OrganizationFiscalCode,
        iupd: &str,
        phase: Phase,
    ) -> Result<(), PositionError>;
}

/// A shared store, or one chosen at run time (`Arc<dyn PositionStore>`: SQLite or
/// PostgreSQL by configuration).
#[async_trait]
impl<T: PositionStore + ?Sized> PositionStore for Arc<T> {
    async fn insert(&self, stored: &StoredPosition) -> Result<(), PositionError> {
        (**self).insert(stored).await
    }

    async fn by_notice(
        &self,
        creditor: &OrganizationFiscalCode,
        notice: &NoticeNumber,
    ) -> Result<Option<StoredPosition>, PositionError> {
        (**self).by_notice(creditor, notice).await
    }

    async fn by_iupd(
        &self,
        creditor: &OrganizationFiscalCode,
        iupd: &str,
    ) -> Result<Option<StoredPosition>, PositionError> {
        (**self).by_iupd(creditor, iupd).await
    }

    async fn apply_paid(
        &self,
        creditor: &OrganizationFiscalCode,
        notice: &NoticeNumber,
    ) -> Result<ReceiptEffect, PositionError> {
        (**self).apply_paid(creditor, notice).await
    }

    async fn set_phase(
        &self,
        creditor: &OrganizationFiscalCode,
        iupd: &str,
        phase: Phase,
    ) -> Result<(), PositionError> {
        (**self).set_phase(creditor, iupd, phase).await
    }
}

/// The book's positions in memory (lost on restart, seen by one process only).
#[derive(Debug, Default)]
pub struct MemoryPositions {
    entries: Mutex<Vec<StoredPosition>>,
}

impl MemoryPositions {
    /// An empty store.
    #[must_use]
    pub fn new() -> MemoryPositions {
        MemoryPositions::default()
    }

    fn lock(&self) -> MutexGuard<'_, Vec<StoredPosition>> {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The error for a notice or IUPD the creditor already has.
pub(crate) fn duplicate_iupd(iupd: &str) -> PositionError {
    PositionError::Invalid(ValidationError {
        path: "iupd".into(),
        problem: format!("position {iupd} already exists"),
    })
}

pub(crate) fn duplicate_notice(notice: &str, owner: &str) -> PositionError {
    PositionError::Invalid(ValidationError {
        path: "paymentOption".into(),
        problem: format!("notice {notice} already belongs to position {owner}"),
    })
}

/// The notices of a position with their (option, installment).
pub(crate) fn notices(p: &Position) -> Vec<(NoticeNumber, usize, usize)> {
    let mut out = Vec::new();
    for (i, o) in p.options.iter().enumerate() {
        for (j, inst) in o.installments.iter().enumerate() {
            if let Some(n) = inst.notice_number() {
                out.push((n, i, j));
            }
        }
    }
    out
}

#[async_trait]
impl PositionStore for MemoryPositions {
    async fn insert(&self, stored: &StoredPosition) -> Result<(), PositionError> {
        let mut entries = self.lock();
        let p = &stored.position;
        for e in entries.iter().filter(|e| e.position.creditor == p.creditor) {
            if e.position.iupd == p.iupd {
                return Err(duplicate_iupd(&p.iupd));
            }
            for (n, _, _) in notices(p) {
                if e.find(&n).is_some() {
                    return Err(duplicate_notice(n.as_str(), &e.position.iupd));
                }
            }
        }
        entries.push(stored.clone());
        Ok(())
    }

    async fn by_notice(
        &self,
        creditor: &OrganizationFiscalCode,
        notice: &NoticeNumber,
    ) -> Result<Option<StoredPosition>, PositionError> {
        Ok(self
            .lock()
            .iter()
            .find(|e| &e.position.creditor == creditor && e.find(notice).is_some())
            .cloned())
    }

    async fn by_iupd(
        &self,
        creditor: &OrganizationFiscalCode,
        iupd: &str,
    ) -> Result<Option<StoredPosition>, PositionError> {
        Ok(self
            .lock()
            .iter()
            .find(|e| &e.position.creditor == creditor && e.position.iupd == iupd)
            .cloned())
    }

    async fn apply_paid(
        &self,
        creditor: &OrganizationFiscalCode,
        notice: &NoticeNumber,
    ) -> Result<ReceiptEffect, PositionError> {
        let mut entries = self.lock();
        let Some((e, (i, j))) = entries.iter_mut().find_map(|e| {
            if &e.position.creditor != creditor {
                return None;
            }
            let at = e.find(notice)?;
            Some((e, at))
        }) else {
            return Ok(ReceiptEffect::Unknown);
        };
        Ok(e.pay(i, j).0)
    }

    async fn set_phase(
        &self,
        creditor: &OrganizationFiscalCode,
        iupd: &str,
        phase: Phase,
    ) -> Result<(), PositionError> {
        let mut entries = self.lock();
        let e = entries
            .iter_mut()
            .find(|e| &e.position.creditor == creditor && e.position.iupd == iupd)
            .ok_or_else(|| PositionError::UnknownPosition { iupd: iupd.into() })?;
        e.check_phase(phase)?;
        e.phase = phase;
        Ok(())
    }
}

/// One stored installment row: its place in the position and its state's name.
#[cfg_attr(not(any(feature = "sqlite", feature = "postgres")), allow(dead_code))]
pub(crate) struct InstallmentRow {
    pub(crate) option: i64,
    pub(crate) installment: i64,
    pub(crate) state: String,
}

/// Rebuilds a stored position from its row and its installments' rows.
#[cfg_attr(not(any(feature = "sqlite", feature = "postgres")), allow(dead_code))]
pub(crate) fn decode(
    phase: &str,
    body: &str,
    rows: &[InstallmentRow],
) -> Result<StoredPosition, PositionError> {
    let corrupt = |what: String| PositionError::Corrupt(what);
    let position: Position =
        serde_json::from_str(body).map_err(|e| corrupt(format!("position body: {e}")))?;
    let phase = Phase::parse(phase).ok_or_else(|| corrupt(format!("phase {phase:?}")))?;
    let mut stored = StoredPosition::new(position, phase);
    for r in rows {
        let state = InstallmentState::parse(&r.state)
            .ok_or_else(|| corrupt(format!("installment state {:?}", r.state)))?;
        let cell = usize::try_from(r.option)
            .ok()
            .zip(usize::try_from(r.installment).ok())
            .and_then(|(i, j)| stored.state.get_mut(i).and_then(|o| o.get_mut(j)))
            .ok_or_else(|| corrupt(format!("installment ({}, {})", r.option, r.installment)))?;
        *cell = state;
    }
    Ok(stored)
}

/// The JSON body of a position row.
#[cfg_attr(not(any(feature = "sqlite", feature = "postgres")), allow(dead_code))]
pub(crate) fn encode(p: &Position) -> Result<String, PositionError> {
    serde_json::to_string(p).map_err(|e| PositionError::Corrupt(e.to_string()))
}
