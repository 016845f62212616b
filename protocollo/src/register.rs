//! The protocol register: each number is reserved and its registration recorded in one
//! transaction, so numbers stay gapless and every number has its record.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Datelike, NaiveDate, Utc};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use crate::error::RegistryError;
use crate::impronta::{DigestAlgorithm, Impronta};
use crate::model::{Identificatore, NumeroRegistrazione, SegnaturaInformatica, Soggetto};
use crate::registry::{RegistroKey, SCHEMA as COUNTER_SCHEMA, sqlite_advance, sqlite_last};
use crate::textual::Verso;

/// Longest `oggetto`, in characters.
pub const MAX_OGGETTO_CHARS: usize = 2000;
/// Longest `corrispondente`, in characters.
pub const MAX_CORRISPONDENTE_CHARS: usize = 1000;
/// Longest request id, in bytes.
pub const MAX_ID_RICHIESTA_BYTES: usize = 200;
/// Largest segnatura XML kept with a registration, in bytes.
pub const MAX_SEGNATURA_BYTES: usize = 1 << 20;
/// Largest page [`Register::list`] returns.
pub const MAX_PAGE: usize = 1000;

/// What is registered with a protocol number (DPR 445/2000 art. 53: the number goes with the
/// date, the correspondent, the subject and the digest of the document).
///
/// Every field is checked when set, so a record that exists is storable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistrationRecord {
    verso: Verso,
    oggetto: String,
    corrispondente: String,
    impronta: Option<Impronta>,
    segnatura: Option<Vec<u8>>,
    id_richiesta: Option<String>,
}

fn check_text(
    field: &'static str,
    value: &str,
    max_chars: usize,
    multiline: bool,
) -> Result<(), RegistryError> {
    if value.trim().is_empty() {
        return Err(RegistryError::InvalidRecord {
            field,
            reason: "is empty",
        });
    }
    if value.chars().count() > max_chars {
        return Err(RegistryError::InvalidRecord {
            field,
            reason: "is too long",
        });
    }
    let allowed = |c: char| !c.is_control() || (multiline && matches!(c, '\n' | '\r' | '\t'));
    if !value.chars().all(allowed) {
        return Err(RegistryError::InvalidRecord {
            field,
            reason: "contains a control character",
        });
    }
    Ok(())
}

fn denominazione(s: &Soggetto) -> String {
    match s {
        Soggetto::Amministrazione(a) => a.denominazione.clone(),
        Soggetto::PersonaGiuridica(p) => p.denominazione.clone(),
        Soggetto::PersonaFisica(p) => format!("{} {}", p.nome, p.cognome),
        Soggetto::AmministrazioneEstera(a) => a.denominazione.clone(),
    }
}

impl RegistrationRecord {
    /// A record: direction, subject and correspondent (the sender of an incoming document,
    /// the recipient of an outgoing one).
    ///
    /// # Errors
    /// [`RegistryError::InvalidRecord`] when `oggetto` or `corrispondente` is blank, longer
    /// than [`MAX_OGGETTO_CHARS`] / [`MAX_CORRISPONDENTE_CHARS`], or holds control characters
    /// (`oggetto` may hold line breaks and tabs).
    pub fn new(
        verso: Verso,
        oggetto: impl Into<String>,
        corrispondente: impl Into<String>,
    ) -> Result<Self, RegistryError> {
        let oggetto = oggetto.into();
        let corrispondente = corrispondente.into();
        check_text("oggetto", &oggetto, MAX_OGGETTO_CHARS, true)?;
        check_text(
            "corrispondente",
            &corrispondente,
            MAX_CORRISPONDENTE_CHARS,
            false,
        )?;
        Ok(RegistrationRecord {
            verso,
            oggetto,
            corrispondente,
            impronta: None,
            segnatura: None,
            id_richiesta: None,
        })
    }

