//! `pa xmldsig`: sign and verify XML-DSig enveloped signatures.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Subcommand;
use xmldsig::{
    Certificate, Document, ParseOptions, Placement, SignOptions, SigningKey, TrustedKey,
    VerifyOptions, XadesOptions,
};

/// XML-DSig subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum Xmldsig {
    /// Sign the element with the given ID (enveloped signature, exclusive C14N, SHA-256) and
    /// print the signed XML on stdout.
    Sign {
        /// Private key: PEM or DER (PKCS#8, PKCS#1, SEC1), or a PKCS#12 file (`.p12`/`.pfx`).
        #[arg(long)]
        key: PathBuf,
        /// Certificate (PEM or DER) written in KeyInfo; taken from the PKCS#12 file if omitted.
        #[arg(long)]
        cert: Option<PathBuf>,
        /// Password of a PKCS#12 key file (or set PA_KEY_PASSWORD).
        #[arg(long)]
        key_password: Option<String>,
        /// ID value of the element to sign.
        #[arg(long)]
        id: String,
        /// Put the signature right after this child (qualified name, e.g. `saml:Issuer`);
        /// default: as the last child.
        #[arg(long, value_name = "QNAME")]
        after_child: Option<String>,
        /// Name of an ID attribute (repeatable; default `ID`, `Id`, `id`).
        #[arg(long = "id-attr", value_name = "NAME")]
        id_attr: Vec<String>,
        /// Add XAdES Baseline-B signed properties (SigningTime, SigningCertificateV2).
        #[arg(long)]
        xades: bool,
        /// The XML file.
        file: PathBuf,
    },
    /// Verify the signature of an XML file with trusted certificates; prints the signed
    /// element's name and ID.
    Verify {
        /// Trusted certificate or public key (PEM or DER); repeatable.
        #[arg(long, required = true)]
        cert: Vec<PathBuf>,
        /// Verify the signature enveloped in the element with this ID (needed when the
        /// document has several signatures, e.g. a SAML Response and its Assertion).
        #[arg(long)]
        id: Option<String>,
        /// Name of an ID attribute (repeatable; default `ID`, `Id`, `id`).
        #[arg(long = "id-attr", value_name = "NAME")]
        id_attr: Vec<String>,
        /// Also accept inclusive C14N 1.0.
        #[arg(long)]
        allow_inclusive_c14n: bool,
        /// Require XAdES signed properties.
        #[arg(long)]
        require_xades: bool,
        /// Accept a signature over the whole document (`Reference URI=""`, enveloped in the
        /// root element), as segnatura seals, trusted lists and Java XMLENVELOPED signers write.
        #[arg(long)]
        whole_document: bool,
        /// The XML file.
        file: PathBuf,
    },
}

/// What `pa xmldsig verify` accepts besides the strict defaults.
#[derive(Debug, Clone, Copy, Default)]
struct VerifyFlags {
    allow_inclusive_c14n: bool,
    require_xades: bool,
    whole_document: bool,
}

fn read(path: &Path) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

fn parse_options(id_attr: &[String]) -> ParseOptions {
    let opts = ParseOptions::default();
    if id_attr.is_empty() {
        opts
    } else {
        opts.with_id_attributes(id_attr.iter().cloned())
    }
}

fn is_pkcs12(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("p12") || e.eq_ignore_ascii_case("pfx"))
}

