//! `pa pdf verify` (PAdES).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Subcommand;
use protocollo::{PdfSignature, PdfVerifier, SignatureContent, SignatureKind};

use crate::cmd_protocollo::{TrustArgs, fail, read};

/// Signed PDF documents (PAdES).
#[derive(Debug, Subcommand)]
pub(crate) enum Pdf {
    /// Verify every signature of a signed PDF: its `/ByteRange` (the whole revision but the
    /// `/Contents` hole), the CMS inside (as `pa p7m verify` does: same trust, legacy,
    /// revocation and time-stamp options), and what incremental updates changed after it
    /// (another signature, form filling, annotations, other changes; a certification
    /// signature's DocMDP permission). Without `--trust` the chain of trust is NOT checked
    /// (a warning says so). Exit 0 when there is at least one signature and all are valid,
    /// 1 otherwise.
    Verify {
        /// The signed PDF.
        file: PathBuf,
        #[command(flatten)]
        trust: TrustArgs,
    },
}

/// Runs `pa pdf ...`.
pub(crate) fn run(cmd: Pdf) -> ExitCode {
    let Pdf::Verify { file, trust } = cmd;
    let (cms, tsa) = match trust.verifiers() {
        Ok(v) => v,
        Err(e) => return fail(e),
    };
    let bytes = match read(&file) {
        Ok(b) => b,
        Err(e) => return fail(e),
    };
    let verifier = match tsa {
        Some(t) => PdfVerifier::new(cms).with_tsa(t),
        None => PdfVerifier::new(cms),
    };
    let v = match verifier.verify(&bytes) {
        Ok(v) => v,
        Err(e) => return fail(format!("{}: {e}", file.display())),
    };
    println!(
        "{}: {} revision(s), {} signature(s)",
        file.display(),
        v.revision_ends.len(),
        v.signatures.len()
    );
    for u in &v.updates {
        for c in &u.changes {
            println!("revision {}: {c}", u.revision);
        }
    }
    for (i, s) in v.signatures.iter().enumerate() {
        report(i + 1, s);
    }
    if v.signatures.is_empty() {
        return fail(format!("{}: no signatures", file.display()));
    }
    let bad = v.signatures.iter().filter(|s| !s.is_valid()).count();
    if bad == 0 {
        println!("all {} signature(s) valid", v.signatures.len());
        ExitCode::SUCCESS
    } else {
        eprintln!(
            "error: {} of {} signature(s) NOT valid",
            bad,
            v.signatures.len()
        );
        ExitCode::from(1)
    }
}

fn report(n: usize, s: &PdfSignature) {
    let kind = match s.kind {
        SignatureKind::Certification(p) => format!("certification, DocMDP {p}"),
        SignatureKind::DocTimeStamp => "document time-stamp".into(),
        _ => "approval".into(),
    };
    println!(
        "signature {n}: field {} ({}, {kind}){}",
        s.field,
        s.sub_filter,
        s.revision
            .map(|r| format!(", signs revision {r}"))
            .unwrap_or_default()
    );
    if let Some(m) = &s.claimed_time {
        println!("  /M {m}");
    }
    match &s.result {
        Ok(SignatureContent::Cms(p7m)) => {
            for signer in p7m.signers() {
                println!(
                    "  signer: {}{}{}",
                    signer.subject,
                    signer
                        .codice_fiscale
                        .as_ref()
                        .map(|cf| format!(" [CF {cf}]"))
                        .unwrap_or_default(),
                    if signer.chain_verified {
                        " (chain OK)"
                    } else {
                        " (chain NOT checked)"
                    }
                );
                for l in &signer.legacy {
                    println!("  legacy: {l}");
                }
                for t in &signer.timestamps {
                    match &t.result {
                        Ok(t) => println!("  signature {t}"),
                        Err(e) => println!("  signature time-stamp NOT used: {e}"),
                    }
                }
                for r in &signer.revocation {
                    println!("  revocation: {r}");
                }
            }
        }
        Ok(SignatureContent::TimeStamp(t)) => println!("  {t}"),
        Ok(_) => {}
        Err(_) => {}
    }
    if s.covers_whole_file {
        println!("  covers the whole file");
    } else {
        for u in &s.updates_after {
            println!(
                "  changed after signing in revision {}: {}",
                u.revision,
                u.level()
            );
        }
        println!("  changes after signing: {}", s.modification_level);
    }
    match s.failure() {
        None => println!("  VALID"),
        Some(why) => println!("  NOT VALID: {why}"),
    }
}