    /// The record of a received segnatura: incoming, its subject, its sender, the digest of
    /// its primary document, and the XML exactly as received (`xml`, sealed).
    ///
    /// # Errors
    /// As [`RegistrationRecord::new`] and [`RegistrationRecord::with_segnatura`].
    pub fn from_received(
        segnatura: &SegnaturaInformatica,
        xml: impl Into<Vec<u8>>,
    ) -> Result<Self, RegistryError> {
        RegistrationRecord::new(
            Verso::Arrivo,
            segnatura.intestazione.oggetto.clone(),
            denominazione(&segnatura.descrizione.mittente),
        )?
        .with_impronta(segnatura.descrizione.documento_primario.impronta.clone())?
        .with_segnatura(xml)
    }

    /// Adds the digest of the registered document.
    ///
    /// # Errors
    /// [`RegistryError::InvalidRecord`] when the algorithm is not supported (SHA-256,
    /// SHA-384, SHA-512) or the value has the wrong length.
    pub fn with_impronta(mut self, impronta: Impronta) -> Result<Self, RegistryError> {
        match impronta.algoritmo.output_len() {
            None => {
                return Err(RegistryError::InvalidRecord {
                    field: "impronta",
                    reason: "uses an unsupported digest algorithm",
                });
            }
            Some(n) if n != impronta.valore.len() => {
                return Err(RegistryError::InvalidRecord {
                    field: "impronta",
                    reason: "has the wrong length for its algorithm",
                });
            }
            Some(_) => {}
        }
        self.impronta = Some(impronta);
        Ok(self)
    }

    /// Adds the segnatura XML (as received, or as sent).
    ///
    /// # Errors
    /// [`RegistryError::InvalidRecord`] when it is empty or larger than
    /// [`MAX_SEGNATURA_BYTES`].
    pub fn with_segnatura(mut self, xml: impl Into<Vec<u8>>) -> Result<Self, RegistryError> {
        let xml = xml.into();
        if xml.is_empty() {
            return Err(RegistryError::InvalidRecord {
                field: "segnatura",
                reason: "is empty",
            });
        }
        if xml.len() > MAX_SEGNATURA_BYTES {
            return Err(RegistryError::InvalidRecord {
                field: "segnatura",
                reason: "is too large",
            });
        }
        self.segnatura = Some(xml);
        Ok(self)
    }

    /// Adds the caller's request id, unique in the register: registering again with the same
    /// id and the same record returns the number given the first time (a safe retry after a
    /// timeout or a lost connection); with a different record it is a
    /// [`RegistryError::Conflict`].
    ///
    /// # Errors
    /// [`RegistryError::InvalidRecord`] when the id is blank, longer than
    /// [`MAX_ID_RICHIESTA_BYTES`] or holds control characters.
    pub fn with_id_richiesta(mut self, id: impl Into<String>) -> Result<Self, RegistryError> {
        let id = id.into();
        check_text("id_richiesta", &id, MAX_ID_RICHIESTA_BYTES, false)?;
        if id.len() > MAX_ID_RICHIESTA_BYTES {
            return Err(RegistryError::InvalidRecord {
                field: "id_richiesta",
                reason: "is too long",
            });
        }
        self.id_richiesta = Some(id);
        Ok(self)
    }

    /// Direction.
    pub fn verso(&self) -> Verso {
        self.verso
    }

    /// Subject.
    pub fn oggetto(&self) -> &str {
        &self.oggetto
    }

    /// Sender (incoming) or recipient (outgoing).
    pub fn corrispondente(&self) -> &str {
        &self.corrispondente
    }

    /// Digest of the document.
    pub fn impronta(&self) -> Option<&Impronta> {
        self.impronta.as_ref()
    }

    /// Segnatura XML.
    pub fn segnatura(&self) -> Option<&[u8]> {
        self.segnatura.as_deref()
    }

    /// The caller's request id.
    pub fn id_richiesta(&self) -> Option<&str> {
        self.id_richiesta.as_deref()
    }
}

pub(crate) fn verso_str(v: Verso) -> &'static str {
    match v {
        Verso::Arrivo => "arrivo",
        Verso::Partenza => "partenza",
    }
}

