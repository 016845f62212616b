//! Resumable bulk sending: one templated message per row, with a profile check, bounded
//! concurrency and a journal so that a crash or Ctrl-C neither loses a row nor sends one twice.
//!
//! For each row the sender:
//! 1. looks the row up in the journal: a row already sent, skipped or failed for good is not
//!    touched again; a row marked *sending* (the previous run stopped mid-request) is
//!    *ambiguous* and handled by the [`AmbiguousPolicy`] (reported by default, never resent
//!    blindly);
//! 2. fills in the template; an invalid message is recorded as failed and never sent;
//! 3. checks the profile: a citizen not on IO or who blocked the service is skipped, with the
//!    reason recorded;
//! 4. marks the row *sending* (durably), submits, then records *sent* with the message id, or
//!    *failed* with the reason, or *ambiguous* when the answer was lost. Only then is the row
//!    acknowledged to the progress callback.

mod journal;
mod template;

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::sync::Arc;

use chrono::Utc;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::client::IoClient;
use crate::deps::CodiceFiscale;
use crate::error::{ApiError, Error, ForbiddenReason, JournalError, TransportError};
use crate::types::{MessageId, MessageStatus};

pub use journal::{FailureReason, Journal, JournalEntry, RowState, SkipReason, SqliteJournal};
pub use template::{
    BulkRow, FISCAL_CODE_COLUMN, KEY_COLUMN, PaymentTemplate, RowError, Template, read_csv,
    read_csv_from,
};

/// What to do with a row whose previous submission has an unknown outcome (the run stopped
/// mid-request, or the answer was lost).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum AmbiguousPolicy {
    /// Record it as ambiguous and report it; do not send (default). Nothing is ever sent twice.
    #[default]
    Report,
    /// Send it again, accepting that the citizen may receive the message twice.
    ResendAcceptingDuplicates,
}

/// What happened to one row in this run.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RowOutcome {
    /// Sent now.
    Sent(MessageId),
    /// Sent in an earlier run.
    AlreadySent(MessageId),
    /// Not sent, on purpose.
    Skipped(SkipReason),
    /// Not sent: an error.
    Failed {
        /// Kind.
        reason: FailureReason,
        /// Details.
        detail: String,
    },
    /// Outcome unknown: may or may not have been delivered.
    Ambiguous {
        /// Details.
        detail: String,
    },
}

/// Progress of a run, given to the callback after each row is durably recorded.
#[derive(Debug)]
pub struct Progress<'a> {
    /// Key of the row just finished.
    pub key: &'a str,
    /// Its outcome.
    pub outcome: &'a RowOutcome,
    /// Rows finished so far.
    pub done: usize,
    /// Rows in the input, when known.
    pub total: Option<usize>,
}

/// Final report of a run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BulkReport {
    /// Rows read.
    pub total: usize,
    /// Sent in this run.
    pub sent: usize,
    /// Sent in an earlier run (not sent again).
    pub already_sent: usize,
    /// Skipped, by reason.
    pub skipped: BTreeMap<SkipReason, usize>,
    /// Failed, by reason.
    pub failed: BTreeMap<FailureReason, usize>,
    /// Failed rows: key, reason, details.
    pub failures: Vec<(String, FailureReason, String)>,
    /// Keys of ambiguous rows (to be checked by an operator).
    pub ambiguous: Vec<String>,
    /// The run was stopped before every row was processed.
    pub interrupted: bool,
    /// Rows not processed because of the stop.
    pub not_processed: usize,
}

impl BulkReport {
    /// Whether every row was sent (now or earlier) or skipped on purpose.
    pub fn is_complete_success(&self) -> bool {
        !self.interrupted && self.failed.is_empty() && self.ambiguous.is_empty()
    }

    fn add(&mut self, key: &str, o: &RowOutcome) {
        match o {
            RowOutcome::Sent(_) => self.sent += 1,
            RowOutcome::AlreadySent(_) => self.already_sent += 1,
            RowOutcome::Skipped(r) => *self.skipped.entry(*r).or_default() += 1,
            RowOutcome::Failed { reason, detail } => {
                *self.failed.entry(*reason).or_default() += 1;
                self.failures
                    .push((key.to_owned(), *reason, detail.clone()));
            }
            RowOutcome::Ambiguous { .. } => self.ambiguous.push(key.to_owned()),
        }
    }
}

type ProgressFn = Arc<dyn Fn(&Progress<'_>) + Send + Sync>;

/// Sends one templated message per row; see the [module documentation](self).
#[derive(Clone)]
pub struct BulkSender {
    client: IoClient,
    journal: Arc<dyn Journal>,
    template: Arc<Template>,
    concurrency: usize,
    check_profile: bool,
    ambiguous: AmbiguousPolicy,
    progress: Option<ProgressFn>,
}

impl std::fmt::Debug for BulkSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BulkSender")
            .field("client", &self.client)
            .field("concurrency", &self.concurrency)
            .field("check_profile", &self.check_profile)
            .field("ambiguous", &self.ambiguous)
            .finish_non_exhaustive()
    }
}

