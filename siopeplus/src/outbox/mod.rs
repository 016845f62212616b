//! Durable outbox: a flow to send is persisted first, then uploaded, and followed through the
//! ACK, the treasurer's ricezione / rifiuto and the esiti applicativi.
//!
//! Rules:
//! * [`Outbox::enqueue`] returns only once the flow is durably stored; a flow it accepted is
//!   never lost (it stays in the store until it reaches a final state).
//! * Before an upload the entry is marked `Uploading` (durably). If the process stops before
//!   the answer is recorded, the outcome is unknown; the next [`Outbox::process`] first looks for
//!   the flow's ACK on the channel and uploads again only when none is found and the grace
//!   period has passed. So a flow that may have been accepted is never re-sent blindly.
//! * Every instance may run the sender on a shared store: [`Outbox::process`] claims entries
//!   with row leases ([`OutboxStore::claim`]), renews the lease right before an upload (and
//!   while it runs), and skips an entry whose lease another instance took. The entries of an
//!   instance that died are claimed again once its leases expire; an entry it left
//!   `Uploading` is then first looked up in the ACK list, as after a restart.
//! * Every transition is committed before the store returns ([`SqliteOutbox`]: one SQLite
//!   transaction, WAL, `synchronous=FULL`; `PgOutbox`: one PostgreSQL statement).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{Local, NaiveDateTime};

#[cfg(feature = "postgres")]
pub(crate) mod postgres;
mod sqlite;

#[cfg(feature = "postgres")]
pub use postgres::PgOutbox;
pub use sqlite::SqliteOutbox;

use crate::client::{A2aClient, ListKind, ListQuery};
use crate::error::{Error, OutboxError, TransportError};
use pa_types::Amount;

use crate::messages::{
    AckSiope, EsitoOperazione, EsitoOrdinativo, Messaggio, StatoFlusso, TipoOperazioneMovimento,
    TipoOrdinativo, parse_message,
};
use crate::model::Ordinativo;

/// Where an outbox entry stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OutboxState {
    /// Stored, not sent yet.
    Pending,
    /// An upload was started; its outcome is not recorded (unknown after a crash).
    Uploading,
    /// SIOPE+ answered 201 to the upload.
    Uploaded,
    /// ACK with `stato_flusso` OK or WARNING.
    AckOk,
    /// ACK KO: SIOPE+ refused the flow (final; the flow needs correcting and a new identifier).
    AckKo,
    /// The treasurer acknowledged receipt (`messaggio_ricezione_flusso`).
    Ricevuto,
    /// The treasurer refused the flow (`messaggio_rifiuto_flusso`, final).
    Rifiutato,
    /// Esiti applicativi arrived for the flow; some orders are not final yet (the outbox
    /// keeps following later esiti and the giornale di cassa).
    InCorso,
    /// Every order of the flow reached a final state: executed, refused or cancelled (final).
    Completed,
    /// Given up: SIOPE+ refused the upload itself with a permanent 4xx answer (final; the
    /// reason is in the entry's `detail`).
    Failed,
}

impl OutboxState {
    /// Stored spelling.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            OutboxState::Pending => "pending",
            OutboxState::Uploading => "uploading",
            OutboxState::Uploaded => "uploaded",
            OutboxState::AckOk => "ack_ok",
            OutboxState::AckKo => "ack_ko",
            OutboxState::Ricevuto => "ricevuto",
            OutboxState::Rifiutato => "rifiutato",
            OutboxState::InCorso => "in_corso",
            OutboxState::Completed => "completed",
            OutboxState::Failed => "failed",
        }
    }

    pub(crate) fn parse(s: &str) -> Result<Self, OutboxError> {
        Ok(match s {
            "pending" => OutboxState::Pending,
            "uploading" => OutboxState::Uploading,
            "uploaded" => OutboxState::Uploaded,
            "ack_ok" => OutboxState::AckOk,
            "ack_ko" => OutboxState::AckKo,
            "ricevuto" => OutboxState::Ricevuto,
            "rifiutato" => OutboxState::Rifiutato,
            "in_corso" => OutboxState::InCorso,
            "completed" => OutboxState::Completed,
            "failed" => OutboxState::Failed,
            other => return Err(OutboxError::Db(format!("unknown state {other:?}"))),
        })
    }

    /// No further work for the outbox.
    #[must_use]
    pub fn is_final(self) -> bool {
        matches!(
            self,
            OutboxState::AckKo
                | OutboxState::Rifiutato
                | OutboxState::Completed
                | OutboxState::Failed
        )
    }
}

/// Where one order of a flow stands, from the esiti applicativi and the giornale di cassa.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum OrderState {
    /// In a flow sent; no esito yet.
    Sent,
    /// The treasurer took it (ACQUISITO, or a variation that left it standing).
    Accepted,
    /// The treasurer refused it (NON ACQUISITO, NON ESEGUIBILE; final), with the code in
    /// [`OrderStatus::code`].
    Refused,
    /// Paid, collected or regularised (PAGATO, RISCOSSO, REGOLARIZZATO, or an executed
    /// movement in the giornale di cassa; final).
    Executed,
    /// Cancelled, replaced or reversed (ANNULLATO, SOSTITUITO, STORNATO; final).
    Cancelled,
}

