//! Reversali a copertura from a reconciliation: classified per service, schema-checked with
//! xmllint, signed with the ente's certificate and sent through the outbox to the simulator,
//! which verifies the signature and accepts them.

use std::sync::Arc;
use std::time::Duration;

use pa_types::Amount;
use siopeplus::coverage::*;
use siopeplus::reconcile::*;
use siopeplus::simulator::{SimOptions, Simulator, TestPki};
use siopeplus::*;

use crate::a2a::{A2A, config};
use crate::common::*;
use crate::reconcile::{IMU, SEG, flow, giornale, line, receipt, sospeso, stored_lines};

fn rule(cge: &str, arconet: bool) -> ClassificationRule {
    ClassificationRule {
        codice_cge: cge.parse().unwrap(),
        codice_cup: None,
        dati_siope: DatiSiopeEntrate {
            debito: DebitoEntrata::NonCommerciale {
                tipo: TipoDebitoNonCommerciale::NonCommerciale,
                fatture: vec![],
            },
            arconet: arconet.then(|| ArconetEntrate {
                codice_economico: "3010200001".into(),
                importo_codice_economico: eur("0.01"),
                codice_ue: "2".into(),
                codice_entrata: Some(Ricorrenza::Ricorrente),
            }),
        },
    }
}

fn rules() -> CoverageRules {
    CoverageRules::default()
        .with(IMU, rule("1010106", true))
        .with(SEG, rule("3010200", false))
}

/// Two matched provvisori: 201 (one flow, IMU and SEG), 202 (a flow with a payment whose
/// receipt never came).
async fn report() -> Report {
    let (d2, d3) = (d(2026, 3, 2), d(2026, 3, 3));
    let lines = stored_lines(&[
        receipt(1, d2, &[(IMU, "100.00")]),
        receipt(2, d2, &[(IMU, "30.00"), (SEG, "20.00")]),
        receipt(3, d2, &[(SEG, "45.00")]),
    ])
    .await;
    let flows = vec![
        flow(
            "F-A",
            "PSPAITMM",
            "A-1",
            d3,
            vec![
                line(1, 1, "100.00", d2),
                line(2, 1, "30.00", d2),
                line(2, 2, "20.00", d2),
            ],
        ),
        flow(
            "F-B",
            "PSPBITMM",
            "B-1",
            d3,
            vec![line(3, 1, "45.00", d2), line(9, 1, "5.00", d2)],
        ),
    ];
    let mut book = ProvvisoriBook::new();
    book.add(&giornale(
        d3,
        &[
            sospeso(201, "150.00", "/PUR/LGPE-RIVERSAMENTO/URI/F-A"),
            sospeso(202, "50.00", "/PUR/LGPE-RIVERSAMENTO/URI/F-B"),
        ],
    ));
    let r = reconcile(&book, &flows, &lines, &Options::as_of(d3));
    assert_eq!(r.matched.len(), 2);
    r
}

fn flusso(id: &str, reversali: Vec<Reversale>) -> FlussoOrdinativi {
    FlussoOrdinativi {
        id: Some("COPERTURA".into()),
        testata: testata(id),
        esercizio: 2026,
        ordinativi: reversali
            .into_iter()
            .map(|r| Ordinativo::Reversale(Box::new(r)))
            .collect(),
    }
}

#[tokio::test]
async fn reversali_carry_the_provvisorio_and_the_classification_per_service() {
    let r = report().await;
    let with_fallback = CoverageRules {
        fallback: Some(rule("3059900", false)),
        ..rules()
    };
    let rev = reversali_a_copertura(&r.matched, &with_fallback, 2026, 40, d(2026, 3, 4)).unwrap();
    assert_eq!(rev.len(), 2);
    assert_eq!((rev[0].numero_reversale, rev[1].numero_reversale), (40, 41));
    let v = &rev[0].informazioni_versante[0];
    assert_eq!(v.tipo_riscossione, TipoRiscossione::Regolarizzazione);
    assert_eq!(
        v.sospeso,
        vec![Sospeso {
            numero_provvisorio: 201,
            importo_provvisorio: eur("150.00"),
        }]
    );
    assert_eq!(rev[0].importo_reversale, eur("150.00"));
    assert_eq!(
        v.causale,
        "Regolarizzazione provvisorio n. 201/2026 - riversamento pagoPA flussi F-A"
    );
    assert_eq!(rev[0].conto_evidenza.as_deref(), Some("0000001"));
    let cls: Vec<(String, Amount)> = v
        .classificazione
        .iter()
        .map(|c| (c.codice_cge.to_string(), c.importo))
        .collect();
    assert_eq!(
        cls,
        vec![
            ("1010106".to_owned(), eur("130.00")),
            ("3010200".to_owned(), eur("20.00"))
        ]
    );
    // The ARCONET amount follows the classification's.
    assert_eq!(
        v.classificazione[0]
            .dati_siope
            .arconet
            .as_ref()
            .unwrap()
            .importo_codice_economico,
        eur("130.00")
    );
    // 202: the payment without a receipt goes to the fallback rule.
    let cls: Vec<(String, Amount)> = rev[1].informazioni_versante[0]
        .classificazione
        .iter()
        .map(|c| (c.codice_cge.to_string(), c.importo))
        .collect();
    assert_eq!(
        cls,
        vec![
            ("3059900".to_owned(), eur("5.00")),
            ("3010200".to_owned(), eur("45.00"))
        ]
    );
    // Valid per the crate's rules and the OPI schema (xmllint).
    let f = flusso("COP-2026-0001", rev);
    validate_flow(&f).unwrap();
    let xml = write_flow(&f, Vec::new(), false).unwrap();
    assert_schema_valid(&with_placeholder_signature(&xml), FLOW_XSD);
    let back: Vec<Ordinativo> = FlowReader::new(&xml[..])
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(back, f.ordinativi);
}

