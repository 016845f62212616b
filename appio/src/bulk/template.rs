//! Bulk input: rows (from an iterator or a CSV file) and the message template applied to each.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use chrono::{DateTime, Utc};
use serde::Deserialize;

use crate::deps::{Amount, CodiceFiscale, NoticeNumber, OrganizationFiscalCode};
use crate::error::{InputError, ValidationError};
use crate::message::{Markdown, NewMessage, PaymentData, Subject, TimeToLive};
use crate::types::FeatureLevel;

/// One recipient of a bulk send: a key that identifies the row across runs, the fiscal code
/// (as read; it is checked when the row is processed) and the values for the template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BulkRow {
    /// Stable key of the row (the CSV `id` column, else `line-N`).
    pub key: String,
    /// The recipient's fiscal code as given.
    pub fiscal_code: String,
    /// Values by column name.
    pub fields: BTreeMap<String, String>,
}

impl BulkRow {
    /// A row with no template fields.
    pub fn new(key: impl Into<String>, fiscal_code: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            fiscal_code: fiscal_code.into(),
            fields: BTreeMap::new(),
        }
    }

    /// Adds a field.
    #[must_use]
    pub fn field(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.fields.insert(name.into(), value.into());
        self
    }

    /// A stable fingerprint of the row's content (FNV-1a 64 over key, fiscal code and fields),
    /// used to notice a row that changed between two runs.
    pub fn fingerprint(&self) -> String {
        let mut h = Fnv::new();
        h.write(self.key.as_bytes());
        h.write(&[0]);
        h.write(self.fiscal_code.as_bytes());
        for (k, v) in &self.fields {
            h.write(&[0]);
            h.write(k.as_bytes());
            h.write(&[1]);
            h.write(v.as_bytes());
        }
        format!("{:016x}", h.0)
    }
}

pub(crate) struct Fnv(u64);

impl Fnv {
    pub(crate) fn new() -> Self {
        Self(0xcbf2_9ce4_8422_2325)
    }
    pub(crate) fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 ^= u64::from(*b);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }
}

/// Name of the CSV column that holds the fiscal code.
pub const FISCAL_CODE_COLUMN: &str = "fiscal_code";
/// Name of the optional CSV column that holds a row key.
pub const KEY_COLUMN: &str = "id";

/// Reads a CSV file (header line required, comma separated, UTF-8) into rows. The
/// `fiscal_code` column is required; an `id` column, when present, gives the row keys (else
/// `line-N`, N being the line number). Every column is available to the template as
/// `{{column}}`.
///
/// # Errors
/// [`InputError`] for an unreadable file, a missing `fiscal_code` column or a duplicate key.
pub fn read_csv(path: &Path) -> Result<(Vec<String>, Vec<BulkRow>), InputError> {
    let file = std::fs::File::open(path).map_err(|source| InputError::Io {
        path: path.display().to_string(),
        source,
    })?;
    read_csv_from(file)
}

/// Same as [`read_csv`], from any reader.
///
/// # Errors
/// As [`read_csv`].
pub fn read_csv_from(
    reader: impl std::io::Read,
) -> Result<(Vec<String>, Vec<BulkRow>), InputError> {
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(true)
        .trim(csv::Trim::All)
        .from_reader(reader);
    let header: Vec<String> = rdr.headers()?.iter().map(str::to_owned).collect();
    let cf_idx = header
        .iter()
        .position(|h| h == FISCAL_CODE_COLUMN)
        .ok_or_else(|| InputError::MissingColumn(FISCAL_CODE_COLUMN.to_owned()))?;
    let key_idx = header.iter().position(|h| h == KEY_COLUMN);
    let mut rows = Vec::new();
    let mut seen: BTreeMap<String, u64> = BTreeMap::new();
    for rec in rdr.records() {
        let rec = rec?;
        let line = rec.position().map_or(0, csv::Position::line);
        let key = match key_idx.and_then(|i| rec.get(i)).filter(|k| !k.is_empty()) {
            Some(k) => k.to_owned(),
            None => format!("line-{line}"),
        };
        if let Some(first) = seen.insert(key.clone(), line) {
            return Err(InputError::DuplicateKey {
                key,
                first,
                second: line,
            });
        }
        let fields = header
            .iter()
            .zip(rec.iter())
            .map(|(h, v)| (h.clone(), v.to_owned()))
            .collect();
        rows.push(BulkRow {
            key,
            fiscal_code: rec.get(cf_idx).unwrap_or("").to_owned(),
            fields,
        });
    }
    Ok((header, rows))
}

