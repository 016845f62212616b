//! Typed paForNode messages (requests and responses) and their checks.

use chrono::{NaiveDate, NaiveDateTime};
use pa_types::{Amount, Iban, OrganizationFiscalCode};
use serde::{Deserialize, Serialize};

use crate::NoticeNumber;

/// Largest amount allowed by the schema (`999999999.99`).
pub const MAX_AMOUNT: Amount = Amount::from_cents(99_999_999_999);

/// Why a message is not acceptable: the element path and what is wrong there.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {problem}")]
pub struct MessageError {
    /// Path of the element, e.g. `paGetPaymentRes/data/transferList/transfer[2]/IBAN`.
    pub path: String,
    /// What is wrong.
    pub problem: String,
}

impl MessageError {
    pub(crate) fn new(path: impl Into<String>, problem: impl Into<String>) -> MessageError {
        MessageError {
            path: path.into(),
            problem: problem.into(),
        }
    }
}

/// The three identifiers that open every request: `idPA`, `idBrokerPA`, `idStation`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RequestIds {
    /// The creditor's fiscal code (`idPA`).
    pub id_pa: String,
    /// The technology partner (intermediario) fiscal code (`idBrokerPA`).
    pub id_broker_pa: String,
    /// The station (`idStation`).
    pub id_station: String,
}

/// A notice reference: creditor fiscal code and notice number (`ctQrCode`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct QrCode {
    /// The creditor's fiscal code.
    pub fiscal_code: OrganizationFiscalCode,
    /// The 18-digit notice number.
    pub notice_number: NoticeNumber,
}

/// `paVerifyPaymentNoticeReq`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifyPaymentNoticeRequest {
    /// Caller identifiers.
    pub ids: RequestIds,
    /// The notice asked about.
    pub qr_code: QrCode,
}

/// `stTransferType`: the kind of account the PSP can credit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum TransferType {
    /// `POSTAL`: the PSP is Poste, postal accounts preferred.
    Postal,
    /// `PAGOPA`.
    PagoPa,
}

impl TransferType {
    /// The wire value.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            TransferType::Postal => "POSTAL",
            TransferType::PagoPa => "PAGOPA",
        }
    }
}

/// `paGetPaymentReq` / `paGetPaymentV2Request` (same content).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GetPaymentRequest {
    /// Caller identifiers.
    pub ids: RequestIds,
    /// The notice being paid.
    pub qr_code: QrCode,
    /// The amount the PSP is about to collect.
    pub amount: Option<Amount>,
    /// A note from the payer (≤ 210 characters).
    pub payment_note: Option<String>,
    /// Which kind of account the PSP prefers.
    pub transfer_type: Option<TransferType>,
    /// The due date known to the PSP.
    pub due_date: Option<NaiveDate>,
}

/// `paSendRTReq` / `paSendRTV2Request`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SendReceiptRequest {
    /// Caller identifiers.
    pub ids: RequestIds,
    /// The receipt.
    pub receipt: Receipt,
}

/// `paDemandPaymentNoticeRequest` (spontaneous payments).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DemandPaymentNoticeRequest {
    /// Caller identifiers.
    pub ids: RequestIds,
    /// The service (5 characters).
    pub id_servizio: String,
    /// The service subject (5 characters).
    pub id_soggetto_servizio: String,
    /// `datiSpecificiServizioRequest`: base64 text as received (the service-specific XML).
    pub dati_specifici_servizio_base64: String,
}

/// `stAmountOption`: how the paid amount may differ from the notice amount.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum AmountOption {
    /// `EQ`: exactly the amount.
    Eq,
    /// `LS`: less than the amount.
    Ls,
    /// `GT`: greater than the amount.
    Gt,
    /// `ANY`.
    Any,
}

impl AmountOption {
    /// The wire value.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            AmountOption::Eq => "EQ",
            AmountOption::Ls => "LS",
            AmountOption::Gt => "GT",
            AmountOption::Any => "ANY",
        }
    }
}

/// `ctPaymentOptionDescriptionPA`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentOptionDescription {
    /// The amount (≥ 0.01).
    pub amount: Amount,
    /// Amount option.
    pub options: AmountOption,
    /// Due date.
    pub due_date: Option<NaiveDate>,
    /// Details (≤ 140).
    pub detail_description: Option<String>,
    /// Whether every transfer goes to a postal account (`allCCP`).
    pub all_ccp: bool,
}

