//! `pa siopeplus`: validate, sign and send OPI flows; watch the client certificate.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::Subcommand;
use siopeplus::{
    A2aClient, A2aConfig, CertInfo, CertStatus, ClientIdentity, DEFAULT_WARN_DAYS, Error,
    FlowReader, FlowSigner, FlowValidator, Ordinativo, Outbox, OutboxError, OutboxState,
    OutboxStore, SqliteOutbox, sign_flow, trust_roots_from_pem, trusted_keys_from_pem, verify_flow,
};

/// SIOPE+ subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum Siopeplus {
    /// Read an OPI flow order by order and check the rules the schema cannot express (totals,
    /// unique numbers, identifier formats). Exit 0 when valid, 1 otherwise.
    Validate {
        /// Also verify the flow's signature with this certificate (PEM).
        #[arg(long, value_name = "CERT.pem")]
        verify_cert: Option<PathBuf>,
        /// The flow (`flusso_ordinativi` XML).
        file: PathBuf,
    },
    /// Sign a flow (enveloped XML-DSig on the root's `Id`) with the ente's key and certificate;
    /// writes the signed flow to `--output` or stdout.
    Sign {
        /// The ente's certificate and key: PKCS#12 (`.p12`/`.pfx`) or PEM with both.
        #[arg(long, value_name = "FILE")]
        cert: PathBuf,
        /// Name of the environment variable holding the PKCS#12 password.
        #[arg(long, value_name = "VAR")]
        password_env: Option<String>,
        /// Output file (default: stdout).
        #[arg(long, short)]
        output: Option<PathBuf>,
        /// The flow to sign.
        file: PathBuf,
    },
    /// Put a signed flow in the durable outbox and send it over A2A (mutual TLS); then follow
    /// the outbox as far as the channel allows and print each entry's state. Run it again to
    /// advance pending entries (ACK, esiti). Exit 0 once SIOPE+ has the flow; 1 when it was
    /// refused (ACK KO, rifiuto) or the upload failed or has an unknown outcome.
    Send {
        /// Base URL, e.g. `https://certa2a.siopeplus.it/v1`.
        #[arg(long)]
        base_url: url::Url,
        /// The ente's A2A code (`A2A-nnnnnnnn`).
        #[arg(long)]
        a2a: String,
        /// The ente's code in the A2A paths.
        #[arg(long)]
        ente: String,
        /// Client certificate and key: PKCS#12 or PEM.
        #[arg(long, value_name = "FILE")]
        cert: PathBuf,
        /// Name of the environment variable holding the PKCS#12 password.
        #[arg(long, value_name = "VAR")]
        password_env: Option<String>,
        /// Trust roots for the SIOPE+ server (PEM).
        #[arg(long, value_name = "CA.pem")]
        ca: PathBuf,
        /// The outbox database (SQLite).
        #[arg(long, default_value = "siopeplus-outbox.sqlite")]
        outbox: PathBuf,
        /// Seconds to wait for an ACK before re-sending a flow whose upload outcome is unknown.
        #[arg(long, default_value_t = 900)]
        grace_secs: u64,
        /// The signed flow; omit to only advance what is already in the outbox.
        file: Option<PathBuf>,
    },
    /// Show the outbox: the most recent flows with their state (pending, uploaded, ack_ok,
    /// ricevuto, in_corso, completed, ack_ko, rifiutato, failed) and each flow's orders
    /// (accepted, refused with the treasurer's code, executed, cancelled). Exit 0, or 1 when a
    /// flow was refused or given up, or an order refused.
    Status {
        /// The outbox database (SQLite).
        #[arg(
            long,
            default_value = "siopeplus-outbox.sqlite",
            conflicts_with = "database_url"
        )]
        outbox: PathBuf,
        /// The outbox in PostgreSQL (a partner deployment) instead of SQLite.
        #[arg(long, value_name = "URL")]
        database_url: Option<String>,
        /// The PostgreSQL outbox's channel (e.g. the ente's A2A code).
        #[arg(long, default_value = "", requires = "database_url")]
        channel: String,
        /// How many flows, newest first.
        #[arg(long, default_value_t = 20)]
        limit: usize,
    },
    /// Report subject, A2A code, issuer and expiry of a certificate (PEM or PKCS#12), or with
    /// `--config` of every ente's A2A certificate in a partner deployment config, soonest
    /// expiry first. Exit 0 when valid, 1 when one expires within `--warn-days`, 2 when one is
    /// expired, not yet valid, unreadable or invalid (the worst of them).
    CertCheck {
        /// Name of the environment variable holding the PKCS#12 password.
        #[arg(long, value_name = "VAR")]
        password_env: Option<String>,
        /// Warning window in days.
        #[arg(long, default_value_t = DEFAULT_WARN_DAYS)]
        warn_days: u32,
        /// A deployment config (JSON, `{"enti": [{"id", "name", "siope": {"codice_a2a",
        /// "certificate_pem"}}]}`; paths relative to the file's directory): check every
        /// ente's certificate.
        #[arg(long, value_name = "FILE", conflicts_with = "file")]
        config: Option<PathBuf>,
        /// The certificate file.
        #[arg(required_unless_present = "config")]
        file: Option<PathBuf>,
    },
}