/// Payment part of a [`Template`]: each value may hold `{{column}}` placeholders.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct PaymentTemplate {
    /// Notice number, 18 digits.
    pub notice_number: String,
    /// Amount in euro with two decimals (`"12.34"`).
    pub amount: String,
    /// Creditor's fiscal code, 11 digits.
    pub payee: String,
    /// Whether the notice cannot be paid after the due date.
    #[serde(default)]
    pub invalid_after_due_date: bool,
}

/// A message template (a JSON file for the CLI). Text values may hold `{{column}}` placeholders
/// replaced by the row's values; the result is then validated like any message.
///
/// ```json
/// {
///   "subject": "TARI {{anno}}: avviso di pagamento",
///   "markdown": "Gentile {{nome}}, ...",
///   "due_date": "{{scadenza}}",
///   "payment": { "notice_number": "{{avviso}}", "amount": "{{importo}}", "payee": "01234567890" }
/// }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct Template {
    /// Subject (10..=120 characters once filled in).
    pub subject: String,
    /// Body (80..=10000 characters once filled in).
    pub markdown: String,
    /// Due date, RFC 3339 (`2025-12-31T23:59:59Z` or with an offset, sent in UTC).
    #[serde(default)]
    pub due_date: Option<String>,
    /// Payment notice.
    #[serde(default)]
    pub payment: Option<PaymentTemplate>,
    /// Feature level (`STANDARD` or `ADVANCED`).
    #[serde(default)]
    pub feature_level: Option<FeatureLevel>,
    /// Time to live in seconds (3600..=604800).
    #[serde(default)]
    pub time_to_live: Option<u64>,
    /// Only push notifications, no e-mail.
    #[serde(default)]
    pub require_secure_channels: Option<bool>,
}

/// Why a row's message could not be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RowError {
    /// The fiscal code column does not hold a valid codice fiscale.
    #[error("fiscal_code {value:?}: {reason}")]
    FiscalCode {
        /// Value given.
        value: String,
        /// Why it is invalid.
        reason: String,
    },
    /// A template field, once filled in, does not parse.
    #[error("{field} {value:?}: {reason}")]
    Field {
        /// Template field (`payment.amount`, `due_date`, ...).
        field: &'static str,
        /// Value after filling in.
        value: String,
        /// Why it is invalid.
        reason: String,
    },
    /// The message breaks an API rule.
    #[error(transparent)]
    Message(#[from] ValidationError),
}

impl Template {
    /// Reads a JSON template file.
    ///
    /// # Errors
    /// [`InputError::Io`] or [`InputError::Template`] (with the JSON error's position).
    pub fn from_file(path: &Path) -> Result<Self, InputError> {
        let text = std::fs::read_to_string(path).map_err(|source| InputError::Io {
            path: path.display().to_string(),
            source,
        })?;
        Self::from_json(&text)
    }

    /// Reads a JSON template.
    ///
    /// # Errors
    /// [`InputError::Template`] with the JSON error's position.
    pub fn from_json(text: &str) -> Result<Self, InputError> {
        let t: Self =
            serde_json::from_str(text).map_err(|e| InputError::Template(e.to_string()))?;
        if let Some(FeatureLevel::Other(v)) = &t.feature_level {
            return Err(InputError::Template(format!(
                "feature_level {v:?}: expected STANDARD or ADVANCED"
            )));
        }
        if let Some(ttl) = t.time_to_live {
            TimeToLive::from_secs(ttl).map_err(|e| InputError::Template(e.to_string()))?;
        }
        for (field, text) in t.texts() {
            check_placeholders(field, text)?;
        }
        Ok(t)
    }

    fn texts(&self) -> Vec<(&'static str, &str)> {
        let mut v = vec![
            ("subject", self.subject.as_str()),
            ("markdown", self.markdown.as_str()),
        ];
        if let Some(d) = &self.due_date {
            v.push(("due_date", d));
        }
        if let Some(p) = &self.payment {
            v.push(("payment.notice_number", &p.notice_number));
            v.push(("payment.amount", &p.amount));
            v.push(("payment.payee", &p.payee));
        }
        v
    }

