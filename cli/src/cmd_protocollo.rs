//! `pa protocollo ...` (segnatura sealing and verification) and `pa p7m verify` (CAdES).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Subcommand};
use protocollo::xmldsig::{Certificate as DsigCertificate, SigningKey};
use protocollo::{
    LegacyPolicy, MessaggioRicevuto, OcspHash, P7mVerifier, RevocationInfo, RevocationOptions,
    SealOptions, SealVerifyOptions, SegnaturaInformatica, TimeStampVerifier, VerifyOptions,
    is_timestamped, load_certificates, load_certificates_dir, seal_segnatura, verify_segnatura,
};

/// Segnatura informatica (AgID 2021).
#[derive(Debug, Subcommand)]
pub(crate) enum Protocollo {
    /// Build a segnatura from JSON and seal it (XAdES Baseline-B); the sealed XML goes to
    /// stdout or `--out`.
    Segnatura {
        /// The segnatura as JSON (the `protocollo::SegnaturaInformatica` serde form).
        #[arg(long = "in", value_name = "FILE.json")]
        input: PathBuf,
        /// Private key of the seal (PEM: PKCS#8, PKCS#1 or SEC1).
        #[arg(long, value_name = "KEY.pem")]
        key: PathBuf,
        /// Seal certificate (PEM).
        #[arg(long, value_name = "CERT.pem")]
        cert: PathBuf,
        /// Compute each document's Impronta (SHA-256) from the file `nome_file` in this
        /// directory, replacing any Impronta in the JSON.
        #[arg(long, value_name = "DIR")]
        documents: Option<PathBuf>,
        /// Write the sealed XML here instead of stdout.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Verify a received segnatura's seal and, with `--documents`, each document's Impronta.
    /// Exit 0 when all is well; 1 with the anomaly codes (001_ValidazioneFirma, ...) otherwise.
    Verify {
        /// The received Segnatura.xml.
        file: PathBuf,
        /// Trusted seal certificate or CA (PEM/DER file, or a directory of them); repeatable.
        #[arg(long, required = true, value_name = "CERT.pem")]
        trust: Vec<PathBuf>,
        /// Directory holding the documents, named as their `nomeFile`.
        #[arg(long, value_name = "DIR")]
        documents: Option<PathBuf>,
        /// On anomalies, write the NotificaEccezione XML here.
        #[arg(long, value_name = "FILE")]
        eccezione: Option<PathBuf>,
        #[command(flatten)]
        seal: SealCheckArgs,
    },
}

/// Time-stamp and revocation checks of a seal (`pa protocollo verify`).
#[derive(Debug, Args)]
pub(crate) struct SealCheckArgs {
    /// Trusted time-stamping authority roots (PEM/DER file or directory): XAdES-T
    /// `SignatureTimeStamp`s must verify, and the earliest time is when the seal certificate
    /// is judged.
    #[arg(long, value_name = "CERTS")]
    tsa_trust: Option<PathBuf>,
    /// A CRL (DER or PEM) for the seal certificate; repeatable. Any revocation flag turns the
    /// check on: a certificate whose status no source decides (revocation values embedded in
    /// the seal first) then fails unless `--soft-fail`.
    #[arg(long, value_name = "FILE")]
    crl: Vec<PathBuf>,
    /// Ask the OCSP responder of the seal certificate (or `--ocsp-url`).
    #[arg(long)]
    ocsp: bool,
    /// With `--ocsp`: ask this responder instead (http:// URL).
    #[arg(long, requires = "ocsp", value_name = "URL")]
    ocsp_url: Option<String>,
    /// Check only the revocation values embedded in the seal (XAdES-LT).
    #[arg(long)]
    embedded_revocation: bool,
    /// Accept a seal certificate whose revocation status no source decided (reported as
    /// UNKNOWN); a revoked certificate still fails.
    #[arg(long)]
    soft_fail: bool,
}

impl SealCheckArgs {
    fn options(&self) -> Result<SealVerifyOptions, String> {
        let mut o = SealVerifyOptions::default();
        if let Some(t) = &self.tsa_trust {
            o = o.with_tsa(TimeStampVerifier::new(load_trust(t)?));
        }
        if !self.crl.is_empty() || self.ocsp || self.embedded_revocation || self.soft_fail {
            let mut crls = Vec::new();
            for c in &self.crl {
                crls.push(read(c)?);
            }
            o = o.with_revocation(RevocationOptions {
                crls,
                ocsp: self.ocsp,
                ocsp_url: self.ocsp_url.clone(),
                soft_fail: self.soft_fail,
                ..RevocationOptions::default()
            });
        }
        Ok(o)
    }
}

/// Signed documents (CAdES `.p7m`).
#[derive(Debug, Subcommand)]
pub(crate) enum P7m {
    /// Verify a `.p7m` (DER, PEM or base64; nested envelopes, several signers and
    /// countersignatures allowed), or a detached `.p7s` with `--content`. Without `--trust`
    /// the chain of trust is NOT checked (a warning says so). Exit 0 when it verifies, 1
    /// otherwise. SHA-1 and RSA keys below 2048 bits are refused unless `--allow-legacy` is
    /// given and the signature predates their deprecation (SHA-1: 1 July 2011, RSA-1024:
    /// 1 January 2014) by `--trusted-time` or, with `--trust-signing-time`, by its own
    /// signing-time attribute.
    ///
    /// Revocation (with `--trust`): `--crl FILE` (repeatable), `--ocsp` (ask the responder
    /// named in each certificate, or `--ocsp-url`), `--fetch-crl` (download the CRL of each
    /// certificate's distribution point); revocation values embedded in the signature are
    /// used first. Any of these flags turns the check on, and then a certificate whose status
    /// no source decides fails the verification unless `--soft-fail`. Each certificate's
    /// status and the source that decided it are printed.
    Verify {
        /// The signed file (`.p7m`, or `.p7s` with `--content`).
        file: PathBuf,
        /// The signed document of a detached signature.
        #[arg(long, value_name = "DOC")]
        content: Option<PathBuf>,
        /// Write the signed content here.
        #[arg(long, value_name = "OUT")]
        extract: Option<PathBuf>,
        #[command(flatten)]
        trust: TrustArgs,
    },
}

/// How signers are judged: trust anchors, legacy algorithms, revocation, time-stamps (shared
/// by `pa p7m verify` and `pa pdf verify`).
#[derive(Debug, Args)]
pub(crate) struct TrustArgs {
    /// Accept SHA-1 and RSA-1024 signatures made before their deprecation dates.
    #[arg(long)]
    allow_legacy: bool,
    /// With `--allow-legacy`: judge the date by the signer's signing-time attribute (a
    /// claim of the signer, not a proof) when no `--trusted-time` is given.
    #[arg(long, requires = "allow_legacy")]
    trust_signing_time: bool,
    /// With `--allow-legacy`: a time (RFC 3339) the signature is known to have existed
    /// at, e.g. from a verified time-stamp or the protocol registration.
    #[arg(long, requires = "allow_legacy", value_name = "RFC3339")]
    trusted_time: Option<String>,
    /// Trust anchors: a PEM/DER file or a directory of them.
    #[arg(long, value_name = "DIR")]
    trust: Option<PathBuf>,
    /// A CRL (DER or PEM) to check the signers' certificates against; repeatable.
    #[arg(long, value_name = "FILE")]
    crl: Vec<PathBuf>,
    /// Ask the OCSP responder of each certificate (its authority information access).
    #[arg(long)]
    ocsp: bool,
    /// With `--ocsp`: ask this responder instead (http:// URL).
    #[arg(long, requires = "ocsp", value_name = "URL")]
    ocsp_url: Option<String>,
    /// With `--ocsp`: identify certificates by SHA-256 instead of SHA-1 hashes.
    #[arg(long, requires = "ocsp")]
    ocsp_sha256: bool,
    /// Download the CRL from each certificate's distribution point (http:// only).
    #[arg(long)]
    fetch_crl: bool,
    /// Check only the revocation values embedded in the signature.
    #[arg(long)]
    embedded_revocation: bool,
    /// Trusted time-stamping authority roots (PEM/DER file or directory): CAdES-T
    /// signature time-stamps are verified and their time used to judge the signers;
    /// required for `.tsd` (RFC 5544) and `.m7m` files, which are recognised by content.
    #[arg(long, value_name = "CERTS")]
    tsa_trust: Option<PathBuf>,
    /// Accept a certificate whose revocation status no source decided (reported as
    /// UNKNOWN); a revoked certificate still fails.
    #[arg(long)]
    soft_fail: bool,
}

impl TrustArgs {
    /// The CMS verifier these options describe, and the time-stamp verifier of
    /// `--tsa-trust` (also set on the CMS verifier). Warns on stderr without `--trust`.
    pub(crate) fn verifiers(&self) -> Result<(P7mVerifier, Option<TimeStampVerifier>), String> {
        let check_revocation = !self.crl.is_empty()
            || self.ocsp
            || self.fetch_crl
            || self.embedded_revocation
            || self.soft_fail;
        if check_revocation && self.trust.is_none() {
            return Err("revocation checking needs --trust (the issuers must be known)".into());
        }
        let mut crls = Vec::new();
        for c in &self.crl {
            crls.push(read(c)?);
        }
        let trusted_time = match self
            .trusted_time
            .as_deref()
            .map(chrono::DateTime::parse_from_rfc3339)
        {
            None => None,
            Some(Ok(t)) => Some(t.with_timezone(&chrono::Utc)),
            Some(Err(e)) => return Err(format!("--trusted-time: {e}")),
        };
        let options = if self.allow_legacy {
            VerifyOptions::legacy(LegacyPolicy {
                allow_sha1: true,
                allow_rsa1024: true,
                trust_signing_time: self.trust_signing_time,
                trusted_time,
                ..LegacyPolicy::default()
            })
        } else {
            VerifyOptions::default()
        };
        let verifier = match &self.trust {
            Some(t) => P7mVerifier::new(load_trust(t)?),
            None => {
                eprintln!("warning: no --trust given: the chain of trust is NOT checked");
                P7mVerifier::insecure_without_chain_check()
            }
        }
        .with_options(options);
        let verifier = if check_revocation {
            verifier.with_revocation(RevocationOptions {
                crls,
                ocsp: self.ocsp,
                ocsp_url: self.ocsp_url.clone(),
                ocsp_hash: if self.ocsp_sha256 {
                    OcspHash::Sha256
                } else {
                    OcspHash::Sha1
                },
                fetch_crls: self.fetch_crl,
                soft_fail: self.soft_fail,
                ..RevocationOptions::default()
            })
        } else {
            verifier
        };
        let tsa = match &self.tsa_trust {
            Some(t) => Some(TimeStampVerifier::new(load_trust(t)?)),
            None => None,
        };
        let verifier = match &tsa {
            Some(t) => verifier.with_tsa(t.clone()),
            None => verifier,
        };
        Ok((verifier, tsa))
    }
}

pub(crate) fn fail(msg: impl std::fmt::Display) -> ExitCode {
    eprintln!("error: {msg}");
    ExitCode::from(1)
}

pub(crate) fn read(path: &Path) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))
}

