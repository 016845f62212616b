//! Messages: validated parts and a builder that cannot produce a message the API would refuse.
//!
//! Every text limit is counted in UTF-16 code units, as the API counts them (its validators are
//! JavaScript `String.length` checks): "è" counts 1, an emoji outside the Basic Multilingual
//! Plane counts 2.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::deps::{Amount, CodiceFiscale, NoticeNumber, OrganizationFiscalCode};
use crate::error::ValidationError;
use crate::types::{FeatureLevel, HasPrecondition, timestamp};

/// Length of a text as the API counts it: UTF-16 code units.
pub fn api_len(s: &str) -> usize {
    s.encode_utf16().count()
}

pub(crate) fn check_len(
    field: &'static str,
    s: &str,
    min: usize,
    max: usize,
) -> Result<(), ValidationError> {
    let found = api_len(s);
    if (min..=max).contains(&found) {
        Ok(())
    } else {
        Err(ValidationError::Length {
            field,
            min,
            max,
            found,
        })
    }
}

/// Serde for a validated string newtype: serialize the text, deserialize through `new`.
macro_rules! text_newtype_serde {
    ($name:ident) => {
        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
            }
        }
        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                Self::new(s).map_err(serde::de::Error::custom)
            }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
        impl $name {
            /// The text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }
    };
}

/// A message subject: 10..=120 characters (UTF-16 units).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Subject(String);

impl Subject {
    /// Minimum length.
    pub const MIN: usize = 10;
    /// Maximum length.
    pub const MAX: usize = 120;

    /// Checks the length.
    ///
    /// # Errors
    /// [`ValidationError::Length`] for `content.subject`.
    pub fn new(s: impl Into<String>) -> Result<Self, ValidationError> {
        let s = s.into();
        check_len("content.subject", &s, Self::MIN, Self::MAX)?;
        Ok(Self(s))
    }
}
text_newtype_serde!(Subject);

/// A message body in Markdown: 80..=10000 characters (UTF-16 units).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Markdown(String);

impl Markdown {
    /// Minimum length.
    pub const MIN: usize = 80;
    /// Maximum length.
    pub const MAX: usize = 10_000;

    /// Checks the length.
    ///
    /// # Errors
    /// [`ValidationError::Length`] for `content.markdown`.
    pub fn new(s: impl Into<String>) -> Result<Self, ValidationError> {
        let s = s.into();
        check_len("content.markdown", &s, Self::MIN, Self::MAX)?;
        Ok(Self(s))
    }
}
text_newtype_serde!(Markdown);

/// How long IO tries to deliver the notifications, in seconds: 3600..=604800 (one hour to seven
/// days). The API's default is 3600.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TimeToLive(u32);

impl TimeToLive {
    /// Minimum, one hour.
    pub const MIN: u32 = 3600;
    /// Maximum, seven days.
    pub const MAX: u32 = 604_800;

    /// Checks the range.
    ///
    /// # Errors
    /// [`ValidationError::Range`] for `time_to_live`.
    pub fn from_secs(secs: u64) -> Result<Self, ValidationError> {
        if (u64::from(Self::MIN)..=u64::from(Self::MAX)).contains(&secs) {
            Ok(Self(u32::try_from(secs).unwrap_or(Self::MAX)))
        } else {
            Err(ValidationError::Range {
                field: "time_to_live",
                min: Self::MIN.into(),
                max: Self::MAX.into(),
                found: secs,
            })
        }
    }

    /// Seconds.
    pub fn secs(self) -> u32 {
        self.0
    }
}

impl Serialize for TimeToLive {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u32(self.0)
    }
}
impl<'de> Deserialize<'de> for TimeToLive {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Self::from_secs(u64::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

/// pagoPA payment data of a message (`PaymentDataWithRequiredPayee`): the notice number, the
/// amount in cents (1..=9999999999) and the creditor (payee).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PaymentData {
    notice_number: NoticeNumber,
    amount: Amount,
    payee: OrganizationFiscalCode,
    invalid_after_due_date: bool,
}

impl PaymentData {
    /// Largest amount pagoPA accepts, in cents.
    pub const MAX_AMOUNT_CENTS: u64 = 9_999_999_999;

    /// Payment data for a notice. `invalid_after_due_date` starts `false`.
    ///
    /// # Errors
    /// [`ValidationError::Range`] for `content.payment_data.amount` when the amount is zero or
    /// above [`Self::MAX_AMOUNT_CENTS`]; [`ValidationError::Format`] if the notice number does
    /// not match `^[0123][0-9]{17}$`.
    pub fn new(
        notice_number: NoticeNumber,
        amount: Amount,
        payee: OrganizationFiscalCode,
    ) -> Result<Self, ValidationError> {
        check_amount(amount.cents())?;
        check_notice_number(notice_number.as_str())?;
        Ok(Self {
            notice_number,
            amount,
            payee,
            invalid_after_due_date: false,
        })
    }

