//! SOAP 1.1 reading and writing of the paForNode messages.

use std::fmt::Write as _;

use chrono::{NaiveDate, NaiveDateTime};
use pa_types::{Amount, OrganizationFiscalCode};

use super::fault::{Fault, FaultCode};
use super::types::*;
use super::xml::{self, Element, leaf, opt_leaf, push_escaped};
use crate::NoticeNumber;

/// The SOAP 1.1 envelope namespace.
pub const SOAP_ENV_NS: &str = "http://schemas.xmlsoap.org/soap/envelope/";
/// The paForNode namespace.
pub const PA_FOR_NODE_NS: &str = "http://pagopa-api.pagopa.gov.it/pa/paForNode.xsd";

/// A paForNode operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operation {
    /// `paVerifyPaymentNotice`.
    VerifyPaymentNotice,
    /// `paGetPayment`.
    GetPayment,
    /// `paGetPaymentV2`.
    GetPaymentV2,
    /// `paSendRT`.
    SendRt,
    /// `paSendRTV2`.
    SendRtV2,
    /// `paDemandPaymentNotice`.
    DemandPaymentNotice,
}

impl Operation {
    /// All operations.
    pub const ALL: [Operation; 6] = [
        Operation::VerifyPaymentNotice,
        Operation::GetPayment,
        Operation::GetPaymentV2,
        Operation::SendRt,
        Operation::SendRtV2,
        Operation::DemandPaymentNotice,
    ];

    /// The `SOAPAction` (= operation name).
    #[must_use]
    pub fn soap_action(self) -> &'static str {
        match self {
            Operation::VerifyPaymentNotice => "paVerifyPaymentNotice",
            Operation::GetPayment => "paGetPayment",
            Operation::GetPaymentV2 => "paGetPaymentV2",
            Operation::SendRt => "paSendRT",
            Operation::SendRtV2 => "paSendRTV2",
            Operation::DemandPaymentNotice => "paDemandPaymentNotice",
        }
    }

    /// The request wrapper element.
    #[must_use]
    pub fn request_element(self) -> &'static str {
        match self {
            Operation::VerifyPaymentNotice => "paVerifyPaymentNoticeReq",
            Operation::GetPayment => "paGetPaymentReq",
            Operation::GetPaymentV2 => "paGetPaymentV2Request",
            Operation::SendRt => "paSendRTReq",
            Operation::SendRtV2 => "paSendRTV2Request",
            Operation::DemandPaymentNotice => "paDemandPaymentNoticeRequest",
        }
    }

    /// The response wrapper element.
    #[must_use]
    pub fn response_element(self) -> &'static str {
        match self {
            Operation::VerifyPaymentNotice => "paVerifyPaymentNoticeRes",
            Operation::GetPayment => "paGetPaymentRes",
            Operation::GetPaymentV2 => "paGetPaymentV2Response",
            Operation::SendRt => "paSendRTRes",
            Operation::SendRtV2 => "paSendRTV2Response",
            Operation::DemandPaymentNotice => "paDemandPaymentNoticeResponse",
        }
    }

    /// The operation of a `SOAPAction` header value (quotes allowed).
    #[must_use]
    pub fn from_soap_action(action: &str) -> Option<Operation> {
        let a = action.trim().trim_matches('"');
        let a = a.rsplit('/').next().unwrap_or(a);
        Operation::ALL.into_iter().find(|o| o.soap_action() == a)
    }

    /// The operation of a request wrapper element name.
    #[must_use]
    pub fn from_request_element(name: &str) -> Option<Operation> {
        Operation::ALL
            .into_iter()
            .find(|o| o.request_element() == name)
    }
}

/// A parsed paForNode request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NodeRequest {
    /// `paVerifyPaymentNotice`.
    VerifyPaymentNotice(VerifyPaymentNoticeRequest),
    /// `paGetPayment`.
    GetPayment(GetPaymentRequest),
    /// `paGetPaymentV2`.
    GetPaymentV2(GetPaymentRequest),
    /// `paSendRT`.
    SendRt(SendReceiptRequest),
    /// `paSendRTV2`.
    SendRtV2(SendReceiptRequest),
    /// `paDemandPaymentNotice`.
    DemandPaymentNotice(DemandPaymentNoticeRequest),
}

impl NodeRequest {
    /// The operation.
    #[must_use]
    pub fn operation(&self) -> Operation {
        match self {
            NodeRequest::VerifyPaymentNotice(_) => Operation::VerifyPaymentNotice,
            NodeRequest::GetPayment(_) => Operation::GetPayment,
            NodeRequest::GetPaymentV2(_) => Operation::GetPaymentV2,
            NodeRequest::SendRt(_) => Operation::SendRt,
            NodeRequest::SendRtV2(_) => Operation::SendRtV2,
            NodeRequest::DemandPaymentNotice(_) => Operation::DemandPaymentNotice,
        }
    }

    /// The caller identifiers.
    #[must_use]
    pub fn ids(&self) -> &RequestIds {
        match self {
            NodeRequest::VerifyPaymentNotice(r) => &r.ids,
            NodeRequest::GetPayment(r) | NodeRequest::GetPaymentV2(r) => &r.ids,
            NodeRequest::SendRt(r) | NodeRequest::SendRtV2(r) => &r.ids,
            NodeRequest::DemandPaymentNotice(r) => &r.ids,
        }
    }
}

/// Why a SOAP request could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RequestError {
    /// Not well-formed XML, DTD, limits.
    #[error("XML: {0}")]
    Xml(#[from] xml::XmlError),
    /// Not a SOAP 1.1 envelope with one body element.
    #[error("SOAP envelope: {0}")]
    Envelope(String),
    /// The body element is not a paForNode request.
    #[error("unknown request element {0:?}")]
    UnknownOperation(String),
    /// The body element disagrees with the `SOAPAction` header.
    #[error("SOAPAction {action:?} does not match body element {element:?}")]
    ActionMismatch {
        /// The header value.
        action: String,
        /// The body element.
        element: String,
    },
    /// The request does not follow the schema.
    #[error("{0}")]
    Message(#[from] MessageError),
}

// ------------------------------------------------------------------ reading

/// Walks the children of an element in schema order.
struct Seq<'a> {
    el: &'a Element,
    path: String,
    idx: usize,
}