impl OrderState {
    /// Stored spelling.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            OrderState::Sent => "sent",
            OrderState::Accepted => "accepted",
            OrderState::Refused => "refused",
            OrderState::Executed => "executed",
            OrderState::Cancelled => "cancelled",
        }
    }

    pub(crate) fn parse(s: &str) -> Result<Self, OutboxError> {
        Ok(match s {
            "sent" => OrderState::Sent,
            "accepted" => OrderState::Accepted,
            "refused" => OrderState::Refused,
            "executed" => OrderState::Executed,
            "cancelled" => OrderState::Cancelled,
            other => return Err(OutboxError::Db(format!("unknown order state {other:?}"))),
        })
    }

    /// No further change expected.
    #[must_use]
    pub fn is_final(self) -> bool {
        matches!(
            self,
            OrderState::Refused | OrderState::Executed | OrderState::Cancelled
        )
    }

    /// Later states never go back to earlier ones (an old ACQUISITO read after PAGATO).
    fn rank(self) -> u8 {
        match self {
            OrderState::Sent => 0,
            OrderState::Accepted => 1,
            _ => 2,
        }
    }
}

/// One order of an outbox entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderStatus {
    /// Mandato or reversale.
    pub tipo: TipoOrdinativo,
    /// `numero_mandato` / `numero_reversale`.
    pub numero: u64,
    /// The flow's `esercizio`.
    pub esercizio: u16,
    /// `importo_mandato` / `importo_reversale`.
    pub importo: Option<Amount>,
    /// Where it stands.
    pub state: OrderState,
    /// The last `esito_operazione` (or `GIORNALE <tipo_operazione>`).
    pub esito: Option<String>,
    /// The treasurer's error codes (`codice_errore`, comma-separated) of a refusal.
    pub code: Option<String>,
    /// The treasurer's descriptions.
    pub detail: Option<String>,
}

impl OrderStatus {
    /// An order just sent.
    #[must_use]
    pub fn sent(
        tipo: TipoOrdinativo,
        numero: u64,
        esercizio: u16,
        importo: Option<Amount>,
    ) -> Self {
        OrderStatus {
            tipo,
            numero,
            esercizio,
            importo,
            state: OrderState::Sent,
            esito: None,
            code: None,
            detail: None,
        }
    }
}

impl std::fmt::Display for OrderStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let k = match self.tipo {
            TipoOrdinativo::Mandato => "mandato",
            TipoOrdinativo::Reversale => "reversale",
        };
        write!(
            f,
            "{k} {}/{}: {}",
            self.numero,
            self.esercizio,
            self.state.as_str()
        )?;
        if let Some(c) = &self.code {
            write!(f, " (codice {c})")?;
        }
        Ok(())
    }
}

pub(crate) fn tipo_str(t: TipoOrdinativo) -> &'static str {
    match t {
        TipoOrdinativo::Mandato => "mandato",
        TipoOrdinativo::Reversale => "reversale",
    }
}

pub(crate) fn parse_tipo(s: &str) -> Result<TipoOrdinativo, OutboxError> {
    match s {
        "mandato" => Ok(TipoOrdinativo::Mandato),
        "reversale" => Ok(TipoOrdinativo::Reversale),
        other => Err(OutboxError::Db(format!("unknown order kind {other:?}"))),
    }
}

/// One flow in the outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxEntry {
    /// Store id.
    pub id: i64,
    /// `identificativo_flusso`.
    pub identificativo_flusso: String,
    /// Current state.
    pub state: OutboxState,
    /// `progFlusso` from the upload answer.
    pub prog_flusso: Option<i64>,
    /// When the last upload attempt started.
    pub attempted_at: Option<NaiveDateTime>,
    /// Upload attempts started.
    pub attempts: u32,
    /// Last note (error text, ACK errors...).
    pub detail: Option<String>,
}

/// A message stored with an entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredMessage {
    /// `ack`, `esitoflusso`, `esitoapplicativo`.
    pub kind: String,
    /// Where it was downloaded from.
    pub location: String,
    /// The XML.
    pub xml: Vec<u8>,
}

