//! Streaming parser of `FlussoRiversamento` reporting flows (constant memory), on the shared
//! hardened reader [`xmldsig::stream`].

use std::io::BufRead;

use chrono::NaiveDate;
use pa_types::Amount;
use serde::{Deserialize, Serialize};
use xmldsig::stream::{Event, Reader, StreamOptions};

/// Namespace of `FlussoRiversamento`.
pub const FLOW_NS: &str = "http://www.digitpa.gov.it/schemas/2011/Pagamenti/";

/// Longest text accepted in one element (keeps memory bounded on hostile input).
const MAX_TEXT: usize = 4096;

/// Why a reporting flow could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FlowError {
    /// Not well-formed XML, or DTD / unknown entity.
    #[error("malformed XML at byte {position}: {message}")]
    Xml {
        /// Byte offset.
        position: u64,
        /// What is wrong.
        message: String,
    },
    /// The structure does not follow `FlussoRiversamento_1_0_4.xsd`.
    #[error("at byte {position}, {path}: {problem}")]
    Schema {
        /// Byte offset.
        position: u64,
        /// Element path.
        path: String,
        /// What is wrong.
        problem: String,
    },
    /// The declared totals do not match the payments in the flow.
    #[error(
        "flow {flow_id}: declared {declared_count} payments totalling {declared_amount}, found {found_count} totalling {found_amount}"
    )]
    Totals {
        /// The flow.
        flow_id: String,
        /// `numeroTotalePagamenti`.
        declared_count: u64,
        /// `importoTotalePagamenti`.
        declared_amount: Amount,
        /// Payments found.
        found_count: u64,
        /// Their sum (revoked payments included, as the schema counts them).
        found_amount: Amount,
    },
    /// Reading the input failed.
    #[error("I/O: {0}")]
    Io(String),
}

/// `codiceEsitoSingoloPagamento`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum OutcomeCode {
    /// `0`: payment executed.
    Executed,
    /// `3`: payment revoked.
    Revoked,
    /// `4`: executed in stand-in mode.
    StandIn,
    /// `8`: executed in stand-in mode without RPT.
    StandInNoRpt,
    /// `9`: executed without RPT.
    NoRpt,
    /// Any other digit.
    Other(u8),
}

impl OutcomeCode {
    /// From the one-digit code.
    #[must_use]
    pub fn from_digit(d: u8) -> OutcomeCode {
        match d {
            0 => OutcomeCode::Executed,
            3 => OutcomeCode::Revoked,
            4 => OutcomeCode::StandIn,
            8 => OutcomeCode::StandInNoRpt,
            9 => OutcomeCode::NoRpt,
            o => OutcomeCode::Other(o),
        }
    }

    /// The one-digit code.
    #[must_use]
    pub fn digit(self) -> u8 {
        match self {
            OutcomeCode::Executed => 0,
            OutcomeCode::Revoked => 3,
            OutcomeCode::StandIn => 4,
            OutcomeCode::StandInNoRpt => 8,
            OutcomeCode::NoRpt => 9,
            OutcomeCode::Other(o) => o,
        }
    }

    /// Whether money was collected (everything except a revocation).
    #[must_use]
    pub fn is_paid(self) -> bool {
        !matches!(self, OutcomeCode::Revoked)
    }
}

/// Sender or receiver identification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Institution {
    /// `tipoIdentificativoUnivoco`: `G` legal person, `A` ABI, `B` BIC.
    pub id_type: String,
    /// `codiceIdentificativoUnivoco`.
    pub id: String,
    /// Name.
    pub name: Option<String>,
}

/// Everything before the payments.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlowHeader {
    /// `versioneOggetto`.
    pub version: String,
    /// `identificativoFlusso`.
    pub flow_id: String,
    /// `dataOraFlusso` as written.
    pub flow_date_time: String,
    /// `identificativoUnivocoRegolamento` (the settlement transfer's reference).
    pub settlement_id: String,
    /// `dataRegolamento`.
    pub settlement_date: NaiveDate,
    /// `istitutoMittente` (the PSP).
    pub sender: Institution,
    /// `codiceBicBancaDiRiversamento`.
    pub bic: Option<String>,
    /// `istitutoRicevente` (the creditor).
    pub receiver: Institution,
    /// `numeroTotalePagamenti`.
    pub total_count: u64,
    /// `importoTotalePagamenti`.
    pub total_amount: Amount,
}

