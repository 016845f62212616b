//! The content of a payment notice: the JSON input and the checked [`Avviso`].

use chrono::NaiveDate;
use pa_types::{Amount, AnyFiscalCode, OrganizationFiscalCode};
use serde::{Deserialize, Serialize};

use super::error::{AvvisoError, TextProblem};
use super::logo::Logo;
use crate::codes::NoticeNumber;
use crate::notice::{MAX_QR_CENTS, PostalAccount, PosteDataMatrix, QrPayload};

/// Most installments of the guide's base model ("Rate multiple", grouped by 2 or 3 per page);
/// more are drawn with the variant "Avviso con molte rate" (which the guide keeps for 9 rates
/// or more: [`Avviso::with_many_installments`] asks for it at 9).
pub const MAX_BASE_INSTALLMENTS: usize = 9;
/// Fewest installments of the variant "Avviso con molte rate" ("minimo 9").
pub const MIN_MANY_INSTALLMENTS: usize = 9;
/// Most installments of a notice: GPD's 100 installments of an option.
pub const MAX_INSTALLMENTS: usize = 100;

/// How the installments are laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InstallmentLayout {
    /// The base model: groups of 2 or 3 installments, one group (with its bollettino) a page.
    Base,
    /// The variant "Avviso con molte rate": a grid of three installments a row, as many rows
    /// as a page holds, then, with a postal account, their Bollettini Postali PA in the
    /// bollettino's layout for multiples of 3, two groups a page.
    Many,
}

/// Longest subject (`AVVISO.OGGETTO`): 90 characters.
pub const MAX_SUBJECT: usize = 90;
/// Longest creditor name (`ENTE.NOME`, guide 3.5.1): 100 characters.
pub const MAX_CREDITOR_NAME: usize = 100;
/// Longest debtor name (`DESTINATARIO.NOMECOMPLETO`): 70 characters.
pub const MAX_DEBTOR_NAME: usize = 70;
/// Longest free line (sector, creditor info, debtor address, authorization).
pub const MAX_LINE: usize = 100;
/// Longest postal account holder (`<intestatario_conto_corrente_postale>`, guide "Bollettino
/// Postale PA"): 50 characters.
pub const MAX_POSTAL_HOLDER: usize = 50;
/// Longest physical channel of the creditor (`ENTE.CANALE.FISICO`, guide "Dove pagare"): 50
/// characters.
pub const MAX_PHYSICAL_CHANNEL: usize = 50;

/// Where the creditor's own digital channel takes the payment (`ENTE.CANALE.ONLINE`, guide
/// "Dove pagare"): it is named in the "Paga con l'app IO" text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnlineChannel {
    /// "sul sito di <Ente.Nome>,".
    Site,
    /// "sull'app di <Ente.Nome>,".
    App,
    /// "sul sito o app di <Ente.Nome>,".
    SiteOrApp,
}

impl OnlineChannel {
    /// The guide's words before the creditor's name.
    #[must_use]
    pub fn words(self) -> &'static str {
        match self {
            OnlineChannel::Site => "sul sito di",
            OnlineChannel::App => "sull\u{2019}app di",
            OnlineChannel::SiteOrApp => "sul sito o app di",
        }
    }
}

/// The JSON form of a payment notice, as read by [`Avviso::from_json`].
///
/// Amounts are integer euro cents; dates are `YYYY-MM-DD`. Unknown fields are refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AvvisoInput {
    /// What is paid (`AVVISO.OGGETTO`), at most 90 characters.
    pub subject: String,
    /// The creditor (ente creditore).
    pub creditor: CreditorInput,
    /// The recipient (destinatario).
    pub debtor: DebtorInput,
    /// The single payment (rata unica), if offered.
    #[serde(default)]
    pub single: Option<OptionInput>,
    /// The installments (rate), 2 to [`MAX_INSTALLMENTS`], if offered.
    #[serde(default)]
    pub installments: Vec<OptionInput>,
}

