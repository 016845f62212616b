//! pagoPA **Checkout** for creditors (EC API v2): start an online payment by posting a cart of
//! 1 to 5 notices, then send the citizen's browser to the `Location` Checkout answers.
//!
//! Checkout verifies and activates each notice on the node, which calls the creditor's paForNode
//! endpoint (`paVerifyPaymentNotice`, `paGetPaymentV2` with `paymentNote` = [`Cart::id_cart`],
//! `paSendRTV2`), and brings the browser back to one of the [`ReturnUrls`].
//!
//! A [`Cart`] is checked against the `CartRequestV2` schema (and the paForNode limits of the
//! fields that travel on) before anything is sent: [`Cart::validate`]. The client is
//! [`CheckoutClient`] (feature `client`).
//!
//! ```
//! use pa_types::Amount;
//! use pagopa::checkout::{Cart, CartNotice, ReturnUrls};
//!
//! let cart = Cart::new(
//!     vec![CartNotice {
//!         notice_number: "301000000000000144".parse()?,
//!         fiscal_code: "80016350821".parse()?,
//!         amount: Amount::from_cents(12050),
//!         company_name: "Comune di Prova".into(),
//!         description: "TARI 2026 rata unica".into(),
//!     }],
//!     ReturnUrls::new(
//!         "https://sportello.example.it/pagopa/ok",
//!         "https://sportello.example.it/pagopa/annullato",
//!         "https://sportello.example.it/pagopa/errore",
//!     ),
//! )
//! .with_id_cart("sportello-42")
//! .with_email_notice("mario.rossi@example.it");
//! cart.validate()?;
//! assert_eq!(cart.to_json()["paymentNotices"][0]["amount"], 12050);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#[cfg(feature = "client")]
mod client;

use std::collections::BTreeSet;
use std::fmt;

use pa_types::{Amount, OrganizationFiscalCode};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::NoticeNumber;

#[cfg(feature = "client")]
pub use client::{CHECKOUT_PRODUCTION_URL, CHECKOUT_UAT_URL, CheckoutClient, CheckoutError};

/// Most notices in one cart (`paymentNotices.maxItems`).
pub const MAX_CART_NOTICES: usize = 5;
/// Longest `companyName` and `description` of a notice.
pub const MAX_NOTICE_TEXT: usize = 140;
/// Longest `idCart`: it comes back as `paymentNote` of `paGetPaymentV2`, an `stText210`.
pub const MAX_ID_CART: usize = 210;
/// Longest return URL accepted (the schema sets none; browsers and proxies do).
pub const MAX_URL_LEN: usize = 2048;

/// One notice of a cart (`PaymentNotice`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CartNotice {
    /// The 18-digit notice number.
    pub notice_number: NoticeNumber,
    /// The creditor's fiscal code (11 digits).
    pub fiscal_code: OrganizationFiscalCode,
    /// The amount, at least 1 cent.
    pub amount: Amount,
    /// The creditor's name (1..=140 characters).
    pub company_name: String,
    /// What is paid (1..=140 characters).
    pub description: String,
}

/// Where Checkout sends the browser back (`returnUrls`): absolute `http(s)` URLs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReturnUrls {
    /// Paid (`returnOkUrl`).
    pub ok: String,
    /// The citizen gave up (`returnCancelUrl`).
    pub cancel: String,
    /// The payment failed (`returnErrorUrl`).
    pub error: String,
    /// The outcome is not known yet (`returnWaitingUrl`, required by the v2 schema).
    pub waiting: String,
}

impl ReturnUrls {
    /// The three URLs; the waiting URL is the ok one (a page that looks the receipt up serves
    /// both). Use [`ReturnUrls::with_waiting`] for a page of its own.
    #[must_use]
    pub fn new(
        ok: impl Into<String>,
        cancel: impl Into<String>,
        error: impl Into<String>,
    ) -> ReturnUrls {
        let ok = ok.into();
        ReturnUrls {
            waiting: ok.clone(),
            ok,
            cancel: cancel.into(),
            error: error.into(),
        }
    }

    /// Sets `returnWaitingUrl`.
    #[must_use]
    pub fn with_waiting(mut self, waiting: impl Into<String>) -> ReturnUrls {
        self.waiting = waiting.into();
        self
    }
}

/// A cart to post to Checkout (`CartRequestV2`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cart {
    /// 1..=5 notices, each at most once.
    pub notices: Vec<CartNotice>,
    /// Where the browser comes back.
    pub return_urls: ReturnUrls,
    /// The creditor's id of the cart (1..=210 characters); the node passes it to the
    /// creditor as `paymentNote` of `paGetPaymentV2`.
    pub id_cart: Option<String>,
    /// Where Checkout mails the outcome.
    pub email_notice: Option<String>,
    /// `allCCP`: every transfer goes to a postal account.
    pub all_ccp: Option<bool>,
}

