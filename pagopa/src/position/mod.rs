//! Debt positions with several payment options — a single payment (*rata unica*) and
//! installment plans (*piani rateali*) — as one model that serves both GPD v3
//! ([`crate::gpd::GpdV3Client`]) and the creditor's own paForNode endpoint
//! ([`PositionBook`], a [`crate::node::PaForNodeHost`]).
//!
//! A [`Position`] has 1..=100 [`PaymentOption`]s; an option with one [`Installment`] is the
//! single payment, an option with several is an installment plan. Every installment has its own
//! notice number (IUV), due date, amount and 1..=5 transfers to a bank account, a postal account
//! or a digital stamp. [`Position::validate`] checks GPD's rules before anything is sent.
//!
//! Paying rule, from the pagoPA SANP guide, *Opzioni di pagamento → Casi d'uso*: "La scelta da
//! parte del cittadino di una tra le due OdP disponibili (opzione totale oppure piano rateale),
//! disabilita l'altra OdP che risulta non più pagabile", and with several plans "La scelta di una
//! OdP (di uno specifico piano rateale) da parte del cittadino, disabilita le OdP relative agli
//! altri piani e/o l'eventuale opzione unica". So the first paid installment chooses its option:
//! every other option closes (paying the single option closes the rates; paying a rate closes the
//! single option and the other plans), and each rate of the chosen plan is then verified and
//! paid on its own.
//!
//! Storage: a [`PositionBook`] keeps its positions in a [`PositionStore`] — [`MemoryPositions`]
//! (one process), [`SqlitePositions`] (a file, several processes) or [`PgPositions`] (several
//! instances on one PostgreSQL, migration 2 of [`crate::PG_MIGRATIONS`]); a receipt is applied
//! in one transaction holding its position, so the rule above holds when instances race.
//! Status: [`StoredPosition::status`] names GPD v3's states (`DRAFT`, `PUBLISHED`, `VALID`,
//! `INVALID`, `EXPIRED`, `PARTIALLY_PAID`, `PAID`, `REPORTED`), from the stored [`Phase`], the
//! installments and the dates; the node's answers for each are listed on [`PositionBook`].

mod host;
mod store;
#[cfg(feature = "postgres")]
mod store_pg;
#[cfg(feature = "sqlite")]
mod store_sqlite;

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use pa_types::{Amount, OrganizationFiscalCode};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::gpd::{Debtor, Destination, Metadata, Transfer, ValidationError};
use crate::{Iuv, NoticeNumber};

pub use host::{InstallmentState, PositionBook, ReceiptEffect};
pub use store::{MemoryPositions, Phase, PositionError, PositionStore, StoredPosition};
#[cfg(feature = "postgres")]
pub(crate) use store_pg::MIGRATION_SQL as PG_POSITIONS_SQL;
#[cfg(feature = "postgres")]
pub use store_pg::PgPositions;
#[cfg(feature = "sqlite")]
pub use store_sqlite::SqlitePositions;

/// Most options in a position and installments in an option (GPD v3 `maxItems`).
pub const MAX_OPTIONS: usize = 100;
/// Most transfers of an installment (paForNode `transferList`).
pub const MAX_TRANSFERS: usize = 5;
/// ABI code of Poste Italiane: a postal account's IBAN carries it.
pub const POSTE_ABI: &str = "07601";

/// One installment (GPD v3 `InstallmentModel`): a notice of its own.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Installment {
    /// IUV.
    pub iuv: Iuv,
    /// Notice number; when absent GPD uses `3` + IUV.
    pub nav: Option<NoticeNumber>,
    /// Amount = the sum of the transfers.
    pub amount: Amount,
    /// Description (≤ 140), e.g. `Rata 1 di 3`.
    pub description: String,
    /// Due date.
    pub due_date: DateTime<Utc>,
    /// 1..=5 transfers.
    pub transfers: Vec<Transfer>,
    /// ≤ 10 pairs.
    pub metadata: Vec<Metadata>,
}

impl Installment {
    /// The notice number: `nav`, or `3` + IUV.
    #[must_use]
    pub fn notice_number(&self) -> Option<NoticeNumber> {
        self.nav
            .or_else(|| NoticeNumber::parse(&format!("3{}", self.iuv)).ok())
    }