/// The creditor in [`AvvisoInput`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreditorInput {
    /// Name (`ENTE.NOME`).
    pub name: String,
    /// Organisational unit that manages the payment (`ENTE.SETTORE`).
    #[serde(default)]
    pub sector: Option<String>,
    /// Contact line (`ENTE.INFO`): web site, e-mail, telephone.
    #[serde(default)]
    pub info: Option<String>,
    /// Fiscal code, 11 digits (`ENTE.CF`).
    pub fiscal_code: String,
    /// Interbank CBILL code (`ENTE.CBILL`), 5 characters.
    pub cbill: String,
    /// The creditor's own web site or app where the notice can be paid (`ENTE.CANALE.ONLINE`).
    #[serde(default)]
    pub online_channel: Option<OnlineChannel>,
    /// The creditor's own place where the notice can be paid, e.g. "Casse Dell'Ospedale"
    /// (`ENTE.CANALE.FISICO`, at most 50 characters).
    #[serde(default)]
    pub physical_channel: Option<String>,
    /// Postal current account, when the creditor collects on one: adds the Bollettino Postale PA.
    #[serde(default)]
    pub postal: Option<PostalInput>,
}

/// The postal account in [`CreditorInput`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PostalInput {
    /// Account number, 1 to 12 digits.
    pub account: String,
    /// Account holder as registered at Poste (intestatario).
    pub holder: String,
    /// Poste Italiane's authorisation to print the bollettino ("stampa in proprio").
    pub authorization: String,
}

/// The recipient in [`AvvisoInput`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DebtorInput {
    /// Full name (`DESTINATARIO.NOMECOMPLETO`).
    pub name: String,
    /// Fiscal code, 16 characters or 11 digits (`DESTINATARIO.CF`).
    pub fiscal_code: String,
    /// Address (`DESTINATARIO.INDIRIZZO`), one line.
    #[serde(default)]
    pub address: Option<String>,
}

/// A payment option (single payment or installment) in [`AvvisoInput`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OptionInput {
    /// The 18-digit notice number.
    pub notice_number: String,
    /// Amount in euro cents.
    pub amount_cents: u64,
    /// Due date, `YYYY-MM-DD`; `None` (or absent in JSON) when the option has none: its
    /// "entro il" is left out (the guide's variant "Avviso senza scadenza").
    #[serde(default)]
    pub due_date: Option<String>,
}

/// A checked creditor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Creditor {
    /// Name.
    pub name: String,
    /// Organisational unit.
    pub sector: Option<String>,
    /// Contact line.
    pub info: Option<String>,
    /// Fiscal code.
    pub fiscal_code: OrganizationFiscalCode,
    /// CBILL code.
    pub cbill: String,
    /// The creditor's own digital channel, if it takes the payment.
    pub online_channel: Option<OnlineChannel>,
    /// The creditor's own physical channel, if it takes the payment.
    pub physical_channel: Option<String>,
    /// Postal account, if any.
    pub postal: Option<Postal>,
}

/// A checked postal account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Postal {
    /// Account number.
    pub account: PostalAccount,
    /// Account holder.
    pub holder: String,
    /// Poste's printing authorisation.
    pub authorization: String,
}

/// A checked recipient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Debtor {
    /// Full name.
    pub name: String,
    /// Fiscal code.
    pub fiscal_code: AnyFiscalCode,
    /// Address.
    pub address: Option<String>,
}

/// A checked payment option.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentOption {
    /// Notice number.
    pub notice: NoticeNumber,
    /// Amount (1 cent to 999 999 999.99 euro).
    pub amount: Amount,
    /// Due date, if the option has one.
    pub due_date: Option<NaiveDate>,
}

/// A checked payment notice, ready to be drawn with [`Avviso::to_pdf`].
///
/// ```
/// let json = r#"{
///   "subject": "TARI 2026 - tassa sui rifiuti",
///   "creditor": { "name": "Comune di Esempio", "fiscal_code": "80016350821", "cbill": "AB12C" },
///   "debtor": { "name": "Mario Rossi", "fiscal_code": "RSSMRA80A01H501U" },
///   "single": { "notice_number": "301000000000000144", "amount_cents": 30000,
///               "due_date": "2026-04-16" }
/// }"#;
/// let avviso = pagopa::avviso::Avviso::from_json(json)?;
/// assert_eq!(avviso.qr_payloads()[0], "PAGOPA|002|301000000000000144|80016350821|30000");
/// let pdf: Vec<u8> = avviso.to_pdf()?;
/// assert!(pdf.starts_with(b"%PDF-"));
/// # Ok::<(), pagopa::avviso::AvvisoError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Avviso {
    /// What is paid.
    pub subject: String,
    /// The creditor.
    pub creditor: Creditor,
    /// The recipient.
    pub debtor: Debtor,
    /// The single payment, if offered.
    pub single: Option<PaymentOption>,
    /// The installments (empty, or 2 to [`MAX_INSTALLMENTS`]).
    pub installments: Vec<PaymentOption>,
    /// The creditor's logo (`ENTE.LOGO`), if given with [`Avviso::with_logo`].
    pub logo: Option<Logo>,
    /// pagoPA's logo as distributed by pagoPA (the guide's "Elementi grafici"), if given with
    /// [`Avviso::with_pagopa_logo`]; without it a drawn stand-in is printed and the PDF's
    /// keywords say so.
    pub pagopa_logo: Option<Logo>,
    /// The BancoPosta mark of the Bollettino Postale PA as distributed by Poste Italiane, if
    /// given with [`Avviso::with_poste_logo`]; without it the word "BancoPosta" is printed and
    /// the PDF's keywords say so.
    pub poste_logo: Option<Logo>,
    /// The variant "Avviso con molte rate" asked for with 9 installments.
    many: bool,
}

