//! One contract suite for the protocol registers ([`Register`]): the same test functions run
//! on SQLite, PostgreSQL (a fresh database per test on `PA_TEST_POSTGRES_URL`; required when
//! `CI` is set) and, where no fault has to be injected, memory. Multi-process tests re-exec
//! this binary (`child_worker`) several times on one database, and SIGKILL one mid-work.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Arc;

use chrono::NaiveDate;
use protocollo::*;

fn key() -> RegistroKey {
    RegistroKey::new("c_h501", "A1B2C3D", "PROT".parse().unwrap())
}

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn rec(oggetto: &str) -> RegistrationRecord {
    RegistrationRecord::new(Verso::Arrivo, oggetto, "Mario Rossi").unwrap()
}

/// Where a register lives, and how to reach its storage behind its back to inject faults.
enum Backend {
    Memory(Arc<MemoryRegister>),
    Sqlite {
        _dir: tempfile::TempDir,
        path: PathBuf,
    },
    Postgres {
        url: String,
    },
}

impl Backend {
    fn memory() -> Self {
        Backend::Memory(Arc::new(MemoryRegister::new()))
    }

    fn sqlite() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("registro.sqlite");
        Backend::Sqlite { _dir: dir, path }
    }

    async fn postgres() -> Option<Self> {
        let url = pa_postgres::testing::fresh_database().await.unwrap()?;
        Some(Backend::Postgres { url })
    }

    /// A new handle on the register (as a new process would open it).
    async fn open(&self) -> Arc<dyn Register> {
        match self {
            Backend::Memory(m) => m.clone(),
            Backend::Sqlite { path, .. } => Arc::new(SqliteRegister::open(path).unwrap()),
            Backend::Postgres { url } => Arc::new(PgRegister::connect(url).await.unwrap()),
        }
    }

    /// Makes the insertion of a record whose `oggetto` is `poison` fail inside the
    /// registration's transaction, after the counter was advanced. `at_commit`: the failure
    /// comes at COMMIT (a deferred constraint trigger, PostgreSQL only; `false` returned
    /// elsewhere).
    async fn poison(&self, poison: &str, at_commit: bool) -> bool {
        match self {
            Backend::Memory(_) => false,
            Backend::Sqlite { path, .. } => {
                if at_commit {
                    return false;
                }
                let c = rusqlite::Connection::open(path).unwrap();
                c.execute_batch(&format!(
                    "CREATE TRIGGER test_poison BEFORE INSERT ON protocollo_registrazione
                     WHEN NEW.oggetto = '{poison}'
                     BEGIN SELECT RAISE(ABORT, 'injected fault'); END;"
                ))
                .unwrap();
                true
            }
            Backend::Postgres { url } => {
                let db = pa_postgres::Database::connect(url).await.unwrap();
                let c = db.client().await.unwrap();
                let (name, trigger) = if at_commit {
                    (
                        "test_poison_commit",
                        "CONSTRAINT TRIGGER test_poison_commit AFTER INSERT ON protocollo_registrazione
                         DEFERRABLE INITIALLY DEFERRED",
                    )
                } else {
                    (
                        "test_poison",
                        "TRIGGER test_poison BEFORE INSERT ON protocollo_registrazione",
                    )
                };
                c.batch_execute(&format!(
                    "CREATE FUNCTION {name}() RETURNS trigger AS $$
                     BEGIN
                       IF NEW.oggetto = '{poison}' THEN RAISE EXCEPTION 'injected fault'; END IF;
                       RETURN NEW;
                     END $$ LANGUAGE plpgsql;
                     CREATE {trigger} FOR EACH ROW EXECUTE FUNCTION {name}();"
                ))
                .await
                .unwrap();
                true
            }
        }
    }
}

/// A transaction of another party holding the register's counter (SQLite: the write lock).
enum Held {
    Sqlite(rusqlite::Connection),
    Postgres(pa_postgres::Client, pa_postgres::Database),
}

impl Backend {
    /// A handle whose registrations wait at most `timeout` for the counter.
    async fn open_with_lock_timeout(&self, timeout: std::time::Duration) -> Arc<dyn Register> {
        match self {
            Backend::Memory(m) => m.clone(),
            Backend::Sqlite { path, .. } => Arc::new(
                SqliteRegister::open(path)
                    .unwrap()
                    .with_lock_timeout(timeout)
                    .unwrap(),
            ),
            Backend::Postgres { url } => Arc::new(
                PgRegister::connect(url)
                    .await
                    .unwrap()
                    .with_lock_timeout(timeout),
            ),
        }
    }

    /// Holds the counter of `key()` for 2025 in an open transaction.
    async fn hold_counter(&self) -> Held {
        match self {
            Backend::Memory(_) => unreachable!("memory has no lock to hold"),
            Backend::Sqlite { path, .. } => {
                let c = rusqlite::Connection::open(path).unwrap();
                c.execute_batch("BEGIN IMMEDIATE").unwrap();
                Held::Sqlite(c)
            }
            Backend::Postgres { url } => {
                let db = pa_postgres::Database::connect(url).await.unwrap();
                let c = db.client().await.unwrap();
                c.batch_execute(
                    "BEGIN; SELECT ultimo FROM protocollo_counter
                     WHERE registro = 'PROT' AND anno = 2025 FOR UPDATE",
                )
                .await
                .unwrap();
                Held::Postgres(c, db)
            }
        }
    }
}