impl<'a> Seq<'a> {
    fn new(el: &'a Element, path: String) -> Seq<'a> {
        Seq { el, path, idx: 0 }
    }

    fn child_path(&self, name: &str) -> String {
        format!("{}/{}", self.path, name)
    }

    fn peek_is(&self, name: &str) -> bool {
        self.el
            .children
            .get(self.idx)
            .is_some_and(|c| c.name == name)
    }

    fn opt(&mut self, name: &str) -> Result<Option<&'a Element>, MessageError> {
        let el = self.el;
        match el.children.get(self.idx) {
            Some(c) if c.name == name => {
                if c.ns.is_some() {
                    return Err(MessageError::new(
                        self.child_path(name),
                        "element must be unqualified (no namespace)",
                    ));
                }
                self.idx += 1;
                Ok(Some(c))
            }
            _ => Ok(None),
        }
    }

    fn req(&mut self, name: &str) -> Result<&'a Element, MessageError> {
        match self.opt(name)? {
            Some(c) => Ok(c),
            None => Err(MessageError::new(
                self.child_path(name),
                match self.el.children.get(self.idx) {
                    Some(c) => format!("missing; found {:?} instead", c.name),
                    None => "missing".to_owned(),
                },
            )),
        }
    }

    fn req_text(&mut self, name: &str, min: usize, max: usize) -> Result<String, MessageError> {
        let e = self.req(name)?;
        leaf_text(e, &self.child_path(name), min, max)
    }

    fn opt_text(
        &mut self,
        name: &str,
        min: usize,
        max: usize,
    ) -> Result<Option<String>, MessageError> {
        match self.opt(name)? {
            Some(e) => leaf_text(e, &self.child_path(name), min, max).map(Some),
            None => Ok(None),
        }
    }

    fn end(self) -> Result<(), MessageError> {
        match self.el.children.get(self.idx) {
            None => Ok(()),
            Some(c) => Err(MessageError::new(
                format!("{}/{}", self.path, c.name),
                "unexpected element",
            )),
        }
    }
}

fn leaf_text(e: &Element, path: &str, min: usize, max: usize) -> Result<String, MessageError> {
    if !e.children.is_empty() {
        return Err(MessageError::new(
            path,
            "expected text, found child elements",
        ));
    }
    check_text(path, &e.text, min, max)?;
    Ok(e.text.clone())
}

fn parse_amount(path: &str, s: &str, not_zero: bool) -> Result<Amount, MessageError> {
    let b = s.as_bytes();
    let shape = b.len() >= 4
        && b[b.len() - 3] == b'.'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == b.len() - 3 || c.is_ascii_digit());
    if !shape {
        return Err(MessageError::new(
            path,
            format!("expected an amount like 12.34, found {s:?}"),
        ));
    }
    let a = Amount::parse_decimal(s).map_err(|e| MessageError::new(path, e.to_string()))?;
    check_amount(path, a, not_zero)?;
    Ok(a)
}

fn parse_date(path: &str, s: &str) -> Result<NaiveDate, MessageError> {
    let bad = || MessageError::new(path, format!("expected a date YYYY-MM-DD, found {s:?}"));
    let (d, tz) = s.split_at_checked(10).ok_or_else(bad)?;
    if !valid_tz(tz) {
        return Err(bad());
    }
    NaiveDate::parse_from_str(d, "%Y-%m-%d").map_err(|_| bad())
}

fn valid_tz(tz: &str) -> bool {
    let b = tz.as_bytes();
    tz.is_empty()
        || tz == "Z"
        || (b.len() == 6
            && (b[0] == b'+' || b[0] == b'-')
            && b[3] == b':'
            && [1, 2, 4, 5].iter().all(|&i| b[i].is_ascii_digit()))
}

fn parse_date_time(path: &str, s: &str) -> Result<NaiveDateTime, MessageError> {
    let bad = || {
        MessageError::new(
            path,
            format!("expected a date-time YYYY-MM-DDThh:mm:ss, found {s:?}"),
        )
    };
    let end = s
        .char_indices()
        .skip(19)
        .find(|(_, c)| *c == 'Z' || *c == '+' || *c == '-')
        .map_or(s.len(), |(i, _)| i);
    if !valid_tz(&s[end..]) {
        return Err(bad());
    }
    NaiveDateTime::parse_from_str(&s[..end], "%Y-%m-%dT%H:%M:%S%.f").map_err(|_| bad())
}

fn parse_bool(path: &str, s: &str) -> Result<bool, MessageError> {
    match s {
        "true" | "1" => Ok(true),
        "false" | "0" => Ok(false),
        _ => Err(MessageError::new(
            path,
            format!("expected a boolean, found {s:?}"),
        )),
    }
}

fn parse_org(path: &str, s: &str) -> Result<OrganizationFiscalCode, MessageError> {
    s.parse()
        .map_err(|e: pa_types::ParseError| MessageError::new(path, e.to_string()))
}

fn parse_notice(path: &str, s: &str) -> Result<NoticeNumber, MessageError> {
    NoticeNumber::parse(s).map_err(|e| MessageError::new(path, e.to_string()))
}

fn read_ids(seq: &mut Seq<'_>) -> Result<RequestIds, MessageError> {
    Ok(RequestIds {
        id_pa: seq.req_text("idPA", 1, 35)?,
        id_broker_pa: seq.req_text("idBrokerPA", 1, 35)?,
        id_station: seq.req_text("idStation", 1, 35)?,
    })
}

fn read_qr(el: &Element, path: String) -> Result<QrCode, MessageError> {
    let mut s = Seq::new(el, path);
    let fc = s.req_text("fiscalCode", 11, 11)?;
    let fiscal_code = parse_org(&s.child_path("fiscalCode"), &fc)?;
    let nn = s.req_text("noticeNumber", 18, 18)?;
    let notice_number = parse_notice(&s.child_path("noticeNumber"), &nn)?;
    s.end()?;
    Ok(QrCode {
        fiscal_code,
        notice_number,
    })
}

