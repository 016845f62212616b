//! `sportello`: the demo citizen portal on 127.0.0.1, on embedded defaults.
//!
//! ```sh
//! cargo run -p examples --bin sportello -- --port 8000
//! ```

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use examples::sportello::{self, Config};

/// The demo "sportello telematico": SPID/CIE login, protocollo, pagoPA, App IO and SIOPE+, all
/// simulated in process on 127.0.0.1.
#[derive(Debug, Parser)]
#[command(name = "sportello", version, about)]
struct Args {
    /// Port on 127.0.0.1 (0 picks a free one).
    #[arg(long, default_value_t = 8000)]
    port: u16,
    /// Port on 127.0.0.1 of the smart-card (CNS) login listener (TLS, 0 picks a free one).
    #[arg(long, default_value_t = 8443)]
    cns_port: u16,
    /// Directory of the SQLite state files.
    #[arg(long, default_value = "sportello-data")]
    data_dir: PathBuf,
    /// A JSON configuration file: the single ente's `io` and `siope` endpoints, or a partner's
    /// deployment with `partner` and `enti` (see the README). Exit code 2 when it is not valid.
    #[arg(long)]
    config: Option<PathBuf>,
    /// `postgres://…`: shared state for several instances instead of the SQLite files.
    #[arg(long)]
    database_url: Option<String>,
    /// `redis://…`: SPID/CIE login state and sessions shared by several instances.
    #[arg(long)]
    redis_url: Option<String>,
    /// The public URL when instances run behind a load balancer.
    #[arg(long)]
    public_url: Option<String>,
    /// Also offer SPID and CIE id over OpenID Connect Federation (embedded test federation).
    #[arg(long)]
    oidc: bool,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    let mut config = match &args.config {
        Some(path) => match Config::from_file(path) {
            Ok(c) => c,
            Err(e) => {
                eprintln!("sportello: {e}");
                return ExitCode::from(2);
            }
        },
        None => Config::default(),
    };
    config.port = args.port;
    config.cns_port = args.cns_port;
    config.data_dir = args.data_dir;
    if args.database_url.is_some() {
        config.database_url = args.database_url;
    }
    if args.redis_url.is_some() {
        config.redis_url = args.redis_url;
    }
    if args.public_url.is_some() {
        config.public_url = args.public_url;
    }
    if args.oidc {
        config.oidc = true;
    }
    match sportello::start(config).await {
        Ok(running) => {
            println!("Sportello telematico in ascolto su {}/", running.base_url);
            println!("Istanza: {}", running.instance);
            if running.enti.len() > 1 {
                for (id, url) in &running.enti {
                    println!("  ente {id}: {url}/");
                }
            }
            println!(
                "Apri il browser su {}/ e clicca \"Entra con SPID\".",
                running.base_url
            );
            println!(
                "Accesso con CNS su {}/login/cns (carta di prova: {}).",
                running.cns_base_url,
                running.demo_card.certificate.display()
            );
            match running.wait().await {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("sportello: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        Err(e) => {
            eprintln!("sportello: {e}");
            ExitCode::FAILURE
        }
    }
}