/// Storage of the outbox. Every method must be durable when it returns.
#[async_trait::async_trait]
pub trait OutboxStore: Send + Sync {
    /// Stores a new flow as `Pending`.
    ///
    /// # Errors
    /// [`OutboxError::Duplicate`] when the identifier is already stored, [`OutboxError::Db`].
    async fn insert(&self, identificativo_flusso: &str, xml: &[u8]) -> Result<i64, OutboxError>;
    /// One entry.
    ///
    /// # Errors
    /// [`OutboxError::NotFound`], [`OutboxError::Db`].
    async fn get(&self, id: i64) -> Result<OutboxEntry, OutboxError>;
    /// The stored XML of an entry.
    ///
    /// # Errors
    /// [`OutboxError::NotFound`], [`OutboxError::Db`].
    async fn xml(&self, id: i64) -> Result<Vec<u8>, OutboxError>;
    /// Entries not in a final state, oldest first.
    ///
    /// # Errors
    /// [`OutboxError::Db`].
    async fn open_entries(&self) -> Result<Vec<OutboxEntry>, OutboxError>;
    /// Marks an upload attempt as started at `at`.
    ///
    /// # Errors
    /// [`OutboxError::Db`].
    async fn begin_upload(&self, id: i64, at: NaiveDateTime) -> Result<(), OutboxError>;
    /// Moves an entry to `state`, recording `prog_flusso` (when `Some`) and a note.
    ///
    /// # Errors
    /// [`OutboxError::Db`].
    async fn transition(
        &self,
        id: i64,
        state: OutboxState,
        prog_flusso: Option<i64>,
        detail: Option<&str>,
    ) -> Result<(), OutboxError>;
    /// Stores a message downloaded for an entry (idempotent on kind + location).
    ///
    /// # Errors
    /// [`OutboxError::Db`].
    async fn save_message(&self, id: i64, msg: &StoredMessage) -> Result<(), OutboxError>;
    /// The messages stored for an entry.
    ///
    /// # Errors
    /// [`OutboxError::Db`].
    async fn messages(&self, id: i64) -> Result<Vec<StoredMessage>, OutboxError>;

    /// The orders recorded for an entry, in flow order.
    ///
    /// # Errors
    /// [`OutboxError::Db`].
    async fn orders(&self, id: i64) -> Result<Vec<OrderStatus>, OutboxError>;
    /// Records (inserts or replaces) one order of an entry.
    ///
    /// # Errors
    /// [`OutboxError::NotFound`] for an unknown entry, [`OutboxError::Db`].
    async fn put_order(&self, id: i64, order: &OrderStatus) -> Result<(), OutboxError>;
    /// The `limit` most recent entries in every state, newest first (for status reports).
    ///
    /// # Errors
    /// [`OutboxError::Db`].
    async fn recent_entries(&self, limit: usize) -> Result<Vec<OutboxEntry>, OutboxError>;

    /// Claims for `owner`, until `lease` from now, up to `limit` open entries with an id
    /// greater than `after_id`, oldest first: those nobody holds, those whose lease expired
    /// (the holder died or stalled) and those `owner` already holds. An entry claimed by
    /// someone else and not expired is never returned.
    ///
    /// The default (for a store used by one process only) takes no lease and returns the
    /// open entries.
    ///
    /// # Errors
    /// [`OutboxError::Db`].
    async fn claim(
        &self,
        owner: &str,
        lease: Duration,
        after_id: i64,
        limit: usize,
    ) -> Result<Vec<OutboxEntry>, OutboxError> {
        let _ = (owner, lease);
        Ok(self
            .open_entries()
            .await?
            .into_iter()
            .filter(|e| e.id > after_id)
            .take(limit)
            .collect())
    }

    /// Extends `owner`'s lease on an entry to `lease` from now. `false` when `owner` no
    /// longer holds it (another instance claimed it after the lease expired, or it was
    /// released): then `owner` must leave the entry alone.
    ///
    /// The default (one process) always answers `true`.
    ///
    /// # Errors
    /// [`OutboxError::Db`].
    async fn renew(&self, id: i64, owner: &str, lease: Duration) -> Result<bool, OutboxError> {
        let _ = (id, owner, lease);
        Ok(true)
    }

    /// Gives up `owner`'s lease on an entry (nothing when `owner` does not hold it).
    ///
    /// # Errors
    /// [`OutboxError::Db`].
    async fn release(&self, id: i64, owner: &str) -> Result<(), OutboxError> {
        let _ = (id, owner);
        Ok(())
    }
}

pub(crate) fn now() -> NaiveDateTime {
    Local::now().naive_local()
}

/// Default lease on claimed entries.
pub const DEFAULT_LEASE: Duration = Duration::from_secs(120);

/// Entries claimed at once by [`Outbox::process`].
const DEFAULT_BATCH: usize = 16;

fn fresh_owner() -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    let host = std::env::var("HOSTNAME").unwrap_or_default();
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!(
        "{host}:{}:{nanos:x}:{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// Steps at which a test can inject a crash.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Step {
    /// The flow is stored; `enqueue` has not returned.
    AfterPersist,
    /// `Uploading` is recorded; the request is not sent.
    BeforeUpload,
    /// SIOPE+ answered 201; the answer is not recorded.
    AfterUpload,
    /// The ACK was downloaded; the state is not recorded.
    AfterAck,
    /// The ricezione / rifiuto was downloaded; the state is not recorded.
    AfterEsitoFlusso,
    /// The esiti applicativi were downloaded; the state is not recorded.
    AfterEsitoApplicativo,
}

impl Step {
    fn name(self) -> &'static str {
        match self {
            Step::AfterPersist => "after persist",
            Step::BeforeUpload => "before upload",
            Step::AfterUpload => "after upload",
            Step::AfterAck => "after ACK",
            Step::AfterEsitoFlusso => "after esito flusso",
            Step::AfterEsitoApplicativo => "after esito applicativo",
        }
    }
}