    /// Whether every transfer can be credited to a postal account (`allCCP`).
    #[must_use]
    pub fn all_postal(&self) -> bool {
        self.transfers.iter().all(|t| match &t.destination {
            Destination::Iban { iban, postal_iban } => postal_iban.is_some() || is_postal(iban),
            Destination::Stamp(_) => false,
        })
    }
}

/// Whether `iban` is a Poste Italiane account (Italian, ABI 07601).
#[must_use]
pub fn is_postal(iban: &pa_types::Iban) -> bool {
    iban.italian().is_some_and(|b| b.abi() == POSTE_ABI)
}

/// Single payment or installment plan: an option of a position (GPD v3
/// `PaymentOptionModelV3`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentOption {
    /// Description of the option (≤ 140), e.g. `Rata unica` or `Tre rate`.
    pub description: Option<String>,
    /// The debtor.
    pub debtor: Debtor,
    /// From when it can be paid.
    pub validity_date: Option<DateTime<Utc>>,
    /// Until when GPD keeps it (≥ every due date).
    pub retention_date: Option<DateTime<Utc>>,
    /// Expires after the due date (then verify answers `PAA_PAGAMENTO_SCADUTO`).
    pub switch_to_expired: bool,
    /// One installment (single payment) or several (a plan), in paying order.
    pub installments: Vec<Installment>,
}

impl PaymentOption {
    /// Whether this is the single payment (one installment).
    #[must_use]
    pub fn is_single(&self) -> bool {
        self.installments.len() == 1
    }

    /// The sum of the installments (`None` on overflow).
    #[must_use]
    pub fn total(&self) -> Option<Amount> {
        Amount::checked_sum(self.installments.iter().map(|i| i.amount))
    }
}

/// A debt position with its payment options (GPD v3 `PaymentPositionModelV3`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Position {
    /// The creditor (`organizationfiscalcode` of the GPD paths, `fiscalCodePA` on the node).
    pub creditor: OrganizationFiscalCode,
    /// Unique position id for the creditor.
    pub iupd: String,
    /// Creditor name (≤ 140).
    pub company_name: String,
    /// Office (≤ 140).
    pub office_name: Option<String>,
    /// Payable in stand-in mode.
    pub pay_stand_in: bool,
    /// 1..=100 options: at most one single payment, any number of plans.
    pub options: Vec<PaymentOption>,
}

fn verr(path: impl Into<String>, problem: impl Into<String>) -> ValidationError {
    ValidationError {
        path: path.into(),
        problem: problem.into(),
    }
}

fn max_len(path: &str, s: &str, max: usize) -> Result<(), ValidationError> {
    let n = s.chars().count();
    if n > max {
        return Err(verr(path, format!("at most {max} characters, found {n}")));
    }
    Ok(())
}

fn non_empty_max(path: &str, s: &str, max: usize) -> Result<(), ValidationError> {
    if s.trim().is_empty() {
        return Err(verr(path, "must not be empty"));
    }
    max_len(path, s, max)
}

fn check_metadata(path: &str, m: &[Metadata]) -> Result<(), ValidationError> {
    if m.len() > 10 {
        return Err(verr(path, format!("at most 10 entries, found {}", m.len())));
    }
    for (i, e) in m.iter().enumerate() {
        non_empty_max(&format!("{path}[{i}].key"), &e.key, 140)?;
        max_len(&format!("{path}[{i}].value"), &e.value, 140)?;
    }
    Ok(())
}

fn check_upper2(path: &str, s: &str) -> Result<(), ValidationError> {
    if s.len() == 2 && s.bytes().all(|b| b.is_ascii_uppercase()) {
        Ok(())
    } else {
        Err(verr(
            path,
            format!("expected two uppercase letters, found {s:?}"),
        ))
    }
}

