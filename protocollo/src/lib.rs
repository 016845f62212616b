#![doc = include_str!("../README.md")]

mod ber;
mod builder;
mod error;
mod impronta;
mod legacy;
mod messages;
mod model;
mod p7m;
mod pades;
mod parse;
mod register;
#[cfg(feature = "postgres")]
mod register_pg;
mod registry;
mod revocation;
mod seal;
mod textual;
mod tsp;
mod write;
mod xml;

pub use x509_cert;
pub use xmldsig;

pub use builder::SegnaturaBuilder;
pub use error::{
    Error, ImprontaError, ParseError, RegistryError, TextualError, ValueError, WriteError, XmlError,
};
pub use impronta::{DigestAlgorithm, Impronta};
pub use legacy::*;
pub use messages::*;
pub use model::*;
pub use p7m::{
    LegacyAcceptance, LegacyAlgorithm, LegacyPolicy, LegacyTimeSource, MAX_COUNTERSIGNATURE_DEPTH,
    MAX_P7M_NESTING, MIN_RSA_BITS, OID_RI_OCSP_RESPONSE, P7mCountersignature, P7mError, P7mSigner,
    P7mVerifier, RevocationInfo, VerifiedP7m, VerifyOptions, certificates_from_trusted_list,
    load_certificates, load_certificates_dir, rsa1024_deadline, sha1_deadline,
};
pub use pades::{
    Change, DocMdp, MAX_PDF_REVISIONS, MAX_PDF_SIGNATURES, MAX_SIGNATURE_CONTENTS,
    ModificationLevel, PdfError, PdfSignature, PdfSignatureError, PdfVerifier, RevisionUpdate,
    SignatureContent, SignatureKind, VerifiedPdf,
};
pub use parse::{NS_DSIG, ParseOptions, ParsedSegnatura, RootNamespace};
pub use register::{
    MAX_CORRISPONDENTE_CHARS, MAX_ID_RICHIESTA_BYTES, MAX_OGGETTO_CHARS, MAX_PAGE,
    MAX_SEGNATURA_BYTES, MemoryRegister, Register, Registration, RegistrationRecord,
    SqliteRegister,
};
#[cfg(feature = "postgres")]
pub use register_pg::PgRegister;
pub use registry::*;
pub use revocation::{
    CertRevocation, CrlReason, HttpFetcher, OcspError, OcspHash, OcspStatus, RevocationFetcher,
    RevocationOptions, RevocationSource, RevocationStatus, crl_urls, ocsp_request, ocsp_status,
    ocsp_urls,
};

/// The PostgreSQL schema of [`PgRegister`] (component `protocollo`), applied by
/// [`PgRegister::open`] or by `pa db migrate`.
#[cfg(feature = "postgres")]
pub const PG_MIGRATIONS: pa_postgres::Migrations = register_pg::MIGRATIONS;
pub use seal::{
    Anomalia, SealError, SealOptions, SealVerifyOptions, VerifiedSegnatura, check_documents,
    check_documents_in_dir, impronta_of_file, seal_segnatura, verify_segnatura,
};
pub use textual::*;
pub use tsp::{
    OID_SIGNATURE_TIME_STAMP, OID_TIMESTAMPED_DATA, OID_TST_INFO, P7mTimeStamp, TimeStampVerifier,
    TimeStampedFormat, VerifiedTimeStamp, VerifiedTimeStamped, is_timestamped,
};
pub use write::{NS_PEC, NS_PROTOCOLLO, NS_PROTOCOLLO_2013};