/// Runs a subcommand; returns the exit code.
pub(crate) fn run(cmd: Siopeplus) -> ExitCode {
    ExitCode::from(run_code(cmd))
}

fn run_code(cmd: Siopeplus) -> u8 {
    let r = match cmd {
        Siopeplus::Validate { verify_cert, file } => validate(&file, verify_cert.as_deref()),
        Siopeplus::Sign {
            cert,
            password_env,
            output,
            file,
        } => sign(&cert, password_env.as_deref(), output.as_deref(), &file),
        Siopeplus::Send {
            base_url,
            a2a,
            ente,
            cert,
            password_env,
            ca,
            outbox,
            grace_secs,
            file,
        } => send(SendArgs {
            base_url,
            a2a,
            ente,
            cert,
            password_env,
            ca,
            outbox,
            grace: Duration::from_secs(grace_secs),
            file,
        }),
        Siopeplus::Status {
            outbox,
            database_url,
            channel,
            limit,
        } => status(&outbox, database_url.as_deref(), &channel, limit),
        Siopeplus::CertCheck {
            password_env,
            warn_days,
            config,
            file,
        } => {
            return match (config, file) {
                (Some(c), _) => cert_check_config(&c, password_env.as_deref(), warn_days),
                (None, Some(f)) => cert_check(&f, password_env.as_deref(), warn_days),
                (None, None) => {
                    eprintln!("error: give a certificate file or --config FILE");
                    2
                }
            };
        }
    };
    match r {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            1
        }
    }
}

fn status(
    outbox: &Path,
    database_url: Option<&str>,
    channel: &str,
    limit: usize,
) -> Result<u8, String> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    rt.block_on(async move {
        let store: Arc<dyn OutboxStore> = match database_url {
            Some(url) => Arc::new(
                siopeplus::PgOutbox::connect(url)
                    .await
                    .map_err(|e| e.to_string())?
                    .with_channel(channel),
            ),
            None => {
                if !outbox.exists() {
                    return Err(format!("no outbox at {}", outbox.display()));
                }
                Arc::new(SqliteOutbox::open(outbox).map_err(|e| e.to_string())?)
            }
        };
        let entries = store
            .recent_entries(limit)
            .await
            .map_err(|e| e.to_string())?;
        if entries.is_empty() {
            println!("the outbox is empty");
        }
        let mut code = 0;
        for e in &entries {
            let prog = e
                .prog_flusso
                .map(|p| format!(", progFlusso {p}"))
                .unwrap_or_default();
            println!(
                "{}: {} (entry {}{prog}, {} upload{})",
                e.identificativo_flusso,
                e.state.as_str(),
                e.id,
                e.attempts,
                if e.attempts == 1 { "" } else { "s" }
            );
            if matches!(
                e.state,
                OutboxState::AckKo | OutboxState::Rifiutato | OutboxState::Failed
            ) {
                code = 1;
                if let Some(d) = &e.detail {
                    println!("  reason: {d}");
                }
            }
            for o in store.orders(e.id).await.map_err(|e| e.to_string())? {
                let kind = match o.tipo {
                    siopeplus::TipoOrdinativo::Mandato => "mandato",
                    siopeplus::TipoOrdinativo::Reversale => "reversale",
                };
                let mut line = format!(
                    "  {kind} {}/{} {}: {}",
                    o.numero,
                    o.esercizio,
                    o.importo.map(|a| a.to_decimal_string()).unwrap_or_default(),
                    o.state.as_str()
                );
                if let Some(x) = &o.esito {
                    line.push_str(&format!(" [{x}]"));
                }
                if let Some(c) = &o.code {
                    line.push_str(&format!(" codice {c}"));
                }
                if let Some(d) = &o.detail {
                    line.push_str(&format!(": {d}"));
                }
                if o.state == siopeplus::OrderState::Refused {
                    code = 1;
                }
                println!("{line}");
            }
        }
        Ok(code)
    })
}