impl Backend {
    /// Sets the counter of `key()` for 2025 behind the register's back.
    async fn set_counter(&self, ultimo: i64) {
        let sql = format!("UPDATE protocollo_counter SET ultimo = {ultimo} WHERE anno = 2025");
        match self {
            Backend::Memory(_) => unreachable!("memory has no counter to set"),
            Backend::Sqlite { path, .. } => {
                let c = rusqlite::Connection::open(path).unwrap();
                assert_eq!(c.execute(&sql, []).unwrap(), 1);
            }
            Backend::Postgres { url } => {
                let db = pa_postgres::Database::connect(url).await.unwrap();
                let c = db.client().await.unwrap();
                assert_eq!(c.execute(&sql, &[]).await.unwrap(), 1);
            }
        }
    }
}

impl Held {
    async fn release(self) {
        match self {
            Held::Sqlite(c) => c.execute_batch("ROLLBACK").unwrap(),
            Held::Postgres(c, _db) => c.batch_execute("ROLLBACK").await.unwrap(),
        }
    }
}

/// Every registration of `key` in `year`, read page by page.
async fn all(reg: &dyn Register, key: &RegistroKey, year: i32) -> Vec<Registration> {
    let mut out: Vec<Registration> = Vec::new();
    loop {
        let after = out.last().map(|r| r.identificatore.numero_registrazione);
        let page = reg.list(key, year, after, 200).await.unwrap();
        if page.is_empty() {
            return out;
        }
        out.extend(page);
    }
}

fn numbers(rs: &[Registration]) -> Vec<u64> {
    rs.iter()
        .map(|r| r.identificatore.numero_registrazione.value())
        .collect()
}

// ---- the contract ----

async fn numbering_starts_at_one_and_restarts_on_first_january(b: Backend) {
    let reg = b.open().await;
    let k = key();
    assert_eq!(reg.last_number(&k, 2025).await.unwrap(), None);
    let id = reg.register(&k, day(2025, 12, 30), rec("a")).await.unwrap();
    assert_eq!(id.numero_registrazione.to_string(), "0000001");
    assert_eq!(id.data_registrazione, day(2025, 12, 30));
    assert_eq!(id.codice_amministrazione.codice, "c_h501");
    assert_eq!(id.codice_aoo.codice, "A1B2C3D");
    assert_eq!(id.codice_registro.as_str(), "PROT");
    let id = reg.register(&k, day(2025, 12, 31), rec("b")).await.unwrap();
    assert_eq!(id.numero_registrazione.value(), 2);
    let id = reg.register(&k, day(2026, 1, 1), rec("c")).await.unwrap();
    assert_eq!(id.numero_registrazione.value(), 1, "restarts on 1 January");
    // A late registration dated in the old year continues the old year's sequence.
    let id = reg.register(&k, day(2025, 12, 31), rec("d")).await.unwrap();
    assert_eq!(id.numero_registrazione.value(), 3);
    assert_eq!(reg.last_number(&k, 2025).await.unwrap().unwrap().value(), 3);
    assert_eq!(reg.last_number(&k, 2026).await.unwrap().unwrap().value(), 1);
    let old = all(&*reg, &k, 2025).await;
    assert_eq!(numbers(&old), [1, 2, 3]);
    assert_eq!(
        old.iter().map(|r| r.record.oggetto()).collect::<Vec<_>>(),
        ["a", "b", "d"]
    );
    assert_eq!(numbers(&all(&*reg, &k, 2026).await), [1]);
}

async fn registers_are_numbered_separately(b: Backend) {
    let reg = b.open().await;
    let keys = [
        key(),
        RegistroKey::new("c_h501", "A1B2C3D", "INTERNO".parse().unwrap()),
        RegistroKey::new("c_h501", "A9Z8Y7X", "PROT".parse().unwrap()),
        RegistroKey::new("c_f205", "A1B2C3D", "PROT".parse().unwrap()),
    ];
    for round in 1..=3u64 {
        for k in &keys {
            let id = reg
                .register(k, day(2025, 5, 2), rec(&format!("{round}")))
                .await
                .unwrap();
            assert_eq!(id.numero_registrazione.value(), round, "{k:?}");
            assert_eq!(&id.codice_registro, &k.codice_registro);
            assert_eq!(id.codice_aoo.codice, k.codice_aoo);
        }
    }
    for k in &keys {
        assert_eq!(numbers(&all(&*reg, k, 2025).await), [1, 2, 3]);
    }
}