/// One `datiSingoliPagamenti` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlowPayment {
    /// IUV.
    pub iuv: String,
    /// IUR.
    pub iur: String,
    /// Transfer index 1..5 (`indiceDatiSingoloPagamento`; 1 when absent).
    pub transfer_index: u8,
    /// Amount.
    pub amount: Amount,
    /// Outcome.
    pub outcome: OutcomeCode,
    /// Outcome date.
    pub date: NaiveDate,
}

/// The SEPA remittance text of the settlement transfer for a flow:
/// `/PUR/LGPE-RIVERSAMENTO/URI/<flow id>`.
#[must_use]
pub fn settlement_causale(flow_id: &str) -> String {
    format!("/PUR/LGPE-RIVERSAMENTO/URI/{flow_id}")
}

/// The flow id in a settlement transfer's remittance text, if it has the standard form
/// (surrounding spaces ignored).
#[must_use]
pub fn flow_id_from_causale(causale: &str) -> Option<&str> {
    causale
        .trim()
        .strip_prefix("/PUR/LGPE-RIVERSAMENTO/URI/")
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// Year, month and day of exactly `DDDD-DD-DD` (ASCII digits), without checking the calendar.
fn canonical_ymd(b: &[u8]) -> Option<(i32, u32, u32)> {
    let [y0, y1, y2, y3, b'-', m0, m1, b'-', d0, d1] = *b else {
        return None;
    };
    let mut v = [0u32; 8];
    for (o, c) in v.iter_mut().zip([y0, y1, y2, y3, m0, m1, d0, d1]) {
        if !c.is_ascii_digit() {
            return None;
        }
        *o = u32::from(c - b'0');
    }
    let year = i32::try_from(v[0] * 1000 + v[1] * 100 + v[2] * 10 + v[3]).ok()?;
    Some((year, v[4] * 10 + v[5], v[6] * 10 + v[7]))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ev {
    /// A start tag; its local name is in [`Cursor::name`].
    Start,
    End,
    Eof,
}

/// A pull parser over a reporting flow: [`FlowParser::header`] first, then the payments one at
/// a time (it is an [`Iterator`]). Memory does not grow with the flow. At the end the declared
/// totals are checked against the payments read ([`FlowError::Totals`]).
///
/// ```
/// # let xml = include_bytes!("../../tests/fixtures/reporting/flow_small.xml");
/// let mut flow = pagopa::reporting::FlowParser::new(&xml[..])?;
/// let id = flow.header().flow_id.clone();
/// let mut n = 0;
/// for payment in &mut flow {
///     let payment = payment?;
///     n += 1;
/// }
/// assert_eq!(n, 3);
/// # Ok::<(), pagopa::reporting::FlowError>(())
/// ```
pub struct FlowParser<R: BufRead> {
    c: Cursor<R>,
    header: FlowHeader,
    count: u64,
    sum: Amount,
    done: bool,
}

impl<R: BufRead> std::fmt::Debug for FlowParser<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FlowParser")
            .field("header", &self.header)
            .field("count", &self.count)
            .finish_non_exhaustive()
    }
}

struct Cursor<R: BufRead> {
    reader: Reader<R>,
    pending: Option<Ev>,
    path: Vec<&'static str>,
    /// The text of the leaf being read (kept for its allocation).
    text: String,
    /// Where the trimmed value is in `text`.
    value: (usize, usize),
}

impl<R: BufRead> Cursor<R> {
    fn pos(&self) -> u64 {
        self.reader.offset()
    }

    fn schema(&self, problem: impl Into<String>) -> FlowError {
        FlowError::Schema {
            position: self.pos(),
            path: self.path.join("/"),
            problem: problem.into(),
        }
    }

    fn xml(&self, e: &xmldsig::ParseError) -> FlowError {
        FlowError::Xml {
            position: self.pos(),
            message: e.to_string(),
        }
    }