/// Why a cart is refused before sending: the field (`paymentNotices[1].amount`) and what is
/// wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {problem}")]
pub struct CartError {
    /// The JSON path of the field.
    pub path: String,
    /// What is wrong.
    pub problem: String,
}

fn cerr(path: impl Into<String>, problem: impl Into<String>) -> CartError {
    CartError {
        path: path.into(),
        problem: problem.into(),
    }
}

fn check_text(path: &str, s: &str, max: usize) -> Result<(), CartError> {
    if s.trim().is_empty() {
        return Err(cerr(path, "must not be empty"));
    }
    let n = s.chars().count();
    if n > max {
        return Err(cerr(path, format!("at most {max} characters, found {n}")));
    }
    if s.chars().any(char::is_control) {
        return Err(cerr(path, "must not contain control characters"));
    }
    Ok(())
}

/// Checks that `url` is an absolute `http`/`https` URL with a host and nothing a browser would
/// have to guess about (no spaces, controls, or backslashes).
pub(crate) fn check_url(path: &str, url: &str) -> Result<(), CartError> {
    if url.len() > MAX_URL_LEN {
        return Err(cerr(
            path,
            format!("at most {MAX_URL_LEN} bytes, found {}", url.len()),
        ));
    }
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .ok_or_else(|| {
            cerr(
                path,
                format!("expected an absolute http(s) URL, found {url:?}"),
            )
        })?;
    if url
        .chars()
        .any(|c| c.is_whitespace() || c.is_control() || c == '\\' || c == '"' || c == '<')
    {
        return Err(cerr(
            path,
            "must not contain spaces, control characters, quotes, '<' or backslashes",
        ));
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = authority.rsplit('@').next().unwrap_or_default();
    let host = host.split(':').next().unwrap_or_default();
    if host.is_empty() || authority.contains('@') {
        return Err(cerr(
            path,
            format!("expected a host and no user info, found {url:?}"),
        ));
    }
    Ok(())
}

/// A plain check of an e-mail address (`format: email`): one `@`, a non-empty local part, a
/// domain with a dot, no spaces, at most 254 characters.
fn check_email(path: &str, e: &str) -> Result<(), CartError> {
    let bad = || cerr(path, format!("not an e-mail address: {e:?}"));
    if e.len() > 254 || e.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(bad());
    }
    let (local, domain) = e.split_once('@').ok_or_else(bad)?;
    let labels_ok = domain.split('.').all(|l| {
        !l.is_empty()
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.chars().all(|c| c.is_alphanumeric() || c == '-')
    });
    if local.is_empty() || local.len() > 64 || !domain.contains('.') || !labels_ok {
        return Err(bad());
    }
    if local.starts_with('.') || local.ends_with('.') || local.contains("..") {
        return Err(bad());
    }
    Ok(())
}

impl Cart {
    /// A cart of `notices` coming back to `return_urls`.
    #[must_use]
    pub fn new(notices: Vec<CartNotice>, return_urls: ReturnUrls) -> Cart {
        Cart {
            notices,
            return_urls,
            id_cart: None,
            email_notice: None,
            all_ccp: None,
        }
    }

    /// Sets `idCart`.
    #[must_use]
    pub fn with_id_cart(mut self, id: impl Into<String>) -> Cart {
        self.id_cart = Some(id.into());
        self
    }

    /// Sets `emailNotice`.
    #[must_use]
    pub fn with_email_notice(mut self, email: impl Into<String>) -> Cart {
        self.email_notice = Some(email.into());
        self
    }

    /// The sum of the notices (`None` on overflow).
    #[must_use]
    pub fn total(&self) -> Option<Amount> {
        Amount::checked_sum(self.notices.iter().map(|n| n.amount))
    }