pub(crate) fn load_trust(path: &Path) -> Result<Vec<protocollo::x509_cert::Certificate>, String> {
    if path.is_dir() {
        load_certificates_dir(path).map_err(|e| e.to_string())
    } else {
        load_certificates(&read(path)?).map_err(|e| format!("{}: {e}", path.display()))
    }
}

/// Runs `pa protocollo ...`.
pub(crate) fn run(cmd: Protocollo) -> ExitCode {
    match cmd {
        Protocollo::Segnatura {
            input,
            key,
            cert,
            documents,
            out,
        } => match segnatura(&input, &key, &cert, documents.as_deref()) {
            Ok(xml) => match out {
                Some(o) => match std::fs::write(&o, xml) {
                    Ok(()) => ExitCode::SUCCESS,
                    Err(e) => fail(format!("{}: {e}", o.display())),
                },
                None => {
                    print!("{xml}");
                    ExitCode::SUCCESS
                }
            },
            Err(e) => fail(e),
        },
        Protocollo::Verify {
            file,
            trust,
            documents,
            eccezione,
            seal,
        } => match seal.options() {
            Ok(o) => verify(
                &file,
                &trust,
                documents.as_deref(),
                eccezione.as_deref(),
                &o,
            ),
            Err(e) => fail(e),
        },
    }
}

