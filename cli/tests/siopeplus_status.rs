//! `pa siopeplus status`: the flows of an outbox driven against the SIOPE+ simulator, with
//! their orders (one refused by the treasurer) and a flow given up.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use chrono::NaiveDate;
use pa_types::Amount;
use siopeplus::simulator::{Fault, SimOptions, Simulator, TestPki};
use siopeplus::*;

const A2A: &str = "A2A-12345678";

fn pa(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_pa"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}

fn flow(id: &str, signer: &FlowSigner) -> Vec<u8> {
    let day = NaiveDate::from_ymd_opt(2026, 3, 2).unwrap();
    let testata = TestataFlusso {
        codice_abi_bt: "03069".parse().unwrap(),
        identificativo_flusso: id.parse().unwrap(),
        data_ora_creazione_flusso: day.and_hms_opt(10, 0, 0).unwrap(),
        codice_ente: "UF1234".parse().unwrap(),
        descrizione_ente: "Comune di Esempio".into(),
        codice_istat_ente: "012058123".parse().unwrap(),
        codice_fiscale_ente: "02438750586".into(),
        codice_tramite_ente: A2A.parse().unwrap(),
        codice_tramite_bt: "A2A-87654321".parse().unwrap(),
        codice_ente_bt: "0001234".into(),
        riferimento_ente: None,
    };
    let mandato = |n: u32, amount: &str| {
        let mut who = Soggetto::new("Rossi Mario");
        who.codice_fiscale = Some("RSSMRA85T10A562S".into());
        let mut b = InformazioniBeneficiario::new(
            1,
            Amount::parse_decimal(amount).unwrap(),
            TipoPagamento::SepaCreditTransfer,
            who,
            "Fornitura",
        );
        b.sepa_credit_transfer = Some(SepaCreditTransfer {
            iban: "IT60X0542811101000000123456".parse().unwrap(),
            bic: None,
            identificativo_end_to_end: None,
            category_purpose: None,
        });
        Ordinativo::Mandato(Box::new(Mandato::new(n, day, vec![b])))
    };
    let f = FlussoOrdinativi {
        id: Some("F1".into()),
        testata,
        esercizio: 2026,
        ordinativi: vec![mandato(1, "120.00"), mandato(2, "35.50")],
    };
    sign_flow(&write_flow(&f, Vec::new(), false).unwrap(), signer).unwrap()
}

async fn drive(file: &Path) {
    let pki = TestPki::generate("Test CA").unwrap();
    let sim = Simulator::start(
        &pki,
        SimOptions {
            defer_execution: true,
            ..SimOptions::default()
        },
    )
    .await
    .unwrap();
    sim.refuse_order(TipoOrdinativo::Mandato, 2, 1041, "IBAN non valido");
    let identity = pki.client_identity(A2A, 1000).unwrap();
    let signer = FlowSigner::from_identity(&identity).unwrap();
    let mut cfg = A2aConfig::new(
        sim.base_url(),
        A2A.parse().unwrap(),
        "UF1234",
        identity,
        trust_roots_from_pem(pki.ca_pem().as_bytes()).unwrap(),
    );
    cfg.retry.delay = Duration::from_millis(10);
    let outbox = Outbox::new(
        Arc::new(SqliteOutbox::open(file).unwrap()),
        A2aClient::new(cfg).unwrap(),
        Duration::ZERO,
    );
    outbox
        .enqueue("FL-STATUS-1", &flow("FL-STATUS-1", &signer))
        .await
        .unwrap();
    outbox.process().await.unwrap();
    sim.execute_pending();
    outbox.process().await.unwrap();
    outbox
        .enqueue("FL-STATUS-2", &flow("FL-STATUS-2", &signer))
        .await
        .unwrap();
    sim.inject(&[Fault::Status(400)]);
    outbox.process().await.unwrap();
}

#[test]
fn status_shows_flows_and_their_orders() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("outbox.sqlite");
    tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(drive(&file));
    let (code, out) = pa(&["siopeplus", "status", "--outbox", file.to_str().unwrap()]);
    assert_eq!(code, 1, "a refused order and a flow given up: {out}");
    let lines: Vec<&str> = out.lines().collect();
    assert!(
        lines[0].starts_with("FL-STATUS-2: failed (entry 2, 1 upload)"),
        "{out}"
    );
    assert!(
        lines[1].starts_with("  reason: gave up: upload refused") && lines[1].contains("400"),
        "{out}"
    );
    assert_eq!(
        lines[2],
        "FL-STATUS-1: completed (entry 1, progFlusso 1, 1 upload)"
    );
    assert_eq!(
        lines[3],
        "  mandato 1/2026 120.00: executed [GIORNALE ESEGUITO]"
    );
    assert_eq!(
        lines[4],
        "  mandato 2/2026 35.50: refused [NON ACQUISITO] codice 1041: IBAN non valido"
    );
    assert_eq!(lines.len(), 5, "{out}");

    let (code, out) = pa(&[
        "siopeplus",
        "status",
        "--outbox",
        file.to_str().unwrap(),
        "--limit",
        "1",
    ]);
    assert_eq!(code, 1);
    assert_eq!(out.lines().count(), 2, "{out}");

    let (code, out) = pa(&[
        "siopeplus",
        "status",
        "--outbox",
        dir.path().join("none.sqlite").to_str().unwrap(),
    ]);
    assert_eq!(code, 1);
    assert!(out.contains("no outbox at"), "{out}");
}