    /// Next structural event; whitespace, comments and PIs are skipped.
    fn next(&mut self) -> Result<Ev, FlowError> {
        if let Some(e) = self.pending.take() {
            return Ok(e);
        }
        loop {
            let ev = match self.reader.next() {
                Ok(ev) => ev,
                Err(e) => return Err(self.xml(&e)),
            };
            match ev {
                Event::Start(s) => {
                    let n = s.name();
                    if n.namespace != FLOW_NS {
                        let local = n.local.to_owned();
                        return Err(
                            self.schema(format!("element {local} is not in namespace {FLOW_NS}"))
                        );
                    }
                    return Ok(Ev::Start);
                }
                Event::End(_) => return Ok(Ev::End),
                Event::Text(t) if !t.bytes().all(|b| b.is_ascii_whitespace()) => {
                    return Err(self.schema("unexpected text"));
                }
                Event::Eof => return Ok(Ev::Eof),
                _ => {}
            }
        }
    }

    /// Local name of the last start tag (the reader's innermost open element while that
    /// start is the last structural event).
    fn name(&self) -> &str {
        self.reader.current_name().local
    }

    fn peek_start(&mut self, name: &str) -> Result<bool, FlowError> {
        let e = self.next()?;
        let is = e == Ev::Start && self.name() == name;
        self.pending = Some(e);
        Ok(is)
    }

    fn open(&mut self, name: &'static str) -> Result<(), FlowError> {
        match self.next()? {
            Ev::Start if self.name() == name => {
                self.path.push(name);
                Ok(())
            }
            Ev::Start => Err(self.schema(format!("expected {name}, found {}", self.name()))),
            Ev::End => Err(self.schema(format!("expected {name}, found end of element"))),
            Ev::Eof => Err(self.schema(format!("expected {name}, found end of input"))),
        }
    }

    fn close(&mut self) -> Result<(), FlowError> {
        match self.next()? {
            Ev::End => {
                self.path.pop();
                Ok(())
            }
            Ev::Start => Err(self.schema(format!("unexpected element {}", self.name()))),
            Ev::Eof => Err(self.schema("unexpected end of input")),
        }
    }

    /// Reads `<name>text</name>` (the text, trimmed, in [`Cursor::value`]).
    fn read_leaf(&mut self, name: &'static str) -> Result<(), FlowError> {
        self.open(name)?;
        let mut text = std::mem::take(&mut self.text);
        text.clear();
        let r = self.leaf_text(&mut text);
        self.text = text;
        r?;
        let t = self.text.trim_matches(crate::node::xml::is_xml_space);
        if t.is_empty() {
            return Err(self.schema("empty value"));
        }
        let start = t.as_ptr() as usize - self.text.as_ptr() as usize;
        self.value = (start, start + t.len());
        self.path.pop();
        Ok(())
    }

    /// The trimmed text of the leaf read last.
    fn value(&self) -> &str {
        self.text.get(self.value.0..self.value.1).unwrap_or("")
    }

    /// Reads `<name>text</name>`.
    fn leaf(&mut self, name: &'static str) -> Result<String, FlowError> {
        self.read_leaf(name)?;
        Ok(self.value().to_owned())
    }

    /// The text of the current leaf up to its end tag, into `text`.
    fn leaf_text(&mut self, text: &mut String) -> Result<(), FlowError> {
        loop {
            let ev = match self.reader.next() {
                Ok(ev) => ev,
                Err(e) => return Err(self.xml(&e)),
            };
            match ev {
                Event::Text(t) => text.push_str(t),
                Event::End(_) => break,
                Event::Comment(_) => {}
                Event::Start(_) => return Err(self.schema("expected text, found an element")),
                _ => return Err(self.schema("unexpected content")),
            }
            if text.len() > MAX_TEXT {
                return Err(self.schema("text too long"));
            }
        }
        Ok(())
    }

    fn opt_leaf(&mut self, name: &'static str) -> Result<Option<String>, FlowError> {
        if self.peek_start(name)? {
            self.leaf(name).map(Some)
        } else {
            Ok(None)
        }
    }

    fn text_max(&self, name: &str, s: String, max: usize) -> Result<String, FlowError> {
        if s.len() > max && s.chars().count() > max {
            return Err(self.schema(format!("{name}: longer than {max} characters")));
        }
        Ok(s)
    }

