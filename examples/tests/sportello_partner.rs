//! A technology partner's deployment: one sportello serving several enti from one `--config`,
//! chosen by path prefix or by host; each ente a SPID entity aggregated by the partner; one
//! paForNode station for all; the operator area open only to that ente's operators.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use examples::sportello::{self, Config, Running};
use reqwest::StatusCode;
use serde_json::json;

use common::{http, spid_login};

const MARIO: &str = "RSSMRA85T10A562S";
const GIULIA: &str = "BNCGLI80A41H501C";
const LUCA: &str = "VRDLCU75C12F205W";

fn partner_config() -> serde_json::Value {
    json!({
        "partner": {
            "name": "Partner Tecnologico S.p.A.",
            "vat_number": "01234567897",
            "email": "spid@partner.example",
            "broker": "01234567897",
            "station": "01234567897_01",
            "cie_technical": {
                "company": "Partner Tecnologico S.p.A.", "vat_number": "01234567897",
                "fiscal_code": "01234567897", "nace2_code": "62.01",
                "email": "cie@partner.example",
                "location": {"municipality": "058091", "province": "RM", "country": "IT"}
            }
        },
        "enti": [
            {
                "id": "roccaverde", "name": "Comune di Roccaverde", "ipa": "c_r001",
                "fiscal_code": "00000000018", "segregation": "01",
                "iban": "IT25O0306909606100000012345", "fee_cents": 1600, "aoo": "AOO_RV",
                "path_prefix": "/roccaverde", "operators": [GIULIA]
            },
            {
                "id": "valfonda", "name": "Comune di Valfonda", "ipa": "c_v002",
                "fiscal_code": "00000000026", "segregation": "02",
                "iban": "IT78T0760101600000000654321", "fee_cents": 3000, "aoo": "AOO_VF",
                "register": "REG",
                "path_prefix": "/valfonda", "operators": [LUCA]
            },
            {
                "id": "montebello", "name": "Comune di Montebello", "ipa": "c_m003",
                "fiscal_code": "00000000034", "segregation": "03",
                "iban": "IT03H0200801234000000777777", "fee_cents": 500, "aoo": "AOO_MB",
                "hosts": ["montebello.localhost"], "operators": [MARIO]
            }
        ]
    })
}

async fn start(config: serde_json::Value) -> (tempfile::TempDir, Running) {
    let data = tempfile::tempdir().unwrap();
    let mut config: Config = serde_json::from_value(config).unwrap();
    config.port = 0;
    config.cns_port = 0;
    config.data_dir = data.path().to_owned();
    (data, sportello::start(config).await.unwrap())
}

async fn get(url: &str, cookie: Option<&str>) -> (StatusCode, String) {
    // Redirects followed (`/roccaverde/` leads to `/roccaverde`), cookies sent on each hop.
    let client = reqwest::Client::new();
    let mut rq = client.get(url);
    if let Some(c) = cookie {
        rq = rq.header("cookie", c);
    }
    let r = rq.send().await.unwrap();
    (r.status(), r.text().await.unwrap())
}