/// Failure injection for tests: return an error to simulate a crash at `step`.
pub trait FailPoints: Send + Sync {
    /// Called at each step.
    ///
    /// # Errors
    /// [`OutboxError::Injected`] to simulate a crash.
    fn check(&self, step: Step) -> Result<(), OutboxError>;
}

/// Fails once at the given step.
#[derive(Debug)]
pub struct FailOnce(Mutex<Option<Step>>);

impl FailOnce {
    /// Fails the first time `step` is reached.
    #[must_use]
    pub fn at(step: Step) -> Self {
        FailOnce(Mutex::new(Some(step)))
    }
}

impl FailPoints for FailOnce {
    fn check(&self, step: Step) -> Result<(), OutboxError> {
        let mut s = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if *s == Some(step) {
            *s = None;
            return Err(OutboxError::Injected(step.name()));
        }
        Ok(())
    }
}

/// The outbox: a store and a client.
pub struct Outbox<S: OutboxStore> {
    store: Arc<S>,
    client: A2aClient,
    grace: Duration,
    faults: Option<Arc<dyn FailPoints>>,
    owner: String,
    lease: Duration,
    batch: usize,
}

impl<S: OutboxStore> std::fmt::Debug for Outbox<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outbox")
            .field("grace", &self.grace)
            .field("owner", &self.owner)
            .field("lease", &self.lease)
            .finish_non_exhaustive()
    }
}

fn injected(e: &Error) -> bool {
    matches!(e, Error::Outbox(OutboxError::Injected(_)))
}

/// Whether a failed upload certainly left nothing on the server and may be retried.
fn certainly_not_processed(e: &Error) -> bool {
    match e {
        Error::Transport(TransportError::RetriesExhausted { .. } | TransportError::Config(_)) => {
            true
        }
        Error::Transport(TransportError::Status { status, .. }) => {
            matches!(status, 408 | 425 | 429)
        }
        Error::Io(_) => true,
        _ => false,
    }
}

/// Whether SIOPE+ refused the upload for good (a 4xx other than timeout / too early /
/// throttling): sending the same bytes again would be refused again.
fn permanently_refused(e: &Error) -> Option<u16> {
    match e {
        Error::Transport(TransportError::Status { status, .. })
            if (400..500).contains(status) && !matches!(status, 408 | 425 | 429) =>
        {
            Some(*status)
        }
        _ => None,
    }
}

impl<S: OutboxStore> Outbox<S> {
    /// An outbox over `store` sending with `client`. `grace` is how long after an upload with
    /// unknown outcome the outbox waits for an ACK before uploading again; with several
    /// instances keep it at least the lease ([`DEFAULT_LEASE`]), so that an instance that
    /// stalled (rather than died) is not overtaken mid-upload.
    ///
    /// Each `Outbox` value is its own lease owner (a fresh name from host, process id and
    /// time); [`Outbox::with_owner`] sets another.
    #[must_use]
    pub fn new(store: Arc<S>, client: A2aClient, grace: Duration) -> Self {
        Outbox {
            store,
            client,
            grace,
            faults: None,
            owner: fresh_owner(),
            lease: DEFAULT_LEASE,
            batch: DEFAULT_BATCH,
        }
    }

    /// How long a claim on an entry lasts without renewal (default [`DEFAULT_LEASE`]); the
    /// lease is renewed every third of it while an upload runs. Another instance takes the
    /// entry over once it expires.
    #[must_use]
    pub fn with_lease(mut self, lease: Duration) -> Self {
        self.lease = lease.max(Duration::from_millis(1));
        self
    }

    /// The lease owner name written in the store (must be unique per running outbox).
    #[must_use]
    pub fn with_owner(mut self, owner: impl Into<String>) -> Self {
        self.owner = owner.into();
        self
    }

    /// How many entries [`Outbox::process`] claims at a time (default 16; at least 1).
    #[must_use]
    pub fn with_claim_batch(mut self, n: usize) -> Self {
        self.batch = n.max(1);
        self
    }

    /// This outbox's lease owner name.
    #[must_use]
    pub fn owner(&self) -> &str {
        &self.owner
    }

    /// Injects failures (tests).
    #[must_use]
    pub fn with_fail_points(mut self, f: Arc<dyn FailPoints>) -> Self {
        self.faults = Some(f);
        self
    }

    /// The store.
    #[must_use]
    pub fn store(&self) -> &Arc<S> {
        &self.store
    }

    fn check(&self, step: Step) -> Result<(), Error> {
        match &self.faults {
            Some(f) => f.check(step).map_err(Error::from),
            None => Ok(()),
        }
    }

    /// Persists a flow to send. When this returns `Ok`, the flow is durably stored.
    ///
    /// # Errors
    /// [`OutboxError::Duplicate`] for an identifier already in the outbox, [`OutboxError::Db`].
    pub async fn enqueue(&self, identificativo_flusso: &str, xml: &[u8]) -> Result<i64, Error> {
        let id = self.store.insert(identificativo_flusso, xml).await?;
        self.check(Step::AfterPersist)?;
        Ok(id)
    }