#[allow(clippy::too_many_arguments)]
fn sign(
    key: &Path,
    cert: Option<&Path>,
    key_password: Option<&str>,
    id: &str,
    after_child: Option<&str>,
    id_attr: &[String],
    xades: bool,
    file: &Path,
) -> Result<Vec<u8>, String> {
    let key_bytes = read(key)?;
    let env_password = std::env::var("PA_KEY_PASSWORD").ok();
    let password = key_password.or(env_password.as_deref()).unwrap_or_default();
    let (signing_key, mut chain) = if is_pkcs12(key) {
        SigningKey::from_pkcs12(&key_bytes, password)
            .map_err(|e| format!("{}: {e}", key.display()))?
    } else {
        (
            SigningKey::from_pem(&key_bytes).map_err(|e| format!("{}: {e}", key.display()))?,
            Vec::new(),
        )
    };
    let certificate = match cert {
        Some(p) => {
            Some(Certificate::from_pem(&read(p)?).map_err(|e| format!("{}: {e}", p.display()))?)
        }
        None if !chain.is_empty() => Some(chain.remove(0)),
        None => None,
    };
    let mut opts = SignOptions::new(id, &signing_key);
    opts.parse = parse_options(id_attr);
    if let Some(c) = &certificate {
        opts = opts.certificate(c);
    }
    if let Some(q) = after_child {
        opts = opts.placement(Placement::AfterQName(q.to_owned()));
    }
    if xades {
        opts = opts.xades(XadesOptions::default());
    }
    xmldsig::sign_enveloped(&read(file)?, &opts).map_err(|e| e.to_string())
}

fn verify(
    certs: &[PathBuf],
    id: Option<&str>,
    id_attr: &[String],
    flags: VerifyFlags,
    file: &Path,
) -> Result<String, String> {
    let trusted = certs
        .iter()
        .map(|p| {
            let name = p.display().to_string();
            TrustedKey::from_pem(&read(p)?)
                .map(|k| k.with_name(name.clone()))
                .map_err(|e| format!("{name}: {e}"))
        })
        .collect::<Result<Vec<_>, String>>()?;
    let xml = read(file)?;
    let doc = Document::parse_with(&xml, &parse_options(id_attr))
        .map_err(|e| format!("{}: {e}", file.display()))?;
    let mut opts = VerifyOptions::default();
    if flags.allow_inclusive_c14n {
        opts = opts.allow_inclusive_c14n();
    }
    if flags.require_xades {
        opts = opts.require_xades();
    }
    if flags.whole_document {
        opts = opts.allow_whole_document_reference();
    }
    let verified = match id {
        Some(id) => {
            let el = doc
                .element_by_id(id)
                .ok_or_else(|| format!("no element with ID {id:?}"))?;
            xmldsig::verify_element(el, &trusted, &opts)
        }
        None => xmldsig::verify(&doc, &trusted, &opts),
    }
    .map_err(|e| e.to_string())?;
    let el = verified.element();
    let signed_id = if verified.id().is_empty() {
        "\"\" (whole document)".to_owned()
    } else {
        verified.id().to_owned()
    };
    let mut line = format!(
        "signed element: <{}> ID={} (line {}); algorithm {}; key {}",
        el.qname(),
        signed_id,
        el.position().line,
        verified.algorithm().uri(),
        trusted[verified.key_index()].name().unwrap_or("?"),
    );
    if let Some(x) = verified.xades() {
        line.push_str(&format!("; XAdES SigningTime {}", x.signing_time));
    }
    Ok(line)
}