fn read_verify(el: &Element, path: String) -> Result<VerifyPaymentNoticeRequest, MessageError> {
    let mut s = Seq::new(el, path);
    let ids = read_ids(&mut s)?;
    let qr = s.req("qrCode")?;
    let qr_code = read_qr(qr, s.child_path("qrCode"))?;
    s.end()?;
    Ok(VerifyPaymentNoticeRequest { ids, qr_code })
}

fn read_get_payment(el: &Element, path: String) -> Result<GetPaymentRequest, MessageError> {
    let mut s = Seq::new(el, path);
    let ids = read_ids(&mut s)?;
    let qr = s.req("qrCode")?;
    let qr_code = read_qr(qr, s.child_path("qrCode"))?;
    let amount = match s.opt_text("amount", 1, 20)? {
        Some(a) => Some(parse_amount(&s.child_path("amount"), &a, false)?),
        None => None,
    };
    let payment_note = s.opt_text("paymentNote", 1, 210)?;
    let transfer_type = match s.opt_text("transferType", 1, 10)?.as_deref() {
        None => None,
        Some("POSTAL") => Some(TransferType::Postal),
        Some("PAGOPA") => Some(TransferType::PagoPa),
        Some(o) => {
            return Err(MessageError::new(
                s.child_path("transferType"),
                format!("expected POSTAL or PAGOPA, found {o:?}"),
            ));
        }
    };
    let due_date = match s.opt_text("dueDate", 1, 40)? {
        Some(d) => Some(parse_date(&s.child_path("dueDate"), &d)?),
        None => None,
    };
    s.end()?;
    Ok(GetPaymentRequest {
        ids,
        qr_code,
        amount,
        payment_note,
        transfer_type,
        due_date,
    })
}

fn read_subject(el: &Element, path: String) -> Result<Subject, MessageError> {
    let mut s = Seq::new(el, path);
    let ui = s.req("uniqueIdentifier")?;
    let mut u = Seq::new(ui, s.child_path("uniqueIdentifier"));
    let entity_type = match u.req_text("entityUniqueIdentifierType", 1, 1)?.as_str() {
        "F" => EntityType::F,
        "G" => EntityType::G,
        o => {
            return Err(MessageError::new(
                u.child_path("entityUniqueIdentifierType"),
                format!("expected F or G, found {o:?}"),
            ));
        }
    };
    let unique_identifier = u.req_text("entityUniqueIdentifierValue", 2, 16)?;
    u.end()?;
    let full_name = s.req_text("fullName", 1, 70)?;
    let street_name = s.opt_text("streetName", 1, 70)?;
    let civic_number = s.opt_text("civicNumber", 1, 16)?;
    let postal_code = s.opt_text("postalCode", 1, 16)?;
    let city = s.opt_text("city", 1, 35)?;
    let state_province_region = s.opt_text("stateProvinceRegion", 1, 35)?;
    let country = s.opt_text("country", 2, 2)?;
    if let Some(c) = &country {
        check_country(&s.child_path("country"), c)?;
    }
    let email = s.opt_text("e-mail", 1, 256)?;
    if let Some(e) = &email {
        check_email(&s.child_path("e-mail"), e)?;
    }
    s.end()?;
    Ok(Subject {
        entity_type,
        unique_identifier,
        full_name,
        street_name,
        civic_number,
        postal_code,
        city,
        state_province_region,
        country,
        email,
    })
}

fn read_metadata(s: &mut Seq<'_>) -> Result<Vec<MapEntry>, MessageError> {
    let Some(m) = s.opt("metadata")? else {
        return Ok(Vec::new());
    };
    let path = s.child_path("metadata");
    let mut ms = Seq::new(m, path.clone());
    let mut out = Vec::new();
    while ms.peek_is("mapEntry") {
        let e = ms.req("mapEntry")?;
        let mut es = Seq::new(e, format!("{path}/mapEntry[{}]", out.len() + 1));
        let key = es.req_text("key", 1, 140)?;
        let value = es.req_text("value", 1, 140)?;
        es.end()?;
        out.push(MapEntry { key, value });
    }
    ms.end()?;
    if out.is_empty() || out.len() > 15 {
        return Err(MessageError::new(
            path,
            "expected 1 to 15 mapEntry elements",
        ));
    }
    Ok(out)
}

fn read_id_transfer(s: &mut Seq<'_>) -> Result<u8, MessageError> {
    let t = s.req_text("idTransfer", 1, 1)?;
    match t.as_bytes() {
        [d @ b'1'..=b'5'] => Ok(d - b'0'),
        _ => Err(MessageError::new(
            s.child_path("idTransfer"),
            format!("expected 1 to 5, found {t:?}"),
        )),
    }
}

