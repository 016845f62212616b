//! The A2A client against the simulator over mutual TLS on 127.0.0.1.

use std::time::Duration;

use siopeplus::simulator::{Fault, SimOptions, Simulator, TestPki};
use siopeplus::*;

use crate::common::*;

pub(crate) const A2A: &str = "A2A-12345678";

pub(crate) fn config(sim: &Simulator, pki: &TestPki, identity: ClientIdentity) -> A2aConfig {
    let mut cfg = A2aConfig::new(
        sim.base_url(),
        A2A.parse().unwrap(),
        "UF1234",
        identity,
        trust_roots_from_pem(pki.ca_pem().as_bytes()).unwrap(),
    );
    cfg.retry = RetryPolicy {
        max_attempts: 3,
        delay: Duration::from_millis(10),
        backoff: 2,
        max_delay: Duration::from_millis(50),
    };
    cfg.timeout = Duration::from_secs(10);
    cfg
}

pub(crate) fn signed_flow_xml(id: &str, mandati: u32) -> Vec<u8> {
    let xml = write_flow(&flow(id, mandati), Vec::new(), false).unwrap();
    with_placeholder_signature(&xml)
}

#[tokio::test]
async fn upload_list_download_ack_and_esiti() {
    let pki = TestPki::generate("Test CA").unwrap();
    let sim = Simulator::start(&pki, SimOptions::default()).await.unwrap();
    let client = A2aClient::new(config(
        &sim,
        &pki,
        pki.client_identity(&format!("Comune {A2A}"), 1000).unwrap(),
    ))
    .unwrap();
    let r = client
        .upload_flow("FL-1", &signed_flow_xml("FL-1", 2))
        .await
        .unwrap();
    assert_eq!(r.prog_flusso, Some(1));
    assert!(r.data_upload.is_some());
    let received = sim.received();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].sender.as_deref(), Some(A2A));
    assert!(received[0].accepted);

    let acks = client
        .list_all(ListKind::Ack, &ListQuery::default())
        .await
        .unwrap();
    assert_eq!(acks.len(), 1);
    let ack = AckSiope::from_xml(&client.download(&acks[0].location).await.unwrap()).unwrap();
    assert_eq!(ack.stato_flusso, StatoFlusso::Ok, "{ack:?}");
    assert_eq!(ack.identificativo_flusso.as_deref(), Some("FL-1"));
    // Downloaded items are marked.
    let not_yet = ListQuery {
        download: Some(false),
        ..ListQuery::default()
    };
    assert!(
        client
            .list_all(ListKind::Ack, &not_yet)
            .await
            .unwrap()
            .is_empty()
    );

    let ricezioni = client
        .list_all(ListKind::EsitoFlusso, &ListQuery::default())
        .await
        .unwrap();
    let ric_xml = client.download(&ricezioni[0].location).await.unwrap();
    assert_schema_valid(&ric_xml, "OPI_MSG_RICEZIONE_FLUSSO_V_1_6_1.xsd");
    let ric = RicezioneFlusso::from_xml(&ric_xml).unwrap();
    assert_eq!(ric.identificativo_flusso, "FL-1");

    let esiti = client
        .list_all(ListKind::EsitoApplicativo, &ListQuery::default())
        .await
        .unwrap();
    let xml = client.download(&esiti[0].location).await.unwrap();
    // The simulator signs its messages: schema-valid, and verified with the treasurer's key.
    assert_schema_valid(&xml, "OPI_MSG_ESITO_APPLICATIVO_V_1_6_1.xsd");
    let treasurer = trusted_keys_from_pem(pki.server_cert_pem().as_bytes()).unwrap();
    let Messaggio::EsitoApplicativo(e) = verify_message(&xml, &treasurer).unwrap() else {
        panic!()
    };
    assert!(e.signed);
    assert_eq!(e.esiti.len(), 3);
    assert!(
        e.esiti
            .iter()
            .all(|x| x.esito_operazione == EsitoOperazione::Acquisito)
    );

    let giornali = client
        .list_all(ListKind::Giornale, &ListQuery::default())
        .await
        .unwrap();
    let xml = client.download(&giornali[0].location).await.unwrap();
    assert_schema_valid(&xml, "OPI_GIORNALE_DI_CASSA_V_1_7_1.xsd");
    let Messaggio::GiornaleDiCassa(g) = verify_message(&xml, &treasurer).unwrap() else {
        panic!()
    };
    assert_eq!(g.conti[0].movimenti.len(), 3);
    assert_eq!(g.conti[0].totale_uscite.unwrap().cents(), 2 * 125_550);
    assert_eq!(g.conti[0].totale_entrate.unwrap().cents(), 10_000);

    // A second upload of the same identificativo_flusso is refused by the simulator's ACK.
    client
        .upload_flow("FL-1", &signed_flow_xml("FL-1", 2))
        .await
        .unwrap();
    let acks = client
        .list_all(
            ListKind::Ack,
            &ListQuery {
                download: Some(false),
                ..ListQuery::default()
            },
        )
        .await
        .unwrap();
    let ack = AckSiope::from_xml(&client.download(&acks[0].location).await.unwrap()).unwrap();
    assert_eq!(ack.stato_flusso, StatoFlusso::Ko);
    assert!(ack.errori.iter().any(|e| e.codice == 3));
}