/// What a creditor says about a notice (the OK content of `paVerifyPaymentNoticeRes`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoticeDescription {
    /// The single payment option.
    pub payment_option: PaymentOptionDescription,
    /// Description of the payment (≤ 140).
    pub payment_description: String,
    /// The creditor's fiscal code.
    pub fiscal_code_pa: OrganizationFiscalCode,
    /// The creditor's name (≤ 140).
    pub company_name: String,
    /// The office (≤ 140).
    pub office_name: Option<String>,
}

/// The OK content of `paDemandPaymentNoticeResponse`: a new notice and its description.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DemandedNotice {
    /// The notice created for the request.
    pub qr_code: QrCode,
    /// Its description.
    pub notice: NoticeDescription,
}

/// `stEntityUniqueIdentifierType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum EntityType {
    /// `F`: natural person.
    F,
    /// `G`: legal person.
    G,
}

/// `ctSubject`: debtor or payer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subject {
    /// Person kind.
    pub entity_type: EntityType,
    /// Fiscal code or other identifier (2..16 characters), or `ANONIMO`.
    pub unique_identifier: String,
    /// Full name (≤ 70).
    pub full_name: String,
    /// Street (≤ 70).
    pub street_name: Option<String>,
    /// Civic number (≤ 16).
    pub civic_number: Option<String>,
    /// Postal code (≤ 16).
    pub postal_code: Option<String>,
    /// City (≤ 35).
    pub city: Option<String>,
    /// Province/region (≤ 35).
    pub state_province_region: Option<String>,
    /// Country (2 uppercase letters).
    pub country: Option<String>,
    /// E-mail.
    pub email: Option<String>,
}

impl Subject {
    /// A subject with only the mandatory fields.
    #[must_use]
    pub fn new(
        entity_type: EntityType,
        unique_identifier: impl Into<String>,
        full_name: impl Into<String>,
    ) -> Subject {
        Subject {
            entity_type,
            unique_identifier: unique_identifier.into(),
            full_name: full_name.into(),
            street_name: None,
            civic_number: None,
            postal_code: None,
            city: None,
            state_province_region: None,
            country: None,
            email: None,
        }
    }
}

/// A metadata key/value pair (`ctMapEntry`, both ≤ 140).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MapEntry {
    /// Key.
    pub key: String,
    /// Value.
    pub value: String,
}

/// A digital revenue stamp request (`ctRichiestaMarcaDaBollo`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StampRequest {
    /// Base64 digest of the document (4..72 characters).
    pub hash_documento: String,
    /// Stamp type (`01`).
    pub tipo_bollo: String,
    /// Province of residence (2 uppercase letters).
    pub provincia_residenza: String,
}

/// Where a transfer of a payment goes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum TransferTarget {
    /// A bank or postal account.
    Iban(Iban),
    /// A digital revenue stamp (only in `paGetPaymentV2`).
    Stamp(StampRequest),
}

/// A transfer of a payment (`ctTransferPA` / `ctTransferPAV2`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transfer {
    /// 1..5, unique within the payment.
    pub id_transfer: u8,
    /// Amount (≥ 0.01).
    pub amount: Amount,
    /// Beneficiary creditor.
    pub fiscal_code_pa: OrganizationFiscalCode,
    /// Beneficiary name (V2 only; ignored in V1).
    pub company_name: Option<String>,
    /// Account or stamp.
    pub target: TransferTarget,
    /// Causale (≤ 140).
    pub remittance_information: String,
    /// Taxonomy code, e.g. `9/0101002IM/` (≤ 140).
    pub transfer_category: String,
    /// Up to 15 metadata pairs.
    pub metadata: Vec<MapEntry>,
}

/// What a creditor returns for a payment being activated (the `data` of `paGetPaymentRes`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentData {
    /// The IUV (≤ 35).
    pub creditor_reference_id: String,
    /// Total amount = sum of the transfers.
    pub payment_amount: Amount,
    /// Due date.
    pub due_date: NaiveDate,
    /// Until when the data may be kept.
    pub retention_date: Option<NaiveDateTime>,
    /// Whether this is the last instalment.
    pub last_payment: Option<bool>,
    /// Description (≤ 140).
    pub description: String,
    /// Creditor name (≤ 140; required in V2).
    pub company_name: Option<String>,
    /// Office (≤ 140).
    pub office_name: Option<String>,
    /// Debtor.
    pub debtor: Subject,
    /// 1..5 transfers.
    pub transfers: Vec<Transfer>,
    /// Up to 15 metadata pairs.
    pub metadata: Vec<MapEntry>,
}

