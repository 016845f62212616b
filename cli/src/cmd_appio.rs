//! `pa appio ...`: App IO bulk sending from a CSV file, journal status, profile look-up, the
//! institution's services, the subscriptions feed, logo checks.
//!
//! Exit codes: 0 on success; 1 when the input is invalid, an operation fails, some row of a
//! bulk send failed or is ambiguous, the send was interrupted (Ctrl-C; run it again to resume),
//! or the citizen cannot receive messages (`profile`); 2 for usage errors.

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use appio::bulk::{
    AmbiguousPolicy, BulkReport, BulkSender, Journal, RowOutcome, RowState, SqliteJournal,
    Template, check_delivery, read_csv,
};
use appio::{ApiError, CodiceFiscale, Error, IoClient, SubscriptionKey};
use clap::{Args, Subcommand};

/// App IO: send messages in bulk, check a journal, look up a citizen's profile.
#[derive(Debug, Subcommand)]
pub(crate) enum Appio {
    /// Send one message per CSV row (column `fiscal_code` required, optional `id` as row key),
    /// filling in a JSON template's `{{column}}` placeholders. Resumable: the journal records
    /// every row; run the same command again after a crash or Ctrl-C.
    Send {
        /// CSV file (header line, comma separated, UTF-8).
        #[arg(long)]
        csv: PathBuf,
        /// JSON template: `subject`, `markdown`, optional `due_date`, `payment`
        /// (`notice_number`, `amount` in euro, `payee`), `feature_level`, `time_to_live`.
        #[arg(long)]
        template: PathBuf,
        /// Journal file (SQLite; default: the CSV path with `.journal.sqlite` appended).
        #[arg(long)]
        journal: Option<PathBuf>,
        #[command(flatten)]
        conn: Connection,
        /// Rows processed at once.
        #[arg(long, default_value_t = 8)]
        concurrency: usize,
        /// Client-side limit, requests per second.
        #[arg(long)]
        rate: Option<f64>,
        /// Resend rows whose earlier submission has an unknown outcome (the citizen may get
        /// the message twice). Default: report them and do not send.
        #[arg(long)]
        resend_ambiguous: bool,
    },
    /// Summarize a bulk journal: rows by state, failed and ambiguous rows. With
    /// `--check-delivery`, first read the delivery status of sent messages from IO.
    Status {
        /// Journal file written by `pa appio send`.
        #[arg(long)]
        journal: PathBuf,
        /// Query IO for the processing status of sent messages and record it.
        #[arg(long)]
        check_delivery: bool,
        #[command(flatten)]
        conn: Connection,
    },
    /// Look up whether a citizen is on IO and allows this service (exit 0 only if so).
    Profile {
        /// The citizen's codice fiscale.
        fiscal_code: String,
        #[command(flatten)]
        conn: Connection,
    },
    /// List the institution's services (id, lifecycle status, name), with the manage key.
    Services {
        /// Environment variable holding the institution's manage key.
        #[arg(long, default_value = "IO_MANAGE_KEY")]
        manage_key_env: String,
        /// IO Services base URL.
        #[arg(long, default_value = appio::api::PRODUCTION_BASE_URL)]
        base_url: String,
    },
    /// Print the subscriptions feed of a UTC day: counts, then `+hash` / `-hash` lines. With
    /// `--fiscal-code`, say whether that citizen subscribed or unsubscribed that day.
    Feed {
        /// The day, `YYYY-MM-DD`.
        date: String,
        /// A citizen to look for in the feed.
        #[arg(long)]
        fiscal_code: Option<String>,
        #[command(flatten)]
        conn: Connection,
    },
    /// Check a PNG logo as it would be before an upload (exit 1 with the reason if refused).
    LogoCheck {
        /// The PNG file.
        file: PathBuf,
        /// Require a square image.
        #[arg(long)]
        square: bool,
        /// Smallest width and height in pixels.
        #[arg(long, default_value_t = 1)]
        min_side: u32,
    },
}

/// How to reach IO Services.
#[derive(Debug, Args)]
pub(crate) struct Connection {
    /// Environment variable holding the service's subscription key.
    #[arg(long, default_value = "IO_SUBSCRIPTION_KEY")]
    key_env: String,
    /// IO Services base URL.
    #[arg(long, default_value = appio::api::PRODUCTION_BASE_URL)]
    base_url: String,
}

impl Connection {
    fn client(&self, concurrency: usize, rate: Option<f64>) -> Result<IoClient, String> {
        let key = std::env::var(&self.key_env)
            .ok()
            .filter(|k| !k.trim().is_empty())
            .ok_or_else(|| format!("environment variable {} is not set", self.key_env))?;
        IoClient::builder(SubscriptionKey::new(key.trim()))
            .base_url(&self.base_url)
            .max_concurrency(concurrency)
            .rate_limit(rate)
            .build()
            .map_err(|e| e.to_string())
    }
}

macro_rules! tri {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::FAILURE;
            }
        }
    };
}