pub(crate) fn verso_parse(s: &str) -> Result<Verso, RegistryError> {
    match s {
        "arrivo" => Ok(Verso::Arrivo),
        "partenza" => Ok(Verso::Partenza),
        other => Err(RegistryError::Store(format!(
            "unknown verso {other:?} in the database"
        ))),
    }
}

/// Rebuilds a record read from a store, checking it again.
pub(crate) fn record_from_parts(
    verso: &str,
    oggetto: String,
    corrispondente: String,
    impronta: Option<(String, Vec<u8>)>,
    segnatura: Option<Vec<u8>>,
    id_richiesta: Option<String>,
) -> Result<RegistrationRecord, RegistryError> {
    let corrupt = |e: RegistryError| RegistryError::Store(format!("stored record refused: {e}"));
    let mut r =
        RegistrationRecord::new(verso_parse(verso)?, oggetto, corrispondente).map_err(corrupt)?;
    if let Some((alg, valore)) = impronta {
        r = r
            .with_impronta(Impronta {
                algoritmo: DigestAlgorithm::from_name(&alg),
                valore,
            })
            .map_err(corrupt)?;
    }
    if let Some(s) = segnatura {
        r = r.with_segnatura(s).map_err(corrupt)?;
    }
    if let Some(id) = id_richiesta {
        r = r.with_id_richiesta(id).map_err(corrupt)?;
    }
    Ok(r)
}

/// A registration: the identifier (number and date) and what was registered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registration {
    /// Administration, AOO, register, number and date.
    pub identificatore: Identificatore,
    /// What was registered.
    pub record: RegistrationRecord,
    /// When the store committed it.
    pub registrata_il: DateTime<Utc>,
}

/// A protocol register (DPR 445/2000 artt. 53 and 57): numbers progressive per register
/// (administration, AOO, register code) and year, restarting every 1st of January, gapless
/// and unique, each with its registration.
///
/// [`Register::register`] reserves the number and stores the record in one transaction: a
/// registration that fails consumes no number, and a number that was returned is stored
/// with its record. Implementations: [`SqliteRegister`] (embedded default),
/// [`MemoryRegister`] (tests), `PgRegister` (feature `postgres`, several instances).
#[async_trait]
pub trait Register: Send + Sync {
    /// Registers `record` on `date` (the registration's local date, whose year selects the
    /// counter) and returns its identifier.
    ///
    /// With an [`id_richiesta`](RegistrationRecord::with_id_richiesta) already registered
    /// with the same record, returns that registration's identifier (no new number).
    ///
    /// # Errors
    /// [`RegistryError::Conflict`] (request id used for another record),
    /// [`RegistryError::Exhausted`], [`RegistryError::Unavailable`] (outcome unknown: retry
    /// with the same request id), [`RegistryError::Store`].
    async fn register(
        &self,
        key: &RegistroKey,
        date: NaiveDate,
        record: RegistrationRecord,
    ) -> Result<Identificatore, RegistryError>;

    /// The registration `numero` of `key` in `year`, if any.
    ///
    /// # Errors
    /// [`RegistryError::Unavailable`], [`RegistryError::Store`].
    async fn get(
        &self,
        key: &RegistroKey,
        year: i32,
        numero: NumeroRegistrazione,
    ) -> Result<Option<Registration>, RegistryError>;

    /// Up to `limit` registrations of `key` in `year` with a number above `after` (from the
    /// first when `None`), in number order. Pass the last number of a page as `after` to
    /// read the next one.
    ///
    /// # Errors
    /// [`RegistryError::PageSize`] when `limit` is 0 or above [`MAX_PAGE`];
    /// [`RegistryError::Unavailable`], [`RegistryError::Store`].
    async fn list(
        &self,
        key: &RegistroKey,
        year: i32,
        after: Option<NumeroRegistrazione>,
        limit: usize,
    ) -> Result<Vec<Registration>, RegistryError>;