/// `stOutcome`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Outcome {
    /// `OK`.
    Ok,
    /// `KO`.
    Ko,
}

impl Outcome {
    /// The wire value.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "OK",
            Outcome::Ko => "KO",
        }
    }
}

/// Which receipt message carried a [`Receipt`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ReceiptVersion {
    /// `paSendRT` (`ctReceipt`).
    V1,
    /// `paSendRTV2` (`ctReceiptV2`).
    V2,
}

/// Where a transfer of a receipt went.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ReceiptTransferTarget {
    /// Account, as received (1..35 characters; not re-validated, a receipt is never refused for it).
    Iban(String),
    /// The stamp (`MBDAttachment`, base64), V2 only.
    MbdAttachment(String),
}

/// A transfer of a receipt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceiptTransfer {
    /// 1..5.
    pub id_transfer: u8,
    /// Amount.
    pub amount: Amount,
    /// Beneficiary creditor.
    pub fiscal_code_pa: OrganizationFiscalCode,
    /// Beneficiary name (V2).
    pub company_name: Option<String>,
    /// Account or stamp.
    pub target: ReceiptTransferTarget,
    /// Causale.
    pub remittance_information: String,
    /// Taxonomy code.
    pub transfer_category: String,
    /// Metadata.
    pub metadata: Vec<MapEntry>,
}

/// A payment receipt (`ctReceipt` / `ctReceiptV2`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Receipt {
    /// Which message carried it.
    pub version: ReceiptVersion,
    /// Unique receipt id (the payment token).
    pub receipt_id: String,
    /// Notice paid.
    pub notice_number: NoticeNumber,
    /// Creditor.
    pub fiscal_code: OrganizationFiscalCode,
    /// Outcome.
    pub outcome: Outcome,
    /// IUV.
    pub creditor_reference_id: String,
    /// Amount paid.
    pub payment_amount: Amount,
    /// Description.
    pub description: String,
    /// Creditor name.
    pub company_name: String,
    /// Office.
    pub office_name: Option<String>,
    /// Debtor.
    pub debtor: Subject,
    /// Transfers.
    pub transfers: Vec<ReceiptTransfer>,
    /// PSP id.
    pub id_psp: String,
    /// PSP fiscal code.
    pub psp_fiscal_code: Option<String>,
    /// PSP VAT number.
    pub psp_partita_iva: Option<String>,
    /// PSP name.
    pub psp_company_name: String,
    /// Channel id.
    pub id_channel: String,
    /// Channel description.
    pub channel_description: String,
    /// Payer.
    pub payer: Option<Subject>,
    /// Payment method.
    pub payment_method: Option<String>,
    /// Payer's note (V2).
    pub payment_note: Option<String>,
    /// PSP fee.
    pub fee: Option<Amount>,
    /// Fee borne by the creditor (V2).
    pub primary_ci_incurred_fee: Option<Amount>,
    /// Bundle (V2).
    pub id_bundle: Option<String>,
    /// Creditor bundle (V2).
    pub id_ci_bundle: Option<String>,
    /// When the payment happened (`xsd:dateTime`, as received).
    pub payment_date_time: Option<String>,
    /// Application date.
    pub application_date: Option<NaiveDate>,
    /// Transfer date.
    pub transfer_date: Option<NaiveDate>,
    /// Metadata.
    pub metadata: Vec<MapEntry>,
    /// Whether the payment was collected in stand-in mode.
    pub stand_in: Option<bool>,
}

impl Receipt {
    /// Whether the receipt says the payment happened (`outcome` `OK`). A `KO` receipt is stored
    /// like any other (it is the node's record) but pays nothing: mark a position paid only
    /// when this is `true`.
    #[must_use]
    pub fn is_paid(&self) -> bool {
        self.outcome == Outcome::Ok
    }