pub(crate) fn run(cmd: Appio) -> ExitCode {
    let rt = tri!(
        tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
    );
    rt.block_on(async move {
        match cmd {
            Appio::Send {
                csv,
                template,
                journal,
                conn,
                concurrency,
                rate,
                resend_ambiguous,
            } => {
                let policy = if resend_ambiguous {
                    AmbiguousPolicy::ResendAcceptingDuplicates
                } else {
                    AmbiguousPolicy::Report
                };
                send(&csv, &template, journal, &conn, concurrency, rate, policy).await
            }
            Appio::Status {
                journal,
                check_delivery,
                conn,
            } => status(&journal, check_delivery.then_some(&conn)).await,
            Appio::Profile { fiscal_code, conn } => profile(&fiscal_code, &conn).await,
            Appio::Services {
                manage_key_env,
                base_url,
            } => {
                let conn = Connection {
                    key_env: manage_key_env,
                    base_url,
                };
                services(&conn).await
            }
            Appio::Feed {
                date,
                fiscal_code,
                conn,
            } => feed(&date, fiscal_code.as_deref(), &conn).await,
            Appio::LogoCheck {
                file,
                square,
                min_side,
            } => logo_check(&file, square, min_side),
        }
    })
}

fn default_journal(csv: &Path) -> PathBuf {
    let mut s = csv.as_os_str().to_owned();
    s.push(".journal.sqlite");
    PathBuf::from(s)
}

async fn send(
    csv: &Path,
    template: &Path,
    journal: Option<PathBuf>,
    conn: &Connection,
    concurrency: usize,
    rate: Option<f64>,
    policy: AmbiguousPolicy,
) -> ExitCode {
    let template = tri!(Template::from_file(template));
    let (header, rows) = tri!(read_csv(csv));
    tri!(template.check_columns(&header));
    let client = tri!(conn.client(concurrency, rate));
    let journal_path = journal.unwrap_or_else(|| default_journal(csv));
    let journal: Arc<dyn Journal> = Arc::new(tri!(SqliteJournal::open(&journal_path)));
    eprintln!("journal: {}", journal_path.display());
    let tty = std::io::stderr().is_terminal();
    let sender = BulkSender::new(client, journal, template)
        .concurrency(concurrency)
        .ambiguous_policy(policy)
        .on_progress(move |p| progress_line(p.done, p.total, p.key, p.outcome, tty));
    let stop = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
        eprintln!("\ninterrupted: finishing the rows in flight, then stopping");
    };
    let report = tri!(sender.run_until(rows, stop).await);
    if tty {
        eprintln!();
    }
    print_report(&report);
    if report.is_complete_success() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn progress_line(done: usize, total: Option<usize>, key: &str, o: &RowOutcome, tty: bool) {
    let mut err = std::io::stderr().lock();
    if tty {
        let total = total.unwrap_or(done).max(1);
        let width = 30;
        let filled = done * width / total;
        let _ = write!(
            err,
            "\r[{}{}] {done}/{total}",
            "#".repeat(filled.min(width)),
            ".".repeat(width - filled.min(width))
        );
        let _ = err.flush();
    } else if !matches!(o, RowOutcome::Sent(_) | RowOutcome::AlreadySent(_)) {
        let _ = writeln!(err, "{key}: {}", describe(o));
    }
}

fn describe(o: &RowOutcome) -> String {
    match o {
        RowOutcome::Sent(id) => format!("sent {id}"),
        RowOutcome::AlreadySent(id) => format!("already sent {id}"),
        RowOutcome::Skipped(r) => format!("skipped ({r})"),
        RowOutcome::Failed { reason, detail } => format!("failed ({reason}): {detail}"),
        RowOutcome::Ambiguous { detail } => format!("AMBIGUOUS: {detail}"),
        _ => "unknown outcome".to_owned(),
    }
}

fn print_report(r: &BulkReport) {
    println!("rows:         {}", r.total);
    println!("sent:         {}", r.sent);
    println!("already sent: {}", r.already_sent);
    for (reason, n) in &r.skipped {
        println!("skipped:      {n} ({reason})");
    }
    for (reason, n) in &r.failed {
        println!("failed:       {n} ({reason})");
    }
    println!("ambiguous:    {}", r.ambiguous.len());
    for (key, reason, detail) in &r.failures {
        println!("  failed {key} ({reason}): {detail}");
    }
    for key in &r.ambiguous {
        println!(
            "  ambiguous {key}: sent but no answer; check with the citizen or IO before resending"
        );
    }
    if r.interrupted {
        println!(
            "interrupted:  {} rows not processed; run again to resume",
            r.not_processed
        );
    }
}