    /// The last number given in `key` for `year`, if any.
    ///
    /// # Errors
    /// [`RegistryError::Unavailable`], [`RegistryError::Store`].
    async fn last_number(
        &self,
        key: &RegistroKey,
        year: i32,
    ) -> Result<Option<NumeroRegistrazione>, RegistryError>;
}

pub(crate) fn check_limit(limit: usize) -> Result<(), RegistryError> {
    if limit == 0 || limit > MAX_PAGE {
        return Err(RegistryError::PageSize {
            requested: limit,
            max: MAX_PAGE,
        });
    }
    Ok(())
}

pub(crate) fn identificatore(key: &RegistroKey, numero: u64, date: NaiveDate) -> Identificatore {
    Identificatore::new(
        key.codice_amministrazione.clone(),
        key.codice_aoo.clone(),
        key.codice_registro.clone(),
        NumeroRegistrazione::new(numero),
        date,
    )
}

/// What to do with a request id that is already registered.
pub(crate) fn replay(
    existing: Registration,
    record: &RegistrationRecord,
) -> Result<Identificatore, RegistryError> {
    if existing.record == *record {
        Ok(existing.identificatore)
    } else {
        Err(RegistryError::Conflict {
            id_richiesta: record.id_richiesta.clone().unwrap_or_default(),
            anno: existing.identificatore.data_registrazione.year(),
            numero: existing.identificatore.numero_registrazione.value(),
        })
    }
}

/// A process-local, non-durable register (tests, demos).
#[derive(Debug, Default)]
pub struct MemoryRegister {
    state: Mutex<MemoryState>,
}

type Entry = (RegistroKey, i32, u64);

#[derive(Debug, Default)]
struct MemoryState {
    counters: BTreeMap<(RegistroKey, i32), u64>,
    entries: BTreeMap<Entry, Registration>,
    richieste: BTreeMap<(RegistroKey, String), Entry>,
}

impl MemoryRegister {
    /// An empty register.
    pub fn new() -> Self {
        MemoryRegister::default()
    }

    fn lock(&self) -> Result<std::sync::MutexGuard<'_, MemoryState>, RegistryError> {
        self.state
            .lock()
            .map_err(|_| RegistryError::Store("register mutex poisoned".into()))
    }
}

#[async_trait]
impl Register for MemoryRegister {
    async fn register(
        &self,
        key: &RegistroKey,
        date: NaiveDate,
        record: RegistrationRecord,
    ) -> Result<Identificatore, RegistryError> {
        let mut st = self.lock()?;
        let year = date.year();
        if let Some(id) = &record.id_richiesta
            && let Some(e) = st.richieste.get(&(key.clone(), id.clone()))
        {
            let existing = st
                .entries
                .get(e)
                .cloned()
                .ok_or_else(|| RegistryError::Store("request id without entry".into()))?;
            return replay(existing, &record);
        }
        let last = st.counters.get(&(key.clone(), year)).copied().unwrap_or(0);
        let n = last
            .checked_add(1)
            .ok_or_else(|| RegistryError::Exhausted {
                registro: key.codice_registro.to_string(),
                year,
            })?;
        let ident = identificatore(key, n, date);
        st.counters.insert((key.clone(), year), n);
        if let Some(id) = &record.id_richiesta {
            st.richieste
                .insert((key.clone(), id.clone()), (key.clone(), year, n));
        }
        st.entries.insert(
            (key.clone(), year, n),
            Registration {
                identificatore: ident.clone(),
                record,
                registrata_il: Utc::now(),
            },
        );
        Ok(ident)
    }

    async fn get(
        &self,
        key: &RegistroKey,
        year: i32,
        numero: NumeroRegistrazione,
    ) -> Result<Option<Registration>, RegistryError> {
        Ok(self
            .lock()?
            .entries
            .get(&(key.clone(), year, numero.value()))
            .cloned())
    }