fn text(field: &str, value: &str, max: usize) -> Result<String, AvvisoError> {
    let t = value.trim();
    let err = |problem| AvvisoError::Text {
        field: field.to_owned(),
        problem,
    };
    if t.is_empty() {
        return Err(err(TextProblem::Empty));
    }
    if let Some((i, c)) = t.chars().enumerate().find(|(_, c)| c.is_control()) {
        return Err(err(TextProblem::Control {
            found: c,
            position: i + 1,
        }));
    }
    let n = t.chars().count();
    if n > max {
        return Err(err(TextProblem::TooLong { max, found: n }));
    }
    Ok(t.to_owned())
}

fn optional_text(
    field: &str,
    value: Option<&str>,
    max: usize,
) -> Result<Option<String>, AvvisoError> {
    match value {
        Some(v) if !v.trim().is_empty() => text(field, v, max).map(Some),
        _ => Ok(None),
    }
}

fn option(field: &str, o: &OptionInput) -> Result<PaymentOption, AvvisoError> {
    let notice =
        NoticeNumber::parse(o.notice_number.trim()).map_err(|source| AvvisoError::Notice {
            field: format!("{field}.notice_number"),
            source,
        })?;
    if o.amount_cents == 0 || o.amount_cents > MAX_QR_CENTS {
        return Err(AvvisoError::Amount {
            field: format!("{field}.amount_cents"),
            cents: o.amount_cents,
        });
    }
    let due_date = match &o.due_date {
        None => None,
        Some(d) => Some(
            NaiveDate::parse_from_str(d.trim(), "%Y-%m-%d")
                .ok()
                .filter(|_| d.trim().len() == 10)
                .ok_or_else(|| AvvisoError::Date {
                    field: format!("{field}.due_date"),
                    found: d.clone(),
                })?,
        ),
    };
    Ok(PaymentOption {
        notice,
        amount: Amount::from_cents(o.amount_cents),
        due_date,
    })
}

impl TryFrom<&AvvisoInput> for Avviso {
    type Error = AvvisoError;