fn check_debtor(path: &str, d: &Debtor) -> Result<(), ValidationError> {
    let fc = &d.fiscal_code;
    if fc.len() < 2 || fc.len() > 16 || !fc.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(verr(
            format!("{path}.fiscalCode"),
            format!("not a fiscal code: {fc:?}"),
        ));
    }
    non_empty_max(&format!("{path}.fullName"), &d.full_name, 70)?;
    for (name, v, max) in [
        ("streetName", &d.street_name, 70),
        ("civicNumber", &d.civic_number, 16),
        ("postalCode", &d.postal_code, 16),
        ("city", &d.city, 35),
        ("province", &d.province, 35),
        ("region", &d.region, 35),
        ("phone", &d.phone, 19),
    ] {
        if let Some(v) = v {
            max_len(&format!("{path}.{name}"), v, max)?;
        }
    }
    if let Some(c) = &d.country {
        check_upper2(&format!("{path}.country"), c)?;
    }
    if let Some(e) = &d.email {
        let ok = e.len() <= 256
            && e.split_once('@')
                .is_some_and(|(l, dom)| !l.is_empty() && dom.contains('.') && !dom.contains('@'))
            && !e.chars().any(char::is_whitespace);
        if !ok {
            return Err(verr(
                format!("{path}.email"),
                format!("not an e-mail address: {e:?}"),
            ));
        }
    }
    Ok(())
}

fn check_transfer(
    path: &str,
    t: &Transfer,
    ids: &mut [bool; MAX_TRANSFERS + 1],
) -> Result<(), ValidationError> {
    if !(1..=5).contains(&t.id_transfer) {
        return Err(verr(
            format!("{path}.idTransfer"),
            format!("expected 1 to 5, found {}", t.id_transfer),
        ));
    }
    if std::mem::replace(&mut ids[usize::from(t.id_transfer)], true) {
        return Err(verr(
            format!("{path}.idTransfer"),
            format!("idTransfer {} used twice", t.id_transfer),
        ));
    }
    if t.amount.is_zero() {
        return Err(verr(format!("{path}.amount"), "must be at least 1 cent"));
    }
    non_empty_max(
        &format!("{path}.remittanceInformation"),
        &t.remittance_information,
        140,
    )?;
    if let Some(c) = &t.company_name {
        max_len(&format!("{path}.companyName"), c, 140)?;
    }
    match &t.destination {
        Destination::Iban { iban, postal_iban } => {
            if iban.as_str().len() > 35 {
                return Err(verr(format!("{path}.iban"), "at most 35 characters"));
            }
            if let Some(p) = postal_iban
                && !is_postal(p)
            {
                return Err(verr(
                    format!("{path}.postalIban"),
                    format!("{p} is not a postal account (Italian IBAN with ABI {POSTE_ABI})"),
                ));
            }
        }
        Destination::Stamp(s) => {
            // stBase64Binary72: the base64 digest of the document.
            let b64 = s.hash_document.len() >= 4
                && s.hash_document.len() <= 72
                && s.hash_document.len().is_multiple_of(4)
                && s.hash_document
                    .trim_end_matches('=')
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/')
                && s.hash_document
                    .bytes()
                    .rev()
                    .take_while(|&b| b == b'=')
                    .count()
                    <= 2;
            if !b64 {
                return Err(verr(
                    format!("{path}.stamp.hashDocument"),
                    "expected a base64 digest of 4 to 72 characters",
                ));
            }
            if s.stamp_type.chars().count() != 2 {
                return Err(verr(
                    format!("{path}.stamp.stampType"),
                    "expected 2 characters",
                ));
            }
            check_upper2(
                &format!("{path}.stamp.provincialResidence"),
                &s.provincial_residence,
            )?;
        }
    }
    check_metadata(&format!("{path}.transferMetadata"), &t.metadata)
}