async fn failed_registration_consumes_no_number(b: Backend) {
    let reg = b.open().await;
    if !b.poison("VELENO", false).await {
        panic!("this backend cannot inject a fault");
    }
    let k = key();
    assert_eq!(
        reg.register(&k, day(2025, 1, 10), rec("primo"))
            .await
            .unwrap()
            .numero_registrazione
            .value(),
        1
    );
    let err = reg
        .register(&k, day(2025, 1, 10), rec("VELENO"))
        .await
        .unwrap_err();
    assert!(matches!(err, RegistryError::Store(_)), "{err:?}");
    assert!(err.to_string().contains("injected fault"), "{err}");
    assert_eq!(reg.last_number(&k, 2025).await.unwrap().unwrap().value(), 1);
    // The very first registration of a year failing leaves no counter behind either.
    assert!(
        reg.register(&k, day(2026, 1, 1), rec("VELENO"))
            .await
            .is_err()
    );
    assert_eq!(reg.last_number(&k, 2026).await.unwrap(), None);
    let id = reg
        .register(&k, day(2025, 1, 11), rec("secondo"))
        .await
        .unwrap();
    assert_eq!(
        id.numero_registrazione.value(),
        2,
        "no gap after the failure"
    );
    assert_eq!(numbers(&all(&*reg, &k, 2025).await), [1, 2]);

    // Failing at COMMIT (after the counter and the record were both written).
    if b.poison("VELENO AL COMMIT", true).await {
        let err = reg
            .register(&k, day(2025, 1, 12), rec("VELENO AL COMMIT"))
            .await
            .unwrap_err();
        assert!(err.to_string().contains("injected fault"), "{err}");
        assert_eq!(reg.last_number(&k, 2025).await.unwrap().unwrap().value(), 2);
        let id = reg
            .register(&k, day(2025, 1, 12), rec("terzo"))
            .await
            .unwrap();
        assert_eq!(id.numero_registrazione.value(), 3);
        assert_eq!(numbers(&all(&*reg, &k, 2025).await), [1, 2, 3]);
    }
}

async fn request_id_makes_retries_safe(b: Backend) {
    let reg = b.open().await;
    let k = key();
    let r = rec("istanza").with_id_richiesta("req-1").unwrap();
    let first = reg.register(&k, day(2025, 3, 1), r.clone()).await.unwrap();
    assert_eq!(first.numero_registrazione.value(), 1);
    // A retry (even on another day, through another handle) returns the same registration.
    let again = b
        .open()
        .await
        .register(&k, day(2025, 3, 2), r.clone())
        .await
        .unwrap();
    assert_eq!(again, first);
    // The same id with another record is refused, and consumes nothing.
    let other = rec("altra istanza").with_id_richiesta("req-1").unwrap();
    match reg.register(&k, day(2025, 3, 1), other).await {
        Err(RegistryError::Conflict {
            id_richiesta,
            anno,
            numero,
        }) => {
            assert_eq!((id_richiesta.as_str(), anno, numero), ("req-1", 2025, 1));
        }
        other => panic!("expected a conflict, got {other:?}"),
    }
    // The id is per register: another register numbers it anew.
    let interno = RegistroKey::new("c_h501", "A1B2C3D", "INTERNO".parse().unwrap());
    let id = reg
        .register(&interno, day(2025, 3, 1), r.clone())
        .await
        .unwrap();
    assert_eq!(id.numero_registrazione.value(), 1);
    let id = reg
        .register(&k, day(2025, 3, 1), rec("nuova"))
        .await
        .unwrap();
    assert_eq!(id.numero_registrazione.value(), 2);
    assert_eq!(numbers(&all(&*reg, &k, 2025).await), [1, 2]);
}

async fn concurrent_retries_of_one_request_share_one_number(b: Backend) {
    let reg = b.open().await;
    let k = key();
    let r = rec("domanda").with_id_richiesta("req-concurrent").unwrap();
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let reg = b.open().await;
        let (k, r) = (k.clone(), r.clone());
        tasks.push(tokio::spawn(async move {
            reg.register(&k, day(2025, 6, 1), r).await.unwrap()
        }));
    }
    let mut got = BTreeSet::new();
    for t in tasks {
        got.insert(t.await.unwrap().numero_registrazione.value());
    }
    assert_eq!(got, BTreeSet::from([1]));
    assert_eq!(reg.last_number(&k, 2025).await.unwrap().unwrap().value(), 1);
    assert_eq!(numbers(&all(&*reg, &k, 2025).await), [1]);
}