/// Files a request as the logged-in citizen; returns the request page's path.
async fn file_request(base: &str, session: &str) -> String {
    let r = http()
        .post(format!("{base}/richieste"))
        .header("cookie", session)
        .form(&[
            ("subject", "Accesso agli atti"),
            ("body", "Chiedo di vedere gli atti."),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    r.headers()["location"].to_str().unwrap().to_owned()
}

#[tokio::test]
async fn enti_are_routed_by_prefix_and_host_each_with_its_own_identity() {
    let (_d, app) = start(partner_config()).await;
    let rv = app.ente_url("roccaverde").unwrap().to_owned();
    let vf = app.ente_url("valfonda").unwrap().to_owned();
    assert!(rv.ends_with("/roccaverde"), "{rv}");
    let root = format!("http://{}", app.addr);

    // The partner's landing page lists every ente.
    let (status, home) = get(&format!("{root}/"), None).await;
    assert_eq!(status, 200);
    for name in [
        "Comune di Roccaverde",
        "Comune di Valfonda",
        "Comune di Montebello",
    ] {
        assert!(home.contains(name), "{home}");
    }
    // Each ente's home is its own, with the official SPID and CIE buttons.
    let (_, page) = get(&format!("{rv}/"), None).await;
    assert!(page.contains("Comune di Roccaverde") && !page.contains("Valfonda"));
    assert!(page.contains("button-spid") && page.contains("Entra con SPID"));
    assert!(page.contains("button-cie") && page.contains("Entra con CIE"));
    // The host-routed ente answers on its host.
    let by_host = http()
        .get(format!("{root}/"))
        .header("host", "montebello.localhost")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(by_host.contains("Comune di Montebello"), "{by_host}");
    assert!(!by_host.contains("Scegli il tuo ente"));

    // Each ente is a SPID entity aggregated by the partner (pub-ag-full), with its own
    // entityID, IPA code and the partner as aggregator.
    let (status, md) = get(&format!("{rv}/spid/metadata"), None).await;
    assert_eq!(status, 200);
    assert!(
        md.contains(&format!("entityID=\"{rv}/pub-ag-full/c_r001\"")),
        "{md}"
    );
    assert!(md.contains("<spid:IPACode>c_r001</spid:IPACode>"), "{md}");
    assert!(md.contains("PublicServicesFullAggregator"), "{md}");
    assert!(md.contains("01234567897"), "{md}");
    let (_, md_vf) = get(&format!("{vf}/spid/metadata"), None).await;
    assert!(md_vf.contains("c_v002") && !md_vf.contains("c_r001"));

    // Its CIE identity: the ente in the metadata, the partner as the technical contact.
    let (status, cie_md) = get(&format!("{rv}/cie/metadata"), None).await;
    assert_eq!(status, 200, "{cie_md}");
    assert!(
        cie_md.contains("<cie:IPACode>c_r001</cie:IPACode>"),
        "{cie_md}"
    );
    assert!(cie_md.contains("contactType=\"technical\""), "{cie_md}");
    assert!(cie_md.contains("IT01234567897"), "{cie_md}");
    assert!(cie_md.contains("Comune di Roccaverde"), "{cie_md}");

    // The chooser is the library's: the "Entra con SPID" button and the ente's IdP list.
    let (_, chooser) = get(&format!("{rv}/spid/login"), None).await;
    assert!(chooser.contains("spid-idp-list"), "{chooser}");
    assert!(
        chooser.contains(&format!("{rv}/test-idp/spid")),
        "{chooser}"
    );
}

#[tokio::test]
async fn the_operator_area_is_only_for_that_entes_operators() {
    let (_d, app) = start(partner_config()).await;
    let rv = app.ente_url("roccaverde").unwrap().to_owned();
    let vf = app.ente_url("valfonda").unwrap().to_owned();

    // Nobody logged in: 403, on the page and on the flow action.
    let (status, page) = get(&format!("{rv}/operatore"), None).await;
    assert_eq!(status, 403, "{page}");
    assert!(page.contains("riservata agli operatori"), "{page}");
    let r = http()
        .post(format!("{rv}/operatore/flusso"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);

    // A citizen who is nobody's operator: 403, and no data of the ente on the page.
    let citizen = spid_login(&rv, MARIO, "Mario", "Rossi").await;
    let (status, page) = get(&format!("{rv}/operatore"), Some(&citizen)).await;
    assert_eq!(status, 403);
    assert!(
        page.contains(MARIO) && !page.contains("tabella-istanze"),
        "{page}"
    );

    // Valfonda's operator, logged in at Valfonda: in at Valfonda; at Roccaverde the Valfonda
    // session is not a session (another SP identity, another cookie path) ...
    let luca_vf = spid_login(&vf, LUCA, "Luca", "Verdi").await;
    let (status, page) = get(&format!("{vf}/operatore"), Some(&luca_vf)).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("tabella-istanze") && page.contains(LUCA));
    let (status, _) = get(&format!("{rv}/operatore"), Some(&luca_vf)).await;
    assert_eq!(status, 403);
    // ... and logged in at Roccaverde he is not one of its operators.
    let luca_rv = spid_login(&rv, LUCA, "Luca", "Verdi").await;
    let (status, page) = get(&format!("{rv}/operatore"), Some(&luca_rv)).await;
    assert_eq!(status, 403, "{page}");
    let r = http()
        .post(format!("{rv}/operatore/flusso"))
        .header("cookie", &luca_rv)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);

    // Roccaverde's operator gets in, with the ente's own SIOPE+ certificate.
    let giulia = spid_login(&rv, GIULIA, "Giulia", "Bianchi").await;
    let (status, page) = get(&format!("{rv}/operatore"), Some(&giulia)).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("Giorni rimanenti"), "{page}");
    assert!(page.contains("Comune di Roccaverde"));
}