fn fill_impronte(json: &mut serde_json::Value, dir: &Path) -> Result<(), String> {
    let desc = json
        .get_mut("descrizione")
        .ok_or("the JSON has no `descrizione`")?;
    if let Some(p) = desc.get_mut("documento_primario") {
        set_impronta(p, dir)?;
    }
    if let Some(serde_json::Value::Array(list)) = desc.get_mut("allegati") {
        for d in list {
            set_impronta(d, dir)?;
        }
    }
    Ok(())
}

fn set_impronta(doc: &mut serde_json::Value, dir: &Path) -> Result<(), String> {
    let name = doc
        .get("nome_file")
        .and_then(|n| n.as_str())
        .ok_or("a document has no `nome_file`")?
        .to_owned();
    if name.is_empty() || name.contains(['/', '\\']) || name == ".." {
        return Err(format!("refusing document name with a path: {name}"));
    }
    let imp = protocollo::impronta_of_file(&dir.join(&name)).map_err(|e| e.to_string())?;
    let v = serde_json::to_value(&imp).map_err(|e| e.to_string())?;
    if let Some(obj) = doc.as_object_mut() {
        obj.insert("impronta".into(), v);
    }
    Ok(())
}

fn segnatura(
    input: &Path,
    key: &Path,
    cert: &Path,
    documents: Option<&Path>,
) -> Result<String, String> {
    let mut json: serde_json::Value =
        serde_json::from_slice(&read(input)?).map_err(|e| format!("{}: {e}", input.display()))?;
    if let Some(dir) = documents {
        fill_impronte(&mut json, dir)?;
    }
    let s: SegnaturaInformatica =
        serde_json::from_value(json).map_err(|e| format!("{}: {e}", input.display()))?;
    let key = SigningKey::from_pem(&read(key)?).map_err(|e| format!("{}: {e}", key.display()))?;
    let cert =
        DsigCertificate::from_pem(&read(cert)?).map_err(|e| format!("{}: {e}", cert.display()))?;
    seal_segnatura(&s, &key, &cert, &SealOptions::default()).map_err(|e| e.to_string())
}