    /// The column names the template uses.
    pub fn columns(&self) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        for (_, text) in self.texts() {
            let mut rest = text;
            while let Some(start) = rest.find("{{") {
                let after = &rest[start + 2..];
                let Some(end) = after.find("}}") else { break };
                out.insert(after[..end].trim().to_owned());
                rest = &after[end + 2..];
            }
        }
        out
    }

    /// Checks that every column the template uses is in `header`.
    ///
    /// # Errors
    /// [`InputError::MissingColumn`] naming the first missing column.
    pub fn check_columns(&self, header: &[String]) -> Result<(), InputError> {
        match self.columns().into_iter().find(|c| !header.contains(c)) {
            Some(c) => Err(InputError::MissingColumn(c)),
            None => Ok(()),
        }
    }

    /// A stable fingerprint of the template (FNV-1a 64 of its canonical JSON).
    pub fn fingerprint(&self) -> String {
        let mut h = Fnv::new();
        h.write(serde_json::to_string(self).unwrap_or_default().as_bytes());
        format!("{:016x}", h.0)
    }

    /// Fills the template with a row's values and builds the message.
    ///
    /// # Errors
    /// [`RowError`] naming the field that is invalid and why.
    pub fn render(&self, row: &BulkRow) -> Result<NewMessage, RowError> {
        let fill = |s: &str| fill(s, &row.fields);
        let cf: CodiceFiscale =
            row.fiscal_code
                .parse()
                .map_err(|e: pa_types::ParseError| RowError::FiscalCode {
                    value: row.fiscal_code.clone(),
                    reason: e.to_string(),
                })?;
        let mut b = NewMessage::builder(
            cf,
            Subject::new(fill(&self.subject))?,
            Markdown::new(fill(&self.markdown))?,
        );
        if let Some(d) = &self.due_date {
            let v = fill(d);
            let t = DateTime::parse_from_rfc3339(&v).map_err(|e| RowError::Field {
                field: "due_date",
                value: v.clone(),
                reason: format!("expected an RFC 3339 date-time: {e}"),
            })?;
            b = b.due_date(t.with_timezone(&Utc));
        }
        if let Some(p) = &self.payment {
            let nn_text = fill(&p.notice_number);
            let nn = NoticeNumber::parse(&nn_text).map_err(|e| RowError::Field {
                field: "payment.notice_number",
                value: nn_text.clone(),
                reason: e.to_string(),
            })?;
            let amount_text = fill(&p.amount);
            let amount = Amount::parse_decimal(&amount_text).map_err(|e| RowError::Field {
                field: "payment.amount",
                value: amount_text.clone(),
                reason: format!("expected euro with two decimals (12.34): {e}"),
            })?;
            let payee_text = fill(&p.payee);
            let payee: OrganizationFiscalCode =
                payee_text
                    .parse()
                    .map_err(|e: pa_types::ParseError| RowError::Field {
                        field: "payment.payee",
                        value: payee_text.clone(),
                        reason: e.to_string(),
                    })?;
            b = b.payment_data(
                PaymentData::new(nn, amount, payee)?
                    .invalid_after_due_date(p.invalid_after_due_date),
            );
        }
        if let Some(f) = &self.feature_level {
            b = b.feature_level(f.clone());
        }
        if let Some(ttl) = self.time_to_live {
            b = b.time_to_live(TimeToLive::from_secs(ttl)?);
        }
        if let Some(r) = self.require_secure_channels {
            b = b.require_secure_channels(r);
        }
        Ok(b.build()?)
    }
}

fn check_placeholders(field: &str, text: &str) -> Result<(), InputError> {
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else {
            return Err(InputError::Template(format!(
                "{field}: unclosed {{{{ placeholder"
            )));
        };
        if after[..end].trim().is_empty() {
            return Err(InputError::Template(format!(
                "{field}: empty {{{{}}}} placeholder"
            )));
        }
        rest = &after[end + 2..];
    }
    Ok(())
}

/// Replaces `{{name}}` with the value of `name` (absent names become empty text; templates are
/// checked against the CSV header beforehand). Values are inserted verbatim, never re-scanned.
fn fill(template: &str, fields: &BTreeMap<String, String>) -> String {
    let mut out = String::with_capacity(template.len() + 64);
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        match after.find("}}") {
            Some(end) => {
                let name = after[..end].trim();
                if let Some(v) = fields.get(name) {
                    out.push_str(v);
                }
                rest = &after[end + 2..];
            }
            None => {
                out.push_str(&rest[start..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fill_replaces_and_does_not_rescan_values() {
        let mut f = BTreeMap::new();
        f.insert("a".to_owned(), "{{b}}".to_owned());
        f.insert("b".to_owned(), "X".to_owned());
        assert_eq!(fill("1 {{ a }} 2 {{b}} {{zz}}.", &f), "1 {{b}} 2 X .");
        assert_eq!(fill("open {{a", &f), "open {{a");
    }

    #[test]
    fn fingerprint_changes_with_content() {
        let a = BulkRow::new("k", "RSSMRA80A01H501U").field("x", "1");
        let b = BulkRow::new("k", "RSSMRA80A01H501U").field("x", "2");
        assert_ne!(a.fingerprint(), b.fingerprint());
        assert_eq!(a.fingerprint(), a.clone().fingerprint());
    }
}
