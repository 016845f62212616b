//! Resumable bulk sending: one templated message per row, with a profile check, bounded
//! concurrency and a journal so that a crash or Ctrl-C neither loses a row nor sends one twice.
//!
//! Several workers (processes, instances) may run one job on one shared journal
//! ([`PgJournal`] with feature `postgres`, or one [`SqliteJournal`] file on one machine): each
//! row is taken by one worker at a time with [`Journal::claim`] under a lease that the worker
//! renews while it runs, so two workers never send the same message. A row another worker
//! holds is left to it and looked at again at the end of the pass, until it is settled; the
//! rows of a worker that died are taken over when its lease ends.
//!
//! For each row the sender:
//! 1. claims the row: a row already sent, skipped or failed for good is not touched again; a
//!    row marked *sending* by a run that stopped mid-request (or a worker that died) is
//!    *ambiguous* and handled by the [`AmbiguousPolicy`] (reported by default, never resent
//!    blindly); a row merely claimed by a dead worker is processed as new;
//! 2. fills in the template; an invalid message is recorded as failed and never sent;
//! 3. checks the profile: a citizen not on IO or who blocked the service is skipped, with the
//!    reason recorded;
//! 4. submits; the row is marked *sending* (durably, and only by its holder) right before
//!    each attempt is written — after the client's rate limit and any shared 429 pause — and
//!    put back when an attempt surely created nothing and is retried; then it records *sent*
//!    with the message id, or *failed* with the reason, or *ambiguous* when the answer was
//!    lost. Only then is the row acknowledged to the progress callback.

mod journal;
mod per_service;
#[cfg(feature = "postgres")]
mod pg;
mod template;

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::client::{IoClient, SubmitHook};
use crate::deps::CodiceFiscale;
use crate::error::{ApiError, Error, ForbiddenReason, JournalError, TransportError};
use crate::types::{MessageId, MessageStatus};

pub use journal::{
    Claim, ClaimRequest, FailureReason, Journal, JournalEntry, RowState, SkipReason, SqliteJournal,
};
pub use per_service::{SERVICE_COLUMN, ServiceClients};
#[cfg(feature = "postgres")]
pub use pg::{PG_MIGRATIONS, PgJournal};
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
    per_service: Option<Arc<ServiceClients>>,
    journal: Arc<dyn Journal>,
    template: Arc<Template>,
    concurrency: usize,
    check_profile: bool,
    ambiguous: AmbiguousPolicy,
    progress: Option<ProgressFn>,
    worker: Arc<str>,
    lease: Duration,
}

impl std::fmt::Debug for BulkSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BulkSender")
            .field("client", &self.client)
            .field("concurrency", &self.concurrency)
            .field("check_profile", &self.check_profile)
            .field("ambiguous", &self.ambiguous)
            .field("worker", &self.worker)
            .field("lease", &self.lease)
            .finish_non_exhaustive()
    }
}

impl BulkSender {
    /// A sender with concurrency 8, profile check on, [`AmbiguousPolicy::Report`], a lease of
    /// 30 s and a worker id made of the process id and random bits.
    pub fn new(client: IoClient, journal: Arc<dyn Journal>, template: Template) -> Self {
        let worker = format!("{}-{:016x}", std::process::id(), rand::random::<u64>());
        Self {
            client,
            per_service: None,
            journal,
            template: Arc::new(template),
            concurrency: 8,
            check_profile: true,
            ambiguous: AmbiguousPolicy::Report,
            progress: None,
            worker: worker.into(),
            lease: Duration::from_secs(30),
        }
    }

    /// The worker id under which rows are claimed (unique per running sender; a sender
    /// restarted with the same id takes its rows back at once instead of after the lease).
    #[must_use]
    pub fn worker_id(mut self, id: impl Into<String>) -> Self {
        self.worker = id.into().into();
        self
    }

    /// How long a claimed row stays this worker's without a renewal (default 30 s; at least
    /// 100 ms). The sender renews its leases every third of it; rows of a worker that died
    /// are taken over by others once it ends.
    #[must_use]
    pub fn lease(mut self, lease: Duration) -> Self {
        self.lease = lease.max(Duration::from_millis(100));
        self
    }