fn verify(
    file: &Path,
    trust: &[PathBuf],
    documents: Option<&Path>,
    eccezione: Option<&Path>,
    options: &SealVerifyOptions,
) -> ExitCode {
    let mut anchors = Vec::new();
    for t in trust {
        match load_trust(t) {
            Ok(c) => anchors.extend(c),
            Err(e) => return fail(e),
        }
    }
    let xml = match read(file) {
        Ok(x) => x,
        Err(e) => return fail(e),
    };
    let write_eccezione = |a: &protocollo::Anomalia, ricevuto: MessaggioRicevuto| {
        if let Some(path) = eccezione
            && let Err(e) = std::fs::write(path, a.notifica(ricevuto).to_xml())
        {
            eprintln!("error: {}: {e}", path.display());
        }
    };
    let v = match verify_segnatura(&xml, &anchors, options) {
        Ok(v) => v,
        Err(a) => {
            println!("{a}");
            write_eccezione(
                &a,
                MessaggioRicevuto::DescrizioneMessaggio(file.display().to_string()),
            );
            return ExitCode::from(1);
        }
    };
    let id = &v.segnatura.intestazione.identificatore;
    println!(
        "seal OK: {} {} {} n. {} del {}",
        id.codice_amministrazione.codice,
        id.codice_aoo.codice,
        id.codice_registro,
        id.numero_registrazione,
        id.data_registrazione
    );
    println!("oggetto: {}", v.segnatura.intestazione.oggetto);
    println!("sigillo: {} ({})", v.signer_subject, v.signing_time);
    for t in &v.time_stamps {
        match &t.result {
            Ok(ts) => println!("XAdES-T: {ts}"),
            Err(e) => println!("XAdES-T: {e}"),
        }
    }
    match &v.revocation {
        None => println!("revocation: not checked"),
        Some(r) if r.is_empty() => println!("revocation: the seal certificate is trusted itself"),
        Some(r) => {
            for c in r {
                println!("revocation: {c}");
            }
        }
    }
    let Some(dir) = documents else {
        println!("documents: not checked (no --documents)");
        return ExitCode::SUCCESS;
    };
    let anomalies = v.check_documents_in_dir(dir);
    if anomalies.is_empty() {
        println!(
            "documents: {} Impronta OK",
            v.segnatura.descrizione.documenti().count()
        );
        return ExitCode::SUCCESS;
    }
    for a in &anomalies {
        println!("{a}");
    }
    if let Some(first) = anomalies.first() {
        write_eccezione(first, MessaggioRicevuto::of(&v.segnatura));
    }
    ExitCode::from(1)
}

