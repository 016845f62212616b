//! Sample data and the xmllint oracle.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::Command;

use chrono::NaiveDate;
use pa_types::Amount;
use siopeplus::*;

pub(crate) fn schemas_dir() -> PathBuf {
    if let Ok(d) = std::env::var("PA_SCHEMAS") {
        return PathBuf::from(d).join("siopeplus");
    }
    // Copies of the official OPI schemas (see tests/fixtures/README.md), so that the tests do not
    // depend on where the shared folder is.
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/xsd")
}

pub(crate) fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// Validates `xml` with xmllint against `xsd` (a file in the SIOPE+ schema folder).
/// Returns `None` when xmllint is absent outside CI; panics when absent in CI.
pub(crate) fn xmllint(xml: &[u8], xsd: &str) -> Option<Result<(), String>> {
    if Command::new("xmllint").arg("--version").output().is_err() {
        assert!(
            std::env::var_os("CI").is_none(),
            "xmllint is required in CI (apt-get install libxml2-utils)"
        );
        eprintln!("xmllint not installed: schema check skipped");
        return None;
    }
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("doc.xml");
    std::fs::write(&f, xml).unwrap();
    let out = Command::new("xmllint")
        .arg("--noout")
        .arg("--nonet")
        .arg("--schema")
        .arg(schemas_dir().join(xsd))
        .arg(&f)
        .output()
        .unwrap();
    if out.status.success() {
        Some(Ok(()))
    } else {
        Some(Err(String::from_utf8_lossy(&out.stderr).into_owned()))
    }
}

pub(crate) const FLOW_XSD: &str = "OPI_FLUSSO_ORDINATIVI_V_1_7_1.xsd";

/// The schema requires a `ds:Signature`: this puts a syntactically valid placeholder at the end
/// so that the unsigned writer output can be schema-checked.
pub(crate) fn with_placeholder_signature(xml: &[u8]) -> Vec<u8> {
    let s = String::from_utf8(xml.to_vec()).unwrap();
    let sig = r#"<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:SignedInfo><ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/><ds:SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/><ds:Reference URI=""><ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/><ds:DigestValue>AAAA</ds:DigestValue></ds:Reference></ds:SignedInfo><ds:SignatureValue>AAAA</ds:SignatureValue></ds:Signature></flusso_ordinativi>"#;
    s.replace("</flusso_ordinativi>", sig).into_bytes()
}

pub(crate) fn assert_schema_valid(xml: &[u8], xsd: &str) {
    if let Some(Err(e)) = xmllint(xml, xsd) {
        {
            panic!(
                "schema check failed:\n{e}\n---\n{}",
                String::from_utf8_lossy(&xml[..xml.len().min(4000)])
            );
        }
    }
}

pub(crate) fn d(y: i32, m: u32, dd: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, dd).unwrap()
}

pub(crate) fn eur(s: &str) -> Amount {
    Amount::parse_decimal(s).unwrap()
}

pub(crate) fn testata(id: &str) -> TestataFlusso {
    TestataFlusso {
        codice_abi_bt: "03069".parse().unwrap(),
        identificativo_flusso: id.parse().unwrap(),
        data_ora_creazione_flusso: d(2026, 3, 2).and_hms_opt(10, 15, 0).unwrap(),
        codice_ente: "UF1234".parse().unwrap(),
        descrizione_ente: "Comune di Roccasecca & Uniti".into(),
        codice_istat_ente: "012058123".parse().unwrap(),
        codice_fiscale_ente: "02438750586".into(),
        codice_tramite_ente: "A2A-12345678".parse().unwrap(),
        codice_tramite_bt: "A2A-87654321".parse().unwrap(),
        codice_ente_bt: "0001234".into(),
        riferimento_ente: Some("Ragioneria".into()),
    }
}

pub(crate) fn beneficiario_sepa(prog: u32, importo: &str) -> InformazioniBeneficiario {
    let mut sog = Soggetto::new("Rossi Mario <s.r.l.>");
    sog.indirizzo = Some("Via Roma 1".into());
    sog.cap = Some("00100".into());
    sog.localita = Some("Roma".into());
    sog.provincia = Some("RM".into());
    sog.stato = Some("IT".into());
    sog.codice_fiscale = Some("RSSMRA85T10A562S".into());
    let mut b = InformazioniBeneficiario::new(
        prog,
        eur(importo),
        TipoPagamento::SepaCreditTransfer,
        sog,
        "Fornitura cancelleria, fattura 12/2026",
    );
    b.sepa_credit_transfer = Some(SepaCreditTransfer {
        iban: "IT60X0542811101000000123456".parse().unwrap(),
        bic: Some("BPPIITRRXXX".into()),
        identificativo_end_to_end: Some(format!("E2E-{prog}")),
        category_purpose: None,
    });
    b.classificazione = vec![ClassificazioneUscita {
        codice_cgu: "1030102".parse().unwrap(),
        codice_cup: Some("J41B04000070001".parse().unwrap()),
        codice_cpv: Some("30192000-1".into()),
        importo: eur(importo),
        dati_siope: DatiSiopeUscite {
            debiti: vec![DebitoUscita::Commerciale {
                cig: CigOEsclusione::Cig("Z1A2B3C4D5".parse().unwrap()),
                fatture: vec![FatturaSiope {
                    codice_ipa_ente_siope: "UF1234".parse().unwrap(),
                    documento: DocumentoSiope::Elettronico {
                        identificativo_lotto_sdi: 1_234_567,
                    },
                    dati: DatiFatturaSiope {
                        numero_fattura: "12/2026".into(),
                        importo: eur(importo).into(),
                        data_scadenza_pagam: d(2026, 4, 1),
                        motivo_scadenza: Some(MotivoScadenza::ScadFattura),
                        natura_spesa: NaturaSpesa::Corrente,
                        utilizzo_nota_di_credito: None,
                    },
                }],
            }],
            arconet: Some(ArconetUscite {
                codice_missione: "01".into(),
                codice_programma: "0103".into(),
                codice_economico: "1030102001".into(),
                importo_codice_economico: eur(importo),
                codice_ue: "8".into(),
                codice_uscita: Some(Ricorrenza::NonRicorrente),
                codice_cofog: "01.3".into(),
                importo_cofog: eur(importo),
            }),
        },
    }];
    b
}