    /// Checks the cart against `CartRequestV2`: 1..=5 notices, no notice twice, amounts ≥ 1
    /// cent, company name and description 1..=140 characters, absolute `http(s)` return URLs,
    /// `idCart` 1..=210 printable characters, a well-formed `emailNotice`.
    ///
    /// # Errors
    /// The first rule broken.
    pub fn validate(&self) -> Result<(), CartError> {
        let n = self.notices.len();
        if n == 0 || n > MAX_CART_NOTICES {
            return Err(cerr(
                "paymentNotices",
                format!("expected 1 to {MAX_CART_NOTICES} notices, found {n}"),
            ));
        }
        let mut seen = BTreeSet::new();
        for (i, notice) in self.notices.iter().enumerate() {
            let p = format!("paymentNotices[{i}]");
            if !seen.insert((notice.fiscal_code.as_str(), notice.notice_number)) {
                return Err(cerr(
                    format!("{p}.noticeNumber"),
                    format!(
                        "notice {} of {} is already in the cart",
                        notice.notice_number,
                        notice.fiscal_code.as_str()
                    ),
                ));
            }
            if notice.amount.is_zero() {
                return Err(cerr(format!("{p}.amount"), "must be at least 1 cent"));
            }
            if notice.amount > crate::node::MAX_AMOUNT {
                return Err(cerr(
                    format!("{p}.amount"),
                    format!("at most {}", crate::node::MAX_AMOUNT),
                ));
            }
            check_text(
                &format!("{p}.companyName"),
                &notice.company_name,
                MAX_NOTICE_TEXT,
            )?;
            check_text(
                &format!("{p}.description"),
                &notice.description,
                MAX_NOTICE_TEXT,
            )?;
        }
        if self.total().is_none() {
            return Err(cerr("paymentNotices", "the amounts overflow"));
        }
        let u = &self.return_urls;
        check_url("returnUrls.returnOkUrl", &u.ok)?;
        check_url("returnUrls.returnCancelUrl", &u.cancel)?;
        check_url("returnUrls.returnErrorUrl", &u.error)?;
        check_url("returnUrls.returnWaitingUrl", &u.waiting)?;
        if let Some(id) = &self.id_cart {
            check_text("idCart", id, MAX_ID_CART)?;
            if id.trim() != id {
                return Err(cerr("idCart", "must not start or end with spaces"));
            }
        }
        if let Some(e) = &self.email_notice {
            check_email("emailNotice", e)?;
        }
        Ok(())
    }

    /// The JSON body of `POST /carts`.
    #[must_use]
    pub fn to_json(&self) -> Value {
        let notices: Vec<Value> = self
            .notices
            .iter()
            .map(|n| {
                json!({
                    "noticeNumber": n.notice_number.as_str(),
                    "fiscalCode": n.fiscal_code.as_str(),
                    "amount": n.amount.cents(),
                    "companyName": n.company_name,
                    "description": n.description,
                })
            })
            .collect();
        let u = &self.return_urls;
        let mut m = serde_json::Map::new();
        if let Some(e) = &self.email_notice {
            m.insert("emailNotice".into(), json!(e));
        }
        m.insert("paymentNotices".into(), Value::Array(notices));
        m.insert(
            "returnUrls".into(),
            json!({
                "returnOkUrl": u.ok,
                "returnCancelUrl": u.cancel,
                "returnErrorUrl": u.error,
                "returnWaitingUrl": u.waiting,
            }),
        );
        if let Some(id) = &self.id_cart {
            m.insert("idCart".into(), json!(id));
        }
        if let Some(a) = self.all_ccp {
            m.insert("allCCP".into(), json!(a));
        }
        Value::Object(m)
    }