    /// The day the payment happened, as the node wrote it: the date part (`YYYY-MM-DD`) of
    /// `paymentDateTime`, else `applicationDate`; `None` when the receipt carries neither.
    /// This is the date receipts are listed by (see
    /// [`ReceiptQuery`](super::ReceiptQuery)).
    #[must_use]
    pub fn payment_date(&self) -> Option<NaiveDate> {
        self.payment_date_time
            .as_deref()
            .and_then(|s| s.get(..10))
            .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
            .or(self.application_date)
    }
}

// ---------------------------------------------------------------- checks

pub(crate) fn check_text(path: &str, s: &str, min: usize, max: usize) -> Result<(), MessageError> {
    let n = s.chars().count();
    if n < min || n > max {
        return Err(MessageError::new(
            path,
            format!("expected {min} to {max} characters, found {n}"),
        ));
    }
    Ok(())
}

pub(crate) fn check_opt_text(
    path: &str,
    s: Option<&str>,
    min: usize,
    max: usize,
) -> Result<(), MessageError> {
    s.map_or(Ok(()), |s| check_text(path, s, min, max))
}

pub(crate) fn check_amount(path: &str, a: Amount, not_zero: bool) -> Result<(), MessageError> {
    if not_zero && a.is_zero() {
        return Err(MessageError::new(path, "amount must be at least 0.01"));
    }
    if a > MAX_AMOUNT {
        return Err(MessageError::new(
            path,
            format!("amount {a} exceeds 999999999.99"),
        ));
    }
    Ok(())
}

pub(crate) fn check_country(path: &str, s: &str) -> Result<(), MessageError> {
    if s.len() == 2 && s.bytes().all(|b| b.is_ascii_uppercase()) {
        Ok(())
    } else {
        Err(MessageError::new(
            path,
            format!("expected two uppercase letters, found {s:?}"),
        ))
    }
}

pub(crate) fn check_email(path: &str, s: &str) -> Result<(), MessageError> {
    let ok_local = |c: char| c.is_ascii_alphanumeric() || "_.+-".contains(c);
    let ok_domain = |c: char| c.is_ascii_alphanumeric() || c == '-';
    let valid = s.len() <= 256
        && s.split_once('@').is_some_and(|(l, d)| {
            !l.is_empty()
                && l.chars().all(ok_local)
                && d.split('.')
                    .all(|p| !p.is_empty() && p.chars().all(ok_domain))
        });
    if valid {
        Ok(())
    } else {
        Err(MessageError::new(
            path,
            format!("not an e-mail address: {s:?}"),
        ))
    }
}

fn check_metadata(path: &str, m: &[MapEntry]) -> Result<(), MessageError> {
    if m.len() > 15 {
        return Err(MessageError::new(
            path,
            format!("at most 15 metadata entries, found {}", m.len()),
        ));
    }
    for (i, e) in m.iter().enumerate() {
        check_text(&format!("{path}/mapEntry[{}]/key", i + 1), &e.key, 1, 140)?;
        check_text(
            &format!("{path}/mapEntry[{}]/value", i + 1),
            &e.value,
            1,
            140,
        )?;
    }
    Ok(())
}

impl Subject {
    /// Checks lengths and formats against the schema.
    ///
    /// # Errors
    /// [`MessageError`] naming the first offending field.
    pub fn check(&self, path: &str) -> Result<(), MessageError> {
        check_text(
            &format!("{path}/uniqueIdentifier/entityUniqueIdentifierValue"),
            &self.unique_identifier,
            2,
            16,
        )?;
        check_text(&format!("{path}/fullName"), &self.full_name, 1, 70)?;
        check_opt_text(
            &format!("{path}/streetName"),
            self.street_name.as_deref(),
            1,
            70,
        )?;
        check_opt_text(
            &format!("{path}/civicNumber"),
            self.civic_number.as_deref(),
            1,
            16,
        )?;
        check_opt_text(
            &format!("{path}/postalCode"),
            self.postal_code.as_deref(),
            1,
            16,
        )?;
        check_opt_text(&format!("{path}/city"), self.city.as_deref(), 1, 35)?;
        check_opt_text(
            &format!("{path}/stateProvinceRegion"),
            self.state_province_region.as_deref(),
            1,
            35,
        )?;
        if let Some(c) = &self.country {
            check_country(&format!("{path}/country"), c)?;
        }
        if let Some(e) = &self.email {
            check_email(&format!("{path}/e-mail"), e)?;
        }
        Ok(())
    }
}