/// Runs a `pa xmldsig` subcommand.
pub(crate) fn run(cmd: Xmldsig) -> ExitCode {
    let result = match cmd {
        Xmldsig::Sign {
            key,
            cert,
            key_password,
            id,
            after_child,
            id_attr,
            xades,
            file,
        } => sign(
            &key,
            cert.as_deref(),
            key_password.as_deref(),
            &id,
            after_child.as_deref(),
            &id_attr,
            xades,
            &file,
        )
        .and_then(|out| std::io::stdout().write_all(&out).map_err(|e| e.to_string())),
        Xmldsig::Verify {
            cert,
            id,
            id_attr,
            allow_inclusive_c14n,
            require_xades,
            whole_document,
            file,
        } => verify(
            &cert,
            id.as_deref(),
            &id_attr,
            VerifyFlags {
                allow_inclusive_c14n,
                require_xades,
                whole_document,
            },
            &file,
        )
        .map(|line| println!("{line}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fx(rel: &str) -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../xmldsig/tests/fixtures")
            .join(rel)
    }

    #[test]
    fn sign_then_verify() {
        let dir = tempfile::tempdir().expect("tmp");
        let signed = sign(
            &fx("keys/rsa.key.pem"),
            Some(&fx("keys/rsa.crt.pem")),
            None,
            "_assert1",
            Some("saml:Issuer"),
            &[],
            false,
            &fx("c14n/06-saml.xml"),
        )
        .expect("sign");
        let f = dir.path().join("signed.xml");
        std::fs::write(&f, &signed).expect("write");
        let line = verify(
            &[fx("keys/rsa.crt.pem")],
            None,
            &[],
            VerifyFlags::default(),
            &f,
        )
        .expect("verify");
        assert!(
            line.starts_with("signed element: <saml:Assertion> ID=_assert1"),
            "{line}"
        );
        let err = verify(
            &[fx("keys/rsa2.crt.pem")],
            None,
            &[],
            VerifyFlags::default(),
            &f,
        )
        .expect_err("wrong cert");
        assert!(err.contains("KeyInfo"), "{err}");
        // Tampered.
        let t = String::from_utf8(signed)
            .expect("utf8")
            .replace("TINIT-RSSMRA80A01H501U", "TINIT-RSSMRA80A01H501V");
        std::fs::write(&f, t).expect("write");
        let err = verify(
            &[fx("keys/rsa.crt.pem")],
            None,
            &[],
            VerifyFlags::default(),
            &f,
        )
        .expect_err("tampered");
        assert!(err.contains("digest mismatch"), "{err}");
    }

    #[test]
    fn pkcs12_xades_and_id_selection() {
        let dir = tempfile::tempdir().expect("tmp");
        let signed = sign(
            &fx("keys/rsa.p12"),
            None,
            Some("secret"),
            "_resp1",
            None,
            &[],
            true,
            &fx("c14n/06-saml.xml"),
        )
        .expect("sign");
        let f = dir.path().join("signed.xml");
        std::fs::write(&f, &signed).expect("write");
        let line = verify(
            &[fx("keys/rsa.crt.pem")],
            Some("_resp1"),
            &[],
            VerifyFlags {
                require_xades: true,
                ..VerifyFlags::default()
            },
            &f,
        )
        .expect("verify");
        assert!(line.contains("XAdES SigningTime"), "{line}");
        let err = verify(
            &[fx("keys/rsa.crt.pem")],
            Some("_assert1"),
            &[],
            VerifyFlags::default(),
            &f,
        )
        .expect_err("unsigned element");
        assert!(err.contains("no ds:Signature"), "{err}");
        let err = sign(
            &fx("keys/rsa.key.pem"),
            None,
            None,
            "_nope",
            None,
            &[],
            false,
            &fx("c14n/06-saml.xml"),
        )
        .expect_err("id");
        assert!(err.contains("_nope"), "{err}");
    }

    #[test]
    fn whole_document_signature_needs_the_flag() {
        let dir = tempfile::tempdir().expect("tmp");
        let f = dir.path().join("flusso.xml");
        std::fs::write(&f, b"<flusso xmlns=\"urn:opi\"><a>1</a></flusso>").expect("write");
        let signed = sign(
            &fx("keys/rsa.key.pem"),
            Some(&fx("keys/rsa.crt.pem")),
            None,
            "",
            None,
            &[],
            false,
            &f,
        )
        .expect("sign");
        assert!(String::from_utf8_lossy(&signed).contains("URI=\"\""));
        std::fs::write(&f, &signed).expect("write");
        let err = verify(
            &[fx("keys/rsa.crt.pem")],
            None,
            &[],
            VerifyFlags::default(),
            &f,
        )
        .expect_err("URI=\"\" without the flag");
        assert!(err.contains("URI"), "{err}");
        let whole = VerifyFlags {
            whole_document: true,
            ..VerifyFlags::default()
        };
        let line = verify(&[fx("keys/rsa.crt.pem")], None, &[], whole, &f).expect("verify");
        assert!(
            line.starts_with("signed element: <flusso> ID=\"\" (whole document)"),
            "{line}"
        );
        // The flag does not weaken anything else: a changed value still fails.
        let t = String::from_utf8(signed)
            .expect("utf8")
            .replace("<a>1</a>", "<a>2</a>");
        std::fs::write(&f, t).expect("write");
        let err = verify(&[fx("keys/rsa.crt.pem")], None, &[], whole, &f).expect_err("tampered");
        assert!(err.contains("digest mismatch"), "{err}");
    }
}
