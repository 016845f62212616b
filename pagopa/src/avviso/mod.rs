//! The printable payment notice ("avviso di pagamento pagoPA") as a PDF (feature `avviso`).
//!
//! Follows the layout of pagoPA's technical guide to payment notices (v3.x, "Avviso di
//! pagamento"): on every page the header with the subject; on the first page the creditor
//! (name, fiscal code, unit, contacts) and the recipient (name, fiscal code, address), "Quanto e
//! quando pagare?" and "Dove pagare?"; then the payment data: the single payment ("rata unica")
//! and/or the installments ("rate multiple"), grouped by 3 when their number is a multiple of
//! 3, else by 2 when even, else by 3, one group per page. Each option shows its QR code
//! (`PAGOPA|002|notice|creditor|cents`, version 4, ECC level M, 25 × 25 mm, drawn as vector
//! rectangles), its notice code in groups of four, the creditor's CBILL code and fiscal code, the
//! amount (`1.234,56`) and the due date (`dd/mm/yyyy`). When the creditor collects on a postal
//! account, each option also gets its Bollettino Postale PA part with the Poste Data Matrix
//! ([`PosteDataMatrix`](crate::PosteDataMatrix)), the account, its holder, "Tipo P1" and Poste's
//! printing authorisation, in 70 % black.
//!
//! Text is set in Noto Sans (SIL Open Font License 1.1, from the `notosans` crate), embedded
//! as a subset with a ToUnicode map, so the text of the PDF can be searched and extracted.
//! The PDF is written with `pdf-writer` (typst's low-level writer: no C, few dependencies) and
//! fonts are subset with `subsetter`.
//!
//! Not drawn: the creditor's logo and the guide's variants (notice with many installments,
//! without due date, traffic fines, other languages).
//!
//! ```
//! use pagopa::avviso::Avviso;
//!
//! let avviso = Avviso::from_json(r#"{
//!   "subject": "TARI 2026 - tassa sui rifiuti",
//!   "creditor": { "name": "Comune di Esempio", "fiscal_code": "80016350821", "cbill": "AB12C",
//!                 "postal": { "account": "1011136627", "holder": "Comune di Esempio",
//!                             "authorization": "AUT. 0000 DEL 01/01/2026" } },
//!   "debtor": { "name": "Mario Rossi", "fiscal_code": "RSSMRA80A01H501U" },
//!   "single": { "notice_number": "301000000000000144", "amount_cents": 30000,
//!               "due_date": "2026-04-16" },
//!   "installments": [
//!     { "notice_number": "302123456789012356", "amount_cents": 15000, "due_date": "2026-04-16" },
//!     { "notice_number": "301000000000000245", "amount_cents": 15000, "due_date": "2026-09-16" }
//!   ]
//! }"#)?;
//! assert_eq!(avviso.page_count(), 2);
//! assert_eq!(avviso.data_matrices()?.len(), 3);
//! let pdf = avviso.to_pdf()?;
//! # let _ = pdf;
//! # Ok::<(), pagopa::avviso::AvvisoError>(())
//! ```

mod error;
mod layout;
mod model;
mod pdf;

pub use error::{AvvisoError, TextProblem};
pub use model::{
    Avviso, AvvisoInput, Creditor, CreditorInput, Debtor, DebtorInput, MAX_CREDITOR_NAME,
    MAX_DEBTOR_NAME, MAX_INSTALLMENTS, MAX_LINE, MAX_SUBJECT, OptionInput, PaymentOption, Postal,
    PostalInput,
};

impl Avviso {
    /// Draws the notice as a PDF (A4 pages, fonts embedded).
    ///
    /// # Errors
    /// [`AvvisoError::Text`] with [`TextProblem::NoGlyph`] when a text holds a character the
    /// embedded font cannot draw; [`AvvisoError::Payload`] / [`AvvisoError::Render`] for a
    /// symbol that cannot be built (not expected after [`Avviso::try_from`]).
    pub fn to_pdf(&self) -> Result<Vec<u8>, AvvisoError> {
        layout::render(self)
    }
}