impl NoticeDescription {
    /// Checks the description against the schema before it is sent.
    ///
    /// # Errors
    /// [`MessageError`] naming the first offending field.
    pub fn check(&self, path: &str) -> Result<(), MessageError> {
        let po = &self.payment_option;
        let p = format!("{path}/paymentList/paymentOptionDescription");
        check_amount(&format!("{p}/amount"), po.amount, true)?;
        check_opt_text(
            &format!("{p}/detailDescription"),
            po.detail_description.as_deref(),
            1,
            140,
        )?;
        check_text(
            &format!("{path}/paymentDescription"),
            &self.payment_description,
            1,
            140,
        )?;
        check_text(&format!("{path}/companyName"), &self.company_name, 1, 140)?;
        check_opt_text(
            &format!("{path}/officeName"),
            self.office_name.as_deref(),
            1,
            140,
        )
    }
}

fn check_stamp(path: &str, s: &StampRequest) -> Result<(), MessageError> {
    let h = &s.hash_documento;
    let b64 = h
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/' || b == b'=');
    if !(4..=72).contains(&h.len()) || !b64 || !h.len().is_multiple_of(4) {
        return Err(MessageError::new(
            format!("{path}/hashDocumento"),
            "expected base64 text of 4 to 72 characters",
        ));
    }
    if s.tipo_bollo != "01" {
        return Err(MessageError::new(
            format!("{path}/tipoBollo"),
            format!("expected \"01\", found {:?}", s.tipo_bollo),
        ));
    }
    check_country(
        &format!("{path}/provinciaResidenza"),
        &s.provincia_residenza,
    )
}

impl PaymentData {
    /// Checks the payment data against the schema and pagoPA's rules before it is sent:
    /// 1..5 transfers with distinct ids 1..5, amounts ≥ 0.01 summing to the payment amount,
    /// lengths, and, for V1, an IBAN on every transfer; for V2 a company name.
    ///
    /// # Errors
    /// [`MessageError`] naming the first offending field.
    pub fn check(&self, path: &str, v2: bool) -> Result<(), MessageError> {
        check_text(
            &format!("{path}/creditorReferenceId"),
            &self.creditor_reference_id,
            1,
            35,
        )?;
        check_amount(&format!("{path}/paymentAmount"), self.payment_amount, true)?;
        check_text(&format!("{path}/description"), &self.description, 1, 140)?;
        match (&self.company_name, v2) {
            (Some(c), _) => check_text(&format!("{path}/companyName"), c, 1, 140)?,
            (None, true) => {
                return Err(MessageError::new(
                    format!("{path}/companyName"),
                    "required in paGetPaymentV2",
                ));
            }
            (None, false) => {}
        }
        check_opt_text(
            &format!("{path}/officeName"),
            self.office_name.as_deref(),
            1,
            140,
        )?;
        self.debtor.check(&format!("{path}/debtor"))?;
        let tl = format!("{path}/transferList");
        if self.transfers.is_empty() || self.transfers.len() > 5 {
            return Err(MessageError::new(
                &tl,
                format!("expected 1 to 5 transfers, found {}", self.transfers.len()),
            ));
        }
        let mut seen = [false; 6];
        for (i, t) in self.transfers.iter().enumerate() {
            let tp = format!("{tl}/transfer[{}]", i + 1);
            if !(1..=5).contains(&t.id_transfer) {
                return Err(MessageError::new(
                    format!("{tp}/idTransfer"),
                    format!("expected 1 to 5, found {}", t.id_transfer),
                ));
            }
            if std::mem::replace(&mut seen[usize::from(t.id_transfer)], true) {
                return Err(MessageError::new(
                    format!("{tp}/idTransfer"),
                    format!("idTransfer {} used twice", t.id_transfer),
                ));
            }
            check_amount(&format!("{tp}/transferAmount"), t.amount, true)?;
            if v2 {
                check_opt_text(
                    &format!("{tp}/companyName"),
                    t.company_name.as_deref(),
                    1,
                    140,
                )?;
            }
            match (&t.target, v2) {
                (TransferTarget::Iban(_), _) => {}
                (TransferTarget::Stamp(s), true) => {
                    check_stamp(&format!("{tp}/richiestaMarcaDaBollo"), s)?;
                }
                (TransferTarget::Stamp(_), false) => {
                    return Err(MessageError::new(
                        format!("{tp}/IBAN"),
                        "paGetPayment (V1) transfers need an IBAN; stamps need paGetPaymentV2",
                    ));
                }
            }
            check_text(
                &format!("{tp}/remittanceInformation"),
                &t.remittance_information,
                1,
                140,
            )?;
            check_text(
                &format!("{tp}/transferCategory"),
                &t.transfer_category,
                1,
                140,
            )?;
            check_metadata(&format!("{tp}/metadata"), &t.metadata)?;
        }
        let sum = Amount::checked_sum(self.transfers.iter().map(|t| t.amount));
        if sum != Some(self.payment_amount) {
            return Err(MessageError::new(
                &tl,
                format!(
                    "transfers sum to {}, payment amount is {}",
                    sum.map_or_else(|| "overflow".to_owned(), |s| s.to_string()),
                    self.payment_amount
                ),
            ));
        }
        check_metadata(&format!("{path}/metadata"), &self.metadata)
    }
}