impl BulkSender {
    /// A sender with concurrency 8, profile check on and [`AmbiguousPolicy::Report`].
    pub fn new(client: IoClient, journal: Arc<dyn Journal>, template: Template) -> Self {
        Self {
            client,
            journal,
            template: Arc::new(template),
            concurrency: 8,
            check_profile: true,
            ambiguous: AmbiguousPolicy::Report,
            progress: None,
        }
    }

    /// Rows processed at once (at least 1). The client's own limits also apply.
    #[must_use]
    pub fn concurrency(mut self, n: usize) -> Self {
        self.concurrency = n.max(1);
        self
    }

    /// Whether to check each citizen's profile before sending (default true, as the API asks).
    #[must_use]
    pub fn check_profile(mut self, yes: bool) -> Self {
        self.check_profile = yes;
        self
    }

    /// Policy for rows whose earlier submission has an unknown outcome.
    #[must_use]
    pub fn ambiguous_policy(mut self, p: AmbiguousPolicy) -> Self {
        self.ambiguous = p;
        self
    }

    /// Called after each row is durably recorded.
    #[must_use]
    pub fn on_progress(mut self, f: impl Fn(&Progress<'_>) + Send + Sync + 'static) -> Self {
        self.progress = Some(Arc::new(f));
        self
    }

    /// Processes every row.
    ///
    /// # Errors
    /// [`Error::Journal`] if the journal fails (the run stops: nothing is sent that cannot be
    /// recorded). Row-level problems are in the report, not errors.
    pub async fn run(&self, rows: impl IntoIterator<Item = BulkRow>) -> Result<BulkReport, Error> {
        self.run_until(rows, std::future::pending()).await
    }

    /// Processes rows until `stop` completes (for example on Ctrl-C): then no new row is
    /// started, rows in flight are finished and recorded, and the report says how many rows
    /// were not processed. A later run with the same journal resumes.
    ///
    /// # Errors
    /// As [`run`](Self::run).
    pub async fn run_until(
        &self,
        rows: impl IntoIterator<Item = BulkRow>,
        stop: impl Future<Output = ()>,
    ) -> Result<BulkReport, Error> {
        let previous = Arc::new(self.journal.load().await?);
        self.journal
            .bind_template(&self.template.fingerprint())
            .await?;
        let rows = rows.into_iter();
        let total = match rows.size_hint() {
            (lo, Some(hi)) if lo == hi => Some(lo),
            _ => None,
        };
        let permits = Arc::new(Semaphore::new(self.concurrency));
        let mut tasks: JoinSet<(String, Result<RowOutcome, JournalError>)> = JoinSet::new();
        let mut report = BulkReport::default();
        let mut seen = BTreeSet::new();
        let mut done = 0usize;
        let mut fatal: Option<JournalError> = None;
        let mut stop = std::pin::pin!(stop);
        let mut rows = rows.enumerate();
        while fatal.is_none() {
            let permit = tokio::select! {
                biased;
                () = &mut stop => {
                    report.interrupted = true;
                    break;
                }
                p = permits.clone().acquire_owned() => match p {
                    Ok(p) => p,
                    Err(_) => break,
                },
            };
            while let Some(joined) = tasks.try_join_next() {
                self.finish(joined, &mut report, &mut done, total, &mut fatal);
            }
            if fatal.is_some() {
                break;
            }
            let Some((seq, row)) = rows.next() else { break };
            report.total += 1;
            if !seen.insert(row.key.clone()) {
                let o = RowOutcome::Failed {
                    reason: FailureReason::Other,
                    detail: format!("duplicate row key {:?} in the input", row.key),
                };
                self.acknowledge(&row.key, &o, &mut report, &mut done, total);
                continue;
            }
            let ctx = self.clone();
            let previous = previous.clone();
            tasks.spawn(async move {
                let prev = previous.get(&row.key).cloned();
                let key = row.key.clone();
                let out = ctx.process(seq as u64, row, prev).await;
                drop(permit);
                (key, out)
            });
        }
        if report.interrupted || fatal.is_some() {
            report.not_processed = rows.count();
            report.total += report.not_processed;
        }
        while let Some(joined) = tasks.join_next().await {
            self.finish(joined, &mut report, &mut done, total, &mut fatal);
        }
        match fatal {
            Some(e) => Err(e.into()),
            None => Ok(report),
        }
    }

    fn finish(
        &self,
        joined: Result<(String, Result<RowOutcome, JournalError>), tokio::task::JoinError>,
        report: &mut BulkReport,
        done: &mut usize,
        total: Option<usize>,
        fatal: &mut Option<JournalError>,
    ) {
        match joined {
            Ok((key, Ok(o))) => self.acknowledge(&key, &o, report, done, total),
            Ok((_, Err(e))) => {
                fatal.get_or_insert(e);
            }
            Err(_) => {
                fatal.get_or_insert(JournalError::WriterStopped);
            }
        }
    }

    fn acknowledge(
        &self,
        key: &str,
        o: &RowOutcome,
        report: &mut BulkReport,
        done: &mut usize,
        total: Option<usize>,
    ) {
        report.add(key, o);
        *done += 1;
        if let Some(f) = &self.progress {
            f(&Progress {
                key,
                outcome: o,
                done: *done,
                total,
            });
        }
    }

    async fn put(
        &self,
        row: &BulkRow,
        seq: u64,
        fingerprint: &str,
        attempts: u32,
        state: RowState,
    ) -> Result<(), JournalError> {
        self.journal
            .put(JournalEntry {
                key: row.key.clone(),
                seq,
                fiscal_code: row.fiscal_code.clone(),
                fingerprint: fingerprint.to_owned(),
                state,
                attempts,
                updated_at: Utc::now(),
            })
            .await
    }

    async fn record(
        &self,
        row: &BulkRow,
        seq: u64,
        fp: &str,
        attempts: u32,
        outcome: RowOutcome,
    ) -> Result<RowOutcome, JournalError> {
        let state = match &outcome {
            RowOutcome::Sent(id) | RowOutcome::AlreadySent(id) => RowState::Sent {
                message_id: id.clone(),
                delivery: None,
            },
            RowOutcome::Skipped(r) => RowState::Skipped(*r),
            RowOutcome::Failed { reason, detail } => RowState::Failed {
                reason: *reason,
                detail: detail.clone(),
            },
            RowOutcome::Ambiguous { detail } => RowState::Ambiguous {
                detail: detail.clone(),
            },
        };
        self.put(row, seq, fp, attempts, state).await?;
        Ok(outcome)
    }

    async fn process(
        &self,
        seq: u64,
        row: BulkRow,
        prev: Option<JournalEntry>,
    ) -> Result<RowOutcome, JournalError> {
        let fp = row.fingerprint();
        let mut attempts = 0;
        // A row that was never submitted (failed or skipped) may be corrected between runs:
        // process its new content. A row that was, or may have been, submitted keeps its record.
        let prev = prev.filter(|p| {
            p.fingerprint == fp
                || !matches!(p.state, RowState::Failed { .. } | RowState::Skipped(_))
        });
        if let Some(p) = &prev {
            if p.fingerprint != fp {
                // Leave the journal as it is: it records what was done with the old content.
                return Ok(RowOutcome::Failed {
                    reason: FailureReason::ChangedSinceLastRun,
                    detail: format!(
                        "row {:?} differs from the one recorded in the journal ({})",
                        row.key,
                        p.state.summary()
                    ),
                });
            }
            attempts = p.attempts;
            match &p.state {
                RowState::Sent { message_id, .. } => {
                    return Ok(RowOutcome::AlreadySent(message_id.clone()));
                }
                RowState::Skipped(r) => return Ok(RowOutcome::Skipped(*r)),
                RowState::Failed { reason, detail } if !reason.is_retryable() => {
                    return Ok(RowOutcome::Failed {
                        reason: *reason,
                        detail: detail.clone(),
                    });
                }
                RowState::Failed { .. } => {}
                RowState::Sending | RowState::Ambiguous { .. } => match self.ambiguous {
                    AmbiguousPolicy::Report => {
                        let detail = match &p.state {
                            RowState::Ambiguous { detail } => detail.clone(),
                            _ => "a previous run stopped after marking the row as sending; \
                                  the message may or may not have been delivered"
                                .to_owned(),
                        };
                        let o = RowOutcome::Ambiguous { detail };
                        return self.record(&row, seq, &fp, attempts, o).await;
                    }
                    AmbiguousPolicy::ResendAcceptingDuplicates => {}
                },
            }
        }
        let message = match self.template.render(&row) {
            Ok(m) => m,
            Err(e) => {
                let o = RowOutcome::Failed {
                    reason: FailureReason::Invalid,
                    detail: e.to_string(),
                };
                return self.record(&row, seq, &fp, attempts, o).await;
            }
        };
        if self.check_profile {
            let o = match self.client.get_profile(message.fiscal_code()).await {
                Ok(p) if p.sender_allowed => None,
                Ok(_) => Some(RowOutcome::Skipped(SkipReason::ServiceBlocked)),
                Err(Error::Api(ApiError::ProfileNotFound { .. })) => {
                    Some(RowOutcome::Skipped(SkipReason::NotOnIo))
                }
                Err(e) => Some(failure(&e)),
            };
            if let Some(o) = o {
                return self.record(&row, seq, &fp, attempts, o).await;
            }
        }
        attempts += 1;
        self.put(&row, seq, &fp, attempts, RowState::Sending)
            .await?;
        let o = match self.client.submit_message(&message).await {
            Ok(created) => RowOutcome::Sent(created.id),
            Err(e) if e.may_have_been_delivered() => RowOutcome::Ambiguous {
                detail: e.to_string(),
            },
            Err(e) => failure(&e),
        };
        self.record(&row, seq, &fp, attempts, o).await
    }
}

impl RowState {
    fn summary(&self) -> String {
        match self {
            Self::Sending => "marked sending".to_owned(),
            Self::Sent { message_id, .. } => format!("sent as {message_id}"),
            Self::Skipped(r) => format!("skipped: {r}"),
            Self::Failed { reason, .. } => format!("failed: {reason}"),
            Self::Ambiguous { .. } => "ambiguous".to_owned(),
        }
    }
}

fn failure(e: &Error) -> RowOutcome {
    let reason = match e {
        Error::Validation(_) | Error::Input(_) => FailureReason::Invalid,
        Error::Api(ApiError::Forbidden {
            reason: ForbiddenReason::RecipientForbidden,
            ..
        }) => FailureReason::RecipientForbidden,
        Error::Api(ApiError::Forbidden { .. }) => FailureReason::Forbidden,
        Error::Api(ApiError::Unauthorized { .. }) => FailureReason::Unauthorized,
        Error::Api(ApiError::BadRequest { .. }) => FailureReason::BadRequest,
        Error::Api(ApiError::Throttled { .. }) => FailureReason::Throttled,
        Error::Api(ApiError::Server { .. }) => FailureReason::ServerError,
        Error::Transport(TransportError::Connect(_) | TransportError::AnswerLost(_)) => {
            // An answer lost on a profile look-up (idempotent) is harmless: retry later.
            FailureReason::Transport
        }
        _ => FailureReason::Other,
    };
    RowOutcome::Failed {
        reason,
        detail: e.to_string(),
    }
}

/// Result of a delivery-status check.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeliveryReport {
    /// Sent messages checked.
    pub checked: usize,
    /// Count by processing status (`PROCESSED`, `REJECTED`, ...; `UNKNOWN` when not given).
    pub by_status: BTreeMap<String, usize>,
    /// Rows whose status could not be read: key and error.
    pub errors: Vec<(String, String)>,
}