pub(crate) fn beneficiario_pagopa(prog: u32, importo: &str) -> InformazioniBeneficiario {
    let mut sog = Soggetto::new("Agenzia delle Entrate-Riscossione");
    sog.codice_fiscale = Some("13756881002".into());
    let mut b = InformazioniBeneficiario::new(
        prog,
        eur(importo),
        TipoPagamento::AvvisoPagopa,
        sog,
        "Tassa rifiuti",
    );
    b.classificazione = vec![ClassificazioneUscita {
        codice_cgu: "1020199".parse().unwrap(),
        codice_cup: None,
        codice_cpv: None,
        importo: eur(importo),
        dati_siope: DatiSiopeUscite {
            debiti: vec![DebitoUscita::NonCommerciale {
                tipo: TipoDebitoNonCommerciale::NonCommerciale,
                cig_fatture: None,
            }],
            arconet: None,
        },
    }];
    b.bollo = Bollo {
        assoggettamento_bollo: AssoggettamentoBolloMandato::EsenteBollo,
        causale_esenzione_bollo: Some("Art. 16 Tab. B".into()),
    };
    b.informazioni_aggiuntive = Some(InformazioniAggiuntive {
        lingua: Some(Lingua::Italiano),
        riferimento_documento_esterno: None,
        avviso_pagopa: Some(AvvisoPagoPa {
            codice_identificativo_ente: 2_438_750_586,
            numero_avviso: 301_000_000_000_000_123,
        }),
    });
    b
}

pub(crate) fn mandato(n: u32) -> Mandato {
    let mut m = Mandato::new(
        n,
        d(2026, 3, 2),
        vec![
            beneficiario_sepa(1, "1220.00"),
            beneficiario_pagopa(2, "35.50"),
        ],
    );
    m.bilancio = vec![Bilancio {
        codifica_bilancio: 1_030_102,
        descrizione_codifica: Some("Acquisto beni".into()),
        gestione: Gestione::Competenza,
        anno_residuo: None,
        numero_articolo: Some(1),
        voce_economica: None,
        importo_bilancio: eur("1255.50"),
    }];
    m.conto_evidenza = Some("0000001".into());
    m.dati_a_disposizione_ente = Some(DatiEnteMandato::Libero(
        RawXml::new("<protocollo anno=\"2026\">123</protocollo>note").unwrap(),
    ));
    m
}

pub(crate) fn reversale(n: u32) -> Reversale {
    let mut sog = Soggetto::new("Bianchi Anna");
    sog.codice_fiscale = Some("BNCNNA80A41H501R".into());
    let mut v = InformazioniVersante::new(
        1,
        eur("100.00"),
        TipoRiscossione::Cassa,
        sog,
        "Diritti di segreteria",
    );
    v.classificazione = vec![ClassificazioneEntrata {
        codice_cge: "3010200".parse().unwrap(),
        codice_cup: None,
        importo: eur("100.00"),
        dati_siope: DatiSiopeEntrate {
            debito: DebitoEntrata::NonCommerciale {
                tipo: TipoDebitoNonCommerciale::NonCommerciale,
                fatture: vec![],
            },
            arconet: Some(ArconetEntrate {
                codice_economico: "3010200001".into(),
                importo_codice_economico: eur("100.00"),
                codice_ue: "2".into(),
                codice_entrata: Some(Ricorrenza::Ricorrente),
            }),
        },
    }];
    v.sospeso = vec![Sospeso {
        numero_provvisorio: 77,
        importo_provvisorio: eur("100.00"),
    }];
    v.mandato_associato = vec![MandatoAssociato {
        numero_mandato: 1,
        progressivo_beneficiario: Some(1),
    }];
    Reversale::new(n, d(2026, 3, 2), vec![v])
}

pub(crate) fn flow(id: &str, mandati: u32) -> FlussoOrdinativi {
    let mut ordinativi: Vec<Ordinativo> = (1..=mandati)
        .map(|n| Ordinativo::Mandato(Box::new(mandato(n))))
        .collect();
    ordinativi.push(Ordinativo::Reversale(Box::new(reversale(1))));
    FlussoOrdinativi {
        id: Some("FLUSSO1".into()),
        testata: testata(id),
        esercizio: 2026,
        ordinativi,
    }
}