impl Receipt {
    /// Checks a receipt against the schema (used before sending one, e.g. by the simulator).
    ///
    /// # Errors
    /// [`MessageError`] naming the first offending field.
    pub fn check(&self, path: &str) -> Result<(), MessageError> {
        check_text(
            &format!("{path}/receiptId"),
            &self.receipt_id,
            1,
            usize::MAX,
        )?;
        check_text(
            &format!("{path}/creditorReferenceId"),
            &self.creditor_reference_id,
            1,
            35,
        )?;
        check_amount(&format!("{path}/paymentAmount"), self.payment_amount, false)?;
        check_text(&format!("{path}/description"), &self.description, 1, 140)?;
        check_text(&format!("{path}/companyName"), &self.company_name, 1, 140)?;
        check_opt_text(
            &format!("{path}/officeName"),
            self.office_name.as_deref(),
            1,
            140,
        )?;
        self.debtor.check(&format!("{path}/debtor"))?;
        let tl = format!("{path}/transferList");
        if self.transfers.is_empty() || self.transfers.len() > 5 {
            return Err(MessageError::new(
                &tl,
                format!("expected 1 to 5 transfers, found {}", self.transfers.len()),
            ));
        }
        for (i, t) in self.transfers.iter().enumerate() {
            let tp = format!("{tl}/transfer[{}]", i + 1);
            if !(1..=5).contains(&t.id_transfer) {
                return Err(MessageError::new(
                    format!("{tp}/idTransfer"),
                    "expected 1 to 5",
                ));
            }
            check_amount(&format!("{tp}/transferAmount"), t.amount, true)?;
            match &t.target {
                ReceiptTransferTarget::Iban(s) => check_text(&format!("{tp}/IBAN"), s, 1, 35)?,
                ReceiptTransferTarget::MbdAttachment(s) => {
                    if self.version == ReceiptVersion::V1 {
                        return Err(MessageError::new(
                            format!("{tp}/IBAN"),
                            "paSendRT (V1) transfers need an IBAN",
                        ));
                    }
                    check_text(&format!("{tp}/MBDAttachment"), s, 1, usize::MAX)?;
                }
            }
            check_text(
                &format!("{tp}/remittanceInformation"),
                &t.remittance_information,
                1,
                140,
            )?;
            check_text(
                &format!("{tp}/transferCategory"),
                &t.transfer_category,
                1,
                140,
            )?;
            check_metadata(&format!("{tp}/metadata"), &t.metadata)?;
        }
        check_text(&format!("{path}/idPSP"), &self.id_psp, 1, 35)?;
        check_text(
            &format!("{path}/PSPCompanyName"),
            &self.psp_company_name,
            1,
            70,
        )?;
        check_text(&format!("{path}/idChannel"), &self.id_channel, 1, 35)?;
        check_text(
            &format!("{path}/channelDescription"),
            &self.channel_description,
            1,
            35,
        )?;
        if let Some(p) = &self.payer {
            p.check(&format!("{path}/payer"))?;
        }
        if let Some(f) = self.fee {
            check_amount(&format!("{path}/fee"), f, false)?;
        }
        check_metadata(&format!("{path}/metadata"), &self.metadata)
    }
}