    /// Whether the notice cannot be paid after the message's due date.
    #[must_use]
    pub fn invalid_after_due_date(mut self, yes: bool) -> Self {
        self.invalid_after_due_date = yes;
        self
    }

    /// The notice number.
    pub fn notice_number(&self) -> &NoticeNumber {
        &self.notice_number
    }
    /// The amount.
    pub fn amount(&self) -> Amount {
        self.amount
    }
    /// The creditor.
    pub fn payee(&self) -> &OrganizationFiscalCode {
        &self.payee
    }
    /// Whether the notice expires at the due date.
    pub fn is_invalid_after_due_date(&self) -> bool {
        self.invalid_after_due_date
    }
}

fn check_amount(cents: u64) -> Result<(), ValidationError> {
    if (1..=PaymentData::MAX_AMOUNT_CENTS).contains(&cents) {
        Ok(())
    } else {
        Err(ValidationError::Range {
            field: "content.payment_data.amount",
            min: 1,
            max: PaymentData::MAX_AMOUNT_CENTS,
            found: cents,
        })
    }
}

fn check_notice_number(s: &str) -> Result<(), ValidationError> {
    let b = s.as_bytes();
    if b.len() == 18 && matches!(b[0], b'0'..=b'3') && b.iter().all(u8::is_ascii_digit) {
        Ok(())
    } else {
        Err(ValidationError::Format {
            field: "content.payment_data.notice_number",
            expected: "^[0123][0-9]{17}$",
            found: s.chars().take(40).collect(),
        })
    }
}

#[derive(Serialize, Deserialize)]
struct PayeeWire {
    fiscal_code: OrganizationFiscalCode,
}

#[derive(Serialize, Deserialize)]
struct PaymentDataWire {
    amount: u64,
    notice_number: String,
    #[serde(default)]
    invalid_after_due_date: bool,
    payee: PayeeWire,
}

impl Serialize for PaymentData {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        PaymentDataWire {
            amount: self.amount.cents(),
            notice_number: self.notice_number.as_str().to_owned(),
            invalid_after_due_date: self.invalid_after_due_date,
            payee: PayeeWire {
                fiscal_code: self.payee.clone(),
            },
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for PaymentData {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let w = PaymentDataWire::deserialize(d)?;
        check_notice_number(&w.notice_number).map_err(serde::de::Error::custom)?;
        let nn: NoticeNumber = w.notice_number.parse().map_err(|e| {
            serde::de::Error::custom(format_args!("content.payment_data.notice_number: {e}"))
        })?;
        Ok(
            Self::new(nn, Amount::from_cents(w.amount), w.payee.fiscal_code)
                .map_err(serde::de::Error::custom)?
                .invalid_after_due_date(w.invalid_after_due_date),
        )
    }
}

/// Data of a third-party (remote content) message (`ThirdPartyData`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ThirdPartyData {
    id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    original_sender: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "timestamp::option"
    )]
    original_receipt_date: Option<DateTime<Utc>>,
    #[serde(default)]
    has_attachments: bool,
    #[serde(default)]
    has_remote_content: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    has_precondition: Option<HasPrecondition>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    summary: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    configuration_id: Option<String>,
}

impl ThirdPartyData {
    /// Third-party data with the id the remote content service knows the message by.
    ///
    /// # Errors
    /// [`ValidationError::Length`] for `content.third_party_data.id` if `id` is empty.
    pub fn new(id: impl Into<String>) -> Result<Self, ValidationError> {
        let id = id.into();
        check_len("content.third_party_data.id", &id, 1, usize::MAX)?;
        Ok(Self {
            id,
            original_sender: None,
            original_receipt_date: None,
            has_attachments: false,
            has_remote_content: false,
            has_precondition: None,
            summary: None,
            configuration_id: None,
        })
    }

    /// The original sender (a service id or a name).
    ///
    /// # Errors
    /// [`ValidationError::Length`] if empty.
    pub fn original_sender(mut self, s: impl Into<String>) -> Result<Self, ValidationError> {
        let s = s.into();
        check_len(
            "content.third_party_data.original_sender",
            &s,
            1,
            usize::MAX,
        )?;
        self.original_sender = Some(s);
        Ok(self)
    }