/// Runs `pa p7m ...`.
pub(crate) fn run_p7m(cmd: P7m) -> ExitCode {
    let P7m::Verify {
        file,
        content,
        extract,
        trust,
    } = cmd;
    let (verifier, tsa) = match trust.verifiers() {
        Ok(v) => v,
        Err(e) => return fail(e),
    };
    let bytes = match read(&file) {
        Ok(b) => b,
        Err(e) => return fail(e),
    };
    if is_timestamped(&bytes) {
        let Some(tsa) = &tsa else {
            return fail(format!(
                "{}: a time-stamped file (.tsd/.m7m): give --tsa-trust",
                file.display()
            ));
        };
        let ts = match tsa.verify_timestamped(&bytes, &verifier) {
            Ok(v) => v,
            Err(e) => return fail(format!("{}: {e}", file.display())),
        };
        for t in &ts.timestamps {
            println!("{t}");
        }
        match &ts.p7m {
            Some(v) => return report_p7m(v, extract.as_deref()),
            None => {
                println!("content: {} bytes (not signed)", ts.data.len());
                if let Some(out) = extract
                    && let Err(e) = std::fs::write(&out, &ts.data)
                {
                    return fail(format!("{}: {e}", out.display()));
                }
                return ExitCode::SUCCESS;
            }
        }
    }
    let result = match &content {
        Some(doc) => match read(doc) {
            Ok(d) => verifier.verify_detached(&bytes, &d),
            Err(e) => return fail(e),
        },
        None => verifier.verify(&bytes),
    };
    let v = match result {
        Ok(v) => v,
        Err(e) => return fail(format!("{}: {e}", file.display())),
    };
    report_p7m(&v, extract.as_deref())
}

fn report_p7m(v: &protocollo::VerifiedP7m, extract: Option<&Path>) -> ExitCode {
    for (depth, layer) in v.layers.iter().enumerate() {
        for s in layer {
            println!(
                "envelope {} signer: {}{}{}{}",
                depth + 1,
                s.subject,
                s.codice_fiscale
                    .as_ref()
                    .map(|cf| format!(" [CF {cf}]"))
                    .unwrap_or_default(),
                s.signing_time
                    .map(|t| format!(" signed {t}"))
                    .unwrap_or_default(),
                if s.chain_verified {
                    " (chain OK)"
                } else {
                    " (chain NOT checked)"
                }
            );
            for l in &s.legacy {
                println!("  legacy: {l}");
            }
            for t in &s.timestamps {
                match &t.result {
                    Ok(t) => println!("  signature {t}"),
                    Err(e) => println!("  signature time-stamp NOT used: {e}"),
                }
            }
            if let Some(t) = s.trusted_time {
                println!("  judged at the time-stamp time {t}");
            }
            for r in &s.revocation {
                println!("  revocation: {r}");
            }
            for c in &s.countersignatures {
                match &c.result {
                    Ok(cs) => println!("  countersigned by: {} (valid)", cs.subject),
                    Err(e) => println!("  countersignature INVALID: {e}"),
                }
            }
        }
    }
    for r in &v.revocation_info {
        match r {
            RevocationInfo::Crl {
                issuer, version, ..
            } => println!("embedded CRL v{version} of {issuer}"),
            RevocationInfo::Other { format, .. } => {
                println!("embedded revocation info {format}");
            }
            _ => println!("embedded revocation info"),
        }
    }
    println!("content: {} bytes", v.content.len());
    if let Some(out) = extract
        && let Err(e) = std::fs::write(out, &v.content)
    {
        return fail(format!("{}: {e}", out.display()));
    }
    ExitCode::SUCCESS
}