    async fn list(
        &self,
        key: &RegistroKey,
        year: i32,
        after: Option<NumeroRegistrazione>,
        limit: usize,
    ) -> Result<Vec<Registration>, RegistryError> {
        check_limit(limit)?;
        let from = after.map_or(1, |n| n.value().saturating_add(1));
        let st = self.lock()?;
        Ok(st
            .entries
            .range((key.clone(), year, from)..=(key.clone(), year, u64::MAX))
            .take(limit)
            .map(|(_, r)| r.clone())
            .collect())
    }

    async fn last_number(
        &self,
        key: &RegistroKey,
        year: i32,
    ) -> Result<Option<NumeroRegistrazione>, RegistryError> {
        Ok(self
            .lock()?
            .counters
            .get(&(key.clone(), year))
            .copied()
            .map(NumeroRegistrazione::new))
    }
}

const REGISTER_SCHEMA: &str = "CREATE TABLE IF NOT EXISTS protocollo_registrazione (
    amministrazione    TEXT NOT NULL,
    aoo                TEXT NOT NULL,
    registro           TEXT NOT NULL,
    anno               INTEGER NOT NULL,
    numero             INTEGER NOT NULL CHECK (numero > 0),
    data_registrazione TEXT NOT NULL,
    registrata_il      INTEGER NOT NULL,
    verso              TEXT NOT NULL CHECK (verso IN ('arrivo', 'partenza')),
    oggetto            TEXT NOT NULL CHECK (oggetto <> ''),
    corrispondente     TEXT NOT NULL CHECK (corrispondente <> ''),
    impronta_algoritmo TEXT,
    impronta           BLOB,
    segnatura          BLOB,
    id_richiesta       TEXT,
    PRIMARY KEY (amministrazione, aoo, registro, anno, numero),
    FOREIGN KEY (amministrazione, aoo, registro, anno)
        REFERENCES protocollo_counter (amministrazione, aoo, registro, anno)
);
CREATE UNIQUE INDEX IF NOT EXISTS protocollo_registrazione_richiesta
    ON protocollo_registrazione (amministrazione, aoo, registro, id_richiesta)
    WHERE id_richiesta IS NOT NULL;";

/// The embedded, durable register: a SQLite database file (WAL, synchronous FULL), safe
/// across threads and processes sharing the file. It shares the counter table with
/// [`crate::SqliteRegistry`], so a file numbered by that counter keeps its numbering.
///
/// The calls run on tokio's blocking pool (`spawn_blocking`): use them inside a tokio
/// runtime.
///
/// A registration waits for another process's write lock at most
/// [`SqliteRegister::with_lock_timeout`] (default 30 s), then fails with
/// [`RegistryError::Busy`].
#[derive(Debug, Clone)]
pub struct SqliteRegister {
    conn: Arc<Mutex<Connection>>,
}

const COLS: &str = "numero, data_registrazione, registrata_il, verso, oggetto, corrispondente,
    impronta_algoritmo, impronta, segnatura, id_richiesta";

fn sqlite_row(key: &RegistroKey, r: &rusqlite::Row<'_>) -> rusqlite::Result<RowParts> {
    Ok(RowParts {
        numero: r.get(0)?,
        data: r.get(1)?,
        registrata_il: r.get(2)?,
        verso: r.get(3)?,
        oggetto: r.get(4)?,
        corrispondente: r.get(5)?,
        impronta_algoritmo: r.get(6)?,
        impronta: r.get(7)?,
        segnatura: r.get(8)?,
        id_richiesta: r.get(9)?,
        key: key.clone(),
    })
}

struct RowParts {
    key: RegistroKey,
    numero: i64,
    data: String,
    registrata_il: i64,
    verso: String,
    oggetto: String,
    corrispondente: String,
    impronta_algoritmo: Option<String>,
    impronta: Option<Vec<u8>>,
    segnatura: Option<Vec<u8>>,
    id_richiesta: Option<String>,
}