    /// When the original message was received.
    #[must_use]
    pub fn original_receipt_date(mut self, t: DateTime<Utc>) -> Self {
        self.original_receipt_date = Some(t);
        self
    }

    /// The message has attachments (requires [`FeatureLevel::Advanced`]).
    #[must_use]
    pub fn has_attachments(mut self, yes: bool) -> Self {
        self.has_attachments = yes;
        self
    }

    /// The message has remote content.
    #[must_use]
    pub fn has_remote_content(mut self, yes: bool) -> Self {
        self.has_remote_content = yes;
        self
    }

    /// When to show a precondition.
    #[must_use]
    pub fn has_precondition(mut self, p: HasPrecondition) -> Self {
        self.has_precondition = Some(p);
        self
    }

    /// A summary.
    ///
    /// # Errors
    /// [`ValidationError::Length`] if empty.
    pub fn summary(mut self, s: impl Into<String>) -> Result<Self, ValidationError> {
        let s = s.into();
        check_len("content.third_party_data.summary", &s, 1, usize::MAX)?;
        self.summary = Some(s);
        Ok(self)
    }

    /// The remote content configuration (a ULID: 26 Crockford base-32 characters).
    ///
    /// # Errors
    /// [`ValidationError::Format`] if it is not a ULID.
    pub fn configuration_id(mut self, s: impl Into<String>) -> Result<Self, ValidationError> {
        let s = s.into();
        check_ulid("content.third_party_data.configuration_id", &s)?;
        self.configuration_id = Some(s);
        Ok(self)
    }

    /// The id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Whether the message has attachments.
    pub fn attachments(&self) -> bool {
        self.has_attachments
    }

    fn validate(&self) -> Result<(), ValidationError> {
        check_len("content.third_party_data.id", &self.id, 1, usize::MAX)?;
        if let Some(s) = &self.original_sender {
            check_len("content.third_party_data.original_sender", s, 1, usize::MAX)?;
        }
        if let Some(s) = &self.summary {
            check_len("content.third_party_data.summary", s, 1, usize::MAX)?;
        }
        if let Some(s) = &self.configuration_id {
            check_ulid("content.third_party_data.configuration_id", s)?;
        }
        Ok(())
    }
}

pub(crate) fn check_ulid(field: &'static str, s: &str) -> Result<(), ValidationError> {
    // Crockford base 32 without I, L, O, U; the first character is at most 7 (128-bit value).
    let ok = s.len() == 26
        && s.bytes().enumerate().all(|(i, b)| {
            let b = b.to_ascii_uppercase();
            let crockford = b.is_ascii_digit()
                || (b.is_ascii_uppercase() && !matches!(b, b'I' | b'L' | b'O' | b'U'));
            crockford && (i > 0 || b <= b'7')
        });
    if ok {
        Ok(())
    } else {
        Err(ValidationError::Format {
            field,
            expected: "a ULID (26 Crockford base-32 characters)",
            found: s.chars().take(40).collect(),
        })
    }
}

/// Medical prescription data (`PrescriptionData`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrescriptionData {
    nre: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    iup: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    prescriber_fiscal_code: Option<CodiceFiscale>,
}

impl PrescriptionData {
    /// Prescription data with its NRE (*numero ricetta elettronica*, 15 characters), an optional
    /// IUP (1..=16 characters) and the prescriber.
    ///
    /// # Errors
    /// [`ValidationError::Length`] naming `nre` or `iup`.
    pub fn new(
        nre: impl Into<String>,
        iup: Option<String>,
        prescriber_fiscal_code: Option<CodiceFiscale>,
    ) -> Result<Self, ValidationError> {
        let p = Self {
            nre: nre.into(),
            iup,
            prescriber_fiscal_code,
        };
        p.validate()?;
        Ok(p)
    }

    fn validate(&self) -> Result<(), ValidationError> {
        check_len("content.prescription_data.nre", &self.nre, 15, 15)?;
        if let Some(iup) = &self.iup {
            check_len("content.prescription_data.iup", iup, 1, 16)?;
        }
        Ok(())
    }
}

/// An EU Covid certificate access token (`EUCovidCert`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EuCovidCert {
    /// The token.
    pub auth_code: String,
}

/// The content of a message (`NewMessageContent`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "MessageContentWire")]
pub struct MessageContent {
    subject: Subject,
    markdown: Markdown,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    payment_data: Option<PaymentData>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "timestamp::option"
    )]
    due_date: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    prescription_data: Option<PrescriptionData>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    eu_covid_cert: Option<EuCovidCert>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    third_party_data: Option<ThirdPartyData>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    require_secure_channels: Option<bool>,
}

