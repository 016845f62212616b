//! CRL download from the certificate's distribution point, against a wiremock server on 127.0.0.1.
#![allow(clippy::unwrap_used)]

mod cns_pki;

use cie::cns::{
    CardVerifier, CrlFetcher, Error, FixedClock, IssuerList, RevocationError, VerifyError,
};
use cns_pki::*;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn card_with_dp(ca: &Ca, serial: u16, url: String) -> Card {
    let mut spec = CardSpec::cns(serial);
    spec.crl_dp = Some(url);
    issue(ca, &spec)
}

fn verifier(ca: &Ca, fetcher: CrlFetcher) -> CardVerifier {
    CardVerifier::new(
        IssuerList::from_der_certificates([&ca.der]).unwrap(),
        fetcher,
    )
    .with_clock(FixedClock(now()))
}

#[tokio::test]
async fn downloads_caches_and_finds_revoked() {
    let server = MockServer::start().await;
    let ca = root_ca("Regione Test CA Cittadini", "Regione Test");
    Mock::given(method("GET"))
        .and(path("/crl/cns.crl"))
        .respond_with(ResponseTemplate::new(200).set_body_bytes(crl(&ca, &[2], (2026, 12, 31)).0))
        .expect(1) // the second check is answered from the cache
        .mount(&server)
        .await;
    let url = format!("{}/crl/cns.crl", server.uri());
    let v = verifier(&ca, CrlFetcher::new().unwrap());
    let good = card_with_dp(&ca, 1, url.clone());
    let revoked = card_with_dp(&ca, 2, url);
    assert!(v.verify(&good.der, &[]).await.is_ok());
    match v.verify(&revoked.der, &[]).await {
        Err(Error::Verify(VerifyError::Revoked { serial, .. })) => assert_eq!(serial, "1C0002"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn pem_crl_is_accepted() {
    let server = MockServer::start().await;
    let ca = root_ca("Regione Test CA Cittadini", "Regione Test");
    Mock::given(method("GET"))
        .and(path("/crl.pem"))
        .respond_with(ResponseTemplate::new(200).set_body_string(crl(&ca, &[], (2026, 12, 31)).1))
        .mount(&server)
        .await;
    let card = card_with_dp(&ca, 3, format!("{}/crl.pem", server.uri()));
    assert!(
        verifier(&ca, CrlFetcher::new().unwrap())
            .verify(&card.der, &[])
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn unreachable_or_bad_crl_fails_closed() {
    let server = MockServer::start().await;
    let ca = root_ca("Regione Test CA Cittadini", "Regione Test");
    Mock::given(method("GET"))
        .and(path("/missing.crl"))
        .respond_with(ResponseTemplate::new(404))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/garbage.crl"))
        .respond_with(ResponseTemplate::new(200).set_body_bytes(b"\x30\x03\x02\x01\x01".to_vec()))
        .mount(&server)
        .await;
    let forger = root_ca("Regione Test CA Cittadini", "Regione Test");
    Mock::given(method("GET"))
        .and(path("/forged.crl"))
        .respond_with(
            ResponseTemplate::new(200).set_body_bytes(crl(&forger, &[], (2026, 12, 31)).0),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/big.crl"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_bytes(crl(&ca, &(100..400).collect::<Vec<_>>(), (2026, 12, 31)).0),
        )
        .mount(&server)
        .await;
    for (p, fetcher) in [
        ("/missing.crl", CrlFetcher::new().unwrap()),
        ("/garbage.crl", CrlFetcher::new().unwrap()),
        ("/forged.crl", CrlFetcher::new().unwrap()),
        (
            "/big.crl",
            CrlFetcher::new().unwrap().with_max_crl_size(1024),
        ),
    ] {
        let card = card_with_dp(&ca, 4, format!("{}{p}", server.uri()));
        let err = verifier(&ca, fetcher)
            .verify(&card.der, &[])
            .await
            .unwrap_err();
        assert!(
            matches!(err, Error::Revocation(RevocationError::Unavailable { .. })),
            "{p}: {err}"
        );
    }
    // closed port
    let card = card_with_dp(&ca, 5, "http://127.0.0.1:9/crl".into());
    let err = verifier(&ca, CrlFetcher::new().unwrap())
        .verify(&card.der, &[])
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::Revocation(RevocationError::Unavailable { .. })),
        "{err}"
    );
    // no distribution point at all
    let card = issue(&ca, &CardSpec::cns(6));
    let err = verifier(&ca, CrlFetcher::new().unwrap())
        .verify(&card.der, &[])
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::Revocation(RevocationError::Unavailable { .. })),
        "{err}"
    );
}