async fn status(journal_path: &Path, conn: Option<&Connection>) -> ExitCode {
    if !journal_path.exists() {
        eprintln!("error: {}: no such journal", journal_path.display());
        return ExitCode::FAILURE;
    }
    if let Some(conn) = conn {
        let client = tri!(conn.client(8, None));
        let journal = tri!(SqliteJournal::open(journal_path));
        let d = tri!(check_delivery(&client, &journal, 8).await);
        println!("delivery checked: {}", d.checked);
        for (status, n) in &d.by_status {
            println!("  {status}: {n}");
        }
        for (key, e) in &d.errors {
            println!("  {key}: could not read status: {e}");
        }
    }
    let entries = tri!(SqliteJournal::read_entries(journal_path));
    let mut by_state: BTreeMap<String, usize> = BTreeMap::new();
    let mut problems = Vec::new();
    for e in &entries {
        let label = match &e.state {
            RowState::Sending => "sending (interrupted)".to_owned(),
            RowState::Sent {
                delivery: Some(d), ..
            } => format!("sent ({d})"),
            RowState::Sent { .. } => "sent".to_owned(),
            RowState::Skipped(r) => format!("skipped ({r})"),
            RowState::Failed { reason, .. } => format!("failed ({reason})"),
            RowState::Ambiguous { .. } => "ambiguous".to_owned(),
            _ => "other".to_owned(),
        };
        *by_state.entry(label).or_default() += 1;
        match &e.state {
            RowState::Failed { reason, detail } => {
                problems.push(format!(
                    "{} {}: failed ({reason}): {detail}",
                    e.key, e.fiscal_code
                ));
            }
            RowState::Ambiguous { detail } => {
                problems.push(format!("{} {}: ambiguous: {detail}", e.key, e.fiscal_code));
            }
            RowState::Sending => {
                problems.push(format!(
                    "{} {}: interrupted while sending",
                    e.key, e.fiscal_code
                ));
            }
            _ => {}
        }
    }
    println!("rows in journal: {}", entries.len());
    for (state, n) in &by_state {
        println!("  {state}: {n}");
    }
    for p in &problems {
        println!("{p}");
    }
    ExitCode::SUCCESS
}

async fn profile(fiscal_code: &str, conn: &Connection) -> ExitCode {
    let cf: CodiceFiscale = tri!(fiscal_code.parse().map_err(|e| format!("fiscal code: {e}")));
    let client = tri!(conn.client(1, None));
    match client.get_profile(&cf).await {
        Ok(p) if p.sender_allowed => {
            println!("{cf}: on IO, accepts messages from this service");
            if !p.preferred_languages.is_empty() {
                println!("preferred languages: {}", p.preferred_languages.join(", "));
            }
            ExitCode::SUCCESS
        }
        Ok(_) => {
            println!("{cf}: on IO, has blocked this service");
            ExitCode::FAILURE
        }
        Err(Error::Api(ApiError::ProfileNotFound { .. })) => {
            println!("{cf}: not on IO");
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn services(conn: &Connection) -> ExitCode {
    let manage = appio::ManageClient::new(tri!(conn.client(4, None)));
    let all = tri!(manage.all_services(100).await);
    for s in &all {
        println!("{}\t{}\t{}", s.id, s.status.value, s.data.name);
    }
    println!("services: {}", all.len());
    ExitCode::SUCCESS
}

async fn feed(date: &str, fiscal_code: Option<&str>, conn: &Connection) -> ExitCode {
    let day = tri!(appio::parse_date_utc(date));
    let wanted = match fiscal_code {
        Some(cf) => Some(appio::FiscalCodeHash::of(&tri!(
            cf.parse::<CodiceFiscale>()
                .map_err(|e| format!("fiscal code: {e}"))
        ))),
        None => None,
    };
    let client = tri!(conn.client(1, None));
    let f = match client.subscriptions_feed(day).await {
        Ok(f) => f,
        Err(Error::Api(ApiError::NotFound { .. })) => {
            eprintln!("error: the feed of {day} is not available yet");
            return ExitCode::FAILURE;
        }
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!(
        "{}: {} subscribed, {} unsubscribed",
        f.date,
        f.subscriptions.len(),
        f.unsubscriptions.len()
    );
    if let Some(h) = wanted {
        let sub = f.subscriptions.contains(&h);
        let unsub = f.unsubscriptions.contains(&h);
        println!(
            "citizen: {}",
            match (sub, unsub) {
                (true, false) => "subscribed",
                (false, true) => "unsubscribed",
                (true, true) => "subscribed and unsubscribed",
                (false, false) => "not in the feed",
            }
        );
    } else {
        for h in &f.subscriptions {
            println!("+{h}");
        }
        for h in &f.unsubscriptions {
            println!("-{h}");
        }
    }
    ExitCode::SUCCESS
}

fn logo_check(file: &Path, square: bool, min_side: u32) -> ExitCode {
    let bytes = tri!(std::fs::read(file).map_err(|e| format!("{}: {e}", file.display())));
    let rules = appio::LogoRules {
        square,
        min_side,
        ..appio::LogoRules::default()
    };
    let logo = tri!(appio::Logo::png_with(bytes, &rules));
    println!(
        "{}: PNG {}x{}, {} bytes: accepted",
        file.display(),
        logo.width(),
        logo.height(),
        logo.bytes().len()
    );
    ExitCode::SUCCESS
}