    /// Sends each row with the client of its service ([`ServiceClients`]) instead of the
    /// client given to [`new`](Self::new), for the profile check and the submission. A row
    /// without a configured service fails with [`FailureReason::NoServiceKey`], unsent.
    #[must_use]
    pub fn per_service(mut self, clients: ServiceClients) -> Self {
        self.per_service = Some(Arc::new(clients));
        self
    }

    /// The worker id.
    pub fn worker(&self) -> &str {
        &self.worker
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
        self.journal
            .bind_template(&self.template.fingerprint())
            .await?;
        let _heartbeat = Heartbeat::start(self.journal.clone(), self.worker.clone(), self.lease);
        let rows = rows.into_iter();
        let mut st = RunState {
            total: match rows.size_hint() {
                (lo, Some(hi)) if lo == hi => Some(lo),
                _ => None,
            },
            ..RunState::default()
        };
        let mut stop = std::pin::pin!(stop);
        let mut input = rows.enumerate().map(|(i, r)| (i as u64, r));
        let mut interrupted = self.drive(&mut input, true, &mut st, &mut stop).await;
        if interrupted || st.fatal.is_some() {
            let left = input.count();
            st.report.total += left;
            st.report.not_processed += left;
        }
        // Rows other workers held: look again until each is settled (or taken over once its
        // holder's lease ended).
        let poll = (self.lease / 4).clamp(Duration::from_millis(20), Duration::from_secs(2));
        if !st.deferred.is_empty() {
            tracing::info!(
                rows = st.deferred.len(),
                "rows held by other workers: waiting until they are settled or their leases end"
            );
        }
        while !interrupted && st.fatal.is_none() && !st.deferred.is_empty() {
            tokio::select! {
                biased;
                () = &mut stop => { interrupted = true; break; }
                () = tokio::time::sleep(poll) => {}
            }
            let mut again = std::mem::take(&mut st.deferred).into_iter();
            interrupted = self.drive(&mut again, false, &mut st, &mut stop).await;
            st.report.not_processed += again.count();
        }
        st.report.not_processed += st.deferred.len();
        st.report.interrupted = interrupted;
        match st.fatal {
            Some(e) => Err(e.into()),
            None => Ok(st.report),
        }
    }

    /// Processes `items` with bounded concurrency until they end, `stop` completes (returns
    /// true) or the journal fails.
    async fn drive<S: Future<Output = ()>>(
        &self,
        items: &mut impl Iterator<Item = (u64, BulkRow)>,
        from_input: bool,
        st: &mut RunState,
        stop: &mut Pin<&mut S>,
    ) -> bool {
        let permits = Arc::new(Semaphore::new(self.concurrency));
        let mut tasks: JoinSet<Joined> = JoinSet::new();
        let mut interrupted = false;
        while st.fatal.is_none() {
            let permit = tokio::select! {
                biased;
                () = stop.as_mut() => {
                    interrupted = true;
                    break;
                }
                p = permits.clone().acquire_owned() => match p {
                    Ok(p) => p,
                    Err(_) => break,
                },
            };
            while let Some(joined) = tasks.try_join_next() {
                self.finish(joined, st);
            }
            if st.fatal.is_some() {
                break;
            }
            let Some((seq, row)) = items.next() else {
                break;
            };
            if from_input {
                st.report.total += 1;
                if !st.seen.insert(row.key.clone()) {
                    let o = RowOutcome::Failed {
                        reason: FailureReason::Other,
                        detail: format!("duplicate row key {:?} in the input", row.key),
                    };
                    self.acknowledge(&row.key, &o, st);
                    continue;
                }
            }
            let ctx = self.clone();
            tasks.spawn(async move {
                let key = row.key.clone();
                let out = ctx.process(seq, row).await;
                drop(permit);
                (key, seq, out)
            });
        }
        while let Some(joined) = tasks.join_next().await {
            self.finish(joined, st);
        }
        interrupted
    }