    fn date(&self, name: &str, s: &str) -> Result<NaiveDate, FlowError> {
        let d = s.get(..10).unwrap_or(s);
        // The canonical form `YYYY-MM-DD` directly (what chrono would accept too); any other
        // text goes through chrono.
        let parsed = match canonical_ymd(d.as_bytes()) {
            Some((y, m, dd)) => NaiveDate::from_ymd_opt(y, m, dd),
            None => NaiveDate::parse_from_str(d, "%Y-%m-%d").ok(),
        };
        parsed
            .ok_or_else(|| self.schema(format!("{name}: expected a date YYYY-MM-DD, found {s:?}")))
    }

    fn amount(&self, name: &str, s: &str) -> Result<Amount, FlowError> {
        let b = s.as_bytes();
        let shape = b.len() >= 4
            && b[b.len() - 3] == b'.'
            && b.iter()
                .enumerate()
                .all(|(i, c)| i == b.len() - 3 || c.is_ascii_digit());
        if !shape {
            return Err(self.schema(format!(
                "{name}: expected an amount like 12.34, found {s:?}"
            )));
        }
        Amount::parse_decimal(s).map_err(|e| self.schema(format!("{name}: {e}")))
    }

    fn institution(
        &mut self,
        outer: &'static str,
        id: &'static str,
        name: &'static str,
    ) -> Result<Institution, FlowError> {
        self.open(outer)?;
        self.open(id)?;
        let id_type = self.leaf("tipoIdentificativoUnivoco")?;
        let valid = if outer == "istitutoRicevente" {
            "G"
        } else {
            "GAB"
        };
        if id_type.len() != 1 || !valid.contains(id_type.as_str()) {
            return Err(self.schema(format!("tipoIdentificativoUnivoco: unexpected {id_type:?}")));
        }
        let code = self.leaf("codiceIdentificativoUnivoco")?;
        let code = self.text_max("codiceIdentificativoUnivoco", code, 35)?;
        self.close()?;
        let n = self.opt_leaf(name)?;
        self.close()?;
        Ok(Institution {
            id_type,
            id: code,
            name: n,
        })
    }
}

impl<R: BufRead> FlowParser<R> {
    /// Reads the header of the flow from `input`.
    ///
    /// # Errors
    /// [`FlowError`] with the byte position and element path.
    pub fn new(input: R) -> Result<FlowParser<R>, FlowError> {
        let opts = StreamOptions::default().with_max_text_len(MAX_TEXT);
        let mut c = Cursor {
            reader: Reader::with_options(input, opts),
            pending: None,
            path: Vec::new(),
            text: String::new(),
            value: (0, 0),
        };
        c.open("FlussoRiversamento")?;
        let version = c.leaf("versioneOggetto")?;
        let flow_id = c.leaf("identificativoFlusso")?;
        let flow_id = c.text_max("identificativoFlusso", flow_id, 35)?;
        let flow_date_time = c.leaf("dataOraFlusso")?;
        let settlement_id = c.leaf("identificativoUnivocoRegolamento")?;
        let settlement_id = c.text_max("identificativoUnivocoRegolamento", settlement_id, 35)?;
        let sd = c.leaf("dataRegolamento")?;
        let settlement_date = c.date("dataRegolamento", &sd)?;
        let sender = c.institution(
            "istitutoMittente",
            "identificativoUnivocoMittente",
            "denominazioneMittente",
        )?;
        let bic = c.opt_leaf("codiceBicBancaDiRiversamento")?;
        let receiver = c.institution(
            "istitutoRicevente",
            "identificativoUnivocoRicevente",
            "denominazioneRicevente",
        )?;
        let n = c.leaf("numeroTotalePagamenti")?;
        let total_count = n.parse::<u64>().ok().filter(|n| *n >= 1).ok_or_else(|| {
            c.schema(format!(
                "numeroTotalePagamenti: expected a count ≥ 1, found {n:?}"
            ))
        })?;
        let a = c.leaf("importoTotalePagamenti")?;
        let total_amount = c.amount("importoTotalePagamenti", &a)?;
        Ok(FlowParser {
            c,
            header: FlowHeader {
                version,
                flow_id,
                flow_date_time,
                settlement_id,
                settlement_date,
                sender,
                bic,
                receiver,
                total_count,
                total_amount,
            },
            count: 0,
            sum: Amount::ZERO,
            done: false,
        })
    }