#[tokio::test]
async fn invalid_flow_gets_a_ko_ack_naming_the_order() {
    let pki = TestPki::generate("Test CA").unwrap();
    let sim = Simulator::start(&pki, SimOptions::default()).await.unwrap();
    let client =
        A2aClient::new(config(&sim, &pki, pki.client_identity(A2A, 1000).unwrap())).unwrap();
    let xml = String::from_utf8(signed_flow_xml("FL-BAD", 2)).unwrap();
    let bad = xml.replacen(
        "<importo_mandato>1255.50</importo_mandato>",
        "<importo_mandato>1255.51</importo_mandato>",
        1,
    );
    client.upload_flow("FL-BAD", bad.as_bytes()).await.unwrap();
    let acks = client
        .list_all(ListKind::Ack, &ListQuery::default())
        .await
        .unwrap();
    let ack = AckSiope::from_xml(&client.download(&acks[0].location).await.unwrap()).unwrap();
    assert_eq!(ack.stato_flusso, StatoFlusso::Ko);
    assert_eq!(
        ack.errori[0].elemento.as_deref(),
        Some("mandato 1 importo_mandato")
    );
    assert!(
        client
            .list_all(ListKind::EsitoApplicativo, &ListQuery::default())
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn pagination_and_date_ranges() {
    let pki = TestPki::generate("Test CA").unwrap();
    let sim = Simulator::start(
        &pki,
        SimOptions {
            page_size: 2,
            ..SimOptions::default()
        },
    )
    .await
    .unwrap();
    let client =
        A2aClient::new(config(&sim, &pki, pki.client_identity(A2A, 1000).unwrap())).unwrap();
    for i in 1..=5 {
        let id = format!("FL-P{i}");
        client
            .upload_flow(&id, &signed_flow_xml(&id, 1))
            .await
            .unwrap();
    }
    let page = client
        .list(ListKind::Ack, &ListQuery::default())
        .await
        .unwrap();
    assert_eq!(
        (page.num_risultati, page.num_pagine, page.risultati.len()),
        (5, 3, 2)
    );
    let all = client
        .list_all(ListKind::Ack, &ListQuery::default())
        .await
        .unwrap();
    assert_eq!(all.len(), 5);
    let future = chrono::Local::now().naive_local() + chrono::Duration::days(1);
    let none = client
        .list_all(
            ListKind::Ack,
            &ListQuery {
                data_upload_da: Some(future),
                ..ListQuery::default()
            },
        )
        .await
        .unwrap();
    assert!(none.is_empty());
}

#[tokio::test]
async fn throttling_is_retried_then_reported() {
    let pki = TestPki::generate("Test CA").unwrap();
    let sim = Simulator::start(&pki, SimOptions::default()).await.unwrap();
    let client =
        A2aClient::new(config(&sim, &pki, pki.client_identity(A2A, 1000).unwrap())).unwrap();
    sim.inject(&[Fault::Status(429), Fault::Status(503)]);
    client
        .upload_flow("FL-T", &signed_flow_xml("FL-T", 1))
        .await
        .unwrap();
    assert_eq!(sim.received().len(), 1);
    sim.inject(&[Fault::Status(503), Fault::Status(503), Fault::Status(503)]);
    let err = client
        .list(ListKind::Ack, &ListQuery::default())
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Transport(TransportError::RetriesExhausted {
                status: 503,
                attempts: 3,
                ..
            })
        ),
        "{err}"
    );
}

#[tokio::test]
async fn client_certificate_from_another_ca_is_refused() {
    let pki = TestPki::generate("Test CA").unwrap();
    let other = TestPki::generate("Rogue CA").unwrap();
    let sim = Simulator::start(&pki, SimOptions::default()).await.unwrap();
    let client = A2aClient::new(config(
        &sim,
        &pki,
        other.client_identity(A2A, 1000).unwrap(),
    ))
    .unwrap();
    let err = client
        .list(ListKind::Ack, &ListQuery::default())
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::Transport(TransportError::Http { .. })),
        "{err}"
    );
    assert!(sim.received().is_empty());
}