fn read_receipt(
    el: &Element,
    path: String,
    version: ReceiptVersion,
) -> Result<Receipt, MessageError> {
    let v2 = version == ReceiptVersion::V2;
    let mut s = Seq::new(el, path);
    let receipt_id = s.req_text("receiptId", 1, 256)?;
    let nn = s.req_text("noticeNumber", 18, 18)?;
    let notice_number = parse_notice(&s.child_path("noticeNumber"), &nn)?;
    let fc = s.req_text("fiscalCode", 11, 11)?;
    let fiscal_code = parse_org(&s.child_path("fiscalCode"), &fc)?;
    let outcome = match s.req_text("outcome", 2, 2)?.as_str() {
        "OK" => Outcome::Ok,
        "KO" => Outcome::Ko,
        o => {
            return Err(MessageError::new(
                s.child_path("outcome"),
                format!("expected OK or KO, found {o:?}"),
            ));
        }
    };
    let creditor_reference_id = s.req_text("creditorReferenceId", 1, 35)?;
    let pa = s.req_text("paymentAmount", 1, 20)?;
    let payment_amount = parse_amount(&s.child_path("paymentAmount"), &pa, false)?;
    let description = s.req_text("description", 1, 140)?;
    let company_name = s.req_text("companyName", 1, 140)?;
    let office_name = s.opt_text("officeName", 1, 140)?;
    let d = s.req("debtor")?;
    let debtor = read_subject(d, s.child_path("debtor"))?;
    let tl = s.req("transferList")?;
    let tl_path = s.child_path("transferList");
    let mut ts = Seq::new(tl, tl_path.clone());
    let mut transfers = Vec::new();
    while ts.peek_is("transfer") {
        let t = ts.req("transfer")?;
        let tp = format!("{tl_path}/transfer[{}]", transfers.len() + 1);
        let mut t = Seq::new(t, tp);
        let id_transfer = read_id_transfer(&mut t)?;
        let a = t.req_text("transferAmount", 1, 20)?;
        let amount = parse_amount(&t.child_path("transferAmount"), &a, true)?;
        let f = t.req_text("fiscalCodePA", 11, 11)?;
        let fiscal_code_pa = parse_org(&t.child_path("fiscalCodePA"), &f)?;
        let company_name = if v2 {
            t.opt_text("companyName", 1, 140)?
        } else {
            None
        };
        let target = if let Some(i) = t.opt_text("IBAN", 1, 35)? {
            ReceiptTransferTarget::Iban(i)
        } else if v2 {
            ReceiptTransferTarget::MbdAttachment(t.req_text("MBDAttachment", 1, 1 << 20)?)
        } else {
            return Err(MessageError::new(t.child_path("IBAN"), "missing"));
        };
        let remittance_information = t.req_text("remittanceInformation", 1, 140)?;
        let transfer_category = t.req_text("transferCategory", 1, 140)?;
        let metadata = read_metadata(&mut t)?;
        t.end()?;
        transfers.push(ReceiptTransfer {
            id_transfer,
            amount,
            fiscal_code_pa,
            company_name,
            target,
            remittance_information,
            transfer_category,
            metadata,
        });
    }
    ts.end()?;
    if transfers.is_empty() || transfers.len() > 5 {
        return Err(MessageError::new(tl_path, "expected 1 to 5 transfers"));
    }
    let id_psp = s.req_text("idPSP", 1, 35)?;
    let psp_fiscal_code = s.opt_text("pspFiscalCode", 1, 70)?;
    let psp_partita_iva = s.opt_text("pspPartitaIVA", 1, 20)?;
    let psp_company_name = s.req_text("PSPCompanyName", 1, 70)?;
    let id_channel = s.req_text("idChannel", 1, 35)?;
    let channel_description = s.req_text("channelDescription", 1, 35)?;
    let payer = match s.opt("payer")? {
        Some(p) => Some(read_subject(p, s.child_path("payer"))?),
        None => None,
    };
    let payment_method = s.opt_text("paymentMethod", 1, 35)?;
    let payment_note = if v2 {
        s.opt_text("paymentNote", 1, 210)?
    } else {
        None
    };
    let fee = match s.opt_text("fee", 1, 20)? {
        Some(f) => Some(parse_amount(&s.child_path("fee"), &f, false)?),
        None => None,
    };
    let (primary_ci_incurred_fee, id_bundle, id_ci_bundle) = if v2 {
        let p = match s.opt_text("primaryCiIncurredFee", 1, 20)? {
            Some(f) => Some(parse_amount(
                &s.child_path("primaryCiIncurredFee"),
                &f,
                false,
            )?),
            None => None,
        };
        (
            p,
            s.opt_text("idBundle", 1, 70)?,
            s.opt_text("idCiBundle", 1, 70)?,
        )
    } else {
        (None, None, None)
    };
    let payment_date_time = match s.opt_text("paymentDateTime", 1, 64)? {
        Some(d) => {
            parse_date_time(&s.child_path("paymentDateTime"), &d)?;
            Some(d)
        }
        None => None,
    };
    let application_date = match s.opt_text("applicationDate", 1, 40)? {
        Some(d) => Some(parse_date(&s.child_path("applicationDate"), &d)?),
        None => None,
    };
    let transfer_date = match s.opt_text("transferDate", 1, 40)? {
        Some(d) => Some(parse_date(&s.child_path("transferDate"), &d)?),
        None => None,
    };
    let metadata = read_metadata(&mut s)?;
    let stand_in = match s.opt_text("standIn", 1, 5)? {
        Some(b) => Some(parse_bool(&s.child_path("standIn"), &b)?),
        None => None,
    };
    s.end()?;
    Ok(Receipt {
        version,
        receipt_id,
        notice_number,
        fiscal_code,
        outcome,
        creditor_reference_id,
        payment_amount,
        description,
        company_name,
        office_name,
        debtor,
        transfers,
        id_psp,
        psp_fiscal_code,
        psp_partita_iva,
        psp_company_name,
        id_channel,
        channel_description,
        payer,
        payment_method,
        payment_note,
        fee,
        primary_ci_incurred_fee,
        id_bundle,
        id_ci_bundle,
        payment_date_time,
        application_date,
        transfer_date,
        metadata,
        stand_in,
    })
}

fn read_send_rt(
    el: &Element,
    path: String,
    v: ReceiptVersion,
) -> Result<SendReceiptRequest, MessageError> {
    let mut s = Seq::new(el, path);
    let ids = read_ids(&mut s)?;
    let r = s.req("receipt")?;
    let receipt = read_receipt(r, s.child_path("receipt"), v)?;
    s.end()?;
    Ok(SendReceiptRequest { ids, receipt })
}

fn read_demand(el: &Element, path: String) -> Result<DemandPaymentNoticeRequest, MessageError> {
    let mut s = Seq::new(el, path);
    let ids = read_ids(&mut s)?;
    let id_servizio = s.req_text("idServizio", 5, 5)?;
    let id_soggetto_servizio = s.req_text("idSoggettoServizio", 5, 5)?;
    let d = s.req_text("datiSpecificiServizioRequest", 0, 1 << 20)?;
    if !d
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"+/=\r\n ".contains(&b))
    {
        return Err(MessageError::new(
            s.child_path("datiSpecificiServizioRequest"),
            "expected base64 text",
        ));
    }
    s.end()?;
    Ok(DemandPaymentNoticeRequest {
        ids,
        id_servizio,
        id_soggetto_servizio,
        dati_specifici_servizio_base64: d,
    })
}