    /// The flow header.
    pub fn header(&self) -> &FlowHeader {
        &self.header
    }

    /// Payments read so far.
    pub fn payments_read(&self) -> u64 {
        self.count
    }

    /// The next payment, or `None` at the end of the flow (after the totals check).
    ///
    /// # Errors
    /// [`FlowError`]; after an error the parser returns `None`.
    pub fn next_payment(&mut self) -> Result<Option<FlowPayment>, FlowError> {
        if self.done {
            return Ok(None);
        }
        let r = self.step();
        if !matches!(r, Ok(Some(_))) {
            self.done = true;
        }
        r
    }

    fn step(&mut self) -> Result<Option<FlowPayment>, FlowError> {
        let c = &mut self.c;
        if !c.peek_start("datiSingoliPagamenti")? {
            if self.count == 0 {
                return Err(c.schema("expected at least one datiSingoliPagamenti"));
            }
            c.close()?;
            match c.next()? {
                Ev::Eof => {}
                _ => return Err(c.schema("content after FlussoRiversamento")),
            }
            if self.count != self.header.total_count || self.sum != self.header.total_amount {
                return Err(FlowError::Totals {
                    flow_id: self.header.flow_id.clone(),
                    declared_count: self.header.total_count,
                    declared_amount: self.header.total_amount,
                    found_count: self.count,
                    found_amount: self.sum,
                });
            }
            return Ok(None);
        }
        c.open("datiSingoliPagamenti")?;
        let iuv = c.leaf("identificativoUnivocoVersamento")?;
        let iuv = c.text_max("identificativoUnivocoVersamento", iuv, 35)?;
        let iur = c.leaf("identificativoUnivocoRiscossione")?;
        let iur = c.text_max("identificativoUnivocoRiscossione", iur, 35)?;
        let transfer_index = if c.peek_start("indiceDatiSingoloPagamento")? {
            c.read_leaf("indiceDatiSingoloPagamento")?;
            let i = c.value();
            match i.as_bytes() {
                [d @ b'1'..=b'5'] => d - b'0',
                _ => {
                    return Err(c.schema(format!(
                        "indiceDatiSingoloPagamento: expected 1 to 5, found {i:?}"
                    )));
                }
            }
        } else {
            1
        };
        c.read_leaf("singoloImportoPagato")?;
        let amount = c.amount("singoloImportoPagato", c.value())?;
        c.read_leaf("codiceEsitoSingoloPagamento")?;
        let o = c.value();
        let outcome = match o.as_bytes() {
            [d @ b'0'..=b'9'] => OutcomeCode::from_digit(d - b'0'),
            _ => {
                return Err(c.schema(format!(
                    "codiceEsitoSingoloPagamento: expected one digit, found {o:?}"
                )));
            }
        };
        c.read_leaf("dataEsitoSingoloPagamento")?;
        let date = c.date("dataEsitoSingoloPagamento", c.value())?;
        c.close()?;
        self.count += 1;
        self.sum = self
            .sum
            .checked_add(amount)
            .ok_or_else(|| c.schema("total amount overflows"))?;
        Ok(Some(FlowPayment {
            iuv,
            iur,
            transfer_index,
            amount,
            outcome,
            date,
        }))
    }
}

impl<R: BufRead> Iterator for FlowParser<R> {
    type Item = Result<FlowPayment, FlowError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_payment().transpose()
    }
}

/// Reads a whole flow into memory (small flows; use [`FlowParser`] for large ones).
///
/// # Errors
/// As [`FlowParser`].
pub fn parse_flow(input: &[u8]) -> Result<(FlowHeader, Vec<FlowPayment>), FlowError> {
    let mut p = FlowParser::new(input)?;
    let mut v = Vec::new();
    while let Some(x) = p.next_payment()? {
        v.push(x);
    }
    Ok((p.header, v))
}