    /// Advances every open entry this instance can claim as far as the channel allows, and
    /// returns them. Entries held by another live instance are left to it (and not
    /// returned). Transport failures of one entry are recorded in its `detail` and do not
    /// stop the others.
    ///
    /// # Errors
    /// Store failures, and injected failures (tests).
    pub async fn process(&self) -> Result<Vec<OutboxEntry>, Error> {
        let mut cache: HashMap<(ListKind, String), (Messaggio, Vec<u8>)> = HashMap::new();
        let mut out = Vec::new();
        let mut after = 0;
        loop {
            let batch = self
                .store
                .claim(&self.owner, self.lease, after, self.batch)
                .await?;
            if batch.is_empty() {
                break;
            }
            for e in batch {
                after = after.max(e.id);
                let r = self.process_claimed(e.id, &mut cache).await;
                self.store.release(e.id, &self.owner).await?;
                if let Some(e) = r? {
                    out.push(e);
                }
            }
        }
        Ok(out)
    }

    /// One claimed entry: `None` when the lease was lost to another instance.
    async fn process_claimed(
        &self,
        id: i64,
        cache: &mut HashMap<(ListKind, String), (Messaggio, Vec<u8>)>,
    ) -> Result<Option<OutboxEntry>, Error> {
        // The batch was claimed at once; make sure this entry is still ours, then read it
        // fresh.
        if !self.store.renew(id, &self.owner, self.lease).await? {
            return Ok(None);
        }
        let e = self.store.get(id).await?;
        if let Err(err) = self.advance(&e, cache).await {
            if matches!(err, Error::Outbox(OutboxError::LeaseLost(_))) {
                tracing::info!(flusso = %e.identificativo_flusso, "outbox entry taken over by another instance");
                return Ok(None);
            }
            if injected(&err) || matches!(err, Error::Outbox(_)) {
                return Err(err);
            }
            tracing::warn!(flusso = %e.identificativo_flusso, error = %err, "outbox step failed");
            self.store
                .transition(
                    e.id,
                    self.store.get(e.id).await?.state,
                    None,
                    Some(&err.to_string()),
                )
                .await?;
        }
        Ok(Some(self.store.get(e.id).await?))
    }

    async fn advance(
        &self,
        e: &OutboxEntry,
        cache: &mut HashMap<(ListKind, String), (Messaggio, Vec<u8>)>,
    ) -> Result<(), Error> {
        let mut state = e.state;
        let mut attempted_at = e.attempted_at;
        loop {
            match state {
                OutboxState::Pending => {
                    attempted_at = Some(self.upload(e.id, &e.identificativo_flusso).await?);
                    state = self.store.get(e.id).await?.state;
                    if state != OutboxState::Uploaded {
                        return Ok(());
                    }
                }
                OutboxState::Uploading => {
                    // Outcome unknown: look on the channel before sending again.
                    match self.find_ack(e, attempted_at, cache).await? {
                        Some(next) => state = next,
                        None => {
                            let since = attempted_at.map(|t| now() - t);
                            let waited =
                                since.is_none_or(|d| d.to_std().unwrap_or_default() >= self.grace);
                            if !waited {
                                return Ok(());
                            }
                            attempted_at = Some(self.upload(e.id, &e.identificativo_flusso).await?);
                            state = self.store.get(e.id).await?.state;
                            if state != OutboxState::Uploaded {
                                return Ok(());
                            }
                        }
                    }
                }
                OutboxState::Uploaded => match self.find_ack(e, attempted_at, cache).await? {
                    Some(next) => state = next,
                    None => return Ok(()),
                },
                OutboxState::AckOk => match self.find_esito_flusso(e, attempted_at, cache).await? {
                    Some(next) => state = next,
                    None => return Ok(()),
                },
                OutboxState::Ricevuto | OutboxState::InCorso => {
                    match self.follow_orders(e, state, attempted_at, cache).await? {
                        Some(next) if next != state => state = next,
                        _ => return Ok(()),
                    }
                }
                OutboxState::AckKo
                | OutboxState::Rifiutato
                | OutboxState::Completed
                | OutboxState::Failed => {
                    return Ok(());
                }
            }
        }
    }