    /// Reads a `POST /carts` body and checks it with [`Cart::validate`] (what Checkout does
    /// with what it receives; the simulator uses it).
    ///
    /// # Errors
    /// [`CartError`] naming the field that is missing, of the wrong type, or breaks a rule.
    pub fn from_json(body: &[u8]) -> Result<Cart, CartError> {
        let raw: RawCart = serde_json::from_slice(body).map_err(|e| cerr("$", e.to_string()))?;
        let mut notices = Vec::with_capacity(raw.payment_notices.len());
        if raw.payment_notices.len() > MAX_CART_NOTICES {
            return Err(cerr(
                "paymentNotices",
                format!(
                    "expected 1 to {MAX_CART_NOTICES} notices, found {}",
                    raw.payment_notices.len()
                ),
            ));
        }
        for (i, n) in raw.payment_notices.into_iter().enumerate() {
            let p = format!("paymentNotices[{i}]");
            notices.push(CartNotice {
                notice_number: NoticeNumber::parse(&n.notice_number)
                    .map_err(|e| cerr(format!("{p}.noticeNumber"), e.to_string()))?,
                fiscal_code: n.fiscal_code.parse().map_err(|e: pa_types::ParseError| {
                    cerr(format!("{p}.fiscalCode"), e.to_string())
                })?,
                amount: Amount::from_cents(n.amount),
                company_name: n.company_name,
                description: n.description,
            });
        }
        let cart = Cart {
            notices,
            return_urls: ReturnUrls {
                ok: raw.return_urls.return_ok_url,
                cancel: raw.return_urls.return_cancel_url,
                error: raw.return_urls.return_error_url,
                waiting: raw.return_urls.return_waiting_url,
            },
            id_cart: raw.id_cart,
            email_notice: raw.email_notice,
            all_ccp: raw.all_ccp,
        };
        cart.validate()?;
        Ok(cart)
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawNotice {
    notice_number: String,
    fiscal_code: String,
    amount: u64,
    company_name: String,
    description: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawUrls {
    return_ok_url: String,
    return_cancel_url: String,
    return_error_url: String,
    return_waiting_url: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawCart {
    payment_notices: Vec<RawNotice>,
    return_urls: RawUrls,
    #[serde(default)]
    id_cart: Option<String>,
    #[serde(default)]
    email_notice: Option<String>,
    #[serde(default, rename = "allCCP")]
    all_ccp: Option<bool>,
}

/// Checkout's `ProblemJson` (RFC 7807) error answer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct ProblemJson {
    /// `type`: a URI naming the problem (`about:blank` by default).
    #[serde(default, rename = "type")]
    pub problem_type: Option<String>,
    /// `title`.
    #[serde(default)]
    pub title: Option<String>,
    /// `status`.
    #[serde(default)]
    pub status: Option<u16>,
    /// `detail`.
    #[serde(default)]
    pub detail: Option<String>,
    /// `instance`.
    #[serde(default)]
    pub instance: Option<String>,
}

impl ProblemJson {
    /// Reads an answer body; a body that is not a `ProblemJson` becomes its `detail` (500
    /// characters at most), so nothing the server said is lost.
    #[must_use]
    pub fn from_body(body: &[u8]) -> ProblemJson {
        #[derive(Deserialize)]
        struct Loose {
            #[serde(default, rename = "type")]
            problem_type: Option<Value>,
            #[serde(default)]
            title: Option<Value>,
            #[serde(default)]
            status: Option<Value>,
            #[serde(default)]
            detail: Option<Value>,
            #[serde(default)]
            instance: Option<Value>,
        }
        fn text(v: Option<Value>) -> Option<String> {
            match v? {
                Value::String(s) => Some(s),
                Value::Null => None,
                other => Some(other.to_string()),
            }
        }
        match serde_json::from_slice::<Loose>(body) {
            Ok(l) => ProblemJson {
                problem_type: text(l.problem_type),
                title: text(l.title),
                status: l
                    .status
                    .and_then(|s| s.as_u64())
                    .and_then(|s| u16::try_from(s).ok())
                    .filter(|s| (100..600).contains(s)),
                detail: text(l.detail),
                instance: text(l.instance),
            },
            Err(_) => {
                let t = String::from_utf8_lossy(body);
                let t = t.trim();
                ProblemJson {
                    detail: (!t.is_empty()).then(|| t.chars().take(500).collect()),
                    ..ProblemJson::default()
                }
            }
        }
    }
}

impl fmt::Display for ProblemJson {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<&str> = [&self.title, &self.detail]
            .into_iter()
            .filter_map(|s| s.as_deref())
            .collect();
        if parts.is_empty() {
            f.write_str("no details")
        } else {
            f.write_str(&parts.join(": "))
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn cart() -> Cart {
        Cart::new(
            vec![CartNotice {
                notice_number: NoticeNumber::parse("301000000000000144").unwrap(),
                fiscal_code: "80016350821".parse().unwrap(),
                amount: Amount::from_cents(100),
                company_name: "Comune".into(),
                description: "TARI".into(),
            }],
            ReturnUrls::new("https://a.it/ok", "https://a.it/ko", "https://a.it/err"),
        )
    }

    #[test]
    fn url_rules() {
        for bad in [
            "www.comune.it/ok",
            "ftp://a.it/x",
            "https:///x",
            "https://u:p@a.it/",
            "https://a.it/a b",
            "javascript:alert(1)",
            "https://a.it/\"><script>",
        ] {
            assert!(check_url("u", bad).is_err(), "{bad}");
        }
        for good in ["https://a.it", "http://127.0.0.1:8080/ok?x=1#f"] {
            check_url("u", good).unwrap();
        }
    }

    #[test]
    fn email_rules() {
        for bad in [
            "a", "a@b", "@b.it", "a b@c.it", "a@b..it", "a@-b.it", ".a@b.it",
        ] {
            assert!(check_email("e", bad).is_err(), "{bad}");
        }
        check_email("e", "mario.rossi@comune.prova.it").unwrap();
    }

    #[test]
    fn round_trip() {
        let c = cart().with_id_cart("x-1").with_email_notice("a@b.it");
        let body = serde_json::to_vec(&c.to_json()).unwrap();
        assert_eq!(Cart::from_json(&body).unwrap(), c);
    }

    #[test]
    fn problem_json_tolerates_odd_bodies() {
        let p = ProblemJson::from_body(br#"{"title":"Bad","status":4000,"detail":7}"#);
        assert_eq!(p.title.as_deref(), Some("Bad"));
        assert_eq!(p.status, None);
        assert_eq!(p.detail.as_deref(), Some("7"));
        let p = ProblemJson::from_body(b"upstream timeout");
        assert_eq!(p.detail.as_deref(), Some("upstream timeout"));
    }
}
