//! IdP registry: the official list, loading from a file and from a local HTTP server
//! (wiremock), signature verification, validUntil/cacheDuration, last good copy kept.
#![allow(clippy::unwrap_used)]

use chrono::{Duration, Utc};
use spid::{
    FileFetcher, IdpRegistry, MetadataError, RegistryError, SPID_IDPS, SpCredentials, known_idp,
};

fn key_pem(name: &str) -> (String, String) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/keys");
    (
        std::fs::read_to_string(dir.join(format!("{name}.key"))).unwrap(),
        std::fs::read_to_string(dir.join(format!("{name}.crt"))).unwrap(),
    )
}

fn cert_der(name: &str) -> Vec<u8> {
    let (k, c) = key_pem(name);
    SpCredentials::from_pem(&k, &c)
        .unwrap()
        .certificate_der()
        .to_vec()
}

fn cert_b64(name: &str) -> String {
    let (k, c) = key_pem(name);
    SpCredentials::from_pem(&k, &c)
        .unwrap()
        .certificate_base64()
}

/// An aggregate with the given IdP entityIDs, root attributes `extra`, unsigned.
fn aggregate(entity_ids: &[&str], extra: &str) -> String {
    let mut o = format!(
        "<md:EntitiesDescriptor xmlns:md=\"urn:oasis:names:tc:SAML:2.0:metadata\" xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\" ID=\"_agg\" Name=\"https://idps.example\"{extra}>"
    );
    for id in entity_ids {
        o.push_str(&format!(
            "<md:EntityDescriptor entityID=\"{id}\"><md:IDPSSODescriptor protocolSupportEnumeration=\"urn:oasis:names:tc:SAML:2.0:protocol\" WantAuthnRequestsSigned=\"true\">\
             <md:KeyDescriptor use=\"signing\"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>{}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>\
             <md:SingleLogoutService Binding=\"urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect\" Location=\"{id}/slo\"/>\
             <md:SingleSignOnService Binding=\"urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect\" Location=\"{id}/sso\"/>\
             </md:IDPSSODescriptor></md:EntityDescriptor>",
            cert_b64("idp")
        ));
    }
    o.push_str("</md:EntitiesDescriptor>");
    o
}

/// Signs the aggregate's root with key `name` (the registry's signer in these tests: "other").
fn signed_by(name: &str, xml: &str) -> String {
    let (k, c) = key_pem(name);
    let key = xmldsig::SigningKey::from_pem(k.as_bytes()).unwrap();
    let cert = xmldsig::Certificate::from_pem(c.as_bytes()).unwrap();
    let opts = xmldsig::SignOptions::new("_agg", &key)
        .certificate(&cert)
        .placement(xmldsig::Placement::FirstChild);
    String::from_utf8(xmldsig::sign_enveloped(xml.as_bytes(), &opts).unwrap()).unwrap()
}

fn entity_ids(r: &IdpRegistry) -> Vec<String> {
    r.idps().into_iter().map(|i| i.entity_id).collect()
}

#[test]
fn official_list() {
    assert!(SPID_IDPS.len() >= 12);
    for (id, name) in [
        ("https://posteid.poste.it", "Poste ID"),
        ("https://loginspid.aruba.it", "Aruba ID"),
        ("https://identity.infocert.it", "InfoCert ID"),
        ("https://id.lepida.it/idp/shibboleth", "Lepida ID"),
    ] {
        assert_eq!(known_idp(id).unwrap().display_name, name);
    }
    assert!(known_idp("https://idp.test.example").is_none());
}