async fn listing_get_and_round_trip(b: Backend) {
    let reg = b.open().await;
    let k = key();
    let pdf = b"%PDF-1.7 domanda";
    let full = RegistrationRecord::new(Verso::Partenza, "Risposta\nsu due righe", "Regione Marche")
        .unwrap()
        .with_impronta(Impronta::sha256(pdf))
        .unwrap()
        .with_segnatura(b"<Segnatura>\0binary\xff</Segnatura>".to_vec())
        .unwrap()
        .with_id_richiesta("pratica/42")
        .unwrap();
    let id = reg
        .register(&k, day(2025, 9, 9), full.clone())
        .await
        .unwrap();
    for i in 2..=25 {
        reg.register(&k, day(2025, 9, 10), rec(&format!("n{i}")))
            .await
            .unwrap();
    }
    let got = reg
        .get(&k, 2025, id.numero_registrazione)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.identificatore, id);
    assert_eq!(got.record, full);
    assert_eq!(
        got.record.impronta().unwrap().check("x.pdf", pdf).ok(),
        Some(())
    );
    assert!(got.registrata_il <= chrono::Utc::now());
    assert!(got.registrata_il > chrono::Utc::now() - chrono::Duration::minutes(5));
    assert_eq!(
        reg.get(&k, 2025, NumeroRegistrazione::new(26))
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        reg.get(&k, 2024, NumeroRegistrazione::new(1))
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        reg.get(&k, 2025, NumeroRegistrazione::new(u64::MAX))
            .await
            .unwrap(),
        None
    );

    let p1 = reg.list(&k, 2025, None, 10).await.unwrap();
    assert_eq!(numbers(&p1), (1..=10).collect::<Vec<_>>());
    let p2 = reg
        .list(&k, 2025, Some(NumeroRegistrazione::new(10)), 10)
        .await
        .unwrap();
    assert_eq!(numbers(&p2), (11..=20).collect::<Vec<_>>());
    assert_eq!(p2[0].record.oggetto(), "n11");
    assert_eq!(p2[0].identificatore.data_registrazione, day(2025, 9, 10));
    let p3 = reg
        .list(&k, 2025, Some(NumeroRegistrazione::new(20)), 10)
        .await
        .unwrap();
    assert_eq!(numbers(&p3), (21..=25).collect::<Vec<_>>());
    assert!(
        reg.list(&k, 2025, Some(NumeroRegistrazione::new(25)), 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        reg.list(&k, 2025, Some(NumeroRegistrazione::new(u64::MAX)), 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(reg.list(&k, 2024, None, 10).await.unwrap().is_empty());
    assert_eq!(reg.list(&k, 2025, None, MAX_PAGE).await.unwrap().len(), 25);
    for bad in [0, MAX_PAGE + 1] {
        assert!(matches!(
            reg.list(&k, 2025, None, bad).await,
            Err(RegistryError::PageSize { requested, max: MAX_PAGE }) if requested == bad
        ));
    }
}

async fn a_held_counter_times_out_as_busy_and_consumes_nothing(b: Backend) {
    use std::time::{Duration, Instant};
    let reg = b.open_with_lock_timeout(Duration::from_millis(300)).await;
    let k = key();
    reg.register(&k, day(2025, 7, 1), rec("uno")).await.unwrap();
    let held = b.hold_counter().await;
    let started = Instant::now();
    let err = reg
        .register(&k, day(2025, 7, 1), rec("in attesa"))
        .await
        .unwrap_err();
    let waited = started.elapsed();
    match err {
        RegistryError::Busy { registro, year } => {
            assert_eq!((registro.as_str(), year), ("PROT", 2025))
        }
        other => panic!("expected Busy, got {other:?}"),
    }
    assert!(
        waited >= Duration::from_millis(250),
        "gave up after {waited:?}"
    );
    assert!(waited < Duration::from_secs(10), "waited {waited:?}");
    // Other registers are not held.
    let interno = RegistroKey::new("c_h501", "A1B2C3D", "INTERNO".parse().unwrap());
    if matches!(b, Backend::Postgres { .. }) {
        assert_eq!(
            reg.register(&interno, day(2025, 7, 1), rec("altro"))
                .await
                .unwrap()
                .numero_registrazione
                .value(),
            1
        );
    }
    held.release().await;
    let id = reg.register(&k, day(2025, 7, 1), rec("due")).await.unwrap();
    assert_eq!(id.numero_registrazione.value(), 2);
    assert_eq!(numbers(&all(&*reg, &k, 2025).await), [1, 2]);
}

async fn an_exhausted_counter_is_refused_and_stores_nothing(b: Backend) {
    let reg = b.open().await;
    let k = key();
    reg.register(&k, day(2025, 1, 2), rec("uno")).await.unwrap();
    b.set_counter(i64::MAX).await;
    match reg.register(&k, day(2025, 1, 2), rec("troppo")).await {
        Err(RegistryError::Exhausted { registro, year }) => {
            assert_eq!((registro.as_str(), year), ("PROT", 2025));
        }
        other => panic!("expected Exhausted, got {other:?}"),
    }
    assert_eq!(numbers(&all(&*reg, &k, 2025).await), [1]);
    let max = u64::try_from(i64::MAX).unwrap();
    assert_eq!(
        reg.last_number(&k, 2025).await.unwrap().unwrap().value(),
        max
    );
    // The next year is not affected.
    let id = reg
        .register(&k, day(2026, 1, 2), rec("nuovo anno"))
        .await
        .unwrap();
    assert_eq!(id.numero_registrazione.value(), 1);
}

async fn numbering_survives_reopening(b: Backend) {
    let k = key();
    {
        let reg = b.open().await;
        for i in 1..=5 {
            reg.register(&k, day(2025, 2, 2), rec(&format!("{i}")))
                .await
                .unwrap();
        }
    }
    let reg = b.open().await;
    assert_eq!(reg.last_number(&k, 2025).await.unwrap().unwrap().value(), 5);
    let id = reg.register(&k, day(2025, 2, 3), rec("6")).await.unwrap();
    assert_eq!(id.numero_registrazione.value(), 6);
}

macro_rules! contract {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $name() { super::$name(super::Backend::sqlite()).await })*
        }
        mod postgres {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $name() {
                let Some(b) = super::Backend::postgres().await else { return };
                super::$name(b).await
            })*
        }
    };
}