impl RowParts {
    fn into_registration(self) -> Result<Registration, RegistryError> {
        let numero = u64::try_from(self.numero)
            .map_err(|_| RegistryError::Store("negative number in the database".into()))?;
        let date: NaiveDate = self.data.parse().map_err(|_| {
            RegistryError::Store(format!("bad date {:?} in the database", self.data))
        })?;
        let registrata_il = DateTime::from_timestamp_micros(self.registrata_il)
            .ok_or_else(|| RegistryError::Store("bad timestamp in the database".into()))?;
        let impronta = match (self.impronta_algoritmo, self.impronta) {
            (Some(a), Some(v)) => Some((a, v)),
            (None, None) => None,
            _ => return Err(RegistryError::Store("half a digest in the database".into())),
        };
        Ok(Registration {
            identificatore: identificatore(&self.key, numero, date),
            record: record_from_parts(
                &self.verso,
                self.oggetto,
                self.corrispondente,
                impronta,
                self.segnatura,
                self.id_richiesta,
            )?,
            registrata_il,
        })
    }
}

fn sqlite_get(
    conn: &Connection,
    key: &RegistroKey,
    year: i32,
    numero: i64,
) -> Result<Option<Registration>, RegistryError> {
    let row = conn
        .query_row(
            &format!(
                "SELECT {COLS} FROM protocollo_registrazione
                 WHERE amministrazione = ?1 AND aoo = ?2 AND registro = ?3 AND anno = ?4
                   AND numero = ?5"
            ),
            params![
                key.codice_amministrazione,
                key.codice_aoo,
                key.codice_registro.as_str(),
                year,
                numero
            ],
            |r| sqlite_row(key, r),
        )
        .optional()?;
    row.map(RowParts::into_registration).transpose()
}

fn sqlite_register(
    conn: &mut Connection,
    key: &RegistroKey,
    date: NaiveDate,
    record: &RegistrationRecord,
) -> Result<Identificatore, RegistryError> {
    let year = date.year();
    // BEGIN IMMEDIATE: the write lock is taken before the counter is read, so two
    // connections (or processes) never read the same last number.
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(|e| match e.sqlite_error_code() {
            Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked) => {
                RegistryError::Busy {
                    registro: key.codice_registro.to_string(),
                    year,
                }
            }
            _ => e.into(),
        })?;
    if let Some(id) = &record.id_richiesta {
        let found: Option<(i32, i64)> = tx
            .query_row(
                "SELECT anno, numero FROM protocollo_registrazione
                 WHERE amministrazione = ?1 AND aoo = ?2 AND registro = ?3 AND id_richiesta = ?4",
                params![
                    key.codice_amministrazione,
                    key.codice_aoo,
                    key.codice_registro.as_str(),
                    id
                ],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        if let Some((anno, numero)) = found {
            let existing = sqlite_get(&tx, key, anno, numero)?
                .ok_or_else(|| RegistryError::Store("request id without entry".into()))?;
            return replay(existing, record);
        }
    }
    let next = sqlite_advance(&tx, key, year)?;
    let (alg, dig) = match &record.impronta {
        Some(i) => (Some(i.algoritmo.name()), Some(i.valore.as_slice())),
        None => (None, None),
    };
    tx.execute(
        "INSERT INTO protocollo_registrazione (amministrazione, aoo, registro, anno, numero,
             data_registrazione, registrata_il, verso, oggetto, corrispondente,
             impronta_algoritmo, impronta, segnatura, id_richiesta)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
        params![
            key.codice_amministrazione,
            key.codice_aoo,
            key.codice_registro.as_str(),
            year,
            next,
            date.to_string(),
            Utc::now().timestamp_micros(),
            verso_str(record.verso),
            record.oggetto,
            record.corrispondente,
            alg,
            dig,
            record.segnatura,
            record.id_richiesta,
        ],
    )?;
    tx.commit()?;
    let n = u64::try_from(next)
        .map_err(|_| RegistryError::Store("negative counter in the database".into()))?;
    Ok(identificatore(key, n, date))
}

