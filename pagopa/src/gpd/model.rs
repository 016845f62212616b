//! Typed GPD debt positions that follow GPD's own rules before they are sent.

use std::collections::BTreeSet;
use std::fmt;

use chrono::{DateTime, Utc};
use pa_types::{Amount, Iban, OrganizationFiscalCode};
use serde::{Deserialize, Deserializer, Serialize};

use crate::{Iuv, NoticeNumber};

/// Why a debt position breaks one of GPD's rules. Says where (`paymentOption[0].transfer[1]`) and
/// what.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {problem}")]
pub struct ValidationError {
    /// Where, e.g. `paymentOption[0].transfer[1].amount`.
    pub path: String,
    /// What is wrong.
    pub problem: String,
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

/// A taxonomy code (`category` of a transfer): `<digit>/<code>/` optionally followed by more,
/// e.g. `9/0101100IM/`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct Taxonomy(String);

impl Taxonomy {
    /// Parses a taxonomy code.
    ///
    /// # Errors
    /// [`ValidationError`] if it does not look like `9/0101100IM/`.
    pub fn parse(s: &str) -> Result<Taxonomy, ValidationError> {
        let b = s.as_bytes();
        let code_end = b.iter().skip(2).position(|&c| c == b'/').map(|p| p + 2);
        let ok = b.len() >= 4
            && b[0].is_ascii_digit()
            && b[1] == b'/'
            && code_end.is_some_and(|e| {
                e > 2
                    && b[2..e]
                        .iter()
                        .all(|c| c.is_ascii_digit() || c.is_ascii_uppercase())
            })
            && b.len() <= 140
            && b.iter().all(|c| c.is_ascii_graphic());
        if ok {
            Ok(Taxonomy(s.to_owned()))
        } else {
            Err(verr(
                "category",
                format!("expected a taxonomy code like 9/0101100IM/, found {s:?}"),
            ))
        }
    }

    /// The code.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Taxonomy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Taxonomy {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Taxonomy::parse(&String::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

/// Natural (`F`) or legal (`G`) person.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum DebtorType {
    /// Natural person.
    F,
    /// Legal person.
    G,
}

/// The debtor of a position.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Debtor {
    /// `F` or `G`.
    #[serde(rename = "type")]
    pub kind: DebtorType,
    /// Fiscal code or VAT number.
    pub fiscal_code: String,
    /// Name.
    pub full_name: String,
    /// Street.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub street_name: Option<String>,
    /// Civic number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub civic_number: Option<String>,
    /// Postal code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub postal_code: Option<String>,
    /// City.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    /// Province.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub province: Option<String>,
    /// Region.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Country, two uppercase letters.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    /// E-mail.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Phone.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
}

impl Debtor {
    /// A debtor with only the mandatory fields.
    #[must_use]
    pub fn new(
        kind: DebtorType,
        fiscal_code: impl Into<String>,
        full_name: impl Into<String>,
    ) -> Debtor {
        Debtor {
            kind,
            fiscal_code: fiscal_code.into(),
            full_name: full_name.into(),
            street_name: None,
            civic_number: None,
            postal_code: None,
            city: None,
            province: None,
            region: None,
            country: None,
            email: None,
            phone: None,
        }
    }
}

/// A key/value pair (≤ 140 characters each; at most 10 per list).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Metadata {
    /// Key.
    pub key: String,
    /// Value.
    pub value: String,
}

/// A digital revenue stamp to be bought with the payment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Stamp {
    /// Base64 digest of the document (≤ 72).
    pub hash_document: String,
    /// Stamp type, 2 characters (`01`).
    pub stamp_type: String,
    /// Province of residence, 2 uppercase letters.
    pub provincial_residence: String,
}

/// Where a transfer's money goes: exactly one of an account or a stamp.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Destination {
    /// A bank account, optionally with a postal account alternative.
    Iban {
        /// The account.
        iban: Iban,
        /// Postal account used when the PSP is Poste.
        postal_iban: Option<Iban>,
    },
    /// A digital revenue stamp.
    Stamp(Stamp),
}