/// Reads the processing status of every sent message in the journal whose status is not yet
/// final, and records it there.
///
/// # Errors
/// [`Error::Journal`] if the journal fails; per-message errors are in the report.
pub async fn check_delivery(
    client: &IoClient,
    journal: &dyn Journal,
    concurrency: usize,
) -> Result<DeliveryReport, Error> {
    let entries = journal.load().await?;
    let mut report = DeliveryReport::default();
    let permits = Arc::new(Semaphore::new(concurrency.max(1)));
    let mut tasks = JoinSet::new();
    for e in entries.into_values() {
        let RowState::Sent {
            message_id,
            delivery,
        } = &e.state
        else {
            continue;
        };
        if delivery.as_ref().is_some_and(MessageStatus::is_final) {
            report.checked += 1;
            *report
                .by_status
                .entry(
                    delivery
                        .as_ref()
                        .map_or("UNKNOWN".to_owned(), |d| d.to_string()),
                )
                .or_default() += 1;
            continue;
        }
        let id = message_id.clone();
        let client = client.clone();
        let permit = permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| JournalError::WriterStopped)?;
        tasks.spawn(async move {
            let r = match e.fiscal_code.parse::<CodiceFiscale>() {
                Ok(cf) => client.get_message(&cf, &id).await,
                Err(err) => Err(Error::Validation(crate::error::ValidationError::Format {
                    field: "fiscal_code",
                    expected: "a codice fiscale",
                    found: format!("{}: {err}", e.fiscal_code),
                })),
            };
            drop(permit);
            (e, id, r)
        });
    }
    while let Some(j) = tasks.join_next().await {
        let Ok((mut e, id, r)) = j else { continue };
        report.checked += 1;
        match r {
            Ok(d) => {
                let label = d
                    .status
                    .as_ref()
                    .map_or("UNKNOWN".to_owned(), ToString::to_string);
                *report.by_status.entry(label).or_default() += 1;
                e.state = RowState::Sent {
                    message_id: id,
                    delivery: d.status,
                };
                e.updated_at = Utc::now();
                journal.put(e).await?;
            }
            Err(err) => report.errors.push((e.key.clone(), err.to_string())),
        }
    }
    Ok(report)
}