    fn try_from(input: &AvvisoInput) -> Result<Self, AvvisoError> {
        let subject = text("subject", &input.subject, MAX_SUBJECT)?;
        let c = &input.creditor;
        let fiscal_code =
            c.fiscal_code
                .trim()
                .parse()
                .map_err(|source| AvvisoError::FiscalCode {
                    field: "creditor.fiscal_code".into(),
                    source,
                })?;
        let cbill = c.cbill.trim();
        if cbill.len() != 5
            || !cbill
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        {
            return Err(AvvisoError::Cbill {
                found: c.cbill.clone(),
            });
        }
        let postal = match &c.postal {
            None => None,
            Some(p) => Some(Postal {
                account: PostalAccount::parse(&p.account).map_err(AvvisoError::PostalAccount)?,
                holder: text("creditor.postal.holder", &p.holder, MAX_POSTAL_HOLDER)?,
                authorization: text("creditor.postal.authorization", &p.authorization, MAX_LINE)?,
            }),
        };
        let creditor = Creditor {
            name: text("creditor.name", &c.name, MAX_CREDITOR_NAME)?,
            sector: optional_text("creditor.sector", c.sector.as_deref(), MAX_LINE)?,
            info: optional_text("creditor.info", c.info.as_deref(), MAX_LINE)?,
            fiscal_code,
            cbill: cbill.to_owned(),
            online_channel: c.online_channel,
            physical_channel: optional_text(
                "creditor.physical_channel",
                c.physical_channel.as_deref(),
                MAX_PHYSICAL_CHANNEL,
            )?,
            postal,
        };
        let d = &input.debtor;
        let debtor = Debtor {
            name: text("debtor.name", &d.name, MAX_DEBTOR_NAME)?,
            fiscal_code: d
                .fiscal_code
                .trim()
                .to_uppercase()
                .parse()
                .map_err(|source| AvvisoError::FiscalCode {
                    field: "debtor.fiscal_code".into(),
                    source,
                })?,
            address: optional_text("debtor.address", d.address.as_deref(), MAX_LINE)?,
        };
        let single = input
            .single
            .as_ref()
            .map(|o| option("single", o))
            .transpose()?;
        let n = input.installments.len();
        if n == 1 || n > MAX_INSTALLMENTS {
            return Err(AvvisoError::InstallmentCount {
                found: n,
                max: MAX_INSTALLMENTS,
            });
        }
        if single.is_none() && n == 0 {
            return Err(AvvisoError::NoPaymentOption);
        }
        let installments = input
            .installments
            .iter()
            .enumerate()
            .map(|(i, o)| option(&format!("installments[{i}]"), o))
            .collect::<Result<Vec<_>, _>>()?;
        let mut seen: Vec<(NoticeNumber, String)> = Vec::new();
        let named = single
            .iter()
            .map(|o| (o.notice, "single".to_owned()))
            .chain(
                installments
                    .iter()
                    .enumerate()
                    .map(|(i, o)| (o.notice, format!("installments[{i}]"))),
            );
        for (notice, field) in named {
            if let Some((_, first)) = seen.iter().find(|(n, _)| *n == notice) {
                return Err(AvvisoError::DuplicateNotice {
                    field: format!("{field}.notice_number"),
                    first: format!("{first}.notice_number"),
                    notice: notice.to_string(),
                });
            }
            seen.push((notice, field));
        }
        let avviso = Avviso {
            subject,
            creditor,
            debtor,
            single,
            installments,
            logo: None,
            pagopa_logo: None,
            poste_logo: None,
            many: false,
        };
        // Every Data Matrix must be encodable: fail here, naming the option, not while drawing.
        avviso.data_matrices()?;
        Ok(avviso)
    }
}

impl Avviso {
    /// The same notice with the creditor's logo (`ENTE.LOGO`), a PNG or JPEG image drawn in
    /// the header's 30 × 30 mm logo area.
    ///
    /// # Errors
    /// [`AvvisoError::Logo`] when the image is not a PNG or JPEG that can be embedded.
    pub fn with_logo(mut self, image: &[u8]) -> Result<Self, AvvisoError> {
        self.logo = Some(Logo::parse(image).map_err(AvvisoError::Logo)?);
        Ok(self)
    }

    /// The same notice with pagoPA's own logo file (PNG or JPEG, e.g. from the guide's
    /// "Elementi grafici" archive) in the header's pagoPA area (28 × 14 mm, top right corner),
    /// instead of the drawn stand-in.
    ///
    /// # Errors
    /// [`AvvisoError::Logo`] when the image is not a PNG or JPEG that can be embedded.
    pub fn with_pagopa_logo(mut self, image: &[u8]) -> Result<Self, AvvisoError> {
        self.pagopa_logo = Some(Logo::parse(image).map_err(AvvisoError::Logo)?);
        Ok(self)
    }

    /// The same notice with Poste Italiane's BancoPosta mark file (PNG or JPEG) in the title
    /// row of each Bollettino Postale PA (30 × 6 mm, after the title), instead of the word.
    ///
    /// # Errors
    /// [`AvvisoError::Logo`] when the image is not a PNG or JPEG that can be embedded.
    pub fn with_poste_logo(mut self, image: &[u8]) -> Result<Self, AvvisoError> {
        self.poste_logo = Some(Logo::parse(image).map_err(AvvisoError::Logo)?);
        Ok(self)
    }

    /// The same notice drawn with the variant "Avviso con molte rate", which the guide allows
    /// from 9 installments (more than [`MAX_BASE_INSTALLMENTS`] always use it).
    ///
    /// # Errors
    /// [`AvvisoError::ManyInstallments`] with fewer than [`MIN_MANY_INSTALLMENTS`].
    pub fn with_many_installments(mut self) -> Result<Self, AvvisoError> {
        if self.installments.len() < MIN_MANY_INSTALLMENTS {
            return Err(AvvisoError::ManyInstallments {
                found: self.installments.len(),
                min: MIN_MANY_INSTALLMENTS,
            });
        }
        self.many = true;
        Ok(self)
    }