impl Position {
    /// Checks GPD's rules against `now`: 1..=100 options, at most one of them the single
    /// payment; per option 1..=100 installments, a valid debtor, retention date ≥ every due
    /// date; per installment a due date ≥ max(now, validity date), an amount of at least one
    /// cent and at most 999 999 999.99, 1..=5 transfers with distinct ids 1..=5 summing to the
    /// amount, a postal IBAN only on a Poste account, stamps with a base64 digest, a province of
    /// two capitals and a 2-character type; no IUV or notice number twice in the position, the
    /// NAV carrying its IUV; lengths.
    ///
    /// # Errors
    /// The first rule broken, with its JSON path (`paymentOption[1].installments[0].amount`).
    pub fn validate(&self, now: DateTime<Utc>) -> Result<(), ValidationError> {
        let iupd_ok = !self.iupd.is_empty()
            && self.iupd.len() <= 140
            && self
                .iupd
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_*".contains(c) || c == ' ');
        if !iupd_ok {
            return Err(verr(
                "iupd",
                format!(
                    "expected letters, digits, '-', '_' (1..140), found {:?}",
                    self.iupd
                ),
            ));
        }
        non_empty_max("companyName", &self.company_name, 140)?;
        if let Some(o) = &self.office_name {
            max_len("officeName", o, 140)?;
        }
        let n = self.options.len();
        if n == 0 || n > MAX_OPTIONS {
            return Err(verr(
                "paymentOption",
                format!("expected 1 to {MAX_OPTIONS} payment options, found {n}"),
            ));
        }
        // At most one opzione totale (see the module documentation).
        let singles: Vec<usize> = (0..n).filter(|&i| self.options[i].is_single()).collect();
        if singles.len() > 1 {
            return Err(verr(
                format!("paymentOption[{}]", singles[1]),
                format!(
                    "a second single-payment option (options {singles:?} have one installment); \
                     a position has at most one"
                ),
            ));
        }
        let mut iuvs = BTreeSet::new();
        let mut navs = BTreeSet::new();
        for (i, po) in self.options.iter().enumerate() {
            let p = format!("paymentOption[{i}]");
            if let Some(d) = &po.description {
                max_len(&format!("{p}.description"), d, 140)?;
            }
            check_debtor(&format!("{p}.debtor"), &po.debtor)?;
            let k = po.installments.len();
            if k == 0 || k > MAX_OPTIONS {
                return Err(verr(
                    format!("{p}.installments"),
                    format!("expected 1 to {MAX_OPTIONS} installments, found {k}"),
                ));
            }
            if po.total().is_none() {
                return Err(verr(format!("{p}.installments"), "the amounts overflow"));
            }
            let earliest_due = po.validity_date.map_or(now, |v| v.max(now));
            for (j, inst) in po.installments.iter().enumerate() {
                let ip = format!("{p}.installments[{j}]");
                if !iuvs.insert(inst.iuv) {
                    return Err(verr(
                        format!("{ip}.iuv"),
                        format!("IUV {} used twice in the position", inst.iuv),
                    ));
                }
                let nav = inst
                    .notice_number()
                    .ok_or_else(|| verr(format!("{ip}.iuv"), "no notice number for this IUV"))?;
                if !navs.insert(nav) {
                    return Err(verr(
                        format!("{ip}.nav"),
                        format!("notice number {nav} used twice in the position"),
                    ));
                }
                if nav.iuv() != inst.iuv {
                    return Err(verr(
                        format!("{ip}.nav"),
                        format!("notice number {nav} does not carry IUV {}", inst.iuv),
                    ));
                }
                if inst.amount.is_zero() {
                    return Err(verr(format!("{ip}.amount"), "must be at least 1 cent"));
                }
                if inst.amount > crate::node::MAX_AMOUNT {
                    return Err(verr(
                        format!("{ip}.amount"),
                        format!("at most {}", crate::node::MAX_AMOUNT),
                    ));
                }
                non_empty_max(&format!("{ip}.description"), &inst.description, 140)?;
                if inst.due_date < earliest_due {
                    return Err(verr(
                        format!("{ip}.dueDate"),
                        format!("{} is before {earliest_due}", inst.due_date),
                    ));
                }
                if let Some(r) = po.retention_date
                    && r < inst.due_date
                {
                    return Err(verr(
                        format!("{p}.retentionDate"),
                        format!("{r} is before the due date {} of {ip}", inst.due_date),
                    ));
                }
                check_metadata(&format!("{ip}.installmentMetadata"), &inst.metadata)?;
                let t = inst.transfers.len();
                if t == 0 || t > MAX_TRANSFERS {
                    return Err(verr(
                        format!("{ip}.transfer"),
                        format!("expected 1 to {MAX_TRANSFERS} transfers, found {t}"),
                    ));
                }
                let mut ids = [false; MAX_TRANSFERS + 1];
                for (q, tr) in inst.transfers.iter().enumerate() {
                    check_transfer(&format!("{ip}.transfer[{q}]"), tr, &mut ids)?;
                }
                let sum = Amount::checked_sum(inst.transfers.iter().map(|t| t.amount));
                if sum != Some(inst.amount) {
                    return Err(verr(
                        format!("{ip}.transfer"),
                        format!(
                            "transfers sum to {}, the installment amount is {}",
                            sum.map_or_else(|| "overflow".into(), |s| s.to_string()),
                            inst.amount
                        ),
                    ));
                }
            }
        }
        Ok(())
    }