    /// Marks `Uploading`, uploads, records the answer. Returns the attempt time.
    async fn upload(&self, id: i64, ident: &str) -> Result<NaiveDateTime, Error> {
        let xml = self.store.xml(id).await?;
        // The fence: only the lease holder starts an upload, with a whole lease ahead.
        if !self.store.renew(id, &self.owner, self.lease).await? {
            return Err(OutboxError::LeaseLost(id).into());
        }
        let at = now();
        self.store.begin_upload(id, at).await?;
        self.check(Step::BeforeUpload)?;
        tracing::debug!(flusso = ident, owner = %self.owner, "uploading");
        let answer = {
            let upload = self.client.upload_flow(ident, &xml);
            tokio::pin!(upload);
            let mut tick = tokio::time::interval((self.lease / 3).max(Duration::from_millis(1)));
            tick.tick().await;
            loop {
                tokio::select! {
                    r = &mut upload => break r,
                    _ = tick.tick() => {
                        // Keep others off while the request runs; the upload cannot be
                        // taken back, so a failed renewal is only logged.
                        match self.store.renew(id, &self.owner, self.lease).await {
                            Ok(true) => {}
                            Ok(false) => tracing::warn!(flusso = ident, "lease lost during the upload"),
                            Err(e) => tracing::warn!(flusso = ident, error = %e, "lease renewal failed"),
                        }
                    }
                }
            }
        };
        match answer {
            Ok(r) => {
                self.check(Step::AfterUpload)?;
                self.store
                    .transition(id, OutboxState::Uploaded, r.prog_flusso, None)
                    .await?;
            }
            Err(err) if permanently_refused(&err).is_some() => {
                // Retrying would only be refused again: give up, with the reason.
                let reason = format!("gave up: upload refused: {err}");
                tracing::warn!(flusso = ident, error = %err, "upload refused for good");
                self.store
                    .transition(id, OutboxState::Failed, None, Some(&reason))
                    .await?;
            }
            Err(err) if certainly_not_processed(&err) => {
                self.store
                    .transition(id, OutboxState::Pending, None, Some(&err.to_string()))
                    .await?;
                return Err(err);
            }
            Err(err) => {
                // Unknown outcome: stays `Uploading`; the next round checks the channel.
                self.store
                    .transition(id, OutboxState::Uploading, None, Some(&err.to_string()))
                    .await?;
                return Err(err);
            }
        }
        Ok(at)
    }

    async fn lookup(
        &self,
        kind: ListKind,
        since: Option<NaiveDateTime>,
        cache: &mut HashMap<(ListKind, String), (Messaggio, Vec<u8>)>,
        mut matches: impl FnMut(&Messaggio) -> bool,
    ) -> Result<Option<(String, Messaggio, Vec<u8>)>, Error> {
        let q = ListQuery {
            data_upload_da: since.map(|t| t - chrono::Duration::hours(1)),
            ..ListQuery::default()
        };
        for item in self.client.list_all(kind, &q).await? {
            let key = (kind, item.location.clone());
            if let Some((m, xml)) = cache.get(&key) {
                if matches(m) {
                    return Ok(Some((item.location, m.clone(), xml.clone())));
                }
                continue;
            }
            let xml = self.client.download(&item.location).await?;
            let Ok(m) = parse_message(&xml) else { continue };
            let hit = matches(&m);
            cache.insert(key, (m.clone(), xml.clone()));
            if hit {
                return Ok(Some((item.location, m, xml)));
            }
        }
        Ok(None)
    }

    async fn find_ack(
        &self,
        e: &OutboxEntry,
        since: Option<NaiveDateTime>,
        cache: &mut HashMap<(ListKind, String), (Messaggio, Vec<u8>)>,
    ) -> Result<Option<OutboxState>, Error> {
        let ident = e.identificativo_flusso.as_str();
        let Some((loc, m, xml)) = self
            .lookup(ListKind::Ack, since, cache, |m| {
                matches!(m, Messaggio::Ack(a) if a.identificativo_flusso.as_deref() == Some(ident))
            })
            .await?
        else {
            return Ok(None);
        };
        self.check(Step::AfterAck)?;
        let Messaggio::Ack(a) = m else {
            return Ok(None);
        };
        self.store
            .save_message(
                e.id,
                &StoredMessage {
                    kind: "ack".into(),
                    location: loc,
                    xml,
                },
            )
            .await?;
        let (state, detail) = ack_outcome(&a);
        if state == OutboxState::AckKo {
            let codes: Vec<String> = a.errori.iter().map(|x| x.codice.to_string()).collect();
            self.refuse_all(e.id, "ACK KO", &codes.join(","), detail.as_deref())
                .await?;
        }
        self.store
            .transition(e.id, state, None, detail.as_deref())
            .await?;
        Ok(Some(state))
    }

    /// A flow refused as a whole: each of its orders is refused with the flow's reason (before
    /// the entry's state is recorded, so that a crash in between only repeats this).
    async fn refuse_all(
        &self,
        id: i64,
        esito: &str,
        code: &str,
        detail: Option<&str>,
    ) -> Result<(), Error> {
        for mut o in self.orders_of(id).await? {
            o.state = OrderState::Refused;
            o.esito = Some(esito.to_owned());
            o.code = (!code.is_empty()).then(|| code.to_owned());
            o.detail = detail.map(str::to_owned);
            self.store.put_order(id, &o).await?;
        }
        Ok(())
    }