    fn finish(&self, joined: Result<Joined, tokio::task::JoinError>, st: &mut RunState) {
        match joined {
            Ok((key, _, Ok(Step::Done(o)))) => self.acknowledge(&key, &o, st),
            Ok((_, seq, Ok(Step::Deferred(row)))) => st.deferred.push((seq, row)),
            Ok((_, _, Err(e))) => {
                st.fatal.get_or_insert(e);
            }
            Err(_) => {
                st.fatal.get_or_insert(JournalError::WriterStopped);
            }
        }
    }

    fn acknowledge(&self, key: &str, o: &RowOutcome, st: &mut RunState) {
        st.report.add(key, o);
        st.done += 1;
        if let Some(f) = &self.progress {
            f(&Progress {
                key,
                outcome: o,
                done: st.done,
                total: st.total,
            });
        }
    }

    fn entry(
        &self,
        row: &BulkRow,
        seq: u64,
        fp: &str,
        attempts: u32,
        state: RowState,
    ) -> JournalEntry {
        JournalEntry {
            key: row.key.clone(),
            seq,
            fiscal_code: row.fiscal_code.clone(),
            fingerprint: fp.to_owned(),
            state,
            attempts,
            updated_at: Utc::now(),
            service: self
                .per_service
                .as_deref()
                .and_then(|p| p.service_of(row))
                .map(str::to_owned),
        }
    }

    /// Records a final outcome reached without submitting, releasing the row; `Deferred` when
    /// another worker took the row meanwhile (its record stands).
    async fn record(
        &self,
        row: BulkRow,
        seq: u64,
        fp: &str,
        attempts: u32,
        outcome: RowOutcome,
    ) -> Result<Step, JournalError> {
        let e = self.entry(&row, seq, fp, attempts, outcome_state(&outcome));
        if self.journal.put_held(e, &self.worker, None).await? {
            Ok(Step::Done(outcome))
        } else {
            Ok(Step::Deferred(row))
        }
    }

    async fn release(&self, row: &BulkRow, o: RowOutcome) -> Result<Step, JournalError> {
        self.journal.release(&row.key, &self.worker).await?;
        Ok(Step::Done(o))
    }