#[derive(Deserialize)]
struct MessageContentWire {
    subject: Subject,
    markdown: Markdown,
    #[serde(default)]
    payment_data: Option<PaymentData>,
    #[serde(default, with = "timestamp::option")]
    due_date: Option<DateTime<Utc>>,
    #[serde(default)]
    prescription_data: Option<PrescriptionData>,
    #[serde(default)]
    eu_covid_cert: Option<EuCovidCert>,
    #[serde(default)]
    third_party_data: Option<ThirdPartyData>,
    #[serde(default)]
    require_secure_channels: Option<bool>,
}

impl TryFrom<MessageContentWire> for MessageContent {
    type Error = ValidationError;
    fn try_from(w: MessageContentWire) -> Result<Self, ValidationError> {
        if let Some(t) = &w.third_party_data {
            t.validate()?;
        }
        if let Some(p) = &w.prescription_data {
            p.validate()?;
        }
        Ok(Self {
            subject: w.subject,
            markdown: w.markdown,
            payment_data: w.payment_data,
            due_date: w.due_date,
            prescription_data: w.prescription_data,
            eu_covid_cert: w.eu_covid_cert,
            third_party_data: w.third_party_data,
            require_secure_channels: w.require_secure_channels,
        })
    }
}

impl MessageContent {
    /// Subject.
    pub fn subject(&self) -> &Subject {
        &self.subject
    }
    /// Body.
    pub fn markdown(&self) -> &Markdown {
        &self.markdown
    }
    /// Payment data.
    pub fn payment_data(&self) -> Option<&PaymentData> {
        self.payment_data.as_ref()
    }
    /// Due date.
    pub fn due_date(&self) -> Option<DateTime<Utc>> {
        self.due_date
    }
    /// Third-party data.
    pub fn third_party_data(&self) -> Option<&ThirdPartyData> {
        self.third_party_data.as_ref()
    }
    /// Prescription data.
    pub fn prescription_data(&self) -> Option<&PrescriptionData> {
        self.prescription_data.as_ref()
    }
    /// Whether only secure channels (push, not e-mail) may be notified.
    pub fn require_secure_channels(&self) -> bool {
        self.require_secure_channels.unwrap_or(false)
    }
}

/// A fallback e-mail address for the notification (`default_addresses.email`). Only a light check
/// is made (one `@`, no spaces, 3..=254 characters); most services may not use it (403 "Call
/// forbidden").
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EmailAddress(String);

impl EmailAddress {
    /// Checks the address.
    ///
    /// # Errors
    /// [`ValidationError::Format`] for `default_addresses.email`.
    pub fn new(s: impl Into<String>) -> Result<Self, ValidationError> {
        let s = s.into();
        let ok = (3..=254).contains(&s.len())
            && s.matches('@').count() == 1
            && !s.starts_with('@')
            && !s.ends_with('@')
            && !s.chars().any(|c| c.is_whitespace() || c.is_control());
        if ok {
            Ok(Self(s))
        } else {
            Err(ValidationError::Format {
                field: "default_addresses.email",
                expected: "an e-mail address",
                found: s.chars().take(80).collect(),
            })
        }
    }
}
text_newtype_serde!(EmailAddress);

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct DefaultAddresses {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    email: Option<EmailAddress>,
}

/// A message to submit (`NewMessage`), built with [`NewMessage::builder`]. Every value of this
/// type satisfies the API's rules, including the ones that span fields.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "NewMessageWire")]
pub struct NewMessage {
    fiscal_code: CodiceFiscale,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    time_to_live: Option<TimeToLive>,
    content: MessageContent,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    default_addresses: Option<DefaultAddresses>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    feature_level_type: Option<FeatureLevel>,
}

#[derive(Deserialize)]
struct NewMessageWire {
    fiscal_code: Option<CodiceFiscale>,
    #[serde(default)]
    time_to_live: Option<TimeToLive>,
    content: MessageContent,
    #[serde(default)]
    default_addresses: Option<DefaultAddresses>,
    #[serde(default)]
    feature_level_type: Option<FeatureLevel>,
}

impl TryFrom<NewMessageWire> for NewMessage {
    type Error = ValidationError;
    fn try_from(w: NewMessageWire) -> Result<Self, ValidationError> {
        let m = Self {
            fiscal_code: w.fiscal_code.ok_or(ValidationError::Missing {
                field: "fiscal_code",
            })?,
            time_to_live: w.time_to_live,
            content: w.content,
            default_addresses: w.default_addresses,
            feature_level_type: w.feature_level_type,
        };
        m.check_combinations()?;
        Ok(m)
    }
}

