//! Times parse + verify of a signed SAML response (best of N) and the raw RSA verification
//! alone, for profiling: `verify_perf [ITERATIONS]`.

use std::time::Instant;

use xmldsig::{
    Certificate, Document, Placement, SignOptions, SignatureAlgorithm, SigningKey, TrustedKey,
    VerifyOptions, sign_enveloped, verify_element,
};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(2000);
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/");
    let key = SigningKey::from_pem(&std::fs::read(format!("{dir}keys/rsa.key.pem"))?)?;
    let cert = Certificate::from_pem(&std::fs::read(format!("{dir}keys/rsa.crt.pem"))?)?;
    let xml = std::fs::read(format!("{dir}c14n/06-saml.xml"))?;
    let opts = SignOptions::new("_assert1", &key)
        .certificate(&cert)
        .placement(Placement::after_saml_issuer());
    let signed = sign_enveloped(&xml, &opts)?;
    let trusted = [TrustedKey::from_certificate(cert)];
    let vopts = VerifyOptions::default();
    let msg = b"some bytes of a SignedInfo";
    let sig = key.sign(SignatureAlgorithm::RsaSha256, msg)?;
    let (mut best_v, mut best_r) = (f64::MAX, f64::MAX);
    for _ in 0..n {
        let t = Instant::now();
        let doc = Document::parse(&signed)?;
        let a = doc
            .root()
            .child("urn:oasis:names:tc:SAML:2.0:assertion", "Assertion")
            .ok_or("no assertion")?;
        std::hint::black_box(verify_element(a, &trusted, &vopts)?.id());
        best_v = best_v.min(t.elapsed().as_secs_f64());
        let t = Instant::now();
        trusted[0]
            .public_key()
            .verify(SignatureAlgorithm::RsaSha256, msg, &sig)?;
        best_r = best_r.min(t.elapsed().as_secs_f64());
    }
    println!(
        "{} bytes: parse + verify {:.1} us ({:.0}/s); raw RSA-2048 verify {:.1} us ({:.0}/s); ratio {:.0}%",
        signed.len(),
        best_v * 1e6,
        1.0 / best_v,
        best_r * 1e6,
        1.0 / best_r,
        100.0 * best_r / best_v
    );
    Ok(())
}