    async fn process(&self, seq: u64, row: BulkRow) -> Result<Step, JournalError> {
        let fp = row.fingerprint();
        let claim = self
            .journal
            .claim(&ClaimRequest {
                key: &row.key,
                seq,
                fiscal_code: &row.fiscal_code,
                fingerprint: &fp,
                worker: &self.worker,
                lease: self.lease,
            })
            .await?;
        let p = match claim {
            Claim::Held { .. } => return Ok(Step::Deferred(row)),
            Claim::Sent(p) => {
                return Ok(Step::Done(if p.fingerprint == fp {
                    match p.state {
                        RowState::Sent { message_id, .. } => RowOutcome::AlreadySent(message_id),
                        other => changed(&row, &other),
                    }
                } else {
                    changed(&row, &p.state)
                }));
            }
            Claim::Acquired(p) => p,
        };
        // Attempts count over runs while the content stays the same.
        let attempts = if p.fingerprint == fp { p.attempts } else { 0 };
        // A row that was never submitted (claimed, failed or skipped) may be corrected between
        // runs: process its new content. A row that was, or may have been, submitted keeps its
        // record.
        let fresh = matches!(
            p.state,
            RowState::Claimed | RowState::Failed { .. } | RowState::Skipped(_)
        ) && (p.fingerprint != fp || p.state == RowState::Claimed);
        let mut prior = RowState::Claimed;
        if !fresh {
            if p.fingerprint != fp {
                // Leave the journal as it is: it records what was done with the old content.
                let o = changed(&row, &p.state);
                return self.release(&row, o).await;
            }
            match &p.state {
                RowState::Sent { message_id, .. } => {
                    let o = RowOutcome::AlreadySent(message_id.clone());
                    return self.release(&row, o).await;
                }
                RowState::Skipped(r) => {
                    let o = RowOutcome::Skipped(*r);
                    return self.release(&row, o).await;
                }
                RowState::Failed { reason, detail } if !reason.is_retryable() => {
                    let o = RowOutcome::Failed {
                        reason: *reason,
                        detail: detail.clone(),
                    };
                    return self.release(&row, o).await;
                }
                RowState::Sending | RowState::Ambiguous { .. } => {
                    let detail = match &p.state {
                        RowState::Ambiguous { detail } => detail.clone(),
                        _ => "a previous run stopped after marking the row as sending; \
                              the message may or may not have been delivered"
                            .to_owned(),
                    };
                    match self.ambiguous {
                        AmbiguousPolicy::Report => {
                            let o = RowOutcome::Ambiguous { detail };
                            return self.record(row, seq, &fp, attempts, o).await;
                        }
                        AmbiguousPolicy::ResendAcceptingDuplicates => {
                            // Put back as ambiguous if an attempt is retried, so that a worker
                            // with the default policy never resends it.
                            prior = RowState::Ambiguous { detail };
                        }
                    }
                }
                _ => {}
            }
        }
        let message = match self.template.render(&row) {
            Ok(m) => m,
            Err(e) => {
                let o = RowOutcome::Failed {
                    reason: FailureReason::Invalid,
                    detail: e.to_string(),
                };
                return self.record(row, seq, &fp, attempts, o).await;
            }
        };
        let client = match self.per_service.as_deref().map(|p| p.for_row(&row)) {
            None => &self.client,
            Some(Ok(c)) => c,
            Some(Err(o)) => return self.record(row, seq, &fp, attempts, o).await,
        };
        if self.check_profile {
            let o = match client.get_profile(message.fiscal_code()).await {
                Ok(p) if p.sender_allowed => None,
                Ok(_) => Some(RowOutcome::Skipped(SkipReason::ServiceBlocked)),
                Err(Error::Api(ApiError::ProfileNotFound { .. })) => {
                    Some(RowOutcome::Skipped(SkipReason::NotOnIo))
                }
                Err(e) => Some(failure(&e)),
            };
            if let Some(o) = o {
                return self.record(row, seq, &fp, attempts, o).await;
            }
        }
        let mut hook = MarkSending {
            sender: self,
            entry: self.entry(&row, seq, &fp, attempts, prior.clone()),
            prior,
            marked: false,
        };
        let result = client.submit_message_with(&message, &mut hook).await;
        let marked = hook.marked;
        let attempts = hook.entry.attempts;
        let o = match result {
            Ok(created) => RowOutcome::Sent(created.id),
            Err(Error::Journal(JournalError::LeaseLost { .. })) => {
                // Another worker took the row before this one wrote the request: its turn.
                return Ok(Step::Deferred(row));
            }
            Err(Error::Journal(e)) => return Err(e),
            Err(e) if e.may_have_been_delivered() => RowOutcome::Ambiguous {
                detail: e.to_string(),
            },
            Err(e) => failure(&e),
        };
        let e = self.entry(&row, seq, &fp, attempts, outcome_state(&o));
        if !self.journal.put_held(e.clone(), &self.worker, None).await? {
            if !marked {
                return Ok(Step::Deferred(row));
            }
            // This worker's lease ended while its request was in flight and another worker
            // took the row (and found it *sending*). What this worker saw is the truth.
            tracing::warn!(row = %row.key, "lease lost during the request; recording its outcome");
            self.journal.put(e).await?;
        }
        Ok(Step::Done(o))
    }
}

/// Marks the row *sending* right before each attempt is written, and back after an attempt
/// that created nothing.
struct MarkSending<'a> {
    sender: &'a BulkSender,
    entry: JournalEntry,
    prior: RowState,
    marked: bool,
}