/// A transfer of a payment option.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transfer {
    /// `1`..`5`.
    pub id_transfer: u8,
    /// Amount (≥ 1 cent).
    pub amount: Amount,
    /// Beneficiary, when not the position's creditor.
    pub organization_fiscal_code: Option<OrganizationFiscalCode>,
    /// Causale (≤ 140).
    pub remittance_information: String,
    /// Taxonomy code.
    pub category: Taxonomy,
    /// Account or stamp.
    pub destination: Destination,
    /// Beneficiary name (≤ 140).
    pub company_name: Option<String>,
    /// ≤ 10 pairs.
    pub metadata: Vec<Metadata>,
}

/// A payment option (single payment or instalment).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentOption {
    /// IUV.
    pub iuv: Iuv,
    /// Notice number (GPD default: `3` + IUV).
    pub nav: Option<NoticeNumber>,
    /// Amount = sum of the transfers.
    pub amount: Amount,
    /// Description (≤ 140).
    pub description: String,
    /// Whether this is an instalment.
    pub is_partial_payment: bool,
    /// Due date.
    pub due_date: DateTime<Utc>,
    /// Retention date (≥ due date).
    pub retention_date: Option<DateTime<Utc>>,
    /// Fee.
    pub fee: Option<Amount>,
    /// 1..5 transfers.
    pub transfers: Vec<Transfer>,
    /// ≤ 10 pairs.
    pub metadata: Vec<Metadata>,
}

/// A debt position to create or update.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DebtPosition {
    /// Unique position id for the creditor.
    pub iupd: String,
    /// Debtor.
    pub debtor: Debtor,
    /// Creditor name (≤ 140).
    pub company_name: String,
    /// Office (≤ 140).
    pub office_name: Option<String>,
    /// From when the position can be paid.
    pub validity_date: Option<DateTime<Utc>>,
    /// Expire after the due date.
    pub switch_to_expired: bool,
    /// Payable in stand-in mode.
    pub pay_stand_in: bool,
    /// ≥ 1 option.
    pub payment_options: Vec<PaymentOption>,
}