    /// The layout of the installments: [`InstallmentLayout::Many`] above
    /// [`MAX_BASE_INSTALLMENTS`] or when asked with [`Avviso::with_many_installments`].
    #[must_use]
    pub fn installment_layout(&self) -> InstallmentLayout {
        if self.many || self.installments.len() > MAX_BASE_INSTALLMENTS {
            InstallmentLayout::Many
        } else {
            InstallmentLayout::Base
        }
    }

    /// Reads and checks a notice from its JSON form ([`AvvisoInput`]).
    ///
    /// # Errors
    /// [`AvvisoError::Json`] for malformed JSON or a wrong shape, and every check of
    /// [`Avviso::try_from`].
    pub fn from_json(json: &str) -> Result<Self, AvvisoError> {
        let input: AvvisoInput = serde_json::from_str(json).map_err(|e| AvvisoError::Json {
            message: e.to_string(),
            line: e.line(),
            column: e.column(),
        })?;
        Avviso::try_from(&input)
    }

    /// The payment options in print order: the single payment first, then the installments,
    /// each with the field name it came from.
    pub(crate) fn options(&self) -> impl Iterator<Item = (&PaymentOption, String)> + '_ {
        self.single.iter().map(|o| (o, "single".to_owned())).chain(
            self.installments
                .iter()
                .enumerate()
                .map(|(i, o)| (o, format!("installments[{i}]"))),
        )
    }

    /// The QR code of one option.
    pub(crate) fn qr(&self, o: &PaymentOption) -> Result<QrPayload, AvvisoError> {
        QrPayload::new(o.notice, self.creditor.fiscal_code.clone(), o.amount).map_err(|source| {
            AvvisoError::Payload {
                field: "qr".into(),
                source,
            }
        })
    }

    /// The QR payloads printed, in print order (single payment first).
    #[must_use]
    pub fn qr_payloads(&self) -> Vec<String> {
        self.options()
            .filter_map(|(o, _)| self.qr(o).ok())
            .map(|q| q.to_string())
            .collect()
    }

    /// The Poste Data Matrix of one option: the debtor name and the subject are cut to the
    /// symbol's 40 and 110 characters.
    pub(crate) fn data_matrix(
        &self,
        postal: &Postal,
        o: &PaymentOption,
        field: &str,
    ) -> Result<PosteDataMatrix, AvvisoError> {
        let name: String = self.debtor.name.chars().take(40).collect();
        let causale: String = self.subject.chars().take(110).collect();
        PosteDataMatrix::new(
            o.notice,
            postal.account,
            o.amount,
            self.creditor.fiscal_code.clone(),
            self.debtor.fiscal_code.clone(),
            &name,
            &causale,
        )
        .map_err(|source| AvvisoError::Payload {
            field: field.to_owned(),
            source,
        })
    }

    /// The Data Matrix of every option, in print order; empty without a postal account.
    ///
    /// # Errors
    /// [`AvvisoError::Payload`] when a value cannot be carried by the symbol.
    pub fn data_matrices(&self) -> Result<Vec<PosteDataMatrix>, AvvisoError> {
        let Some(postal) = &self.creditor.postal else {
            return Ok(Vec::new());
        };
        self.options()
            .map(|(o, field)| self.data_matrix(postal, o, &field))
            .collect()
    }

    /// How many installments share one page in the base model: 3 when their number is a multiple of 3, else 2
    /// when it is even, else 3 (the guide lets either layout repeat on a page; never mixed).
    #[must_use]
    pub fn installments_per_page(&self) -> usize {
        let n = self.installments.len();
        if n.is_multiple_of(3) {
            3
        } else if n.is_multiple_of(2) {
            2
        } else {
            3
        }
    }

    /// Pages of the PDF. Base model: one for the single payment (with the notice's general
    /// information), then one per group of installments; without a single payment, the first
    /// group goes on the first page. Variant "molte rate": see [`InstallmentLayout::Many`].
    #[must_use]
    pub fn page_count(&self) -> usize {
        if self.installment_layout() == InstallmentLayout::Many {
            return super::layout::many_plan(self).page_count();
        }
        let groups = self
            .installments
            .len()
            .div_ceil(self.installments_per_page());
        usize::from(self.single.is_some()) + groups
    }
}
