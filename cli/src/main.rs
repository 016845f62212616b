//! `pa`: the pa-rs crates' operations for a person at a terminal.
//!
//! Each subcommand lives in a module of its own (`cmd_<area>.rs`) with a clap `Subcommand` enum
//! and a `run` function returning the process exit code: 0 on success, 1 when the input is
//! invalid or an operation fails (the reason is printed on stderr), 2 for usage errors (clap).

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod cmd_appio;
mod cmd_check;
mod cmd_db;
mod cmd_pagopa;
mod cmd_pdf;
mod cmd_protocollo;
mod cmd_siopeplus;
mod cmd_spid;
mod cmd_ts;
mod cmd_xmldsig;

/// Italian public-administration platforms from the command line: identifiers, SPID, pagoPA,
/// App IO, SIOPE+, protocollo.
#[derive(Debug, Parser)]
#[command(name = "pa", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Validate an identifier and print its normalized form.
    #[command(subcommand)]
    Check(cmd_check::Check),
    /// pagoPA: notice numbers, IUV and RF checks, QR code and Data Matrix.
    #[command(subcommand)]
    Pagopa(cmd_pagopa::Pagopa),
    /// Protocollo: seal and verify the segnatura informatica.
    #[command(subcommand)]
    Protocollo(cmd_protocollo::Protocollo),
    /// Signed documents: verify a CAdES `.p7m`.
    #[command(subcommand)]
    P7m(cmd_protocollo::P7m),
    /// Signed PDF documents: verify PAdES signatures, revisions and changes after signing.
    #[command(subcommand)]
    Pdf(cmd_pdf::Pdf),
    /// App IO: bulk sending from CSV, journal status, profile look-up.
    #[command(subcommand)]
    Appio(cmd_appio::Appio),
    /// SPID: Avviso-29 SP certificates and signed SP metadata.
    #[command(subcommand)]
    Spid(cmd_spid::Spid),
    /// Time-stamps: verify RFC 3161 tokens, `.tsr`, `.tsd` and `.m7m` files.
    #[command(subcommand)]
    Ts(cmd_ts::Ts),
    /// XML-DSig: sign an element (enveloped, exc-c14n) or verify a signed XML file.
    #[command(subcommand)]
    Xmldsig(cmd_xmldsig::Xmldsig),
    /// SIOPE+: validate, sign and send OPI flows; check the client certificate's expiry.
    #[command(subcommand)]
    Siopeplus(cmd_siopeplus::Siopeplus),
    /// PostgreSQL state: apply the crates' schema migrations, show their status.
    #[command(subcommand)]
    Db(cmd_db::Db),
    // Other areas register here: one variant each, dispatched in `main`.
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Appio(cmd) => cmd_appio::run(cmd),
        Command::Check(cmd) => cmd_check::run(cmd),
        Command::Db(cmd) => cmd_db::run(cmd),
        Command::Pagopa(cmd) => cmd_pagopa::run(cmd),
        Command::Protocollo(cmd) => cmd_protocollo::run(cmd),
        Command::Ts(cmd) => cmd_ts::run(cmd),
        Command::Xmldsig(cmd) => cmd_xmldsig::run(cmd),
        Command::P7m(cmd) => cmd_protocollo::run_p7m(cmd),
        Command::Pdf(cmd) => cmd_pdf::run(cmd),
        Command::Spid(cmd) => cmd_spid::run(cmd),
        Command::Siopeplus(cmd) => cmd_siopeplus::run(cmd),
    }
}