/// Finds the single paForNode element inside a SOAP 1.1 envelope.
pub(crate) fn soap_body_child(root: &Element) -> Result<&Element, RequestError> {
    if root.name != "Envelope" || root.ns.as_deref() != Some(SOAP_ENV_NS) {
        return Err(RequestError::Envelope(format!(
            "root must be a SOAP 1.1 Envelope, found {:?}",
            root.name
        )));
    }
    let mut it = root.children.iter();
    let mut body = it.next();
    if body.is_some_and(|h| h.name == "Header" && h.ns.as_deref() == Some(SOAP_ENV_NS)) {
        body = it.next();
    }
    let body = body
        .filter(|b| b.name == "Body" && b.ns.as_deref() == Some(SOAP_ENV_NS))
        .ok_or_else(|| RequestError::Envelope("missing soapenv:Body".into()))?;
    if it.next().is_some() {
        return Err(RequestError::Envelope("content after soapenv:Body".into()));
    }
    match body.children.as_slice() {
        [one] => Ok(one),
        [] => Err(RequestError::Envelope("empty soapenv:Body".into())),
        _ => Err(RequestError::Envelope(
            "more than one element in soapenv:Body".into(),
        )),
    }
}

/// The operation named by the body of a SOAP request, if it can be told (used to answer a
/// request that fails later checks with the right response element).
#[must_use]
pub fn sniff_operation(body: &[u8]) -> Option<Operation> {
    let root = xml::parse(body).ok()?;
    let el = soap_body_child(&root).ok()?;
    Operation::from_request_element(&el.name)
}

/// Parses a SOAP 1.1 request. When `soap_action` is given it must agree with the body.
///
/// # Errors
/// [`RequestError`] saying what is wrong and where.
pub fn parse_request(soap_action: Option<&str>, body: &[u8]) -> Result<NodeRequest, RequestError> {
    let root = xml::parse(body)?;
    let el = soap_body_child(&root)?;
    let op = Operation::from_request_element(&el.name)
        .ok_or_else(|| RequestError::UnknownOperation(el.name.clone()))?;
    if el.ns.as_deref() != Some(PA_FOR_NODE_NS) {
        return Err(RequestError::Envelope(format!(
            "{} must be in namespace {PA_FOR_NODE_NS}",
            el.name
        )));
    }
    if let Some(a) = soap_action.filter(|a| !a.trim().trim_matches('"').is_empty())
        && Operation::from_soap_action(a) != Some(op)
    {
        return Err(RequestError::ActionMismatch {
            action: a.chars().take(64).collect(),
            element: el.name.clone(),
        });
    }
    let path = el.name.clone();
    Ok(match op {
        Operation::VerifyPaymentNotice => NodeRequest::VerifyPaymentNotice(read_verify(el, path)?),
        Operation::GetPayment => NodeRequest::GetPayment(read_get_payment(el, path)?),
        Operation::GetPaymentV2 => NodeRequest::GetPaymentV2(read_get_payment(el, path)?),
        Operation::SendRt => NodeRequest::SendRt(read_send_rt(el, path, ReceiptVersion::V1)?),
        Operation::SendRtV2 => NodeRequest::SendRtV2(read_send_rt(el, path, ReceiptVersion::V2)?),
        Operation::DemandPaymentNotice => NodeRequest::DemandPaymentNotice(read_demand(el, path)?),
    })
}

// ------------------------------------------------------------------ writing