    async fn find_esito_flusso(
        &self,
        e: &OutboxEntry,
        since: Option<NaiveDateTime>,
        cache: &mut HashMap<(ListKind, String), (Messaggio, Vec<u8>)>,
    ) -> Result<Option<OutboxState>, Error> {
        let ident = e.identificativo_flusso.as_str();
        let Some((loc, m, xml)) = self
            .lookup(ListKind::EsitoFlusso, since, cache, |m| match m {
                Messaggio::Ricezione(r) => r.identificativo_flusso == ident,
                Messaggio::Rifiuto(r) => r.identificativo_flusso == ident,
                _ => false,
            })
            .await?
        else {
            return Ok(None);
        };
        self.check(Step::AfterEsitoFlusso)?;
        self.store
            .save_message(
                e.id,
                &StoredMessage {
                    kind: "esitoflusso".into(),
                    location: loc,
                    xml,
                },
            )
            .await?;
        let (state, detail) = match &m {
            Messaggio::Rifiuto(r) => (
                OutboxState::Rifiutato,
                Some(
                    r.errori
                        .iter()
                        .map(|e| e.descrizione.clone())
                        .collect::<Vec<_>>()
                        .join("; "),
                ),
            ),
            _ => (OutboxState::Ricevuto, None),
        };
        if let Messaggio::Rifiuto(r) = &m {
            let codes: Vec<String> = r
                .errori
                .iter()
                .filter_map(|x| x.codice.map(|c| c.to_string()))
                .collect();
            self.refuse_all(e.id, "RIFIUTO FLUSSO", &codes.join(","), detail.as_deref())
                .await?;
        }
        self.store
            .transition(e.id, state, None, detail.as_deref())
            .await?;
        Ok(Some(state))
    }

    /// Every message on the channel of `kind` that `matches`, in list order.
    async fn lookup_all(
        &self,
        kind: ListKind,
        since: Option<NaiveDateTime>,
        cache: &mut HashMap<(ListKind, String), (Messaggio, Vec<u8>)>,
        matches: impl Fn(&Messaggio) -> bool,
    ) -> Result<Vec<(String, Messaggio, Vec<u8>)>, Error> {
        let q = ListQuery {
            data_upload_da: since.map(|t| t - chrono::Duration::hours(1)),
            ..ListQuery::default()
        };
        let mut out = Vec::new();
        for item in self.client.list_all(kind, &q).await? {
            let key = (kind, item.location.clone());
            if !cache.contains_key(&key) {
                let xml = self.client.download(&item.location).await?;
                let Ok(m) = parse_message(&xml) else { continue };
                cache.insert(key.clone(), (m, xml));
            }
            if let Some((m, xml)) = cache.get(&key)
                && matches(m)
            {
                out.push((item.location, m.clone(), xml.clone()));
            }
        }
        Ok(out)
    }

    /// The orders of an entry; recorded from the stored flow the first time.
    async fn orders_of(&self, id: i64) -> Result<Vec<OrderStatus>, Error> {
        let v = self.store.orders(id).await?;
        if !v.is_empty() {
            return Ok(v);
        }
        let xml = self.store.xml(id).await?;
        let v = orders_in_flow(&xml);
        for o in &v {
            self.store.put_order(id, o).await?;
        }
        Ok(v)
    }

    /// Reads every esito applicativo and giornale di cassa page about the flow, records each
    /// order's state, and moves the entry to `InCorso` (esiti arrived, orders still open) or
    /// `Completed` (every order final). `None` while no esito has arrived.
    async fn follow_orders(
        &self,
        e: &OutboxEntry,
        state: OutboxState,
        since: Option<NaiveDateTime>,
        cache: &mut HashMap<(ListKind, String), (Messaggio, Vec<u8>)>,
    ) -> Result<Option<OutboxState>, Error> {
        let ident = e.identificativo_flusso.as_str();
        let esiti = self
            .lookup_all(ListKind::EsitoApplicativo, since, cache, |m| {
                matches!(m, Messaggio::EsitoApplicativo(x) if x.esiti.iter().any(|o| o.identificativo_flusso == ident))
            })
            .await?;
        if esiti.is_empty() && state == OutboxState::Ricevuto {
            return Ok(None);
        }
        self.check(Step::AfterEsitoApplicativo)?;
        let giornali = self
            .lookup_all(ListKind::Giornale, since, cache, |m| {
                matches!(m, Messaggio::GiornaleDiCassa(g) if g.conti.iter().flat_map(|c| &c.movimenti).any(|mv| mv.identificativo_flusso == ident))
            })
            .await?;
        let mut orders = self.orders_of(e.id).await?;
        let before = orders.clone();
        for (loc, m, xml) in &esiti {
            self.store
                .save_message(
                    e.id,
                    &StoredMessage {
                        kind: "esitoapplicativo".into(),
                        location: loc.clone(),
                        xml: xml.clone(),
                    },
                )
                .await?;
            if let Messaggio::EsitoApplicativo(x) = m {
                for o in x.esiti.iter().filter(|o| o.identificativo_flusso == ident) {
                    apply_esito(&mut orders, o);
                }
            }
        }
        for (loc, m, xml) in &giornali {
            self.store
                .save_message(
                    e.id,
                    &StoredMessage {
                        kind: "giornale".into(),
                        location: loc.clone(),
                        xml: xml.clone(),
                    },
                )
                .await?;
            if let Messaggio::GiornaleDiCassa(g) = m {
                for mv in g.conti.iter().flat_map(|c| &c.movimenti) {
                    if mv.identificativo_flusso != ident {
                        continue;
                    }
                    let tipo = match mv.tipo_documento.as_str() {
                        "MANDATO" => TipoOrdinativo::Mandato,
                        "REVERSALE" => TipoOrdinativo::Reversale,
                        _ => continue,
                    };
                    let st = match mv.tipo_operazione {
                        TipoOperazioneMovimento::Eseguito
                        | TipoOperazioneMovimento::Regolarizzato => OrderState::Executed,
                        TipoOperazioneMovimento::Stornato => OrderState::Cancelled,
                        _ => continue,
                    };
                    let esito = format!("GIORNALE {}", mv.tipo_operazione);
                    set_order(
                        &mut orders,
                        tipo,
                        mv.numero_documento,
                        g.esercizio,
                        Some(st),
                        Some(esito),
                        None,
                        None,
                    );
                }
            }
        }
        for (o, b) in orders
            .iter()
            .zip(before.iter().map(Some).chain(std::iter::repeat(None)))
        {
            if b != Some(o) {
                self.store.put_order(e.id, o).await?;
            }
        }
        let next = if orders.iter().all(|o| o.state.is_final()) {
            OutboxState::Completed
        } else {
            OutboxState::InCorso
        };
        let detail = orders
            .iter()
            .map(|o| match &o.esito {
                Some(x) => format!("{o} [{x}]"),
                None => o.to_string(),
            })
            .collect::<Vec<_>>()
            .join("; ");
        if next != state || e.detail.as_deref() != Some(detail.as_str()) {
            self.store
                .transition(e.id, next, None, Some(&detail))
                .await?;
        }
        Ok(Some(next))
    }
}