contract!(
    numbering_starts_at_one_and_restarts_on_first_january,
    registers_are_numbered_separately,
    failed_registration_consumes_no_number,
    request_id_makes_retries_safe,
    concurrent_retries_of_one_request_share_one_number,
    listing_get_and_round_trip,
    numbering_survives_reopening,
    a_held_counter_times_out_as_busy_and_consumes_nothing,
    an_exhausted_counter_is_refused_and_stores_nothing,
);

#[test]
fn a_file_numbered_by_the_counter_keeps_its_numbering_as_a_register() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("registro.sqlite");
    let counter = SqliteRegistry::open(&path).unwrap();
    for _ in 0..5 {
        counter.next_number(&key(), 2025).unwrap();
    }
    drop(counter);
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let reg = SqliteRegister::open(&path).unwrap();
        assert_eq!(
            reg.last_number(&key(), 2025)
                .await
                .unwrap()
                .unwrap()
                .value(),
            5
        );
        let id = reg
            .register(&key(), day(2025, 6, 6), rec("sei"))
            .await
            .unwrap();
        assert_eq!(id.numero_registrazione.value(), 6);
        assert_eq!(numbers(&all(&reg, &key(), 2025).await), [6]);
    });
}

mod memory {
    // Memory keeps no fault to inject: the rest of the contract.
    #[tokio::test]
    async fn numbering_starts_at_one_and_restarts_on_first_january() {
        super::numbering_starts_at_one_and_restarts_on_first_january(super::Backend::memory()).await
    }
    #[tokio::test]
    async fn registers_are_numbered_separately() {
        super::registers_are_numbered_separately(super::Backend::memory()).await
    }
    #[tokio::test]
    async fn request_id_makes_retries_safe() {
        super::request_id_makes_retries_safe(super::Backend::memory()).await
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_retries_of_one_request_share_one_number() {
        super::concurrent_retries_of_one_request_share_one_number(super::Backend::memory()).await
    }
    #[tokio::test]
    async fn listing_get_and_round_trip() {
        super::listing_get_and_round_trip(super::Backend::memory()).await
    }
}

// ---- records are checked before anything is numbered ----

#[test]
fn invalid_records_are_refused() {
    let field = |r: Result<RegistrationRecord, RegistryError>| match r {
        Err(RegistryError::InvalidRecord { field, .. }) => field,
        other => panic!("expected InvalidRecord, got {other:?}"),
    };
    assert_eq!(
        field(RegistrationRecord::new(Verso::Arrivo, "", "x")),
        "oggetto"
    );
    assert_eq!(
        field(RegistrationRecord::new(Verso::Arrivo, " \n ", "x")),
        "oggetto"
    );
    assert_eq!(
        field(RegistrationRecord::new(Verso::Arrivo, "a\0b", "x")),
        "oggetto"
    );
    assert_eq!(
        field(RegistrationRecord::new(
            Verso::Arrivo,
            "é".repeat(MAX_OGGETTO_CHARS + 1),
            "x"
        )),
        "oggetto"
    );
    assert!(RegistrationRecord::new(Verso::Arrivo, "é".repeat(MAX_OGGETTO_CHARS), "x").is_ok());
    assert_eq!(
        field(RegistrationRecord::new(Verso::Arrivo, "o", "")),
        "corrispondente"
    );
    assert_eq!(
        field(RegistrationRecord::new(Verso::Arrivo, "o", "Mario\nRossi")),
        "corrispondente"
    );
    assert_eq!(
        field(RegistrationRecord::new(
            Verso::Arrivo,
            "o",
            "x".repeat(MAX_CORRISPONDENTE_CHARS + 1)
        )),
        "corrispondente"
    );
    assert_eq!(field(rec("o").with_segnatura(Vec::new())), "segnatura");
    assert_eq!(
        field(rec("o").with_segnatura(vec![b'x'; MAX_SEGNATURA_BYTES + 1])),
        "segnatura"
    );
    assert!(
        rec("o")
            .with_segnatura(vec![b'x'; MAX_SEGNATURA_BYTES])
            .is_ok()
    );
    assert_eq!(field(rec("o").with_id_richiesta("")), "id_richiesta");
    assert_eq!(field(rec("o").with_id_richiesta("a\tb")), "id_richiesta");
    assert_eq!(
        field(rec("o").with_id_richiesta("é".repeat(MAX_ID_RICHIESTA_BYTES / 2 + 1))),
        "id_richiesta"
    );
    let short = Impronta {
        algoritmo: DigestAlgorithm::Sha256,
        valore: vec![0; 31],
    };
    assert_eq!(field(rec("o").with_impronta(short)), "impronta");
    let weak = Impronta {
        algoritmo: DigestAlgorithm::from_name("SHA-1"),
        valore: vec![0; 20],
    };
    assert_eq!(field(rec("o").with_impronta(weak)), "impronta");
}

#[test]
fn record_of_a_received_segnatura() {
    let pdf = b"%PDF-1.7 istanza";
    let seg = SegnaturaBuilder::new(
        Identificatore::new(
            "r_marche",
            "A0B1C2D",
            "PROT".parse().unwrap(),
            NumeroRegistrazione::new(77),
            day(2025, 3, 30),
        ),
        "Istanza di accesso agli atti",
        Classifica::flat("Affari generali", "1.6"),
        Soggetto::Amministrazione(Amministrazione::new("Regione Marche", "r_marche")),
        Destinatario::new(Soggetto::Amministrazione(Amministrazione::new(
            "Comune di Roma",
            "c_h501",
        ))),
        Documento::from_content("istanza.pdf", "application/pdf", pdf),
    )
    .build();
    let xml = seg.to_xml().unwrap();
    let r = RegistrationRecord::from_received(&seg, xml.as_bytes()).unwrap();
    assert_eq!(r.verso(), Verso::Arrivo);
    assert_eq!(r.oggetto(), "Istanza di accesso agli atti");
    assert_eq!(r.corrispondente(), "Regione Marche");
    assert_eq!(r.impronta(), Some(&Impronta::sha256(pdf)));
    assert_eq!(r.segnatura(), Some(xml.as_bytes()));
    assert_eq!(r.id_richiesta(), None);
}

// ---- several processes on one database ----

const CHILD_STORE: &str = "PROTOCOLLO_REGISTER_CHILD_STORE";
const CHILD_ID: &str = "PROTOCOLLO_REGISTER_CHILD_ID";
const CHILD_COUNT: &str = "PROTOCOLLO_REGISTER_CHILD_COUNT";
const CHILD_IDLE_MS: &str = "PROTOCOLLO_REGISTER_CHILD_IDLE_MS";
const TASKS: usize = 8;
/// Starts a child's line reporting a registration: `<MARK><number> <oggetto>`.
const MARK: &str = "@@registered ";

/// The child role: `TASKS` concurrent tasks each registering `CHILD_COUNT` records on the
/// store named by `CHILD_STORE` (`pg:URL` or `sqlite:PATH`), printing `@@registered <number> <oggetto>`
/// once each registration returned. Returns at once when run as an ordinary test.
#[test]
fn child_worker() {
    let Ok(store) = std::env::var(CHILD_STORE) else {
        return;
    };
    let id: String = std::env::var(CHILD_ID).unwrap();
    let count: usize = std::env::var(CHILD_COUNT).unwrap().parse().unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let reg: Arc<dyn Register> = if let Some(url) = store.strip_prefix("pg:") {
            let mut reg = PgRegister::connect(url).await.unwrap();
            if let Ok(ms) = std::env::var(CHILD_IDLE_MS) {
                reg = reg.with_idle_timeout(std::time::Duration::from_millis(ms.parse().unwrap()));
            }
            Arc::new(reg)
        } else {
            Arc::new(SqliteRegister::open(store.strip_prefix("sqlite:").unwrap()).unwrap())
        };
        let mut tasks = Vec::new();
        for t in 0..TASKS {
            let (reg, id) = (reg.clone(), id.clone());
            tasks.push(tokio::spawn(async move {
                for i in 0..count {
                    let oggetto = format!("p{id}-t{t}-{i}");
                    let n = reg
                        .register(&key(), day(2025, 4, 1), rec(&oggetto))
                        .await
                        .unwrap()
                        .numero_registrazione
                        .value();
                    let mut out = std::io::stdout().lock();
                    writeln!(out, "{MARK}{n} {oggetto}").unwrap();
                    out.flush().unwrap();
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
    });
}

fn spawn_child(store: &str, id: usize, count: usize) -> std::process::Child {
    spawn_child_with(store, id, count, &[])
}

fn spawn_child_with(
    store: &str,
    id: usize,
    count: usize,
    env: &[(&str, String)],
) -> std::process::Child {
    Command::new(std::env::current_exe().unwrap())
        .envs(env.iter().map(|(k, v)| (k, v)))
        .args(["--exact", "child_worker", "--nocapture", "--test-threads=1"])
        .env(CHILD_STORE, store)
        .env(CHILD_ID, id.to_string())
        .env(CHILD_COUNT, count.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap()
}

/// `number -> oggetto` from a child's output; panics on a number printed twice.
fn parse_ok(line: &str, into: &mut BTreeMap<u64, String>) {
    // libtest may print on the same line before the first mark.
    if let Some(rest) = line.find(MARK).map(|i| &line[i + MARK.len()..]) {
        let (n, o) = rest.split_once(' ').unwrap();
        let n: u64 = n.parse().unwrap();
        assert!(
            into.insert(n, o.to_owned()).is_none(),
            "number {n} returned twice"
        );
    }
}

/// The register holds exactly 1..=N, each with its record, and every number a child was
/// given is there with the record that child registered.
async fn assert_gapless(reg: &dyn Register, returned: &BTreeMap<u64, String>) -> u64 {
    let stored = all(reg, &key(), 2025).await;
    let n = u64::try_from(stored.len()).unwrap();
    assert_eq!(
        numbers(&stored),
        (1..=n).collect::<Vec<_>>(),
        "numbers are not 1..=N"
    );
    assert_eq!(
        reg.last_number(&key(), 2025)
            .await
            .unwrap()
            .map(|n| n.value()),
        Some(n)
    );
    for (num, oggetto) in returned {
        let r = &stored[usize::try_from(*num).unwrap() - 1];
        assert_eq!(
            r.record.oggetto(),
            oggetto,
            "number {num} has another record"
        );
    }
    let distinct: BTreeSet<&str> = stored.iter().map(|r| r.record.oggetto()).collect();
    assert_eq!(distinct.len(), stored.len(), "a record registered twice");
    n
}

async fn processes_share_one_gapless_sequence(store: String, reg: Arc<dyn Register>, each: usize) {
    let children: Vec<_> = (0..4).map(|p| spawn_child(&store, p, each)).collect();
    let mut returned = BTreeMap::new();
    for c in children {
        let out = c.wait_with_output().unwrap();
        assert!(out.status.success(), "child failed: {:?}", out.status);
        for line in String::from_utf8(out.stdout).unwrap().lines() {
            parse_ok(line, &mut returned);
        }
    }
    let total = u64::try_from(4 * TASKS * each).unwrap();
    assert_eq!(returned.len(), 4 * TASKS * each);
    assert_eq!(
        returned.keys().copied().collect::<Vec<_>>(),
        (1..=total).collect::<Vec<_>>()
    );
    assert_eq!(assert_gapless(&*reg, &returned).await, total);
}

async fn killed_process_leaves_no_gap(store: String, reg: Arc<dyn Register>) {
    use std::os::unix::process::ExitStatusExt;
    // A steady writer beside the victim, so the victim dies while others are registering.
    let steady = spawn_child(&store, 1, 20);
    let mut victim = spawn_child(&store, 0, 100_000);
    let mut lines = BufReader::new(victim.stdout.take().unwrap()).lines();
    let mut returned = BTreeMap::new();
    while returned.len() < 150 {
        let line = lines.next().unwrap().unwrap();
        parse_ok(&line, &mut returned);
    }
    victim.kill().unwrap(); // SIGKILL
    let status = victim.wait().unwrap();
    assert_eq!(status.signal(), Some(9));
    for line in lines {
        parse_ok(&line.unwrap(), &mut returned);
    }
    let out = steady.wait_with_output().unwrap();
    assert!(out.status.success());
    for line in String::from_utf8(out.stdout).unwrap().lines() {
        parse_ok(line, &mut returned);
    }
    let n = assert_gapless(&*reg, &returned).await;
    assert!(n >= u64::try_from(returned.len()).unwrap());
    // Registrations the victim had committed but not reported yet: at most one per task.
    assert!(
        n <= u64::try_from(returned.len() + TASKS).unwrap(),
        "{n} stored"
    );
    // The victim's locks are gone: the sequence goes on at once.
    let id = reg
        .register(&key(), day(2025, 4, 2), rec("dopo"))
        .await
        .unwrap();
    assert_eq!(id.numero_registrazione.value(), n + 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_four_processes_of_eight_tasks_share_one_gapless_sequence() {
    let Some(url) = pa_postgres::testing::fresh_database().await.unwrap() else {
        return;
    };
    let reg = Arc::new(PgRegister::connect(&url).await.unwrap());
    let started = std::time::Instant::now();
    processes_share_one_gapless_sequence(format!("pg:{url}"), reg, 50).await;
    eprintln!(
        "PostgreSQL: 1600 registrations by 4 processes x 8 tasks in {:?}",
        started.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_process_killed_mid_registrations_leaves_no_gap() {
    let Some(url) = pa_postgres::testing::fresh_database().await.unwrap() else {
        return;
    };
    let reg = Arc::new(PgRegister::connect(&url).await.unwrap());
    killed_process_leaves_no_gap(format!("pg:{url}"), reg).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_four_processes_of_eight_tasks_share_one_gapless_sequence() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("registro.sqlite");
    let reg = Arc::new(SqliteRegister::open(&path).unwrap());
    let started = std::time::Instant::now();
    processes_share_one_gapless_sequence(format!("sqlite:{}", path.display()), reg, 10).await;
    eprintln!(
        "SQLite: 320 registrations by 4 processes x 8 tasks in {:?}",
        started.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_process_killed_mid_registrations_leaves_no_gap() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("registro.sqlite");
    let reg = Arc::new(SqliteRegister::open(&path).unwrap());
    killed_process_leaves_no_gap(format!("sqlite:{}", path.display()), reg).await;
}

fn signal(child: &std::process::Child, sig: &str) {
    let ok = Command::new("kill")
        .args([sig, &child.id().to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok, "kill {sig} failed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_frozen_process_releases_the_register_after_the_idle_timeout() {
    use std::time::{Duration, Instant};
    let Some(url) = pa_postgres::testing::fresh_database().await.unwrap() else {
        return;
    };
    let probe = PgRegister::connect(&url)
        .await
        .unwrap()
        .with_lock_timeout(Duration::from_millis(200));
    let patient = PgRegister::connect(&url)
        .await
        .unwrap()
        .with_lock_timeout(Duration::from_secs(20));
    let mut frozen = spawn_child_with(
        &format!("pg:{url}"),
        0,
        100_000,
        &[(CHILD_IDLE_MS, "500".into())],
    );
    let mut lines = BufReader::new(frozen.stdout.take().unwrap()).lines();
    let mut returned = BTreeMap::new();
    while returned.len() < 50 {
        parse_ok(&lines.next().unwrap().unwrap(), &mut returned);
    }
    // Freeze the child until it is caught holding the counter (a probe finds it Busy).
    let mut caught = false;
    for attempt in 0..40 {
        signal(&frozen, "-STOP");
        match probe
            .register(&key(), day(2025, 4, 1), rec(&format!("sonda {attempt}")))
            .await
        {
            Err(RegistryError::Busy { .. }) => {
                caught = true;
                break;
            }
            Ok(_) => signal(&frozen, "-CONT"),
            Err(e) => panic!("probe: {e}"),
        }
    }
    assert!(caught, "the child was never caught holding the counter");
    // The server ends the frozen session after its idle timeout (0.5 s; the child's other
    // tasks queued on the row take it in turn and are ended the same way, 8 x 0.5 s at
    // most): the register goes on long before this registration's own 20 s lock timeout.
    let started = Instant::now();
    patient
        .register(&key(), day(2025, 4, 1), rec("dopo il gelo"))
        .await
        .unwrap();
    let waited = started.elapsed();
    assert!(waited < Duration::from_secs(10), "waited {waited:?}");
    frozen.kill().unwrap();
    frozen.wait().unwrap();
    for line in lines {
        parse_ok(&line.unwrap(), &mut returned);
    }
    let n = assert_gapless(&patient, &returned).await;
    eprintln!("frozen holder released after {waited:?}; {n} registrations, gapless");
}

#[tokio::test]
async fn postgres_unreachable_at_start_is_unavailable_naming_the_server() {
    // A port nothing listens on: no server needed.
    let err = PgRegister::connect("postgres://pa:s3cret@127.0.0.1:1/registro_comune")
        .await
        .unwrap_err();
    let RegistryError::Unavailable(msg) = &err else {
        panic!("expected Unavailable, got {err:?}");
    };
    assert!(msg.contains("127.0.0.1:1"), "{msg}");
    assert!(msg.contains("registro_comune"), "{msg}");
    assert!(!msg.contains("s3cret"), "{msg}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_connection_lost_mid_registration_is_unavailable_and_consumes_nothing() {
    use std::time::Duration;
    let Some(url) = pa_postgres::testing::fresh_database().await.unwrap() else {
        return;
    };
    let reg = Arc::new(PgRegister::connect(&url).await.unwrap());
    let admin = pa_postgres::Database::connect(&url).await.unwrap();
    let c = admin.client().await.unwrap();
    // The insertion of a record "LENTO" sleeps inside the transaction, after the counter update.
    c.batch_execute(
        "CREATE FUNCTION test_slow() RETURNS trigger AS $$
         BEGIN
           IF NEW.oggetto = 'LENTO' THEN PERFORM pg_sleep(30); END IF;
           RETURN NEW;
         END $$ LANGUAGE plpgsql;
         CREATE TRIGGER test_slow BEFORE INSERT ON protocollo_registrazione
           FOR EACH ROW EXECUTE FUNCTION test_slow();",
    )
    .await
    .unwrap();
    let k = key();
    reg.register(&k, day(2025, 8, 1), rec("uno")).await.unwrap();
    let slow = rec("LENTO").with_id_richiesta("lento-1").unwrap();
    let task = {
        let (reg, k, slow) = (reg.clone(), k.clone(), slow.clone());
        tokio::spawn(async move { reg.register(&k, day(2025, 8, 1), slow).await })
    };
    // The server side of that registration dies (as when the connection drops).
    let mut killed = false;
    for _ in 0..200 {
        let row = c
            .query_one(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
                 WHERE datname = current_database() AND wait_event = 'PgSleep'",
                &[],
            )
            .await
            .unwrap();
        if row.get::<_, i64>(0) > 0 {
            killed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(killed, "the slow registration never started");
    let err = task.await.unwrap().unwrap_err();
    assert!(matches!(err, RegistryError::Unavailable(_)), "{err:?}");
    assert_eq!(reg.last_number(&k, 2025).await.unwrap().unwrap().value(), 1);
    // The retry the error asks for (same request id) registers it, with the next number.
    c.batch_execute("DROP TRIGGER test_slow ON protocollo_registrazione")
        .await
        .unwrap();
    let id = reg
        .register(&k, day(2025, 8, 1), slow.clone())
        .await
        .unwrap();
    assert_eq!(id.numero_registrazione.value(), 2);
    assert_eq!(reg.register(&k, day(2025, 8, 1), slow).await.unwrap(), id);
    assert_eq!(numbers(&all(&*reg, &k, 2025).await), [1, 2]);
}