#[tokio::test]
async fn without_a_rule_for_a_service_nothing_is_made() {
    let r = report().await;
    // No fallback: 202's unreceipted payment has no rule.
    let e = reversali_a_copertura(&r.matched, &rules(), 2026, 1, d(2026, 3, 4)).unwrap_err();
    assert_eq!(
        e,
        CoverageError::NoRule {
            esercizio: 2026,
            numero: 202,
            service: None
        }
    );
    let e = reversali_a_copertura(&r.matched[..1], &rules(), 2025, 1, d(2026, 3, 4)).unwrap_err();
    assert!(matches!(e, CoverageError::OtherEsercizio { .. }), "{e}");
    let e = reversali_a_copertura(&r.matched[..1], &rules(), 2026, 9_999_999, d(2026, 3, 4));
    assert!(e.is_ok(), "the last number is still valid");
    let e = reversali_a_copertura(
        &r.matched,
        &CoverageRules {
            fallback: Some(rule("3059900", false)),
            ..rules()
        },
        2026,
        9_999_999,
        d(2026, 3, 4),
    )
    .unwrap_err();
    assert_eq!(e, CoverageError::Numbering(9_999_999));
}

#[test]
fn a_regularisation_must_name_its_provvisori_for_its_whole_amount() {
    let mut r = reversale(1);
    let v = &mut r.informazioni_versante[0];
    v.tipo_riscossione = TipoRiscossione::Regolarizzazione;
    // The fixture names provvisorio 77 for the whole 100.00: valid.
    validate_flow(&flusso("COP-V1", vec![r.clone()])).unwrap();
    let mut none = r.clone();
    none.informazioni_versante[0].sospeso.clear();
    let e = validate_flow(&flusso("COP-V2", vec![none])).unwrap_err();
    assert!(e.to_string().contains("at least one sospeso"), "{e}");
    let mut short = r;
    short.informazioni_versante[0].sospeso[0].importo_provvisorio = eur("99.00");
    let e = validate_flow(&flusso("COP-V3", vec![short])).unwrap_err();
    assert!(
        e.to_string()
            .contains("the provvisori add up to 99.00 but importo_versante is 100.00"),
        "{e}"
    );
}

#[tokio::test]
async fn signed_and_sent_through_the_outbox_the_simulator_accepts_them() {
    let r = report().await;
    let rules = CoverageRules {
        fallback: Some(rule("3059900", false)),
        ..rules()
    };
    let rev = reversali_a_copertura(&r.matched, &rules, 2026, 1, d(2026, 3, 4)).unwrap();
    let pki = TestPki::generate("Test CA").unwrap();
    let sim = Simulator::start(
        &pki,
        SimOptions {
            verify_signatures: true,
            ..SimOptions::default()
        },
    )
    .await
    .unwrap();
    let (c, k) = pki.issue_client(A2A, -1, 1000).unwrap();
    let identity = ClientIdentity::from_pem_parts(c.as_bytes(), k.as_bytes()).unwrap();
    let signer = FlowSigner::from_identity(&identity).unwrap();
    let xml = write_flow(&flusso("COP-2026-0002", rev), Vec::new(), false).unwrap();
    let signed = sign_flow(&xml, &signer).unwrap();
    assert_schema_valid(&signed, FLOW_XSD);
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteOutbox::open(&dir.path().join("outbox.sqlite")).unwrap());
    let outbox = Outbox::new(
        store,
        A2aClient::new(config(&sim, &pki, identity)).unwrap(),
        Duration::ZERO,
    );
    outbox.enqueue("COP-2026-0002", &signed).await.unwrap();
    let done = outbox.process().await.unwrap();
    assert_eq!(done[0].state, OutboxState::Completed, "{done:?}");
    let detail = done[0].detail.as_deref().unwrap();
    assert!(
        detail.contains("reversale 1/2026: executed [GIORNALE REGOLARIZZATO]"),
        "{detail}"
    );
    assert!(
        detail.contains("reversale 2/2026: executed [GIORNALE REGOLARIZZATO]"),
        "{detail}"
    );
    let got = sim.received();
    assert_eq!(got.len(), 1);
    assert!(
        got[0].accepted,
        "the simulator verified the signature and accepted the flow"
    );
}
