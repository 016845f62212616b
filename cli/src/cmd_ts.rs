//! `pa ts`: RFC 3161 time-stamps (tokens, `.tsr` responses, `.tsd` and `.m7m` files).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Subcommand;
use protocollo::{P7mVerifier, TimeStampVerifier, is_timestamped, load_certificates};

/// Time-stamp subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum Ts {
    /// Verify an RFC 3161 time-stamp: a token or a `.tsr` response over `--data`, or a
    /// time-stamped file (`.tsd`, RFC 5544, or `.m7m`) holding its data. Checks the TSA's
    /// signature, its certificate (critical `timeStamping` extended key usage) and chain to
    /// `--tsa-trust` at the time-stamp's time, and the message imprint; prints each time-stamp.
    Verify {
        /// TSA trust root (PEM or DER certificates); repeatable.
        #[arg(long = "tsa-trust", required = true, value_name = "CERT")]
        tsa_trust: Vec<PathBuf>,
        /// Intermediate CA certificates of the TSA's chain; repeatable.
        #[arg(long = "tsa-intermediate", value_name = "CERT")]
        tsa_intermediate: Vec<PathBuf>,
        /// The time-stamped data, for a token or `.tsr`; with a `.tsd`/`.m7m`, checked to be
        /// the data the file holds.
        #[arg(long, value_name = "FILE")]
        data: Option<PathBuf>,
        /// Trust anchors for a `.p7m` inside a `.tsd`/`.m7m` (its signatures are verified at
        /// the time-stamp's time); repeatable.
        #[arg(long, value_name = "CERT")]
        trust: Vec<PathBuf>,
        /// The token, `.tsr`, `.tsd` or `.m7m`.
        file: PathBuf,
    },
}

fn read(path: &Path) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

fn certificates(paths: &[PathBuf]) -> Result<Vec<protocollo::x509_cert::Certificate>, String> {
    let mut out = Vec::new();
    for p in paths {
        out.extend(load_certificates(&read(p)?).map_err(|e| format!("{}: {e}", p.display()))?);
    }
    Ok(out)
}

fn verify(
    tsa_trust: &[PathBuf],
    tsa_intermediate: &[PathBuf],
    data: Option<&Path>,
    trust: &[PathBuf],
    file: &Path,
) -> Result<Vec<String>, String> {
    let verifier = TimeStampVerifier::new(certificates(tsa_trust)?)
        .with_intermediates(certificates(tsa_intermediate)?);
    let input = read(file)?;
    let data = data.map(read).transpose()?;
    let name = file.display();
    let mut lines = Vec::new();
    if is_timestamped(&input) {
        let p7m = P7mVerifier::new(certificates(trust)?);
        let v = verifier
            .verify_timestamped(&input, &p7m)
            .map_err(|e| format!("{name}: {e}"))?;
        if let Some(d) = &data
            && d != &v.data
        {
            return Err(format!(
                "{name}: the time-stamped data is not the --data file"
            ));
        }
        lines.push(format!(
            "{name}: {:?} file, {} bytes of time-stamped data{}",
            v.format,
            v.data.len(),
            match &v.p7m {
                Some(p) => format!(
                    " (a .p7m signed by {}, content {} bytes)",
                    p.signers()
                        .map(|s| format!("`{}`", s.subject))
                        .collect::<Vec<_>>()
                        .join(", "),
                    p.content.len()
                ),
                None => String::new(),
            }
        ));
        lines.extend(v.timestamps.iter().map(ToString::to_string));
    } else {
        let data = data.ok_or_else(|| {
            format!("{name}: a time-stamp token or .tsr: give the time-stamped --data file")
        })?;
        let t = verifier
            .verify(&input, &data)
            .map_err(|e| format!("{name}: {e}"))?;
        lines.push(t.to_string());
    }
    Ok(lines)
}

/// Runs a `pa ts` subcommand.
pub(crate) fn run(cmd: Ts) -> ExitCode {
    let result = match cmd {
        Ts::Verify {
            tsa_trust,
            tsa_intermediate,
            data,
            trust,
            file,
        } => verify(
            &tsa_trust,
            &tsa_intermediate,
            data.as_deref(),
            &trust,
            &file,
        ),
    };
    match result {
        Ok(lines) => {
            for l in lines {
                println!("{l}");
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
}