/// The orders of a stored flow (none when it cannot be read: SIOPE+ refuses such a flow).
fn orders_in_flow(xml: &[u8]) -> Vec<OrderStatus> {
    let Ok(mut r) = crate::reader::FlowReader::new(xml) else {
        return Vec::new();
    };
    let esercizio = r.header().esercizio;
    let mut v = Vec::new();
    while let Ok(Some(o)) = r.next_ordinativo() {
        v.push(match o {
            Ordinativo::Mandato(m) => OrderStatus::sent(
                TipoOrdinativo::Mandato,
                u64::from(m.numero_mandato),
                esercizio,
                Some(m.importo_mandato),
            ),
            Ordinativo::Reversale(rv) => OrderStatus::sent(
                TipoOrdinativo::Reversale,
                u64::from(rv.numero_reversale),
                esercizio,
                Some(rv.importo_reversale),
            ),
        });
    }
    v
}

#[allow(clippy::too_many_arguments)]
fn set_order(
    orders: &mut Vec<OrderStatus>,
    tipo: TipoOrdinativo,
    numero: u64,
    esercizio: u16,
    state: Option<OrderState>,
    esito: Option<String>,
    code: Option<String>,
    detail: Option<String>,
) {
    let i = match orders
        .iter()
        .position(|o| o.tipo == tipo && o.numero == numero)
    {
        Some(i) => i,
        None => {
            orders.push(OrderStatus::sent(tipo, numero, esercizio, None));
            orders.len() - 1
        }
    };
    let o = &mut orders[i];
    if let Some(st) = state {
        if st.rank() < o.state.rank() {
            return;
        }
        o.state = st;
    }
    o.esito = esito;
    if code.is_some() || detail.is_some() {
        o.code = code;
        o.detail = detail;
    }
}

fn apply_esito(orders: &mut Vec<OrderStatus>, x: &EsitoOrdinativo) {
    use EsitoOperazione as E;
    let st = match &x.esito_operazione {
        E::Acquisito
        | E::Variato
        | E::NonVariato
        | E::NonAnnullato
        | E::NonSostituito
        | E::NonRegolarizzato => Some(OrderState::Accepted),
        E::NonAcquisito | E::NonEseguibile => Some(OrderState::Refused),
        E::Annullato | E::Sostituito | E::Stornato => Some(OrderState::Cancelled),
        E::Pagato | E::Riscosso | E::Regolarizzato => Some(OrderState::Executed),
        _ => None,
    };
    let codes: Vec<String> = x
        .errori
        .iter()
        .filter_map(|e| e.codice_errore.map(|c| c.to_string()))
        .collect();
    let descr: Vec<&str> = x.errori.iter().map(|e| e.descrizione.as_str()).collect();
    set_order(
        orders,
        x.tipo,
        x.numero,
        x.esercizio,
        st,
        Some(x.esito_operazione.to_string()),
        (!codes.is_empty()).then(|| codes.join(",")),
        (!descr.is_empty()).then(|| descr.join("; ")),
    );
}

fn ack_outcome(a: &AckSiope) -> (OutboxState, Option<String>) {
    let errs = a
        .errori
        .iter()
        .chain(&a.warning)
        .map(|e| format!("{} {}", e.codice, e.descrizione))
        .collect::<Vec<_>>()
        .join("; ");
    let detail = (!errs.is_empty()).then_some(errs);
    match a.stato_flusso {
        StatoFlusso::Ok | StatoFlusso::Warning => (OutboxState::AckOk, detail),
        _ => (OutboxState::AckKo, detail),
    }
}