    /// Finds the installment with this notice number: (option index, installment index).
    #[must_use]
    pub fn find(&self, notice: &NoticeNumber) -> Option<(usize, usize)> {
        self.options.iter().enumerate().find_map(|(i, o)| {
            o.installments
                .iter()
                .position(|inst| inst.notice_number().as_ref() == Some(notice))
                .map(|j| (i, j))
        })
    }

    /// The JSON body GPD v3 expects (`PaymentPositionModelV3`).
    #[must_use]
    pub fn to_gpd_v3_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("iupd".into(), json!(self.iupd));
        m.insert("payStandIn".into(), json!(self.pay_stand_in));
        m.insert("companyName".into(), json!(self.company_name));
        if let Some(o) = &self.office_name {
            m.insert("officeName".into(), json!(o));
        }
        let options: Vec<Value> = self.options.iter().map(option_json).collect();
        m.insert("paymentOption".into(), Value::Array(options));
        Value::Object(m)
    }
}

fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn option_json(po: &PaymentOption) -> Value {
    let mut o = Map::new();
    if let Some(d) = &po.description {
        o.insert("description".into(), json!(d));
    }
    if let Some(v) = po.validity_date {
        o.insert("validityDate".into(), json!(ts(v)));
    }
    if let Some(r) = po.retention_date {
        o.insert("retentionDate".into(), json!(ts(r)));
    }
    o.insert("switchToExpired".into(), json!(po.switch_to_expired));
    o.insert(
        "debtor".into(),
        serde_json::to_value(&po.debtor).unwrap_or_default(),
    );
    let inst: Vec<Value> = po
        .installments
        .iter()
        .map(|i| {
            let mut m = Map::new();
            if let Some(n) = i.nav {
                m.insert("nav".into(), json!(n.as_str()));
            }
            m.insert("iuv".into(), json!(i.iuv.as_str()));
            m.insert("amount".into(), json!(i.amount.cents()));
            m.insert("description".into(), json!(i.description));
            m.insert("dueDate".into(), json!(ts(i.due_date)));
            let transfers: Vec<Value> = i.transfers.iter().map(transfer_json).collect();
            m.insert("transfer".into(), Value::Array(transfers));
            if !i.metadata.is_empty() {
                m.insert("installmentMetadata".into(), json!(i.metadata));
            }
            Value::Object(m)
        })
        .collect();
    o.insert("installments".into(), Value::Array(inst));
    Value::Object(o)
}

fn transfer_json(t: &Transfer) -> Value {
    let mut m = Map::new();
    m.insert("idTransfer".into(), json!(t.id_transfer.to_string()));
    m.insert("amount".into(), json!(t.amount.cents()));
    if let Some(o) = &t.organization_fiscal_code {
        m.insert("organizationFiscalCode".into(), json!(o.as_str()));
    }
    m.insert(
        "remittanceInformation".into(),
        json!(t.remittance_information),
    );
    m.insert("category".into(), json!(t.category.as_str()));
    match &t.destination {
        Destination::Iban { iban, postal_iban } => {
            m.insert("iban".into(), json!(iban.as_str()));
            if let Some(p) = postal_iban {
                m.insert("postalIban".into(), json!(p.as_str()));
            }
        }
        Destination::Stamp(s) => {
            m.insert("stamp".into(), serde_json::to_value(s).unwrap_or_default());
        }
    }
    if let Some(c) = &t.company_name {
        m.insert("companyName".into(), json!(c));
    }
    if !t.metadata.is_empty() {
        m.insert("transferMetadata".into(), json!(t.metadata));
    }
    Value::Object(m)
}