fn envelope(op_element: &str, inner: &str) -> String {
    let mut out = String::with_capacity(inner.len() + 300);
    out.push_str(r#"<?xml version="1.0" encoding="UTF-8"?>"#);
    let _ = write!(
        out,
        r#"<soapenv:Envelope xmlns:soapenv="{SOAP_ENV_NS}"><soapenv:Body><pafn:{op_element} xmlns:pafn="{PA_FOR_NODE_NS}">"#
    );
    out.push_str(inner);
    let _ = write!(
        out,
        "</pafn:{op_element}></soapenv:Body></soapenv:Envelope>"
    );
    out
}

fn write_fault(out: &mut String, f: &Fault) {
    out.push_str("<fault>");
    leaf(out, "faultCode", f.code.as_str());
    leaf(out, "faultString", &f.string);
    leaf(out, "id", &f.id);
    opt_leaf(out, "description", f.description.as_deref());
    out.push_str("</fault>");
}

fn date(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

fn write_notice_description(out: &mut String, n: &NoticeDescription) {
    let po = &n.payment_option;
    out.push_str("<paymentList><paymentOptionDescription>");
    leaf(out, "amount", &po.amount.to_decimal_string());
    leaf(out, "options", po.options.as_str());
    opt_leaf(out, "dueDate", po.due_date.map(date).as_deref());
    opt_leaf(out, "detailDescription", po.detail_description.as_deref());
    leaf(out, "allCCP", if po.all_ccp { "true" } else { "false" });
    out.push_str("</paymentOptionDescription></paymentList>");
    leaf(out, "paymentDescription", &n.payment_description);
    leaf(out, "fiscalCodePA", n.fiscal_code_pa.as_str());
    leaf(out, "companyName", &n.company_name);
    opt_leaf(out, "officeName", n.office_name.as_deref());
}

fn write_subject(out: &mut String, name: &str, s: &Subject) {
    let _ = write!(out, "<{name}><uniqueIdentifier>");
    leaf(
        out,
        "entityUniqueIdentifierType",
        match s.entity_type {
            EntityType::F => "F",
            EntityType::G => "G",
        },
    );
    leaf(out, "entityUniqueIdentifierValue", &s.unique_identifier);
    out.push_str("</uniqueIdentifier>");
    leaf(out, "fullName", &s.full_name);
    opt_leaf(out, "streetName", s.street_name.as_deref());
    opt_leaf(out, "civicNumber", s.civic_number.as_deref());
    opt_leaf(out, "postalCode", s.postal_code.as_deref());
    opt_leaf(out, "city", s.city.as_deref());
    opt_leaf(
        out,
        "stateProvinceRegion",
        s.state_province_region.as_deref(),
    );
    opt_leaf(out, "country", s.country.as_deref());
    opt_leaf(out, "e-mail", s.email.as_deref());
    let _ = write!(out, "</{name}>");
}

fn write_metadata(out: &mut String, m: &[MapEntry]) {
    if m.is_empty() {
        return;
    }
    out.push_str("<metadata>");
    for e in m {
        out.push_str("<mapEntry>");
        leaf(out, "key", &e.key);
        leaf(out, "value", &e.value);
        out.push_str("</mapEntry>");
    }
    out.push_str("</metadata>");
}

fn write_payment_data(out: &mut String, d: &PaymentData, v2: bool) {
    out.push_str("<data>");
    leaf(out, "creditorReferenceId", &d.creditor_reference_id);
    leaf(out, "paymentAmount", &d.payment_amount.to_decimal_string());
    leaf(out, "dueDate", &date(d.due_date));
    opt_leaf(
        out,
        "retentionDate",
        d.retention_date
            .map(|r| r.format("%Y-%m-%dT%H:%M:%S").to_string())
            .as_deref(),
    );
    opt_leaf(
        out,
        "lastPayment",
        d.last_payment.map(|b| if b { "true" } else { "false" }),
    );
    leaf(out, "description", &d.description);
    opt_leaf(out, "companyName", d.company_name.as_deref());
    opt_leaf(out, "officeName", d.office_name.as_deref());
    write_subject(out, "debtor", &d.debtor);
    out.push_str("<transferList>");
    for t in &d.transfers {
        out.push_str("<transfer>");
        leaf(out, "idTransfer", &t.id_transfer.to_string());
        leaf(out, "transferAmount", &t.amount.to_decimal_string());
        leaf(out, "fiscalCodePA", t.fiscal_code_pa.as_str());
        if v2 {
            opt_leaf(out, "companyName", t.company_name.as_deref());
        }
        match &t.target {
            TransferTarget::Iban(i) => leaf(out, "IBAN", i.as_str()),
            TransferTarget::Stamp(s) => {
                out.push_str("<richiestaMarcaDaBollo>");
                leaf(out, "hashDocumento", &s.hash_documento);
                leaf(out, "tipoBollo", &s.tipo_bollo);
                leaf(out, "provinciaResidenza", &s.provincia_residenza);
                out.push_str("</richiestaMarcaDaBollo>");
            }
        }
        leaf(out, "remittanceInformation", &t.remittance_information);
        leaf(out, "transferCategory", &t.transfer_category);
        write_metadata(out, &t.metadata);
        out.push_str("</transfer>");
    }
    out.push_str("</transferList>");
    write_metadata(out, &d.metadata);
    out.push_str("</data>");
}

/// The content of a response: OK with the operation's data, or KO with a fault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NodeResponse {
    /// `paVerifyPaymentNoticeRes` OK.
    Verify(NoticeDescription),
    /// `paGetPaymentRes` / `paGetPaymentV2Response` OK.
    Payment(Box<PaymentData>),
    /// `paSendRTRes` / `paSendRTV2Response` OK.
    ReceiptAccepted,
    /// `paDemandPaymentNoticeResponse` OK.
    Demand(DemandedNotice),
    /// KO.
    Fault(Fault),
}

/// Writes the SOAP response for `op`. The content must have been checked
/// ([`PaymentData::check`], [`NoticeDescription::check`]); the service does this.
#[must_use]
pub fn write_response(op: Operation, response: &NodeResponse) -> String {
    let mut inner = String::with_capacity(1024);
    match response {
        NodeResponse::Fault(f) => {
            leaf(&mut inner, "outcome", "KO");
            write_fault(&mut inner, f);
        }
        NodeResponse::Verify(n) => {
            leaf(&mut inner, "outcome", "OK");
            write_notice_description(&mut inner, n);
        }
        NodeResponse::Payment(d) => {
            leaf(&mut inner, "outcome", "OK");
            write_payment_data(&mut inner, d, op == Operation::GetPaymentV2);
        }
        NodeResponse::ReceiptAccepted => leaf(&mut inner, "outcome", "OK"),
        NodeResponse::Demand(d) => {
            leaf(&mut inner, "outcome", "OK");
            inner.push_str("<qrCode>");
            leaf(&mut inner, "fiscalCode", d.qr_code.fiscal_code.as_str());
            leaf(&mut inner, "noticeNumber", d.qr_code.notice_number.as_str());
            inner.push_str("</qrCode>");
            write_notice_description(&mut inner, &d.notice);
        }
    }
    envelope(op.response_element(), &inner)
}

/// A SOAP 1.1 `Fault` envelope, for requests whose operation cannot be told at all.
#[must_use]
pub fn write_soap_fault(fault_string: &str) -> String {
    let mut out = String::new();
    let _ = write!(
        out,
        r#"<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="{SOAP_ENV_NS}"><soapenv:Body><soapenv:Fault><faultcode>soapenv:Client</faultcode><faultstring>"#
    );
    push_escaped(&mut out, fault_string);
    out.push_str("</faultstring></soapenv:Fault></soapenv:Body></soapenv:Envelope>");
    out
}

// ------------------------------------------------------- requests (node side)

fn write_ids(out: &mut String, ids: &RequestIds) {
    leaf(out, "idPA", &ids.id_pa);
    leaf(out, "idBrokerPA", &ids.id_broker_pa);
    leaf(out, "idStation", &ids.id_station);
}

fn write_qr(out: &mut String, q: &QrCode) {
    out.push_str("<qrCode>");
    leaf(out, "fiscalCode", q.fiscal_code.as_str());
    leaf(out, "noticeNumber", q.notice_number.as_str());
    out.push_str("</qrCode>");
}

fn write_receipt(out: &mut String, r: &Receipt) {
    let v2 = r.version == ReceiptVersion::V2;
    out.push_str("<receipt>");
    leaf(out, "receiptId", &r.receipt_id);
    leaf(out, "noticeNumber", r.notice_number.as_str());
    leaf(out, "fiscalCode", r.fiscal_code.as_str());
    leaf(out, "outcome", r.outcome.as_str());
    leaf(out, "creditorReferenceId", &r.creditor_reference_id);
    leaf(out, "paymentAmount", &r.payment_amount.to_decimal_string());
    leaf(out, "description", &r.description);
    leaf(out, "companyName", &r.company_name);
    opt_leaf(out, "officeName", r.office_name.as_deref());
    write_subject(out, "debtor", &r.debtor);
    out.push_str("<transferList>");
    for t in &r.transfers {
        out.push_str("<transfer>");
        leaf(out, "idTransfer", &t.id_transfer.to_string());
        leaf(out, "transferAmount", &t.amount.to_decimal_string());
        leaf(out, "fiscalCodePA", t.fiscal_code_pa.as_str());
        if v2 {
            opt_leaf(out, "companyName", t.company_name.as_deref());
        }
        match &t.target {
            ReceiptTransferTarget::Iban(i) => leaf(out, "IBAN", i),
            ReceiptTransferTarget::MbdAttachment(m) => leaf(out, "MBDAttachment", m),
        }
        leaf(out, "remittanceInformation", &t.remittance_information);
        leaf(out, "transferCategory", &t.transfer_category);
        write_metadata(out, &t.metadata);
        out.push_str("</transfer>");
    }
    out.push_str("</transferList>");
    leaf(out, "idPSP", &r.id_psp);
    opt_leaf(out, "pspFiscalCode", r.psp_fiscal_code.as_deref());
    opt_leaf(out, "pspPartitaIVA", r.psp_partita_iva.as_deref());
    leaf(out, "PSPCompanyName", &r.psp_company_name);
    leaf(out, "idChannel", &r.id_channel);
    leaf(out, "channelDescription", &r.channel_description);
    if let Some(p) = &r.payer {
        write_subject(out, "payer", p);
    }
    opt_leaf(out, "paymentMethod", r.payment_method.as_deref());
    if v2 {
        opt_leaf(out, "paymentNote", r.payment_note.as_deref());
    }
    opt_leaf(out, "fee", r.fee.map(Amount::to_decimal_string).as_deref());
    if v2 {
        opt_leaf(
            out,
            "primaryCiIncurredFee",
            r.primary_ci_incurred_fee
                .map(Amount::to_decimal_string)
                .as_deref(),
        );
        opt_leaf(out, "idBundle", r.id_bundle.as_deref());
        opt_leaf(out, "idCiBundle", r.id_ci_bundle.as_deref());
    }
    opt_leaf(out, "paymentDateTime", r.payment_date_time.as_deref());
    opt_leaf(
        out,
        "applicationDate",
        r.application_date.map(date).as_deref(),
    );
    opt_leaf(out, "transferDate", r.transfer_date.map(date).as_deref());
    write_metadata(out, &r.metadata);
    opt_leaf(
        out,
        "standIn",
        r.stand_in.map(|b| if b { "true" } else { "false" }),
    );
    out.push_str("</receipt>");
}

/// Writes a SOAP request as the node sends it (used by the simulator and in tests).
#[must_use]
pub fn write_request(request: &NodeRequest) -> String {
    let mut inner = String::with_capacity(1024);
    match request {
        NodeRequest::VerifyPaymentNotice(r) => {
            write_ids(&mut inner, &r.ids);
            write_qr(&mut inner, &r.qr_code);
        }
        NodeRequest::GetPayment(r) | NodeRequest::GetPaymentV2(r) => {
            write_ids(&mut inner, &r.ids);
            write_qr(&mut inner, &r.qr_code);
            opt_leaf(
                &mut inner,
                "amount",
                r.amount.map(Amount::to_decimal_string).as_deref(),
            );
            opt_leaf(&mut inner, "paymentNote", r.payment_note.as_deref());
            opt_leaf(
                &mut inner,
                "transferType",
                r.transfer_type.map(TransferType::as_str),
            );
            opt_leaf(&mut inner, "dueDate", r.due_date.map(date).as_deref());
        }
        NodeRequest::SendRt(r) | NodeRequest::SendRtV2(r) => {
            write_ids(&mut inner, &r.ids);
            write_receipt(&mut inner, &r.receipt);
        }
        NodeRequest::DemandPaymentNotice(r) => {
            write_ids(&mut inner, &r.ids);
            leaf(&mut inner, "idServizio", &r.id_servizio);
            leaf(&mut inner, "idSoggettoServizio", &r.id_soggetto_servizio);
            leaf(
                &mut inner,
                "datiSpecificiServizioRequest",
                &r.dati_specifici_servizio_base64,
            );
        }
    }
    envelope(request.operation().request_element(), &inner)
}

// ------------------------------------------------------ responses (node side)

fn read_fault(el: &Element, path: String) -> Result<Fault, MessageError> {
    let mut s = Seq::new(el, path);
    let code = FaultCode::parse(&s.req_text("faultCode", 0, 256)?);
    let string = s.req_text("faultString", 0, 4096)?;
    let id = s.req_text("id", 0, 256)?;
    let description = s.opt_text("description", 0, 1 << 16)?;
    Ok(Fault {
        code,
        string,
        id,
        description,
    })
}

fn read_notice_description(s: &mut Seq<'_>) -> Result<NoticeDescription, MessageError> {
    let pl = s.req("paymentList")?;
    let mut pls = Seq::new(pl, s.child_path("paymentList"));
    let pod = pls.req("paymentOptionDescription")?;
    let mut p = Seq::new(pod, pls.child_path("paymentOptionDescription"));
    let a = p.req_text("amount", 1, 20)?;
    let amount = parse_amount(&p.child_path("amount"), &a, true)?;
    let options = match p.req_text("options", 1, 3)?.as_str() {
        "EQ" => AmountOption::Eq,
        "LS" => AmountOption::Ls,
        "GT" => AmountOption::Gt,
        "ANY" => AmountOption::Any,
        o => {
            return Err(MessageError::new(
                p.child_path("options"),
                format!("unknown option {o:?}"),
            ));
        }
    };
    let due_date = match p.opt_text("dueDate", 1, 40)? {
        Some(d) => Some(parse_date(&p.child_path("dueDate"), &d)?),
        None => None,
    };
    let detail_description = p.opt_text("detailDescription", 1, 140)?;
    let all_ccp = parse_bool(&p.child_path("allCCP"), &p.req_text("allCCP", 1, 5)?)?;
    p.end()?;
    pls.end()?;
    let payment_description = s.req_text("paymentDescription", 1, 140)?;
    let f = s.req_text("fiscalCodePA", 11, 11)?;
    let fiscal_code_pa = parse_org(&s.child_path("fiscalCodePA"), &f)?;
    let company_name = s.req_text("companyName", 1, 140)?;
    let office_name = s.opt_text("officeName", 1, 140)?;
    Ok(NoticeDescription {
        payment_option: PaymentOptionDescription {
            amount,
            options,
            due_date,
            detail_description,
            all_ccp,
        },
        payment_description,
        fiscal_code_pa,
        company_name,
        office_name,
    })
}

fn read_payment_data(el: &Element, path: String, v2: bool) -> Result<PaymentData, MessageError> {
    let mut s = Seq::new(el, path);
    let creditor_reference_id = s.req_text("creditorReferenceId", 1, 35)?;
    let a = s.req_text("paymentAmount", 1, 20)?;
    let payment_amount = parse_amount(&s.child_path("paymentAmount"), &a, true)?;
    let d = s.req_text("dueDate", 1, 40)?;
    let due_date = parse_date(&s.child_path("dueDate"), &d)?;
    let retention_date = match s.opt_text("retentionDate", 1, 64)? {
        Some(r) => Some(parse_date_time(&s.child_path("retentionDate"), &r)?),
        None => None,
    };
    let last_payment = match s.opt_text("lastPayment", 1, 5)? {
        Some(b) => Some(parse_bool(&s.child_path("lastPayment"), &b)?),
        None => None,
    };
    let description = s.req_text("description", 1, 140)?;
    let company_name = s.opt_text("companyName", 1, 140)?;
    let office_name = s.opt_text("officeName", 1, 140)?;
    let db = s.req("debtor")?;
    let debtor = read_subject(db, s.child_path("debtor"))?;
    let tl = s.req("transferList")?;
    let tl_path = s.child_path("transferList");
    let mut ts = Seq::new(tl, tl_path.clone());
    let mut transfers = Vec::new();
    while ts.peek_is("transfer") {
        let t = ts.req("transfer")?;
        let mut t = Seq::new(t, format!("{tl_path}/transfer[{}]", transfers.len() + 1));
        let id_transfer = read_id_transfer(&mut t)?;
        let a = t.req_text("transferAmount", 1, 20)?;
        let amount = parse_amount(&t.child_path("transferAmount"), &a, true)?;
        let f = t.req_text("fiscalCodePA", 11, 11)?;
        let fiscal_code_pa = parse_org(&t.child_path("fiscalCodePA"), &f)?;
        let company_name = if v2 {
            t.opt_text("companyName", 1, 140)?
        } else {
            None
        };
        let target = if let Some(i) = t.opt_text("IBAN", 1, 35)? {
            TransferTarget::Iban(i.parse().map_err(|e: pa_types::ParseError| {
                MessageError::new(t.child_path("IBAN"), e.to_string())
            })?)
        } else if v2 {
            let m = t.req("richiestaMarcaDaBollo")?;
            let mut ms = Seq::new(m, t.child_path("richiestaMarcaDaBollo"));
            let st = StampRequest {
                hash_documento: ms.req_text("hashDocumento", 4, 72)?,
                tipo_bollo: ms.req_text("tipoBollo", 2, 2)?,
                provincia_residenza: ms.req_text("provinciaResidenza", 2, 2)?,
            };
            ms.end()?;
            TransferTarget::Stamp(st)
        } else {
            return Err(MessageError::new(t.child_path("IBAN"), "missing"));
        };
        let remittance_information = t.req_text("remittanceInformation", 1, 140)?;
        let transfer_category = t.req_text("transferCategory", 1, 140)?;
        let metadata = read_metadata(&mut t)?;
        t.end()?;
        transfers.push(Transfer {
            id_transfer,
            amount,
            fiscal_code_pa,
            company_name,
            target,
            remittance_information,
            transfer_category,
            metadata,
        });
    }
    ts.end()?;
    let metadata = read_metadata(&mut s)?;
    s.end()?;
    let data = PaymentData {
        creditor_reference_id,
        payment_amount,
        due_date,
        retention_date,
        last_payment,
        description,
        company_name,
        office_name,
        debtor,
        transfers,
        metadata,
    };
    data.check(&el.name, v2)?;
    Ok(data)
}

/// Parses a SOAP response to `op` as the node reads it (used by the simulator).
///
/// # Errors
/// [`RequestError`] if the response is not well-formed or does not follow the schema.
pub fn parse_response(op: Operation, body: &[u8]) -> Result<NodeResponse, RequestError> {
    let root = xml::parse(body)?;
    let el = soap_body_child(&root)?;
    if el.name != op.response_element() || el.ns.as_deref() != Some(PA_FOR_NODE_NS) {
        return Err(RequestError::UnknownOperation(el.name.clone()));
    }
    let mut s = Seq::new(el, el.name.clone());
    let outcome = s.req_text("outcome", 2, 2)?;
    let fault = match s.opt("fault")? {
        Some(f) => Some(read_fault(f, s.child_path("fault"))?),
        None => None,
    };
    if outcome == "KO" {
        let f =
            fault.ok_or_else(|| MessageError::new(s.child_path("fault"), "KO without fault"))?;
        return Ok(NodeResponse::Fault(f));
    }
    if outcome != "OK" {
        return Err(MessageError::new(s.child_path("outcome"), "expected OK or KO").into());
    }
    let r = match op {
        Operation::VerifyPaymentNotice => NodeResponse::Verify(read_notice_description(&mut s)?),
        Operation::GetPayment | Operation::GetPaymentV2 => {
            let d = s.req("data")?;
            NodeResponse::Payment(Box::new(read_payment_data(
                d,
                s.child_path("data"),
                op == Operation::GetPaymentV2,
            )?))
        }
        Operation::SendRt | Operation::SendRtV2 => NodeResponse::ReceiptAccepted,
        Operation::DemandPaymentNotice => {
            let q = s.req("qrCode")?;
            let qr_code = read_qr(q, s.child_path("qrCode"))?;
            let notice = read_notice_description(&mut s)?;
            NodeResponse::Demand(DemandedNotice { qr_code, notice })
        }
    };
    s.end()?;
    Ok(r)
}