impl SqliteRegister {
    /// Opens (creating if needed) the database file at `path`.
    ///
    /// # Errors
    /// [`RegistryError::Store`] when the file cannot be opened or initialised.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, RegistryError> {
        let conn = Connection::open(path)?;
        conn.busy_timeout(Duration::from_secs(30))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        Self::init(conn)
    }

    /// A private in-memory database (not durable: for tests and demos).
    ///
    /// # Errors
    /// [`RegistryError::Store`] when SQLite fails.
    pub fn in_memory() -> Result<Self, RegistryError> {
        Self::init(Connection::open_in_memory()?)
    }

    /// How long a registration waits for the write lock held by another connection or
    /// process before failing with [`RegistryError::Busy`] (default 30 s).
    ///
    /// # Errors
    /// [`RegistryError::Store`] when SQLite refuses the setting.
    pub fn with_lock_timeout(self, timeout: Duration) -> Result<Self, RegistryError> {
        self.conn
            .lock()
            .map_err(|_| RegistryError::Store("connection mutex poisoned".into()))?
            .busy_timeout(timeout)?;
        Ok(self)
    }

    fn init(conn: Connection) -> Result<Self, RegistryError> {
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.execute_batch(COUNTER_SCHEMA)?;
        conn.execute_batch(REGISTER_SCHEMA)?;
        Ok(SqliteRegister {
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T, RegistryError> + Send + 'static,
    ) -> Result<T, RegistryError> {
        let conn = Arc::clone(&self.conn);
        tokio::task::spawn_blocking(move || {
            let mut c = conn
                .lock()
                .map_err(|_| RegistryError::Store("connection mutex poisoned".into()))?;
            f(&mut c)
        })
        .await
        .map_err(|e| RegistryError::Store(format!("blocking task failed: {e}")))?
    }
}

#[async_trait]
impl Register for SqliteRegister {
    async fn register(
        &self,
        key: &RegistroKey,
        date: NaiveDate,
        record: RegistrationRecord,
    ) -> Result<Identificatore, RegistryError> {
        let key = key.clone();
        self.run(move |c| sqlite_register(c, &key, date, &record))
            .await
    }

    async fn get(
        &self,
        key: &RegistroKey,
        year: i32,
        numero: NumeroRegistrazione,
    ) -> Result<Option<Registration>, RegistryError> {
        let Ok(n) = i64::try_from(numero.value()) else {
            return Ok(None);
        };
        let key = key.clone();
        self.run(move |c| sqlite_get(c, &key, year, n)).await
    }

    async fn list(
        &self,
        key: &RegistroKey,
        year: i32,
        after: Option<NumeroRegistrazione>,
        limit: usize,
    ) -> Result<Vec<Registration>, RegistryError> {
        check_limit(limit)?;
        let after = after.map_or(0, |n| i64::try_from(n.value()).unwrap_or(i64::MAX));
        let key = key.clone();
        self.run(move |c| {
            let mut st = c.prepare_cached(&format!(
                "SELECT {COLS} FROM protocollo_registrazione
                 WHERE amministrazione = ?1 AND aoo = ?2 AND registro = ?3 AND anno = ?4
                   AND numero > ?5
                 ORDER BY numero LIMIT ?6"
            ))?;
            let rows = st.query_map(
                params![
                    key.codice_amministrazione,
                    key.codice_aoo,
                    key.codice_registro.as_str(),
                    year,
                    after,
                    i64::try_from(limit).unwrap_or(i64::MAX)
                ],
                |r| sqlite_row(&key, r),
            )?;
            let mut out = Vec::new();
            for r in rows {
                out.push(r?.into_registration()?);
            }
            Ok(out)
        })
        .await
    }

    async fn last_number(
        &self,
        key: &RegistroKey,
        year: i32,
    ) -> Result<Option<NumeroRegistrazione>, RegistryError> {
        let key = key.clone();
        self.run(move |c| {
            let n = sqlite_last(c, &key, year)?;
            n.map(|n| {
                u64::try_from(n)
                    .map(NumeroRegistrazione::new)
                    .map_err(|_| RegistryError::Store("negative counter in the database".into()))
            })
            .transpose()
        })
        .await
    }
}
