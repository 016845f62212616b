//! The printable payment notice ("avviso di pagamento pagoPA") as a PDF (feature `avviso`).
//!
//! Follows pagoPA's guide "Avviso di pagamento pagoPA" v3.x
//! (<https://docs.pagopa.it/avviso-pagamento>, Allegato 2 "Specifiche Tecniche"): its modules
//! in the guide's order, with the guide's fixed Italian texts (see the `layout` module for the
//! list and where each comes from). On every page the header ("Intestazione": "AVVISO DI
//! PAGAMENTO", the subject `AVVISO.OGGETTO`, the creditor's logo `ENTE.LOGO` in its 30 × 30 mm
//! area when given with [`Avviso::with_logo`] as a PNG or JPEG image, and the pagoPA mark); on
//! the first page "Ente Creditore" (name, unit, contacts, fiscal code) and "Destinatario" (name,
//! fiscal code, address), "Quanto e quando pagare?" (amount, due date, "Puoi pagare per intero
//! o in N rate" / "Puoi pagare in N rate", the guide's disclaimer) and "Dove pagare?" ("PAGA
//! CON L'APP IO" and "PAGA SUL TERRITORIO", naming the creditor's own channels when it has
//! them: `ENTE.CANALE.ONLINE`, `ENTE.CANALE.FISICO`); then "Dati per il pagamento": the single
//! payment ("Rata unica") and/or the installments ("Rate multiple"), grouped by 3 when their
//! number is a multiple of 3, else by 2 when even, else by 3, one group per page. Each option
//! shows its QR code (`PAGOPA|002|notice|creditor|cents`, version 4, ECC level M, 25 × 25 mm,
//! drawn as vector rectangles) with the guide's instruction, its notice code in groups of four,
//! the creditor's CBILL code and fiscal code, the amount (`1.234,56`) and the due date
//! (`dd/mm/yyyy`). When the creditor collects on a postal account, each option also gets its
//! Bollettino Postale PA part with the Poste Data Matrix
//! ([`PosteDataMatrix`](crate::PosteDataMatrix), 25 × 25 mm), the account, its holder, "Tipo
//! P1" and Poste's printing authorisation, in 70 % black.
//!
//! Text is set in Noto Sans (SIL Open Font License 1.1, from the `notosans` crate), embedded
//! as a subset with a ToUnicode map, so the text of the PDF can be searched and extracted.
//! The PDF is written with `pdf-writer` (typst's low-level writer: no C, few dependencies) and
//! fonts are subset with `subsetter`.
//!
//! Variants of the guide's Allegato 1: "Avviso senza scadenza" (an option without `due_date`
//! loses its "entro il" block; with no due date at all the title is "QUANTO PAGARE?"), and
//! "Avviso con molte rate" ([`InstallmentLayout::Many`], for more than
//! [`MAX_BASE_INSTALLMENTS`] installments, or from 9 with [`Avviso::with_many_installments`]):
//! the rates in a grid of three a row, as many rows as the page holds and further pages for
//! the rest, then, with a postal account, their Bollettini Postali PA in the bollettino's
//! layout for multiples of 3, two groups a page; up to [`MAX_INSTALLMENTS`] (GPD's 100).
//!
//! Marks: pagoPA's logo and Poste's BancoPosta mark are artwork the project does not ship.
//! The creditor passes the files pagoPA and Poste distribute (PNG or JPEG) with
//! [`Avviso::with_pagopa_logo`] (the header's 28 × 14 mm pagoPA area) and
//! [`Avviso::with_poste_logo`] (30 × 6 mm after each bollettino's title); without them a
//! drawn stand-in (a pagoPA-blue box with the name; the word "BancoPosta") is printed and the
//! PDF's `Keywords` say which marks are stand-ins.
//!
//! Not drawn: the variants for traffic fines and other languages, and the alternative text
//! for public service operators.
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
mod logo;
mod model;
mod pdf;

pub use error::{AvvisoError, TextProblem};
pub use logo::{Logo, LogoProblem, MAX_LOGO_BYTES, MAX_LOGO_PIXELS};
pub use model::{
    Avviso, AvvisoInput, Creditor, CreditorInput, Debtor, DebtorInput, InstallmentLayout,
    MAX_BASE_INSTALLMENTS, MAX_CREDITOR_NAME, MAX_DEBTOR_NAME, MAX_INSTALLMENTS, MAX_LINE,
    MAX_PHYSICAL_CHANNEL, MAX_POSTAL_HOLDER, MAX_SUBJECT, MIN_MANY_INSTALLMENTS, OnlineChannel,
    OptionInput, PaymentOption, Postal, PostalInput,
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