#[tokio::test]
async fn loads_from_a_file_and_keeps_it_when_the_file_breaks() {
    let dir = std::env::temp_dir().join(format!("spid-registry-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("idps.xml");
    std::fs::write(
        &file,
        aggregate(&["https://a.example", "https://b.example"], ""),
    )
    .unwrap();
    let reg = IdpRegistry::new(FileFetcher::new(&file));
    assert!(reg.idps().is_empty());
    assert!(reg.needs_refresh_at(Utc::now()));
    assert_eq!(reg.refresh().await.unwrap(), 2);
    assert_eq!(entity_ids(&reg), ["https://a.example", "https://b.example"]);
    let a = reg.get("https://a.example").unwrap();
    assert_eq!(a.slo[0].location, "https://a.example/slo");
    // Default refresh interval: 24 h.
    assert!(!reg.needs_refresh_at(Utc::now() + Duration::hours(23)));
    assert!(reg.needs_refresh_at(Utc::now() + Duration::hours(25)));

    std::fs::write(&file, "<not xml").unwrap();
    assert!(matches!(
        reg.refresh().await,
        Err(RegistryError::Metadata(MetadataError::Xml(_)))
    ));
    std::fs::remove_file(&file).unwrap();
    assert!(matches!(reg.refresh().await, Err(RegistryError::Fetch(_))));
    assert_eq!(entity_ids(&reg).len(), 2, "last good copy kept");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn signed_file_is_verified() {
    let dir = std::env::temp_dir().join(format!("spid-registry-signed-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("idps.xml");
    let reg = IdpRegistry::new(FileFetcher::new(&file)).with_signing_certificate(cert_der("other"));
    std::fs::write(
        &file,
        signed_by("other", &aggregate(&["https://a.example"], "")),
    )
    .unwrap();
    assert_eq!(reg.refresh().await.unwrap(), 1);
    // An IdP smuggled into the signed document is refused.
    let signed = signed_by("other", &aggregate(&["https://a.example"], ""));
    let smuggled = signed.replace("https://a.example", "https://evil.example");
    std::fs::write(&file, smuggled).unwrap();
    assert!(reg.refresh().await.is_err());
    assert_eq!(entity_ids(&reg), ["https://a.example"]);
    let _ = std::fs::remove_dir_all(&dir);
}

#[cfg(feature = "http")]
mod http {
    use super::*;
    use spid::HttpFetcher;
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    async fn serve(server: &MockServer, status: u16, body: String) {
        server.reset().await;
        Mock::given(method("GET"))
            .and(path("/idps.xml"))
            .respond_with(ResponseTemplate::new(status).set_body_string(body))
            .mount(server)
            .await;
    }

    #[tokio::test]
    async fn signed_registry_over_http_keeps_last_good_copy() {
        let server = MockServer::start().await;
        let url = format!("{}/idps.xml", server.uri());
        let reg = IdpRegistry::new(HttpFetcher::new(&url).unwrap())
            .with_signing_certificate(cert_der("other"));

        // Unsigned document refused even on the first load.
        serve(&server, 200, aggregate(&["https://a.example"], "")).await;
        assert!(matches!(
            reg.refresh().await,
            Err(RegistryError::Metadata(MetadataError::Signature(_)))
        ));
        assert!(reg.idps().is_empty());

        // A good signed copy, with cacheDuration.
        let good = signed_by(
            "other",
            &aggregate(&["https://a.example"], " cacheDuration=\"PT2H\""),
        );
        serve(&server, 200, good.clone()).await;
        assert_eq!(reg.refresh().await.unwrap(), 1);
        assert!(!reg.needs_refresh_at(Utc::now() + Duration::minutes(110)));
        assert!(reg.needs_refresh_at(Utc::now() + Duration::minutes(121)));

        // Signed by another key: refused, old copy kept.
        serve(
            &server,
            200,
            signed_by("idp", &aggregate(&["https://evil.example"], "")),
        )
        .await;
        assert!(matches!(
            reg.refresh().await,
            Err(RegistryError::Metadata(MetadataError::Signature(_)))
        ));
        assert_eq!(entity_ids(&reg), ["https://a.example"]);

        // Tampered after signing (an endpoint redirected): refused, old copy kept.
        serve(
            &server,
            200,
            good.replace("https://a.example/sso", "https://evil.example/sso"),
        )
        .await;
        assert!(matches!(
            reg.refresh().await,
            Err(RegistryError::Metadata(MetadataError::Signature(_)))
        ));
        assert_eq!(
            reg.get("https://a.example").unwrap().sso[0].location,
            "https://a.example/sso"
        );

        // Server error: old copy kept.
        serve(&server, 500, String::new()).await;
        assert!(matches!(reg.refresh().await, Err(RegistryError::Fetch(_))));
        assert_eq!(entity_ids(&reg), ["https://a.example"]);

        // Expired document (validUntil in the past): refused.
        let past =
            (Utc::now() - Duration::hours(1)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        serve(
            &server,
            200,
            signed_by(
                "other",
                &aggregate(&["https://b.example"], &format!(" validUntil=\"{past}\"")),
            ),
        )
        .await;
        assert!(matches!(
            reg.refresh().await,
            Err(RegistryError::Metadata(MetadataError::Expired { .. }))
        ));
        assert_eq!(entity_ids(&reg), ["https://a.example"]);

        // A new good copy replaces the old one; its validUntil bounds its life and the refresh.
        let until = Utc::now() + Duration::hours(1);
        let until_s = until.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        serve(
            &server,
            200,
            signed_by(
                "other",
                &aggregate(
                    &["https://b.example", "https://c.example"],
                    &format!(" validUntil=\"{until_s}\" cacheDuration=\"P2D\""),
                ),
            ),
        )
        .await;
        assert_eq!(reg.refresh().await.unwrap(), 2);
        assert_eq!(entity_ids(&reg), ["https://b.example", "https://c.example"]);
        assert!(reg.next_refresh().unwrap() <= until);
        assert!(
            reg.idps_at(Utc::now() + Duration::hours(2)).is_empty(),
            "an expired copy is not used"
        );
    }
}