fn password(var: Option<&str>) -> Result<Option<String>, String> {
    match var {
        None => Ok(None),
        Some(v) => std::env::var(v)
            .map(Some)
            .map_err(|_| format!("environment variable {v} is not set")),
    }
}

fn validate(file: &Path, verify_cert: Option<&Path>) -> Result<u8, String> {
    let f =
        std::fs::File::open(file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    let mut r = FlowReader::new(std::io::BufReader::new(f)).map_err(|e| e.to_string())?;
    let h = r.header().clone();
    let mut ok = siopeplus::validate_testata(&h.testata, h.esercizio)
        .map_err(|e| eprintln!("{e}"))
        .is_ok();
    let mut v = FlowValidator::new();
    let (mut mandati, mut reversali, mut tot_m, mut tot_r) = (0u64, 0u64, 0u64, 0u64);
    while let Some(o) = r.next_ordinativo().map_err(|e| e.to_string())? {
        let res = match &o {
            Ordinativo::Mandato(m) => {
                mandati += 1;
                tot_m = tot_m.saturating_add(m.importo_mandato.cents());
                v.check_mandato(m)
            }
            Ordinativo::Reversale(rv) => {
                reversali += 1;
                tot_r = tot_r.saturating_add(rv.importo_reversale.cents());
                v.check_reversale(rv)
            }
        };
        if let Err(e) = res {
            ok = false;
            for x in e.errors() {
                eprintln!("{x}");
            }
        }
    }
    let eur = |c: u64| pa_types::Amount::from_cents(c).to_decimal_string();
    println!(
        "flusso {} (esercizio {}): {mandati} mandati for {} EUR, {reversali} reversali for {} EUR, {} signature(s)",
        h.testata.identificativo_flusso,
        h.esercizio,
        eur(tot_m),
        eur(tot_r),
        r.signatures()
    );
    if let Some(cert) = verify_cert {
        let pem =
            std::fs::read(cert).map_err(|e| format!("cannot read {}: {e}", cert.display()))?;
        let trusted = trusted_keys_from_pem(&pem).map_err(|e| e.to_string())?;
        let xml =
            std::fs::read(file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
        match verify_flow(&xml, &trusted) {
            Ok(()) => println!("signature: valid"),
            Err(e) => {
                eprintln!("signature: {e}");
                ok = false;
            }
        }
    }
    if ok {
        println!("valid");
        Ok(0)
    } else {
        println!("invalid");
        Ok(1)
    }
}

fn sign(
    cert: &Path,
    password_env: Option<&str>,
    output: Option<&Path>,
    file: &Path,
) -> Result<u8, String> {
    let pw = password(password_env)?;
    let signer = FlowSigner::load(cert, pw.as_deref()).map_err(|e| e.to_string())?;
    let xml = std::fs::read(file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    let signed = sign_flow(&xml, &signer).map_err(|e| e.to_string())?;
    match output {
        Some(p) => {
            std::fs::write(p, signed).map_err(|e| format!("cannot write {}: {e}", p.display()))?
        }
        None => std::io::stdout()
            .write_all(&signed)
            .map_err(|e| e.to_string())?,
    }
    Ok(0)
}

struct SendArgs {
    base_url: url::Url,
    a2a: String,
    ente: String,
    cert: PathBuf,
    password_env: Option<String>,
    ca: PathBuf,
    outbox: PathBuf,
    grace: Duration,
    file: Option<PathBuf>,
}

fn send(a: SendArgs) -> Result<u8, String> {
    let pw = password(a.password_env.as_deref())?;
    let identity = ClientIdentity::load(&a.cert, pw.as_deref()).map_err(|e| e.to_string())?;
    let ca = std::fs::read(&a.ca).map_err(|e| format!("cannot read {}: {e}", a.ca.display()))?;
    let roots = trust_roots_from_pem(&ca).map_err(|e| e.to_string())?;
    let cfg = A2aConfig::new(
        a.base_url,
        a.a2a
            .parse()
            .map_err(|e: siopeplus::InvalidValue| e.to_string())?,
        a.ente,
        identity,
        roots,
    );
    let flow = match &a.file {
        Some(f) => {
            let xml = std::fs::read(f).map_err(|e| format!("cannot read {}: {e}", f.display()))?;
            let mut r = FlowReader::new(&xml[..]).map_err(|e| e.to_string())?;
            let ident = r.header().testata.identificativo_flusso.to_string();
            let mut v = FlowValidator::new();
            while let Some(o) = r.next_ordinativo().map_err(|e| e.to_string())? {
                let res = match &o {
                    Ordinativo::Mandato(m) => v.check_mandato(m),
                    Ordinativo::Reversale(rv) => v.check_reversale(rv),
                };
                res.map_err(|e| e.to_string())?;
            }
            if r.signatures() == 0 {
                return Err(
                    "the flow is not signed: sign it first with `pa siopeplus sign`".into(),
                );
            }
            Some((ident, xml))
        }
        None => None,
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    rt.block_on(async move {
        let client = A2aClient::new(cfg).map_err(|e| e.to_string())?;
        let store = Arc::new(SqliteOutbox::open(&a.outbox).map_err(|e| e.to_string())?);
        let outbox = Outbox::new(store.clone(), client, a.grace);
        if let Some((ident, xml)) = &flow {
            match outbox.enqueue(ident, xml).await {
                Ok(id) => println!("queued {ident} (outbox entry {id})"),
                Err(Error::Outbox(OutboxError::Duplicate(_))) => {
                    println!("{ident} is already in the outbox")
                }
                Err(e) => return Err(e.to_string()),
            }
        }
        let entries = outbox.process().await.map_err(|e| e.to_string())?;
        let mut code = 0;
        for e in &entries {
            println!(
                "{}: {}{}",
                e.identificativo_flusso,
                e.state.as_str(),
                e.detail
                    .as_deref()
                    .map(|d| format!(" ({d})"))
                    .unwrap_or_default()
            );
        }
        if let Some((ident, _)) = &flow {
            let mine = entries.iter().find(|e| &e.identificativo_flusso == ident);
            let state = match mine {
                Some(e) => Some(e.state),
                None => store.open_entries().await.ok().and_then(|v| {
                    v.into_iter()
                        .find(|e| &e.identificativo_flusso == ident)
                        .map(|e| e.state)
                }),
            };
            match state {
                Some(OutboxState::AckKo | OutboxState::Rifiutato) => code = 1,
                Some(OutboxState::Pending | OutboxState::Uploading) => code = 1,
                _ => {}
            }
        }
        Ok(code)
    })
}

fn cert_check(file: &Path, password_env: Option<&str>, warn_days: u32) -> u8 {
    let pw = match password(password_env) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: {e}");
            return 2;
        }
    };
    let info = match CertInfo::load(file, pw.as_deref()) {
        Ok(i) => i,
        Err(e) => {
            eprintln!("error: {}: {e}", file.display());
            println!("status: INVALID");
            return 2;
        }
    };
    let now = chrono::Utc::now();
    println!("subject: {}", info.subject);
    println!(
        "A2A code: {}",
        info.a2a_code
            .as_ref()
            .map_or_else(|| "none".to_owned(), ToString::to_string)
    );
    println!("issuer: {}", info.issuer);
    println!("serial: {}", info.serial);
    println!(
        "valid from: {}",
        info.not_before.format("%Y-%m-%d %H:%M:%S UTC")
    );
    println!(
        "expires: {}",
        info.not_after.format("%Y-%m-%d %H:%M:%S UTC")
    );
    match info.status(now, warn_days) {
        CertStatus::Valid { days_left } => {
            println!("days left: {days_left}");
            println!("status: OK");
            0
        }
        CertStatus::ExpiringSoon { days_left } => {
            println!("days left: {days_left}");
            println!("status: EXPIRING (within {warn_days} days): start the renewal now");
            1
        }
        CertStatus::Expired { days_ago } => {
            println!("days left: -{days_ago}");
            println!("status: EXPIRED: SIOPE+ refuses every request");
            2
        }
        CertStatus::NotYetValid => {
            println!("status: NOT YET VALID");
            2
        }
    }
}

/// One ente's line in `cert-check --config`.
struct EnteCert {
    id: String,
    name: String,
    a2a: Option<String>,
    /// `None`: the ente has no `siope` section.
    outcome: Option<Result<CertInfo, String>>,
}

impl EnteCert {
    /// Sort key: unreadable first, then by expiry; enti without SIOPE+ last.
    fn key(&self) -> (u8, i64) {
        match &self.outcome {
            Some(Err(_)) => (0, 0),
            Some(Ok(i)) => (1, i.not_after.timestamp()),
            None => (2, 0),
        }
    }
}

fn str_field(v: &serde_json::Value, k: &str) -> Option<String> {
    v.get(k)
        .and_then(serde_json::Value::as_str)
        .map(str::to_owned)
}

/// Reads the enti of a deployment config; only `id`, `name` and `siope.{codice_a2a,
/// certificate_pem}` are used.
fn config_enti(path: &Path, password: Option<&str>) -> Result<Vec<EnteCert>, String> {
    let text = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let v: serde_json::Value =
        serde_json::from_slice(&text).map_err(|e| format!("{}: not JSON: {e}", path.display()))?;
    let enti = v
        .get("enti")
        .and_then(serde_json::Value::as_array)
        .ok_or_else(|| format!("{}: no \"enti\" array", path.display()))?;
    let base = path.parent().unwrap_or(Path::new("."));
    let mut out = Vec::with_capacity(enti.len());
    for (i, e) in enti.iter().enumerate() {
        let id = str_field(e, "id").unwrap_or_else(|| format!("#{}", i + 1));
        let name = str_field(e, "name").unwrap_or_default();
        let siope = e.get("siope").filter(|s| !s.is_null());
        let a2a = siope.and_then(|s| str_field(s, "codice_a2a"));
        let outcome = siope.map(|s| match str_field(s, "certificate_pem") {
            None => Err("no siope.certificate_pem".to_owned()),
            Some(p) => {
                let p = base.join(p);
                CertInfo::load(&p, password).map_err(|e| format!("{}: {e}", p.display()))
            }
        });
        out.push(EnteCert {
            id,
            name,
            a2a,
            outcome,
        });
    }
    Ok(out)
}

fn cert_check_config(config: &Path, password_env: Option<&str>, warn_days: u32) -> u8 {
    let pw = match password(password_env) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: {e}");
            return 2;
        }
    };
    let mut enti = match config_enti(config, pw.as_deref()) {
        Ok(v) => v,
        Err(e) => {
            eprintln!("error: {e}");
            println!("status: INVALID");
            return 2;
        }
    };
    enti.sort_by_key(EnteCert::key);
    let now = chrono::Utc::now();
    let mut worst = 0u8;
    println!(
        "{:<16} {:<32} {:<14} {:>9}  {:<10}  status",
        "ente", "name", "A2A code", "days left", "expires"
    );
    for e in &enti {
        let a2a = e.a2a.as_deref().unwrap_or("-");
        let (days, expires, status, code, note) = match &e.outcome {
            None => (
                String::new(),
                String::new(),
                "no SIOPE+ certificate".to_owned(),
                0,
                None,
            ),
            Some(Err(err)) => (
                String::new(),
                String::new(),
                "INVALID".to_owned(),
                2,
                Some(err.clone()),
            ),
            Some(Ok(info)) => {
                let (status, code) = match info.status(now, warn_days) {
                    CertStatus::Valid { .. } => ("OK".to_owned(), 0),
                    CertStatus::ExpiringSoon { .. } => {
                        (format!("EXPIRING (within {warn_days} days)"), 1)
                    }
                    CertStatus::Expired { .. } => ("EXPIRED".to_owned(), 2),
                    CertStatus::NotYetValid => ("NOT YET VALID".to_owned(), 2),
                };
                let in_cert = info.a2a_code.as_ref().map(ToString::to_string);
                let note = match (&e.a2a, in_cert) {
                    (Some(c), Some(x)) if *c != x => {
                        Some(format!("the certificate names {x}, the config {c}"))
                    }
                    _ => None,
                };
                (
                    info.days_left(now).to_string(),
                    info.not_after.format("%Y-%m-%d").to_string(),
                    status,
                    code,
                    note,
                )
            }
        };
        worst = worst.max(code);
        println!(
            "{:<16} {:<32} {a2a:<14} {days:>9}  {expires:<10}  {status}",
            e.id, e.name
        );
        if let Some(n) = note {
            println!("{:<16} note: {n}", "");
        }
    }
    let with_cert = enti.iter().filter(|e| e.outcome.is_some()).count();
    println!(
        "{} enti, {with_cert} with a SIOPE+ certificate; status: {}",
        enti.len(),
        match worst {
            0 => "OK",
            1 => "EXPIRING",
            _ => "EXPIRED OR INVALID",
        }
    );
    worst
}