#[tokio::test]
async fn expired_client_certificate_is_refused() {
    let pki = TestPki::generate("Test CA").unwrap();
    let sim = Simulator::start(&pki, SimOptions::default()).await.unwrap();
    let (c, k) = pki.issue_client(A2A, -1200, -5).unwrap();
    let id = ClientIdentity::from_pem_parts(c.as_bytes(), k.as_bytes()).unwrap();
    let client = A2aClient::new(config(&sim, &pki, id)).unwrap();
    let err = client
        .upload_flow("FL-X", &signed_flow_xml("FL-X", 1))
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::Transport(TransportError::Http { .. })),
        "{err}"
    );
    assert!(sim.received().is_empty());
}

#[tokio::test]
async fn untrusted_server_is_refused() {
    let pki = TestPki::generate("Test CA").unwrap();
    let other = TestPki::generate("Other CA").unwrap();
    let sim = Simulator::start(&pki, SimOptions::default()).await.unwrap();
    let mut cfg = config(&sim, &pki, pki.client_identity(A2A, 1000).unwrap());
    cfg.trust_roots = trust_roots_from_pem(other.ca_pem().as_bytes()).unwrap();
    let client = A2aClient::new(cfg).unwrap();
    let err = client
        .upload_flow("FL-U", &signed_flow_xml("FL-U", 1))
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::Transport(TransportError::Http { .. })),
        "{err}"
    );
    assert!(sim.received().is_empty());
}

#[tokio::test]
async fn certificate_of_another_ente_gets_403() {
    let pki = TestPki::generate("Test CA").unwrap();
    let sim = Simulator::start(&pki, SimOptions::default()).await.unwrap();
    let client = A2aClient::new(config(
        &sim,
        &pki,
        pki.client_identity("A2A-99999999", 1000).unwrap(),
    ))
    .unwrap();
    let err = client
        .upload_flow("FL-O", &signed_flow_xml("FL-O", 1))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Transport(TransportError::Status { status: 403, .. })
        ),
        "{err}"
    );
}

#[test]
fn no_trust_roots_is_a_configuration_error() {
    let pki = TestPki::generate("Test CA").unwrap();
    let cfg = A2aConfig::new(
        "https://127.0.0.1:1/v1".parse().unwrap(),
        A2A.parse().unwrap(),
        "UF1234",
        pki.client_identity(A2A, 100).unwrap(),
        vec![],
    );
    assert!(matches!(
        A2aClient::new(cfg),
        Err(TransportError::Config(_))
    ));
}

#[test]
fn zip_bomb_and_multi_file_zips_are_refused() {
    let z = zip_one("a.xml", b"<a/>").unwrap();
    assert_eq!(unzip_one(&z).unwrap(), b"<a/>");
    assert!(unzip_one(b"not a zip").is_err());
    // Two files.
    use std::io::Write;
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let o = zip::write::SimpleFileOptions::default();
    w.start_file("a", o).unwrap();
    w.write_all(b"1").unwrap();
    w.start_file("b", o).unwrap();
    w.write_all(b"2").unwrap();
    let two = w.finish().unwrap().into_inner();
    assert!(unzip_one(&two).unwrap_err().contains("2 files"));
}

#[tokio::test]
async fn simulator_checks_the_flow_signature_against_the_tls_certificate() {
    let pki = TestPki::generate("Test CA").unwrap();
    let opts = SimOptions {
        verify_signatures: true,
        ..SimOptions::default()
    };
    let sim = Simulator::start(&pki, opts).await.unwrap();
    let (c, k) = pki.issue_client(A2A, -1, 1000).unwrap();
    let identity = ClientIdentity::from_pem_parts(c.as_bytes(), k.as_bytes()).unwrap();
    let signer = FlowSigner::from_identity(&identity).unwrap();
    let client = A2aClient::new(config(&sim, &pki, identity)).unwrap();
    let unsigned = write_flow(&flow("FL-S1", 1), Vec::new(), false).unwrap();
    client
        .upload_flow("FL-S1", &sign_flow(&unsigned, &signer).unwrap())
        .await
        .unwrap();
    client
        .upload_flow("FL-S2", &signed_flow_xml("FL-S2", 1))
        .await
        .unwrap();
    let other = FlowSigner::from_identity(&pki.client_identity("Altro", 100).unwrap()).unwrap();
    let unsigned3 = write_flow(&flow("FL-S3", 1), Vec::new(), false).unwrap();
    client
        .upload_flow("FL-S3", &sign_flow(&unsigned3, &other).unwrap())
        .await
        .unwrap();
    let accepted: Vec<(String, bool)> = sim
        .received()
        .into_iter()
        .map(|f| (f.identificativo_flusso, f.accepted))
        .collect();
    assert_eq!(
        accepted,
        [
            ("FL-S1".to_owned(), true),
            ("FL-S2".to_owned(), false),
            ("FL-S3".to_owned(), false)
        ]
    );
}
