//! `pa spid ...`: SPID Service Provider certificates and metadata.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Subcommand, ValueEnum};
use spid::{
    CertificateSubject, OrganizationIdentifier, RsaKeySize, ServiceProvider, SpConfig,
    SpCredentials,
};

/// SPID operations.
#[derive(Debug, Subcommand)]
pub(crate) enum Spid {
    /// Generate an RSA key and an Avviso-29-v3 self-signed SP certificate (PEM files).
    Cert {
        /// SP entityID (goes in the `uri` subject attribute).
        #[arg(long)]
        entity_id: String,
        /// Organization name (`O`).
        #[arg(long)]
        organization: String,
        /// Common name (`CN`), the service name.
        #[arg(long)]
        common_name: String,
        /// Locality (`L`).
        #[arg(long)]
        locality: String,
        /// Country (`C`).
        #[arg(long, default_value = "IT")]
        country: String,
        /// IPA code: public sector (`organizationIdentifier` PA:IT-...).
        #[arg(long, conflicts_with_all = ["vat", "fiscal_code"])]
        ipa: Option<String>,
        /// VAT number: private sector (VATIT-...).
        #[arg(long, conflicts_with = "fiscal_code")]
        vat: Option<String>,
        /// Personal fiscal code: private sector (CF:IT-...).
        #[arg(long)]
        fiscal_code: Option<String>,
        /// RSA key size.
        #[arg(long, value_enum, default_value_t = Bits::B3072)]
        bits: Bits,
        /// Validity in days.
        #[arg(long, default_value_t = 730)]
        days: u32,
        /// Where to write the private key (PKCS#8 PEM).
        #[arg(long)]
        key_out: PathBuf,
        /// Where to write the certificate (PEM).
        #[arg(long)]
        cert_out: PathBuf,
    },
    /// Print the signed SP metadata for a JSON configuration (`spid::SpConfig`).
    Metadata {
        /// The configuration, JSON.
        #[arg(long)]
        config: PathBuf,
        /// SP private key (PEM).
        #[arg(long)]
        key: PathBuf,
        /// SP certificate (PEM).
        #[arg(long)]
        cert: PathBuf,
    },
}

/// RSA key sizes.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum Bits {
    /// 2048 bits.
    #[value(name = "2048")]
    B2048,
    /// 3072 bits.
    #[value(name = "3072")]
    B3072,
    /// 4096 bits.
    #[value(name = "4096")]
    B4096,
}

fn fail(msg: impl std::fmt::Display) -> ExitCode {
    eprintln!("pa spid: {msg}");
    ExitCode::FAILURE
}

/// Runs a `pa spid` subcommand.
pub(crate) fn run(cmd: Spid) -> ExitCode {
    match cmd {
        Spid::Cert {
            entity_id,
            organization,
            common_name,
            locality,
            country,
            ipa,
            vat,
            fiscal_code,
            bits,
            days,
            key_out,
            cert_out,
        } => {
            let org_id = match (ipa, vat, fiscal_code) {
                (Some(i), _, _) => match i.parse() {
                    Ok(i) => OrganizationIdentifier::PublicAdministration(i),
                    Err(e) => return fail(format!("--ipa: {e}")),
                },
                (_, Some(v), _) => match v.parse() {
                    Ok(v) => OrganizationIdentifier::Vat(v),
                    Err(e) => return fail(format!("--vat: {e}")),
                },
                (_, _, Some(c)) => match c.parse() {
                    Ok(c) => OrganizationIdentifier::FiscalCode(c),
                    Err(e) => return fail(format!("--fiscal-code: {e}")),
                },
                _ => return fail("one of --ipa, --vat, --fiscal-code is required"),
            };
            let subject = CertificateSubject {
                common_name,
                organization,
                entity_id,
                organization_identifier: org_id,
                locality,
                country,
            };
            let size = match bits {
                Bits::B2048 => RsaKeySize::Rsa2048,
                Bits::B3072 => RsaKeySize::Rsa3072,
                Bits::B4096 => RsaKeySize::Rsa4096,
            };
            let creds = match spid::generate_sp_certificate(&subject, size, days) {
                Ok(c) => c,
                Err(e) => return fail(e),
            };
            if let Err(e) = std::fs::write(&key_out, creds.private_key_pem()) {
                return fail(format!("{}: {e}", key_out.display()));
            }
            if let Err(e) = std::fs::write(&cert_out, creds.certificate_pem()) {
                return fail(format!("{}: {e}", cert_out.display()));
            }
            println!("wrote {} and {}", key_out.display(), cert_out.display());
            ExitCode::SUCCESS
        }
        Spid::Metadata { config, key, cert } => {
            let read = |p: &PathBuf| {
                std::fs::read_to_string(p).map_err(|e| format!("{}: {e}", p.display()))
            };
            let (config_text, key_pem, cert_pem) = match (read(&config), read(&key), read(&cert)) {
                (Ok(a), Ok(b), Ok(c)) => (a, b, c),
                (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => return fail(e),
            };
            let config: SpConfig = match serde_json::from_str(&config_text) {
                Ok(c) => c,
                Err(e) => return fail(format!("{}: {e}", config.display())),
            };
            let creds = match SpCredentials::from_pem(&key_pem, &cert_pem) {
                Ok(c) => c,
                Err(e) => return fail(e),
            };
            let sp = match ServiceProvider::new(config, creds) {
                Ok(sp) => sp,
                Err(e) => return fail(e),
            };
            match sp.metadata() {
                Ok(xml) => {
                    println!("{xml}");
                    ExitCode::SUCCESS
                }
                Err(e) => fail(e),
            }
        }
    }
}