impl NewMessage {
    /// Starts a message to `fiscal_code`; subject and body are required, so they are arguments.
    pub fn builder(
        fiscal_code: CodiceFiscale,
        subject: Subject,
        markdown: Markdown,
    ) -> NewMessageBuilder {
        NewMessageBuilder {
            msg: Self {
                fiscal_code,
                time_to_live: None,
                content: MessageContent {
                    subject,
                    markdown,
                    payment_data: None,
                    due_date: None,
                    prescription_data: None,
                    eu_covid_cert: None,
                    third_party_data: None,
                    require_secure_channels: None,
                },
                default_addresses: None,
                feature_level_type: None,
            },
        }
    }

    /// The recipient.
    pub fn fiscal_code(&self) -> &CodiceFiscale {
        &self.fiscal_code
    }
    /// The content.
    pub fn content(&self) -> &MessageContent {
        &self.content
    }
    /// The time to live, if set (the API defaults to 3600 s).
    pub fn time_to_live(&self) -> Option<TimeToLive> {
        self.time_to_live
    }
    /// The feature level (the API defaults to STANDARD).
    pub fn feature_level(&self) -> FeatureLevel {
        self.feature_level_type
            .clone()
            .unwrap_or(FeatureLevel::Standard)
    }

    /// The JSON body the API expects.
    ///
    /// # Errors
    /// Never in practice (all fields serialize); kept fallible for serde's signature.
    pub fn to_json(&self) -> Result<Vec<u8>, serde_json::Error> {
        serde_json::to_vec(self)
    }

    fn check_combinations(&self) -> Result<(), ValidationError> {
        if let Some(FeatureLevel::Other(_)) = &self.feature_level_type {
            return Err(ValidationError::Format {
                field: "feature_level_type",
                expected: "STANDARD or ADVANCED",
                found: self.feature_level().to_string(),
            });
        }
        if let Some(t) = &self.content.third_party_data
            && t.has_attachments
            && self.feature_level() != FeatureLevel::Advanced
        {
            return Err(ValidationError::Incompatible {
                field: "content.third_party_data.has_attachments",
                reason: "attachments require feature_level_type ADVANCED",
            });
        }
        Ok(())
    }
}

/// Builder of a [`NewMessage`]; see [`NewMessage::builder`].
#[derive(Debug, Clone)]
#[must_use]
pub struct NewMessageBuilder {
    msg: NewMessage,
}

impl NewMessageBuilder {
    /// Attaches a pagoPA payment notice.
    pub fn payment_data(mut self, p: PaymentData) -> Self {
        self.msg.content.payment_data = Some(p);
        self
    }
    /// Sets the due date (an instant, sent in UTC).
    pub fn due_date(mut self, t: DateTime<Utc>) -> Self {
        self.msg.content.due_date = Some(t);
        self
    }
    /// Sets the feature level.
    pub fn feature_level(mut self, f: FeatureLevel) -> Self {
        self.msg.feature_level_type = Some(f);
        self
    }
    /// Sets the third-party (remote content) data.
    pub fn third_party_data(mut self, t: ThirdPartyData) -> Self {
        self.msg.content.third_party_data = Some(t);
        self
    }
    /// Sets the prescription data.
    pub fn prescription_data(mut self, p: PrescriptionData) -> Self {
        self.msg.content.prescription_data = Some(p);
        self
    }
    /// Sets the EU Covid certificate token.
    pub fn eu_covid_cert(mut self, c: EuCovidCert) -> Self {
        self.msg.content.eu_covid_cert = Some(c);
        self
    }
    /// Sets the time to live.
    pub fn time_to_live(mut self, t: TimeToLive) -> Self {
        self.msg.time_to_live = Some(t);
        self
    }
    /// When true, no e-mail notification is sent (only push).
    pub fn require_secure_channels(mut self, yes: bool) -> Self {
        self.msg.content.require_secure_channels = Some(yes);
        self
    }
    /// Sets the fallback e-mail address.
    pub fn default_email(mut self, e: EmailAddress) -> Self {
        self.msg.default_addresses = Some(DefaultAddresses { email: Some(e) });
        self
    }

    /// Checks the rules that span fields and returns the message.
    ///
    /// # Errors
    /// [`ValidationError::Incompatible`] when attachments are asked without the ADVANCED feature
    /// level; [`ValidationError::Format`] for an unknown feature level.
    pub fn build(self) -> Result<NewMessage, ValidationError> {
        self.msg.check_combinations()?;
        Ok(self.msg)
    }
}