fn check_metadata(path: &str, m: &[Metadata]) -> Result<(), ValidationError> {
    if m.len() > 10 {
        return Err(verr(path, format!("at most 10 entries, found {}", m.len())));
    }
    for (i, e) in m.iter().enumerate() {
        max_len(&format!("{path}[{i}].key"), &e.key, 140)?;
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

impl DebtPosition {
    /// Checks GPD's rules (`DebtPositionValidation`) against `now`: at least one option; per
    /// option 1..5 transfers with distinct ids summing to the option amount, amounts ≥ 1 cent,
    /// due date ≥ max(now, validity date), retention date ≥ due date, the NAV (if given) matching
    /// the IUV; no IUV or NAV twice; lengths and formats.
    ///
    /// # Errors
    /// The first rule broken.
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
        let fc = &self.debtor.fiscal_code;
        if fc.is_empty() || fc.len() > 16 || !fc.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(verr("fiscalCode", format!("not a fiscal code: {fc:?}")));
        }
        non_empty_max("fullName", &self.debtor.full_name, 140)?;
        if let Some(c) = &self.debtor.country {
            check_upper2("country", c)?;
        }
        if let Some(e) = &self.debtor.email
            && (!e.contains('@') || e.len() > 256)
        {
            return Err(verr("email", format!("not an e-mail address: {e:?}")));
        }
        non_empty_max("companyName", &self.company_name, 140)?;
        if let Some(o) = &self.office_name {
            max_len("officeName", o, 140)?;
        }
        if self.payment_options.is_empty() {
            return Err(verr(
                "paymentOption",
                "at least one payment option is required",
            ));
        }
        let earliest_due = self.validity_date.map_or(now, |v| v.max(now));
        let mut iuvs = BTreeSet::new();
        let mut navs = BTreeSet::new();
        for (i, po) in self.payment_options.iter().enumerate() {
            let p = format!("paymentOption[{i}]");
            if !iuvs.insert(po.iuv) {
                return Err(verr(
                    format!("{p}.iuv"),
                    format!("IUV {} used twice", po.iuv),
                ));
            }
            let nav = po
                .nav
                .map_or_else(|| format!("3{}", po.iuv), |n| n.as_str().to_owned());
            if !navs.insert(nav.clone()) {
                return Err(verr(format!("{p}.nav"), format!("NAV {nav} used twice")));
            }
            if let Some(n) = po.nav
                && n.iuv() != po.iuv
            {
                return Err(verr(
                    format!("{p}.nav"),
                    format!("NAV {n} does not carry IUV {}", po.iuv),
                ));
            }
            if po.amount.is_zero() {
                return Err(verr(format!("{p}.amount"), "must be at least 1 cent"));
            }
            max_len(&format!("{p}.description"), &po.description, 140)?;
            if po.due_date < earliest_due {
                return Err(verr(
                    format!("{p}.dueDate"),
                    format!("{} is before {}", po.due_date, earliest_due),
                ));
            }
            if let Some(r) = po.retention_date
                && r < po.due_date
            {
                return Err(verr(
                    format!("{p}.retentionDate"),
                    format!("{r} is before the due date {}", po.due_date),
                ));
            }
            check_metadata(&format!("{p}.paymentOptionMetadata"), &po.metadata)?;
            if po.transfers.is_empty() || po.transfers.len() > 5 {
                return Err(verr(
                    format!("{p}.transfer"),
                    format!("expected 1 to 5 transfers, found {}", po.transfers.len()),
                ));
            }
            let mut ids = [false; 6];
            for (j, t) in po.transfers.iter().enumerate() {
                let tp = format!("{p}.transfer[{j}]");
                if !(1..=5).contains(&t.id_transfer) {
                    return Err(verr(
                        format!("{tp}.idTransfer"),
                        format!("expected 1 to 5, found {}", t.id_transfer),
                    ));
                }
                if std::mem::replace(&mut ids[usize::from(t.id_transfer)], true) {
                    return Err(verr(
                        format!("{tp}.idTransfer"),
                        format!("idTransfer {} used twice", t.id_transfer),
                    ));
                }
                if t.amount.is_zero() {
                    return Err(verr(format!("{tp}.amount"), "must be at least 1 cent"));
                }
                max_len(
                    &format!("{tp}.remittanceInformation"),
                    &t.remittance_information,
                    140,
                )?;
                if let Some(c) = &t.company_name {
                    max_len(&format!("{tp}.companyName"), c, 140)?;
                }
                if let Destination::Stamp(s) = &t.destination {
                    if s.hash_document.is_empty() || s.hash_document.len() > 72 {
                        return Err(verr(
                            format!("{tp}.stamp.hashDocument"),
                            "expected 1 to 72 characters",
                        ));
                    }
                    if s.stamp_type.chars().count() != 2 {
                        return Err(verr(
                            format!("{tp}.stamp.stampType"),
                            "expected 2 characters",
                        ));
                    }
                    check_upper2(
                        &format!("{tp}.stamp.provincialResidence"),
                        &s.provincial_residence,
                    )?;
                }
                check_metadata(&format!("{tp}.transferMetadata"), &t.metadata)?;
            }
            let sum = Amount::checked_sum(po.transfers.iter().map(|t| t.amount));
            if sum != Some(po.amount) {
                return Err(verr(
                    format!("{p}.transfer"),
                    format!(
                        "transfers sum to {}, the option amount is {}",
                        sum.map_or_else(|| "overflow".into(), |s| s.to_string()),
                        po.amount
                    ),
                ));
            }
        }
        Ok(())
    }

    /// The JSON body GPD expects (`PaymentPositionModel`).
    #[must_use]
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::{Map, Value, json};
        let mut m = match serde_json::to_value(&self.debtor) {
            Ok(Value::Object(m)) => m,
            _ => Map::new(),
        };
        m.insert("iupd".into(), json!(self.iupd));
        m.insert("companyName".into(), json!(self.company_name));
        if let Some(o) = &self.office_name {
            m.insert("officeName".into(), json!(o));
        }
        if let Some(v) = self.validity_date {
            m.insert("validityDate".into(), json!(ts(v)));
        }
        m.insert("switchToExpired".into(), json!(self.switch_to_expired));
        m.insert("payStandIn".into(), json!(self.pay_stand_in));
        let options: Vec<Value> = self
            .payment_options
            .iter()
            .map(|po| {
                let mut o = Map::new();
                o.insert("iuv".into(), json!(po.iuv.as_str()));
                if let Some(n) = po.nav {
                    o.insert("nav".into(), json!(n.as_str()));
                }
                o.insert("amount".into(), json!(po.amount.cents()));
                o.insert("description".into(), json!(po.description));
                o.insert("isPartialPayment".into(), json!(po.is_partial_payment));
                o.insert("dueDate".into(), json!(ts(po.due_date)));
                if let Some(r) = po.retention_date {
                    o.insert("retentionDate".into(), json!(ts(r)));
                }
                if let Some(f) = po.fee {
                    o.insert("fee".into(), json!(f.cents()));
                }
                let transfers: Vec<Value> = po
                    .transfers
                    .iter()
                    .map(|t| {
                        let mut tm = Map::new();
                        tm.insert("idTransfer".into(), json!(t.id_transfer.to_string()));
                        tm.insert("amount".into(), json!(t.amount.cents()));
                        if let Some(o) = &t.organization_fiscal_code {
                            tm.insert("organizationFiscalCode".into(), json!(o.as_str()));
                        }
                        tm.insert(
                            "remittanceInformation".into(),
                            json!(t.remittance_information),
                        );
                        tm.insert("category".into(), json!(t.category.as_str()));
                        match &t.destination {
                            Destination::Iban { iban, postal_iban } => {
                                tm.insert("iban".into(), json!(iban.as_str()));
                                if let Some(p) = postal_iban {
                                    tm.insert("postalIban".into(), json!(p.as_str()));
                                }
                            }
                            Destination::Stamp(s) => {
                                tm.insert(
                                    "stamp".into(),
                                    serde_json::to_value(s).unwrap_or_default(),
                                );
                            }
                        }
                        if let Some(c) = &t.company_name {
                            tm.insert("companyName".into(), json!(c));
                        }
                        if !t.metadata.is_empty() {
                            tm.insert("transferMetadata".into(), json!(t.metadata));
                        }
                        Value::Object(tm)
                    })
                    .collect();
                o.insert("transfer".into(), Value::Array(transfers));
                if !po.metadata.is_empty() {
                    o.insert("paymentOptionMetadata".into(), json!(po.metadata));
                }
                Value::Object(o)
            })
            .collect();
        m.insert("paymentOption".into(), Value::Array(options));
        Value::Object(m)
    }
}

fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// Status of a debt position.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PositionStatus {
    /// Created, not yet published.
    Draft,
    /// Published, waiting for its validity date.
    Published,
    /// Payable.
    Valid,
    /// Cancelled (terminal).
    Invalid,
    /// Past its due date.
    Expired,
    /// Some instalments paid.
    PartiallyPaid,
    /// Paid.
    Paid,
    /// Paid and reported.
    Reported,
    /// A status this crate does not know.
    Other(String),
}

impl PositionStatus {
    /// The wire value.
    #[must_use]
    pub fn as_str(&self) -> &str {
        match self {
            PositionStatus::Draft => "DRAFT",
            PositionStatus::Published => "PUBLISHED",
            PositionStatus::Valid => "VALID",
            PositionStatus::Invalid => "INVALID",
            PositionStatus::Expired => "EXPIRED",
            PositionStatus::PartiallyPaid => "PARTIALLY_PAID",
            PositionStatus::Paid => "PAID",
            PositionStatus::Reported => "REPORTED",
            PositionStatus::Other(s) => s,
        }
    }

    fn parse(s: &str) -> PositionStatus {
        match s {
            "DRAFT" => PositionStatus::Draft,
            "PUBLISHED" => PositionStatus::Published,
            "VALID" => PositionStatus::Valid,
            "INVALID" => PositionStatus::Invalid,
            "EXPIRED" => PositionStatus::Expired,
            "PARTIALLY_PAID" => PositionStatus::PartiallyPaid,
            "PAID" => PositionStatus::Paid,
            "REPORTED" => PositionStatus::Reported,
            o => PositionStatus::Other(o.to_owned()),
        }
    }
}

impl<'de> Deserialize<'de> for PositionStatus {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(PositionStatus::parse(&String::deserialize(d)?))
    }
}

// Answers are decoded leniently: a value out of range or of the wrong type in an optional field
// becomes `None` (a negative or fractional amount, a number where text was expected) instead of
// failing the whole answer; fields this crate cannot do without (`iupd`, `iuv`) stay required.

fn cents<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Amount>, D::Error> {
    Ok(serde_json::Value::deserialize(d)?
        .as_u64()
        .map(Amount::from_cents))
}

pub(crate) fn lenient<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: serde::de::DeserializeOwned,
{
    Ok(serde_json::from_value(serde_json::Value::deserialize(d)?).ok())
}