#[async_trait::async_trait]
impl SubmitHook for MarkSending<'_> {
    async fn before_send(&mut self) -> Result<(), Error> {
        let mut e = self.entry.clone();
        e.attempts += 1;
        e.state = RowState::Sending;
        e.updated_at = Utc::now();
        let s = self.sender;
        if s.journal
            .put_held(e.clone(), &s.worker, Some(s.lease))
            .await?
        {
            self.entry = e;
            self.marked = true;
            Ok(())
        } else {
            Err(JournalError::LeaseLost { row: e.key }.into())
        }
    }

    async fn not_sent(&mut self) -> Result<(), Error> {
        let mut e = self.entry.clone();
        e.state = self.prior.clone();
        e.updated_at = Utc::now();
        let s = self.sender;
        if s.journal
            .put_held(e.clone(), &s.worker, Some(s.lease))
            .await?
        {
            self.entry = e;
            self.marked = false;
            Ok(())
        } else {
            Err(JournalError::LeaseLost { row: e.key }.into())
        }
    }
}

fn changed(row: &BulkRow, state: &RowState) -> RowOutcome {
    RowOutcome::Failed {
        reason: FailureReason::ChangedSinceLastRun,
        detail: format!(
            "row {:?} differs from the one recorded in the journal ({})",
            row.key,
            state.summary()
        ),
    }
}

fn outcome_state(o: &RowOutcome) -> RowState {
    match o {
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
    }
}

/// What became of a row in one pass.
enum Step {
    Done(RowOutcome),
    /// Another worker holds it: look again later.
    Deferred(BulkRow),
}

type Joined = (String, u64, Result<Step, JournalError>);

#[derive(Default)]
struct RunState {
    report: BulkReport,
    seen: BTreeSet<String>,
    done: usize,
    total: Option<usize>,
    fatal: Option<JournalError>,
    deferred: Vec<(u64, BulkRow)>,
}

/// Renews the worker's leases every third of the lease while a run lasts.
struct Heartbeat(tokio::task::JoinHandle<()>);

impl Heartbeat {
    fn start(journal: Arc<dyn Journal>, worker: Arc<str>, lease: Duration) -> Self {
        Self(tokio::spawn(async move {
            let mut tick = tokio::time::interval(lease / 3);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            tick.tick().await;
            loop {
                tick.tick().await;
                if let Err(e) = journal.renew(&worker, lease).await {
                    tracing::warn!(error = %e, "could not renew the bulk journal leases");
                }
            }
        }))
    }
}

impl Drop for Heartbeat {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl RowState {
    fn summary(&self) -> String {
        match self {
            Self::Claimed => "claimed".to_owned(),
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
/// final, and records it there, with one client for all messages.
///
/// # Errors
/// [`Error::Journal`] if the journal fails; per-message errors are in the report.
pub async fn check_delivery(
    client: &IoClient,
    journal: &dyn Journal,
    concurrency: usize,
) -> Result<DeliveryReport, Error> {
    check_delivery_with(journal, concurrency, |_| Ok(client.clone())).await
}

/// [`check_delivery`] for a job sent per service: each message is read with the client of the
/// service that sent it (the journal records it, [`JournalEntry::service`]); IO shows a
/// message only to its sender. A message whose service is not recorded, or has no client in
/// `clients`, is not read with another service's key: it is reported in
/// [`DeliveryReport::errors`].
///
/// # Errors
/// [`Error::Journal`] if the journal fails; per-message errors are in the report.
pub async fn check_delivery_per_service(
    clients: &ServiceClients,
    journal: &dyn Journal,
    concurrency: usize,
) -> Result<DeliveryReport, Error> {
    check_delivery_with(journal, concurrency, |e| match e.service.as_deref() {
        None => Err("no service is recorded for this row".to_owned()),
        Some(s) => clients
            .get(s)
            .cloned()
            .ok_or_else(|| format!("no key is configured for service {s:?}")),
    })
    .await
}

async fn check_delivery_with(
    journal: &dyn Journal,
    concurrency: usize,
    pick: impl Fn(&JournalEntry) -> Result<IoClient, String>,
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
        let client = match pick(&e) {
            Ok(c) => c,
            Err(why) => {
                report.checked += 1;
                report.errors.push((e.key.clone(), why));
                continue;
            }
        };
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