#[tokio::test]
async fn each_ente_mints_protocols_and_is_paid_through_the_partners_one_station() {
    let (_d, app) = start(partner_config()).await;
    let rv = app.ente_url("roccaverde").unwrap().to_owned();
    let vf = app.ente_url("valfonda").unwrap().to_owned();
    let root = format!("http://{}", app.addr);

    let mario_rv = spid_login(&rv, MARIO, "Mario", "Rossi").await;
    let mario_vf = spid_login(&vf, MARIO, "Mario", "Rossi").await;
    let req_rv = file_request(&rv, &mario_rv).await;
    let req_vf = file_request(&vf, &mario_vf).await;
    assert!(req_rv.starts_with("/roccaverde/richieste/"), "{req_rv}");
    let (_, page_rv) = get(&format!("{root}{req_rv}"), Some(&mario_rv)).await;
    let (_, page_vf) = get(&format!("{root}{req_vf}"), Some(&mario_vf)).await;
    // Each ente's register and fee; its own creditor fiscal code and segregation code.
    assert!(
        page_rv.contains("16.00 euro") && page_rv.contains("00000000018"),
        "{page_rv}"
    );
    assert!(
        page_vf.contains("30.00 euro") && page_vf.contains("00000000026"),
        "{page_vf}"
    );
    assert!(
        page_rv.contains("3010"),
        "aux digit 3, segregation 01: {page_rv}"
    );
    assert!(
        page_vf.contains("3020"),
        "aux digit 3, segregation 02: {page_vf}"
    );
    assert!(page_vf.contains("(E).0000001"), "{page_vf}");
    // A request of one ente is not visible at the other.
    let other = req_rv.replace("/roccaverde/", "/valfonda/");
    let (status, _) = get(&format!("{root}{other}"), Some(&mario_vf)).await;
    assert_eq!(status, 404);

    // Pay both: the node simulator of each ente calls the partner's one paForNode endpoint,
    // which answers for the ente named by idPA.
    for (base, req, session) in [(&rv, &req_rv, &mario_rv), (&vf, &req_vf, &mario_vf)] {
        // "Paga con pagoPA" hands a cart to Checkout (the embedded simulator) and sends the
        // browser there; paying there makes Checkout call our paForNode endpoint, then sends
        // the browser back to the ok URL.
        let r = http()
            .post(format!("{root}{req}/paga"))
            .header("cookie", session.as_str())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 303, "{base}: {:?}", r.text().await);
        let checkout = r.headers()["location"].to_str().unwrap().to_owned();
        let (status, page) = get(&checkout, None).await;
        assert_eq!(status, 200, "{page}");
        let back = http().post(format!("{checkout}/pay")).send().await.unwrap();
        assert_eq!(back.status(), 303);
        let ok = back.headers()["location"].to_str().unwrap().to_owned();
        assert_eq!(ok, format!("{root}{req}?esito=ok"));
        let (_, page) = get(&ok, Some(session)).await;
        assert!(page.contains("id=\"ricevuta\""), "{page}");
        assert!(page.contains("Pagamento completato"), "{page}");
    }
    // Each operator sees only the ente's own receipts.
    let giulia = spid_login(&rv, GIULIA, "Giulia", "Bianchi").await;
    let (_, op) = get(&format!("{rv}/operatore"), Some(&giulia)).await;
    assert!(op.contains("16.00") && !op.contains("30.00"), "{op}");
    let luca = spid_login(&vf, LUCA, "Luca", "Verdi").await;
    let (_, op) = get(&format!("{vf}/operatore"), Some(&luca)).await;
    assert!(op.contains("30.00") && !op.contains("16.00"), "{op}");
}

#[test]
fn a_bad_configuration_names_the_ente_and_the_field() {
    let with = |f: &dyn Fn(&mut serde_json::Value)| {
        let mut c = partner_config();
        f(&mut c);
        serde_json::from_value::<Config>(c)
            .unwrap()
            .setups()
            .unwrap_err()
    };
    let e = with(&|c| c["enti"][1]["iban"] = json!("IT00X0000000000000000000000"));
    assert_eq!((e.ente.as_str(), e.field.as_str()), ("valfonda", "iban"));
    let e = with(&|c| c["enti"][1]["path_prefix"] = json!("/roccaverde"));
    assert_eq!(
        (e.ente.as_str(), e.field.as_str()),
        ("valfonda", "path_prefix")
    );
    let e = with(&|c| c["enti"][2]["fiscal_code"] = json!("00000000018"));
    assert_eq!(
        (e.ente.as_str(), e.field.as_str()),
        ("montebello", "fiscal_code")
    );
    let e = with(&|c| c["enti"][0]["operators"] = json!(["RSSMRA85T10A562X"]));
    assert_eq!(
        (e.ente.as_str(), e.field.as_str()),
        ("roccaverde", "operators")
    );
    let e = with(&|c| c["enti"][0]["path_prefix"] = json!("/a/b"));
    assert_eq!(e.field, "path_prefix");
    let e = with(&|c| {
        c["enti"][0].as_object_mut().unwrap().remove("path_prefix");
    });
    assert_eq!(e.field, "hosts");
    let e = with(&|c| {
        c.as_object_mut().unwrap().remove("partner");
    });
    assert_eq!(e.field, "partner");
    // Unknown fields are refused by the reader, not silently ignored.
    let mut c = partner_config();
    c["enti"][0]["ibna"] = json!("x");
    let err = serde_json::from_value::<Config>(c).unwrap_err();
    assert!(err.to_string().contains("ibna"), "{err}");
}