#[cfg(test)]
mod tests {
    use super::*;
    use siopeplus::simulator::TestPki;

    fn cert_file(dir: &Path, pki: &TestPki, from: i64, to: i64) -> PathBuf {
        let (c, _) = pki.issue_client("Comune A2A-12345678", from, to).unwrap();
        let p = dir.join(format!("c{from}_{to}.pem"));
        std::fs::write(&p, c).unwrap();
        p
    }

    fn check(file: PathBuf, warn_days: u32) -> u8 {
        run_code(Siopeplus::CertCheck {
            password_env: None,
            warn_days,
            config: None,
            file: Some(file),
        })
    }

    const FLOW: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<flusso_ordinativi Id="F1">
  <testata_flusso>
    <codice_ABI_BT>03069</codice_ABI_BT>
    <identificativo_flusso>FL-CLI-1</identificativo_flusso>
    <data_ora_creazione_flusso>2026-03-02T10:00:00</data_ora_creazione_flusso>
    <codice_ente>UF1234</codice_ente>
    <descrizione_ente>Comune di Esempio</descrizione_ente>
    <codice_istat_ente>012058123</codice_istat_ente>
    <codice_fiscale_ente>02438750586</codice_fiscale_ente>
    <codice_tramite_ente>A2A-12345678</codice_tramite_ente>
    <codice_tramite_BT>A2A-87654321</codice_tramite_BT>
    <codice_ente_BT>0001234</codice_ente_BT>
  </testata_flusso>
  <esercizio>2026</esercizio>
  <mandato>
    <tipo_operazione>INSERIMENTO</tipo_operazione>
    <numero_mandato>1</numero_mandato>
    <data_mandato>2026-03-02</data_mandato>
    <importo_mandato>150.00</importo_mandato>
    <informazioni_beneficiario>
      <progressivo_beneficiario>1</progressivo_beneficiario>
      <importo_beneficiario>150.00</importo_beneficiario>
      <tipo_pagamento>CASSA</tipo_pagamento>
      <bollo><assoggettamento_bollo>ESENTE BOLLO</assoggettamento_bollo></bollo>
      <beneficiario>
        <anagrafica_beneficiario>Rossi Mario</anagrafica_beneficiario>
        <codice_fiscale_beneficiario>RSSMRA85T10A562S</codice_fiscale_beneficiario>
      </beneficiario>
      <causale>Rimborso</causale>
    </informazioni_beneficiario>
  </mandato>
</flusso_ordinativi>
"#;