/// A list whose elements that cannot be read are dropped (a `null` or a non-list is empty).
fn lenient_vec<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: serde::de::DeserializeOwned,
{
    Ok(match serde_json::Value::deserialize(d)? {
        serde_json::Value::Array(items) => items
            .into_iter()
            .filter_map(|v| serde_json::from_value(v).ok())
            .collect(),
        _ => Vec::new(),
    })
}

/// A count: a number beyond `u32` saturates, anything else is 0.
fn lenient_u32<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    Ok(serde_json::Value::deserialize(d)?
        .as_u64()
        .map_or(0, |n| u32::try_from(n).unwrap_or(u32::MAX)))
}

/// A transfer as GPD returns it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TransferInfo {
    /// Id.
    #[serde(default, deserialize_with = "lenient")]
    pub id_transfer: Option<String>,
    /// Amount.
    #[serde(default, deserialize_with = "cents")]
    pub amount: Option<Amount>,
    /// Beneficiary.
    #[serde(default, deserialize_with = "lenient")]
    pub organization_fiscal_code: Option<String>,
    /// Causale.
    #[serde(default, deserialize_with = "lenient")]
    pub remittance_information: Option<String>,
    /// Taxonomy.
    #[serde(default, deserialize_with = "lenient")]
    pub category: Option<String>,
    /// IBAN.
    #[serde(default, deserialize_with = "lenient")]
    pub iban: Option<String>,
    /// `T_UNREPORTED` / `T_REPORTED`.
    #[serde(default, deserialize_with = "lenient")]
    pub status: Option<String>,
}

/// A payment option as GPD returns it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentOptionInfo {
    /// IUV.
    pub iuv: String,
    /// NAV.
    #[serde(default, deserialize_with = "lenient")]
    pub nav: Option<String>,
    /// Amount.
    #[serde(default, deserialize_with = "cents")]
    pub amount: Option<Amount>,
    /// Description.
    #[serde(default, deserialize_with = "lenient")]
    pub description: Option<String>,
    /// Due date.
    #[serde(default, deserialize_with = "lenient")]
    pub due_date: Option<String>,
    /// Payment date.
    #[serde(default, deserialize_with = "lenient")]
    pub payment_date: Option<String>,
    /// `PO_UNPAID`, `PO_PAID`, ...
    #[serde(default, deserialize_with = "lenient")]
    pub status: Option<String>,
    /// Receipt id, once paid.
    #[serde(default, deserialize_with = "lenient")]
    pub id_receipt: Option<String>,
    /// Reporting flow, once reported.
    #[serde(default, deserialize_with = "lenient")]
    pub id_flow_reporting: Option<String>,
    /// Transfers (those that cannot be read are dropped).
    #[serde(default, deserialize_with = "lenient_vec")]
    pub transfer: Vec<TransferInfo>,
}

/// A debt position as GPD returns it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DebtPositionInfo {
    /// IUPD.
    pub iupd: String,
    /// Creditor.
    #[serde(default, deserialize_with = "lenient")]
    pub organization_fiscal_code: Option<String>,
    /// Creditor name.
    #[serde(default, deserialize_with = "lenient")]
    pub company_name: Option<String>,
    /// Status.
    #[serde(default, deserialize_with = "lenient")]
    pub status: Option<PositionStatus>,
    /// Payment date.
    #[serde(default, deserialize_with = "lenient")]
    pub payment_date: Option<String>,
    /// Options.
    #[serde(default)]
    pub payment_option: Vec<PaymentOptionInfo>,
}

/// `page_info` of a list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub struct PageInfo {
    /// Page number (0-based).
    #[serde(default, deserialize_with = "lenient_u32")]
    pub page: u32,
    /// Page size.
    #[serde(default, deserialize_with = "lenient_u32")]
    pub limit: u32,
    /// Items in this page.
    #[serde(default, deserialize_with = "lenient_u32")]
    pub items_found: u32,
    /// Total pages.
    #[serde(default, deserialize_with = "lenient_u32")]
    pub total_pages: u32,
}

/// A page of positions.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct PositionsPage {
    /// Positions.
    pub payment_position_list: Vec<DebtPositionInfo>,
    /// Paging.
    pub page_info: PageInfo,
}