    #[test]
    fn validate_sign_and_send_against_the_simulator() {
        use siopeplus::simulator::{SimOptions, Simulator};
        let rt = tokio::runtime::Runtime::new().unwrap();
        let pki = TestPki::generate("CA").unwrap();
        let sim = rt
            .block_on(Simulator::start(&pki, SimOptions::default()))
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let p = |n: &str| dir.path().join(n);
        std::fs::write(p("flow.xml"), FLOW).unwrap();
        std::fs::write(
            p("bad.xml"),
            FLOW.replace("<importo_mandato>150.00", "<importo_mandato>151.00"),
        )
        .unwrap();
        let validate = |file: PathBuf, verify_cert: Option<PathBuf>| {
            run_code(Siopeplus::Validate { verify_cert, file })
        };
        assert_eq!(validate(p("flow.xml"), None), 0);
        assert_eq!(validate(p("bad.xml"), None), 1);

        let (c, k) = pki.issue_client("Comune A2A-12345678", -1, 1000).unwrap();
        std::fs::write(p("ente.pem"), format!("{c}{k}")).unwrap();
        std::fs::write(p("cert.pem"), &c).unwrap();
        std::fs::write(p("ca.pem"), pki.ca_pem()).unwrap();
        let sign = run_code(Siopeplus::Sign {
            cert: p("ente.pem"),
            password_env: None,
            output: Some(p("signed.xml")),
            file: p("flow.xml"),
        });
        assert_eq!(sign, 0);
        assert_eq!(validate(p("signed.xml"), Some(p("cert.pem"))), 0);
        let tampered = std::fs::read_to_string(p("signed.xml"))
            .unwrap()
            .replace("Rimborso", "Rimborsi");
        std::fs::write(p("tampered.xml"), tampered).unwrap();
        assert_eq!(validate(p("tampered.xml"), Some(p("cert.pem"))), 1);

        let send = |file: Option<PathBuf>| {
            run_code(Siopeplus::Send {
                base_url: sim.base_url(),
                a2a: "A2A-12345678".into(),
                ente: "UF1234".into(),
                cert: p("ente.pem"),
                password_env: None,
                ca: p("ca.pem"),
                outbox: p("outbox.sqlite"),
                grace_secs: 0,
                file,
            })
        };
        assert_eq!(send(Some(p("flow.xml"))), 1, "unsigned flows are not sent");
        assert_eq!(send(Some(p("signed.xml"))), 0);
        assert_eq!(
            send(Some(p("signed.xml"))),
            0,
            "already in the outbox: not sent again"
        );
        assert_eq!(send(None), 0);
        assert_eq!(sim.received().len(), 1);
        assert!(sim.received()[0].accepted);
    }

    #[test]
    fn cert_check_exit_codes() {
        let pki = TestPki::generate("CA").unwrap();
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(check(cert_file(dir.path(), &pki, -10, 1000), 90), 0);
        assert_eq!(check(cert_file(dir.path(), &pki, -10, 30), 90), 1);
        assert_eq!(check(cert_file(dir.path(), &pki, -10, 30), 20), 0);
        assert_eq!(check(cert_file(dir.path(), &pki, -1000, -1), 90), 2);
        let junk = dir.path().join("junk.pem");
        std::fs::write(&junk, "not a certificate").unwrap();
        assert_eq!(check(junk, 90), 2);
        assert_eq!(check(dir.path().join("missing.pem"), 90), 2);
    }
}
